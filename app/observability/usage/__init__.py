"""The usage store: one row per request (and one per optimizer that saved something) in SQLite
or PostgreSQL, written off the request path, read by ``/admin/usage``, budgets and the admin
page."""

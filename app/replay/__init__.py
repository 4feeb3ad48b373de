"""``frugal replay``: recorded conversations through decode and the token-saving stages, billed
as a provider's prompt cache would bill them (no network: the stages only)."""

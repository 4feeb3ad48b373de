"""Which route and tier answer a request: model names, tiers, routers, cascade, conflicts."""

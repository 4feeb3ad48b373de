"""The HTTP edge: the ASGI app (``server``), the front router for proxy paths (``router``), the
proxy and side endpoints (``endpoints``), body reading, disconnect watching and reply sending
(``edge``), raw provider passthrough and the token-counting endpoints."""

"""Provider clients: HTTP providers in each API style, and the built-in ``mock`` provider."""

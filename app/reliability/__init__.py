"""Calling providers reliably: ordered fallback, hedging, rate limits."""

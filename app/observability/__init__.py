"""Logs, metrics and usage records."""

"""Frugal Gateway: a self-hosted, OpenAI-compatible LLM gateway that cuts the cost of AI coding."""

__version__ = "0.1.0"

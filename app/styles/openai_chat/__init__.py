"""The OpenAI Chat Completions style: ``codec`` (the codec, answers, errors), ``decode`` (client
requests), ``encode`` (provider requests), ``stream`` (SSE both ways), ``fields`` (shared wire
pieces)."""

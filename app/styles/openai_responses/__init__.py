"""The OpenAI Responses style: ``codec`` (the codec, answers, errors), ``decode`` (client
requests), ``encode`` (provider requests), ``stream`` (typed stream events both ways),
``fields`` (shared wire pieces)."""

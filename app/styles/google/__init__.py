"""The Google GenAI (Gemini) style: ``codec`` (the codec, answers, errors), ``decode`` (client requests),
``encode`` (provider requests), ``stream`` (chunks both ways, SSE or a JSON array), ``fields``
(shared wire pieces, signature placement), ``schema`` (JSON Schema cleaning for Gemini)."""

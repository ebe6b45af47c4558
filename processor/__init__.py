"""The genai-cost processor: an OTLP receiver that prices LLM spans."""

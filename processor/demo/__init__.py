"""``genai-cost demo``: the whole product on a laptop, with no API key and no network.

A fake LLM server speaking the providers' wire formats, the processor on embedded defaults plus a
demo budget, and a multi-agent workload through the real ``openai`` and ``anthropic`` SDKs,
instrumented by our instrumentors and exported over OTLP to the processor.
"""

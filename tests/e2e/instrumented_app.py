"""A small multi-agent app, run under ``opentelemetry-instrument`` by the end-to-end test.

It knows nothing of OTLP or the processor: the instrumentors and exporter come from the
``opentelemetry-instrument`` command line and environment, as in production.
"""

from __future__ import annotations

import contextlib
import os

import anthropic
import openai

from genai_cost.instrumentation import attribute_to

oai = openai.OpenAI(base_url=os.environ["FAKE_OPENAI_URL"], api_key="e2e", max_retries=0)
claude = anthropic.Anthropic(base_url=os.environ["FAKE_ANTHROPIC_URL"], api_key="e2e", max_retries=0)
question = [{"role": "user", "content": "hello"}]

with attribute_to(agent="support-bot", session="ticket-1"):
    oai.chat.completions.create(model="gpt-4o-mini", messages=question)  # type: ignore[arg-type]
    for _ in oai.chat.completions.create(model="gpt-4o-mini", messages=question, stream=True):  # type: ignore[arg-type]
        pass

with attribute_to(agent="research-agent", session="paper-7"):
    claude.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=question)  # type: ignore[arg-type]
    with claude.messages.stream(model="claude-sonnet-4-5", max_tokens=256, messages=question) as stream:  # type: ignore[arg-type]
        for _ in stream.text_stream:
            pass

with attribute_to(agent="labs-agent"):
    oai.chat.completions.create(model="acme-llm-1", messages=question)  # type: ignore[arg-type]
    with contextlib.suppress(openai.RateLimitError):
        oai.chat.completions.create(model="gpt-4o-mini", messages=question)  # type: ignore[arg-type]

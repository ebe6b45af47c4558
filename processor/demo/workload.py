"""The demo's multi-agent workload: real SDK calls, attributed per agent, against the fake server."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from genai_cost.fakes.llm_server import FakeLLMServer, Script
from genai_cost.instrumentation import attribute_to

UNKNOWN_MODEL = "acme-llm-1"  # an in-house model with no published price: shows up as unpriced


@dataclass(frozen=True, slots=True)
class Step:
    """One LLM call of the workload."""

    agent: str
    provider: str  # openai | anthropic
    kind: str  # chat | chat_stream | responses | embeddings | messages | messages_stream
    model: str
    script: Script | None = None  # how the fake server answers (None: its realistic defaults)


def _plain(input_tokens: int, output_tokens: int) -> Script:
    """A reply with no cached or reasoning tokens."""
    return Script(input_tokens=input_tokens, cached_tokens=0, output_tokens=output_tokens, reasoning_tokens=0)


ROUND: tuple[Step, ...] = (
    Step("support-bot", "openai", "chat_stream", "gpt-4o-mini"),
    Step("support-bot", "openai", "chat", "gpt-4o-mini", _plain(900, 120)),
    Step("research-agent", "anthropic", "messages", "claude-sonnet-4-5"),
    Step("research-agent", "anthropic", "messages_stream", "claude-sonnet-4-5"),
    Step("research-agent", "openai", "responses", "o4-mini"),
    Step("billing-agent", "openai", "chat", "gpt-4o"),
    Step("billing-agent", "openai", "embeddings", "text-embedding-3-small"),
    Step("labs-agent", "openai", "chat", UNKNOWN_MODEL, _plain(400, 80)),
)
"""One round: four agents, two providers, five models, streams, cached and reasoning tokens."""


def steps(rounds: int) -> Iterator[Step]:
    """``rounds`` rounds of :data:`ROUND`."""
    return itertools.chain.from_iterable(itertools.repeat(ROUND, rounds))


class Workload:
    """Runs steps through the real SDK clients pointed at the fake server."""

    def __init__(self, server: FakeLLMServer) -> None:
        import anthropic
        import openai

        self._server = server
        self._openai = openai.OpenAI(base_url=server.openai_base_url, api_key="demo-key", max_retries=0)
        self._anthropic = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="demo-key", max_retries=0)
        self._calls: dict[str, Callable[[str], Any]] = {
            "chat": self._chat,
            "chat_stream": self._chat_stream,
            "responses": self._responses,
            "embeddings": self._embeddings,
            "messages": self._messages,
            "messages_stream": self._messages_stream,
        }

    def run(self, step: Step, session: str) -> None:
        """Make one call, attributed to the step's agent and the given session."""
        if step.script is not None:
            self._server.script(step.script)
        with attribute_to(agent=step.agent, session=session, tags={"team": _TEAMS[step.agent]}):
            self._calls[step.kind](step.model)

    def run_all(self, plan: Sequence[Step], on_call: Callable[[int], None] | None = None) -> int:
        """Run ``plan`` in order (one session per round); returns the number of calls made."""
        for index, step in enumerate(plan):
            self.run(step, session=f"demo-session-{index // len(ROUND) + 1}")
            if on_call is not None:
                on_call(index + 1)
        return len(plan)

    def close(self) -> None:
        self._openai.close()
        self._anthropic.close()

    # -- one method per kind of call -----------------------------------------------------------

    def _chat(self, model: str) -> None:
        self._openai.chat.completions.create(model=model, messages=[{"role": "user", "content": "Where is my order?"}])

    def _chat_stream(self, model: str) -> None:
        stream = self._openai.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Summarise this ticket."}], stream=True
        )
        for _ in stream:
            pass

    def _responses(self, model: str) -> None:
        self._openai.responses.create(model=model, input="Plan the literature review.")

    def _embeddings(self, model: str) -> None:
        self._openai.embeddings.create(model=model, input=["invoice 1042", "invoice 1043"])

    def _messages(self, model: str) -> None:
        self._anthropic.messages.create(
            model=model, max_tokens=512, messages=[{"role": "user", "content": "Compare these papers."}]
        )

    def _messages_stream(self, model: str) -> None:
        with self._anthropic.messages.stream(
            model=model, max_tokens=512, messages=[{"role": "user", "content": "Draft the abstract."}]
        ) as stream:
            for _ in stream.text_stream:
                pass


_TEAMS = {"support-bot": "care", "research-agent": "research", "billing-agent": "finance", "labs-agent": "labs"}

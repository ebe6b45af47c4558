"""What the pipeline reports about itself; the Prometheus adapter implements it."""

from __future__ import annotations

from typing import Protocol


class PipelineObserver(Protocol):
    """Receives the pipeline's self-measurements (must be cheap and never raise)."""

    def spans_received(self, transport: str, count: int) -> None: ...

    def spans_rejected(self, reason: str, count: int) -> None: ...

    def aggregate_spans_skipped(self, count: int) -> None: ...

    def duplicates(self, kind: str, count: int) -> None: ...

    def suspected_duplicates(self, count: int) -> None: ...

    def batch_duration(self, transport: str, seconds: float) -> None: ...

    def commit_duration(self, seconds: float, ok: bool) -> None: ...

    def listener_error(self) -> None: ...

    def costs_rounded(self, count: int) -> None: ...


class NullObserver:
    """An observer that records nothing (tests, tools)."""

    def spans_received(self, transport: str, count: int) -> None:
        pass

    def spans_rejected(self, reason: str, count: int) -> None:
        pass

    def aggregate_spans_skipped(self, count: int) -> None:
        pass

    def duplicates(self, kind: str, count: int) -> None:
        pass

    def suspected_duplicates(self, count: int) -> None:
        pass

    def batch_duration(self, transport: str, seconds: float) -> None:
        pass

    def commit_duration(self, seconds: float, ok: bool) -> None:
        pass

    def listener_error(self) -> None:
        pass

    def costs_rounded(self, count: int) -> None:
        pass

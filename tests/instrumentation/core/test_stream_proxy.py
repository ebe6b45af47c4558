"""StreamProxy: transparent iteration, hidden chunks, one-shot finalisation on every ending."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from genai_cost.instrumentation.core import guard
from genai_cost.instrumentation.core.stream_proxy import StreamProxy


class Source:
    """A minimal SDK-like stream: iterator, context manager, close()."""

    def __init__(self, items: list[Any], fail_at: int | None = None) -> None:
        self._items = items
        self._fail_at = fail_at
        self._i = 0
        self.closed = 0
        self.tag = "source"

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self._fail_at is not None and self._i == self._fail_at:
            raise ConnectionError("cut")
        if self._i >= len(self._items):
            raise StopIteration
        self._i += 1
        return self._items[self._i - 1]

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed += 1


class AsyncSource(Source):
    def __aiter__(self) -> AsyncIterator[Any]:
        return self  # type: ignore[return-value]

    async def __anext__(self) -> Any:
        try:
            return self.__next__()
        except StopIteration:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self.close()


class Recorder(StreamProxy):
    def __init__(self, wrapped: Any) -> None:
        super().__init__(wrapped)
        self._self_seen: list[Any] = []
        self._self_ends: list[str] = []

    def _process_chunk(self, chunk: Any) -> bool:
        self._self_seen.append(chunk)
        return chunk != "hidden"

    def _on_stream_end(self) -> None:
        self._self_ends.append("end")

    def _on_stream_error(self, exc: BaseException) -> None:
        self._self_ends.append(f"error:{exc}")


def test_exhaustion_hides_chunks_and_finalises_once() -> None:
    proxy = Recorder(Source(["a", "hidden", "b"]))
    assert list(proxy) == ["a", "b"]
    assert list(proxy) == []
    proxy.close()
    assert proxy._self_seen == ["a", "hidden", "b"]
    assert proxy._self_ends == ["end"]
    assert proxy.tag == "source"  # attributes pass through
    assert isinstance(proxy, Source)


def test_error_mid_stream_finalises_with_the_error() -> None:
    proxy = Recorder(Source(["a", "b", "c"], fail_at=2))
    got = []
    with pytest.raises(ConnectionError):
        for item in proxy:
            got.append(item)
    proxy.close()
    assert got == ["a", "b"]
    assert proxy._self_ends == ["error:cut"]


def test_early_close_and_with_block() -> None:
    proxy = Recorder(Source(["a", "b"]))
    assert next(proxy) == "a"
    proxy.close()
    assert (proxy._self_ends, proxy.__wrapped__.closed) == (["end"], 1)

    source = Source(["a", "b"])
    with Recorder(source) as inner:
        next(inner)
    assert (inner._self_ends, source.closed) == (["end"], 1)


def test_abandoned_stream_finalises_on_collection() -> None:
    ends: list[str] = []

    class Tracked(Recorder):
        def _on_stream_end(self) -> None:
            ends.append("end")

    proxy = Tracked(Source(["a", "b"]))
    next(proxy)
    del proxy
    gc.collect()
    assert ends == ["end"]


def test_failing_hooks_never_reach_the_caller() -> None:
    guard.failures.clear()

    class Broken(StreamProxy):
        def _process_chunk(self, chunk: Any) -> bool:
            raise RuntimeError("hook bug")

        def _on_stream_end(self) -> None:
            raise RuntimeError("hook bug")

    assert list(Broken(Source(["a", "b"]))) == ["a", "b"]
    assert sum(guard.failures.values()) == 3


async def test_async_iteration_error_and_aclose() -> None:
    proxy = Recorder(AsyncSource(["a", "hidden", "b"]))
    assert [x async for x in proxy] == ["a", "b"]
    assert proxy._self_ends == ["end"]

    cut = Recorder(AsyncSource(["a", "b"], fail_at=1))
    with pytest.raises(ConnectionError):
        [x async for x in cut]
    await cut.aclose()
    assert cut._self_ends == ["error:cut"]

    early = Recorder(AsyncSource(["a", "b"]))
    async with early:
        await early.__anext__()
    assert (early._self_ends, early.__wrapped__.closed) == (["end"], 0)


def test_for_loop_and_next_share_one_iterator_and_an_early_break_ends_on_close() -> None:
    proxy = Recorder(Source(["a", "hidden", "b", "c"]))
    assert next(proxy) == "a"
    got = []
    for item in proxy:
        got.append(item)
        break
    assert got == ["b"]  # "hidden" was skipped by the loop, "a" was not seen twice
    assert proxy._self_ends == []  # leaving a loop early does not end the stream
    assert next(proxy) == "c"
    proxy.close()
    assert proxy._self_ends == ["end"]
    assert proxy._self_seen == ["a", "hidden", "b", "c"]


class Counted(Recorder):
    """Hands out a per-chunk callable that keeps its state outside the proxy."""

    def __init__(self, wrapped: Any, seen: list[Any]) -> None:
        super().__init__(wrapped)
        self._self_outside = seen

    def _chunk_observer(self) -> Any:
        seen = self._self_outside
        return lambda chunk: seen.append(chunk) or chunk != "hidden"


async def test_chunk_observer_replaces_the_hook_on_every_path() -> None:
    sync_seen: list[Any] = []
    proxy = Counted(Source(["a", "hidden", "b", "c"]), sync_seen)
    assert next(proxy) == "a"
    assert list(proxy) == ["b", "c"]
    assert (sync_seen, proxy._self_seen) == (["a", "hidden", "b", "c"], [])  # _process_chunk not used

    async_seen: list[Any] = []
    aproxy = Counted(AsyncSource(["a", "hidden", "b"]), async_seen)
    assert await aproxy.__anext__() == "a"
    assert [x async for x in aproxy] == ["b"]
    assert async_seen == ["a", "hidden", "b"]
    assert aproxy._self_ends == ["end"]


def test_a_failing_chunk_observer_keeps_every_chunk() -> None:
    guard.failures.clear()

    class NoObserver(Recorder):
        def _chunk_observer(self) -> Any:
            raise RuntimeError("observer bug")

    proxy = NoObserver(Source(["a", "hidden"]))
    assert list(proxy) == ["a", "hidden"]
    assert proxy._self_ends == ["end"]
    assert guard.failures == {
        f"{__name__}.test_a_failing_chunk_observer_keeps_every_chunk.<locals>.NoObserver._chunk_observer": 1
    }


def test_wrapped_without_iter_is_iterated_through_next() -> None:
    class NextOnly:
        def __init__(self) -> None:
            self._items = iter(["a", "hidden", "b"])

        def __next__(self) -> Any:
            return next(self._items)

    proxy = Recorder(NextOnly())
    assert iter(proxy) is proxy
    assert list(proxy) == ["a", "b"]
    assert proxy._self_ends == ["end"]

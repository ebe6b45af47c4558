"""A transparent proxy over an SDK stream that ends the call's span exactly once.

Subclasses implement three hooks, all run through the guard:
``_process_chunk(chunk) -> bool`` (return False to hide a chunk from the caller: used to drop the
usage-only chunk we asked for), ``_on_stream_end()`` and ``_on_stream_error(exc)``. A subclass may
also override ``_chunk_observer()`` to hand out a cheaper per-chunk callable than the bound hook.
The span is finalised on exhaustion, error, ``close()``/``aclose()``, leaving a ``with`` block,
or garbage collection of an abandoned stream, whichever comes first, and only once.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import wrapt

from genai_cost.instrumentation.core.guard import report, run_guarded, site_of


def _keep(chunk: Any) -> bool:
    return True


class StreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """Base class: iterate (sync or async) the wrapped stream, feeding chunks to hooks."""

    def __init__(self, wrapped: Any) -> None:
        super().__init__(wrapped)
        self._self_finalized = False

    # -- hooks for subclasses -------------------------------------------------------------
    def _process_chunk(self, chunk: Any) -> bool:
        return True

    def _chunk_observer(self) -> Callable[[Any], bool]:
        """The callable run on each chunk: ``_process_chunk`` unless a subclass returns one that
        keeps its state outside the proxy (attribute reads on the proxy itself are slower)."""
        return self._process_chunk

    def _on_stream_end(self) -> None:
        pass

    def _on_stream_error(self, exc: BaseException) -> None:
        pass

    def _observer(self) -> Callable[[Any], bool]:
        try:
            return self._chunk_observer()
        except Exception:
            report(site_of(self._chunk_observer))
            return _keep

    # -- finalisation -----------------------------------------------------------------------
    def _finalize(self, exc: BaseException | None = None) -> None:
        if self._self_finalized:
            return
        self._self_finalized = True
        if exc is None:
            run_guarded(self._on_stream_end)
        else:
            run_guarded(self._on_stream_error, exc)

    # -- sync iteration -------------------------------------------------------------------
    # Per chunk, the hook runs guarded inline (no helper call). A ``for`` loop over the proxy
    # runs in a generator over the SDK stream's own iterator: per chunk that resumes two
    # generators instead of calling ``__next__`` on the proxy and on the SDK stream. ``next()``
    # on the proxy reads the same underlying iterator, so the two may be mixed.
    def __iter__(self) -> Iterator[Any]:
        if not hasattr(type(self.__wrapped__), "__iter__"):
            return self
        return self._iterate()

    def _iterate(self) -> Iterator[Any]:
        process = self._observer()
        try:
            for chunk in self.__wrapped__:
                try:
                    keep = process(chunk) is not False
                except Exception:
                    report(site_of(process))
                    keep = True
                if keep:
                    yield chunk
        except GeneratorExit:
            raise  # the loop was left early: the stream ends on close(), ``with`` exit or collection
        except BaseException as exc:
            self._finalize(exc)
            raise
        self._finalize()

    def __next__(self) -> Any:
        wrapped = self.__wrapped__
        process = self._observer()
        while True:
            try:
                chunk = wrapped.__next__()
            except StopIteration:
                self._finalize()
                raise
            except BaseException as exc:
                self._finalize(exc)
                raise
            try:
                if process(chunk) is not False:
                    return chunk
            except Exception:
                report(site_of(process))
                return chunk

    def __enter__(self) -> StreamProxy:
        enter = getattr(self.__wrapped__, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__exit__", None)
            return exit_(exc_type, exc, tb) if exit_ is not None else None
        finally:
            self._finalize(exc)

    def close(self) -> Any:
        """Close the wrapped stream and finalise. An async SDK stream's ``close()`` is a coroutine:
        then the awaitable returned here finalises once the caller has awaited it."""
        try:
            close = getattr(self.__wrapped__, "close", None)
            result = close() if close is not None else None
        except BaseException:
            self._finalize()
            raise
        if inspect.isawaitable(result):
            return self._finish_close(result)
        self._finalize()
        return result

    async def _finish_close(self, pending: Awaitable[Any]) -> Any:
        try:
            return await pending
        finally:
            self._finalize()

    # -- async iteration ------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[Any]:
        if not hasattr(type(self.__wrapped__), "__aiter__"):
            return self
        return self._aiterate()

    async def _aiterate(self) -> AsyncIterator[Any]:
        process = self._observer()
        try:
            async for chunk in self.__wrapped__:
                try:
                    keep = process(chunk) is not False
                except Exception:
                    report(site_of(process))
                    keep = True
                if keep:
                    yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            self._finalize(exc)
            raise
        self._finalize()

    async def __anext__(self) -> Any:
        wrapped = self.__wrapped__
        process = self._observer()
        while True:
            try:
                chunk = await wrapped.__anext__()
            except StopAsyncIteration:
                self._finalize()
                raise
            except BaseException as exc:
                self._finalize(exc)
                raise
            try:
                if process(chunk) is not False:
                    return chunk
            except Exception:
                report(site_of(process))
                return chunk

    async def __aenter__(self) -> StreamProxy:
        aenter = getattr(self.__wrapped__, "__aenter__", None)
        if aenter is not None:
            await aenter()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        try:
            aexit = getattr(self.__wrapped__, "__aexit__", None)
            return (await aexit(exc_type, exc, tb)) if aexit is not None else None
        finally:
            self._finalize(exc)

    async def aclose(self) -> None:
        try:
            aclose = getattr(self.__wrapped__, "aclose", None) or getattr(self.__wrapped__, "close", None)
            if aclose is not None:
                result = aclose()
                if hasattr(result, "__await__"):
                    await result
        finally:
            self._finalize()

    def __del__(self) -> None:
        # An abandoned stream (caller broke out and dropped it) still ends its span once.
        if not getattr(self, "_self_finalized", True):
            self._finalize()

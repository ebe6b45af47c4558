"""The processor's lifecycle: start-up (ledger, totals, extensions, receivers), readiness, graceful stop.

Start-up order: the :9464 HTTP server (``/healthz`` answers, ``/readyz`` says 503 starting), the
ledger (opened and migrated), the totals (rebuilt from the ledger so counters resume), the
pipeline's writer, the extensions (:mod:`genai_cost.processor.extensions`), then the OTLP
receivers; only then ``/readyz`` answers 200. Stop: ``/readyz`` goes 503, the receivers stop
accepting and wait for the exports in progress, the pipeline commits everything queued, the
extensions and the ledger close, the HTTP server stops last.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib
import logging
import os
import pkgutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from genai_cost.processor import extensions
from genai_cost.processor.adapters.http_server import HttpServer, Request, Response, Routes
from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.adapters.otlp_grpc import OtlpGrpcReceiver
from genai_cost.processor.adapters.otlp_http import OtlpHttpReceiver
from genai_cost.processor.adapters.prometheus import ProcessorMetrics, TotalsCollector
from genai_cost.processor.config import Config, ConfigError
from genai_cost.processor.pipeline import Pipeline, Totals
from genai_cost.processor.pipeline.engine import PricerLike
from genai_cost.processor.pipeline.ports import LedgerStore
from genai_cost.processor.pipeline.service import Decoders, ExportService

logger = logging.getLogger(__name__)

Extension = Callable[["AppContext"], None]


@dataclass
class AppContext:
    """What extensions get: the configuration and the hooks of the running processor."""

    config: Config
    registry: CollectorRegistry
    pipeline: Pipeline
    routes: Routes
    totals: Totals
    ledger_path: Path
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def on_stop(self, closer: Callable[[], None]) -> None:
        """Call ``closer`` on shutdown (after the last commit; in reverse registration order)."""
        self._closers.append(closer)


def discover_extensions() -> list[tuple[str, Extension]]:
    """The ``setup`` functions of the modules in :mod:`genai_cost.processor.extensions`."""
    found: list[tuple[str, Extension]] = []
    for info in sorted(pkgutil.iter_modules(extensions.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{extensions.__name__}.{info.name}")
        setup = getattr(module, "setup", None)
        if callable(setup):
            found.append((module.__name__, setup))
    return found


def build_pricer(config: Config) -> PricerLike:
    """The pricer, with the overrides file when one is configured (errors name the setting)."""
    from genai_cost.processor.domain.price_overrides import OverridesError, parse_overrides_yaml
    from genai_cost.processor.domain.pricing import Pricer

    overrides: list[Any] = []
    path = config.pricing_overrides_file
    if path is not None:
        try:
            overrides = parse_overrides_yaml(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"pricing.overrides_file: cannot read {str(path)!r}: {exc.strerror or exc}") from exc
        except OverridesError as exc:
            raise ConfigError(f"pricing.overrides_file {str(path)!r}: {exc}") from exc
    return Pricer(overrides)


def build_ingest_options(config: Config) -> Any:
    from genai_cost.processor.ingest import IngestOptions

    return IngestOptions(tag_attributes=dict(config.tag_attributes))


@contextlib.contextmanager
def _listening(setting: str, host: str, port: int) -> Iterator[None]:
    """Turn a bind failure into an error naming the setting and the address."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        field = "port" if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.EADDRINUSE else "host"
        raise ConfigError(f"{setting}.{field}: cannot listen on {host}:{port}: {reason}") from exc


class App:
    """One running processor. ``start`` raises on a start-up failure (after cleaning up)."""

    def __init__(
        self,
        config: Config,
        *,
        registry: CollectorRegistry | None = None,
        extensions: Sequence[tuple[str, Extension]] | None = None,
        ledger_factory: Callable[[Config], LedgerStore] | None = None,
        pricer: PricerLike | None = None,
        decoders: Decoders | None = None,
        ingest_options: Any = None,
    ) -> None:
        self.config = config
        self.registry = registry if registry is not None else CollectorRegistry()
        self._extensions = extensions
        self._ledger_factory = ledger_factory or (
            lambda c: SqliteLedger(
                c.ledger_path, synchronous=c.ledger_synchronous, response_window=c.ledger_response_window
            )
        )
        self._pricer = pricer
        self._decoders = decoders
        self._ingest_options = ingest_options
        self.ready = threading.Event()
        self.routes = Routes()
        self.ledger: LedgerStore | None = None
        self.pipeline: Pipeline | None = None
        self.totals: Totals | None = None
        self.context: AppContext | None = None
        self._http: HttpServer | None = None
        self._grpc: OtlpGrpcReceiver | None = None
        self._otlp_http: HttpServer | None = None
        self._stopped = False

    # -- ports (after start) -------------------------------------------------------------------

    @property
    def http_port(self) -> int:
        assert self._http is not None
        return self._http.port

    @property
    def grpc_port(self) -> int | None:
        return self._grpc.port if self._grpc is not None else None

    @property
    def otlp_http_port(self) -> int | None:
        return self._otlp_http.port if self._otlp_http is not None else None

    def endpoints(self) -> str:
        """A one-line summary of the bound addresses."""
        cfg = self.config
        parts = []
        if self._grpc is not None:
            parts.append(f"otlp-grpc {cfg.grpc.host}:{self._grpc.port}")
        if self._otlp_http is not None:
            parts.append(f"otlp-http {cfg.otlp_http.host}:{self._otlp_http.port}")
        parts.append(f"http {cfg.http.host}:{self.http_port}")
        return ", ".join(parts)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        cfg = self.config
        self.routes.add("GET", "/healthz", self._healthz)
        self.routes.add("GET", "/readyz", self._readyz)
        self.routes.add("GET", "/metrics", self._metrics)
        with _listening("http", cfg.http.host, cfg.http.port):
            self._http = HttpServer(cfg.http.host, cfg.http.port, self.routes, name="http")
        self._http.start()

        self.ledger = self._ledger_factory(cfg)
        self.totals = Totals(
            cfg.label_value_limit, cfg.overflow_value, tuple(dict.fromkeys(cfg.tag_attributes.values()))
        )
        loaded = self.totals.add_groups(self.ledger.iter_totals())
        logger.info("ledger %s: %d recorded calls loaded into the totals", cfg.ledger_path, loaded)
        self.registry.register(TotalsCollector(self.totals))
        metrics = ProcessorMetrics(self.registry)
        pricer = self._pricer if self._pricer is not None else build_pricer(cfg)
        self.pipeline = Pipeline(
            self.ledger,
            pricer,
            self.totals,
            observer=metrics,
            queue_max_calls=cfg.queue_max_calls,
            max_commit_calls=cfg.max_commit_calls,
            ack_timeout_s=cfg.ack_timeout_s,
            nested_window_calls=cfg.nested_window_calls,
        )
        metrics.track_queue(lambda: float(self.pipeline.queue_depth if self.pipeline else 0))
        self.pipeline.start()

        self.context = AppContext(cfg, self.registry, self.pipeline, self.routes, self.totals, cfg.ledger_path)
        for name, setup in self._extensions if self._extensions is not None else discover_extensions():
            try:
                setup(self.context)
            except Exception as exc:
                raise RuntimeError(f"extension {name} failed to start: {exc}") from exc

        options = self._ingest_options if self._ingest_options is not None else build_ingest_options(cfg)
        service = ExportService(self.pipeline, options, self._decoders)
        if cfg.otlp_http_enabled:
            otlp_routes = Routes()
            OtlpHttpReceiver(service, cfg.max_request_bytes).register(otlp_routes)
            with _listening("otlp.http", cfg.otlp_http.host, cfg.otlp_http.port):
                self._otlp_http = HttpServer(cfg.otlp_http.host, cfg.otlp_http.port, otlp_routes, name="otlp-http")
            self._otlp_http.start()
        if cfg.grpc_enabled:
            with _listening("otlp.grpc", cfg.grpc.host, cfg.grpc.port):
                self._grpc = OtlpGrpcReceiver(
                    service,
                    cfg.grpc.host,
                    cfg.grpc.port,
                    workers=cfg.grpc_workers,
                    max_request_bytes=cfg.max_request_bytes,
                )
            self._grpc.start()
        self.ready.set()
        logger.info("genai-cost ready: %s", self.endpoints())

    def stop(self) -> None:
        """Graceful stop: finish and commit what was accepted; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.ready.clear()
        grace = self.config.shutdown_grace_s
        if self._grpc is not None:
            self._grpc.stop(grace)
        if self._otlp_http is not None and not self._otlp_http.stop(grace):
            logger.warning("OTLP/HTTP exports still in progress after %gs", grace)
        if self.pipeline is not None and not self.pipeline.stop(grace):
            logger.error("the ledger writer did not finish within %gs; queued exports were not acknowledged", grace)
        if self.context is not None:
            for closer in reversed(self.context._closers):
                try:
                    closer()
                except Exception:
                    logger.exception("extension shutdown failed")
        if self.ledger is not None and (self.pipeline is None or not self.pipeline.alive):
            self.ledger.close()
        if self._http is not None:
            self._http.stop(1.0)

    # -- built-in routes -----------------------------------------------------------------------

    def _healthz(self, request: Request) -> Response:
        if self.pipeline is not None and not self.pipeline.alive and not self._stopped:
            return Response.text(503, "ledger writer stopped")
        return Response.text(200, "ok")

    def _readyz(self, request: Request) -> Response:
        if self.ready.is_set():
            return Response.text(200, "ready")
        return Response.text(503, "stopping" if self._stopped else "starting")

    def _metrics(self, request: Request) -> Response:
        encoder, content_type = choose_encoder(request.header("Accept"))
        return Response(200, encoder(self.registry), content_type)


GC_YOUNG_THRESHOLD = 20_000
"""Allocations of container objects between two young-generation collections (CPython's default: 700)."""


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a long-running server (``serve`` calls it once ready).

    Everything loaded at start-up (modules, the price data) goes to the permanent generation, so
    full collections no longer walk it, and young collections run every 20,000 container
    allocations instead of 700: the hot path allocates many short-lived tuples and records, nearly
    none of them in reference cycles, and the collector took over 10 % of the CPU under load.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def serve(config: Config, *, announce: Callable[[str], None] | None = None) -> int:
    """Run until SIGTERM/SIGINT, then stop gracefully; a second SIGINT forces the exit."""
    stop = threading.Event()
    app = App(config)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            sys.stderr.write("genai-cost: second interrupt, exiting without draining\n")
            os._exit(130)
        logger.info(
            "received %s: stopping (draining and committing; interrupt again to force)", signal.Signals(signum).name
        )
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            app.start()
        except Exception as exc:
            logger.error("start-up failed: %s", exc)
            return 1
        tune_gc()
        if announce is not None:
            announce(f"genai-cost ready: {app.endpoints()}")
        while not stop.wait(1.0):
            pass
        app.stop()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

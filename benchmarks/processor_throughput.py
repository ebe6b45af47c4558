"""Processor throughput: spans per server-CPU-second over OTLP/gRPC loopback, against a same-run baseline.

Separate client processes send pre-serialized 512-span ExportTraceServiceRequest batches to
(a) a parse-only grpcio server (``ExportTraceServiceRequest.FromString`` and nothing else) and
(b) ``genai-cost serve`` with its real SQLite ledger, in the same run. Server CPU time comes from
``/proc/<pid>/stat`` (user + system), peak RSS from ``VmHWM``. Workloads: mixed (20 % LLM spans,
the rest HTTP/DB spans) and 100 % LLM. Every batch gets fresh trace and response ids and fresh
timestamps (equal-length byte substitutions in the pre-serialized template), so nothing is
deduplicated and end times increase batch after batch, as in real traffic (the ledger's span key
leads with the end time, so a benchmark that replayed the same timestamps would measure random
B-tree inserts that real traffic does not cause). Each workload runs ``--trials`` (a)/(b) pairs and
reports their median: this machine is shared, and single runs vary by +-15 %.
Optionally repeats (b) with glibc malloc tunables, and measures the effect of ledger size on ingest,
on start-up (the first one sums the SQL-filled rows into ``call_totals``, later ones read those sums)
and on ``genai-cost report``.

    .venv/bin/python benchmarks/processor_throughput.py [--batches 150] [--trials 5] [--clients 2]
        [--ledger-rows 1000000 10000000] [--skip-tunables]

Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
BATCH_SPANS = 512
TRACE_MARK = b"\xa5\x5a\xc3\x3c\x96\x69\x0f\xf0"  # first 8 bytes of every template trace id
RESPONSE_MARK = "RSPMARK0"  # first 8 of the 24 id characters of every template response id
TRACES_PER_BATCH = 32
TEMPLATE_START_NS = 1_750_000_000_000_000_000  # start time of the template's first span
SPAN_SPACING_NS = 1_000_000  # the template's spans start 1 ms apart...
SPAN_DURATION_NS = 250_000_000  # ...and last 250 ms
BATCH_PERIOD_NS = BATCH_SPANS * SPAN_SPACING_NS  # each client's next batch starts where its last one ended
TARGETS = {"mixed (20% LLM)": 150_000, "100% LLM": 40_000}
"""The issue's targets in spans per server-CPU-second (this machine is shared: see the median of the trials)."""
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=67108864"


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def _llm_attributes(i: int, rng: random.Random) -> list[KeyValue]:
    model = rng.choice(["gpt-4o-mini", "gpt-4o", "claude-3-5-haiku-latest"])
    provider = "anthropic" if model.startswith("claude") else "openai"
    return [
        _kv("gen_ai.operation.name", "chat"),
        _kv("gen_ai.provider.name", provider),
        _kv("gen_ai.request.model", model),
        _kv("gen_ai.response.model", model),
        _kv("gen_ai.response.id", f"chatcmpl-{RESPONSE_MARK}{i:016d}"),
        _kv("gen_ai.usage.input_tokens", rng.randint(200, 5000)),  # >= cache reads: every span is valid
        _kv("gen_ai.usage.output_tokens", rng.randint(10, 800)),
        _kv("gen_ai.usage.cache_read.input_tokens", rng.choice([0, 0, 32, 128])),
        _kv("gen_ai.agent.name", rng.choice(["planner", "researcher", "writer", "critic"])),
        _kv("gen_ai.conversation.id", f"conv-{rng.randint(1, 50)}"),
        _kv("server.address", "api.example.com"),
        _kv("server.port", 443),
    ]


def _other_attributes(rng: random.Random) -> list[KeyValue]:
    if rng.random() < 0.6:
        return [
            _kv("http.request.method", rng.choice(["GET", "POST"])),
            _kv("url.full", f"https://svc.internal/api/v1/items/{rng.randint(1, 10**6)}"),
            _kv("http.response.status_code", 200),
            _kv("server.address", "svc.internal"),
            _kv("server.port", 443),
            _kv("network.protocol.version", "1.1"),
            _kv("user_agent.original", "python-httpx/0.28"),
        ]
    return [
        _kv("db.system.name", "postgresql"),
        _kv("db.namespace", "app"),
        _kv("db.operation.name", "SELECT"),
        _kv("db.query.text", "SELECT id, name, created_at FROM items WHERE owner_id = $1 LIMIT 50"),
        _kv("server.address", "db.internal"),
        _kv("server.port", 5432),
    ]


def build_template(llm_fraction: float, seed: int = 7) -> bytes:
    """One 512-span request; its trace ids start with TRACE_MARK and response ids contain RESPONSE_MARK."""
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [_kv("service.name", "bench-app"), _kv("telemetry.sdk.language", "python"), _kv("host.name", "bench")]
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "bench"
    llm_every = round(1 / llm_fraction) if llm_fraction < 1 else 1
    for i in range(BATCH_SPANS):
        span = scope_spans.spans.add()
        span.trace_id = TRACE_MARK + (i % TRACES_PER_BATCH).to_bytes(8, "big")  # 32 traces, interleaved
        span.span_id = (i + 1).to_bytes(8, "big")
        span.start_time_unix_nano = TEMPLATE_START_NS + i * SPAN_SPACING_NS
        span.end_time_unix_nano = span.start_time_unix_nano + SPAN_DURATION_NS
        if i % llm_every == 0:
            span.name = "chat gpt-4o-mini"
            span.kind = Span.SPAN_KIND_CLIENT
            span.attributes.extend(_llm_attributes(i, rng))
        else:
            span.name = rng.choice(["GET /api/v1/items", "SELECT app.items"])
            span.kind = Span.SPAN_KIND_CLIENT
            span.attributes.extend(_other_attributes(rng))
    payload = request.SerializeToString()
    assert payload.count(TRACE_MARK) == BATCH_SPANS
    return payload


@dataclass(frozen=True)
class Template:
    """A serialized request and where its ids and timestamps sit (for fresh copies)."""

    payload: bytes
    traces: list[list[int]]  # per trace: offsets of its 16-byte id in each span
    responses: list[int]  # offsets of the 24 random characters of each response id
    times: list[tuple[int, int]]  # (offset, template value) of every span's start and end time (fixed64)

    @classmethod
    def of(cls, payload: bytes) -> Template:
        traces = []
        for t in range(TRACES_PER_BATCH):
            needle = TRACE_MARK + t.to_bytes(8, "big")
            traces.append([m.start() for m in re.finditer(re.escape(needle), payload)])
        responses = [m.start() for m in re.finditer(RESPONSE_MARK.encode(), payload)]
        times = []
        for i in range(BATCH_SPANS):
            start = TEMPLATE_START_NS + i * SPAN_SPACING_NS
            for tag, value in ((b"\x39", start), (b"\x41", start + SPAN_DURATION_NS)):  # fields 7 and 8, fixed64
                needle = tag + value.to_bytes(8, "little")
                assert payload.count(needle) == 1, f"span {i}: time {value} not found once"
                times.append((payload.index(needle) + 1, value))
        return cls(payload, traces, responses, times)

    def fresh(self, rng: random.Random, start_ns: int) -> bytes:
        """A copy with random trace and response ids whose first span starts at ``start_ns``."""
        buf = bytearray(self.payload)
        for offsets in self.traces:
            trace_id = rng.randbytes(16)
            for offset in offsets:
                buf[offset : offset + 16] = trace_id
        for offset in self.responses:
            buf[offset : offset + 24] = rng.randbytes(12).hex().encode()
        shift = start_ns - TEMPLATE_START_NS
        for offset, value in self.times:
            buf[offset : offset + 8] = (value + shift).to_bytes(8, "little")
        return bytes(buf)


# -- servers --------------------------------------------------------------------------------------

BASELINE_SERVER = """
import sys, grpc
from concurrent.futures import ThreadPoolExecutor
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb
ExportTraceServiceRequest, ExportTraceServiceResponse = pb.ExportTraceServiceRequest, pb.ExportTraceServiceResponse
EMPTY = ExportTraceServiceResponse().SerializeToString()
def export(request, context):
    ExportTraceServiceRequest.FromString(request)
    return EMPTY
server = grpc.server(ThreadPoolExecutor(8), options=[("grpc.max_receive_message_length", 64 << 20)])
handler = grpc.unary_unary_rpc_method_handler(export)
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
    "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": handler}),))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(f"ready {port}", flush=True)
sys.stdin.read()
server.stop(1)
"""


@dataclass
class Server:
    proc: subprocess.Popen[str]
    grpc_port: int
    http_port: int | None = None

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> float:
        """Stop gracefully; returns the seconds it took."""
        started = time.perf_counter()
        if self.http_port is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        else:
            self.proc.terminate()
        self.proc.wait(120)
        return time.perf_counter() - started


def start_baseline(env: dict[str, str]) -> Server:
    proc = subprocess.Popen(
        [sys.executable, "-c", BASELINE_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return Server(proc, int(line.split()[1]))


def start_processor(ledger: Path, env: dict[str, str], synchronous: str) -> tuple[Server, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "genai_cost.processor.cli", "serve",
            "--otlp-grpc-port", "0", "--otlp-http-port", "0", "--http-port", "0",
            "--ledger-path", str(ledger), "--ledger-synchronous", synchronous,
            "--otlp-max-request-bytes", str(64 << 20), "--log-level", "warning",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"otlp-grpc [\d.]+:(\d+).*http [\d.]+:(\d+)$", line.strip())
    if match is None:
        proc.kill()
        raise RuntimeError(f"genai-cost serve did not start: {line!r}")
    return Server(proc, int(match.group(1)), int(match.group(2))), time.perf_counter() - started


# -- clients --------------------------------------------------------------------------------------


def _client(
    port: int,
    template: Template,
    seed: int,
    start: int,
    batches: int,
    repeat: int,
    ready: mp.Queue,  # type: ignore[type-arg]
    go: Any,
    result: mp.Queue,  # type: ignore[type-arg]
) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)])
    export = channel.unary_unary(METHOD)
    rng = random.Random(seed)
    payloads = [template.fresh(rng, start + k * BATCH_PERIOD_NS) for k in range(batches)]
    ready.put(1)
    go.wait()
    errors = 0
    for _ in range(repeat):
        for payload in payloads:
            try:
                export(payload, timeout=60)
            except grpc.RpcError as exc:
                errors += 1
                if errors == 1:
                    print(f"  client error: {exc.code()} {exc.details()}", file=sys.stderr)
    channel.close()
    result.put(errors)


_seeds = iter(range(1, 1_000_000))
_next_start_ns = 0  # the first span start after every batch sent so far (see drive)


def drive(
    server: Server, template: Template, clients: int, batches: int, repeat: int = 1
) -> tuple[float, float, int, int]:
    """Send ``batches`` fresh batches (``repeat`` times) from each of ``clients`` processes.

    The clients build their payloads first and wait for a start signal, so the server's CPU time
    covers the sending only. Their spans start after every span sent before, by any earlier call:
    a batch covers 0.5 s of span time but is sent in milliseconds, so starting each run at the
    current time would put its end times inside the previous run's and make the ledger's indexes
    take inserts in their middle, which real traffic (end times near now) does not cause.
    Returns (spans sent, server CPU s, wall s, failed exports).
    """
    global _next_start_ns
    start = max(time.time_ns(), _next_start_ns)
    _next_start_ns = start + batches * BATCH_PERIOD_NS + 10**9
    ready: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    result: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    go = mp.Event()
    procs = [
        mp.Process(
            target=_client,
            args=(server.grpc_port, template, next(_seeds), start, batches, repeat, ready, go, result),
        )
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    cpu0 = server.cpu_seconds()
    wall0 = time.perf_counter()
    go.set()
    errors = sum(result.get() for _ in procs)
    cpu, wall = server.cpu_seconds() - cpu0, time.perf_counter() - wall0
    for p in procs:
        p.join()
    return clients * batches * repeat * BATCH_SPANS, cpu, wall, errors


def warm_up(server: Server, template: Template) -> None:
    drive(server, template, 1, 4)


# -- ledger size ----------------------------------------------------------------------------------


def fill_ledger(path: Path, rows: int) -> float:
    """Insert ``rows`` synthetic calls with SQL, 15 s apart and ending before now; returns seconds taken."""
    started = time.perf_counter()
    first_end_ns = time.time_ns() - (rows + 1) * 15_000_000_000
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.executescript(
        f"""
        BEGIN;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
        INSERT INTO calls (trace_id, span_id, parent_span_id, response_id, start_time_ns, end_time_ns, agent,
            service, session, user_id, tags, provider, model, request_model, response_model, operation, outcome,
            error_type, dialect, usage_reported, input_tokens, cache_read_tokens, cache_write_tokens,
            output_tokens, reasoning_tokens, price_source, cost_input_pusd, cost_cache_read_pusd,
            cost_cache_write_pusd, cost_output_pusd, cost_reasoning_pusd, cost_total_pusd, ingested_at_ns)
        SELECT printf('%032x', i), printf('%016x', i), NULL, 'fill-' || i,
            {first_end_ns} + i * 15000000000 - 900000000, {first_end_ns} + i * 15000000000,
            'agent-' || (i % 20), 'svc', 'sess-' || (i % 1000), NULL, '{{}}', 'openai',
            CASE i % 3 WHEN 0 THEN 'gpt-4o-mini' WHEN 1 THEN 'gpt-4o' ELSE 'o3-mini' END, 'gpt-4o-mini',
            'gpt-4o-mini', 'chat', 'ok', NULL, 'semconv', 1, 1000, 100, 0, 200, 0, 'genai-prices',
            150000000, 7500000, 0, 120000000, 0, 277500000, 0
        FROM n;
        COMMIT;
        """
    )
    conn.close()
    return time.perf_counter() - started


def time_report(path: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "genai_cost.processor.cli", "report", "--by", "model", "--format", "json",
         "--ledger", str(path), "--since", "2000-01-01"],
        check=True, stdout=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=150, help="batches per client per trial (default 150)")
    parser.add_argument("--trials", type=int, default=5, help="(a)/(b) pairs per workload; the median is reported")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--synchronous", default="full", help="ledger synchronous mode for (b)")
    parser.add_argument("--ledger-rows", type=int, nargs="*", default=[1_000_000], help="ledger sizes to try")
    parser.add_argument("--skip-tunables", action="store_true")
    args = parser.parse_args()

    workloads = {"mixed (20% LLM)": Template.of(build_template(0.2)), "100% LLM": Template.of(build_template(1.0))}
    base_env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "MALLOC_ARENA_MAX")}
    variants = [("default malloc", base_env)]
    if not args.skip_tunables:
        variants.append(("GLIBC_TUNABLES", {**base_env, "GLIBC_TUNABLES": MALLOC_TUNABLES}))
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, grpcio {grpc.__version__}, "
          f"{args.clients} client processes x {args.batches} batches of {BATCH_SPANS} spans")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="genai-cost-bench-") as tmp:
        for variant, env in variants:
            print(f"\n== {variant}")
            baseline = start_baseline(env)
            ledger = Path(tmp) / f"ledger-{variants.index((variant, env))}.sqlite3"
            processor, _ = start_processor(ledger, env, args.synchronous)
            try:
                for name, template in workloads.items():
                    warm_up(baseline, template)
                    warm_up(processor, template)
                    rates_b: list[float] = []
                    ratios: list[float] = []
                    for trial in range(1, args.trials + 1):
                        spans_a, cpu_a, wall_a, err_a = drive(baseline, template, args.clients, args.batches, 10)
                        spans_b, cpu_b, wall_b, err_b = drive(processor, template, args.clients, args.batches)
                        rate_a, rate_b = spans_a / cpu_a, spans_b / cpu_b
                        rates_b.append(rate_b)
                        ratios.append(rate_b / rate_a)
                        print(f"{name:16s} #{trial} (a) parse-only {rate_a:10,.0f} spans/CPU-s ({wall_a:4.1f}s wall, "
                              f"{err_a} errors) | (b) genai-cost {rate_b:10,.0f} spans/CPU-s ({wall_b:4.1f}s wall, "
                              f"{err_b} errors) | b/a {rate_b / rate_a:.3f}")  # fmt: skip
                    print(f"{name:16s} median of {args.trials}: (b) {statistics.median(rates_b):,.0f} spans/CPU-s "
                          f"(min {min(rates_b):,.0f}, max {max(rates_b):,.0f}; target {TARGETS[name]:,}), "
                          f"b/a {statistics.median(ratios):.3f}")  # fmt: skip
                print(f"peak RSS: (a) {baseline.peak_rss_mib():.0f} MiB, (b) {processor.peak_rss_mib():.0f} MiB")
            finally:
                baseline.stop()
                processor.stop()
            with sqlite3.connect(ledger) as conn:
                print(f"ledger rows written: {conn.execute('SELECT COUNT(*) FROM calls').fetchone()[0]:,}")

        for rows in args.ledger_rows:
            print(f"\n== ledger of {rows:,} rows")
            ledger = Path(tmp) / f"big-{rows}.sqlite3"
            processor, _ = start_processor(ledger, base_env, args.synchronous)  # creates the schema
            processor.stop()
            print(f"fill: {fill_ledger(ledger, rows):.1f}s, file {ledger.stat().st_size / 2**20:,.0f} MiB")
            print(f"report --by model over all rows: {time_report(ledger, base_env):.2f}s")
            processor, startup = start_processor(ledger, base_env, args.synchronous)
            try:
                print(f"serve first start-up (rows written by SQL: their totals summed once): {startup:.2f}s")
                template = workloads["100% LLM"]
                warm_up(processor, template)
                spans, cpu_b, wall_b, err_b = drive(processor, template, args.clients, args.batches)
                print(f"100% LLM ingest: {spans / cpu_b:,.0f} spans/CPU-s ({wall_b:.1f}s wall, {err_b} errors)")
                print(f"peak RSS {processor.peak_rss_mib():.0f} MiB")
            finally:
                processor.stop()
            processor, startup = start_processor(ledger, base_env, args.synchronous)
            processor.stop()
            print(f"serve start-up again (totals read from call_totals): {startup:.2f}s")


if __name__ == "__main__":
    main()

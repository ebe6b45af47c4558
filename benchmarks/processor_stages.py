"""Where the processor's CPU goes per LLM span: each stage of the write path, timed on one thread.

The stages ``genai-cost serve`` runs for an export of 512 LLM spans (the 100 % LLM batches of
``processor_throughput.py``, fresh ids and times per batch), called directly, without gRPC, threads
or the commit listeners: decode, in-export dedup, pricing, row building, the nesting window, the
ledger commit (SQLite, ``synchronous=full``: one fsync per batch) and the totals. Their sum against
the server's figure in ``processor_throughput.py`` shows what the receivers and threads add.

    .venv/bin/python benchmarks/processor_stages.py [--batches 60]

Prints microseconds of CPU per span for each stage; it is not a test.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from processor_throughput import BATCH_PERIOD_NS, BATCH_SPANS, Template, build_template

from genai_cost.processor.adapters.ledger import SqliteLedger
from genai_cost.processor.domain.dedup import link_duplicates
from genai_cost.processor.domain.pricing import Pricer
from genai_cost.processor.domain.records import PricedCall
from genai_cost.processor.ingest import IngestOptions, decode_protobuf
from genai_cost.processor.pipeline.nesting import NestedWindow
from genai_cost.processor.pipeline.totals import Totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    template = Template.of(build_template(1.0))
    rng = random.Random(1)
    start = time.time_ns()
    bodies = [template.fresh(rng, start + k * BATCH_PERIOD_NS) for k in range(args.batches)]
    options = IngestOptions()
    seconds: dict[str, float] = {}

    def lap(stage: str, since: float) -> float:
        now = time.process_time()
        seconds[stage] = seconds.get(stage, 0.0) + now - since
        return now

    with tempfile.TemporaryDirectory() as folder:
        ledger = SqliteLedger(Path(folder) / "ledger.sqlite3", synchronous="full")
        pricer, totals, window = Pricer(), Totals(), NestedWindow(20_000)
        try:
            for body in bodies:
                t = time.process_time()
                calls = decode_protobuf(body, options).calls
                t = lap("decode (find, parse, dialects, attribution)", t)
                calls = link_duplicates(calls).unique
                t = lap("in-export dedup", t)
                costs = [pricer.price(call) for call in calls]
                t = lap("pricing", t)
                entries = [ledger.prepare(PricedCall(call, cost)) for call, cost in zip(calls, costs, strict=True)]
                t = lap("ledger rows (pico-USD, checks)", t)
                for entry in entries:
                    window.check(entry.priced.call)
                    window.add(entry.priced.call)
                t = lap("nesting window", t)
                result = ledger.commit(entries)
                t = lap("ledger commit (SQLite, fsync)", t)
                totals.add_groups(result.groups)
                lap("totals", t)
        finally:
            ledger.close()
    spans = args.batches * BATCH_SPANS
    print(f"{args.batches} batches of {BATCH_SPANS} LLM spans, CPU microseconds per span:")
    for stage, spent in seconds.items():
        print(f"  {stage:46s} {spent / spans * 1e6:6.2f}")
    total = sum(seconds.values())
    print(f"  {'sum':46s} {total / spans * 1e6:6.2f}  ({spans / total:,.0f} spans per CPU-second)")


if __name__ == "__main__":
    main()

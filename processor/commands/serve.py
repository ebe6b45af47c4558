"""``genai-cost serve``: the processor (OTLP receivers, ledger, metrics)."""

from __future__ import annotations

import argparse
import logging
import sys

from genai_cost.processor import config as config_module
from genai_cost.processor.app import serve


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "serve",
        help="run the processor: OTLP receivers, pricing, ledger, /metrics",
        description="Receive OTLP traces, price every LLM call once, record it in the ledger and "
        "expose Prometheus metrics. With no options it runs on embedded defaults.",
    )
    config_module.add_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = config_module.load(args)
    except config_module.ConfigError as exc:
        print(f"genai-cost serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    return serve(config, announce=lambda line: print(line, flush=True))

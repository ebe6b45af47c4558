"""The ``genai-cost`` command line: subcommands are discovered in :mod:`genai_cost.processor.commands`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from genai_cost.processor import commands

PROG = "genai-cost"


def build_parser() -> argparse.ArgumentParser:
    """The root parser with one subparser per command module that defines ``register``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="LLM spend tracking on OpenTelemetry: an OTLP receiver that prices LLM calls.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns its exit code (2 for usage errors, as argparse does)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

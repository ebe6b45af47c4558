"""The ``genai-cost`` subcommands, one module each.

A module here becomes a subcommand by defining::

    def register(subparsers: argparse._SubParsersAction) -> None:
        parser = subparsers.add_parser("report", help="...", description="...")
        parser.add_argument(...)
        parser.set_defaults(handler=run)   # run(args: argparse.Namespace) -> int (exit code)

:mod:`genai_cost.processor.cli` imports every module of this package (names starting with ``_``
excepted) and calls its ``register``; modules without one are helpers. Subcommands appear in
alphabetical order of their module names.
"""

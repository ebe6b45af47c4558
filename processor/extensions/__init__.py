"""Features that plug into ``genai-cost serve`` without changing the app, one module each.

A module here is loaded at start-up when it defines::

    def setup(ctx: genai_cost.processor.app.AppContext) -> None:
        ctx.pipeline.add_commit_listener(on_commit)       # newly committed PricedCalls, writer thread
        ctx.routes.add("GET", "/api/v1/costs", handler)   # a route on the :9464 server
        ctx.registry.register(MyCollector())              # extra Prometheus collectors
        ctx.on_stop(close)                                # called on shutdown, in reverse order

``setup`` runs after the ledger is open and the totals are loaded, before the receivers start;
the processor reports ready only after every ``setup`` returned. An exception in ``setup`` stops
the start-up with an error naming the module. Modules load in alphabetical order; names starting
with ``_`` are skipped.
"""

"""The processor pipeline: decode -> price -> dedup -> commit -> totals -> listeners.

Pure of transports and storage engines: the receivers and the ledger are adapters that plug in
(:class:`~genai_cost.processor.pipeline.ports.LedgerStore`).
"""

from genai_cost.processor.pipeline.engine import CommitListener, Pipeline, SpanRejection, Unavailable
from genai_cost.processor.pipeline.totals import Totals

__all__ = ["CommitListener", "Pipeline", "SpanRejection", "Totals", "Unavailable"]

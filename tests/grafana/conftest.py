"""Makes the shared helpers of tests/deploy (metric contract, PromQL names, dashboard queries) importable."""

from __future__ import annotations

import sys
from pathlib import Path

DEPLOY_TESTS = Path(__file__).resolve().parents[1] / "deploy"
if str(DEPLOY_TESTS) not in sys.path:
    sys.path.insert(0, str(DEPLOY_TESTS))

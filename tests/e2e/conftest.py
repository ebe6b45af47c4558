"""The end-to-end tests reuse the deploy kit's harnesses (real Prometheus, real Alertmanager)."""

from __future__ import annotations

import sys
from pathlib import Path

DEPLOY_TESTS = Path(__file__).resolve().parents[1] / "deploy"
if str(DEPLOY_TESTS) not in sys.path:
    sys.path.insert(0, str(DEPLOY_TESTS))

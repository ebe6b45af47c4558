"""Cost of ``check_call`` on the LLM call path, against an empty function call in the same run.

Cases: enforcement off (the default); on with nothing blocked (the usual state); on with three
blocked scopes that do not match the call (agent and tags read from the attribution baggage).
Prints the median ns per call over repeated samples, and the overhead over the baseline.

    python benchmarks/enforcement_check.py [--calls 200000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from genai_cost.instrumentation import attribute_to
from genai_cost.instrumentation.core import enforcement


def empty(provider: str, model: str | None) -> None:
    return None


def median_ns(fn: Callable[[str, str | None], None], calls: int, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        for _ in range(calls):
            fn("openai", "gpt-4o")
        samples.append((time.perf_counter_ns() - started) / calls)
    return statistics.median(samples)


def _enforcer_with(rules: tuple[enforcement.BlockedRule, ...]) -> None:
    enforcer = enforcement.Enforcer("http://127.0.0.1:9")  # never started: no thread, no I/O
    enforcer.rules = rules
    enforcer.service = "app"
    enforcement._enforcer = enforcer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    rules, _ = enforcement.parse_rules(
        {
            "blocked": [
                {"budget": "a", "reason": "over_limit", "match": {"agent": "crawler"}},
                {"budget": "b", "reason": "paused", "match": {"provider": "anthropic", "model": "claude-opus-4"}},
                {"budget": "c", "reason": "over_limit", "match": {"tags": {"team": "search"}}},
            ]
        }
    )
    results: list[tuple[str, float]] = [("baseline: empty function call", median_ns(empty, args.calls, args.repeat))]
    enforcement.configure(enabled=False)
    results.append(("check_call, enforcement off", median_ns(enforcement.check_call, args.calls, args.repeat)))
    _enforcer_with(())
    results.append(("check_call, on, nothing blocked", median_ns(enforcement.check_call, args.calls, args.repeat)))
    _enforcer_with(rules)
    with attribute_to(agent="researcher", tags={"team": "care"}):
        results.append(
            ("check_call, on, 3 blocked scopes, no match", median_ns(enforcement.check_call, args.calls, args.repeat))
        )
    enforcement.reset()

    baseline = results[0][1]
    print(f"{'case':<46} {'median ns/call':>15} {'overhead ns':>12}")
    for name, ns in results:
        print(f"{name:<46} {ns:>15.1f} {ns - baseline:>12.1f}")


if __name__ == "__main__":
    main()

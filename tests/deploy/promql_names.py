"""Find the series names a PromQL expression selects, without a full PromQL parser.

Good enough for the expressions in our dashboards and rules: string literals, label matchers,
ranges and grouping clauses are removed first; what is left that looks like an identifier, is not a
keyword and is not called like a function, is a series name.
"""

from __future__ import annotations

import re

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless"}
)
_LITERALS = frozenset({"inf", "nan", "Inf", "NaN"})


def selected_series(expr: str) -> set[str]:
    """Return the series names ``expr`` selects (metric names and recorded series)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name in _KEYWORDS or name in _LITERALS:
            continue
        names.add(name)
    return names

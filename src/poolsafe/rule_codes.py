"""The codes of the analysis rules, without loading them: what the command line
validates `--select` against and the cache keys on. `tests/test_rule_codes.py`
keeps it equal to the rules themselves (`poolsafe.rules.ALL_RULES`)."""

from __future__ import annotations

from collections.abc import Iterable

RULE_CODES: tuple[str, ...] = (
    "PS101", "PS102", "PS103", "PS104", "PS105", "PS106",
    "PS201", "PS202", "PS203", "PS204", "PS205", "PS206", "PS207",
    "PS208", "PS210", "PS211",
)


def enabled_codes(select: Iterable[str] | None, ignore: Iterable[str]) -> list[str]:
    """The rule codes a selection enables: every code starting with a selected prefix
    (all when `select` is None) and with no ignored one, in registry order."""
    chosen = None if select is None else tuple(select)
    dropped = tuple(ignore)
    return [code for code in RULE_CODES
            if (chosen is None or code.startswith(chosen)) and not code.startswith(dropped)]

"""The codes of the analysis rules, without loading them: what the command line
validates `--select` against and the cache keys on. `tests/test_rule_codes.py`
keeps it equal to the rules themselves (`poolsafe.rules.ALL_RULES`)."""

from __future__ import annotations

from collections.abc import Iterable

RULE_CODES: tuple[str, ...] = (
    "PS101", "PS102", "PS103", "PS104", "PS105", "PS106", "PS107",
    "PS201", "PS202", "PS203", "PS204", "PS205", "PS206", "PS207",
    "PS208", "PS209", "PS210", "PS211",
)

#: the rules with a fix (`Rule.fixable`), equally without loading them
FIXABLE_CODES: frozenset[str] = frozenset({
    "PS101", "PS102", "PS103", "PS104", "PS105", "PS106", "PS203", "PS205", "PS206",
    "PS210", "PS211",
})

#: rules that run only when selected by their full code or by `ALL`, never by default
#: or by a prefix (`PS2`): checklist items and sizing opinions that are not always
#: defects (PS204: on fresh large code bases, reviewers judged nearly every finding a
#: sizing choice; see benchmarks/README.md, round 27)
OPT_IN_CODES: tuple[str, ...] = ("PS204", "PS209")


def enabled_codes(select: Iterable[str] | None, ignore: Iterable[str]) -> list[str]:
    """The rule codes a selection enables: every code starting with a selected prefix
    (all but the opt-in ones when `select` is None; an opt-in code only by its full
    code or `ALL`) and with no ignored one, in registry order."""
    chosen = None if select is None else tuple(select)
    dropped = tuple(ignore)
    return [code for code in RULE_CODES
            if selected(code, chosen) and not code.startswith(dropped)]


def selected(code: str, chosen: tuple[str, ...] | None) -> bool:
    """Whether the selectors `chosen` (None: the default selection) enable `code`."""
    if code in OPT_IN_CODES:
        return chosen is not None and (code in chosen or "ALL" in chosen)
    return chosen is None or "ALL" in chosen or code.startswith(chosen)

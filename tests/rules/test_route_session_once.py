"""One leak, one finding: a session built by hand in a FastAPI route (named or inline)
is PS105's finding, and PS102 stays quiet on that call; where PS105 does not report
the call (a Flask route, a project wrapper, a nested function), PS102 reports it alone
(issue 31, round 31)."""

from __future__ import annotations

import pytest

from poolsafe.rules.base import Case
from poolsafe.rules.cases import ps102
from poolsafe.scan.engine import ScanOptions, scan_sources

#: the PS102 cases of this class: (case, the one code expected at the session's line)
_ROUTE_CASES = [
    *[(c, "PS105") for c in ps102.VALID if "PS105's finding" in c.note
      or "still PS105's call" in c.note],
    *[(c, "PS102") for c in ps102.INVALID if "PS105 judges FastAPI routes only" in c.note
      or "which PS105 does not report" in c.note
      or "nested in the route, which is no route" in c.note],
]


def test_the_class_has_its_cases() -> None:
    assert sum(code == "PS105" for _, code in _ROUTE_CASES) == 3  # named x2, inline
    assert sum(code == "PS102" for _, code in _ROUTE_CASES) == 3


@pytest.mark.parametrize(("case", "code"), _ROUTE_CASES,
                         ids=[c.note[:40] for c, _ in _ROUTE_CASES])
def test_one_finding_per_hand_built_route_session(case: Case, code: str) -> None:
    files = {**case.files, case.path: case.code}
    result = scan_sources(files, ScanOptions(select={"PS102", "PS105"}))
    assert not result.errors, result.errors
    found = [(f.line, f.code) for f in result.findings if f.path == case.path]
    assert len(found) == 1, found
    assert found[0][1] == code

"""Every rule's VALID and INVALID cases: INVALID lines marked `# expect: PSxxx` must be
reported with exactly that code on exactly that line; VALID cases must report nothing
of that rule."""

from __future__ import annotations

import re

import pytest

from poolsafe.rules import ALL_RULES, Case, Rule
from poolsafe.scan.engine import ScanOptions, scan_sources

EXPECT = re.compile(r"#\s*expect:\s*((?:PS\d{3}[ ,]*)+)")


def expected(code: str) -> set[tuple[int, str]]:
    out = set()
    for lineno, line in enumerate(code.splitlines(), start=1):
        m = EXPECT.search(line)
        if m:
            for c in re.findall(r"PS\d{3}", m.group(1)):
                out.add((lineno, c))
    return out


def run_case(rule: type[Rule], case: Case) -> set[tuple[int, str]]:
    files = {**case.files, case.path: case.code}
    result = scan_sources(files, ScanOptions(select={rule.code}))
    assert not result.errors, result.errors
    return {(f.line, f.code) for f in result.findings if f.path == case.path}


def _params(kind: str) -> list[object]:
    out = []
    for rule in ALL_RULES:
        cases = rule.INVALID if kind == "invalid" else rule.VALID
        for i, case in enumerate(cases):
            out.append(pytest.param(rule, case, id=f"{rule.code}-{kind}-{i}"))
    return out


@pytest.mark.parametrize(("rule", "case"), _params("invalid"))
def test_invalid_case_is_reported_at_exact_line(rule: type[Rule], case: Case) -> None:
    want = {(line, code) for line, code in expected(case.code) if code == rule.code}
    assert want, "an INVALID case must mark at least one `# expect:` line"
    assert run_case(rule, case) == want


@pytest.mark.parametrize(("rule", "case"), _params("valid"))
def test_valid_case_is_not_reported(rule: type[Rule], case: Case) -> None:
    assert not expected(case.code)
    assert run_case(rule, case) == set()


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_rule_has_documentation_and_enough_cases(rule: type[Rule]) -> None:
    doc = rule.meta().doc
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in doc
    minimum = 10 if rule.code.startswith("PS1") else 8
    assert len(rule.INVALID) >= minimum
    assert len(rule.VALID) >= minimum

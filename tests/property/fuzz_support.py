"""Shared settings, inputs and property checks for tests/property.

Budget: POOLSAFE_FUZZ_EXAMPLES examples per property test (default below, sized so
that the whole directory runs in about a minute and a half on two cores). CI runs
derandomized (the same examples every time); set POOLSAFE_FUZZ_RANDOM=1 to explore
new ground, with `--hypothesis-seed=N` to make such a run repeatable.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import libcst as cst
from hypothesis import HealthCheck, settings

from poolsafe.core.model import ScanResult
from poolsafe.fix.loop.apply import FixResult, fix_sources
from poolsafe.rules import ALL_RULES
from poolsafe.scan.engine import ScanOptions, scan_sources

ROOT = Path(__file__).resolve().parents[2]

DEFAULT_EXAMPLES = 25
EXAMPLES = max(1, int(os.environ.get("POOLSAFE_FUZZ_EXAMPLES", DEFAULT_EXAMPLES)))
RANDOM = os.environ.get("POOLSAFE_FUZZ_RANDOM", "") not in ("", "0")


def fuzz_settings(examples: int | None = None) -> settings:
    return settings(
        max_examples=examples if examples is not None else EXAMPLES,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much, HealthCheck.large_base_example],
    )


# ------------------------------------------------------------------- inputs
def fixture_apps() -> dict[str, dict[str, str]]:
    """{app name: {path relative to before/: source}}, read at test time."""
    apps: dict[str, dict[str, str]] = {}
    for py in sorted((ROOT / "fixtures").glob("*/before/**/*.py")):
        before = next(p for p in py.parents if p.name == "before")
        apps.setdefault(before.parent.name, {})[py.relative_to(before).as_posix()] = \
            py.read_text(encoding="utf-8")
    return apps


def invalid_cases() -> dict[str, tuple[dict[str, str], str]]:
    """{"PS102-3": ({path: source}, path under test)} for every rule's INVALID cases."""
    out: dict[str, tuple[dict[str, str], str]] = {}
    for rule in ALL_RULES:
        for i, case in enumerate(rule.INVALID):
            out[f"{rule.code}-{i}"] = ({**case.files, case.path: case.code}, case.path)
    return out


# ---------------------------------------------------------------- properties
def libcst_parses(code: str) -> bool:
    try:
        cst.parse_module(code)
    except Exception:
        return False
    return True


def codes(result: ScanResult) -> Counter[str]:
    return Counter(f.code for f in result.findings)


def internal_errors(messages: list[str]) -> list[str]:
    return [m for m in messages if "internal error" in m]


def check_never_raises(files: dict[str, str]) -> ScanResult:
    """scan_sources returns findings and per-file errors; no rule crashes."""
    result = scan_sources(files, ScanOptions())
    assert isinstance(result, ScanResult)
    assert not internal_errors([e.message for e in result.errors]), result.errors
    return result


def fix_properties(files: dict[str, str], *, unsafe: bool, must_compile: bool) -> FixResult:
    """The in-memory fix: output parses (and compiles when the input did), fixing the
    output again changes nothing, and no finding appears that was not there before
    (compared per rule code, by count: lines move)."""
    # only modules are parsed: a case's docker-compose.yml or my.cnf is data
    unreadable = {name for name, text in files.items()
                  if name.endswith(".py") and not libcst_parses(text)}
    before = None if unreadable else check_never_raises(files)
    result = fix_sources(files, ScanOptions(), unsafe=unsafe)
    messages = [e.message for e in result.errors]
    assert not internal_errors(messages), result.errors
    assert result.converged, (result.passes, result.applied)
    assert not [m for m in messages if "was reverted" in m], result.errors
    # a fixer that fails or a fix that adds a finding leaves its finding with the reason
    assert not [x.reason for x in result.left
                if "fixer failed" in x.reason or "was reverted" in x.reason], result.left
    fixed = result.sources()
    assert set(fixed) == {name for name in files if name.endswith(".py")}
    # the files that are not modules (docker-compose.yml, my.cnf) stay beside them
    fixed = {**{n: t for n, t in files.items() if not n.endswith(".py")}, **fixed}
    for name, text in fixed.items():
        if text == files[name]:
            continue
        assert libcst_parses(text), (name, text)
        if must_compile:
            compile(text, name, "exec", dont_inherit=True)
    if before is None:
        # a file libcst cannot read is reported and left alone
        assert all(fixed[name] == files[name] for name in unreadable)
        assert {e.path for e in result.errors} >= unreadable, result.errors
        return result
    after = check_never_raises(fixed)
    added = codes(after) - codes(before)
    assert not added, (dict(added), before.findings, after.findings)
    again = fix_sources(fixed, ScanOptions(), unsafe=unsafe)
    assert {**fixed, **again.sources()} == fixed, [
        (a.code, a.line, a.description) for a in again.applied]
    assert not again.applied
    return result

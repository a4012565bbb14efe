"""Holder stacks start at the user's code and fold library frames, unless
``--poolsafe-full-stacks`` asks for all of them."""

from __future__ import annotations

import os
import sys
from types import CodeType

import pytest

from poolsafe.runtime.tracking import format_stack, is_library_file

SITE = os.path.join(sys.prefix, "lib", "python3", "site-packages")


def _code(filename: str, name: str) -> CodeType:
    module = compile(f"def {name}():\n    pass\n", filename, "exec")
    return next(c for c in module.co_consts if isinstance(c, CodeType))


@pytest.mark.parametrize(
    ("filename", "library"),
    [
        (os.path.join(SITE, "sqlalchemy", "pool", "base.py"), True),
        (os.path.join(SITE, "_pytest", "python.py"), True),
        ("/somewhere/pluggy/_callers.py", True),
        ("<frozen runpy>", True),
        (os.__file__, True),  # the standard library
        (os.path.join(os.path.dirname(is_library_file.__code__.co_filename), "pool.py"), True),
        ("/home/me/app/reports.py", False),
        (__file__, False),
    ],
)
def test_library_files(filename: str, library: bool) -> None:
    assert is_library_file(filename) is library


def test_report_starts_at_user_code_and_folds_runs_of_library_frames() -> None:
    outer_to_inner = [
        _code("<frozen runpy>", "_run_module_as_main"),
        _code(os.path.join(SITE, "_pytest", "python.py"), "pytest_pyfunc_call"),
        _code("/home/me/app/test_reports.py", "test_totals"),
        _code("/home/me/app/reports.py", "daily_totals"),
        _code(os.path.join(SITE, "sqlalchemy", "engine", "base.py"), "connect"),
        _code(os.path.join(SITE, "sqlalchemy", "pool", "base.py"), "checkout"),
        _code("/home/me/app/listeners.py", "on_checkout"),
        _code(os.path.join(SITE, "sqlalchemy", "event", "attr.py"), "__call__"),
    ]
    frames = [(code, 0) for code in reversed(outer_to_inner)]  # innermost first
    folded = format_stack(frames, full=False)
    lines = [line.strip() for line in folded.splitlines()]
    assert lines == [
        'File "/home/me/app/test_reports.py", line 1, in test_totals',
        'File "/home/me/app/reports.py", line 1, in daily_totals',
        "... 2 library frames ...",
        'File "/home/me/app/listeners.py", line 1, in on_checkout',
        "... 1 library frame ...",
    ]
    full = format_stack(frames, full=True)
    assert full.count('File "') == 8 and "library frame" not in full


def test_a_stack_of_library_frames_only_is_shown_whole() -> None:
    frames = [(_code(os.path.join(SITE, "x", "y.py"), "f"), 0)]
    assert "x/y.py" in format_stack(frames, full=False)


LEAK = """
import sqlalchemy
from poolsafe.runtime import track

ENGINE = sqlalchemy.create_engine("sqlite://")
track(ENGINE)
KEEP = []

def open_report():
    return ENGINE.connect()

def test_leak():
    KEEP.append(open_report())
"""


def test_plugin_folds_library_frames(pytester: pytest.Pytester) -> None:
    pytest.importorskip("sqlalchemy")
    pytester.makepyfile(test_fold=LEAK)
    result = pytester.runpytest("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    report = out[out.index("poolsafe found connection problems") :]
    report = report[: report.index("short test summary")]
    assert "KEEP.append(open_report())" in report
    assert "return ENGINE.connect()" in report
    assert "library frames ..." in report
    for hidden in ("_pytest", "pluggy", "site-packages", "runpy"):
        assert hidden not in report, hidden
    # the report's first frame is the test itself
    first_frame = next(line for line in report.splitlines() if line.strip().startswith("File "))
    assert "in test_leak" in first_frame


def test_full_stacks_option_shows_every_frame(pytester: pytest.Pytester) -> None:
    pytest.importorskip("sqlalchemy")
    pytester.makepyfile(test_fold=LEAK)
    result = pytester.runpytest("--poolsafe", "--poolsafe-full-stacks", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    report = out[out.index("poolsafe found connection problems") :]
    assert "library frame" not in report
    assert "sqlalchemy" in report and "_pytest" in report

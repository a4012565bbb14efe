"""Test modules are judged inside their project: a project checked out under a
directory named `tests` (a CI workspace, `/home/me/tests/app`) is not all tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from poolsafe.scan.engine import ScanOptions, scan

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "asyncpg_service" / "before"


def _found(root: Path) -> set[tuple[int, str]]:
    result = scan([str(root)], ScanOptions())
    return {(f.line, f.code) for f in result.findings}


def test_a_project_under_a_tests_directory_is_still_checked(tmp_path: Path) -> None:
    app = tmp_path / "tests" / "test" / "app"
    shutil.copytree(FIXTURE, app)
    assert _found(app) == {(14, "PS102"), (25, "PS102")}


def test_a_tests_directory_inside_the_project_is_tests(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(FIXTURE, app)
    (app / "tests").mkdir()
    shutil.move(str(app / "service.py"), str(app / "tests" / "service.py"))
    found = _found(app)
    # a test's leak on an exception path ends with the test's process: not reported
    assert (14, "PS102") not in found

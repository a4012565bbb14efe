"""The standby child (`parallel.Standby`): with a cache, a scan forks a child that
imports the parser while the project and the cache are read, and the re-check
after an edit runs there, with the findings of a re-check in this process."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

import poolsafe.scan.engine as engine
import poolsafe.scan.parallel as parallel
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.parallel import Standby

ROOT = Path(__file__).resolve().parents[2]
needs_fork = pytest.mark.skipif(not parallel.can_fork(), reason="no fork on this platform")


@needs_fork
def test_the_child_prepares_then_answers() -> None:
    parent = os.getpid()
    prepared: list[int] = []
    standby = Standby(lambda: prepared.append(os.getpid()),
                      lambda request: (request, os.getpid(), list(prepared)))
    try:
        value, pid, seen = standby.call("x")  # type: ignore[misc]
        assert value == "x" and pid != parent and seen == [pid]
        assert standby.call("y")[0] == "y"  # type: ignore[index]  # one request after another
    finally:
        standby.stop()
    assert prepared == []  # (prepared there, not here)
    assert standby.call("z") is None  # stopped: the caller computes it
    standby.stop()  # (again: nothing more)


@needs_fork
def test_a_failure_in_the_child_answers_none() -> None:
    def fails(request: object) -> object:
        raise RuntimeError("no")

    standby = Standby(lambda: None, fails)
    try:
        assert standby.call(1) is None
    finally:
        standby.stop()
    broken = Standby(lambda: os._exit(3), lambda request: request)
    try:
        assert broken.call(1) is None
    finally:
        broken.stop()


@needs_fork
def test_stop_does_not_wait_for_the_preparation() -> None:
    standby = Standby(lambda: time.sleep(60), lambda request: request)
    started = time.monotonic()
    standby.stop()
    assert time.monotonic() - started < 10


def _findings(root: Path, jobs: int) -> list[tuple[object, ...]]:
    result = scan([str(root)], ScanOptions(jobs=jobs, cache_dir=root / ".poolsafe_cache"))
    return [(Path(f.path).relative_to(root).as_posix(), f.line, f.column, f.code, f.message)
            for f in result.findings]


@needs_fork
@pytest.mark.parametrize("app", ["flask_psycopg2", "fastapi_sqlalchemy"])
def test_an_edit_is_rechecked_in_the_child_with_the_same_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: str) -> None:
    for name in ("apart", "here"):
        shutil.copytree(ROOT / "fixtures" / app, tmp_path / name)
    answers: list[object] = []
    real = Standby.call

    def recording(self: Standby, request: object) -> Any:
        answers.append(real(self, request))
        return answers[-1]

    monkeypatch.setattr(Standby, "call", recording)
    monkeypatch.setattr(engine, "_checker_loaded", lambda: False)  # (this process has it)
    cold = _findings(tmp_path / "apart", 2)
    assert cold == _findings(tmp_path / "here", 1)
    # (a small project is selected in this process, which imports nothing meanwhile)
    assert answers and all(isinstance(a, parallel.CheckResults) for a in answers)
    answers.clear()
    for name in ("apart", "here"):  # a file with findings
        edited = tmp_path / name / str(cold[0][0])
        edited.write_text(edited.read_text() + "\n# edited\n")
    assert _findings(tmp_path / "apart", 2) == _findings(tmp_path / "here", 1)
    assert answers and all(isinstance(a, parallel.CheckResults) for a in answers)


@needs_fork
def test_a_request_names_its_project_by_number_and_each_project_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child is forked once the projects are read: a request carries the
    number of its project, not the project's files and bytes, and with two
    projects each edit is checked against its own."""
    for name in ("apart", "here"):
        for app in ("flask_psycopg2", "fastapi_sqlalchemy"):
            shutil.copytree(ROOT / "fixtures" / app, tmp_path / name / app)
            (tmp_path / name / app / "pyproject.toml").write_text(f"[project]\nname = '{app}'\n")
    requests: list[tuple[Any, ...]] = []
    answers: list[object] = []
    real = Standby.call

    def recording(self: Standby, request: Any) -> Any:
        requests.append(request)
        answers.append(real(self, request))
        return answers[-1]

    monkeypatch.setattr(Standby, "call", recording)
    monkeypatch.setattr(engine, "_checker_loaded", lambda: False)

    def findings(name: str, jobs: int) -> list[tuple[object, ...]]:
        root = tmp_path / name
        opts = ScanOptions(jobs=jobs, cache_dir=root / ".poolsafe_cache")
        result = scan([str(root / "flask_psycopg2"), str(root / "fastapi_sqlalchemy")], opts)
        return [(Path(f.path).resolve().relative_to(root.resolve()).as_posix(), f.line,
                 f.column, f.code, f.message) for f in result.findings]

    cold = findings("apart", 2)
    assert cold == findings("here", 1)
    assert {c[0].split("/")[0] for c in cold} == {"flask_psycopg2", "fastapi_sqlalchemy"}
    requests.clear()
    answers.clear()
    for name in ("apart", "here"):  # a file with findings in each project
        for app in ("flask_psycopg2", "fastapi_sqlalchemy"):
            edited = tmp_path / name / next(str(c[0]) for c in cold if c[0].startswith(app))
            edited.write_text(edited.read_text() + "\nX_EDITED = 1\n")
    assert findings("apart", 2) == findings("here", 1)
    # (a fixture's `before`/`after` trees are projects of their own: two edits, two
    # projects, each named by its number)
    assert len(requests) == 2 and all(isinstance(r[0], int) for r in requests)
    assert requests[0][0] != requests[1][0]
    assert all(not isinstance(part, (bytes, list)) or len(part) < 1000 for r in requests
               for part in r[:2])
    assert answers and all(isinstance(a, parallel.CheckResults) for a in answers)

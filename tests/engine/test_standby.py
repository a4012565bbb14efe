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

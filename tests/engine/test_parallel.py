"""`--jobs`: the check phase in forked workers gives the same findings as one process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rule_case_tree import write_rule_cases

import poolsafe.scan.parallel as parallel
from poolsafe.core.model import FileError
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.parallel import CheckResults, check_all, shares

needs_fork = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="no fork on this platform")


def test_shares_are_runs_of_neighbours_balanced_by_size() -> None:
    assert shares([5, 1, 1, 1, 1, 1], 2) == [[0], [1, 2, 3, 4, 5]]
    assert shares([3, 3, 2, 2], 2) == [[0, 1], [2, 3]]
    assert shares([1, 1, 1, 1, 100], 2) == [[0, 1, 2, 3], [4]]
    assert shares([1], 4) == [[0]]
    assert shares([2, 2, 2, 2, 2, 2], 3) == [[0, 1], [2, 3], [4, 5]]
    sizes = [(i * 37) % 11 + 1 for i in range(200)]
    for jobs in (2, 3, 4):
        got = shares(sizes, jobs)
        assert [i for s in got for i in s] == list(range(200))  # every item once, in order
        loads = [sum(sizes[i] for i in s) for s in got]
        assert max(loads) - min(loads) <= 2 * max(sizes)


def _pids(items: list[int]) -> CheckResults:
    return CheckResults(errors=[FileError(str(i), str(os.getpid())) for i in items])


@needs_fork
def test_workers_are_other_processes_and_every_item_comes_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    out = check_all(list(range(10)), [1] * 10, 3, _pids)
    assert sorted(int(e.path) for e in out.errors) == list(range(10))
    pids = {e.message for e in out.errors}
    assert len(pids) == 3 and str(os.getpid()) not in pids


@needs_fork
def test_a_failing_worker_has_its_share_checked_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    parent = os.getpid()

    def fails_in_workers(items: list[int]) -> CheckResults:
        if os.getpid() != parent and 0 in items:
            raise RuntimeError("worker crash")
        return _pids(items)

    out = check_all(list(range(6)), [1] * 6, 2, fails_in_workers)
    assert sorted(int(e.path) for e in out.errors) == list(range(6))
    assert str(parent) in {e.message for e in out.errors}


def test_small_work_stays_in_this_process() -> None:
    out = check_all([1, 2], [10, 10], 4, _pids)
    assert {e.message for e in out.errors} == {str(os.getpid())}


@needs_fork
def test_all_rule_cases_give_the_same_findings_with_jobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    write_rule_cases(tmp_path)
    monkeypatch.chdir(tmp_path)

    def key(jobs: int) -> list[tuple[object, ...]]:
        result = scan(["."], ScanOptions(jobs=jobs))
        return [(f.path, f.line, f.column, f.code, f.message) for f in result.findings]

    serial = key(1)
    assert len(serial) > 100
    assert key(2) == serial
    assert key(3) == serial


def test_parsed_trees_are_kept_from_the_collector_only_during_a_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    (tmp_path / "db.py").write_text(
        "import psycopg2\n\ndef f():\n    return psycopg2.connect('')\n")
    monkeypatch.chdir(tmp_path)
    frozen: list[int] = []
    real_freeze = gc.freeze

    def counting_freeze() -> None:
        real_freeze()
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr(gc, "freeze", counting_freeze)
    before = gc.get_freeze_count()
    scan(["."], ScanOptions())
    assert frozen and frozen[-1] > before
    assert gc.get_freeze_count() == 0

"""Memory of a scan (issue 14): a share of files is checked by a series of indexes,
each dropped (with its trees) once it parsed `EPOCH_BYTES` of source; the findings,
and what the cache records they depend on, are the same as with one index. A
selection over a large tree runs in a child process (`run_apart`)."""

from __future__ import annotations

import gc
import os
import shutil
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rule_case_tree import write_rule_cases
from wrapper_project import write_wrapper_project

import poolsafe.scan.checking as checking
import poolsafe.scan.engine as engine
import poolsafe.scan.parallel as parallel
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.project_facts import facts
from poolsafe.scan.engine import ScanOptions, scan, scan_sources
from poolsafe.scan.lazy_index import LazyIndex
from poolsafe.scan.parallel import Tell, run_apart

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p for p in (ROOT / "fixtures").iterdir() if p.is_dir())

needs_fork = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="no fork on this platform")


def _key(root: Path, **options: Any) -> list[tuple[object, ...]]:
    result = scan([str(root)], ScanOptions(**options))
    return [(f.path, f.line, f.column, f.code, f.message, f.fixable, f.unsafe_fix)
            for f in result.findings] + [(e.path, e.message) for e in result.errors]


def _no_collection_per_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests ask for the same findings from a fresh index per file; the full
    collection that frees each dropped index (`release_dropped`) walks every object of
    the test process, hundreds of thousands after the earlier tests, once per file: it
    is left out here (the findings do not depend on it) and tested on its own below
    (`test_dropped_indexes_and_their_trees_are_freed`)."""
    monkeypatch.setattr(checking, "release_dropped", lambda: None)


def test_fresh_indexes_give_the_same_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_rule_cases(tmp_path)
    monkeypatch.chdir(root)
    one_index = _key(Path("."))
    assert len(one_index) > 100
    monkeypatch.setattr(checking, "EPOCH_BYTES", 0)  # a fresh index every few files
    _no_collection_per_epoch(monkeypatch)
    assert _key(Path(".")) == one_index


def _new_leak(text: str) -> str:
    """An edit that changes what other files read: a new function of the module."""
    return (text + "\n\ndef _added(pool):\n    conn = pool.getconn()\n"
                   "    conn.cursor().execute('SELECT 1')\n")


@pytest.mark.parametrize("app", APPS, ids=[a.name for a in APPS])
def test_fixture_apps_with_a_fresh_index_per_file_and_the_cache_after_edits(
        app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same findings, and what the cache records the findings depend on (the
    lookups of every index) is enough: a cached scan after an edit gives what a
    scan without the cache gives."""
    project = tmp_path / app.name
    shutil.copytree(app, project)
    one_index = _key(project)
    monkeypatch.setattr(checking, "EPOCH_BYTES", 0)
    monkeypatch.setattr(checking, "EPOCH_GROWTH", 0)
    _no_collection_per_epoch(monkeypatch)
    assert _key(project) == one_index
    cache = tmp_path / "cache"
    assert _key(project, cache_dir=cache) == one_index
    for path in sorted(project.rglob("*.py"))[:4]:
        original = path.read_text()
        path.write_text(_new_leak(original))
        assert _key(project, cache_dir=cache) == _key(project), path.name
        path.write_text(original)


def test_dropped_indexes_and_their_trees_are_freed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_wrapper_project(tmp_path, 4)
    monkeypatch.setattr(checking, "EPOCH_BYTES", 0)
    monkeypatch.setattr(checking, "EPOCH_GROWTH", 0)
    made: list[weakref.ref[LazyIndex]] = []
    alive_after_release: list[int] = []
    real_init = LazyIndex.__init__
    real_release = checking.release_dropped

    def init(self: LazyIndex, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    def release() -> None:
        real_release()
        alive_after_release.append(sum(r() is not None for r in made))

    monkeypatch.setattr(LazyIndex, "__init__", init)
    monkeypatch.setattr(checking, "release_dropped", release)
    result = scan([str(tmp_path)], ScanOptions())
    assert len([f for f in result.findings if f.code == "PS102"]) == 4
    assert len(made) == 5  # the selection's files: db.py and the four modules
    # after each release, only the index just begun is alive
    assert alive_after_release == [1, 1, 1, 1]


def test_an_index_is_not_kept_alive_by_its_project_facts() -> None:
    made: list[weakref.ref[ProjectIndex]] = []
    real_init = ProjectIndex.__init__

    def init(self: ProjectIndex, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    ProjectIndex.__init__ = init  # type: ignore[method-assign]
    try:
        scan_sources({"a.py": "import psycopg2\n\n\ndef f():\n    c = psycopg2.connect('')\n"
                              "    c.cursor().execute('SELECT 1')\n"})
    finally:
        ProjectIndex.__init__ = real_init  # type: ignore[method-assign]
    assert made
    index = made[0]()
    assert index is not None and facts(index) is facts(index)
    del index
    gc.collect()
    assert all(r() is None for r in made)


@needs_fork
def test_run_apart_computes_in_a_child_process() -> None:
    assert run_apart(lambda tell: os.getpid()) != os.getpid()
    assert run_apart(lambda tell: os.getpid(), apart=False) == os.getpid()


@needs_fork
def test_run_apart_runs_meanwhile_here_once_while_the_child_works(tmp_path: Path) -> None:
    started = tmp_path / "child-started"

    go_on = tmp_path / "go-on"

    def child(tell: Tell) -> int:
        started.write_text("")
        tell("early")
        deadline = time.monotonic() + 30
        while not go_on.exists():  # the answer waits until the parent heard the value
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return os.getpid()

    seen: list[tuple[int, object]] = []

    def meanwhile(ready: Callable[[], bool], heard: Callable[[], object]) -> None:
        seen.append((os.getpid(), heard()))  # here, after the child was forked
        deadline = time.monotonic() + 30
        while heard() is None:  # the value told comes first ...
            assert time.monotonic() < deadline
            time.sleep(0.01)
        seen.append((os.getpid(), heard()))
        assert not ready()  # ... and is no answer
        go_on.write_text("")
        while not ready():  # the child's answer comes: `ready` says so
            assert time.monotonic() < deadline
            time.sleep(0.01)

    assert run_apart(child, meanwhile=meanwhile) != os.getpid()
    assert seen[-1] == (os.getpid(), "early")
    seen.clear()
    assert run_apart(lambda tell: os.getpid(), apart=False,
                     meanwhile=lambda ready, heard: seen.append((os.getpid(), heard()))
                     ) == os.getpid()
    assert seen == [(os.getpid(), None)]  # nothing told: `fn` runs after it


@needs_fork
def test_a_cold_scan_imports_the_checker_while_the_selection_runs_apart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "db.py").write_text(
        "import psycopg2\n\ndef f():\n    conn = psycopg2.connect('')\n"
        "    conn.cursor().execute('SELECT 1')\n")
    calls: list[object] = []
    real = parallel.run_apart

    def recording(fn: Any, apart: bool = True, meanwhile: Any = None) -> Any:
        calls.append(meanwhile)
        return real(fn, apart=apart, meanwhile=meanwhile)

    monkeypatch.setattr(engine, "run_apart", recording)
    monkeypatch.setattr(engine, "SELECT_APART_BYTES", 0)
    assert len(scan([str(tmp_path)], ScanOptions()).findings) == 1
    assert len(calls) == 1 and calls[0] is not None
    monkeypatch.setattr(engine, "SELECT_APART_BYTES", 10**9)  # in process: nothing meanwhile
    scan([str(tmp_path)], ScanOptions())
    assert calls[-1] is None
    # apart, but no file can make a connection: nothing will be checked, nothing imported
    monkeypatch.setattr(engine, "SELECT_APART_BYTES", 0)
    (tmp_path / "db.py").write_text("def f():\n    return 1\n")
    assert scan([str(tmp_path)], ScanOptions()).findings == []
    assert calls[-1] is None


@needs_fork
def test_run_apart_computes_here_when_the_child_fails() -> None:
    parent = os.getpid()

    def only_here(tell: Tell) -> int:
        if os.getpid() != parent:
            raise RuntimeError("child crash")
        return 42

    assert run_apart(only_here) == 42


@needs_fork
def test_a_selection_apart_gives_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    here = {app.name: _key(app) for app in APPS}
    pids: list[int] = []
    real = parallel.run_apart

    def counting(fn: Any, apart: bool = True, meanwhile: Any = None) -> Any:
        pids.append(real(lambda tell: os.getpid(), apart=apart))
        return real(fn, apart=apart, meanwhile=meanwhile)

    monkeypatch.setattr(engine, "SELECT_APART_BYTES", 0)
    monkeypatch.setattr(engine, "run_apart", counting)
    assert {app.name: _key(app) for app in APPS} == here
    assert pids and all(p != os.getpid() for p in pids)


def test_files_parsed_while_the_selection_runs_are_not_parsed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seeds parsed meanwhile (`checking.preparse`) reach the checks: each file is
    parsed once, and the findings are those of a scan that parsed nothing early."""
    leak = ("import psycopg2\n\ndef f{n}():\n    conn = psycopg2.connect('')\n"
            "    conn.cursor().execute('SELECT 1')\n")
    for n in range(5):
        (tmp_path / f"db{n}.py").write_text(leak.format(n=n) * (n + 1))
    (tmp_path / "plain.py").write_text("def g():\n    return 1\n")
    expected = scan([str(tmp_path)], ScanOptions(jobs=1, cache_dir=None)).findings
    parsed: list[str] = []
    real_load = checking._load_checked

    def counting(f: Any, d: bytes, options: ScanOptions) -> Any:
        parsed.append(str(f.path))
        return real_load(f, d, options)

    monkeypatch.setattr(checking, "_load_checked", counting)
    real = parallel.run_apart
    early: list[int] = []

    def two_early(fn: Any, apart: bool = True, meanwhile: Any = None) -> Any:
        # the selection "takes" as long as two parses: ready after the second file
        told: list[object] = []
        answer = real(lambda tell: fn(told.append), apart=False)
        if meanwhile is not None:
            meanwhile(lambda: len(parsed) >= 2, lambda: told[0])
            early.append(len(parsed))
        return answer

    monkeypatch.setattr(engine, "run_apart", two_early)
    monkeypatch.setattr(engine, "SELECT_APART_BYTES", 0)
    got = scan([str(tmp_path)], ScanOptions(jobs=1, cache_dir=None)).findings
    assert early == [2]
    assert sorted(parsed[:2]) == sorted(str(tmp_path / f"db{n}.py") for n in (3, 4))  # largest
    assert sorted(parsed) == sorted(str(tmp_path / f"db{n}.py") for n in range(5))  # once each
    assert got == expected


def test_parsed_early_are_the_reported_files_told_largest_first(tmp_path: Path) -> None:
    from poolsafe.scan.scope import build_scope

    for name, size in (("a.py", 10), ("b.py", 30), ("c.py", 20), ("d.py", 40)):
        (tmp_path / name).write_text("x = 1\n" + "# pad\n" * size)
    (project,) = build_scope([str(tmp_path / n) for n in ("a.py", "b.py", "c.py")],
                             ScanOptions().scope_settings()).projects
    index = {Path(f.path).name: i for i, f in enumerate(project.files)}
    told = [index[n] for n in ("a.py", "b.py", "c.py", "d.py")]  # d.py is not reported
    got = checking.preparse(project, ScanOptions(), lambda: False, lambda: told)
    assert [Path(p).name for p in got] == ["b.py", "c.py", "a.py"]
    # the selection is waited for; once the answer has come, nothing is parsed
    heard = iter([None, None, told])
    got = checking.preparse(project, ScanOptions(), lambda: False, lambda: next(heard))
    assert len(got) == 3
    assert checking.preparse(project, ScanOptions(), lambda: True, lambda: None) == {}
    assert checking.preparse(project, ScanOptions(), lambda: True, lambda: told) == {}


def test_files_parsed_early_weigh_less_in_the_workers_shares(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leak = ("import psycopg2\n\ndef f{n}():\n    conn = psycopg2.connect('')\n"
            "    conn.cursor().execute('SELECT 1')\n")
    for n in range(3):
        (tmp_path / f"db{n}.py").write_text(leak.format(n=n) * 4)
    seen: list[tuple[list[str], list[int]]] = []
    real_check_all = checking.check_all

    def recording(items: Any, sizes: Any, jobs: int, check: Any) -> Any:
        seen.append((list(items), list(sizes)))
        return real_check_all(items, sizes, jobs, check)

    monkeypatch.setattr(checking, "check_all", recording)
    real = parallel.run_apart

    def one_early(fn: Any, apart: bool = True, meanwhile: Any = None) -> Any:
        told: list[object] = []
        answer = real(lambda tell: fn(told.append), apart=False)
        if meanwhile is not None:
            calls = iter([False, True])  # ready after the first file
            meanwhile(lambda: next(calls, True), lambda: told[0])
        return answer

    monkeypatch.setattr(engine, "run_apart", one_early)
    monkeypatch.setattr(engine, "SELECT_APART_BYTES", 0)
    scan([str(tmp_path)], ScanOptions(jobs=1, cache_dir=None))
    ((items, sizes),) = seen
    full = [len((tmp_path / Path(p).name).read_bytes()) for p in items]
    lighter = [i for i, (s, f) in enumerate(zip(sizes, full, strict=True)) if s < f]
    assert len(lighter) == 1  # the one file parsed early
    assert sizes[lighter[0]] == full[lighter[0]] // checking.PREPARSED_SHARE


def test_an_epoch_never_grows_past_its_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`EPOCH_GROWTH` times the heaviest check (mlflow: 4 x 2.2 MB) is capped by
    `EPOCH_MAX_BYTES`: a fresh index begins once an epoch parsed that much, however
    much one check parsed, and the findings are those of one index."""
    write_wrapper_project(tmp_path, 4)
    one_index = _key(tmp_path)
    monkeypatch.setattr(checking, "EPOCH_BYTES", 0)
    monkeypatch.setattr(checking, "EPOCH_GROWTH", 10**9)  # uncapped: one index
    monkeypatch.setattr(checking, "EPOCH_MAX_BYTES", 0)
    made: list[int] = []
    real_init = LazyIndex.__init__

    def init(self: LazyIndex, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(1)

    monkeypatch.setattr(LazyIndex, "__init__", init)
    _no_collection_per_epoch(monkeypatch)
    assert _key(tmp_path) == one_index
    assert len(made) == 5  # a fresh index per file checked, as with EPOCH_GROWTH 0

"""Parsed modules kept between runs (`poolsafe.scan.snapshots`): a check fed every
module from its snapshot finds exactly what a check that parses them finds; an
edited file's dependencies are loaded, not parsed; a snapshot not signed with the
user's key is never unpickled; `clean` removes them."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
from rule_case_tree import write_rule_cases
from wrapper_project import write_wrapper_project

import poolsafe.scan.checking as checking
import poolsafe.scan.snapshots as snapshot_store
from poolsafe.core.model import ScanResult
from poolsafe.scan.cache import CACHE_DIR_NAME, clear_cache
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.snapshots import SUFFIX, SnapshotStore, user_key

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted(p for p in (ROOT / "fixtures").glob("*/*") if p.is_dir())


def _key(result: ScanResult) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    findings = [(f.path, f.location, f.code, f.name, f.message, f.severity, f.fixable,
                 f.unsafe_fix, f.steps) for f in result.findings]
    errors = [(e.path, e.message, e.line, e.column) for e in result.errors]
    return findings, errors


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    orig = checking.parse_source

    def counting(display: str, *args: object) -> object:
        seen.append(display)
        return orig(display, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(checking, "parse_source", counting)
    return seen


def _fed_from_snapshots(tree: Path, monkeypatch: pytest.MonkeyPatch,
                        parses: list[str]) -> None:
    """Scan `tree` parsing every module (no cache), then keep every module it parses
    as a snapshot, then scan it again with no cached findings: every module comes
    from its snapshot (nothing is parsed), and the findings are the same."""
    monkeypatch.chdir(tree)
    cache = tree / CACHE_DIR_NAME
    full = scan(["."], ScanOptions())
    opts = ScanOptions(cache_dir=cache)
    scan(["."], opts)  # (makes the cache directory: snapshots go only in one)
    for entry in cache.glob("*.json"):
        entry.unlink()
    monkeypatch.setattr(checking, "SNAPSHOT_WRITE_MAX", 1_000_000)
    monkeypatch.setattr(SnapshotStore, "keep_checked", True)
    # (the store's bound on a cache directory, 4,000 snapshots pruned to 3,000, would
    # drop the oldest of the rule-case tree's 4,000-odd modules: every one is kept here)
    monkeypatch.setattr(snapshot_store, "LIMIT", 1_000_000)
    written = scan(["."], opts)
    assert _key(written) == _key(full)
    snapshots = list((cache / "modules").glob(f"*{SUFFIX}"))
    assert snapshots
    for entry in cache.glob("*.json"):  # the findings go, the snapshots stay
        entry.unlink()
    parses.clear()
    fed = scan(["."], opts)
    assert parses == []
    assert _key(fed) == _key(full)


@pytest.mark.parametrize("app", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_fed_from_snapshots_finds_the_same(app: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   parses: list[str]) -> None:
    tree = tmp_path / "app"
    shutil.copytree(app, tree, ignore=shutil.ignore_patterns(CACHE_DIR_NAME))
    _fed_from_snapshots(tree, monkeypatch, parses)


def test_rule_cases_fed_from_snapshots_find_the_same(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    parses: list[str]) -> None:
    tree = write_rule_cases(tmp_path / "cases")
    _fed_from_snapshots(tree, monkeypatch, parses)


def test_files_parsed_ahead_are_kept_and_fed_from_snapshots(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    """The checked files a cold scan parses while the selection runs
    (`checking.preparse`) are kept like the others when every module is, and a file
    whose snapshot is there is left to the check, which loads it: not parsed ahead.
    (Whether anything is parsed ahead depends on timing; here it always is.)"""
    from poolsafe.scan import engine, parallel

    leak = ("import psycopg2\n\ndef f{n}():\n    conn = psycopg2.connect('')\n"
            "    conn.cursor().execute('SELECT 1')\n")
    tree = tmp_path / "app"
    tree.mkdir()
    for n in range(4):
        (tree / f"db{n}.py").write_text(leak.format(n=n) * (n + 1))
    real = parallel.run_apart
    early: list[int] = []

    def all_ahead(fn: Any, apart: bool = True, meanwhile: Any = None) -> Any:
        told: list[object] = []
        answer = real(lambda tell: fn(told.append), apart=False)
        if meanwhile is not None:
            before = len(parses)
            meanwhile(lambda: False, lambda: told[0])
            early.append(len(parses) - before)
        return answer

    monkeypatch.setattr(engine, "run_apart", all_ahead)
    monkeypatch.setattr(engine, "SELECT_APART_BYTES", 0)
    _fed_from_snapshots(tree, monkeypatch, parses)
    assert early[0] == 4  # (the first scan parsed every file ahead)
    assert early[-1] == 0  # (the last found every snapshot)


WRAPPER = ("import psycopg2.pool\npool = psycopg2.pool.SimpleConnectionPool(1, 5)\n\n"
           "def get_conn():\n    return pool.getconn()\n\n"
           "def put_conn(conn):\n    pool.putconn(conn)\n")
USER = ("from db import get_conn, put_conn\n\ndef report():\n    conn = get_conn()\n"
        "    conn.cursor().execute('SELECT 1')\n    put_conn(conn)\n\n"
        "def leak():\n    conn = get_conn()\n    conn.cursor().execute('SELECT 1')\n")


def _edit_project(tmp_path: Path) -> Path:
    (tmp_path / "db.py").write_text(WRAPPER)
    (tmp_path / "user.py").write_text(USER)
    return tmp_path


def test_an_edit_loads_the_dependencies_it_parsed_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    monkeypatch.chdir(_edit_project(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / CACHE_DIR_NAME)
    scan(["."], opts)
    user = tmp_path / "user.py"
    parses.clear()
    user.write_text(USER + "\ndef one():\n    return 1\n")
    first = scan(["user.py"], opts)
    assert parses == ["user.py", "db.py"]  # the wrapper is parsed, and kept
    parses.clear()
    user.write_text(USER + "\ndef two():\n    return 2\n")
    second = scan(["user.py"], opts)
    assert parses == ["user.py"]  # the wrapper's snapshot answers
    assert _key(second) == _key(first) == _key(scan(["user.py"], ScanOptions()))
    assert {f.code for f in second.findings} == {"PS102"}


def test_an_edited_dependency_is_parsed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    monkeypatch.chdir(_edit_project(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / CACHE_DIR_NAME)
    scan(["."], opts)
    (tmp_path / "user.py").write_text(USER + "\n")
    scan(["user.py"], opts)
    (tmp_path / "db.py").write_text(WRAPPER.replace("pool.putconn(conn)", "conn.close()"))
    parses.clear()
    (tmp_path / "user.py").write_text(USER + "\n\n")
    after = scan(["user.py"], opts)
    assert sorted(parses) == ["db.py", "user.py"]
    assert _key(after) == _key(scan(["user.py"], ScanOptions()))


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch pwned",))


def test_a_snapshot_not_signed_with_the_user_s_key_is_not_unpickled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    """A project's cache may come from anyone (a checkout): only what this user's
    poolsafe wrote is unpickled."""
    monkeypatch.chdir(_edit_project(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / CACHE_DIR_NAME)
    scan(["."], opts)
    (tmp_path / "user.py").write_text(USER + "\n")
    scan(["user.py"], opts)
    (snapshot,) = (tmp_path / CACHE_DIR_NAME / "modules").glob(f"*{SUFFIX}")
    import zlib

    body = zlib.compress(pickle.dumps(_Boom()))
    snapshot.write_bytes(b"\0" * 32 + body)  # a forged signature
    parses.clear()
    (tmp_path / "user.py").write_text(USER + "\n\n")
    result = scan(["user.py"], opts)
    assert not (tmp_path / "pwned").exists()
    assert "db.py" in parses
    assert _key(result) == _key(scan(["user.py"], ScanOptions()))


def test_the_key_lives_in_the_user_s_cache_directory(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    key = user_key()
    assert key is not None and len(key) == 32
    path = tmp_path / "home-cache" / "poolsafe" / "snapshot-key"
    assert path.read_bytes() == key
    assert path.stat().st_mode & 0o077 == 0
    assert user_key() == key


def test_clean_removes_the_snapshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_edit_project(tmp_path))
    cache = tmp_path / CACHE_DIR_NAME
    opts = ScanOptions(cache_dir=cache)
    scan(["."], opts)
    (tmp_path / "user.py").write_text(USER + "\n")
    scan(["user.py"], opts)
    assert list((cache / "modules").glob(f"*{SUFFIX}"))
    assert clear_cache(cache) == []
    assert not cache.exists()


def test_a_first_run_on_a_dependency_leaves_a_cache_poolsafe_recognises(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    """The first run of a fresh cache parses a dependency of the file it checks: no
    snapshot is written before the cache's tag (else the directory looks foreign
    and the cache is refused from then on); the next run parses nothing."""
    monkeypatch.chdir(_edit_project(tmp_path))
    cache = tmp_path / CACHE_DIR_NAME
    opts = ScanOptions(cache_dir=cache)
    first = scan(["user.py"], opts)
    assert (cache / "CACHEDIR.TAG").is_file()
    parses.clear()
    assert _key(scan(["user.py"], opts)) == _key(first)
    assert parses == []


def test_a_loaded_tree_is_out_of_the_collector_s_sight_before_collection_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a scan, a snapshot's tree is frozen before the collector runs again: the
    first young collection after the load would otherwise walk the whole tree."""
    import gc

    from poolsafe.core.gc_scope import trees_kept_out_of_gc
    from poolsafe.scan.cache import CACHE_DIR_NAME as NAME

    monkeypatch.chdir(_edit_project(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / NAME)
    scan(["."], opts)
    (tmp_path / "user.py").write_text(USER + "\n")
    scan(["user.py"], opts)  # keeps db.py's snapshot
    store = SnapshotStore(tmp_path / NAME, write=False)
    data = (tmp_path / "db.py").read_bytes()
    young: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            young.append(info["generation"])

    with trees_kept_out_of_gc():
        gc.callbacks.append(seen)
        try:
            module = store.load("db.py", tmp_path / "db.py", Path("db.py"), data)
            assert module is not None
            tracked = {id(o) for g in range(3) for o in gc.get_objects(g)}
        finally:
            gc.callbacks.remove(seen)
    assert id(module.tree) not in tracked
    assert young == []  # (no collection during the load)


def test_a_run_too_large_to_write_snapshots_loads_in_a_later_epoch_what_it_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    """A `check .` that checks more than `WRITE_MAX` files, a fresh index per file:
    every check reads the wrapper, which the first epoch parsed and kept, and each
    later epoch loads (no second parse, nothing left for `ReparseStore`); the first
    `check FILE` after it loads it too, with the findings of a run without the
    cache."""
    write_wrapper_project(tmp_path, 4)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(checking, "EPOCH_BYTES", 0)  # a fresh index per file
    monkeypatch.setattr(checking, "EPOCH_GROWTH", 0)
    monkeypatch.setattr(checking, "release_dropped", lambda: None)
    monkeypatch.setattr(checking, "SNAPSHOT_WRITE_MAX", 2)  # its 5 files: a large run
    opts = ScanOptions(jobs=1, cache_dir=tmp_path / CACHE_DIR_NAME)
    cold = scan(["."], opts)
    assert parses.count("db.py") == 1
    assert _key(cold) == _key(scan(["."], ScanOptions(jobs=1)))
    parses.clear()
    edited = tmp_path / "m0.py"
    edited.write_text(edited.read_text() + "\ndef one():\n    return 1\n")
    first = scan(["m0.py"], opts)
    assert parses == ["m0.py"]  # the wrapper's snapshot answers
    assert _key(first) == _key(scan(["m0.py"], ScanOptions()))
    assert {f.code for f in first.findings} == {"PS102"}


def _wrapper_checked_last(root: Path, modules: int) -> None:
    """The wrapper project with the wrapper named to sort after its users: each
    module's check reaches it before its own check does."""
    write_wrapper_project(root, modules)
    (root / "db.py").rename(root / "zz_db.py")
    for i in range(modules):
        user = root / f"m{i}.py"
        user.write_text(user.read_text().replace("from db import", "from zz_db import"))


def test_a_run_too_large_to_write_snapshots_keeps_the_modules_its_checks_reached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    """A `check .` that checks more than `WRITE_MAX` files, in one epoch (each module
    parsed once, nothing for `ReparseStore`), keeps the module a check's resolution
    reached before its own check (the wrapper): the first `check FILE` after it loads
    it, with the findings of a run without the cache."""
    _wrapper_checked_last(tmp_path, 4)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(checking, "SNAPSHOT_WRITE_MAX", 2)  # its 5 files: a large run
    opts = ScanOptions(jobs=1, cache_dir=tmp_path / CACHE_DIR_NAME)
    scan(["."], opts)
    assert parses.count("zz_db.py") == 1  # one epoch: parsed once
    store = SnapshotStore(tmp_path / CACHE_DIR_NAME, write=False)
    kept = [p.name for p in sorted(tmp_path.glob("*.py")) if store.has(
        p.name, tmp_path / p.name, Path(p.name), p.read_bytes())]
    # (and every other module it parsed: see the next test)
    assert kept == ["m0.py", "m1.py", "m2.py", "m3.py", "zz_db.py"]
    parses.clear()
    edited = tmp_path / "m0.py"
    edited.write_text(edited.read_text() + "\ndef one():\n    return 1\n")
    first = scan(["m0.py"], opts)
    assert parses == ["m0.py"]  # the wrapper's snapshot answers
    assert _key(first) == _key(scan(["m0.py"], ScanOptions()))
    assert {f.code for f in first.findings} == {"PS102"}


def test_a_run_too_large_to_write_snapshots_keeps_the_modules_parsed_for_their_own_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]) -> None:
    """The same large run, the wrapper sorted first: its own check parses it before any
    other check reads it; it is kept all the same (as is every module the run
    parses), so the first `check FILE` after it parses only the edited file, with the
    findings of a run without the cache."""
    write_wrapper_project(tmp_path, 4)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(checking, "SNAPSHOT_WRITE_MAX", 2)
    opts = ScanOptions(jobs=1, cache_dir=tmp_path / CACHE_DIR_NAME)
    scan(["."], opts)
    assert parses.count("db.py") == 1
    store = SnapshotStore(tmp_path / CACHE_DIR_NAME, write=False)
    kept = [p.name for p in sorted(tmp_path.glob("*.py")) if store.has(
        p.name, tmp_path / p.name, Path(p.name), p.read_bytes())]
    assert kept == ["db.py", "m0.py", "m1.py", "m2.py", "m3.py"]
    parses.clear()
    edited = tmp_path / "m0.py"
    edited.write_text(edited.read_text() + "\ndef one():\n    return 1\n")
    first = scan(["m0.py"], opts)
    assert parses == ["m0.py"]  # the wrapper's snapshot answers
    assert _key(first) == _key(scan(["m0.py"], ScanOptions()))
    assert {f.code for f in first.findings} == {"PS102"}

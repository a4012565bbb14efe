"""Modules a share parses again in a later epoch (`checking.check_selected`) are kept
in memory as snapshots from their second parse on and loaded after that
(`snapshots.ReparseStore`): the same findings, fewer parses."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from wrapper_project import write_wrapper_project

import poolsafe.scan.checking as checking
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.snapshots import ReparseStore


def _key(root: Path) -> list[tuple[object, ...]]:
    result = scan([str(root)], ScanOptions(jobs=1))
    return [(f.path, f.line, f.column, f.code, f.message, f.fixable, f.unsafe_fix, f.steps)
            for f in result.findings] + [(e.path, e.message) for e in result.errors]


def _parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The file names libcst parsed, counted."""
    seen: Counter[str] = Counter()
    real = checking.parse_source

    def counting(display: str, path: Path, *args: Any) -> Any:
        seen[path.name] += 1
        return real(display, path, *args)

    monkeypatch.setattr(checking, "parse_source", counting)
    return seen


def _one_epoch_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "EPOCH_BYTES", 0)
    monkeypatch.setattr(checking, "EPOCH_GROWTH", 0)
    monkeypatch.setattr(checking, "release_dropped", lambda: None)


def _no_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ReparseStore, "load", lambda self, path: None)


def test_a_module_every_epoch_reads_is_parsed_twice_then_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch_parses: list[str]) -> None:
    write_wrapper_project(tmp_path, 4)
    _one_epoch_per_file(monkeypatch)
    parsed = _parses(monkeypatch)
    result = scan([str(tmp_path)], ScanOptions(jobs=1))
    assert len([f for f in result.findings if f.code == "PS102"]) == 4
    # every epoch (one per file) needs the wrapper: five epochs, two parses; no
    # module is parsed more than twice
    assert epoch_parses.count("db.py") == 5
    assert parsed["db.py"] == 2
    assert max(parsed.values()) == 2
    _no_loads(monkeypatch)
    parsed.clear()
    scan([str(tmp_path)], ScanOptions(jobs=1))
    assert parsed["db.py"] == 5


ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p for p in (ROOT / "fixtures").iterdir() if p.is_dir())


@pytest.mark.parametrize("app", APPS, ids=[a.name for a in APPS])
def test_the_same_findings_with_the_modules_loaded_as_parsed(
        app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each fixture app, a fresh index per file: what the checks find in loaded
    modules is what they find in parsed ones, paths included."""
    project = tmp_path / app.name
    shutil.copytree(app, project)
    _one_epoch_per_file(monkeypatch)
    parsed = _parses(monkeypatch)
    loaded = _key(project)
    parses_with_loads = sum(parsed.values())
    _no_loads(monkeypatch)
    parsed.clear()
    assert _key(project) == loaded
    assert parses_with_loads <= sum(parsed.values())


def test_nothing_is_kept_for_a_share_that_ends_within_its_epoch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_wrapper_project(tmp_path, 4)
    kept: list[str] = []
    real = ReparseStore.keep

    def keep(self: ReparseStore, path: str, module: Any) -> None:
        kept.append(path)
        real(self, path, module)

    monkeypatch.setattr(ReparseStore, "keep", keep)
    result = scan([str(tmp_path)], ScanOptions(jobs=1))
    assert len([f for f in result.findings if f.code == "PS102"]) == 4
    assert kept == []


def test_the_store_keeps_from_the_second_parse_and_rebuilds_identity_tables(
        tmp_path: Path) -> None:
    text = ("import psycopg2.pool\n\nPOOL = psycopg2.pool.SimpleConnectionPool(1, 2)\n\n\n"
            "class Repo:\n    def get(self):\n        return POOL.getconn()\n\n\n"
            "def get_conn():\n    return POOL.getconn()\n")
    path = tmp_path / "db.py"
    module = checking.parse_source("db.py", path, Path("db.py"), text)
    store = ReparseStore()
    assert store.load(str(path)) is None
    assert store.note_parse(str(path)) is False  # the first parse: nothing kept
    assert store.note_parse(str(path)) is True
    store.keep(str(path), module)
    assert store.note_parse(str(path)) is False  # kept already
    loaded = store.load(str(path))
    assert loaded is not None and loaded is not module
    assert loaded.tree.code == text
    assert [f.qualname for f in loaded.all_functions] == ["Repo.get", "get_conn"]
    assert loaded.by_node == {id(f.node): f for f in loaded.all_functions}
    assert set(loaded.imports) == set(module.imports)
    again = store.load(str(path))
    assert again is not None and again is not loaded and store.loaded == 2
    late = ReparseStore()
    late.wanted = False
    late.note_parse("x.py")
    assert late.note_parse("x.py") is False

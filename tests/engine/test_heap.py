"""Freed C memory handed back to the system (`poolsafe.core.heap`, issue 32): after
a large parse, after parsing ahead (before the workers are forked), and after each
dropped epoch of `check_selected`. What is pinned is where it is asked for, not
how much memory it returns."""

from __future__ import annotations

from pathlib import Path

import pytest
from wrapper_project import write_wrapper_project

import poolsafe.scan.checking as checking
from poolsafe.core import heap
from poolsafe.scan.engine import ScanOptions, scan


def _count_trims(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def trim() -> bool:
        calls.append("trim")
        return True

    monkeypatch.setattr(checking, "return_free_memory", trim)
    return calls


def test_return_free_memory_can_be_asked_again() -> None:
    first = heap.return_free_memory()
    assert heap.return_free_memory() is first


def test_a_large_parse_is_followed_by_a_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_trims(monkeypatch)
    small = "x = 1\n"
    checking.parse_source("s.py", Path("/v/s.py"), Path("s.py"), small)
    assert calls == []
    large = "".join(f"value_{i} = {i}\n" for i in range(heap.TRIM_AFTER_BYTES // 10))
    assert len(large) >= heap.TRIM_AFTER_BYTES
    module = checking.parse_source("l.py", Path("/v/l.py"), Path("l.py"), large)
    assert calls == ["trim"]
    assert module.tree.code == large  # the tree is whole after the trim


def test_parsing_ahead_ends_with_a_trim(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from poolsafe.scan.scope import build_scope

    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\n")
    (project,) = build_scope([str(tmp_path)], ScanOptions().scope_settings()).projects
    calls = _count_trims(monkeypatch)
    got = checking.preparse(project, ScanOptions(), lambda: False, lambda: [0, 1])
    assert len(got) == 2
    assert calls == ["trim"]


def test_each_dropped_epoch_is_followed_by_a_trim(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_wrapper_project(tmp_path, 3)
    monkeypatch.setattr(checking, "EPOCH_BYTES", 0)
    monkeypatch.setattr(checking, "EPOCH_GROWTH", 0)
    calls = _count_trims(monkeypatch)
    real_release = checking.release_dropped

    def release() -> None:
        real_release()
        calls.append("release")

    monkeypatch.setattr(checking, "release_dropped", release)
    result = scan([str(tmp_path)], ScanOptions(jobs=1))
    assert len([f for f in result.findings if f.code == "PS102"]) == 3
    # four files checked, a fresh index for each but the first
    assert calls == ["release", "trim"] * 3

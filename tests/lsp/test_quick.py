"""fix/loop/quick.py in process: linting a buffer, its quick fixes, and the parsed modules
a language server keeps between checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_project import APP, DB

from poolsafe.fix.loop.quick import ModuleMemo, QuickFix, lint_file
from poolsafe.scan.options import ScanOptions


def test_memo_reuses_unchanged_modules_and_sees_changed_ones(project: Path) -> None:
    app, db = project / "app.py", project / "db.py"
    memo = ModuleMemo()
    options = ScanOptions(project_root=project, overrides={app: APP.encode()})
    assert [f.code for f in lint_file(app, options, memo=memo).findings] == ["PS102"]
    kept = dict(memo._modules)
    assert any(path == str(db) for path, _ in kept)
    lint_file(app, options, memo=memo)
    assert all(memo._modules[k] is v for k, v in kept.items())  # parsed once
    # the wrapper changes (an unsaved buffer): its new text is parsed, not the old one
    changed = ScanOptions(project_root=project, overrides={
        app: APP.encode(), db: DB.replace("return pool.getconn()", "return 42").encode()})
    assert lint_file(app, changed, memo=memo).findings == []


def test_memo_settles_out_of_the_collectors_sight_once_per_change(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`settle` freezes what is alive after a lint that parsed modules, and leaves the
    next keystrokes (nothing new kept) alone: their findings are the same."""
    import gc

    import poolsafe.core.gc_scope as gc_scope

    app = project / "app.py"
    memo = ModuleMemo()
    options = ScanOptions(project_root=project, overrides={app: APP.encode()})
    calls: list[int] = []
    real = gc_scope.keep_survivors
    monkeypatch.setattr(gc_scope, "keep_survivors", lambda: (calls.append(1), real()))
    try:
        first = [f.code for f in lint_file(app, options, memo=memo).findings]
        memo.settle()
        assert calls == [1] and gc.get_freeze_count() > 0
        again = ScanOptions(project_root=project, overrides={app: (APP + "\nX = 1\n").encode()})
        assert [f.code for f in lint_file(app, again, memo=memo).findings] == first
        memo.settle()
        assert calls == [1]  # nothing new kept: no collection
    finally:
        gc.unfreeze()


def test_quick_fix_is_the_plan_of_poolsafe_fix(project: Path) -> None:
    app = project / "app.py"
    linted = lint_file(app, ScanOptions(project_root=project))
    fix = linted.quick_fix(0)
    assert isinstance(fix, QuickFix) and fix.safe and fix.code == "PS102"
    assert "finally:\n        pool.putconn(conn)" in fix.texts[app]
    assert linted.quick_fix(5) == "no automatic fix"


def test_memo_redoes_the_selection_from_the_edited_file(project: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 32: a keystroke does not select over every file again; what the memo
    answers is what `select` answers, and the findings are a fresh lint's."""
    import poolsafe.scan.prefilter as prefilter

    app, db = project / "app.py", project / "db.py"
    memo = ModuleMemo()
    calls: list[str] = []
    real_select = prefilter.select

    def counting(*args: object, **kwargs: object) -> object:
        calls.append("select")
        return real_select(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(prefilter, "select", counting)  # (what the memo calls)
    options = ScanOptions(project_root=project, overrides={app: APP.encode()})
    first = lint_file(app, options, memo=memo)
    assert len(calls) == 2  # the full selection and the database one
    for edit in ("\n\ndef added():\n    return 1\n", "\n# a comment\n"):
        edited = ScanOptions(project_root=project, overrides={app: (APP + edit).encode()})
        again = lint_file(app, edited, memo=memo)
        assert len(calls) == 2  # redone from the state, not selected again
        assert [f.code for f in again.findings] == [f.code for f in first.findings]
        assert ([(f.code, f.line) for f in again.findings]
                == [(f.code, f.line) for f in lint_file(app, edited).findings])
    # the wrapper stops checking out: the selection may change; the answer is a fresh one's
    changed = ScanOptions(project_root=project, overrides={
        app: APP.encode(), db: DB.replace("return pool.getconn()", "return 42").encode()})
    assert lint_file(app, changed, memo=memo).findings == lint_file(app, changed).findings == []


def test_memo_keeps_which_files_each_pattern_matches(project: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 32: a keystroke searches the bytes of the edited file again, not those of
    every file a project-wide fact asks about; a file whose bytes change is searched
    again; the findings are a fresh lint's."""
    import poolsafe.analysis.index as index_module
    import poolsafe.scan.lazy_index as lazy_index

    (project / "jobs.py").write_text("import threading\n\nfrom db import get_conn\n\n\n"
                                     "def start():\n    threading.Thread(target=get_conn)"
                                     ".start()\n")
    searched: list[bytes] = []
    real = index_module.source_matches

    def counting(pattern: object, data: bytes) -> bool:
        searched.append(data)
        return real(pattern, data)  # type: ignore[arg-type]

    monkeypatch.setattr(index_module, "source_matches", counting)
    monkeypatch.setattr(lazy_index, "source_matches", counting)
    app, db = project / "app.py", project / "db.py"
    memo = ModuleMemo()
    first = lint_file(app, ScanOptions(project_root=project, overrides={app: APP.encode()}),
                      memo=memo)
    assert DB.encode() in searched  # (the facts asked about the other files)
    edited = APP + "\n\ndef added():\n    return 1\n"
    options = ScanOptions(project_root=project, overrides={app: edited.encode()})
    searched.clear()
    again = lint_file(app, options, memo=memo)
    assert searched and set(searched) <= {edited.encode()}
    assert ([(f.code, f.line) for f in again.findings]
            == [(f.code, f.line) for f in first.findings]
            == [(f.code, f.line) for f in lint_file(app, options).findings])
    # another file's bytes change: searched again, and the answer is a fresh lint's
    changed = ScanOptions(project_root=project, overrides={
        app: APP.encode(), db: DB.replace("return pool.getconn()", "return 42").encode()})
    searched.clear()
    assert lint_file(app, changed, memo=memo).findings == lint_file(app, changed).findings
    assert DB.replace("return pool.getconn()", "return 42").encode() in searched


def test_memo_settles_again_after_a_scan_handed_the_frozen_objects_back(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 32: whether the memo is still out of the collector's sight is asked of
    `gc_scope.thaws` (a count), not of `gc.get_freeze_count` (a walk over every frozen
    object on each keystroke); a scan in between (its `trees_kept_out_of_gc` unfreezes
    everything at its end) makes the next settle freeze again."""
    import gc

    import poolsafe.core.gc_scope as gc_scope

    app = project / "app.py"
    memo = ModuleMemo()
    options = ScanOptions(project_root=project, overrides={app: APP.encode()})
    calls: list[int] = []
    real = gc_scope.keep_survivors
    monkeypatch.setattr(gc_scope, "keep_survivors", lambda: (calls.append(1), real()))
    monkeypatch.setattr(gc, "get_freeze_count", lambda: pytest.fail("counted"))
    try:
        lint_file(app, options, memo=memo)
        memo.settle()
        memo.settle()
        assert calls == [1]
        with gc_scope.trees_kept_out_of_gc():
            pass
        memo.settle()
        assert calls == [1, 1]
        memo.settle()
        assert calls == [1, 1]
    finally:
        gc.unfreeze()

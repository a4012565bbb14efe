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

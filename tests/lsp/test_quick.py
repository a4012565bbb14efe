"""fix/loop/quick.py in process: linting a buffer, its quick fixes, and the parsed modules
a language server keeps between checks."""

from __future__ import annotations

from pathlib import Path

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

"""Issue 32: the language server keeps the project's walk and files' bytes between
keystrokes (`ScopeMemo`, held by `ModuleMemo`). After every step of a sequence of
edits (keystrokes in the buffer, a wrapper other modules use changed on disk and in
a buffer, modules added, ignored and removed), the memo's scope equals a fresh
`build_scope` and its findings a fresh lint's."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lsp_project import APP, DB

import poolsafe.scan.scope as scope_module
from poolsafe.fix.loop.quick import ModuleMemo, lint_file
from poolsafe.scan.options import ScanOptions
from poolsafe.scan.scope import Scope, ScopeMemo, build_scope

HELPERS = '''\
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=test")


def acquire():
    return pool.getconn()
'''

USES_HELPERS = '''\
from helpers import acquire


def handler():
    conn = acquire()
    cur = conn.cursor()
    cur.execute("select 1")
    return cur.fetchone()
'''

USES_PKG = USES_HELPERS.replace("from helpers import", "from pkg.pool import")


class Clock:
    """Distinct modification times in the past for each write (a change within one
    tick of the file system's clock would otherwise keep a directory's time); when
    not `active`, the times the writes leave."""

    def __init__(self, active: bool = True) -> None:
        self.t = time.time_ns() - 1_000 * 10**9
        self.active = active

    def touch(self, *paths: Path) -> None:
        for p in paths if self.active else ():
            self.t += 10**9
            os.utime(p, ns=(self.t, self.t))

    def write(self, path: Path, text: str) -> None:
        existed = path.exists()
        path.write_text(text)
        self.touch(path)
        if not existed:
            self.touch(path.parent)

    def remove(self, path: Path) -> None:
        path.unlink()
        self.touch(path.parent)


def _same_scope(a: Scope, b: Scope) -> None:
    assert [e.path for e in a.errors] == [e.path for e in b.errors]
    assert len(a.projects) == len(b.projects)
    for p, q in zip(a.projects, b.projects, strict=True):
        assert p.root == q.root and p.reported == q.reported
        assert [(f.display, f.path, f.relative) for f in p.files] == \
            [(f.display, f.path, f.relative) for f in q.files]
        assert p.datas == q.datas


def _findings(path: Path, options: ScanOptions, memo: ModuleMemo | None
              ) -> list[tuple[str, int, str]]:
    return [(f.code, f.line, f.message) for f in lint_file(path, options, memo=memo).findings]


def _check_kept_matching(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every match list `ModuleMemo.matching` gives an index (from the last index's
    list and the files changed since) equals the files' own answers."""
    from poolsafe.scan.lazy_index import LazyIndex

    real = LazyIndex._matching
    kept: list[int] = []

    def checked(self: LazyIndex, pattern: re.Pattern[bytes]
                ) -> tuple[list[str], list[object]] | None:
        got = real(self, pattern)
        if got is not None and self.kept_matching is not None:
            assert got[0] == [p for p in self._order if self._matches(pattern, p)]
            kept.append(len(got[0]))
        return got  # type: ignore[return-value]

    monkeypatch.setattr(LazyIndex, "_matching", checked)
    return kept


@pytest.mark.parametrize("racy", [0, scope_module.RACY_NS])
def test_scope_memo_equals_a_fresh_scope_and_lint_after_each_edit(
        project: Path, monkeypatch: pytest.MonkeyPatch, racy: int) -> None:
    """With `RACY_NS` at 0 and times set in the past the memo's fast paths answer; at
    its default, with the times the writes leave, every file and directory here is
    too recent to trust, so each call walks and reads again: both give a fresh
    scope's answer."""
    monkeypatch.setattr(scope_module, "RACY_NS", racy)
    app, db = project / "app.py", project / "db.py"
    clock = Clock(active=racy == 0)
    kept_lists = _check_kept_matching(monkeypatch)
    clock.touch(app, db, project / "pyproject.toml", project)
    memo = ModuleMemo()
    scopes = ScopeMemo()
    buffers: dict[Path, str] = {app: APP}
    seen: list[list[tuple[str, int, str]]] = []

    def check() -> None:
        options = ScanOptions(project_root=project, overrides={
            p: t.encode() for p, t in buffers.items()})
        settings = options.scope_settings()
        _same_scope(scopes.build([str(app)], settings), build_scope([str(app)], settings))
        got = _findings(app, options, memo)
        assert got == _findings(app, options, None)
        seen.append(got)

    steps: list[Callable[[], None]] = [
        lambda: None,
        lambda: buffers.__setitem__(app, APP + "\nX = 1\n"),  # keystrokes
        lambda: buffers.__setitem__(app, APP + "\nX = 2\n"),
        # the wrapper other modules use changes on disk: no acquisition any more
        lambda: clock.write(db, DB.replace("return pool.getconn()", "return 42")),
        lambda: buffers.__setitem__(app, APP + "\nX = 3\n"),
        lambda: clock.write(db, DB),  # and back
        # a module added on disk, and the buffer using its wrapper
        lambda: clock.write(project / "helpers.py", HELPERS),
        lambda: buffers.__setitem__(app, USES_HELPERS),
        # a file already walked changes what a pattern matches: it defines the
        # wrapper's name too, then spells `flask`, then neither
        lambda: clock.write(db, DB + "\n\ndef acquire():\n    return pool.getconn()\n"),
        lambda: clock.write(db, "import flask\n" + DB),
        lambda: clock.write(db, DB),
        # ignored by a new .gitignore, then not
        lambda: (project / ".git").mkdir(),
        lambda: clock.write(project / ".gitignore", "helpers.py\n"),
        lambda: clock.write(project / ".gitignore", "# nothing\n"),
        # removed
        lambda: clock.remove(project / "helpers.py"),
        # a package added: a directory the walk did not list before
        lambda: (project / "pkg").mkdir(),
        lambda: clock.write(project / "pkg" / "__init__.py", ""),
        lambda: clock.write(project / "pkg" / "pool.py", HELPERS),
        lambda: buffers.__setitem__(app, USES_PKG),
        lambda: clock.write(project / "pkg" / "pool.py",
                            HELPERS.replace("return pool.getconn()", "return 7")),
        # the wrapper's module open in a buffer of its own, unsaved
        lambda: buffers.__setitem__(app, APP),
        lambda: buffers.__setitem__(db, DB.replace("return pool.getconn()", "return 42")),
        lambda: buffers.__setitem__(db, DB),
        lambda: buffers.__setitem__(app, APP + "\nX = 4\n"),
    ]
    for step in steps:
        step()
        check()
    # the sequence had findings and their absence, so it tested something
    assert ["PS102"] in [[c for c, _, _ in f] for f in seen] and [] in seen
    assert kept_lists
    if racy == 0:
        assert scopes.reused >= 8 and memo.scope.reused >= 8
    else:
        assert scopes.reused == 0  # (every directory here changed within RACY_NS)


def test_scope_memo_reads_only_the_changed_file(project: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A file changed on disk is read again by itself, without walking the project."""
    monkeypatch.setattr(scope_module, "RACY_NS", 0)
    app, db = project / "app.py", project / "db.py"
    clock = Clock()
    clock.touch(app, db, project / "pyproject.toml", project)
    scopes = ScopeMemo()
    options = ScanOptions(project_root=project, overrides={app: APP.encode()})
    scopes.build([str(app)], options.scope_settings())
    reads: list[str] = []
    real = scope_module._read
    monkeypatch.setattr(scope_module, "_read",
                        lambda sf, s: (reads.append(sf.path.name), real(sf, s))[1])
    scopes.build([str(app)], options.scope_settings())
    assert reads == [] and (scopes.built, scopes.reused) == (1, 1)
    clock.write(db, DB + "\nY = 1\n")
    got = scopes.build([str(app)], options.scope_settings())
    assert reads == ["db.py"] and (scopes.built, scopes.reused) == (1, 2)
    _same_scope(got, build_scope([str(app)], options.scope_settings()))

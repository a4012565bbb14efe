"""The incremental path after one edit (issue 32), with the cache: an edit to a leaf
module re-checks that module alone and leaves every other finding as it was; an
edit to the wrapper module other modules call changes their findings, and they are
re-checked; each cached answer equals a scan without the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import poolsafe.scan.checking as checking
from poolsafe.scan.engine import ScanOptions, scan

DB = """\
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, "dbname=app")


def get_conn():
    return pool.getconn()


def put_conn(conn):
    pool.putconn(conn)
"""

#: the wrapper edited so that it no longer checks a connection out
DB_NO_CHECKOUT = DB.replace("return pool.getconn()", "return None")

APP = """\
from db import get_conn, put_conn


def handler(user_id):
    conn = get_conn()
    cur = conn.cursor()
    cur.execute("select 1")
    put_conn(conn)
"""

LEAF = """\
import psycopg2


def report():
    conn = psycopg2.connect("dbname=app")
    conn.cursor().execute("select 1")
"""


def _findings(root: Path, cache: Path | None) -> list[tuple[str, int, str]]:
    result = scan([str(root)], ScanOptions(cache_dir=cache, jobs=1))
    return sorted((Path(f.path).name, f.location.line, f.code) for f in result.findings)


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The files each scan re-checked (the cache answered for the others)."""
    seen: list[set[str]] = []
    real = checking.check_selected

    def spy(project: Any, options: Any, selected: Any, def_names: Any, to_check: set[str],
            *rest: Any) -> Any:
        seen.append({Path(p).name for p in to_check})
        return real(project, options, selected, def_names, to_check, *rest)

    monkeypatch.setattr(checking, "check_selected", spy)
    return seen


def _project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    (root / "db.py").write_text(DB)
    (root / "app.py").write_text(APP)
    (root / "leaf.py").write_text(LEAF)
    return root, tmp_path / "cache"


def test_a_leaf_edit_changes_no_other_finding(tmp_path: Path, checked: list[set[str]]) -> None:
    root, cache = _project(tmp_path)
    before = _findings(root, cache)
    assert ("app.py", 5, "PS102") in before and ("leaf.py", 5, "PS102") in before
    checked.clear()
    (root / "leaf.py").write_text(LEAF + "\n\ndef added():\n    return 1\n")
    after = _findings(root, cache)
    assert "leaf.py" in set().union(*checked)
    assert after == before
    assert after == _findings(root, None)


def test_a_leaf_edit_rechecks_the_leaf_alone(tmp_path: Path, checked: list[set[str]]) -> None:
    """Issue 32: leaf.py matched a pattern a fact searched (`report(`, its own
    callers), which used to invalidate every record; now only the records of checks
    that had read it (leaf.py's own: it is checked last in its index) are."""
    root, cache = _project(tmp_path)
    _findings(root, cache)
    checked.clear()
    (root / "leaf.py").write_text(LEAF + "\n\ndef added():\n    return 1\n")
    _findings(root, cache)
    assert checked == [{"leaf.py"}]


def test_a_wrapper_edit_changes_its_users_findings(tmp_path: Path,
                                                   checked: list[set[str]]) -> None:
    root, cache = _project(tmp_path)
    before = _findings(root, cache)
    assert ("app.py", 5, "PS102") in before
    checked.clear()
    (root / "db.py").write_text(DB_NO_CHECKOUT)
    after = _findings(root, cache)
    assert "app.py" in set().union(*checked)  # its record depended on db.py's facts
    assert not any(name == "app.py" for name, _, _ in after)
    assert ("leaf.py", 5, "PS102") in after
    assert after == _findings(root, None)
    # and back: the wrapper's facts are what they were, the finding returns
    checked.clear()
    (root / "db.py").write_text(DB)
    assert _findings(root, cache) == before


def test_a_comment_in_the_wrapper_rechecks_nothing_else(tmp_path: Path,
                                                        checked: list[set[str]]) -> None:
    root, cache = _project(tmp_path)
    before = _findings(root, cache)
    checked.clear()
    (root / "db.py").write_text("# the pool\n" + DB)
    after = _findings(root, cache)
    assert "app.py" not in set().union(*checked)
    assert after == before == _findings(root, None)


def test_a_wrapper_edit_rechecks_its_users_and_not_what_read_nothing_of_it(
        tmp_path: Path, checked: list[set[str]]) -> None:
    """Each record depends on what its own index had read when its check ended: the
    users of the wrapper module are re-checked after its edit, a module checked
    before them that reads nothing of it keeps its record."""
    root, cache = _project(tmp_path)
    (root / "aaa.py").write_text(LEAF)  # checked first, imports nothing of db.py
    for n in range(3):
        (root / f"user{n}.py").write_text(APP)
    before = _findings(root, cache)
    users = {"app.py", "user0.py", "user1.py", "user2.py"}
    assert {name for name, _, code in before if code == "PS102"} == users | {"aaa.py",
                                                                            "leaf.py"}
    checked.clear()
    (root / "db.py").write_text(DB_NO_CHECKOUT)
    after = _findings(root, cache)
    assert users <= set().union(*checked)
    assert "aaa.py" not in set().union(*checked)
    assert {name for name, _, _ in after} == {"aaa.py", "leaf.py"}
    assert after == _findings(root, None)

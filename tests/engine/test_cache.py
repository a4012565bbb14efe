"""The persistent cache: a second run parses nothing, an edit re-analyses what
depends on it, and the cache never changes the findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import poolsafe.scan.checking as checking
import poolsafe.scan.engine as engine
from poolsafe.scan.engine import ScanOptions, scan

WRAPPER = "import psycopg2.pool\npool = psycopg2.pool.SimpleConnectionPool(1, 5)\n\n" \
          "def get_conn():\n    return pool.getconn()\n\n" \
          "def put_conn(conn):\n    pool.putconn(conn)\n"
USER = "from db import get_conn, put_conn\n\ndef report():\n    conn = get_conn()\n" \
       "    conn.cursor().execute('SELECT 1')\n    put_conn(conn)\n"
OTHER = "def unrelated():\n    return 1\n"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    orig = checking.parse_source

    def counting(display: str, *args: object) -> object:
        seen.append(display)
        return orig(display, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(checking, "parse_source", counting)
    return seen


def _key(result: object) -> list[tuple[object, ...]]:
    return [(f.path, f.line, f.column, f.code, f.message)
            for f in result.findings]  # type: ignore[attr-defined]


def _project(tmp_path: Path) -> Path:
    (tmp_path / "db.py").write_text(WRAPPER)
    (tmp_path / "user.py").write_text(USER)
    (tmp_path / "other.py").write_text(OTHER)
    return tmp_path


def test_second_run_parses_nothing(tmp_path: Path, parses: list[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    first = scan(["."], opts)
    assert parses and _key(first)
    parses.clear()
    second = scan(["."], opts)
    assert parses == []
    assert _key(second) == _key(first)
    assert _key(scan(["."], ScanOptions())) == _key(first)


def test_unchanged_tree_needs_not_even_the_selection(tmp_path: Path, parses: list[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    first = scan(["."], opts)

    def no_select(*args: object, **kwargs: object) -> object:
        raise AssertionError("the prefilter ran on an unchanged tree")

    monkeypatch.setattr(engine, "select", no_select)
    monkeypatch.setattr(engine, "reselect", no_select)
    assert _key(scan(["."], opts)) == _key(first)
    (tmp_path / "other.py").write_text(OTHER + "# edited\n")
    with pytest.raises(AssertionError, match="prefilter ran"):
        scan(["."], opts)


def test_editing_the_wrapper_invalidates_the_user(tmp_path: Path, parses: list[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    before = scan(["."], opts)
    assert any(f.path == "user.py" for f in before.findings)
    # the wrapper now releases with close(): user.py's finding changes
    (tmp_path / "db.py").write_text(WRAPPER.replace("pool.putconn(conn)", "conn.close()"))
    parses.clear()
    after = scan(["."], opts)
    assert "user.py" in parses
    assert _key(after) == _key(scan(["."], ScanOptions()))


def test_editing_an_unrelated_file_parses_nothing(tmp_path: Path, parses: list[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    before = scan(["."], opts)
    (tmp_path / "other.py").write_text(OTHER + "\n\ndef more():\n    return 2\n")
    parses.clear()
    assert _key(scan(["."], opts)) == _key(before)
    assert parses == []


def test_cache_key_follows_rule_selection(tmp_path: Path, parses: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path))
    cache = tmp_path / ".poolsafe_cache"
    full = scan(["."], ScanOptions(cache_dir=cache))
    only = scan(["."], ScanOptions(cache_dir=cache, select={"PS101"}))
    assert all(f.code == "PS101" for f in only.findings)
    assert _key(scan(["."], ScanOptions(cache_dir=cache))) == _key(full)


USER2 = "from db import get_conn, put_conn\n\ndef audit():\n    conn = get_conn()\n" \
        "    conn.cursor().execute('SELECT 2')\n    put_conn(conn)\n"


def _two_users(tmp_path: Path) -> Path:
    _project(tmp_path)
    (tmp_path / "user2.py").write_text(USER2)
    return tmp_path


def test_editing_one_selected_file_rechecks_only_it(tmp_path: Path, parses: list[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_two_users(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    scan(["."], opts)
    # a new leak in user2.py: its findings change, user.py's are answered from the cache
    (tmp_path / "user2.py").write_text(USER2 + "\n\ndef again():\n    conn = get_conn()\n"
                                       "    conn.cursor().execute('SELECT 3')\n")
    parses.clear()
    after = scan(["."], opts)
    assert "user2.py" in parses and "user.py" not in parses
    assert _key(after) == _key(scan(["."], ScanOptions()))
    assert any(f.path == "user2.py" and f.line == 10 for f in after.findings)


def test_a_comment_in_the_wrapper_rechecks_only_the_wrapper(
        tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_two_users(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    scan(["."], opts)
    # comments and blank lines change no fact its users read (facts_digest)
    (tmp_path / "db.py").write_text("# the pool\n\n" + WRAPPER.replace(
        "pool.putconn(conn)", "pool.putconn(conn)  # back to the pool") + "\n\n# end\n")
    parses.clear()
    after = scan(["."], opts)
    assert "user.py" not in parses and "user2.py" not in parses
    assert _key(after) == _key(scan(["."], ScanOptions()))


def test_a_code_edit_in_the_wrapper_rechecks_its_users(
        tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_two_users(tmp_path))
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    before = scan(["."], opts)
    # put_conn() no longer gives the connection back: its users now never release it
    (tmp_path / "db.py").write_text(WRAPPER.replace("pool.putconn(conn)", "print(conn)"))
    parses.clear()
    after = scan(["."], opts)
    assert {"user.py", "user2.py"} <= set(parses)
    assert _key(after) == _key(scan(["."], ScanOptions()))
    assert _key(after) != _key(before)


def test_an_edit_that_a_project_wide_fact_reads_rechecks_everything(
        tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_two_users(tmp_path))
    # a Flask-SQLAlchemy project: its background jobs are a fact every file reads
    # (PS206; a project that never spells flask_sqlalchemy has none to report)
    (tmp_path / "web.py").write_text("from flask import Flask\nfrom flask_sqlalchemy import "
                                     "SQLAlchemy\n\napp = Flask(__name__)\n"
                                     "db = SQLAlchemy(app)\n")
    # user.py uses the extension's session, so its thread uses read the whole
    # project's thread entries (a module with no such use does not search them)
    user = tmp_path / "user.py"
    user.write_text(user.read_text() + "\n\nfrom web import db\n\n\ndef sync():\n"
                    "    db.session.commit()\n")
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    scan(["."], opts)
    # user2.py now runs report() as a background thread
    (tmp_path / "user2.py").write_text(USER2 + "\n\nimport threading\nfrom user import report"
                                       "\nthreading.Thread(target=report).start()\n")
    parses.clear()
    after = scan(["."], opts)
    assert {"user.py", "user2.py"} <= set(parses)
    assert _key(after) == _key(scan(["."], ScanOptions()))


def test_equal_prefilter_states_are_stored_once(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Without slow work, the checked files' prefilter state equals the full one: the
    entry holds it once, and an edit after that (each state reselected on its own
    copy) gives the findings of a scan without the cache."""
    import json

    monkeypatch.chdir(_project(tmp_path))
    cache_dir = tmp_path / ".poolsafe_cache"
    opts = ScanOptions(cache_dir=cache_dir)
    scan(["."], opts)
    (entry_file,) = cache_dir.glob("*.json")
    entry = json.loads(entry_file.read_text())
    assert entry["prefilter_checked"] is None and entry["prefilter"]["targets"]
    for text in (WRAPPER + "# a comment\n", WRAPPER + "\ndef more():\n    return 1\n"):
        (tmp_path / "db.py").write_text(text)
        assert _key(scan(["."], opts)) == _key(scan(["."], ScanOptions()))
        (tmp_path / "user.py").write_text(USER + "\n# and here\n")
        assert _key(scan(["."], opts)) == _key(scan(["."], ScanOptions()))


def test_different_prefilter_states_are_both_stored(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A module of slow work only (PS207's `time.sleep`) is in the full selection and
    not in the checked one: both states are stored, and edits keep the findings."""
    import json

    monkeypatch.chdir(_project(tmp_path))
    (tmp_path / "slow.py").write_text("import time\n\ndef wait():\n    time.sleep(5)\n")
    cache_dir = tmp_path / ".poolsafe_cache"
    opts = ScanOptions(cache_dir=cache_dir)
    scan(["."], opts)
    (entry_file,) = cache_dir.glob("*.json")
    entry = json.loads(entry_file.read_text())
    assert isinstance(entry["prefilter_checked"], dict)
    assert entry["prefilter_checked"] != entry["prefilter"]
    (tmp_path / "slow.py").write_text("import time\n\ndef wait():\n    time.sleep(5)\n# x\n")
    assert _key(scan(["."], opts)) == _key(scan(["."], ScanOptions()))


def test_a_file_only_the_database_selection_holds_is_checked_and_cached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database selection is meant to lie inside the full one. A file that only
    it selects (a real project's import cycle did that) is still checked, resolved
    and recorded in the cache: a cold run with a cache once failed with a KeyError
    on its path, and one without a cache skipped it."""

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "db.py").write_text(
        "import psycopg2\n\ndef f():\n    conn = psycopg2.connect('')\n"
        "    conn.cursor().execute('SELECT 1')\n")
    real = engine._selection

    def full_without_db_py(*args: Any) -> Any:
        selection, state = real(*args)
        if not args[6]:  # the full selection: as if its taint had not reached db.py
            selection.targets = [i for i in selection.targets if i != 0]
        return selection, state

    monkeypatch.setattr(engine, "_selection", full_without_db_py)
    for cache in (None, tmp_path / ".poolsafe_cache"):
        result = scan([str(tmp_path)], ScanOptions(cache_dir=cache))
        assert [f.code for f in result.findings] == ["PS102"], cache

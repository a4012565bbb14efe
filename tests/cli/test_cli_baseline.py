"""`poolsafe baseline FILE` and `check --baseline FILE`: matched by file, code,
enclosing function and line text, not by line number; multiset matching; stale
entries reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Invoke

LEAK = '''
def {name}():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    pool.putconn(conn)
'''

HEADER = '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
'''


def codes(cli: Invoke, *args: str) -> list[tuple[str, int, str]]:
    r = cli("check", "--format", "json", *args)
    assert r.code in (0, 1), r.all
    return [(f["path"], f["line"], f["code"]) for f in json.loads(r.out)["findings"]]


def test_baseline_round_trip(project: Path, cli: Invoke) -> None:
    r = cli("baseline", "poolsafe-baseline.json")
    assert r.code == 0, r.all
    assert "Wrote 3 entries" in r.out
    doc = json.loads(Path("poolsafe-baseline.json").read_text())
    assert doc["poolsafe-baseline"] == 1
    entry = next(e for e in doc["entries"] if e["code"] == "PS102")
    assert entry == {"path": "app/db.py", "code": "PS102", "function": "get_user",
                     "source": "conn = pool.getconn()", "message": entry["message"]}
    r = cli("check", "--baseline", "poolsafe-baseline.json")
    assert r.code == 0, r.all
    assert "All clear" in r.out and "3 suppressed" in r.out


def test_moved_finding_stays_suppressed_new_one_fails(project: Path, cli: Invoke) -> None:
    db = project / "app" / "leaky.py"
    db.write_text(HEADER + LEAK.format(name="old"))
    assert cli("baseline", "b.json", "app/leaky.py").code == 0
    # the function moves ten lines down
    db.write_text(HEADER + "\n" * 10 + LEAK.format(name="old"))
    assert codes(cli, "--baseline", "b.json", "app/leaky.py") == []
    # a new leak in the same file is reported
    db.write_text(HEADER + "\n" * 10 + LEAK.format(name="old") + LEAK.format(name="new"))
    found = codes(cli, "--baseline", "b.json", "app/leaky.py")
    assert found == [("app/leaky.py", 22, "PS102")]
    r = cli("check", "--baseline", "b.json", "app/leaky.py")
    assert r.code == 1


def test_identical_entries_cover_as_many_findings(project: Path, cli: Invoke) -> None:
    twice = '''
class Repo:
    def load(self):
        conn = pool.getconn()
        conn.cursor().execute("SELECT 1")
        pool.putconn(conn)
        conn = pool.getconn()
        conn.cursor().execute("SELECT 1")
        pool.putconn(conn)
'''
    f = project / "app" / "twice.py"
    f.write_text(HEADER + twice)
    assert len(codes(cli, "app/twice.py")) == 2
    cli("baseline", "b.json", "app/twice.py")
    entries = json.loads(Path("b.json").read_text())["entries"]
    assert [e["function"] for e in entries] == ["Repo.load", "Repo.load"]
    assert codes(cli, "--baseline", "b.json", "app/twice.py") == []
    # a third identical checkout is new
    f.write_text(HEADER + twice + '''        conn = pool.getconn()
        conn.cursor().execute("SELECT 1")
        pool.putconn(conn)
''')
    assert len(codes(cli, "--baseline", "b.json", "app/twice.py")) == 1


def test_fixed_finding_leaves_a_stale_entry(project: Path, cli: Invoke) -> None:
    cli("baseline", "b.json")
    db = project / "app" / "db.py"
    db.write_text(db.read_text().replace("        conn.close()", "        pool.putconn(conn)"))
    r = cli("check", "--baseline", "b.json")
    assert r.code == 0, r.all
    assert "PS101" not in r.out.split("Baseline")[0]
    assert "Baseline b.json has 1 stale entry" in r.out
    r = cli("check", "--baseline", "b.json", "--report-unused-ignores")
    assert "stale: app/db.py: PS101 in count_users: conn.close()" in r.out
    # machine formats keep stdout clean and say it on stderr
    r = cli("check", "--baseline", "b.json", "--format", "json")
    assert json.loads(r.out)["findings"] == []
    assert "stale entry" in r.err


def test_entries_of_files_not_scanned_are_not_stale(project: Path, cli: Invoke) -> None:
    cli("baseline", "b.json")
    r = cli("check", "--baseline", "b.json", "app/api.py")
    assert r.code == 0 and "stale" not in r.all


def test_deleted_file_entries_are_stale(project: Path, cli: Invoke) -> None:
    cli("baseline", "b.json")
    (project / "app" / "api.py").unlink()
    r = cli("check", "--baseline", "b.json")
    assert "1 stale entry" in r.out


def test_baseline_from_another_directory(project: Path, cli: Invoke,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cli("baseline", "b.json", "app")
    monkeypatch.chdir(project / "app")
    r = cli("check", "--baseline", "../b.json", ".")
    assert r.code == 0, r.all


def test_bad_baseline_file(project: Path, cli: Invoke) -> None:
    r = cli("check", "--baseline", "missing.json")
    assert r.code == 2 and "baseline file not found" in r.err
    Path("bad.json").write_text("{")
    r = cli("check", "--baseline", "bad.json")
    assert r.code == 2 and "not a poolsafe baseline" in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.all


def test_a_root_baseline_used_from_a_subdirectory_has_no_stale_entries(
        project: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrappers live at the root; the leaks in a package that uses them. From the
    package directory, every entry is live: the scan still resolves the wrappers."""
    Path("dbutil.py").write_text(HEADER + '''

def get_db_connection():
    return pool.getconn()


def release_db_connection(conn):
    pool.putconn(conn)
''')
    Path("jobs").mkdir()
    Path("jobs/__init__.py").write_text("")
    Path("jobs/nightly.py").write_text('''\
from dbutil import get_db_connection, release_db_connection


def run():
    conn = get_db_connection()
    conn.cursor().execute("SELECT 1")
    release_db_connection(conn)
''')
    r = cli("baseline", "b.json")
    assert r.code == 0, r.all
    entries = json.loads(Path("b.json").read_text())["entries"]
    assert {"path": "jobs/nightly.py", "code": "PS102"}.items() <= next(
        e for e in entries if e["path"] == "jobs/nightly.py").items()
    monkeypatch.chdir(project / "jobs")
    r = cli("check", "--baseline", "../b.json", "--report-unused-ignores", ".")
    assert r.code == 0, r.all
    assert "stale" not in r.all
    r = cli("check", "--baseline", "../b.json", "nightly.py")
    assert r.code == 0 and "stale" not in r.all, r.all


@pytest.mark.parametrize("target", ["app/db.py", "pyproject.toml", "notes.json"])
def test_baseline_never_overwrites_what_is_not_a_baseline(
        project: Path, cli: Invoke, target: str) -> None:
    Path("notes.json").write_text('{"mine": true}\n')
    before = Path(target).read_bytes()
    r = cli("baseline", target)
    assert r.code == 2, r.all
    assert "not overwritten" in r.err and "--force" in r.err and "Traceback" not in r.all
    assert Path(target).read_bytes() == before


def test_baseline_replaces_a_baseline_and_force_writes_anyway(
        project: Path, cli: Invoke) -> None:
    assert cli("baseline", "b.json").code == 0
    assert cli("baseline", "b.json").code == 0  # a baseline may be rewritten
    Path("other.json").write_text("[]\n")
    assert cli("baseline", "other.json").code == 2
    r = cli("baseline", "--force", "other.json")
    assert r.code == 0, r.all
    assert json.loads(Path("other.json").read_text())["poolsafe-baseline"] == 1

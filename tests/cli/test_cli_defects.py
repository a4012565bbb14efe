"""Command-line defects found by trying poolsafe as a new user would (issue 12):
syntax errors at one, right position; no "All clear" over a file that was not
checked; `fix` selects what `check` selects and takes its options; `fix` on a file
that does not parse; `fix --diff` on CRLF files and with findings left."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Invoke

LEAK = '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def rows():
    conn = pool.getconn()
    data = conn.cursor().fetchall()
    pool.putconn(conn)
    return data
'''

BROKEN = "import psycopg2\nx = 1\ndef f(:\n    pass\n"


def test_a_syntax_error_is_reported_once_at_pythons_position(
        project: Path, cli: Invoke) -> None:
    Path("broken.py").write_text(BROKEN)
    r = cli("check", "broken.py")
    assert r.code == 1
    assert "broken.py:3:7: error: syntax error: invalid syntax" in r.out, r.out
    assert "at line" not in r.out and "4:" not in r.out
    r = cli("check", "--format", "concise", "broken.py")
    assert "broken.py:3:7: error: syntax error: invalid syntax" in r.out
    doc = json.loads(cli("check", "--format", "json", "broken.py").out)
    assert doc["errors"] == [{"path": "broken.py", "message": "syntax error: invalid syntax",
                              "line": 3, "column": 7}]
    r = cli("check", "--format", "github", "broken.py")
    assert "::error file=broken.py,line=3,col=7," in r.out


def test_the_summary_never_says_all_clear_over_a_file_not_checked(
        project: Path, cli: Invoke) -> None:
    Path("broken.py").write_text(BROKEN)
    r = cli("check", "broken.py", "app/clean.py")
    assert r.code == 1
    assert "All clear" not in r.all
    assert "No findings in the 1 file that could be checked; 1 file could not be checked." \
        in r.out
    assert "All clear: no findings in 1 file." in cli("check", "app/clean.py").out


def _configure(text: str) -> None:
    Path("pyproject.toml").write_text("[tool.poolsafe]\n" + text)


def test_fix_honours_per_file_ignores(project: Path, cli: Invoke) -> None:
    Path("tests").mkdir()
    Path("tests/test_db.py").write_text(LEAK)
    _configure('[tool.poolsafe.per-file-ignores]\n"tests/**" = ["PS102"]\n')
    assert cli("check", "tests").code == 0
    r = cli("fix", "--diff", "tests")
    assert r.code == 0 and r.out == "", r.all
    assert "Would fix 0 findings." in r.err
    r = cli("fix", "--diff", "app/db.py")  # elsewhere PS102 is still fixed
    assert r.code == 1 and "+    try:" in r.out


@pytest.mark.parametrize("args", [
    ["--select", "PS101"],
    ["--extend-select", "PS2"],
    ["--ignore", "PS102"],
    ["--extend-exclude", "leak.py", "--force-exclude"],
    ["--no-cache"],
    ["--jobs", "2"],
    ["--isolated"],
    ["--config", "pyproject.toml"],
    ["--project-root", "."],
])
def test_fix_takes_the_options_check_takes(project: Path, cli: Invoke,
                                           args: list[str]) -> None:
    Path("leak.py").write_text(LEAK)
    checked = cli("check", "--format", "json", *args, "leak.py")
    assert checked.code in (0, 1), checked.all
    found = {f["code"] for f in json.loads(checked.out)["findings"]}
    fixed = cli("fix", "--diff", *args, "leak.py")
    assert fixed.code in (0, 1), fixed.all
    # the fix rewrites exactly when check reports the (fixable) PS102
    assert ("+    try:" in fixed.out) == ("PS102" in found), (args, found, fixed.all)


def test_fix_says_a_file_did_not_parse(project: Path, cli: Invoke) -> None:
    Path("broken.py").write_text(BROKEN)
    r = cli("fix", "broken.py")
    assert r.code == 1
    assert "broken.py:3:7: error: syntax error: invalid syntax" in r.err
    assert "1 file could not be read, parsed or fixed (see above): not fixed." in r.err
    assert Path("broken.py").read_text() == BROKEN


def test_fix_diff_reports_findings_left_at_their_line_on_disk(
        project: Path, cli: Invoke) -> None:
    source = LEAK + '''

def report():
    from sqlalchemy import create_engine

    engine = create_engine("postgresql://app@db/app")
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT 1").all()
'''
    Path("mixed.py").write_text(source)
    line = next(i for i, text in enumerate(source.splitlines(), 1) if "create_engine(" in text)
    checked = json.loads(cli("check", "--format", "json", "mixed.py").out)["findings"]
    assert ("PS202", line) in {(f["code"], f["line"]) for f in checked}
    r = cli("fix", "--diff", "-v", "--select", "PS102,PS202", "mixed.py")
    assert "+    try:" in r.out
    assert f"mixed.py:{line}:" in r.err and "PS202 left" in r.err, r.err


@pytest.mark.skipif(shutil.which("patch") is None, reason="patch is not installed")
def test_fix_diff_keeps_crlf_so_patch_applies_it(project: Path, cli: Invoke,
                                                 tmp_path: Path) -> None:
    crlf = LEAK.replace("\n", "\r\n").encode()
    Path("win.py").write_bytes(crlf)
    # the real process's bytes (click's test runner folds CRLF in its output)
    r = subprocess.run([sys.executable, "-m", "poolsafe", "fix", "--diff", "win.py"],
                       capture_output=True)
    assert r.returncode == 1, r.stderr
    assert b"+    try:\r\n" in r.stdout
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "win.py").write_bytes(crlf)
    (copy / "fix.diff").write_bytes(r.stdout)
    applied = subprocess.run(["patch", "-p1", "-i", "fix.diff"], cwd=copy,
                             capture_output=True, text=True)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert cli("fix", "win.py").code == 0
    assert (copy / "win.py").read_bytes() == Path("win.py").read_bytes()
    assert b"\n" not in Path("win.py").read_bytes().replace(b"\r\n", b"")


def test_check_reads_standard_input_as_the_named_file(project: Path, cli: Invoke) -> None:
    """`check -` with `--stdin-filename`: an editor's unsaved buffer, resolved in the
    project of the file it names (the wrappers live in another module)."""
    from click.testing import CliRunner

    from poolsafe.cli.main import main

    Path("dbutil.py").write_text(LEAK.split("\n\ndef rows")[0] + '''


def get_db_connection():
    return pool.getconn()


def release_db_connection(conn):
    pool.putconn(conn)
''')
    Path("views.py").write_text("def index():\n    return 'ok'\n")  # the saved version
    buffer = '''from dbutil import get_db_connection, release_db_connection


def index():
    conn = get_db_connection()
    conn.cursor().execute("SELECT 1")
    release_db_connection(conn)
'''
    runner = CliRunner()
    r = runner.invoke(main, ["check", "--stdin-filename", "views.py", "--format", "json", "-"],
                      input=buffer)
    assert r.exit_code == 1, r.output
    found = json.loads(r.stdout)["findings"]
    assert [(f["path"], f["line"], f["code"]) for f in found] == [("views.py", 5, "PS102")]
    assert cli("check", "views.py").code == 0  # the file on disk is untouched and clean
    r = runner.invoke(main, ["check", "-", "app"], input=buffer)
    assert r.exit_code == 2 and "must be the only path" in r.stderr


def test_check_fix_applies_the_safe_fixes_then_reports_what_is_left(
        project: Path, cli: Invoke) -> None:
    Path("leak.py").write_text(LEAK)
    r = cli("check", "--fix", "leak.py")
    assert r.code == 0, r.all
    assert "Fixed 1 finding." in r.err and "All clear" in r.out
    assert "finally:\n        pool.putconn(conn)" in Path("leak.py").read_text()
    assert [c for _, _, c in _codes(cli, "app/db.py")] == ["PS102", "PS101"]
    r = cli("check", "--fix", "app/db.py")
    assert r.code == 0 and "Fixed 2 findings." in r.err, r.all
    assert _codes(cli, "app/db.py") == []
    assert cli("check", "--fix", "-").code == 2


def _codes(cli: Invoke, path: str) -> list[tuple[str, int, str]]:
    r = cli("check", "--format", "json", path)
    return [(f["path"], f["line"], f["code"]) for f in json.loads(r.out)["findings"]]

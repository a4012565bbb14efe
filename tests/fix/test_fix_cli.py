"""`poolsafe fix` on disk: fixtures, encodings, line endings, permissions, exit codes."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from poolsafe.cli.main import main
from poolsafe.scan.engine import ScanOptions, scan

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted(p for p in (ROOT / "fixtures").glob("*/before") if p.is_dir())
#: fixtures whose PS1xx findings are fixed by hand (peewee's connect(), PS107)
BY_HAND = {"peewee_flask", "django_threads"}
PS10X = {"PS101", "PS102", "PS103", "PS104", "PS105"}
#: findings no fix may take: a rollback in a psycopg2 loop would discard the earlier
#: iterations that the final commit stores (no savepoint fits there yet)
#: an encode/databases low-level transaction ends with a commit on success and a
#: rollback on failure, written by hand (its Gino checkout is fixed)
LEFT_ON_PURPOSE = {"flask_psycopg2": {"PS103"}, "gino_service": {"PS102"},
                   "databases_ledger": {"PS102"}}

PG_LEAK = (
    "from psycopg2.pool import ThreadedConnectionPool\n"
    "pool = ThreadedConnectionPool(1, 10, dsn='dbname=app')\n"
    "\n"
    "def rows():\n"
    "    conn = pool.getconn()\n"
    "    data = conn.cursor().fetchall()  # r\u00e9sum\u00e9\n"
    "    pool.putconn(conn)\n"
    "    return data\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["fix", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("before", [p for p in FIXTURES if p.parent.name not in BY_HAND],
                         ids=lambda p: p.parent.name)
def test_fix_fixture_leaves_no_ps10x_finding(before: Path, tmp_path: Path) -> None:
    work = tmp_path / before.parent.name
    shutil.copytree(before, work)
    code, _out, err = run("--unsafe-fixes", "--select", "PS1", str(work))
    left = [f for f in scan([str(work)], ScanOptions(select=PS10X)).findings]
    assert {f.code for f in left} <= LEFT_ON_PURPOSE.get(before.parent.name, set()), (err, left)
    for py in work.rglob("*.py"):
        compile(py.read_text(encoding="utf-8"), str(py), "exec")
    assert code == (1 if left else 0), err
    # a second run changes nothing
    snapshot = {p: p.read_bytes() for p in work.rglob("*.py")}
    code, out, _ = run("--diff", "--unsafe-fixes", "--select", "PS1", str(work))
    assert code == 0 and out == ""
    assert snapshot == {p: p.read_bytes() for p in work.rglob("*.py")}


@pytest.mark.parametrize("before", [p for p in FIXTURES if p.parent.name in BY_HAND],
                         ids=lambda p: p.parent.name)
def test_fix_leaves_by_hand_findings_and_writes_nothing(before: Path, tmp_path: Path) -> None:
    work = tmp_path / before.parent.name
    shutil.copytree(before, work)
    snapshot = {p: p.read_bytes() for p in work.rglob("*.py")}
    found = scan([str(work)], ScanOptions(select={"PS1"})).findings
    code, _out, err = run("--unsafe-fixes", "--select", "PS1", str(work))
    assert found and code == 1, err
    assert f"Left {len(found)} finding" in err, err
    assert snapshot == {p: p.read_bytes() for p in work.rglob("*.py")}


@pytest.mark.parametrize("before", FIXTURES, ids=lambda p: p.parent.name)
def test_safe_fix_fixture_keeps_files_compilable(before: Path, tmp_path: Path) -> None:
    work = tmp_path / "app"
    shutil.copytree(before, work)
    run(str(work))
    for py in work.rglob("*.py"):
        compile(py.read_text(encoding="utf-8"), str(py), "exec")


def test_diff_writes_nothing_and_exit_codes(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(PG_LEAK, encoding="utf-8")
    code, out, err = run("--diff", str(f))
    assert code == 1
    assert out.startswith(f"--- a/{f}\n+++ b/{f}\n")
    assert "+    finally:\n" in out
    assert f.read_text(encoding="utf-8") == PG_LEAK
    assert "Would fix 1 finding (PS102 x1)." in err
    code, _, err = run(str(f))
    assert code == 0, err
    assert "Fixed 1 finding (PS102 x1)." in err and "1 file changed." in err
    code, out, _ = run("--diff", str(f))
    assert (code, out) == (0, "")


def test_select_and_ignore(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(PG_LEAK, encoding="utf-8")
    code, out, _ = run("--diff", "--ignore", "PS102", str(f))
    assert (code, out) == (0, "")
    code, out, _ = run("--diff", "--select", "PS101", str(f))
    assert (code, out) == (0, "")
    code, _, _ = run("--select", "PS999", str(f))
    assert code == 2


def test_crlf_bom_and_permissions_are_kept(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    data = b"\xef\xbb\xbf" + PG_LEAK.replace("\n", "\r\n").encode("utf-8")
    f.write_bytes(data)
    os.chmod(f, 0o640)
    code, _, err = run(str(f))
    assert code == 0, err
    out = f.read_bytes()
    assert out.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in out and out.count(b"\n") == out.count(b"\r\n")
    assert b"    finally:\r\n        pool.putconn(conn)\r\n" in out
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name != "m.py"]  # no temp file left


def test_latin1_coding_cookie(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_bytes(("# -*- coding: latin-1 -*-\n" + PG_LEAK).encode("latin-1"))
    code, _, err = run(str(f))
    assert code == 0, err
    text = f.read_bytes().decode("latin-1")
    assert "r\u00e9sum\u00e9" in text and "pool.putconn(conn)" in text
    compile(f.read_bytes(), str(f), "exec")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root ignores file permissions")
def test_read_only_file_is_reported_not_written(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(PG_LEAK, encoding="utf-8")
    os.chmod(f, 0o444)
    code, _, err = run(str(f))
    assert code == 1
    assert "read-only file: fixes not written" in err
    assert f.read_text(encoding="utf-8") == PG_LEAK


def test_read_only_mode_bit_is_respected_even_for_root(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(PG_LEAK, encoding="utf-8")
    os.chmod(f, 0o444)
    code, _, err = run(str(f))
    assert code == 1 and "read-only" in err
    assert f.read_text(encoding="utf-8") == PG_LEAK


def test_unparsable_file_is_reported_and_others_fixed(tmp_path: Path) -> None:
    # (with database code: a file without any is not parsed, by `check` nor `fix`)
    bad = tmp_path / "bad.py"
    bad.write_text("import psycopg2\ndef broken(:\n", encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text(PG_LEAK, encoding="utf-8")
    code, _, err = run(str(tmp_path))
    assert code == 1
    assert "bad.py" in err
    assert bad.read_text(encoding="utf-8") == "import psycopg2\ndef broken(:\n"
    assert "finally:" in good.read_text(encoding="utf-8")


def test_suppressed_finding_is_not_fixed(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    src = PG_LEAK.replace("    conn = pool.getconn()\n",
                          "    conn = pool.getconn()  # poolsafe: ignore[PS102]\n")
    f.write_text(src, encoding="utf-8")
    code, out, _ = run("--diff", str(f))
    assert (code, out) == (0, "")

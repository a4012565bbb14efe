"""`poolsafe fix` as a hostile tester runs it (issue 29): excluded files, what the
summary says, the modes of new files, standard input."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from poolsafe.cli.main import main

LEAK = '''from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=x")


def load():
    conn = pool.getconn()
    conn.cursor().execute("SELECT 1")
    pool.putconn(conn)
'''


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.poolsafe]\nextend-exclude = ["migrations"]\n')
    monkeypatch.chdir(root)
    monkeypatch.setenv("POOLSAFE_NO_PROGRESS", "1")
    yield root


def test_force_exclude_keeps_fix_off_a_named_excluded_file(project: Path) -> None:
    # item 6: the poolsafe-fix hook names excluded files; --force-exclude drops them
    (project / "migrations").mkdir()
    migration = project / "migrations" / "0001_leak.py"
    migration.write_text(LEAK)
    code, _out, err = run("fix", "--force-exclude", "migrations/0001_leak.py")
    assert code == 0, err
    assert migration.read_text() == LEAK
    # without it, a file named on the command line is fixed, as `check` reports it
    code, _, err = run("fix", "migrations/0001_leak.py")
    assert code == 0, err
    assert "finally:" in migration.read_text()


# ------------------------------------------------- item 4: a read-only directory
#: an unprivileged user for the test when it runs as root (root ignores permissions)
NOBODY = 65534


def _as_unprivileged(action: Callable[[], tuple[int, str, str]]
                     ) -> tuple[int, str, str]:
    """Run `action` as a user without root's powers: in this process when it is not
    root, else in a forked child that drops to uid/gid 65534 (after `action` warmed
    up as root: the interpreter's own files may be unreadable to that user)."""
    if os.geteuid() != 0:
        return action()
    if not hasattr(os, "fork"):
        pytest.skip("running as root without os.fork: cannot drop privileges")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = action()
        except BaseException as exc:
            out = (-1, "", f"{type(exc).__name__}: {exc}")
        with os.fdopen(write, "w") as pipe:
            json.dump(out, pipe)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    code, out, err = json.loads(data)
    if code == -1:
        pytest.skip(f"cannot drop privileges to uid {NOBODY}: {err}")
    return code, out, err


@pytest.fixture
def shared_tree(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project outside pytest's private temporary directory, owned by the
    unprivileged user when the test runs as root."""
    base = Path(tempfile.mkdtemp(prefix="poolsafe-ro-"))
    root = base / "proj"
    (root / "ro").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "a.py").write_text(LEAK)
    (root / "ro" / "b.py").write_text(LEAK)
    (root / "z.py").write_text(LEAK)
    if os.geteuid() == 0:
        for p in [base, *base.rglob("*")]:
            os.chown(p, NOBODY, NOBODY)
    os.chmod(base, 0o755)
    os.chmod(root / "ro", 0o555)
    monkeypatch.chdir(root)
    monkeypatch.setenv("POOLSAFE_NO_PROGRESS", "1")
    try:
        yield root
    finally:
        os.chmod(root / "ro", 0o755)
        shutil.rmtree(base)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_fix_in_a_read_only_directory_plans_first_and_reports_each_file(
        shared_tree: Path) -> None:
    root = shared_tree
    run("fix", "--diff", ".")  # loads what `fix` needs while the files are readable
    code, _out, err = _as_unprivileged(lambda: run("fix", "."))
    # it used to stop with "internal error: PermissionError" (exit 2) after writing a.py
    assert "internal error" not in err and "Traceback" not in err, err
    assert code == 1, err  # docs/fix.md: a file could not be written
    assert [line for line in err.splitlines() if line.startswith("ro/b.py:")] == [
        f"ro/b.py: read-only directory ({root.resolve() / 'ro'}): fixes not written "
        "(the fixed file is written beside it, then renamed)"], err
    assert (root / "ro" / "b.py").read_text() == LEAK
    assert "finally:" in (root / "a.py").read_text()
    assert "finally:" in (root / "z.py").read_text()
    # the summary says what was written and what was not
    assert "Fixed 2 findings (PS102 x2)." in err, err
    assert ("Not written: the fixes of 1 finding (PS102 x1) in 1 file that could not be "
            "written (see above).") in err, err
    assert "2 files changed." in err
    assert not [p for p in root.rglob("*") if "tmp" in p.name]


# ------------------------------------------------ item 9: fix on standard input
DB = '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def get_db_connection():
    return pool.getconn()


def release_db_connection(conn):
    pool.putconn(conn)
'''

APP = '''from db import get_db_connection


def count_orders():
    conn = get_db_connection()
    n = conn.cursor().fetchone()[0]
    conn.close()
    return n
'''


def test_stdin_filename_fixes_standard_input_in_the_files_project(project: Path) -> None:
    # an editor's fix-on-save: the buffer comes on stdin, resolved as app.py in its
    # project (the wrappers are in db.py), the fixed code goes to stdout
    (project / "db.py").write_text(DB)
    (project / "app.py").write_text("# the file on disk is not what is fixed\n")
    code, out, err = run("fix", "--stdin-filename", "app.py", stdin=APP)
    assert code == 0, err
    assert "finally:\n        release_db_connection(conn)" in out
    assert "from db import get_db_connection, release_db_connection" in out
    compile(out, "app.py", "exec")
    assert "Standard input fixed: the code is on standard output." in err
    assert (project / "app.py").read_text() == "# the file on disk is not what is fixed\n"
    assert (project / "db.py").read_text() == DB
    # fixing the output again changes nothing
    code, again, err = run("fix", "--stdin-filename", "app.py", "-", stdin=out)
    assert (code, again) == (0, out), err
    assert "Standard input unchanged" in err


def test_stdin_filename_gives_back_code_it_cannot_parse(project: Path) -> None:
    broken = "import psycopg2\n\n\ndef broken(:\n"
    code, out, err = run("fix", "--stdin-filename", "new.py", stdin=broken)
    assert code == 1
    assert out == broken
    assert "new.py:4:" in err and "syntax error" in err
    assert not (project / "new.py").exists()
    # without database code the buffer is not parsed (docs/cli.md, "Files that are not
    # checked"): it comes back as it is, and nothing is wrong with it for poolsafe
    code, out, err = run("fix", "--stdin-filename", "new.py", stdin="def broken(:\n")
    assert (code, out) == (0, "def broken(:\n")


def test_stdin_filename_refuses_paths(project: Path) -> None:
    code, out, err = run("fix", "--stdin-filename", "app.py", "other.py", stdin=APP)
    assert code == 2 and out == ""
    assert "name no PATHS" in err

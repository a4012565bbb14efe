"""`poolsafe fix` as a hostile tester runs it (issue 29): excluded files, what the
summary says, the modes of new files, standard input."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    code, out, err = run("fix", "--force-exclude", "migrations/0001_leak.py")
    assert code == 0, err
    assert migration.read_text() == LEAK
    # without it, a file named on the command line is fixed, as `check` reports it
    code, _, err = run("fix", "migrations/0001_leak.py")
    assert code == 0, err
    assert "finally:" in migration.read_text()

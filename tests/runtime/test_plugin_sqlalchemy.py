"""``pytest --poolsafe`` on an application whose SQLAlchemy engine nobody tracked.

A small application in a temporary directory builds its engine at import time
(the usual ``engine = create_engine(...)`` in ``db.py``) and never calls
``track()``. pytest runs in a subprocess with only this plugin loaded
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 -p poolsafe.pytest_plugin``). The plugin must
watch the engine's pool by itself, fail the tests that leak, name the
application's line (not a frame SQLAlchemy generated), leave clean tests alone,
and say in the summary how many pools it watched, zero included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

DB = """\
import sqlalchemy
from sqlalchemy.orm import sessionmaker

engine = sqlalchemy.create_engine("sqlite:///app.db")
Session = sessionmaker(bind=engine)
kept = []


def leaky_count():
    conn = engine.connect()
    kept.append(conn)
    return conn.execute(sqlalchemy.text("SELECT 1")).scalar()


def leaky_session_count():
    session = Session()
    kept.append(session)
    return session.execute(sqlalchemy.text("SELECT 1")).scalar()


def clean_count():
    with engine.connect() as conn:
        return conn.execute(sqlalchemy.text("SELECT 1")).scalar()


def clean_session_count():
    with Session() as session:
        return session.execute(sqlalchemy.text("SELECT 1")).scalar()
"""

LEAKY_TESTS = """\
from app.db import leaky_count, leaky_session_count


def test_connection():
    assert leaky_count() == 1


def test_session():
    assert leaky_session_count() == 1
"""

CLEAN_TESTS = """\
from app.db import clean_count, clean_session_count


def test_connection():
    assert clean_count() == 1


def test_session():
    assert clean_session_count() == 1
"""


def make_app(root: Path, tests: str) -> None:
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "db.py").write_text(DB)
    (root / "test_app.py").write_text(tests)


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(src), str(root)])
    env.pop("POOLSAFE_STACK_DEPTH", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "poolsafe.pytest_plugin", "-p",
         "no:cacheprovider", "-rA", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_an_import_time_engine_nobody_tracked_is_watched(tmp_path: Path) -> None:
    make_app(tmp_path, LEAKY_TESTS)
    done = run_pytest(tmp_path, "--poolsafe")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "2 failed" in out, out
    # The headline names the application's line, for a Core connection and for
    # a Session (whose checkout runs through a function SQLAlchemy generates).
    assert "taken at app/db.py:10 in leaky_count" in out, out
    assert "taken at app/db.py:18 in leaky_session_count" in out, out
    assert "taken at <sqlalchemy generated" not in out, out
    assert "poolsafe: watched 1 pool: app.db.engine (SQLAlchemy QueuePool)" in out, out


def test_a_clean_application_passes_and_says_what_was_watched(tmp_path: Path) -> None:
    make_app(tmp_path, CLEAN_TESTS)
    done = run_pytest(tmp_path, "--poolsafe")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    assert "poolsafe: watched 1 pool: app.db.engine (SQLAlchemy QueuePool)" in done.stdout


def test_an_engine_built_inside_a_test_is_watched(tmp_path: Path) -> None:
    (tmp_path / "test_inline.py").write_text(
        "import sqlalchemy\n"
        "\n"
        "kept = []\n"
        "\n"
        "\n"
        "def test_builds_its_own_engine():\n"
        "    engine = sqlalchemy.create_engine('sqlite://')\n"
        "    kept.append(engine.connect())\n"
    )
    done = run_pytest(tmp_path, "--poolsafe")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "taken at test_inline.py:8 in test_builds_its_own_engine" in done.stdout
    assert "poolsafe: watched 1 pool: sqlalchemy-" in done.stdout


def test_zero_pools_watched_is_said(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_nothing():\n    assert True\n")
    done = run_pytest(tmp_path, "--poolsafe")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "poolsafe: watched 0 pools:" in done.stdout
    assert "no test was checked for connection leaks" in done.stdout


def test_without_the_flag_nothing_is_said_or_watched(tmp_path: Path) -> None:
    make_app(tmp_path, LEAKY_TESTS)
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "poolsafe:" not in done.stdout


WIDE_FIXTURES = """\
import pytest
import sqlalchemy

from app.db import engine


@pytest.fixture(scope="session")
def session_conn():
    conn = engine.connect()
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def module_conn():
    with engine.connect() as conn:
        yield conn


def test_first(session_conn, module_conn):
    assert session_conn.execute(sqlalchemy.text("SELECT 1")).scalar() == 1


def test_second(session_conn, module_conn):
    assert module_conn.execute(sqlalchemy.text("SELECT 1")).scalar() == 1
"""


def test_connections_held_by_wider_fixtures_are_not_leaks(tmp_path: Path) -> None:
    """A session or module fixture holds its connection for its whole scope: the
    first test that used it did not leak it."""
    make_app(tmp_path, WIDE_FIXTURES)
    done = run_pytest(tmp_path, "--poolsafe")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout and "error" not in done.stdout

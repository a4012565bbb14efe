"""Fault injection and driver choice (no server needed)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from poolsafe.runtime import ConnectionPool, DriverUnavailableError, InjectedFault
from poolsafe.runtime.drivers import driver_for_url, mysql_params, sqlite_target


@pytest.fixture
def pool(tmp_path: Path):
    pool = ConnectionPool(0, 2, str(tmp_path / "f.db"), connect=sqlite3.connect)
    yield pool
    pool.closeall()


def test_statement_faults_fail_the_next_n_statements(pool: ConnectionPool) -> None:
    conn = pool.getconn()
    faults = pool.faults(statements=2)
    for _ in range(2):
        with pytest.raises(sqlite3.OperationalError, match="poolsafe injected fault: statement"):
            conn.execute("SELECT 1")
    assert conn.cursor().execute("SELECT 2").fetchone() == (2,)
    assert (faults.fired, faults.remaining) == (2, 0)
    pool.putconn(conn)


def test_after_and_match(pool: ConnectionPool) -> None:
    conn = pool.getconn()
    conn.execute("CREATE TABLE t (x)")
    pool.faults(statements=1, after=1, match="insert")
    conn.execute("SELECT 1")  # does not match
    conn.execute("INSERT INTO t VALUES (1)")  # first match passes
    with pytest.raises(sqlite3.OperationalError, match="INSERT INTO t VALUES \\(2\\)"):
        conn.cursor().executemany("INSERT INTO t VALUES (2)", [()])
    conn.execute("INSERT INTO t VALUES (3)")
    conn.commit()
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)
    pool.putconn(conn)


def test_commit_fault_leaves_transaction_for_the_pool_to_roll_back(pool: ConnectionPool) -> None:
    with pool.connection() as conn:
        conn.execute("CREATE TABLE t (x)")
    pool.faults(commits=1)
    with (
        pytest.raises(sqlite3.OperationalError, match="injected fault: commit"),
        pool.connection() as conn,
    ):
        conn.execute("INSERT INTO t VALUES (1)")
    with pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert pool.stats().returns_bad == 1  # returned in a transaction after the failed commit


def test_connect_faults_release_the_reserved_slot(pool: ConnectionPool) -> None:
    with pool.faults(connects=1) as faults:
        with pytest.raises(sqlite3.OperationalError, match="injected fault: connect"):
            pool.getconn()
        assert faults.fired == 1
    stats = pool.stats()
    assert (stats.in_use, stats.size, stats.connects) == (0, 0, 0)
    conn = pool.getconn()
    pool.putconn(conn)


def test_context_manager_cancels_unfired_faults(pool: ConnectionPool) -> None:
    conn = pool.getconn()
    with pool.faults(statements=5), pytest.raises(sqlite3.OperationalError):
        conn.execute("SELECT 1")
    assert conn.execute("SELECT 1").fetchone() == (1,)
    assert pool.fault_injector.history == [
        "poolsafe injected fault: statement 'SELECT 1' failed (1 of 5)"
    ]
    pool.putconn(conn)


def test_unknown_driver_faults_use_injected_fault() -> None:
    class Conn:
        closed = False

        def close(self) -> None:
            self.closed = True

        def rollback(self) -> None:
            pass

    pool = ConnectionPool(0, 1, connect=Conn)
    pool.faults(connects=1)
    with pytest.raises(InjectedFault):
        pool.getconn()
    pool.closeall()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "psycopg2"),
        ("postgres://u@h/db", "psycopg2"),
        ("postgresql+psycopg://u@h/db", "psycopg"),
        ("mysql://u@h/db", "pymysql"),
        ("mysql+pymysql://u@h/db", "pymysql"),
        ("sqlite:///x.db", "sqlite"),
        ("sqlite://", "sqlite"),
    ],
)
def test_from_url_driver_is_named_by_the_scheme(url: str, driver: str) -> None:
    assert driver_for_url(url).name == driver


@pytest.mark.parametrize("url", ["app.db", "orders", "", ":memory:", "dbname=app"])
def test_a_string_without_a_scheme_is_refused_by_from_url(url: str) -> None:
    with pytest.raises(ValueError, match="cannot tell which database"):
        driver_for_url(url)


def test_the_default_driver_is_psycopg2_never_guessed(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Like psycopg2's pools, the arguments go to psycopg2.connect whatever they look
    like: a file name is never opened as SQLite (nor created in the working directory)."""
    import psycopg2

    monkeypatch.chdir(tmp_path)
    with pytest.raises(psycopg2.Error):
        ConnectionPool(1, 1, "app.db")
    pool = ConnectionPool(0, 1, "host=127.0.0.1 user=postgres dbname=test")
    assert pool.driver == "psycopg2"
    pool.closeall()
    assert list(tmp_path.iterdir()) == []


def test_sqlite_only_when_asked_for(tmp_path: Path) -> None:
    pool = ConnectionPool(0, 1, str(tmp_path / "a.db"), connect=sqlite3.connect)
    assert pool.driver == "sqlite"
    conn = pool.getconn()
    assert isinstance(conn, sqlite3.Connection)
    pool.putconn(conn)
    pool.closeall()
    url_pool = ConnectionPool.from_url(0, 1, f"sqlite:///{tmp_path / 'b.db'}")
    assert url_pool.driver == "sqlite"
    url_pool.closeall()


def test_unsupported_scheme() -> None:
    with pytest.raises(ValueError, match="cannot choose a driver for URL scheme 'oracle'"):
        driver_for_url("oracle://x")


def test_sqlite_targets() -> None:
    assert sqlite_target("sqlite:///rel/x.db") == ("rel/x.db", False)
    assert sqlite_target("sqlite:////abs/x.db") == ("/abs/x.db", False)
    memory, uri = sqlite_target("sqlite://")
    assert uri and memory.startswith("file:poolsafe-memory-") and "mode=memory" in memory


def test_mysql_params() -> None:
    assert mysql_params("mysql+pymysql://bob:p%40ss@db.example:3307/app?connect_timeout=3") == {
        "host": "db.example",
        "port": 3307,
        "user": "bob",
        "password": "p@ss",
        "database": "app",
        "connect_timeout": 3,
    }


def test_missing_driver_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)
    with pytest.raises(DriverUnavailableError) as info:
        ConnectionPool.from_url(0, 1, "mysql://root@127.0.0.1/test")
    assert str(info.value) == (
        "the pymysql driver is not installed; install it with: "
        "pip install 'poolsafe[mysql]' (or pymysql)"
    )
    assert isinstance(info.value, ImportError)


def test_pool_error_is_psycopg2s_when_installed_and_plain_otherwise() -> None:
    import subprocess

    import psycopg2.pool

    from poolsafe.runtime import PoolError, PoolTimeout

    assert issubclass(PoolError, psycopg2.pool.PoolError)
    assert issubclass(PoolTimeout, psycopg2.Error)
    code = (
        "import sys; sys.modules['psycopg2'] = None; sys.modules['psycopg2.pool'] = None\n"
        "from poolsafe.runtime import PoolError\n"
        "print([c.__name__ for c in PoolError.__mro__])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "['PoolError', 'Error', 'Exception', 'BaseException', 'object']"


def test_hooks_keep_a_factory_class_and_its_default_cursor(tmp_path: Path) -> None:
    class Cursor(sqlite3.Cursor):
        marked = True

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = Cursor) -> Any:  # type: ignore[override]
            return super().cursor(factory)

    pool = ConnectionPool(0, 1, str(tmp_path / "h.db"), connect=sqlite3.connect,
                          factory=Connection)
    conn = pool.getconn()
    assert isinstance(conn, Connection)
    assert isinstance(conn.cursor(), Cursor)
    with pool.faults(statements=1), pytest.raises(sqlite3.OperationalError, match="injected"):
        conn.execute("SELECT 1")
    pool.putconn(conn)
    pool.closeall()

"""ConnectionPool and track() against real PostgreSQL and MariaDB servers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from poolsafe.runtime import ConnectionPool, track

PG_DRIVERS = ["psycopg2", "psycopg"]


def pg_pool(minconn: int, maxconn: int, dsn: str, driver: str = "psycopg2",
            **options: Any) -> ConnectionPool:
    """psycopg2 is the default (as psycopg2's pools); psycopg 3 is asked for by connect=."""
    if driver == "psycopg":
        import psycopg

        return ConnectionPool(minconn, maxconn, dsn, connect=psycopg.connect, **options)
    return ConnectionPool(minconn, maxconn, dsn, **options)


def mysql_pool(minconn: int, maxconn: int, dsn: str, **options: Any) -> ConnectionPool:
    return ConnectionPool.from_url(minconn, maxconn, dsn, **options)


def _run_threads(pool: ConnectionPool, threads: int, per_thread: int, sql: str) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(per_thread):
                conn = pool.getconn(timeout=10)
                try:
                    cur = conn.cursor()
                    cur.execute(sql)
                    cur.fetchall()
                    conn.commit()
                finally:
                    pool.putconn(conn)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []


def _wait_until_gone(dsn: str, query: str, ident: int, timeout: float = 10.0) -> None:
    """Wait for the server to finish ending a killed session (a fixed sleep is not
    enough on a loaded machine): poll `query` until it counts no such session."""
    watcher = ConnectionPool.from_url(0, 1, dsn)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with watcher.connection() as w:
                cur = w.cursor()
                cur.execute(query, (ident,))
                if cur.fetchone()[0] == 0:
                    return
            time.sleep(0.02)
        raise AssertionError(f"session {ident} still present after {timeout} s")
    finally:
        watcher.closeall()


_PG_GONE = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
_MYSQL_GONE = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s"


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_pg_killed_backend_is_discarded_and_replaced(pg_dsn: str, driver: str) -> None:
    pool = pg_pool(1, 2, pg_dsn, driver)
    killer = pg_pool(0, 1, pg_dsn, driver)
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    conn.commit()
    with killer.connection() as k:
        k.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
    _wait_until_gone(pg_dsn, _PG_GONE, pid)
    with pytest.raises(Exception, match=r"terminat|closed|consuming input"):
        conn.cursor().execute("SELECT 1")
    pool.putconn(conn)
    assert pool.stats().discarded == 1
    with pool.connection() as fresh:
        cur = fresh.cursor()
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid
    pool.closeall()
    killer.closeall()


@pytest.mark.postgres
def test_pg_idle_killed_backend_is_replaced_on_checkout(pg_dsn: str) -> None:
    pool = pg_pool(1, 1, pg_dsn, validate_idle=0.0)
    with pool.connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with pg_pool(0, 1, pg_dsn).connection() as k:
        k.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
    _wait_until_gone(pg_dsn, _PG_GONE, pid)
    with pool.connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid
    assert pool.stats().discarded == 1
    pool.closeall()


@pytest.mark.postgres
@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_pg_return_in_transaction_is_rolled_back_on_the_server(pg_dsn: str, driver: str) -> None:
    pool = pg_pool(0, 2, pg_dsn, driver)
    with pool.connection() as conn:
        conn.cursor().execute("CREATE TABLE IF NOT EXISTS poolsafe_rb (x int)")
        conn.cursor().execute("TRUNCATE poolsafe_rb")
    conn = pool.getconn()
    raw = conn
    conn.cursor().execute("INSERT INTO poolsafe_rb VALUES (1)")
    pool.putconn(conn)
    status = raw.get_transaction_status() if driver == "psycopg2" else raw.info.transaction_status
    assert int(status) == 0  # idle
    with pool.connection() as other:
        cur = other.cursor()
        cur.execute("SELECT count(*) FROM poolsafe_rb")
        assert cur.fetchone()[0] == 0
    assert pool.stats().returns_bad == 1
    pool.closeall()


@pytest.mark.postgres
@pytest.mark.parametrize("driver", PG_DRIVERS)
def test_pg_faults_raise_the_driver_error(pg_dsn: str, driver: str) -> None:
    module = __import__(driver)
    pool = pg_pool(0, 1, pg_dsn, driver)
    pool.faults(statements=1, commits=1)
    with pool.connection() as conn:
        with pytest.raises(module.OperationalError, match="injected fault: statement"):
            conn.cursor().execute("SELECT 1")
        with pytest.raises(module.OperationalError, match="injected fault: commit"):
            conn.commit()
    pool.closeall()


@pytest.mark.postgres
def test_pg_stress_32_threads_over_4_connections(pg_dsn: str) -> None:
    pool = pg_pool(2, 4, pg_dsn)
    _run_threads(pool, threads=32, per_thread=100, sql="SELECT 1")
    stats = pool.stats()
    assert stats.requests == 3200
    assert (stats.in_use, stats.waiting, stats.timeouts, stats.leaked) == (0, 0, 0, 0)
    assert stats.available == stats.size <= 4
    assert pool.holders() == []
    pool.closeall()


@pytest.mark.postgres
def test_track_psycopg2_pool(pg_dsn: str) -> None:
    import psycopg2.pool

    pool = psycopg2.pool.ThreadedConnectionPool(0, 2, pg_dsn)
    tracker = track(pool)
    conn = pool.getconn()
    (holder,) = tracker.holders()
    assert "test_track_psycopg2_pool" in holder.site
    with pytest.raises(AssertionError, match="still checked out"):
        tracker.assert_no_leaks()
    conn.cursor().execute("SELECT 1")
    pool.putconn(conn)
    tracker.assert_no_leaks()
    assert tracker.stats().as_dict() == {
        "checkouts": 1, "returns": 1, "in_use": 0, "max_in_use": 1, "returns_bad": 1,
        "leaked": 0,
    }
    tracker.detach()
    pool.closeall()


@pytest.mark.postgres
def test_track_psycopg_pool(pg_dsn: str) -> None:
    import psycopg_pool

    pool = psycopg_pool.ConnectionPool(pg_dsn, min_size=1, max_size=2, open=True)
    tracker = track(pool)
    with pool.connection() as conn:
        conn.execute("SELECT 1")
        (holder,) = tracker.holders()
        assert "test_track_psycopg_pool" in holder.site  # not psycopg_pool's own frames
    tracker.assert_no_leaks()
    assert tracker.stats().checkouts == 1
    pool.close()


@pytest.mark.postgres
def test_track_sqlalchemy_engine(pg_dsn: str) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(pg_dsn.replace("postgresql://", "postgresql+psycopg2://"))
    tracker = track(engine)
    conn = engine.connect()
    conn.execute(sqlalchemy.text("SELECT 1"))
    (holder,) = tracker.holders()
    assert "test_track_sqlalchemy_engine" in holder.site
    conn.close()
    tracker.assert_no_leaks()
    assert tracker.stats().returns == 1
    engine.dispose()


# --- MariaDB / MySQL ------------------------------------------------------------------------


@pytest.mark.mysql
def test_mysql_killed_connection_is_discarded_and_replaced(mysql_dsn: str) -> None:
    import pymysql

    pool = mysql_pool(1, 2, mysql_dsn)
    conn = pool.getconn()
    conn_id = conn.thread_id()
    with mysql_pool(0, 1, mysql_dsn).connection() as k:
        k.cursor().execute(f"KILL {conn_id}")
    _wait_until_gone(mysql_dsn, _MYSQL_GONE, conn_id)
    with pytest.raises(pymysql.err.OperationalError):
        conn.cursor().execute("SELECT 1")
    pool.putconn(conn)
    assert pool.stats().discarded == 1
    with pool.connection() as fresh:
        assert fresh.thread_id() != conn_id
        cur = fresh.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    pool.closeall()


@pytest.mark.mysql
def test_mysql_return_in_transaction_is_rolled_back(mysql_dsn: str) -> None:
    pool = mysql_pool(0, 2, mysql_dsn)
    with pool.connection() as conn:
        conn.cursor().execute("CREATE TABLE IF NOT EXISTS poolsafe_rb (x int) ENGINE=InnoDB")
        conn.cursor().execute("DELETE FROM poolsafe_rb")
    conn = pool.getconn()
    raw = conn
    conn.cursor().execute("INSERT INTO poolsafe_rb VALUES (1)")
    assert raw.server_status & 1  # in transaction
    pool.putconn(conn)
    assert not raw.server_status & 1
    with pool.connection() as other:
        cur = other.cursor()
        cur.execute("SELECT count(*) FROM poolsafe_rb")
        assert cur.fetchone() == (0,)
    assert pool.stats().returns_bad == 1
    pool.closeall()


@pytest.mark.mysql
def test_mysql_faults_raise_pymysql_errors(mysql_dsn: str) -> None:
    import pymysql

    pool = mysql_pool(0, 1, mysql_dsn)
    with (
        pool.faults(statements=1),
        pool.connection() as conn,
        pytest.raises(pymysql.err.OperationalError, match="injected fault"),
    ):
        conn.cursor().execute("SELECT 1")
    pool.closeall()


@pytest.mark.mysql
def test_mysql_stress_32_threads_over_4_connections(
    mysql_params: dict[str, Any], mysql_dsn: str
) -> None:
    pool = mysql_pool(2, 4, mysql_dsn)
    _run_threads(pool, threads=32, per_thread=60, sql="SELECT 1")
    stats = pool.stats()
    assert stats.requests == 1920
    assert (stats.in_use, stats.timeouts, stats.leaked) == (0, 0, 0)
    assert stats.available == stats.size <= 4
    pool.closeall()


@pytest.mark.postgres
def test_pg_dropped_connection_is_a_leak_and_its_transaction_ends(pg_dsn: str) -> None:
    """A psycopg2 connection dropped while checked out is freed at once (no cycle):
    the driver closes it, the server rolls back what it left open, the pool reports
    the leak with where it was taken and recovers the slot."""
    pool = pg_pool(0, 1, pg_dsn)
    with pool.connection() as conn:
        conn.cursor().execute("CREATE TABLE IF NOT EXISTS poolsafe_drop (x int)")
        conn.cursor().execute("TRUNCATE poolsafe_drop")
    del conn  # (the same connection is lent next)
    pids: list[int] = []

    def forgetful() -> None:
        conn = pool.getconn()
        pids.append(conn.get_backend_pid())
        conn.cursor().execute("INSERT INTO poolsafe_drop VALUES (1)")  # left open

    forgetful()
    stats = pool.stats()
    assert (stats.leaked, stats.in_use) == (1, 0)
    (leak,) = pool.leaks()
    assert "in forgetful" in leak.site
    _wait_until_gone(pg_dsn, _PG_GONE, pids[0])
    with pool.connection() as conn:  # the slot is free again
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM poolsafe_drop")
        assert cur.fetchone()[0] == 0
    with pytest.raises(AssertionError, match="garbage-collected while checked out"):
        pool.assert_no_leaks()
    pool.closeall()

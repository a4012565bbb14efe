"""Fault injection into pools poolsafe did not build (through ``track()``) and
the ``poolsafe_faults`` fixture, which arms every pool built or tracked during
the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from poolsafe.runtime import ConnectionPool, track
from poolsafe.runtime.faults import FaultScope

sqlalchemy = pytest.importorskip("sqlalchemy")
from sqlalchemy.exc import OperationalError  # noqa: E402


def sqlite_pool(minconn: int, maxconn: int, url: str = "sqlite://", **options: Any) -> Any:
    """A reference pool on SQLite, whichever constructor the pool has (a URL
    through ``from_url`` where it exists, ``dsn=`` before)."""
    from_url = getattr(ConnectionPool, "from_url", None)
    if from_url is not None:
        return from_url(minconn, maxconn, url, **options)
    return ConnectionPool(minconn, maxconn, dsn=url, **options)


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'f.db'}")
    yield engine
    engine.dispose()


def test_sqlalchemy_statement_fault(engine: Any) -> None:
    tracker = track(engine)
    faults = tracker.fault_injector(statements=1, match="insert")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    expected = "injected fault: statement 'INSERT"
    with pytest.raises(OperationalError, match=expected), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with engine.begin() as conn:  # fired once, then gone
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert conn.exec_driver_sql("SELECT x FROM t").all() == [(2,)]
    assert faults.fired == 1
    tracker.assert_no_leaks()
    tracker.detach()


def test_sqlalchemy_commit_fault_rolls_back(engine: Any) -> None:
    tracker = track(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    tracker.fault_injector(commits=1)
    with pytest.raises(OperationalError, match="injected fault: commit"), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    tracker.assert_no_leaks()
    tracker.detach()


def test_sqlalchemy_connect_fault(engine: Any) -> None:
    tracker = track(engine)
    tracker.fault_injector(connects=1)
    with pytest.raises(OperationalError, match="injected fault: connect"):
        engine.connect()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    tracker.assert_no_leaks()
    tracker.detach()


def test_a_tracked_sqlalchemy_pool_alone_cannot_fail_statements(engine: Any) -> None:
    tracker = track(engine.pool)
    with pytest.raises(ValueError, match="cannot fail statements"):
        tracker.fault_injector(statements=1)
    assert track(engine) is tracker  # the engine's hooks join the same tracker
    tracker.fault_injector(statements=1)
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    tracker.detach()


def test_sqlalchemy_faults_on_postgresql(pg_dsn: str) -> None:
    engine = sqlalchemy.create_engine(pg_dsn.replace("postgresql://", "postgresql+psycopg2://"))
    tracker = track(engine)
    try:
        tracker.fault_injector(statements=1)
        with pytest.raises(OperationalError, match="injected fault"), engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
        tracker.assert_no_leaks()
    finally:
        tracker.detach()
        engine.dispose()


def test_psycopg2_pool_faults(pg_dsn: str) -> None:
    import psycopg2
    import psycopg2.extras
    import psycopg2.pool

    pool = psycopg2.pool.ThreadedConnectionPool(1, 2, pg_dsn)  # keeps one idle
    tracker = track(pool)
    try:
        tracker.fault_injector(statements=1)
        conn = pool.getconn()
        with pytest.raises(psycopg2.OperationalError, match="injected fault: statement"):
            conn.cursor().execute("SELECT 1")
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
        pool.putconn(conn)
        assert conn.cursor_factory is None  # restored on return
        # a connection's own cursor class is kept (and can fail too)
        conn = pool.getconn()
        conn.cursor_factory = psycopg2.extras.RealDictCursor
        pool.putconn(conn)
        conn = pool.getconn()
        tracker.fault_injector(statements=1)
        cur = conn.cursor()
        assert isinstance(cur, psycopg2.extras.RealDictCursor)
        with pytest.raises(psycopg2.OperationalError):
            cur.execute("SELECT 1 AS one")
        cur.execute("SELECT 1 AS one")
        assert cur.fetchone() == {"one": 1}
        conn.rollback()
        pool.putconn(conn)
        with pytest.raises(ValueError, match="cannot fail commits"):
            tracker.fault_injector(commits=1)
        # connects: the pool opens a new connection for a second borrower
        first = pool.getconn()
        tracker.fault_injector(connects=1)
        with pytest.raises(psycopg2.OperationalError, match="injected fault: connect"):
            pool.getconn()
        pool.putconn(first)
        tracker.assert_no_leaks()
    finally:
        tracker.detach()
        pool.closeall()


def test_psycopg_pool_faults(pg_dsn: str) -> None:
    import psycopg
    import psycopg_pool

    pool = psycopg_pool.ConnectionPool(pg_dsn, min_size=1, max_size=2, open=True)
    tracker = track(pool)
    try:
        tracker.fault_injector(statements=2)
        with pool.connection() as conn:
            with pytest.raises(psycopg.OperationalError, match="injected fault: statement"):
                conn.execute("SELECT 1")
            conn.rollback()
            with pytest.raises(psycopg.OperationalError):
                conn.cursor().execute("SELECT 1")
            conn.rollback()
            assert conn.execute("SELECT 1").fetchone() == (1,)
        tracker.fault_injector(commits=1)
        expected = "injected fault: commit"
        with pytest.raises(psycopg.OperationalError, match=expected), pool.connection() as conn:
            conn.execute("SELECT 1")
        with pool.connection() as conn:
            assert "commit" in vars(conn) and issubclass(conn.cursor_factory, psycopg.Cursor)
        # returned: the connection is left as the pool gave it
        assert "commit" not in vars(conn) and conn.cursor_factory is psycopg.Cursor
        tracker.assert_no_leaks()
        assert tracker.stats().returns_bad == 1  # returned after the failed commit
    finally:
        tracker.detach()
        pool.close()


def test_fault_scope_shares_one_count_across_pools() -> None:
    first, second = sqlite_pool(0, 1), sqlite_pool(0, 1)
    scope = FaultScope(lambda: [first.fault_injector, second.fault_injector])
    try:
        faults = scope(statements=1)
        a, b = first.getconn(), second.getconn()
        with pytest.raises(Exception, match="injected fault"):
            b.cursor().execute("SELECT 1")
        a.cursor().execute("SELECT 1")  # the one fault has fired
        assert faults.fired == 1 and faults.remaining == 0
        scope(statements=1)
        scope.close()  # cancels the unfired plan everywhere
        a.cursor().execute("SELECT 1")
        b.cursor().execute("SELECT 1")
        first.putconn(a)
        second.putconn(b)
    finally:
        first.closeall()
        second.closeall()


FIXTURE_EVERYWHERE = """
import pytest
import sqlalchemy
from sqlalchemy.exc import OperationalError
from poolsafe.runtime import track

ENGINE = sqlalchemy.create_engine("sqlite://")
TRACKER = track(ENGINE)

def test_module_level_engine(poolsafe_faults):
    poolsafe_faults(statements=1)
    with pytest.raises(OperationalError), ENGINE.connect() as conn:
        conn.exec_driver_sql("SELECT 1")

def test_engine_tracked_after_arming(tmp_path, poolsafe_faults):
    poolsafe_faults(statements=1)
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    track(engine)
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    engine.dispose()

def test_reference_pool(poolsafe_pool, poolsafe_faults):
    poolsafe_faults(commits=1)
    with pytest.raises(Exception, match="injected fault: commit"):
        with poolsafe_pool.connection() as conn:
            conn.execute("SELECT 1")
    assert poolsafe_pool.stats().in_use == 0

def test_faults_end_with_the_test():
    assert not TRACKER.fault_injector.active
    with ENGINE.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
"""


def test_poolsafe_faults_arms_every_pool(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_everywhere=FIXTURE_EVERYWHERE)
    pytester.runpytest("--poolsafe", "-p", "no:cacheprovider").assert_outcomes(passed=4)


PSYCOPG_POOLS = """
import psycopg
import psycopg2
import psycopg2.pool
import psycopg_pool
import pytest
from poolsafe.runtime import track

DSN = {dsn!r}

def test_psycopg2_pool(poolsafe_faults):
    pool = psycopg2.pool.ThreadedConnectionPool(0, 2, DSN)
    track(pool)
    poolsafe_faults(statements=1, commits=1)   # psycopg2 pools cannot fail commits
    conn = pool.getconn()
    with pytest.raises(psycopg2.OperationalError, match="injected fault"):
        conn.cursor().execute("SELECT 1")
    conn.rollback()
    conn.commit()
    pool.putconn(conn)
    pool.closeall()

def test_psycopg_pool(poolsafe_faults):
    poolsafe_faults(commits=1)
    pool = psycopg_pool.ConnectionPool(DSN, min_size=0, max_size=2, open=True)
    track(pool)
    with pytest.raises(psycopg.OperationalError, match="injected fault: commit"):
        with pool.connection() as conn:
            conn.execute("SELECT 1")
    pool.close()
"""


def test_poolsafe_faults_reaches_psycopg_pools(pytester: pytest.Pytester, pg_dsn: str) -> None:
    pytest.importorskip("psycopg_pool")
    pytester.makepyfile(test_psycopg_pools=PSYCOPG_POOLS.format(dsn=pg_dsn))
    pytester.runpytest("--poolsafe", "-p", "no:cacheprovider").assert_outcomes(passed=2)

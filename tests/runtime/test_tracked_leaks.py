"""A checkout garbage-collected before it was returned is a leak of a tracked
pool: ``stats().leaked``, ``assert_no_leaks()`` and the pytest plugin (with and
without ``--poolsafe``) report it, even when the pool took the connection back."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from poolsafe.runtime import LeakError, track

sqlalchemy = pytest.importorskip("sqlalchemy")


def _leak_a_connection(engine: Any) -> None:
    conn = engine.connect()  # never closed: dropped when the function returns
    conn.exec_driver_sql("SELECT 1")


def test_collected_sqlalchemy_checkout_is_a_leak(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    tracker = track(engine)
    try:
        _leak_a_connection(engine)
        gc.collect()  # SQLAlchemy's connection sits in a reference cycle
        stats = tracker.stats()
        assert (stats.checkouts, stats.returns, stats.in_use, stats.leaked) == (1, 0, 0, 1)
        # SQLAlchemy took the connection back: its pool alone shows nothing
        assert engine.pool.checkedout() == 0
        with pytest.raises(LeakError) as info:
            tracker.assert_no_leaks()
        message = str(info.value)
        assert "garbage-collected while checked out" in message
        assert "test_tracked_leaks.py:19 in _leak_a_connection" in message
        assert "conn = engine.connect()" in message
        [holder] = tracker.leaks()
        assert holder.state == "garbage-collected while checked out"
    finally:
        tracker.detach()
        engine.dispose()


def test_assert_no_leaks_collects_before_it_reports(tmp_path: Path) -> None:
    """Without an explicit gc.collect() the dropped connection is still "out";
    assert_no_leaks() runs the collector and names it as collected."""
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    tracker = track(engine)
    try:
        gc.disable()
        try:
            _leak_a_connection(engine)
            expected = r"(?s)1 connection.*:19 in _leak_a_connection .garbage-collected"
            with pytest.raises(LeakError, match=expected):
                tracker.assert_no_leaks()
        finally:
            gc.enable()
    finally:
        tracker.detach()
        engine.dispose()


def test_returned_connections_are_not_leaks(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    tracker = track(engine)
    try:
        for _ in range(3):
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        gc.collect()
        tracker.assert_no_leaks()
        assert tracker.stats().as_dict() == {
            "checkouts": 3, "returns": 3, "in_use": 0, "max_in_use": 1,
            "returns_bad": 0, "leaked": 0,
        }
    finally:
        tracker.detach()
        engine.dispose()


def test_a_detached_connection_is_not_a_leak(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    tracker = track(engine)
    try:
        conn = engine.connect()
        conn.detach()  # leaves the pool: its borrower owns it
        conn.close()
        del conn
        gc.collect()
        tracker.assert_no_leaks()
        assert tracker.stats().leaked == 0
    finally:
        tracker.detach()
        engine.dispose()


def test_collected_psycopg_pool_checkout_is_a_leak(pg_dsn: str) -> None:
    psycopg_pool = pytest.importorskip("psycopg_pool")
    pool = psycopg_pool.ConnectionPool(pg_dsn, min_size=0, max_size=2, open=True)
    tracker = track(pool)
    try:
        pool.getconn()  # dropped at once; psycopg_pool never gets it back
        assert tracker.stats().leaked == 1
        with pytest.raises(LeakError, match=r"(?s)test_tracked_leaks.py:\d+.*garbage-collected"):
            tracker.assert_no_leaks()
    finally:
        tracker.detach()
        pool.close()


def test_dropped_psycopg2_connection_stays_checked_out(pg_dsn: str) -> None:
    """psycopg2's pool keeps a reference to every checked-out connection: a
    dropped one is never collected and stays a holder."""
    psycopg2_pool = pytest.importorskip("psycopg2.pool")
    pool = psycopg2_pool.SimpleConnectionPool(0, 2, pg_dsn)
    tracker = track(pool)
    try:
        pool.getconn()
        stats = tracker.stats()
        assert (stats.in_use, stats.leaked) == (1, 0)
        expected = r"(?s)held by thread.*test_tracked_leaks.py:\d+ in test_dropped"
        with pytest.raises(LeakError, match=expected):
            tracker.assert_no_leaks()
    finally:
        tracker.detach()
        pool.closeall()


GC_LEAKS = """
import gc
import sqlalchemy
from poolsafe.runtime import track

def leaky_report(engine):
    conn = engine.connect()
    conn.exec_driver_sql("SELECT 1")   # never closed

def leaky_pool_user(pool):
    pool.getconn()                      # never returned

def test_pool_checkout_collected(poolsafe_pool):
    leaky_pool_user(poolsafe_pool)
    assert poolsafe_pool.stats().in_use == 0   # the pool took the slot back

def test_engine_checkout_collected(tmp_path, poolsafe_faults):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    tracker = track(engine)
    leaky_report(engine)
    gc.collect()
    assert engine.pool.checkedout() == 0       # SQLAlchemy took it back too
"""


@pytest.mark.parametrize("flags", [(), ("--poolsafe",)], ids=["without-flag", "poolsafe"])
def test_plugin_fails_a_test_whose_checkout_was_collected(
    pytester: pytest.Pytester, flags: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_gc_leaks=GC_LEAKS)
    result = pytester.runpytest(*flags, "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*garbage-collected while checked out*aken at test_gc_leaks.py:10 in leaky_pool_user*",
            "*garbage-collected while checked out*aken at test_gc_leaks.py:6 in leaky_report*",
        ],
        consecutive=False,
    )


def test_plugin_without_flag_ignores_tests_without_its_fixtures(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_plain="""
        import gc
        import sqlalchemy
        from poolsafe.runtime import track

        def test_forgets(tmp_path):
            engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'p.db'}")
            tracker = track(engine)
            engine.connect()
            gc.collect()
            assert tracker.stats().leaked == 1
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

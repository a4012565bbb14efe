"""A tracked pool that runs dry is kept for the runtime report with its holders,
as the reference pool's ``PoolExhausted``/``PoolTimeout`` are (issue #34):
SQLAlchemy's ``QueuePool limit ... reached``, psycopg2's ``connection pool
exhausted`` and psycopg_pool's ``PoolTimeout``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from poolsafe.runtime import track, tracking

sqlalchemy = pytest.importorskip("sqlalchemy")


def _last_error_since(phase: int) -> tracking.PoolErrorEvent:
    errors = tracking.pool_errors_since(phase)
    assert errors, "no pool error recorded"
    return errors[-1]


def _hold(engine: Any) -> Any:
    return engine.connect()  # the holder the error must name


def test_queuepool_limit_reached_is_kept_with_its_holder(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(
        f"sqlite:///{tmp_path / 'q.db'}", poolclass=sqlalchemy.pool.QueuePool,
        pool_size=1, max_overflow=0, pool_timeout=0.05,
    )
    tracker = track(engine, name="reports")
    phase = tracking.new_phase()
    held = _hold(engine)
    try:
        with pytest.raises(sqlalchemy.exc.TimeoutError):
            engine.connect()
        error = _last_error_since(phase)
        assert (error.kind, error.pool) == ("timeout", "reports")
        assert error.message.startswith("QueuePool limit of size 1 overflow 0 reached")
        [holder] = error.holders()
        assert "in _hold" in holder.site
    finally:
        held.close()
        tracker.detach()
        engine.dispose()
    assert "_do_get" not in vars(engine.pool)  # detach removed the wrapper


def test_a_pool_that_never_runs_dry_records_nothing(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'f.db'}")
    tracker = track(engine)
    phase = tracking.new_phase()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert tracking.pool_errors_since(phase) == []
    finally:
        tracker.detach()
        engine.dispose()


def test_psycopg2_pool_exhausted_is_kept(pg_dsn: str) -> None:
    psycopg2_pool = pytest.importorskip("psycopg2.pool")
    pool = psycopg2_pool.SimpleConnectionPool(0, 1, pg_dsn)
    tracker = track(pool, name="pg")
    phase = tracking.new_phase()
    conn = pool.getconn()
    try:
        with pytest.raises(psycopg2_pool.PoolError):
            pool.getconn()
        error = _last_error_since(phase)
        assert (error.kind, error.pool, error.message) == (
            "exhausted", "pg", "connection pool exhausted")
        assert len(error.holders()) == 1
    finally:
        pool.putconn(conn)
        tracker.detach()
        pool.closeall()


BURST = """
import sqlalchemy

engine = sqlalchemy.create_engine(
    "sqlite:///burst.db", poolclass=sqlalchemy.pool.QueuePool,
    pool_size=1, max_overflow=0, pool_timeout=0.05)
KEPT = []

def keep_one():
    KEPT.append(engine.connect())       # never closed

def test_keeps_a_connection():
    keep_one()

def test_needs_one():
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
"""


def test_the_plugin_report_carries_a_tracked_pools_timeout(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_burst=BURST)
    report = pytester.path / "rt.json"
    result = pytester.runpytest("--poolsafe", "--poolsafe-report", str(report),
                                "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    (error,) = json.loads(report.read_text())["pool_errors"]
    assert (error["test"], error["kind"], error["pool"]) == (
        "test_burst.py::test_needs_one", "timeout", "test_burst.engine")
    [holder] = error["holders"]
    assert holder["test"] == "test_burst.py::test_keeps_a_connection"
    assert holder["frames"][0]["function"] == "keep_one"

"""``track()`` is idempotent per pool, and the pytest plugin detaches trackers
made during a test when the test ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.runtime import track
from poolsafe.runtime.track import live_trackers

sqlalchemy = pytest.importorskip("sqlalchemy")


def test_tracking_the_same_pool_returns_the_same_tracker(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    tracker = track(engine)
    try:
        assert track(engine) is tracker
        assert track(engine.pool) is tracker
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert tracker.stats().checkouts == 1  # one set of hooks, one count
    finally:
        tracker.detach()
    again = track(engine)
    assert again is not tracker and tracker not in live_trackers()
    with engine.connect():
        pass
    assert (tracker.stats().checkouts, again.stats().checkouts) == (1, 1)
    again.detach()
    again.detach()  # idempotent
    engine.dispose()


def test_psycopg2_pool_tracked_twice(pg_dsn: str) -> None:
    import psycopg2.pool

    pool = psycopg2.pool.SimpleConnectionPool(0, 1, pg_dsn)
    tracker = track(pool)
    try:
        assert track(pool) is tracker
        pool.putconn(pool.getconn())
        assert tracker.stats().checkouts == 1
    finally:
        tracker.detach()
        pool.closeall()
    assert "getconn" not in vars(pool)  # the hooks are gone


THREE_TESTS = """
import sqlalchemy
from poolsafe.runtime import track
from poolsafe.runtime.track import live_trackers

ENGINE = sqlalchemy.create_engine("sqlite://")
KEEP = []

def test_one():
    track(ENGINE)
    with ENGINE.connect():
        pass

def test_two():
    track(ENGINE)
    assert len([t for t in live_trackers() if t.target is ENGINE]) == 1

def test_three():
    track(ENGINE)
    KEEP.append(ENGINE.connect())
"""


def test_one_leak_is_reported_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_three=THREE_TESTS)
    result = pytester.runpytest("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    # the failure's report, not pytest's one-line summary of it (which repeats the
    # message when the terminal is wide enough)
    report = result.stdout.str().split("short test summary info")[0]
    assert report.count("still checked out: connection") == 1


SCOPES = """
import pytest
import sqlalchemy
from poolsafe.runtime import track

ENGINE = sqlalchemy.create_engine("sqlite://")
MODULE_TRACKER = track(ENGINE)
SEEN = {}

@pytest.fixture(scope="session")
def session_tracker():
    engine = sqlalchemy.create_engine("sqlite://")
    return track(engine)

def test_first(session_tracker):
    # (an engine of the test's own: with --poolsafe the engines in module globals
    # are tracked by the plugin for the whole session)
    SEEN["test"] = track(sqlalchemy.create_engine("sqlite://"))
    assert track(ENGINE) is MODULE_TRACKER

def test_second(session_tracker):
    assert SEEN["test"].detached             # made by the test: detached
    assert not session_tracker.detached      # made by a session fixture: kept
    assert not MODULE_TRACKER.detached       # made at import: kept
    assert track(session_tracker.target) is session_tracker
"""


@pytest.mark.parametrize("flags", [(), ("--poolsafe",)], ids=["without-flag", "poolsafe"])
def test_trackers_of_a_test_are_detached_when_it_ends(
    pytester: pytest.Pytester, flags: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_scopes=SCOPES)
    pytester.runpytest(*flags, "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_an_engine_keeps_its_tracker_after_dispose(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    tracker = track(engine)
    try:
        engine.dispose()  # a new pool, with the old one's listeners
        assert track(engine) is tracker
        with engine.connect():
            pass
        assert tracker.stats().checkouts == 1
    finally:
        tracker.detach()
        engine.dispose()


def test_async_psycopg_pools_are_refused() -> None:
    psycopg_pool = pytest.importorskip("psycopg_pool")
    pool = psycopg_pool.AsyncConnectionPool("dbname=test", open=False)
    with pytest.raises(TypeError, match="not its async pools"):
        track(pool)


def test_a_subclass_of_a_library_pool_is_tracked(pg_dsn: str) -> None:
    import psycopg2.pool

    from poolsafe.runtime import pool_health

    class AppPool(psycopg2.pool.ThreadedConnectionPool):  # defined in the application
        pass

    pool = AppPool(0, 2, pg_dsn)
    tracker = track(pool)
    try:
        conn = pool.getconn()
        assert tracker.stats().in_use == 1
        assert pool_health(pool)["in_use"] == 1
        pool.putconn(conn)
    finally:
        tracker.detach()
        pool.closeall()

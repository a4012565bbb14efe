"""``track()`` and ``pool_health()`` for peewee databases, and the pytest plugin
watching playhouse's pooled databases without being told (issue #33)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from poolsafe.runtime import LeakError, pool_health, track

peewee = pytest.importorskip("peewee")
playhouse_pool = pytest.importorskip("playhouse.pool")


@pytest.fixture
def pooled(tmp_path: Path) -> Any:
    database = playhouse_pool.PooledSqliteDatabase(
        str(tmp_path / "pw.db"), max_connections=2, check_same_thread=False
    )
    yield database
    database.close_all()


def _in_a_thread(work: Any) -> None:
    thread = threading.Thread(target=work, name="worker-1")
    thread.start()
    thread.join(10)
    assert not thread.is_alive()


def _query_and_forget(database: Any) -> None:
    database.execute_sql("SELECT 1")  # autoconnect: opened, never closed


def test_a_thread_that_never_closes_holds_a_slot(pooled: Any) -> None:
    tracker = track(pooled, name="pw")
    try:
        _in_a_thread(lambda: _query_and_forget(pooled))
        [holder] = tracker.holders()
        assert holder.thread == "worker-1"
        assert "in _query_and_forget" in holder.site
        assert len(pooled._in_use) == 1  # the pool agrees: one slot gone
        with pytest.raises(LeakError, match=r"1 connection\(s\) of pw leaked"):
            tracker.assert_no_leaks()
    finally:
        tracker.detach()


def test_closed_and_context_managed_connections_are_returned(pooled: Any) -> None:
    tracker = track(pooled)
    try:
        def work() -> None:
            with pooled.connection_context():
                pooled.execute_sql("SELECT 1")
            pooled.connect()
            pooled.execute_sql("SELECT 2")
            pooled.close()

        _in_a_thread(work)
        tracker.assert_no_leaks()
        stats = tracker.stats()
        assert (stats.checkouts, stats.returns, stats.in_use) == (2, 2, 0)
    finally:
        tracker.detach()


def test_faults_fail_statements_commits_and_connects(pooled: Any) -> None:
    tracker = track(pooled)
    try:
        tracker.fault_injector(connects=1)
        with pytest.raises(peewee.OperationalError), pooled.connection_context():
            pass
        tracker.fault_injector(statements=1, match="select 2")
        with pooled.connection_context():
            pooled.execute_sql("SELECT 1")
            with pytest.raises(peewee.OperationalError):
                pooled.execute_sql("SELECT 2")
        tracker.fault_injector(commits=1)
        with pooled.connection_context(), pytest.raises(peewee.OperationalError):
            pooled.commit()
        assert tracker.stats().in_use == 0
    finally:
        tracker.detach()


def test_detach_removes_every_hook(pooled: Any) -> None:
    tracker = track(pooled)
    assert track(pooled) is tracker
    tracker.detach()
    assert not {"_connect", "_close", "execute_sql", "commit"} & set(vars(pooled))
    with pooled.connection_context():
        pooled.execute_sql("SELECT 1")
    assert tracker.stats().checkouts == 0


def test_pool_health_reads_a_pooled_database(pooled: Any) -> None:
    pooled.connect()
    try:
        health = pool_health(pooled)
        assert (health["in_use"], health["max"], health["usage_percent"]) == (1, 2, 50.0)
        assert health["pool"].startswith("peewee:")
    finally:
        pooled.close()
    assert pool_health(pooled, probe=True)["status"] == "healthy"


def test_pool_health_of_an_unpooled_database_needs_its_tracker(tmp_path: Path) -> None:
    database = peewee.SqliteDatabase(str(tmp_path / "plain.db"))
    with pytest.raises(TypeError, match="track"):
        pool_health(database)
    tracker = track(database)
    try:
        database.connect()
        health = pool_health(tracker)
        assert (health["in_use"], health["max"]) == (1, None)
        database.close()
        assert pool_health(tracker)["in_use"] == 0
    finally:
        tracker.detach()


APP = """
import threading
from playhouse.pool import PooledSqliteDatabase

db = PooledSqliteDatabase("app.db", max_connections=4, check_same_thread=False)

def report_in_background():
    def work():
        db.execute_sql("SELECT 1")          # no db.close(): the slot stays taken
    t = threading.Thread(target=work)
    t.start()
    t.join()

def report_and_close():
    def work():
        with db.connection_context():
            db.execute_sql("SELECT 1")
    t = threading.Thread(target=work)
    t.start()
    t.join()
"""

TESTS = """
import app

def test_leaks_a_slot():
    app.report_in_background()

def test_returns_it():
    app.report_and_close()
"""


def test_plugin_watches_a_pooled_database_in_the_application(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP, test_app=TESTS)
    result = pytester.runpytest_subprocess("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_leaks_a_slot*",
            "*still checked out*app.py:8 in work*",
            "*poolsafe: watched 1 pool: app.db (peewee PooledSqliteDatabase)*",
        ],
        consecutive=False,
    )

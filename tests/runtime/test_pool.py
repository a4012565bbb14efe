"""ConnectionPool on SQLite: the psycopg2-compatible API, tracking and return policy."""

from __future__ import annotations

import gc
import logging
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from poolsafe.runtime import ConnectionPool, LeakError, PoolError, PoolTimeout


@pytest.fixture
def db(tmp_path: Path) -> str:
    dsn = str(tmp_path / "test.db")
    pool = ConnectionPool(0, 1, dsn, connect=sqlite3.connect)
    with pool.connection() as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    pool.closeall()
    return dsn


@pytest.fixture
def pool(db: str):
    pool = ConnectionPool(1, 2, db, connect=sqlite3.connect)
    yield pool
    if not pool.closed:
        pool.closeall()


def count_rows(dsn: str) -> int:
    conn = sqlite3.connect(dsn)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        conn.close()


def test_getconn_hands_out_the_driver_connection_itself(pool: ConnectionPool) -> None:
    conn = pool.getconn()
    assert isinstance(conn, sqlite3.Connection)
    pool.putconn(conn)
    again = pool.getconn()
    assert again is conn
    pool.putconn(again)
    stats = pool.stats()
    assert (stats.size, stats.available, stats.in_use, stats.requests) == (1, 1, 0, 2)
    assert stats.connects == 1


def test_exhausted_error_names_every_holder(pool: ConnectionPool) -> None:
    first = pool.getconn()
    line_a = sys._getframe().f_lineno - 1
    second = pool.getconn()
    with pytest.raises(PoolError) as info:
        pool.getconn()
    message = str(info.value)
    assert message.startswith("connection pool exhausted (2 of 2 in use):")
    assert f"test_pool.py:{line_a} in test_exhausted_error_names_every_holder" in message
    assert f"test_pool.py:{line_a + 2} in " in message
    assert "held by thread 'MainThread'" in message
    assert pool.stats().exhausted == 1
    pool.putconn(first)
    pool.putconn(second)


def test_holders_report_thread_site_and_age(pool: ConnectionPool) -> None:
    taken: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: taken.append(pool.getconn()), name="worker-7")
    worker.start()
    worker.join()
    time.sleep(0.02)
    (holder,) = pool.holders()
    assert holder.thread == "worker-7"
    assert holder.site.startswith("tests/runtime/test_pool.py:") or "test_pool.py:" in holder.site
    assert "<lambda>" in holder.site
    assert holder.age >= 0.02
    assert holder.state == "checked out"
    assert "taken.append(pool.getconn())" in holder.stack
    pool.putconn(taken[0])
    assert pool.holders() == []


def test_unkeyed_and_closed_errors(pool: ConnectionPool) -> None:
    conn = pool.getconn()
    pool.putconn(conn)
    with pytest.raises(PoolError, match=r"^trying to put unkeyed connection$"):
        pool.putconn(conn)
    with pytest.raises(PoolError, match=r"^trying to put unkeyed connection$"):
        pool.putconn(sqlite3.connect(":memory:"))
    pool.closeall()
    with pytest.raises(PoolError, match=r"^connection pool is closed$"):
        pool.getconn()
    with pytest.raises(PoolError, match=r"^connection pool is closed$"):
        pool.putconn(conn)
    with pytest.raises(PoolError, match=r"^connection pool is closed$"):
        pool.closeall()


def test_keyed_getconn_returns_the_same_connection(pool: ConnectionPool) -> None:
    a = pool.getconn("job")
    assert pool.getconn("job") is a
    b = pool.getconn("other")
    assert b is not a
    pool.putconn(a, key="job")
    pool.putconn(b)
    assert pool.stats().in_use == 0


def test_timeout_waits_for_a_returned_connection(pool: ConnectionPool) -> None:
    held = [pool.getconn(), pool.getconn()]
    timer = threading.Timer(0.1, pool.putconn, args=(held.pop(),))
    timer.start()
    started = time.monotonic()
    conn = pool.getconn(timeout=2.0)
    assert 0.05 < time.monotonic() - started < 1.5
    pool.putconn(conn)
    pool.putconn(held.pop())
    timer.join()


def test_timeout_error_message_and_counter(db: str) -> None:
    pool = ConnectionPool(0, 1, db, connect=sqlite3.connect, timeout=0.05)
    held = pool.getconn()
    with pytest.raises(PoolTimeout) as info:
        pool.getconn()
    assert str(info.value).startswith("connection pool exhausted: timed out after ")
    assert "waiting for a connection, none returned for the last 0.05 s (1 of 1 in use):" in str(
        info.value
    )
    assert "test_pool.py:" in str(info.value)
    assert isinstance(info.value, PoolError)
    stats = pool.stats()
    assert (stats.timeouts, stats.waiting) == (1, 0)
    pool.putconn(held)
    pool.closeall()


def test_connection_context_commits_or_rolls_back(pool: ConnectionPool, db: str) -> None:
    with pool.connection() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    assert count_rows(db) == 1
    with pytest.raises(ZeroDivisionError), pool.connection() as conn:
        conn.execute("INSERT INTO t VALUES (2)")
        raise ZeroDivisionError
    assert count_rows(db) == 1
    stats = pool.stats()
    assert (stats.in_use, stats.returns_bad) == (0, 0)


def test_with_conn_commits_but_does_not_close(pool: ConnectionPool, db: str) -> None:
    conn = pool.getconn()
    with conn:
        conn.cursor().execute("INSERT INTO t VALUES (5)")
    assert count_rows(db) == 1
    assert conn.execute("SELECT 1").fetchone() == (1,)
    pool.putconn(conn)


def test_return_inside_transaction_is_rolled_back_and_counted(
    pool: ConnectionPool, db: str
) -> None:
    conn = pool.getconn()
    conn.cursor().execute("INSERT INTO t VALUES (3)")
    assert conn.in_transaction
    pool.putconn(conn)
    assert not conn.in_transaction
    assert count_rows(db) == 0
    assert pool.stats().returns_bad == 1


def test_close_instead_of_putconn_leaks_the_slot_like_psycopg2(pool: ConnectionPool) -> None:
    kept = [pool.getconn() for _ in range(2)]
    for conn in kept:
        conn.close()
    with pytest.raises(PoolError, match="connection pool exhausted") as info:
        pool.getconn()
    assert "[closed without putconn()]" in str(info.value)
    stats = pool.stats()
    assert (stats.in_use, stats.closed_by_borrower) == (2, 2)
    assert pool.stats().in_use == 2  # the slot stays in use until putconn(), as in psycopg2


def test_putconn_after_close_discards_and_frees_the_slot(pool: ConnectionPool) -> None:
    conn = pool.getconn()
    conn.close()
    pool.putconn(conn)
    stats = pool.stats()
    assert (stats.in_use, stats.size) == (0, 0)
    fresh = pool.getconn()
    assert fresh.execute("SELECT 1").fetchone() == (1,)
    pool.putconn(fresh)


def test_garbage_collected_connection_is_reported_and_recovered(
    pool: ConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    def forgetful() -> None:
        pool.getconn()

    with caplog.at_level(logging.WARNING, logger="poolsafe.runtime"):
        forgetful()
        gc.collect()  # (a sqlite3 connection sits in a cycle with its statement cache)
        stats = pool.stats()
    assert (stats.in_use, stats.leaked) == (0, 1)
    assert "garbage-collected while checked out" in caplog.text
    assert "in forgetful" in caplog.text
    with pytest.raises(LeakError, match=r"(?s)garbage-collected while checked out.*in forgetful"):
        pool.assert_no_leaks()
    (leak,) = pool.leaks()
    assert "pool.getconn()" in leak.stack


def test_leak_threshold_logs_and_logs_the_late_return(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = ConnectionPool(0, 2, db, connect=sqlite3.connect, leak_threshold=30)
    conn = pool.getconn()
    with caplog.at_level(logging.INFO, logger="poolsafe.runtime"):
        assert pool.check_leaks() == []
        assert len(pool.check_leaks(now=time.monotonic() + 31)) == 1
        assert pool.check_leaks(now=time.monotonic() + 40) == []  # reported once
        pool.putconn(conn)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("Connection leak detection triggered for connection")
    assert "test_leak_threshold_logs_and_logs_the_late_return" in messages[0]
    assert "conn = pool.getconn()" in messages[0]
    assert messages[1].startswith("Previously reported leaked connection")
    assert "was returned" in messages[1]
    assert pool.stats().leaks_reported == 1
    pool.closeall()


def test_leak_threshold_background_watcher(db: str, caplog: pytest.LogCaptureFixture) -> None:
    pool = ConnectionPool(0, 1, db, connect=sqlite3.connect, leak_threshold=0.05)
    with caplog.at_level(logging.WARNING, logger="poolsafe.runtime"):
        conn = pool.getconn()
        deadline = time.monotonic() + 10
        # the watcher counts the leak, then logs it: wait for the record itself, inside
        # the capture, or a loaded machine can end the capture between the two
        while ("Connection leak detection triggered" not in caplog.text
               and time.monotonic() < deadline):
            time.sleep(0.01)
    assert pool.stats().leaks_reported == 1
    assert "Connection leak detection triggered" in caplog.text
    pool.putconn(conn)
    pool.closeall()


def test_stack_line_numbers_are_exact(pool: ConnectionPool) -> None:
    import inspect

    frame = inspect.currentframe()
    assert frame is not None
    conn = pool.getconn(); line = frame.f_lineno  # noqa: E702
    site = pool.holders()[0].site
    assert site.endswith(f"test_pool.py:{line} in test_stack_line_numbers_are_exact")
    pool.putconn(conn)


def test_assert_no_leaks(pool: ConnectionPool) -> None:
    pool.assert_no_leaks()
    conn = pool.getconn()
    with pytest.raises(LeakError, match=r"1 connection\(s\) of .* still checked out"):
        pool.assert_no_leaks()
    pool.putconn(conn)


def test_memory_database_is_shared_by_the_pool() -> None:
    pool = ConnectionPool(0, 2, ":memory:", connect=sqlite3.connect)
    a = pool.getconn()
    a.execute("CREATE TABLE m (x)")
    a.commit()
    b = pool.getconn()
    assert b.execute("SELECT count(*) FROM m").fetchone() == (0,)
    pool.putconn(a)
    pool.putconn(b)
    pool.closeall()


def test_threads_share_the_pool_without_losing_connections(db: str) -> None:
    pool = ConnectionPool(1, 3, db, connect=sqlite3.connect, timeout=5)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                with pool.connection() as conn:
                    conn.execute("SELECT 1").fetchall()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = pool.stats()
    assert stats.in_use == 0
    assert stats.requests == 1600
    assert stats.size <= 3
    assert stats.available == stats.size
    pool.closeall()


def test_constructor_validation(db: str) -> None:
    with pytest.raises(ValueError, match="minconn=3, maxconn=2"):
        ConnectionPool(3, 2, db, connect=sqlite3.connect)
    with pytest.raises(ValueError):
        ConnectionPool(0, 0, db, connect=sqlite3.connect)


def test_connect_callable_detects_sqlite(db: str) -> None:
    pool = ConnectionPool(1, 1, connect=lambda: sqlite3.connect(db, check_same_thread=False))
    assert pool.driver == "sqlite"
    conn = pool.getconn()
    conn.execute("INSERT INTO t VALUES (1)")
    pool.putconn(conn)
    assert pool.stats().returns_bad == 1
    pool.closeall()


def test_connection_context_records_the_callers_site(pool: ConnectionPool) -> None:
    with pool.connection() as conn:
        (holder,) = pool.holders()
        assert "in test_connection_context_records_the_callers_site" in holder.site
        assert "__enter__" not in holder.stack  # the pool's own frames are skipped
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_stack_depth_bounds_the_captured_frames(db: str) -> None:
    def inner(pool: ConnectionPool) -> sqlite3.Connection:
        return pool.getconn()  # type: ignore[no-any-return]

    shallow = ConnectionPool(0, 1, db, connect=sqlite3.connect, stack_depth=2)
    conn = inner(shallow)
    (holder,) = shallow.holders()
    assert [code.co_name for code, _ in holder.frames] == [
        "inner",
        "test_stack_depth_bounds_the_captured_frames",
    ]
    assert "in inner" in holder.site
    shallow.putconn(conn)
    shallow.closeall()

    blind = ConnectionPool(0, 1, db, connect=sqlite3.connect, stack_depth=0)
    conn = blind.getconn()
    assert blind.holders()[0].site == "<unknown>"
    blind.putconn(conn)
    blind.closeall()


def test_returned_connections_are_not_reported_when_collected(
    pool: ConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="poolsafe.runtime"):
        for _ in range(50):
            pool.putconn(pool.getconn())
        gc.collect()
    assert pool.stats().leaked == 0
    assert caplog.records == []


def test_a_dropped_keyed_connection_stays_with_its_key(pool: ConnectionPool) -> None:
    """As in psycopg2: a keyed connection is the key's until putconn(key=) or
    closeall(); dropping it is a leak (still checked out), never a silent close."""
    first = pool.getconn("job")
    first.execute("INSERT INTO t VALUES (1)")  # a transaction in progress
    ident = id(first)
    del first
    gc.collect()
    again = pool.getconn("job")
    assert id(again) == ident and again.in_transaction
    (holder,) = pool.holders()
    assert holder.state == "checked out"  # ``again`` holds it
    del again
    (holder,) = pool.holders()
    assert holder.state == "dropped by its borrower, kept for key 'job'"
    with pytest.raises(LeakError, match=r"still checked out:\n.*dropped by its borrower"):
        pool.assert_no_leaks()
    other = pool.getconn()
    with pytest.raises(PoolError, match=r"kept for key 'job'\]"):
        pool.getconn()
    pool.putconn(other)
    pool.putconn(pool.getconn("job"), key="job")
    assert pool.stats().in_use == 0


def test_collected_in_a_reference_cycle(pool: ConnectionPool) -> None:
    class Holder:
        pass

    def forget() -> None:
        box = Holder()
        box.self = box  # type: ignore[attr-defined]
        box.conn = pool.getconn()  # type: ignore[attr-defined]

    forget()
    gc.collect()
    stats = pool.stats()
    assert (stats.in_use, stats.leaked) == (0, 1)


def test_default_records_only_the_borrowers_frame(db: str) -> None:
    def inner(pool: ConnectionPool) -> sqlite3.Connection:
        return pool.getconn()  # type: ignore[no-any-return]

    pool = ConnectionPool(0, 2, db, connect=sqlite3.connect)
    assert pool.stack_depth == 1
    conn = inner(pool)
    with pool.connection():
        first, second = pool.holders()
    assert [code.co_name for code, _ in first.frames] == ["inner"]
    assert [code.co_name for code, _ in second.frames] == [
        "test_default_records_only_the_borrowers_frame"
    ]
    assert "return pool.getconn()" in first.stack
    pool.putconn(conn)
    pool.closeall()


def test_set_default_stack_depth_reaches_live_pools(db: str) -> None:
    from poolsafe.runtime import default_stack_depth, set_default_stack_depth

    following = ConnectionPool(0, 1, db, connect=sqlite3.connect)
    explicit = ConnectionPool(0, 1, db, connect=sqlite3.connect, stack_depth=3)
    watched = ConnectionPool(0, 1, db, connect=sqlite3.connect, leak_threshold=60)
    assert (following.stack_depth, explicit.stack_depth, watched.stack_depth) == (1, 3, 16)
    previous = set_default_stack_depth(24)
    try:
        assert default_stack_depth() == 24
        assert (following.stack_depth, explicit.stack_depth, watched.stack_depth) == (24, 3, 24)
        assert ConnectionPool(0, 1, db, connect=sqlite3.connect).stack_depth == 24
        conn = following.getconn()
        assert len(following.holders()[0].frames) > 1
        following.putconn(conn)
    finally:
        set_default_stack_depth(previous)
    assert following.stack_depth == 1
    with pytest.raises(ValueError):
        set_default_stack_depth(-1)
    for pool in (following, explicit, watched):
        pool.closeall()


def test_stack_depth_environment_variable() -> None:
    import os
    import subprocess

    code = "from poolsafe.runtime import default_stack_depth; print(default_stack_depth())"
    env = dict(os.environ, POOLSAFE_STACK_DEPTH="7")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "7"


def test_dropped_connection_is_recovered_when_the_pool_runs_out(
    pool: ConnectionPool, caplog: pytest.LogCaptureFixture
) -> None:
    kept = pool.getconn()
    with caplog.at_level(logging.WARNING, logger="poolsafe.runtime"):
        pool.getconn()  # dropped at once: the pool now has no idle connection
        gc.collect()
        again = pool.getconn()  # would be "exhausted" without the recovery
    assert "garbage-collected while checked out" in caplog.text
    assert pool.stats().leaked == 1
    pool.putconn(again)
    pool.putconn(kept)


def test_a_cursor_keeps_its_connection_checked_out(pool: ConnectionPool) -> None:
    cursor = pool.getconn().cursor()
    gc.collect()
    stats = pool.stats()
    assert (stats.in_use, stats.leaked) == (1, 0)
    cursor.connection.rollback()
    pool.putconn(cursor.connection)
    assert pool.stats().in_use == 0


def test_closed_without_putconn_then_dropped_is_a_leak(pool: ConnectionPool) -> None:
    conn = pool.getconn()
    conn.close()
    assert pool.holders()[0].state == "closed without putconn()"
    del conn
    gc.collect()
    stats = pool.stats()
    assert (stats.in_use, stats.closed_by_borrower, stats.leaked) == (0, 0, 1)


def test_leak_watcher_recovers_dropped_connections(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = ConnectionPool(0, 1, db, connect=sqlite3.connect, leak_threshold=0.05)
    with caplog.at_level(logging.WARNING, logger="poolsafe.runtime"):
        pool.getconn()  # dropped at once; nothing else consults the pool
        gc.collect()
        deadline = time.monotonic() + 5
        while "garbage-collected" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "garbage-collected while checked out" in caplog.text
    assert pool.stats().leaked == 1
    pool.closeall()


def test_checkouts_carry_the_tracking_phase(pool: ConnectionPool) -> None:
    from poolsafe.runtime import tracking

    first = pool.getconn()
    phase = tracking.new_phase()
    second = pool.getconn()
    before, after = (h.seq for h in pool.holders())
    assert before < phase <= after
    pool.putconn(first)
    pool.putconn(second)


def _wait_for(condition: Any, what: str) -> None:
    """Poll until ``condition()`` (threads started by the test reach a state)."""
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_a_returned_connection_goes_to_the_longest_waiter(db: str) -> None:
    pool = ConnectionPool(0, 1, db, connect=sqlite3.connect)
    held = pool.getconn()
    order: list[str] = []
    release = {name: threading.Event() for name in ("first", "second")}

    def borrow(name: str) -> None:
        conn = pool.getconn(timeout=30)
        order.append(name)
        release[name].wait(30)
        pool.putconn(conn)

    first = threading.Thread(target=borrow, args=("first",))
    first.start()
    _wait_for(lambda: pool.stats().waiting == 1, "the first waiter")
    second = threading.Thread(target=borrow, args=("second",))
    second.start()
    _wait_for(lambda: pool.stats().waiting == 2, "the second waiter")
    pool.putconn(held)
    # handed over, not back on the shelf: the returning thread cannot take it again
    with pytest.raises(PoolError, match="connection pool exhausted"):
        pool.getconn()
    _wait_for(lambda: order == ["first"], "the first waiter to be served")
    release["first"].set()
    _wait_for(lambda: order == ["first", "second"], "the second waiter to be served")
    release["second"].set()
    first.join()
    second.join()
    stats = pool.stats()
    assert (stats.in_use, stats.waiting, stats.timeouts) == (0, 0, 0)
    pool.closeall()


def test_a_discarded_connection_lets_the_longest_waiter_open_one(db: str) -> None:
    pool = ConnectionPool(0, 1, db, connect=sqlite3.connect)
    held = pool.getconn()
    got: list[sqlite3.Connection] = []
    waiter = threading.Thread(target=lambda: got.append(pool.getconn(timeout=30)))
    waiter.start()
    _wait_for(lambda: pool.stats().waiting == 1, "the waiter")
    pool.putconn(held, close=True)
    waiter.join()
    assert got and got[0] is not held
    pool.putconn(got[0])
    assert pool.stats().connects == 2
    pool.closeall()


def test_a_connection_being_opened_counts_as_in_use(db: str) -> None:
    opening, proceed = threading.Event(), threading.Event()

    def slow_connect() -> sqlite3.Connection:
        opening.set()
        proceed.wait(30)
        return sqlite3.connect(db, check_same_thread=False)

    pool = ConnectionPool(0, 1, connect=slow_connect)
    got: list[Any] = []
    opener = threading.Thread(target=lambda: got.append(pool.getconn()))
    opener.start()
    opening.wait(30)
    with pytest.raises(PoolError) as info:
        pool.getconn()
    assert str(info.value).startswith(
        "connection pool exhausted (1 of 1 in use, 1 being opened or validated):"
    )
    assert pool.stats().in_use == 1
    proceed.set()
    opener.join()
    pool.putconn(got[0])
    pool.closeall()


def test_exhausted_error_is_formatted_when_read(pool: ConnectionPool) -> None:
    held = [pool.getconn(), pool.getconn()]
    with pytest.raises(PoolError) as info:
        pool.getconn()
    for conn in held:
        pool.putconn(conn)
    # read after the holders gave their connections back: the text names them still
    assert str(info.value).count("taken at") == 2
    assert info.value.args == ("connection pool exhausted",)


def test_a_timeout_counts_only_while_nothing_is_returned(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiter behind another one does not time out while connections keep coming
    back; it does once nothing came back for ``timeout`` seconds (a fake clock)."""
    from poolsafe.runtime import pool as pool_module

    clock = [1000.0]
    monkeypatch.setattr(pool_module, "_monotonic", lambda: clock[0])
    monkeypatch.setattr(pool_module, "_WAIT_SLICE", 0.005)
    pool = ConnectionPool(0, 1, db, connect=sqlite3.connect)
    held = pool.getconn()
    outcome: dict[str, Any] = {}

    def wait(name: str, timeout: float) -> None:
        try:
            outcome[name] = pool.getconn(timeout=timeout)
        except PoolTimeout as exc:
            outcome[name] = exc

    first = threading.Thread(target=wait, args=("first", 100.0))
    first.start()
    _wait_for(lambda: pool.stats().waiting == 1, "the first waiter")
    second = threading.Thread(target=wait, args=("second", 10.0))
    second.start()
    _wait_for(lambda: pool.stats().waiting == 2, "the second waiter")
    clock[0] += 8
    pool.putconn(held)  # to the first waiter; the second one's 10 s start again
    first.join(30)
    clock[0] += 7  # 15 s waiting, 7 s since a connection came back
    time.sleep(0.05)  # let the second waiter look at the clock a few times
    assert "second" not in outcome
    assert pool.stats().timeouts == 0
    clock[0] += 4  # 11 s since a connection came back
    second.join(30)
    assert not second.is_alive(), "the second waiter never timed out"
    assert isinstance(outcome["second"], PoolTimeout)
    assert str(outcome["second"]).startswith(
        "connection pool exhausted: timed out after 19.00 s waiting for a connection, "
        "none returned for the last 10.00 s (1 of 1 in use):"
    )
    assert pool.stats().timeouts == 1
    pool.putconn(outcome["first"])
    pool.closeall()

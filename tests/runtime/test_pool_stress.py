"""Bounded stress runs of the reference pool on PostgreSQL and MariaDB (loopback).

Threads share a few connections; every checkout checks that no other thread holds
the same connection. The plain run must end with no timeout, every connection
back and none lost; the hostile run adds injected statement faults and killed
server sessions, and must still end with every connection back, none shared and
none leaked. Counts and waits are bounded (a few hundred checkouts, 60 s joins).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from poolsafe.runtime import ConnectionPool

THREADS = 8
MAXCONN = 3
PER_THREAD = 40
KILLS = 4


@dataclass
class Run:
    """What the workers saw."""

    done: list[int] = field(default_factory=lambda: [0] * THREADS)
    shared: list[str] = field(default_factory=list)
    unexpected: list[BaseException] = field(default_factory=list)
    driver_errors: int = 0
    sessions: set[int] = field(default_factory=set)
    killed: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    owners: dict[int, int] = field(default_factory=dict)


def _work(pool: ConnectionPool, run: Run, index: int, session_id: Callable[[Any], int],
          driver_error: type[BaseException]) -> None:
    rng = random.Random(index)
    try:
        for _ in range(PER_THREAD):
            conn = pool.getconn(timeout=30)
            try:
                with run.lock:
                    owner = run.owners.get(id(conn))
                    if owner is not None:
                        run.shared.append(f"thread {index} got the connection of thread {owner}")
                    run.owners[id(conn)] = index
                try:
                    with run.lock:
                        run.sessions.add(session_id(conn))
                    cur = conn.cursor()
                    cur.execute("SELECT %s", (rng.randint(1, 1000),))
                    cur.fetchall()
                    conn.commit()
                except driver_error:
                    with run.lock:
                        run.driver_errors += 1
            finally:
                with run.lock:
                    run.owners.pop(id(conn), None)
                pool.putconn(conn)
            run.done[index] += 1
    except BaseException as exc:  # reported by the test
        run.unexpected.append(exc)


def _stress(pool: ConnectionPool, session_id: Callable[[Any], int],
            driver_error: type[BaseException], kill: Callable[[int], None] | None) -> Run:
    run = Run()
    workers = [
        threading.Thread(target=_work, args=(pool, run, i, session_id, driver_error))
        for i in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    if kill is not None:
        # kill sessions the workers use, one at a time, while they run
        while len(run.killed) < KILLS and any(w.is_alive() for w in workers):
            with run.lock:
                fresh = sorted(run.sessions - run.killed)
            if fresh:
                kill(fresh[0])
                run.killed.add(fresh[0])
            workers[0].join(0.01)
    for worker in workers:
        worker.join(60)
    assert not any(w.is_alive() for w in workers), "a worker did not finish within 60 s"
    return run


def _assert_clean(pool: ConnectionPool, run: Run) -> None:
    assert run.unexpected == []
    assert run.shared == []
    assert run.done == [PER_THREAD] * THREADS
    stats = pool.stats()
    assert (stats.in_use, stats.waiting, stats.leaked) == (0, 0, 0)
    assert stats.available == stats.size <= MAXCONN
    assert stats.requests == THREADS * PER_THREAD
    pool.assert_no_leaks()


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_kill(dsn: str) -> Callable[[int], None]:
    import psycopg2

    def kill(pid: int) -> None:
        conn = psycopg2.connect(dsn)
        try:
            conn.autocommit = True
            conn.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
        finally:
            conn.close()

    return kill


@pytest.mark.postgres
def test_pg_stress_no_faults(pg_dsn: str) -> None:
    import psycopg2

    pool = ConnectionPool(1, MAXCONN, pg_dsn)
    run = _stress(pool, lambda c: c.get_backend_pid(), psycopg2.Error, None)
    _assert_clean(pool, run)
    stats = pool.stats()
    assert (stats.timeouts, stats.discarded, run.driver_errors) == (0, 0, 0)
    assert stats.connects <= MAXCONN  # nothing was lost and reopened
    pool.closeall()


@pytest.mark.postgres
def test_pg_stress_with_faults_and_killed_sessions(pg_dsn: str) -> None:
    import psycopg2

    pool = ConnectionPool(1, MAXCONN, pg_dsn)
    with pool.faults(statements=10, after=5):
        run = _stress(pool, lambda c: c.get_backend_pid(), psycopg2.Error, _pg_kill(pg_dsn))
    _assert_clean(pool, run)
    assert run.driver_errors >= 10  # the injected faults, at least
    assert run.killed
    assert pool.stats().timeouts == 0
    pool.closeall()


# --- MariaDB ----------------------------------------------------------------------------------


def _mysql_kill(params: dict[str, Any]) -> Callable[[int], None]:
    import pymysql

    def kill(thread_id: int) -> None:
        conn = pymysql.connect(**params)
        try:
            conn.cursor().execute(f"KILL {int(thread_id)}")
        except pymysql.err.Error:
            pass  # already gone
        finally:
            conn.close()

    return kill


@pytest.mark.mysql
def test_mysql_stress_no_faults(mysql_params: dict[str, Any]) -> None:
    import pymysql

    pool = ConnectionPool(1, MAXCONN, connect=pymysql.connect, **mysql_params)
    run = _stress(pool, lambda c: c.thread_id(), pymysql.err.Error, None)
    _assert_clean(pool, run)
    stats = pool.stats()
    assert (stats.timeouts, stats.discarded, run.driver_errors) == (0, 0, 0)
    assert stats.connects <= MAXCONN
    pool.closeall()


@pytest.mark.mysql
def test_mysql_stress_with_faults_and_killed_sessions(mysql_params: dict[str, Any]) -> None:
    import pymysql

    pool = ConnectionPool(1, MAXCONN, connect=pymysql.connect, **mysql_params)
    with pool.faults(statements=10, after=5):
        run = _stress(pool, lambda c: c.thread_id(), pymysql.err.Error, _mysql_kill(mysql_params))
    _assert_clean(pool, run)
    assert run.driver_errors >= 10
    assert run.killed
    assert pool.stats().timeouts == 0
    pool.closeall()

"""The executed proof on real servers: generated functions, fixed, run before and
after against the reference pool over PostgreSQL (psycopg2) and MariaDB (pymysql).

The same generated shapes as `test_fixes_executed` run with the pool's faults at
each statement and each commit in turn (until a fault no longer fires), on tables of
their own (PostgreSQL schema / MariaDB database `poolsafe_fix_proof`): the same
returns and exceptions, the same rows in the tables, no connection left out after
the fix. Skipped without a server; with `POOLSAFE_REQUIRE_DB=1` a missing server
fails. `-s` prints what ran."""

from __future__ import annotations

import contextlib
import copy
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proof_recording import ARGUMENTS, shape
from test_fixes_executed import STEPS, _program

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.runtime import ConnectionPool
from poolsafe.runtime.drivers import mysql_params as parse_mysql_dsn
from poolsafe.scan.engine import ScanOptions

PG_DSN = os.environ.get(
    "POOLSAFE_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=3")
MYSQL_DSN = os.environ.get(
    "POOLSAFE_MYSQL_DSN", "mysql://root:@127.0.0.1:3306/test?connect_timeout=3")
PLACE = "poolsafe_fix_proof"
MAX_FAULTS = 12
COUNTS: Counter[str] = Counter()


def _unavailable(reason: str) -> None:
    if os.environ.get("POOLSAFE_REQUIRE_DB") == "1":
        pytest.fail(f"{reason} (POOLSAFE_REQUIRE_DB=1)")
    pytest.skip(reason)


class Server:
    """How to make a pool on one server, reset its tables and read them."""

    def __init__(self, name: str, admin: Callable[[], Any],
                 pool: Callable[[], ConnectionPool]) -> None:
        self.name = name
        self._admin = admin
        self.pool = pool

    def reset(self) -> None:
        conn = self._admin()
        try:
            cur = conn.cursor()
            if self.name == "postgresql":
                cur.execute("SET lock_timeout = '10s'")
            for stmt in ("DROP TABLE IF EXISTS t", "DROP TABLE IF EXISTS u",
                         "CREATE TABLE t (id INTEGER, x INTEGER, y INTEGER)",
                         "CREATE TABLE u (v INTEGER)",
                         "INSERT INTO t VALUES (1, 1, 1)"):
                cur.execute(stmt)
            conn.commit()
        finally:
            conn.close()

    def rows(self) -> list[tuple[Any, ...]]:
        conn = self._admin()
        try:
            cur = conn.cursor()
            cur.execute("SELECT id, x, y FROM t ORDER BY 1, 2, 3")
            found = [("t", *r) for r in cur.fetchall()]
            cur.execute("SELECT v FROM u ORDER BY 1")
            return found + [("u", *r) for r in cur.fetchall()]
        finally:
            conn.close()


def _postgres() -> Server:
    try:
        import psycopg2

        conn = psycopg2.connect(PG_DSN)
        conn.autocommit = True
        conn.cursor().execute(f"CREATE SCHEMA IF NOT EXISTS {PLACE}")
        conn.close()
    except Exception as exc:
        _unavailable(f"PostgreSQL not reachable at {PG_DSN}: {str(exc).strip()}")
    options = f"-c search_path={PLACE}"
    return Server("postgresql", lambda: psycopg2.connect(PG_DSN, options=options),
                  lambda: ConnectionPool(1, 5, PG_DSN, options=options))


def _mariadb() -> Server:
    params = parse_mysql_dsn(MYSQL_DSN)
    try:
        import pymysql

        conn = pymysql.connect(**params)
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {PLACE}")
        conn.close()
    except Exception as exc:
        _unavailable(f"MySQL not reachable at {params.get('host')}: {exc}")
    mine = {**params, "database": PLACE}
    return Server("mariadb", lambda: pymysql.connect(**mine),
                  lambda: ConnectionPool(1, 5, connect=pymysql.connect, **mine))


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    yield _postgres() if request.param == "postgresql" else _mariadb()


def _run(server: Server, source: str, kind: str, after: int
         ) -> tuple[list[tuple[str, str]], list[int], list[tuple[Any, ...]], int]:
    """(outcomes, connections left out per call, rows, faults fired)."""
    import psycopg2.pool

    server.reset()
    pool = server.pool()
    handed: list[Any] = []
    out: dict[int, Any] = {}
    take, give = pool.getconn, pool.putconn

    def getconn(*args: Any, **kwargs: Any) -> Any:
        conn = take(*args, **kwargs)
        handed.append(conn)
        out[id(conn)] = conn
        return conn

    def putconn(conn: Any, *args: Any, **kwargs: Any) -> None:
        out.pop(id(conn), None)
        give(conn, *args, **kwargs)

    pool.getconn = getconn  # type: ignore[method-assign]
    pool.putconn = putconn  # type: ignore[method-assign]
    real = psycopg2.pool.ThreadedConnectionPool
    psycopg2.pool.ThreadedConnectionPool = lambda *a, **k: pool  # type: ignore[misc,assignment]
    outcomes, left, fired = [], [], 0
    try:
        module: dict[str, Any] = {"__name__": "proof_on_server"}
        exec(compile(source, "case.py", "exec"), module)
        faults = pool.faults(statements=1, after=after) if kind == "statement" else \
            pool.faults(commits=1, after=after) if kind == "commit" else None
        for value in ARGUMENTS:
            before = pool.stats().in_use
            try:  # a fresh copy: `work` may append to its argument
                outcomes.append(("return", shape(module["work"](copy.deepcopy(value)))))
            except Exception as exc:
                outcomes.append(("raise", type(exc).__name__))
            left.append(pool.stats().in_use - before)
            # a connection the call left out keeps its transaction's row locks, and
            # the next call would wait on them: end that transaction (it stays out)
            for conn in list(out.values()):
                with contextlib.suppress(Exception):
                    conn.rollback()
        if faults is not None:
            fired = faults.fired
            faults.cancel()
    finally:
        psycopg2.pool.ThreadedConnectionPool = real  # type: ignore[misc]
        for conn in handed:  # a leaked one holds its transaction's locks: end it
            with contextlib.suppress(Exception):
                conn.close()
        pool.closeall()
    return outcomes, left, server.rows(), fired


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=3),
       st.sampled_from(["end", "close", "none"]))
def test_generated_functions_behave_as_before_on_a_server(server: Server, steps: list[str],
                                                          release: str) -> None:
    before = _program(steps, release)
    fixed = fix_sources({"case.py": before}, ScanOptions(select={"PS101", "PS102", "PS103"}))
    after = fixed.sources()["case.py"]
    if after == before:
        return
    for kind in ("none", "statement", "commit"):
        for k in range(MAX_FAULTS if kind != "none" else 1):
            out_b, _, rows_b, fired_b = _run(server, before, kind, k)
            out_a, left_a, rows_a, fired_a = _run(server, after, kind, k)
            where = (server.name, kind, k, steps, release)
            assert out_a == out_b, (where, out_b, out_a)
            assert rows_a == rows_b, (where, rows_b, rows_a)
            assert left_a == [0] * len(left_a), (where, left_a)
            assert fired_a == fired_b, where
            COUNTS[f"{server.name} runs"] += 1
            if kind != "none":
                if not fired_b:
                    break  # no statement (commit) left to fail
                COUNTS[f"{server.name} faults injected"] += 1


def test_zz_summary() -> None:
    if COUNTS:
        print(f"\nexecuted proof on servers: {dict(sorted(COUNTS.items()))}")

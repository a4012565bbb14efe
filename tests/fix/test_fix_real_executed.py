"""The fixes of tests/fix/test_fix_real.py run before and after on PostgreSQL with a
pool of 2: same results where the original worked, every connection back after the
fix, and the rows a savepoint per iteration keeps."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions

psycopg2 = pytest.importorskip("psycopg2")

PG_DSN = os.environ.get("POOLSAFE_PG_DSN",
                        "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=3")


@pytest.fixture(scope="module")
def table() -> Iterator[str]:
    try:
        conn = psycopg2.connect(PG_DSN)
    except Exception as exc:
        if os.environ.get("POOLSAFE_REQUIRE_DB") == "1":
            pytest.fail(f"PostgreSQL not reachable at {PG_DSN}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_DSN}: {exc}")
    name = f"fix_real_{uuid.uuid4().hex[:8]}"
    conn.autocommit = True
    conn.cursor().execute(f"CREATE TABLE {name} (v int PRIMARY KEY)")
    try:
        yield name
    finally:
        conn.cursor().execute(f"DROP TABLE IF EXISTS {name}")
        conn.close()


def _module(source: str, table: str) -> ModuleType:
    module = ModuleType("case")
    code = source.replace("TABLE", table).replace('dsn="dbname=app"', f"dsn={PG_DSN!r}")
    exec(compile(code, "case.py", "exec"), module.__dict__)
    return module


def _rows(table: str) -> list[int]:
    conn = psycopg2.connect(PG_DSN)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT v FROM {table} ORDER BY v")
        return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def _clear(table: str) -> None:
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    conn.cursor().execute(f"DELETE FROM {table}")
    conn.close()


def _call(module: ModuleType, name: str, *args: Any) -> tuple[str, Any]:
    try:
        return "returned", getattr(module, name)(*args)
    except Exception as exc:  # the kind of error is what the comparison needs
        return "raised", type(exc).__name__


def _out(module: ModuleType) -> int:
    pool = module.pool
    return len(pool._used)  # psycopg2's pool: the connections checked out now


def _fixed(code: str, source: str, *, unsafe: bool = False) -> str:
    result = fix_sources({"case.py": source}, ScanOptions(select={code}), unsafe=unsafe)
    assert result.applied, [x.reason for x in result.left]
    assert all(a.safe != unsafe for a in result.applied), result.applied
    return result.sources()["case.py"]


HEAD = """import psycopg2
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 2, dsn="dbname=app")
"""

LOOP = HEAD + """
def load(rows):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        for row in rows:
            try:
                cur.execute("INSERT INTO TABLE VALUES (%s)", (row,))
            except psycopg2.IntegrityError:
                pass
        conn.commit()
    finally:
        pool.putconn(conn)
"""


def test_savepoint_per_iteration_on_postgresql(table: str) -> None:
    # more SQL and different rows kept when a row fails: an unsafe fix by definition,
    # which plain `fix` does not write
    plain = fix_sources({"case.py": LOOP}, ScanOptions(select={"PS103"}))
    assert not plain.applied and plain.sources()["case.py"] == LOOP
    after = _fixed("PS103", LOOP, unsafe=True)
    assert "SAVEPOINT poolsafe_iteration" in after
    seen = {}
    for form, source in (("before", LOOP), ("after", after)):
        module = _module(source, table)
        _clear(table)
        clean = _call(module, "load", [1, 2, 3]), _rows(table)
        _clear(table)
        dup = _call(module, "load", [1, 2, 2, 3]), _rows(table)
        assert _out(module) == 0
        module.pool.closeall()
        seen[form] = (clean, dup)
    # where no row fails, the same result and rows
    assert seen["before"][0] == seen["after"][0] == (("returned", None), [1, 2, 3])
    # a duplicate aborted the transaction: the next INSERT raised and nothing was
    # stored; with the savepoint only the duplicate is undone
    assert seen["before"][1] == (("raised", "InFailedSqlTransaction"), [])
    assert seen["after"][1] == (("returned", None), [1, 2, 3])


HOLDING = HEAD + """
def save(value):
    try:
        conn = pool.getconn()
        conn.cursor().execute("INSERT INTO TABLE VALUES (%s)", (value,))
        conn.commit()
        pool.putconn(conn)
    except psycopg2.IntegrityError:
        return False
    return True
"""


def test_release_in_the_holding_try_on_postgresql(table: str) -> None:
    after = _fixed("PS102", HOLDING)
    assert "    finally:\n        if conn is not None:\n            pool.putconn(conn)\n" in after
    results = {}
    for form, source in (("before", HOLDING), ("after", after)):
        module = _module(source, table)
        _clear(table)
        first = _call(module, "save", 7)
        again = _call(module, "save", 7)  # a duplicate: the before form leaks here
        results[form] = (first, again, _rows(table), _out(module))
        module.pool.closeall()
    assert results["before"][:3] == results["after"][:3] == (
        ("returned", True), ("returned", False), [7])
    assert results["before"][3] == 1 and results["after"][3] == 0

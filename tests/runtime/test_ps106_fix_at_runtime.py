"""PS106 on PostgreSQL: a helper that returns the connection its `finally` put back hands
one connection to two holders; after `poolsafe fix` (safe fixes only) each holder has
its own, the callers' results are unchanged, and every connection goes back."""

from __future__ import annotations

import types

import pytest

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions

pytest.importorskip("psycopg2")

BEFORE = """\
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, dsn=DSN)


def get_connection():
    conn = pool.getconn()
    try:
        return conn
    finally:
        pool.putconn(conn)


def backend_pid():
    conn = get_connection()
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    return cur.fetchone()[0]


def answer():
    conn = get_connection()
    cur = conn.cursor()
    cur.execute("SELECT 40 + 2")
    return cur.fetchone()[0]
"""


def _load(source: str, dsn: str) -> types.ModuleType:
    module = types.ModuleType("ps106_app")
    module.__dict__["DSN"] = dsn
    exec(compile(source, "ps106_app.py", "exec"), module.__dict__)
    return module


def _fixed() -> str:
    result = fix_sources({"ps106_app.py": BEFORE}, ScanOptions(select={"PS106"}))
    assert [(a.code, a.safe) for a in result.applied] == [("PS106", True)]
    return result.sources()["ps106_app.py"]


def test_before_two_holders_share_one_connection(pg_dsn: str) -> None:
    app = _load(BEFORE, pg_dsn)
    try:
        first = app.get_connection()
        second = app.get_connection()  # while `first` is still in use
        assert first is second
        assert app.pool._used == {}  # the pool thinks nobody holds it
    finally:
        app.pool.closeall()


def test_after_the_fix_each_holder_has_its_own_and_results_are_unchanged(
        pg_dsn: str) -> None:
    before = _load(BEFORE, pg_dsn)
    try:
        expected = before.answer()
    finally:
        before.pool.closeall()
    app = _load(_fixed(), pg_dsn)
    try:
        with app.get_connection() as first, app.get_connection() as second:
            assert first is not second
            assert len(app.pool._used) == 2
        assert app.pool._used == {}
        assert app.answer() == expected == 42
        assert isinstance(app.backend_pid(), int)
        assert app.pool._used == {}
    finally:
        app.pool.closeall()

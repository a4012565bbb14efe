"""A stand-in psycopg2 for the executed before/after fix tests: its connect() fails with
`psycopg2.Error("could not connect")` or hands out a `StandInConn`, which counts its
closes."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class StandInConn:
    closed = 0

    def cursor(self) -> StandInConn:
        return self

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        pass

    def fetchone(self) -> tuple[int]:
        return (3,)

    def close(self) -> None:
        StandInConn.closed += 1


def stand_in_psycopg2() -> Iterator[Callable[[bool], None]]:
    """Installs the stand-in as `psycopg2` (for a pytest fixture to yield from): the
    callable it yields makes connect() succeed or fail and resets the close count."""
    fake = types.ModuleType("psycopg2")

    class Error(Exception):
        pass

    def up(ok: bool) -> None:
        def connect(**kwargs: str) -> StandInConn:
            if not ok:
                raise Error("could not connect")
            return StandInConn()
        fake.connect = connect  # type: ignore[attr-defined]
        StandInConn.closed = 0

    fake.Error = Error  # type: ignore[attr-defined]
    saved = sys.modules.get("psycopg2")
    sys.modules["psycopg2"] = fake
    yield up
    if saved is None:
        del sys.modules["psycopg2"]
    else:
        sys.modules["psycopg2"] = saved


@contextmanager
def installed(modules: dict[str, types.ModuleType]) -> Iterator[None]:
    """`modules` in `sys.modules` (a stand-in `psycopg2` and `psycopg2.pool`) for the
    block, and what was there before put back after it."""
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


#: the wrapper returns the connection, or None when it cannot connect
WRAPPER_RETURNS_NONE = """import psycopg2


def get_db():
    try:
        return psycopg2.connect(host="db", dbname="shop")
    except psycopg2.Error as e:
        print("cannot connect:", e)
        return None
"""

#: the same, written with a name: `conn = None` ... `return conn`
WRAPPER_NAME_OR_NONE = """import psycopg2


def get_db():
    conn = None
    try:
        conn = psycopg2.connect(host="db", dbname="shop")
    except psycopg2.Error as e:
        print("cannot connect:", e)
    return conn
"""

"""fix62 (benchmarks/README.md, "fix62"): PS102's safe fix on shapes written to break it
(try/else, while/else, nested `with`, generators and async generators, a `try` with its own
handler and `finally`), each executed before and after with the stand-in psycopg2 whose
connect fails or succeeds: same return or exception (type and text), and every connection
made is closed exactly once (a close the original had is moved, not doubled). No shape
changed behaviour at main f91b0d3; these pin that. A `return` inside the `finally` is
checked on its own below."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from fix_checks import checked, fix_one
from stand_in_driver import StandInConn as _Conn

HEAD = "import psycopg2\n\n\n"

SHAPES: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
    "try_else": ("""def work(x):
    conn = psycopg2.connect(host="db")
    try:
        cur = conn.cursor()
        if x:
            raise ValueError("v")
    except ValueError:
        return -1
    else:
        cur.execute("SELECT 1")
    return cur.fetchone()[0]
""", [(0,), (1,)]),
    "while_else": ("""def work(n):
    conn = psycopg2.connect(host="db")
    cur = conn.cursor()
    while n:
        n -= 1
        if n == 3:
            break
    else:
        return cur.fetchone()[0]
    return n
""", [(0,), (2,), (5,)]),
    "nested_with": ("""def work(x):
    conn = psycopg2.connect(host="db")
    with conn.cursor() as cur:
        with conn.cursor() as other:
            if x:
                raise KeyError("k")
            other.execute("SELECT 1")
    return cur.fetchone()[0]
""", [(0,), (1,)]),
    "own_handler_and_finally": ("""def work(x):
    conn = psycopg2.connect(host="db")
    try:
        cur = conn.cursor()
        if x == 1:
            raise KeyError("k")
        if x == 2:
            raise TypeError("t")
        return cur.fetchone()[0]
    except KeyError:
        return "key"
    finally:
        print("done")
""", [(0,), (1,), (2,)]),
    "generator": ("""def rows(x):
    conn = psycopg2.connect(host="db")
    cur = conn.cursor()
    yield cur.fetchone()[0]
    if x:
        raise LookupError("l")
    yield 2


def work(x):
    return list(rows(x))
""", [(0,), (1,)]),
    "async_generator": ("""async def rows(x):
    conn = psycopg2.connect(host="db")
    cur = conn.cursor()
    yield cur.fetchone()[0]
    if x:
        raise LookupError("l")


async def collect(x):
    return [r async for r in rows(x)]


def work(x):
    import asyncio
    return asyncio.run(collect(x))
""", [(0,), (1,)]),
    "contextmanager": ("""import contextlib


@contextlib.contextmanager
def db():
    conn = psycopg2.connect(host="db")
    yield conn.cursor()


def work(x):
    with db() as cur:
        if x:
            raise KeyError("k")
        return cur.fetchone()[0]
""", [(0,), (1,)]),
    "continue_in_a_loop": ("""def work(hosts):
    out = []
    for h in hosts:
        conn = psycopg2.connect(host=h)
        cur = conn.cursor()
        if h == "x":
            continue
        out.append(cur.fetchone()[0])
    return out
""", [((),), (("x",),)]),
    "conditional_return_in_finally": ("""def work(x):
    conn = psycopg2.connect(host="db")
    try:
        if x:
            raise ValueError("v")
        return conn.cursor().fetchone()[0]
    except ValueError:
        raise
    finally:
        if x:
            return "f"
""", [(0,), (1,)]),
    "close_after_an_early_return": ("""def work(x):
    conn = psycopg2.connect(host="db")
    if x:
        return None
    cur = conn.cursor()
    conn.close()
    return cur.fetchone()[0]
""", [(0,), (1,)]),
}


def _run(text: str, *args: Any) -> tuple[str, Any, int]:
    namespace: dict[str, Any] = {"asyncio": asyncio}
    exec(compile(text, "case.py", "exec"), namespace)
    try:
        value = namespace["work"](*args)
    except Exception as exc:  # the outcome is compared, whatever it is
        return "raises", (type(exc).__name__, str(exc)), _Conn.closed
    return "returns", value, _Conn.closed


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_safe_fix_keeps_behaviour(name: str, driver: Callable[[bool], None]) -> None:
    body, argsets = SHAPES[name]
    source = HEAD + body
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, left
    checked("PS102", {"case.py": text})
    again, _left, applied_again = fix_one("PS102", {"case.py": text}, "case.py", unsafe=False)
    assert again == text and applied_again == []
    for ok in (False, True):
        for args in argsets:
            driver(ok)
            kind, value, _closed = _run(source, *args)
            driver(ok)
            made = len(args[0]) if name.startswith("continue") else 1
            # the same outcome, and every connection made is closed exactly once
            assert _run(text, *args) == (kind, value, made * ok), (ok, args)


RETURN_IN_FINALLY = HEAD + """def work(x):
    conn = psycopg2.connect(host="db")
    try:
        cur = conn.cursor()
        return cur.fetchone()[0]
    finally:
        return 7
"""


def test_return_in_finally_gets_a_release_that_runs(driver: Callable[[bool], None]) -> None:
    """Main wrote its close after the `finally`'s `return 7`, where it never runs
    (README "fix62"); the release now goes into a `try` of its own around the whole
    statement: the same outcome, and the connection is closed."""
    text, left, applied = fix_one("PS102", {"case.py": RETURN_IN_FINALLY}, "case.py",
                                  unsafe=False)
    assert applied == [True] and not left, left
    checked("PS102", {"case.py": text})
    again, _left, applied_again = fix_one("PS102", {"case.py": text}, "case.py", unsafe=False)
    assert again == text and applied_again == []
    for ok in (False, True):
        driver(ok)
        before = _run(RETURN_IN_FINALLY, 0)
        driver(ok)
        assert _run(text, 0) == (before[0], before[1], 1 if ok else 0)
        assert not ok or before == ("returns", 7, 0)

"""fix68 (benchmarks/README.md, "fix68"): a release the fix moves from before a call
into the `finally` after it holds the pool slot during that call. When the call takes
a slot of the same pool (a checkout of its own, through a project wrapper, a helper
two calls down, a method, the pool passed to a helper, or the function itself again),
the fixed code meets a full pool where the original had given its connection back
first: with the pool at capacity it raises `PoolError` where the original returned.
Each shape in HELD was fixed as safe at main; now the fix is offered as unsafe only,
and its text is shown to differ at capacity and to keep behaviour with room.
The look-alikes in KEPT (a call that takes no slot, a direct connection, a slot of
another pool, a fallback called before the release) are still fixed as safe and keep
behaviour at capacity."""

from __future__ import annotations

import types
from typing import Any

import pytest
from fix_checks import checked, fix_one, unsafe_only
from stand_in_driver import installed

HEAD = ("import psycopg2\nfrom psycopg2 import pool as pg_pool\n\n"
        "POOL = pg_pool.SimpleConnectionPool(1, SIZE, host=\"db\")\n"
        "OTHER = pg_pool.SimpleConnectionPool(1, SIZE, host=\"other\")\n\n\n"
        "def get_conn():\n    return POOL.getconn()\n\n\n")
#: a fallback that takes a slot of POOL, and gives it back
FALLBACK = ("def fallback():\n    c = POOL.getconn()\n    try:\n"
            "        return c.cursor().fetchall()\n    finally:\n        POOL.putconn(c)\n\n\n")
WORK = ('    conn = POOL.getconn()\n    cur = conn.cursor()\n    cur.execute("SELECT 1")\n'
        "    rows = cur.fetchall()\n")
#: fix66's debatable shape: the handler gives the connection back before the fallback
HANDLER = ("def go():\n    conn = POOL.getconn()\n    try:\n        cur = conn.cursor()\n"
           '        cur.execute("SELECT 1")\n        rows = cur.fetchall()\n'
           "    except psycopg2.Error:\n        POOL.putconn(conn)\n        return {call}\n"
           "    POOL.putconn(conn)\n    return rows\n")
#: the checkout inside a `try` (the fix: the `finally` of that `try`)
HOLDING = ("def go():\n    try:\n        conn = POOL.getconn()\n        cur = conn.cursor()\n"
           '        cur.execute("SELECT 1")\n        rows = cur.fetchall()\n'
           "        if not rows:\n            POOL.putconn(conn)\n            return {call}\n"
           "        POOL.putconn(conn)\n        return rows\n    except KeyError:\n"
           "        return None\n")
#: the region fix: a release in a branch before the call, and one at the end
BRANCH = ("def go():\n" + WORK + "    if not rows:\n        POOL.putconn(conn)\n"
          "        return {call}\n    POOL.putconn(conn)\n    return rows\n")

#: name -> source after HEAD; the fix was safe at main and took a second slot
HELD: dict[str, str] = {
    "handler_then_a_fallback_that_checks_out": FALLBACK + HANDLER.format(call="fallback()"),
    "branch_then_a_fallback_that_checks_out": FALLBACK + BRANCH.format(call="fallback()"),
    "through_the_projects_acquire_wrapper": (
        FALLBACK.replace("POOL.getconn()", "get_conn()") + BRANCH.format(call="fallback()")),
    "two_calls_down": FALLBACK + "def retry():\n    return fallback()\n\n\n"
                      + BRANCH.format(call="retry()"),
    "by_recursion": (
        "def go(n=1):\n" + WORK + "    if n > 0:\n        POOL.putconn(conn)\n"
        "        return go(n - 1)\n    POOL.putconn(conn)\n    return rows\n"),
    "holding_try_then_a_fallback_that_checks_out": FALLBACK + HOLDING.format(call="fallback()"),
    "a_method_of_the_class": (
        "class Repo:\n    def fallback(self):\n        c = POOL.getconn()\n"
        "        try:\n            return c.cursor().fetchall()\n"
        "        finally:\n            POOL.putconn(c)\n\n"
        "    def go(self):\n" + WORK.replace("    ", "        ")
        + "        if not rows:\n            POOL.putconn(conn)\n"
        "            return self.fallback()\n        POOL.putconn(conn)\n        return rows\n"
        "\n\ndef go():\n    return Repo().go()\n"),
    "a_yield_the_caller_checks_out_at": (
        "def rows():\n" + WORK + "    if not rows:\n        POOL.putconn(conn)\n"
        "        yield None\n        return\n    POOL.putconn(conn)\n    yield rows\n\n\n"
        "def go():\n    g = rows()\n    first = next(g)\n"
        "    extra = POOL.getconn()  # the caller, while the generator is suspended\n"
        "    POOL.putconn(extra)\n    return first\n"),
    "a_function_passed_in": (
        FALLBACK + "def work(callback):\n" + WORK + "    if not rows:\n"
        "        POOL.putconn(conn)\n        return callback()\n    POOL.putconn(conn)\n"
        "    return rows\n\n\ndef go():\n    return work(fallback)\n"),
    "the_pool_handed_to_a_helper": (
        FALLBACK.replace("fallback()", "fallback(p)").replace("POOL.", "p.")
        + BRANCH.format(call="fallback(POOL)")),
}

#: look-alikes that stay safe
KEPT: dict[str, str] = {
    "a_fallback_with_a_direct_connection": (
        'def fallback():\n    c = psycopg2.connect(host="db")\n    try:\n'
        "        return c.cursor().fetchall()\n    finally:\n        c.close()\n\n\n"
        + BRANCH.format(call="fallback()")),
    "a_fallback_from_another_pool": (
        FALLBACK.replace("POOL.", "OTHER.") + BRANCH.format(call="fallback()")),
    "a_fallback_with_no_database_work": (
        "def fallback():\n    return [(0,)]\n\n\n" + HANDLER.format(call="fallback()")),
    "a_library_call": BRANCH.format(call="sorted([(0,)])"),
    "holding_try_then_a_fallback_from_another_pool": (
        FALLBACK.replace("POOL.", "OTHER.") + HOLDING.format(call="fallback()")),
    "a_yield_after_the_last_release": (
        "def rows():\n" + WORK + "    POOL.putconn(conn)\n    yield rows\n\n\n"
        "def go():\n    g = rows()\n    first = next(g)\n    extra = POOL.getconn()\n"
        "    POOL.putconn(extra)\n    return first\n"),
    "the_fallback_is_called_before_the_release": (
        FALLBACK + "def go():\n" + WORK + "    if not rows:\n        rows = fallback()\n"
        "        POOL.putconn(conn)\n        return rows\n    POOL.putconn(conn)\n"
        "    return rows\n"),
}


#: the release sat in a `try` whose handler swallowed its error (a pool closed at
#: shutdown: `PoolError`); from the `finally` it would escape
SWALLOWED: dict[str, str] = {
    "except_exception_pass": (
        "def go():\n" + WORK + "    try:\n        POOL.putconn(conn)\n"
        "    except Exception:\n        pass\n    return rows\n"),
    "except_the_drivers_error": (
        "def go():\n" + WORK + "    try:\n        POOL.putconn(conn)\n"
        "    except psycopg2.Error:\n        rows = None\n    return rows\n"),
    "holding_try": (
        "def go():\n    try:\n    " + WORK.replace("\n    ", "\n        ")
        + "        try:\n            POOL.putconn(conn)\n        except Exception:\n"
        "            pass\n        return rows\n    except KeyError:\n        return None\n"),
}
#: a handler that does not catch what the release raises, or raises it again: still safe
SWALLOWED_KEPT: dict[str, str] = {
    "except_oserror": ("def go():\n" + WORK + "    try:\n        POOL.putconn(conn)\n"
                       "    except OSError:\n        pass\n    return rows\n"),
    "except_exception_raise": ("def go():\n" + WORK + "    try:\n        POOL.putconn(conn)\n"
                               "    except Exception:\n        raise\n    return rows\n"),
}


# ---------------------------------------------------------------- the stand-in
class _Error(Exception):
    pass


class _PoolError(_Error):
    pass


class _Conn:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.closed = False

    def cursor(self) -> _Cursor:
        if self.closed:
            raise _Error("connection already closed")
        return _Cursor(self)

    def close(self) -> None:
        self.closed = True


class _Cursor:
    def __init__(self, conn: _Conn) -> None:
        self.conn = conn

    def execute(self, sql: str) -> None:
        if self.conn.mode == "fail":
            raise _Error("statement failed")
        if self.conn.mode == "shutdown":  # another thread closes the pool meanwhile
            for pool in _POOLS:
                pool.closed = True

    def fetchall(self) -> list[tuple[int]]:
        return [] if self.conn.mode == "empty" else [(1,)]


class _Pool:
    """psycopg2's SimpleConnectionPool as far as capacity goes: `getconn()` beyond
    `maxconn` connections out raises PoolError."""

    def __init__(self, mode: list[str], maxconn: int) -> None:
        self.mode = mode
        self.maxconn = maxconn
        self.used: list[_Conn] = []
        self.closed = False

    def getconn(self) -> _Conn:
        if len(self.used) >= self.maxconn:
            raise _PoolError("connection pool exhausted")
        conn = _Conn(self.mode[0])
        self.mode[0] = "ok"  # the first checkout meets the fault; later ones do not
        self.used.append(conn)
        return conn

    def putconn(self, conn: _Conn, key: object = None, close: bool = False) -> None:
        if self.closed:
            raise _PoolError("connection pool is closed")
        if conn not in self.used:
            raise _PoolError("trying to put unkeyed connection")
        if close:
            conn.close()
        self.used.remove(conn)


_POOLS: list[_Pool] = []


def _run(text: str, mode: str, size: int) -> Any:
    """What `go()` returns or raises, and the connections left out of each pool."""
    first = [mode]
    pools = _POOLS
    pools.clear()

    def make_pool(*args: Any, **kw: Any) -> _Pool:
        pools.append(_Pool(first, args[1]))
        return pools[-1]

    def connect(**kw: Any) -> _Conn:
        conn = _Conn(first[0])
        first[0] = "ok"
        return conn

    fake = types.ModuleType("psycopg2")
    fake.Error = _Error  # type: ignore[attr-defined]
    fake.connect = connect  # type: ignore[attr-defined]
    pool_module = types.ModuleType("psycopg2.pool")
    pool_module.SimpleConnectionPool = make_pool  # type: ignore[attr-defined]
    fake.pool = pool_module  # type: ignore[attr-defined]
    with installed({"psycopg2": fake, "psycopg2.pool": pool_module}):
        namespace: dict[str, Any] = {"__name__": "case", "SIZE": size}
        exec(compile(text, "case.py", "exec"), namespace)
        try:
            outcome: Any = ("returns", namespace["go"]())
        except Exception as exc:  # the outcome is compared, whatever it is
            outcome = ("raises", type(exc).__name__, str(exc))
        return outcome, [len(p.used) for p in pools]


@pytest.mark.parametrize("name", sorted(HELD))
def test_a_release_moved_past_a_checkout_of_the_same_pool_is_unsafe(name: str) -> None:
    source = HEAD + HELD[name]
    fixed = unsafe_only("PS102", source, "from the same pool")
    assert "finally:" in fixed, fixed
    # with room in the pool, the same; at capacity (one slot), the original gave its
    # connection back before the call and returned, the fixed text holds it and fails
    for mode in ("ok", "empty", "fail"):
        assert _run(fixed, mode, 2)[0] == _run(source, mode, 2)[0]
    before = {mode: _run(source, mode, 1) for mode in ("empty", "fail")}
    after = {mode: _run(fixed, mode, 1) for mode in ("empty", "fail")}
    assert any(before[m][0][0] == "returns" and after[m][0][:2] == ("raises", "_PoolError")
               for m in before), (before, after)


@pytest.mark.parametrize("name", sorted(KEPT))
def test_a_call_that_takes_no_slot_of_that_pool_keeps_the_fix_safe(name: str) -> None:
    source = HEAD + KEPT[name]
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    assert "finally:" in text
    checked("PS102", {"case.py": text})
    for size in (1, 2):
        for mode in ("ok", "empty", "fail"):
            # (the original leaks on the failure path: that is the finding)
            after, out = _run(text, mode, size)
            assert after == _run(source, mode, size)[0] and not any(out), (size, mode)


@pytest.mark.parametrize("name", sorted(SWALLOWED))
def test_a_release_whose_error_was_swallowed_is_unsafe(name: str) -> None:
    source = HEAD + SWALLOWED[name]
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and applied == [], text
    assert any("unsafe fix available" in r and "release itself raises" in r
               for r in left), left
    fixed, _, unsafe_applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=True)
    assert unsafe_applied == [False]
    checked("PS102", {"case.py": fixed})
    for mode in ("ok", "empty", "fail"):
        assert _run(fixed, mode, 2)[0] == _run(source, mode, 2)[0]
    # the pool closed meanwhile: the original swallowed the release's PoolError
    assert _run(source, "shutdown", 2)[0][0] == "returns"
    assert _run(fixed, "shutdown", 2)[0][:2] == ("raises", "_PoolError")


@pytest.mark.parametrize("name", sorted(SWALLOWED_KEPT))
def test_a_handler_that_does_not_swallow_the_release_error_keeps_the_fix_safe(
        name: str) -> None:
    source = HEAD + SWALLOWED_KEPT[name]
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    checked("PS102", {"case.py": text})
    for mode in ("ok", "empty", "fail", "shutdown"):
        assert _run(text, mode, 1)[0] == _run(source, mode, 1)[0], mode

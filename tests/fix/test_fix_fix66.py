"""fix66 (benchmarks/README.md, "fix66"): shapes written to break the `[*]` proofs of
PS102's `try`/`finally` fix and of the fix in the `finally` of the `try` that holds the
checkout. Each shape in BROKEN was fixed as safe at main, and the fixed text changed
behaviour (executed with the stand-in below): the caller kept something that reads the
connection later (a lazy reader yielded by a plain generator, returned through a local
name, or built by the project's own generator function; `cur.connection`), work
scheduled to run later was handed the connection, the connection was stored by
`setattr` / `__setitem__`, released through a `with conn as c` alias (a second
`putconn` raised `PoolError`), or the project's release function did more than give
the connection back (a nested commit, an audit `execute()`, a `raise` of its own), which
the `finally` then ran on the failure paths. Each is now not fixable, or unsafe. The
look-alikes in KEPT are still fixed as safe, and keep behaviour."""

from __future__ import annotations

import asyncio
import inspect
import types
from collections.abc import Iterator
from typing import Any

import pytest
from fix_checks import checked, fix_one
from stand_in_driver import installed

HEAD = ("import asyncio\nimport concurrent.futures\nimport functools\n\nimport psycopg2\n"
        "from psycopg2 import pool as pg_pool\n\n"
        "POOL = pg_pool.SimpleConnectionPool(1, 2, host=\"db\")\n"
        "EX = concurrent.futures.ThreadPoolExecutor(1)\n\n\n"
        "def _iter(c):\n    yield from c\n\n\n"
        "def _rows(c):\n    return list(c)\n\n\n"
        "def work(c):\n    return c.cursor()\n\n\n")
CONNECT = '    conn = psycopg2.connect(host="db")\n'
GETCONN = "    conn = POOL.getconn()\n"
SELECT = '    cur = conn.cursor()\n    cur.execute("SELECT 1")\n'

#: name -> (the function `go`, why it stays unfixed (a word of the reason))
BROKEN: dict[str, tuple[str, str]] = {
    **{f"generator_yields_{name}": ("def go():\n" + CONNECT + SELECT + tail, "yielded")
       for name, tail in {
           "map": "    yield map(tuple, cur)\n",
           "lambda": "    yield lambda: cur.fetchone()\n",
           "bound_method": "    yield cur.fetchone\n",
           "a_project_generator": "    yield _iter(cur)\n",
           "a_name_holding_iter": "    it = iter(cur)\n    yield it\n"}.items()},
    **{f"returns_{name}": ("def go():\n" + CONNECT + SELECT + tail, "returned")
       for name, tail in {
           "a_project_generator": "    return _iter(cur)\n",
           "getattr_bound_method": '    return getattr(cur, "fetchall")\n',
           "the_cursors_connection": "    return cur.connection\n"}.items()},
    **{f"returns_a_name_holding_{name}": ("def go():\n" + GETCONN + SELECT + tail, "returned")
       for name, tail in {
           "partial": "    f = functools.partial(work, conn)\n    return f\n",
           "genexp": "    g = (r[0] for r in cur)\n    return g\n",
           "map": "    it = map(tuple, cur)\n    return it\n",
           "bound_method": "    fetch = cur.fetchone\n    return fetch\n"}.items()},
    "returns_a_list_holding_the_cursor": ("def go():\n" + GETCONN + SELECT
                                          + "    res = [cur]\n    return res\n", "returned"),
    "submitted_to_an_executor": ("def go(box):\n" + CONNECT + "    conn.cursor()\n"
                                 + "    box.future = EX.submit(work, conn)\n", "handed"),
    "handed_to_create_task": ("async def go(box):\n" + CONNECT + "    conn.cursor()\n"
                              + "    box.task = asyncio.create_task(asyncio.sleep(0, conn))\n",
                              "handed"),
    "stored_by_setattr": ("def go(box):\n" + CONNECT + "    conn.cursor()\n"
                          + '    setattr(box, "conn", conn)\n', "handed"),
    "stored_by_setitem": ("def go(box):\n" + GETCONN + "    conn.cursor()\n"
                          + '    box.__dict__.__setitem__("conn", conn)\n', "handed"),
    "released_through_a_with_alias": ("def go():\n" + GETCONN + "    with conn as c:\n"
                                      + '        c.cursor().execute("SELECT 1")\n'
                                      + "        POOL.putconn(c)\n", "aliased"),
    "holding_try_generator_yields_it": ("def go():\n    try:\n    " + GETCONN
                                        + "        conn.cursor()\n        yield conn\n"
                                        + "    except psycopg2.Error:\n        return\n",
                                        "yielded"),
    "holding_try_returns_a_project_generator": (
        "def go():\n    try:\n    " + GETCONN + "        cur = conn.cursor()\n"
        + '        cur.execute("SELECT 1")\n        return _iter(cur)\n'
        + "    except psycopg2.Error:\n        return None\n", "returned"),
}

#: the project's release function does more than give the connection back: the fix is
#: offered as unsafe only
RELEASE_WORK: dict[str, tuple[str, str]] = {
    "commits_through_a_helper": (
        "def _save(c):\n    c.commit()\n\n\n"
        "def finish(c):\n    _save(c)\n    POOL.putconn(c)\n\n\n"
        "def go():\n" + GETCONN + '    conn.cursor().execute("INSERT INTO t VALUES (1)")\n'
        + '    conn.cursor().execute("INSERT INTO t VALUES (2)")\n    finish(conn)\n',
        "also commits"),
    "runs_an_audit_statement": (
        "def finish(c):\n"
        '    c.cursor().execute("INSERT INTO audit VALUES (0)")\n    POOL.putconn(c)\n\n\n'
        "def go():\n" + GETCONN + '    conn.cursor().execute("INSERT INTO t VALUES (2)")\n'
        + "    finish(conn)\n", "also runs `execute()`"),
    "raises_of_its_own": (
        "def finish(c):\n    if c.status != 1:\n"
        '        raise RuntimeError("transaction left open")\n    POOL.putconn(c)\n\n\n'
        "def go():\n" + GETCONN + '    conn.cursor().execute("INSERT INTO t VALUES (2)")\n'
        + "    conn.commit()\n    finish(conn)\n", "may raise"),
    "holding_try_release_asserts": (
        "def finish(c):\n    assert c.status == 1\n    POOL.putconn(c)\n\n\n"
        "def go():\n    try:\n    " + GETCONN
        + '        conn.cursor().execute("INSERT INTO t VALUES (2)")\n'
        + "        finish(conn)\n    except KeyError:\n        return None\n", "may raise"),
}

#: look-alikes that stay safe
KEPT: dict[str, str] = {
    "eager_list_through_a_name": "def go():\n" + GETCONN + SELECT
                                 + "    rows = list(cur)\n    POOL.putconn(conn)\n"
                                 + "    return rows\n",
    "genexp_consumed_by_list": "def go():\n" + GETCONN + SELECT
                               + "    g = (r[0] for r in cur)\n    res = list(g)\n"
                               + "    POOL.putconn(conn)\n    return res\n",
    "bound_method_called": "def go():\n" + GETCONN + SELECT
                           + "    fetch = cur.fetchone\n    row = fetch()\n"
                           + "    POOL.putconn(conn)\n    return row\n",
    "project_function_not_a_generator": "def go():\n" + GETCONN + SELECT
                                        + "    res = _rows(cur)\n    POOL.putconn(conn)\n"
                                        + "    return res\n",
    "generator_yields_rows": "def go():\n" + GETCONN + SELECT
                             + "    for r in cur:\n        yield r\n    POOL.putconn(conn)\n",
    "with_conn_without_alias": "def go():\n" + GETCONN + "    with conn:\n"
                               + '        conn.cursor().execute("SELECT 1")\n'
                               + "    POOL.putconn(conn)\n",
    "submit_without_the_connection": "def go():\n" + GETCONN + SELECT
                                     + "    EX.submit(print, 1).result()\n"
                                     + "    POOL.putconn(conn)\n",
    "release_function_rolls_back": "def finish(c):\n    c.rollback()\n    POOL.putconn(c)\n\n\n"
                                   "def go():\n" + GETCONN
                                   + '    conn.cursor().execute("INSERT INTO t VALUES (2)")\n'
                                   + "    conn.commit()\n    finish(conn)\n",
}


# ---------------------------------------------------------------- the stand-in
class _Error(Exception):
    pass


class _PoolError(_Error):
    pass


class _Conn:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.closed = False
        self.status = 1

    def _live(self) -> None:
        if self.closed:
            raise _Error("connection already closed")

    def cursor(self) -> _Cursor:
        self._live()
        return _Cursor(self)

    def commit(self) -> None:
        self._live()
        self.log.append("commit")

    def rollback(self) -> None:
        self.log.append("rollback")

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> _Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _Cursor:
    def __init__(self, conn: _Conn) -> None:
        self.connection = conn
        self.rows: list[tuple[int]] = []

    def execute(self, sql: str) -> None:
        self.connection._live()
        self.connection.log.append(sql)
        if self.connection.log and "fail" in self.connection.log[0] and "(2)" in sql:
            self.connection.status = 3
            raise _Error("statement failed")
        self.rows = [(1,), (2,)]

    def fetchone(self) -> tuple[int] | None:
        self.connection._live()
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[int]]:
        self.connection._live()
        return list(self.rows)

    def __iter__(self) -> Iterator[tuple[int]]:
        self.connection._live()
        return iter(list(self.rows))


class _Pool:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.used: list[_Conn] = []

    def getconn(self) -> _Conn:
        conn = _Conn(self.log)
        self.used.append(conn)
        return conn

    def putconn(self, conn: _Conn) -> None:
        if conn not in self.used:
            raise _PoolError("trying to put unkeyed connection")
        self.used.remove(conn)
        conn.closed = True  # what the caller held is no longer its own


def _settle(value: Any, depth: int = 0) -> Any:
    """What a caller that keeps the result, and uses it afterwards, sees."""
    if depth > 3:
        return type(value).__name__
    if inspect.isgenerator(value) or isinstance(value, (map, list, tuple)) \
            or type(value).__name__.endswith("iterator"):
        return [_settle(v, depth + 1) for v in value]
    if isinstance(value, _Conn):
        return ["conn", type(value.cursor()).__name__]
    if isinstance(value, _Cursor):
        return ["cursor", value.fetchall()]
    if isinstance(value, types.SimpleNamespace):
        return {k: _settle(v, depth + 1) for k, v in sorted(vars(value).items())}
    if hasattr(value, "result") and hasattr(value, "done"):
        return ["future", _settle(value.result(), depth + 1)]
    if callable(value):
        return ["called", _settle(value(), depth + 1)]
    return value


def _run(text: str, fail: bool) -> tuple[Any, list[str]]:
    log: list[str] = ["fail" if fail else "ok"]
    fake = types.ModuleType("psycopg2")
    fake.Error = _Error  # type: ignore[attr-defined]
    fake.connect = lambda **kw: _Conn(log)  # type: ignore[attr-defined]
    pool_module = types.ModuleType("psycopg2.pool")
    pool_module.SimpleConnectionPool = lambda *a, **kw: _Pool(log)  # type: ignore[attr-defined]
    fake.pool = pool_module  # type: ignore[attr-defined]
    with installed({"psycopg2": fake, "psycopg2.pool": pool_module}):
        namespace: dict[str, Any] = {"__name__": "case"}
        exec(compile(text, "case.py", "exec"), namespace)
        go = namespace["go"]
        box = types.SimpleNamespace()
        args = [box] if inspect.signature(go).parameters else []
        try:
            if inspect.iscoroutinefunction(go):
                async def main() -> Any:
                    result = await go(*args)
                    await asyncio.sleep(0)
                    return result
                result = asyncio.run(main())
            else:
                result = go(*args)
            outcome: Any = ("returns", _settle(result), _settle(box))
        except Exception as exc:  # the outcome is compared, whatever it is
            outcome = ("raises", type(exc).__name__, str(exc))
        namespace["EX"].shutdown()
        return outcome, log


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_shape_whose_safe_fix_changed_behaviour_is_not_fixed(name: str) -> None:
    """Main fixed each of these as safe, and the fixed text changed what the caller saw."""
    go, word = BROKEN[name]
    source = HEAD + go
    _run(source, fail=False)  # the original runs, and its caller reads what it kept
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and applied == [], text
    assert any(word in r for r in left), left


@pytest.mark.parametrize("name", sorted(RELEASE_WORK))
def test_a_release_function_that_does_more_is_unsafe(name: str) -> None:
    go, words = RELEASE_WORK[name]
    source = HEAD + go
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and applied == [], text
    assert any("unsafe fix available" in r and words in r for r in left), left
    unsafe_text, _, unsafe_applied = fix_one("PS102", {"case.py": source}, "case.py",
                                             unsafe=True)
    assert unsafe_applied == [False]
    # on the failure path the unsafe text does what the original did not
    assert _run(unsafe_text, fail=True) != _run(source, fail=True)
    assert _run(unsafe_text, fail=False) == _run(source, fail=False)


@pytest.mark.parametrize("name", sorted(KEPT))
def test_a_look_alike_is_still_fixed_and_keeps_behaviour(name: str) -> None:
    source = HEAD + KEPT[name]
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    assert "finally:" in text
    checked("PS102", {"case.py": text})
    for fail in (False, True):
        # (psycopg2's `putconn` rolls back an open transaction itself: a `rollback()`
        # right before it, in the release function, is part of giving it back)
        after, log_after = _run(text, fail)
        before, log_before = _run(source, fail)
        assert after == before
        assert [e for e in log_after if e != "rollback"] \
            == [e for e in log_before if e != "rollback"]

"""A checkout the code tests for None (`if conn:`), fix58 (benchmarks/fixcorpus58.txt,
labels/fix58.verdicts): main 63bbe0e left its PS102 fix unsafe, because an unguarded
`finally: conn.close()` raised AttributeError on the None path where the original
returned. When the checkout is the connection or None and nothing else (the driver's own
call, or a project wrapper whose every return is None, a library call, or a name bound
only to those), the release now goes under `if conn is not None:` and the fix is safe:
the None path runs the same statements and releases nothing, as the original did; the
other paths are the ordinary fix. A wrapper that may give False, 0, a string, or another
project function's result keeps the unsafe marking. Each fix is executed before and after
with a stand-in psycopg2 whose connect fails or succeeds, re-parsed and fixed again to
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fix_checks import checked, fix_one
from stand_in_driver import WRAPPER_NAME_OR_NONE, WRAPPER_RETURNS_NONE
from stand_in_driver import StandInConn as _Conn

RETURNS_NONE = WRAPPER_RETURNS_NONE
NAME_OR_NONE = WRAPPER_NAME_OR_NONE

#: work under `if conn:`, nothing returned on the None path
IF_CONN = """

def order_count(customer):
    conn = get_db()
    if conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
        return cur.fetchone()[0]
"""

#: a default kept on the None path, the result returned after the test
IS_NOT_NONE = """

def order_count(customer):
    conn = get_db()
    count = 0
    if conn is not None:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
        count = cur.fetchone()[0]
    return count
"""

GUARDED_FINALLY = "    finally:\n        if conn is not None:\n            conn.close()\n"

UNSAFE = ("unsafe fix available (--unsafe-fixes): `conn` may be None (the code tests it), "
          "and the release in `finally` would raise on that path")


def _run(text: str, *args: Any) -> tuple[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(text, "case.py", "exec"), namespace)
    try:
        return "returns", namespace["order_count"](*args)
    except Exception as exc:  # the outcome is compared, whatever it is
        return "raises", (type(exc).__name__, str(exc))


def _fixed(source: str) -> str:
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, left
    checked("PS102", {"case.py": text})
    return text


@pytest.mark.parametrize("wrapper", [RETURNS_NONE, NAME_OR_NONE], ids=["return-none", "name"])
@pytest.mark.parametrize("work", [IF_CONN, IS_NOT_NONE], ids=["if-conn", "is-not-none"])
def test_the_none_path_runs_as_before_and_releases_nothing(
        driver: Callable[[bool], None], wrapper: str, work: str) -> None:
    source = wrapper + work
    # main 63bbe0e: no safe fix, only the unsafe one with an unguarded close
    text = _fixed(source)
    assert GUARDED_FINALLY in text, text
    driver(False)
    before = _run(source, "ann")
    assert before == ("returns", None if work is IF_CONN else 0)
    assert _run(text, "ann") == before and _Conn.closed == 0
    driver(True)
    assert _run(text, "ann") == _run(source, "ann") == ("returns", 3)
    _Conn.closed = 0
    _run(text, "ann")
    assert _Conn.closed == 1  # the fix's close; the original closed nothing


def test_a_direct_connect_tested_for_none_gets_the_guard(driver: Callable[[bool], None]) -> None:
    source = "import psycopg2\n" + IF_CONN.replace("get_db()", "psycopg2.connect(host=\"db\")")
    text = _fixed(source)
    assert GUARDED_FINALLY in text, text
    driver(True)
    assert _run(text, "ann") == _run(source, "ann") == ("returns", 3)
    driver(False)
    assert _run(text, "ann") == _run(source, "ann") == ("raises", ("Error", "could not connect"))


@pytest.mark.parametrize("value", ["False", "0", "\"\"", "[]", "other()"])
def test_a_wrapper_that_may_give_another_value_stays_unsafe(
        driver: Callable[[bool], None], value: str) -> None:
    """`return False` (or 0, a string, a list, another project function's result): the
    guard would call `False.close()` where the original returned, so no safe fix."""
    wrapper = RETURNS_NONE.replace("        return None\n", f"        return {value}\n")
    if value == "other()":
        wrapper += "\n\ndef other():\n    return None\n"
    source = wrapper + IF_CONN
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and applied == [] and left == [UNSAFE]
    unsafe_text, _left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=True)
    assert applied == [False]
    if value == "False":
        # what the unsafe fix does on that path: the reason it is unsafe
        driver(False)
        assert _run(source, "ann") == ("returns", None)
        outcome = _run(unsafe_text, "ann")
        assert outcome[0] == "raises" and outcome[1][0] == "AttributeError", outcome


def test_a_name_the_wrapper_binds_another_way_stays_unsafe() -> None:
    """`for conn in ...:` (or any binding other than `name = value`) is not followed."""
    wrapper = NAME_OR_NONE.replace(
        "    return conn\n", "    for conn in ():\n        pass\n    return conn\n")
    source = wrapper + IF_CONN
    text, left, _applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and UNSAFE in left


@pytest.mark.parametrize("binding", [
    "    conn, _ = other()\n",
    "    def conn():\n        pass\n",
])
def test_a_name_bound_once_to_none_and_once_otherwise_stays_unsafe(binding: str) -> None:
    """`conn = None` plus `conn, _ = other()` (or a nested `def conn`): only the `None`
    would be a plain `name = value` binding; the other is not followed, so no proof."""
    wrapper = NAME_OR_NONE.replace("    return conn\n", binding + "    return conn\n")
    wrapper += "\n\ndef other():\n    return False, 0\n"
    source = wrapper + IF_CONN
    text, left, _applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and UNSAFE in left


# ---------------------------------------------------------------------------------
# A release the fix moves into the `finally`, reached by the original on the None path:
# there the original's own `conn.close()` raised AttributeError; behind the guard it
# would not run, and the function would return. Main 63bbe0e's guard for a wrapper that
# may give None (fix56) did this (found by construction in this round, not in the
# sample); the guard is now refused, and the fix left unsafe, in that case.

#: main 63bbe0e made this a safe fix that returned 0 where the original raised
CLOSE_ON_THE_NONE_PATH = RETURNS_NONE + """

def order_count(customer, cached=None):
    conn = get_db()
    if cached:
        return cached
    conn.close()
    return 0
"""

#: the same through a test of the checkout: the close after the `if conn:`
CLOSE_AFTER_THE_TEST = RETURNS_NONE + """

def order_count(customer):
    conn = get_db()
    if conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
        if customer == "vip":
            return cur.fetchone()[0]
    conn.close()
    return 0
"""

MOVED = ("unsafe fix available (--unsafe-fixes): a release of `conn` the fix moves into "
         "the `finally` ran on the path where `conn` is None (and raised there); behind "
         "`if conn is not None:` it would not")


@pytest.mark.parametrize("source", [CLOSE_ON_THE_NONE_PATH, CLOSE_AFTER_THE_TEST],
                         ids=["wrapper", "tested"])
def test_a_moved_close_the_none_path_reached_leaves_the_fix_unsafe(
        driver: Callable[[bool], None], source: str) -> None:
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and applied == [] and left == [MOVED]
    unsafe_text, _left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=True)
    assert applied == [False] and GUARDED_FINALLY in unsafe_text
    checked("PS102", {"case.py": unsafe_text})
    driver(False)
    before = _run(source, "ann")
    assert before == ("raises", ("AttributeError", "'NoneType' object has no attribute 'close'"))
    # what the guarded fix (safe at main for the wrapper shape) does there instead
    assert _run(unsafe_text, "ann") == ("returns", 0)


#: the close after a first use of the checkout in the same block (fixcorpus56's
#: StoreMyProjects shape), and a close inside the `if conn:`: the None path raised at
#: `conn.cursor()`, or never reached the close, so the guard keeps the behaviour
CLOSE_AFTER_A_USE = RETURNS_NONE + """

def order_count(customer):
    conn = get_db()
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
    if customer == "vip":
        return cur.fetchone()[0]
    conn.close()
    return 0
"""

CLOSE_UNDER_THE_TEST = RETURNS_NONE + """

def order_count(customer):
    conn = get_db()
    if conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
        if customer == "vip":
            return cur.fetchone()[0]
        conn.close()
    return 0
"""


@pytest.mark.parametrize("source", [CLOSE_AFTER_A_USE, CLOSE_UNDER_THE_TEST],
                         ids=["after-a-use", "under-the-test"])
def test_a_moved_close_the_none_path_never_reached_keeps_the_safe_guard(
        driver: Callable[[bool], None], source: str) -> None:
    text = _fixed(source)
    assert GUARDED_FINALLY in text, text
    for ok in (False, True):
        for customer in ("ann", "vip"):
            driver(ok)
            before = _run(source, customer)
            closed_before = _Conn.closed
            driver(ok)
            assert _run(text, customer) == before
            assert _Conn.closed == (1 if ok else 0) and closed_before <= 1

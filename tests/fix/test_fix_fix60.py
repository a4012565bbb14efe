"""The `if conn is not None:` guards of PS102's fixes, fix60 (benchmarks/README.md,
"fix60"). Three fixers write the guard: the `try`/`finally` fix (`fix_site`, whose moved
releases f905175 checked), the hand-on fix (`except BaseException: if conn is not None:
conn.close(); raise`) and the fix in the `finally` of the `try` that holds the checkout
(`enclosing_try`, `conn = None` before it). Found by construction, each executed before
and after with a stand-in psycopg2 whose connect fails or succeeds:

- the holding `try`'s fix moved a `conn.close()` the original reached with `conn` None
  (a wrapper that returns None) behind its guard: the original's AttributeError, caught
  by the `try`'s own handler, became a plain return (main f1a3418, safe). Now unsafe
  unless every moved release is under a test or after a first use, as for `fix_site`;
- a wrapper that may hand back None through a name (`conn = None` ... `return conn`) or
  a conditional expression (`... if ok else None`) got an unguarded release, which
  raised `... no attribute 'close'` in place of the original's `... 'cursor'` (main,
  safe). Now guarded, and `conn if ok else None` is the connection or None;
- a wrapper that may hand back `False` (or 0, a string) got an unguarded release in
  `finally` or in the hand-on handler: `'bool' object has no attribute 'close'` in place
  of the original's error (main, safe). Now unsafe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fix_checks import checked, fix_one
from stand_in_driver import WRAPPER_NAME_OR_NONE, WRAPPER_RETURNS_NONE
from stand_in_driver import StandInConn as _Conn


def _run(text: str, *args: Any) -> tuple[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(text, "case.py", "exec"), namespace)
    try:
        value = namespace["work"](*args)
    except Exception as exc:  # the outcome is compared, whatever it is
        return "raises", (type(exc).__name__, str(exc))
    return "returns", "a connection" if isinstance(value, _Conn) else value


def _same_on_every_path(driver: Callable[[bool], None], source: str, text: str,
                        argsets: list[tuple[Any, ...]]) -> None:
    for ok in (False, True):
        for args in argsets:
            driver(ok)
            before = _run(source, *args)
            driver(ok)
            assert _run(text, *args) == before, (ok, args)


#: `direct-connections = "strict"`: a direct connection's hand-on gap (an exception
#: before `return conn`) is left to reference counting otherwise, and not reported
STRICT = {"pyproject.toml": '[tool.poolsafe]\ndirect-connections = "strict"\n'}


def _policy(work: str) -> dict[str, str]:
    return STRICT if work == HAND_ON else {}


def _safe(source: str, extra: dict[str, str] | None = None) -> str:
    text, left, applied = fix_one("PS102", {"case.py": source, **(extra or {})}, "case.py",
                                  unsafe=False)
    assert applied == [True] and not left, left
    checked("PS102", {"case.py": text})
    return text


def _unsafe(source: str, reason: str, extra: dict[str, str] | None = None) -> str:
    files = {"case.py": source, **(extra or {})}
    text, left, applied = fix_one("PS102", files, "case.py", unsafe=False)
    assert text == source and applied == [] and len(left) == 1 and reason in left[0], left
    unsafe_text, _left, applied = fix_one("PS102", files, "case.py", unsafe=True)
    assert applied == [False]
    checked("PS102", {"case.py": unsafe_text})
    return unsafe_text


RETURNS_NONE = WRAPPER_RETURNS_NONE
#: `conn = None` ... `return conn`
NAME_OR_NONE = WRAPPER_NAME_OR_NONE

#: a conditional expression with a None branch
IF_ELSE_NONE = """import psycopg2


def get_db(replica=False):
    try:
        return psycopg2.connect(host="db")
    except psycopg2.Error:
        return psycopg2.connect(host="replica") if replica else None
"""

RETURNS_FALSE = RETURNS_NONE.replace("return None", "return False")

GUARD = "if conn is not None:\n"
MOVED = ("a release of `conn` the fix moves into the `finally` ran on the path where "
         "`conn` is None (and raised there)")
LITERAL = "the wrapper `conn` comes from may hand back `False`, `0`, a string"

# ---------------------------------------------------------------------------------
# The fix in the `finally` of the `try` that holds the checkout

#: the close in the `try`, reached with conn None when `cached` is not given: the
#: original's AttributeError went to the `except`, which returned its text
HELD_CLOSE_ON_THE_NONE_PATH = RETURNS_NONE + """

def work(cached=None):
    try:
        conn = get_db()
        if cached:
            return cached
        conn.close()
        return 0
    except Exception as e:
        return str(e)
"""

#: the close in the handler, reached with conn None by the first use's error
HELD_CLOSE_IN_THE_HANDLER = RETURNS_NONE + """

def work(vip=False):
    try:
        conn = get_db()
        cur = conn.cursor()
        cur.execute("SELECT 1")
        if vip:
            return cur.fetchone()[0]
        conn.close()
    except Exception:
        conn.close()
        return -1
    return 0
"""


def test_a_held_close_the_none_path_reached_leaves_the_fix_unsafe(
        driver: Callable[[bool], None]) -> None:
    # main f1a3418: a safe fix that returned 0 where the original returned the error text
    unsafe_text = _unsafe(HELD_CLOSE_ON_THE_NONE_PATH, MOVED)
    assert GUARD in unsafe_text
    driver(False)
    assert _run(HELD_CLOSE_ON_THE_NONE_PATH) == (
        "returns", "'NoneType' object has no attribute 'close'")
    assert _run(unsafe_text) == ("returns", 0)


def test_a_held_close_in_a_handler_the_none_path_reaches_leaves_the_fix_unsafe(
        driver: Callable[[bool], None]) -> None:
    unsafe_text = _unsafe(HELD_CLOSE_IN_THE_HANDLER, MOVED)
    driver(False)
    before = _run(HELD_CLOSE_IN_THE_HANDLER)
    assert before == ("raises", ("AttributeError", "'NoneType' object has no attribute 'close'"))
    assert _run(unsafe_text) == ("returns", -1)


#: the close after a first use of the checkout: the None path raised before it
HELD_CLOSE_AFTER_A_USE = HELD_CLOSE_IN_THE_HANDLER.replace(
    "    except Exception:\n        conn.close()\n        return -1\n",
    "    except Exception as e:\n        return str(e)\n")


def test_a_held_close_after_a_first_use_keeps_the_safe_fix(
        driver: Callable[[bool], None]) -> None:
    text = _safe(HELD_CLOSE_AFTER_A_USE)
    assert GUARD in text
    _same_on_every_path(driver, HELD_CLOSE_AFTER_A_USE, text, [(False,), (True,)])
    driver(True)
    _run(text, True)
    assert _Conn.closed == 1  # the fix's close, on the path the original leaked


# ---------------------------------------------------------------------------------
# A wrapper that may give None through a name or a conditional expression

_HEAD = "\n\ndef work(customer):\n    conn = get_db()\n"
_COUNT = ['cur = conn.cursor()',
          'cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))',
          'return cur.fetchone()[0]']
#: the work on the checkout, untested
USE = _HEAD + "".join(f"    {line}\n" for line in _COUNT)
#: the same under `if conn:`
TESTED = _HEAD + "    if conn:\n" + "".join(f"        {line}\n" for line in _COUNT)

HAND_ON = """

def work(customer):
    conn = get_db()
    cur = conn.cursor()
    cur.execute("SET search_path TO shop")
    return conn
"""


@pytest.mark.parametrize("wrapper", [NAME_OR_NONE, IF_ELSE_NONE], ids=["name", "if-else"])
@pytest.mark.parametrize("work", [USE, TESTED, HAND_ON], ids=["use", "tested", "hand-on"])
def test_a_wrapper_giving_none_by_a_name_or_a_conditional_gets_the_guard(
        driver: Callable[[bool], None], wrapper: str, work: str) -> None:
    # main f1a3418: `use` and `hand-on` got an unguarded release (the None path raised
    # "... no attribute 'close'" in place of "... 'cursor'"); `tested` with the
    # conditional expression was unsafe (not proven the connection or None)
    source = wrapper + work
    text = _safe(source, _policy(work))
    assert GUARD in text, text
    _same_on_every_path(driver, source, text, [("ann",)])
    driver(False)
    assert _run(text, "ann") == _run(source, "ann")
    assert _Conn.closed == 0


def test_the_unguarded_release_on_the_none_path_was_another_error(
        driver: Callable[[bool], None]) -> None:
    """What main's unguarded fix did for `conn = None` ... `return conn` (the reason)."""
    source = NAME_OR_NONE + USE
    text = _safe(source)
    unguarded = text.replace("        if conn is not None:\n            conn.close()",
                             "        conn.close()")
    assert unguarded != text
    driver(False)
    assert _run(source, "ann") == ("raises", (
        "AttributeError", "'NoneType' object has no attribute 'cursor'"))
    assert _run(unguarded, "ann") == ("raises", (
        "AttributeError", "'NoneType' object has no attribute 'close'"))


# ---------------------------------------------------------------------------------
# A wrapper that may give False (or 0, a string): no guard on None keeps that path

@pytest.mark.parametrize("work", [USE, HAND_ON], ids=["finally", "hand-on"])
def test_a_wrapper_giving_false_leaves_the_fix_unsafe(
        driver: Callable[[bool], None], work: str) -> None:
    source = RETURNS_FALSE + work
    unsafe_text = _unsafe(source, LITERAL, _policy(work))
    driver(False)
    assert _run(source, "ann") == ("raises", (
        "AttributeError", "'bool' object has no attribute 'cursor'"))
    assert _run(unsafe_text, "ann") == ("raises", (
        "AttributeError", "'bool' object has no attribute 'close'"))


@pytest.mark.parametrize("value", [
    "0", "\"\"", "[]", "psycopg2.connect(host=\"replica\") if e else False"])
def test_other_literals_and_a_conditional_with_one_leave_the_fix_unsafe(value: str) -> None:
    wrapper = RETURNS_NONE.replace("return None", f"return {value}")
    _unsafe(wrapper + USE, LITERAL)


def test_a_guard_that_leaves_when_falsy_keeps_the_fix_safe(
        driver: Callable[[bool], None]) -> None:
    """`if not conn: return` before the work: the release never meets the False."""
    source = RETURNS_FALSE + """

def work(customer):
    conn = get_db()
    if not conn:
        return None
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
    return cur.fetchone()[0]
"""
    text = _safe(source)
    _same_on_every_path(driver, source, text, [("ann",)])


def test_a_held_checkout_from_a_wrapper_giving_false_is_unsafe() -> None:
    source = RETURNS_FALSE + """

def work(customer):
    try:
        conn = get_db()
        cur = conn.cursor()
        if customer == "vip":
            return 1
        conn.close()
    except Exception as e:
        return str(e)
    return 0
"""
    _unsafe(source, LITERAL)

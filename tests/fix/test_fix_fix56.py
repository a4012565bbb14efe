"""Safe fixes that changed behaviour, found by the fix56 audit (benchmarks/fixcorpus56.txt,
labels/fixcorpus56.verdicts), each shown before and after, executed, with the fixed text
re-parsed and fixed again to nothing:

- PS102 put an unguarded `conn.close()` in the `finally` of a checkout from a project
  wrapper that returns None when it cannot connect (tune half, StoreMyProjects/
  flask-postgresql-app: `get_db()` prints the `psycopg.Error` and returns None). On that
  path the original raised AttributeError where it first used the connection
  (`conn.cursor()`); main's fix raised another one, from the release (`'NoneType' object
  has no attribute 'close'`, the original only as its context), and where the None path
  returns before any use it raised where the original returned. The release now goes
  under `if conn is not None:` when the wrapper may hand back None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fix_checks import checked, fix_one
from stand_in_driver import WRAPPER_RETURNS_NONE
from stand_in_driver import StandInConn as _Conn

WRAPPER = WRAPPER_RETURNS_NONE

#: the shape of StoreMyProjects' routes: the first use of the checkout raises on None
FIRST_USE = WRAPPER + """

def order_count(customer):
    conn = get_db()
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
    return cur.fetchone()[0]
"""

#: written for the class: the None path returns before anything uses the checkout
EARLY_RETURN = WRAPPER + """

def order_count(customer, cached=None):
    conn = get_db()
    if cached is not None:
        return cached
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
    return cur.fetchone()[0]
"""

GUARDED_FINALLY = "    finally:\n        if conn is not None:\n            conn.close()\n"


def _run(text: str, *args: Any) -> tuple[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(text, "case.py", "exec"), namespace)
    try:
        return "returns", namespace["order_count"](*args)
    except AttributeError as exc:
        return "raises", (str(exc), exc.__context__ is not None)


def _fixed(source: str) -> str:
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, left
    checked("PS102", {"case.py": text})
    return text


def test_the_first_use_raises_as_it_did(driver: Callable[[bool], None]) -> None:
    text = _fixed(FIRST_USE)
    assert GUARDED_FINALLY in text, text
    driver(False)
    before = _run(FIRST_USE, "ann")
    # main 062f9df raised ("'NoneType' object has no attribute 'close'", True) here
    assert before == ("raises", ("'NoneType' object has no attribute 'cursor'", False))
    assert _run(text, "ann") == before
    driver(True)
    assert _run(text, "ann") == _run(FIRST_USE, "ann") == ("returns", 3)
    assert _Conn.closed == 1  # the fix's close; the original closed nothing


def test_a_return_before_any_use_still_returns(driver: Callable[[bool], None]) -> None:
    text = _fixed(EARLY_RETURN)
    assert GUARDED_FINALLY in text, text
    driver(False)
    # main 062f9df raised AttributeError (close) where the original returned 7
    assert _run(EARLY_RETURN, "ann", 7) == _run(text, "ann", 7) == ("returns", 7)
    driver(True)
    assert _run(text, "ann", 7) == ("returns", 7) and _Conn.closed == 1


def test_a_wrapper_whose_handler_falls_off_its_end_may_give_none() -> None:
    source = FIRST_USE.replace("        print(\"cannot connect:\", e)\n        return None\n",
                               "        print(\"cannot connect:\", e)\n")
    assert "return None" not in source
    assert GUARDED_FINALLY in _fixed(source)


@pytest.mark.parametrize("handler", [
    "        raise\n",
    "        raise RuntimeError(\"database down\") from e\n",
])
def test_a_wrapper_that_never_gives_none_keeps_the_plain_release(handler: str) -> None:
    source = FIRST_USE.replace("        print(\"cannot connect:\", e)\n        return None\n",
                               handler)
    text = _fixed(source)
    assert "    finally:\n        conn.close()\n" in text and "is not None" not in text


#: the lead, round 24: the hand-on fix (`except BaseException: release; raise`) had the
#: same gap: a checkout stored on the object after a statement that raised on None
HAND_ON = WRAPPER + """

class Orders:
    def open(self, schema):
        conn = get_db()
        cur = conn.cursor()
        cur.execute("SET search_path TO %s", (schema,))
        self.conn = conn


def order_count(schema):
    orders = Orders()
    orders.open(schema)
    return orders.conn.fetchone()[0]
"""

GUARDED_HANDLER = ("        except BaseException:\n            if conn is not None:\n"
                   "                conn.close()\n            raise\n")


def test_the_hand_on_fix_re_raises_the_first_use_unchanged(
        driver: Callable[[bool], None]) -> None:
    text = _fixed(HAND_ON)
    assert GUARDED_HANDLER in text, text
    driver(False)
    before = _run(HAND_ON, "shop")
    # before this change the fix raised ("'NoneType' object has no attribute 'close'",
    # True) here, from the release in the handler
    assert before == ("raises", ("'NoneType' object has no attribute 'cursor'", False))
    assert _run(text, "shop") == before
    driver(True)
    assert _run(text, "shop") == _run(HAND_ON, "shop") == ("returns", 3)
    assert _Conn.closed == 0  # handed on: nobody closed it, as in the original


def test_the_hand_on_fix_keeps_the_plain_release_when_the_wrapper_raises() -> None:
    source = HAND_ON.replace("        print(\"cannot connect:\", e)\n        return None\n",
                             "        raise\n")
    text = _fixed(source)
    assert ("        except BaseException:\n            conn.close()\n            raise\n"
            in text) and "is not None" not in text, text

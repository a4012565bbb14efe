"""fix64 (benchmarks/README.md, "fix64"): PS102's safe fix closed the connection in a
`finally` while the function returned something that reads its cursor later: a
generator expression over it, a lambda, a bound method, or a lazy wrapper (`map`,
`iter`, `enumerate`, `functools.partial`). With psycopg2 the caller then gets
"cursor already closed" where the original read its rows. Those are now "returned"
(not fixable); what an eager builtin builds from the cursor (`list(cur)`, a list
comprehension) and a plain value of it (`cur.rowcount`) are fixed as before. Each shape is
executed before and after with a stand-in driver whose cursor fails once its
connection is closed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from fix_checks import checked, fix_one, stand_in_psycopg2

HEAD = "import functools\n\nimport psycopg2\n\n\n"
OPEN = ('    conn = psycopg2.connect(host="db")\n    cur = conn.cursor()\n'
        '    cur.execute("SELECT 1")\n')

LAZY = {
    "generator_expression": "    return (r[0] for r in cur)\n",
    "map": "    return map(tuple, cur)\n",
    "iter": "    return iter(cur)\n",
    "enumerate": "    return enumerate(cur)\n",
    "lambda": "    return lambda: cur.fetchone()\n",
    "bound_method": "    return cur.fetchone\n",
    "partial": '    return functools.partial(cur.execute, "SELECT 2")\n',
    "in_a_tuple": "    return x, (r for r in cur)\n",
}

EAGER = {
    "list": "    return list(cur)\n",
    "list_comprehension": "    return [r[0] for r in cur]\n",
    "sum_of_a_generator": "    return sum(r[0] for r in cur)\n",
    "rowcount": "    return cur.rowcount\n",
    "fetchall": "    return cur.fetchall()\n",
}


class _Conn:
    def __init__(self) -> None:
        self.closed = False

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def close(self) -> None:
        self.closed = True


class _Cursor:
    rowcount = 2

    def __init__(self, conn: _Conn) -> None:
        self.conn = conn

    def _check(self) -> None:
        if self.conn.closed:
            raise sys.modules["psycopg2"].InterfaceError("cursor already closed")

    def execute(self, sql: str) -> None:
        self._check()

    def fetchone(self) -> tuple[int]:
        self._check()
        return (3,)

    def fetchall(self) -> list[tuple[int]]:
        self._check()
        return [(3,), (4,)]

    def __iter__(self) -> Iterator[tuple[int]]:
        self._check()
        yield (3,)
        self._check()
        yield (4,)


@pytest.fixture
def closing_driver() -> Iterator[None]:
    with stand_in_psycopg2(_Conn):
        yield


def _use(value: Any) -> Any:
    """What a caller does with the returned value: iterate it, or call it."""
    if isinstance(value, tuple) and len(value) == 2 and not isinstance(value[1], int):
        value = value[1]
    if callable(value):
        value = value()
    if isinstance(value, (int, list, tuple)) or value is None:
        return value
    return list(value)


def _outcome(text: str) -> tuple[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(text, "case.py", "exec"), namespace)
    try:
        return "returns", _use(namespace["work"](0))
    except Exception as exc:  # the outcome is compared, whatever it is
        return "raises", (type(exc).__name__, str(exc))


def _source(tail: str) -> str:
    return HEAD + "def work(x):\n" + OPEN + tail


@pytest.mark.parametrize("name", sorted(LAZY))
def test_a_returned_lazy_reader_of_the_cursor_is_not_fixed(name: str,
                                                           closing_driver: None) -> None:
    """Main fixed each of these as safe, and the caller then met "cursor already
    closed"."""
    source = _source(LAZY[name])
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and applied == [], text
    assert any("is returned" in r for r in left), left
    assert _outcome(source)[0] == "returns"


@pytest.mark.parametrize("name", sorted(EAGER))
def test_what_an_eager_use_returns_is_still_fixed(name: str, closing_driver: None) -> None:
    source = _source(EAGER[name])
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, left
    checked("PS102", {"case.py": text})
    again, _left, applied_again = fix_one("PS102", {"case.py": text}, "case.py", unsafe=False)
    assert again == text and applied_again == []
    assert _outcome(text) == _outcome(source)

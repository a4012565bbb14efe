"""`cstutil.bound_names`: the names a statement binds in its own scope (shared by the
flow's flag guards, PS103's binding state and the fixer's region checks)."""

from __future__ import annotations

import libcst as cst
import pytest

from poolsafe.analysis.cstutil import bound_names


def _names(source: str) -> set[str]:
    return bound_names(cst.parse_module(source))


@pytest.mark.parametrize(("source", "expected"), [
    ("conn = pool.getconn()\n", {"conn"}),
    ("conn, cur = a, b\n", {"conn", "cur"}),
    ("[first, *rest] = rows\n", {"first", "rest"}),
    ("a = b = c\n", {"a", "b"}),
    ("count += 1\n", {"count"}),
    ("conn: Connection = make()\n", {"conn"}),
    ("for i, row in enumerate(rows):\n    pass\n", {"i", "row"}),
    ("with pool.connection() as conn, open(p) as (f):\n    pass\n", {"conn", "f"}),
    ("try:\n    pass\nexcept Exception as err:\n    pass\n", {"err"}),
    ("import psycopg2.pool as pg\n", {"pg"}),
    ("if (n := len(rows)) > 1:\n    pass\n", {"n"}),
])
def test_bindings_are_found(source: str, expected: set[str]) -> None:
    assert _names(source) == expected


@pytest.mark.parametrize("source", [
    "self.conn = pool.getconn()\n",
    "cache['conn'] = conn\n",
    "rows = [row for row in cursor]\n",
    "def helper():\n    inner = 1\n",
    "handler = lambda conn: conn.close()\n",
])
def test_what_binds_no_name_of_this_scope(source: str) -> None:
    names = _names(source)
    assert not names & {"conn", "row", "inner", "self", "cache"}

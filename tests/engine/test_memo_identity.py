"""The index's memo of evaluated expressions is keyed by node identity. A string
annotation (`pool: "asyncpg.Pool"`) is parsed into a node that lives only while it
is evaluated; once it is freed, CPython gives its address to the next node made,
and a memo keyed by `id()` alone then answered for that node with the freed one's
value (seen as a flaky scan: with `--jobs 3` a psycopg2 pool's `getconn()`
evaluated to `asyncpg.Pool` about one run in thirty)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.values import External
from poolsafe.scan.checking import parse_source

SOURCE = "import asyncpg\nimport psycopg2\n"


def test_a_freed_node_never_answers_for_a_new_one() -> None:
    module = parse_source("m.py", Path("/virtual/m.py"), Path("m.py"), SOURCE)
    index = ProjectIndex([module])
    names = ["asyncpg.Pool", "psycopg2.connect"]
    seen: set[int] = set()
    reused = 0
    for i in range(400):
        node = cst.parse_expression(names[i % 2])  # freed at the next iteration
        reused += id(node) in seen
        seen.add(id(node))
        assert index.evaluate(node, module, None) == External(names[i % 2]), i
    # the point of the test: addresses of freed nodes are handed out again (when
    # the memo keeps its nodes alive, none is, and there is nothing stale to hit)
    assert reused or len(index._memo) >= 400

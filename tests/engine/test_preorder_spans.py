"""`cstutil.preorder_spans`: the pre-order of `iter_nodes` and each node's subtree as
one range of positions (the flow's "bound only before the checkout" test reads it)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from poolsafe.analysis.cstutil import iter_nodes, preorder_spans

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

SOURCES = [
    "def f(pool):\n    for i in range(3):\n        conn = pool.getconn()\n"
    "        while conn:\n            del conn\n    def inner():\n        x = 1\n"
    "    handler = lambda c: c.close()\n    class K:\n        y = 2\n",
    "x = [a for a in range(3)]\nif x:\n    pass\nelse:\n    y = 1\n",
]


def _check(tree: cst.CSTNode) -> None:
    nodes, spans = preorder_spans(tree)
    assert [id(n) for n in nodes] == [id(n) for n in iter_nodes(tree)]
    for node in nodes:
        start, end = spans[id(node)]
        assert nodes[start] is node
        if node is not tree and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            assert (start, end) == (start, start + 1)  # a nested scope is not entered
        else:
            assert [id(n) for n in nodes[start:end]] == [id(n) for n in iter_nodes(node)]


@pytest.mark.parametrize("source", SOURCES)
def test_spans_match_iter_nodes(source: str) -> None:
    _check(cst.parse_module(source))


def test_spans_match_iter_nodes_on_the_fixtures() -> None:
    files = sorted(FIXTURES.rglob("*.py"))[:40]
    assert files
    for path in files:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        _check(module)
        for node in iter_nodes(module, into_functions=True):
            if isinstance(node, cst.FunctionDef):
                _check(node.body)

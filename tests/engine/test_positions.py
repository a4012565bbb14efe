"""poolsafe.positions gives libcst PositionProvider's ranges, for every node of every
fixture file and of awkward sources (CRLF, lone CR, decorators, tabs, no final
newline, unicode)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from poolsafe.positions import spans

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("fixtures/**/*.py"), *ROOT.glob("src/poolsafe/rules/*.py")])

AWKWARD = {
    "crlf": "def f(x):\r\n    return x  # é\r\n\r\nclass A:\r\n    pass\r\n",
    "lone cr": "a = 1\rb = (2,\r     3)\r",
    "decorated": "@dec\n@other(1)\nasync def f(\n    a, *, b=2\n) -> int:\n    await g()\n",
    "tabs": "if x:\n\tif y:\n\t\tpass  # c\n",
    "no final newline": "x = [1,\n  2]",
    "unicode": "s = 'éü漢字'; t = f'{s!r:>10}'\n",
}


class _All(cst.CSTVisitor):
    def __init__(self) -> None:
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes.append(node)
        return True


def assert_same(source: str) -> int:
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    collector = _All()
    module.visit(collector)
    got = spans(module, collector.nodes)
    for node in collector.nodes:
        r = expected[node]
        s = got[id(node)]
        assert (s.start_line, s.start_column, s.end_line, s.end_column) == (
            r.start.line, r.start.column, r.end.line, r.end.column), type(node).__name__
    return len(collector.nodes)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_same_ranges_as_position_provider(path: Path) -> None:
    assert assert_same(path.read_text(encoding="utf-8")) > 0


@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_awkward_sources(name: str) -> None:
    assert assert_same(AWKWARD[name]) > 0


def test_only_the_wanted_nodes_are_returned() -> None:
    module = cst.parse_module("x = 1\ny = 2\n")
    second = module.body[1]
    assert list(spans(module, [second])) == [id(second)]
    assert spans(module, [second])[id(second)].start_line == 2

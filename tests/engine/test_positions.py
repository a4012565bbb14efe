"""poolsafe.core.positions gives libcst PositionProvider's ranges, for every node of every
fixture file and of awkward sources (CRLF, lone CR, decorators, tabs, no final
newline, unicode)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from poolsafe.core.positions import _inner_lines, _partial_spans, spans

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


def assert_same_partial(source: str) -> int:
    """Rendering only the statements that hold the wanted nodes gives the same ranges."""
    module = cst.parse_module(source)
    parents: dict[int, cst.CSTNode] = {}
    collector = _All()
    module.visit(collector)
    for node in collector.nodes:
        for child in node.children:
            parents[id(child)] = node
    full = spans(module, collector.nodes)
    checked = 0
    for stmt in module.body[::3]:  # a third of the statements: the partial path
        inside = [n for n in collector.nodes if _under(n, stmt, parents)]
        partial = _partial_spans(module, inside, parents, source)
        if len(module.body) >= 3:  # the partial path itself, not its fallback
            assert partial is not None
        got = spans(module, inside, parents, source)
        assert got == {id(n): full[id(n)] for n in inside}
        checked += len(inside)
    return checked


def _under(node: cst.CSTNode, top: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> bool:
    cur: cst.CSTNode | None = node
    while cur is not None and cur is not top:
        cur = parents.get(id(cur))
    return cur is top


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_partial_rendering_gives_the_same_ranges(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    if len(cst.parse_module(source).body) < 3:
        pytest.skip("fewer than three statements: the module is rendered whole")
    assert assert_same_partial(source) > 0


@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_partial_rendering_of_awkward_sources(name: str) -> None:
    # three copies: enough statements for the partial path; the last keeps its end
    one = AWKWARD[name]
    source = one * 3 if one.endswith(("\n", "\r")) else (one + "\n") * 2 + one
    assert assert_same(source) > 0
    assert assert_same_partial(source) > 0


def test_a_statement_found_once_needs_no_parser_and_repeated_ones_ask_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import poolsafe.core.positions as positions

    asked: list[int] = []
    real = positions._statement_lines

    def counted(module: cst.Module, text: str) -> list[int] | None:
        asked.append(1)
        return real(module, text)

    monkeypatch.setattr(positions, "_statement_lines", counted)
    # the same function twice (the second is wanted), a third statement that quotes it
    one = "def f(x):\n    return x.y()\n"
    source = f"{one}\n\n{one}\nDOC = '''\n{one}'''\nz = 1\nw = 2\n"
    assert_same(source)
    assert assert_same_partial(source) > 0
    assert asked  # `def f` occurs twice (and once more inside the string): the parser says
    asked.clear()
    unique = "def f(x):\n    return x.y()\n\n\ndef g(x):\n    return x\n\n\nz = 1\nw = 2\n"
    assert assert_same_partial(unique) > 0
    assert not asked  # every statement's rendering occurs once: found in the text


def _parents_and_nodes(module: cst.Module) -> tuple[dict[int, cst.CSTNode], list[cst.CSTNode]]:
    parents: dict[int, cst.CSTNode] = {}
    collector = _All()
    module.visit(collector)
    for node in collector.nodes:
        for child in node.children:
            parents[id(child)] = node
    return parents, collector.nodes


def assert_same_nested_lines(source: str) -> int:
    """The nodes of a statement line inside a compound statement, placed by rendering
    that line alone (`_inner_spans`), get the ranges of the whole module's rendering."""
    module = cst.parse_module(source)
    parents, nodes = _parents_and_nodes(module)
    full = spans(module, nodes)
    by_line: dict[int, list[cst.CSTNode]] = {}
    lines: dict[int, cst.SimpleStatementLine] = {}
    for node in nodes:
        cur: cst.CSTNode | None = node
        while cur is not None and not isinstance(cur, cst.SimpleStatementLine):
            if isinstance(cur, cst.BaseCompoundStatement | cst.SimpleStatementSuite):
                cur = None
                break
            cur = parents.get(id(cur))
        if isinstance(cur, cst.SimpleStatementLine) and id(cur) not in {
                id(s) for s in module.body}:
            by_line.setdefault(id(cur), []).append(node)
            lines[id(cur)] = cur
    checked = 0
    for key in list(by_line)[::7]:  # a sample: each renders its whole top-level statement
        inside = by_line[key]
        top = inside[0]
        while parents.get(id(top)) is not module:
            top = parents[id(top)]
        assert _inner_lines(module, top, inside, parents) is not None
        got = _partial_spans(module, inside, parents, source)
        if len(module.body) >= 3:
            assert got is not None
        got = spans(module, inside, parents, source)
        assert got == {id(n): full[id(n)] for n in inside}, type(lines[key].body[0]).__name__
        checked += len(inside)
    return checked


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nested_statement_lines_rendered_alone_give_the_same_ranges(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    if not any(isinstance(s, cst.BaseCompoundStatement) for s in cst.parse_module(source).body):
        pytest.skip("no compound statement")
    assert assert_same_nested_lines(source) > 0


NESTED = {
    "crlf": "def f(x):\r\n    y = 1  # é\r\n\r\n    # c\r\n    return x\r\n\r\nz = 1\r\nw = 2\r\n",
    "lone cr": "def f():\r    a = (1,\r         2)\r    return a\rz = 1\rw = 2\r",
    "tabs and match": "def f(x):\n\tmatch x:\n\t\tcase 1:\n\t\t\ty = 2  # c\n\t\tcase _:\n"
                      "\t\t\tpass\n\tif x:\n\t\t\treturn 1\nz = 1\nw = 2\n",
    "repeated lines": "def f(c):\n    c.close()\n    c.close()\n\n\ndef g(c):\n    c.close()\n"
                      "z = 1\nw = 2\n",
    "multi-line and comments": "class A:\n    def m(self):\n        # lead\n\n        x = [\n"
                               "            1,\n        ]\n        return x\nz = 1\nw = 2\n",
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_statement_lines_of_awkward_sources(name: str) -> None:
    assert assert_same(NESTED[name]) > 0
    assert assert_same_nested_lines(NESTED[name]) > 0

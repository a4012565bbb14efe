"""Line and column of the nodes a file reports, without libcst's metadata machinery.

libcst's `PositionProvider` renders the module once and, for every node, splits each
token on newlines and builds two `CodePosition`s: on database-dense code that costs
more than parsing. A scan needs the positions of the few nodes it reports. This
renders the module with a codegen state that records, for every node, only where its
tokens start and end (two integers), then turns the recorded token indexes of the
wanted nodes into lines and columns in one pass over the tokens.

The ranges are PositionProvider's: the syntactic range where a node records one
(hoisted from a child where libcst says so), the whitespace-inclusive range
otherwise. `tests/engine/test_positions.py` compares the two on every fixture file.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import libcst as cst
from libcst._nodes.internal import CodegenState


@dataclass(frozen=True)
class Span:
    """One-based lines, zero-based columns, as libcst's CodeRange."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int


class _TokenSpans(CodegenState):
    """A codegen state that records each node's first and last token index."""

    def __init__(self, default_indent: str, default_newline: str) -> None:
        super().__init__(default_indent=default_indent, default_newline=default_newline)
        self.spans: dict[int, tuple[int, int]] = {}
        self._starts: list[int] = []
        #: the trailing newline the module drops when the source has none: libcst's
        #: positions still count it, so the ranges do too
        self.dropped: list[str] = []

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._starts.pop()
        end = len(self.tokens) + (len(self.dropped) if type(node) is cst.Module else 0)
        self.spans.setdefault(id(node), (start, end))

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.dropped.append(self.tokens.pop())

    def record_syntactic_position(  # type: ignore[override]
            self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None,
            end_node: cst.CSTNode | None = None) -> _SyntacticRange:
        # a plain context manager: libcst calls this for most nodes, and a
        # generator-based one costs more than the rest of the bookkeeping
        return _SyntacticRange(self, node, start_node, end_node)


class _SyntacticRange:
    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(self, state: _TokenSpans, node: cst.CSTNode,
                 start_node: cst.CSTNode | None, end_node: cst.CSTNode | None) -> None:
        self.state, self.node = state, node
        self.start_node, self.end_node = start_node, end_node
        self.start = 0

    def __enter__(self) -> None:
        self.start = len(self.state.tokens)

    def __exit__(self, *exc: object) -> None:
        spans = self.state.spans
        end = len(self.state.tokens)
        start = self.start
        if self.start_node is not None:
            start = spans[id(self.start_node)][0]
        if self.end_node is not None:
            end = spans[id(self.end_node)][1]
        spans[id(self.node)] = (start, end)


def spans(module: cst.Module, nodes: Iterable[cst.CSTNode],
          parents: Mapping[int, cst.CSTNode] | None = None,
          text: str | None = None) -> dict[int, Span]:
    """id(node) -> its span, for the given nodes of `module` (others are left out).

    With `parents` (id(node) -> parent, for every node of the module) and `text`
    (the source the module was parsed from), only the top-level statements that
    hold a wanted node are rendered: each starts where its rendering is found in
    the source when it is found once, else where Python's own parser (`ast`, in C)
    says, confirmed by comparing the rendered statement with the source at that
    line; the whole module is rendered when anything does not match."""
    wanted = list(nodes)
    if parents is not None and text is not None:
        partial = _partial_spans(module, wanted, parents, text)
        if partial is not None:
            return partial
    state = _TokenSpans(module.default_indent, module.default_newline)
    module._codegen(state)
    return _resolve(state.spans, state.tokens + state.dropped, {id(n) for n in wanted}, 1)


def _resolve(recorded: dict[int, tuple[int, int]], tokens: list[str], wanted: set[int],
             first_line: int) -> dict[int, Span]:
    """The wanted nodes' token ranges as lines and columns, the tokens starting at
    column 0 of `first_line`."""
    marks: dict[int, list[tuple[int, int]]] = {}  # token index -> (node id, 0 start/1 end)
    for key in wanted:
        span = recorded.get(key)
        if span is not None:
            marks.setdefault(span[0], []).append((key, 0))
            marks.setdefault(span[1], []).append((key, 1))
    found: dict[int, list[int]] = {key: [0, 0, 0, 0] for key in wanted if key in recorded}
    line, column = first_line, 0
    for index in range(len(tokens) + 1):
        for key, which in marks.get(index, ()):
            found[key][2 * which] = line
            found[key][2 * which + 1] = column
        if index == len(tokens):
            break
        text = tokens[index]
        newlines = text.count("\n") + text.count("\r") - text.count("\r\n")
        if newlines:
            line += newlines
            column = len(text) - max(text.rfind("\n"), text.rfind("\r")) - 1
        else:
            column += len(text)
    return {key: Span(*values) for key, values in found.items()}


_LINE_END = re.compile(r"\r\n|\r|\n")


def _partial_spans(module: cst.Module, wanted: list[cst.CSTNode],
                   parents: Mapping[int, cst.CSTNode], text: str) -> dict[int, Span] | None:
    index_of = {id(stmt): k for k, stmt in enumerate(module.body)}
    by_statement: dict[int, set[int]] = {}
    for node in wanted:
        cur: cst.CSTNode | None = node
        while cur is not None and id(cur) not in index_of:
            cur = parents.get(id(cur))
        if cur is None:  # the module itself, or its header or footer
            return None
        by_statement.setdefault(index_of[id(cur)], set()).add(id(node))
    if 2 * len(by_statement) > len(module.body):
        return None  # most statements are needed: rendering the module costs less
    offsets = [0, *(m.end() for m in _LINE_END.finditer(text))]
    line_at = {offset: n for n, offset in enumerate(offsets, 1)}
    node_of = {id(node): node for node in wanted}
    starts: list[int] | None = None
    out: dict[int, Span] = {}
    for k, ids in by_statement.items():
        stmt = module.body[k]
        lines = _inner_lines(module, stmt, [node_of[key] for key in ids], parents)
        state: CodegenState = (_TokenSpans(module.default_indent, module.default_newline)
                               if lines is None else _Plain(module.default_indent,
                                                            module.default_newline))
        stmt._codegen(state)
        rendered = "".join(state.tokens)
        # the module renders to its source, so a statement whose rendering occurs
        # once in the source starts there; else Python's parser says where
        found = text.find(rendered) if rendered else -1
        line = line_at.get(found, 0) if found >= 0 and text.find(rendered, found + 1) < 0 else 0
        if not line:
            if starts is None:
                starts = _statement_lines(module, text)
                if starts is None:
                    return None
            line = starts[k]
        if not 1 <= line <= len(offsets) or not text.startswith(rendered, offsets[line - 1]):
            return None
        if lines is not None:
            inner = _inner_spans(module, lines, rendered, line)
            if inner is not None:
                out.update(inner)
                continue
            state = _TokenSpans(module.default_indent, module.default_newline)
            stmt._codegen(state)
        assert isinstance(state, _TokenSpans)
        out.update(_resolve(state.spans, state.tokens, ids, line))
    return out


class _Plain(CodegenState):
    """A codegen state that renders, and records nothing (not even syntactic ranges,
    which libcst's own state enters a generator-based context manager for)."""

    def record_syntactic_position(  # type: ignore[override]
            self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None,
            end_node: cst.CSTNode | None = None) -> contextlib.nullcontext[None]:
        return _NOTHING


_NOTHING: contextlib.nullcontext[None] = contextlib.nullcontext()

#: a statement line in a top-level statement, the indentation its block renders it
#: with, and the wanted nodes in it
_Inner = tuple[cst.SimpleStatementLine, list[str], set[int]]


def _inner_lines(module: cst.Module, top: cst.CSTNode, nodes: list[cst.CSTNode],
                 parents: Mapping[int, cst.CSTNode]) -> list[_Inner] | None:
    """For wanted `nodes` of the compound top-level statement `top` that each sit
    in a statement line of one of its blocks: those lines, each with the indentation
    its blocks give it (the `IndentedBlock`s and `match` statements around it), so
    that rendering it alone gives its text in the source. None when a wanted node is
    elsewhere (a header, a one-line block) or `top` is a line itself."""
    if type(top) is cst.SimpleStatementLine:
        return None
    by_line: dict[int, _Inner] = {}
    for node in nodes:
        cur: cst.CSTNode | None = node
        node_line: cst.SimpleStatementLine | None = None
        while cur is not None and cur is not top:
            t = type(cur)
            if t is cst.SimpleStatementLine:
                assert isinstance(cur, cst.SimpleStatementLine)
                node_line = cur
                break
            if t is cst.SimpleStatementSuite or isinstance(cur, cst.BaseCompoundStatement):
                return None
            cur = parents.get(id(cur))
        if node_line is None:
            return None
        entry = by_line.get(id(node_line))
        if entry is None:
            indents: list[str] = []
            up = parents.get(id(node_line))
            while up is not None and up is not top:
                if type(up) is cst.IndentedBlock or type(up) is cst.Match:
                    assert isinstance(up, (cst.IndentedBlock, cst.Match))
                    indents.append(module.default_indent if up.indent is None else up.indent)
                up = parents.get(id(up))
            if up is None:
                return None
            indents.reverse()
            entry = by_line[id(node_line)] = (node_line, indents, set())
        entry[2].add(id(node))
    return list(by_line.values())


def _inner_spans(module: cst.Module, lines: list[_Inner], top_text: str,
                 top_line: int) -> dict[int, Span] | None:
    """The spans of the wanted nodes of each statement line, rendered alone with its
    indentation and placed where that rendering occurs once in the top-level
    statement's text (`top_text`, from line `top_line`); None when one does not."""
    out: dict[int, Span] = {}
    for node_line, indents, ids in lines:
        state = _TokenSpans(module.default_indent, module.default_newline)
        state.indent_tokens = list(indents)
        node_line._codegen(state)
        rendered = "".join(state.tokens)
        at = top_text.find(rendered) if rendered else -1
        if at < 0 or top_text.find(rendered, at + 1) >= 0:
            return None
        before = top_text[at - 1:at]
        if at and not (before == "\n" or (before == "\r" and top_text[at:at + 1] != "\n")):
            return None  # a statement line starts a line
        line = top_line + len(_LINE_END.findall(top_text, 0, at))
        out.update(_resolve(state.spans, state.tokens, ids, line))
    return out


def _statement_lines(module: cst.Module, text: str) -> list[int] | None:
    """The line where the rendering of each top-level statement starts (its leading
    blank and comment lines included), from `ast`'s positions; None when the two
    parsers do not line up."""
    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    out: list[int] = []
    j = 0
    for stmt in module.body:
        if j >= len(body):
            return None
        first = body[j]
        j += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
        line = first.lineno - len(stmt.leading_lines)
        decorators = getattr(stmt, "decorators", ())
        if decorators:
            listed = getattr(first, "decorator_list", None)
            if not listed:
                return None
            line = (listed[0].lineno - len(decorators[0].leading_lines)
                    - len(stmt.leading_lines))
        out.append(line)
    return out if j == len(body) else None

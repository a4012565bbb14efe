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

from collections.abc import Iterable
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


def spans(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[int, Span]:
    """id(node) -> its span, for the given nodes of `module` (others are left out)."""
    state = _TokenSpans(module.default_indent, module.default_newline)
    module._codegen(state)
    wanted = {id(n) for n in nodes}
    marks: dict[int, list[tuple[int, int]]] = {}  # token index -> (node id, 0 start/1 end)
    for key in wanted:
        span = state.spans.get(key)
        if span is not None:
            marks.setdefault(span[0], []).append((key, 0))
            marks.setdefault(span[1], []).append((key, 1))
    found: dict[int, list[int]] = {key: [0, 0, 0, 0] for key in wanted if key in state.spans}
    line, column = 1, 0
    tokens = state.tokens + state.dropped
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

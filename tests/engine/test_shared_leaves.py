"""Whitespace and punctuation leaves shared by value at parse (issue 32)."""

from __future__ import annotations

import libcst as cst
import pytest

from poolsafe.analysis.cstutil import children
from poolsafe.core.shared_leaves import parse_module, shared_leaves

SOURCE = """\
import os  # a comment
from a import (b,
               c)


def f(x, y=1, *, z: int = 2) -> None:
    d = {"k": x[1:2], 'j': y}  ;  e = x.y.z
    if x == y and not z:   # another
        return f(x, y=y,
                 z=z)
    (
        x
        # inside
    )
"""


def _nodes(tree: cst.CSTNode) -> list[cst.CSTNode]:
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(node.children)
    return found


def test_same_code_fewer_objects() -> None:
    plain = cst.parse_module(SOURCE)
    shared = parse_module(SOURCE)
    assert shared.code == SOURCE
    assert shared.deep_equals(plain)
    nodes = _nodes(shared)
    assert len(nodes) == len(_nodes(plain))
    assert len({id(n) for n in nodes}) < len(nodes)
    spaces = [n for n in nodes if type(n) is cst.SimpleWhitespace and n.value == " "]
    assert len(spaces) > 1 and all(n is spaces[0] for n in spaces)


def test_classes_restored() -> None:
    parse_module(SOURCE)
    assert isinstance(cst.SimpleWhitespace, type)
    assert type(cst.SimpleWhitespace(" ")) is cst.SimpleWhitespace
    assert cst.Name("x") is not cst.Name("x")


def test_comments_and_walked_nodes_not_shared() -> None:
    """A node the analyses walk, report or ask the parent of is its own object."""
    tree = parse_module(SOURCE + SOURCE)
    nodes = _nodes(tree)
    counts: dict[int, int] = {}
    for n in nodes:
        counts[id(n)] = counts.get(id(n), 0) + 1
    walked: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [tree]
    while stack:
        node = stack.pop()
        walked.append(node)
        stack.extend(children(node))
    assert all(counts[id(n)] == 1 for n in walked)
    for n in nodes:
        if isinstance(n, (cst.Comment, cst.Name, cst.LeftParen, cst.RightParen)) or (
                isinstance(n, (cst.TrailingWhitespace, cst.EmptyLine))
                and n.comment is not None):
            assert counts[id(n)] == 1, n


def test_names_share_their_identifier() -> None:
    tree = parse_module("self.a = self.b\n")
    names = [n for n in _nodes(tree) if type(n) is cst.Name and n.value == "self"]
    assert len(names) == 2 and names[0] is not names[1]
    assert names[0].value is names[1].value


def test_the_swap_puts_back_the_classes_libcst_was_imported_with(
        monkeypatch: pytest.MonkeyPatch) -> None:
    classes = {name: getattr(cst, name) for name in ("SimpleWhitespace", "Comma", "Name")}
    with shared_leaves():
        assert cst.SimpleWhitespace is not classes["SimpleWhitespace"]
        # a call that is not the parser's (positional) builds its node as before
        assert type(cst.SimpleWhitespace(" ")) is classes["SimpleWhitespace"]
        assert type(cst.Name("x")) is classes["Name"]
    assert {name: getattr(cst, name) for name in classes} == classes
    # a swap that ends while the attributes hold something else still puts back the
    # classes (a swap entered inside another's must not keep the makers for good)
    monkeypatch.setattr(cst, "Comma", lambda **fields: None)
    with shared_leaves():
        pass
    assert cst.Comma is classes["Comma"]

"""One node for each whitespace or punctuation value a parse builds (issue 32).

A libcst tree takes some 21 times its source in memory, and a quarter of it is
`SimpleWhitespace` nodes (62,319 of the 151,724 nodes of mlflow's 498 KB
`sqlalchemy_store.py`), almost all `""` or `" "`; `Newline`, `TrailingWhitespace`,
`Dot` and `Comma` add another 27,000. libcst's nodes are frozen, and equal by
identity only, so a node whose value is all that matters can be shared: the
native parser builds each node by calling the class it finds as an attribute of
the `libcst` package, so while `parse` runs, those attributes are functions that
hand out one node per value (building it the first time).

Shared are the leaves no analysis of poolsafe walks, or asks the parent or the
position of: the whitespace and punctuation classes that `cstutil.children`
skips (so `walk` records no parent for them, and `parent_map` has none), and of
those only the ones whose fields are plain values or shared nodes themselves: a
`TrailingWhitespace` or `EmptyLine` with a comment, or a `ParenthesizedWhitespace`
with blank lines inside, is built as before. Parentheses are never shared (an
`ImportFrom` ends at its `rpar`, so positions ask for its span), nor operators
(the walk visits them). A tree with shared leaves renders the same code, and a
transformer's edit builds new parents, never touching the shared child; what
changes is that the same leaf object sits at several places of a tree (and of
the trees parsed after it), so a map keyed by the `id()` of such a leaf, or a
`deep_replace` of one, would mean all of its places.

The attributes are swapped for the parse only, one parse at a time (a lock), and
put back to the classes libcst was imported with: the scan runs on one thread at a
time (`engine.run_deep`), and a parse made elsewhere in between (a `fix` check)
sees the classes. A call that is not the parser's (positional arguments) builds
its node as before.

A `Name` is never shared (the analyses walk names, and report them), but its
identifier is: the parser makes a new string for each occurrence (`self`,
`session`, ...), a quarter of a tree with its leaves shared; `sys.intern` keeps
one of each.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

import libcst as cst

#: a class's shared nodes, by their fields' values (a shared child by identity:
#: the table keeps it alive, so its identity is never reused)
_TABLES: dict[str, dict[tuple[Any, ...], cst.CSTNode]] = {}
#: the ids of the shared nodes (each alive in a table)
_SHARED: set[int] = set()
#: drop the tables past this many nodes (a stray value per file, e.g. a
#: `TrailingWhitespace` of odd spacing, must not add up over a long server session)
MAX_SHARED = 50_000

#: the classes shared, each with the fields that may hold a node (which must be a
#: shared node, or None) for it to be shared
_CLASSES: dict[str, tuple[str, ...]] = {
    "SimpleWhitespace": (),
    "Newline": (),
    "Comma": ("whitespace_before", "whitespace_after"),
    "Dot": ("whitespace_before", "whitespace_after"),
    "Colon": ("whitespace_before", "whitespace_after"),
    "Semicolon": ("whitespace_before", "whitespace_after"),
    "AssignEqual": ("whitespace_before", "whitespace_after"),
    "TrailingWhitespace": ("whitespace", "comment", "newline"),
    "EmptyLine": ("whitespace", "comment", "newline"),
    "ParenthesizedWhitespace": ("first_line", "last_line"),
}


def _maker(name: str, node_fields: tuple[str, ...]) -> Callable[..., cst.CSTNode]:
    cls = cast(Callable[..., cst.CSTNode], getattr(cst, name))
    table = _TABLES.setdefault(name, {})
    shared = _SHARED

    def one_per_value(key: tuple[Any, ...], fields: dict[str, Any]) -> cst.CSTNode:
        """The node built for these field values, built and marked shared once."""
        node = table.get(key)
        if node is None:
            node = table[key] = cls(**fields)
            shared.add(id(node))
        return node

    if not node_fields:  # (value only)
        def leaf(*args: Any, **fields: Any) -> cst.CSTNode:
            if args:  # (not the parser's call: built as before)
                return cls(*args, **fields)
            return one_per_value(tuple(fields.values()), fields)
        return leaf

    def composite(*args: Any, **fields: Any) -> cst.CSTNode:
        if args:  # (not the parser's call: built as before)
            return cls(*args, **fields)
        for field in node_fields:
            child = fields.get(field)
            if child is not None and id(child) not in shared:
                return cls(**fields)  # (a comment, say: built as before)
        lines = fields.get("empty_lines")
        if lines:  # (blank lines inside parentheses)
            return cls(**fields)
        return one_per_value(
            tuple(v if type(v) is not list else () for v in fields.values()), fields)
    return composite


def _name_maker() -> Callable[..., cst.CSTNode]:
    cls = cst.Name
    intern = sys.intern

    def name(*args: Any, **fields: Any) -> cst.CSTNode:
        if args:  # (not the parser's call: built as before)
            return cls(*args, **fields)
        fields["value"] = intern(fields["value"])
        return cls(**fields)
    return name


#: libcst's classes, as imported: what a swap puts back, whatever the attributes hold
#: when it ends
_CLASSES_AS_IMPORTED: dict[str, type] = {
    name: getattr(cst, name) for name in (*_CLASSES, "Name")}
_MAKERS = {name: _maker(name, node_fields) for name, node_fields in _CLASSES.items()}
_MAKERS["Name"] = _name_maker()
#: one swap at a time: a parse on another thread waits instead of taking the makers
#: for libcst's classes
_SWAP = threading.Lock()


@contextlib.contextmanager
def shared_leaves() -> Iterator[None]:
    """While this runs, the native parser builds the leaves of `_CLASSES` shared."""
    with _SWAP:
        if len(_SHARED) > MAX_SHARED:
            for table in _TABLES.values():
                table.clear()
            _SHARED.clear()
        for name, maker in _MAKERS.items():
            setattr(cst, name, maker)
        try:
            yield
        finally:
            for name, cls in _CLASSES_AS_IMPORTED.items():
                setattr(cst, name, cls)


def parse_module(text: str) -> cst.Module:
    """`cst.parse_module`, its leaves shared."""
    with shared_leaves():
        return cst.parse_module(text)

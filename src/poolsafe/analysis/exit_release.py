"""Releases in `__exit__` and `close()` that some path skips.

A project class often takes its checkout in `__enter__` (or `__init__`) and gives
it back in `__exit__` / `close()`: `self.conn = self.pool.getconn()` ...
`self.pool.putconn(self.conn)`. The flow analysis of one function sees the checkout
handed on to `self` and the release of an attribute, so it cannot tell when the
release is skipped. This module reads the releasing method itself:

- a release guarded by the connection's state (`if not self.conn.closed:`,
  `if self.conn.is_connected():`): a connection that died is never given back,
  and the pool counts its slot as taken for good;
- a call that may raise before the release, outside a `try` whose `finally` holds
  it (`self.conn.commit()` then `putconn`, or then `self.close()` where `close()` is
  a project base class's method that gives the connection back): a failed commit
  skips the release. A
  step wrapped in a `try` whose catch-all handler only logs (`except Exception:`,
  no `raise`) cannot skip it; its handlers, `else` and `finally` still can.

The state guard counts only for pooled connections: a direct connection that
died holds nothing on the server, and the process frees it. A call that may raise
before the release counts for direct connections too (`self.conn.commit()` then
`self.conn.close()` on a `psycopg2.connect()`): a failed commit leaves a live
connection open that nothing closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import children, dotted_name, iter_calls, iter_nodes, strip_await
from poolsafe.analysis.flow import call_may_raise
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.values import Connection, FunctionRef
from poolsafe.knowledge import POOL_RELEASE_METHODS

#: the methods that end a class's hold on its connection
RELEASING_METHODS = ("__exit__", "__aexit__", "close", "release")


@dataclass(frozen=True)
class ExitGap:
    #: the checkout (`self.pool.getconn()`) whose release is skipped
    checkout: cst.Call
    conn: Connection
    #: `self.conn`
    attr: str
    cls: ClassInfo
    method: FunctionInfo
    #: the release as written: `self.pool.putconn(self.conn)`
    release: str
    #: when it is skipped, as a clause: "`Db.__exit__` skips the release if
    #: `self.conn.commit()` raises"
    why: str
    #: a guard on the connection's state (a dead connection is never given back)
    guarded: bool


def exit_release_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[ExitGap]:
    for cls in _classes(module):
        for name in RELEASING_METHODS:
            method = cls.methods.get(name)
            if method is not None:
                yield from _gaps(index, cls, method)


def _classes(module: ModuleInfo) -> list[ClassInfo]:
    seen: dict[int, ClassInfo] = {}
    for cls in module.classes.values():
        seen[id(cls)] = cls
    for f in module.all_functions:
        if f.cls is not None:
            seen.setdefault(id(f.cls), f.cls)
    return list(seen.values())


def _released_attribute(call: cst.Call) -> str | None:
    """`self.conn` for `pool.putconn(self.conn)` / `self.pool.release(self.conn)` /
    `self.conn.close()`."""
    f = call.func
    if not isinstance(f, cst.Attribute):
        return None
    if f.attr.value in POOL_RELEASE_METHODS and call.args:
        name = dotted_name(call.args[0].value)
        if name is not None and name.startswith("self.") and name.count(".") == 1:
            return name
    if f.attr.value == "close" and not call.args:
        name = dotted_name(f.value)
        if name is not None and name.startswith("self.") and name.count(".") == 1:
            return name
    return None


def _released_through_wrapper(index: ProjectIndex, call: cst.Call,
                              method: FunctionInfo) -> str | None:
    """`self.conn` for `Database.put_connection(self.conn)`: a project function that
    releases the argument at that position."""
    callee = index.evaluate(call.func, method.module, method)
    if not isinstance(callee, FunctionRef):
        return None
    positions = index.releaser_positions(callee.func)
    args = [a.value for a in call.args if a.keyword is None and not a.star]
    for i, arg in enumerate(args):
        name = dotted_name(arg)
        if i in positions and name is not None and name.startswith("self.") \
                and name.count(".") == 1:
            return name
    return None


def _released_by_base(index: ProjectIndex, call: cst.Call, method: FunctionInfo) -> str | None:
    """`self.conn` for `self.close()` (or `super().close()`) in a subclass's
    `__exit__`, where `close()` is a method of a project base class whose own body
    gives `self.conn` back (`def close(self): self.pool.putconn(self.conn)`)."""
    f = call.func
    if method.cls is None or not isinstance(f, cst.Attribute) or call.args:
        return None
    callee = index.evaluate(f, method.module, method)
    if not isinstance(callee, FunctionRef) or callee.func.cls is None \
            or callee.func.cls is method.cls:
        return None
    released = {_released_attribute(c) for c in callee.func.direct_calls}
    released.discard(None)
    return released.pop() if len(released) == 1 else None


def releases_attribute(index: ProjectIndex, call: cst.Call, method: FunctionInfo,
                       attr: str, close_releases: bool, depth: int = 0) -> bool:
    """`call` (in `method`) gives `attr` (`self.conn`) back: a release of it
    (`pool.putconn(self.conn, close=True)`; `self.conn.close()` where `close_releases`),
    the project's release wrapper handed it, or a method of the same class that does
    (3 levels)."""
    f = call.func
    closes = isinstance(f, cst.Attribute) and f.attr.value == "close" and not call.args
    if _released_attribute(call) == attr and (close_releases or not closes):
        return True
    if _released_through_wrapper(index, call, method) == attr:
        return True
    callee = index.evaluate(strip_await(f)[0], method.module, method)
    if depth >= 3 or not isinstance(callee, FunctionRef) or method.cls is None \
            or callee.func.cls is not method.cls or callee.func is method:
        return False
    return any(releases_attribute(index, inner, callee.func, attr, close_releases, depth + 1)
               for inner in callee.func.direct_calls)


def _checkout(index: ProjectIndex, cls: ClassInfo, attr: str
              ) -> tuple[cst.Call, Connection] | None:
    short = attr.split(".", 1)[1]
    pairs = zip(cls.attributes.get(short, []), cls.attribute_scopes.get(short, []), strict=True)
    for value, scope in pairs:
        inner, _ = strip_await(value)
        if not isinstance(inner, cst.Call):
            continue
        conn = index.evaluate(inner, cls.module, scope)
        if isinstance(conn, Connection) and conn.packed is None and conn.kind.tracked \
                and (conn.kind.pool_release or conn.kind.close_releases):
            return inner, conn
    return None


def _gaps(index: ProjectIndex, cls: ClassInfo, method: FunctionInfo) -> Iterator[ExitGap]:
    parents: dict[int, cst.CSTNode] = {}
    for node in iter_nodes(method.node):
        for child in children(node):
            parents[id(child)] = node
    reported: set[str] = set()
    module = method.module.tree
    for call in method.direct_calls:
        direct = _released_attribute(call)
        attr = direct or _released_through_wrapper(index, call, method) \
            or _released_by_base(index, call, method)
        if attr is None or attr in reported:
            continue
        found = _checkout(index, cls, attr)
        if found is None:
            continue
        checkout, conn = found
        f = call.func
        # (a project release called by its name, `give_back(self.conn)`, is no close())
        if direct is not None and isinstance(f, cst.Attribute) and f.attr.value == "close" \
                and not conn.kind.close_releases:
            continue  # PS101's business: close() does not give it back at all
        why = _skipped_when(call, attr, method.node, parents, module)
        if why is None:
            continue
        text, guarded = why
        if guarded and conn.kind.direct:
            continue  # a direct connection that died holds nothing
        reported.add(attr)
        text = f"`{cls.name}.{method.name}` {text}"
        yield ExitGap(checkout, conn, attr, cls, method, module.code_for_node(call), text,
                      guarded)


def _skipped_when(release: cst.Call, attr: str, top: cst.CSTNode,
                  parents: dict[int, cst.CSTNode], module: cst.Module
                  ) -> tuple[str, bool] | None:
    node: cst.CSTNode = release
    while node is not top:
        parent = parents.get(id(node))
        if parent is None:
            return None
        if isinstance(parent, cst.ExceptHandler | cst.ExceptStarHandler):
            return None  # a release on the error path only: not this module's question
        if isinstance(parent, cst.If) and node is parent.body and _state_guard(parent.test, attr):
            return (f"gives it back only `if {module.code_for_node(parent.test)}`: a "
                    "connection that died is never returned, and its slot is lost for good",
                    True)
        if isinstance(parent, cst.IndentedBlock | cst.SimpleStatementLine):
            body = parent.body
            index = next((i for i, s in enumerate(body) if s is node), None)
            for before in body[:index] if index is not None else []:
                for call in _calls_that_escape(before):
                    if call_may_raise(call):
                        return (f"skips the release if `{module.code_for_node(call)}` raises",
                                False)
        node = parent
    return None


def _calls_that_escape(statement: cst.CSTNode) -> Iterator[cst.Call]:
    """The calls of a statement before the release whose failure reaches it.

    A `try` whose handlers include a catch-all (bare `except`, `Exception`,
    `BaseException`) and none of which raises keeps its body's failures in the
    method: only its handlers, `else` and `finally` can skip the release. Any other
    statement: all of its calls."""
    if isinstance(statement, cst.Try) and _catches_all_quietly(statement):
        for handler in statement.handlers:
            yield from iter_calls(handler.body)
        if statement.orelse is not None:
            yield from iter_calls(statement.orelse.body)
        if statement.finalbody is not None:
            yield from iter_calls(statement.finalbody.body)
        return
    yield from iter_calls(statement)


def _catches_all_quietly(statement: cst.Try) -> bool:
    if any(isinstance(n, cst.Raise) for h in statement.handlers for n in iter_nodes(h.body)):
        return False
    return any(h.type is None or (isinstance(h.type, cst.Name)
                                  and h.type.value in {"Exception", "BaseException"})
               for h in statement.handlers)


def _state_guard(test: cst.BaseExpression, attr: str) -> bool:
    """The test reads the connection's state: `self.conn.closed`, `self.conn.open`,
    `self.conn.is_connected()`."""
    for node in iter_nodes(test):
        if isinstance(node, cst.Attribute) and node.attr.value in {"closed", "open"} \
                and dotted_name(node.value) == attr:
            return True
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "is_connected" \
                and dotted_name(node.func.value) == attr:
            return True
    return False

"""A checkout that `__enter__` / `__aenter__` keeps on `self` and then loses when a
later statement of the same method raises.

    class Tx:
        async def __aenter__(self):
            self.conn = await self.pool.acquire()      # the checkout, kept on self
            await self.conn.begin()                    # raises
            return self
        async def __aexit__(self, *exc):
            self.pool.release(self.conn)               # never runs

When `__enter__` raises, the `with` statement never calls `__exit__`, and nothing
else holds the object: the connection is never given back. The flow analysis of
`__aenter__` sees the checkout handed on to `self` and stops there. A call that may
raise after the checkout, outside any `try` (whose handlers could give it back), is
reported at the checkout; a class with no `__exit__` / `__aexit__` is no context
manager and is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_calls, iter_nodes, strip_await
from poolsafe.analysis.flow import call_may_raise
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.values import Connection

#: entering method -> the exit method that gives back what it took
_ENTER_EXIT = {"__enter__": "__exit__", "__aenter__": "__aexit__"}


@dataclass(frozen=True)
class EnterGap:
    #: the checkout (`self.pool.acquire()`) kept on `self`
    checkout: cst.Call
    conn: Connection
    #: `self.conn`
    attr: str
    cls: ClassInfo
    #: `__enter__` / `__aenter__`
    method: FunctionInfo
    #: the later call that may raise, as written
    raising: str


def enter_checkout_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[EnterGap]:
    if "__enter__" not in module.source and "__aenter__" not in module.source:
        return
    for func in module.all_functions:
        cls = func.cls
        if cls is None or func.parent is not None or func.name not in _ENTER_EXIT \
                or _ENTER_EXIT[func.name] not in cls.methods:
            continue
        gap = _gap(index, cls, func)
        if gap is not None:
            yield gap


def _gap(index: ProjectIndex, cls: ClassInfo, method: FunctionInfo) -> EnterGap | None:
    body = method.node.body
    order = {id(n): i for i, n in enumerate(iter_nodes(body))}
    guarded = {id(n) for t in iter_nodes(body) if isinstance(t, cst.Try | cst.TryStar)
               for n in iter_nodes(t)}
    for node in iter_nodes(body):
        if not (isinstance(node, cst.Assign) and len(node.targets) == 1):
            continue
        attr = dotted_name(node.targets[0].target)
        if attr is None or not attr.startswith("self.") or attr.count(".") != 1:
            continue
        inner, _ = strip_await(node.value)
        if not isinstance(inner, cst.Call) or id(node) in guarded:
            continue
        conn = index.evaluate(inner, method.module, method)
        if not (isinstance(conn, Connection) and conn.packed is None and conn.kind.tracked
                and (conn.kind.pool_release or conn.kind.close_releases)):
            continue
        start = order[id(node)]
        later = [c for c in iter_calls(body) if order.get(id(c), -1) > start
                 and id(c) not in guarded and not _within(c, node)]
        raising = next((c for c in later if call_may_raise(c)), None)
        if raising is None:
            continue
        return EnterGap(inner, conn, attr, cls, method,
                        method.module.tree.code_for_node(raising))
    return None


def _within(call: cst.Call, node: cst.CSTNode) -> bool:
    return any(n is call for n in iter_nodes(node))

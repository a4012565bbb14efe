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
reported at the checkout; a class with no `__exit__` / `__aexit__` (of its own or
inherited from a project base class: the base gives back what the subclass's
`__aenter__` took) is no context manager and is left alone. Calls that take the kept object itself
(`await aenter(self.cm)` of an un-awaited `self.cm = pool.acquire()`) complete the
checkout and are not the raising call.

The same holds for a method that `__aenter__` calls to set an object up (an async
initialiser: `tx = Transaction(); await tx.async_init(pool)`, since `__init__`
cannot await): when every call of that method in the project is in the body of an
`__enter__` / `__aenter__` (of a class with the matching exit), outside a `try`, its
failure fails the `with` before anything holds the object.

An awaitable object's `__await__` is such an entering method too
(`def __await__(self): return self._open().__await__()`, `db = await Conn(dsn)`):
when the coroutine it runs fails after keeping the checkout on `self`, the `await`
raises and the object that the class's `close()` / `__aexit__` would have given it
back through is lost. It counts when the class has such a release method and every
construction of the class in the project is awaited at once (`await Conn(...)`) or
entered by `async with Conn(...)` whose `__aenter__` awaits the object itself
(`return await self`) outside a `try`; a construction kept in a name first (`db =
Conn(dsn); await db`) lets the caller release it, and is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_calls, iter_nodes, strip_await
from poolsafe.analysis.flow import call_may_raise
from poolsafe.analysis.index import ProjectIndex, class_bases
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.values import ClassRef, Connection, FunctionRef

#: entering method -> the exit method that gives back what it took
_ENTER_EXIT = {"__enter__": "__exit__", "__aenter__": "__aexit__"}
#: how many project base classes deep an inherited exit method is looked for
_MAX_BASE_DEPTH = 8


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
    #: the entering method whose `with` fails: `method` itself, or the one calling it
    entering: FunctionInfo


def enter_checkout_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[EnterGap]:
    if "self." not in module.source:
        return
    for func in module.all_functions:
        cls = func.cls
        if cls is None or func.parent is not None:
            continue
        if not _keeps_a_call(func, cls) \
                or (func.name in _ENTER_EXIT and not _is_enter(index, func)):
            continue
        found = _gap(index, func)  # (the checkout first: the callers' search costs more)
        if found is None:
            continue
        entering = func if _is_enter(index, func) else _enter_only(index, func)
        if entering is not None and entering.name == "__await__" \
                and not _await_loses(index, entering):
            continue
        if entering is not None:
            checkout, conn, attr, raising = found
            yield EnterGap(checkout, conn, attr, cls, func, raising, entering)


def _is_enter(index: ProjectIndex, func: FunctionInfo | None) -> bool:
    """`func` is `__enter__` / `__aenter__` of a class with the matching exit, its own
    or a project base class's."""
    return func is not None and func.cls is not None and func.parent is None \
        and func.name in _ENTER_EXIT and _has_method(index, func.cls, _ENTER_EXIT[func.name])


def _has_method(index: ProjectIndex, cls: ClassInfo, name: str, depth: int = 0) -> bool:
    """`cls` or one of its project base classes (nearest first) defines method `name`."""
    if name in cls.methods:
        return True
    if depth >= _MAX_BASE_DEPTH:
        return False
    return any(isinstance(base, ClassRef) and base.cls is not cls
               and _has_method(index, base.cls, name, depth + 1)
               for _, base in class_bases(index, cls))


def _enter_only(index: ProjectIndex, method: FunctionInfo) -> FunctionInfo | None:
    """The entering method that calls `method`, when every call of `method` in the
    project is in the body of one, outside a `try` (None if there is none)."""
    if method.name.startswith("__"):
        return None
    seen: FunctionInfo | None = None
    for module in index.modules_calling([method.name]):
        for call, owner in module.calls:
            f = call.func
            if not (isinstance(f, cst.Attribute) and f.attr.value == method.name):
                continue
            callee = index.evaluate(f, module, owner)
            if not (isinstance(callee, FunctionRef) and callee.func is method):
                continue
            if owner is None or _in_try(call, owner) \
                    or not (_is_enter(index, owner) or _is_await(owner)):
                return None
            seen = seen or owner
    return seen


#: the methods through which an awaitable object gives back what it keeps
AWAIT_RELEASES = ("__aexit__", "close", "aclose", "release", "__exit__")


def _is_await(func: FunctionInfo) -> bool:
    return func.name == "__await__" and func.cls is not None and func.parent is None


def await_release(index: ProjectIndex, cls: ClassInfo) -> str | None:
    """The method of `cls` (or a project base) that would give its checkout back."""
    return next((name for name in AWAIT_RELEASES if _has_method(index, cls, name)), None)


def _await_loses(index: ProjectIndex, await_method: FunctionInfo) -> bool:
    """A failing `__await__` loses the object: the class has a release method, and
    every construction of it in the project (at least one) is awaited at once or
    entered by `async with` through an `__aenter__` that awaits the object itself."""
    cls = await_method.cls
    if cls is None or await_release(index, cls) is None:
        return False
    aenter = cls.methods.get("__aenter__")
    enters_by_await = aenter is not None and _is_enter(index, aenter) and any(
        isinstance(n, cst.Await) and isinstance(n.expression, cst.Name)
        and n.expression.value == "self" and not _under_try(n, aenter)
        for n in iter_nodes(aenter.node.body))
    seen = False
    for module in index.modules_calling([cls.name]):
        for call, owner in module.calls:
            callee = index.evaluate(call.func, module, owner)
            if not (isinstance(callee, ClassRef) and callee.cls is cls):
                continue
            scope: cst.CSTNode = owner.node.body if owner is not None else module.tree
            awaited = any(isinstance(n, cst.Await) and n.expression is call
                          for n in iter_nodes(scope))
            entered = enters_by_await and any(
                isinstance(n, cst.With) and n.asynchronous is not None
                and any(item.item is call for item in n.items) for n in iter_nodes(scope))
            if not (awaited or entered):
                return False
            seen = True
    return seen


def _under_try(node: cst.CSTNode, owner: FunctionInfo) -> bool:
    return any(isinstance(t, cst.Try | cst.TryStar) and any(n is node for n in iter_nodes(t))
               for t in iter_nodes(owner.node.body))


def _keeps_a_call(method: FunctionInfo, cls: ClassInfo) -> bool:
    """`method` assigns a call's result to an attribute of `self` (a syntax test)."""
    return any(scope is method and isinstance(strip_await(value)[0], cst.Call)
               for name, values in cls.attributes.items()
               for value, scope in zip(values, cls.attribute_scopes.get(name, []),
                                       strict=False))


def _in_try(call: cst.Call, owner: FunctionInfo) -> bool:
    return any(isinstance(t, cst.Try | cst.TryStar) and _within(call, t)
               for t in iter_nodes(owner.node.body))


def _gap(index: ProjectIndex, method: FunctionInfo
         ) -> tuple[cst.Call, Connection, str, str] | None:
    """(the checkout, its connection, `self.conn`, the later call that may raise)."""
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
                 and id(c) not in guarded and not _within(c, node)
                 and not _enters(c, attr)]
        raising = next((c for c in later if call_may_raise(c)), None)
        if raising is None:
            continue
        return inner, conn, attr, method.module.tree.code_for_node(raising)
    return None


def _within(call: cst.Call, node: cst.CSTNode) -> bool:
    return any(n is call for n in iter_nodes(node))


def _enters(call: cst.Call, attr: str) -> bool:
    """`call` takes the kept object itself (`aenter(self.cm)`, `self.cm.__aenter__()`):
    it completes the checkout rather than risking it."""
    f = call.func
    if isinstance(f, cst.Attribute) and dotted_name(f.value) == attr:
        return f.attr.value in {"__enter__", "__aenter__"}
    return any(dotted_name(a.value) == attr for a in call.args)

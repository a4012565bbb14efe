"""A SQLAlchemy or SQLModel session built inside an expression and dropped there
(read by PS102).

`self.get_session().exec(select(Order)).first()`, where `get_session()` returns a
new `Session(self.engine)`, runs a query on a session that nothing names: the session
checks a connection out for its transaction and nobody can close it. So does
`Entry.build(row, session=self.get_session())` when the function handed the session
only works on it (never closes, returns, stores or passes it on). The connection
goes back to the pool only when the garbage collector breaks the session's
reference cycles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.doubles import is_test_module
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.values import Connection, FunctionRef

#: a session's methods that run a statement (and so check a connection out)
_WORK = frozenset({"execute", "exec", "scalars", "scalar", "query", "get", "get_one"})
#: what ends a chain in a plain value: the session is not reachable from it
_VALUES = frozenset({"all", "first", "one", "one_or_none", "scalar", "scalar_one",
                     "scalar_one_or_none", "count", "get", "get_one", "fetchall",
                     "fetchone", "fetchmany"})
#: methods of a handed session that run statements (`commit` writes what `add` queued)
_HANDED_WORK = _WORK | {"commit", "flush"}


@dataclass(frozen=True)
class InlineGap:
    #: the call that builds the session
    call: cst.Call
    func: FunctionInfo
    conn: Connection
    #: "used" (a query on it, the session dropped) or "handed" (to `callee`)
    how: str
    callee: str = ""


def inline_session_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[InlineGap]:
    if is_test_module(module):
        return
    for func in module.all_functions:
        parents: dict[int, cst.CSTNode] = {}
        for node in iter_nodes(func.node.body):
            for child in node.children:
                parents[id(child)] = node
        for node in iter_nodes(func.node.body):
            if isinstance(node, cst.Call):
                gap = _gap(index, module, func, node, parents)
                if gap is not None:
                    yield gap


def _session(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
             call: cst.Call) -> Connection | None:
    value = index.evaluate(call, module, func)
    if isinstance(value, Connection) and value.kind.tracked and value.kind.is_session:
        return value
    return None


def _gap(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo, call: cst.Call,
         parents: dict[int, cst.CSTNode]) -> InlineGap | None:
    parent = parents.get(id(call))
    if isinstance(parent, cst.Attribute) and parent.value is call:
        if parent.attr.value not in _WORK:
            return None
        outer = parents.get(id(parent))
        if not isinstance(outer, cst.Call) or outer.func is not parent:
            return None
        end, last = _chain_end(outer, parents)
        if last not in _VALUES and not isinstance(parents.get(id(end)), cst.Expr):
            return None
        if parent.attr.value == "query" and last not in _VALUES:
            return None  # a Query left unread runs nothing
        conn = _session(index, module, func, call)
        return None if conn is None else InlineGap(call, func, conn, "used")
    if isinstance(parent, cst.Arg) and parent.value is call and not parent.star:
        outer = parents.get(id(parent))
        if not isinstance(outer, cst.Call):
            return None
        callee = index.evaluate(outer.func, module, func)
        if not isinstance(callee, FunctionRef) or callee.func.is_generator:
            return None
        param = _param_for(callee.func, outer, parent)
        if param is None or not _only_works_on(callee.func.node, param):
            return None
        conn = _session(index, module, func, call)
        return None if conn is None else InlineGap(call, func, conn, "handed",
                                                   callee.func.qualname)
    return None


def _chain_end(call: cst.Call, parents: dict[int, cst.CSTNode]) -> tuple[cst.Call, str]:
    """The last call of `call.m1(...).m2(...)...` and that call's method name."""
    assert isinstance(call.func, cst.Attribute)
    last = call.func.attr.value
    while True:
        attr = parents.get(id(call))
        if not isinstance(attr, cst.Attribute) or attr.value is not call:
            return call, last
        outer = parents.get(id(attr))
        if not isinstance(outer, cst.Call) or outer.func is not attr:
            return call, last
        call, last = outer, attr.attr.value


def _param_for(callee: FunctionInfo, call: cst.Call, arg: cst.Arg) -> str | None:
    if arg.keyword is not None:
        name = arg.keyword.value
        return name if name in callee.all_param_names() else None
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in positional):
        return None
    params = callee.param_names()
    at = next(i for i, a in enumerate(positional) if a is arg)
    return params[at] if at < len(params) else None


def _only_works_on(node: cst.FunctionDef, param: str) -> bool:
    """Every use of `param` in the body is a method call on it that runs a statement
    or reads, and one of them runs a statement: nothing closes, returns, stores or
    passes the session on (a nested function or a rebinding makes it unknown)."""
    parents: dict[int, cst.CSTNode] = {}
    for n in iter_nodes(node.body, into_functions=True):
        if isinstance(n, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        for child in n.children:
            parents[id(child)] = n
    works = False
    for n in iter_nodes(node.body):
        if not isinstance(n, cst.Name) or n.value != param:
            continue
        attr = parents.get(id(n))
        if isinstance(attr, cst.Attribute) and attr.attr is n:
            continue  # `self.session`: another name
        if not isinstance(attr, cst.Attribute) or attr.value is not n:
            return False
        call = parents.get(id(attr))
        if not isinstance(call, cst.Call) or call.func is not attr:
            return False
        method = attr.attr.value
        if method in _HANDED_WORK:
            works = True
        elif method not in {"add", "add_all", "refresh", "delete", "merge", "rollback"}:
            return False
    return works

"""A SQLAlchemy or SQLModel session built inside an expression and dropped there
(read by PS102).

`self.get_session().exec(select(Order)).first()`, where `get_session()` returns a
new `Session(self.engine)`, runs a query on a session that nothing names: the session
checks a connection out for its transaction and nobody can close it. So does
`Entry.build(row, session=self.get_session())` when the function handed the session
only works on it (never closes, returns, stores or passes it on). The connection
goes back to the pool only when the garbage collector breaks the session's
reference cycles.

An `AsyncSession` queried where it is made and awaited there (`await
AsyncSession(engine).execute(query)`, `await async_session_maker().scalar(query)`)
is dropped the same way, whatever happens to the awaited result: the session's
`execute` buffers the rows, so the result holds the rows and not the session.

A pool checkout that nothing names (`pool.getconn().cursor()`,
`(await pool.acquire()).fetch(query)`), from a pool whose connections go back only
through its own `putconn()`/`release()`, can never be given back: the pool counts
the slot as taken for good. Unless the function reads a cursor's `.connection`
(`pool.putconn(cur.connection)` gives it back through the cursor). So is a connection
checked out in a session's `bind` argument (`Session(bind=engine.connect())`): the
session's `close()` ends its own transaction and leaves the connection open.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import children, iter_nodes
from poolsafe.analysis.doubles import is_test_module
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.session_reads import param_for
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
    #: "used" (a query on it, the session dropped), "handed" (to `callee`) or
    #: "bound" (a connection checked out in a session's `bind` argument)
    how: str
    callee: str = ""


def inline_session_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[InlineGap]:
    if is_test_module(module):
        return
    for func in module.all_functions:
        parents: dict[int, cst.CSTNode] = {}
        # (the parents of expressions, the only ones asked: `cstutil.children` leaves
        # out only whitespace and punctuation, and runs no visitor as libcst's does)
        for node in iter_nodes(func.node.body):
            for child in children(node):
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


def _checkout(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
              call: cst.Call) -> Connection | None:
    """A pool checkout that only the pool's own release gives back: nothing returns
    it when the object is dropped (the psycopg2-pool package's weak references and
    DBUtils' `__del__` do, and are left out)."""
    value = index.evaluate(call, module, func)
    if not isinstance(value, Connection):
        return None
    kind = value.kind
    if (not kind.tracked or kind.is_session or kind.pool_release is None
            or kind.refcount_closes or kind.collected_back):
        return None
    return value


def _bound_checkout(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                    call: cst.Call) -> Connection | None:
    """A connection checked out in a session's `bind` argument (SQLAlchemy's own, which
    only its `close()` gives back, or a pool's)."""
    value = index.evaluate(call, module, func)
    if isinstance(value, Connection) and value.kind.tracked and not value.kind.is_session \
            and not value.kind.direct and not value.kind.refcount_closes:
        return value
    return None


def _reads_cursor_connection(func: FunctionInfo) -> bool:
    return any(isinstance(n, cst.Attribute) and n.attr.value == "connection"
               for n in iter_nodes(func.node.body))


def _gap(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo, call: cst.Call,
         parents: dict[int, cst.CSTNode]) -> InlineGap | None:
    parent = parents.get(id(call))
    awaited = isinstance(parent, cst.Await) and parent.expression is call
    if awaited:  # `(await pool.acquire()).fetch(query)`
        waited = parent
        parent = parents.get(id(waited))
        if not isinstance(parent, cst.Attribute) or parent.value is not waited:
            return None
    if isinstance(parent, cst.Attribute) and (awaited or parent.value is call):
        outer = parents.get(id(parent))
        if not isinstance(outer, cst.Call) or outer.func is not parent:
            return None
        conn = _checkout(index, module, func, call)
        if conn is not None and conn.kind.is_async == awaited:
            if parent.attr.value in {"close", "__enter__", "__aenter__"} \
                    or _reads_cursor_connection(func):
                return None
            return InlineGap(call, func, conn, "used")
        if awaited or parent.attr.value not in _WORK:
            return None
        if isinstance(parents.get(id(outer)), cst.Await):
            # `await AsyncSession(engine).execute(query)`: the awaited result is
            # buffered, and holds no way back to the session
            conn = _session(index, module, func, call)
            return None if conn is None or not conn.kind.is_async \
                else InlineGap(call, func, conn, "used")
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
        if index.session_bind(outer, module, func) is call:
            # `Session(bind=engine.connect())`: the session runs on the connection
            # and never closes it, and nothing else names it
            conn = _bound_checkout(index, module, func, call)
            return None if conn is None else InlineGap(call, func, conn, "bound")
        callee = index.evaluate(outer.func, module, func)
        if not isinstance(callee, FunctionRef) or callee.func.is_generator:
            return None
        param = param_for(callee.func, outer, parent)
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


def _only_works_on(node: cst.FunctionDef, param: str) -> bool:
    """Every use of `param` in the body is a method call on it that runs a statement
    or reads, and one of them runs a statement: nothing closes, returns, stores or
    passes the session on (a nested function or a rebinding makes it unknown)."""
    parents: dict[int, cst.CSTNode] = {}
    for n in iter_nodes(node.body, into_functions=True):
        if isinstance(n, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        for child in children(n):  # (as in `inline_session_gaps`)
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

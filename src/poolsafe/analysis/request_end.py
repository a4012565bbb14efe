"""A Flask request handler that is done with the database after a call (PS103).

Flask-SQLAlchemy removes `db.session` (rolling back what is left) when the request's
app context ends. A helper that swallows a failure on it and gives back a falsy value
(a readiness probe's `SELECT 1` under `except Exception: return False`) hands the
aborted transaction to its caller; when every caller is a request handler that does
no database work after the call, the teardown ends that transaction before anything
uses it again.

"No database work after the call" is read from the handler's code, conservatively:
after the call (in source order, the call in no loop), the handler touches no
`.session`, `.query`, `.engine` or other session method, reads no name of its own
that was bound before the call (a model instance loaded earlier lazy-loads through
the session), names no project object, class or extension, and calls only library
code or project functions whose own body does none of that and calls no further
project code.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import children, iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.values import (
    ClassRef,
    Connection,
    FunctionRef,
    Instance,
    LibraryObject,
)

#: attributes whose use after the call is (or may be) work on the session
_SESSION_ATTRIBUTES = frozenset({
    "session", "query", "engine", "execute", "scalar", "scalars", "commit", "flush",
    "add", "add_all", "merge", "refresh", "connection", "begin", "begin_nested",
})
# (not `get`: `current_app.config.get(...)`; `db.session.get(...)` and `Model.query.get(...)`
# are caught by `session` and `query`, and a session of the handler's own by its name)

_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


def done_with_database_after(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                             handler: FunctionInfo) -> bool:
    """`handler` does no database work after `call` (see the module's text)."""
    after = _nodes_after(handler.node.body, call)
    if after is None:
        return False
    fresh = _bound_from(after) | _targets_of(_statement_of(handler, call))
    own = set(handler.all_param_names()) | set(handler.locals)
    for node in after:
        if isinstance(node, cst.Attribute) and node.attr.value in _SESSION_ATTRIBUTES:
            return False
        if isinstance(node, cst.Name):
            if node.value in own and node.value not in fresh:
                return False
            if node.value in own:
                continue
            value = index.evaluate(node, module, handler)
            if isinstance(value, (LibraryObject, Connection, Instance, ClassRef)):
                return False
        if isinstance(node, cst.Call):
            callee = index.evaluate(strip_await(node.func)[0], module, handler)
            if isinstance(callee, FunctionRef) and not _no_database_work(index, callee.func):
                return False
            if isinstance(callee, (ClassRef, Instance, LibraryObject, Connection)):
                return False
    return True


def _no_database_work(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` touches no session attribute, names no project object or extension, and
    calls no project function."""
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Attribute) and node.attr.value in _SESSION_ATTRIBUTES:
            return False
        if isinstance(node, cst.Name) and node.value not in func.locals \
                and func.param(node.value) is None:
            value = index.evaluate(node, func.module, func)
            if isinstance(value, (LibraryObject, Connection, Instance, ClassRef, FunctionRef)):
                return False
    return True


def _nodes_after(region: cst.CSTNode, call: cst.Call) -> list[cst.CSTNode] | None:
    """The nodes of `region` after `call` in source order (nested scopes included);
    None when `call` is not in `region` or sits in a loop there."""
    out: list[cst.CSTNode] = []
    state = {"seen": False, "loop": False}

    def walk(node: cst.CSTNode, loops: int) -> None:
        if node is call:
            state["seen"], state["loop"] = True, loops > 0
            return
        if state["seen"]:
            out.append(node)
        inner = loops + isinstance(node, _LOOPS)
        for child in children(node):
            walk(child, inner)

    walk(region, 0)
    if not state["seen"] or state["loop"]:
        return None
    return out


def _statement_of(handler: FunctionInfo, call: cst.Call) -> cst.CSTNode | None:
    """The simple statement line of `handler` that holds `call`."""
    for node in iter_nodes(handler.node.body):
        if isinstance(node, cst.SimpleStatementLine) \
                and any(n is call for n in iter_nodes(node)):
            return node
    return None


def _targets_of(node: cst.CSTNode | None) -> set[str]:
    """The names an assignment in `node` binds."""
    return set() if node is None else _bound_from(list(iter_nodes(node)))


def _bound_from(nodes: list[cst.CSTNode]) -> set[str]:
    """The plain names that assignments among `nodes` bind."""
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, cst.Assign):
            out |= {t.target.value for t in node.targets if isinstance(t.target, cst.Name)}
        elif isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name):
            out.add(node.target.value)
    return out

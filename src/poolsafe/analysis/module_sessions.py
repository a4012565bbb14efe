"""A session or connection made once at a module's top level and shared by every
request or task that imports it.

`Session = sessionmaker(engine)` then `session = Session()` at the top of `db.py` is one
plain session (no `scoped_session` registry, no Flask-SQLAlchemy `db.session`) for the
life of the process; so is `conn = psycopg2.connect(...)` there. No web framework ends
it when a request ends: a route that swallows a failed statement on it hands the failed
transaction to every later request of the process, not to a framework that rolls it
back. `long_lived_binding` names such a binding; `ended_at_request_end` tells whether
the project ends it itself when each request ends (a Flask `teardown_appcontext` /
`teardown_request` / `after_request` function that closes, rolls back or removes it),
which makes it the request's session again.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_calls, iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.resources import module_binding
from poolsafe.analysis.values import Connection

#: Flask's hooks that run when each request (or its app context) ends, the
#: blueprint spellings included
REQUEST_END_HOOKS = frozenset({
    "teardown_appcontext", "teardown_request", "after_request",
    "teardown_app_request", "after_app_request"})

#: what ends a session's or connection's transaction at the end of a request
_ENDING = frozenset({"close", "rollback", "remove"})

#: the index's memo (`ProjectIndex.derived`) of the bindings request-end hooks end
_MEMO = "module_sessions.ended_at_request_end"


def long_lived_binding(index: ProjectIndex, module: ModuleInfo,
                       name: str) -> tuple[ModuleInfo, str] | None:
    """The project module and top-level name that `name` (a plain name read at the
    top level of `module`, assigned there or imported from a project module) stands
    for, when that top-level name is a connection or plain session made there once
    (`session = Session()`, `conn = psycopg2.connect(...)`): not a `scoped_session`
    registry or what a module draws from one, not a pool or an engine."""
    if not name or "." in name:
        return None
    bound = module_binding(index, module, name)
    if bound is None:
        return None
    home, top = bound
    if not isinstance(index.lookup_module_name(home, top, 0), Connection):
        return None
    return bound


def ended_at_request_end(index: ProjectIndex, binding: tuple[ModuleInfo, str]) -> bool:
    """Whether a request-end hook of the project closes, rolls back or removes the
    binding (`@app.teardown_appcontext def shutdown(exc): session.close()`, or the
    function registered by `app.teardown_request(shutdown)`)."""
    ended: frozenset[tuple[int, str]] = index.derived(
        f"{_MEMO}:{index.resolution_level}", lambda: _ended_bindings(index))
    return (id(binding[0]), binding[1]) in ended


def _ended_bindings(index: ProjectIndex) -> frozenset[tuple[int, str]]:
    out: set[tuple[int, str]] = set()
    for module in index.modules_mentioning(REQUEST_END_HOOKS):
        for func in _request_end_hooks(module):
            for call in iter_calls(func.node.body):
                f = call.func
                if not (isinstance(f, cst.Attribute) and f.attr.value in _ENDING
                        and isinstance(f.value, cst.Name)):
                    continue
                name = f.value.value
                if name in func.locals or name in func.all_param_names():
                    continue
                bound = module_binding(index, module, name)
                if bound is not None:
                    out.add((id(bound[0]), bound[1]))
    return frozenset(out)


def _request_end_hooks(module: ModuleInfo) -> list[FunctionInfo]:
    """The functions of `module` decorated as, or registered as, a request-end hook."""
    registered: set[str] = set()
    for call in iter_nodes(module.tree, into_functions=True):
        if not isinstance(call, cst.Call):
            continue
        f = call.func
        if isinstance(f, cst.Attribute) and f.attr.value in REQUEST_END_HOOKS \
                and call.args and isinstance(call.args[0].value, cst.Name):
            registered.add(call.args[0].value.value)
    out: list[FunctionInfo] = []
    for func in module.all_functions:
        names = {dotted_name(d.decorator.func if isinstance(d.decorator, cst.Call)
                             else d.decorator) or "" for d in func.node.decorators}
        if func.node.name.value in registered \
                or any(n.rsplit(".", 1)[-1] in REQUEST_END_HOOKS for n in names):
            out.append(func)
    return out

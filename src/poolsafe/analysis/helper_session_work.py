"""Work a project helper does on a module-level session its caller also names.

A Flask view often saves through a model method (`Item(name=name).save()`, whose body
is `db.session.add(self); db.session.commit()`): the statement that fails runs on the
application's one scoped session, `db.session`, which the view itself goes on using.
`helper_session_work` gives the caller's resources such a call works on, so that a
`try` around it counts as work on that session (PS103: the error it swallows left the
session's transaction failed) and so does a later call of the kind (the session used
again before a rollback).
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import body_statements, iter_nodes
from poolsafe.analysis.index import ProjectIndex, held
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.module_sessions import long_lived_binding
from poolsafe.analysis.resources import FunctionResources, module_autocommit, module_binding
from poolsafe.analysis.values import Connection, FunctionRef
from poolsafe.knowledge import NON_WORK_METHODS

#: what ends a session's failed transaction, or hands the failure back cleaned up
_ENDING = frozenset({"rollback", "remove", "close"})

#: the index's memo (`ProjectIndex.derived`) of id(helper def node) -> `_work_of`
_MEMO = "helper_session_work.global_work"


def helper_session_work(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                        res: FunctionResources, call: cst.Call) -> set[str]:
    """The resources of `func` (as `res` names them) that the project function or
    method `call` runs works on in its own body through a module-level name both
    read the same way (`db.session`): empty when the callee ends that session's
    transaction itself (a `rollback()`, `remove()` or `close()` anywhere in it), when
    an `except` of it does not end by raising (what it catches may never reach the
    caller), when it works on its own parameters or locals only, or when it is no
    project code. A module-level session or connection made once at a module's top
    level (`session = Session()` in `db.py`, see `module_sessions`) that the helper
    works on counts even where `func` does not name it (a view calling a model's
    `save_to_db()`): `res` adopts it under the helper's name for it."""
    callee = index.evaluate(call.func, module, func)
    if not isinstance(callee, FunctionRef) or callee.func is func:
        return set()
    helper = callee.func
    worked: set[str] = set()
    for resource in _global_work(index, helper):
        root = resource.split(".", 1)[0]
        mine = res.owner_of(resource)
        if (mine is None or resource in res.adopted) \
                and root not in func.locals and root not in func.all_param_names():
            mine = _adopted(index, module, res, helper, resource)
            if mine is not None:
                worked.add(mine)
            continue
        if mine is None or res.is_local(root) or root in func.all_param_names():
            continue
        if index.evaluate_dotted(resource, helper.module, helper) \
                != index.evaluate_dotted(resource, module, func):
            continue
        worked.add(mine)
    return worked


def _adopted(index: ProjectIndex, module: ModuleInfo, res: FunctionResources,
             helper: FunctionInfo, resource: str) -> str | None:
    """The key under which `res` counts the helper's `resource`, a module-level
    session or connection made once, that the caller does not name: the caller
    module's own name for the same binding (`from db import session as s`) when it
    has one, else the helper's name (adopted) when the caller's module binds no such
    name; None when it is no such session."""
    bound = long_lived_binding(index, helper.module, resource)
    if bound is None:
        return None
    if resource in res.adopted:
        return resource if res.adopted[resource] == bound else None
    for name in (*module.assigns, *module.imports):
        if module_binding(index, module, name) == bound:
            return name if res.owner_of(name) == name else None
    if resource in module.assigns or resource in module.imports \
            or resource in module.functions or resource in module.classes:
        return None
    value = index.lookup_module_name(*bound, 0)
    if not isinstance(value, Connection) or value.autocommit \
            or bound[1] in module_autocommit(index, bound[0]):
        return None  # (a connection its own module puts in autocommit aborts nothing)
    res.adopt(resource, value.kind, bound)
    return resource


def _global_work(index: ProjectIndex, helper: FunctionInfo) -> tuple[str, ...]:
    """The names (`db.session`) outside its parameters and locals that `helper`
    does database work on, once per helper and index; none when it ends one of
    them or has an `except` that does not end by raising."""
    memo: dict[int, tuple[cst.FunctionDef, tuple[str, ...]]] = index.derived(
        f"{_MEMO}:{index.resolution_level}", dict)
    key = id(helper.node)
    known = held(memo, key, helper.node)
    if known is None:
        known = memo[key] = (helper.node, _work_of(index, helper))
    return known[1]


def _work_of(index: ProjectIndex, helper: FunctionInfo) -> tuple[str, ...]:
    if any(isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler))
           and not _ends_raising(node) for node in iter_nodes(helper.node.body)):
        return ()
    own = FunctionResources(index, helper)
    found: list[str] = []
    for inner in helper.direct_calls:
        target = own.receiver(inner)
        if target is None:
            continue
        resource, method = target
        root = resource.split(".", 1)[0]
        if root in helper.locals or root in helper.all_param_names():
            continue
        if method in _ENDING:
            return ()
        if method not in NON_WORK_METHODS and resource not in found:
            found.append(resource)
    return tuple(found)


def _ends_raising(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    stmts = body_statements(handler.body)
    last = stmts[-1] if stmts else None
    return isinstance(last, cst.SimpleStatementLine) \
        and isinstance(last.body[-1], cst.Raise)

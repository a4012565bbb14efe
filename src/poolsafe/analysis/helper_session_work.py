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
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.resources import FunctionResources
from poolsafe.analysis.values import FunctionRef
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
    project code."""
    callee = index.evaluate(call.func, module, func)
    if not isinstance(callee, FunctionRef) or callee.func is func:
        return set()
    helper = callee.func
    worked: set[str] = set()
    for resource in _global_work(index, helper):
        root = resource.split(".", 1)[0]
        mine = res.owner_of(resource)
        if mine is None or res.is_local(root) or root in func.all_param_names():
            continue
        if index.evaluate_dotted(resource, helper.module, helper) \
                != index.evaluate_dotted(resource, module, func):
            continue
        worked.add(mine)
    return worked


def _global_work(index: ProjectIndex, helper: FunctionInfo) -> tuple[str, ...]:
    """The names (`db.session`) outside its parameters and locals that `helper`
    does database work on, once per helper and index; none when it ends one of
    them or has an `except` that does not end by raising."""
    memo: dict[int, tuple[str, ...]] = index.derived(
        f"{_MEMO}:{index.resolution_level}", dict)
    key = id(helper.node)
    if key not in memo:
        memo[key] = _work_of(index, helper)
    return memo[key]


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

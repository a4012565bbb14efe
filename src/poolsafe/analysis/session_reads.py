"""Whether a session a function is handed only runs statements, there and in every
project function it hands the session on to (`fetch(db_session, url)` ->
`find(db_session, url)` -> `db_session.execute(select(...))`): nothing queued,
flushed or committed on it along the way."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.values import FunctionRef

#: how many project functions deep a session handed on is followed
_HANDED_ON_DEPTH = 3


def param_for(func: FunctionInfo, call: cst.Call, arg: cst.Arg) -> str | None:
    """The parameter of `func` that `arg` of `call` binds (positional or keyword)."""
    if arg.keyword is not None:
        name = arg.keyword.value
        return name if func.param(name) is not None else None
    return positional_param(func.param_names(), call, arg)


def positional_param(params: Sequence[str], call: cst.Call, arg: cst.Arg) -> str | None:
    """The name in `params` (positional parameters, in order) that the positional
    `arg` of `call` binds; None after a `*args` argument, whose length is unknown."""
    position = 0
    for a in call.args:
        if a is arg:
            return params[position] if position < len(params) else None
        if a.star:
            return None
        if a.keyword is None:
            position += 1
    return None


def only_runs_statements(index: ProjectIndex, func: FunctionInfo, name: str,
                         methods: frozenset[str], depth: int = 0,
                         hand_on: bool = True, scope: cst.CSTNode | None = None) -> bool:
    """Every use of the plain name `name` in `func`'s body (or only in `scope`, a
    part of it; nested functions included) calls one of `methods` on it
    (`execute`, `scalar`, `get`), or hands it to a project function (resolved, by
    position or keyword) whose parameter is used so in turn, up to
    `_HANDED_ON_DEPTH` deep (not at all when `hand_on` is False). Any other use
    (another method, an attribute, a second name, a callee not resolved) answers
    False."""
    accounted: set[int] = set()
    uses = 0
    for node in iter_nodes(func.node.body if scope is None else scope, into_functions=True):
        if isinstance(node, cst.Name) and node.value == name:
            uses += 1
        if not isinstance(node, cst.Call):
            continue
        f = node.func
        if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) \
                and f.value.value == name:
            if f.attr.value not in methods:
                return False
            accounted.add(id(f.value))
            continue
        for arg in node.args:
            if not (isinstance(arg.value, cst.Name) and arg.value.value == name):
                continue
            if arg.star or not hand_on or depth >= _HANDED_ON_DEPTH:
                return False
            callee = index.evaluate(node.func, func.module, func)
            if not isinstance(callee, FunctionRef) or callee.func is func:
                return False
            param = param_for(callee.func, node, arg)
            if param is None or not only_runs_statements(index, callee.func, param,
                                                         methods, depth + 1):
                return False
            accounted.add(id(arg.value))
    return uses == len(accounted)

"""Bottle's request hooks: the project functions Bottle runs at the start or the end
of every request.

A module that imports `bottle` registers a hook with a decorator,
`@app.hook("before_request")` (any receiver: an app, `bottle`, `self.app`) or bottle's
module-level `@hook("before_request")`, or with `app.add_hook("before_request", func)`,
where `func` is a project function or method. The hook names and methods are
`knowledge.frameworks`' BOTTLE_* tables. A hook name that is not a string literal, or
a handler that is not a project function (a lambda, a call's result), is not read.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import positional_args, string_value
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.values import FunctionRef
from poolsafe.knowledge.frameworks import (
    BOTTLE_HOOK_DECORATORS,
    BOTTLE_HOOK_REGISTRARS,
    BOTTLE_MODULE,
)

#: `ProjectIndex.derived` key of the project's Bottle hooks
_HOOKS_KEY = "bottle_hooks.hooks"


def bottle_hooks(index: ProjectIndex, names: frozenset[str]) -> list[FunctionInfo]:
    """The project functions registered as one of the Bottle hooks `names`."""
    hooks = index.derived(_HOOKS_KEY, lambda: _find_hooks(index))
    return [func for name, func in hooks if name in names]


def is_bottle_hook(index: ProjectIndex, func: FunctionInfo, names: frozenset[str]) -> bool:
    return any(f is func for f in bottle_hooks(index, names))


def _imports_bottle(module: ModuleInfo) -> bool:
    return any(q == BOTTLE_MODULE or q.startswith(BOTTLE_MODULE + ".")
               for q in module.imports.values()) \
        or BOTTLE_MODULE in module.star_imports


def _find_hooks(index: ProjectIndex) -> list[tuple[str, FunctionInfo]]:
    found: list[tuple[str, FunctionInfo]] = []
    words = sorted(BOTTLE_HOOK_DECORATORS | BOTTLE_HOOK_REGISTRARS)
    for module in index.modules_mentioning(words):
        if not _imports_bottle(module):
            continue
        for func in module.all_functions:
            for deco in func.node.decorators:
                name = _decorator_hook(module, deco)
                if name is not None:
                    found.append((name, func))
        for call, owner in module.calls:
            callee = call.func
            if not (isinstance(callee, cst.Attribute)
                    and callee.attr.value in BOTTLE_HOOK_REGISTRARS):
                continue
            args = positional_args(call)
            if len(args) < 2:
                continue
            name = string_value(args[0])
            if name is None:
                continue
            value = index.evaluate(args[1], module, owner)
            if isinstance(value, FunctionRef):
                found.append((name, value.func))
    return found


def _decorator_hook(module: ModuleInfo, deco: cst.Decorator) -> str | None:
    """The hook name of `@app.hook("before_request")` / `@hook("before_request")`."""
    expr = deco.decorator
    if not isinstance(expr, cst.Call):
        return None
    callee = expr.func
    if isinstance(callee, cst.Attribute):
        if callee.attr.value not in BOTTLE_HOOK_DECORATORS:
            return None
    elif isinstance(callee, cst.Name):
        qualname = module.imports.get(callee.value)
        if qualname is None or qualname.rpartition(".")[0] != BOTTLE_MODULE \
                or qualname.rpartition(".")[2] not in BOTTLE_HOOK_DECORATORS:
            return None
    else:
        return None
    args = positional_args(expr)
    return string_value(args[0]) if args else None

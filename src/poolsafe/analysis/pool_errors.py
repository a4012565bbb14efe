"""Handlers of the errors only a connection pool's own methods raise (`except
PoolError:` around a checkout loop): what they see of the `try` body is what held
at its pool calls, not at its statements."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.flow import exception_types
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import external_name
from poolsafe.knowledge import POOL_ONLY_ERRORS


def catches_only_pool_errors(index: ProjectIndex, handler: cst.ExceptHandler
                             | cst.ExceptStarHandler, module: ModuleInfo,
                             func: FunctionInfo) -> bool:
    """Every class `handler` names is a pool's own error (`POOL_ONLY_ERRORS`:
    psycopg2's `PoolError`, psycopg_pool's `PoolTimeout`, ...); a bare `except` or
    any other class: False."""
    if handler.type is None:
        return False
    types = exception_types(handler.type)
    if not types:
        return False
    for t in types:
        name = external_name(index, t, module, func)
        if name is None or (name.split(".", 1)[0], name.rsplit(".", 1)[-1]) \
                not in POOL_ONLY_ERRORS:
            return False
    return True

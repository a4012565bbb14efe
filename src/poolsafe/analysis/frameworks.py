"""Web framework facts about functions: which ones are request handlers."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.values import ExternalInstance
from poolsafe.knowledge import ROUTE_FRAMEWORKS
from poolsafe.knowledge.libraries import root_matches


def route_framework(index: ProjectIndex, func: FunctionInfo) -> str | None:
    """'fastapi' or 'flask' when `func` is registered as a request handler."""
    for deco in func.node.decorators:
        expr = deco.decorator
        if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
            continue
        method = expr.func.attr.value
        owner = index.evaluate(expr.func.value, func.module, None)
        if not isinstance(owner, ExternalInstance):
            continue
        for fw in ROUTE_FRAMEWORKS:
            if method in fw.route_methods and any(
                owner.qualname.rsplit(".", 1)[-1] == name and root_matches(owner.qualname, root)
                for root, name in fw.app_types
            ):
                return fw.name
    return None

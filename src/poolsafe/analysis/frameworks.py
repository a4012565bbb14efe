"""Web framework facts about functions: which ones are request handlers."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo
from poolsafe.analysis.resolution import class_bases
from poolsafe.analysis.values import ClassRef, Connection, External, ExternalInstance, Instance
from poolsafe.knowledge import route_framework_of


def route_framework(index: ProjectIndex, func: FunctionInfo) -> str | None:
    """'fastapi' or 'flask' when `func` is registered as a request handler."""
    for deco in func.node.decorators:
        fw = _route_decorator(index, func, deco)
        if fw is not None:
            return fw
    return None


def hand_built_route_sessions(index: ProjectIndex, func: FunctionInfo
                              ) -> list[tuple[cst.Call, Connection]]:
    """The calls in a FastAPI route's own body that build a SQLAlchemy session by hand
    (`SessionLocal()`, `Session(engine)`; not through a project wrapper), outside the
    items of its `with` statements, with the session each makes: what PS105 reports
    (and fixes with a dependency). PS102 leaves these calls to it, named or inline, so
    that one leak is one finding."""
    if route_framework(index, func) != "fastapi":
        return []
    in_with: set[int] = set()
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.With):
            for item in node.items:
                in_with.add(id(strip_await(item.item)[0]))
    out: list[tuple[cst.Call, Connection]] = []
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.Call) or id(node) in in_with:
            continue
        value = index.evaluate(node, func.module, func)
        if isinstance(value, Connection) and value.kind.is_session and value.via is None:
            out.append((node, value))
    return out


def route_decorator_position(index: ProjectIndex, func: FunctionInfo) -> int | None:
    """The position, among `func`'s decorators (the outermost first), of the one that
    registers it as a request handler (`@router.post(...)`): the decorators above it
    wrap the function after the framework registered it, and the route runs without
    them."""
    for i, deco in enumerate(func.node.decorators):
        if _route_decorator(index, func, deco) is not None:
            return i
    return None


def _route_decorator(index: ProjectIndex, func: FunctionInfo, deco: cst.Decorator) -> str | None:
    expr = deco.decorator
    if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
        return None
    method = expr.func.attr.value
    owner = index.evaluate(expr.func.value, func.module, None)
    qualnames: list[str] = []
    if isinstance(owner, ExternalInstance):
        qualnames = [owner.qualname]
    elif isinstance(owner, Instance):
        # an instance of a project subclass of `Blueprint`/`APIRouter`
        qualnames = library_bases(index, owner.cls)
    for qualname in qualnames:
        fw = route_framework_of(qualname)
        if fw is not None and method in fw.route_methods:
            return fw.name
    return None


def library_bases(index: ProjectIndex, cls: ClassInfo, depth: int = 0) -> list[str]:
    """The library classes a project class derives from, through project bases."""
    if depth > 8:
        return []
    out: list[str] = []
    for base in class_bases(index, cls):
        if isinstance(base, External):
            out.append(base.qualname)
        elif isinstance(base, ClassRef):
            out.extend(library_bases(index, base.cls, depth + 1))
    return out

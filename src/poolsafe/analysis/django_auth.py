"""Django views whose access check queries before their body runs (PS207).

Under `ATOMIC_REQUESTS` Django wraps the resolved view, decorators included, in
`transaction.atomic()`. A check that reads `request.user` loads the session and the
user (DRF's `TokenAuthentication` and knox look the token up), which are queries: by
the body's first statement the request's transaction is open. The checks read here:
`@login_required`-like decorators, `LoginRequiredMixin`-like bases, and DRF
permission classes that let no anonymous request through (`permission_classes =
(IsAuthenticated,)` on the class or a project base, or `@permission_classes([...])`
on a function view). `DEFAULT_PERMISSION_CLASSES` in the settings is not read.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.django_managers import class_body_value
from poolsafe.analysis.index import ProjectIndex, class_bases
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import MAX_RESOLUTION_DEPTH, external_name, qual_match
from poolsafe.analysis.values import ClassRef, External
from poolsafe.knowledge.django import (
    DJANGO_LOGIN_DECORATORS,
    DJANGO_LOGIN_MIXINS,
    DRF_AUTHENTICATED_PERMISSIONS,
    DRF_PERMISSION_ATTRIBUTE,
)


def authenticates_first(index: ProjectIndex, func: FunctionInfo) -> cst.CSTNode | None:
    """The check (a decorator, a base class, a `permission_classes` value) that reads
    the user before `func`, a view or a method of a view class, runs; None when
    there is none known."""
    for deco in func.node.decorators:
        expr = deco.decorator
        callee = expr.func if isinstance(expr, cst.Call) else expr
        qual = external_name(index, callee, func.module, None)
        if qual is None:
            continue
        if qual_match(qual, DJANGO_LOGIN_DECORATORS) is not None:
            return deco.decorator
        if qual.rsplit(".", 1)[-1] == DRF_PERMISSION_ATTRIBUTE and isinstance(expr, cst.Call) \
                and any(_names_authenticated(index, a.value, func.module) for a in expr.args):
            return deco.decorator
    if func.cls is not None:
        return _class_check(index, func.cls, 0)
    return None


def _class_check(index: ProjectIndex, cls: ClassInfo, depth: int) -> cst.CSTNode | None:
    if depth > MAX_RESOLUTION_DEPTH:
        return None
    permissions = class_body_value(cls, DRF_PERMISSION_ATTRIBUTE)
    if permissions is not None:
        # the class's own list replaces its bases' (DRF reads the attribute)
        return permissions if _names_authenticated(index, permissions, cls.module) else None
    for base, value in class_bases(index, cls):
        if isinstance(value, External) and qual_match(value.qualname,
                                                      DJANGO_LOGIN_MIXINS) is not None:
            return base.value
        if isinstance(value, ClassRef):
            found = _class_check(index, value.cls, depth + 1)
            if found is not None:
                return found
    return None


def _names_authenticated(index: ProjectIndex, expr: cst.BaseExpression,
                         module: ModuleInfo) -> bool:
    """`expr` (a tuple or list of permission classes, `A & B` composed) names one
    that requires an authenticated user (`A | B` lets through what either does:
    not read)."""
    if any(isinstance(node, cst.BitOr) for node in iter_nodes(expr)):
        return False
    for node in iter_nodes(expr):
        if isinstance(node, (cst.Name, cst.Attribute)):
            with index.full_resolution():
                qual = external_name(index, node, module, None)
            if qual is not None and qual_match(qual, DRF_AUTHENTICATED_PERMISSIONS) is not None:
                return True
    return False

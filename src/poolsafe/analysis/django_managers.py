"""A project's own Django manager and queryset classes (PS207).

`class OrderManager(models.Manager)` with a method `open_order(self, ...)` that runs
`self.create(...)`, and a model that says `objects = OrderManager()`: then
`Order.objects.open_order(...)` calls that method, and the method's `self.create(...)`
is a query, as `Order.objects.create(...)` is. The index reads attributes set in
methods (`self.x = ...`), not a class body's assignments, so the model's manager is
read here from its class body.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.index import ProjectIndex, class_bases
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import MAX_RESOLUTION_DEPTH, inherited_method, qual_match
from poolsafe.analysis.values import ClassRef, External
from poolsafe.knowledge.django import (
    DJANGO_MANAGER_ATTRIBUTES,
    DJANGO_MANAGER_BASES,
    DJANGO_QUERYSET_QUERIES,
)


def is_manager_class(index: ProjectIndex, cls: ClassInfo, depth: int = 0) -> bool:
    """`cls` derives, perhaps through project classes, from Django's `Manager`,
    `BaseManager` or `QuerySet`."""
    if depth > MAX_RESOLUTION_DEPTH:
        return False
    for _, value in class_bases(index, cls):
        if isinstance(value, External) and qual_match(value.qualname,
                                                      DJANGO_MANAGER_BASES) is not None:
            return True
        if isinstance(value, ClassRef) and is_manager_class(index, value.cls, depth + 1):
            return True
    return False


def manager_self_query(index: ProjectIndex, call: cst.Call, func: FunctionInfo) -> bool:
    """`self.create(...)` (a queryset method that runs a query) in a method of a
    project's manager or queryset class."""
    f = call.func
    return (isinstance(f, cst.Attribute) and f.attr.value in DJANGO_QUERYSET_QUERIES
            and isinstance(f.value, cst.Name) and f.value.value == "self"
            and func.cls is not None and func.is_method
            and is_manager_class(index, func.cls))


def manager_method(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                   func: FunctionInfo | None) -> FunctionInfo | None:
    """The project method `Order.objects.open_order(...)` calls: `Order` is a project
    class whose body sets `objects = OrderManager()` (any manager attribute name of
    `DJANGO_MANAGER_ATTRIBUTES`), and `OrderManager` is a project manager class with
    that method (its own or a project base's)."""
    f = call.func
    if not isinstance(f, cst.Attribute) or not isinstance(f.value, cst.Attribute) \
            or f.value.attr.value not in DJANGO_MANAGER_ATTRIBUTES:
        return None
    model = index.evaluate(f.value.value, module, func)
    if not isinstance(model, ClassRef):
        return None
    made = class_body_value(model.cls, f.value.attr.value)
    if not isinstance(made, cst.Call):
        return None
    manager = index.evaluate(made.func, model.cls.module, None)
    if not isinstance(manager, ClassRef) or not is_manager_class(index, manager.cls):
        return None
    return inherited_method(index, manager.cls, f.attr.value)


def class_body_value(cls: ClassInfo, name: str) -> cst.BaseExpression | None:
    """The value the last `name = ...` of `cls`'s own body assigns."""
    found: cst.BaseExpression | None = None
    for st in cls.node.body.body:
        if not isinstance(st, cst.SimpleStatementLine):
            continue
        for small in st.body:
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                targets = [small.target]
            else:
                continue
            if any(isinstance(t, cst.Name) and t.value == name for t in targets):
                found = small.value
    return found



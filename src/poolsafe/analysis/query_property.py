"""`Model.query` through a `scoped_session` registry's `query_property()`.

SQLAlchemy's documented pattern binds a class attribute to a descriptor built by the
registry (`query = Session.query_property()` in a model's body, or set on the
declarative base: `Base.query = Session.query_property()`); reading `Model.query`
builds a `Query` on the registry's current session, so `Model.query.first()` runs on
that session as `Session.query(Model).first()` does."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, ModuleInfo
from poolsafe.analysis.resolution import MAX_RESOLUTION_DEPTH, Bound, class_body_assigns, resolve
from poolsafe.analysis.values import ClassRef, LibraryObject

#: the registry method that builds the class descriptor
QUERY_PROPERTY_METHOD = "query_property"


def _registry_of(index: ProjectIndex, value: cst.BaseExpression,
                 module: ModuleInfo) -> Bound | None:
    """`Session` in `Session.query_property(...)` when `Session` is a scoped_session
    registry (evaluated in the module the assignment is written in)."""
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == QUERY_PROPERTY_METHOD):
        return None
    registry = value.func.value
    found = index.evaluate(registry, module, None)
    if isinstance(found, LibraryObject) and found.type.is_scoped:
        return Bound(registry, module, None)
    return None


def _set_on(index: ProjectIndex, module: ModuleInfo, attr: str,
           owner: cst.CSTNode) -> cst.BaseExpression | None:
    """`Base.<attr> = value` at the top level of `module`, where `Base` stands for
    `owner` (a class statement, or what a base name was bound from: `Base =
    declarative_base()`): the last one."""
    found: cst.BaseExpression | None = None
    for node, func in module.assign_nodes:
        if func is not None or len(node.targets) != 1:
            continue
        target = node.targets[0].target
        if not (isinstance(target, cst.Attribute) and target.attr.value == attr
                and isinstance(target.value, cst.Name)):
            continue
        value = index.evaluate(target.value, module, None)
        if isinstance(value, ClassRef):
            if value.cls.node is owner:
                found = node.value
        elif resolve(index, target.value, module, None).expr is owner:
            found = node.value
    return found


def query_property_registry(index: ProjectIndex, cls: ClassInfo, attr: str,
                            depth: int = 0) -> Bound | None:
    """The scoped_session registry whose `query_property()` the class attribute `attr`
    of `cls` is (in its body, set on it at its module's top level, or inherited), or
    None (another value binds it first, or none is known)."""
    if depth > MAX_RESOLUTION_DEPTH:
        return None
    own = class_body_assigns(cls).get(attr)
    if own is None:
        own = _set_on(index, cls.module, attr, cls.node)
    if own is not None:
        return _registry_of(index, own, cls.module)  # its own value hides the bases'
    for base in cls.node.bases:
        value = index.evaluate(base.value, cls.module, None)
        if isinstance(value, ClassRef):
            found = query_property_registry(index, value.cls, attr, depth + 1)
        elif isinstance(base.value, (cst.Name, cst.Attribute)):
            # `Base = declarative_base()` elsewhere; `Base.query = Session.query_property()`
            made = resolve(index, base.value, cls.module, None)
            if made.func is not None or not isinstance(made.expr, cst.Call):
                continue
            set_value = _set_on(index, made.module, attr, made.expr)
            found = None if set_value is None else _registry_of(index, set_value, made.module)
        else:
            continue
        if found is not None:
            return found
    return None

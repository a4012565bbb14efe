"""`Model.query` through a `scoped_session` registry's `query_property()`.

SQLAlchemy's documented pattern binds a class attribute to a descriptor built by the
registry (`query = Session.query_property()` in a model's body, or set on the
declarative base: `Base.query = Session.query_property()`); reading `Model.query`
builds a `Query` on the registry's current session, so `Model.query.first()` runs on
that session as `Session.query(Model).first()` does.

The registry may be built inside a setup function that sets the property on the
base and returns the registry (`def init_db(url): ...; session =
scoped_session(...); Base.query = session.query_property(); return engine,
session`), its callers unpacking it (`engine, db_session = init_db(url)`):
`unpacked_return` follows such a name to the element of the tuple returned."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import MAX_RESOLUTION_DEPTH, Bound, class_body_assigns, resolve
from poolsafe.analysis.values import ClassRef, FunctionRef, LibraryObject

#: the registry method that builds the class descriptor
QUERY_PROPERTY_METHOD = "query_property"


def _registry_of(index: ProjectIndex, value: cst.BaseExpression,
                 module: ModuleInfo, func: FunctionInfo | None = None) -> Bound | None:
    """`Session` in `Session.query_property(...)` when `Session` is a scoped_session
    registry (evaluated where the assignment is written: `module`, `func`)."""
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == QUERY_PROPERTY_METHOD):
        return None
    registry = value.func.value
    found = index.evaluate(registry, module, func)
    if isinstance(found, LibraryObject) and found.type.is_scoped:
        return Bound(registry, module, func)
    return None


def _set_on(index: ProjectIndex, module: ModuleInfo, attr: str,
           owner: cst.CSTNode) -> Bound | None:
    """`Base.<attr> = value` in `module`, where `Base` stands for `owner` (a class
    statement, or what a base name was bound from: `Base = declarative_base()`):
    the last one at the top level, else the last one in a function (a setup
    function that builds the registry: `Base.query = session.query_property()`),
    with the function it is written in."""
    found: Bound | None = None
    in_function: Bound | None = None
    for node, func in module.assign_nodes:
        if len(node.targets) != 1:
            continue
        target = node.targets[0].target
        if not (isinstance(target, cst.Attribute) and target.attr.value == attr
                and isinstance(target.value, cst.Name)):
            continue
        if func is not None and target.value.value in func.locals:
            continue  # a local of that name, not the module's base
        value = index.evaluate(target.value, module, None)
        if (value.cls.node is owner if isinstance(value, ClassRef)
                else resolve(index, target.value, module, None).expr is owner):
            if func is None:
                found = Bound(node.value, module, None)
            else:
                in_function = Bound(node.value, module, func)
    return found or in_function


def query_property_registry(index: ProjectIndex, cls: ClassInfo, attr: str,
                            depth: int = 0) -> Bound | None:
    """The scoped_session registry whose `query_property()` the class attribute `attr`
    of `cls` is (in its body, set on it at its module's top level, or inherited), or
    None (another value binds it first, or none is known)."""
    if depth > MAX_RESOLUTION_DEPTH:
        return None
    own = class_body_assigns(cls).get(attr)
    if own is not None:
        return _registry_of(index, own, cls.module)  # its own value hides the bases'
    set_on = _set_on(index, cls.module, attr, cls.node)
    if set_on is not None:
        return _registry_of(index, set_on.expr, set_on.module, set_on.func)
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
            found = None if set_value is None else _registry_of(
                index, set_value.expr, set_value.module, set_value.func)
        else:
            continue
        if found is not None:
            return found
    return None


def unpacked_return(index: ProjectIndex, name: str, module: ModuleInfo,
                    func: FunctionInfo | None) -> Bound | None:
    """What the name `name` (read in `func`, or at `module`'s top level) was bound to
    when its only binding there is the call of a project setup function (`db_session
    = init_db(url)`, or unpacked: `engine, db_session = init_db(url)`) whose every
    `return` gives the same expression there (`return session`; `return engine,
    session`, a tuple of that length): that expression, in the setup function. None
    otherwise."""
    scope = func
    while scope is not None and name not in scope.locals:
        scope = scope.parent
    if scope is not None and name in scope.all_param_names():
        return None
    binds: list[tuple[cst.Assign, int | None]] = []
    for node, where in module.assign_nodes:
        if where is not scope:
            continue
        for t in node.targets:
            if isinstance(t.target, cst.Name) and t.target.value == name:
                binds.append((node, None))
            elif isinstance(t.target, cst.Tuple):
                binds.extend((node, i) for i, e in enumerate(t.target.elements)
                             if isinstance(e.value, cst.Name) and e.value.value == name)
    if len(binds) != 1:
        return None
    node, position = binds[0]
    if scope is not None:
        alone = len(scope.locals.get(name, [])) == 1
    else:  # (a name unpacked from a call holds no value in `assigns`)
        values = module.assigns.get(name, [])
        alone = values == [] if position is not None else (
            len(values) == 1 and values[0] is node.value)
    if not alone:
        return None  # bound to another value too
    if len(node.targets) != 1 or not isinstance(node.value, cst.Call):
        return None
    callee = index.evaluate(node.value.func, module, scope)
    if not isinstance(callee, FunctionRef) or not callee.func.returns:
        return None
    found: list[cst.BaseExpression] = []
    for ret in callee.func.returns:
        value = ret.value
        if value is None:
            return None
        if position is not None:
            target = node.targets[0].target
            if not isinstance(value, cst.Tuple) or not isinstance(target, cst.Tuple) \
                    or len(value.elements) != len(target.elements):
                return None
            value = value.elements[position].value
        found.append(value)
    if not all(f.deep_equals(found[-1]) for f in found):
        return None
    return Bound(found[-1], callee.func.module, callee.func)

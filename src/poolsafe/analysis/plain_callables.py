"""A callable attribute that only ever holds a lambda which makes no call.

    class Observer:
        def __init__(self):
            self._worker_active = lambda: True

        def set_worker_check(self, check):
            self._worker_active = check

        async def loop(self):
            conn = None
            while self._worker_active():   # cannot raise
                ...

    observer.set_worker_check(lambda: worker_active)

`self._worker_active()` (no arguments) runs a lambda whose body only reads a name, is
a constant, or reads a field of the instance it is written in (`lambda: self._stopped`,
in a method of a class with no base and no method or property of that name, whose
`__init__` sets `self._stopped` in its own body): it cannot fail, so the flow analysis
(PS102) does not take it for a place where a held connection leaves by an exception. Every value the
attribute gets must be known: each `self.<attr> = ...` in the class's methods binds
such a lambda, or a parameter of that method whose every call in the project passes
one (`session_handback.plain_call_sites`: none when the method is handed on as a
value); and no code outside the class's methods assigns `<something>.<attr>`. A
lambda that calls anything (`lambda: worker.is_alive()`), an attribute the class
takes from elsewhere, or a method never called by name, may raise.
"""

from __future__ import annotations

import weakref

import libcst as cst

from poolsafe.analysis.cstutil import argument_for, body_statements, dotted_name, iter_nodes
from poolsafe.analysis.index import ProjectIndex, held
from poolsafe.analysis.module import ClassInfo, FunctionInfo
from poolsafe.analysis.session_handback import plain_call_sites

_MEMO: weakref.WeakKeyDictionary[ProjectIndex, dict[tuple[int, str],
                                                    tuple[cst.ClassDef, bool]]] = (
    weakref.WeakKeyDictionary())


def calls_plain_lambda(index: ProjectIndex, func: FunctionInfo, call: cst.Call) -> bool:
    """`call` is `self.<attr>()` in a method of a class whose `<attr>` only ever
    holds a lambda that makes no call."""
    f = call.func
    cls = func.cls
    if call.args or cls is None or not isinstance(f, cst.Attribute) \
            or not isinstance(f.value, cst.Name) or f.value.value != "self" \
            or f.attr.value in cls.methods:
        return False
    memo = _MEMO.setdefault(index, {})
    key = (id(cls.node), f.attr.value)
    known = held(memo, key, cls.node)
    if known is not None:
        return known[1]
    memo[key] = (cls.node, False)
    answer = _only_plain_lambdas(index, cls, f.attr.value)
    memo[key] = (cls.node, answer)
    return answer


def _only_plain_lambdas(index: ProjectIndex, cls: ClassInfo, attr: str) -> bool:
    own: set[int] = set()
    values = 0
    for method in cls.methods.values():
        for node in iter_nodes(method.node.body):
            target, value = _attribute_assignment(node, attr)
            if target is None or value is None:
                continue
            own.add(id(target))
            if not (isinstance(target.value, cst.Name) and target.value.value == "self"):
                return False
            if not _plain_value(index, method, value):
                return False
            values += 1
    if not values:
        return False
    # nobody else assigns the attribute (`observer._worker_active = fn`)
    for module in index.modules_mentioning([attr]):
        for node in iter_nodes(module.tree, into_functions=True):
            target, _ = _attribute_assignment(node, attr)
            if target is not None and id(target) not in own:
                return False
    return True


def _attribute_assignment(node: cst.CSTNode, attr: str
                          ) -> tuple[cst.Attribute | None, cst.BaseExpression | None]:
    """(`x.<attr>`, the value) when `node` assigns `x.<attr> = value`."""
    targets: list[cst.BaseExpression] = []
    value: cst.BaseExpression | None = None
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
        value = node.value
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        targets = [node.target]
        value = node.value if isinstance(node, cst.AnnAssign) else None
    for t in targets:
        if isinstance(t, cst.Attribute) and t.attr.value == attr:
            return t, value if len(targets) == 1 else None
        if isinstance(t, (cst.Tuple, cst.List)) and any(
                isinstance(e.value, cst.Attribute) and e.value.attr.value == attr
                for e in t.elements):
            return next(e.value for e in t.elements if isinstance(e.value, cst.Attribute)
                        and e.value.attr.value == attr), None
    return None, None


def _plain_value(index: ProjectIndex, method: FunctionInfo,
                 value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Lambda):
        return _plain_lambda(value, method)
    if not isinstance(value, cst.Name) or value.value not in method.all_param_names() \
            or value.value in method.locals:
        return False
    params = method.param_names()
    position = params.index(value.value) if value.value in params else None
    sites = plain_call_sites(index, method)
    if not sites:
        return False
    for site in sites:
        passed = argument_for(site.call, value.value, position)
        if not (isinstance(passed, cst.Lambda) and _plain_lambda(passed, site.func)):
            return False
    return True


def _plain_lambda(node: cst.Lambda, scope: FunctionInfo | None) -> bool:
    """A lambda of no parameters whose body is a name, a
    constant, a plain attribute of `self` (`_data_attribute`), or `not` of one: it
    reads a local, a closure's name or an instance's field, and calls nothing.
    `scope`: the function the lambda is written in."""
    p = node.params
    if p.params or p.posonly_params or p.kwonly_params or isinstance(p.star_arg, cst.Param) \
            or p.star_kwarg is not None:
        return False
    body = node.body
    if isinstance(body, cst.UnaryOperation) and isinstance(body.operator, cst.Not):
        body = body.expression
    if isinstance(body, cst.Attribute):
        return _data_attribute(body, scope)
    return isinstance(body, (cst.Name, cst.Integer, cst.Float, cst.SimpleString))


def _data_attribute(node: cst.Attribute, scope: FunctionInfo | None) -> bool:
    """`self.<attr>` read in a method (not a nested function) of a class with no base
    (or only `object`) whose `__init__` sets `self.<attr> = ...` as a statement of its
    own body, and that defines no method (no property) of that name: the read finds
    the field, and runs no code."""
    if not (isinstance(node.value, cst.Name) and node.value.value == "self") \
            or scope is None or scope.cls is None or scope.parent is not None:
        return False
    params = [*scope.node.params.posonly_params, *scope.node.params.params]
    cls = scope.cls
    attr = node.attr.value
    if not params or params[0].name.value != "self" or attr in cls.methods \
            or any(dotted_name(b.value) != "object" for b in cls.node.bases):
        return False
    init = cls.methods.get("__init__")
    if init is None:
        return False
    for stmt in body_statements(init.node.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                target, _ = _attribute_assignment(small, attr)
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                        and target.value.value == "self":
                    return True
    return False

"""A session or connection an object opens in `__init__` and never closes, where every
object of the class dies with the function that made it (PS102).

    class Guide:
        def __init__(self, day):
            self.day = day
            self.session = Session()              # the checkout, kept on self

        def rows(self):
            return active_rows(self.session)      # a helper that only runs work on it

    @app.route("/guide")
    def guide():
        return {"n": len(Guide("mon").rows())}   # the object, and its session, dropped

The flow analysis of `__init__` sees the checkout stored on `self` and leaves it to the
object. When the object never closes it and no caller can, each construction leaves a
session open. Reported at the checkout when:

- every `self.<attr> = ...` of the class is in its `__init__` and one of them acquires
  (a call that evaluates to a connection or session; `None` otherwise), and the class
  body gives the attribute no shared value;
- the class (or a project base) has no `__exit__` / `__aexit__` / `__del__`, no method
  that can run on such an object (`__init__`, the ones its users reach on it and those
  these reach through `self`) releases `self.<attr>` or hands it to a call other than
  a project helper that only runs work on it (`local_holder`), and `__init__` does not
  hand out `self`;
- the project constructs the class at least once, outside the tests, and every such
  construction is in a function, as a temporary reached through at once
  (`Guide("mon").rows()`) or a local bound once and only reached through, and no method
  reached on it hands out `self` or the attribute. A construction at module level (one
  object for the process), returned, stored or passed on is the caller's to close, and
  leaves the class alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import children, iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.local_holder import (
    dies_with_caller,
    lent_to_helpers,
    reached_methods,
    released_by_class,
)
from poolsafe.analysis.local_owner import escapes, hands_out, method_of
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo, enclosing_function
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.analysis.values import ClassRef, Connection

#: methods whose presence means the object may close what it holds by itself
_CLOSING_HOOKS = ("__exit__", "__aexit__", "__del__")


@dataclass(frozen=True)
class InitGap:
    #: the checkout (`Session()`) stored on `self` in `__init__`
    checkout: cst.Call
    conn: Connection
    attr: str
    cls: ClassInfo
    #: the functions that make (and drop) the objects
    makers: tuple[FunctionInfo, ...]


def init_checkout_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[InitGap]:
    if "__init__" not in module.source or is_test_module(module):
        return
    for cls in list(module.classes.values()):
        init = cls.methods.get("__init__")
        if init is None or escapes(init.node, "self", "", set()) \
                or any(method_of(index, cls, hook) is not None for hook in _CLOSING_HOOKS):
            continue
        for attr in list(cls.attributes):
            checkout = _acquired_in_init(index, cls, attr)
            if checkout is None:
                continue
            call, conn = checkout
            lent = lent_to_helpers(index, cls, attr)
            makers, reads = _every_object_dropped(index, cls, attr, lent)
            if makers and not released_by_class(
                    cls, attr, lent, reached_methods(index, cls, reads | {"__init__"})):
                yield InitGap(call, conn, attr, cls, tuple(makers))


def _acquired_in_init(index: ProjectIndex, cls: ClassInfo, attr: str
                      ) -> tuple[cst.Call, Connection] | None:
    """The one acquiring call `__init__` stores under `self.<attr>`, when every value
    the class gives the attribute is that call or `None`, all in `__init__` (a class
    body value other than `None` is shared by every instance)."""
    if any(not _is_none(v) for v in cls.class_values.get(attr, [])):
        return None
    values = cls.attributes.get(attr, [])
    scopes = cls.attribute_scopes.get(attr, [])
    if not values or len(values) != len(scopes):
        return None
    found: tuple[cst.Call, Connection] | None = None
    for value, scope in zip(values, scopes, strict=True):
        if scope.name != "__init__" or scope.parent is not None:
            return None
        inner, _ = strip_await(value)
        if _is_none(inner):
            continue
        made = index.evaluate(inner, scope.module, scope) \
            if isinstance(inner, cst.Call) else None
        if not isinstance(made, Connection) or found is not None:
            return None
        assert isinstance(inner, cst.Call)
        found = (inner, made)
    return found


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _every_object_dropped(index: ProjectIndex, cls: ClassInfo, attr: str, lent: set[int]
                          ) -> tuple[list[FunctionInfo], set[str]]:
    """The functions that construct `cls`, when every construction in the project
    (outside the tests; at least one) builds an object that dies with its function and
    through which nothing reaches the attribute or `self` out (none otherwise), and
    the attributes they read on the objects."""
    makers: list[FunctionInfo] = []
    reads: set[str] = set()
    for m in index.modules_mentioning([cls.name]):
        parents: dict[int, cst.CSTNode] = {}
        for node in iter_nodes(m.tree, into_functions=True):
            for child in children(node):
                parents[id(child)] = node
        for node in iter_nodes(m.tree, into_functions=True):
            if not isinstance(node, cst.Name) or node.value != cls.name:
                continue
            up = parents.get(id(node))
            if isinstance(up, (cst.ClassDef, cst.ImportAlias, cst.AsName)):
                continue
            value = index.evaluate(node, m, enclosing_function(node, parents, m))
            if not (isinstance(value, ClassRef) and value.cls is cls):
                continue
            if is_test_module(m):
                continue
            if not (isinstance(up, cst.Call) and up.func is node):
                return [], reads  # named as a value: a subclass, a factory table, a type
            func = enclosing_function(up, parents, m)
            if func is None:
                return [], reads  # made at module level: one object for the process
            read = dies_with_caller(func, up, {attr})
            if read is None or hands_out(index, cls, attr, read, lent):
                return [], reads
            reads |= read
            if func not in makers:
                makers.append(func)
    return makers, reads

"""A Django queue drain that claims one row per round: `while (job :=
next_jobs().first()):` whose body moves that row out of the queryset the test reads,
through a method of the row's model (`job.mark_running()`: `self.status =
self.Status.RUNNING`, then `self.save()`). Each round takes one row out of what the test
selects, so the loop ends when no row is left (PS107: with no wait, it is a batch run,
not a process that stays up).

Sound only when every part is visible: the test's queryset is one model's manager chain
(directly or through project functions that return it) filtered on a field by a
constant; the body calls the method at its top level, before anything but a `break` or
an exception can end the round (no `continue`); the method sets that field at its top
level to a constant that differs from the filter's and then saves (all fields, or
`update_fields` naming it). Constants are literals or members of one choices class
(`Status.SCHEDULED` against `Status.RUNNING`) whose values are distinct literals.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, keyword_arg, loop_own_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import class_bases, inherited_method
from poolsafe.analysis.values import ClassRef, FunctionRef

#: queryset methods that take one row
_ONE_ROW = frozenset({"first", "last"})
#: queryset methods that only narrow or order what the chain selects
_NARROWING = frozenset({"filter", "exclude", "order_by", "select_related",
                        "prefetch_related", "all", "only", "defer", "using"})
_DEPTH = 3

#: a constant as this module compares them: a literal's value
_Const = str | int | bool | None


def claims_rows(index: ProjectIndex, func: FunctionInfo, loop: cst.While) -> bool:
    """`loop` is a drain that claims the row its test takes (module docstring). The
    caller checks that the loop waits for nothing."""
    test = loop.test
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
            and isinstance(test.comparisons[0].operator, cst.IsNot) \
            and isinstance(test.comparisons[0].comparator, cst.Name) \
            and test.comparisons[0].comparator.value == "None":
        test = test.left
    if not (isinstance(test, cst.NamedExpr) and isinstance(test.target, cst.Name)):
        return False
    var = test.target.value
    taken = test.value
    if not (isinstance(taken, cst.Call) and not taken.args
            and isinstance(taken.func, cst.Attribute) and taken.func.attr.value in _ONE_ROW):
        return False
    with index.full_resolution():
        chain = _chain(index, func.module, func, taken.func.value, 0)
    if chain is None:
        return False
    model, filters = chain
    if not filters or not isinstance(loop.body, cst.IndentedBlock):
        return False
    for node in loop_own_nodes(loop.body):
        if isinstance(node, cst.Continue):
            return False
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)) \
                and _rebinds(node, var):
            return False
    for stmt in loop.body.body:
        method = _method_called(stmt, var)
        if method is None:
            continue
        with index.full_resolution():
            found = inherited_method(index, model, method)
            if found is not None and _moves_out(index, model, found, filters):
                return True
    return False


def _rebinds(node: cst.Assign | cst.AugAssign | cst.AnnAssign, var: str) -> bool:
    targets = ([t.target for t in node.targets] if isinstance(node, cst.Assign)
               else [node.target])
    return any(isinstance(n, cst.Name) and n.value == var for t in targets
               for n in iter_nodes(t))


def _method_called(stmt: cst.BaseStatement, var: str) -> str | None:
    """`var.method()` as a statement of its own: the method's name."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)):
        return None
    call = stmt.body[0].value
    if isinstance(call, cst.Call) and not call.args and isinstance(call.func, cst.Attribute) \
            and isinstance(call.func.value, cst.Name) and call.func.value.value == var:
        return call.func.attr.value
    return None


_Filter = tuple[cst.BaseExpression, ModuleInfo, FunctionInfo | None]


def _chain(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
           expr: cst.BaseExpression, depth: int
           ) -> tuple[ClassInfo, dict[str, _Filter]] | None:
    """The model and the `field=value` filters of a manager chain
    (`Job.objects.filter(status=...).order_by("id")`), through project functions
    without parameters that return one (`get_scheduled_jobs().first()`)."""
    filters: dict[str, _Filter] = {}
    while True:
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) \
                and expr.func.attr.value in _NARROWING:
            if expr.func.attr.value == "filter":
                for arg in expr.args:
                    if arg.star:
                        return None
                    if arg.keyword is not None and "__" not in arg.keyword.value:
                        filters.setdefault(arg.keyword.value, (arg.value, module, func))
            expr = expr.func.value
            continue
        break
    if isinstance(expr, cst.Attribute) and expr.attr.value == "objects":
        value = index.evaluate(expr.value, module, func)
        return (value.cls, filters) if isinstance(value, ClassRef) else None
    if isinstance(expr, cst.Call) and not expr.args and depth < _DEPTH:
        value = index.evaluate(expr.func, module, func)
        if not isinstance(value, FunctionRef):
            return None
        returns = [n for n in iter_nodes(value.func.node.body) if isinstance(n, cst.Return)]
        if len(returns) != 1 or returns[0].value is None or value.func.param_names():
            return None
        inner = _chain(index, value.func.module, value.func, returns[0].value, depth + 1)
        if inner is None:
            return None
        model, more = inner
        return model, {**more, **filters}
    return None


def _moves_out(index: ProjectIndex, model: ClassInfo, method: FunctionInfo,
               filters: dict[str, _Filter]) -> bool:
    """`method`'s top level sets a field the filters test to a constant other than the
    filter's, and then calls `self.save()` (saving that field); it has no `return`."""
    body = method.node.body
    if not isinstance(body, cst.IndentedBlock) or any(
            isinstance(n, cst.Return) for n in iter_nodes(body)):
        return False
    moved: set[str] = set()
    for stmt in body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                        and target.value.value == "self" and target.attr.value in filters:
                    field = target.attr.value
                    wanted = filters[field]
                    new = _constant(index, model, small.value, method.module, method)
                    old = _constant(index, model, *wanted)
                    if new is not None and old is not None and new[0] != old[0]:
                        moved.add(field)
                    else:
                        moved.discard(field)
            elif isinstance(small, cst.Expr) and _saves(small.value, moved):
                return True
    return False


def _saves(expr: cst.BaseExpression, moved: set[str]) -> bool:
    """`self.save()` (or `update_fields=[...]` naming a moved field) after a move."""
    if not (moved and isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "save" and isinstance(expr.func.value, cst.Name)
            and expr.func.value.value == "self"):
        return False
    fields = keyword_arg(expr, "update_fields")
    if fields is None:
        return not any(a.keyword is None for a in expr.args)
    if not isinstance(fields, (cst.List, cst.Tuple)):
        return False
    named = {e.value.evaluated_value for e in fields.elements
             if isinstance(e.value, cst.SimpleString)}
    return bool(moved & named)


def _constant(index: ProjectIndex, model: ClassInfo, expr: cst.BaseExpression,
              module: ModuleInfo, func: FunctionInfo | None) -> tuple[_Const] | None:
    """The value of a literal, or of a member of a choices class nested in the model or
    a project base of it (`Status.RUNNING`, `self.Status.RUNNING`,
    `Job.Status.RUNNING`): `("RUNNING",)`; None when not known."""
    literal = _literal(expr)
    if literal is not None:
        return literal
    if not (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Attribute)):
        return None
    member, holder = expr.attr.value, expr.value
    owner = holder.value
    if isinstance(owner, cst.Name) and owner.value == "self":
        if func is None or func.cls is None:
            return None
        start: ClassInfo = func.cls
    else:
        value = index.evaluate(owner, module, func)
        if not isinstance(value, ClassRef):
            return None
        start = value.cls
    if not (_in_hierarchy(index, model, start) or _in_hierarchy(index, start, model)):
        return None
    choices = _nested_class(index, start, holder.attr.value)
    if choices is None or not isinstance(choices.body, cst.IndentedBlock):
        return None
    values: dict[str, tuple[_Const]] = {}
    for stmt in choices.body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name):
                    raw = small.value
                    if isinstance(raw, cst.Tuple) and raw.elements:
                        raw = raw.elements[0].value
                    found = _literal(raw)
                    if found is None:
                        return None  # a member not known: two may share a value
                    values[small.targets[0].target.value] = found
    if member not in values or sum(v == values[member] for v in values.values()) != 1:
        return None
    return values[member]


def _literal(expr: cst.BaseExpression) -> tuple[_Const] | None:
    if isinstance(expr, cst.SimpleString) and isinstance(expr.evaluated_value, str):
        return (expr.evaluated_value,)
    if isinstance(expr, cst.Integer):
        return (int(expr.value, 0),)
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return ({"True": True, "False": False, "None": None}[expr.value],)
    return None


def _hierarchy(index: ProjectIndex, cls: ClassInfo) -> list[ClassInfo]:
    """`cls` and its project bases, nearest first (a bounded breadth-first walk)."""
    found: list[ClassInfo] = [cls]
    seen = {id(cls.node)}
    for current in found:
        if len(found) > 4 * _DEPTH:
            break
        for base in class_bases(index, current):
            if isinstance(base, ClassRef) and id(base.cls.node) not in seen:
                seen.add(id(base.cls.node))
                found.append(base.cls)
    return found


def _in_hierarchy(index: ProjectIndex, cls: ClassInfo, base: ClassInfo) -> bool:
    """`base` is `cls` or one of its project bases."""
    return any(c.node is base.node for c in _hierarchy(index, cls))


def _nested_class(index: ProjectIndex, cls: ClassInfo, name: str) -> cst.ClassDef | None:
    """The class `name` defined in the body of `cls` or of a project base of it."""
    for holder in _hierarchy(index, cls):
        body = holder.node.body
        if isinstance(body, cst.IndentedBlock):
            found = next((s for s in body.body
                          if isinstance(s, cst.ClassDef) and s.name.value == name), None)
            if found is not None:
                return found
    return None

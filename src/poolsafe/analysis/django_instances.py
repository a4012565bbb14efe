"""Methods of Django model instances a function got from the model's manager (PS207).

A Django project often keeps its side effects on the model ("fat models"):

    class Ticket(models.Model):
        def send_confirmation(self):
            send_mail(...)

and a view calls them on rows it has just read or written:

    with transaction.atomic():
        tickets = Ticket.objects.filter(owner=user)
        tickets.update(holder=None)
        for ticket in tickets:
            ticket.send_confirmation()

The index types `Ticket.objects` but not what its queries return. This module answers,
for a call `x.method(...)`, the project method it runs when `x` is a row of a project
model:
- `Model.objects.get(...)` / `.first()` / `.last()` / `.create(...)` / `.earliest()` /
  `.latest()`, on the manager or on a queryset chain built from it (`filter`,
  `exclude`, `all`, `order_by`, `select_related`, `select_for_update`, ...), and
  `get_object_or_404(Model, ...)`; a subscript of such a queryset (`qs[0]`);
- a local name every binding of which is such a row, or the first of a generator
  over such rows (`next(t for t in rows if t.type == kind)`);
- a project model's related manager (`cart.tickets`: a `ManyToManyField` attribute, or
  a relation field's `related_name`, that names one project model across the project)
  and a queryset chain built from it;
- the target of a `for` loop over such a queryset (`for t in Ticket.objects.filter(...)`,
  a local bound only to querysets of the model, `list(qs)`, or a local list the
  function starts empty and only `extend`s with querysets of the model or `append`s
  rows of it to).
Django's own row methods that run queries (`save`, `delete`, `refresh_from_db`) are
left to the query reading; a method the model does not define (nor a project base)
answers None.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, keyword_arg
from poolsafe.analysis.django_threads import is_django_model
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo, Opaque
from poolsafe.analysis.resolution import (
    agreed_class,
    external_name,
    inherited_method,
    qual_match,
)
from poolsafe.analysis.values import ClassRef, External
from poolsafe.knowledge.django import (
    DJANGO_INSTANCE_QUERIES,
    DJANGO_MANAGER_ATTRIBUTES,
    DJANGO_MANY_TO_MANY,
    DJANGO_QUERYSET_CHAIN,
    DJANGO_RELATED_NAME,
    DJANGO_RELATION_FIELDS,
    DJANGO_RELATION_WORDS,
    DJANGO_ROW_GETTERS,
    DJANGO_ROW_SHORTCUTS,
)

#: how many steps (a name to its bindings, a queryset method to its receiver) the
#: reading follows: a guard against names bound to each other
_MAX_DEPTH = 16
#: the builtins that make a list of an iterable's rows
_LISTING = frozenset({"list", "sorted", "tuple"})


def model_instance_method(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                          func: FunctionInfo | None) -> FunctionInfo | None:
    """The project method `x.method(...)` runs when `x` is a row of a project model
    read through its manager (see the module docstring)."""
    f = call.func
    if not isinstance(f, cst.Attribute) or f.attr.value in DJANGO_INSTANCE_QUERIES:
        return None
    model = _row_model(index, f.value, module, func, 0)
    if model is None:
        return None
    return inherited_method(index, model, f.attr.value)


def _model_class(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                 func: FunctionInfo | None) -> ClassInfo | None:
    value = index.evaluate(expr, module, func)
    if isinstance(value, ClassRef) and is_django_model(index, value):
        return value.cls
    return None


def _queryset_model(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                    func: FunctionInfo | None, depth: int) -> ClassInfo | None:
    """The project model whose rows `expr` (a manager or a queryset of it) yields."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, cst.Attribute) and expr.attr.value in DJANGO_MANAGER_ATTRIBUTES:
        return _model_class(index, expr.value, module, func)
    if isinstance(expr, cst.Attribute) and index.evaluate(expr, module, func) is None:
        # `cart.tickets`: a related manager the project declares for one model
        return _related_models(index).get(expr.attr.value)
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) \
            and expr.func.attr.value in DJANGO_QUERYSET_CHAIN:
        return _queryset_model(index, expr.func.value, module, func, depth + 1)
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 \
            and isinstance(expr.slice[0].slice, cst.Slice):
        return _queryset_model(index, expr.value, module, func, depth + 1)
    if isinstance(expr, cst.Name) and func is not None:
        if expr.value in func.all_param_names() or expr.value in func.globals_declared:
            return None
        return agreed_class(func.locals.get(expr.value, []),
                            lambda v: _queryset_model(index, v, module, func, depth + 1))
    return None


def _rows_model(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                func: FunctionInfo | None, depth: int) -> ClassInfo | None:
    """The project model whose rows iterating `expr` yields: a queryset, `list(qs)`,
    or a local list built only from such rows."""
    if depth > _MAX_DEPTH:
        return None
    found = _queryset_model(index, expr, module, func, depth)
    if found is not None:
        return found
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) \
            and expr.func.value in _LISTING and len(expr.args) == 1 \
            and not expr.args[0].star and expr.args[0].keyword is None:
        return _rows_model(index, expr.args[0].value, module, func, depth + 1)
    if isinstance(expr, cst.Name) and func is not None \
            and expr.value not in func.all_param_names() \
            and expr.value not in func.globals_declared:
        return agreed_class(func.locals.get(expr.value, []),
                            lambda v: _rows_model(index, v, module, func, depth + 1)) \
            or _built_list(index, expr.value, module, func, depth + 1)
    return None


def _built_list(index: ProjectIndex, name: str, module: ModuleInfo, func: FunctionInfo,
                depth: int) -> ClassInfo | None:
    """`name = []` (its only bindings), then only `name.extend(rows)` and
    `name.append(row)` of one project model, at least one of them."""
    values = func.locals.get(name, [])
    if not values or not all(isinstance(v, cst.List) and not v.elements for v in values):
        return None
    if name in func.globals_declared or name in func.all_param_names():
        return None
    models: list[ClassInfo | None] = []
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute) \
                or not isinstance(node.func.value, cst.Name) \
                or node.func.value.value != name:
            continue
        method = node.func.attr.value
        if method not in ("extend", "append") or len(node.args) != 1 or node.args[0].star:
            return None
        arg = node.args[0].value
        models.append(_rows_model(index, arg, module, func, depth + 1) if method == "extend"
                      else _row_model(index, arg, module, func, depth + 1))
    if not models or any(m is None for m in models) \
            or len({id(m) for m in models}) != 1:
        return None
    return models[0]


def _row_model(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
               func: FunctionInfo | None, depth: int) -> ClassInfo | None:
    """The project model `expr` is a row of."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, cst.Call):
        f = expr.func
        if isinstance(f, cst.Attribute) and f.attr.value in DJANGO_ROW_GETTERS:
            return _queryset_model(index, f.value, module, func, depth + 1)
        if isinstance(f, cst.Name) and f.value == "next" and expr.args \
                and isinstance(expr.args[0].value, cst.GeneratorExp):
            # `next(t for t in rows if ...)`: the first matching row
            gen = expr.args[0].value
            if gen.for_in.inner_for_in is None and isinstance(gen.elt, cst.Name) \
                    and isinstance(gen.for_in.target, cst.Name) \
                    and gen.elt.value == gen.for_in.target.value:
                return _rows_model(index, gen.for_in.iter, module, func, depth + 1)
            return None
        qual = external_name(index, f, module, func)
        if qual is not None and qual_match(qual, DJANGO_ROW_SHORTCUTS) is not None \
                and expr.args and not expr.args[0].star and expr.args[0].keyword is None:
            return _model_class(index, expr.args[0].value, module, func)
        return None
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 \
            and isinstance(expr.slice[0].slice, cst.Index):
        return _queryset_model(index, expr.value, module, func, depth + 1)
    if isinstance(expr, cst.Name) and func is not None:
        values = func.locals.get(expr.value, [])
        if not values or expr.value in func.all_param_names() \
                or expr.value in func.globals_declared:
            return None
        loops = [n for n in iter_nodes(func.node.body)
                 if isinstance(n, cst.For) and isinstance(n.target, cst.Name)
                 and n.target.value == expr.value]
        opaque = [v for v in values if isinstance(v, Opaque)]
        if len(opaque) != len(loops):
            return None  # a binding other than a plain `for name in ...` loop
        found = [_rows_model(index, loop.iter, module, func, depth + 1) for loop in loops]
        found += [_row_model(index, v, module, func, depth + 1)
                  if isinstance(v, cst.BaseExpression) else None
                  for v in values if not isinstance(v, Opaque)]
        if not found or any(m is None for m in found) or len({id(m) for m in found}) != 1:
            return None
        return found[0]
    return None


_RELATED = "_django_instances_related_models"


def _related_models(index: ProjectIndex) -> dict[str, ClassInfo]:
    """Related-manager name -> the one project model whose rows it yields: a
    `ManyToManyField` attribute yields its target's rows, a relation field's
    `related_name` the declaring model's; a name two models share is left out."""
    return index.derived(_RELATED, lambda: _find_related_models(index))


def _find_related_models(index: ProjectIndex) -> dict[str, ClassInfo]:
    found: dict[str, list[ClassInfo]] = {}
    with index.full_resolution():
        for module in index.modules_mentioning(DJANGO_RELATION_WORDS):
            for cls in module.classes.values():
                for st in cls.node.body.body:
                    if not isinstance(st, cst.SimpleStatementLine):
                        continue
                    for small in st.body:
                        for name, model in _relations(index, module, cls, small):
                            found.setdefault(name, []).append(model)
    return {name: models[0] for name, models in found.items()
            if len({id(m) for m in models}) == 1}


def _relations(index: ProjectIndex, module: ModuleInfo, cls: ClassInfo,
               small: cst.BaseSmallStatement) -> list[tuple[str, ClassInfo]]:
    if not (isinstance(small, cst.Assign) and isinstance(small.value, cst.Call)):
        return []
    field = index.evaluate(small.value.func, module, None)
    if not (isinstance(field, External)
            and qual_match(field.qualname, DJANGO_RELATION_FIELDS) is not None):
        return []
    out: list[tuple[str, ClassInfo]] = []
    related = keyword_arg(small.value, DJANGO_RELATED_NAME)
    if isinstance(related, cst.SimpleString) and isinstance(related.evaluated_value, str) \
            and not related.evaluated_value.endswith("+"):
        out.append((related.evaluated_value, cls))
    args = small.value.args
    if qual_match(field.qualname, DJANGO_MANY_TO_MANY) is not None and args \
            and args[0].keyword is None and not args[0].star:
        target = _model_class(index, args[0].value, module, None)
        if target is not None:
            out.extend((t.target.value, target) for t in small.targets
                       if isinstance(t.target, cst.Name))
    return out

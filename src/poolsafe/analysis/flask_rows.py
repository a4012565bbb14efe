"""Methods of Flask-SQLAlchemy rows a function got from the model's query (PS207).

A Flask-SQLAlchemy project keeps side effects on its models as Django projects do:

    class Job(db.Model):
        def refresh(self):
            state = remote.fetch_state(self.id)   # an HTTP request

and a route calls them on a row it has just read:

    job = Job.query.get(job_id)
    job.status_id = 1
    db.session.flush()
    job.refresh()

The index types `Job(...)` but not what `Job.query` returns. This module answers, for a
call `x.method(...)`, the project method it runs when `x` is a row of a project model
(`models.is_model_class`: it derives from `db.Model`):
- `Model.query.get(...)` / `.get_or_404(...)` / `.first()` / `.first_or_404()` /
  `.one()` / `.one_or_none()`, on `Model.query` or on a query chain built from it
  (`filter`, `filter_by`, `order_by`, `options`, `join`, ...);
- a local name every binding of which is such a row (not a parameter, not a global).
A method the model does not define (nor a project base) answers None.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import agreed_class, inherited_method
from poolsafe.analysis.values import ClassRef
from poolsafe.knowledge.frameworks import FLASK_MODEL_QUERY_ATTRIBUTES

#: the query methods that return one row of the model
_ROW_GETTERS = frozenset({"get", "get_or_404", "first", "first_or_404", "one", "one_or_none"})
#: the query methods that return a query of the same model
_QUERY_CHAIN = frozenset({"filter", "filter_by", "order_by", "options", "join", "outerjoin",
                          "limit", "offset", "with_for_update", "populate_existing",
                          "distinct", "group_by", "having", "where"})
#: how many steps (a name to its bindings, a query method to its receiver) the reading
#: follows: a guard against names bound to each other
_MAX_DEPTH = 16


def flask_row_method(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                     func: FunctionInfo | None) -> FunctionInfo | None:
    """The project method `x.method(...)` runs when `x` is a row of a Flask-SQLAlchemy
    model read through its query (see the module docstring)."""
    f = call.func
    if not isinstance(f, cst.Attribute):
        return None
    model = _row_model(index, f.value, module, func, 0)
    if model is None:
        return None
    return inherited_method(index, model, f.attr.value)


def _query_model(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                 func: FunctionInfo | None, depth: int) -> ClassInfo | None:
    """The project model whose query `expr` is (`Model.query`, or a chain on it)."""
    from poolsafe.analysis.project_facts import is_model_class

    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, cst.Attribute) and expr.attr.value in FLASK_MODEL_QUERY_ATTRIBUTES:
        value = index.evaluate(expr.value, module, func)
        if isinstance(value, ClassRef) and is_model_class(index, value.cls):
            return value.cls
        return None
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) \
            and expr.func.attr.value in _QUERY_CHAIN:
        return _query_model(index, expr.func.value, module, func, depth + 1)
    return None


def _row_model(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
               func: FunctionInfo | None, depth: int) -> ClassInfo | None:
    """The project model `expr` is a row of."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, cst.Call):
        f = expr.func
        if isinstance(f, cst.Attribute) and f.attr.value in _ROW_GETTERS:
            return _query_model(index, f.value, module, func, depth + 1)
        return None
    if isinstance(expr, cst.Name) and func is not None:
        if expr.value in func.all_param_names() or expr.value in func.globals_declared:
            return None
        return agreed_class(func.locals.get(expr.value, []),
                            lambda v: _row_model(index, v, module, func, depth + 1))
    return None

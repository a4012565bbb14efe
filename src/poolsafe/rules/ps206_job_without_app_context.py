"""PS206 job-without-app-context."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import children, dotted_name, iter_calls, iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.project_facts import facts, is_flask_db, is_model_class, returned_instance
from poolsafe.analysis.resolution import instance_type
from poolsafe.analysis.values import ClassRef, FunctionRef
from poolsafe.knowledge.frameworks import (
    FLASK_APP_TYPES,
    FLASK_CONTEXT_METHODS,
    FLASK_MODEL_QUERY_ATTRIBUTES,
    FLASK_SQLALCHEMY_CONTEXT_ATTRIBUTES,
)
from poolsafe.model import RawFinding, Severity
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps206 import INVALID, VALID

_PUSH = "push"


class JobWithoutAppContext(Rule):
    """
    ## What it does
    Flags a background job that builds the Flask app (`app = create_app()`) and
    then uses Flask-SQLAlchemy (`db.session`, `db.engine`, `db.create_all()`, a
    model's `Model.query`) outside `with app.app_context():`. Reported at the
    `create_app()` call.

    Background jobs are functions registered with APScheduler
    (`scheduler.add_job(func, ...)`, `@scheduler.scheduled_job(...)`,
    Flask-APScheduler's `@scheduler.task(...)`), started as a thread
    (`threading.Thread(target=func)`, `threading.Timer(t, func)`, an executor's
    `submit(func)`), or declared as Celery tasks (`@celery_app.task`,
    `@shared_task`), anywhere in the project. `create_app` is any project
    function that returns a `Flask` instance. Database use in project functions
    that the job calls (two levels deep) counts at the call. A context pushed by
    hand (`app.app_context().push()`) covers the whole job.

    ## Why is this bad?
    Flask-SQLAlchemy finds its engine and session through the current
    application context. Without one the job fails with `RuntimeError: Working
    outside of application context`; with a context pushed once and never
    popped, the scoped session is never removed and the job's connection stays
    checked out between runs.

    ## Example
    ```python
    def nightly_cleanup():
        app = create_app()
        Session.query.filter(Session.expired).delete()
        db.session.commit()

    scheduler.add_job(nightly_cleanup, "cron", hour=3)
    ```

    ## Use instead
    ```python
    def nightly_cleanup():
        app = create_app()
        with app.app_context():
            Session.query.filter(Session.expired).delete()
            db.session.commit()
    ```

    ## Fix safety
    The fix wraps the statements after `create_app()` in
    `with app.app_context():`; it is safe when the app is assigned to a name.
    """

    code = "PS206"
    name = "job-without-app-context"
    summary = "a background job that uses the Flask app's database outside app_context()"
    severity = Severity.WARNING
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        jobs = facts(ctx.index).jobs()
        for func in ctx.module.all_functions:
            how = jobs.get(id(func.node))
            if how is None:
                continue
            app_call = _app_factory_call(ctx.index, func)
            if app_call is None or _pushes_context(func.node.body):
                continue
            use = _db_use_outside_context(ctx.index, func, func.node.body, 0, app_call)
            if use is None:
                continue
            factory = dotted_name(app_call.func) or "create_app"
            yield self.finding(
                app_call,
                f"background job `{func.name}` ({how}) builds the app with `{factory}()` but "
                f"uses {use} outside `with app.app_context():` (\"Working outside of "
                "application context\"); wrap the database work in `with app.app_context():`",
            )


def _app_factory_call(index: ProjectIndex, func: FunctionInfo) -> cst.Call | None:
    for call in iter_calls(func.node.body):
        callee = index.evaluate(call.func, func.module, func)
        if isinstance(callee, FunctionRef) and instance_type(
                returned_instance(index, callee.func), FLASK_APP_TYPES):
            return call
    return None


def _is_context_call(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in FLASK_CONTEXT_METHODS)


def _pushes_context(body: cst.CSTNode) -> bool:
    """`app.app_context().push()`, or `ctx = app.app_context()` ... `ctx.push()`."""
    ctx_names: set[str] = set()
    for node in iter_nodes(body):
        if isinstance(node, cst.Assign) and _is_context_call(node.value):
            ctx_names.update(t.target.value for t in node.targets
                             if isinstance(t.target, cst.Name))
    for call in iter_calls(body):
        f = call.func
        if isinstance(f, cst.Attribute) and f.attr.value == _PUSH and (
                _is_context_call(f.value)
                or (isinstance(f.value, cst.Name) and f.value.value in ctx_names)):
            return True
    return False


def _db_use_outside_context(index: ProjectIndex, func: FunctionInfo, body: cst.CSTNode,
                            depth: int, skip: cst.Call | None) -> str | None:
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if node is not body and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.With) and any(
                _is_context_call(item.item) for item in node.items):
            continue  # the body runs inside an application context
        use = _use_at(index, func, node, depth, skip)
        if use is not None:
            return use
        stack.extend(reversed(children(node)))
    return None


def _use_at(index: ProjectIndex, func: FunctionInfo, node: cst.CSTNode, depth: int,
            skip: cst.Call | None) -> str | None:
    if isinstance(node, cst.Attribute):
        attr = node.attr.value
        if attr in FLASK_SQLALCHEMY_CONTEXT_ATTRIBUTES and is_flask_db(
                index.evaluate(node.value, func.module, func)):
            return f"`{dotted_name(node) or attr}`"
        if attr in FLASK_MODEL_QUERY_ATTRIBUTES:
            owner = index.evaluate(node.value, func.module, func)
            if isinstance(owner, ClassRef) and is_model_class(index, owner.cls):
                return f"`{owner.cls.name}.{attr}`"
    elif isinstance(node, cst.Call) and node is not skip and depth < 2:
        callee = index.evaluate(node.func, func.module, func)
        if isinstance(callee, FunctionRef) and callee.func is not func:
            inner = _db_use_outside_context(index, callee.func, callee.func.node.body,
                                            depth + 1, None)
            if inner is not None:
                return f"`{callee.func.name}()`, which uses {inner},"
    return None

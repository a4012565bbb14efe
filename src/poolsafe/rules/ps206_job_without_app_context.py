"""PS206 job-without-app-context."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.app_context import (
    app_factory_call,
    db_use_outside_context,
    pushes_context,
)
from poolsafe.analysis.cstutil import dotted_name
from poolsafe.analysis.project_facts import facts
from poolsafe.core.model import RawFinding, Severity
from poolsafe.fix.fixers.ps206_app_context import fix_app_context
from poolsafe.fix.plan.api import FixOutcome
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps206 import INVALID, VALID


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

    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        return fix_app_context(ctx, finding)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        project = facts(ctx.index)
        # the app factory returns a Flask instance: a project that imports no flask
        # has none, and then no module needs reading for its background jobs
        if not project.uses_flask():
            return
        jobs = project.jobs()
        for func in ctx.module.all_functions:
            how = jobs.get(id(func.node))
            if how is None:
                continue
            app_call = app_factory_call(ctx.index, func)
            if app_call is None or pushes_context(func.node.body):
                continue
            use = db_use_outside_context(ctx.index, func, func.node.body, 0, app_call)
            if use is None:
                continue
            factory = dotted_name(app_call.func) or "create_app"
            yield self.finding(
                app_call,
                f"background job `{func.name}` ({how}) builds the app with `{factory}()` but "
                f"uses {use} outside `with app.app_context():` (\"Working outside of "
                "application context\"); wrap the database work in `with app.app_context():`",
            )

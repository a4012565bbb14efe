"""PS206 job-without-app-context."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.app_context import (
    app_factory_call,
    db_use_outside_context,
    pushes_context_of,
)
from poolsafe.analysis.cstutil import dotted_name
from poolsafe.analysis.project_facts import facts, is_test_module
from poolsafe.core.model import RawFinding, Severity
from poolsafe.fix.fixers.ps206_app_context import fix_app_context
from poolsafe.fix.plan.api import FixOutcome, Unfixable
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases import flask_threads_cases
from poolsafe.rules.cases.ps206 import INVALID, VALID


class JobWithoutAppContext(Rule):
    """
    ## What it does
    Flags a background job that builds the Flask app (`app = create_app()`) and
    then uses Flask-SQLAlchemy (`db.session`, `db.engine`, `db.create_all()`, a
    model's `Model.query`) outside `with app.app_context():`. Reported at the
    `create_app()` call.

    Also flags a function run on another thread (a `threading.Thread` target, a
    `threading.Timer` function, an executor's `submit()`, Flask-SocketIO's
    `socketio.start_background_task(f)`) that uses Flask-SQLAlchemy with no app
    of its own and no application context pushed (a `with app.app_context():`
    around the use, `app.app_context().push()`, or a decorator named for a context
    such as `copy_current_request_context`). The function may be defined inside
    the one that starts the thread (a view's `def mark_paid(): ...` next to
    `Thread(target=mark_paid)`), or be the `run()` of a project subclass of
    `threading.Thread` (`class Settle(Thread): def run(self): ...`). Reported at
    the first use; fixed by hand (which app to use is the project's choice).

    Background jobs are functions registered with APScheduler
    (`scheduler.add_job(func, ...)`, `@scheduler.scheduled_job(...)`,
    Flask-APScheduler's `@scheduler.task(...)`), started as a thread
    (`threading.Thread(target=func)`, `threading.Timer(t, func)`, an executor's
    `submit(func)`), or declared as Celery tasks (`@celery_app.task`,
    `@shared_task`), anywhere in the project. `create_app` is any project
    function that returns a `Flask` instance. Database use in project functions
    that the job calls (two levels deep) counts at the call. A context pushed by
    hand (`app.app_context().push()`) covers the whole job.

    ## Tests, one-shot code and processes
    Test modules are not reported: a thread a test starts without an app context
    fails in that test ("Working outside of application context"), where it is
    seen. Jobs and threads of a worker process (a scheduler, Celery, a Socket.IO
    server) are reported in every process that runs them.

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
    `with app.app_context():`; it is safe when the app is assigned to a name
    and every application-context handler the project registers only gives back
    what the context opened (`db.session.remove()`, `g.pop("db")`, `close()`).
    When the context ends it runs those handlers, on the job's paths that never
    use the database too: a `teardown_appcontext` handler that does anything
    else (logs, writes, calls a helper), one defined in another module, or an
    `appcontext_*` signal receiver makes the fix unsafe (`poolsafe fix --unsafe`).
    So does a project class whose `__call__` enters an application context (Flask's
    documented Celery `FlaskTask`, a `ContextTask`): the task then ran in that app's
    context, and the fix would move its work to the new app's (another session and
    engine).
    """

    code = "PS206"
    name = "job-without-app-context"
    summary = "a background job that uses the Flask app's database outside app_context()"
    severity = Severity.WARNING
    fixable = True
    VALID = VALID + flask_threads_cases.VALID
    INVALID = INVALID + flask_threads_cases.INVALID

    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        from poolsafe.analysis.flask_threads import thread_db_uses

        if any(u.node is finding.node for u in thread_db_uses(ctx.index, ctx.module)):
            return Unfixable(self.code, _NO_APP)
        return fix_app_context(ctx, finding)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return  # a test's thread fails on its own, in the test run
        project = facts(ctx.index)
        # the app factory returns a Flask instance: a project that imports no flask
        # has none, and then no module needs reading for its background jobs
        if not project.uses_flask():
            return
        from poolsafe.analysis.flask_threads import flask_sqlalchemy_in_project

        # every use this rule reports is of Flask-SQLAlchemy's `db` or `db.Model`
        if not flask_sqlalchemy_in_project(ctx.index):
            return
        yield from self._thread_uses(ctx)
        candidates = ctx.module.all_functions
        if project.jobs_deferred():
            # a job is reported only where it builds the app: a module without such
            # a function (an edit's `check FILE`, mostly) needs no project-wide search
            candidates = [f for f in candidates if not pushes_context_of(f)
                          and app_factory_call(ctx.index, f) is not None]
            if not candidates:
                return
        jobs = project.jobs()
        for func in candidates:
            how = jobs.get(id(func.node))
            if how is None:
                continue
            app_call = app_factory_call(ctx.index, func)
            if app_call is None or pushes_context_of(func):
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

    def _thread_uses(self, ctx: FileContext) -> Iterator[RawFinding]:
        """A thread, timer, executor or Socket.IO background task that uses
        Flask-SQLAlchemy with no app of its own and no application context."""
        from poolsafe.analysis.flask_threads import thread_db_uses

        for use in thread_db_uses(ctx.index, ctx.module):
            yield self.finding(
                use.node,
                f"`{use.func.name}` runs on {use.how} and uses {use.use} with no "
                "application context (\"Working outside of application context\", or a "
                "session held by the thread for good); run its work inside "
                "`with app.app_context():`",
            )


#: why `poolsafe fix` leaves a thread's use of the database
_NO_APP = ("the job has no app of its own: wrap its work in `with app.app_context():` "
           "with the app it should use, by hand")

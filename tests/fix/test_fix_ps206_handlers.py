"""PS206's fix pushes an application context around a job's work: when the context
ends it runs the app's own application-context handlers, on the job's paths that never
use the database too. The fix stays safe only when every such handler of the project
gives back what the context opened (a scoped session's `remove()`, `g.pop("db")` and a
`close()`); any other handler, or an `appcontext_*` signal receiver, makes it unsafe."""

from __future__ import annotations

import libcst as cst
import pytest

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions

_FACTORY = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()

def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
    db.init_app(app)
{handlers}    return app
"""

_JOB = """from apscheduler.schedulers.background import BackgroundScheduler
from myapp import create_app, db

scheduler = BackgroundScheduler()


def purge(dry_run):
    app = create_app()
    if dry_run:
        return 0
    db.session.execute(db.text("DELETE FROM users WHERE NOT active"))
    db.session.commit()
    return 1


scheduler.add_job(purge, "interval", hours=1, args=[False])
"""

_WRAPPED = """from apscheduler.schedulers.background import BackgroundScheduler
from myapp import create_app, db

scheduler = BackgroundScheduler()


def purge(dry_run):
    app = create_app()
    with app.app_context():
        if dry_run:
            return 0
        db.session.execute(db.text("DELETE FROM users WHERE NOT active"))
        db.session.commit()
        return 1


scheduler.add_job(purge, "interval", hours=1, args=[False])
"""

_AUDIT = """    @app.teardown_appcontext
    def audit(exc=None):
        app.logger.info("context closed")
"""
_RELEASE = """    @app.teardown_appcontext
    def close_db(exc=None):
        conn = g.pop("conn", None)
        if conn is not None:
            conn.close()
        db.session.remove()
"""
_LAMBDA = "    app.teardown_appcontext(lambda exc: db.session.remove())\n"
_NAMED_LOGGER = "    app.teardown_appcontext(report_timing)\n"
_SIGNAL = """    from flask import appcontext_pushed
    appcontext_pushed.connect(lambda sender, **kw: sender.logger.info("up"), app)
"""


def _run(handlers: str, *, unsafe: bool = False) -> tuple[str, list[str]]:
    files = {"myapp/__init__.py": _FACTORY.format(handlers=handlers), "jobs.py": _JOB}
    result = fix_sources(files, ScanOptions(select={"PS206"}), unsafe=unsafe)
    assert not result.errors, result.errors
    return result.sources()["jobs.py"], [x.reason for x in result.left]


@pytest.mark.parametrize("handlers", ["", _RELEASE, _LAMBDA],
                         ids=["no handler", "release-only handler", "lambda remove()"])
def test_safe_when_every_handler_only_gives_back(handlers: str) -> None:
    fixed, left = _run(handlers)
    assert fixed == _WRAPPED
    assert left == []
    cst.parse_module(fixed)
    files = {"myapp/__init__.py": _FACTORY.format(handlers=handlers), "jobs.py": fixed}
    again = fix_sources(files, ScanOptions(select={"PS206"}), unsafe=True)
    assert again.sources()["jobs.py"] == fixed


@pytest.mark.parametrize("handlers, where", [
    (_AUDIT, "a `teardown_appcontext` handler that does more than release"),
    (_NAMED_LOGGER, "a `teardown_appcontext` handler defined elsewhere"),
    (_SIGNAL, "an `appcontext_*` signal receiver"),
], ids=["logging handler", "imported handler", "signal receiver"])
def test_unsafe_when_a_handler_does_more(handlers: str, where: str) -> None:
    fixed, left = _run(handlers)
    assert fixed == _JOB
    assert len(left) == 1 and where in left[0], left
    assert "runs the project's own application-context handlers" in left[0]
    fixed_unsafe, _ = _run(handlers, unsafe=True)
    assert fixed_unsafe == _WRAPPED
    cst.parse_module(fixed_unsafe)

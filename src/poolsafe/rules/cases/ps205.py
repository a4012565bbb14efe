"""PS205 scoped-session-never-removed: INVALID cases mark the scoped_session() call."""

from poolsafe.rules.base import Case

_ENGINE = """\
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
"""

_REGISTRY_IN_PACKAGE = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
"""
_PACKAGE_APP = "from flask import Flask\n\napp = Flask(__name__)\nfrom app import views\n"
_VIEWS = ("from app import app\nfrom app.store import orders\n\n"
          "@app.route('/orders')\ndef list_orders():\n    return {'n': orders.query.count()}\n")

INVALID: list[Case] = [
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))  # expect: PS205

app = Flask(__name__)

@app.route("/users")
def users():
    return {"n": db_session.execute("SELECT count(*) FROM users").scalar()}
"""),
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))  # expect: PS205
app = Flask(__name__)

@app.teardown_appcontext
def shutdown_session(exception=None):
    db_session.close()
""", note="close() ends the session but leaves it registered in the scope"),
    Case(_ENGINE + """
main_session = scoped_session(sessionmaker(bind=engine))
audit_session = scoped_session(sessionmaker(bind=engine))  # expect: PS205
app = Flask(__name__)

@app.teardown_appcontext
def cleanup(exception=None):
    main_session.remove()
""", note="only the other scoped_session is removed"),
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))  # expect: PS205
app = Flask(__name__)

@app.after_request
def cleanup(response):
    db_session.remove()
    return response


if __name__ == "__main__":
    app.run(debug=True)
""", note="in debug mode Flask re-raises a view's error and skips after_request"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))  # expect: PS205
""", files={"app.py": """
from flask import Flask
from case import Session

app = Flask(__name__)

@app.route("/")
def index():
    return str(Session.execute("SELECT 1").scalar())
"""}, note="the Flask app lives in another module"),
    Case(_ENGINE + """
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
legacy_session = scoped_session(sessionmaker(bind=engine))  # expect: PS205
app = Flask(__name__)

@app.teardown_appcontext
def cleanup(exception=None):
    db.session.remove()
""", note="removing Flask-SQLAlchemy's session does not remove this one"),
    Case("""
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session as make_scoped, sessionmaker

factory = sessionmaker(bind=create_engine("mysql://app@db/app", pool_pre_ping=True))
session = make_scoped(factory)  # expect: PS205
app = Flask(__name__)
"""),
    Case("""
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

def create_app():
    app = Flask(__name__)
    engine = create_engine(app.config["DATABASE_URL"], pool_pre_ping=True)
    app.session = scoped_session(sessionmaker(bind=engine))  # expect: PS205
    return app
"""),
    Case("""
import flask
import sqlalchemy.orm as orm
from db import SessionFactory

Session = orm.scoped_session(SessionFactory)  # expect: PS205
app = flask.Flask(__name__)

@app.teardown_request
def log_teardown(exc):
    app.logger.info("request done")
""", files={"db.py": """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionFactory = sessionmaker(bind=create_engine("sqlite://"))
"""}, note="a teardown that does not remove"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))  # expect: PS205
""", path="shop/db.py", files={
        "shop/__init__.py": "",
        "shop/repo.py": "from shop.db import Session\n\ndef count():\n"
                        "    return Session.execute('SELECT 1').scalar()\n",
        "web.py": "from flask import Flask\nfrom shop import repo\n\napp = Flask(__name__)\n"},
         note="the app reaches the session's module through another module"),
    Case(_REGISTRY_IN_PACKAGE + """
orders = scoped_session(sessionmaker(bind=engine))  # expect: PS205
reports = scoped_session(sessionmaker(bind=engine))
""", path="app/store.py", files={
        "app/__init__.py": _PACKAGE_APP,
        "app/views.py": _VIEWS,
        "app.py": "from app import app\nfrom app.store import reports\n\n"
                  "@app.teardown_appcontext\ndef end(exc=None):\n    reports.remove()\n"},
         note="a top-level app.py beside the package app/ removes the other registry only"),
    Case(_ENGINE + """
app = Flask(__name__)
db_session = None


def init_db():
    global db_session
    Session = scoped_session(sessionmaker())  # expect: PS205
    Session.configure(bind=engine)
    db_session = Session


@app.route("/users")
def users():
    return {"n": db_session.execute("SELECT count(*) FROM users").scalar()}
""", note="built in a function but kept in a global: every request's thread reuses it"),
]


VALID: list[Case] = [
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))
app = Flask(__name__)

@app.teardown_appcontext
def shutdown_session(exception=None):
    db_session.remove()
"""),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

Session = scoped_session(sessionmaker(bind=create_engine("sqlite:///app.db")))
""", files={"app.py": """
from flask import Flask
from case import Session

app = Flask(__name__)

@app.teardown_request
def remove_session(exc):
    Session.remove()
"""}, note="the teardown lives in another module"),
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))
app = Flask(__name__)

def shutdown_session(exception=None):
    db_session.remove()

app.teardown_appcontext(shutdown_session)
""", note="registered by a call"),
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))
app = Flask(__name__)
app.teardown_appcontext(lambda exc: db_session.remove())
"""),
    Case("""
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
db_session = scoped_session(sessionmaker(bind=engine))
app = FastAPI()
""", note="not a Flask project"),
    Case("""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
app = Flask(__name__)
db.init_app(app)

@app.route("/")
def index():
    return str(db.session.execute(db.text("SELECT 1")).scalar())
""", note="Flask-SQLAlchemy removes its own session"),
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))

def init_db(app):
    @app.teardown_appcontext
    def cleanup(exception=None):
        db_session.remove()
""", note="registered on an app passed in"),
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))
bp = __import__("flask").Blueprint("api", __name__)

def close_db():
    db_session.remove()

def register(app: Flask):
    @app.teardown_request
    def teardown(exc):
        close_db()
""", note="removed through a project helper"),
    Case("""
from flask import Blueprint
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

Session = scoped_session(sessionmaker(bind=create_engine("postgresql://app@db/app",
                                                         pool_pre_ping=True)))
bp = Blueprint("api", __name__)

@bp.teardown_app_request
def remove_session(exc):
    Session.remove()
"""),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))
""", path="worker/db.py", files={
        "worker/__init__.py": "",
        "worker/tasks.py": "from celery import Celery\nfrom worker.db import Session\n\n"
                           "celery = Celery('jobs')\n",
        "web.py": "from flask import Flask\n\napp = Flask(__name__)\n"},
         note="a Celery worker's module in a Flask project: no Flask app imports it, so "
              "no Flask request ends there"),
    Case(_REGISTRY_IN_PACKAGE + """
orders = scoped_session(sessionmaker(bind=engine))
""", path="app/store.py", files={
        "app/__init__.py": _PACKAGE_APP,
        "app/views.py": _VIEWS,
        "app.py": "from app import app\nfrom app.store import orders\n\n"
                  "@app.teardown_appcontext\ndef end(exc=None):\n    orders.remove()\n"},
         note="the teardown sits in a top-level app.py beside a package also named app: "
              "`from app import ...` there means the package (Python tries it first)"),
    Case(_ENGINE + """
app = Flask(__name__)


def library_id():
    local_session = scoped_session(sessionmaker())
    local_session.configure(bind=engine)
    return local_session().execute("SELECT uuid FROM library").scalar()


def new_worker_session():
    Session = scoped_session(sessionmaker(bind=engine))
    return Session()


@app.route("/library")
def library():
    return {"id": library_id()}
""", note="a registry a function builds and uses itself only (called, configured): it "
          "goes when the function returns, with its thread-local slot"),
]
VALID.append(Case("""
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app_test", pool_pre_ping=True)
db_session = scoped_session(sessionmaker(bind=engine))
app = Flask(__name__)


@app.route("/users")
def users():
    return {"n": db_session.execute("SELECT count(*) FROM users").scalar()}


def test_users():
    assert app.test_client().get("/users").status_code == 200
""", path="tests/test_users.py",
    note="a test module's own app: its registry serves a test run, not production "
         "requests (test modules are not reported)"))
VALID.append(Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker


def open_registry():
    engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
    return scoped_session(sessionmaker(bind=engine))
""", path="rpc/store.py", files={
    "rpc/handlers/__init__.py": "",
    "rpc/handlers/orders.py": "from store import open_registry\n\n\n"
                              "class OrderService:\n    def count(self):\n"
                              "        registry = open_registry()\n        try:\n"
                              "            return registry.execute('SELECT 1').scalar()\n"
                              "        finally:\n            registry.close()\n",
    "rpc/main.py": "from socketserver import ThreadingTCPServer\n\n"
                   "from handlers.orders import OrderService\n\n"
                   "if __name__ == '__main__':\n"
                   "    ThreadingTCPServer(('', 9000), OrderService).serve_forever()\n",
    "web/app.py": "from flask import Flask\n\napp = Flask(__name__)\n"},
    note="a socket server's module in a repository whose Flask app imports none of its "
         "modules: its `__main__` script touches no database itself (the prefilter "
         "leaves it unparsed), yet it is the program that imports the registry"))
INVALID.append(Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

Session = scoped_session(sessionmaker(bind=create_engine("postgresql://app@db/app",  # expect: PS205
                                                         pool_pre_ping=True)))
""", path="site/store.py", files={
    "site/pages.py": "from store import Session\n\n\ndef register(app):\n"
                     "    @app.route('/n')\n    def n():\n"
                     "        return {'n': Session.execute('SELECT 1').scalar()}\n",
    "site/app.py": "from flask import Flask\n\nfrom pages import register\n\n"
                   "app = Flask(__name__)\nregister(app)\n",
    "site/reindex.py": "from store import Session\n\nif __name__ == '__main__':\n"
                       "    Session.execute('SELECT 1')\n"},
    note="a script's `__main__` block imports the registry too, but so does the Flask "
         "app (through its pages): a request still ends there without `remove()`"))

# round 11 (issue 31): a function that makes a new registry on each call and returns
# it, when every caller removes the one it got in a `finally` (the wrappers of a
# project's session decorators): no request leaves a session behind on its thread.
# One caller that does not remove it keeps it reported.
_DECORATED_STORE = """\
import functools

from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

_maker = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


def get_session():
    session = scoped_session(_maker)%s
    return session


def read_session(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        session = get_session()
        try:
            return function(*args, session=session, **kwargs)
        finally:
            session.remove()
    return wrapper
"""
_DECORATED_VIEWS = ("from flask import Flask\n\nfrom store import read_session\n\n"
                    "app = Flask(__name__)\n\n\n@app.route('/n')\n@read_session\n"
                    "def n(session=None):\n"
                    "    return {'n': session.execute('SELECT 1').scalar()}\n")
VALID.append(Case(_DECORATED_STORE % "", path="store.py", files={"app.py": _DECORATED_VIEWS},
                  note="a new registry per call, removed by the only caller (a session "
                       "decorator's wrapper) in a `finally`"))
INVALID.append(Case(_DECORATED_STORE % "  # expect: PS205" + """

def count_orders():
    session = get_session()
    return session.execute("SELECT count(*) FROM orders").scalar()
""", path="store.py", files={"app.py": _DECORATED_VIEWS + (
    "\n\n@app.route('/orders')\ndef orders():\n"
    "    from store import count_orders\n    return {'n': count_orders()}\n")},
    note="one caller uses the registry it got and never removes it"))

# a request decorator that removes the module registry around the view it wraps
# (issue 31, corpus17): each decorated request ends with the thread's session gone
_DECORATED = _ENGINE + """
Session = scoped_session(sessionmaker(bind=engine)){mark}

app = Flask(__name__)


def with_session(view):
    def wrapper(*args, **kwargs):
        session = Session()
        try:
            return view(session, *args, **kwargs)
        finally:
            {cleanup}
    return wrapper


@app.route("/users")
@with_session
def users(session):
    return {{"n": session.execute("SELECT count(*) FROM users").scalar()}}
"""

VALID.append(Case(_DECORATED.format(mark="", cleanup="Session.remove()"),
                  note="the view's decorator removes the registry in the finally around it"))

INVALID += [
    Case(_DECORATED.format(mark="  # expect: PS205", cleanup="session.commit()"),
         note="the decorator's finally commits but never removes the registry"),
    Case(_ENGINE + """
Session = scoped_session(sessionmaker(bind=engine))  # expect: PS205

app = Flask(__name__)


def with_session(view):
    def wrapper(*args, **kwargs):
        try:
            return view(Session(), *args, **kwargs)
        finally:
            Session.remove()
    return wrapper


@app.route("/users")
def users():
    return {"n": Session().execute("SELECT count(*) FROM users").scalar()}
""", note="a decorator that would remove it, but the project never applies it"),
]

# A registry that only background jobs read (a Celery task, directly or through a
# helper only the task calls) lives on the worker's threads: no Flask request ends
# there, so a teardown handler would never remove it (round 20, small51). One route
# that reads it too keeps it reported.
_JOBS_ONLY = _ENGINE + """
from celery import Celery
from flask import Flask
from sqlalchemy import text

app = Flask(__name__)
worker = Celery("jobs", broker="redis://cache:6379/0")
Jobs = scoped_session(sessionmaker(bind=engine))


def expire_holds():
    Jobs.execute(text("DELETE FROM hold WHERE expires_at < now()"))
    Jobs.commit()


@worker.task
def nightly():
    expire_holds()
"""

VALID += [
    Case(_JOBS_ONLY + """

@app.route("/health")
def health():
    return "ok"
""", note="only a Celery task (through a helper only it calls) reads the registry"),
]

_JOBS_ONLY_MARKED = _JOBS_ONLY.replace(
    "Jobs = scoped_session(sessionmaker(bind=engine))",
    "Jobs = scoped_session(sessionmaker(bind=engine))  # expect: PS205")

INVALID += [
    Case(_JOBS_ONLY_MARKED + """

@app.route("/holds")
def holds():
    return {"n": Jobs.execute(text("SELECT count(*) FROM hold")).scalar()}
""", note="a Celery task and a Flask route both read the registry: the route's thread keeps it"),
    Case(_JOBS_ONLY_MARKED + """

@app.route("/expire", methods=["POST"])
def expire_now():
    expire_holds()
    return "", 204
""", note="the helper the task calls is also called by a route: requests read the registry"),
]

# fix51 (probing): Flask runs teardown_appcontext handlers in the reverse order of their
# registration. A factory that already registers one that commits the session, with the
# new handler added after it (before `return app`), would remove the session before that
# commit runs: the request's work is lost. The fix is unsafe there
# (tests/fix/test_fix_fix51.py); a teardown that also removes it is not reported.
_COMMIT_TEARDOWN = _ENGINE + '''
Session = scoped_session(sessionmaker(bind=engine)){mark}


def create_app():
    app = Flask(__name__)

    @app.teardown_appcontext
    def commit_session(exception=None):
        if exception is None:
            Session.commit(){cleanup}

    @app.route("/visit")
    def visit():
        Session.execute("INSERT INTO visits DEFAULT VALUES")
        return "ok"

    return app
'''

VALID.append(Case(_COMMIT_TEARDOWN.format(mark="", cleanup="\n        Session.remove()"),
                  note="the factory's teardown commits, then removes the registry"))

INVALID.append(Case(_COMMIT_TEARDOWN.format(mark="  # expect: PS205", cleanup=""),
                    note="the factory's teardown commits but never removes the registry; a "
                         "new handler after it would run first"))


# The lead, round 24: Flask runs after_request on the 500 response of a view that raised,
# unless the app propagates errors (checked by running Flask 3.1.3).
VALID += [
    Case(_ENGINE + """
db_session = scoped_session(sessionmaker(bind=engine))
app = Flask(__name__)

@app.after_request
def cleanup(response):
    db_session.remove()
    return response
""", note="after_request runs for every response, the 500 of a view that raised too"),
]


# prec74c, round 33: a registry read only through a project context manager that binds it
# to a local name, yields it (or a session of it) in a `try` and removes it in the
# `finally`: every request's session is removed when its `with` block ends.
_HELD_REGISTRY = _ENGINE + """
from contextlib import contextmanager

app = Flask(__name__)


class Store:
    def __init__(self):
        self._factory = None

    def connect(self):
        if self._factory is not None:
            self._factory.remove()
        self._factory = scoped_session(sessionmaker(bind=engine)){mark}

    @contextmanager
    def _session(self):
        registry = None
        try:
            registry = self._factory
            yield registry
        except BaseException:
            registry.rollback()
            raise
        finally:
            if registry:
                {cleanup}
{extra}

store = Store()
store.connect()


@app.route("/users")
def users():
    with store._session() as session:
        return str(session.execute("SELECT count(*) FROM users").scalar())
"""

_MODULE_HELD = _ENGINE + """
from contextlib import contextmanager

app = Flask(__name__)
Session = scoped_session(sessionmaker(bind=engine)){mark}


@contextmanager
def session_scope():
    s = Session
    try:
        yield s()
    finally:
        {cleanup}


@app.route("/users")
def users():
{body}
"""

VALID += [
    Case(_HELD_REGISTRY.format(mark="", cleanup="registry.remove()", extra=""),
         note="look-alike: the registry on an attribute is read only through a "
              "@contextmanager that removes its local alias in `finally`"),
    Case(_MODULE_HELD.format(mark="", cleanup="s.remove()", body="""\
    with session_scope() as session:
        return str(session.execute("SELECT 1").scalar())"""),
         note="look-alike: a module registry aliased in a @contextmanager that yields a "
              "session of it and removes the alias in `finally`"),
]

INVALID += [
    Case(_HELD_REGISTRY.format(mark="  # expect: PS205", cleanup="registry.close()",
                               extra=""),
         note="the context manager's `finally` closes the session, never removes the "
              "registry"),
    Case(_HELD_REGISTRY.format(mark="  # expect: PS205", cleanup="registry.remove()",
                               extra="""
    def count(self):
        return self._factory.execute("SELECT count(*) FROM users").scalar()
"""),
         note="a method reads the registry outside the removing context manager"),
    Case(_MODULE_HELD.format(mark="  # expect: PS205", cleanup="s.remove()", body="""\
    return str(Session.execute("SELECT 1").scalar())"""),
         note="the view reads the module registry directly, not through the context "
              "manager that removes it"),
]

"""peewee / playhouse: `db.connect()` without `db.close()` on every path (PS102).

The database object keeps one connection per thread; for playhouse.pool's pooled
databases that connection is a pool slot until `db.close()`.
"""

from poolsafe.rules.base import Case

_DB = """\
from peewee import CharField, Model
from playhouse.pool import PooledPostgresqlDatabase

db = PooledPostgresqlDatabase("shop", user="app", host="db", max_connections=8)


class Item(Model):
    name = CharField()

    class Meta:
        database = db
"""

_FLASK = _DB + """
from flask import Flask

app = Flask(__name__)
"""

#: why `poolsafe fix` leaves a peewee connect()
_BY_HAND = ("a peewee connect(): wrap the work in `with db.connection_context():` "
            "(or close it in a teardown handler) by hand")

PS102_INVALID: list[Case] = [
    Case(_DB + """

def rename(item_id, name):
    db.connect()  # expect: PS102
    Item.update(name=name).where(Item.id == item_id).execute()
    db.close()
""", note="closed only when the update succeeds", unfixable=_BY_HAND),
    Case(_DB + """

def count_items():
    db.connect(reuse_if_open=True)  # expect: PS102
    return Item.select().count()
""", note="never closed: the thread keeps its pool slot", unfixable=_BY_HAND),
    Case(_DB + """

def first_name():
    db.connect()  # expect: PS102
    item = Item.select().first()
    if item is None:
        return None
    name = item.name
    db.close()
    return name
""", note="the early return skips the close", unfixable=_BY_HAND),
    Case(_FLASK + """

@app.before_request
def open_db():
    db.connect()  # expect: PS102


@app.route("/items")
def items():
    return {"items": [i.name for i in Item.select()]}
""", note="a before_request connect and no teardown that closes it", unfixable=_BY_HAND),
]

PS102_INVALID.append(Case(_FLASK + """

@app.before_request
def open_db():
    db.connect()  # expect: PS102


@app.after_request
def close_db(response):
    db.close()
    return response


if __name__ == "__main__":
    app.run(debug=True)
""", note="in debug mode Flask re-raises a view's error and skips after_request",
    unfixable=_BY_HAND))

#: a models module in the style of peewee's docs: `from peewee import *`
_STAR_MODELS = """\
from peewee import *

database = MySQLDatabase("shop", user="app", host="db")


class Item(Model):
    name = CharField()

    class Meta:
        database = database
"""

PS102_INVALID.append(Case("""
from flask import Flask

from models import database

app = Flask(__name__)


@app.before_request
def open_db():
    database.connect()  # expect: PS102


@app.after_request
def close_db(response):
    database.close()
    return response


app.testing = True
""", files={"models.py": _STAR_MODELS},
    note="the database class comes from `from peewee import *` in the models module (in "
         "testing mode Flask skips after_request for a view that raised)",
    unfixable=_BY_HAND))

PS102_INVALID.append(Case(_FLASK + """
from flask import g


@app.before_request
def open_db():
    g.db = db
    if g.db.is_closed():
        g.db.connect()  # expect: PS102


@app.after_request
def close_db(response):
    g.db.close()
    return response


app.config["PROPAGATE_EXCEPTIONS"] = True
""", note="the database reached through Flask's `g`, closed only in after_request, which "
          "an app that propagates errors skips for a view that raised",
    unfixable=_BY_HAND))

PS102_VALID: list[Case] = [
    Case(_DB + """

def rename(item_id, name):
    with db.connection_context():
        Item.update(name=name).where(Item.id == item_id).execute()
""", note="connection_context() opens and closes"),
    Case(_DB + """

def rename(item_id, name):
    db.connect()
    try:
        Item.update(name=name).where(Item.id == item_id).execute()
    finally:
        db.close()
""", note="closed in finally"),
    Case(_FLASK + """

@app.before_request
def open_db():
    db.connect()


@app.teardown_request
def close_db(exc):
    if not db.is_closed():
        db.close()
""", note="peewee's documented Flask hooks"),
    Case("""
from peewee import SqliteDatabase

db = SqliteDatabase("app.db")


def touch():
    db.connect()
    db.execute_sql("UPDATE t SET n = n + 1")
""", note="a SQLite file: not tracked"),
    Case(_DB + """

def main():
    db.connect()
    db.create_tables([Item])


if __name__ == "__main__":
    main()
""", note="a one-shot script"),
    Case(_DB + """
from fastapi import Depends, FastAPI

app = FastAPI()


def get_db():
    db.connect()
    try:
        yield
    finally:
        if not db.is_closed():
            db.close()


@app.get("/items", dependencies=[Depends(get_db)])
def items():
    return [i.name for i in Item.select()]
""", note="a FastAPI dependency closing in finally"),
    Case("""
from flask import Flask

from models import database

app = Flask(__name__)


@app.before_request
def open_db():
    database.connect()


@app.teardown_request
def close_db(exc):
    if not database.is_closed():
        database.close()
""", files={"models.py": _STAR_MODELS},
        note="the star-imported database, closed in a teardown handler"),
    Case(_FLASK + """
from flask import g


@app.before_request
def open_db():
    g.db = db
    g.db.connect()


@app.teardown_request
def close_db(exc):
    if not g.db.is_closed():
        g.db.close()
""", note="through Flask's `g`, closed in a teardown handler"),
]


# A class whose constructor connects, built once at module level (a module-level
# instance in the Flask application's module): its `__init__` runs once per process,
# as a script's `main()` does, and the one connection it opens ends with the process.
_ACCOUNTS = _DB + """

class Accounts:
    def __init__(self):
        db.connect()
        db.create_tables([Item], safe=True)

    def names(self):
        return [i.name for i in Item.select()]
"""

PS102_VALID.append(Case("""
from flask import Flask

from accounts import Accounts

app = Flask(__name__)
accounts = Accounts()


@app.route("/names")
def names():
    return {"names": accounts.names()}
""", files={"accounts.py": _ACCOUNTS}, path="app.py",
    note="a module-level instance (the class imported from another module): its "
         "constructor's connect runs once per process"))

PS102_INVALID.append(Case(_DB + """
from flask import Flask

app = Flask(__name__)


class Accounts:
    def __init__(self):
        db.connect()  # expect: PS102
        db.create_tables([Item], safe=True)

    def names(self):
        return [i.name for i in Item.select()]


@app.route("/names")
def names():
    return {"names": Accounts().names()}
""", note="look-alike: the same constructor run by a route, once per request",
    unfixable=_BY_HAND))

PS102_INVALID.append(Case(_DB + """
from flask import Flask

app = Flask(__name__)


class Accounts:
    def __init__(self):
        db.connect()  # expect: PS102
        db.create_tables([Item], safe=True)

    def names(self):
        return [i.name for i in Item.select()]


fresh_accounts = lambda: Accounts()  # noqa: E731


@app.route("/names")
def names():
    return {"names": fresh_accounts().names()}
""", note="look-alike: a module-level lambda builds it, each time the lambda is called",
    unfixable=_BY_HAND))


# A project subclass of a peewee database class (peewee's own recipe for reconnecting:
# a mixin before the database class) is that database.
_RETRY_DB = """\
import queue

from peewee import CharField, Model, SqliteDatabase
from playhouse.pool import PooledMySQLDatabase
from playhouse.shortcuts import ReconnectMixin


class RetryingDatabase(ReconnectMixin, PooledMySQLDatabase):
    pass


class Job(Model):
    name = CharField()
"""

PS102_INVALID.append(Case(_RETRY_DB + """
db = RetryingDatabase("jobs", host="db", max_connections=8)
Job._meta.database = db


def record(name):
    db.connect()  # expect: PS102
    Job.create(name=name)
    db.close()
""", note="the project's subclass of PooledMySQLDatabase: closed only when the insert succeeds",
    unfixable=_BY_HAND))

PS102_VALID.append(Case(_RETRY_DB + """
db = RetryingDatabase("jobs", host="db", max_connections=8)
Job._meta.database = db


def record(name):
    db.connect()
    try:
        Job.create(name=name)
    finally:
        db.close()
""", note="the subclass closed in finally"))

PS102_VALID.append(Case(_RETRY_DB + """
class LocalDatabase(SqliteDatabase):
    pass


db = LocalDatabase("jobs.db")


def record(name):
    db.connect()
    Job.create(name=name)
""", note="a project subclass of SqliteDatabase: a file, not tracked"))

# A database chosen by configuration: one branch builds a server database.
_CHOSEN_DB = """\
import os

from peewee import CharField, Model, PostgresqlDatabase, SqliteDatabase

if os.environ.get("DATABASE", "sqlite") == "postgres":
    db = PostgresqlDatabase("shop", host="db")
else:
    db = SqliteDatabase("shop.db")


class Item(Model):
    name = CharField()

    class Meta:
        database = db
"""

PS102_INVALID.append(Case(_CHOSEN_DB + """

def add(name):
    db.connect()  # expect: PS102
    Item.create(name=name)
""", note="the configuration may pick the PostgreSQL branch: never closed",
    unfixable=_BY_HAND))

PS102_VALID.append(Case(_CHOSEN_DB + """

def add(name):
    with db.connection_context():
        Item.create(name=name)
""", note="the chosen database, in connection_context()"))

PS102_VALID.append(Case(_CHOSEN_DB.replace('PostgresqlDatabase("shop", host="db")',
                                           'SqliteDatabase(":memory:")') + """

def add(name):
    db.connect()
    Item.create(name=name)
""", note="both branches are SQLite databases: not tracked"))

# The same choice in one conditional expression: either branch may be the one built.
_CHOSEN_INLINE = """\
import os

from peewee import SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

db = (PooledPostgresqlDatabase("ledger", max_connections=8) if os.environ.get("PG_HOST")
      else SqliteDatabase("ledger.db"))


def balance(account):
    db.connect()
    row = db.execute_sql("SELECT total FROM balances WHERE id = %s", (account,)).fetchone()
    db.close()
    return row[0]
"""

PS102_INVALID.append(Case(_CHOSEN_INLINE.replace("    db.connect()\n",
                                                 "    db.connect()  # expect: PS102\n"),
                          note="a pooled branch of a conditional expression: the close is "
                               "skipped when the query raises", unfixable=_BY_HAND))

PS102_VALID.append(Case(_CHOSEN_INLINE.replace('PooledPostgresqlDatabase("ledger", '
                                               'max_connections=8)',
                                               'SqliteDatabase(":memory:")'),
                        note="look-alike: both branches of the conditional expression are "
                             "SQLite databases: not tracked"))

# playhouse's FlaskDB: `connect_db()` / `close_db(exc)` connect and close its database,
# loaded here by an application factory that picks the database from its settings.
_FLASK_DB = """\
import queue
import time

from flask import Flask
from peewee import CharField, SqliteDatabase
from playhouse.flask_utils import FlaskDB
from playhouse.pool import PooledPostgresqlDatabase

flask_db = FlaskDB()


class Event(flask_db.Model):
    name = CharField()


def create_app(settings):
    app = Flask(__name__)
    if settings.get("postgres"):
        database = PooledPostgresqlDatabase("events", host="db", max_connections=10)
    else:
        database = SqliteDatabase("events.db")
    flask_db._load_database(app, database)
    flask_db._register_handlers(app)
    return app
"""

PS102_INVALID.append(Case(_FLASK_DB + """

def writer(events):
    while True:
        try:
            flask_db.connect_db()  # expect: PS102
            while True:
                Event.create(name=events.get())
        except Exception:
            time.sleep(5)
""", note="a writer thread's loop connects again after each error and never closes",
    unfixable=_BY_HAND))

PS102_VALID.append(Case(_FLASK_DB + """

def writer(events):
    while True:
        name = events.get()
        flask_db.connect_db()
        try:
            Event.create(name=name)
        finally:
            flask_db.close_db(None)
""", note="FlaskDB's close_db in finally"))

PS102_VALID.append(Case("""
import time

from peewee import CharField, SqliteDatabase
from playhouse.flask_utils import FlaskDB

flask_db = FlaskDB(None, SqliteDatabase("events.db"))


class Event(flask_db.Model):
    name = CharField()


def writer(events):
    while True:
        try:
            flask_db.connect_db()
            while True:
                Event.create(name=events.get())
        except Exception:
            time.sleep(5)
""", note="a FlaskDB given only a SQLite database: not tracked"))

# A project's own connect/close wrappers of a server database (`def connect():
# _db.connect()`), called from another module: the caller owns the connection the
# wrapper opens, as if it had written `_db.connect()` itself.
_WRAPPED_MODELS = """\
import logging

from peewee import CharField, Model
from playhouse.pool import PooledMySQLDatabase

log = logging.getLogger(__name__)
_db = PooledMySQLDatabase("feeds", host="db", max_connections=8)


class Feed(Model):
    url = CharField()

    class Meta:
        database = _db


def connect():
    log.debug("connecting")
    _db.connect()


def close():
    if not _db.is_closed():
        _db.close()
"""

PS102_INVALID.append(Case("""
from models import Feed, close, connect


def add_feed(url):
    connect()  # expect: PS102
    Feed.create(url=url)
    close()
""", files={"models.py": _WRAPPED_MODELS},
    note="the project's connect() wrapper, closed through its close() only when the "
         "insert succeeds", unfixable=_BY_HAND))

PS102_INVALID.append(Case("""
from models import *


def refresh(feed_ids):
    for feed_id in feed_ids:
        connect()  # expect: PS102
        feed = Feed.get_by_id(feed_id)
        feed.save()
""", files={"models.py": _WRAPPED_MODELS},
    note="the wrapper star-imported and called for every item, never closed",
    unfixable=_BY_HAND))

PS102_INVALID.append(Case("""
import models


class Middleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        models.connect()  # expect: PS102
        try:
            return self.app(environ, start_response)
        finally:
            environ.clear()
""", files={"models.py": _WRAPPED_MODELS},
    note="a WSGI middleware connects through the module's wrapper on every request; "
         "its finally closes something else", unfixable=_BY_HAND))

PS102_VALID.append(Case("""
from models import Feed, close, connect


def add_feed(url):
    connect()
    try:
        Feed.create(url=url)
    finally:
        close()
""", files={"models.py": _WRAPPED_MODELS},
    note="the wrapper's connect, its close() wrapper in finally"))

PS102_VALID.append(Case("""
from models import Feed, connect


def add_feed(url):
    connect()
    Feed.create(url=url)
""", files={"models.py": _WRAPPED_MODELS.replace(
    "from playhouse.pool import PooledMySQLDatabase", "from peewee import SqliteDatabase").replace(
    'PooledMySQLDatabase("feeds", host="db", max_connections=8)', 'SqliteDatabase("feeds.db")')},
    note="a wrapper over a SQLite database: a file, not tracked"))

PS102_VALID.append(Case("""
from models import Feed, run


def add_feed(url):
    run(lambda: Feed.create(url=url))
""", files={"models.py": _WRAPPED_MODELS + """

def run(work):
    _db.connect()
    try:
        return work()
    finally:
        _db.close()
"""}, note="a project function that connects and closes itself: its callers own nothing"))

PS102_VALID.append(Case("""
from flask import Flask

from models import Feed, close, connect

app = Flask(__name__)


@app.before_request
def open_db():
    connect()


@app.teardown_request
def close_db(exc):
    close()


@app.route("/feeds")
def feeds():
    return {"feeds": [f.url for f in Feed.select()]}
""", files={"models.py": _WRAPPED_MODELS},
    note="the wrapper in a before_request hook, its close() wrapper in a teardown handler"))

# A wrapper of a wrapper: the project's `open_session()` only calls the models
# module's connect() wrapper (and `close_session()` its close() wrapper); a caller of
# `open_session()` owns the connection as if it had called `connect()`.
_SESSION = """\
from models import close, connect


def open_session():
    connect()


def close_session():
    close()


def run(work):
    connect()
    try:
        return work()
    finally:
        close()
"""

PS102_INVALID.append(Case("""
from models import Feed
from session import close_session, open_session


def add_feed(url):
    open_session()  # expect: PS102
    Feed.create(url=url)
    close_session()
""", files={"models.py": _WRAPPED_MODELS, "session.py": _SESSION},
    note="a wrapper of the connect() wrapper, closed through a wrapper of close() only "
         "when the insert succeeds", unfixable=_BY_HAND))

PS102_VALID.append(Case("""
from models import Feed
from session import close_session, open_session


def add_feed(url):
    open_session()
    try:
        Feed.create(url=url)
    finally:
        close_session()
""", files={"models.py": _WRAPPED_MODELS, "session.py": _SESSION},
    note="the wrapper of the wrapper, its close wrapper's wrapper in finally"))

PS102_VALID.append(Case("""
from models import Feed
from session import run


def add_feed(url):
    run(lambda: Feed.create(url=url))
""", files={"models.py": _WRAPPED_MODELS, "session.py": _SESSION},
    note="look-alike: a project function that calls both wrappers itself (close in "
         "finally) is no wrapper: its callers own nothing"))

# An updater script's actions (issue 33, round 24, breadth56): a module of update
# functions that only a one-shot script imports, one of whose calls the script has
# commented out. Whatever runs the uncalled one is one run of the script, which an
# exception ends, connection and all (`_uncalled_script_action`).
_UPDATERS = _DB + """

def refresh_prices():
    db.connect()
    Item.update(name="priced").execute()
    db.close()


def refresh_stock():
    db.connect()
    Item.update(name="stocked").execute()
    db.close()
"""

PS102_VALID.append(Case(_UPDATERS, files={"run_updates.py": """
from updaters import refresh_prices, refresh_stock


if __name__ == "__main__":
    refresh_prices()
    # refresh_stock()
"""}, path="updaters.py",
    note="refresh_stock, which no code calls, in a module only a one-shot script "
         "imports: it runs once per run of that script, whose exception ends it"))

PS102_INVALID.append(Case(_DB + """

def refresh_stock():
    db.connect()  # expect: PS102
    Item.update(name="stocked").execute()
    db.close()
""", files={"app.py": """
from flask import Flask

from updaters import refresh_stock

app = Flask(__name__)


@app.route("/ping")
def ping():
    return "ok"
"""}, path="updaters.py",
    note="look-alike: the same uncalled action in a module a Flask application imports "
         "(a server may call it, request after request)", unfixable=_BY_HAND))

PS102_INVALID.append(Case(_DB + """

def refresh_stock():
    db.connect()  # expect: PS102
    Item.update(name="stocked").execute()
    db.close()
""", path="updaters.py",
    note="look-alike: an uncalled action in a module nothing imports (a library's "
         "module, or an entry point of its own: not judged a script's)",
    unfixable=_BY_HAND))

PS102_INVALID.append(Case(_DB + """
import time


def refresh_stock():
    db.connect()  # expect: PS102
    Item.update(name="stocked").execute()
    db.close()


def refresh_prices():
    db.connect()  # expect: PS102
    Item.update(name="priced").execute()
    db.close()


def watch():
    while True:
        refresh_prices()
        time.sleep(60)
""", files={"run_updates.py": """
from updaters import watch

if __name__ == "__main__":
    watch()
"""}, path="updaters.py",
    note="look-alike: the module a script imports has a loop that waits (a worker): "
         "its uncalled action is not judged a one-shot script's", unfixable=_BY_HAND))


# The lead, round 24 (breadth56's question, checked by running Flask 3.1.3): for a view
# that raises, Flask builds the 500 response and runs the after_request functions on it,
# unless the app propagates errors (debug, testing, PROPAGATE_EXCEPTIONS).
_AFTER_REQUEST_CLOSE = _FLASK + """

@app.before_request
def open_db():
    db.connect()


@app.after_request
def close_db(response):
    db.close()
    return response
"""

PS102_VALID += [
    Case(_AFTER_REQUEST_CLOSE,
         note="after_request runs on the 500 response of a view that raised"),
    Case(_AFTER_REQUEST_CLOSE + """

class DevelopmentConfig:
    DEBUG = True
""", note="a configuration class: which one a deployment loads is not in the code"),
    Case(_AFTER_REQUEST_CLOSE, files={"tests/conftest.py": """
from case import app

app.config["TESTING"] = True
"""}, note="testing mode set by the test suite only"),
]


# peewee-async's databases (`peewee_async.PooledPostgresqlDatabase`,
# `peewee_asyncext.PostgresqlExtDatabase`, ...) are peewee databases: beside the
# Manager's async pool, the sync `db.connect()` opens the thread's connection until
# `db.close()`, as peewee's own. Appended after every other module's PS102 cases
# (the case indexes are test ids).
_ASYNC_DB = """\
from peewee import CharField, Model
from peewee_asyncext import PostgresqlExtDatabase

db = PostgresqlExtDatabase("shop", user="app", host="db", register_hstore=False)


class Request(Model):
    url = CharField()

    class Meta:
        database = db
"""

PS102_ASYNC_INVALID: list[Case] = [
    Case(_ASYNC_DB + """

class Client:
    def __init__(self, url):
        self.url = url

    def log_to_database(self):
        db.connect()  # expect: PS102
        Request.create(url=self.url)
        db.close()
""", note="a peewee_asyncext database's sync connect, closed on success only",
         unfixable=_BY_HAND),
    Case("""\
from peewee import CharField, Model
import peewee_async

db = peewee_async.PooledPostgresqlDatabase("shop", user="app", host="db", max_connections=8)


class Request(Model):
    url = CharField()

    class Meta:
        database = db


def urls_since(first):
    db.connect()  # expect: PS102
    return [r.url for r in Request.select().where(Request.id >= first)]
""", note="a peewee_async pooled database's sync connect, never closed",
         unfixable=_BY_HAND),
]

PS102_ASYNC_VALID: list[Case] = [
    Case(_ASYNC_DB + """

def log_to_database(url):
    with db.connection_context():
        Request.create(url=url)
""", note="look-alike: connection_context() closes it on every path"),
    Case(_ASYNC_DB + """

def log_to_database(url):
    db.connect()
    try:
        Request.create(url=url)
    finally:
        db.close()
""", note="look-alike: closed in a finally"),
    Case("""\
from aiohttp import web
from peewee import CharField, Model
import peewee_async

db = peewee_async.PooledPostgresqlDatabase("shop", user="app", host="db", max_connections=8)
objects = peewee_async.Manager(db)


class Request(Model):
    url = CharField()

    class Meta:
        database = db


async def on_startup(app):
    await db.connect_async()
    db.set_allow_sync(False)


async def on_cleanup(app):
    await db.close_async()


async def urls(request):
    rows = await objects.execute(Request.select())
    return web.json_response([r.url for r in rows])


app = web.Application()
app.on_startup.append(on_startup)
app.on_cleanup.append(on_cleanup)
app.router.add_get("/urls", urls)
""", note="look-alike: the Manager's async pool, opened at startup and closed at cleanup"),
]

"""PS202 engine-per-call: INVALID cases mark the create_engine() call."""

from poolsafe.rules.base import Case

INVALID: list[Case] = [
    Case("""
from fastapi import APIRouter
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

router = APIRouter()

def get_engine():
    return create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True)  # expect: PS202

def get_session():
    session = scoped_session(sessionmaker(bind=get_engine()))
    try:
        yield session
    finally:
        session.close()

@router.get("/works")
def works():
    db = next(get_session())
    return db.execute(text("SELECT id FROM works")).all()
""", note="a generator drawn with next() in a route runs once per request, like a "
          "dependency: each request builds a new engine"),
    Case("""
import os
from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)

def get_engine():
    return create_engine(os.environ["DATABASE_URL"])  # expect: PS202

@app.route("/items")
def items():
    with get_engine().connect() as conn:
        return str(conn.execute(text("SELECT 1")).all())
""", note="a factory that returns a new engine, called per request: returning is not keeping"),
    Case("""
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

app = FastAPI()
engine = None

def get_engine():
    engine = create_engine("postgresql://app@db/app")  # expect: PS202
    return engine

def get_db():
    db = sessionmaker(bind=get_engine())()
    try:
        yield db
    finally:
        db.close()

@app.get("/items")
def items(db: Session = Depends(get_db)):
    return db.execute(text("SELECT 1")).all()
""", note="the global is shadowed by a local, so every get_db() builds a new pool"),
    Case("""
from sqlalchemy import create_engine

def get_engine():
    return create_engine("postgresql://app@db/app")  # expect: PS202
""", files={"jobs.py": """
from sqlalchemy import text
from case import get_engine

def sync_rows(rows):
    for row in rows:
        with get_engine().begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:r)"), {"r": row})
"""}, note="the caller is in another module, once per row"),
    Case("""
from sqlalchemy import create_engine, text

DATABASE_URL = "postgresql://app@db/app"

def count_users():
    engine = create_engine(DATABASE_URL)  # expect: PS202
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM users")).scalar()
"""),
    Case("""
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy import text

app = FastAPI()

@app.get("/orders/latest")
async def latest_orders(url: str):
    engine = create_async_engine(url)  # expect: PS202
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT id FROM orders LIMIT 10"))
            return result.all()
    finally:
        await engine.dispose()
""", note="a route: dispose() closes the pool, but every request builds a new one and "
          "opens a new server connection"),
    Case("""
import pandas as pd
from sqlalchemy import create_engine

def load_sales(url):
    engine = create_engine(url, pool_pre_ping=True)  # expect: PS202
    return pd.read_sql("SELECT * FROM sales", engine)
""", note="returning data read through the engine does not keep the engine"),
    Case("""
from sqlalchemy import create_engine, text

class ReportRepository:
    def __init__(self, url):
        self.url = url

    def totals(self):
        engine = create_engine(self.url)  # expect: PS202
        with engine.begin() as conn:
            return list(conn.execute(text("SELECT region, sum(total) FROM sales GROUP BY 1")))
"""),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

def archive(user_id):
    Session = sessionmaker(bind=create_engine("postgresql://app@db/app"))  # expect: PS202
    with Session() as session:
        session.execute("UPDATE users SET archived = true WHERE id = :id", {"id": user_id})
        session.commit()
""", note="a sessionmaker that stays local does not keep the engine"),
    Case("""
from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)

@app.route("/stats")
def stats():
    engine = create_engine(app.config["DATABASE_URL"])  # expect: PS202
    with engine.connect() as conn:
        return {"users": conn.execute(text("SELECT count(*) FROM users")).scalar()}
"""),
    Case("""
from sqlmodel import Session, create_engine, select

def find_hero(name: str):
    engine = create_engine("postgresql://app@db/heroes")  # expect: PS202
    with Session(engine) as session:
        return session.exec(select("Hero").where(name == name)).first()
"""),
    Case("""
from sqlalchemy import create_engine

def rows(sql, results):
    engine = create_engine("mysql+pymysql://app@db/app")  # expect: PS202
    with engine.connect() as conn:
        results.extend(conn.exec_driver_sql(sql).fetchall())
""", note="storing query results in a list is not storing the engine"),
    Case("""
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

app = Flask(__name__)

def new_session():
    engine = create_engine("postgresql://app@db/app")  # expect: PS202
    return sessionmaker(engine, expire_on_commit=False)()

@app.route("/count")
def count():
    session = new_session()
    try:
        return {"n": session.execute(text("SELECT count(*) FROM t")).scalar()}
    finally:
        session.close()
""", note="the returned session keeps the engine, and a route drops it after each request"),
    Case("""
import time
from sqlalchemy import create_engine, text

def backup():
    engine = create_engine("mysql+pymysql://app@db/app")  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text("FLUSH TABLES"))

while True:
    backup()
    time.sleep(3600)
""", note="called only from module-level code, but inside a loop: it runs many times"),
    Case("""
from sqlalchemy import create_engine, text

def count(url):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM t")).scalar()

def main(urls):
    for url in urls:
        print(count(url))

if __name__ == "__main__":
    main(["postgresql://app@db/a", "postgresql://app@db/b"])
""", note="main() runs once, but calls the factory in a loop"),
    Case("""
import asyncpg
from fastapi import Depends, FastAPI

app = FastAPI()

async def get_conn():
    pool = await asyncpg.create_pool("postgresql://app@db/app")  # expect: PS202
    async with pool.acquire() as conn:
        yield conn
    await pool.close()

@app.get("/items")
async def items(conn=Depends(get_conn)):
    return await conn.fetch("SELECT id FROM items")
""", note="an asyncpg pool built in a Depends() generator: a new pool per request"),
    Case("""
from flask import Flask
from psycopg2.pool import ThreadedConnectionPool

app = Flask(__name__)

def get_pool():
    return ThreadedConnectionPool(1, 5, "dbname=app")  # expect: PS202

@app.route("/users")
def users():
    pool = get_pool()
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM users")
            return str(cur.fetchall())
    finally:
        pool.putconn(conn)
""", note="a psycopg2 pool factory called by a route, which drops the pool"),
    Case("""
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

app = FastAPI()

@app.get("/orders")
def orders():
    pool = ConnectionPool("dbname=app")  # expect: PS202
    with pool.connection() as conn:
        return conn.execute("SELECT id FROM orders").fetchall()
""", note="psycopg_pool in a handler"),
    Case("""
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

app = FastAPI()

def get_db():
    engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)  # expect: PS202
    db = Session(engine)
    try:
        yield db
    finally:
        db.close()

@app.get("/n")
def n(db: Session = Depends(get_db)):
    return db.execute(text("SELECT 1")).scalar()
""", note="a yield dependency runs per request: the session it yields carries a new engine"),
    Case("""
import csv
from sqlalchemy import create_engine, text

def main(path):
    with open(path) as fh:
        for row in csv.DictReader(fh):
            engine = create_engine("postgresql://app@db/app")  # expect: PS202
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t (a) VALUES (:a)"), row)

if __name__ == "__main__":
    main("rows.csv")
""", note="main() runs once, but builds an engine per row"),
    Case("""
import sys
from sqlalchemy import create_engine, text

for name in sys.argv[1:]:
    engine = create_engine("postgresql://app@db/app")  # expect: PS202
    with engine.begin() as conn:
        conn.execute(text("COPY t FROM :f"), {"f": name})
""", note="a script's module-level loop: one engine per file"),
    Case("""
from aiopg.sa import create_engine


async def connect_db():
    engine = await create_engine(user="app", database="app", host="db")  # expect: PS202
    return engine
""", path="service_api/database.py", files={"service_api/__init__.py": "",
                                           "service_api/payments.py": """
from service_api.database import *


async def list_payments(query):
    engine = await connect_db()
    async with engine.acquire() as conn:
        return [row async for row in conn.execute(query)]
"""}, note="an aiopg.sa engine (a pool) per call, made by a factory that a handler "
            "reaches through a star import and drops"),
    Case("""
from sqlalchemy import create_engine, inspect


def table_counts(url_for, databases):
    counts = {}
    for name in databases:
        engine = create_engine(url_for(name))  # expect: PS202
        with engine.connect() as conn:
            counts[name] = len(inspect(conn).get_table_names())
        engine.dispose()
    return counts
""", note="dispose() only at the end of the success path: an error before it drops "
          "the engine with its pool"),
    Case("""
import sqlalchemy as sa


def database_exists(url, candidates):
    engine = None
    try:
        for name in candidates:
            engine = sa.create_engine(url.set(database=name))  # expect: PS202
            try:
                with engine.connect() as conn:
                    return bool(conn.execute(sa.text("SELECT 1")).scalar())
            except sa.exc.OperationalError:
                pass
        return False
    finally:
        if engine is not None:
            engine.dispose()
""", note="the finally around the loop disposes only the last engine: the earlier ones "
          "are dropped with their pools"),
    Case("""
from psycopg2.pool import ThreadedConnectionPool


def order_total(dsn, order_id, pool=None):
    pool = pool or ThreadedConnectionPool(1, 4, dsn)  # expect: PS202
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT sum(amount) FROM lines WHERE order_id = %s", (order_id,))
            return cur.fetchone()[0]
    finally:
        pool.putconn(conn)
""", note="a default pool built when the caller passed none (`pool or Pool(...)`), kept "
          "only in a local: every call without a pool builds one and drops it"),
    Case("""
from sqlalchemy import create_engine, text


def count_books(library):
    engine = create_engine("postgresql://app@db/{0}".format(library))  # expect: PS202
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM books")).scalar()
""", note="an engine per call on a server database (the look-alike of the SQLite case): "
          "every call opens a new server connection and drops the pool"),
    Case("""
from sqlalchemy import create_engine, text


class Bus:
    def __init__(self):
        self.handlers = {}

    def command(self, name):
        def register(fn):
            self.handlers[name] = fn
            return fn
        return register


bus = Bus()


@bus.command("rotate")
def rotate_audit(url):
    engine = create_engine(url)  # expect: PS202
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit WHERE ts < now() - interval '90 days'"))
""", note="`.command()` of a project's message bus is no command-line group: its handlers "
          "run per message"),
    Case("""
from sqlalchemy import create_engine, text


def purge_hidden(url, name):
    engine = create_engine(url, isolation_level="AUTOCOMMIT")  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text(f'DELETE FROM "{name}" WHERE hidden'))
    engine.dispose()
""", path="app/testimonials/store.py",
         note="production code whose directory only begins like a test one: an error "
              "before dispose() drops the engine with its pool"),
]

VALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine, text

def init_db():
    engine = create_engine("postgresql://app@db/app")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (id int)"))

def main():
    init_db()
    print("ready")

if __name__ == "__main__":
    main()
""", note="called only from main(), which runs once per process"),
    Case("""
import click
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

def new_session():
    engine = create_engine("postgresql://app@db/app")
    return sessionmaker(engine, expire_on_commit=False)()

@click.command()
def report():
    session = new_session()
    try:
        session.execute("SELECT 1")
    finally:
        session.close()
""", note="a session made from a per-call sessionmaker carries its engine to the caller, "
          "a command that runs once per process"),
    Case("""
import click
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

def new_session(url):
    Session = sessionmaker(bind=create_engine(url))
    return Session()

@click.command()
def report():
    with new_session("postgresql://app@db/app") as session:
        session.execute("SELECT 1")
""", note="calling a sessionmaker name bound to the engine also carries it"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

def get_engine():
    return create_engine("postgresql://app@db/app", pool_pre_ping=True)

def sessions():
    factory = sessionmaker(bind=get_engine())
    while True:
        yield factory()

SESSIONS = sessions()
session = next(SESSIONS)
""", note="a generator created once at module level keeps its engine for the process"),
    Case("""
import functools
from sqlalchemy import create_engine, text

@functools.cache
def get_engine():
    return create_engine("postgresql://app@db/app")

def count():
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT 1")).scalar()
""", note="a cached factory returns the same engine"),
    Case("""
from sqlalchemy import create_engine, text

def make_engine(url):
    return create_engine(url)

engine = make_engine("postgresql://app@db/app")

def count():
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar()
""", note="a factory called once, at module level"),
    Case("""
from flask import Flask
from sqlalchemy import create_engine

def make_engine(url):
    return create_engine(url)

def create_app():
    app = Flask(__name__)
    app.extensions["engine"] = make_engine(app.config["DATABASE_URL"])
    return app
""", note="the caller keeps the engine on the app"),
    Case("""
from sqlalchemy import create_engine

_engine = None

def _build(url):
    return create_engine(url)

def get_engine():
    global _engine
    if _engine is None:
        _engine = _build("postgresql://app@db/app")
    return _engine
""", note="the caller caches it in a global"),
    Case("""
from sqlalchemy import create_engine

def make_engine(url):
    return create_engine(url)
""", files={"tests/test_db.py": """
from case import make_engine

def test_connects():
    engine = make_engine("sqlite://")
    with engine.connect():
        pass
"""}, note="only tests call the factory, one engine per test"),
    Case("""
from sqlalchemy import create_engine

def make_engine(url):
    return create_engine(url, pool_pre_ping=True)
""", note="a factory that returns the engine"),
    Case("""
from sqlalchemy import create_engine

engine = None

def init_db(url):
    global engine
    engine = create_engine(url, pool_pre_ping=True)
"""),
    Case("""
from sqlalchemy import create_engine

class Database:
    def __init__(self, url):
        self.engine = create_engine(url, pool_pre_ping=True)
"""),
    Case("""
from sqlalchemy import create_engine

def init_app(app):
    engine = create_engine(app.config["DATABASE_URL"], pool_pre_ping=True)
    app.engine = engine
"""),
    Case("""
from functools import lru_cache
from sqlalchemy import create_engine

@lru_cache
def get_engine():
    return create_engine("postgresql://app@db/app", pool_pre_ping=True)

@lru_cache(maxsize=None)
def reporting_engine():
    engine = create_engine("postgresql://app@db/reports", pool_pre_ping=True)
    with engine.connect():
        pass
    return engine
"""),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

def make_session_factory(url):
    engine = create_engine(url, pool_pre_ping=True)
    Session = sessionmaker(bind=engine)
    return Session
""", note="the returned sessionmaker keeps the engine"),
    Case("""
from sqlalchemy import create_engine, text

def main():
    engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
    with engine.begin() as conn:
        conn.execute(text("VACUUM"))

if __name__ == "__main__":
    main()
""", note="a script's entry point runs once"),
    Case("""
import click
from sqlalchemy import create_engine

@click.command()
@click.argument("url")
def seed(url):
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO roles (name) VALUES ('admin')")
"""),
    Case("""
from contextlib import asynccontextmanager
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

@asynccontextmanager
async def lifespan(app: FastAPI):
    engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_pre_ping=True)
    app.state.engine = engine
    yield
    await engine.dispose()

app = FastAPI(lifespan=lifespan)
""", note="a lifespan keeps the engine across its yield"),
    Case("""
from sqlalchemy import create_engine

ENGINES = {}

def engine_for(tenant, url):
    if tenant not in ENGINES:
        ENGINES[tenant] = create_engine(url, pool_pre_ping=True)
    return ENGINES[tenant]

def register(url, registry):
    engine = create_engine(url, pool_pre_ping=True)
    registry.append(engine)
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)

def handler():
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT 1").scalar()
""", note="module level"),
    Case("""
from sqlalchemy import create_engine, text

def test_counts():
    engine = create_engine("postgresql://app@localhost/test")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
""", path="tests/test_counts.py", note="a test's engine lives for one test"),
    Case("""
from sqlalchemy import create_engine, text

URL = "postgresql://app@db/app"

def check_db():
    engine = create_engine(URL)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))

def check_tables():
    engine = create_engine(URL)
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM users"))

CHECKS = [("database", check_db), ("tables", check_tables)]

def main():
    for name, fn in CHECKS:
        print(name)
        fn()

if __name__ == "__main__":
    main()
""", note="each check runs once, from a table main() walks once"),
    Case("""
from sqlalchemy import create_engine

DATABASES = {"main": "postgresql://app@db/app", "audit": "postgresql://app@db/audit"}
ENGINES = {}

def setup():
    for name, url in DATABASES.items():
        ENGINES[name] = create_engine(url, pool_pre_ping=True)

setup()
""", note="one engine per database, each kept"),
    Case("""
import sys
from sqlalchemy import create_engine

def main():
    for path in sys.argv[1:]:
        engine = create_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM")
        engine.dispose()

if __name__ == "__main__":
    main()
""", note="an SQLite file per item: each engine is its own database"),
    Case("""
from contextlib import asynccontextmanager
import asyncpg
from fastapi import FastAPI

@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pool = await asyncpg.create_pool("postgresql://app@db/app")
    yield
    await app.state.pool.close()

app = FastAPI(lifespan=lifespan)
""", note="a lifespan builds the pool once"),
    Case("""
import time
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

for attempt in range(10):
    try:
        engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
        with engine.connect():
            pass
        break
    except OperationalError:
        time.sleep(3)
""", note="a retry until the database answers: the loop ends with the one engine it keeps"),
    Case("""
from sqlalchemy import create_engine, text


def check_database():
    engine = create_engine("postgresql://app@db/app")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def check_disk():
    return True


def main():
    checks = [("database", check_database), ("disk", check_disk)]
    for label, run in checks:
        print(label, run())


if __name__ == "__main__":
    main()
""", note="a diagnostic table local to main(), walked once"),
    Case("""
from aiopg.sa import create_engine


async def connect_db():
    engine = await create_engine(user="app", database="app", host="db")
    return engine
""", path="service_api/database.py", files={"service_api/__init__.py": "",
                                           "service_api/app.py": """
from service_api.database import *


async def on_startup(app):
    app['engine'] = await connect_db()
"""}, note="the factory's one caller keeps the engine on the application"),
    Case("""
from sqlalchemy import create_engine, inspect


class Source:
    def __init__(self, url_for, databases):
        self.url_for = url_for
        self.databases = databases

    def inspectors(self):
        for name in self.databases:
            engine = create_engine(self.url_for(name))
            try:
                with engine.connect() as conn:
                    yield inspect(conn)
            finally:
                engine.dispose()
""", note="one engine per database of a server (the URL comes from the item), "
          "disposed in finally after use: its connections are closed, error or not"),
    Case("""
from sqlalchemy import create_engine, text


def ping_all(url, names):
    for name in names:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
""", note="an engine per item, disposed in finally: a connection per item, none left "
          "open"),
    Case("""
from sqlalchemy import create_engine, text


def create_database(url, name):
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
""", note="a helper that builds its engine and disposes it in finally: nothing is left "
          "open, error or not"),
    Case("""
import sqlalchemy as sa

def migrate_tenants(tenant_urls):
    for url in tenant_urls:
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE t ADD COLUMN c int"))
        finally:
            engine.dispose()

def run_nightly(urls):
    migrate_tenants(urls)
""", note="one engine per tenant database, disposed in finally"),
    Case("""
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import create_engine


class JobQueue:
    def __init__(self, pool=None, url=None):
        self.pool = pool or AsyncConnectionPool(url, open=False)

    async def start(self):
        await self.pool.open()

    async def stop(self):
        await self.pool.close()


class Store:
    def __init__(self, url, engine=None):
        self.engine = engine if engine is not None else create_engine(url)
""", note="a default built only when the caller passed none (`pool or Pool(...)`, a "
          "conditional expression), stored on the object: it lives as long as the object"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool


def count_books(library):
    engine = create_engine("sqlite:///{0}".format(library))
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM books")).scalar()


def open_catalog(path):
    engine = create_engine("sqlite://", poolclass=StaticPool)
    with engine.begin() as conn:
        conn.execute(text(f"ATTACH DATABASE '{path}' AS catalog"))
    return scoped_session(sessionmaker(bind=engine))
""", note="an SQLite engine per call (a file, or in memory with files attached): no "
          "server, no connection slot to use up; its connections are file handles"),
    Case("""
from flask.cli import AppGroup
from sqlalchemy import create_engine, text

audit_cli = AppGroup("audit", help="Manage the audit log")


@audit_cli.command("rotate")
def rotate_audit():
    engine = create_engine("postgresql://db/audit")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit WHERE ts < now() - interval '90 days'"))
""", note="a command of a Flask CLI group (a click group): it runs once per process"),
    Case("""
from sqlalchemy import create_engine, text


def drop_database(url, name):
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    engine.dispose()
""", path="app/model/unittest_utils/db_helpers.py",
         note="a test-support package (`unittest_utils/`, `testing/`): its engines live for "
              "one test"),
    Case("""
from databases import Database


def reports_database(url):
    return Database(url, max_size=5)
""", note="encode/databases: `Database(url)` opens no connection until `connect()`: "
          "building one is not a pool per call"),
]

VALID += [
    Case("""
import click
from sqlalchemy import create_engine, text


class DbManage:
    def __init__(self, url):
        self.url = url
        engine = create_engine(url)
        self.version = engine.connect().execute(text("SELECT version()")).scalar()

    def create_database(self, name):
        engine = create_engine(self.url.replace("/app", "/postgres"))
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))


@click.command()
@click.argument("url")
def db_create(url):
    manager = DbManage(url)
    manager.create_database("app")
""", note="a bootstrap engine in methods run only from a one-shot CLI command (and the "
          "class built only there): once per process"),
    Case("""
from alembic import context
from sqlalchemy import create_engine


def run_migrations_online(url):
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_for_each_database(run, urls):
    for url in urls:
        run(url)


run_for_each_database(run_migrations_online, context.config.get_section("databases"))
""", path="migrations/env.py", note="an Alembic environment: one engine per database of one "
                                    "migration run (the function is passed as a value)"),
]

INVALID += [
    Case("""
import click
from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)


class DbManage:
    def __init__(self, url):
        self.url = url

    def create_database(self, name):
        engine = create_engine(self.url)  # expect: PS202
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))


@click.command()
def db_create():
    DbManage("postgresql://db/app").create_database("app")


@app.route("/tenants/<name>", methods=["POST"])
def new_tenant(name):
    DbManage("postgresql://db/app").create_database(name)
    return "ok"
""", note="the same method also runs per request: an engine per call"),
    Case("""
import click
from sqlalchemy import create_engine, text


class DbManage:
    def __init__(self, url):
        self.url = url

    def create_database(self, name):
        engine = create_engine(self.url)  # expect: PS202
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))


@click.command()
def db_create():
    manager = DbManage("postgresql://db/app")
    for name in ("a", "b", "c"):
        manager.create_database(name)
""", note="run once per item of a loop in the CLI command: an engine per item"),
]

VALID += [
    Case("""
import collections
import os

from sqlalchemy import create_engine


class Target:
    Entry = collections.namedtuple("Entry", "engine pid")
    _engines = {}

    def __init__(self, url):
        self.url = url

    @property
    def engine(self):
        pid = os.getpid()
        entry = Target._engines.get(self.url)
        if not entry or entry.pid != pid:
            engine = create_engine(self.url)
            Target._engines[self.url] = self.Entry(engine, pid)
        return Target._engines[self.url].engine
""", note="the engine is kept per process in a class-level dict, inside a record built "
          "by a namedtuple class"),
]

INVALID += [
    Case("""
import collections
import os

from sqlalchemy import create_engine


class Target:
    Entry = collections.namedtuple("Entry", "engine pid")

    def __init__(self, url):
        self.url = url

    def count(self):
        engine = create_engine(self.url)  # expect: PS202
        entry = self.Entry(engine, os.getpid())
        with entry.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
""", note="the record is local and dropped at the end of the call: an engine per call"),
]

VALID += [
    Case("""
import click
from sqlalchemy import create_engine, text

cli = click.Group()


def register_command(hidden=False):
    return cli.command(hidden=hidden)


@register_command()
@click.option("--url", required=True)
def db_create(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (id int)"))
""", note="a command registered by the project's own decorator: its `@click.option` "
          "says it is a command-line entry point, run once per process"),
]

# An engine opens no connection until one is asked for: one built only to read its
# dialect (quoting rules, name, server-version checks) fills no pool.
VALID += [
    Case("""
import json

from sqlalchemy import create_engine


def unescape_filters(charts):
    for chart, database in charts:
        engine = create_engine(database.sqlalchemy_uri)
        if engine.dialect.identifier_preparer._double_percents:
            params = json.loads(chart.params)
            chart.params = json.dumps(params).replace("%%", "%")
""", note="one engine per item, but only its dialect is read: no connection is opened"),
    Case("""
from sqlalchemy import create_engine


def backend_name(uri):
    engine = create_engine(uri)
    return engine.dialect.name, engine.url.database
""", note="dialect and URL only"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, text


def server_version(uri):
    engine = create_engine(uri)  # expect: PS202
    if engine.dialect.name == "sqlite":
        return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT version()")).scalar()
""", note="the dialect is read, then the engine connects: a pool per call"),
]

# issue 31, large code bases: a traitlets application's lifecycle runs once per process
VALID += [
    Case("""
from sqlalchemy import create_engine, text
from traitlets.config import Application


def migrate_if_needed(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT version_num FROM alembic_version"))


class UpgradeCommand(Application):
    def start(self):
        migrate_if_needed(self.db_url)


class Server(Application):
    def initialize(self, argv=None):
        self.setup_database()

    def setup_database(self):
        migrate_if_needed(self.db_url)
""", note="a bootstrap engine: Application.initialize() and start() run once per process "
          "(launch_instance), and so does a method only they call"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, text
from traitlets.config import Application


def migrate_if_needed(url):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text("SELECT version_num FROM alembic_version"))


class UpgradeCommand(Application):
    def start(self):
        for url in self.db_urls:
            migrate_if_needed(url)
""", note="the lifecycle method runs once, but calls the builder once per database in a loop"),
    Case("""
from sqlalchemy import create_engine, text


def migrate_if_needed(url):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text("SELECT version_num FROM alembic_version"))


class Poller:
    def start(self):
        migrate_if_needed(self.db_url)
""", note="a `start()` of a class that is no traitlets Application: nothing says it runs once"),
]

# issue 31, large code bases: a Jupyter server extension's set-up hooks run once per process
_EXTENSION_APP = """
from jupyter_server.extension.application import ExtensionApp
from sqlalchemy import create_engine


def create_tables(url):
    engine = create_engine(url){mark}
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS jobs (id integer)")


class SchedulerApp({base}):
    def initialize_settings(self):
        super().initialize_settings()
        create_tables(self.db_url)
"""

VALID += [
    Case(_EXTENSION_APP.format(mark="", base="ExtensionApp"),
         note="the server calls an extension's initialize_settings() once, when it loads it: "
              "a bootstrap engine that creates the tables"),
]

VALID += [
    Case(_EXTENSION_APP.format(mark="", base="ExtensionApp"), path="scheduler/extension.py",
         files={"scheduler/__init__.py": "", "scheduler/tests/__init__.py": "",
                "scheduler/tests/test_tables.py": """
from scheduler.extension import create_tables


def test_create_tables(tmp_path):
    create_tables(f"sqlite:///{tmp_path}/jobs.db")
"""}, note="the project's tests call the builder too: a test says nothing of how often "
             "production runs it"),
]

INVALID += [
    Case(_EXTENSION_APP.format(mark="  # expect: PS202", base="object"),
         note="an `initialize_settings()` of a class that is no ExtensionApp: nothing says it "
              "runs once"),
]

# issue 31, large code bases: an engine bound to a session factory that outlives the call
_CONFIGURE_BIND = """
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

maker = sessionmaker()
db_session = scoped_session(maker)


def init_db(url):
    engine = create_engine(url){mark}
    {configure}
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
"""

VALID += [
    Case(_CONFIGURE_BIND.format(mark="", configure="maker.configure(bind=engine)"),
         note="`sessionmaker.configure(bind=engine)`: the module's factory keeps the engine"),
    Case(_CONFIGURE_BIND.format(mark="", configure="db_session.configure(bind=engine)"),
         note="`scoped_session.configure(bind=engine)` keeps it too"),
]

INVALID += [
    Case(_CONFIGURE_BIND.format(mark="  # expect: PS202",
                                configure="maker.configure(autoflush=False)"),
         note="the factory is configured, but not bound to this engine: it is dropped"),
]

# issue 31, large code bases: an alternative constructor keeps the engine in the instance
VALID += [
    Case("""
from sqlalchemy import create_engine


class Warehouse:
    def __init__(self, engine, schema=None):
        self._engine = engine
        self.schema = schema

    @classmethod
    def from_url(cls, url, engine_args=None, **kwargs):
        return cls(create_engine(url, **(engine_args or {})), **kwargs)


WAREHOUSE = Warehouse.from_url("postgresql://db/dw")
""", note="`cls(engine)` in a classmethod builds an instance that keeps the engine, and "
          "the caller keeps the instance"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, text


class Warehouse:
    @classmethod
    def row_count(cls, url, table):
        engine = create_engine(url)  # expect: PS202
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
""", note="a classmethod that builds an engine and does not hand it to `cls(...)`: dropped"),
    Case("""
from sqlalchemy import create_engine, text


class Warehouse:
    def __init__(self, engine):
        self._engine = engine

    def count(self, table):
        with self._engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()

    @classmethod
    def from_url(cls, url):
        return cls(create_engine(url))  # expect: PS202


def handle(request):
    return Warehouse.from_url(request.args["url"]).count("orders")
""", note="the instance keeps the engine, but a caller that runs per call drops it"),
]

# issue 31, large code bases: an engine without a pool
VALID += [
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def schema_revision(url):
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
""", note="NullPool keeps nothing: the connection closes when the `with` gives it back, "
          "so a new engine per call leaves nothing open"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.pool import StaticPool


def schema_revision(url):
    engine = create_engine(url, poolclass=StaticPool)  # expect: PS202
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
""", note="StaticPool keeps its one connection open after the `with`: it stays open until "
          "the engine is collected"),
]

# issue 31, large code bases: an argparse subcommand (`sub.set_defaults(func=...)`,
# dispatched once by `args.func(args)`) runs once per process, as a click command does
_VACUUM_CLI = """
import argparse

from sqlalchemy import create_engine, text


def open_engine(url):
    return create_engine(url)  {mark}


def vacuum(args):
    engine = open_engine(args.url)
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
{extra}

def main():
    parser = argparse.ArgumentParser(prog="shopctl")
    commands = parser.add_subparsers()
    vacuum_cmd = commands.add_parser("vacuum")
    vacuum_cmd.add_argument("--url", required=True)
    vacuum_cmd.set_defaults(func=vacuum)
    args = parser.parse_args()
    args.func(args)
"""

VALID += [
    Case(_VACUUM_CLI.format(mark="", extra=""),
         note="the subcommand runs once per `shopctl vacuum`: one engine for the process"),
]

INVALID += [
    Case(_VACUUM_CLI.format(mark="# expect: PS202", extra="""
from flask import Flask, request

app = Flask(__name__)


@app.post("/maintenance/vacuum")
def vacuum_route():
    vacuum(request)
    return "ok"
"""), note="the same subcommand also runs per request from a route: a pool per request"),
]

# issue 31, large code bases: the caller hands the engine's `dispose` on (a list of
# shutdown callbacks, `atexit.register`): whoever holds it disposes the engine
_NOTEBOOK = """
from sqlalchemy import create_engine, text


def open_engine(url):
    return create_engine(url)  {mark}


class Notebook:
    def __init__(self, url, on_close):
        engine = open_engine(url)
        with engine.connect() as conn:
            self.version = conn.execute(text("SELECT version()")).scalar()
{end}

def launch(url):
    hooks = []
    return Notebook(url, hooks), hooks
"""

VALID += [
    Case(_NOTEBOOK.format(mark="", end="        on_close.append(engine.dispose)\n"),
         note="the engine's dispose() is kept as a shutdown callback: it is disposed "
              "when the callbacks run, not dropped"),
]

INVALID += [
    Case(_NOTEBOOK.format(mark="# expect: PS202", end="        engine.dispose()\n"),
         note="dispose() only on the success path: an error in the query drops the pool "
              "with its connection"),
]

# issue 31, large code bases: a factory that forwards its keyword arguments to the
# engine, called with `poolclass=NullPool`
_TENANT = """
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def tenant_engine(url, **options):
    return create_engine(url, pool_pre_ping=True, **options)  {mark}


def add_column(url):
    engine = tenant_engine(url, {option})
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE invoices ADD COLUMN memo text"))
"""

VALID += [
    Case(_TENANT.format(mark="", option="poolclass=NullPool"),
         note="the caller's `poolclass=NullPool` reaches create_engine() through "
              "`**options`: the engine keeps no pool"),
]

INVALID += [
    Case(_TENANT.format(mark="# expect: PS202", option="pool_size=1"),
         note="a pool of one still keeps its connection open after the `with`"),
]

# issue 31, round 7: pools of DBUtils and mysql.connector built per call. DBUtils'
# `PooledDB` opens nothing when built (`mincached` 0) and `PersistentDB` opens on the
# first `connection()`; either, built per call, opens its own connection on use and
# drops it with the pool (no reuse between calls). mysql.connector's
# `MySQLConnectionPool` opens `pool_size` connections when it is built.
INVALID += [
    Case("""
import pymysql
from dbutils.pooled_db import PooledDB
from flask import Flask

app = Flask(__name__)


@app.route("/stock")
def stock():
    pool = PooledDB(creator=pymysql, maxconnections=4, host="db", database="shop")  # expect: PS202
    conn = pool.connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM items")
            return {"n": cur.fetchone()[0]}
    finally:
        conn.close()
""", note="a DBUtils pool per request: each request opens its own connection"),
    Case("""
import psycopg2
from dbutils.persistent_db import PersistentDB


class Ledger:
    def __init__(self):
        self.pool = PersistentDB(psycopg2, dsn="dbname=ledger host=db")

    def total(self):
        return self.pool.connection().cursor().execute("SELECT 1")


def balance(account):
    pool = PersistentDB(psycopg2, dsn="dbname=ledger host=db")  # expect: PS202
    conn = pool.connection()
    cur = conn.cursor()
    cur.execute("SELECT amount FROM accounts WHERE id = %s", (account,))
    return cur.fetchone()
""", note="PersistentDB per call keeps its connection until the pool is collected (its "
          "close() is ignored); the one stored on `self` is kept"),
    Case("""
from mysql.connector.pooling import MySQLConnectionPool


def find_user(name):
    pool = MySQLConnectionPool(pool_name="users", pool_size=4, host="db",  # expect: PS202
                               database="accounts")
    conn = pool.get_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT id FROM users WHERE name = %s", (name,))
        return cur.fetchone()
    finally:
        conn.close()
""", note="mysql.connector opens pool_size connections when the pool is built"),
]

VALID += [
    Case("""
import sqlite3

from dbutils.pooled_db import PooledDB


def notes():
    pool = PooledDB(sqlite3, maxconnections=2, database="notes.db")
    conn = pool.connection()
    try:
        return conn.cursor().execute("SELECT body FROM notes").fetchall()
    finally:
        conn.close()
""", note="a DBUtils pool over sqlite3 (its `creator`): file handles, no server slot"),
    Case("""
import pymysql
from dbutils.pooled_db import PooledDB
from mysql.connector.pooling import MySQLConnectionPool

POOL = PooledDB(creator=pymysql, maxconnections=4, host="db", database="shop")
USERS = MySQLConnectionPool(pool_name="users", pool_size=4, host="db", database="accounts")


def stock():
    conn = POOL.connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM items")
            return cur.fetchone()[0]
    finally:
        conn.close()
""", note="pools built once at module level"),
]

_DI_CLIENT = """\
from functools import cached_property

from dependency_injector import containers, providers
from dependency_injector.wiring import Provide, inject
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine


class Database:
    def __init__(self, url):
        self.url = url

    @cached_property
    def sessions(self):
        return async_sessionmaker(self._build_engine())

    def _build_engine(self):
        return create_async_engine(self.url)  # EXPECT


class Repository:
    def __init__(self, db):
        self.db = db

    async def count(self):
        async with self.db.sessions() as session:
            return (await session.execute(text("select count(*) from users"))).scalar()
"""

_DI_CONSUMER = """

@inject
async def count_users(repo: Repository = Provide[Container.repo]):
    return await repo.count()
"""

INVALID += [
    Case(_DI_CLIENT.replace("  # EXPECT", "  # expect: PS202") + """

class Container(containers.DeclarativeContainer):
    db = providers.Factory(Database, url="postgresql+asyncpg://db/app")
    repo = providers.Factory(Repository, db=db)
""" + _DI_CONSUMER, note="a Factory builds a new Database per injection, and each instance "
                          "builds its own engine: one pool per request"),
    Case(_DI_CLIENT.replace("  # EXPECT", "  # expect: PS202") + """

class Container(containers.DeclarativeContainer):
    db = providers.AbstractFactory(object)
    repo = providers.Factory(Repository, db=db.provided)


def create_app():
    container = Container()
    container.db.override(providers.Factory(Database, url="postgresql+asyncpg://db/app"))
    return container
""" + _DI_CONSUMER, note="the abstract provider is overridden with a Factory in the app factory"),
]

VALID += [
    Case(_DI_CLIENT.replace("  # EXPECT", "") + """

class Container(containers.DeclarativeContainer):
    db = providers.Singleton(Database, url="postgresql+asyncpg://db/app")
    repo = providers.Factory(Repository, db=db)
""" + _DI_CONSUMER, note="the same class behind a Singleton: one engine per process"),
    Case(_DI_CLIENT.replace("  # EXPECT", "") + """

class Container(containers.DeclarativeContainer):
    db = providers.AbstractFactory(object)
    repo = providers.Factory(Repository, db=db.provided)


def create_app():
    container = Container()
    container.db.override(providers.Singleton(Database, url="postgresql+asyncpg://db/app"))
    return container
""" + _DI_CONSUMER, note="overridden with a Singleton: one engine per process"),
]

# Handler classes whose instances live for one request (Tornado's `RequestHandler`,
# Django's and DRF's class-based views, Flask's `MethodView`, aiohttp's `web.View`): an
# engine kept on `self` is built again for the next request and never disposed.
_TORNADO = """
import aiomysql.sa
import tornado.web
from sqlalchemy import create_engine

DSN = "postgresql://app@db/shop"
"""

INVALID += [
    Case(_TORNADO + """

class OrdersHandler(tornado.web.RequestHandler):
    def initialize(self):
        self.engine = create_engine(DSN, pool_pre_ping=True)  # expect: PS202

    def get(self):
        with self.engine.connect() as conn:
            self.write({"n": conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()})
""", note="Tornado builds a new handler for every request: the engine kept on it is "
          "built per request"),
    Case(_TORNADO + """

async def get_engine():
    return await aiomysql.sa.create_engine(host="db", user="app", db="shop")  # expect: PS202


class BaseHandler(tornado.web.RequestHandler):
    async def engine(self):
        if not getattr(self, "_engine", None):
            self._engine = await get_engine()
        return self._engine


class OrdersHandler(BaseHandler):
    async def get(self):
        engine = await self.engine()
        async with engine.acquire() as conn:
            self.write({"rows": [dict(r) for r in await conn.execute("SELECT 1")]})
""", note="a factory's engine, cached only on the per-request handler"),
    Case("""
import aiomysql.sa


async def get_engine():
    return await aiomysql.sa.create_engine(host="db", user="app", db="shop")  # expect: PS202
""", path="orm/aioengine.py", files={
        "app.py": "import sys\nsys.path.append('./orm')\nsys.path.append('./handlers')\n",
        "handlers/orders.py": """
import aiomysql.sa
import tornado.web

from aioengine import get_engine


class OrdersHandler(tornado.web.RequestHandler):
    engine: aiomysql.sa.Engine

    async def prepare(self):
        self.engine = await get_engine()

    async def get(self):
        async with self.engine.acquire() as conn:
            await conn.execute("SELECT 1")
"""}, note="the factory's module is imported by its bare name, from a directory the "
           "entry point puts on sys.path; its caller keeps the engine on a per-request "
           "Tornado handler"),
]

VALID += [
    Case(_TORNADO + """

ENGINE = create_engine(DSN, pool_pre_ping=True)


class OrdersHandler(tornado.web.RequestHandler):
    def initialize(self):
        self.engine = ENGINE

    def get(self):
        with self.engine.connect() as conn:
            self.write({"n": conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()})
""", note="the handler keeps a module-level engine built once"),
    Case(_TORNADO + """

class Repository:
    def __init__(self):
        self.engine = create_engine(DSN, pool_pre_ping=True)


REPO = Repository()


class OrdersHandler(tornado.web.RequestHandler):
    def get(self):
        with REPO.engine.connect() as conn:
            self.write({"n": conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()})
""", note="an engine kept on an object built once, not on the per-request handler"),
    Case(_TORNADO + """

class Application(tornado.web.Application):
    def __init__(self, handlers):
        super().__init__(handlers)
        self.engine = create_engine(DSN, pool_pre_ping=True)


class OrdersHandler(tornado.web.RequestHandler):
    def get(self):
        with self.application.engine.connect() as conn:
            self.write({"n": conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()})
""", note="Tornado's Application lives for the process: the engine kept on it is built once"),
]

# round 11 (issue 31): an engine a subclass's `__init__` builds and hands to its base
# class's constructor (`super().__init__(engine, ...)`), which keeps it on the
# instance: one engine per object, for as long as the object lives. Also when a
# helper returns it to that `__init__`. Handed to a function that only uses it, it
# stays reported.
_BASE_MODEL = """\
class BaseModel:
    def __init__(self, engine, name):
        self.engine = engine
        self.name = name
"""
VALID += [
    Case("""
from sqlalchemy import create_engine

from base import BaseModel


class MySQLModel(BaseModel):
    def __init__(self, url, name):
        engine = create_engine(url, pool_pre_ping=True, pool_recycle=3600)
        super().__init__(engine, name)
""", path="mysql_model.py", files={"base.py": _BASE_MODEL},
         note="the base class's constructor keeps the engine on the instance"),
    Case("""
from sqlalchemy import create_engine

from base import BaseModel


def build_engine(url):
    return create_engine(url, pool_pre_ping=True, pool_recycle=3600)


class Manager(BaseModel):
    def __init__(self, url, name):
        engine = build_engine(url)
        super().__init__(engine=engine, name=name)
""", path="manager.py", files={"base.py": _BASE_MODEL},
         note="a helper returns the engine to an `__init__` that hands it to the base "
              "class's constructor"),
]
INVALID += [
    Case("""
from sqlalchemy import MetaData, create_engine

from base import BaseModel

metadata = MetaData()


class Installer(BaseModel):
    def __init__(self, url, name):
        engine = create_engine(url, pool_pre_ping=True, pool_recycle=3600)  # expect: PS202
        metadata.create_all(engine)
        super().__init__(None, name)
""", path="installer.py", files={"base.py": _BASE_MODEL},
         note="the engine is only used, and the base class's constructor is given "
              "something else: one pool per object, dropped at once"),
]

# A pool factory handed to the function that calls it (`fetch_unread(make_pool, user)`):
# when every call of that function passes the factory itself for the parameter, its
# `factory()` is a call of the factory, and a function that runs per message drops
# the pool it built.
_HANDED_FACTORY = """
import asyncpg

async def make_pool():
    return await asyncpg.create_pool(dsn="postgresql://db/app")%s

async def fetch_unread(factory, user_id):
    pool = await factory()
    try:
        async with pool.acquire() as conn:
            return await conn.fetch("SELECT body FROM notes WHERE user_id = $1", user_id)
    finally:
        await pool.close()
"""

INVALID += [
    Case(_HANDED_FACTORY % "  # expect: PS202" + """

async def serve(websocket):
    user_id = await websocket.recv()
    while True:
        for row in await fetch_unread(make_pool, user_id):
            await websocket.send(row["body"])
""", note="the factory is handed as a parameter; the websocket loop builds a pool per round"),
]

VALID += [
    Case(_HANDED_FACTORY % "" + """

async def other_pool():
    return await asyncpg.create_pool(dsn="postgresql://db/other")

async def serve(websocket):
    user_id = await websocket.recv()
    while True:
        for row in await fetch_unread(make_pool, user_id):
            await websocket.send(row["body"])
        await fetch_unread(other_pool, user_id)
""", note="callers hand two different factories: the parameter is not typed (not followed)"),
    Case(_HANDED_FACTORY % "" + """

async def main():
    print(await fetch_unread(make_pool, 1))

if __name__ == "__main__":
    import asyncio
    asyncio.run(main())
""", note="called once from main(): one pool for the run"),
]

# A nested function that only its one-shot enclosing function calls (issue 31,
# round 15: large45's bootstrap-engine class, a set-up command's `do_setup()`)
VALID += [
    Case("""
import asyncio

import typer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

app = typer.Typer()

@app.command()
def init_db(url: str):
    async def do_setup():
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS t (id int)"))
        await engine.dispose()

    asyncio.run(do_setup())
""", note="the nested function runs once, from the set-up command that runs once per process"),
]

INVALID += [
    Case("""
import asyncio

import typer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

app = typer.Typer()

@app.command()
def check_all(urls: list[str]):
    async def check(url):
        engine = create_async_engine(url)  # expect: PS202
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    for url in urls:
        asyncio.run(check(url))
""", note="the nested function runs once per URL, in the command's loop: a pool per URL, "
          "never disposed"),
]

# A cyclopts command (issue 31, round 17, large48: held-out, framework-m's `migrate sync`)
VALID += [
    Case("""
import cyclopts
from sqlalchemy import MetaData, create_engine

migrate_app = cyclopts.App(name="migrate")

@migrate_app.command(name="sync")
def sync_command(url: str):
    engine = create_engine(url)
    MetaData().create_all(engine)
""", note="a cyclopts command runs once per invocation of the program: one pool for the run"),
]

INVALID += [
    Case("""
from discord.ext import commands
from sqlalchemy import create_engine, text

bot = commands.Bot(command_prefix="!")

@bot.command(name="count")
async def count(ctx, url: str):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        await ctx.send(str(conn.execute(text("SELECT count(*) FROM t")).scalar()))
""", note="a chat bot's `.command()` runs once per message, not once per process"),
]

# A start-up retry loop that returns the first pool that answers and closes each failed
# one (issue 31, round 17, large48: the brief's list, large46's held-out lapinq class)
_RETRY_POOL = '''
import asyncio

import asyncpg


async def connect_with_retry(dsn: str, attempts: int = 5) -> asyncpg.Pool:
    for attempt in range(attempts):
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10){mark}
        try:
            await pool.fetchval("SELECT 1")
            return pool
        except OSError:
            {handler}
            await asyncio.sleep(2 ** attempt)
    raise RuntimeError("database unreachable")


class App:
    async def startup(self, dsn: str) -> None:
        self.pool = await connect_with_retry(dsn)
'''

VALID += [
    Case(_RETRY_POOL.format(mark="", handler="await pool.close()"),
         note="one pool is kept (the first that answers), and each failed one is closed"),
]

INVALID += [
    Case(_RETRY_POOL.format(mark="  # expect: PS202", handler="pass"),
         note="the failed attempts' pools are dropped without close(): each keeps its "
              "connections until the garbage collector finds it"),
]

# large49 (issue 31): a pool factory that returns its pool through `typing.cast`
# (for the type checker) returns the pool itself.
_CAST_POOL = '''
from typing import cast

import asyncpg


async def make_pool(dsn: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=5){mark}
    {body}


class App:
    async def startup(self, dsn: str) -> None:
        self.pool = await make_pool(dsn)
'''

VALID += [
    Case(_CAST_POOL.format(mark="", body='return cast("asyncpg.Pool", pool)'),
         note="cast() returns its argument: the factory returns the pool, and startup keeps it"),
]

INVALID += [
    Case(_CAST_POOL.format(mark="  # expect: PS202",
                           body="return cast(asyncpg.Pool, await asyncpg.create_pool(dsn))"),
         note="the cast returns a second pool; the first is dropped open on every call"),
]

# large50 (issue 31): a factory's caller that closes the pool it got in its own
# `finally`, directly or through a project helper that closes the pool it is handed
# (`await shutdown_pool(pool)`), leaves nothing open.
_CLOSED_BY_CALLER = '''
import asyncpg


async def open_pool(dsn):
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4){mark}
    async with pool.acquire() as conn:
        await conn.execute("SELECT 1")
    return pool


async def shutdown_pool(pool):
    {helper}


async def add_project(dsn, name):
    pool = await open_pool(dsn)
    try:
        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO projects (name) VALUES ($1)", name)
    finally:
        {end}
'''

VALID += [
    Case(_CLOSED_BY_CALLER.format(mark="", helper="print('closing')\n    await pool.close()",
                                  end="await shutdown_pool(pool)"),
         note="the caller hands the pool to a project helper that closes it, in a "
              "finally: closed, error or not"),
    Case(_CLOSED_BY_CALLER.format(mark="", helper="await pool.close()",
                                  end="await pool.close()"),
         note="the caller closes the pool it got from the factory in a finally"),
]

INVALID += [
    Case(_CLOSED_BY_CALLER.format(mark="  # expect: PS202",
                                  helper="print('pool size', pool.get_size())",
                                  end="await shutdown_pool(pool)"),
         note="the helper the caller hands the pool to in its finally does not close it: "
              "each call drops a pool open"),
    Case(_CLOSED_BY_CALLER.format(mark="  # expect: PS202",
                                  helper="if pool.get_size():\n        await pool.close()",
                                  end="await shutdown_pool(pool)"),
         note="the helper closes the pool only in a branch: not on every path"),
]

# issue 31, round 20 (the lead's one-shot call graph): an Airflow task callable runs once
# per task instance, in a process of its own (`airflow tasks run`), which ends with it
_AIRFLOW_LOAD = """\
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from sqlalchemy import create_engine, text


def warehouse_engine():
    return create_engine("postgresql://etl@warehouse/dw"){mark}


def load_ratings(**context):
    engine = warehouse_engine()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ratings SELECT * FROM staging_ratings"))


with DAG("ratings", start_date=datetime(2024, 1, 1), schedule="@daily") as dag:
    load = PythonOperator(task_id="load", python_callable=load_ratings)
"""
_RELOAD_ROUTE = ("from flask import Flask\n\nfrom ratings_dag import load_ratings\n\n"
                 "app = Flask(__name__)\n\n\n@app.post(\"/reload\")\ndef reload():\n"
                 "    load_ratings()\n    return \"ok\"\n")

VALID += [
    Case(_AIRFLOW_LOAD.format(mark=""), path="ratings_dag.py",
         note="an engine factory whose only caller is an Airflow task callable "
              "(`python_callable=`): one engine per task run, whose process then ends"),
]

INVALID += [
    Case(_AIRFLOW_LOAD.format(mark="  # expect: PS202"), path="ratings_dag.py",
         files={"web.py": _RELOAD_ROUTE},
         note="the task callable is also called by a Flask route: every request builds a "
              "new engine there"),
]

# issue 31, round 20 (the lead's one-shot call graph): a function the packaging names as a
# console script runs once per invocation of the command, though no project code calls it
_CONSOLE_MAIN = """\
from sqlalchemy import create_engine, text


def main():
    engine = create_engine("postgresql://ops@db/app"){mark}
    with engine.begin() as conn:
        conn.execute(text("VACUUM ANALYZE"))
"""

VALID += [
    Case(_CONSOLE_MAIN.format(mark=""), path="opstool/vacuum.py",
         files={"opstool/__init__.py": "",
                "pyproject.toml": "[project]\nname = \"opstool\"\n\n[project.scripts]\n"
                                  "ops-vacuum = \"opstool.vacuum:main\"\n"},
         note="`[project.scripts]` names it: the command runs it once per invocation"),
    Case(_CONSOLE_MAIN.format(mark=""), path="opstool/vacuum.py",
         files={"opstool/__init__.py": "",
                "setup.cfg": "[metadata]\nname = opstool\n\n[options.entry_points]\n"
                             "console_scripts =\n    ops-vacuum = opstool.vacuum:main\n"},
         note="setup.cfg's `console_scripts` names it"),
]

INVALID += [
    Case(_CONSOLE_MAIN.format(mark="  # expect: PS202"), path="opstool/vacuum.py",
         files={"opstool/__init__.py": "",
                "pyproject.toml": "[project]\nname = \"opstool\"\n\n[project.scripts]\n"
                                  "ops-report = \"opstool.report:main\"\n"},
         note="the console script names another module's `main`: this one is a library "
              "function no project code calls"),
]

# issue 31, round 20: a command of a `click.Group()` object another module builds (a module
# with no database code, which an index that parses on demand had not read)
_GROUP_COMMAND = """\
from sqlalchemy import create_engine, text

from groups import films


@films.command("load")
def load_films():
    engine = create_engine("postgresql://etl@db/films"){mark}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO films SELECT * FROM staging_films"))
"""

VALID += [
    Case(_GROUP_COMMAND.format(mark=""), path="commands.py",
         files={"groups.py": "import click\n\nfilms = click.Group(\"films\")\n"},
         note="a command of a click group built in another module: once per invocation"),
]

INVALID += [
    Case(_GROUP_COMMAND.format(mark="  # expect: PS202"), path="commands.py",
         files={"groups.py": "class Bus:\n    def command(self, name):\n"
                             "        return lambda handler: handler\n\n\nfilms = Bus()\n"},
         note="`.command()` of the project's own message bus, built in another module: its "
              "handlers run per message"),
]

# large51 (issue 31; built from large50's held-out observations, now tuning: superduperdb's
# metadata store, bursar's lazy pool): an engine or pool built inside a lambda that the object
# keeping it calls once and keeps what it built goes where the lambda goes.
_LAZY_ATTRIBUTE = '''
from sqlalchemy import create_engine, text


class MetadataStore:
    def __init__(self, uri, factory=None):
        if factory is not None:
            self.factory = factory
        else:
            self.factory = lambda: (create_engine(uri), uri.split(":")[0]){mark}
{use}
    def count(self):
        with {engine}.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM meta")).scalar()
'''

_LAZY_HOLDER = '''
from threading import Lock
from typing import cast

from psycopg2.pool import ThreadedConnectionPool


class LazyPool:
    def __init__(self, factory):
        self._factory = factory
        self._pool = None
        self._lock = Lock()

    def _get(self):
{get}

    def getconn(self):
        return self._get().getconn()

    def putconn(self, conn):
        self._get().putconn(conn)


class Billing:
    def __init__(self, dsn):
        pool = make_pool(dsn)
        self._setup(pool, dsn)

    def _setup(self, pool, dsn):
        self._pool = pool
        self._dsn = dsn


def make_pool(dsn):
    return LazyPool(lambda: cast(ThreadedConnectionPool, ThreadedConnectionPool(1, 8, dsn))){mark}
'''

VALID += [
    Case(_LAZY_ATTRIBUTE.format(mark="", engine="self.engine", use='''
        engine, self.dialect = self.factory()
        self.engine = engine
'''), note="the lambda is called once, in __init__, and the engine it built is kept on the "
           "instance: one engine for the store's life"),
    Case(_LAZY_HOLDER.format(mark="", get='''        with self._lock:
            if self._pool is None:
                self._pool = self._factory()
            return self._pool'''),
         note="the holder builds the pool on first use and keeps it; the caller hands the "
              "holder to a method of its own instance that stores it"),
]

INVALID += [
    Case(_LAZY_ATTRIBUTE.format(mark="  # expect: PS202", engine="self.factory()[0]", use=""),
         note="the lambda is called for every count: a new engine per call, dropped"),
    Case(_LAZY_HOLDER.format(mark="  # expect: PS202", get='''        return self._factory()'''),
         note="the holder calls the factory on every checkout and keeps nothing: a new pool "
              "per connection"),
]

# encode/databases: `Database(url)` opens its pool at `await database.connect()`; built
# and connected in a request handler, it is a pool per request
_DATABASES_PER_REQUEST = '''
from databases import Database
from fastapi import FastAPI

app = FastAPI()
URL = "postgresql://app@db/app"
{shared}

@app.get("/orders/{{order_id}}")
async def get_order(order_id: int):
    {build}
    row = await database.fetch_one("SELECT * FROM orders WHERE id = :id", {{"id": order_id}})
    {close}
    return dict(row)
'''

INVALID += [
    Case(_DATABASES_PER_REQUEST.format(
        shared="", build="database = Database(URL)  # expect: PS202\n"
                         "    await database.connect()",
        close="await database.disconnect()"),
         note="a databases pool built and connected for every request"),
]

VALID += [
    Case(_DATABASES_PER_REQUEST.format(
        shared="database = Database(URL)\n\n\n@app.on_event(\"startup\")\nasync def start():\n"
               "    await database.connect()\n",
        build="pass", close="pass"),
         note="one databases pool, connected at startup and shared by the requests"),
    Case('''
from databases import Database


def make_database(url):
    return Database(url, min_size=2, max_size=5)
''', note="a factory that builds the Database and connects nothing: its caller decides"),
]

# A start-up chain more than three calls below the one-shot entry point (a click command
# -> run_server() -> create_app() -> init_storage() -> ensure_database()): every link
# runs once per process, so its bootstrap engine is one per process (large54's tune half)
_STARTUP_CHAIN = '''
import click
from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)


def ensure_database(url, name):
    engine = create_engine(url){mark}
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE IF NOT EXISTS {{name}}"))


def init_storage(url):
    ensure_database(url, "shop")


def create_app(url):
    init_storage(url)
    return app


def run_server(url):
    create_app(url).run()


@click.command()
@click.option("--url")
def serve(url):
    run_server(url)
{extra}'''

VALID += [
    Case(_STARTUP_CHAIN.format(mark="", extra=""),
         note="a bootstrap engine four calls below a click command: once per process"),
    Case(_STARTUP_CHAIN.format(mark="", extra='''

if __name__ == "__main__":
    run_server("mysql://root@db")
'''), note="the same chain from the script's `__main__` block too"),
]

INVALID += [
    Case(_STARTUP_CHAIN.format(mark="  # expect: PS202", extra='''

@app.route("/tenants", methods=["POST"])
def new_tenant():
    init_storage("mysql://root@db")
    return "ok"
'''), note="look-alike: a route also runs the chain's middle link, per request"),
]

# a route that builds its own Flask application and Flask-SQLAlchemy on it: one engine and
# pool per request (small55's held class, built after the measurement)
_APP_PER_REQUEST = '''\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

site = Flask(__name__)


@site.route("/login", methods=["POST"])
def login():
    {build}
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://web@db/shop"
    with app.app_context():
        db = SQLAlchemy(app){mark}
        return str(db.session.execute(db.text("SELECT 1")).scalar())
'''

INVALID += [
    Case(_APP_PER_REQUEST.format(build="app = Flask(__name__)", mark="  # expect: PS202"),
         note="the route makes an app and its Flask-SQLAlchemy for every request"),
]

VALID += [
    Case(_APP_PER_REQUEST.format(build="app = site", mark=""),
         note="look-alike: the route configures the one application (no new app per request)"),
]

# large56 (tune: a cappa CLI): a class-based command (`@cappa.command(...)` on a dataclass)
# whose `__call__` runs a set-up helper that builds a bootstrap engine: cappa calls it once
# per invocation, and the process ends after.
_CAPPA_INIT = '''\
from dataclasses import dataclass

import cappa
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

app = FastAPI()


async def create_database(url):
    engine = create_async_engine(url){mark}
    async with engine.connect() as conn:
        await conn.execute(text("CREATE DATABASE shop"))


@cappa.command(help="initialise the project")
@dataclass
class Init:
    url: str

    async def __call__(self) -> None:
        await create_database(self.url)
{extra}'''

VALID += [
    Case(_CAPPA_INIT.format(mark="", extra=""),
         note="cappa runs the command class's __call__ once per invocation"),
]

INVALID += [
    Case(_CAPPA_INIT.format(mark="  # expect: PS202", extra='''

@app.post("/tenants")
async def new_tenant(url: str):
    await create_database(url)
'''), note="look-alike: a route runs the same helper per request"),
    Case(_CAPPA_INIT.format(mark="  # expect: PS202", extra="").replace(
        '@cappa.command(help="initialise the project")\n', "").replace(
        "\n\n@dataclass\nclass Init:", '''

@app.post("/init")
async def init(url: str):
    await Init(url)()


@dataclass
class Init:'''),
         note="look-alike: a plain class (no cappa decorator) whose __call__ a route runs"),
]

# The lead, round 25 (eval59's tune half: koku; the idiom of handing pandas or another
# SQLAlchemy reader a connection the code already holds, seen in many public scripts):
# `create_engine("postgresql://", creator=lambda: conn)` opens no connection of its own;
# its pool hands out the one connection the caller passed in.
_GIVEN_CONNECTION = """\
import pandas as pd
import psycopg2
from flask import Flask
from sqlalchemy import create_engine

app = Flask(__name__)
DSN = "dbname=app host=db"


def save_frame(frame, conn):
    engine = create_engine("postgresql+psycopg2://", creator={creator}){mark}
    frame.to_sql("report", engine, if_exists="append", index=False)


@app.route("/report", methods=["POST"])
def report():
    conn = psycopg2.connect(DSN)
    try:
        save_frame(pd.DataFrame({{"a": [1]}}), conn)
        conn.commit()
    finally:
        conn.close()
    return "ok"
"""

VALID += [
    Case(_GIVEN_CONNECTION.format(creator="lambda: conn", mark=""),
         note="the engine's only connection is the one the route opened and closes"),
    Case(_GIVEN_CONNECTION.format(creator="lambda: conn.connection", mark=""),
         note="an attribute of the given connection (a wrapper's raw DB-API connection)"),
]

INVALID += [
    Case(_GIVEN_CONNECTION.format(creator="lambda: psycopg2.connect(DSN)",
                                  mark="  # expect: PS202"),
         note="a creator that connects: every call builds a pool that opens its own "
              "connections"),
]

# The lead, round 25 (eval59's tune half: morphik-core's per-request `UserService()`, whose
# database object builds an async engine in `__init__`; issue 31's "a pool built per
# request"): an engine kept only on an instance that a request handler builds and drops
# is built and dropped with every request, also one class further down.
_SERVICE_ENGINE = """\
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

app = FastAPI()


class LimitsDB:
    def __init__(self, uri: str):
        self.engine = create_async_engine(uri){mark}
        self.session = sessionmaker(self.engine, class_=AsyncSession)

    async def count(self):
        async with self.session() as s:
            return (await s.execute(text("SELECT 1"))).scalar()


class UserService:
    def __init__(self):
        self.db = LimitsDB("postgresql+asyncpg://app@db/app")

    async def limits(self):
        return await self.db.count()


{use}
"""
_SERVICE_PER_REQUEST = """\
@app.get("/limits")
async def limits():
    service = UserService()
    return await service.limits()"""
_DB_PER_REQUEST = """\
@app.get("/count")
async def count():
    db = LimitsDB("postgresql+asyncpg://app@db/app")
    return await db.count()"""
_SERVICE_ONCE = """\
service = UserService()


@app.get("/limits")
async def limits():
    return await service.limits()"""
_SERVICE_AT_STARTUP = """\
@app.on_event("startup")
async def start():
    app.state.service = UserService()"""

INVALID += [
    Case(_SERVICE_ENGINE.format(mark="  # expect: PS202", use=_SERVICE_PER_REQUEST),
         note="a route builds the service per request; its database object's engine "
              "goes with it, never disposed"),
    Case(_SERVICE_ENGINE.format(mark="  # expect: PS202", use=_DB_PER_REQUEST),
         note="a route builds the database object itself per request"),
]
VALID += [
    Case(_SERVICE_ENGINE.format(mark="", use=_SERVICE_ONCE),
         note="one service for the process, built at import"),
    Case(_SERVICE_ENGINE.format(mark="", use=_SERVICE_AT_STARTUP),
         note="one service built at startup and kept on the application's state"),
]

# A comprehension that builds one engine per URL keeps each in the container it makes
# (eval61 tune: read-replica engines built in a list comprehension and returned to the
# app factory): not one engine per item dropped, unless the container is dropped too.
_REPLICAS = """\
import sqlalchemy as sa


def replica_engines(urls):
    return [
        sa.create_engine(u, pool_pre_ping=True){mark}
        for u in urls
    ]
"""
VALID += [
    Case(_REPLICAS.format(mark="") + """

def create_app(app, urls):
    app.config["REPLICAS"] = replica_engines(urls)
    return app
""", note="the returned list of engines is kept in the app's config for the process"),
    Case("""\
import sqlalchemy as sa

URLS = {"orders": "postgresql://db/orders", "stock": "postgresql://db/stock"}
ENGINES = {name: sa.create_engine(url, pool_pre_ping=True) for name, url in URLS.items()}
""", note="a module-level dict comprehension: one engine per database, kept for the process"),
]
INVALID += [
    Case(_REPLICAS.format(mark="  # expect: PS202") + """
from flask import Flask

app = Flask(__name__)


@app.route("/replicas")
def replicas(urls):
    engines = replica_engines(urls)
    return {"up": sum(1 for e in engines if e.connect())}
""", note="a route builds the list per request and drops it: a pool per replica per request"),
    Case("""\
import sqlalchemy as sa


def ping_all(urls):
    engines = [sa.create_engine(u, pool_pre_ping=True) for u in urls]  # expect: PS202
    for e in engines:
        e.connect().close()
""", note="the list is built, used and dropped in the function: each engine is dropped"),
]

# `Engine.execution_options()` returns an engine over the same pool (SQLAlchemy's
# OptionEngine): where it lands, the engine built lands too.
_OPTION_ENGINE = """\
import sqlalchemy as sa


def streaming_engine(dsn):
    return sa.create_engine(dsn, pool_pre_ping=True).execution_options({mark}
        stream_results=True)
"""
VALID += [
    Case(_OPTION_ENGINE.format(mark="") + """

class Adapter:
    def __init__(self):
        self._engines = {}

    def engine(self, dsn):
        if dsn not in self._engines:
            self._engines[dsn] = streaming_engine(dsn)
        return self._engines[dsn]
""", note="the factory's option engine is cached per DSN by its only caller"),
    Case("""\
import sqlalchemy as sa


class Warehouse:
    def __init__(self, dsn):
        self._engine = sa.create_engine(dsn, pool_pre_ping=True).execution_options(
            isolation_level="AUTOCOMMIT")

    def count(self):
        with self._engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM facts")).scalar()
""", note="the option engine is kept on the instance its constructor builds"),
]
INVALID += [
    Case(_OPTION_ENGINE.format(mark="  # expect: PS202") + """
from flask import Flask

app = Flask(__name__)


@app.route("/export")
def export():
    engine = streaming_engine("postgresql://db/app")
    with engine.connect() as conn:
        return {"rows": conn.execute(sa.text("SELECT count(*) FROM t")).scalar()}
""", note="a route takes a new option engine per request and drops it"),
]

# Round 27 (the lead; seen in eval61's held half, after its measurement): SQLAlchemy's
# `strategy="mock"` engine (before 1.4) renders statements for a dialect and hands
# them to `executor`: no pool, no connection.
VALID += [
    Case("""\
import sqlalchemy as sa

metadata = sa.MetaData()


def ddl_for(dialect_name):
    statements = []
    engine = sa.create_engine(f"{dialect_name}://", strategy="mock",
                              executor=lambda sql, *a, **kw: statements.append(sql))
    metadata.create_all(engine, checkfirst=False)
    return statements
""", note="a mock engine built per call only renders DDL: it has no pool"),
]
INVALID += [
    Case("""\
import sqlalchemy as sa

metadata = sa.MetaData()


def ddl_for(url):
    engine = sa.create_engine(url, strategy="plain")  # expect: PS202
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
""", note="any other strategy builds a pooled engine per call"),
]

# Round 30 (issue 31, small68): a helper that builds its own pool and closes it in a
# `finally` leaves nothing open, but when a request handler or a per-request dependency
# calls it, every request pays a new pool and a new server connection, as a route that
# does so itself does. Called from a script or a CLI command only, it stays clean.
_CLOSED_HELPER = """\
import asyncpg
from psycopg2.pool import ThreadedConnectionPool
from sqlalchemy import create_engine, text

DSN = "postgresql://app@db/app"


class Reports:
    async def totals(self):
        pool = await asyncpg.create_pool(DSN){mark_async}
        try:
            async with pool.acquire() as conn:
                return await conn.fetch("SELECT sum(amount) FROM orders")
        finally:
            await pool.close()


def user_names():
    pool = ThreadedConnectionPool(1, 4, DSN){mark_pool}
    try:
        conn = pool.getconn()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT name FROM users")
                return [r[0] for r in cur.fetchall()]
        finally:
            pool.putconn(conn)
    finally:
        pool.closeall()


def count_rows(table):
    engine = create_engine(DSN, pool_pre_ping=True){mark_engine}
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {{table}}")).scalar()
    finally:
        engine.dispose()
"""
INVALID += [
    Case(_CLOSED_HELPER.format(mark_async="  # expect: PS202", mark_pool="",
                               mark_engine="") + """
from fastapi import Depends, FastAPI

app = FastAPI()


def get_reports():
    return Reports()


@app.get("/totals")
async def totals(reports: Reports = Depends(get_reports)):
    return await reports.totals()
""", note="a route calls a method that opens and closes an asyncpg pool per call"),
    Case(_CLOSED_HELPER.format(mark_async="", mark_pool="  # expect: PS202",
                               mark_engine="") + """
from flask import Flask

app = Flask(__name__)


@app.route("/users")
def users():
    return {"names": user_names()}
""", note="a Flask view calls a helper that builds and closes a ThreadedConnectionPool"),
    Case(_CLOSED_HELPER.format(mark_async="", mark_pool="",
                               mark_engine="  # expect: PS202") + """
from fastapi import Depends, FastAPI

app = FastAPI()


def row_count():
    yield count_rows("orders")


@app.get("/orders/count")
def orders(n: int = Depends(row_count)):
    return {"n": n}
""", note="a per-request dependency calls a helper that builds and disposes an engine"),
]
VALID += [
    Case(_CLOSED_HELPER.format(mark_async="", mark_pool="", mark_engine="") + """
import asyncio
import sys


def main():
    print(user_names(), count_rows(sys.argv[1]))
    print(asyncio.run(Reports().totals()))


if __name__ == "__main__":
    main()
""", note="look-alike: only a script calls the helpers, each once"),
    Case(_CLOSED_HELPER.format(mark_async="", mark_pool="", mark_engine="") + """
import click


@click.command()
@click.argument("table")
def count(table):
    click.echo(count_rows(table))
""", note="look-alike: a click command calls the helper once per run"),
]

# A module's top-level loop over the configured databases that binds each engine to a
# name and then stores it in a registry keeps every engine, as the direct
# `_connections[name] = create_engine(url)` does (large68: a service's engine registry
# built at import).
_REGISTRY = """\
from sqlalchemy import create_engine

DATABASES = {{"default": "mysql+pymysql://app@db/app", "logs": "mysql+pymysql://app@db/logs"}}
{container}

for db_name, url in DATABASES.items():
    engine = create_engine(url, pool_size=20){expect}
    {store}


def get_connection(name):
    return _connections[name].connect()
"""
VALID += [
    Case(_REGISTRY.format(container="_connections = {}", expect="",
                          store="_connections[db_name] = engine"),
         path="esb/connections.py",
         note="bound to a name, then stored in the module's registry by the loop's body"),
    Case(_REGISTRY.format(container="_connections = {}\n_engines = []", expect="",
                          store="_engines.append(engine)"),
         path="esb/connections.py",
         note="bound to a name, then appended to the module's list by the loop's body"),
]
INVALID += [
    Case(_REGISTRY.format(container="_connections = {}", expect="  # expect: PS202",
                          store="_connections[db_name] = url"),
         path="esb/connections.py",
         note="the loop stores the URL, not the engine: each engine is dropped"),
    Case(_REGISTRY.format(container="_connections = {}", expect="  # expect: PS202",
                          store="_connections[db_name] = engine.url"),
         path="esb/connections.py",
         note="an attribute of the engine is stored, not the engine"),
]

#: a health-check script whose check table is written as the loop's own iterable
_INLINE_CHECKS = """
import time

from sqlalchemy import create_engine, text


def check_database():
    engine = create_engine("postgresql://app@db/app"){mark}
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_queue():
    return True


def main():
{body}


if __name__ == "__main__":
    main()
"""
VALID += [
    Case(_INLINE_CHECKS.format(mark="", body=(
        '    for label, check in [("database", check_database), ("queue", check_queue)]:\n'
        '        print(label, check())')),
         note="one-shot code: the check table is the loop's own iterable, walked once "
              "by main()"),
]
INVALID += [
    Case(_INLINE_CHECKS.format(mark="  # expect: PS202", body=(
        "    while True:\n"
        '        for label, check in [("database", check_database), ("queue", check_queue)]:\n'
        "            print(label, check())\n"
        "        time.sleep(30)")),
         note="look-alike: main() walks the table again every 30 seconds: an engine per "
              "round"),
    Case(_INLINE_CHECKS.format(mark="  # expect: PS202", body=(
        '    checks = [("database", check_database), ("queue", check_queue)]\n'
        "    while True:\n"
        "        for label, check in checks:\n"
        "            print(label, check())\n"
        "        time.sleep(30)")),
         note="look-alike: a named table walked in a loop of main(): an engine per round"),
]


# round 32 (issue 31, large72): a management command's engine per run, where a Celery
# task runs the command with `call_command()`: the run happens inside the long-lived
# worker, not a process of its own, so the engine, never disposed, keeps its idle
# connections open on the server until a full garbage collection frees it (an engine
# sits in reference cycles: dropping the last name does not free it), and every run
# opens new ones. Reported with a message that says so; the same command with
# `dispose()` in a `finally`, or one nothing runs but `manage.py`, is not.
_JOB_COMMAND_FILES = {
    "rates/__init__.py": "",
    "rates/management/__init__.py": "",
    "rates/management/commands/__init__.py": "",
    "rates/tasks.py": """\
from celery import shared_task
from django.core.management import call_command


@shared_task
def refresh_rates():
    call_command("import_rates")
""",
}
_JOB_COMMAND = """\
import os

from django.core.management.base import BaseCommand
from sqlalchemy import create_engine, text


class Command(BaseCommand):
    def handle(self, *args, **options):
        self.save_rates()

    def save_rates(self):
        engine = create_engine(os.environ["WAREHOUSE_URL"]){expect}
{body}"""
_JOB_PLAIN_BODY = """\
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM rates_staging"))
"""
_JOB_DISPOSED_BODY = """\
        try:
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM rates_staging"))
        finally:
            engine.dispose()
"""
VALID += [
    Case(_JOB_COMMAND.format(expect="", body=_JOB_DISPOSED_BODY), files=_JOB_COMMAND_FILES,
         path="rates/management/commands/import_rates.py",
         note="the command a Celery task runs disposes its engine in a `finally`: "
              "nothing stays open after the run"),
    Case(_JOB_COMMAND.format(expect="", body=_JOB_PLAIN_BODY),
         files={k: v for k, v in _JOB_COMMAND_FILES.items() if k != "rates/tasks.py"},
         path="rates/management/commands/import_rates.py",
         note="nothing runs the command but `manage.py`: one engine per process, closed "
              "when the process exits"),
]
INVALID += [
    Case(_JOB_COMMAND.format(expect="  # expect: PS202", body=_JOB_PLAIN_BODY),
         files=_JOB_COMMAND_FILES, path="rates/management/commands/import_rates.py",
         note="look-alike: a Celery task runs the command with call_command(): each run "
              "in the worker leaves an engine whose connections stay open until a full "
              "garbage collection"),
]
INVALID += [
    Case(_JOB_COMMAND.format(expect="  # expect: PS202", body=_JOB_PLAIN_BODY).replace(
        "class Command(BaseCommand):\n    def handle(self, *args, **options):\n"
        "        self.save_rates()\n",
        "class IngestCommand(BaseCommand):\n    def handle(self, *args, **options):\n"
        "        self.save_rates()\n\n    def save_rates(self):\n"
        "        raise NotImplementedError\n\n\nclass Command(IngestCommand):\n"),
         files=_JOB_COMMAND_FILES, path="rates/management/commands/import_rates.py",
         note="look-alike: a base class's handle() calls the command's save_rates() on "
              "self; the Celery task runs the command"),
]

# Helper prec72, round 32 (issue 31, large72's tune half): a Prefect flow run runs in a
# process of its own (a process worker's subprocess, a container, or `serve()`'s
# subprocess), so a `@flow` and a `@task` that its flow calls once per run build one
# engine per run, which the run's process closes when it ends, as an Airflow task
# callable's. A task a long-lived task worker runs (`my_task.serve()`,
# `prefect.task_worker.serve(my_task)`, submitted with `.delay()`), or one mapped over
# inputs (`.map(...)`), runs many times in one process: an engine per call.
_PREFECT_RUN = """\
from prefect import flow, task
from sqlalchemy import create_engine, text


@task
def load_units(url):
    engine = create_engine(url){mark}
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT code FROM unit"))]


@flow
def quality_run(url: str):
{body}
"""

_PREFECT_ONCE = "    units = load_units(url)\n    print(len(units))\n"

VALID += [
    Case(_PREFECT_RUN.format(mark="", body=_PREFECT_ONCE), path="flows/quality.py",
         note="a Prefect task its flow calls once per flow run: one engine per run, in the "
              "run's own process"),
    Case(_PREFECT_RUN.format(mark="", body=_PREFECT_ONCE).replace(
        "@task\ndef load_units(url):\n    engine = create_engine(url)\n",
        "@task\ndef load_units(engine):\n").replace(
        "    units = load_units(url)\n",
        "    engine = create_engine(url)\n    units = load_units(engine)\n"),
         path="flows/quality.py",
         note="the flow builds the engine once per flow run and hands it to its task"),
]

INVALID += [
    Case(_PREFECT_RUN.format(mark="  # expect: PS202", body=_PREFECT_ONCE)
         + '\n\nif __name__ == "__main__":\n    load_units.serve()\n',
         path="flows/quality.py",
         note="look-alike: the task is served by a long-lived task worker (`.serve()`), "
              "which runs it for every submission"),
    Case(_PREFECT_RUN.format(mark="  # expect: PS202", body=_PREFECT_ONCE)
         + '\n\nif __name__ == "__main__":\n    from prefect.task_worker import serve\n\n'
           '    serve(load_units)\n',
         path="flows/quality.py",
         note="look-alike: `prefect.task_worker.serve(load_units)`: a task worker"),
    Case(_PREFECT_RUN.format(mark="  # expect: PS202",
                             body="    futures = load_units.map([url, url + '_replica'])\n"
                                  "    print([f.result() for f in futures])\n"),
         path="flows/quality.py",
         note="look-alike: the task is mapped over inputs: it runs many times in the flow "
              "run's process, an engine each"),
]

# Helper prec72, round 32: a generator task of a Prefect flow that the project's tests
# draw one value from (`next(load_codes("test"))`): a test's draw says nothing of
# production, so the generator is not taken as a per-request dependency. A route that
# draws from it still is.
_PREFECT_GENERATOR = """\
from prefect import flow, task
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session


@task
def load_codes(url):
    engine = create_engine(url){mark}
    with Session(engine) as session:
        for row in session.execute(text("SELECT code FROM unit")).all():
            yield row[0]


@task
def check_codes(url):
    for code in load_codes(url):
        print(code)


@flow
def quality_run(url: str):
    check_codes(url)
"""

_DRAWING_TEST = ("from flows.codes import load_codes\n\n\n"
                 "def test_first_code():\n"
                 "    assert next(load_codes(\"postgresql://app@localhost/test\"))\n")
_DRAWING_ROUTE = ("from flask import Flask\n\nfrom flows.codes import load_codes\n\n"
                  "app = Flask(__name__)\n\n\n@app.get(\"/first\")\ndef first():\n"
                  "    return next(load_codes(\"postgresql://app@db/app\"))\n")

VALID += [
    Case(_PREFECT_GENERATOR.format(mark=""), path="flows/codes.py",
         files={"flows/__init__.py": "", "tests/test_codes.py": _DRAWING_TEST},
         note="a Prefect generator task its flow runs once per run; only a test draws one "
              "value from it with next()"),
]

INVALID += [
    Case(_PREFECT_GENERATOR.format(mark="  # expect: PS202"), path="flows/codes.py",
         files={"flows/__init__.py": "", "web.py": _DRAWING_ROUTE},
         note="look-alike: a Flask route draws one value from it with next(): a new engine "
              "for every request"),
]

# Helper small74, round 33: a pool or engine built as the value of a `return` inside a
# retry loop (`for attempt in range(3): try: return MySQLConnectionPool(...) except
# Error: sleep`). The first constructor that succeeds returns it and ends the loop;
# another round runs only when the constructor raised, and then it built nothing. One
# pool is kept, not one per item. A loop that builds and returns only under a
# condition after other work, or that binds the pool and checks it before returning,
# is judged as before.
_RETURN_IN_RETRY = """\
import time
from mysql.connector import Error
from mysql.connector.pooling import MySQLConnectionPool


def create_pool():
    for attempt in range(3):
        try:
{body}
        except Error:
            time.sleep(2)


pool = create_pool()


def get_conn():
    return pool.get_connection()
"""

VALID += [
    Case(_RETURN_IN_RETRY.format(
        body='            return MySQLConnectionPool(pool_name="app", pool_size=5, host="db")'),
         note="the pool is the value of a return in a retry loop: the first success ends "
              "the loop"),
    Case("""
import asyncio
import asyncpg


async def create_pool(dsn):
    while True:
        try:
            return await asyncpg.create_pool(dsn, min_size=1, max_size=5)
        except OSError:
            await asyncio.sleep(1)


async def main():
    pool = await create_pool("postgresql://app@db/app")
    try:
        async with pool.acquire() as conn:
            await conn.execute("SELECT 1")
    finally:
        await pool.close()
""", note="an awaited asyncpg pool returned from a `while True` retry loop (its caller "
          "closes it)"),
    Case("""
import time
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError


def make_engine(url):
    for _ in range(5):
        try:
            return create_engine(url, pool_pre_ping=True)
        except OperationalError:
            time.sleep(1)
    raise RuntimeError("no database")


engine = make_engine("postgresql://app@db/app")
""", note="create_engine as the value of a return in a retry loop"),
]

INVALID += [
    Case(_RETURN_IN_RETRY.format(
        body='            pool = MySQLConnectionPool(pool_name="app", pool_size=5, host="db")'
             '  # expect: PS202\n'
             '            pool.get_connection().close()\n'
             '            return pool'),
         note="look-alike: the pool is bound and probed before the return; a failed probe "
              "drops it and the next round builds another"),
    Case("""
from mysql.connector.pooling import MySQLConnectionPool


def pools(hosts):
    for host in hosts:
        pool = MySQLConnectionPool(pool_name=host, pool_size=5, host=host)  # expect: PS202
        if pool.get_connection().is_connected():
            return host
""", note="look-alike: the return gives back the host, not the pool: each round's pool is "
          "dropped"),
]

# Gino's `await db.set_bind(url)` builds a new engine (and pool) from a URL and binds
# it in place of the last one, which it does not close: per call, a pool per call
# left open; once at startup, the application's pool.
_GINO_BOT = """\
from aiogram import Dispatcher
from gino import Gino

DATABASE_URI = "postgresql://bot@db/bot"

db = Gino()
dp = Dispatcher()


class User(db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer(), primary_key=True)
"""

INVALID += [
    Case(_GINO_BOT + """

@dp.message_handler(commands=["start"])
async def start(message):
    await db.set_bind(DATABASE_URI)  # expect: PS202
    user = await User.get(message.from_user.id)
    await message.answer(str(user))
""", note="a message handler binds Gino to a new engine from a URL for every message"),
    Case(_GINO_BOT + """

class Settings:
    db_url = "postgresql://bot@db/bot"


settings = Settings()


async def count_users():
    await db.set_bind(f"{settings.db_url}?application_name=stats")  # expect: PS202
    return await db.func.count(User.id).gino.scalar()


@dp.message_handler(commands=["stats"])
async def stats(message):
    await message.answer(str(await count_users()))
""", note="a helper a handler calls binds Gino to a new engine from an f-string URL"),
]

VALID += [
    Case(_GINO_BOT + """

async def on_startup(dispatcher):
    await db.set_bind(DATABASE_URI)


async def on_shutdown(dispatcher):
    await db.pop_bind().close()


if __name__ == "__main__":
    from aiogram import executor

    executor.start_polling(dp, on_startup=on_startup, on_shutdown=on_shutdown)
""", note="look-alike: bound once at startup, closed at shutdown"),
    Case(_GINO_BOT + """

engine = None


@dp.message_handler(commands=["start"])
async def start(message):
    await db.set_bind(engine)
    user = await User.get(message.from_user.id)
    await message.answer(str(user))
""", note="look-alike: set_bind given an engine built elsewhere binds it and builds no pool"),
]

# Helper large74, round 33: a model module's `drop_tables()` (a new engine per call)
# that only the tests' tearDown calls. Production modules import the model module for
# its classes but never name the function: no production process runs it, once per
# test is the test framework's business. Named or called by production code, it is
# still judged (a route handing it on, a route calling it).
_MODEL_WITH_TEARDOWN = """\
from sqlalchemy import Column, Integer, create_engine
from sqlalchemy.orm import declarative_base

BASE = declarative_base()


class Meeting(BASE):
    __tablename__ = "meetings"
    id = Column(Integer, primary_key=True)


def drop_tables(db_url):
    engine = create_engine(db_url){mark}
    BASE.metadata.drop_all(engine)
"""

_TEARDOWN_TEST = ("import unittest\n\nimport model\n\n\n"
                  "class ModelTests(unittest.TestCase):\n"
                  "    def tearDown(self):\n"
                  "        model.drop_tables(\"postgresql://app@localhost/test\")\n")
_VIEWS_USING_MODEL = ("from flask import Flask\n\nimport model\n\n"
                      "app = Flask(__name__)\n\n\n@app.get(\"/meetings\")\n"
                      "def meetings():\n    return str(model.Meeting.__tablename__)\n")

VALID += [
    Case(_MODEL_WITH_TEARDOWN.format(mark=""), path="model.py",
         files={"views.py": _VIEWS_USING_MODEL,
                "tests/test_model.py": _TEARDOWN_TEST, "requirements.txt": "psycopg2\n"},
         note="a model module's drop_tables() only a test's tearDown calls; the views "
              "import the module for its models and never name the function"),
]

INVALID += [
    Case(_MODEL_WITH_TEARDOWN.format(mark="  # expect: PS202"), path="model.py",
         files={"tests/test_model.py": _TEARDOWN_TEST,
                "requirements.txt": "psycopg2\n",
                "views.py": _VIEWS_USING_MODEL.replace(
                    "    return str(model.Meeting.__tablename__)\n",
                    "    model.drop_tables(\"postgresql://app@db/app\")\n    return \"\"\n")},
         note="look-alike: a route calls it too: a new engine for every request"),
    Case(_MODEL_WITH_TEARDOWN.format(mark="  # expect: PS202"), path="model.py",
         files={"tests/test_model.py": _TEARDOWN_TEST,
                "requirements.txt": "psycopg2\n",
                "views.py": _VIEWS_USING_MODEL + (
                    "\n\nRESET_HOOKS = [model.drop_tables]\n")},
         note="look-alike: a production module names it (hands it on in a table): it may run "
              "in production, however the tests call it"),
]

# Helper prec74b, round 33 (a class from large74's held half, n6): a consumer class whose
# constructor calls `self._setup_db()`, which builds an engine and returns the session a
# library's helper binds to it (`configure_session(engine)`, a `scoped_session`);
# `main()` builds the one consumer of the process. The class is named in
# `super(Recorder, self)` (the old spelling) and a class attribute is set
# (`Recorder.queues = ...`): neither builds it, so the constructor still runs once.
_CONSUMER = """\
from eventlib.db import configure_session
from sqlalchemy import create_engine


class Base(object):
    def __init__(self, **kwargs):
        self.options = kwargs


class Recorder(Base):
    queues = ()

    def __init__(self, **kwargs):
        self.session_db = self._setup_db()
        super(Recorder, self).__init__(**kwargs)

    def _setup_db(self):
        engine = create_engine("mysql://app@db/events", pool_recycle=3600){mark}
        session_db = configure_session(engine)
        return session_db

    def handle(self, body):
        self.session_db.execute("INSERT INTO event (body) VALUES (:b)", {{"b": body}})
        self.session_db.commit()


def main():
    Recorder.queues = ("event",)
    d = Recorder()
    d.handle("started")
{more}

if __name__ == "__main__":
    main()
"""

VALID += [
    Case(_CONSUMER.format(mark="", more=""), path="recorder.py",
         files={"requirements.txt": "mysqlclient\n"},
         note="a constructor run once by main(); the class is named by super(Recorder, self) "
              "and a class attribute assignment, neither of which builds it"),
]

INVALID += [
    Case(_CONSUMER.format(mark="  # expect: PS202",
                          more="\n\nWORKERS = {\"recorder\": Recorder}\n"),
         path="recorder.py", files={"requirements.txt": "mysqlclient\n"},
         note="look-alike: the class is handed on as a value (a table of workers): it may "
              "be built again elsewhere"),
]

# Helper breadth78, round 35 (a class from the tune half of breadth78's fresh applications):
# a factory returns a new pool, and a query helper gets one from it for every call and
# closes it in its own `finally`. Nothing is left open, but when a request handler calls
# the helper every request pays a new pool and new server connections: the same reading
# as a helper that builds and closes the pool itself (reported when a route calls it).
_FACTORY_HELPER_ASYNC = """\
import aiomysql
from fastapi import FastAPI

app = FastAPI()


async def open_pool():
    return await aiomysql.create_pool(host="db", user="shop", db="shop", minsize=5){mark}


async def run_query(sql, params=None):
    pool = await open_pool()
    try:
        async with pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute(sql, params)
                return await cur.fetchall()
    finally:
        pool.close()
        await pool.wait_closed()


{caller}
"""

_FACTORY_HELPER_ROUTE = """\
@app.get("/orders")
async def list_orders():
    return await run_query("SELECT id, total FROM orders")
"""

_FACTORY_HELPER_STARTUP = """\
@app.on_event("startup")
async def create_tables():
    await run_query("CREATE TABLE IF NOT EXISTS orders (id INT PRIMARY KEY, total INT)")
"""

_FACTORY_HELPER_SYNC = """\
from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)


def make_engine():
    return create_engine("postgresql://shop@db/shop"){mark}


def count_rows(table):
    engine = make_engine()
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {{table}}")).scalar()
    finally:
        engine.dispose()


{caller}
"""

_FACTORY_HELPER_FLASK_ROUTE = """\
@app.route("/stats")
def stats():
    return {"orders": count_rows("orders")}
"""

_FACTORY_HELPER_CLI = """\
def main():
    print(count_rows("orders"))


if __name__ == "__main__":
    main()
"""

INVALID += [
    Case(_FACTORY_HELPER_ASYNC.format(mark="  # expect: PS202", caller=_FACTORY_HELPER_ROUTE),
         path="app.py", files={"requirements.txt": "aiomysql\nfastapi\n"},
         note="a helper gets a pool from a factory and closes it in its finally; a FastAPI "
              "route calls the helper: a new pool for every request"),
    Case(_FACTORY_HELPER_SYNC.format(mark="  # expect: PS202", caller=_FACTORY_HELPER_FLASK_ROUTE),
         path="app.py", files={"requirements.txt": "psycopg2\nflask\n"},
         note="the same with an engine factory, a dispose() in the helper's finally and a "
              "Flask view"),
]

VALID += [
    Case(_FACTORY_HELPER_ASYNC.format(mark="", caller=_FACTORY_HELPER_STARTUP),
         path="app.py", files={"requirements.txt": "aiomysql\nfastapi\n"},
         note="look-alike: only a startup hook calls the helper: one pool, closed"),
    Case(_FACTORY_HELPER_SYNC.format(mark="", caller=_FACTORY_HELPER_CLI),
         path="app.py", files={"requirements.txt": "psycopg2\nflask\n"},
         note="look-alike: only a command-line entry point calls the helper"),
]

# Helper large78b, round 35 (issue 31, from the HELD half of a raw-driver census after its
# figures were recorded: not held): a pool factory coroutine run to completion by the
# launcher (`bot.pool = loop.run_until_complete(create_pool(dsn))`): the loop returns the
# coroutine's result, the pool, and the attribute keeps it.
_RUN_UNTIL_COMPLETE = """\
import asyncio

import asyncpg


class Bot:
    pool = None

    def run(self):
        pass


async def create_pool(dsn):
    return await asyncpg.create_pool(dsn, command_timeout=60){mark}


def {func}(dsn):
    loop = asyncio.get_event_loop()
{body}


def main():
    for dsn in ("postgresql://a/app", "postgresql://b/app"):
        {func}(dsn)


if __name__ == "__main__":
    main()
"""
VALID += [
    Case(_RUN_UNTIL_COMPLETE.format(mark="", func="launch", body=(
        "    bot = Bot()\n"
        "    bot.pool = loop.run_until_complete(create_pool(dsn))\n"
        "    bot.run()")),
         note="`loop.run_until_complete()` returns the pool the coroutine made, and the "
              "bot keeps it"),
]
INVALID += [
    Case(_RUN_UNTIL_COMPLETE.format(mark="  # expect: PS202", func="count", body=(
        "    pool = loop.run_until_complete(create_pool(dsn))\n"
        "    return loop.run_until_complete(pool.fetchval(\"SELECT count(*) FROM t\"))")),
         note="look-alike: the pool comes back through `run_until_complete()` into a "
              "local, is used once and dropped unclosed, once per call"),
]

# A session factory bound with `configure(bind=...)` in code that runs per request (a
# Flask route, a Tornado handler's `initialize()` / `prepare()`): the factory keeps only
# the latest engine, so each request builds one and drops the one before it, unclosed.
_PER_REQUEST_BIND_DB = """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
{pool_import}
Session = sessionmaker()


def get_engine():
    return create_engine("postgresql://db/app"{pool}){mark}
"""
_PER_REQUEST_TORNADO = """
from tornado.web import Application, RequestHandler

from app.db import Session, get_engine


class ItemsHandler(RequestHandler):
    def initialize(self):
{body}
        self.session = Session()

    def get(self):
        self.write(str(self.session.execute("SELECT 1").scalar()))

    def on_finish(self):
        self.session.close()


def make_app():
{app_body}
    return Application([(r"/items", ItemsHandler)])
"""

INVALID += [
    Case(_PER_REQUEST_BIND_DB.format(pool_import="", pool="", mark="  # expect: PS202"),
         files={"app/handlers.py": _PER_REQUEST_TORNADO.format(
             body="        Session.configure(bind=get_engine())", app_body="    pass")},
         path="app/db.py",
         note=("a Tornado handler's `initialize()` runs for every request: binding the "
               "factory to a new engine there drops the last one, pool and all")),
    Case("""
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

app = Flask(__name__)
Session = sessionmaker()


@app.route("/items")
def items():
    Session.configure(bind=create_engine(app.config["DB_URL"]))  # expect: PS202
    with Session() as session:
        return str(session.execute(text("SELECT 1")).scalar())
""", note="the same in a Flask route, the engine built in place"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from tornado.web import RequestHandler

Session = sessionmaker()


class ItemsHandler(RequestHandler):
    def prepare(self):
        engine = create_engine(self.settings["db_url"])  # expect: PS202
        Session.configure(bind=engine)
        self.session = Session()

    def on_finish(self):
        self.session.close()
""", note="`prepare()` runs per request too; the engine reaches the factory through a name"),
]

VALID += [
    Case(_PER_REQUEST_BIND_DB.format(pool_import="", pool="", mark=""),
         files={"app/handlers.py": _PER_REQUEST_TORNADO.format(
             body="        pass", app_body="    Session.configure(bind=get_engine())")},
         path="app/db.py",
         note="bound once, when the application is made: the factory keeps one engine"),
    Case(_PER_REQUEST_BIND_DB.format(pool_import="", pool="", mark=""),
         files={"app/handlers.py": _PER_REQUEST_TORNADO.format(
             body=("        if Session.kw.get(\"bind\") is None:\n"
                   "            Session.configure(bind=get_engine())"), app_body="    pass")},
         path="app/db.py",
         note="bound on the first request only (a guard around the `configure`)"),
    Case(_PER_REQUEST_BIND_DB.format(pool_import="from sqlalchemy.pool import NullPool\n",
                                     pool=", poolclass=NullPool", mark=""),
         files={"app/handlers.py": _PER_REQUEST_TORNADO.format(
             body="        Session.configure(bind=get_engine())", app_body="    pass")},
         path="app/db.py",
         note=("a `NullPool` engine per request holds no pool: each connection closes "
               "when the session gives it back (the rule's policy for `NullPool`)")),
]

# Issue 31, round 37 (prec80; large79's held genomics index service): a function whose
# engine only provisions the database (creates or drops a database, a role, a schema or
# tables; grants; `metadata.create_all(engine)`; catalog checks before them) is set-up
# code: it runs when a deployment or a test suite is set up, and its throwaway engine
# on the maintenance database is the usual design. It is not reported when nothing
# says it runs more than once: a plain function (not a method, not decorated) that no
# request handler, per-request dependency, decorated function or loop calls, directly
# or through its callers, and that is not handed on as a value. Any other work on the
# engine (a query, an insert, the engine handed to another function) keeps the finding.
_PROVISION_HELPERS = '''\
import logging

from sqlalchemy import create_engine


def drop_database(name, root_user="postgres", host="db"):
    engine = create_engine(f"postgresql://{{root_user}}@{{host}}/postgres"){mark}
    conn = engine.connect()
    conn.execute("commit")
    try:
        conn.execute('DROP DATABASE "{{}}"'.format(name))
    except Exception:
        logging.warning("could not drop %s", name)
    conn.close()


def setup_database(name, user, password, root_user="postgres", host="db"):
    drop_database(name, root_user, host)
    engine = create_engine(f"postgresql://{{root_user}}@{{host}}/postgres"){mark}
    conn = engine.connect()
    conn.execute("commit")
    conn.execute('CREATE DATABASE "%s"' % name)
    statement = "CREATE USER {{}} WITH PASSWORD '{{}}'".format(user, password)
    conn.execute(statement)
    conn.execute("GRANT ALL PRIVILEGES ON DATABASE {{}} TO {{}}".format(name, user))
    conn.close()


def create_tables(url):
    engine = create_engine(url){mark}
    conn = engine.connect()
    create_items = "CREATE TABLE items (id VARCHAR NOT NULL, PRIMARY KEY (id))"
    create_tags = "CREATE TABLE tags (item_id VARCHAR NOT NULL, tag VARCHAR)"
    try:
        conn.execute(create_items)
        conn.execute(create_tags)
    finally:
        conn.close()
'''

VALID += [
    Case(_PROVISION_HELPERS.format(mark=""), path="service/utils.py",
         note="set-up helpers nothing in the project calls per request or in a loop: one "
              "bootstrap engine per set-up"),
    Case("""\
from sqlalchemy import create_engine, text


def ensure_database(url, name):
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).scalar()
        if not found:
            conn.execute(text(f'CREATE DATABASE "{name}"'))


def bootstrap(url):
    ensure_database(url, "shop")
""", note="a catalog check before the CREATE DATABASE; its only caller is an uncalled "
          "plain function"),
    Case("""\
from sqlalchemy import MetaData, create_engine

metadata = MetaData()


def create_schema(url):
    engine = create_engine(url)
    metadata.create_all(bind=engine)
""", note="`metadata.create_all()` on a throwaway engine, called by nothing per request"),
]

INVALID += [
    Case(_PROVISION_HELPERS.format(mark="  # expect: PS202") + """

from flask import Flask

app = Flask(__name__)


@app.post("/tenants/<name>")
def add_tenant(name):
    setup_database(name, name, "secret")
    create_tables(f"postgresql://db/{name}")
    return "created"
""", path="service/utils.py",
         note="a route provisions a database per request: every request builds (and drops) "
              "new engines, reached through the route and through `setup_database`"),
    Case("""\
from sqlalchemy import create_engine, text


def create_database(url, name):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))


def main(names):
    for name in names:
        create_database("postgresql://db/postgres", name)
""", note="called in a loop: one engine per database, none disposed"),
    Case("""\
from sqlalchemy import create_engine, text


def seed(url):
    engine = create_engine(url)  # expect: PS202
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS items (id int)"))
        conn.execute(text("INSERT INTO items VALUES (1)"))
""", note="an INSERT is work, not provisioning: nothing says this runs once"),
    Case("""\
from sqlalchemy import MetaData, create_engine

metadata = MetaData()


def load_fixtures(engine):
    pass


def create_schema(url):
    engine = create_engine(url)  # expect: PS202
    metadata.create_all(engine)
    load_fixtures(engine)
""", note="the engine is handed to another function: not only provisioning"),
    Case("""\
from celery import shared_task
from sqlalchemy import create_engine, text


@shared_task
def create_database(url, name):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
""", note="a Celery task runs for every message in a long-lived worker"),
    Case("""\
from sqlalchemy import create_engine, text


def report(url):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE recent AS SELECT * FROM orders"))
        conn.execute(text("DROP TABLE recent"))
""", note="a temporary table is a query's scratch space, not provisioning"),
    Case("""\
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, text


def create_database(url, name):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))


def provision(names):
    with ThreadPoolExecutor() as pool:
        pool.map(lambda n: create_database("postgresql://db/postgres", n), names)
        pool.submit(create_database, "postgresql://db/postgres", "audit")
""", note="handed on as a value (and called in a lambda): nothing says how often it runs"),
]

# breadth80 (issue 33, round 37): a memoizing decorator the project writes itself keeps
# the factory's pool or engine, as `functools.cache` does (pg_bawler's `cache_async_def`
# class of decorator: `functools` does not cache coroutines, so projects write their own).
_OWN_DECORATED_POOL = """
import logging
import time

import aiopg


{decorator}


class Notifier:
    def __init__(self, dsn):
        self.dsn = dsn

    @{name}
    async def pool(self):
        return await aiopg.create_pool(self.dsn){mark}

    async def send(self, channel, payload):
        async with (await self.pool({arg})).acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    async def count(self):
        pool = await self.pool()
        async with pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute("SELECT 1")
                return await cur.fetchone()
"""

_KEPT_PER_INSTANCE = '''def kept_per_instance(method):
    slot = "_kept_" + method.__name__

    async def wrapper(self, *args, **kwargs):
        if not hasattr(self, slot):
            setattr(self, slot, await method(self, *args, **kwargs))
        return getattr(self, slot)
    return wrapper'''

_TIMED = '''def timed(method):
    async def wrapper(self, *args, **kwargs):
        start = time.monotonic()
        result = await method(self, *args, **kwargs)
        logging.info("%s took %.3f s", method.__name__, time.monotonic() - start)
        return result
    return wrapper'''

_REMEMBER_LAST = '''def remember_last(method):
    slot = "_last_" + method.__name__

    async def wrapper(self, *args, **kwargs):
        setattr(self, slot, await method(self, *args, **kwargs))
        return getattr(self, slot)
    return wrapper'''

_CACHED_UNLESS_FRESH = '''def cached_unless_fresh(method):
    slot = "_kept_" + method.__name__

    async def wrapper(self, *args, fresh=False, **kwargs):
        if fresh:
            return await method(self, *args, **kwargs)
        if not hasattr(self, slot):
            setattr(self, slot, await method(self, *args, **kwargs))
        return getattr(self, slot)
    return wrapper'''

VALID += [
    Case(_OWN_DECORATED_POOL.format(decorator=_KEPT_PER_INSTANCE, name="kept_per_instance",
                                    mark="", arg=""),
         note=("a project decorator keeps the coroutine's pool on the instance (`setattr` "
               "under `if not hasattr`, then `return getattr`): one pool per `Notifier`, "
               "however often `pool()` is called")),
    Case("""
from fastapi import FastAPI
from sqlalchemy import create_engine, text

app = FastAPI()


def memoized(factory):
    made = {}

    def wrapper(url):
        if url not in made:
            engine = factory(url)
            made[url] = engine
        return made[url]
    return wrapper


@memoized
def engine_for(url):
    return create_engine(url)


@app.get("/items")
def items():
    with engine_for("postgresql://db/app").connect() as conn:
        return conn.execute(text("SELECT 1")).scalar()
""", note=("a project decorator with a dict cache keyed by the URL: one engine per URL, "
           "not one per request")),
]

INVALID += [
    Case(_OWN_DECORATED_POOL.format(decorator=_TIMED, name="timed",
                                    mark="  # expect: PS202", arg=""),
         note="a timing decorator returns every call's result: a new pool per call"),
    Case(_OWN_DECORATED_POOL.format(decorator=_REMEMBER_LAST, name="remember_last",
                                    mark="  # expect: PS202", arg=""),
         note=("the decorator stores the result with no `if` around the store: it calls "
               "the factory every time and keeps only the last pool")),
    Case(_OWN_DECORATED_POOL.format(decorator=_CACHED_UNLESS_FRESH, name="cached_unless_fresh",
                                    mark="  # expect: PS202", arg="fresh=True"),
         note=("the wrapper also returns the factory's fresh result on a path (`fresh=True`, "
               "which `send` passes): a new pool per send")),
]

# Helper large82, round 38 (issue 31, from large82's TUNE half): `create_engine(url)` whose
# value is dropped where it is made (a driver probe) opens no pool connection, even per request.

VALID += [
    Case("""
from flask import Flask, jsonify
from sqlalchemy import create_engine
from sqlalchemy.exc import NoSuchModuleError

app = Flask(__name__)


def driver_installed(url):
    try:
        create_engine(url)
    except NoSuchModuleError:
        return False
    return True


@app.route("/drivers")
def drivers():
    return jsonify(postgres=driver_installed("postgresql+psycopg2://"))
""", note='a driver probe per request: the engine is dropped unused'),
]

INVALID += [
    Case("""
from flask import Flask, jsonify
from sqlalchemy import create_engine
from sqlalchemy.exc import NoSuchModuleError

app = Flask(__name__)


def driver_installed(url):
    try:
        engine = create_engine(url)  # expect: PS202
        engine.connect().close()
    except NoSuchModuleError:
        return False
    return True


@app.route("/drivers")
def drivers():
    return jsonify(postgres=driver_installed("postgresql+psycopg2://db/app"))
""", note=("look-alike: the probe connects, so each request opens a pool and a "
                   "connection")),
]

# Round 39 (prec83): a function that parses the process's command line
# (`parser.parse_args()` with no argument list, in a module that imports argparse)
# is a program's entry and runs once per process, even when it is a library's public
# method that no project code calls (a CLI class's `run()`): the engine it builds is
# built once per run. Given an argument list (a bot parsing each message's words),
# called by project code in a loop, or parsing inside a loop, it may run many times.
_CLI_CLASS = """\
from argparse import ArgumentParser

import sqlalchemy


class PipelineCli:
    def __init__(self):
        parser = ArgumentParser()
        parser.add_argument("task")
        parser.add_argument("--db")
        self._argparser = parser

    def run(self, tasks{param}):
        args = self._argparser.parse_args({argv})
        engine = sqlalchemy.create_engine(args.db){expect}
        with engine.connect() as conn:
            tasks[args.task](conn)
"""


def _cli_class(argv: str = "", param: str = "", extra: str = "", note: str = "",
               expect: bool = False) -> Case:
    return Case(_CLI_CLASS.format(argv=argv, param=param,
                                  expect="  # expect: PS202" if expect else "") + extra,
                note=note)


VALID += [
    _cli_class(note="a CLI class's run() parses the process's argv: one run per process"),
    _cli_class(extra='\n\nif __name__ == "__main__":\n    PipelineCli().run({})\n',
               note="the same run() called once from the module's __main__ block"),
]

INVALID += [
    _cli_class(argv="words", param=", words",
               note="look-alike: run() parses the argument list it is given (a bot's "
                    "message), not the process's", expect=True),
    _cli_class(extra="\n\ndef serve(batches):\n    for batch in batches:\n"
                     "        PipelineCli().run(batch)\n",
               note="look-alike: project code calls run() in a loop", expect=True),
]

# Round 40 (prec84): more ways a program's entry reads its command line. The parser
# built by a project helper in another module (`build_parser().parse_args()`, the
# entry's module not importing argparse), `parse_args(sys.argv[1:])`, and
# `getopt.getopt(sys.argv[1:], ...)` all parse the process's argv. A `parse_args()`
# on an object that is no argparse parser (a bot's own command parser, in a module
# that imports argparse for something else), or getopt over a list it is given, does
# not.
_ARGS_MODULE = """\
import argparse


def build_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    return parser
"""

_ENTRY = """\
import sys
{imports}
import sqlalchemy


def run(tasks{param}):
{parse}
    engine = sqlalchemy.create_engine(db){expect}
    with engine.connect() as conn:
        for task in tasks:
            task(conn)
"""


def _entry(parse: str, note: str, imports: str = "", param: str = "",
           expect: bool = False, files: dict[str, str] | None = None) -> Case:
    return Case(_ENTRY.format(parse=parse, imports=imports, param=param,
                              expect="  # expect: PS202" if expect else ""),
                files={"app/__init__.py": "", "app/cli_args.py": _ARGS_MODULE,
                       **(files or {})},
                path="app/main.py", note=note)


_BOT_PARSER = """\
class CommandParser:
    def __init__(self, text):
        self.words = text.split()

    def parse_args(self):
        return self.words[1] if len(self.words) > 1 else ""
"""

VALID += [
    _entry("    db = build_parser().parse_args().db",
           "the parser comes from a project helper in another module: the entry's "
           "module does not import argparse", imports="from app.cli_args import build_parser"),
    _entry("    parser = build_parser()\n    db = parser.parse_args(sys.argv[1:]).db",
           "`parse_args(sys.argv[1:])` parses the process's argv",
           imports="from app.cli_args import build_parser"),
    _entry("    opts, _ = getopt.getopt(sys.argv[1:], \"d:\")\n    db = dict(opts)[\"-d\"]",
           "getopt over `sys.argv[1:]` parses the process's command line",
           imports="import getopt"),
]

INVALID += [
    _entry("    db = CommandParser(text).parse_args()",
           "look-alike: a bot's own command parser, in a module that imports argparse "
           "for something else", imports="import argparse\nfrom app.bot import CommandParser",
           param=", text", expect=True, files={"app/bot.py": _BOT_PARSER}),
    _entry("    opts, _ = getopt.getopt(words, \"d:\")\n    db = dict(opts)[\"-d\"]",
           "look-alike: getopt over a list it is given", imports="import getopt",
           param=", words", expect=True),
]

# Round 41 (lead85, from fresh85's held census): a start-up retry loop whose test is
# the pool itself (`while pool is None:` / `while not pool:`) around `pool = await
# create_pool(...)`: the first attempt that succeeds sets the name and ends the loop; a
# round runs again only when the constructor raised and built nothing. A loop that binds
# the pool to another name and sets the tested one only after a check drops every pool
# whose check fails.
_UNTIL_BUILT = """\
import asyncio

import asyncpg


async def connect(dsn):
    pool = None
    while {test}:
        try:
{body}
        except OSError:
            return None
        await asyncio.sleep(1)
    return pool


async def main():
    pool = await connect("postgresql://app@db/app")
    try:
        async with pool.acquire() as conn:
            await conn.execute("SELECT 1")
    finally:
        await pool.close()
"""

VALID += [
    Case(_UNTIL_BUILT.format(
        test="pool is None",
        body="            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=5)"),
         note="`while pool is None:` around the pool's own constructor: a success ends the "
              "loop"),
    Case(_UNTIL_BUILT.format(
        test="not pool",
        body="            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=5)"),
         note="`while not pool:`, the same retry"),
]

INVALID += [
    Case(_UNTIL_BUILT.format(
        test="pool is None",
        body="            candidate = await asyncpg.create_pool(dsn)  # expect: PS202\n"
             "            if await candidate.fetchval(\"SELECT 1\") == 1:\n"
             "                pool = candidate"),
         note="look-alike: the pool is built under another name and kept only after a "
              "check; each round whose check fails drops a pool open"),
]

_FACTORY_APP = """\
import flask

from shop import settings


def create_app():
    app = flask.Flask(__name__)
    app.config.from_object(settings)
    settings.verify(app.config)
    return app
"""

_FACTORY_SETTINGS = """\
import sqlalchemy

DATABASE_URL = "postgresql://db/shop"


def verify(config):
    engine = sqlalchemy.create_engine(config["DATABASE_URL"]){expect}
    with engine.begin() as conn:
        found = conn.execute(sqlalchemy.text("SELECT count(*) FROM orders")).scalar()
    if not found:
        print("no orders yet")
    return found
"""

_FACTORY_ROUTE = """\
import flask

from shop import settings

pages = flask.Blueprint("pages", __name__)


@pages.route("/health")
def health():
    return {"orders": settings.verify(flask.current_app.config)}
"""

VALID += [
    Case(_FACTORY_SETTINGS.format(expect=""), path="shop/settings.py",
         files={"shop/__init__.py": _FACTORY_APP},
         note="a settings check that only the application factory calls: the server "
              "calls `create_app()` once per worker process, so one engine per process"),
    Case("""
from fastapi import FastAPI
from sqlalchemy import create_engine, text


def build_app():
    engine = create_engine("postgresql://db/shop")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    app = FastAPI()
    return app
""", note="an engine built in the application factory itself (no project caller)"),
]

INVALID += [
    Case(_FACTORY_SETTINGS.format(expect="  # expect: PS202"), path="shop/settings.py",
         files={"shop/__init__.py": _FACTORY_APP, "shop/pages.py": _FACTORY_ROUTE},
         note="look-alike: the same check also called by a route, once per request"),
    Case("""
import flask
from sqlalchemy import create_engine, text


def create_app():
    engine = create_engine("postgresql://db/shop")  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    app = flask.Flask(__name__)
    return app


def run_jobs(jobs):
    for job in jobs:
        with create_app().app_context():
            job()
""", note="look-alike: a factory called in a loop builds an app, and an engine, per job"),
]

# issue 31, round 41: entry points that read the command line without argparse. A plain
# function no project code calls that reads an argument of the process by position
# (`sys.argv[1]`), or runs a click group over the command line by hand
# (`cli.main(obj=engine)`), is the program's entry: one engine per process. A command
# built without a decorator (`click.Command("count", callback=count)`) runs once per
# invocation, as a decorated one does. The same factory a route calls stays reported.
_ARGV_COUNT = """\
    with engine.connect() as conn:
        print(conn.execute(text("SELECT count(*) FROM jobs")).scalar())
"""

VALID += [
    Case("""\
import sys

from sqlalchemy import create_engine, text


def main():
    engine = create_engine(sys.argv[1])
""" + _ARGV_COUNT, note="a script's entry reads its database URL from `sys.argv[1]`"),
    Case("""\
import sys

from sqlalchemy import create_engine, text


def report(url):
    engine = create_engine(url)
""" + _ARGV_COUNT + """

def main():
    report(sys.argv[1])
""", note="a helper only the `sys.argv` entry calls, once"),
    Case("""\
import os

import click
from sqlalchemy import create_engine, text


@click.group()
def cli():
    pass


@cli.command()
@click.pass_obj
def count(engine):
    with engine.connect() as conn:
        click.echo(conn.execute(text("SELECT count(*) FROM jobs")).scalar())


def main():
    engine = create_engine(os.environ["DATABASE_URL"])
    cli.main(obj=engine, standalone_mode=False)
""", note="an entry that runs a click group over the command line by hand"),
    Case("""\
import os
import sys

import click
from sqlalchemy import create_engine, text


def count():
    engine = create_engine(os.environ["DATABASE_URL"])
""" + _ARGV_COUNT + """

cli = click.Group("tool")
cli.add_command(click.Command("count", callback=count))

if __name__ == "__main__":
    cli.main(args=sys.argv[1:], standalone_mode=False)
""", note="a click command built without a decorator: once per invocation"),
]

INVALID += [
    Case("""\
import sys

from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)


def open_engine():
    return create_engine(sys.argv[1])  # expect: PS202


@app.route("/jobs")
def jobs():
    engine = open_engine()
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT count(*) FROM jobs")).scalar())
""", note="look-alike: the `sys.argv` factory a route calls per request"),
    Case("""\
import sys

from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)


@app.route("/jobs")
def jobs():
    engine = create_engine(sys.argv[1])  # expect: PS202
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT count(*) FROM jobs")).scalar())
""", note="look-alike: a route that reads `sys.argv[1]` itself"),
    Case("""\
import os
import sys

from sqlalchemy import create_engine, text


def count(url):
    engine = create_engine(url)  # expect: PS202
    with engine.connect() as conn:
        print(conn.execute(text("SELECT count(*) FROM jobs")).scalar())


def main():
    for url in sys.argv[1:]:
        count(url)
""", note="look-alike: the entry calls the factory once per argument, in a loop"),
    Case("""\
import os

import click
from sqlalchemy import create_engine, text


@click.command()
def count():
    click.echo("jobs")


def run_count():
    engine = create_engine(os.environ["DATABASE_URL"])  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    count.main(args=["--help"], standalone_mode=False)
""", note="look-alike: a command run by hand over a list of its own reads no command line"),
]

# Round 41 (prec85a): an engine factory classmethod reached through a subclass in
# another module (`cls.make_engine(url)` in an inherited classmethod), whose one
# caller is a click command in a third module. The subclass only uses the base's
# database code, so the prefilter leaves the command's module out; whether the
# helper runs once is asked of that module's calls too, as it is when the command
# sits beside the class. Called from a route for every request, it is reported.
_STORE_BASE = """\
import sqlalchemy


class StoreBase:
    @classmethod
    def make_engine(cls, url, password=None):
        db_url = url if password is None else url.replace("@", ":" + password + "@")
        return sqlalchemy.create_engine(db_url){expect}

    @classmethod
    def make_database(cls, engine):
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE IF NOT EXISTS t (id int)"))
"""

_STORE = """\
from store.base import StoreBase


class Store(StoreBase):
    @classmethod
    def init_db(cls, url):
        engine = cls.make_engine(url, password="secret")
        cls.make_database(engine)
        return url
"""

_STORE_COMMAND = """\
import click

from store.sub import Store


@click.command()
@click.argument("url")
def init(url):
    Store.init_db(url)
"""

_STORE_ROUTE = """\
from flask import Flask, request

from store.sub import Store

app = Flask(__name__)


@app.route("/init", methods=["POST"])
def init():
    return Store.init_db(request.form["url"])
"""


def _store(caller: str, note: str, expect: bool = False) -> Case:
    return Case(_STORE_BASE.format(expect="  # expect: PS202" if expect else ""),
                path="store/base.py", note=note,
                files={"store/__init__.py": "", "store/sub.py": _STORE,
                       "store/entry.py": caller})


VALID += [
    _store(_STORE_COMMAND, "an inherited engine factory whose one caller, in another "
           "module, is run once by a click command in a third"),
]

INVALID += [
    _store(_STORE_ROUTE, "look-alike: a Flask route calls the subclass's init helper "
           "for every request", expect=True),
    _store(_STORE_COMMAND.replace("def init(url):\n    Store.init_db(url)",
                                  "@click.argument(\"urls\", nargs=-1)\n"
                                  "def init(urls):\n    for url in urls:\n"
                                  "        Store.init_db(url)").replace(
                                      "@click.argument(\"url\")\n", ""),
           "look-alike: the command calls the init helper once per URL, in a loop",
           expect=True),
]

# (the census's own shape) the helper is an argparse subcommand's handler named
# through the package that re-exports it (`set_defaults(method=scripts.create_store)`),
# and neither the handler's module nor the command-line module touches a database
_STORE_ARGPARSE = """\
import argparse

from store import scripts


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(required=True)
    setup = commands.add_parser("setup")
    setup.add_argument("url")
    setup.set_defaults(method=scripts.create_store)
    kwargs = vars(parser.parse_args())
    method = kwargs.pop("method")
    method(**kwargs)
"""

VALID += [
    Case(_STORE_BASE.format(expect=""), path="store/base.py",
         note="the init helper runs from an argparse subcommand's handler, named through "
              "the package that re-exports it; no module on the way touches a database",
         files={"store/__init__.py": "", "store/sub.py": _STORE,
                "store/scripts/__init__.py": "from .create_store import create_store\n",
                "store/scripts/create_store.py": "from store.sub import Store\n\n\n"
                                                 "def create_store(url):\n"
                                                 "    Store.init_db(url)\n",
                "store/cli.py": _STORE_ARGPARSE}),
]

# A factory whose URL parameter every project caller fills with an SQLite URL builds
# SQLite engines: no server connection slots (lead86, from large86's held half).
_PER_CALL_FACTORY_URL = """\
from sqlalchemy import MetaData, create_engine

metadata = MetaData()


def reference_engine(url):
    engine = create_engine(url)@MARK@
    metadata.create_all(engine)
    return engine


def same_schema(other):
    reference = reference_engine(@ARG@)
    return sorted(reference.table_names()) == sorted(other.table_names())
"""

VALID += [
    Case(_PER_CALL_FACTORY_URL.replace("@MARK@", "").replace("@ARG@", '"sqlite://"'),
         note="the factory's only caller passes an in-memory SQLite URL"),
]

INVALID += [
    Case(_PER_CALL_FACTORY_URL.replace("@MARK@", "  # expect: PS202")
         .replace("@ARG@", '"postgresql://db/reference"'),
         note="look-alike: the caller passes a PostgreSQL URL"),
]

# issue 31, round 42 (prec86b): an entry that reads the command line and is wrapped by a
# decorator that runs it once, in place (loguru's `@logger.catch`, a project's timing
# wrapper); and a class-based application factory (a method that builds the app and
# returns it, and the methods it calls on `self`)
_WRAPPED_ENTRY = """\
import functools
import sys
import time

from loguru import logger
from sqlalchemy import create_engine, text


def timed(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.monotonic()
        result = func(*args, **kwargs)
        print("took", time.monotonic() - start)
        return result
    return wrapper
@HELPERS@

@DECORATOR@
def purge():
    engine = create_engine(sys.argv[1])  @MARK@
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions WHERE expired"))
"""

_CLASS_FACTORY = """\
from flask import Flask
from sqlalchemy import create_engine, text

URL = "postgresql://app@db/app"


class Application:
    def __init__(self, url):
        self.url = url

    def check_database(self):
        engine = create_engine(self.url, pool_pre_ping=True)  @MARK@
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar()

    def create_app(self):
        app = Flask(__name__)
        self.check_database()
        return app
@TAIL@"""

VALID += [
    Case(_WRAPPED_ENTRY.replace("@HELPERS@", "").replace("@DECORATOR@", "@logger.catch")
         .replace("  @MARK@", ""),
         note="a command-line entry (it reads `sys.argv[1]`) under loguru's `@logger.catch`, "
              "which runs it once, in place: one engine per run"),
    Case(_WRAPPED_ENTRY.replace("@HELPERS@", "").replace("@DECORATOR@", "@timed")
         .replace("  @MARK@", ""),
         note="the same under the project's timing wrapper, which calls it once"),
    Case(_CLASS_FACTORY.replace("  @MARK@", "").replace("@TAIL@", ""),
         note="a class-based application factory: the method that builds and returns the "
              "app runs once per worker, and so does the helper it calls on `self`"),
    Case("""\
from fastapi import FastAPI
from sqlalchemy import create_engine, text


class AppFactory:
    def __init__(self, url):
        self.url = url

    def create_app(self):
        app = FastAPI()
        engine = create_engine(self.url, pool_pre_ping=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return app
""", note="a class-based FastAPI factory whose start-up probe engine is dropped"),
]

INVALID += [
    Case(_WRAPPED_ENTRY.replace("@HELPERS@", """
HANDLERS = []


def handler(func):
    HANDLERS.append(func)
    return func
""").replace("@DECORATOR@", "@handler").replace("@MARK@", "# expect: PS202"),
         note="look-alike: a decorator that registers the function: whoever walks the "
              "table may call it again"),
    Case(_WRAPPED_ENTRY.replace("@HELPERS@", """

def forever(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        while True:
            func(*args, **kwargs)
    return wrapper
""").replace("@DECORATOR@", "@forever").replace("@MARK@", "# expect: PS202"),
         note="look-alike: a wrapper that calls the function in a loop"),
    Case(_CLASS_FACTORY.replace("@MARK@", "# expect: PS202").replace("@TAIL@", """

app = Application(URL).create_app()


@app.route("/health")
def health():
    return str(Application(URL).check_database())
"""), note="look-alike: the factory's helper is also called by a route, per request"),
    Case("""\
from flask import Flask
from sqlalchemy import create_engine, text

URL = "postgresql://app@db/app"


class Application:
    def __init__(self, url):
        self.url = url

    def create_app(self):
        app = Flask(__name__)
        engine = create_engine(self.url, pool_pre_ping=True)  # expect: PS202
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return app


front = Flask(__name__)


@front.route("/sub")
def sub():
    return Application(URL).create_app().name
""", note="look-alike: a route builds the class-based factory's app on every request"),
]


# Helper prec86a, round 42 (issue 31, large85's held class): an engine factory that hands the
# engine back unconnected, called by a function that only reads what the engine was built
# with (`engine.url.database`): SQLAlchemy connects only when a connection is asked for, so
# that call's pool stays empty.

VALID += [
    Case('''from sqlalchemy import create_engine


def connection(section="grid"):
    return create_engine(f"postgresql://{section}@db/{section}")
''', files={"app/__init__.py": "", "app/views.py": '''from flask import Flask

from app import db

app = Flask(__name__)


@app.route("/target")
def target():
    engine = db.connection()
    return {"database": engine.url.database, "host": engine.url.host}
'''},
         path="app/db.py",
         note="a route that calls the factory only to read `engine.url`"),
]

INVALID += [
    Case('''from sqlalchemy import create_engine, text


def connection(section="grid"):
    engine = create_engine(f"postgresql://{section}@db/{section}")  # expect: PS202
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return engine
''', files={"app/__init__.py": "", "app/views.py": '''from flask import Flask

from app import db

app = Flask(__name__)


@app.route("/target")
def target():
    engine = db.connection()
    return {"database": engine.url.database, "host": engine.url.host}
'''},
         path="app/db.py",
         note="look-alike: the factory itself connects before it returns the engine"),
    Case('''from sqlalchemy import create_engine


def connection(section="grid"):
    return create_engine(f"postgresql://{section}@db/{section}")  # expect: PS202
''', files={"app/__init__.py": "", "app/views.py": '''from flask import Flask
from sqlalchemy import text

from app import db

app = Flask(__name__)


@app.route("/target")
def target():
    engine = db.connection()
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version()")).scalar()
    return {"database": engine.url.database, "version": version}
'''},
         path="app/db.py",
         note="look-alike: the route also connects with the engine it got"),
]

VALID += [
    Case('''import sqlite3

import sqlalchemy


def connect(handle=None, url=None):
    if url:
        return sqlalchemy.create_engine(url)
    if isinstance(handle, str):
        handle = sqlite3.connect(handle)
    return handle


def fetch_with_names(query, handle=None):
    handle = connect(handle)
    cursor = handle.cursor()
    rows = cursor.execute(query).fetchall()
    return [[d[0] for d in cursor.description]] + [list(r) for r in rows]
''', note="the engine is built only under `if url:`, and the one caller never passes `url`"),
    Case('''import sqlalchemy


class Store:
    def open(self, path, dsn=None):
        if dsn is not None:
            return sqlalchemy.create_engine(dsn)
        return open(path)

    def lines(self, path):
        handle = self.open(path, None)
        return handle.readlines()
''', note="a method whose caller passes the guarding parameter as a literal None"),
]

INVALID += [
    Case('''import sqlite3

import sqlalchemy


def connect(handle=None, url=None):
    if url:
        return sqlalchemy.create_engine(url)  # expect: PS202
    return sqlite3.connect(handle)


def count_rows(url, table):
    handle = connect(url=url)
    with handle.connect() as conn:
        return conn.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}")).scalar()
''', note="look-alike: the caller passes `url`, so each call builds an engine"),
    Case('''import sqlalchemy


def connect(path=None, dsn=None):
    if dsn is not None:
        return sqlalchemy.create_engine(dsn)  # expect: PS202
    return open(path)


def count_rows(dsn, table):
    engine = connect(None, dsn)
    with engine.connect() as conn:
        return conn.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}")).scalar()
''', note="look-alike: the caller passes the guarding parameter positionally"),
]

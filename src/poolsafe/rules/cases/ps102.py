"""PS102 unreleased-connection: INVALID cases mark the acquiring call's line."""

from poolsafe.rules.base import Case

#: the project's own `[tool.poolsafe]`: report the exception-only gaps of direct
#: connections too (see PS102's "Direct connections")
_STRICT = {"pyproject.toml": '[tool.poolsafe]\ndirect-connections = "strict"\n'}

#: a local direct connection that only an exception keeps from its close() (the
#: tests of the setting and of `fix` use it too); `mark` goes on the connect line
DIRECT_EXCEPTION_ONLY = """
import psycopg2


def insert_event(kind):
    conn = psycopg2.connect("dbname=events"){mark}
    cur = conn.cursor()
    cur.execute("INSERT INTO events (kind) VALUES (%s)", (kind,))
    conn.commit()
    conn.close()
"""

_PG_POOL = """\
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
"""

_TUPLE_WRAPPERS = _PG_POOL + """

def get_conn():
    conn = pool.getconn()
    return conn, conn.cursor()


def close_conn(conn, cur):
    cur.close()
    pool.putconn(conn)
"""

_WRAPPER = """\
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")

class PooledConnection:
    def __init__(self, conn, pool):
        self._conn = conn
        self._pool = pool

    def cursor(self):
        return self._conn.cursor()

    def close(self):
        self._pool.putconn(self._conn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

def get_connection():
    return PooledConnection(pool.getconn(), pool)
"""

_HELPER_BASE = """\
from mysql.connector import errors


class Repo:
    def __init__(self, pool):
        self.pool = pool

    def _open(self):
        self.conn = self.pool.get_connection()
        self.cur = self.conn.cursor()

    def _done(self):
        try:
            self.conn.commit()
        finally:
            self.conn.close()
"""
_HELPER_APP = ("from mysql.connector import pooling\nfrom shop.base import Repo\n"
               "from shop.items import Items\n\n"
               "pool = pooling.MySQLConnectionPool(pool_name='shop', pool_size=5)\n"
               "items = Items(pool)\n")

INVALID: list[Case] = [
    Case("""
from mysql.connector import Error, pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def transfer(rows):
    try:
        conn = cnxpool.get_connection()  # expect: PS102
        conn.autocommit = False
        cur = conn.cursor()
        cur.executemany("INSERT INTO t VALUES (%s)", rows)
        conn.commit()
    except Error as error:
        print(error)
        conn.rollback()
    finally:
        if conn.is_connected():
            cur.close()
            conn.close()
""", note="the handler rolls back before the guarded close: the fix adds the close for a "
          "dead connection in an `else`, after the rollback as before"),
    Case("""
from fastapi import APIRouter
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

router = APIRouter()
SessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app"))

def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()

def works():
    db = next(get_db())  # expect: PS102
    return db.execute(text("SELECT id FROM works")).all()
""", note="the generator is dropped at once, its finally closes the session, and the "
          "query opens a new connection that nothing closes (in a FastAPI route it is "
          "PS105's finding since round 31)"),
    Case(_PG_POOL + """
import psycopg2

def save(rows):
    try:
        conn = pool.getconn()  # expect: PS102
        cur = conn.cursor()
        cur.executemany("INSERT INTO t VALUES (%s)", rows)
        conn.commit()
        pool.putconn(conn)
    except psycopg2.Error:
        conn.rollback()
        raise
""", note="the handler rolls back the checkout: the release goes in the `finally` of the "
          "`try` that holds it, after that use (unsafe: the handler now meets `conn = None` "
          "where getconn() raised, instead of an unbound name)"),
    Case("""
import pymysql
from sqlalchemy.pool import QueuePool

def _connect():
    return pymysql.connect(host="db", user="app", db="app")

pool = QueuePool(_connect, pool_size=5)

def frames(kind):
    conn = pool.connect()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT name FROM frames WHERE kind = %s", (kind,))
    rows = cur.fetchall()
    conn.close()
    return rows
""", note="SQLAlchemy's pool used alone: connect() checks out, close() gives back"),
    Case("""
from psycopg2 import pool

class Database:
    _pool = pool.SimpleConnectionPool(1, 10, dsn="dbname=app")

    @classmethod
    def get_connection(cls):
        return cls._pool.getconn()

    @classmethod
    def return_connection(cls, conn):
        cls._pool.putconn(conn)

class CursorFromPool:
    def __enter__(self):
        self.conn = Database.get_connection()  # expect: PS102
        return self.conn.cursor()

    def __exit__(self, exc_type, exc, tb):
        self.conn.commit()
        Database.return_connection(self.conn)
""", note="__exit__ gives it back through the project's own release, after a commit "
              "that may raise (the fix moves the release into a `finally` there)"),
    Case("""
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 2, "dbname=test")

def test_reads():
    conn = pool.getconn()  # expect: PS102
    assert conn.cursor() is not None
""", path="tests/test_reads.py", note="a test that never gives its pool checkout back: "
                                      "the tests after it wait for a slot"),
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case("""
import psycopg2
from fastapi import FastAPI

app = FastAPI()
pool_conns = []

@app.on_event("startup")
def warm_up():
    for _ in range(4):
        conn = psycopg2.connect("dbname=app")  # expect: PS102
        conn.cursor().execute("SELECT 1")
        conn.close()
""", note="a startup handler, but the connections are opened in a loop", files=_STRICT),
    Case(_PG_POOL + """
class Transaction:
    def __enter__(self):
        self.conn = pool.getconn()  # expect: PS102
        return self.conn.cursor()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.conn.commit()
        else:
            self.conn.rollback()
        pool.putconn(self.conn)
""", note="a failed commit in __exit__ skips the release: the slot is lost (the fix "
          "moves the release into a `finally` there)"),
    Case(_PG_POOL + """
class Connection:
    def __enter__(self):
        self.conn = pool.getconn()  # expect: PS102
        return self.conn

    def __exit__(self, *exc):
        if not self.conn.closed:
            self.conn.rollback()
            pool.putconn(self.conn)
""", unfixable="the release is in `Connection.__exit__`: change it there by hand",
         note="a connection that died is never given back: each one costs a slot for good"),
    Case("""
from mysql.connector import pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5)

class Db:
    def __init__(self):
        self.cnx = cnxpool.get_connection()  # expect: PS102

    def close(self):
        if self.cnx.is_connected():
            self.cnx.close()
""", unfixable="the release is in `Db.close`: change it there by hand",
         note="a pooled mysql.connector connection closed only while connected"),
    Case("""
import asyncpg

class Db:
    _pool = None

    @classmethod
    async def get_pool(cls):
        if cls._pool is None:
            cls._pool = await asyncpg.create_pool("postgresql://app@db/app")
        return await cls._pool.acquire()

async def handler():
    conn = await Db.get_pool()  # expect: PS102
    rows = await conn.fetch("SELECT 1")
    await Db._pool.release(conn)
    return rows
""", note="a classmethod named like a pool getter that acquires from `cls._pool`"),
    Case(_WRAPPER + """
def count():
    conn = get_connection()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM t")
    n = cur.fetchone()[0]
    conn.close()
    return n
""", note="a project class around a checkout whose close() puts it back must be closed\n"
         "on every path"),
    Case("""
from mysql.connector import pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def report():
    conn = cnxpool.get_connection()  # expect: PS102
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
    finally:
        if conn.is_connected():
            conn.close()
""", note="a pooled mysql.connector connection closed only if still connected: a dead "
           "one never goes back to the pool"),
    Case("""
from psycopg2 import pool as pgpool

POOL = pgpool.SimpleConnectionPool(1, 4, dsn="dbname=app")


def no_argument():
    conn = POOL.getconn()  # expect: PS102
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        POOL.putconn()


def on_the_module():
    conn = POOL.getconn()  # expect: PS102
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        pgpool.putconn(conn)
""", note="putconn() without the connection, or on the module instead of the pool, "
           "releases nothing (it raises)"),
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case("""
import sys
import psycopg2
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 4, dsn="dbname=app")


def main(paths):
    for path in paths:
        conn = psycopg2.connect("dbname=app")  # expect: PS102
        conn.cursor().execute("COPY t FROM %s", (path,))
        conn.close()
    for path in paths:
        pooled = pool.getconn()  # expect: PS102
        pooled.cursor().execute("SELECT 1")
        pool.putconn(pooled)


def handler(event):
    conn = psycopg2.connect("dbname=app")  # expect: PS102
    conn.cursor().execute("SELECT 1")
    conn.close()


def serve(events):
    for event in events:
        handler(event)


if __name__ == "__main__":
    main(sys.argv[1:])
    handler({})
""", note="one-shot script: a connection or a pooled checkout per loop iteration, and a "
           "function that also runs from elsewhere are still reported", files=_STRICT),
    Case("""
from db import close_conn, get_conn


def leaky(user_id):
    conn, cur = get_conn()  # expect: PS102
    cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    row = cur.fetchone()
    close_conn(conn, cur)
    return row


def never():
    conn, cur = get_conn()  # expect: PS102
    cur.execute("SELECT 1")
    return cur.fetchone()


def swapped():
    [connection, cursor] = get_conn()  # expect: PS102
    cursor.execute("SELECT 1")
    close_conn(connection, cursor)
""", files={"db.py": _TUPLE_WRAPPERS}, path="app.py",
         note="an acquire wrapper that returns (conn, cursor), a release wrapper of both"),
    Case("""
import asyncpg

class Repo:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def count(self):
        conn = await self.pool.acquire()  # expect: PS102
        n = await conn.fetchval("SELECT count(*) FROM users")
        await self.pool.release(conn)
        return n

async def count(pool: "asyncpg.Pool | None"):
    conn = await pool.acquire()  # expect: PS102
    n = await conn.fetchval("SELECT count(*) FROM users")
    await pool.release(conn)
    return n
""", note="a pool known from a parameter's annotation, also through self"),
    Case(_PG_POOL + """
def get_user(user_id):
    conn = pool.getconn()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    row = cur.fetchone()
    pool.putconn(conn)
    return row
""", note="release only on the happy path"),
    Case(_PG_POOL + """
def get_user(user_id):
    conn = pool.getconn()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    row = cur.fetchone()
    if row is None:
        return None
    pool.putconn(conn)
    return row
""", note="an early return skips the release"),
    Case(_PG_POOL + """
import psycopg2

def update(user_id):
    conn = pool.getconn()  # expect: PS102
    try:
        conn.cursor().execute("UPDATE users SET seen = now() WHERE id = %s", (user_id,))
        conn.commit()
        pool.putconn(conn)
    except psycopg2.Error:
        conn.rollback()
        pool.putconn(conn)
""", note="except psycopg2.Error does not cover a KeyError or a TypeError"),
    Case(_PG_POOL + """
def rows():
    with pool.getconn() as conn:  # expect: PS102
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
""", note="psycopg2 `with conn:` ends the transaction but does not return the connection"),
    Case("""
from psycopg_pool import ConnectionPool
pool = ConnectionPool("dbname=app")

def rows():
    with pool.getconn() as conn:  # expect: PS102
        return conn.execute("SELECT 1").fetchall()
""", note="psycopg 3: the with block closes the connection, the pool loses the slot"),
    Case("""
import asyncpg

async def fetch_user(pool: "asyncpg.Pool", user_id: int):
    pool = await asyncpg.create_pool("postgresql://localhost/app")
    conn = await pool.acquire()  # expect: PS102
    row = await conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
    await pool.release(conn)
    return row
""", note="asyncpg acquire without try/finally"),
    Case("""
from sqlalchemy import create_engine, text
engine = create_engine("postgresql://localhost/app")

def count():
    conn = engine.connect()  # expect: PS102
    n = conn.execute(text("SELECT count(*) FROM users")).scalar()
    conn.close()
    return n
""", note="SQLAlchemy connection closed only on the happy path"),
    Case("""
from sqlalchemy.orm import sessionmaker
from sqlalchemy import create_engine
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))

def rename(user_id, name):
    db = SessionLocal()  # expect: PS102
    user = db.get(User, user_id)
    user.name = name
    db.commit()
""", note="a session that is never closed"),
    Case("""
from db import get_db_connection, release_db_connection

def report():
    conn = get_db_connection()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT 1")
    release_db_connection(conn)
""", files={"db.py": _PG_POOL + """
def get_db_connection():
    return pool.getconn()

def release_db_connection(conn):
    pool.putconn(conn)
"""}, path="reports.py", note="the project's wrappers are inferred across modules"),
    Case("""
from contextlib import contextmanager
from db import pool

@contextmanager
def connection():
    conn = pool.getconn()  # expect: PS102
    yield conn
    pool.putconn(conn)
""", files={"db.py": _PG_POOL}, path="helpers.py",
        note="an exception thrown in at the yield skips the release"),
    Case(_PG_POOL + """
def each(ids):
    for user_id in ids:
        conn = pool.getconn()  # expect: PS102
        conn.cursor().execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))
        if user_id < 0:
            continue
        pool.putconn(conn)
""", note="continue skips the release"),
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case("""
import pymysql

def dump():
    conn = pymysql.connect(host="db", user="app")  # expect: PS102
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        rows = cur.fetchall()
    conn.close()
    return rows
""", note="raw driver connection closed only on the happy path", files=_STRICT),
    Case("""
import psycopg2

def migrate():
    with psycopg2.connect("dbname=app") as conn:  # expect: PS102
        conn.cursor().execute("ALTER TABLE users ADD COLUMN x int")
""", note="psycopg2.connect() in a with block is never closed"),
    Case(_PG_POOL + """
class Repository:
    def __init__(self):
        self.pool = ThreadedConnectionPool(1, 5, dsn="dbname=app")

    def names(self):
        conn = self.pool.getconn()  # expect: PS102
        cur = conn.cursor()
        cur.execute("SELECT name FROM users")
        return [r[0] for r in cur.fetchall()]
""", note="a pool on self, connection never returned"),
    Case("""
from mysql.connector import Error, pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def rename(sql, args):
    try:
        conn = cnxpool.get_connection()  # expect: PS102
        cur = conn.cursor()
        cur.execute(sql, args)
        conn.commit()
    except Error as err:
        print(err)
    finally:
        cur.close()
        conn.close()
""", note="mysql.connector's cursor() pings the server and raises when it is gone: `cur` "
          "is then unbound, `cur.close()` raises UnboundLocalError and conn.close() never "
          "runs"),
    Case("""
from mysql.connector import pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def load_rows(sql, load):
    try:
        conn = cnxpool.get_connection()  # expect: PS102
        rows = load()
        cur = conn.cursor()
        cur.executemany(sql, rows)
        conn.commit()
    finally:
        if conn.is_connected():
            cur.close()
        conn.close()
""", note="load() raising leaves a live connection and `cur` unbound: the guarded "
          "cur.close() raises before conn.close()"),
    Case("""
from mysql.connector import pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def names():
    conn = cnxpool.get_connection()  # expect: PS102
    cur = conn.cursor()
    try:
        cur.execute("SELECT name FROM users")
        return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
""", note="mysql.connector's cursor() can raise between the checkout and the `try`; the fix "
          "moves it inside"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True, pool_recycle=3600)


def get_session():
    session = scoped_session(sessionmaker(bind=engine))
    try:
        yield session
    finally:
        session.close()


def purge(days):
    session = get_session().__next__()  # expect: PS102
    session.execute(text("DELETE FROM events WHERE age > :d"), {"d": days})
    session.commit()
""", note="a scoped_session registry drawn from a generator: the generator's finally runs "
          "at once, and the next query opens a connection nothing closes"),
    Case("""
import mysql.connector
import mysql.connector.pooling
from flask import Flask, g, jsonify

app = Flask(__name__)


class PoolExtension:
    def __init__(self, app=None):
        self.pool = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app):
        app.config.setdefault("DB_POOL_SIZE", 5)

    def create(self):
        self.pool = mysql.connector.pooling.MySQLConnectionPool(pool_name="web", pool_size=5)
        return self.pool

    @property
    def connections(self):
        if "db_pool" not in g:
            g.db_pool = self.create()
        return g.db_pool


db = PoolExtension(app)


@app.route("/cities")
def cities():
    try:
        conn = db.connections.get_connection()  # expect: PS102
        cur = conn.cursor(dictionary=True)
        cur.execute("SELECT name FROM city LIMIT 10")
        rows = cur.fetchall()
        conn.close()
        return jsonify(rows)
    except mysql.connector.ProgrammingError:
        return jsonify([]), 500
""", note="the pool comes from a property of the project's own Flask extension; a failing "
          "query skips the close()"),
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case("""\
import psycopg2


class Store:
    def __init__(self, conn=None):
        self.conn = conn

    def total(self):
        conn = psycopg2.connect("dbname=app")  # expect: PS102
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM t")
        try:
            return cur.fetchone()[0]
        except psycopg2.Error:
            return None
        finally:
            if conn and conn != self.conn:
                conn.close()
""", note="execute() before the `try` skips the guarded close; the fix moves the "
          "`if` whole into a `finally` around both", files=_STRICT),
    Case(_PG_POOL + """

def load(order_id):
    if (conn := pool.getconn()) is not None:  # expect: PS102
        conn.cursor().execute("SELECT * FROM orders WHERE id = %s", (order_id,))
        pool.putconn(conn)
""", note="a checkout bound by an assignment expression (walrus) in the `if` test",
         unfixable="the checkout is not a plain `name = ...` statement"),
    Case(_PG_POOL + """

def load(order_id):
    get = pool.getconn
    conn = get()  # expect: PS102
    conn.cursor().execute("SELECT * FROM orders WHERE id = %s", (order_id,))
    pool.putconn(conn)
""", note="a checkout through a local alias of the pool's bound method"),
    Case(_PG_POOL + """

def count():
    get = pool.getconn
    conn = get()  # expect: PS102
    return conn.cursor().execute("SELECT count(*) FROM orders")
""", note="an alias checkout never released: the fix releases it with the alias's pool"),
    Case(_PG_POOL + """

def count(other):
    p = pool
    get = p.getconn
    p = other
    conn = get()  # expect: PS102
    return conn.cursor().execute("SELECT count(*) FROM orders")
""", note="the alias's pool name is bound again: `p.putconn` could be another pool",
         unfixable="no known release for a psycopg2 pool connection"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app")


def copy_rows():
    session = Session(bind=engine)  # expect: PS102
    session.execute("INSERT INTO t SELECT * FROM s")
    session.commit()
""", note='a session bound to an engine checks a connection out of its pool: still reported'),
    Case("""
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 2, dsn="dbname=test")


def test_select_one():
    conn = pool.getconn()  # expect: PS102
    conn.cursor().execute("SELECT 1")
""", path="tests/test_pool.py",
         note=("a real pool's checkout a test never gives back drains the suite's pool")),
    Case("""
from psycopg2.pool import SimpleConnectionPool

from app import settings

pool = SimpleConnectionPool(1, 2, dsn="dbname=test")


def test_debug_reads(monkeypatch):
    monkeypatch.setattr(settings, "DEBUG", True)
    conn = pool.getconn()  # expect: PS102
    conn.cursor().execute("SELECT 1")
""", path="tests/test_pool.py", files={"app/settings.py": """
DEBUG = False
"""}, note="a test that patches something else still leaks the real pool's checkout"),
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app")


def dump():
    conn = engine.connect()  # expect: PS102
    conn = conn.execution_options(stream_results=True)
    rows = list(conn.execute(text("SELECT * FROM t")))
    conn.close()
    return rows
""", unfixable="`conn` is rebound",
         note="followed through conn = conn.execution_options(...): the close is skipped "
              "when execute() raises"),
    Case("""
from mysql.connector import pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def count_users():
    c = None
    try:
        c = cnxpool.get_connection()  # expect: PS102
        cur = c.cursor()
        cur.execute("SELECT COUNT(*) FROM users")
        return cur.fetchone()[0]
    finally:
        if c and c.is_connected():
            c.close()
""", unfixable="`c` is used after the statements that hold it (in an `except` or `finally` "
                   "of the enclosing `try`): a `finally` around them would release it before "
                   "that use; give it back after its last use by hand",
         note="the same guard on a pooled checkout: a dead connection still holds its slot"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://db/app"))


def list_items(db=None):
    owned = False
    if db is None:
        db = SessionLocal()  # expect: PS102
        owned = True
    try:
        return db.execute("SELECT * FROM items").all()
    finally:
        if not owned:
            db.close()
""", unfixable="`db` is used after the statements that hold it (later in the function), "
                   "and it is checked out here only when the caller passed none (`if db is "
                   "None:`): a release after that use must skip the caller's connection; "
                   "give it back by hand",
         note="the flag read the wrong way round: the session made here is never closed"),
    Case("""
from poolsafe.runtime import ConnectionPool

pool = ConnectionPool(1, 5, dsn="dbname=app")


def count_orders():
    conn = pool.getconn()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM orders")
    n = cur.fetchone()[0]
    pool.putconn(conn)
    return n
""", note="poolsafe's own reference pool is a psycopg2-compatible pool"),
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app")


def table_exists(name):
    if not name:
        return False
    conn = engine.connect()  # expect: PS102
    found = conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
    if found is None:
        return False
    conn.close()
    return True
""", note='an engine connection never closed on an early-return path'),
    Case("""
import contextlib

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app")


@contextlib.contextmanager
def get_session():
    s = Session(engine)  # expect: PS102
    yield s
    s.commit()
    s.close()
""", path="app/db.py",
         note=('a release after yield in a contextmanager without try/finally: an exception '
               'in the with body skips it')),
    Case("""
import aiomysql


async def count_rows():
    conn = await aiomysql.connect(host="db", user="app", db="app")  # expect: PS102
    cur = await conn.cursor()
    await cur.execute("SELECT COUNT(*) FROM t")
    (n,) = await cur.fetchone()
    conn.close()
    return n
""", note='an aiomysql connection of its own, closed outside finally'),
    Case("""
import asyncpg
from aiogram import Dispatcher, executor

dp = Dispatcher()


async def create_tables():
    conn = await asyncpg.connect("postgresql://db/app")  # expect: PS102
    await conn.execute("CREATE TABLE IF NOT EXISTS users (id bigint)")
    await conn.close()


async def on_startup(dispatcher):
    await create_tables()


@dp.message_handler(commands=["reset"])
async def reset(message):
    await create_tables()


if __name__ == "__main__":
    executor.start_polling(dp, on_startup=on_startup)
""", note='the same function also called from a message handler runs many times'),
    Case("""
import psycopg2


class Postgres:
    def __init__(self, dsn):
        self.dsn = dsn
        self._conn = None

    def connect(self):
        conn = psycopg2.connect(self.dsn)
        return conn

    def reset(self):
        self._conn = None

    @property
    def server_version(self):
        conn = self.connect()  # expect: PS102
        return conn.server_version

    def check(self):
        self._conn = self.connect()
        try:
            cur = self._conn.cursor()
            cur.execute("SELECT 1")
        except psycopg2.DatabaseError:  # expect: PS103
            self.reset()
            return False
        return True
""", note='a method that returns a fresh connection it does not keep is an acquire wrapper'),
    Case("""
from contextlib import suppress

import psycopg


def subscribe(dsn, sql):
    sub_con = psycopg.connect(dsn)  # expect: PS102
    cursor = sub_con.cursor()
    try:
        cursor.execute(sql)
        yield cursor.fetchall()
    finally:
        cursor.close()
        sub_con.commit()
        sub_con.close()
""", note='a commit before the close in finally may raise and skip it'),
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case("""
import pymysql


def create_db(host, dbname):
    cn = pymysql.connect(host=host)  # expect: PS102
    with cn.cursor() as cr:
        cr.execute("create database " + dbname)
    cn.close()
""", path="mycli/features/db_utils.py",
         note="the same helper in production code: the exception path leaks the connection",
         files=_STRICT),
    Case("""
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/shop", pool_pre_ping=True)


@contextmanager
def unit_of_work():
    work = scoped_session(sessionmaker(bind=engine))  # expect: PS102
    yield work
    work.commit()
    work.remove()
""", path="shop/db.py",
         note=("a scoped_session registry built per call and handed out by a "
               "@contextmanager with no try/finally: an exception in the caller's with "
               "body is thrown in at the yield and skips commit() and remove(); the fix moves "
               "`work.remove()`, as written, into a `finally`")),
    Case("""
from mysql.connector import errors
from shop.base import Repo


class Items(Repo):
    def names(self):
        rows = []
        try:
            self._open()  # expect: PS102
            self.cur.execute("SELECT name FROM items")
            rows = self.cur.fetchall()
            self._done()
        except errors.Error as e:
            print(e)
        return rows
""", path="shop/items.py", files={"shop/__init__.py": "", "shop/base.py": _HELPER_BASE,
                                  "shop/app.py": _HELPER_APP},
         note="a helper keeps the checkout on self and another gives it back, outside a "
              "finally: a failed statement skips the give-back and the except swallows it",
         unfixable="the checkout and its give-back are helper methods: move the give-back "
                   "call into a `finally` by hand"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def rename(user_id, name):
    session = Session(engine)  # expect: PS102
    session.execute(text("UPDATE users SET name = :n WHERE id = :i"), {"n": name, "i": user_id})
    session.commit()
    session.close()
""", note="a session whose positional bind is the engine checks a connection out: an "
          "error before close() leaves it checked out"),
    Case("""
from contextlib import closing

from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def migrate(configure):
    connection = engine.connect()  # expect: PS102
    configure(connection)
    with closing(connection):
        connection.execute(text("SELECT 1"))
""", note="a call that may raise sits between the checkout and `with closing(...)`"),
    Case("""
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT
from psycopg2.pool import ThreadedConnectionPool


class Listener:
    def __init__(self, dsn):
        self.pool = ThreadedConnectionPool(1, 4, dsn)
        self._listen_conn = None

    def listen(self, channel):
        conn = self.pool.getconn()  # expect: PS102
        conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
        with conn.cursor() as cur:
            cur.execute("LISTEN " + channel)
        self._listen_conn = conn
        return conn

    def close(self):
        if self._listen_conn is not None:
            self.pool.putconn(self._listen_conn)
            self._listen_conn = None
""", note="stored on the object only after calls that may raise: an error before it "
          "leaves the checkout with nobody to give it back (the fix gives it back on "
          "that failure and stores it on success, as before)"),
    Case("""
from fastapi import FastAPI

import store.queries

api = FastAPI()


@api.get("/items")
def items():
    with store.queries.open_db() as conn:  # expect: PS102
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM items")
            return cur.fetchall()
""", path="web/main.py", files={"store/queries.py": """
import psycopg2


def open_db():
    return psycopg2.connect("dbname=shop")
"""}, note=("`with` on psycopg2's connection ends the transaction only; the helper is "
            "reached as `store.queries.open_db()` in a namespace package")),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def record(event, Folder):
    gen = get_db()
    session = next(gen)  # expect: PS102
    folder = session.query(Folder).filter_by(path=event.path).first()
    if folder is None:
        return None
    try:
        folder.seen = True
        session.commit()
    finally:
        session.close()
""", note=("a session drawn with next() from a generator kept in a local: the early "
            "return skips the close (the generator's finally runs only when it is collected)")),
    Case("""
import pymysql
from dbutils.pooled_db import PooledDB

pool = PooledDB(creator=pymysql, maxconnections=10, host="db", user="app", database="shop")


def list_markets(active_only):
    conn = pool.connection()  # expect: PS102
    cursor = conn.cursor()
    cursor.execute("SELECT id, name, active FROM market")
    rows = cursor.fetchall()
    if not active_only:
        return rows
    cursor.close()
    conn.close()
    return [r for r in rows if r[2]]
""", note="DBUtils PooledDB: the early return skips the close that gives the connection "
          "back, and the frame's end returns it only by the proxy's `__del__`"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker


def open_registry(url, probe):
    registry = scoped_session(sessionmaker())  # expect: PS102
    registry.configure(bind=create_engine(url))
    registry.execute(text("SELECT 1"))
    probe()
    return registry
""", note="the registry's session ran a statement (it holds a connection from there) "
          "before a call that may raise: that error leaves the connection checked out "
          "(the fix closes it on that failure and returns it on success, as before)"),
    Case("""
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


def store(items, prepare):
    db = SessionLocal()  # expect: PS102
    db.add_all(items)
    db.flush()
    prepare(items)
    db.commit()
    db.close()
""", note="`flush()` sends the pending rows, so the session holds a connection when "
          "`prepare()` raises"),

    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case("""
import psycopg2


class SetupError(Exception):
    pass


def run_admin(dsn, statement):
    try:
        conn = psycopg2.connect(dsn)  # expect: PS102
    except psycopg2.OperationalError as exc:
        raise SetupError(str(exc))
    conn.set_isolation_level(0)
    cur = conn.cursor()
    try:
        cur.execute(statement)
    finally:
        conn.close()
    return True
""", note="the checkout ends a `try` whose handler leaves: past it the connection is "
          "held, and `set_isolation_level()` raising skips the `finally` below", files=_STRICT),
    Case("""
from psycopg2.pool import PoolError, ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, "dbname=app")


def check_idle(count):
    for _ in range(count):
        try:
            conn = pool.getconn()  # expect: PS102
        except PoolError:
            break
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        pool.putconn(conn)
""", note="a loop's checkout in a `try` whose handler breaks out: an error of the "
          "query skips the putconn()"),
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case("""
import psycopg2


def server_version(dsn):
    try:
        conn = psycopg2.connect(dsn)  # expect: PS102
    except psycopg2.OperationalError:
        conn = None
    if conn is not None:
        version = conn.server_version
        conn.set_isolation_level(0)
        conn.close()
        return version
    return None
""", note="the handler goes on (conn = None) instead of leaving: the checkout is not "
          "held on every path past the `try`, so the fix leaves it",
         unfixable="nothing uses `conn` after the checkout", files=_STRICT),

    Case("""
import db


def item_names():
    conn = db.get_db_connection()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT name FROM items")
    names = [row[0] for row in cur.fetchall()]
    db.close_db_connection(conn)
    return names
""", files={"db.py": _PG_POOL + """

def get_db_connection():
    return pool.getconn()


def close_db_connection(conn):
    pool.putconn(conn)
"""}, path="app.py",
         note="the project's release called through its module (`db.close_db_connection"
              "(conn)`) after a query that may raise: the fix moves that call into "
              "`finally`, safe as the bare name would be"),

    Case("""
import psycopg2


def mark_done(task_id, conn=None):
    if conn is None:
        conn = psycopg2.connect("dbname=app")  # expect: PS102
        conn.autocommit = True
    cur = conn.cursor()
    cur.execute("UPDATE tasks SET done = true WHERE id = %s", (task_id,))
""", note="a connection made only when the caller passed none, then never closed",
         unfixable="`conn` is used after the statements that hold it (later in the "
                   "function), and it is checked out here only when the caller passed "
                   "none (`if conn is None:`): a release after that use must skip the "
                   "caller's connection; give it back by hand"),

    Case("""
import psycopg2


def describe(name, conn):
    return {"name": name, "conn": conn}


def register(name, dsn, found):
    try:
        conn = psycopg2.connect(dsn)  # expect: PS102
    except psycopg2.OperationalError:
        return False
    version = conn.server_version
    if version < 120000:
        return False
    entry = describe(name, conn=conn)
    found.append(entry)
    return True
""", note="the connection goes into `describe()`'s result, kept in `found`; the early "
          "return leaves it open. A `finally` would close the one `found` keeps",
         unfixable="`conn` is handed to `describe`, which returns it inside its result"),

]


VALID: list[Case] = [
    Case("""
import pymysql


def create_db(host, dbname):
    cn = pymysql.connect(host=host)
    with cn.cursor() as cr:
        cr.execute("create database " + dbname)
    cn.close()
""", path="mycli_test/features/db_utils.py",
         note="a helper of a test suite in a directory named `*_test` (behave features): "
              "a checkout missed only when an exception is raised is not reported in tests"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app"))

def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()

def nightly():
    db = get_db().__next__()
    try:
        db.execute(text("DELETE FROM sessions WHERE expired"))
        db.commit()
    finally:
        db.close()
""", note="a session drawn from a dependency generator, closed in finally"),
    Case("""
import pymysql
import sqlalchemy.pool as db_pool

pool = db_pool.QueuePool(lambda: pymysql.connect(host="db", db="app"), pool_size=5)

def frames(kind):
    conn = pool.connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM frames WHERE kind = %s", (kind,))
        return cur.fetchall()
    finally:
        conn.close()
""", note="a SQLAlchemy pool checkout closed in finally goes back to the pool"),
    Case("""
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@localhost/test")
session_testing = sessionmaker(bind=engine)

@pytest.fixture
def db_session():
    connection = engine.connect()
    transaction = connection.begin()
    session = session_testing(bind=connection)
    yield session
    session.close()
    transaction.rollback()
    connection.close()
""", path="tests/conftest.py",
         note="a fixture whose setup could raise: in tests only a never-released checkout counts"),
    Case("""
import psycopg2
from fastapi import FastAPI

app = FastAPI()

@app.on_event("startup")
def create_tables():
    conn = psycopg2.connect("dbname=app")
    cur = conn.cursor()
    cur.execute("CREATE TABLE IF NOT EXISTS t (id int)")
    conn.commit()
    conn.close()
""", note="a startup handler runs once per process: the one-shot policy applies"),
    Case(_PG_POOL + """
class Transaction:
    def __enter__(self):
        self.conn = pool.getconn()
        return self.conn.cursor()

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            pool.putconn(self.conn)
""", note="__exit__ gives the connection back in finally, whatever commit() does"),
    Case(_PG_POOL + """
class Connection:
    def __enter__(self):
        self.conn = pool.getconn()
        return self.conn

    def __exit__(self, *exc):
        self.conn.rollback()
        pool.putconn(self.conn, close=self.conn.closed)
""", note="a dead connection is given back too (and closed by the pool)"),
    Case("""
import psycopg2

class Db:
    def __enter__(self):
        self.conn = psycopg2.connect("dbname=app")
        return self.conn

    def __exit__(self, *exc):
        if not self.conn.closed:
            self.conn.close()
""", note="a direct connection: a dead one holds nothing, and no pool counts it"),
    Case("""
import MySQLdb
from flask import g, current_app

def register_db(app):
    @app.teardown_appcontext
    def close_db(exc):
        con = getattr(g, "_con", None)
        if con is not None:
            con.close()

def get_conn():
    con = getattr(g, "_con", None)
    if con is None:
        con = g._con = MySQLdb.connect(host=current_app.config["DB_HOST"])
    return con

def count_users():
    db = get_conn()
    cur = db.cursor()
    cur.execute("SELECT count(*) FROM users")
    return cur.fetchone()[0]
""", note="Flask's g pattern: the accessor caches the connection on g, a teardown closes it"),
    Case("""
import psycopg2

_conn = None

def connection():
    global _conn
    if _conn is None:
        _conn = psycopg2.connect("dbname=app")
    return _conn

def count():
    conn = connection()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    return cur.fetchone()
""", note="a process-wide connection kept in a global: callers do not own it"),
    Case("""
from unittest import mock
import psycopg2.pool

def test_report_reads_one_row():
    pool = mock.MagicMock(spec=psycopg2.pool.SimpleConnectionPool)
    conn = pool.getconn()
    conn.cursor().execute("SELECT 1")
    conn.close()
""", path="tests/test_report.py", note="a pool built from a mock in test code holds nothing"),
    Case("""
from unittest.mock import MagicMock

def test_handler():
    pool = MagicMock()
    conn = pool.getconn()
    conn.cursor().fetchone.return_value = (1,)
    assert conn.cursor().fetchone() == (1,)
""", path="tests/test_handler.py", note="getconn() on a MagicMock"),
    Case(_WRAPPER + """
def count():
    conn = get_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM t")
        return cur.fetchone()[0]
    finally:
        conn.close()
""", note="a pooled-connection wrapper closed in finally: close() is its release"),
    Case(_WRAPPER + """
def count():
    with get_connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM t")
        return cur.fetchone()[0]
""", note="a pooled-connection wrapper whose __exit__ calls close()"),
    Case("""
import mysql.connector
import pymysql
import psycopg2


def mysql_direct():
    conn = mysql.connector.connect(host="db")
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
    finally:
        if conn.is_connected():
            conn.close()


def pymysql_direct():
    conn = pymysql.connect(host="db")
    try:
        return conn.cursor().execute("SELECT 1")
    finally:
        if conn.open:
            conn.close()


def psycopg2_direct():
    conn = psycopg2.connect("dbname=app")
    try:
        return conn.cursor().execute("SELECT 1")
    finally:
        if not conn.closed:
            conn.close()
""", note="a direct connection that is no longer connected holds nothing on the server"),
    Case("""
import sys
import click
import psycopg2


def main(path):
    conn = psycopg2.connect("dbname=app")
    cur = conn.cursor()
    cur.execute("COPY t FROM %s", (path,))
    conn.commit()
    conn.close()


@click.command()
def load():
    conn = psycopg2.connect("dbname=app")
    conn.cursor().execute("SELECT 1")


if __name__ == "__main__":
    main(sys.argv[1])
""", note="one-shot script: a direct connection opened once per process; the exit frees it"),
    Case("""
from db import close_conn, get_conn


def safe(user_id):
    conn, cur = get_conn()
    try:
        cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
        return cur.fetchone()
    finally:
        close_conn(conn, cur)


def hands_back():
    conn, cur = get_conn()
    return conn, cur


def kept_whole():
    pair = get_conn()
    return pair


def two_values_only(pool_getter):
    a, b = 1, 2
    return a + b
""", files={"db.py": _TUPLE_WRAPPERS}, path="app.py",
         note="a tuple checkout released in finally, handed on, or kept whole"),
    Case("""
import psycopg2
conn = None

def reconnect():
    global conn
    conn = psycopg2.connect("dbname=app")
""", note="a connection stored in a module global outlives the call"),
    Case("""
import psycopg2

def list_users():
    try:
        conn = psycopg2.connect("dbname=app")
        cur = conn.cursor()
        cur.execute("SELECT name FROM users")
        return cur.fetchall()
    except psycopg2.Error:
        return []
    finally:
        if "conn" in locals():
            conn.close()
""", note="`in locals()` is true exactly when the connection was made"),
    Case("""
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
engine = create_engine("postgresql://localhost/test")

@pytest.fixture
def db_session():
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection)
    yield session
    session.close()
    transaction.rollback()
    connection.close()
""", note="pytest resumes a fixture with next(), never throw(): teardown always runs"),
    Case(_PG_POOL + """
def count_orders():
    try:
        with pool.getconn() as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM orders")
                return cur.fetchone()[0]
    finally:
        pool.putconn(conn)
""", note="`with conn` ends the transaction; the finally returns the connection"),
    Case(_PG_POOL + """
from contextlib import contextmanager

@contextmanager
def connection():
    conn = pool.getconn()
    try:
        yield conn
    finally:
        broken = bool(conn.closed)
        pool.putconn(conn, close=broken)
""", note="bool() of an attribute does not raise"),
    Case(_PG_POOL + """
def get_user(user_id):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
        return cur.fetchone()
    finally:
        pool.putconn(conn)
""", note="release in finally"),
    Case(_PG_POOL + """
def get_user(user_id):
    conn = None
    try:
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchone()
    finally:
        if conn:
            pool.putconn(conn)
""", note="conditional release guarded by `if conn:`"),
    Case(_PG_POOL + """
def get_user(user_id):
    conn = None
    try:
        conn = pool.getconn()
        return conn.cursor().execute("SELECT 1")
    finally:
        if conn is not None:
            pool.putconn(conn)
""", note="guarded by `is not None`"),
    Case(_PG_POOL + """
def update(user_id):
    conn = pool.getconn()
    try:
        conn.cursor().execute("UPDATE users SET seen = now()")
        conn.commit()
    except Exception:
        conn.rollback()
        pool.putconn(conn)
        raise
    else:
        pool.putconn(conn)
""", note="released on every path: each except and the else"),
    Case(_PG_POOL + """
def get_db_connection():
    return pool.getconn()

class Handle:
    def __init__(self):
        self.conn = pool.getconn()
""", note="a connection handed to the caller or stored on self has moved on"),
    Case("""
from sqlalchemy import create_engine, text
engine = create_engine("postgresql://localhost/app")

def count():
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM users")).scalar()

def insert():
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
""", note="SQLAlchemy context managers release"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))

def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()

def rename(user_id, name):
    with SessionLocal() as db:
        db.get(User, user_id).name = name
        db.commit()
""", note="close() is the release for SQLAlchemy sessions; the generator closes in finally"),
    Case("""
import asyncpg

async def fetch_user(user_id: int):
    pool = await asyncpg.create_pool("postgresql://localhost/app")
    async with pool.acquire() as conn:
        return await conn.fetchrow("SELECT 1")
""", note="async with pool.acquire() releases"),
    Case("""
from psycopg_pool import ConnectionPool
pool = ConnectionPool("dbname=app")
returning = ConnectionPool("dbname=app", close_returns=True)

def rows():
    with pool.connection() as conn:
        return conn.execute("SELECT 1").fetchall()

def more_rows():
    with returning.getconn() as conn:
        return conn.execute("SELECT 1").fetchall()
""", note="pool.connection() and close_returns=True pools give the connection back"),
    Case("""
from db import connection, get_db_connection, release_db_connection

def report():
    conn = get_db_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
    finally:
        release_db_connection(conn)

def with_helper():
    with connection() as conn:
        conn.cursor().execute("SELECT 1")
""", files={"db.py": _PG_POOL + """
from contextlib import contextmanager

def get_db_connection():
    return pool.getconn()

def release_db_connection(conn):
    pool.putconn(conn)

@contextmanager
def connection():
    conn = pool.getconn()
    try:
        yield conn
    finally:
        pool.putconn(conn)
"""}, path="reports.py", note="project wrappers and a safe @contextmanager across modules"),
    Case("""
from db import get_db_connection
from db import release_db_connection as give_back

def report():
    conn = get_db_connection()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        give_back(conn)
""", files={"db.py": _PG_POOL + """
def get_db_connection():
    return pool.getconn()

def release_db_connection(conn):
    pool.putconn(conn)
"""}, path="reports.py", note="a release wrapper imported under another name"),
    Case("""
import mysql.connector.pooling
pool = mysql.connector.pooling.MySQLConnectionPool(pool_name="app", pool_size=5)

def names():
    conn = pool.get_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM users")
        return cur.fetchall()
    finally:
        conn.close()
""", note="mysql.connector pooled connections: close() returns them"),
    Case(_PG_POOL + """
import threading

def start_worker():
    conn = pool.getconn()
    threading.Thread(target=work, args=(conn,)).start()

def register(conns):
    conn = pool.getconn()
    conns.append(conn)
""", note="handed to a constructor or stored in a container"),
    Case("""
import sqlite3

def local_rows(path):
    conn = sqlite3.connect(path)
    return conn.execute("SELECT 1").fetchall()
""", note="sqlite3 connections are file handles closed by reference counting, not pool slots"),
    Case(_PG_POOL + """
def loop(ids):
    for user_id in ids:
        conn = pool.getconn()
        try:
            conn.cursor().execute("SELECT %s", (user_id,))
            if user_id < 0:
                continue
        finally:
            pool.putconn(conn)
""", note="continue inside try still runs the finally"),
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def names():
    conn = pool.getconn()
    cur = conn.cursor()
    try:
        cur.execute("SELECT name FROM users")
        return [r[0] for r in cur.fetchall()]
    finally:
        pool.putconn(conn)


def rename(sql, args):
    try:
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute(sql, args)
        conn.commit()
    finally:
        cur.close()
        pool.putconn(conn)
""", note="psycopg2's cursor() builds the cursor in memory (it raises only on a connection "
          "already closed): nothing can raise between the checkout and the `try`, and "
          "`cur` is bound whenever the `finally` has a connection to give back"),
    Case("""
import mysql.connector


def names(config):
    conn = mysql.connector.connect(**config)
    cur = conn.cursor()
    try:
        cur.execute("SELECT name FROM users")
        return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
""", note="a direct mysql.connector connection whose cursor() failed its ping is already "
          "gone on the server: nothing is held"),
    Case("""
from mysql.connector import Error, pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def rename(sql, args):
    conn = cur = None
    try:
        conn = cnxpool.get_connection()
        cur = conn.cursor()
        cur.execute(sql, args)
        conn.commit()
    except Error as err:
        print(err)
    finally:
        if cur is not None:
            cur.close()
        if conn is not None:
            conn.close()


def rename_again(sql, args):
    try:
        conn = cnxpool.get_connection()
        cur = conn.cursor()
        cur.execute(sql, args)
        conn.commit()
    finally:
        if "cur" in locals():
            cur.close()
        conn.close()
""", note="the cursor is bound (to None) before the `try`, or looked up in locals(): the "
          "close is reached whatever raised"),
    Case("""
from mysql.connector import Error, pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def rename(sql):
    try:
        conn = cnxpool.get_connection()
        cur = conn.cursor()
        cur.execute(sql)
        conn.commit()
    except Error as err:
        print(err)
    finally:
        if conn.is_connected():
            cur.close()
        conn.close()
""", note="`cur` is unbound only when cursor()'s ping failed, and then is_connected() "
          "answers False: the guarded cur.close() is skipped and conn.close() runs"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True, pool_recycle=3600)


def get_session():
    session = scoped_session(sessionmaker(bind=engine))
    try:
        yield session
    finally:
        session.close()


def purge(days):
    session = next(get_session())
    try:
        session.execute(text("DELETE FROM events WHERE age > :d"), {"d": days})
        session.commit()
    finally:
        session.remove()
""", note="a drawn scoped_session registry, removed (closed) in finally"),
    Case("""
import mysql.connector.pooling
from flask import Flask, g, jsonify

app = Flask(__name__)


class PoolExtension:
    def __init__(self, app=None):
        self.pool = None

    def create(self):
        self.pool = mysql.connector.pooling.MySQLConnectionPool(pool_name="web", pool_size=5)
        return self.pool

    @property
    def connections(self):
        if "db_pool" not in g:
            g.db_pool = self.create()
        return g.db_pool


db = PoolExtension(app)


@app.route("/cities")
def cities():
    conn = db.connections.get_connection()
    try:
        cur = conn.cursor(dictionary=True)
        cur.execute("SELECT name FROM city LIMIT 10")
        return jsonify(cur.fetchall())
    finally:
        conn.close()
""", note="a pool from the project's Flask extension property, closed in finally"),
    Case("""\
import psycopg2


class Store:
    def __init__(self, conn=None):
        self.conn = conn

    def total(self, conn=None):
        if conn is None:
            conn = psycopg2.connect("dbname=app")
        try:
            return conn.cursor().fetchone()
        finally:
            if conn and conn != self.conn:
                conn.close()
""", note="a close guarded by which connection it is (the store's own is kept): true "
          "for a connection checked out here"),
    Case(_PG_POOL + """

def load(order_id):
    if (conn := pool.getconn()) is not None:
        try:
            conn.cursor().execute("SELECT * FROM orders WHERE id = %s", (order_id,))
        finally:
            pool.putconn(conn)
""", note="a walrus checkout released in a finally inside the `if`"),
    Case(_PG_POOL + """

def load(order_id):
    if (conn := pool.getconn()) is None:
        return None
    try:
        return conn.cursor().execute("SELECT * FROM orders WHERE id = %s", (order_id,))
    finally:
        pool.putconn(conn)
""", note="a walrus checkout: nothing is held where it is None"),
    Case(_PG_POOL + """

def load(order_id):
    get, put = pool.getconn, pool.putconn
    conn = get()
    try:
        conn.cursor().execute("SELECT * FROM orders WHERE id = %s", (order_id,))
    finally:
        put(conn)
""", note="aliases of the pool's methods for the checkout and for the release"),
    Case(_PG_POOL + """

def load(order_id):
    get = pool.getconn
    put = pool.putconn
    conn = get()
    try:
        conn.cursor().execute("SELECT * FROM orders WHERE id = %s", (order_id,))
    finally:
        put(conn)
""", note="aliases of the pool's methods, one per line"),
    Case("""
from alembic import op
from sqlalchemy.orm import Session


def upgrade():
    session = Session(bind=op.get_bind())
    for row in session.execute("SELECT id FROM t"):
        session.execute("UPDATE t SET x = 1 WHERE id = :i", {"i": row.id})
    session.commit()
""",
         note=("an Alembic migration's session bound to the migration's connection "
               '(op.get_bind()): it checks nothing out')),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app")


def copy_rows():
    with engine.connect() as conn:
        session = Session(bind=conn)
        session.execute("INSERT INTO t SELECT * FROM s")
        session.commit()
""", note='a session bound to a connection the enclosing with owns and closes'),
    Case("""
from unittest.mock import AsyncMock, patch

import asyncpg


@patch("asyncpg.connect", new_callable=AsyncMock)
async def test_load(connect):
    conn = await asyncpg.connect("postgresql://db/app")
    rows = await conn.fetch("SELECT 1")
    assert rows is not None
""", path="tests/test_store.py",
         note=("asyncpg.connect patched with AsyncMock: the test's connection is a double")),
    Case("""
from unittest.mock import MagicMock, patch

from app import db


def test_reads(monkeypatch):
    fake = MagicMock()
    monkeypatch.setattr(db, "pool", fake)
    conn = db.pool.getconn()
    conn.cursor().execute("SELECT 1")
    assert fake.getconn.called
""", path="tests/test_repo.py", files={"app/db.py": """
from psycopg2.pool import SimpleConnectionPool
pool = SimpleConnectionPool(1, 5, dsn="dbname=app")
"""}, note='the pool replaced with monkeypatch.setattr: its getconn() hands out a double'),
    Case("""
from unittest.mock import Mock


def check(pool):
    conn = pool.getconn()
    conn.cursor().execute("SELECT 1")


def test_check():
    pool = Mock()
    check(pool)
""", path="tests/test_service.py",
         note=('getconn() on an object of unknown type in a test module (a Mock passed in)')),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@localhost/test")
TestSession = sessionmaker(bind=engine)


def test_insert_user():
    session = TestSession()
    session.execute(text("INSERT INTO users (name) VALUES ('a')"))
    session.commit()
    assert session.execute(text("SELECT count(*) FROM users")).scalar() == 1
""", path="tests/test_models.py", note='a session a test leaves open is not a production leak'),
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app")


def dump():
    conn = engine.connect()
    try:
        conn = conn.execution_options(stream_results=True)
        return list(conn.execute(text("SELECT * FROM t")))
    finally:
        conn.close()
""",
         note=('conn = conn.execution_options(...) is the same connection (SQLAlchemy 2.0), '
               'closed in finally')),
    Case("""
import mysql.connector


def count_users():
    c = None
    try:
        c = mysql.connector.connect(host="db", user="app", database="app")
        cur = c.cursor()
        cur.execute("SELECT COUNT(*) FROM users")
        return cur.fetchone()[0]
    finally:
        if c and c.is_connected():
            c.close()
""",
         note=('if c and c.is_connected(): c.close() on a direct mysql.connector connection: '
               'a dead one holds nothing')),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://db/app"))


def list_items(db=None):
    owned = False
    if db is None:
        db = SessionLocal()
        owned = True
    try:
        return db.execute("SELECT * FROM items").all()
    finally:
        if owned:
            db.close()
""",
         note=('a flag set right after the checkout guards its close: if owned: db.close() '
               'releases exactly what was acquired')),
    Case("""
from poolsafe.runtime import ConnectionPool

pool = ConnectionPool.from_url(1, 5, "postgresql://localhost/app")


def count_users():
    with pool.connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM users")
        return cur.fetchone()[0]
""", note="with pool.connection() on poolsafe's pool always gives the connection back"),
    Case("""
import aiomysql


async def count_rows():
    async with aiomysql.connect(host="db", user="app", db="app") as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT COUNT(*) FROM t")
            (n,) = await cur.fetchone()
    return n


async def count_other():
    conn = await aiomysql.connect(host="db", user="app", db="app")
    try:
        cur = await conn.cursor()
        await cur.execute("SELECT COUNT(*) FROM u")
        return await cur.fetchone()
    finally:
        conn.close()
""", note='aiomysql connections in async with, or closed in finally'),
    Case("""
import asyncpg
from aiogram import Dispatcher, executor

dp = Dispatcher()


async def create_tables():
    conn = await asyncpg.connect("postgresql://db/app")
    await conn.execute("CREATE TABLE IF NOT EXISTS users (id bigint)")
    await conn.close()


async def on_startup(dispatcher):
    await create_tables()


if __name__ == "__main__":
    executor.start_polling(dp, on_startup=on_startup)
""",
         note=('a direct connection in a function only the startup hook calls (on_startup=): '
               'runs once per process')),
    Case("""
import psycopg2


class Postgres:
    def __init__(self, dsn):
        self.dsn = dsn
        self._conn = None

    def connect(self):
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.dsn)
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def server_version(self):
        conn = self.connect()
        return conn.server_version

    def check(self):
        try:
            cur = self._conn.cursor()
            cur.execute("SELECT 1")
        except psycopg2.DatabaseError:
            self.close()
            return False
        return True
""",
         note=("a cached accessor (return self._conn) lends the object's connection; "
               'self.close() closes it')),
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://app@localhost/test")


def test_server_version():
    connection = engine.connect()
    assert connection.execute(text("SHOW server_version")).scalar()
""", path="tests/test_version.py",
         note=('a SQLAlchemy engine connection a test leaves open goes back to the pool when '
               'collected: no production leak')),
    Case("""
from contextlib import suppress

import psycopg


def subscribe(dsn, sql):
    sub_con = psycopg.connect(dsn)
    cursor = sub_con.cursor()
    try:
        cursor.execute(sql)
        yield cursor.fetchall()
    finally:
        with suppress(Exception):
            cursor.close()
        with suppress(Exception):
            sub_con.close()
""",
         note=('closes in finally under with suppress(Exception): building the suppress '
               'context does not raise')),
    Case("""
import psycopg2

def test_reads():
    conn = psycopg2.connect("dbname=test")
    assert conn.cursor() is not None
""", path="tests/test_reads.py", note="a direct connection a test never closes: no pool "
                                      "slot, and it is closed as soon as the test's frame "
                                      "is gone: not a production leak"),
    Case("""
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/shop", pool_pre_ping=True)
registry = scoped_session(sessionmaker(bind=engine))


def new_registry():
    made = scoped_session(sessionmaker(bind=engine))
    return made


def attach(app):
    app.db = scoped_session(sessionmaker(bind=engine))


@contextmanager
def unit_of_work():
    work = scoped_session(sessionmaker(bind=engine))
    try:
        yield work
        work.commit()
    finally:
        work.remove()
""", path="shop/db.py",
         note=("look-alikes: a module's registry, one returned or stored on the app "
               "(moved on), and one removed in finally")),
    Case("""
from app import db


def test_lists_orders(mocker):
    mocker.patch("app.db.pool")
    conn = db.pool.getconn()
    conn.cursor().execute("SELECT 1")
""", path="tests/test_orders.py", files={"app/__init__.py": "", "app/db.py": """
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 4, dsn="dbname=shop")
"""}, note="pytest-mock's mocker.patch replaced the pool: the checkout is a double"),
    Case("""
from unittest.mock import patch

from app import db


def test_cancels_order():
    with patch.object(db, "pool"):
        conn = db.pool.getconn()
        conn.cursor().execute("UPDATE orders SET state = 'cancelled'")
""", path="tests/test_cancel.py", files={"app/__init__.py": "", "app/db.py": """
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 4, dsn="dbname=shop")
"""}, note="patch.object replaced the pool for the with block: the checkout is a double"),
    Case("""
from mysql.connector import errors
from shop.base import Repo


class Items(Repo):
    def names(self):
        rows = []
        try:
            self._open()
            self.cur.execute("SELECT name FROM items")
            rows = self.cur.fetchall()
        except errors.Error as e:
            print(e)
        finally:
            self._done()
        return rows
""", path="shop/items.py", files={"shop/__init__.py": "", "shop/base.py": _HELPER_BASE,
                                  "shop/app.py": _HELPER_APP},
         note="the give-back helper runs in finally"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def count_rows(table):
    with engine.connect() as conn:
        session = Session(conn)
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
""", note="a session whose positional bind is a connection the enclosing with owns "
          "(`Session(conn)`, as `Session(bind=conn)`): it checks nothing out"),
    Case("""
from contextlib import closing

from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def migrate():
    connection = engine.connect()
    with closing(connection):
        connection.execute(text("SELECT 1"))
""", note="nothing between the checkout and `with closing(connection):`, whose "
          "constructor only stores the connection"),
    Case("""
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT
from psycopg2.pool import ThreadedConnectionPool


class Listener:
    def __init__(self, dsn):
        self.pool = ThreadedConnectionPool(1, 4, dsn)
        self._listen_conn = None

    def listen(self, channel):
        self._listen_conn = conn = self.pool.getconn()
        conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
        with conn.cursor() as cur:
            cur.execute("LISTEN " + channel)
        return conn

    def close(self):
        if self._listen_conn is not None:
            self.pool.putconn(self._listen_conn)
            self._listen_conn = None
""", note="a chained assignment stores the checkout on the object at once "
          "(`self._listen_conn = conn = ...`): the object's close() gives it back"),
    Case("""
from fastapi import FastAPI

import store.queries

api = FastAPI()


@api.get("/items")
def items():
    with store.queries.open_db() as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM items")
            return cur.fetchall()
""", path="web/main.py", files={"store/queries.py": """
from contextlib import contextmanager

import psycopg2


@contextmanager
def open_db():
    conn = psycopg2.connect("dbname=shop")
    try:
        yield conn
    finally:
        conn.close()
"""}, note="the namespace package's helper is a context manager that closes the connection"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def record(event, Folder):
    gen = get_db()
    session = next(gen)
    try:
        folder = session.query(Folder).filter_by(path=event.path).first()
        if folder is None:
            return None
        folder.seen = True
        session.commit()
    finally:
        session.close()
""", note="the session drawn from the kept generator is closed in a finally on every path"),
    Case("""
import pymysql
from dbutils.pooled_db import PooledDB

pool = PooledDB(creator=pymysql, maxconnections=10, host="db", user="app", database="shop")


def list_markets():
    conn = pool.connection()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT id, name FROM market")
        return cursor.fetchall()
    finally:
        conn.close()
""", note="DBUtils PooledDB: the checkout is given back in a finally"),
]

VALID += [
    Case("""
import sys

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker


def main(url, counts):
    engine = create_engine(url)
    session = sessionmaker(bind=engine)()
    for serial, value in counts.items():
        session.execute("UPDATE tokens SET count = :v WHERE serial = :s",
                        {"v": value, "s": serial})
    session.commit()


if __name__ == "__main__":
    main(sys.argv[1], {})
""", note="one-shot script: a session taken once in `main()` and never closed; the "
          "process exit frees its connection, one checkout exhausts no pool"),
    Case("""
import click
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, dsn="dbname=app")


class Maintenance:
    def __init__(self, dsn):
        self.dsn = dsn

    def vacuum(self):
        conn = pool.getconn()
        conn.autocommit = True
        conn.cursor().execute("VACUUM")


@click.command()
@click.argument("dsn")
def vacuum(dsn):
    Maintenance(dsn).vacuum()
""", note="a method called only from a click command, once: one-shot code too"),
    Case("""
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.orm import Session


def run_migrations_online():
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    session = Session(bind=engine)
    session.execute("SELECT 1")
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
""", note="an Alembic environment runs once per migration command"),
]

INVALID += [
    Case("""
import sys

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://db/app")
Session = sessionmaker(bind=engine)


def main(batches):
    for batch in batches:
        session = Session()  # expect: PS102
        session.execute("DELETE FROM t WHERE batch = :b", {"b": batch})
        session.commit()


if __name__ == "__main__":
    main(sys.argv[1:])
""", note="one-shot script, but a session per item of a batch, never closed: those add up"),
    Case("""
import click
from flask import Flask
from psycopg2.pool import ThreadedConnectionPool

app = Flask(__name__)
pool = ThreadedConnectionPool(1, 4, dsn="dbname=app")


class Maintenance:
    def vacuum(self):
        conn = pool.getconn()  # expect: PS102
        conn.autocommit = True
        conn.cursor().execute("VACUUM")


@click.command()
def vacuum():
    Maintenance().vacuum()


@app.route("/vacuum")
def vacuum_view():
    Maintenance().vacuum()
    return "ok"
""", note="the same method also runs from a route: not one-shot"),
]

VALID += [
    Case("""
import logging

import psycopg2

log = logging.getLogger(__name__)


def read_pid(path):
    handle = None
    try:
        handle = open(f"{path}.pid")
        pid = int(handle.readline())
    except Exception:
        log.warning("no pid file at %s", path)
        return None
    finally:
        if handle is not None:
            handle.close()
    return pid


def connect_with_pid(dsn, path):
    conn = psycopg2.connect(dsn)
    pid = read_pid(path)
    return conn, pid
""", note="the only call between the checkout and its hand-off is a project function "
          "whose whole body catches every exception: nothing can raise there"),
]

INVALID += [
    Case("""
import logging

import psycopg2

log = logging.getLogger(__name__)


def read_pid(path):
    handle = None
    try:
        handle = open(f"{path}.pid")
        pid = int(handle.readline())
    except OSError:
        log.warning("no pid file at %s", path)
        return None
    finally:
        if handle is not None:
            handle.close()
    return pid


def connect_with_pid(dsn, path):
    conn = psycopg2.connect(dsn)  # expect: PS102
    pid = read_pid(path)
    return conn, pid
""", files=_STRICT, note="the helper catches only OSError: a ValueError from int() escapes "
              "with the connection open (the fix closes it on that failure and returns it on "
              "success, as before; with `direct-connections = \"strict\"`: by default a "
              "direct connection the exception drops is left to reference counting)"),
]

VALID += [
    Case("""
from sqlalchemy import orm


class Base:
    def detached_copy(self):
        session = orm.Session()
        copy = session.merge(self, load=False)
        session.expunge(copy)
        return copy
""", note="a Session() bound to nothing, in a project that binds nothing later: it can "
          "run no SQL, so it checks nothing out"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, orm, text

engine = create_engine("postgresql://db/app")


def count():
    session = orm.Session()  # expect: PS102
    session.bind = engine
    return session.execute(text("SELECT count(*) FROM t")).scalar()
""", note="a bind given after the fact: the session checks a connection out"),
]

VALID += [
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker


def open_registry(url):
    registry = scoped_session(sessionmaker())
    registry.configure(bind=create_engine(url))
    return registry


def open_session(url):
    registry = scoped_session(sessionmaker())
    registry.configure(bind=create_engine(url))
    return registry()
""", note="a SQLAlchemy session connects on its first statement: `configure()` raising "
          "before any use leaves nothing checked out, and the registry (or its session) "
          "is then handed to the caller"),
    Case("""
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


def store(items, prepare):
    db = SessionLocal()
    prepare(items)
    db.add_all(items)
    try:
        db.commit()
    finally:
        db.close()
""", note="`prepare()` and `add_all()` run before the session's first statement (add "
          "sends nothing): an error there holds no connection; from the commit on, "
          "`finally` closes it"),

]

# A connection handed on on success (returned or stored) and leaked when a statement
# between the checkout and the hand-off raises: the fix gives it back on that failure
# only (`except BaseException: <release>; raise`), where nothing else sees it there.
INVALID += [
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, "dbname=app")


def tagged_connection(tag):
    conn = pool.getconn()  # expect: PS102
    with conn.cursor() as cur:
        cur.execute("SET application_name = %s", (tag,))
    conn.commit()
    return conn
""", note="a failed SET or commit leaves the connection checked out; on success the "
          "caller gets it (the fix gives it back on failure only)"),
    Case("""
import psycopg2
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, "dbname=app")


def checked_connection():
    try:
        conn = pool.getconn()  # expect: PS102
        conn.cursor().execute("SELECT 1")
        return conn
    except psycopg2.Error:
        conn.rollback()
        raise
""", note="the handler rolls the connection back and re-raises: it is never given back",
         unfixable="`conn` is returned"),
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, "dbname=app")


def maybe_connection(probe):
    conn = pool.getconn()  # expect: PS102
    conn.cursor().execute("SELECT 1")
    if not probe():
        return None
    return conn
""", note="the early return drops the connection, and a failed SELECT leaks it too",
         unfixable="`conn` is returned"),
]

VALID += [
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, "dbname=app")


def tagged_connection(tag):
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("SET application_name = %s", (tag,))
        conn.commit()
    except BaseException:
        pool.putconn(conn)
        raise
    return conn
""", note="given back when the statements before the hand-off raise, handed to the "
          "caller on success: nothing leaks"),
]

# A class that gives its connection back in `__exit__` after a call that may raise: the
# fix puts the statements before the release in `try:` and the release in `finally:`,
# only where none of them leaves the method first.
INVALID += [
    Case(_PG_POOL + """
class Unit:
    def __enter__(self):
        self.conn = pool.getconn()  # expect: PS102
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.conn.rollback()
            return False
        self.conn.commit()
        pool.putconn(self.conn)
""", note="the failure path returns before the release, and a failed commit skips it too",
         unfixable="the release is in `Unit.__exit__`: change it there by hand"),
]

VALID += [
    Case(_PG_POOL + """
class Unit:
    def __enter__(self):
        self.conn = pool.getconn()
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            pool.putconn(self.conn)
""", note="__exit__ gives the connection back in a `finally`, whatever the commit does"),
]

# asyncpg's `is_closed()` is a liveness test like mysql.connector's `is_connected()`:
# a direct connection that is closed holds nothing on the server, so a close guarded
# by it releases what is held; a pool's connection still needs `release()`.
VALID += [
    Case("""
import asyncio

import asyncpg


async def open_listener(dsn):
    if not dsn.startswith("postgresql"):
        return None
    return await asyncpg.connect(dsn)


async def follow_changes(dsn, on_change):
    while True:
        conn = None
        try:
            conn = await open_listener(dsn)
            if conn is None:
                return
            await conn.add_listener("changes", on_change)
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            break
        except Exception as exc:
            print("listener failed, retrying:", exc)
            await asyncio.sleep(5)
        finally:
            if conn and not conn.is_closed():
                await conn.close()
""", note="a dedicated direct connection per attempt, closed unless it is closed already"),
]

INVALID += [
    Case("""
import asyncpg

pool = None


async def startup(dsn):
    global pool
    pool = await asyncpg.create_pool(dsn)


async def count_jobs():
    conn = await pool.acquire()  # expect: PS102
    try:
        return await conn.fetchval("SELECT count(*) FROM jobs")
    finally:
        if not conn.is_closed():
            await pool.release(conn)
""", note="a pool's connection that closed still holds its pool slot until release()",
         unfixable="the release of `conn` runs only `if not conn.is_closed()`: the fix "
                   "would have to drop that guard; decide by hand"),
]

# `with a, b:` enters `a` before it evaluates `b`: an error building `b` passes
# through a's exit, which closes the session.
VALID += [
    Case("""
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_pre_ping=True)
Session = async_sessionmaker(engine)


def begin_locked(session, nowait):
    return session.begin()


@asynccontextmanager
async def maintenance_session(nowait=False):
    session = Session()
    async with (
        session,
        begin_locked(session, nowait),
    ):
        yield session
""", note="the session is entered first; building the transaction's context comes after"),
]

INVALID += [
    Case("""
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_pre_ping=True)
Session = async_sessionmaker(engine)


def begin_locked(session, nowait):
    return session.begin()


async def purge(nowait=False):
    session = Session()  # expect: PS102
    async with begin_locked(session, nowait), session:
        await session.execute("DELETE FROM runs WHERE done")
""", note="the other order: the helper runs before the session is entered"),
]

# stop 41: the user's own release through a pool getter, and a release helper that
# also takes the cursor made right after the checkout
INVALID += [
    Case("""
from psycopg2.pool import ThreadedConnectionPool

_shared = None


def shared_pool():
    global _shared
    if _shared is None:
        _shared = ThreadedConnectionPool(1, 4, dsn="dbname=app")
    return _shared


def price_of(sku):
    conn = shared_pool().getconn()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT price FROM items WHERE sku = %s", (sku,))
    row = cur.fetchone()
    shared_pool().putconn(conn)
    return row
""", note="the release finds the pool again through the getter the checkout used: the "
          "fix moves that statement whole into the finally"),
    Case(_PG_POOL + """

def release_both(conn, cur):
    cur.close()
    pool.putconn(conn)


def names():
    conn = pool.getconn()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT name FROM people")
    rows = cur.fetchall()
    release_both(conn, cur)
    return rows
""", note="the release helper takes the cursor too; psycopg2 makes it without a round "
          "trip, so the try starts after it and the finally never meets it unbound"),
]

# issue 31, large code bases: a late "bind" that binds nothing
VALID += [
    Case("""
from sqlalchemy.orm import Session


def pending_children(obj):
    session = Session()
    session.add(obj)
    found = list(session.new)
    session.expunge_all()
    return found
""", files={"routing.py": """
class RoutedSessionState:
    def __init__(self):
        self.bind = None
        self.primary = True
"""}, note="`self.bind = None` elsewhere in the project gives nothing a bind: the "
           "Session() bound to nothing still runs no SQL"),
]

INVALID += [
    Case("""
from sqlalchemy.orm import Session


def pending_children(obj):
    session = Session()  # expect: PS102
    session.add(obj)
    found = list(session.new)
    session.expunge_all()
    return found
""", files={"routing.py": """
from sqlalchemy import create_engine


class RoutedSessionState:
    def __init__(self, url):
        self.bind = create_engine(url)
"""}, note="the project binds something later (an engine): the unbound session may connect"),
]

_DI_SESSIONS = """\
from dependency_injector import containers, providers
from dependency_injector.wiring import Provide, inject
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://db/app")
SessionLocal = sessionmaker(bind=engine)
"""

INVALID += [
    Case(_DI_SESSIONS + """

class UserRepository:
    def __init__(self, session):
        self.session = session

    def count(self):
        return self.session.execute(text("select count(*) from users")).scalar()


class Container(containers.DeclarativeContainer):
    session = providers.Factory(SessionLocal)  # expect: PS102
    users = providers.Factory(UserRepository, session=session)


@inject
def count_users(users: UserRepository = Provide[Container.users]):
    return users.count()
""", unfixable="not inside a function",
    note="a dependency-injector Factory of a sessionmaker makes a new session per "
           "injection; the repository that receives it never closes it"),
    Case(_DI_SESSIONS + """

class Container(containers.DeclarativeContainer):
    session = providers.Factory(Session, bind=engine)  # expect: PS102


@inject
def count_users(session: Session = Provide[Container.session]):
    return session.execute(text("select count(*) from users")).scalar()
""", unfixable="not inside a function",
    note="Factory(Session, bind=engine) injected straight into a function that never "
           "closes it"),
]

VALID += [
    Case(_DI_SESSIONS + """

def get_session():
    session = SessionLocal()
    try:
        yield session
    finally:
        session.close()


class Container(containers.DeclarativeContainer):
    session = providers.Resource(get_session)


@inject
def count_users(session: Session = Provide[Container.session]):
    return session.execute(text("select count(*) from users")).scalar()
""", note="a Resource generator closes the session at shutdown_resources()"),
    Case(_DI_SESSIONS + """
from sqlalchemy.orm import scoped_session

registry = scoped_session(SessionLocal)


class Container(containers.DeclarativeContainer):
    session = providers.ThreadLocalSingleton(registry)


@inject
def count_users(session=Provide[Container.session]):
    return session.execute(text("select count(*) from users")).scalar()


def teardown(exc=None):
    registry.remove()
""", note="a thread-local singleton of a scoped_session, removed at teardown"),
    Case(_DI_SESSIONS + """

class Container(containers.DeclarativeContainer):
    session = providers.Factory(SessionLocal)


@inject
def count_users(session: Session = Provide[Container.session]):
    with session:
        return session.execute(text("select count(*) from users")).scalar()


@inject
def add_user(name, session: Session = Provide[Container.session]):
    try:
        session.execute(text("insert into users(name) values (:n)"), {"n": name})
        session.commit()
    finally:
        session.close()
""", note="every consumer of the Factory closes its session (with, finally)"),
    Case(_DI_SESSIONS + """

class UnitOfWork:
    def __init__(self, session):
        self.session = session

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.session.close()


class Container(containers.DeclarativeContainer):
    session = providers.Factory(SessionLocal)
    uow = providers.Factory(UnitOfWork, session=session)


@inject
def count_users(uow: UnitOfWork = Provide[Container.uow]):
    with uow:
        return uow.session.execute(text("select count(*) from users")).scalar()
""", note="the session goes to a unit of work that closes it in __exit__"),
]

INVALID += [
    Case("""
from dependency_injector.containers import DeclarativeContainer
from dependency_injector.providers import Factory

from app.db import Session
from app.repository import Repository


class Container(DeclarativeContainer):
    session_creator = Factory(Session)  # expect: PS102
    repository = Factory(Repository, session=session_creator)
""", path="app/containers.py", files={
        "app/__init__.py": "",
        "app/db.py": """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://db/app"))
""",
        "app/repository.py": """
class Repository:
    def __init__(self, session):
        self.session = session

    def list(self, model):
        return self.session.query(model).all()
""",
        "app/services.py": """
from dependency_injector.wiring import Provide, inject

from app.containers import Container


@inject
def all_users(model, repository=Provide[Container.repository]):
    return repository.list(model)
"""}, unfixable="not inside a function",
    note="the container, the sessionmaker, the repository and the injected function in "
              "four modules: the function that takes the repository never closes its session"),
]

# round 11 (issue 31): a session whose only work is inside `with session.begin():`.
# The block's exit commits (or, on an exception, rolls back) and the session gives its
# connection back to the pool, so an exception raised in the block leaves nothing
# checked out, even though the `close()` after it is skipped. Work before the block
# or after it (the session connects again) keeps it reported.
_BEGIN_ONLY = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = sessionmaker(bind=engine)
"""
VALID += [
    Case(_BEGIN_ONLY + """

def fetch_all(query):
    session = Session()
    with session.begin():
        rows = session.execute(query).fetchall()
    session.close()
    return rows
""", note="the only work is in `with session.begin():`: its exit gives the connection "
          "back, on an exception too"),
    Case("""
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

Session = async_sessionmaker(create_async_engine("postgresql+asyncpg://app@db/app",
                                                  pool_pre_ping=True))


async def add_order(order):
    session = Session()
    async with session.begin():
        session.add(order)
        await session.flush()
    await session.close()
""", note="`async with session.begin():` likewise"),
]
INVALID += [
    Case(_BEGIN_ONLY + """

def fetch_twice(query):
    session = Session()  # expect: PS102
    with session.begin():
        session.execute(query)
    rows = session.execute(query).fetchall()
    session.close()
    return rows
""", note="work after the block connects again: an exception there leaves the "
          "session's new connection checked out"),
    Case(_BEGIN_ONLY + """

def fetch_on_connection(query):
    session = Session()  # expect: PS102
    conn = session.connection()
    with session.begin_nested():
        rows = conn.execute(query).fetchall()
    session.close()
    return rows
""", note="the session connected before the block (`session.connection()`): a savepoint "
          "block's exit does not give that connection back"),
]

# round 13 (issue 31, large44's class): a session that nothing in the function works on
# holds no connection. A session among a helper's results is as idle as one it returns
# alone; setting an attribute on it, or handing it to a project function that only keeps
# it (stores it, or leaves it to a nested callback it registers), sends nothing.
_KEEP_ONLY = """\
import sqlalchemy
from sqlalchemy.orm import scoped_session, sessionmaker

import hooks


def _install_router(registry, db_session, read_only_engine):
    def route_reads(handler):
        def wrapped(request):
            session = db_session()
            session.bind = read_only_engine if request.method == "GET" else session.bind
            return handler(request)
        return wrapped
    setattr(hooks, "route_reads", route_reads)
    registry.append("hooks.route_reads")
"""
VALID += [
    Case(_KEEP_ONLY + """

def make_session(registry, url, replica_url, **options):
    engine = sqlalchemy.create_engine(url, pool_pre_ping=True, **options)
    db_session = scoped_session(sessionmaker(bind=engine))
    replica = sqlalchemy.create_engine(replica_url, pool_pre_ping=True, **options)
    _install_router(registry, db_session, replica)
    db_session.replica_bind = replica
    engine.dialect.initialize_names = True
    return db_session
""", files={"hooks.py": ""}, note="the registry is only made, handed to a helper that "
          "registers a callback reading it later, given an attribute and returned: nothing "
          "connects"),
    Case("""
from pathlib import Path

from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session, sessionmaker


def open_catalog(url):
    engine = create_engine(url, pool_pre_ping=True)
    session = sessionmaker(bind=engine)()
    return session, MetaData(), engine


def create_catalog(url, schema_file):
    session, metadata, engine = open_catalog(url)
    metadata.info["schema"] = Path(schema_file).read_text()
    metadata.create_all(engine)
    return session, metadata, engine
""", note="the session among the helper's results is never worked on here: an exception "
          "from the schema file or create_all leaves nothing checked out"),
]
INVALID += [
    Case(_KEEP_ONLY + """

def _warm(db_session):
    db_session.execute(sqlalchemy.text("SELECT 1"))


def make_session(registry, url, **options):
    engine = sqlalchemy.create_engine(url, pool_pre_ping=True, **options)
    db_session = scoped_session(sessionmaker(bind=engine))  # expect: PS102
    _warm(db_session)
    _install_router(registry, db_session, engine)
    return db_session
""", files={"hooks.py": ""}, note="`_warm` runs a statement on the registry's session: it "
          "holds a connection when `_install_router` raises"),
    Case("""
from pathlib import Path

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.orm import sessionmaker


def open_catalog(url):
    engine = create_engine(url, pool_pre_ping=True)
    session = sessionmaker(bind=engine)()
    return session, MetaData(), engine


def create_catalog(url, schema_file):
    session, metadata, engine = open_catalog(url)  # expect: PS102
    session.execute(text("SET search_path TO catalog"))
    metadata.info["schema"] = Path(schema_file).read_text()
    return session, metadata, engine
""", note="the session ran a statement: it holds a connection when reading the schema file "
          "raises"),
]

# round 13 (issue 31, large44's pyathena class): a SQLAlchemy dialect's reflection method
# gets a Connection from the Inspector and borrows its DBAPI connection; the Engine branch
# of the borrowing helper is not the method's own checkout.
_DIALECT = """\
from sqlalchemy.engine import Connection, Engine, reflection
from sqlalchemy.engine.default import DefaultDialect
"""
_BORROW = """
    def _raw(self, connection: Engine | Connection):
        if isinstance(connection, Engine):
            return connection.raw_connection()
        return connection.connection
"""
VALID += [
    Case(_DIALECT + """

class LakeDialect(DefaultDialect):
    name = "lake"
""" + _BORROW + """
    @reflection.cache
    def get_schema_names(self, connection, **kw):
        raw = self._raw(connection)
        cursor = raw.cursor()
        cursor.execute("SHOW SCHEMAS")
        names = [row[0] for row in cursor.fetchall()]
        cursor.close()
        return names
""", note="the Inspector passes a Connection it owns; the dialect borrows its DBAPI "
          "connection and has nothing of its own to give back"),
]
INVALID += [
    Case(_DIALECT + """

class LakeCatalog:
""" + _BORROW + """    def schema_names(self, connection):
        raw = self._raw(connection)  # expect: PS102
        cursor = raw.cursor()
        cursor.execute("SHOW SCHEMAS")
        names = [row[0] for row in cursor.fetchall()]
        cursor.close()
        return names
""", note="not a dialect: a caller may hand an Engine, and the raw connection it checks "
          "out is never given back"),
    Case(_DIALECT + """

class LakeDialect(DefaultDialect):
    name = "lake"
""" + _BORROW + """
    def __init__(self, admin_engine: Engine, **kw):
        super().__init__(**kw)
        self.admin_engine = admin_engine

    def get_schema_names(self, connection, **kw):
        raw = self._raw(self.admin_engine)  # expect: PS102
        cursor = raw.cursor()
        cursor.execute("SHOW SCHEMAS")
        names = [row[0] for row in cursor.fetchall()]
        cursor.close()
        return names
""", note="the dialect checks out from an engine of its own, not from the Connection it "
          "was handed"),
]

# round 13 (tune: psqlgraph): a library call that only registers a listener on the session
VALID += [
    Case("""
from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = sessionmaker(bind=engine, expire_on_commit=False)


def _stamp(session, context, instances):
    session.info["flushes"] = session.info.get("flushes", 0) + 1


def new_session(label):
    session = Session()
    session.info["label"] = label.strip()
    event.listen(session, "before_flush", _stamp)
    session.stamped = True
    return session
""", note="configured (info, an attribute, a flush listener) and returned: nothing connects"),
]
INVALID += [
    Case("""
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = sessionmaker(bind=engine, expire_on_commit=False)


def _stamp(session, context, instances):
    session.info["flushes"] = session.info.get("flushes", 0) + 1


def new_session(label):
    session = Session()  # expect: PS102
    session.execute(text("SET application_name = 'worker'"))
    event.listen(session, "before_flush", _stamp)
    session.info["label"] = label.strip()
    return session
""", note="the SET connected the session: an exception from `label.strip()` leaves its "
          "connection checked out"),
]

# round 13 (large44's evadb class): `commit()` of a session on which the function never
# queued anything has nothing to write and checks nothing out
_EMPTY_COMMIT = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = sessionmaker(bind=engine)
"""
VALID += [
    Case(_EMPTY_COMMIT + """

def create_tables(metadata):
    session = Session()
    metadata.create_all(engine)
    session.commit()
    metadata.reflect(engine)
    session.close()
    return sorted(metadata.tables)
""", note="the session never ran or queued anything: its commit ends an empty transaction "
          "and an exception from reflect() leaves nothing checked out"),
]
INVALID += [
    Case(_EMPTY_COMMIT + """

def create_tables(metadata, marker):
    session = Session()  # expect: PS102
    metadata.create_all(engine)
    session.add(marker)
    session.flush()
    metadata.reflect(engine)
    session.commit()
    session.close()
    return sorted(metadata.tables)
""", note="the flush of the queued marker checks a connection out and begins a "
          "transaction; an exception from reflect() leaves both until collection"),
]

# A direct connection (`psycopg2.connect()`, no pool) that a context-manager class
# opens and closes in `__exit__` after a commit outside a `finally`: a failed commit
# (a deferred constraint, a serialization failure) leaves a live connection that
# nothing closes. A guard on its state is no gap: a dead direct connection holds nothing.
INVALID += [
    Case("""
import psycopg2

class Booking:
    def __init__(self):
        self.conn = psycopg2.connect("dbname=app")  # expect: PS102
        self.cur = self.conn.cursor()

    def __enter__(self):
        return self.cur

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.conn.commit()
        self.cur.close()
        self.conn.close()
""", note="a failed commit in __exit__ skips the close of a direct connection"),
]

VALID += [
    Case("""
import psycopg2

class Booking:
    def __init__(self):
        self.conn = psycopg2.connect("dbname=app")
        self.cur = self.conn.cursor()

    def __enter__(self):
        return self.cur

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.conn.commit()
            self.cur.close()
        finally:
            self.conn.close()
""", note="the close is in a finally: it runs whatever the commit does"),
    Case("""
import psycopg2

class Booking:
    def __init__(self):
        self.conn = psycopg2.connect("dbname=app")

    def __exit__(self, exc_type, exc, tb):
        self.conn.close()
        if exc_type is None:
            print("done")
""", note="nothing that may raise runs before the close"),
]

# Issue 31 round 16 (corpus15's tune half): a handler that builds its query between the
# connect and the `try`. `list.append` cannot raise, nor can `"sep".join(parts)` when the
# function's own list holds only strings; anything else between them still can.
_SEARCH_BASE = """\
import pymysql
from flask import Flask, jsonify, request

app = Flask(__name__)


def connect():
    return pymysql.connect(host="db", user="app", password="pw", database="shop")
"""

VALID += [
    Case(_SEARCH_BASE + """

@app.route("/books")
def search_books():
    title = request.args.get("title")
    author = request.args.get("author")
    conn = connect()
    cursor = conn.cursor()
    query = "SELECT isbn, title FROM books b JOIN authors a ON a.id = b.author_id WHERE 1 = 1"
    conditions = []
    params = []
    if title:
        conditions.append("b.title LIKE %s")
        params.append(f"%{title}%")
    if author:
        conditions.append("a.name = %s")
        params.append(author)
    if conditions:
        query += " AND " + " AND ".join(conditions)
    try:
        cursor.execute(query, tuple(params))
        return jsonify(cursor.fetchall())
    finally:
        cursor.close()
        conn.close()
""", note="only appends to the function's own lists and a join of its string conditions run "
          "between the connect and the `try`: none can raise"),
]

INVALID += [
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case(_SEARCH_BASE + """

@app.route("/books")
def search_books():
    conn = connect()  # expect: PS102
    cursor = conn.cursor()
    conditions = []
    for key, value in request.args.items():
        conditions.append(key + " = %s")
    query = "SELECT isbn FROM books WHERE " + " AND ".join(conditions)
    try:
        cursor.execute(query, tuple(request.args.values()))
        return jsonify(cursor.fetchall())
    finally:
        conn.close()
""", note="`request.args.items()` runs between the connect and the `try` (a call that may "
          "raise); the appends and the join alone would not", files=_STRICT),
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case(_SEARCH_BASE + """

@app.route("/books")
def search_books():
    conn = connect()  # expect: PS102
    cursor = conn.cursor()
    ids = []
    for raw in request.args.getlist("id"):
        ids.append(int(raw))
    query = "SELECT isbn FROM books WHERE id IN (" + ", ".join(ids) + ")"
    try:
        cursor.execute(query)
        return jsonify(cursor.fetchall())
    finally:
        conn.close()
""", note="`int(raw)` may raise before the `try`, and the join of integers raises TypeError: "
          "the list does not hold only strings", files=_STRICT),
    # with `direct-connections = "strict"` only: an exception-only gap of a local direct
    # connection (policy49), kept here for the flow and fix mechanics it shows
    Case(_SEARCH_BASE + """

def add_filters(conditions):
    conditions.append(42)


@app.route("/books")
def search_books():
    conn = connect()  # expect: PS102
    cursor = conn.cursor()
    conditions = ["1 = 1"]
    add_filters(conditions)
    query = "SELECT isbn FROM books WHERE " + " AND ".join(conditions)
    try:
        cursor.execute(query)
        return jsonify(cursor.fetchall())
    finally:
        conn.close()
""", note="the list is handed to another function, which may add anything: the join may "
          "raise (and so may the call)", files=_STRICT),
]

# Issue 31, round 17 (large48, held out: idemkit's LISTEN connection): asyncpg's local
# callback registrations do no I/O and cannot fail between the checkout and its keeper.
_KEPT_LISTENER = '''
import asyncpg


class Waiter:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool
        self._listen_conn = None

    def _on_message(self, connection, pid, channel, payload):
        pass

    def _on_terminated(self, connection):
        self._listen_conn = None

    async def ensure_listener(self):
        conn = await self._pool.acquire(){mark}
        try:
            await conn.add_listener("done", self._on_message)
        except Exception:
            await self._pool.release(conn)
            raise
        {between}
        self._listen_conn = conn
'''

VALID += [
    Case(_KEPT_LISTENER.format(
        mark="", between="conn.add_termination_listener(self._on_terminated)"),
         note="a dedicated LISTEN connection kept on the instance; the only call between the "
              "guarded LISTEN and the keeper registers a local callback and cannot fail"),
]

INVALID += [
    Case(_KEPT_LISTENER.format(mark="  # expect: PS102",
                               between='await conn.execute("SET application_name = \'waiter\'")'),
         note="a statement between the guarded LISTEN and the keeper: if it fails the "
              "checkout is lost",
         unfixable="`conn` is stored"),
]

# Issue 31, round 17 (large48; large46's held-out class, cndb): an ownership flag set from
# `session is None` before the session is made, and tested in the `finally`.
_OWNS_FLAG = '''
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def count_rows(session: Session | None = None) -> int:
    owns_session = session is None
    if owns_session:
        session = SessionLocal(){mark}
    try:
        return session.execute(text("SELECT count(*) FROM t")).scalar()
    finally:
        if {test}:
            session.close()
'''

VALID += [
    Case(_OWNS_FLAG.format(mark="", test="owns_session"),
         note="the session is made only where the flag is true, and closed where it is"),
]

INVALID += [
    Case(_OWNS_FLAG.format(mark="  # expect: PS102", test="not owns_session"),
         note="the close tests the flag the wrong way round: the session it made is never "
              "closed",
         unfixable="nothing uses `session` after the checkout"),
]

# policy49 (issue 31): a direct synchronous driver connection that only an exception
# skips, held in a local it cannot outlive, is closed by reference counting as the
# frame unwinds (PS102's "Direct connections"); what can outlive the call still is
INVALID += [
    Case("""
import time

import psycopg2


def mark_shipped(order_ids):
    db = psycopg2.connect("dbname=shop")  # expect: PS102
    cur = db.cursor()
    for attempt in range(5):
        try:
            cur.execute("UPDATE orders SET shipped = true WHERE id = ANY(%s)", (order_ids,))
            db.commit()
            break
        except psycopg2.OperationalError:
            time.sleep(attempt)
    db.close()
""", note="a retry loop catches the error and sleeps holding the same connection, which "
          "an error may have left dead but open; any other error leaves without close()"),
    Case("""
import psycopg2


class Exporter:
    def export(self, table):
        link = psycopg2.connect("dbname=warehouse")  # expect: PS102
        self.cursor = link.cursor()
        self.cursor.execute("SELECT * FROM " + table)
        self.rows = self.cursor.fetchall()
        link.close()
""", note="the cursor, which keeps its connection, is stored on the object: an error in "
          "execute() leaves the connection open as long as the exporter lives"),
    Case("""
import psycopg2


def open_reporting():
    handle = psycopg2.connect("dbname=reports")  # expect: PS102
    handle.cursor().execute("SET search_path TO reporting")
    return handle
""", files=_STRICT, note="returned on the normal path: the error path of the SET leaves the "
          "connection to a traceback the caller may keep (strict policy only; by default "
          "left to reference counting like any local direct connection)"),
    Case("""
import psycopg2

OPEN = []


def remember(conn):
    OPEN.append(conn)


def vacuum(table):
    c = psycopg2.connect("dbname=ops")  # expect: PS102
    remember(c)
    c.cursor().execute("VACUUM " + table)
    c.close()
""", note="a project function keeps the connection in a module list"),
    Case("""
import psycopg2


def stream_ids():
    pg = psycopg2.connect("dbname=ops")  # expect: PS102
    cur = pg.cursor()
    cur.execute("SELECT id FROM jobs")
    for (job_id,) in cur:
        yield job_id
    pg.close()
""", note="a generator: a consumer that stops early keeps it suspended, connection open"),
    Case("""
import asyncpg


async def count_jobs():
    conn = await asyncpg.connect("postgresql://ops@db/ops")  # expect: PS102
    total = await conn.fetchval("SELECT count(*) FROM jobs")
    await conn.close()
    return total
""", note="asyncpg's own connection: collected unclosed, it warns and may keep the socket"),
    Case(DIRECT_EXCEPTION_ONLY.format(mark="  # expect: PS102"), files=_STRICT,
         note="`direct-connections = \"strict\"`: the exception-only gap is reported too"),
]

VALID += [
    Case(DIRECT_EXCEPTION_ONLY.format(mark=""),
         note="policy49: only an exception skips close(); the unwound frame's reference count "
              "closes the local direct connection"),
    Case("""
import pymysql


def product_count():
    conn = pymysql.connect(host="db", user="shop", database="shop")
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FROM products")
    (n,) = cur.fetchone()
    conn.close()
    return n
""", note="policy49: the pymysql twin (rows returned, not the connection)"),
    Case("""
import mysql.connector


def user_names():
    cnx = mysql.connector.connect(host="db", user="app", database="app")
    cursor = cnx.cursor()
    cursor.execute("SELECT name FROM users")
    names = [row[0] for row in cursor.fetchall()]
    cnx.close()
    return names
""", note="policy49: the mysql.connector twin (no pool arguments)"),
    Case("""
import psycopg2


def _execute(conn, sql):
    cur = conn.cursor()
    cur.execute(sql)
    return cur.rowcount


def purge_sessions():
    conn = psycopg2.connect("dbname=app")
    removed = _execute(conn, "DELETE FROM sessions WHERE expired")
    conn.commit()
    conn.close()
    return removed
""", note="policy49: a project helper that only uses the connection does not keep it"),
    Case("""
import psycopg2


def load_scores(lines):
    conn = psycopg2.connect("dbname=game")
    cur = conn.cursor()
    for line in lines:
        try:
            score = int(line)
        except ValueError:
            continue
        cur.execute("INSERT INTO scores VALUES (%s)", (score,))
    conn.commit()
    conn.close()
""", note="policy49: the handler goes on, but its `try` does no work on the connection"),
    Case("""
import psycopg2


def try_migrate(statements):
    conn = psycopg2.connect("dbname=app")
    cur = conn.cursor()
    for statement in statements:
        try:
            cur.execute(statement)
        except psycopg2.ProgrammingError:
            conn.close()
            raise
    conn.commit()
    conn.close()
""", note="policy49: the handler closes the connection and re-raises"),
]

# small50 (issue 31, corpus19): a local direct connection closed at the end of the
# `try`, whose `except` catches the error and leaves the function (a `return`, or the
# function's last `try` falling off its end): the frame ends with the return, as when
# the exception propagates, and reference counting closes the connection.
_CAUGHT_AND_LEFT = """
import pymysql
from flask import Flask, jsonify

app = Flask(__name__)


def get_db_connection():
    return pymysql.connect(host="db", user="shop", database="shop")


@app.route("/users")
def list_users():
    try:
        conn = {checkout}{mark}
        cur = conn.cursor()
        cur.execute("SELECT id, name FROM users")
        users = cur.fetchall()
        cur.close()
        conn.close()
        return jsonify(users)
    except Exception as e:
        {handler}
"""

_LAST_TRY = """
import mysql.connector
from mysql.connector import errorcode


def load_items(rows):
    try:
        cnx = mysql.connector.connect(host="db", user="app", database="shop"){mark}
        cursor = cnx.cursor()
        for row in rows:
            cursor.execute("INSERT IGNORE INTO item VALUES (%s, %s)", row)
        cnx.commit()
        cursor.close()
        cnx.close()
    except mysql.connector.Error as err:
        if err.errno == errorcode.ER_ACCESS_DENIED_ERROR:
            print("wrong user name or password")
        else:
            print(err)
{after}"""

VALID += [
    Case(_CAUGHT_AND_LEFT.format(checkout="get_db_connection()", mark="",
                                 handler='return jsonify({"error": str(e)}), 500'),
         note="the handler returns an error response: the frame ends and reference counting "
              "closes the project wrapper's direct connection"),
    Case(_CAUGHT_AND_LEFT.format(
        checkout='pymysql.connect(host="db", user="shop", database="shop")', mark="",
        handler='print("query failed", e)\n        return jsonify([]), 500'),
         note="the direct call itself, and a handler that logs before it returns"),
    Case(_LAST_TRY.format(mark="", after=""),
         note="the function's last `try`: its handler prints and falls off the end, which "
              "returns"),
]

INVALID += [
    Case(_CAUGHT_AND_LEFT.format(
        checkout="get_db_connection()", mark="  # expect: PS102",
        handler='return jsonify({"error": str(e)}), 500'),
         files=_STRICT, note="`direct-connections = \"strict\"`: the caught-and-left gap is "
                             "reported too"),
    Case("""
from flask import Flask, jsonify
from psycopg2.pool import ThreadedConnectionPool

app = Flask(__name__)
pool = ThreadedConnectionPool(1, 10, dsn="dbname=shop")


@app.route("/users")
def list_users():
    try:
        conn = pool.getconn()  # expect: PS102
        cur = conn.cursor()
        cur.execute("SELECT id, name FROM users")
        users = cur.fetchall()
        pool.putconn(conn)
        return jsonify(users)
    except Exception as e:
        return jsonify({"error": str(e)}), 500
""", note="a pool's checkout: the handler returns without putconn(), and the slot stays "
          "taken (no reference count gives it back)"),
    Case(_LAST_TRY.format(mark="  # expect: PS102",
                          after="    print(\"loaded\", len(rows))\n"),
         note="the `try` is not the function's last statement: the handler goes on past it "
              "holding a connection the error may have left open"),
]

# large49 (issue 31): bookkeeping that cannot raise between a checkout and the
# `try` whose `finally` releases it: OpenTelemetry span calls (the API must not
# raise) and asyncpg's local read of the server version stored at the handshake.
_SPAN_WINDOW = '''
from opentelemetry import trace
from sqlalchemy import create_engine, text

engine = create_engine("postgresql+psycopg2://app@db/app", pool_pre_ping=True)
tracer = trace.get_tracer(__name__)


def count_rows(table: str) -> int:
    with tracer.start_as_current_span("count_rows") as span:
        conn = engine.connect(){mark}
        span.set_attribute("db.table", table)
        {between}
        try:
            return conn.execute(text("SELECT count(*) FROM items")).scalar_one()
        finally:
            conn.close()
'''

_SERVER_VERSION = '''
import logging

import asyncpg

log = logging.getLogger(__name__)


class Store:
    async def open(self, dsn: str) -> None:
        conn = await asyncpg.connect(dsn){mark}
        {between}
        log.info("connected to PostgreSQL %s", version.major)
        self.conn = conn
'''

VALID += [
    Case(_SPAN_WINDOW.format(mark="",
                             between='trace.get_current_span().add_event("checked out")'),
         note="only span calls (OpenTelemetry's API does not raise) sit between the checkout "
              "and the try/finally that closes it"),
    Case(_SERVER_VERSION.format(mark="", between="version = conn.get_server_version()"),
         note="asyncpg's get_server_version() reads what the handshake stored: no round trip, "
              "nothing can fail before the connection is kept on the instance"),
]

INVALID += [
    Case(_SPAN_WINDOW.format(
        mark="  # expect: PS102",
        between='span.set_attribute("db.server", '
                'conn.execute(text("SHOW server_version")).scalar())'),
         note="the span attribute's value is a query: if it fails the connection is dropped "
              "before the try"),
    Case(_SERVER_VERSION.format(
        mark="  # expect: PS102",
        between='version = await conn.fetchval("SHOW server_version_num")'),
         note="a query between the connect and the keeper: if it fails the connection is "
              "dropped open"),
]

# A clock read between a pool checkout and the `try` whose `finally` gives the
# connection back (timing bookkeeping): `perf_counter()` cannot fail.
_TIMED_CHECKOUT = '''
import logging
import os
import time
from time import perf_counter

from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, "dbname=app")
log = logging.getLogger(__name__)


def order_total() -> int:
    conn = pool.getconn(){mark}
    started = perf_counter()
    {between}
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM orders")
            return cur.fetchone()[0]
    finally:
        pool.putconn(conn)
        log.info("order_total: %.1f ms", (perf_counter() - started) * 1000)
'''

VALID += [
    Case(_TIMED_CHECKOUT.format(mark="", between="wall = time.monotonic()"),
         note="only clock reads (perf_counter(), time.monotonic()) sit between the checkout "
              "and the try/finally that returns it"),
]

INVALID += [
    Case(_TIMED_CHECKOUT.format(mark="  # expect: PS102",
                                between='budget = float(os.environ["ORDER_BUDGET_MS"])'),
         note="an environment read between the checkout and the try can raise KeyError or "
              "ValueError: the connection is never given back"),
]

# An accessor that returns a connection the module made once (a name it never binds
# itself) lends it: every caller borrows the same connection and must not close it.
_SHARED_ACCESSOR = '''
import pymysql

from app.settings import DB

SHARED = pymysql.connect(host=DB["host"], user=DB["user"], database=DB["name"])


def shared_connection():
    if not SHARED.open:
        SHARED.ping(reconnect=True)
    return SHARED
'''

VALID += [
    Case("""
from app.db import shared_connection


def list_cars(owner):
    conn = shared_connection()
    cur = conn.cursor()
    cur.execute("SELECT plate FROM cars WHERE owner = %s", (owner,))
    return cur.fetchall()
""", files={"app/db.py": _SHARED_ACCESSOR, "app/settings.py": "DB = {}\n"},
         path="app/cars.py",
         note="the accessor returns the module's one connection, which it never binds "
              "itself: callers borrow it"),
]

INVALID += [
    Case("""
from app.db import fresh_connection


def list_cars(owner):
    conn = fresh_connection()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT plate FROM cars WHERE owner = %s", (owner,))
    return cur.fetchall()
""", files={"app/db.py": '''
import pymysql

from app.settings import DB


def fresh_connection():
    link = pymysql.connect(host=DB["host"], user=DB["user"], database=DB["name"])
    return link
''', "app/settings.py": "DB = {}\n"}, path="app/cars.py",
         note="the look-alike accessor connects on every call: each caller owns a "
              "connection it never closes"),
]

#: a set-up script whose tear-down step only the tests' fixtures run (breadth50)
_SETUP_SCRIPT = '''
from sqlalchemy import create_engine

admin_engine = create_engine("postgresql://postgres@localhost/postgres")


def setup_db(name):
    conn = admin_engine.connect()
    conn.execute("CREATE DATABASE %s" % name)
    conn.close()


def teardown_db(name):
    conn = admin_engine.connect()
    conn.execute("DROP DATABASE IF EXISTS %s" % name)
    conn.close()


if __name__ == "__main__":
    setup_db("polls")
    # teardown_db("polls")
'''

_SETUP_FIXTURE = '''
import pytest

from init_db import setup_db, teardown_db


@pytest.fixture(scope="session", autouse=True)
def database():
    setup_db("polls_test")
    yield
    teardown_db("polls_test")
'''

VALID += [
    Case(_SETUP_SCRIPT, path="init_db.py", files={"tests/conftest.py": _SETUP_FIXTURE},
         note="a script's tear-down step that only the tests' session fixture calls: "
              "it runs once per test process, never in production"),
]

INVALID += [
    Case(_SETUP_SCRIPT.replace(
        '''    conn = admin_engine.connect()
    conn.execute("DROP''', '''    conn = admin_engine.connect()  # expect: PS102
    conn.execute("DROP'''), path="init_db.py",
         files={"tests/conftest.py": _SETUP_FIXTURE, "app/reset.py": '''
from init_db import teardown_db


def reset(name):
    teardown_db(name)
'''},
         note="the same step, also called by a project module outside the tests: "
              "production code reaches it"),
    Case('''
from sqlalchemy import create_engine

admin_engine = create_engine("postgresql://postgres@localhost/postgres")


def teardown_db(name):
    conn = admin_engine.connect()  # expect: PS102
    conn.execute("DROP DATABASE IF EXISTS %s" % name)
    conn.close()
''', path="db_admin.py", files={"tests/conftest.py": '''
import pytest

from db_admin import teardown_db


@pytest.fixture(scope="session", autouse=True)
def database():
    yield
    teardown_db("polls_test")
'''}, note="a module with no `__main__` block is a library: code outside the project "
            "may call what only its tests call"),
]

# large50 (issue 31): the close in a `finally` runs inside an anyio/trio cancel scope
# (`with move_on_after(5, shield=True):`), which bounds how long the close may take;
# building and entering the scope raises nothing, so the close runs on every path.
_SHIELDED_CLOSE = '''
from contextlib import asynccontextmanager

from anyio import move_on_after
from psycopg import AsyncConnection


class Notifier:
    def __init__(self, conninfo):
        self.conninfo = conninfo

    @asynccontextmanager
    async def session(self):
        conn = await AsyncConnection.connect(self.conninfo){mark}
        try:
            yield conn
        finally:
            with move_on_after(3, shield=True):
{end}

    async def subscribe(self):
        async with self.session() as conn:
            await conn.execute("LISTEN events")
'''

VALID += [
    Case(_SHIELDED_CLOSE.format(mark="", end="                await conn.close()"),
         note="the close runs in a shielded cancel scope in the finally: closed on every "
              "path (the scope only bounds how long the close may take)"),
]

INVALID += [
    Case(_SHIELDED_CLOSE.format(mark="  # expect: PS102",
                                end='                await conn.execute("UNLISTEN *")\n'
                                    "                await conn.close()"),
         note="a query before the close inside the cancel scope: if it fails the close "
              "is skipped"),
]

# large50 (issue 31): a synchronization primitive built without arguments
# (`asyncio.Event()`, `threading.Lock()`) between a connect and its `try` is memory
# only and cannot fail: it opens no exceptional path.
_LISTENER = '''
import asyncio

import asyncpg


async def listen(dsn, state, stop):
    while not stop.is_set():
        conn = await asyncpg.connect(dsn)  {mark}
        state.connected = True
        terminated = {event}

        def on_termination(_conn):
            terminated.set()

        try:
            conn.add_termination_listener(on_termination)
            await terminated.wait()
        finally:
            await conn.close()
'''

VALID += [
    Case(_LISTENER.format(mark="", event="asyncio.Event()"),
         note="asyncio.Event() builds an unset event in memory: nothing between the connect "
              "and the try can raise"),
]

INVALID += [
    Case(_LISTENER.format(mark="# expect: PS102", event="asyncio.Semaphore(state.slots)"),
         note="a primitive built from a value may raise before the try (Semaphore raises "
              "ValueError on a negative count)",
         unfixable="`conn` is used by a nested function"),
]

# large50 (issue 31): `Base.query = db_session.query_property()` builds a class
# descriptor from the scoped_session registry; no session exists yet, nothing is
# checked out, so what raises after it drops nothing.
_LAZY_REGISTRY = '''
import os

from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

_loaded = {{}}


def load():
    engine = create_engine(os.environ["DATABASE_URL"])
    db_session = scoped_session(sessionmaker(bind=engine)){mark}
    Base = declarative_base()
    Base.query = db_session.{use}
    replica_url = os.environ["REPLICA_URL"]
    _loaded.update({{"db_session": db_session, "Base": Base, "replica": replica_url}})
    return _loaded
'''

VALID += [
    Case(_LAZY_REGISTRY.format(mark="", use="query_property()"),
         note="query_property() builds a descriptor: the registry has made no session, so "
              "the environment read that may raise after it drops nothing"),
]

INVALID += [
    Case(_LAZY_REGISTRY.format(mark="  # expect: PS102", use="query(Base).count()"),
         note="a query on the registry makes its session and checks a connection out "
              "before the environment read that may raise",
         unfixable="`db_session` is handed to `_loaded.update`"),
]

#: a project's pool module whose release function commits before it gives back
COMMITTING_RELEASE_DB = """
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def get_conn():
    return pool.getconn()


def release_conn(conn):
    conn.commit()
    pool.putconn(conn)
"""

# fix50: the project's release function also commits (`conn.commit()` then
# `pool.putconn(conn)`): moved into a `finally`, it would commit what a failed statement
# left half done, so the fix is unsafe (--unsafe-fixes only). A release function that only
# gives the connection back keeps the safe fix (tests/fix/test_fix_committing_release.py).
INVALID += [
    Case("""
from db import get_conn, release_conn


def transfer(a, b, amount):
    conn = get_conn()  # expect: PS102
    cur = conn.cursor()
    cur.execute("UPDATE acct SET bal = bal - %s WHERE id = %s", (amount, a))
    cur.execute("UPDATE acct SET bal = bal + %s WHERE id = %s", (amount, b))
    release_conn(conn)
""", files={"db.py": COMMITTING_RELEASE_DB},
         note="the release function commits before it gives the connection back"),
]

# A pool kept by a singleton class and reached through its classmethod accessor
# (`Registry.instance().connection()`): the classmethod's `cls` is the class, so
# `cls._shared = cls()` and `return cls._shared` hand out an instance whose method
# checks out of the pool (round 20, small51).
_SINGLETON_POOL = """
import pymysql
from dbutils.pooled_db import PooledDB


class Registry:
    _shared = None

    def __init__(self):
        self.pool = PooledDB(creator=pymysql, maxconnections=8, host="db", database="lib")

    @classmethod
    def instance(cls):
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def connection(self):
        return self.pool.connection()

"""

INVALID += [
    Case(_SINGLETON_POOL + """
def count_books(shelf):
    conn = Registry.instance().connection()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM book WHERE shelf = %s", (shelf,))
    total = cur.fetchone()[0]
    if not total:
        return 0
    conn.close()
    return total
""", note="a classmethod singleton accessor: the checkout is lost on the early return"),
    Case("""
import pymysql
from dbutils.pooled_db import PooledDB


class Registry:
    def __init__(self, size):
        self.pool = PooledDB(creator=pymysql, maxconnections=size, host="db", database="lib")

    @classmethod
    def default(cls):
        return cls(4)

    def connection(self):
        return self.pool.connection()


def shelf_names():
    conn = Registry.default().connection()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT name FROM shelf")
    return [row[0] for row in cur.fetchall()]
""", note="a classmethod constructor (`return cls(4)`): the checkout is never given back"),
]

VALID += [
    Case(_SINGLETON_POOL + """
def count_books(shelf):
    conn = Registry.instance().connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM book WHERE shelf = %s", (shelf,))
        return cur.fetchone()[0]
    finally:
        conn.close()
""", note="the singleton accessor's checkout is given back in a finally"),
    Case(_SINGLETON_POOL + """
def count_books(shelf):
    with Registry.instance().connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM book WHERE shelf = %s", (shelf,))
        return cur.fetchone()[0]
""", note="the singleton accessor's checkout used as a context manager (DBUtils gives it back)"),
]

# fix51: a project that pins SQLAlchemy below 1.4, whose Session is no context manager:
# the fix writes try/finally with close() instead of `with SessionLocal() as db:`
# (tests/fix/test_fix_fix51.py).
_SA13 = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))


def count_users():
{body}
'''

VALID += [
    Case(_SA13.format(body='''\
    db = SessionLocal()
    try:
        return db.execute("SELECT count(*) FROM users").scalar()
    finally:
        db.close()'''), files={"requirements.txt": "SQLAlchemy==1.3.24\n"},
         note="closed in finally, on a SQLAlchemy that has no `with Session`"),
]

INVALID += [
    Case(_SA13.format(body='''\
    db = SessionLocal()  # expect: PS102
    n = db.execute("SELECT count(*) FROM users").scalar()
    db.close()
    return n'''), files={"requirements.txt": "SQLAlchemy==1.3.24\npsycopg2==2.8.6\n"},
         note="SQLAlchemy 1.3 pinned: the fix closes in try/finally, not `with`"),
]

# fix51: a project's release function named in words the equivalence check does not know
# (`desconectar`, Spanish): found by what its body does, and set apart as the release, so
# the fix is safe (tests/fix/test_fix_fix51.py).
_DESCONECTAR_DB = '''\
from psycopg2 import pool

connection_pool = pool.SimpleConnectionPool(1, 10, dsn="dbname=app")


def conectar():
    return connection_pool.getconn()


def desconectar(conn):
    connection_pool.putconn(conn)
'''

VALID += [
    Case('''\
import db


def listar():
    conn = db.conectar()
    try:
        cur = conn.cursor()
        cur.execute("SELECT id, nombre FROM productos")
        return cur.fetchall()
    finally:
        db.desconectar(conn)
''', files={"db.py": _DESCONECTAR_DB}, note="given back in finally"),
]

INVALID += [
    Case('''\
import db


def listar():
    conn = db.conectar()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT id, nombre FROM productos")
    filas = cur.fetchall()
    db.desconectar(conn)
    return filas
''', files={"db.py": _DESCONECTAR_DB},
         note="the release `desconectar` is skipped when a statement raises"),
]

# small53b (issue 31, round 22b): the `psycopg2-pool` package (`psycopg2_pool`), whose pool
# holds what it hands out only weakly: a checkout lost on a normal path is reported like
# a psycopg2.pool one; one left only to an exception, in a local, is the direct-connection
# case (reference counting closes it and the pool forgets it), and `close()` ends it.
_PG2POOL = '''\
from psycopg2_pool import ThreadSafeConnectionPool

readings = ThreadSafeConnectionPool(minconn=1, maxconn=8, dsn="dbname=meters")
'''

VALID += [
    Case(_PG2POOL + '''

def meter_ok(meter_id):
    conn = readings.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM meters WHERE id = %s", (meter_id,))
        found = cur.fetchone() is not None
        readings.putconn(conn)
        return found
    except Exception:
        return False
''', note="given back on the normal path; the handler that returns leaves it in a local, "
          "which reference counting closes and the weakly holding pool forgets"),
    Case(_PG2POOL + '''

def last_reading(meter_id):
    conn = readings.getconn()
    cur = conn.cursor()
    cur.execute("SELECT value FROM readings WHERE meter = %s ORDER BY at DESC LIMIT 1",
                (meter_id,))
    row = cur.fetchone()
    conn.close()
    return row
''', note="closed: psycopg2-pool drops a closed connection from its in-use set once it "
          "is freed, so close() ends the checkout"),
]

INVALID += [
    Case(_PG2POOL + '''

def meter_values(meter_id):
    conn = readings.getconn()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT value FROM readings WHERE meter = %s", (meter_id,))
    values = [row[0] for row in cur.fetchall()]
    if not values:
        return None
    readings.putconn(conn)
    return values
''', note="the early return skips putconn(): psycopg2-pool's checkout is lost on a "
          "normal path"),
]

# Keyed checkouts (large53b, tune: sgr's engine connection): psycopg2's pools give a
# key's connection back on `getconn(key)` while it is checked out, so a connect-retry
# loop that checks out under the thread's identity on every attempt holds one
# connection, not one per attempt.
_KEYED_RETRY = '''\
import time
from threading import get_ident

import psycopg2
from psycopg2.pool import ThreadedConnectionPool


class ReportStore:
    def __init__(self, dsn):
        self.pool = ThreadedConnectionPool(1, 8, dsn)

    def thread_conn(self):
        tries = 0
        while True:
            try:
                conn = self.pool.getconn(KEY){mark}
                conn.autocommit = False
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                return conn
            except psycopg2.OperationalError:
                tries += 1
                if tries > 5:
                    raise
                time.sleep(2)

    def done(self, conn):
        self.pool.putconn(conn, KEY)
'''

VALID += [
    Case(_KEYED_RETRY.replace("KEY", "get_ident()").replace("{mark}", ""),
         note="a retry under the thread's key gets the same connection back; an "
              "exception leaves it in the pool under that key"),
    Case(_KEYED_RETRY.replace("KEY", '"reports"').replace("{mark}", ""),
         note="a literal key: the same connection on every attempt"),
]

INVALID += [
    Case(_KEYED_RETRY.replace("(KEY)", "()").replace(", KEY)", ")")
         .replace("{mark}", "  # expect: PS102"),
         note="without a key every attempt checks out another connection: the one "
              "the failed attempt held is overwritten",
         unfixable="`conn` is returned"),
    Case('''\
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 8, "dbname=shards")


def row_counts(shards):
    counts = {}
    for shard in shards:
        conn = pool.getconn(shard)  # expect: PS102
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM events")
        counts[shard] = cur.fetchone()[0]
    return counts
''', note="a key read from the loop variable names another connection on each pass: "
          "the previous shard's checkout is overwritten"),
]

# a factory that hands its connection out through the cursor it returns: the cursor
# holds the connection (`cursor.connection`), and the caller closes it there
_CURSOR_FACTORY = '''\
import psycopg2


def open_cursor():
    connection = psycopg2.connect("dbname=shop"){mark}
    {body}


def close_cursor(cursor):
    cursor.close()
    cursor.connection.close()
'''

VALID += [
    Case(_CURSOR_FACTORY.format(mark="", body="return connection.cursor()"),
         note="the returned cursor carries the connection out to the caller"),
    Case(_CURSOR_FACTORY.format(
        mark="", body="cur = connection.cursor()\n    cur.arraysize = 500\n    return cur"),
         note="a cursor name of the connection, returned"),
    Case(_CURSOR_FACTORY.format(mark="", body="return connection.cursor(), 30"),
         note="the cursor inside a returned tuple"),
]

INVALID += [
    Case(_CURSOR_FACTORY.format(mark="  # expect: PS102",
                                body="return connection.cursor().fetchone()"),
         note="look-alike: a row of the cursor is returned, the connection stays behind"),
    Case(_CURSOR_FACTORY.format(
        mark="  # expect: PS102",
        body="cur = connection.cursor()\n    cur.execute(\"SELECT 1\")\n    return cur.fetchall()"),
         note="look-alike: the rows of a cursor name are returned, not the cursor"),
    Case(_CURSOR_FACTORY.format(
        mark="  # expect: PS102",
        body="cur = connection.cursor()\n    cur.execute(\"SET search_path TO shop\")\n"
             "    return cur"),
         files=_STRICT,
         note="look-alike: the cursor is handed out on success, but a failed `execute()` "
              "before it leaves the connection open (strict policy only)"),
]

VALID += [
    Case('''\
import psycopg2


class Store:
    def __init__(self, dsn):
        conn = psycopg2.connect(dsn)
        self.cur = conn.cursor()

    def names(self):
        self.cur.execute("SELECT name FROM items")
        return self.cur.fetchall()
''', note="a cursor stored on the object keeps its connection with it"),
    Case('''\
import psycopg2

CURSORS = {}


def register(name, dsn):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    CURSORS[name] = cur
''', note="a cursor name of the connection stored in a module's registry"),
    Case('''\
import psycopg2


class Reader:
    def __init__(self, cursor):
        self.cursor = cursor


def reader(dsn):
    conn = psycopg2.connect(dsn)
    return Reader(conn.cursor())
''', note="a cursor handed to a constructor whose object is returned"),
]

# `close()` of asyncpg, psycopg 3's async connections and SQLAlchemy's AsyncSession /
# AsyncConnection is a coroutine function: on its own line without `await` it builds a
# coroutine that is dropped unrun, and nothing is closed (corpus23's tune half)
VALID += [
    Case('''\
import asyncio

import asyncpg


async def archive_day(dsn, day):
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO archive SELECT * FROM events WHERE day = $1", day)
    finally:
        asyncio.get_running_loop().create_task(conn.close())
''', note="the close coroutine is handed to a task, which runs it"),
    Case('''\
import aiomysql


async def latest_price(symbol):
    conn = await aiomysql.connect(host="db", user="quotes", db="market")
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT price FROM ticks WHERE symbol = %s", (symbol,))
            return await cur.fetchone()
    finally:
        conn.close()
''', note="aiomysql's close() is a plain method: without await it closes at once"),
]

INVALID += [
    Case('''\
import asyncpg


async def find_member(dsn, email):
    conn = await asyncpg.connect(dsn)  # expect: PS102
    try:
        return await conn.fetchrow("SELECT id, name FROM members WHERE email = $1", email)
    finally:
        conn.close()
''', note="asyncpg: `conn.close()` is not awaited, so the connection is never closed"),
    Case('''\
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/shop", pool_pre_ping=True)
Session = async_sessionmaker(engine)


async def open_orders():
    session = Session()  # expect: PS102
    try:
        result = await session.execute(text("SELECT count(*) FROM orders WHERE open"))
        return result.scalar_one()
    finally:
        session.close()
''', note="AsyncSession.close() is a coroutine function: the dropped call gives nothing back"),
]

# DBUtils' PooledDB connection gives itself back to its pool in `__del__`: held only in
# a local, an exception that unwinds the call returns it (the direct-connection policy)
VALID += [
    Case("""
import pymysql
from dbutils.pooled_db import PooledDB

pool = PooledDB(creator=pymysql, maxconnections=10, host="db", user="app", database="shop")


def list_markets():
    conn = pool.connection()
    cursor = conn.cursor()
    cursor.execute("SELECT id, name FROM market")
    rows = cursor.fetchall()
    cursor.close()
    conn.close()
    return rows
""", note="policy49: DBUtils PooledDB, only a failed execute skips the close; the proxy's "
          "__del__ gives the connection back as the frame unwinds"),
]

# a Streamlit page runs again from the top at every interaction: a function its top
# level calls runs once per interaction, not once per process (small54's held class)
_STREAMLIT_ORDERS = '''\
import psycopg2
import streamlit as st


def load_orders():
    conn = psycopg2.connect("dbname=shop"){mark}
    cur = conn.cursor()
    cur.execute("SELECT id, total FROM orders")
    return cur.fetchall()


{top}
'''

INVALID += [
    Case(_STREAMLIT_ORDERS.format(mark="  # expect: PS102",
                                  top='st.title("Orders")\nst.table(load_orders())'),
         note="a Streamlit page's call runs at every rerun: one connection left per interaction"),
    Case(_STREAMLIT_ORDERS.format(mark="  # expect: PS102",
                                  top='if st.button("Show"):\n    rows = load_orders()'),
         note="a page's call under a widget's test runs at every click"),
]

VALID += [
    Case(_STREAMLIT_ORDERS.format(mark="", top='if __name__ == "__main__":\n'
                                               '    print(load_orders())'),
         note="look-alike: a module that imports streamlit but calls none of it at its top "
              "level is no page; its `__main__` block runs once"),
]

# a handler that logs and goes on, on the way to the close every normal path makes: the
# exception that skips the close leaves the function, and the frame's end closes the
# local connection (only a retry loop's handler goes on holding it: PS102-invalid above)
VALID += [
    Case("""
import logging

import pymysql

log = logging.getLogger(__name__)


def record_visit(page):
    mysql_conn = pymysql.connect(host="db", user="web", database="stats")
    cur = mysql_conn.cursor()
    try:
        cur.execute("INSERT INTO visits (page) VALUES (%s)", (page,))
    except pymysql.IntegrityError:
        log.warning("duplicate visit %s", page)
    cur.execute("UPDATE pages SET hits = hits + 1 WHERE name = %s", (page,))
    mysql_conn.commit()
    mysql_conn.close()
""", note="policy49: the handler logs and goes on to the close; the second "
                  "execute() raising leaves the function, whose end closes the connection"),
]

# an accessor that hands the connection to an object its module made at the top level
# (a connection cache) before returning it: every caller borrows the one kept there
# (large54's held class, built after the measurement)
_KEPT_BY_CACHE = '''\
import logging

import psycopg2

log = logging.getLogger(__name__)


class Entry:
    def __init__(self, conn, key):
        self.conn = conn
        self.key = key


class ConnectionCache(dict):
    def keep(self, entry):
        self[entry.key] = entry


_connections = ConnectionCache()


def get_connection(key):
    if key in _connections:
        return _connections[key].conn
    conn = psycopg2.connect(dbname=key)
    {keep}
    return conn
'''

_CACHE_CALLER = '''\
from db import get_connection


def names():
    conn = get_connection("shop"){mark}
    cur = conn.cursor()
    cur.execute("SELECT name FROM items")
    return cur.fetchall()
'''

VALID += [
    Case(_CACHE_CALLER.format(mark=""),
         files={"db.py": _KEPT_BY_CACHE.format(keep="_connections.keep(Entry(conn, key))")},
         note="the accessor keeps the connection in the module's cache object"),
    Case(_CACHE_CALLER.format(mark=""),
         files={"db.py": _KEPT_BY_CACHE.format(
             keep="entry = Entry(conn, key)\n    _connections.keep(entry)")},
         note="the object built around it, through a local, goes to the cache"),
]

INVALID += [
    Case(_CACHE_CALLER.format(mark="  # expect: PS102"),
         files={"db.py": _KEPT_BY_CACHE.format(keep='log.info("opened %s", conn)')},
         note="look-alike: a module-level logger's method only logs the connection"),
]

# a session drawn from an async session generator with `__anext__()` / `anext()` and never
# closed: only the event loop's async-generator finalizer would run the generator's
# `async with` exit, after the generator object is collected (corpus25's tune class)
_ASYNC_SESSION_GEN = '''\
from aiogram import Router
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

router = Router()
engine = create_async_engine("postgresql+asyncpg://bot@db/bot", pool_pre_ping=True)
SessionLocal = async_sessionmaker(engine, class_=AsyncSession)


async def get_session():
    async with SessionLocal() as session:
        yield session
'''

_ANEXT_BY_HAND = (
    "the session comes from an async generator's `__anext__()`: no `async with` "
    "can take its place; close it in a `finally` (`await session.close()`) or "
    "close the generator (`await gen.aclose()`), by hand")

INVALID += [
    Case(_ASYNC_SESSION_GEN + '''

@router.message()
async def count(message):
    sessions = get_session()
    session = await sessions.__anext__()  # expect: PS102
    total = await session.scalar(text("SELECT count(*) FROM users"))
    await message.answer(str(total))
''', note="the generator object lives in a local; nothing closes it nor the session",
         unfixable=_ANEXT_BY_HAND),
    Case(_ASYNC_SESSION_GEN + '''

@router.message()
async def count(message):
    session = await anext(get_session())  # expect: PS102
    total = await session.scalar(text("SELECT count(*) FROM users"))
    await message.answer(str(total))
''', note="the builtin anext() on the generator, dropped at once",
         unfixable=_ANEXT_BY_HAND),
]

VALID += [
    Case(_ASYNC_SESSION_GEN + '''

@router.message()
async def count(message):
    sessions = get_session()
    session = await sessions.__anext__()
    try:
        total = await session.scalar(text("SELECT count(*) FROM users"))
    finally:
        await session.close()
    await message.answer(str(total))
''', note="look-alike: the drawn session is closed in a finally"),
    Case(_ASYNC_SESSION_GEN + '''

@router.message()
async def count(message):
    async for session in get_session():
        total = await session.scalar(text("SELECT count(*) FROM users"))
        await message.answer(str(total))
''', note="look-alike: `async for` runs the generator to its end, which closes the session"),
    Case(_ASYNC_SESSION_GEN + '''

@router.message()
async def count(message):
    gen = numbers()
    first = await gen.__anext__()
    await message.answer(str(first))


async def numbers():
    for n in range(3):
        yield n
''', note="look-alike: an async generator of plain values"),
]

# a checkout made only by code a FastAPI startup handler runs, in a method that shares
# its name with the library method it calls (`await conn.add_listener(...)` inside the
# project's own `add_listener`): the library's method is not a call of the project's,
# so the method still runs once per process (corpus25's tune class)
_STARTUP_LISTENER = '''\
import asyncpg
from fastapi import FastAPI

app = FastAPI()


def on_event(conn, pid, channel, payload):
    print(payload)


class Listener:
    pool = None

    def __init__(self):
        self.conns = []

    async def connect(self):
        self.pool = await asyncpg.create_pool("postgresql://app@db/app")

    async def add_listener(self, channel):
        conn = await self.pool.acquire(){mark}
        await conn.execute(f"LISTEN {{channel}}")
        await conn.add_listener(channel, on_event)
        self.conns.append(conn)


listener = Listener()


@app.on_event("startup")
async def start():
    await listener.connect()
    await listener.add_listener("users")
'''

VALID += [
    Case(_STARTUP_LISTENER.format(mark=""),
         note="a dedicated LISTEN connection taken at startup: an exception there stops "
              "the application from starting"),
]

INVALID += [
    Case(_STARTUP_LISTENER.format(mark="  # expect: PS102") + '''

@app.post("/channels/{name}")
async def subscribe(name: str):
    await listener.add_listener(name)
''', note="look-alike: a route calls the method too, once per request",
         unfixable="`conn` is handed to `self.conns.append`"),
]

# `sessionmaker(engine, class_=AsyncSession)`, the idiom before `async_sessionmaker`
# (corpus25's tune bot builds its sessions so): the sessions are async, and a bare
# `session.close()` builds a coroutine that never runs
_SYNC_MAKER_ASYNC_CLASS = '''\
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

app = FastAPI()
engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(engine, class_={cls}, expire_on_commit=False)


@app.get("/count")
async def count():
    session = SessionLocal(){mark}
    try:
        return await session.scalar(text("SELECT count(*) FROM users"))
    finally:
        {close}
'''

INVALID += [
    Case(_SYNC_MAKER_ASYNC_CLASS.format(cls="AsyncSession", mark="  # expect: PS102",
                                        close="session.close()").replace(
        '@app.get("/count")\n', ""),
         note="the sessions of `sessionmaker(class_=AsyncSession)` close with a coroutine "
              "(in a FastAPI route it is PS105's finding since round 31)"),
]

VALID += [
    Case(_SYNC_MAKER_ASYNC_CLASS.format(cls="AsyncSession", mark="",
                                        close="await session.close()"),
         note="look-alike: the close is awaited"),
    Case(_SYNC_MAKER_ASYNC_CLASS.format(cls="Session", mark="", close="session.close()"),
         note="look-alike: `class_=Session` makes sync sessions, whose close() is a call"),
]

# ---- a release guarded by `and` / `or` in an expression statement (round 29, breadth66)
# `ok and conn.close()` is `if ok: conn.close()`: where `ok` is false the connection
# stays open. Guards on the connection itself (`conn and conn.close()`, `conn.closed or
# conn.close()`) are the usual "close if still open" and stay quiet.
_GUARDED_RELEASE = '''\
import psycopg2


def report(dsn, {param}):
    conn = psycopg2.connect(dsn){mark}
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        {release}
'''

INVALID += [
    Case(_GUARDED_RELEASE.format(param="ok", mark="  # expect: PS102",
                                 release="ok and conn.close()"),
         note="the only release runs where `ok` is true",
         unfixable="a release of `conn` the fix cannot move into `finally`"),
    Case(_GUARDED_RELEASE.format(param="keep", mark="  # expect: PS102",
                                 release="keep or conn.close()"),
         note="the only release runs where `keep` is false",
         unfixable="a release of `conn` the fix cannot move into `finally`"),
    Case(_GUARDED_RELEASE.format(param="a, b", mark="  # expect: PS102",
                                 release="a and b and conn.close()"),
         note="a chain: the release runs where both are true",
         unfixable="a release of `conn` the fix cannot move into `finally`"),
]

VALID += [
    Case(_GUARDED_RELEASE.format(param="ok", mark="", release="conn and conn.close()"),
         note="look-alike: guarded on the connection itself"),
    Case(_GUARDED_RELEASE.format(param="ok", mark="",
                                 release="conn is not None and conn.close()"),
         note="look-alike: guarded on the connection being set"),
    Case(_GUARDED_RELEASE.format(param="ok", mark="", release="conn.closed or conn.close()"),
         note="look-alike: closed already, or closed here"),
    Case(_GUARDED_RELEASE.format(param="ok", mark="",
                                 release="ok and conn.commit()\n        conn.close()"),
         note="look-alike: only the commit is guarded; the close runs on every path"),
]

# ---- a local lambda that captures the connection (round 29, breadth66)
# `closer = lambda c=conn: c.close()` (a default) or `lambda: conn.close()` (a closure),
# bound once and only ever called here, takes nothing away from the function: calling
# it is the release, and a statement that raises before the call leaves the connection
# open. A lambda handed on (stored, passed, returned) still carries the connection away.
_LOCAL_CLOSER = '''\
import psycopg2
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=app")


def report(dsn, cleanups):
{body}
'''

INVALID += [
    Case(_LOCAL_CLOSER.format(body='''\
    conn = psycopg2.connect(dsn)  # expect: PS102
    closer = lambda c=conn: c.close()
    conn.cursor().execute("SELECT 1")
    closer()'''), note="a lambda default: the close runs only if the query did not raise",
         unfixable="`conn` is stored"),
    Case(_LOCAL_CLOSER.format(body='''\
    conn = psycopg2.connect(dsn)  # expect: PS102
    closer = lambda: conn.close()
    conn.cursor().execute("SELECT 1")
    closer()'''), note="a closure: the same", unfixable="`conn` is used by a nested function"),
    Case(_LOCAL_CLOSER.format(body='''\
    conn = psycopg2.connect(dsn)  # expect: PS102
    cursor_of = lambda c=conn: c.cursor()
    cursor_of().execute("SELECT 1")'''), note="a lambda default that only makes a cursor: "
                                              "nothing closes the connection",
         unfixable="`conn` is stored"),
    Case(_LOCAL_CLOSER.format(body='''\
    conn = pool.getconn()  # expect: PS102
    give = lambda c=conn: pool.putconn(c)
    conn.cursor().execute("SELECT 1")
    give()'''), note="a pool's checkout given back by a lambda default, after a query "
                     "that may raise", unfixable="`conn` is stored"),
]

VALID += [
    Case(_LOCAL_CLOSER.format(body='''\
    conn = psycopg2.connect(dsn)
    closer = lambda c=conn: c.close()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        closer()'''), note="look-alike: the closer runs in `finally`"),
    Case(_LOCAL_CLOSER.format(body='''\
    conn = psycopg2.connect(dsn)
    closer = lambda c=conn: c.close()
    cleanups.append(closer)
    conn.cursor().execute("SELECT 1")'''),
         note="look-alike: the closer is handed on; whoever runs the cleanups closes"),
    Case(_LOCAL_CLOSER.format(body='''\
    conn = pool.getconn()
    give = lambda c=conn: pool.putconn(c)
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        give()'''), note="look-alike: the pool's checkout given back in `finally`"),
]

# a project `@contextmanager` that closes the session in a `finally` around its `yield`
# closes it also when it fails before the `yield`: `with report_guard(session):` leaves
# no path with the session open (large66: a metrics loop's read-only transaction)
_ENTER_GUARD = """
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)


@contextmanager
def report_guard(session):
    try:
        session.execute(text("SET TRANSACTION READ ONLY"))
        yield
    except Exception:
        session.rollback()
    else:
        session.commit()
    finally:
        {release}


def report_rounds(queue):
    # (three rounds, not `while True`: tests/proof runs the fixed INVALID case)
    session = Session(bind=engine){mark}
    for _ in range(3):
        with report_guard(session):
            print(session.scalar(text("SELECT count(*) FROM metrics")), len(queue))
    session.close()
"""

VALID += [
    Case(_ENTER_GUARD.format(release="session.close()", mark=""),
         note="the guard's finally closes the session on every exit, its entry's included"),
]

INVALID += [
    Case(_ENTER_GUARD.format(release="session.expunge_all()", mark="  # expect: PS102"),
         note="look-alike: the guard's finally only expunges, and nothing closes the session"),
]

# round 30 (issue 31, prec68): a session used only inside the blocks of a project
# `@contextmanager` that closes it in the `finally` around its `yield`: a loop of no
# rounds leaves a session that never ran a statement (a SQLAlchemy `Session` checks out
# nothing until then), and each block's end closes it again. A statement on it before or
# after the blocks, a guard that closes only on request or that runs a statement before
# its `try`, and a pool's checkout (taken at once) keep the finding.
_CLOSING_GUARD = """
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = sessionmaker(bind=engine)


@contextmanager
def read_only_transaction(session, close=True):
{guard}


def process_work_queue(queue):
    session = Session(){mark}
{before}    for message in queue:
        with read_only_transaction(session):
            print(session.scalar(text("SELECT count(*) FROM annotation")), message)
{after}"""
_GUARD_FINALLY = """\
    try:
        session.execute(text("SET TRANSACTION READ ONLY"))
        yield
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()"""


_GUARD_UNFIXABLE = "a release of `session` the fix cannot move into `finally`"


def _closing_guard_case(mark: str, note: str, guard: str = _GUARD_FINALLY, before: str = "",
                        after: str = "") -> Case:
    return Case(_CLOSING_GUARD.format(guard=guard, mark=mark, before=before, after=after),
                note=note, unfixable=_GUARD_UNFIXABLE if mark else "")


VALID += [
    _closing_guard_case("", "the session is used only inside the guard's blocks, whose "
                            "finally closes it: a loop of no rounds leaves a session that "
                            "never checked out a connection"),
]

INVALID += [
    _closing_guard_case("  # expect: PS102", "look-alike: a statement before the loop checks "
                        "out a connection that an empty queue leaves held",
                        before='    session.execute(text("SET search_path TO app"))\n'),
    _closing_guard_case("  # expect: PS102", "look-alike: a statement after the loop checks "
                        "out a connection again, and nothing closes it",
                        after='    print(session.scalar(text("SELECT 1")))\n'),
    _closing_guard_case("  # expect: PS102", "look-alike: the guard closes only when asked "
                        "(`if close:`)", guard=_GUARD_FINALLY.replace(
                            "        session.close()", "        if close:\n"
                            "            session.close()")),
    _closing_guard_case("  # expect: PS102", "look-alike: the guard's statement before its "
                        "`try` may raise with the connection checked out",
                        guard='    session.execute(text("SET TRANSACTION READ ONLY"))\n'
                        + _GUARD_FINALLY.replace(
                            '        session.execute(text("SET TRANSACTION READ ONLY"))\n', "")),
]

# the same guard over a psycopg2 pool's checkout: `getconn()` takes the connection at
# once, so a loop of no rounds leaves it out of the pool
INVALID += [
    Case("""
from contextlib import contextmanager

from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, "dbname=app")


@contextmanager
def checked_in(conn):
    try:
        yield conn
        conn.commit()
    finally:
        pool.putconn(conn)


def process_work_queue(queue):
    conn = pool.getconn()  # expect: PS102
    for message in queue:
        with checked_in(conn):
            conn.cursor().execute("SELECT %s", (message,))
""", note="look-alike: a pool checkout is held from `getconn()` on, used or not",
         unfixable="a release of `conn` the fix cannot move into `finally`"),
]


# A session a method of the same class builds (`get_session()` returns a new
# `Session(self.engine)`) and the caller uses without naming it: inline, or handed to
# a function that only works on it (breadth68c, issue 33).
_STORE = """
from sqlmodel import Session, create_engine, select

from models import Order, Refund


class Ledger:
    @classmethod
    def record(cls, order_id, session):
{record}


class OrderStore:
    def __init__(self, url):
        self.engine = create_engine(url)
        self.session = Session(self.engine)

    def get_session(self):
        return Session(self.engine, expire_on_commit=False)

    def shared_session(self):
        return self.session

    def run(self, order_ids):
{run}
"""
_STORE_FILES = {"models.py": "class Order:\n    pass\n\n\nclass Refund:\n    pass\n"}
_RECORD = ("        session.add(Refund(order_id=order_id))\n"
           "        session.commit()")
_INLINE_BY_HAND = ("the session has no name: bind it in a `with` block around the "
                   "statements that use it, by hand")


def _store(note: str, run: str, record: str = _RECORD, flagged: bool = False) -> Case:
    return Case(_STORE.format(run=run, record=record), files=_STORE_FILES, note=note,
                unfixable=_INLINE_BY_HAND if flagged else "")


INVALID += [
    _store("a session from a method of the class, queried inline and dropped unclosed",
           "        return self.get_session().exec(select(Order)).first()  # expect: PS102",
           flagged=True),
    _store("the same, in a test and with the result discarded",
           "        if not self.get_session().exec(select(Order)).all():  # expect: PS102\n"
           "            return None", flagged=True),
    _store("a session from a method of the class handed to a function that only works on "
           "it", "        for order_id in order_ids:\n"
                 "            Ledger.record(order_id, session=self.get_session())"
                 "  # expect: PS102", flagged=True),
    _store("a session built in place, queried and dropped",
           "        return Session(self.engine).exec(select(Order)).all()  # expect: PS102",
           flagged=True),
]
VALID += [
    _store("look-alike: the method returns the object's own session, which the object "
           "keeps", "        return self.shared_session().exec(select(Order)).first()"),
    _store("look-alike: the session is bound in `with`, which closes it",
           "        with self.get_session() as session:\n"
           "            return session.exec(select(Order)).first()"),
    _store("look-alike: the function handed the session closes it",
           "        Ledger.record(order_ids[0], session=self.get_session())",
           record=_RECORD + "\n        session.close()"),
    _store("look-alike: the function handed the session keeps it",
           "        Ledger.record(order_ids[0], session=self.get_session())",
           record="        cls.session = session"),
    _store("look-alike: the inline query is only built, never run",
           "        return self.get_session().query(Order)"),
]
VALID.append(Case("""
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from models import Order

engine = create_engine("postgresql://db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


@app.get("/orders/{order_id}")
def read_order(order_id: int):
    return SessionLocal().get(Order, order_id)
""", files=_STORE_FILES, note="look-alike: a session built inline in a FastAPI route is PS105's "
                               "finding (with its dependency fix), not a second one here"))

# issue 31, round 30: a session bound to a connection the function was handed by its
# caller, who owns it (an Alembic hook's `autogen_context.connection`, a parameter
# typed `Connection`, or one every caller fills with a connection it holds), checks
# nothing out; one bound to an engine does
_TALLY = """
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def tally({param}, table):
    session = Session(bind={bind}){mark}
    return session.execute(text(f"SELECT count(*) FROM {{table}}")).scalar()
"""

_TALLY_CALLED = _TALLY + """

def report():
{body}
"""

_COMPARATOR = """
from alembic.autogenerate import comparators
from sqlalchemy import text
from sqlalchemy.orm import Session


@comparators.dispatch_for("schema")
def compare_views(autogen_context, upgrade_ops, schemas):
    session = Session(bind=autogen_context.{attr}){mark}
    names = session.execute(text("SELECT viewname FROM pg_views")).scalars().all()
    autogen_context.opts["known_views"] = names
"""

VALID += [
    Case(_COMPARATOR.format(attr="connection", mark=""),
         note="an Alembic autogenerate comparator: Alembic hands it its context, whose "
              "connection Alembic opened and closes"),
    Case(_TALLY.format(param="connection: Connection", bind="connection", mark=""),
         note="a parameter typed `Connection`: the caller owns the connection"),
    Case(_TALLY_CALLED.format(param="connection", bind="connection", mark="", body="""\
    with engine.connect() as conn:
        return tally(conn, "orders") + tally(conn, "refunds")"""),
         note="every call passes a connection its caller's `with` closes"),
]

INVALID += [
    Case(_TALLY.format(param="eng: Engine", bind="eng", mark="  # expect: PS102"),
         note="look-alike: a parameter typed `Engine`: the session checks out of its pool"),
    Case(_TALLY_CALLED.format(param="connection", bind="connection", mark="  # expect: PS102",
                              body="""\
    with engine.connect() as conn:
        orders = tally(conn, "orders")
    return orders + tally(engine, "refunds")"""),
         note="look-alike: one call passes the engine itself"),
    Case(_TALLY_CALLED.format(param="connection", bind="connection", mark="  # expect: PS102",
                              body="""\
    return tally(engine.connect(), "orders")"""),
         note="look-alike: the call checks a connection out in its own argument and "
              "nobody closes it"),
    Case(_TALLY.format(param="connection", bind="connection", mark="  # expect: PS102"),
         note="look-alike: an untyped parameter of a function nobody calls may be an engine"),
    Case(_COMPARATOR.replace('@comparators.dispatch_for("schema")\n', "").format(
        attr="connection", mark="  # expect: PS102"),
         note="look-alike: no Alembic hook: the first parameter's `connection` is unknown"),
]

# issue 31, round 31 (miss70): a session bound to a connection the function checked out
# itself leaves the connection open (its `close()` ends only its own transaction): the
# connection is the leak, and a session bound to it checks nothing out
_UNNAMED = ("the connection has no name: bind it to a name given back in a `finally` (or a "
            "`with` block) around its use, by hand")
_BOUND_BY_HAND = ("a session is bound to the connection: close the connection after the "
                  "session's last use, by hand")
_BOUND = """
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://db/app", pool_pre_ping=True)
Maker = sessionmaker()
"""

INVALID += [
    Case(_BOUND + """

def count_orders():
    conn = engine.connect()  # expect: PS102
    session = Session(bind=conn)
    total = session.execute(text("SELECT count(*) FROM orders")).scalar()
    session.close()
    return total
""", note="the session is closed, the connection it is bound to is not",
         unfixable=_BOUND_BY_HAND),
    Case(_BOUND + """

def count_refunds():
    conn = engine.connect()  # expect: PS102
    session = Maker(bind=conn)
    return session.execute(text("SELECT count(*) FROM refunds")).scalar()
""", note="a sessionmaker's session bound to the function's own connection",
         unfixable=_BOUND_BY_HAND),
    Case(_BOUND + """

def count_items():
    conn = engine.connect()  # expect: PS102
    session = sessionmaker(bind=conn)()
    return session.execute(text("SELECT count(*) FROM items")).scalar()
""", note="the factory is bound to the connection: its session checks nothing out "
          "(main reported the session, not the connection)", unfixable=_BOUND_BY_HAND),
    Case(_BOUND + """

def connection():
    return Session(bind=engine.connect())  # expect: PS102
""", note="a connection checked out in the session's `bind` argument: nothing names it, "
          "so nothing can close it", unfixable=_UNNAMED),
    Case(_BOUND + """

def count_users():
    with Session(bind=engine.connect()) as session:  # expect: PS102
        return session.execute(text("SELECT count(*) FROM users")).scalar()
""", note="leaving the `with` closes the session, not the connection it was handed",
         unfixable=_UNNAMED),
]

VALID += [
    Case(_BOUND + """

def count_orders():
    with engine.connect() as conn:
        session = Session(bind=conn)
        return session.execute(text("SELECT count(*) FROM orders")).scalar()
""", note="look-alike: the `with` closes the connection the session is bound to"),
    Case(_BOUND + """

def count_items():
    conn = engine.connect()
    try:
        session = sessionmaker(bind=conn)()
        return session.execute(text("SELECT count(*) FROM items")).scalar()
    finally:
        conn.close()
""", note="look-alike: the connection is closed in `finally`; the session bound to it "
          "checks nothing out (main reported it)"),
    Case(_BOUND + """

def open_session():
    conn = engine.connect()
    session = Session(bind=conn)
    return session
""", note="look-alike: the session goes to the caller and the connection with it"),
    Case(_BOUND + """

def count_users():
    with engine.connect() as conn, Session(bind=conn) as session:
        return session.execute(text("SELECT count(*) FROM users")).scalar()
""", note="look-alike: the connection is named and closed by the `with`"),
]

# `await conn.run_sync(fn)` calls `fn` with the sync connection under the async one:
# SQLAlchemy's, closed with it
_RUN_SYNC = """
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session

engine = create_async_engine("postgresql+asyncpg://db/app", pool_pre_ping=True)
"""

VALID += [
    Case(_RUN_SYNC + """

def _count(sync_conn):
    session = Session(bind=sync_conn)
    return session.execute(text("SELECT count(*) FROM orders")).scalar()


async def count_orders():
    async with engine.connect() as conn:
        return await conn.run_sync(_count)
""", note="a run_sync callback's session bound to the connection it is handed (main "
          "reported it as a function nobody calls)"),
    Case(_RUN_SYNC + """

async def count_table(table):
    def _count(sync_conn, name):
        session = Session(bind=sync_conn)
        return session.execute(text(f"SELECT count(*) FROM {name}")).scalar()

    async with engine.begin() as conn:
        return await conn.run_sync(_count, table)
""", note="the callback defined in the caller's body"),
]

INVALID += [
    Case(_RUN_SYNC + """

def _count(sync_conn):
    session = Session(bind=engine.sync_engine)  # expect: PS102
    return session.execute(text("SELECT count(*) FROM orders")).scalar()


async def count_orders():
    async with engine.connect() as conn:
        return await conn.run_sync(_count)
""", note="look-alike: the callback's session is bound to the engine, not to the "
          "connection it is handed: it checks out a connection of its own"),
]

# an AsyncSession queried where it is made and awaited: nothing can close it
_ASYNC_INLINE = """
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/app", pool_pre_ping=True)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)
"""

INVALID += [
    Case(_ASYNC_INLINE + """

async def count_orders():
    result = await AsyncSession(engine).execute(text("SELECT 1 FROM orders"))  # expect: PS102
    return result.scalar()
""", note="the awaited result is buffered: it holds the rows, not the session",
         unfixable=_INLINE_BY_HAND),
    Case(_ASYNC_INLINE + """

async def first_name():
    return await async_session_maker().scalar(text("SELECT name FROM users"))  # expect: PS102
""", note="main finds this one already (the awaited `scalar()` is a value): the form of "
          "the class that needed no change", unfixable=_INLINE_BY_HAND),
    Case(_ASYNC_INLINE + """

async def names():
    return (await async_session_maker().scalars(text("SELECT name"))).all()  # expect: PS102
""", unfixable=_INLINE_BY_HAND),
]

VALID += [
    Case(_ASYNC_INLINE + """

async def count_orders():
    async with async_session_maker() as session:
        result = await session.execute(text("SELECT count(*) FROM orders"))
        return result.scalar()
""", note="look-alike: the `async with` closes it"),
    Case(_ASYNC_INLINE + """

class Orders:
    def __init__(self):
        self.session = async_session_maker()

    def get_session(self):
        return self.session

    async def count(self):
        return (await self.get_session().execute(text("SELECT 1"))).scalar()

    async def close(self):
        await self.session.close()
""", note="look-alike: the method hands out the session the object keeps (and closes)"),
    Case(_ASYNC_INLINE + """

async def reset():
    await async_session_maker().close()
""", note="look-alike: a session closed at once ran nothing"),
]

# a pool checkout that nothing names cannot be given back
_INLINE_POOLS = """
import asyncpg
from psycopg2.pool import ThreadedConnectionPool
from psycopg_pool import ConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
pool3 = ConnectionPool("dbname=app")
"""
_STORE_POOL = _INLINE_POOLS + """

class Store:
    def __init__(self):
        self.pool = None

    async def start(self, dsn):
        self.pool = await asyncpg.create_pool(dsn)
"""

INVALID += [
    Case(_INLINE_POOLS + """

def transactions():
    cur = pool.getconn().cursor()  # expect: PS102
    cur.execute("SELECT * FROM transactions")
    return cur.fetchall()
""", unfixable=_UNNAMED),
    Case(_INLINE_POOLS + """

def purge():
    pool.getconn().cursor().execute("DELETE FROM sessions")  # expect: PS102
""", unfixable=_UNNAMED),
    Case(_INLINE_POOLS + """

def version():
    return pool3.getconn().execute("SELECT version()").fetchone()  # expect: PS102
""", note="psycopg_pool: the pool counts the slot as taken until putconn()",
         unfixable=_UNNAMED),
    Case(_STORE_POOL + """
    async def total(self):
        return await (await self.pool.acquire()).fetchval("SELECT count(*) FROM t")  # expect: PS102
""", unfixable=_UNNAMED),
]

VALID += [
    Case(_INLINE_POOLS + """

def transactions():
    cur = pool.getconn().cursor()
    try:
        cur.execute("SELECT * FROM transactions")
        return cur.fetchall()
    finally:
        pool.putconn(cur.connection)
""", note="look-alike: the cursor's `connection` goes back to the pool"),
    Case(_INLINE_POOLS + """

def version():
    with pool3.connection() as conn:
        return conn.execute("SELECT version()").fetchone()
""", note="look-alike: psycopg_pool's own context gives it back"),
    Case(_STORE_POOL + """
    async def total(self):
        async with self.pool.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM t")

    async def count(self):
        return await self.pool.fetchval("SELECT count(*) FROM t")
""", note="look-alike: `async with pool.acquire()` and the pool's own fetchval give back"),
    Case(_INLINE_POOLS + """

class Repo:
    def __init__(self):
        self._conn = None

    def conn(self):
        if self._conn is None:
            self._conn = pool.getconn()
        return self._conn

    def count(self):
        cur = self.conn().cursor()
        cur.execute("SELECT count(*) FROM t")
        return cur.fetchone()

    def close(self):
        if self._conn is not None:
            pool.putconn(self._conn)
""", note="look-alike: the method hands out the connection the object keeps"),
]

_EXIT_BY_NAME = _PG_POOL + """

def drop(conn):
    pool.putconn(conn, close=True)


class Unit:
    def __enter__(self):
        self.conn = pool.getconn(){mark}
        return self.conn.cursor()

    def __exit__(self, exc_type, exc, tb):
{body}
"""

VALID += [
    Case(_EXIT_BY_NAME.format(mark="", body="""\
        try:
            self.conn.commit()
        finally:
            drop(self.conn)"""),
         note="__exit__ gives the connection back in a `finally` through the project's "
              "release called by its name (the analysis took every release's callee for "
              "an attribute and failed on the module)"),
]

INVALID += [
    Case(_EXIT_BY_NAME.format(mark="  # expect: PS102", body="""\
        try:
            self.conn.commit()
        except Exception:
            drop(self.conn)
            raise
        pool.putconn(self.conn)"""),
         note="look-alike: the release by name runs in a handler only; the one after the "
              "commit is skipped when the commit raises (the fix is unsafe: the handler "
              "already gave it back)"),
]

# issue 31, round 31: a *named* session built by hand in a FastAPI route and never
# closed was reported twice, by PS102 and PS105 (one leak, two findings): PS105 has the
# better fix (a dependency), so the call is its finding, as for the inline form. A
# named session that PS105 does not report stays PS102's: a Flask route, one that comes
# through a project wrapper, one made in a function nested in the route.
_ROUTE_SESSION = """\
from fastapi import FastAPI
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from models import Order

engine = create_engine("postgresql://db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()
site = Flask(__name__)


def open_session():
    return SessionLocal()


@{app}.get("/orders/<order_id>")
def read_order(order_id: int):
{body}
"""

VALID += [
    Case(_ROUTE_SESSION.format(app="app", body="""\
    db = SessionLocal()
    order = db.get(Order, order_id)
    return {"id": order.id}"""), files=_STORE_FILES,
         note="a named session built by hand in a FastAPI route is PS105's finding (with "
              "its dependency fix), not a second one here"),
    Case(_ROUTE_SESSION.format(app="app", body="""\
    db = SessionLocal()
    try:
        order = db.get(Order, order_id)
    finally:
        if order_id > 0:
            db.close()
    return {"id": order.id}"""), files=_STORE_FILES,
         note="closed on one path only: still PS105's call"),
]

INVALID += [
    Case(_ROUTE_SESSION.format(app="site", body="""\
    db = SessionLocal()  # expect: PS102
    order = db.get(Order, order_id)
    return {"id": order.id}""").replace('@site.get(', '@site.route('), files=_STORE_FILES,
         note="look-alike: a Flask route; PS105 judges FastAPI routes only"),
    Case(_ROUTE_SESSION.format(app="app", body="""\
    db = open_session()  # expect: PS102
    order = db.get(Order, order_id)
    return {"id": order.id}"""), files=_STORE_FILES,
         note="look-alike: the session comes through a project wrapper, which PS105 does "
              "not report"),
    Case(_ROUTE_SESSION.format(app="app", body="""\
    def load():
        db = SessionLocal()  # expect: PS102
        return db.get(Order, order_id).id

    return {"id": load()}"""), files=_STORE_FILES,
         note="look-alike: made in a function nested in the route, which is no route"),
]

# A checkout through a conditional expression: one branch's checkout is a checkout
_EITHER_MYSQL = """
from mysql.connector import MySQLConnection
from mysql.connector.pooling import MySQLConnectionPool

pool = MySQLConnectionPool(pool_name="web", pool_size=4, host="db")


def names(cfg, pooled):
    conn = {expr}{mark}
{body}
"""

_EITHER_PG = """
import psycopg2
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 4, "dbname=app")


def count(dsn, shared):
    conn = {expr}{mark}
{body}
"""

_BY_HAND = ("the checkout is one branch of a conditional expression, and the other branch's "
            "value may need another release (or none): add the release for each branch in a "
            "`finally` by hand")

_PLAIN_BODY = """\
    cur = conn.cursor()
    cur.execute("SELECT name FROM users")
    rows = cur.fetchall()
    conn.close()
    return rows"""

_FINALLY_BODY = """\
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM users")
        return cur.fetchall()
    finally:
        conn.close()"""

INVALID += [
    Case(_EITHER_MYSQL.format(expr="pool.get_connection() if pooled else MySQLConnection(**cfg)",
                              mark="  # expect: PS102", body=_PLAIN_BODY),
         unfixable=_BY_HAND,
         note="the pool's checkout on the first branch of a conditional expression, closed "
              "only on success"),
    Case(_EITHER_MYSQL.format(expr="MySQLConnection(**cfg) if not pooled "
                                   "else pool.get_connection()",
                              mark="  # expect: PS102", body=_PLAIN_BODY),
         unfixable=_BY_HAND,
         note="the pool's checkout on the second branch"),
    Case(_EITHER_PG.format(expr="pool.getconn() if shared else psycopg2.connect(dsn)",
                           mark="  # expect: PS102", body="""\
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM users")
    if shared:
        pool.putconn(conn)
    return cur.fetchone()[0]"""),
         unfixable=_BY_HAND,
         note="psycopg2: given back only on the pool's branch and only on success; the "
              "direct connection is never closed"),
]

VALID += [
    Case(_EITHER_MYSQL.format(expr="pool.get_connection() if pooled else MySQLConnection(**cfg)",
                              mark="", body=_FINALLY_BODY),
         note="look-alike: closed in `finally`, whichever branch made it"),
    Case(_EITHER_PG.format(expr="pool.getconn() if shared else psycopg2.connect(dsn)",
                           mark="", body="""\
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM users")
            return cur.fetchone()[0]
    finally:
        if shared:
            pool.putconn(conn)
        else:
            conn.close()"""),
         note="look-alike: psycopg2, each branch's release in `finally`"),
    Case(_EITHER_PG.format(expr="pool.getconn() if shared else None", mark="", body="""\
    if conn is None:
        return 0
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM users")
        return cur.fetchone()[0]
    finally:
        pool.putconn(conn)"""),
         note="look-alike: no connection on the other branch; the checkout is given back "
              "in `finally`"),
    Case(_EITHER_PG.format(expr="dsn if shared else None", mark="", body="""\
    return conn"""),
         note="look-alike: no checkout on either branch"),
]

VALID += [
    Case("""
import psycopg2


def check_database():
    conn = psycopg2.connect("dbname=app")
    conn.cursor().execute("SELECT 1")


def check_queue():
    return True


def main():
    for label, check in [("database", check_database), ("queue", check_queue)]:
        print(label, check())


if __name__ == "__main__":
    main()
""", note="one-shot code: the check table is the loop's own iterable, walked once by "
              "main(); the process exit closes the connection"),
]

# a method of the caller's own class handed to `run_sync` gets the sync connection
# after `self`; a SQLAlchemy connection's `.engine` is the engine it came from, whose
# `connect()` checks out another connection of the pool
VALID += [
    Case(_RUN_SYNC + """

class OrderStats:
    def _count(self, sync_conn):
        session = Session(bind=sync_conn)
        return session.execute(text("SELECT count(*) FROM orders")).scalar()

    async def count(self):
        async with engine.connect() as conn:
            return await conn.run_sync(self._count)
""", note="a method handed to run_sync: its session is bound to the connection it is "
          "handed (main reported it)"),
    Case(_RUN_SYNC + """

def _copy(sync_conn):
    with sync_conn.engine.connect() as other:
        other.execute(text("INSERT INTO audit SELECT * FROM orders"))


async def copy_orders():
    async with engine.connect() as conn:
        await conn.run_sync(_copy)
""", note="look-alike: the second connection from the handed one's engine is closed by "
          "its `with`"),
    Case(_RUN_SYNC + """

def _url(sync_conn):
    return sync_conn.engine.url.render_as_string(hide_password=True)


async def database_url():
    async with engine.connect() as conn:
        return await conn.run_sync(_url)
""", note="look-alike: the handed connection's engine is only read, nothing is checked "
          "out"),
]

INVALID += [
    Case(_RUN_SYNC + """

def _copy(sync_conn):
    other = sync_conn.engine.connect()  # expect: PS102
    other.execute(text("INSERT INTO audit SELECT * FROM orders"))


async def copy_orders():
    async with engine.connect() as conn:
        await conn.run_sync(_copy)
""", note="a run_sync callback checks out a second connection from the handed one's "
          "engine and never closes it"),
    Case(_RUN_SYNC + """

class OrderStats:
    def _copy(self, sync_conn):
        other = sync_conn.engine.connect()  # expect: PS102
        other.execute(text("INSERT INTO audit SELECT * FROM orders"))

    async def copy(self):
        async with engine.connect() as conn:
            await conn.run_sync(self._copy)
""", note="the same in a method handed to run_sync"),
    Case(_RUN_SYNC + """

class OrderStats:
    def _count(self, sync_conn):
        session = Session(bind=engine.sync_engine)  # expect: PS102
        return session.execute(text("SELECT count(*) FROM orders")).scalar()

    async def count(self):
        async with engine.connect() as conn:
            return await conn.run_sync(self._count)
""", note="look-alike: the method's session is bound to the engine, not to the "
          "connection it is handed"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def archive(conn: Connection):
    other = conn.engine.connect()  # expect: PS102
    other.execute(text("INSERT INTO archive SELECT * FROM orders"))


def archive_all():
    with engine.connect() as conn:
        side = conn.engine.connect()  # expect: PS102
        side.execute(text("DELETE FROM orders WHERE shipped"))
        archive(conn)
""", note="a connection annotated `Connection`, and one the `with` holds: `.engine` is "
          "their engine, whose connect() checks out another connection"),
]

# A pool kept as a class attribute: built in the class body (`_pool =
# MySQLConnectionPool(...)`), or assigned through the class's own name in a method
# (`MySQL._pool = MySQLConnectionPool(...)` in `__init__`), is one pool shared by every
# instance and classmethod; a checkout from it (`cls._pool.get_connection()`,
# `self._pool.get_connection()`, `MySQL._pool.get_connection()`) must go back on every
# path.
_CLASS_POOL = """
from mysql.connector.pooling import MySQLConnectionPool


class MySQL:
    _pool = MySQLConnectionPool(pool_name="app", pool_size=5, host="db", user="app")

    @classmethod
    def rows(cls, sql):
        conn = cls._pool.get_connection(){mark}
{body}
"""

_CLASS_POOL_BODY_LEAK = """\
        cur = conn.cursor()
        cur.execute(sql)
        found = cur.fetchall()
        conn.close()
        return found"""

_CLASS_POOL_BODY_FINALLY = """\
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return cur.fetchall()
        finally:
            conn.close()"""

_NAMED_CLASS_POOL = """
from mysql.connector.pooling import MySQLConnectionPool


class MySQL:
    _pool = None

    def __init__(self, **cfg):
        if MySQL._pool is None:
            MySQL._pool = MySQLConnectionPool(pool_name="app", pool_size=5, **cfg)

    def rows(self, sql):
        conn = self._pool.get_connection(){mark}
{body}
"""

INVALID += [
    Case(_CLASS_POOL.format(mark="  # expect: PS102", body=_CLASS_POOL_BODY_LEAK),
         note="a mysql.connector pool built in the class body: the classmethod's checkout "
              "is closed only when the query succeeds"),
    Case(_NAMED_CLASS_POOL.format(mark="  # expect: PS102", body=_CLASS_POOL_BODY_LEAK),
         note="a pool stored on the class by its own name in `__init__`, checked out "
              "through `self._pool`: closed only on success"),
    Case(_CLASS_POOL.format(mark="", body=_CLASS_POOL_BODY_FINALLY) + """

def count_users():
    conn = MySQL._pool.get_connection()  # expect: PS102
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM users")
    n = cur.fetchone()[0]
    conn.close()
    return n
""", note="a module function checks out of the class's pool by the class's name, and "
          "closes only on success"),
]

VALID += [
    Case(_CLASS_POOL.format(mark="", body=_CLASS_POOL_BODY_FINALLY),
         note="look-alike: the class-body pool's checkout is closed in `finally`"),
    Case(_NAMED_CLASS_POOL.format(mark="", body=_CLASS_POOL_BODY_FINALLY),
         note="look-alike: the pool stored by the class's name; the checkout is closed in "
              "`finally`"),
    Case(_CLASS_POOL.format(mark="", body=_CLASS_POOL_BODY_FINALLY).replace(
        "    @classmethod\n    def rows(cls, sql):\n",
        "    @classmethod\n    def rows(cls, sql):\n        return cls.fetch(sql)\n\n"
        "    @classmethod\n    def fetch(cls, sql):\n"),
         note="look-alike: the checkout in a second classmethod, closed in `finally`"),
]

# A direct connection in a local, closed on the normal path, is left to reference
# counting where only an exception skips the close, unless something else may keep
# it, such as a nested function that reads it. A nested `def` that binds a connection
# of its own under the same name (`conn = get_connection()` inside it) reads nothing
# of the enclosing function's.
_NESTED_OWN = """
import mysql.connector


def get_connection():
    return mysql.connector.connect(host="db", user="app", database="bank")


def open_dashboard(root, account_id):
    conn = get_connection(){mark}
    cur = conn.cursor()
    cur.execute("SELECT holder FROM accounts WHERE id = %s", (account_id,))
    holder = cur.fetchone()
    cur.close()
    conn.close()

    def show_history():
{nested}

    root.bind("<F5>", lambda event: show_history())
    return holder
"""

VALID += [
    Case(_NESTED_OWN.format(mark="", nested="""\
        conn = get_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT * FROM tx WHERE account_id = %s", (account_id,))
            return cur.fetchall()
        finally:
            conn.close()"""),
         note="look-alike: the nested function opens and closes a connection of its own "
              "under the same name; the enclosing one is closed on the normal path "
              "(lenient: an exception-only gap in a local)"),
]

INVALID += [
    Case(_NESTED_OWN.format(mark="  # expect: PS102", nested="""\
        cur = conn.cursor()
        cur.execute("SELECT * FROM tx WHERE account_id = %s", (account_id,))
        return cur.fetchall()"""),
         note="the nested function reads the enclosing function's connection: it may "
              "keep it, so the exception-only gap is reported",
         unfixable="`conn` is used by a nested function"),
]

# A one-shot connection factory: `new_connection()` connects, sets the session up (a
# call that may raise) and returns the connection; its only gap is that exception,
# and every call of it is in one-shot code (a script's `__main__` path, also inside a
# `for` over `range()`): the exception ends that run's work, the process exit frees
# the connection. A factory some request or `while` loop calls stays reported.
_ONE_SHOT_FACTORY = """
import sys

import psycopg2


def new_connection(readonly=True):
    conn = psycopg2.connect(host="db", dbname="app"){mark}
    conn.set_session(readonly=readonly, autocommit=True)
    return conn


def copy_part(table, part):
    conn = new_connection(readonly=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT copy_part(%s, %s)", (table, part))
    finally:
        conn.close()

{caller}
"""
VALID += [
    Case(_ONE_SHOT_FACTORY.format(mark="", caller="""
if __name__ == "__main__":
    for part in range(32):
        copy_part(sys.argv[1], part)
"""), note="every call of the factory is in the script's `__main__` path (a loop over "
           "range()): one-shot"),
    Case(_ONE_SHOT_FACTORY.format(mark="", caller="""
def main():
    copy_part(sys.argv[1], 0)


if __name__ == "__main__":
    main()
"""), note="called once from `main()`, which the `__main__` block calls"),
]
INVALID += [
    Case(_ONE_SHOT_FACTORY.format(mark="  # expect: PS102", caller="""
if __name__ == "__main__":
    while True:
        copy_part(sys.argv[1], 0)
"""), files=_STRICT, note="a `while` loop runs the factory round after round: not one-shot "
                            "(with `direct-connections = \"strict\"`: by default a direct "
                            "connection dropped by the exception is closed as its frame is freed)"),
    Case(_ONE_SHOT_FACTORY.format(mark="  # expect: PS102", caller="""
from flask import Flask

app = Flask(__name__)


@app.post("/copy/<table>")
def copy(table):
    copy_part(table, 0)
    return "", 204
"""), files=_STRICT, note="a Flask route calls the factory on every request (strict policy, "
                          "as above)"),
]

# A factory that opens a connection, sets it up and returns it, whose only gap is a
# set-up call failing before the `return`: a direct driver connection is then left in
# the frame alone, and reference counting closes it as the exception unwinds (the
# policy of "Direct connections"); a pool's checkout holds its slot.
_SETUP_FACTORY = """
import psycopg2
from flask import Flask
from psycopg2.extras import register_hstore
{pool}
app = Flask(__name__)


def new_connection(readonly=True):
    conn = {open}{mark}
    conn.set_session(readonly=readonly, autocommit=True)
    register_hstore(conn)
    return conn


@app.get("/tiles/<int:z>")
def tiles(z):
    conn = new_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tile(%s)", (z,))
            return {{"tile": cur.fetchone()[0]}}
    finally:
        {release}
"""
VALID += [
    Case(_SETUP_FACTORY.format(pool="", open='psycopg2.connect(host="db", dbname="gis")',
                               mark="", release="conn.close()"),
         note="a direct connection's factory that a route calls: a failing set-up call "
              "leaves the connection to reference counting (direct-connection policy)"),
]
INVALID += [
    Case(_SETUP_FACTORY.format(pool="from psycopg2.pool import ThreadedConnectionPool\n\n"
                                    "pool = ThreadedConnectionPool(1, 10, dsn=\"dbname=gis\")\n",
                               open="pool.getconn()", mark="  # expect: PS102",
                               release="pool.putconn(conn)"),
         note="look-alike: the factory takes a pool's checkout; a failing set-up call "
              "keeps its slot"),
]

# A project class built around a connection, with a `close()` that closes it, and a
# function that hands one out: a checkout only when the connection is one the
# analysis tracks. Around a `sqlite3` connection (a file the process opens: no
# server connection, no pool slot) it is none, as `sqlite3.connect()` itself is none.
_STORE_CLASS = """
import functools
{imports}


class Store:
    def __init__(self, connection):
        self.connection = connection

    def query(self, sql):
        return self.connection.execute(sql).fetchall()

    def close(self):
        self.connection.close()

{getter}

def totals(target):
    store = {call}{mark}
    return store.query("SELECT code, total FROM totals")
"""
VALID += [
    Case(_STORE_CLASS.format(imports="import sqlite3", getter="",
                             call="Store(sqlite3.connect(target))", mark=""),
         note="a project class around a sqlite3 connection: no pooled server connection "
              "to give back"),
]
INVALID += [
    Case(_STORE_CLASS.format(imports="import psycopg2", getter="",
                             call="Store(psycopg2.connect(target))", mark="  # expect: PS102"),
         note="look-alike: the same class around a server connection (psycopg2)"),
]

# A getter decorated with a caching decorator hands every caller the same object
# (a process-wide store): its callers borrow it, and a close by one would break the
# next. Also through a module-level name bound to the decorator
# (`memoize = lru_cache(maxsize=None)`).
VALID += [
    Case(_STORE_CLASS.format(
        imports="import psycopg2",
        getter="@functools.lru_cache(maxsize=None)\ndef get_store():\n"
               "    return Store(psycopg2.connect(\"dbname=stats\"))\n",
        call="get_store()", mark=""),
         note="a cached getter (`@functools.lru_cache`): every caller shares one store"),
    Case(_STORE_CLASS.format(
        imports="import psycopg2\n\nmemoize = functools.lru_cache(maxsize=None)",
        getter="@memoize\ndef get_store():\n    return Store(psycopg2.connect(\"dbname=stats\"))\n",
        call="get_store()", mark=""),
         note="a cached getter through a module-level alias of `lru_cache(maxsize=None)`"),
]
INVALID += [
    Case(_STORE_CLASS.format(
        imports="import psycopg2\n\n\ndef timed(fn):\n    @functools.wraps(fn)\n"
                "    def inner(*args, **kwargs):\n        return fn(*args, **kwargs)\n"
                "    return inner",
        getter="@timed\ndef get_store():\n    return Store(psycopg2.connect(\"dbname=stats\"))\n",
        call="get_store()", mark="  # expect: PS102"),
         note="look-alike: a decorator that caches nothing (a new store on every call)"),
]

# The rows a cursor fetches (`fetchone()`, `fetchall()`, `fetchmany()`) are plain values
# (tuples, dicts, the row factory's objects) that keep no reference to the cursor or its
# connection: handing them to `map()`, a thread or a project function hands on no
# connection, and the exception-only gap of a local direct connection stays left to
# reference counting (issue 31, round 34: large76's tune half, osmose-backend).
_FETCHED_ROWS = """
import psycopg2
{imports}

class Manager:
    def postgis_version(self):
        gisconn = psycopg2.connect(self.db_string){mark}
        giscurs = gisconn.cursor()
        giscurs.execute("SELECT PostGIS_version()")
        {use}
        giscurs.close()
        gisconn.close()
        return version
"""
VALID += [
    Case(_FETCHED_ROWS.format(imports="", mark="",
                              use="version = list(map(int, giscurs.fetchone()[0].split(' ')[0]"
                                  ".split('.')))"),
         note="`map(int, <fetched row>)`: the builtin map over a fetched value, not an "
              "executor's map of the connection"),
    Case(_FETCHED_ROWS.format(imports="import threading\n", mark="",
                              use="threading.Thread(target=print, args=(giscurs.fetchall(),))"
                                  ".start()\n        version = None"),
         note="a thread handed the fetched rows, not the cursor"),
]
INVALID += [
    Case(_FETCHED_ROWS.format(imports="import threading\n", mark="  # expect: PS102",
                              use="threading.Thread(target=print, args=(giscurs,)).start()\n"
                                  "        version = None"),
         note="look-alike: the thread is handed the cursor itself, which keeps the "
              "connection past the frame"),
    Case(_FETCHED_ROWS.format(imports="from concurrent.futures import ThreadPoolExecutor\n\n"
                                      "POOL = ThreadPoolExecutor()\n",
                              mark="  # expect: PS102",
                              use="version = list(POOL.map(lambda q: giscurs.execute(q), "
                                  "['SELECT 1']))"),
         note="look-alike: an executor's map of a lambda that uses the cursor"),
]
VALID += [
    Case(_FETCHED_ROWS.format(imports="\n\nclass Report:\n    def __init__(self, rows):\n"
                                      "        self.rows = rows\n",
                              mark="",
                              use="version = Report(giscurs.fetchall())"),
         note="a project class built from the fetched rows keeps the rows, not the cursor"),
]
INVALID += [
    Case(_FETCHED_ROWS.format(imports="\n\nclass Report:\n    def __init__(self, cur):\n"
                                      "        self.cur = cur\n",
                              mark="  # expect: PS102",
                              use="version = Report(giscurs)"),
         note="look-alike: the object keeps the cursor and is returned"),
]

# A direct connection's factory (or a function that closes it on the normal path) that
# stores a plain value read off the connection (`self.isolation_level =
# connection.isolation_level` in a database wrapper, `self.backend_pid =
# conn.info.backend_pid`): the value is a string, a number or a flag, not the
# connection, so nothing but the frame holds the connection when a set-up call fails
# (the "Direct connections" policy). A stored bound method or `conn.info` of psycopg2
# (whose ConnectionInfo keeps its connection) still carries it out.
_VALUE_READ_FACTORY = """
import psycopg2
import psycopg2.extras


class DatabaseWrapper:
    def __init__(self, settings):
        self.settings = settings
        self.isolation_level = None

    def get_new_connection(self, params):
        connection = psycopg2.connect(**params){mark}
        options = self.settings["OPTIONS"]
        try:
            self.isolation_level = options["isolation_level"]
        except KeyError:
            self.isolation_level = {read}
        else:
            if self.isolation_level != connection.isolation_level:
                connection.set_session(isolation_level=self.isolation_level)
        psycopg2.extras.register_default_jsonb(conn_or_curs=connection, loads=lambda x: x)
        return connection
"""
VALID += [
    Case(_VALUE_READ_FACTORY.format(mark="", read="connection.isolation_level"),
         note="a database wrapper's factory keeps the connection's isolation level (an "
              "int) on itself, not the connection: a failing set-up call leaves the "
              "connection to reference counting (direct-connection policy)"),
    Case("""
import mysql.connector


class Transporter:
    def connect(self, **params):
        conn = mysql.connector.connect(**params)
        self.connection_id = conn.connection_id
        self.charset = conn.charset
        conn.cmd_init_db(params["database"])
        return conn
""", note="mysql.connector: the connection id and the character set are plain values"),
    Case("""
import psycopg


class Worker:
    def open(self, dsn):
        conn = psycopg.connect(dsn)
        self.backend_pid = conn.info.backend_pid
        conn.execute("SET application_name = 'worker'")
        return conn
""", note="psycopg 3: `conn.info.backend_pid` is an int; only `conn.info` itself would "
          "keep the connection's libpq handle"),
    Case("""
import psycopg2


class Audit:
    def record(self, dsn, event):
        conn = psycopg2.connect(dsn)
        self.last_status = conn.status
        cur = conn.cursor()
        cur.execute("INSERT INTO audit (event) VALUES (%s)", (event,))
        conn.commit()
        conn.close()
""", note="closed on the normal path; only an exception skips the close, and the "
          "stored status is an int"),
]
INVALID += [
    Case("""
import psycopg2


class Wrapper:
    def get_new_connection(self, params):
        conn = psycopg2.connect(**params)  # expect: PS102
        self.info = conn.info
        conn.set_session(autocommit=True)
        return conn
""", note="look-alike: psycopg2's `conn.info` (a ConnectionInfo) keeps its connection, "
          "so the object outlives the frame when set_session() fails"),
    Case("""
import psycopg2


class Wrapper:
    def get_new_connection(self, params):
        conn = psycopg2.connect(**params)  # expect: PS102
        self.close_connection = conn.close
        conn.set_session(autocommit=True)
        return conn
""", note="look-alike: a bound method of the connection keeps it"),
    Case(_VALUE_READ_FACTORY.format(mark="  # expect: PS102", read="connection"),
         note="look-alike: the wrapper keeps the connection itself in the handler",
         unfixable="`connection` is stored"),
]

# (large76b, from a held finding after the held figure was recorded: not held) A
# project's own class with a `getconn()` that checks out from no pool (ldap2pg's
# `Pooler`: one autocommit connection per database, opened and cached by the class and
# all closed by its `__exit__`), in a project that names no pool library with a
# `getconn()`: an unknown object's `getconn()` there is that cache's, not a psycopg2
# pool checkout owing a `putconn()`.
_OWN_POOLER = """
import psycopg2


class Pooler:
    def __init__(self, dsn):
        self.dsn = dsn
        self.connections = {}

    def getconn(self, dbname=None):
        try:
            return self.connections[dbname]
        except KeyError:
            pass
        self.connections[dbname] = conn = psycopg2.connect(self.dsn, dbname=dbname)
        conn.set_session(autocommit=True)
        return conn

    def putconn(self, dbname=None):
        conn = self.connections.pop(dbname, None)
        if conn:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for name in list(self.connections):
            self.putconn(name)
"""
_POOLER_USER = """
class Inspector:
    def __init__(self, pool=None):
        self.pool = pool

    def fetch_roles(self, databases):
        roles = []
        for dbname in databases:
            conn = self.pool.getconn(dbname){mark}
            with conn.cursor() as cur:
                cur.execute("SELECT rolname FROM pg_roles")
                roles.extend(cur.fetchall())
        return roles
"""
VALID += [
    Case(_POOLER_USER.format(mark=""), files={"psql.py": _OWN_POOLER}, path="inspector.py",
         note="the project's own Pooler caches one connection per database and closes "
              "them all on exit; `self.pool` (unknown here) is that cache"),
]
INVALID += [
    Case(_POOLER_USER.format(mark="  # expect: PS102"),
         files={"psql.py": _OWN_POOLER,
                "db.py": "from psycopg2.pool import ThreadedConnectionPool\n\n"
                         "pool = ThreadedConnectionPool(1, 10, dsn=\"dbname=app\")\n"},
         path="inspector.py",
         note="look-alike: the project also builds a psycopg2 pool, so an unknown "
              "object's getconn() may be that pool's checkout"),
    Case(_POOLER_USER.format(mark="  # expect: PS102"),
         files={"psql.py": """
class Pooler:
    def __init__(self, pool):
        self._pool = pool

    def getconn(self, dbname=None):
        return self._pool.getconn(dbname)

    def putconn(self, conn, dbname=None):
        self._pool.putconn(conn, dbname)
"""},
         path="inspector.py",
         note="look-alike: the project's getconn() hands on a pool's checkout"),
]

# A direct connection never closed in a one-shot CLI command (a click/typer/argh/argparse
# subcommand, a management command's `handle()`): the process ends right after the
# command, and the server connection with it (see "Direct connections")
_ONE_SHOT_CLICK = """
import click
import psycopg2


@click.group()
def cli():
    pass


@cli.command()
@click.argument("dsn")
def vacuum(dsn):
    with psycopg2.connect(dsn) as conn:{mark}
        with conn.cursor() as cur:
            cur.execute("VACUUM")
"""
_ONE_SHOT_COMMAND = """
import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def handle(self, *args, **options):
        for db in settings.DATA_DATABASES:
            with psycopg2.connect(db) as conn:{mark}
                with conn.cursor() as cur:
                    cur.execute("DROP TABLE IF EXISTS tmp")
"""
_ONE_SHOT_COMMAND_FILES = {"app/__init__.py": "", "app/management/__init__.py": "",
                           "app/management/commands/__init__.py": ""}
_ONE_SHOT_ARGH_HELPER = """
import argh
import psycopg2


def stats(dsn):
    conn = psycopg2.connect(dsn){mark}
    cur = conn.cursor()
    cur.execute("SELECT * FROM pg_stat_database")
    return cur.fetchall()


def main():
    parser = argh.ArghParser()
    parser.add_commands([stats])
    parser.dispatch()
"""
VALID += [
    Case(_ONE_SHOT_CLICK.format(mark=""),
         note="a click subcommand's `with psycopg2.connect()` never closes the connection, "
              "but the process ends with the command"),
    Case("""
import typer
import psycopg2

app = typer.Typer()


@app.command()
def purge(dsn: str):
    with psycopg2.connect(dsn) as conn:
        conn.cursor().execute("DELETE FROM sessions")
""", note="a typer command: one-shot, as a click one"),
    Case(_ONE_SHOT_ARGH_HELPER.format(mark=""),
         note="an argh subcommand (`parser.add_commands([...])`) runs once per process"),
    Case("""
import argh
import pymysql


def purge(host):
    conn = pymysql.connect(host=host)
    conn.cursor().execute("DELETE FROM sessions")
    conn.commit()


if __name__ == "__main__":
    argh.dispatch_commands([purge])
""", note="argh's `dispatch_commands([...])` at the script's top level"),
    Case("""
import argparse
import psycopg2


def vacuum(args):
    with psycopg2.connect(args.dsn) as conn:
        with conn.cursor() as cur:
            cur.execute("VACUUM")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    p = sub.add_parser("vacuum")
    p.add_argument("dsn")
    p.set_defaults(func=vacuum)
    args = parser.parse_args()
    args.func(args)
""", note="an argparse subcommand's handler (`set_defaults(func=...)`)"),
    Case(_ONE_SHOT_COMMAND.format(mark=""), files=_ONE_SHOT_COMMAND_FILES,
         path="app/management/commands/cleanup_temp.py",
         note="a management command run from the command line: one connection per data "
              "database, each freed when the next replaces it, all at the process exit"),
]
INVALID += [
    Case("""
import click
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


@click.command()
def vacuum():
    with pool.getconn() as conn:  # expect: PS102
        with conn.cursor() as cur:
            cur.execute("VACUUM")
""", note="look-alike: a pool's checkout in a CLI command is not a direct connection"),
    Case(_ONE_SHOT_COMMAND.format(mark="  # expect: PS102"),
         files={**_ONE_SHOT_COMMAND_FILES, "app/tasks.py": """
from celery import shared_task
from django.core.management import call_command


@shared_task
def nightly_cleanup():
    call_command("cleanup_temp")
"""},
         path="app/management/commands/cleanup_temp.py",
         note="look-alike: a Celery task also runs the command (`call_command`) in a "
              "long-lived worker"),
    Case(_ONE_SHOT_ARGH_HELPER.format(mark="  # expect: PS102"),
         files={"web.py": """
from flask import Flask, jsonify

from cli import stats

app = Flask(__name__)


@app.route("/stats")
def show_stats():
    return jsonify(stats("dbname=app"))
"""},
         path="cli.py",
         note="look-alike: a Flask route also calls the CLI helper, in a long-lived server"),
    Case(_ONE_SHOT_CLICK.format(mark="  # expect: PS102"), files=_STRICT,
         note="look-alike: `direct-connections = \"strict\"` reports it"),
]

# A session drawn by hand from a dependency generator kept in a local (`gen = get_db()`,
# `db = next(gen)`) and given back by ending the generator: `gen.close()` (or `await
# gen.aclose()`) throws GeneratorExit in at its `yield`, and `next(gen, None)` resumes it
# past the `yield`; either way the generator's `with` (or `finally: db.close()`) closes
# the session (personio-foundation-coachai's nightly cleanup, breadth76b, a held-half
# false alarm: "not held"). Only where the generator does close what it yields.
_GEN_SCHEDULER = '''\
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
scheduler = BackgroundScheduler()
PURGE = text("DELETE FROM turns WHERE created_at < now() - interval '30 days'")
'''

_GEN_BOT = '''\
from aiogram import Router
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

router = Router()
engine = create_async_engine("postgresql+asyncpg://bot@db/bot", pool_pre_ping=True)
SessionLocal = async_sessionmaker(engine, class_=AsyncSession)


async def get_session():
    async with SessionLocal() as session:
        yield session
'''

GENERATOR_END_VALID: list[Case] = [
    Case(_GEN_SCHEDULER + '''

def get_db():
    with Session(engine) as db:
        try:
            yield db
        finally:
            db.close()


def purge_old_turns():
    gen = get_db()
    db = next(gen)
    try:
        db.execute(PURGE)
        db.commit()
    finally:
        gen.close()


scheduler.add_job(purge_old_turns, "cron", hour=3)
''', note="`gen.close()` in `finally` ends the generator, whose `with` closes the session"),
    Case(_GEN_BOT + '''

@router.message()
async def count(message):
    sessions = get_session()
    session = await anext(sessions)
    try:
        total = await session.scalar(text("SELECT count(*) FROM users"))
        await message.answer(str(total))
    finally:
        await sessions.aclose()
''', note="`await sessions.aclose()` in `finally` runs the generator's `async with` exit"),
    Case(_GEN_SCHEDULER + '''

def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def purge_old_turns():
    gen = get_db()
    db = next(gen)
    try:
        db.execute(PURGE)
        db.commit()
    finally:
        next(gen, None)


scheduler.add_job(purge_old_turns, "cron", hour=3)
''', note="`next(gen, None)` resumes the generator past its `yield`: its `finally` closes"),
    Case(_GEN_SCHEDULER + '''
from contextlib import suppress


def get_db():
    with Session(engine) as db:
        yield db


def purge_old_turns():
    gen = get_db()
    try:
        db = next(gen)
        db.execute(PURGE)
        db.commit()
    finally:
        with suppress(StopIteration):
            next(gen)


scheduler.add_job(purge_old_turns, "cron", hour=3)
''', note="an unbound `next(gen)` under `suppress(StopIteration)` runs the generator to its end"),
]

GENERATOR_END_INVALID: list[Case] = [
    Case(_GEN_SCHEDULER + '''

def get_db():
    yield SessionLocal()


def purge_old_turns():
    gen = get_db()
    db = next(gen)  # expect: PS102
    try:
        db.execute(PURGE)
        db.commit()
    finally:
        gen.close()


scheduler.add_job(purge_old_turns, "cron", hour=3)
''', note="look-alike: the generator yields a bare session and closes nothing when it ends"),
    Case(_GEN_SCHEDULER + '''

def get_db():
    with Session(engine) as db:
        yield db


def purge_old_turns():
    gen = get_db()
    db = next(gen)  # expect: PS102
    db.execute(PURGE)
    db.commit()
    gen.close()


scheduler.add_job(purge_old_turns, "cron", hour=3)
''', note="look-alike: the generator is closed on success only; a failed statement skips it",
         unfixable="a release of `db` the fix cannot move into `finally`"),
]

# breadth78b (issue 33, from a held finding after its figures were committed: not held):
# a management command that runs one of several scripts through a table of its module,
# `SCRIPTS = {"tokens": {"fn": collect_tokens, ...}}`, read by its `add_arguments()`
# (one sub-parser per entry) and called once by `handle()` (`SCRIPTS[name]["fn"](...)`).
# The script's function is named nowhere else: it runs once per process, as the
# command does, and its never-closed direct connection ends with the process. The
# look-alike: a view reads the same table, so the function also runs per request.
_SCRIPT_TABLE_TOKENS = """
import psycopg2


def collect_tokens(*, uri, output):
    with psycopg2.connect(uri) as conn:{mark}
        with conn.cursor() as cur:
            cur.execute("SELECT token FROM cards")
            with open(output, "w") as out:
                for (token,) in cur.fetchall():
                    print(token, file=out)
"""
_SCRIPT_TABLE_COMMAND = """\
from django.core.management.base import BaseCommand

from app.scripts.tokens import collect_tokens

SCRIPTS = {
    "collect-tokens": {"fn": collect_tokens, "kwargs": {"uri": ["--uri"], "output": ["-o"]}},
}


class Command(BaseCommand):
    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="script", required=True)
        for name, info in SCRIPTS.items():
            p = sub.add_parser(name)
            for dest, flags in info["kwargs"].items():
                p.add_argument(*flags, dest=dest)

    def handle(self, *args, **options):
        info = SCRIPTS[options["script"]]
        info["fn"](**{k: options[k] for k in info["kwargs"]})
"""
_SCRIPT_TABLE_FILES = {**_ONE_SHOT_COMMAND_FILES, "app/scripts/__init__.py": "",
                       "app/management/commands/run_script.py": _SCRIPT_TABLE_COMMAND}
VALID += [
    Case(_SCRIPT_TABLE_TOKENS.format(mark=""), files=_SCRIPT_TABLE_FILES,
         path="app/scripts/tokens.py",
         note="a function a management command runs once through a table of its module "
              "(`SCRIPTS[name][\"fn\"](...)`): one-shot, its direct connection ends with the "
              "process"),
]
INVALID += [
    Case(_SCRIPT_TABLE_TOKENS.format(mark="  # expect: PS102"), files={
        **_SCRIPT_TABLE_FILES, "app/views.py": """\
from django.http import HttpResponse

from app.management.commands.run_script import SCRIPTS


def run(request, name):
    SCRIPTS[name]["fn"](uri=request.GET["uri"], output="/tmp/out.csv")
    return HttpResponse("ok")
"""}, path="app/scripts/tokens.py",
         note="look-alike: a view also calls through the command's table, per request"),
]

# Helper large78b, round 35 (issue 31, from the HELD half of a raw-driver census after its
# figures were recorded: not held): a helper that runs a statement on the caller's
# connection when one is passed and on its own otherwise, closing only its own through a
# function nested in it (`if not connection: try_close(conn)`): the checkout is made only
# where the parameter is false, so the close guarded by the same test covers it, and a
# nested function that closes its parameter releases what it is called with.
_OWN_OR_CALLERS = """\
import logging

import psycopg2


def get_conn():
    return psycopg2.connect("dbname=metrics")


def run_sql(sql, connection=None, quiet=False):
    def try_close(c):
        if c:
            try:
                {closing}
            except Exception:
                logging.exception("close failed")

    conn = None
    try:
        if connection:
            conn = connection
        else:
            conn = get_conn(){mark}
        cur = conn.cursor()
        cur.execute(sql)
        rows = cur.fetchall()
    except Exception:
        try_close(conn)
        raise
    if {guard}:
        try_close(conn)
    return rows
"""
VALID += [
    Case(_OWN_OR_CALLERS.format(closing="c.close()", mark="", guard="not connection"),
         note="the connection is opened only where `connection` is false, and the same "
              "test guards the nested `try_close(conn)` that closes it"),
]
INVALID += [
    Case(_OWN_OR_CALLERS.format(closing="c.close()", mark="  # expect: PS102",
                                guard="not quiet"),
         unfixable="nothing uses `conn` after the checkout",
         note="look-alike: the close is guarded by another parameter"),
    Case(_OWN_OR_CALLERS.format(closing="logging.info(\"done with %s\", c)",
                                mark="  # expect: PS102", guard="not connection"),
         unfixable="nothing uses `conn` after the checkout",
         note="look-alike: the nested function only logs its argument"),
]

#: an async writer whose helper hands back a caller's connection or a fresh one, with a
#: second result that says which (issue 31, round 35, large78: a flag-guarded close
#: whose flag comes from the helper's result tuple)
_OWNED_PAIR = '''
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_pre_ping=True)
INSERT = text("INSERT INTO readings (value) VALUES (:v)")
'''

VALID += [
    Case(_OWNED_PAIR + '''

async def borrow(given=None):
    if given is not None:
        return given, False
    conn = await engine.connect()
    return conn, True


async def save_reading(value, given=None):
    conn, mine = await borrow(given)
    try:
        await conn.execute(INSERT, {"v": value})
        if mine:
            await conn.commit()
    finally:
        if mine:
            await conn.close()
''', note="the helper returns `(fresh, True)` or `(borrowed, False)`: `if mine:` closes"
          " exactly the checkout"),
    Case(_OWNED_PAIR + '''

class ReadingWriter:
    def __init__(self, shared=None):
        self.shared = shared

    async def _connection(self):
        opened = False
        if self.shared is not None:
            return self.shared, opened
        try:
            conn = await engine.connect()
            opened = True
            return conn, opened
        except OSError as err:
            raise RuntimeError(f"cannot reach the database: {err}") from err

    async def write(self, value):
        conn, opened = await self._connection()
        try:
            await conn.execute(INSERT, {"v": value})
        finally:
            if opened:
                await conn.close()
''', note="the flag is a name set to True right before the helper returns the fresh"
          " checkout with it"),
    Case(_PG_POOL + '''

def take(conn=None):
    if conn is not None:
        return conn, False
    return pool.getconn(), True


def record(kind, conn=None):
    conn, owned = take(conn)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO events (kind) VALUES (%s)", (kind,))
        conn.commit()
    finally:
        if owned:
            pool.putconn(conn)
''', note="a psycopg2 pool checkout handed back with a True ownership flag: `if owned:`"
          " puts it back"),
]

INVALID += [
    Case(_OWNED_PAIR + '''

async def borrow(given=None):
    if given is not None:
        return given, True
    conn = await engine.connect()
    return conn, False


async def save_reading(value, given=None):
    conn, reused = await borrow(given)  # expect: PS102
    try:
        await conn.execute(INSERT, {"v": value})
    finally:
        if reused:
            await conn.close()
''', note="look-alike: the flag is False with the fresh checkout; `if reused:` never"
          " closes it"),
    Case(_OWNED_PAIR + '''

async def borrow(given=None):
    if given is not None:
        return given, False
    conn = await engine.connect()
    return conn, True


async def save_reading(value, given=None):
    conn, mine = await borrow(given)  # expect: PS102
    try:
        await conn.execute(INSERT, {"v": value})
        mine = value is None
    finally:
        if mine:
            await conn.close()
''', note="look-alike: the flag is bound again after the checkout; it no longer says"
          " who owns the connection"),
    Case(_OWNED_PAIR + '''

async def borrow(given=None, keep=False):
    if given is not None:
        return given, False
    conn = await engine.connect()
    return conn, keep


async def save_reading(value, given=None):
    conn, mine = await borrow(given)  # expect: PS102
    try:
        await conn.execute(INSERT, {"v": value})
    finally:
        if mine:
            await conn.close()
''', note="look-alike: the flag returned with the fresh checkout is the caller's"
          " parameter, not True"),
]

VALID += [
    Case(_OWNED_PAIR + '''

class ReadingOutput:
    def __init__(self):
        self._connection = None

    async def open(self):
        self._connection = await engine.connect()

    async def _connection_for(self, given=None):
        if given is not None:
            return given, False
        if self._connection is not None:
            return self._connection, False
        conn = await engine.connect()
        return conn, True

    async def write(self, value, given=None):
        conn, mine = await self._connection_for(given)
        try:
            result = await conn.execute(INSERT, {"v": value})
            return result.rowcount
        finally:
            if mine:
                await conn.close()
''', note="the object's own open connection is lent with False, a fresh one handed out"
          " with True: `if mine:` closes exactly the checkout"),
]

INVALID += [
    Case(_OWNED_PAIR + '''

async def borrow(given=None, quick=False):
    if given is not None:
        return given, False
    if quick:
        return await engine.connect(), False
    conn = await engine.connect()
    return conn, True


async def save_reading(value, given=None):
    conn, mine = await borrow(given, quick=value is None)  # expect: PS102
    try:
        await conn.execute(INSERT, {"v": value})
    finally:
        if mine:
            await conn.close()
''', note="look-alike: one of the helper's fresh checkouts comes back with False; `if"
          " mine:` leaves it open"),
]

# A session closed by the `with` block of the project function it is handed to: the
# callee's body opens with `with session:` (`Session.__exit__` closes it) and uses the
# session nowhere after that block, so on every path into it the session is closed.
_CALLEE_WITH = '''
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app")


def index_rows(session, rows):
    with session:
        for row in rows:
            session.execute(text("INSERT INTO idx (v) VALUES (:v)"), {{"v": row}})
        session.commit(){after}


def count_rows(session):
    """How many rows the index holds."""
    with session:
        return session.execute(text("SELECT count(*) FROM idx")).scalar()


def rebuild(rows):
    session = Session(engine){mark}
    {call}
'''
VALID += [
    Case(_CALLEE_WITH.format(after="", mark="", call="index_rows(session, rows)"),
         path="app/index.py",
         note="the callee's `with session:` closes the session it is handed"),
    Case(_CALLEE_WITH.format(after="", mark="",
                             call="index_rows(session, rows)\n    return count_rows(session)"),
         path="app/index.py",
         note="two callees, each closing the session in its own `with` block (a closed "
              "session begins again on its next use, and the next block closes it)"),
]
INVALID += [
    Case(_CALLEE_WITH.format(
        after="\n    return session.execute(text(\"SELECT count(*) FROM idx\")).scalar()",
        mark="  # expect: PS102", call="return index_rows(session, rows)"),
        path="app/index.py",
        note="look-alike: the callee uses the session again after its block closed it, "
             "which checks out a new connection nothing closes",
        unfixable="`session` is returned"),
    Case('''
import psycopg2


def index_rows(conn, rows):
    with conn:
        with conn.cursor() as cur:
            for row in rows:
                cur.execute("INSERT INTO idx (v) VALUES (%s)", (row,))


def rebuild(dsn, rows):
    conn = psycopg2.connect(dsn)  # expect: PS102
    index_rows(conn, rows)
''', path="app/index.py",
         note="look-alike: a psycopg2 connection's `with conn:` ends a transaction, not "
              "the connection"),
]

# A test-support module outside a test folder, named for what it is (`testutils.py`,
# `db_test_utils.py`, `testing_helper/`): its engines and connections serve tests only.
_SCRATCH_DB = '''
import psycopg2


def scratch_database(dsn, name):
    conn = psycopg2.connect(dsn){mark}
    conn.autocommit = True
    conn.cursor().execute("CREATE DATABASE " + name)
    return dsn.rsplit("/", 1)[0] + "/" + name
'''
VALID += [
    Case(_SCRATCH_DB.format(mark=""), path="app/db_test_utils.py",
         note="a test-support module by its name (a test word, then a support word)"),
    Case(_SCRATCH_DB.format(mark=""), path="app/testing_helper/db.py",
         note="a test-support package by its name (`testing_` first)"),
    Case(_SCRATCH_DB.format(mark=""), path="app/testutils.py",
         note="`testutils` as one word"),
]
INVALID += [
    Case(_SCRATCH_DB.format(mark="  # expect: PS102"), path="app/ab_testing_utils.py",
         note="look-alike: `testing` after another word (A/B testing) is production code"),
    Case(_SCRATCH_DB.format(mark="  # expect: PS102"), path="app/db_utils.py",
         note="look-alike: the same helper in production code"),
]

# large78c (round 35): a session bound to the engine behind the application's scoped
# session (`Session(bind=db.session.get_bind())`) checks out a connection of its own;
# only Alembic's `op.get_bind()` hands out a connection someone else owns
_SCOPED_BIND = """
import dramatiq
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text
from sqlalchemy.orm import Session

db = SQLAlchemy()

"""

VALID += [
    Case(_SCOPED_BIND + """
@dramatiq.actor
def reindex(ids):
    session = Session(bind=db.session.get_bind())
    try:
        for pk in ids:
            session.execute(text("SELECT :i"), {"i": pk})
    finally:
        session.close()
""", note="a session bound to the scoped session's engine, closed in `finally`"),
]

INVALID += [
    Case(_SCOPED_BIND + """
@dramatiq.actor
def reindex(ids):
    session = Session(bind=db.session.get_bind())  # expect: PS102
    try:
        for pk in ids:
            session.execute(text("SELECT :i"), {"i": pk})
    except Exception:
        print("reindex failed")
        raise
    session.close()
""", note=("`db.session.get_bind()` is the application's engine, not a borrowed "
           "connection: the session checks one out, and the re-raising `except` skips "
           "its close")),
]

_SCOPED_BIND_SUBCLASS = {
    "app/__init__.py": "",
    "app/ext.py": """
from flask_sqlalchemy import SQLAlchemy as BaseSQLAlchemy


class SQLAlchemy(BaseSQLAlchemy):
    def apply_driver_hacks(self, app, info, options):
        options.setdefault("pool_size", 5)
        super().apply_driver_hacks(app, info, options)


db = SQLAlchemy()
""",
}

VALID += [
    Case("""
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.ext import db


def copy_rows(ids):
    session = Session(bind=db.session.connection())
    for pk in ids:
        session.execute(text("SELECT :i"), {"i": pk})
    session.flush()
""", files=_SCOPED_BIND_SUBCLASS, path="app/tasks.py",
         note=("look-alike kept silent: bound to the scoped session's own connection "
               "(`db.session.connection()`), which the request's session ends")),
]

INVALID += [
    Case("""
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.ext import db


def copy_rows(ids):
    session = Session(bind=db.session.get_bind())  # expect: PS102
    for pk in ids:
        session.execute(text("SELECT :i"), {"i": pk})
    session.close()
""", files=_SCOPED_BIND_SUBCLASS, path="app/tasks.py",
         note=("`db` is a project subclass of Flask-SQLAlchemy's `SQLAlchemy`: "
               "`db.session.get_bind()` is still the engine, and a failed statement "
               "skips the close")),
]

VALID += [
    Case(_SCOPED_BIND + """
def copy_rows(ids):
    session = Session(bind=db.session.connection())
    for pk in ids:
        session.execute(text("SELECT :i"), {"i": pk})
    session.flush()
""", note=("a session bound to the scoped session's own connection "
           "(`db.session.connection()`): it checks nothing out; the scoped session ends it")),
]

# large79b (round 36): a releasing method whose earlier step is wrapped in a `try` with a
# catch-all handler that only logs: the step cannot skip the release.
_GUARDED_STEP_ASYNCPG = """
import logging

import asyncpg

log = logging.getLogger(__name__)


class Listener:
    def __init__(self):
        self.pool = None
        self.conn = None

    async def start(self, dsn):
        self.pool = await asyncpg.create_pool(dsn)
        self.conn = await self.pool.acquire()  # MARK
        await self.conn.add_listener("events", self.on_event)

    def on_event(self, conn, pid, channel, payload):
        log.info(payload)

    async def flush_views(self):
        log.info("views")

    async def close(self):
        try:
            await self.flush_views()
        HANDLER
        await self.pool.release(self.conn)
        await self.pool.close()
"""

VALID += [
    Case(_GUARDED_STEP_ASYNCPG.replace("  # MARK", "").replace(
        "HANDLER", "except Exception as e:\n            log.error(\"views failed: %s\", e)"),
         note=("the step before the release sits in a `try` whose `except Exception` only "
               "logs: a failed step goes on to the release")),
    Case("""
import logging

from psycopg2.pool import ThreadedConnectionPool

log = logging.getLogger(__name__)


class Store:
    def __init__(self, dsn):
        self.pool = ThreadedConnectionPool(1, 4, dsn)
        self.conn = self.pool.getconn()

    def flush(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT 1")

    def close(self):
        try:
            self.flush()
        except BaseException:
            log.exception("flush failed")
        self.pool.putconn(self.conn)
""", note=("a psycopg2 pool's slot given back after a best-effort flush under "
           "`except BaseException` that only logs")),
]

INVALID += [
    Case(_GUARDED_STEP_ASYNCPG.replace("  # MARK", "  # expect: PS102").replace(
        "HANDLER", "except ValueError as e:\n            log.error(\"views failed: %s\", e)"),
         note=("look-alike: the handler catches only ValueError; any other error in the "
               "step skips the release")),
    Case(_GUARDED_STEP_ASYNCPG.replace("  # MARK", "  # expect: PS102").replace(
        "HANDLER", "except Exception as e:\n            log.error(\"views failed: %s\", e)\n"
                   "            raise"),
         note="look-alike: the catch-all handler raises again, so the release is skipped"),
    Case(_GUARDED_STEP_ASYNCPG.replace("  # MARK", "  # expect: PS102").replace(
        "HANDLER", "except Exception as e:\n            log.error(\"views failed: %s\", e)\n"
                   "        else:\n            await self.conn.execute(\"NOTIFY done\")"),
         note=("look-alike: the `else` of the guarded `try` runs a statement outside the "
               "handler; its failure skips the release")),
]

# A project session class rebound at the top level to the session factory made from
# it (`class Session(BaseSession): ...` then `Session = sessionmaker(class_=Session)`),
# bound to an engine only later with `Session.configure(bind=...)`: after the import,
# `Session` is the factory, and `Session()` checks out a connection like any other.
_REBOUND_FACTORY = """
from sqlalchemy import create_engine
from sqlalchemy.orm import Session as BaseSession
from sqlalchemy.orm import sessionmaker


class Session(BaseSession):
    def add(self, instance, _warn=True):
        raise TypeError("use the model's save()")


Session = {rebound}


def init_db(url):
    Session.configure(bind=create_engine(url))
"""
_REBOUND_USER = """
import functools

from app.db import Session
from app.models import Token


def authenticated(handler):
    @functools.wraps(handler)
    def wrapper(request, *args, **kwargs):
{body}
        return handler(request, *args, **kwargs)
    return wrapper
"""
_REBOUND_MODELS = {"app/models.py": "class Token:\n    pass\n"}

INVALID += [
    Case(_REBOUND_USER.format(body=(
        "        session = Session()  # expect: PS102\n"
        "        token = session.query(Token).filter_by(key=request.token).first()\n"
        "        if token is None:\n"
        "            raise PermissionError(request.token)")),
         files={"app/db.py": _REBOUND_FACTORY.format(rebound="sessionmaker(class_=Session)"),
                **_REBOUND_MODELS}, path="app/auth.py",
         note=("`Session` is a project class rebound below it to `sessionmaker(class_="
               "Session)` and bound later by `Session.configure(bind=...)`: the "
               "decorator's session is never closed")),
    Case(_REBOUND_USER.format(body=(
        "        session = Session()  # expect: PS102\n"
        "        token = session.query(Token).filter_by(key=request.token).first()\n"
        "        session.close()\n"
        "        if token is None:\n"
        "            raise PermissionError(request.token)")),
         files={"app/db.py": _REBOUND_FACTORY.format(
             rebound="sessionmaker(class_=Session, expire_on_commit=False)"),
                **_REBOUND_MODELS}, path="app/auth.py",
         note=("the same rebound factory: a failed query skips the close")),
]

VALID += [
    Case(_REBOUND_USER.format(body=(
        "        with Session() as session:\n"
        "            token = session.query(Token).filter_by(key=request.token).first()\n"
        "        if token is None:\n"
        "            raise PermissionError(request.token)")),
         files={"app/db.py": _REBOUND_FACTORY.format(rebound="sessionmaker(class_=Session)"),
                **_REBOUND_MODELS}, path="app/auth.py",
         note="the rebound factory's session in a `with` block: closed on every path"),
    Case(_REBOUND_USER.format(body=(
        "        session = Session()\n"
        "        token = session.query(Token).filter_by(key=request.token).first()\n"
        "        if token is None:\n"
        "            raise PermissionError(request.token)")),
         files={"app/db.py": "from app.registry import register_model\n"
                + _REBOUND_FACTORY.format(rebound="register_model(Session)"),
                "app/registry.py": "def register_model(cls):\n    return cls\n",
                **_REBOUND_MODELS}, path="app/auth.py",
         note=("look-alike kept silent: the class is rebound to what a project function "
               "returns, not to a session factory; `Session()` with no bind stays a "
               "session bound to nothing")),
]

# A one-shot script's direct connection made in a function nested in a method of the
# class `main()` builds under `if __name__ == "__main__":`: the method is one-shot
# (every call of it is), and so is the nested function when the method's body calls
# it once, outside loops: the process exit frees what an early return leaves. Called
# once per item (`all(check_one(h) for h in hosts)`, a comprehension is a loop), each
# item may leave one more connection open for the rest of the run: still reported.
_ONE_SHOT_NESTED = """
import sys

import psycopg2


class Upgrade:
    def __init__(self, hosts):
        self.hosts = hosts
        self.cursors = {{}}

    def check_replicas(self):
        def check_one(host):
            conn = psycopg2.connect(host=host, dbname="postgres"){mark}
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute("SELECT pg_is_in_recovery()")
            if not cur.fetchone()[0]:
                return False
            self.cursors[host] = cur
            return True

        return {call}

    def run(self):
        return self.check_replicas()


def main():
    return 0 if Upgrade(sys.argv[1:]).run() else 1


if __name__ == "__main__":
    sys.exit(main())
"""
VALID += [
    Case(_ONE_SHOT_NESTED.format(mark="", call="check_one(self.hosts[0])"),
         path="upgrade.py",
         note=("one-shot: the nested function runs once in a script's run (pinned: "
               "silent at main too)")),
]
INVALID += [
    Case(_ONE_SHOT_NESTED.format(mark="  # expect: PS102",
                                 call="all(check_one(h) for h in self.hosts)"),
         path="upgrade.py",
         note=("decision kept (round 36): one connection per host, each left open by the "
               "early return for the rest of the run; a loop in one-shot code is not "
               "one-shot (pinned: reported at main too)"),
         unfixable="`conn` is stored"),
]

# round 36 (breadth79b): console scripts a `setup.py` declares, also through a package
# that re-exports the function. `setup(entry_points={"console_scripts": [...]})` names
# the command's function as pyproject's `[project.scripts]` does: it runs once per
# invocation, and an exception ends that run with its connection.
_INGEST = """
from peewee import MySQLDatabase

db = MySQLDatabase("cosmo", host="db", user="ops")


def ingest_all():
    db.connect(){mark}
    db.execute_sql("OPTIMIZE TABLE files")
    db.close()
"""

_PEEWEE_BY_HAND = ("a peewee connect(): wrap the work in `with db.connection_context():` "
                   "(or close it in a teardown handler) by hand")

_SETUP_PY = """
from setuptools import find_packages, setup

setup(
    name="cosmo",
    packages=find_packages(),
    entry_points={{
        "console_scripts": [
            "cm_ingest={target}",
            "cm_report=cosmo.report:main",
        ],
    }},
)
"""

VALID += [
    Case(_INGEST.format(mark=""), path="cosmo/ingest.py",
         files={"cosmo/__init__.py": "", "cosmo/report.py": "def main():\n    pass\n",
                "setup.py": _SETUP_PY.format(target="cosmo.ingest:ingest_all")},
         note="a setup.py's `console_scripts` names it: the command runs it once per invocation"),
    Case(_INGEST.format(mark=""), path="cosmo/database/ingest.py",
         files={"cosmo/__init__.py": "", "cosmo/report.py": "def main():\n    pass\n",
                "cosmo/database/__init__.py": "from .ingest import *\n",
                "setup.py": _SETUP_PY.format(target="cosmo.database:ingest_all")},
         note=("the console script names the package (`cosmo.database:ingest_all`), whose "
               "`__init__` re-exports the function with `from .ingest import *`")),
    Case(_INGEST.format(mark=""), path="cosmo/ingest.py",
         files={"cosmo/__init__.py": "",
                "setup.py": ("from setuptools import setup\n\nsetup(name=\"cosmo\", "
                             "entry_points=\"\"\"\n[console_scripts]\ncm_ingest = "
                             "cosmo.ingest:ingest_all\n\"\"\")\n")},
         note="`entry_points` written as an ini string with a `[console_scripts]` section"),
]

INVALID += [
    Case(_INGEST.format(mark="  # expect: PS102"), path="cosmo/ingest.py",
         files={"cosmo/__init__.py": "", "cosmo/report.py": "def main():\n    pass\n",
                "setup.py": _SETUP_PY.format(target="cosmo.ingest:main")},
         unfixable=_PEEWEE_BY_HAND,
         note=("the console script names another function of the module: `ingest_all` "
               "is not the command")),
    Case(_INGEST.format(mark="  # expect: PS102"), path="cosmo/database/ingest.py",
         files={"cosmo/__init__.py": "", "cosmo/report.py": "def main():\n    pass\n",
                "cosmo/database/__init__.py": "from .models import *\n",
                "cosmo/database/models.py": "def ingest_all():\n    pass\n",
                "setup.py": _SETUP_PY.format(target="cosmo.database:ingest_all")},
         unfixable=_PEEWEE_BY_HAND,
         note=("the package's `ingest_all` is another module's function "
               "(`from .models import *`): the script does not run this one")),
    Case(_INGEST.format(mark="  # expect: PS102") + """

def nightly():
    while True:
        ingest_all()
""", path="cosmo/ingest.py",
         files={"cosmo/__init__.py": "", "cosmo/report.py": "def main():\n    pass\n",
                "setup.py": _SETUP_PY.format(target="cosmo.ingest:ingest_all")},
         unfixable=_PEEWEE_BY_HAND,
         note="project code also runs it, in a loop: not only the command's run"),
    Case(_INGEST.format(mark="  # expect: PS102"), path="cosmo/ingest.py",
         files={"cosmo/__init__.py": "",
                "setup.py": ("from setuptools import setup\n\nSCRIPTS = [\"cm_ingest="
                             "cosmo.ingest:ingest_all\"]\n\nsetup(name=\"cosmo\", "
                             "entry_points={\"gui_scripts\": SCRIPTS})\n")},
         unfixable=_PEEWEE_BY_HAND,
         note="a `gui_scripts` entry computed from a name: not read as a console script"),
]

# Issue 31, round 37 (prec80; breadth79b's held peewee application): a function that
# connects a peewee database and works on it (creates the tables), called only from
# Flask `before_request` hooks (an application's or a blueprint's), is the request's
# connect: the project's teardown handler that closes the database (a blueprint's
# `teardown_request`, through a close helper) closes it when each request ends, as it
# does for a hook that connects itself. Called from anything else too (a route, a
# script), or with no teardown that closes the database, it is judged as before.
_HOOKED_MODELS = """\
from peewee import CharField, Model, PostgresqlDatabase

db = PostgresqlDatabase("community", user="app", host="db")


class Member(Model):
    name = CharField()

    class Meta:
        database = db


def initialize_db():
    db.connect(){mark}
    db.create_tables([Member], safe=True)


def close_db_connection():
    if not db.is_closed():
        db.close()
"""

_HOOKED_BLUEPRINT = """\
from flask import Blueprint

from models import close_db_connection, initialize_db

admin = Blueprint("admin", __name__)


@admin.before_request
def before_request():
    initialize_db()
"""

_HOOKED_TEARDOWN = """

@admin.teardown_request
def teardown_request(exception):
    close_db_connection()
"""

HOOK_CALLEE_VALID: list[Case] = [
    Case(_HOOKED_BLUEPRINT + _HOOKED_TEARDOWN, path="admin/routes.py",
         files={"models.py": _HOOKED_MODELS.format(mark="")},
         note="a blueprint's before_request calls the connecting helper, its "
              "teardown_request closes the database"),
    Case(_HOOKED_MODELS.format(mark=""), path="models.py",
         files={"admin/routes.py": _HOOKED_BLUEPRINT + _HOOKED_TEARDOWN,
                "api/routes.py": _HOOKED_BLUEPRINT.replace("admin", "api")
                + _HOOKED_TEARDOWN.replace("admin", "api")},
         note="the helper's own module: every caller is a blueprint's before_request hook, "
              "and the blueprints' teardown handlers close the database"),
    Case(_HOOKED_MODELS.format(mark=""), path="models.py",
         files={"app.py": """\
from flask import Flask

from models import close_db_connection, initialize_db

app = Flask(__name__)


@app.before_request
def open_db():
    initialize_db()


@app.teardown_appcontext
def close_db(exc):
    close_db_connection()
"""}, note="the application's own before_request and teardown_appcontext hooks"),
]

HOOK_CALLEE_INVALID: list[Case] = [
    Case(_HOOKED_MODELS.format(mark="  # expect: PS102"), path="models.py",
         files={"admin/routes.py": _HOOKED_BLUEPRINT},
         note="no teardown handler closes the database: every request leaves its "
              "thread's connection open", unfixable=_PEEWEE_BY_HAND),
    Case(_HOOKED_MODELS.format(mark="  # expect: PS102"), path="models.py",
         files={"admin/routes.py": _HOOKED_BLUEPRINT + _HOOKED_TEARDOWN + """

@admin.route("/rebuild")
def rebuild():
    initialize_db()
    return "ok"
"""}, note="a route calls the helper too: the teardown closes only the request's thread "
           "database after the hook ran, but nothing says every caller is a hook",
         unfixable=_PEEWEE_BY_HAND),
    Case(_HOOKED_MODELS.format(mark="  # expect: PS102"), path="models.py",
         files={"admin/routes.py": _HOOKED_BLUEPRINT + _HOOKED_TEARDOWN,
                "sync.py": """\
from models import initialize_db, Member


def sync_members(names):
    initialize_db()
    for name in names:
        Member.create(name=name)
"""}, note="a job also calls the helper outside any request: its connection is never "
           "closed", unfixable=_PEEWEE_BY_HAND),
]

# Issue 31, round 37 (prec80; large79's held metadata collector): a `@contextmanager`
# method that opens a direct connection through a helper that keeps it on `self`, yields,
# and closes it through another helper after the `yield`, with no try/finally. An
# exception in the `with` body is raised at the `yield`, the close is skipped, and the
# connection stays open on the instance (no refcount frees it: the instance holds it)
# until the next `connection()` overwrites it. Pool checkouts in this shape were
# already reported (helper_checkout); direct connections now are too, only where a
# `yield` lies between the two helpers. The same helpers around plain work (no yield),
# or a `finally` around the yield, are left as before.
_DIRECT_CONNECTOR = """\
import contextlib

import psycopg2


class Connector:
    def __init__(self, dsn):
        self.dsn = dsn
        self._conn = None
        self._cursor = None

    @contextlib.contextmanager
    def connection(self):
{body}

    def _connect(self):
        self._conn = psycopg2.connect(self.dsn)
        self._cursor = self._conn.cursor()

    def _disconnect(self):
        self._cursor.close()
        self._conn.close()
"""

HOOK_CALLEE_INVALID += [
    Case(_DIRECT_CONNECTOR.format(body="""\
        self._connect()  # expect: PS102
        yield self._cursor
        self._disconnect()"""),
         note="the with body's exception arrives at the yield and skips the close",
         unfixable="the checkout and its give-back are helper methods: move the give-back "
                   "call into a `finally` by hand"),
]

HOOK_CALLEE_VALID += [
    Case(_DIRECT_CONNECTOR.format(body="""\
        self._connect()
        try:
            yield self._cursor
        finally:
            self._disconnect()"""), note="the close is in a finally"),
    Case(_DIRECT_CONNECTOR.format(body="""\
        self._connect()
        self._cursor.execute("SELECT 1")
        self._disconnect()
        yield None""").replace("    @contextlib.contextmanager\n", ""),
         note="no yield between the helpers (and no context manager): a direct connection "
              "kept on self, the helper policy for direct connections is unchanged"),
]

HOOK_CALLEE_INVALID += [
    Case(_HOOKED_MODELS.format(mark="  # expect: PS102"), path="models.py",
         files={"admin/routes.py": _HOOKED_BLUEPRINT + _HOOKED_TEARDOWN,
                "warmup.py": """\
import threading

from models import initialize_db

threading.Thread(target=initialize_db).start()
"""}, note="the helper is also handed to a thread as a value: that thread's connect is "
           "never closed", unfixable=_PEEWEE_BY_HAND),
]

# A subcommand table filled by item assignment at a module's top level
# (`dispatch["component"] = component`) and run once per process by `main()`
# (`dispatch[subcommand](arguments)`): each entry is one-shot code.
_DISPATCH_TABLE = """\
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://localhost/archive", pool_pre_ping=True)
Session = sessionmaker(bind=engine)

dispatch = {{}}


def component_list(args):
    session = Session(){mark}
    for (name,) in session.execute(text("SELECT name FROM component")):
        print(name)


dispatch["component-list"] = component_list
dispatch["cl"] = component_list


def component_add(args):
    session = Session(){mark}
    session.execute(text("INSERT INTO component (name) VALUES (:n)"), {{"n": args[0]}})
    session.commit()


def component(args):
    component = args[0]
    if component == "add":
        component_add(args[1:])


dispatch["component"] = component


{runner}
"""

_DISPATCH_MAIN = """\
def main():
    subcommand = sys.argv[1]
    if subcommand in dispatch:
        dispatch[subcommand](sys.argv[2:])
    else:
        sys.exit("unknown subcommand")


if __name__ == "__main__":
    main()"""

VALID += [
    Case(_DISPATCH_TABLE.format(mark="", runner=_DISPATCH_MAIN), path="archive/admin.py",
         files={"archive/__init__.py": ""},
         note=("a subcommand table filled by item assignment at the top level and run once "
               "by the script's `main()` (`dispatch[subcommand](...)`): each entry, and what "
               "it calls once, is one-shot code; a local `component` in another function is "
               "another variable")),
]

INVALID += [
    Case(_DISPATCH_TABLE.format(mark="  # expect: PS102", runner=_DISPATCH_MAIN.replace(
        "        dispatch[subcommand](sys.argv[2:])",
        "        for arg in sys.argv[2:]:\n            dispatch[subcommand]([arg])")),
         path="archive/admin.py", files={"archive/__init__.py": ""},
         note="the table's entry runs once per argument, in a loop of `main()`"),
    Case(_DISPATCH_TABLE.format(mark="  # expect: PS102", runner="""\
def serve():
    while True:
        words = sys.stdin.readline().split()
        if words and words[0] in dispatch:
            dispatch[words[0]](words[1:])


if __name__ == "__main__":
    serve()"""),
         path="archive/admin.py", files={"archive/__init__.py": ""},
         note="a serving loop looks entries up again and again: no one-shot run"),
    Case(_DISPATCH_TABLE.format(mark="  # expect: PS102", runner=_DISPATCH_MAIN),
         path="archive/admin.py",
         files={"archive/__init__.py": "",
                "archive/web.py": ("from flask import Flask\n\nfrom archive.admin import "
                                   "dispatch\n\napp = Flask(__name__)\n\n\n"
                                   "@app.post(\"/admin/<name>\")\ndef run(name):\n"
                                   "    dispatch[name]([])\n    return \"ok\"\n")},
         note="another module imports the table and a route runs its entries per request"),
]

# prec81 (issue 31, round 37): a release under a guard that is true wherever the
# checkout is held -- the pool it was drawn from (never bound again after the
# checkout) in an `and` with the connection, or the same stable test as the checkout
_PREC81_USED_IN_FINALLY = (
    "`conn` is used after the statements that hold it (in an `except` or `finally` of the "
    "enclosing `try`): a `finally` around them would release it before that use; give it "
    "back after its last use by hand")


def _prec81_guarded(test: str) -> str:
    return (f"the release of `conn` runs only `if {test}`: the fix would have to drop that "
            "guard; decide by hand")


_PREC81_SAME_TEST = """
from psycopg2.pool import ThreadedConnectionPool


def read(source, key{params}):
    if isinstance(source, ThreadedConnectionPool):
        conn = source.getconn(){mark}
    else:
        conn = source
    try:
        cur = conn.cursor()
        cur.execute("SELECT v FROM kv WHERE k = %s", (key,))
        return cur.fetchone()
    finally:
"""


def _prec81_same_test(release: str = "", params: str = "", mark: bool = False) -> str:
    # a checkout under `isinstance(source, ...)`; the `finally` ends with `release`
    # (by default the same test around `source.putconn(conn)`)
    head = _PREC81_SAME_TEST.format(params=params, mark="  # expect: PS102" if mark else "")
    return head + (release or "        if isinstance(source, ThreadedConnectionPool):\n"
                   "            source.putconn(conn)\n")


VALID += [
    Case("""
import aiopg


async def count_rows(dsn, table):
    pool = None
    conn = None
    try:
        pool = await aiopg.create_pool(dsn)
        conn = await pool.acquire()
        cur = await conn.cursor()
        await cur.execute("SELECT count(*) FROM " + table)
        return await cur.fetchone()
    finally:
        if pool and conn:
            pool.release(conn)
        if pool:
            pool.close()
""", note="`if pool and conn:`: wherever `conn` was drawn from `pool`, both are truthy"),
    Case("""
from psycopg2.pool import ThreadedConnectionPool


def load(dsn, key):
    pool = None
    conn = None
    try:
        pool = ThreadedConnectionPool(1, 4, dsn=dsn)
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("SELECT v FROM kv WHERE k = %s", (key,))
        return cur.fetchone()
    finally:
        if conn is not None and pool:
            pool.putconn(conn)
        if pool is not None:
            pool.closeall()
""", note="`conn is not None and pool`, in the other order"),
    Case(_prec81_same_test(),
         note=("checked out and given back under the same `isinstance` test of a parameter "
           "the function never binds again")),
]

INVALID += [
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, dsn="dbname=kv")


def flagged(key, ok):
    conn = None
    try:
        conn = pool.getconn()  # expect: PS102
        cur = conn.cursor()
        cur.execute("SELECT v FROM kv WHERE k = %s", (key,))
        return cur.fetchone()
    finally:
        if ok and conn:
            pool.putconn(conn)
""", note="`ok` is the caller's: false after a checkout, and the connection stays out",
         unfixable=_PREC81_USED_IN_FINALLY),
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, dsn="dbname=kv")
spare = ThreadedConnectionPool(1, 4, dsn="dbname=kv")


def other_pool(key):
    conn = pool.getconn()  # expect: PS102
    try:
        cur = conn.cursor()
        cur.execute("SELECT v FROM kv WHERE k = %s", (key,))
        return cur.fetchone()
    finally:
        if spare and conn:
            pool.putconn(conn)
""", note="the guard tests another pool than the one the connection came from",
         unfixable=_prec81_guarded("spare and conn")),
    Case("""
from psycopg2.pool import ThreadedConnectionPool

other = ThreadedConnectionPool(1, 4, dsn="dbname=kv")


def rebound(dsn, key):
    pool = ThreadedConnectionPool(1, 4, dsn=dsn)
    conn = pool.getconn()  # expect: PS102
    try:
        cur = conn.cursor()
        cur.execute("SELECT v FROM kv WHERE k = %s", (key,))
        return cur.fetchone()
    finally:
        pool = None
        if pool and conn:
            other.putconn(conn)
""", note="`pool` is bound again after the checkout: the guard is false there",
         unfixable=_prec81_guarded("pool and conn")),
    Case(_prec81_same_test("""\
        if isinstance(mode, ThreadedConnectionPool):
            source.putconn(conn)
""", params=", mode", mark=True),
         note="the release is under another test than the checkout",
         unfixable='nothing uses `conn` after the checkout'),
    Case(_prec81_same_test("""\
        if isinstance(source, ThreadedConnectionPool):
            pass
        else:
            source.putconn(conn)
""", mark=True),
         note="the release is in the `else` of the checkout's test: never where it is held",
         unfixable='nothing uses `conn` after the checkout'),
    Case(_prec81_same_test("""\
        source = None
        if isinstance(source, ThreadedConnectionPool):
            source.putconn(conn)
""", mark=True),
         note="the tested parameter is bound again: the test can answer otherwise",
         unfixable='nothing uses `conn` after the checkout'),
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, dsn="dbname=kv")


def failed(key):
    conn = None
    error = None
    try:
        conn = pool.getconn()  # expect: PS102
        cur = conn.cursor()
        cur.execute("SELECT v FROM kv WHERE k = %s", (key,))
        return cur.fetchone()
    except Exception as exc:
        error = exc
        raise
    finally:
        if conn and error is None:
            pool.putconn(conn)
""", note="the guard is false after a failed statement: that connection stays out",
         unfixable=_PREC81_USED_IN_FINALLY),
]

# Helper large82, round 38 (issue 31, from large82's TUNE half: an ELT connector's row generator):
# a direct connection in a generator whose every `yield` sits in the `try` whose `finally`
# closes it. An exception before that `try` comes before the first `yield`: nothing can hold
# the generator suspended yet, so the frame unwinds and reference counting closes the
# connection as in a plain function (the direct-connection policy). A `yield` outside the
# `try`, or a `finally` that does not close, keeps the generator case reported.

VALID += [
    Case("""
import psycopg2


def stream_rows(dsn, table, columns=None, batch_size=500):
    conn = psycopg2.connect(dsn)
    select_list = "*" if not columns else ", ".join(f'"{c}"' for c in columns)
    try:
        with conn.cursor(name="stream") as cur:
            cur.itersize = batch_size
            cur.execute(f"SELECT {select_list} FROM {table}")
            while True:
                rows = cur.fetchmany(batch_size)
                if not rows:
                    break
                yield rows
    finally:
        conn.close()
""", note="every yield inside the try whose finally closes the connection"),
]

INVALID += [
    Case("""
import psycopg2


def stream_rows(dsn, table, columns=None, batch_size=500):
    conn = psycopg2.connect(dsn)  # expect: PS102
    select_list = "*" if not columns else ", ".join(f'"{c}"' for c in columns)
    yield select_list
    try:
        with conn.cursor(name="stream") as cur:
            cur.execute(f"SELECT {select_list} FROM {table}")
            while True:
                rows = cur.fetchmany(batch_size)
                if not rows:
                    break
                yield rows
    finally:
        conn.close()


def stream_once(dsn, table, columns=None):
    conn = psycopg2.connect(dsn)  # expect: PS102
    select_list = "*" if not columns else ", ".join(f'"{c}"' for c in columns)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT {select_list} FROM {table}")
            yield cur.fetchall()
    finally:
        conn.commit()
    conn.close()
""", note=("look-alike: a yield before the try (a consumer may leave the generator "
               "suspended there); a finally that only commits")),
]

# Round 39 (prec83): a loop-carried connection (`conn = None` before the loop, opened
# inside it, closed by the `except Exception` handler and after the loop) whose loop
# test calls a callable attribute, `while self._running and self._active():`. When
# the attribute only ever holds a lambda that calls nothing (`lambda: True` in
# `__init__`, `lambda: worker_active` passed to the setter by its every caller), the
# test cannot raise between rounds and no path leaves with the connection open. A
# lambda that calls something, a setter handed on as a value (a caller the analysis
# does not see), or another module assigning the attribute, may still raise there.
_OBSERVER = """\
import asyncio
import logging

import asyncpg

logger = logging.getLogger(__name__)


class Observer:
    def __init__(self, dsn):
        self.dsn = dsn
        self._running = True
        self._active = lambda: True

    def set_check(self, check):
        self._active = check

    async def observe(self):
        conn = None
        while self._running and self._active():
            try:
                if conn is None:
                    conn = await asyncpg.connect(self.dsn){expect}
                    await conn.execute("SET application_name = 'observer'")
                await conn.fetch("SELECT pid FROM pg_locks")
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                break
            except Exception as e:
                logger.warning("observer error: %s", e)
                if conn:
                    try:
                        await conn.close()
                    except Exception:
                        pass
                    conn = None
                await asyncio.sleep(1.0)
        if conn:
            try:
                await conn.close()
            except Exception:
                pass
"""


#: why the loop's connection is not fixed: it is used again in the next round
_OBSERVER_UNFIXABLE = ("`conn` is used after the statements that hold it (later in the "
                       "function): a `finally` around them would release it before that "
                       "use; give it back after its last use by hand")


def _observer(runner: str, note: str, expect: bool = False) -> Case:
    return Case(_OBSERVER.format(expect="  # expect: PS102" if expect else ""),
                files={"app/__init__.py": "", "app/runner.py": runner},
                path="app/observer.py", note=note,
                unfixable=_OBSERVER_UNFIXABLE if expect else "")


_RUNNER = """\
from app.observer import Observer


async def run(dsn, work):
    observer = Observer(dsn)
    worker_active = True
    observer.set_check({check})
    await observer.observe()
"""

VALID += [
    _observer(_RUNNER.format(check="lambda: worker_active"),
              "the loop test's callable attribute only holds `lambda: True` and the "
              "lambda the one caller passes, reading a name: it cannot raise"),
    _observer(_RUNNER.format(check="lambda: False"),
              "the caller passes a lambda returning a constant"),
]

INVALID += [
    _observer(_RUNNER.format(check="lambda: work.is_alive()"),
              "look-alike: the lambda passed calls a method, which may raise", expect=True),
    _observer(_RUNNER.format(check="lambda: worker_active")
              + "\n\ndef wire(observer, check):\n    observer._active = check\n",
              "look-alike: another module assigns the attribute a callable of its own",
              expect=True),
    _observer(_RUNNER.format(check="lambda: worker_active")
              + "\n\ndef hooks(observer):\n    return [observer.set_check]\n",
              "look-alike: the setter is handed on as a value: a caller not seen may "
              "pass any callable", expect=True),
    _observer("from app.observer import Observer\n\n\n"
              "async def run(dsn):\n    await Observer(dsn).observe()\n",
              "look-alike kept: the setter is never called by name, which the analysis "
              "does not tell from a caller it cannot see", expect=True),
]

INVALID += [
    Case(_OBSERVER.format(expect="  # expect: PS102").replace(
        """                if conn:
                    try:
                        await conn.close()
                    except Exception:
                        pass
                    conn = None
""", "                conn = None\n"),
         files={"app/__init__.py": "",
                "app/runner.py": _RUNNER.format(check="lambda: worker_active")},
         path="app/observer.py",
         note="look-alike: the handler drops the connection without closing it",
         unfixable=_OBSERVER_UNFIXABLE),
]

# round 39 (miss83): a package helper returns the connection with its cursor, built in the
# return expression (`return conn, conn.cursor()`), used from another module of the package.
_CONNECT_DB = """\
import psycopg2


def connect_db(url):
    conn = psycopg2.connect(url)
    return conn, conn.cursor()
"""

VALID += [
    Case("""
from contextlib import closing

from app.db import connect_db


def closed(url):
    conn, cur = connect_db(url)
    with closing(conn):
        cur.execute("select 1")
        return cur.fetchall()


def in_finally(url):
    conn, cur = connect_db(url)
    try:
        cur.execute("select 1")
        return cur.fetchall()
    finally:
        conn.close()


def onward(url):
    conn, cur = connect_db(url)
    return conn, cur
""", files={"app/__init__.py": "", "app/db.py": _CONNECT_DB}, path="app/views.py",
         note="a cross-module (conn, conn.cursor()) helper: closing(conn), finally, or "
              "the tuple handed on to the caller"),
]

INVALID += [
    Case("""
from app.db import connect_db


def leak(url):
    conn, cur = connect_db(url)  # expect: PS102
    cur.execute("select 1")
    return cur.fetchall()


def early(url, flag):
    conn, cur = connect_db(url)  # expect: PS102
    if flag:
        return None
    conn.close()
""", files={"app/__init__.py": "", "app/db.py": _CONNECT_DB}, path="app/views.py",
         note="look-alike: the cross-module tuple helper's connection is never closed, or "
              "not on the early return"),
]

# Issue 33, round 40 (breadth84; a tune-half Bottle plugin): Bottle's request hooks. A
# `before_request` hook (`@app.hook("before_request")`, bottle's module-level
# `@hook(...)`, `app.add_hook("before_request", f)`) that connects a peewee server
# database opens the request thread's connection; Bottle runs `after_request` hooks
# after every request, also one whose route raised, so a close there gives it back.
# With no such close each thread keeps its connection, as with a Flask
# `before_request` hook and no teardown handler.
_BOTTLE_DB = """\
from peewee import CharField, Model, PostgresqlDatabase

db = PostgresqlDatabase("shop", user="app", host="db")


class Item(Model):
    name = CharField()

    class Meta:
        database = db
"""

VALID += [
    Case("""
from bottle import Bottle

from models import Item, db

app = Bottle()


@app.hook("before_request")
def _connect():
    db.connect()


@app.hook("after_request")
def _close():
    if not db.is_closed():
        db.close()


@app.route("/items")
def items():
    return {"items": [i.name for i in Item.select()]}
""", files={"models.py": _BOTTLE_DB}, path="app.py",
         note="a Bottle before_request hook connects, an after_request hook closes"),
    Case("""
import bottle

from models import db


def open_db():
    db.connect()


def close_db():
    if not db.is_closed():
        db.close()


def install(app: bottle.Bottle) -> None:
    app.add_hook("before_request", open_db)
    app.add_hook("after_request", close_db)
""", files={"models.py": _BOTTLE_DB}, path="hooks.py",
         note="hooks registered with add_hook, the close in a registered after_request hook"),
]

INVALID += [
    Case("""
from bottle import Bottle

from models import Item, db

app = Bottle()


@app.hook("before_request")
def _connect():
    db.connect()  # expect: PS102


@app.route("/items")
def items():
    return {"items": [i.name for i in Item.select()]}
""", files={"models.py": _BOTTLE_DB}, path="app.py", unfixable=_PEEWEE_BY_HAND,
         note="a Bottle before_request hook connects and no after_request hook closes"),
    Case("""
from bottle import hook

from models import db


@hook("before_request")
def _connect():
    if db.is_closed():
        db.connect()  # expect: PS102


@hook("after_request")
def _log():
    print("done")
""", files={"models.py": _BOTTLE_DB}, path="app.py", unfixable=_PEEWEE_BY_HAND,
         note="bottle's module-level hook decorator; the after_request hook does not close"),
    Case("""
import bottle

from models import db


class Plugin:
    def __init__(self, app: bottle.Bottle) -> None:
        app.add_hook("before_request", self.open_db)

    def open_db(self):
        db.connect()  # expect: PS102
""", files={"models.py": _BOTTLE_DB}, path="plugin.py", unfixable=_PEEWEE_BY_HAND,
         note="a method registered with add_hook, and no after_request hook"),
]

# Round 40 (prec84): the callable attribute of prec83's class may also hold a lambda
# that reads a field of the instance it is written in (`lambda: not self._stopped`),
# when the class has no base, defines no method or property of that name, and its
# `__init__` sets the field in its own body: the read finds the field and runs no code.
# A property of that name, a field set only later (not by `__init__`), an attribute of
# another object (`self.worker.active`) or a class with a base may run code or raise.
_FIELD_RUNNER = _RUNNER.format(check="lambda: worker_active")


def _field_observer(init: str, note: str, expect: bool = False, extra: str = "",
                    base: str = "") -> Case:
    code = _OBSERVER.format(expect="  # expect: PS102" if expect else "").replace(
        "        self._active = lambda: True\n", init).replace(
        "    def set_check(self, check):\n", extra + "    def set_check(self, check):\n")
    if base:
        code = code.replace("class Observer:", f"class Observer({base}):")
    return Case(code, files={"app/__init__.py": "", "app/runner.py": _FIELD_RUNNER},
                path="app/observer.py", note=note,
                unfixable=_OBSERVER_UNFIXABLE if expect else "")


_READS_FIELD = ("        self._stopped = False\n"
                "        self._active = lambda: not self._stopped\n")

VALID += [
    _field_observer(_READS_FIELD,
                    "the callable attribute's lambda reads a field `__init__` sets: it "
                    "cannot raise"),
    _field_observer(_READS_FIELD, "a class whose only base is `object`", base="object"),
]

INVALID += [
    _field_observer("        self._active = lambda: not self.stopped\n",
                    "look-alike: the lambda reads a property, which runs code",
                    expect=True,
                    extra="    @property\n    def stopped(self):\n"
                          "        return self._check_stopped()\n\n"),
    _field_observer("        self._active = lambda: not self._stopped\n",
                    "look-alike: `__init__` does not set the field the lambda reads "
                    "(AttributeError until `stop()` sets it)",
                    expect=True,
                    extra="    def stop(self):\n        self._stopped = True\n\n"),
    _field_observer("        self.worker = None\n"
                    "        self._active = lambda: self.worker.active\n",
                    "look-alike: the lambda reads an attribute of another object",
                    expect=True),
    _field_observer(_READS_FIELD, "look-alike: the class has a library base, which may define "
                    "the name as a property", expect=True, base="logging.Filterer"),
]

# Round 40 (lead84, from large84's held census): a scoped_session registry made in the
# function holds nothing until its session first works: asking the registry's store
# (`Session.registry.has()`) and calling the registry with keywords for its factory
# (`Session(bind=engine)`) make no connection, so an exception there leaks nothing; work
# on the session before the `try` that closes it still counts.
_SCOPED_BEFORE_TRY = """\
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def rebuild(rows):
    Session = scoped_session(sessionmaker())@MARK@
@BEFORE@    if Session.registry.has():
        session = Session()
    else:
        session = Session(bind=engine)
    try:
        session.execute(text("DELETE FROM staging"))
        session.commit()
    finally:
        session.close()
        Session.remove()
"""

VALID += [
    Case(_SCOPED_BEFORE_TRY.replace("@MARK@", "").replace("@BEFORE@", ""),
         note="the registry's store asked and the registry called with `bind=` before the "
              "`try`: no session has worked yet, nothing is checked out"),
]

INVALID += [
    Case(_SCOPED_BEFORE_TRY.replace("@MARK@", "  # expect: PS102").replace(
        "@BEFORE@", '    Session.configure(bind=engine)\n'
                    '    Session.execute(text("LOCK TABLE staging"))\n'),
        unfixable="`Session` is stored",
        note="look-alike: the registry's session works before the `try`; if that raises, "
             "its connection is not given back"),
]

# Round 41 (lead85): the session a function-local scoped_session registry hands out
# (`session = Session()`) is the function's own session: it is followed under that name.
# Its `close()`, the registry's `remove()` or a `with Session() as s:` block releases it;
# work on it with no release on an exception path is reported at the call that drew it.
_DRAWN_SESSION = """\
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def archive(batch):
    Session = scoped_session(sessionmaker(bind=engine))
@BODY@"""

VALID += [
    Case(_DRAWN_SESSION.replace("@BODY@", """\
    session = Session()
    try:
        session.execute(text("INSERT INTO archive SELECT * FROM live"))
        session.commit()
    finally:
        Session.remove()
"""), note="the registry's `remove()` in the `finally` closes the session drawn from it"),
    Case(_DRAWN_SESSION.replace("@BODY@", """\
    session = Session()
    try:
        session.execute(text("INSERT INTO archive SELECT * FROM live"))
        session.commit()
    finally:
        session.close()
"""), note="the drawn session closed in the `finally`: the registry holds nothing after "
           "it (no `remove()` needed for a registry the function drops)"),
    Case(_DRAWN_SESSION.replace("@BODY@", """\
    with Session() as session:
        session.execute(text("INSERT INTO archive SELECT * FROM live"))
        session.commit()
"""), note="`with Session() as session:` on the registry closes its session at the exit"),
    Case(_DRAWN_SESSION.replace("@BODY@", """    session = Session()
    try:
        session = Session()
        session.execute(text("INSERT INTO archive SELECT * FROM live"))
        session.commit()
    finally:
        session.close()
"""), note="the registry called again hands out the same session: nothing is overwritten, "
           "and the `finally` closes it"),
]

INVALID += [
    Case(_DRAWN_SESSION.replace("@BODY@", """\
    session = Session()  # expect: PS102
    session.execute(text("INSERT INTO archive SELECT * FROM live"))
    session.commit()
    session.close()
    Session.remove()
"""), unfixable="a release of `session` the fix cannot move into `finally`",
         note="the drawn session works with no `try`: an error in the INSERT skips both "
              "releases"),
]

INVALID += [
    Case(_DRAWN_SESSION.replace(
        "    Session = scoped_session(sessionmaker(bind=engine))\n", "").replace("@BODY@", """\
    SessionFactory = sessionmaker(bind=engine)
    session = SessionFactory()  # expect: PS102
    session.execute(text("SELECT 1"))
    session = SessionFactory()
    try:
        session.execute(text("INSERT INTO archive SELECT * FROM live"))
        session.commit()
    finally:
        session.close()
"""), unfixable="`session` is rebound",
         note="look-alike: a sessionmaker (not a registry) called again makes a second "
              "session; the first, which has worked, is lost still checked out"),
]

# Issue 33, round 41 (breadth85; round 40's open miss, tune shape of a configuration-driven
# database manager): a peewee database whose class is chosen from configuration --
# `getattr(peewee, cfg["engine"])`, a dict literal of database classes subscripted (or
# `.get()`) by a configured name -- may be a server database, as a name bound in several
# places is tracked when one of its bindings is one.
_CONFIGURED_CLASS = """\
import os

import peewee
from peewee import MySQLDatabase, PostgresqlDatabase, SqliteDatabase
from playhouse.sqlite_ext import SqliteExtDatabase

SETTINGS = {"engine": os.environ.get("DB_ENGINE", "PostgresqlDatabase"), "name": "shop"}
BACKENDS = {"postgres": PostgresqlDatabase, "mysql": MySQLDatabase, "sqlite": SqliteDatabase}
FILES = {"plain": SqliteDatabase, "ext": SqliteExtDatabase}

@BIND@


def count_orders():
    db.connect()@MARK@
    row = db.execute_sql("SELECT count(*) FROM orders").fetchone()
    db.close()
    return row
"""


def _configured(bind: str, mark: str = "") -> str:
    return _CONFIGURED_CLASS.replace("@BIND@", bind).replace("@MARK@", mark)


INVALID += [
    Case(_configured('db_class = getattr(peewee, SETTINGS["engine"])\n'
                     'db = db_class(SETTINGS["name"], host="db")', "  # expect: PS102"),
         unfixable=_PEEWEE_BY_HAND,
         note="the class is `getattr(peewee, <configured name>)`: the configuration may "
              "pick a server database, whose connect() the exception leaves open"),
    Case(_configured('db = BACKENDS[SETTINGS["engine"]](SETTINGS["name"])', "  # expect: PS102"),
         unfixable=_PEEWEE_BY_HAND,
         note="a dict literal of peewee database classes, a server one among them, "
              "subscripted by a configured name"),
    Case(_configured('db = BACKENDS.get(os.environ["DB_KIND"], PostgresqlDatabase)("shop")',
                     "  # expect: PS102"),
         unfixable=_PEEWEE_BY_HAND,
         note="the same table read with `.get()`"),
    Case(_configured('db = getattr(peewee, "MySQLDatabase")("shop")', "  # expect: PS102"),
         unfixable=_PEEWEE_BY_HAND,
         note="`getattr` with a literal that names a server database class"),
]

VALID += [
    Case(_configured('db = FILES[SETTINGS["engine"]]("shop.db")'),
         note="look-alike: every class of the table is a SQLite database (a file, not tracked)"),
    Case(_configured('db = getattr(peewee, "SqliteDatabase")("shop.db")'),
         note="look-alike: the literal names peewee's SQLite database"),
    Case(_configured('db = getattr(os, SETTINGS["engine"])("shop")'),
         note="look-alike: `getattr` on a module that holds no peewee database"),
    Case(_CONFIGURED_CLASS.split("\n\n\ndef ")[0].replace(
        "@BIND@", 'db_class = getattr(peewee, SETTINGS["engine"])\ndb = db_class("shop")')
         + "\n\n\ndef count_orders():\n    with db.connection_context():\n"
           "        return db.execute_sql(\"SELECT count(*) FROM orders\").fetchone()\n",
         note="a configured class's database used inside `connection_context()`"),
]

# Round 41 (fresh85, from its tune half): a direct connection of a synchronous driver
# opened on each turn of a loop in one-shot code (a script's `main()` that only the
# `__main__` block calls) and never closed: the next turn's assignment drops the last
# reference and reference counting closes the old one, as the rule's "Direct
# connections" says; a handler in the loop that prints and goes on keeps it only until
# that next turn. The same loop in a task that runs more than once, and a pool's
# checkout taken on each turn, stay reported.
_ONE_SHOT_ROW_COPY = """\
import pymysql


def copy_rows():
    source = pymysql.connect(host="src", user="etl", db="shop")
    with source.cursor() as cur:
        cur.execute("SELECT id, name FROM items")
        for item_id, name in cur.fetchall():
            target = pymysql.connect(host="dst", user="etl", db="shop")@MARK@
            try:
                with target.cursor() as out:
                    out.execute("INSERT INTO items (id, name) VALUES (%s, %s)", (item_id, name))
                target.commit()
            except pymysql.Error as exc:
                print("skipped", item_id, exc)
    source.close()
@RUNNER@"""

VALID += [
    Case(_ONE_SHOT_ROW_COPY.replace("@MARK@", "").replace(
        "@RUNNER@", '\n\nif __name__ == "__main__":\n    copy_rows()\n'),
         note="a one-shot script's loop opens a pymysql connection per row and never "
              "closes it: each turn's assignment drops the last one, which CPython closes"),
]

INVALID += [
    Case("""\
import pymysql
from celery import Celery

app = Celery("etl")


@app.task
def copy_rows():
    source = pymysql.connect(host="src", user="etl", db="shop")
    try:
        with source.cursor() as cur:
            cur.execute("SELECT id, name FROM items")
            rows = cur.fetchall()
    finally:
        source.close()
    for item_id, name in rows:
        target = pymysql.connect(host="dst", user="etl", db="shop")  # expect: PS102
        try:
            with target.cursor() as out:
                out.execute("INSERT INTO items (id, name) VALUES (%s, %s)", (item_id, name))
            target.commit()
        except pymysql.Error as exc:
            print("skipped", item_id, exc)
""", note="look-alike: the same loop in a Celery task, which a worker runs again and again"),
    Case("""\
from psycopg2.pool import SimpleConnectionPool

POOL = SimpleConnectionPool(1, 4, "dbname=shop")


def refresh(names):
    for name in names:
        conn = POOL.getconn()  # expect: PS102
        with conn.cursor() as cur:
            cur.execute("UPDATE items SET seen = now() WHERE name = %s", (name,))
        conn.commit()


if __name__ == "__main__":
    refresh(["a", "b"])
""", note="look-alike: a pool's checkout taken on each turn of a one-shot loop and never "
          "given back: the pool's slots run out after four rows"),
]

# Round 41 (lead85, from fresh85's held census): a session handed to a project object
# that dies with the function (a temporary reached through at once, or a local bound once
# and only reached through) is still the function's to close: the object only stores
# it. An object that is returned or stored, or whose class closes what it stores (a
# `close()` method, a context manager), has taken the session on.
_LOCAL_HOLDER = """\
from datetime import date

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

app = Flask(__name__)
engine = create_engine("postgresql://db/app", pool_pre_ping=True)


class Listing:
    def __init__(self, day, session):
        self.day = day
        self.session = session

    def rows(self):
        return self.session.execute(text("SELECT * FROM guide")).all()
@EXTRA@

@app.get("/guide")
def guide():
@BODY@"""

INVALID += [
    Case(_LOCAL_HOLDER.replace("@EXTRA@", "").replace("@BODY@", """\
    session = Session(engine)  # expect: PS102
    return {"rows": len(Listing(date.today(), session).rows())}
"""), unfixable="`session` is returned",
         note="a temporary object that only stores the session, reached through once"),
    Case(_LOCAL_HOLDER.replace("@EXTRA@", "").replace("@BODY@", """\
    session = Session(engine)  # expect: PS102
    listing = Listing(date.today(), session)
    return {"rows": len(listing.rows())}
"""), unfixable="`session` is handed to `Listing`",
         note="a local object bound once and only reached through"),
]

VALID += [
    Case(_LOCAL_HOLDER.replace("@EXTRA@", """
    def close(self):
        self.session.close()
""").replace("@BODY@", """\
    session = Session(engine)
    listing = Listing(date.today(), session)
    try:
        return {"rows": len(listing.rows())}
    finally:
        listing.close()
"""), note="look-alike: the class closes what it stores, and the route calls it"),
    Case(_LOCAL_HOLDER.replace("@EXTRA@", "").replace("@BODY@", """\
    session = Session(engine)
    return Listing(date.today(), session)
""").replace('@app.get("/guide")\n', ""),
         note="look-alike: the object is returned with the session: its caller's to close"),
]

# issue 31, round 41 (prec85b): a project base class whose `close()` gives the
# connection back, a subclass that checks out in `__enter__` / `__init__` and releases
# in `__exit__` through the base (`self.close()`, `super().close()`, or an `__exit__`
# the base defines): read as the subclass's own release. A call that may raise before
# `self.close()` in the subclass's `__exit__` skips it, as before `pool.putconn(...)`.
_BASE_RELEASE = """\
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, "dbname=shop")


class Repo:
    def close(self):
        pool.putconn(self.conn)


class Orders(Repo):
    def __enter__(self):
        self.conn = pool.getconn()@MARK@
        return self

    def __exit__(self, *exc):
@EXIT@

    def count(self):
        cur = self.conn.cursor()
        cur.execute("SELECT count(*) FROM orders")
        return cur.fetchone()[0]


def report():
    with Orders() as repo:
        return repo.count()
"""

VALID += [
    Case(_BASE_RELEASE.replace("@MARK@", "").replace("@EXIT@", "        self.close()"),
         note="the subclass's `__exit__` gives the connection back through the base's close()"),
    Case(_BASE_RELEASE.replace("@MARK@", "").replace("@EXIT@", "        super().close()"),
         note="through `super().close()`"),
    Case(_BASE_RELEASE.replace("@MARK@", "").replace(
        "@EXIT@", "        try:\n            self.conn.commit()\n        finally:\n"
                  "            self.close()"),
         note="a commit before the base's close(), which a `finally` holds"),
    Case("""\
import psycopg2

from app.base import Repo


class Orders(Repo):
    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)

    def __enter__(self):
        return self

    def count(self):
        cur = self.conn.cursor()
        cur.execute("SELECT count(*) FROM orders")
        return cur.fetchone()[0]


def report(dsn):
    with Orders(dsn) as repo:
        return repo.count()
""", files={"app/__init__.py": "", "app/base.py": """\
class Repo:
    def close(self):
        self.conn.close()

    def __exit__(self, *exc):
        self.close()
"""}, path="app/orders.py",
         note="a direct connection opened in the subclass's `__init__`, closed by the "
              "base's `__exit__` in another module"),
]

INVALID += [
    Case(_BASE_RELEASE.replace("@MARK@", "  # expect: PS102").replace(
        "@EXIT@", "        self.conn.commit()\n        self.close()"),
         note="look-alike: a commit before the base's close() outside a `finally`: a "
              "failed commit skips the release"),
]

# Issue 33, round 42 (breadth86's tune half: a peewee integration's own unittest): the
# database is an attribute of a project object, and the object's method closes it
# (`self.database.close()`): a call of that method on the same object after the connect
# is the release, as `holder.database.close()` would be.
_HOLDER_METHOD = """\
import os

from playhouse.db_url import connect


class Gateway:
    def __init__(self, database=None):
        if database is None:
            database = connect(os.environ["DATABASE_URL"])
        self.database = database

    def done(self, result):
        if not self.database.is_closed():
            self.database.close()
        return result


gateway = Gateway()


def lookup(key):
@BODY@
"""

VALID += [
    Case(_HOLDER_METHOD.replace("@BODY@", """\
    gateway.database.connect()
    return gateway.done(key)"""),
         note="the holder's method that closes its database ends the connection, with "
              "nothing in between"),
    Case(_HOLDER_METHOD.replace("@BODY@", """\
    gateway.database.connect()
    try:
        row = gateway.database.execute_sql("SELECT 1").fetchone()
    finally:
        gateway.done(None)
    return row"""),
         note="the holder's closing method in a `finally`"),
]

# issue 31, round 42 (prec86b): the object that stores the session hands it to helper
# functions (a module function, a model's class method) that only run work on it: the
# session stays the object's, which dies with the function, unclosed
_LENT_HOLDER = """\
from datetime import date

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

app = Flask(__name__)
engine = create_engine("postgresql://db/app", pool_pre_ping=True)
@HELPER@

class Guide:
    def __init__(self, day, session):
        self.day = day
        self.session = session

    def rows(self):
        return @CALL@


@app.get("/guide")
def guide():
    session = Session(engine)  @MARK@
    return {"rows": len(Guide(date.today(), session).rows())}
"""

INVALID += [
    Case(_LENT_HOLDER.replace("@HELPER@", """

def active_rows(session):
    return session.execute(text("SELECT * FROM shows WHERE active")).all()
""").replace("@CALL@", "active_rows(self.session)").replace("@MARK@", "# expect: PS102"),
         unfixable="`session` is returned",
         note="the object hands the session to a helper that only executes on it"),
    Case(_LENT_HOLDER.replace("@HELPER@", """

class Show:
    @classmethod
    def active(cls, session):
        return session.query(cls).filter_by(active=True).all()
""").replace("@CALL@", "Show.active(self.session)").replace("@MARK@", "# expect: PS102"),
         unfixable="`session` is returned",
         note="through a model's class method that only queries on it"),
]

VALID += [
    Case(_LENT_HOLDER.replace("@HELPER@", """

def active_rows(session):
    rows = session.execute(text("SELECT * FROM shows WHERE active")).all()
    session.close()
    return rows
""").replace("@CALL@", "active_rows(self.session)").replace("  @MARK@", ""),
         note="look-alike: the helper closes the session it is handed"),
    Case(_LENT_HOLDER.replace("@HELPER@", """
OPEN = []


def active_rows(session):
    OPEN.append(session)
    return session.execute(text("SELECT * FROM shows WHERE active")).all()
""").replace("@CALL@", "active_rows(self.session)").replace("  @MARK@", ""),
         note="look-alike: the helper keeps the session it is handed"),
]

# issue 31, round 42 (prec86b): a session (or pooled connection) an object opens in
# `__init__` and never closes, where every object of the class dies with the function
# that made it; and the local-holder check reads only the methods the function runs
_INIT_HOLDER = """\
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

app = Flask(__name__)
SessionLocal = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def active_rows(session):
    return session.execute(text("SELECT * FROM shows WHERE active")).all()


class Guide:
    def __init__(self, day):
        self.day = day
        self.session = SessionLocal()  @MARK@

    def rows(self):
        return active_rows(self.session)
@EXTRA@
@USE@"""

_INIT_ROUTE = """
@app.get("/guide")
def guide():
    return {"rows": len(Guide("mon").rows())}
"""

INVALID += [
    Case(_INIT_HOLDER.replace("@MARK@", "# expect: PS102").replace("@EXTRA@", "")
         .replace("@USE@", _INIT_ROUTE),
         unfixable="the session is kept on `self` by `__init__` and the object is dropped "
                   "by its callers: give the class a `close()` and call it, by hand",
         note="the object opens its session in `__init__`, hands it to a helper that only "
              "executes on it, and the route drops the object with the session"),
    Case("""\
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, "dbname=shop")


class Orders:
    def __init__(self):
        self.conn = pool.getconn()  # expect: PS102

    def count(self):
        cur = self.conn.cursor()
        cur.execute("SELECT count(*) FROM orders")
        return cur.fetchone()[0]


def report():
    orders = Orders()
    return orders.count()
""", unfixable="the session is kept on `self` by `__init__` and the object is dropped "
               "by its callers: give the class a `close()` and call it, by hand",
         note="a pool checkout kept by the object, which a local bound once drops"),
    Case(_LENT_HOLDER.replace("@HELPER@", "").replace("@CALL@", "self.session.execute("
                                                      "text(\"SELECT 1\")).all()")
         .replace("@MARK@", "# expect: PS102").replace(
             '    return {"rows": len(Guide(date.today(), session).rows())}',
             '    guide = Guide(date.today(), session)\n'
             '    return {"rows": len(guide.rows())}'),
         unfixable="`session` is handed to `Guide`",
         note="the route's local has the route's own name (`guide = Guide(...)` in `def "
              "guide()`): the name of the `def` is no use of the local"),
    Case(_LENT_HOLDER.replace("@HELPER@", "\nfrom app.audit import audit\n")
         .replace("@CALL@", "self.session.execute(text(\"SELECT 1\")).all()\n\n"
                            "    def archive(self):\n"
                            "        audit(self.session)")
         .replace("@MARK@", "# expect: PS102"),
         files={"app/__init__.py": "", "app/audit.py": "def audit(session):\n"
                                                       "    session.close()\n"},
         unfixable="`session` is returned",
         note="a method that may hand the session on exists, but the route never runs it"),
]

VALID += [
    Case(_INIT_HOLDER.replace("  @MARK@", "").replace("@EXTRA@", """
    def close(self):
        self.session.close()
""").replace("@USE@", """
@app.get("/guide")
def guide():
    g = Guide("mon")
    try:
        return {"rows": len(g.rows())}
    finally:
        g.close()
"""), note="look-alike: the class closes its session and the route calls it in `finally`"),
    Case(_INIT_HOLDER.replace("  @MARK@", "").replace("@EXTRA@", "").replace("@USE@", """
GUIDE = Guide("mon")


@app.get("/guide")
def guide():
    return {"rows": len(GUIDE.rows())}
"""), note="look-alike: one object for the process, made at module level"),
    Case(_INIT_HOLDER.replace("  @MARK@", "").replace("@EXTRA@", "").replace("@USE@", """
def make_guide(day):
    return Guide(day)
"""), note="look-alike: the object is returned: its caller's to close"),
    Case(_INIT_HOLDER.replace("  @MARK@", "").replace("@EXTRA@", "").replace("@USE@", """
def main():
    print(len(Guide("mon").rows()))


if __name__ == "__main__":
    main()
"""), note="look-alike: only a script's `main()` makes the object: one session per run"),
]


# Helper prec86a, round 42 (issue 31, large85's classes): a SQLAlchemy session gives its
# connection back when `commit()` ends its transaction, so a loop that makes a new session
# each turn after the last turn committed loses none when it rebinds the name; `with
# conn.execution_options(...) as conn:` enters the connection itself (SQLAlchemy 2.0 returns
# the same Connection) and its exit closes it; a connect-retry `while` loop that `break`s
# once `connect()` succeeds keeps a click command one-shot; a session that has run nothing
# before an early `return` holds no connection there.

VALID += [
    Case('''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from models import Plant

engine = create_engine("postgresql://db/grid", pool_pre_ping=True)
Session = sessionmaker(bind=engine)


def load(batches):
    session = None
    try:
        for batch in batches:
            session = Session()
            session.add_all([Plant(name=name) for name in batch])
            session.commit()
    finally:
        if session is not None:
            session.close()
''', files={"models.py": "class Plant:\n    def __init__(self, name):\n        self.name = name\n"},
         note="each turn's session is committed before the next turn rebinds the name; "
              "the last one is closed in `finally`"),
    Case('''import click
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError


@click.command()
def create_database():
    engine = create_engine("postgresql://admin@db/postgres", pool_pre_ping=True)
    while True:
        try:
            conn = engine.connect()
            break
        except OperationalError:
            click.echo("waiting for the database")
    with conn.execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text('CREATE DATABASE "inventory"'))
''',
         note="`with conn.execution_options(...) as conn:` closes the connection on exit; "
              "the connect-retry loop runs once per command"),
    Case('''from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def run_report(query):
    session = Session()
    if not query.strip():
        return []
    try:
        return session.execute(text(query)).all()
    finally:
        session.close()
''',
         note="the early `return` comes before the session's first statement: it holds "
              "no connection there"),
]

INVALID += [
    Case('''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from models import Plant

engine = create_engine("postgresql://db/grid", pool_pre_ping=True)
Session = sessionmaker(bind=engine)


def load(batches):
    session = None
    try:
        for batch in batches:
            session = Session()  # expect: PS102
            session.add_all([Plant(name=name) for name in batch])
            session.commit()
            print(session.query(Plant).count())
    finally:
        if session is not None:
            session.close()
''', files={"models.py": "class Plant:\n    def __init__(self, name):\n        self.name = name\n"},
         note="look-alike: a query after the commit checks a connection out again "
              "before the next turn rebinds the name"),
    Case('''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from models import Plant

Session = sessionmaker(bind=create_engine("postgresql://db/grid", pool_pre_ping=True))


def load(batches):
    session = None
    try:
        for batch in batches:
            session = Session()  # expect: PS102
            session.add_all([Plant(name=name) for name in batch])
            if batch:
                session.commit()
    finally:
        if session is not None:
            session.close()
''', files={"models.py": "class Plant:\n    def __init__(self, name):\n        self.name = name\n"},
         note="look-alike: the commit is skipped on some turns"),
    Case('''from sqlalchemy import create_engine, text

engine = create_engine("postgresql://admin@db/postgres", pool_pre_ping=True)


def create_database(name):
    conn = engine.connect()  # expect: PS102
    with conn.execution_options(isolation_level="AUTOCOMMIT").begin():
        conn.execute(text(f'CREATE DATABASE "{name}"'))
''',
         note="look-alike: `with conn.execution_options(...).begin():` only ends the "
              "transaction; the connection stays open"),
    Case('''from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def run_report(query):
    session = Session()  # expect: PS102
    limit = session.execute(text("SELECT report_limit FROM settings")).scalar()
    if not query.strip():
        return []
    try:
        return session.execute(text(query)).all()[:limit]
    finally:
        session.close()
''',
         note="look-alike: the session ran a query before the early `return`"),
    Case('''from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def run(statement):
    conn = engine.connect()  # expect: PS102
    if not statement.strip():
        return None
    try:
        return conn.execute(text(statement)).all()
    finally:
        conn.close()
''',
         note="look-alike: `engine.connect()` holds its connection from the start"),
]


# Helper prec87, round 43 (prec86a's left class): a session the function closes itself in
# the `finally` of each round of a loop. A loop that runs zero times leaves a session that
# never ran a statement: a SQLAlchemy `Session` checks out nothing until then, so that
# path holds no connection. A connection taken at once (`engine.connect()`) keeps it.

VALID += [
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Session = sessionmaker(bind=engine)


def count_rows(tables):
    session = Session()
    for table in tables:
        try:
            print(table, session.scalar(text(f"SELECT count(*) FROM {table}")))
        finally:
            session.close()
""", note="an empty loop leaves a session that never checked out a connection"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)


def count_rows(tables):
    conn = engine.connect()  # expect: PS102
    for table in tables:
        try:
            print(table, conn.scalar(text(f"SELECT count(*) FROM {table}")))
        finally:
            conn.close()
""", note="look-alike: `engine.connect()` checks out at once; an empty loop leaves it held",
         unfixable="`conn` is released inside a loop"),
]

# A direct connection opened and never named: `cur = get_connection().cursor()` holds
# it through its cursor alone, as a helper's returned cursor does (round 43, fresh87).
_CHAINED_CURSOR_BY_HAND = ("the name holds a cursor of the connection the helper opened, "
                           "and the helper may also be called where the cursor is closed "
                           "another way: add `<cursor>.connection.close()` in a `finally` "
                           "by hand")
_CHAINED_CURSOR_APP = '''
import psycopg2
from flask import Flask

app = Flask(__name__)


def open_db():
    return psycopg2.connect("dbname=garage")


@app.route("/bays")
def bays():
'''
INVALID += [
    Case(_CHAINED_CURSOR_APP + '''\
    cur = open_db().cursor()  # expect: PS102
    cur.execute("SELECT id, label FROM bays")
    return {"bays": cur.fetchall()}
''', unfixable=_CHAINED_CURSOR_BY_HAND,
         note="the connection is reached only through the cursor of one chained call and "
              "never closed: one server connection per request until a collection"),
    Case('''
import psycopg2


def tally(dsn):
    cur = psycopg2.connect(dsn).cursor()  # expect: PS102
    cur.execute("SELECT count(*) FROM visits")
    return cur.fetchone()[0]
''', unfixable=_CHAINED_CURSOR_BY_HAND,
         note="`psycopg2.connect(dsn).cursor()`: nothing names the connection, nothing "
              "closes it"),
]
VALID += [
    Case(_CHAINED_CURSOR_APP + '''\
    cur = open_db().cursor()
    try:
        cur.execute("SELECT id, label FROM bays")
        return {"bays": cur.fetchall()}
    finally:
        cur.connection.close()
''', note="the cursor's connection is closed in a `finally`"),
    Case(_CHAINED_CURSOR_APP + '''\
    cur = open_db().cursor()
    cur.execute("SELECT id, label FROM bays")
    rows = cur.fetchall()
    cur.connection.close()
    return {"bays": rows}
''', note="closed on the normal path: an exception-only gap of a direct connection held "
          "in a local (see 'Direct connections')"),
]
INVALID.append(Case(_CHAINED_CURSOR_APP + '''\
    cur = open_db().cursor()  # expect: PS102
    cur.execute("SELECT id, label FROM bays")
    rows = cur.fetchall()
    cur.close()
    return {"bays": rows}
''', unfixable=_CHAINED_CURSOR_BY_HAND,
    note="look-alike: `cur.close()` closes the cursor, not the connection it carries"))

_READING_MODELS = {"models.py": "class Reading:\n    def __init__(self, value):\n"
                                 "        self.value = value\n"}

# policy87: a SQLAlchemy session whose last act on a path is a successful `commit()` holds
# no connection there (benchmarks/policy87_gc_reclaim.py: 0 slots held after such a
# commit on SQLite, PostgreSQL and MariaDB), so leaving it unclosed on that path loses
# nothing; a failing commit still leaves one checked out until the garbage collector runs.
VALID += [
    Case('''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from models import Reading

Session = sessionmaker(bind=create_engine("postgresql://db/meters", pool_pre_ping=True))


def record(values):
    session = Session()
    try:
        for value in values:
            session.add(Reading(value=value))
        session.commit()
    except Exception:
        session.rollback()
        session.close()
        raise
''', files=_READING_MODELS,
         note="the only path without a close follows a successful commit: nothing held"),
    Case('''from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from models import Reading

engine = create_async_engine("postgresql+asyncpg://db/meters", pool_pre_ping=True)
Session = async_sessionmaker(engine)


async def record(value):
    session = Session()
    try:
        session.add(Reading(value=value))
        await session.commit()
    except BaseException:
        await session.close()
        raise
    return None
''', files=_READING_MODELS,
         note="async: after `await session.commit()` only `return None` runs"),
]

INVALID += [
    Case('''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from models import Reading

Session = sessionmaker(bind=create_engine("postgresql://db/meters", pool_pre_ping=True))


def record(values):
    session = Session()  # expect: PS102
    for value in values:
        session.add(Reading(value=value))
    session.commit()
''', files=_READING_MODELS,
         note="look-alike: a failing commit leaves the connection checked out (exception path)"),
    Case('''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from models import Reading

Session = sessionmaker(bind=create_engine("postgresql://db/meters", pool_pre_ping=True))


def record(value):
    session = Session()  # expect: PS102
    try:
        reading = Reading(value=value)
        session.add(reading)
        session.commit()
    except Exception:
        session.close()
        raise
    return reading.value
''', files=_READING_MODELS,
         note="look-alike: reading an expired attribute after the commit loads it again "
              "through the session, which checks a connection out"),
]

VALID += [
    Case('''import sqlalchemy as sa
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()


class Row(Base):
    __tablename__ = "rows"
    id = sa.Column(sa.Integer, primary_key=True)
    station = sa.Column(sa.String)


class Index:
    def __init__(self, url):
        self.engine = sa.create_engine(url)
        self.session = sessionmaker(bind=self.engine)

    def summary_cte(self):
        session = self.session()
        return session.query(Row.station, sa.func.count(Row.id)).group_by(Row.station).cte("s")
''', note="the session only builds a CTE: it runs nothing and checks out no connection"),
]

INVALID += [
    Case('''import sqlalchemy as sa
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()


class Row(Base):
    __tablename__ = "rows"
    id = sa.Column(sa.Integer, primary_key=True)
    station = sa.Column(sa.String)


class Index:
    def __init__(self, url):
        self.engine = sa.create_engine(url)
        self.session = sessionmaker(bind=self.engine)

    def summary(self):
        session = self.session()  # expect: PS102
        cte = session.query(Row.station, sa.func.count(Row.id)).group_by(Row.station).cte("s")
        return session.query(cte).all()
''', note="look-alike: the same session then runs a query on the CTE and keeps its connection"),
]

VALID += [
    Case('''import psycopg2


class Store:
    def __init__(self, dsn):
        self.dsn = dsn

    def __enter__(self):
        self.conn = psycopg2.connect(self.dsn)
        return self

    def __exit__(self, *exc):
        self.conn.commit()
        self.conn.close()


def save(dsn, rows):
    with Store(dsn) as store:
        with store.conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s)", rows)
''', note="a direct connection on an object made only in a `with`: a failed commit skips "
              "close(), and reference counting closes it once the caller's except is done "
              "(policy88)"),
    Case('''import psycopg2


class Store:
    def __init__(self, dsn):
        self.dsn = dsn

    def __enter__(self):
        self.conn = psycopg2.connect(self.dsn)
        self.conn.set_session(autocommit=True)
        return self

    def __exit__(self, *exc):
        self.conn.close()


def count(dsn):
    with Store(dsn) as store:
        with store.conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM t")
            return cur.fetchone()[0]
''', note="a direct connection set up in __enter__ of an object made only in a `with`: a "
              "failing set-up leaves it to reference counting (policy88)"),
]

INVALID += [
    Case('''import psycopg2


class Store:
    def __init__(self, dsn):
        self.dsn = dsn

    def __enter__(self):
        self.conn = psycopg2.connect(self.dsn)  # expect: PS102
        return self

    def __exit__(self, *exc):
        self.conn.commit()
        self.conn.close()


STORE = Store("dbname=app")


def save(rows):
    with STORE as store:
        with store.conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s)", rows)
''', note="look-alike: the object is a module global, so a failed commit leaves its "
              "connection open for the life of the process"),
    Case('''import psycopg2


class Store:
    def __init__(self, dsn):
        self.dsn = dsn

    def __enter__(self):
        self.conn = psycopg2.connect(self.dsn)  # expect: PS102
        return self

    def __exit__(self, *exc):
        self.conn.commit()
        self.conn.close()


def save(dsn, rows):
    with Store(dsn) as store:
        with store.conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s)", rows)
''', files=_STRICT, note="`direct-connections = \"strict\"`: the object's exception-only gap "
                          "is reported too"),
    Case('''from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app")


class Store:
    def __enter__(self):
        self.conn = engine.connect()  # expect: PS102
        return self

    def __exit__(self, *exc):
        self.conn.commit()
        self.conn.close()


def save(rows):
    with Store() as store:
        for row in rows:
            store.conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": row})
''', note="look-alike: a SQLAlchemy connection on the object stays checked out of the pool "
              "until the garbage collector runs (measured)"),
]

VALID += [
    Case('''from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def record(value):
    conn = engine.connect()
    try:
        conn.execute(text("INSERT INTO readings VALUES (:v)"), {"v": value})
        conn.commit()
    except Exception:
        conn.close()
        raise
''', note="a sync Connection whose last act is a successful commit() holds no transaction: "
              "reference counting gives it back at return (measured, policy88)"),
]

INVALID += [
    Case('''from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


def record(value):
    conn = engine.connect()  # expect: PS102
    try:
        conn.execute(text("INSERT INTO readings VALUES (:v)"), {"v": value})
        conn.commit()
        count = conn.execute(text("SELECT count(*) FROM readings")).scalar()
    except Exception:
        conn.close()
        raise
    return count
''', note="look-alike: a query after the commit begins a new transaction, dropped open: "
              "checked out until the garbage collector runs"),
    Case('''from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/app", pool_pre_ping=True)


async def record(value):
    conn = await engine.connect()  # expect: PS102
    try:
        await conn.execute(text("INSERT INTO readings VALUES (:v)"), {"v": value})
        await conn.commit()
    except Exception:
        await conn.close()
        raise
''', note="look-alike: an AsyncConnection dropped after its commit was not measured; "
              "it stays reported"),
]

# A flag set `True` before the checkout and `False` only where the connection is
# false (`if conn: ... else: success = False`, the helper returning `False` when it
# fails): `if success: conn.close()` closes it on every path that holds it
# (round 44, fresh88).
_MIRROR_FLAG = """
import psycopg2
from flask import Flask, jsonify, request

app = Flask(__name__)


def get_connection():
    try:
        return psycopg2.connect(dbname="directory")
    except Exception as e:
        print(e)
        return False


@app.route("/people", methods=["POST"])
def people():
    success = True
    data = []
@BEFORE@
    conn = get_connection()@MARK@
    if conn:
        state = "connected"
    else:
        state = "no database"
        success = False
    print(state)
    if success:
        cur = conn.cursor()
        cur.execute("SELECT name FROM people")
        data = cur.fetchall()
        conn.close()
    return jsonify(success=success, data=data)
"""
VALID.append(Case(_MIRROR_FLAG.replace("@BEFORE@", "").replace("@MARK@", ""),
                  note="`success` is false only where get_connection() gave False: "
                       "`if success:` closes every connection the route holds"))
INVALID += [
    Case(_MIRROR_FLAG.replace("@BEFORE@", "    if not request.is_json:\n        success = False")
         .replace("@MARK@", "  # expect: PS102"),
         note="look-alike: the flag may be false before the checkout, where the connection "
              "is open and `if success:` skips the close"),
    Case(_MIRROR_FLAG.replace("@BEFORE@", "").replace("@MARK@", "  # expect: PS102").replace(
        "        state = \"connected\"\n",
        "        state = \"connected\"\n        if not request.is_json:\n"
        "            success = False\n"),
         note="look-alike: the flag turns false where the connection is held"),
]

VALID += [
    Case('''import MySQLdb


class Base:
    def __init__(self, connection, name):
        self.connection = connection
        self.name = name

    def close(self):
        self.connection.close()


class Connection(Base):
    def __init__(self, host, name):
        connection = MySQLdb.connect(host=host, database=name)
        Base.__init__(self, connection, name)
        self.connection.autocommit(True)
''', note="the base class's `__init__` stores the connection on the instance, whose "
          "`close()` closes it: handed on, as `self.connection = connection` would be"),
    Case('''import psycopg2


class Base:
    def __init__(self, connection):
        self.connection = connection

    def close(self):
        self.connection.close()


class Connection(Base):
    def __init__(self, dsn):
        conn = psycopg2.connect(dsn)
        super().__init__(conn)
''', note="the same through `super().__init__(conn)`"),
]

INVALID += [
    Case('''import MySQLdb


class Base:
    def __init__(self, connection, name):
        self.name = name

    def close(self):
        pass


class Connection(Base):
    def __init__(self, host, name):
        connection = MySQLdb.connect(host=host, database=name)  # expect: PS102
        Base.__init__(self, connection, name)
''', note="look-alike: the base's `__init__` only takes the connection, it keeps "
          "nothing, and nothing closes it",
         unfixable="the fix would change behaviour beyond the release: in "
                   "`Connection.__init__`: the original hands `connection` to "
                   "`Base.__init__`, which keeps it in the object it builds; a release "
                   "added after it closes the connection the object goes on using"),
]

VALID += [
    Case('''import MySQLdb

import weedb


def guard(fn):
    def guarded_fn(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MySQLdb.DatabaseError as e:
            raise weedb.DatabaseError(e)
    return guarded_fn


class Connection(weedb.Connection):
    @guard
    def __init__(self, host, database_name):
        connection = MySQLdb.connect(host=host, database=database_name)
        weedb.Connection.__init__(self, connection, database_name, "mysql")
        self.connection.autocommit(True)
''', files={"weedb/__init__.py": "class DatabaseError(Exception):\n    pass\n\n\n"
                                   "class Connection:\n"
                                   "    def __init__(self, connection, database_name, dbtype):\n"
                                   "        self.connection = connection\n"
                                   "        self.database_name = database_name\n\n"
                                   "    def close(self):\n"
                                   "        self.connection.close()\n"},
         path="weedb/mysql.py",
         note="the base class lives in a module with no connection of its own, and the "
              "`__init__` is decorated: its `__init__` still stores the connection"),
]

# A self-test function written inside the module's `if __name__ == "__main__":` block
# and called nowhere (kept for a developer to call by hand): one-shot code, the script
# exits after it (round 44, prec88).
_MAIN_BLOCK_SELF_TEST = '''import sys

from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, "dbname=stock")


def count(table):
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM " + table)
            return cur.fetchone()[0]
    finally:
        pool.putconn(conn)

@OUTSIDE@
if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "test":
        sys.exit()
@INSIDE@
    def test_count():
        print(count("items"))

    test_count()
'''
_SELF_TEST_DEF = '''
    def test_connection_info():
        conn = pool.getconn()@MARK@
        print(conn.info.dsn_parameters)
'''
VALID.append(Case(_MAIN_BLOCK_SELF_TEST.replace("@OUTSIDE@", "").replace(
    "@INSIDE@", _SELF_TEST_DEF.replace("@MARK@", "")),
    note="a self-test inside the __main__ block that nothing calls: run by hand, once"))
INVALID += [
    Case(_MAIN_BLOCK_SELF_TEST.replace("@INSIDE@", "").replace(
        "@OUTSIDE@", "\n" + "\n".join(line[4:] for line in _SELF_TEST_DEF.replace(
            "@MARK@", "  # expect: PS102").splitlines()) + "\n"),
        note="look-alike: the same function at the module's top level, which importers "
             "may call"),
    Case(_MAIN_BLOCK_SELF_TEST.replace("@OUTSIDE@", "").replace(
        "@INSIDE@", _SELF_TEST_DEF.replace("@MARK@", "  # expect: PS102")
        + "\n    import threading\n\n    for _ in range(8):\n"
          "        threading.Thread(target=test_connection_info).start()\n"),
        note="look-alike: the block hands the function to threads, one checkout each"),
]

# The same connection reached only through a cursor's `with`: `with open_db().cursor()
# as cur:` closes the cursor at the block's end, not the connection (round 44, prec88).
INVALID += [
    Case(_CHAINED_CURSOR_APP + '''\
    with open_db().cursor() as cur:  # expect: PS102
        cur.execute("SELECT id, label FROM bays")
        return {"bays": cur.fetchall()}
''', unfixable=_CHAINED_CURSOR_BY_HAND,
         note="the cursor's `with` closes only the cursor: the connection stays open"),
]
VALID += [
    Case(_CHAINED_CURSOR_APP + '''\
    with open_db().cursor() as cur:
        try:
            cur.execute("SELECT id, label FROM bays")
            return {"bays": cur.fetchall()}
        finally:
            cur.connection.close()
''', note="the cursor's connection is closed in a `finally` inside the block"),
]

"""PS101 close-pooled-connection: INVALID cases mark the close() line."""

from poolsafe.rules.base import Case
from poolsafe.rules.cases.ps102 import COMMITTING_RELEASE_DB

_PG_POOL = """\
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
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

INVALID: list[Case] = [
    Case(_PG_POOL + """
def get_user(user_id):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchone()
    finally:
        conn.close()  # expect: PS101
"""),
    Case("""
from psycopg2 import pool as pg_pool
db_pool = pg_pool.SimpleConnectionPool(1, 5, dsn="dbname=app")

def names():
    conn = db_pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM users")
        return cur.fetchall()
    finally:
        cur.close()
        conn.close()  # expect: PS101
""", note="module alias import of psycopg2.pool"),
    Case("""
import psycopg2.pool
POOL = psycopg2.pool.PersistentConnectionPool(1, 5, dsn="dbname=app")

def ping():
    conn = POOL.getconn()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()  # expect: PS101
"""),
    Case("""
from psycopg_pool import ConnectionPool
pool = ConnectionPool("dbname=app")

def rows():
    conn = pool.getconn()
    try:
        return conn.execute("SELECT 1").fetchall()
    finally:
        conn.close()  # expect: PS101
""", note="psycopg_pool without close_returns=True"),
    Case("""
from psycopg_pool import AsyncConnectionPool
pool = AsyncConnectionPool("dbname=app")

async def rows():
    conn = await pool.getconn()
    try:
        cur = await conn.execute("SELECT 1")
        return await cur.fetchall()
    finally:
        await conn.close()  # expect: PS101
""", note="the async twin"),
    Case("""
from db import get_db_connection

def report():
    conn = get_db_connection()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()  # expect: PS101
""", files={"db.py": _PG_POOL + """
def get_db_connection():
    return pool.getconn()
"""}, path="reports.py", note="a wrapper of getconn in another module"),
    Case("""
from app.database import connect

def report():
    conn = connect()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()  # expect: PS101
""", files={"app/__init__.py": "", "app/database.py": _PG_POOL + """
def _checkout():
    return pool.getconn()

def connect():
    conn = _checkout()
    conn.autocommit = False
    return conn
"""}, path="app/reports.py", note="a wrapper of a wrapper, package import"),
    Case(_PG_POOL + """
class Store:
    def __init__(self):
        self.pool = ThreadedConnectionPool(1, 5, dsn="dbname=app")

    def save(self, item):
        conn = self.pool.getconn()
        try:
            conn.cursor().execute("INSERT INTO items VALUES (%s)", (item,))
            conn.commit()
        finally:
            conn.close()  # expect: PS101
""", note="the pool lives on self"),
    Case("""
from psycopg_pool import ConnectionPool
pool = ConnectionPool("dbname=app")

def rows():
    conn = pool.getconn()
    with conn:  # expect: PS101
        return conn.execute("SELECT 1").fetchall()
""", note="psycopg 3 `with conn:` closes the connection",
         # the fix that drops the `with` would drop its commit (issue #30, class 6)
         unfixable="the fix would change behaviour beyond the release: in `rows`: the "
                   "original leaves `with conn`, whose exit may commit; the fix no longer "
                   "runs that exit, so what it stored is lost"),
    Case(_PG_POOL + """
from contextlib import closing

def rows():
    conn = pool.getconn()
    with closing(conn):  # expect: PS101
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
""", note="contextlib.closing() closes it too"),
    Case(_PG_POOL + """
def rows():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    data = cur.fetchall()
    conn.close()  # expect: PS101
    return data
""", note="no try at all: PS101 only, not also PS102 (close ends the object)"),
    Case("""
from poolsafe.runtime import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, dsn="dbname=app")


def ping():
    conn = pool.getconn()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()  # expect: PS101
""", note="close() on a connection of poolsafe's pool keeps its slot, as with psycopg2"),
]

VALID: list[Case] = [
    Case("""
from unittest import mock

@mock.patch("app.db.pool")
def test_report(pool):
    conn = pool.getconn()
    conn.close()
""", path="tests/test_app.py", note="the pool is a mock that mock.patch passes in"),
    Case(_WRAPPER + """
def count():
    conn = get_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM t")
        return cur.fetchone()[0]
    finally:
        conn.close()
""", note="close() on a project wrapper whose close() calls putconn() is the release"),
    Case(_PG_POOL + """
def rows():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        cur.close()
        return cur.fetchall()
    finally:
        pool.putconn(conn)
""", note="closing the cursor is fine"),
    Case(_PG_POOL + """
def rows():
    conn = pool.getconn()
    try:
        conn.cursor().execute("SELECT 1")
    except Exception:
        pool.putconn(conn, close=True)
        raise
    else:
        pool.putconn(conn)
""", note="putconn(close=True) is how a broken connection is discarded"),
    Case("""
from sqlalchemy import create_engine, text
engine = create_engine("postgresql://localhost/app")

def rows():
    conn = engine.connect()
    try:
        return conn.execute(text("SELECT 1")).all()
    finally:
        conn.close()
""", note="SQLAlchemy: close() returns the connection to the engine's pool"),
    Case("""
from sqlalchemy import create_engine
engine = create_engine("postgresql://localhost/app")

def raw():
    conn = engine.raw_connection()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()
""", note="raw_connection().close() returns it to the pool"),
    Case("""
from sqlalchemy.orm import Session

def names(engine):
    session = Session(engine)
    try:
        return session.execute("SELECT 1").all()
    finally:
        session.close()
"""),
    Case("""
from mysql.connector import pooling
pool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5)

def rows():
    conn = pool.get_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
    finally:
        conn.close()
""", note="mysql.connector pooling: close() is the release"),
    Case("""
import mysql.connector

def rows():
    conn = mysql.connector.connect(pool_name="app", pool_size=3, user="root")
    try:
        return conn.cursor().execute("SELECT 1")
    finally:
        conn.close()
""", note="mysql.connector.connect(pool_name=...) is a pooled connection"),
    Case("""
from psycopg_pool import ConnectionPool
pool = ConnectionPool("dbname=app", close_returns=True)

def rows():
    conn = pool.getconn()
    try:
        return conn.execute("SELECT 1").fetchall()
    finally:
        conn.close()
""", note="close_returns=True makes close() return the connection"),
    Case("""
import psycopg2

def rows():
    conn = psycopg2.connect("dbname=app")
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
    finally:
        conn.close()
""", note="a raw connection, not a pooled one"),
    Case(_PG_POOL + """
def rows():
    conn = pool.getconn()
    try:
        with conn:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                return cur.fetchall()
    finally:
        pool.putconn(conn)
""", note="psycopg2 `with conn:` only ends the transaction"),
    Case("""
import asyncpg

async def rows(dsn):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT 1")
    finally:
        await conn.close()
"""),
]

VALID += [
    Case("""
import psycopg2
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 8, dsn="dbname=app")


def sweep(count):
    for _ in range(count):
        conn = pool.getconn()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
        except psycopg2.OperationalError:
            if not conn.closed:
                conn.close()
        pool.putconn(conn)
""", note="a broken connection closed, then given back: the pool discards a closed "
          "connection and frees its slot"),
]

INVALID += [
    Case("""
import psycopg2
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 8, dsn="dbname=app")


def probe():
    conn = pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    except psycopg2.OperationalError:
        conn.close()  # expect: PS101
        return False
    pool.putconn(conn)
    return True
""", note="the broken connection is closed and the function returns before the "
          "putconn(): its slot is lost"),
]

# fix50: the release function the fix would write also commits: in place of the
# `close()`, which discarded the uncommitted updates, it would store them (and the first
# half of a transfer whose second statement failed): unsafe, --unsafe-fixes only
# (tests/fix/test_fix_committing_release.py).
INVALID += [
    Case("""
from db import get_conn


def transfer(a, b, amount):
    conn = get_conn()
    try:
        cur = conn.cursor()
        cur.execute("UPDATE acct SET bal = bal - %s WHERE id = %s", (amount, a))
        cur.execute("UPDATE acct SET bal = bal + %s WHERE id = %s", (amount, b))
    finally:
        conn.close()  # expect: PS101
""", files={"db.py": COMMITTING_RELEASE_DB},
         note="the pool's release function commits; close() discarded the work"),
]

"""PS106 use-after-release: INVALID cases mark the use (or the `return`)."""

from poolsafe.rules.base import Case

_PG = """\
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
"""

_SA = """\
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
engine = create_engine("postgresql://localhost/app")
SessionLocal = sessionmaker(bind=engine)
"""

#: why `poolsafe fix` leaves a use after a release
_USE = "a use after the release: move the release after it"

INVALID: list[Case] = [
    Case(_SA + """
def get_db():
    db = SessionLocal()
    try:
        return db  # expect: PS106
    finally:
        db.close()


def users():
    db = get_db()
    return db.query(User).all()
""", note="the finally closes the session the caller gets; its queries open a connection "
          "that nothing closes"),
    Case(_PG + """
def get_connection():
    conn = pool.getconn()
    try:
        return conn  # expect: PS106
    finally:
        pool.putconn(conn)


def rows():
    conn = get_connection()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    return cur.fetchall()
""", note="the connection goes back to the pool as it is returned: two threads share it"),
    Case(_PG + """
def count():
    conn = pool.getconn()
    pool.putconn(conn)
    cur = conn.cursor()  # expect: PS106
    cur.execute("SELECT count(*) FROM users")
    return cur.fetchone()
""", unfixable=_USE),
    Case(_PG + """
def count():
    conn = pool.getconn()
    cur = conn.cursor()
    pool.putconn(conn)
    cur.execute("SELECT count(*) FROM users")  # expect: PS106
    return cur.fetchone()
""", note="a cursor of the released connection",
         unfixable=_USE),
    Case(_SA + """
def total():
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return conn.execute(text("SELECT 2")).scalar()  # expect: PS106
""", note="after the `with` block closed it",
         unfixable=_USE),
    Case(_SA + """
def make():
    with SessionLocal() as session:
        return session  # expect: PS106
""", note="the `with` exit closes the session being returned"),
    Case(_PG + """
def rows(retry):
    conn = pool.getconn()
    for attempt in range(retry):
        conn.cursor().execute("SELECT 1")  # expect: PS106
        pool.putconn(conn)
""", note="the second iteration uses the connection the first gave back",
         unfixable=_USE),
    Case(_PG + """
def stream():
    conn = pool.getconn()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        pool.putconn(conn)
    yield conn  # expect: PS106
""", unfixable=_USE),
    Case(_PG + """
def update(user_id, ok):
    conn = pool.getconn()
    if not ok:
        pool.putconn(conn)
    conn.commit()  # expect: PS106
    pool.putconn(conn)
""", note="released on one path that then reaches the use",
         unfixable=_USE),
    Case(_SA + """
def names():
    db = SessionLocal()
    try:
        db.query(User).all()
    finally:
        db.close()
    return db.query(User.name).all()  # expect: PS106
""", note="a closed session used again opens a connection that nothing closes",
         unfixable=_USE),
    Case("""
import asyncpg

async def fetch(pool: asyncpg.Pool):
    conn = await pool.acquire()
    try:
        return conn  # expect: PS106
    finally:
        await pool.release(conn)
"""),
    Case("""
from psycopg_pool import ConnectionPool
pool = ConnectionPool("dbname=app")

def connection():
    with pool.connection() as conn:
        return conn  # expect: PS106
""", note="psycopg_pool takes the connection back as the block ends"),
    Case(_SA + """
def begin():
    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))
        return conn  # expect: PS106
""", note="engine.begin() commits and closes its connection on exit"),
    Case(_PG + """
import pandas as pd

def frame():
    conn = pool.getconn()
    pool.putconn(conn)
    return pd.read_sql("SELECT 1", conn)  # expect: PS106
""", note="handed to a function after the release",
         unfixable=_USE),
]

VALID: list[Case] = [
    Case(_PG + """
def rows():
    conn = pool.getconn()
    pool.putconn(conn)
    conn = pool.getconn()
    try:
        return conn.cursor().fetchall()
    finally:
        pool.putconn(conn)
""", note="the name is bound to a new checkout after the release"),
    Case(_PG + """
def update(ok):
    conn = pool.getconn()
    if ok:
        conn.commit()
    else:
        pool.putconn(conn)
        return
    pool.putconn(conn)
""", note="released in one branch, used in the other"),
    Case(_SA + """
def total():
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar()
""", note="used inside its `with` block"),
    Case(_PG + """
def rows():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        data = cur.fetchall()
        cur.close()
        conn.commit()
        return data
    finally:
        pool.putconn(conn)
""", note="closing a cursor does not release its connection"),
    Case(_PG + """
def rows():
    conn = pool.getconn()
    try:
        return conn.cursor().fetchall()
    finally:
        pool.putconn(conn)
""", note="the result, not the connection, is returned before the release"),
    Case(_SA + """
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""),
    Case(_PG + """
def jobs(items):
    for item in items:
        conn = pool.getconn()
        try:
            conn.cursor().execute("SELECT %s", (item,))
        finally:
            pool.putconn(conn)
""", note="re-acquired at each iteration"),
    Case(_SA + """
def worker(jobs):
    session = SessionLocal()
    for job in jobs:
        session.query(Job).get(job)
        session.commit()
        session.close()
""", note="a session is usable again after close(), and each use is closed again"),
    Case(_PG + """
import logging
log = logging.getLogger(__name__)

def done():
    conn = pool.getconn()
    try:
        conn.commit()
    finally:
        pool.putconn(conn)
    log.info("released %s", conn)
    return conn is None
""", note="logging or comparing the object is no use of the connection"),
    Case(_PG + """
def rows():
    conn = pool.getconn()
    with conn:
        conn.cursor().execute("SELECT 1")
    conn.cursor().execute("SELECT 2")
    pool.putconn(conn)
""", note="psycopg2 `with conn:` ends a transaction, it does not release"),
    Case("""
import pymysql

def ping():
    conn = pymysql.connect(host="db")
    conn.close()
    conn.ping(reconnect=True)
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()
""", note="reconnected before the use"),
    Case(_SA + """
def get_db():
    db = SessionLocal()
    try:
        return db
    finally:
        db.close()

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/users")
def users(db=Depends(get_db)):
    return db.query(User).all()
""", note="a FastAPI dependency: PS104 reports it"),
    Case("""
import psycopg2

def worker(jobs, dsn):
    conn = psycopg2.connect(dsn)
    for job in jobs:
        if conn.closed:
            conn = psycopg2.connect(dsn)
        try:
            conn.cursor().execute("SELECT %s", (job,))
        except psycopg2.OperationalError:
            conn.close()
    conn.close()
""", note="a connection closed after an error is opened again where `closed` says so"),
    Case(_SA + """
def transact():
    conn = engine.connect()
    with conn.begin():
        conn.execute(text("SELECT 1"))
        return conn
""", note="`conn.begin()` ends a transaction, not the connection"),
    Case(_SA + """
from sqlalchemy.orm import Session

def refresh(db: Session):
    db.close()
    return db.query(User).count()
""", note="the caller's session: it closes it after the reuse"),
    Case("""
import psycopg2

def connect(dsn):
    conn = None
    try:
        conn = psycopg2.connect(dsn)
        conn.cursor().execute("SELECT version()")
        return conn
    except psycopg2.DatabaseError:
        if conn is not None:
            conn.close()
        raise
""", note="closed only on the error path, which does not return it"),
    Case("""
import pymysql

def names():
    conn = pymysql.connect(host="db")
    cur = conn.cursor()
    cur.execute("SELECT name FROM users")
    conn.close()
    return cur.fetchall()
""", note="PyMySQL's default cursor holds the whole result on the client"),
    Case(_PG + """
def rows(conns):
    for conn in conns:
        conn.cursor().execute("SELECT 1")
        pool.putconn(conn)
""", note="the loop binds a new connection each time"),
]

VALID += [
    Case("""
import psycopg2
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 8, dsn="dbname=app")


class Broken(Exception):
    pass


def check_alive(conn):
    try:
        conn.poll()
    except psycopg2.OperationalError as exc:
        if not conn.closed:
            conn.close()
        raise Broken(str(exc)) from None
    return conn


def checkout():
    conn = pool.getconn()
    try:
        check_alive(conn)
    except Broken:
        pool.putconn(conn)
        raise
    return conn
""", note="the helper closes the connection only on the path where it raises: when it "
          "returns, the connection is alive and returned to the caller"),
]

INVALID += [
    Case("""
import psycopg2
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 8, dsn="dbname=app")


def check_alive(conn):
    try:
        conn.poll()
    except psycopg2.OperationalError:
        conn.close()
    return conn


def count_rows():
    conn = pool.getconn()
    try:
        check_alive(conn)
        with conn.cursor() as cur:  # expect: PS106
            cur.execute("SELECT count(*) FROM t")
            return cur.fetchone()[0]
    finally:
        pool.putconn(conn)
""", unfixable="a use after the release: move the release after it",
         note="the helper swallows the error after closing: the caller goes on with a "
              "closed connection"),
]

VALID += [
    Case("""
import sqlite3

import psycopg2


def save(rows, conn):
    owned = False
    if isinstance(conn, str):
        conn = sqlite3.connect(conn)
        owned = True
    try:
        conn.executemany("INSERT INTO t VALUES (?)", rows)
        conn.commit()
    finally:
        if owned:
            conn.close()


def load(dsn, rows):
    conn = psycopg2.connect(dsn)
    try:
        save(rows, conn)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM t")
            return cur.fetchone()[0]
    finally:
        conn.close()
""", note="the helper closes only the connection it opened itself from a path (the flag "
          "is set where it rebinds the parameter): the caller's connection stays open"),
]

INVALID += [
    Case("""
import sqlite3

import psycopg2


def save(rows, conn):
    if isinstance(conn, str):
        conn = sqlite3.connect(conn)
    try:
        conn.executemany("INSERT INTO t VALUES (?)", rows)
        conn.commit()
    finally:
        conn.close()


def load(dsn, rows):
    conn = psycopg2.connect(dsn)
    save(rows, conn)
    with conn.cursor() as cur:  # expect: PS106
        cur.execute("SELECT count(*) FROM t")
        return cur.fetchone()[0]
""", unfixable="a use after the release: move the release after it",
         note="the helper rebinds its parameter only for a path, and closes whatever it "
              "holds: a connection passed in is closed too"),
]

VALID += [
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker


def bound_engine(registry):
    bind = registry.bind
    if bind is None:
        raise ValueError("the registry is not bound")
    return bind


def run(url, work):
    registry = scoped_session(sessionmaker(bind=create_engine(url)))
    try:
        work(registry)
        registry.commit()
    finally:
        registry.close()
        bound_engine(registry).dispose()
""", note="after close(), a helper that only reads the registry's `.bind` (to dispose the "
          "engine) runs no statement: nothing opens a new connection"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker


def last_count(registry):
    print(registry.bind)
    return registry.execute(text("SELECT count(*) FROM jobs")).scalar()


def run(url, work):
    registry = scoped_session(sessionmaker(bind=create_engine(url)))
    try:
        work(registry)
        registry.commit()
    finally:
        registry.close()
    return last_count(registry)  # expect: PS106
""", unfixable=_USE,
         note="a helper that also runs a statement on the registry opens a new connection "
              "after close()"),
]

# a commit() or rollback() of a closed SQLAlchemy session with nothing queued since its
# close begins and ends an empty transaction: no connection is checked out (eval55)
_EMPTY_END = """
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


def backfill(row):
    s = Session()
    try:
        s.execute(text("UPDATE threads SET recent = now()"))
        s.commit()
    finally:
        s.close()
    {after}
"""

VALID += [
    Case(_EMPTY_END.format(after="s.commit()"),
         note="an empty commit after the close opens no connection"),
    Case(_EMPTY_END.format(after="s.rollback()"),
         note="an empty rollback after the close opens no connection"),
]

INVALID += [
    Case(_EMPTY_END.format(after="s.add(row)  # expect: PS106\n    s.flush()"), unfixable=_USE,
         note="look-alike: an object queued after the close is flushed, and nothing ends "
              "that transaction (a commit would: see the end of this file)"),
    Case(_EMPTY_END.format(after='s.execute(text("SELECT 1"))  # expect: PS106\n    s.flush()'),
         unfixable=_USE, note="look-alike: a statement after the close, then a flush, "
                              "which ends no transaction"),
]

# a project `@contextmanager` that releases its argument after its `yield` (in a
# `finally`, or after a commit) releases it when the `with` block ends: uses inside
# the block come before the release (large66: a job's `with session_guard(session):`)
_GUARD_SESSION = """
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


@contextmanager
def unit_of_work(session):
    try:
        yield session
        session.flush()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def sync_all(rows):
    session = Session()
    with unit_of_work(session):
        for row in rows:
            session.execute(text("UPDATE t SET seen = true WHERE id = :id"), {{"id": row}})
    {after}
"""
_GUARD_POOL = """
from contextlib import contextmanager

from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, "dbname=app")


@contextmanager
def given_back(conn):
    {before}try:
        yield conn
    finally:
        {release}


def count():
    conn = pool.getconn()
    with given_back(conn):
        cur = conn.cursor(){inside}
        cur.execute("SELECT count(*) FROM t")
        n = cur.fetchone()[0]
    {after}return n
"""
VALID += [
    Case(_GUARD_SESSION.format(after="return len(rows)"),
         note="a session used inside `with unit_of_work(session):`, closed after the yield"),
    Case(_GUARD_POOL.format(before="", release="pool.putconn(conn)", inside="", after=""),
         note="a pool connection used inside `with given_back(conn):`, put back in its "
              "finally"),
]
INVALID += [
    Case(_GUARD_SESSION.format(
        after='session.execute(text("SELECT 1"))  # expect: PS106\n    return len(rows)'),
         unfixable=_USE, note="look-alike: a statement after the block, on a new connection "
                              "that nothing closes"),
    Case(_GUARD_POOL.format(before="", release="pool.putconn(conn)", inside="",
                            after="conn.commit()  # expect: PS106\n    "),
         unfixable=_USE, note="look-alike: the connection used after the block put it back"),
    Case(_GUARD_POOL.format(before="pool.putconn(conn)\n    ", release="pass",
                            inside="  # expect: PS106", after=""),
         unfixable=_USE, note="look-alike: a context manager that puts the connection back "
                              "before its yield"),
]

# Helper small74, round 33: a Streamlit page's top level. Streamlit runs the page's
# module body again at every interaction, as a function's body runs at every call: a
# connection it opens and closes there is one run's, and a use after the close fails
# that run (`pd.read_sql(..., conn)` after `conn.close()` in the submit branch). These
# lists are added after every other list of the rule (test ids by index).
_PAGE = """\
import mysql.connector
import pandas as pd
import streamlit as st

st.title("Employees")
conn = mysql.connector.connect(host="db", user="app", password="pw", database="hr")
cur = conn.cursor()
name = st.text_input("Name")
if st.button("Add"):
    cur.execute("INSERT INTO employees (name) VALUES (%s)", (name,))
    conn.commit()
{submit}
{after}
"""

STREAMLIT_INVALID: list[Case] = [
    Case(_PAGE.format(
        submit="    cur.close()\n    conn.close()\n"
               "    df = pd.read_sql(\"SELECT * FROM employees\", conn)  # expect: PS106\n"
               "    st.dataframe(df)",
        after=""),
         unfixable=_USE,
         note="a Streamlit page's top level reads with a connection its submit branch "
              "closed"),
    Case(_PAGE.format(
        submit="    cur.close()",
        after="conn.close()\nrows = conn.cursor()  # expect: PS106\nst.write(rows)"),
         unfixable=_USE,
         note="a Streamlit page opens a cursor on the connection it closed"),
]

STREAMLIT_VALID: list[Case] = [
    Case(_PAGE.format(
        submit="    df = pd.read_sql(\"SELECT * FROM employees\", conn)\n    st.dataframe(df)",
        after="cur.close()\nconn.close()"),
         note="look-alike: the page reads before it closes"),
    Case(_PAGE.format(
        submit="    conn.close()\n"
               "    conn = mysql.connector.connect(host=\"db\", user=\"app\", password=\"pw\","
               " database=\"hr\")\n"
               "    st.dataframe(pd.read_sql(\"SELECT * FROM employees\", conn))",
        after="conn.close()"),
         note="look-alike: the page opens a new connection after the close"),
    Case("""
import mysql.connector
import pandas as pd

conn = mysql.connector.connect(host="db", user="app", password="pw", database="hr")


def load():
    return pd.read_sql("SELECT * FROM employees", conn)


def shutdown():
    conn.close()
""", note="look-alike: no Streamlit page: a module's connection that a function closes "
          "at shutdown"),
]

_APOOL = """\
from psycopg_pool import AsyncConnectionPool

pool = AsyncConnectionPool("dbname=app")
"""

#: a cursor name bound again after its connection was released names another cursor:
#: the old binding ends there (`with ... as cur`, `cur = ...`, `for cur in`, walrus)
REBOUND_VALID: list[Case] = [
    Case(_APOOL + """

async def handle(step):
    async with pool.connection() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT 1")
    async with pool.connection() as other:
        async with other.transaction():
            async with other.cursor() as cur: await cur.execute("SELECT 2")
    async with pool.connection() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT 3")
""", note="look-alike: a one-line `async with other.cursor() as cur:` rebinds the name "
          "after the first connection went back"),
    Case(_PG + """

def handle():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    pool.putconn(conn)
    other = pool.getconn()
    try:
        with other.cursor() as cur:
            cur.execute("SELECT 2")
    finally:
        pool.putconn(other)
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 3")
    finally:
        pool.putconn(conn)
""", note="look-alike: `with other.cursor() as cur:` rebinds the cursor name"),
    Case(_PG + """

def handle():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    pool.putconn(conn)
    other = pool.getconn()
    try:
        for cur in (other.cursor(),):
            cur.execute("SELECT 2")
    finally:
        pool.putconn(other)
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 3")
    finally:
        pool.putconn(conn)
""", note="look-alike: a loop target rebinds the cursor name"),
    Case(_PG + """

def handle():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    pool.putconn(conn)
    other = pool.getconn()
    try:
        if (cur := other.cursor()) is not None:
            cur.execute("SELECT 2")
    finally:
        pool.putconn(other)
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 3")
    finally:
        pool.putconn(conn)
""", note="look-alike: an assignment expression rebinds the cursor name"),
]

REBOUND_INVALID: list[Case] = [
    Case(_APOOL + """

async def handle(step):
    async with pool.connection() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT 1")
    async with pool.connection() as other:
        await other.execute("SELECT 2")
    await cur.execute("SELECT 3")  # expect: PS106
""", unfixable=_USE,
         note="the old cursor is used after its connection went back: nothing rebinds it"),
    Case(_PG + """

def handle(flag):
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    pool.putconn(conn)
    other = pool.getconn()
    if flag:
        cur = other.cursor()
    cur.execute("SELECT 2")  # expect: PS106
    pool.putconn(other)
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 3")
    finally:
        pool.putconn(conn)
""", unfixable=_USE,
         note="rebound on one branch only: the other still uses the released cursor"),
    Case(_PG + """

def handle():
    conn = pool.getconn()
    cur = conn.cursor()
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    pool.putconn(conn)
    cur.execute("SELECT 2")  # expect: PS106
""", unfixable=_USE,
         note="rebound before the release, not after: still the released connection's"),
]

INVALID += [
    Case('''
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app")


def index_rows(session, rows):
    with session:
        for row in rows:
            session.execute(text("INSERT INTO idx (v) VALUES (:v)"), {"v": row})
        session.commit()


def rebuild(rows):
    session = Session(engine)
    index_rows(session, rows)
    return session.execute(text("SELECT count(*) FROM idx")).scalar()  # expect: PS106
''', path="app/index.py",
         unfixable="a use after the release: move the release after it",
         note="the callee's `with session:` closed the session; the caller's query after "
              "it checks out a new connection nothing closes"),
]

#: a session closed after its first query, then used again: `{name}` is the function
_REUSED_AFTER_CLOSE = """
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def {name}():
    session = Session()
    try:
        session.execute(text("SELECT 1"))
    finally:
        session.close()
"""

VALID += [
    Case(_REUSED_AFTER_CLOSE.format(name="upgrade_schema") + '''\
    session.execute(text("SELECT 2"))
    with session.connection() as connection:
        connection.execute(text("SELECT 3"))


def stamp_schema():
    session = Session()
    try:
        session.execute(text("SELECT 1"))
    finally:
        session.close()
    with session.connection() as connection:
        connection.execute(text("SELECT 3"))
''', note="a closed session used again, then `with session.connection() as c:`: the "
              "block's exit closes the connection the reuse opened, back to the pool"),
]

INVALID += [
    Case(_REUSED_AFTER_CLOSE.format(name="stamp_schema") + '''\
    with session.connection() as connection:
        connection.execute(text("SELECT 3"))
    session.execute(text("SELECT 4"))  # expect: PS106
''', unfixable="a use after the release: move the release after it",
         note="after the `with session.connection()` block the session is used once "
              "more: that opens a new connection nothing closes"),
]

# Round 41 (fresh85, from its tune half): a session used through an object built around
# it inside its `with` block (`orders = Orders(session)`, a dataclass field or an
# `__init__` that stores the parameter on `self`), after the block closed it: the call
# reopens a connection on the closed session and nothing closes it. An object that only
# reads the session while it is built keeps nothing of it.
_HOLDER = '''\
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/shop", pool_pre_ping=True)
make_session = async_sessionmaker(engine)


@dataclass
class Orders:
    session: AsyncSession

    async def mark_sent(self, order_id):
        await self.session.execute(text("UPDATE orders SET sent = true WHERE id = :i"),
                                   {"i": order_id})
        await self.session.commit()


async def send(order_id):
    async with make_session() as session:
        orders = Orders(session)
@BODY@'''

_SUMMARY = '''\
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/shop", pool_pre_ping=True)


class Summary:
    def __init__(self, session):
        self.total = session.execute(text("SELECT count(*) FROM orders")).scalar()

    def render(self):
        return f"{self.total} orders"


def report():
    with Session(engine) as session:
        summary = Summary(session)
    return summary.render()
'''

VALID += [
    Case(_HOLDER.replace("@BODY@", "        await orders.mark_sent(order_id)\n"),
         note="the object built around the session is used inside the block"),
    Case(_SUMMARY, note="an object whose constructor only reads the session: it keeps "
                        "nothing of it, and its use after the block runs no statement"),
]

INVALID += [
    Case(_HOLDER.replace("@BODY@", "    await orders.mark_sent(order_id)  # expect: PS106\n"),
         unfixable="a use after the release: move the release after it",
         note="the dataclass built around the session is used after the block closed "
              "it: the call opens a new connection that nothing closes"),
]

# Round 41 (prec85a): a closed session used again whose reuse ends in `commit()` or
# `rollback()`: the transaction the reuse began ends there and the session gives its
# connection back to the pool (it holds none between transactions), as a `close()`
# would. A later use opens one again; a path without an end is still reported, and a
# raw DB-API connection used after `close()` is an error whatever follows.
_CLOSED_THEN_COMMITTED = """

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def {name}(flag):
    session = Session()
    try:
        tables = inspect(session.connection()).get_table_names()
    finally:
        session.close()
"""

VALID += [
    Case(_EMPTY_END.format(after="s.add(row)\n    s.commit()"),
         note="an object queued after the close, flushed and committed: the commit ends "
              "the transaction and gives the connection back (was INVALID before round 41)"),
    Case(_EMPTY_END.format(after='s.execute(text("SELECT 1"))\n    s.commit()'),
         note="a statement after the close, then the commit, which gives the connection "
              "back (was INVALID before round 41)"),
    Case(_CLOSED_THEN_COMMITTED.format(name="drop_legacy") + '''\
    if "legacy" in tables:
        session.execute(text("DROP TABLE legacy"))
        session.commit()
        return
    with session.connection() as connection:
        connection.execute(text("SELECT 1"))
''', note="the reuse ends in `commit()` before the `return`: the session gives the "
              "connection it opened again back to the pool"),
    Case(_CLOSED_THEN_COMMITTED.format(name="prune") + '''\
    try:
        session.execute(text("DELETE FROM audit WHERE old"))
        session.commit()
    except Exception:
        session.rollback()
        raise
''', note="the reuse ends in `commit()`, or in `rollback()` when it fails"),
    Case('''
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

Session = async_sessionmaker(create_async_engine("postgresql+asyncpg://db/app",
                                                pool_pre_ping=True))


async def purge():
    session = Session()
    try:
        await session.execute(text("SELECT 1"))
    finally:
        await session.close()
    await session.execute(text("DELETE FROM jobs WHERE done"))
    await session.commit()
''', note="an async session's reuse ended by `await session.commit()`"),
]

INVALID += [
    Case(_CLOSED_THEN_COMMITTED.format(name="drop_legacy") + '''\
    if flag:
        session.execute(text("DROP TABLE legacy"))
        session.commit()
        return
    session.execute(text("DROP TABLE spare"))  # expect: PS106
''', unfixable="a use after the release: move the release after it",
         note="look-alike: the other branch's reuse ends in nothing"),
    Case(_CLOSED_THEN_COMMITTED.format(name="drop_legacy") + '''\
    session.execute(text("DROP TABLE legacy"))
    session.commit()
    return session.execute(text("SELECT count(*) FROM spare")).scalar()  # expect: PS106
''', unfixable="a use after the release: move the release after it",
         note="look-alike: after the commit the session is used once more, and that "
              "connection is not given back"),
    Case('''
import sqlite3


def archive(path):
    conn = sqlite3.connect(path)
    try:
        conn.execute("SELECT 1")
    finally:
        conn.close()
    conn.execute("DELETE FROM runs")  # expect: PS106
    conn.commit()
''', unfixable="a use after the release: move the release after it",
         note="look-alike: a DB-API connection used after `close()` raises; a commit "
              "after it does not make it usable"),
]

# A call of a bare name the module never imports nor binds raises `NameError`: a
# route that closes and then calls `abort(404)` without importing it never reaches
# the statements after it (round 43, fresh87). A module-level `abort` of the
# project's own that returns keeps the use after the close reported.
_UNBOUND_ABORT = '''
import psycopg2
from flask import Flask
{own}
app = Flask(__name__)


@app.route("/crates/<int:crate_id>")
def crate(crate_id):
    conn = psycopg2.connect("dbname=depot")
    cur = conn.cursor()
    cur.execute("SELECT label FROM crates WHERE id = %s", (crate_id,))
    row = cur.fetchone()
    if row is None:
        conn.close()
        abort(404)
    cur.execute("SELECT item FROM contents WHERE crate_id = %s", (crate_id,)){expect}
    items = cur.fetchall()
    conn.close()
    return {{"label": row[0], "items": items}}
'''
VALID.append(Case(_UNBOUND_ABORT.format(own="", expect=""),
                  note="`abort` is never imported: the call raises NameError, nothing "
                       "after it runs on that path"))
INVALID.append(Case(_UNBOUND_ABORT.format(
    own="\n\ndef abort(code):\n    print('not found', code)\n\n", expect="  # expect: PS106"),
    unfixable="a use after the release: move the release after it",
    note="look-alike: the module's own `abort` returns, and the cursor is used after "
         "the close"))
INVALID.append(Case(_UNBOUND_ABORT.format(own="", expect="  # expect: PS106").replace(
    "abort(404)", "report(404)"),
    unfixable="a use after the release: move the release after it",
    note="look-alike: an unbound name no library makes raise is not read as an exit"))

"""aiopg, aiopg.sa, aiomysql and aiomysql.sa: cases for PS101, PS102 and PS106.

aiopg's and aiomysql's pools count the connections they handed out (`_used`) in
their size; only `pool.release(conn)` or leaving `async with pool.acquire()` takes
one back. `conn.close()` closes the socket and the slot stays counted. The `.sa`
engines' `SAConnection.close()` gives the connection back to the engine's pool.
"""

from poolsafe.rules.base import Case

_AIOPG = """\
import aiopg

DSN = "dbname=app user=app host=db"
"""

_AIOMYSQL = """\
import aiomysql
"""

#: why `poolsafe fix` leaves a use after a release (PS106's own wording)
_USE = "a use after the release: move the release after it"

PS101_INVALID: list[Case] = [
    Case(_AIOPG + """

async def count_orders(pool: aiopg.Pool):
    conn = await pool.acquire()
    try:
        cur = await conn.cursor()
        await cur.execute("SELECT count(*) FROM orders")
        return (await cur.fetchone())[0]
    finally:
        conn.close()  # expect: PS101
""", note="aiopg: close() on a pooled connection leaves it counted in the pool"),
    Case(_AIOMYSQL + """

async def main():
    pool = await aiomysql.create_pool(host="db", user="app", db="shop", maxsize=5)
    conn = await pool.acquire()
    try:
        async with conn.cursor() as cur:
            await cur.execute("UPDATE stock SET n = n - 1")
        await conn.commit()
    finally:
        conn.close()  # expect: PS101
""", note="aiomysql: the pool's release, not the socket's close"),
    Case(_AIOMYSQL + """
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def open_pool():
    app.state.pool = await aiomysql.create_pool(host="db", user="app", db="shop")


async def stock(pool: aiomysql.Pool):
    async with await pool.acquire() as conn:  # expect: PS101
        async with conn.cursor() as cur:
            await cur.execute("SELECT sku, n FROM stock")
            return await cur.fetchall()
""", note="`async with await pool.acquire()` enters the connection itself, whose exit "
           "closes it: the slot is never given back (the fix drops the `await`)"),
    Case(_AIOPG + """

async def names(pool: aiopg.Pool):
    conn = await pool.acquire()
    async with conn:  # expect: PS101
        cur = await conn.cursor()
        await cur.execute("SELECT name FROM users")
        return await cur.fetchall()
""", note="aiopg: `async with conn:` on a pooled connection closes it on exit",
         unfixable="a `with` statement the fix cannot rewrite"),
    Case(_AIOMYSQL + """
from fastapi import FastAPI

app = FastAPI()


@app.on_event("startup")
async def open_pool():
    app.state.pool = await aiomysql.create_pool(host="db", user="app", db="shop")


async def fetch(pool, sql):
    async with await pool.acquire() as conn:  # expect: PS101
        async with conn.cursor() as cur:
            await cur.execute(sql)
            return await cur.fetchall()


@app.get("/stock")
async def stock():
    return await fetch(app.state.pool, "SELECT sku, n FROM stock")
""", note="an untyped pool kept in the app's state, in a project that builds aiomysql's "
           "raw pools only: its `acquire()` hands out a raw pool connection"),
    Case(_AIOPG + """
from aiohttp import web


async def init(app):
    app["db"] = await aiopg.create_pool(DSN)


async def handler(request):
    conn = await request.app["db"].acquire()
    try:
        cur = await conn.cursor()
        await cur.execute("SELECT 1")
        return web.Response(text="ok")
    finally:
        conn.close()  # expect: PS101
""", note="aiohttp state holding aiopg's raw pool (the project has no aiopg.sa engine): "
           "close() does not give the connection back",
         unfixable="the pool is not a plain name"),
]

PS101_VALID: list[Case] = [
    Case(_AIOPG + """

async def count_orders(pool: aiopg.Pool):
    conn = await pool.acquire()
    try:
        cur = await conn.cursor()
        await cur.execute("SELECT count(*) FROM orders")
        return (await cur.fetchone())[0]
    finally:
        await pool.release(conn)
""", note="aiopg: the pool's release"),
    Case("""
from aiopg.sa import create_engine


async def rename(dsn, user_id, name):
    engine = await create_engine(dsn)
    conn = await engine.acquire()
    try:
        await conn.execute("UPDATE users SET name = %s WHERE id = %s", (name, user_id))
    finally:
        await conn.close()
""", note="aiopg.sa: SAConnection.close() gives the connection back to the engine"),
    Case(_AIOMYSQL + """

async def ping(dsn):
    conn = await aiomysql.connect(host="db", user="app", db="shop")
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT 1")
    finally:
        conn.close()
""", note="a connection of its own: close() is its end"),
    Case(_AIOMYSQL + """


async def stock(pool: aiomysql.Pool):
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT sku, n FROM stock")
            return await cur.fetchall()
""", note="look-alike: `async with pool.acquire()` (no await) enters the pool's "
           "context manager, whose exit releases"),
    Case(_AIOMYSQL + """


async def ping():
    async with await aiomysql.connect(host="db", user="app", db="shop") as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT 1")
""", note="look-alike: an awaited connection of its own in `async with`: its exit "
           "closing it is its end"),
    Case("""
from aiopg.sa import create_engine


async def rename(dsn, user_id, name):
    engine = await create_engine(dsn)
    async with await engine.acquire() as conn:
        await conn.execute("UPDATE users SET name = %s WHERE id = %s", (name, user_id))
""", note="look-alike: aiopg.sa's SAConnection exit gives it back to the engine"),
    Case("""
from aiohttp import web
from aiomysql.sa import create_engine


async def init(app):
    app["db"] = await create_engine(host="db", user="app", db="shop")


async def fetch(db, sql):
    async with await db.acquire() as conn:
        return await (await conn.execute(sql)).fetchall()


async def handler(request):
    rows = await fetch(request.app["db"], "SELECT 1")
    return web.json_response(rows)
""", note="look-alike: the same untyped `acquire()` in a project that builds aiomysql.sa "
           "engines: an SAConnection, whose exit gives it back"),
    Case(_AIOPG + """
from aiohttp import web


async def init(app):
    app["db"] = await aiopg.create_pool(DSN)


async def handler(request):
    conn = await request.app["db"].acquire()
    try:
        cur = await conn.cursor()
        await cur.execute("SELECT 1")
        return web.Response(text="ok")
    finally:
        request.app["db"].release(conn)
""", note="look-alike: the raw pool's own release"),
]

PS102_INVALID: list[Case] = [
    Case(_AIOPG + """
from aiohttp import web

POOL = None


async def create_tables(pool: aiopg.Pool):
    conn = await pool.acquire()
    cur = await conn.cursor()
    await cur.execute("CREATE TABLE IF NOT EXISTS t (id int)")
    pool.release(conn)


async def main():
    global POOL
    POOL = await aiopg.create_pool(DSN)
    await create_tables(POOL)


async def handler(request):
    conn = await POOL.acquire()  # expect: PS102
    cur = await conn.cursor()
    await cur.execute("SELECT 1")
    POOL.release(conn)
    return web.Response(text="ok")


if __name__ == "__main__":
    import asyncio

    asyncio.run(main())
""", note="a shared pool: the checkout of the one-shot bootstrap is not reported (the "
           "process exit frees it, one checkout exhausts no pool), the handler's is"),
    Case(_AIOPG + """

async def list_users():
    pool = await aiopg.create_pool(DSN)
    conn = await pool.acquire()  # expect: PS102
    cur = await conn.cursor()
    await cur.execute("SELECT id FROM users")
    rows = await cur.fetchall()
    pool.release(conn)
    return rows
""", note="aiopg: the release is skipped when a statement raises"),
    Case("""
from aiopg.sa import create_engine


async def archive(dsn, ids):
    engine = await create_engine(dsn, maxsize=4)
    conn = await engine.acquire()  # expect: PS102
    for i in ids:
        await conn.execute("DELETE FROM items WHERE id = %s", (i,))
    await engine.release(conn)
""", note="aiopg.sa: engine.acquire() released only on the happy path"),
    Case(_AIOMYSQL + """

async def fetch_user(pool: aiomysql.Pool, user_id):
    conn = await pool.acquire()  # expect: PS102
    cur = await conn.cursor()
    await cur.execute("SELECT name FROM users WHERE id = %s", (user_id,))
    row = await cur.fetchone()
    if row is None:
        return None
    pool.release(conn)
    return row[0]
""", note="aiomysql: the early return keeps the connection"),
    Case("""
import aiomysql.sa


async def touch(engine: aiomysql.sa.Engine, key):
    conn = await engine.acquire()  # expect: PS102
    await conn.execute("UPDATE cache SET hits = hits + 1 WHERE k = %s", (key,))
""", note="aiomysql.sa: never released nor closed"),
    Case(_AIOPG + """

async def version():
    conn = await aiopg.connect(DSN)  # expect: PS102
    cur = await conn.cursor()
    await cur.execute("SELECT version()")
    row = await cur.fetchone()
    await conn.close()
    return row[0]
""", note="aiopg.connect(): a connection of its own, closed only on the happy path"),
    Case("""
import time

import sqlalchemy as sa

log = sa.table("log", sa.column("file"), sa.column("at"))


async def write_log(app, fileid, conn=None):
    if conn is None:
        cur = await app['db'].acquire()  # expect: PS102
    else:
        cur = conn
    result = await cur.execute(log.insert().values(file=fileid, at=time.time()))
    if conn is None:
        cur.close()
    return result.rowcount == 1
""", files={"web/db.py": _AIOPG + """

async def init_db(app):
    app['db'] = await aiopg.create_pool(DSN)
"""}, note="an aiohttp application's pool (`app['db']`, untyped) in a project whose "
            "only async pool library is aiopg: closed on both branches, never when "
            "execute() raises",
         unfixable="nothing uses `cur` after the checkout"),
]

PS102_VALID: list[Case] = [
    Case("""
async def write_log(app, fileid):
    conn = await app['db'].acquire()
    try:
        await conn.execute("INSERT INTO log (file) VALUES (%s)", (fileid,))
    finally:
        app['db'].release(conn)
""", files={"web/db.py": _AIOPG + """

async def init_db(app):
    app['db'] = await aiopg.create_pool(DSN)
"""}, note="the application's pool, released in finally"),
    Case("""
async def refresh(app):
    await app['db_lock'].acquire()
    try:
        app['cache'].clear()
    finally:
        app['db_lock'].release()
""", files={"web/db.py": _AIOPG}, note="a lock whose name has a database word is "
                                     "not a pool: acquire() gives nothing to release"),
    Case("""
async def write_log(app, fileid):
    conn = await app['db'].acquire()
    await conn.execute("INSERT INTO log (file) VALUES (%s)", (fileid,))
    app['db'].release(conn)
""", files={"web/db.py": _AIOPG, "web/other.py": "import asyncpg\n"},
         note="an unknown pool in a project with aiopg and asyncpg: which library's "
              "connection it is cannot be told, so nothing is claimed"),
    Case(_AIOPG + """

async def create_tables():
    pool = await aiopg.create_pool(DSN, minsize=1, maxsize=2)
    conn = await pool.acquire()
    cur = await conn.cursor()
    await cur.execute("CREATE TABLE IF NOT EXISTS t (id int)")
    pool.release(conn)
    pool.close()
    await pool.wait_closed()


if __name__ == "__main__":
    import asyncio

    asyncio.run(create_tables())
""", note="a one-shot script with a pool of its own: the process exit frees it"),
    Case(_AIOPG + """

async def list_users(pool: aiopg.Pool):
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT id FROM users")
            return await cur.fetchall()
""", note="aiopg: async with pool.acquire() releases"),
    Case(_AIOPG + """

async def list_users(pool: aiopg.Pool):
    conn = await pool.acquire()
    try:
        cur = await conn.cursor()
        await cur.execute("SELECT id FROM users")
        return await cur.fetchall()
    finally:
        pool.release(conn)
""", note="aiopg: release in finally, not awaited (the slot is free when it returns)"),
    Case("""
from aiopg.sa import create_engine


async def archive(dsn, ids):
    engine = await create_engine(dsn, maxsize=4)
    async with engine.acquire() as conn:
        for i in ids:
            await conn.execute("DELETE FROM items WHERE id = %s", (i,))
""", note="aiopg.sa: async with engine.acquire()"),
    Case(_AIOMYSQL + """

async def fetch_user(pool: aiomysql.Pool, user_id):
    conn = await pool.acquire()
    try:
        cur = await conn.cursor()
        await cur.execute("SELECT name FROM users WHERE id = %s", (user_id,))
        row = await cur.fetchone()
        return None if row is None else row[0]
    finally:
        await pool.release(conn)
""", note="aiomysql: release in finally"),
    Case("""
import aiomysql.sa


async def touch(engine: aiomysql.sa.Engine, key):
    conn = await engine.acquire()
    try:
        await conn.execute("UPDATE cache SET hits = hits + 1 WHERE k = %s", (key,))
    finally:
        await conn.close()
""", note="aiomysql.sa: close() gives it back to the engine"),
    Case(_AIOPG + """

class Store:
    def __init__(self, pool):
        self.pool = pool

    async def checkout(self):
        conn = await self.pool.acquire()
        self.conn = conn
        return conn
""", note="an unknown pool's acquire, handed on"),
]

PS106_INVALID: list[Case] = [
    Case(_AIOPG + """

async def report(pool: aiopg.Pool):
    conn = await pool.acquire()
    cur = await conn.cursor()
    try:
        await cur.execute("SELECT total FROM sales")
    finally:
        pool.release(conn)
    return await cur.fetchall()  # expect: PS106
""", note="aiopg: the cursor's connection went back to the pool", unfixable=_USE),
    Case(_AIOMYSQL + """

async def refresh(pool: aiomysql.Pool):
    conn = await pool.acquire()
    try:
        async with conn.cursor() as cur:
            await cur.execute("UPDATE views SET n = n + 1")
    finally:
        pool.release(conn)
    await conn.commit()  # expect: PS106
""", note="aiomysql: a commit on a connection another task may hold", unfixable=_USE),
]

PS106_VALID: list[Case] = [
    Case(_AIOPG + """

async def report(pool: aiopg.Pool):
    conn = await pool.acquire()
    try:
        cur = await conn.cursor()
        await cur.execute("SELECT total FROM sales")
        return await cur.fetchall()
    finally:
        pool.release(conn)
""", note="aiopg: everything before the release"),
    Case(_AIOMYSQL + """

async def refresh(pool: aiomysql.Pool):
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute("UPDATE views SET n = n + 1")
        await conn.commit()
""", note="aiomysql: the commit inside async with"),
]

# aiomysql's own connection (`aiomysql.connect()`): `close()` is a plain method that
# closes the socket at once and returns None, so the release is `conn.close()`, never
# `await conn.close()` (which raises TypeError after closing); `await
# conn.ensure_closed()` says goodbye to the server first and closes as well.
_AIOMYSQL_FACTORY = """\
import aiomysql


async def open_db():
    return await aiomysql.connect(host="db", user="app", db="shop")
"""

PS102_INVALID.append(Case("""
from store import open_db


async def stock_count():
    conn = await open_db()  # expect: PS102
    async with conn.cursor() as cur:
        await cur.execute("SELECT count(*) FROM stock")
        (n,) = await cur.fetchone()
    return n
""", files={"store.py": _AIOMYSQL_FACTORY}, path="api.py",
    note="aiomysql: a connection of its own from the project's factory, never closed "
         "(the fix writes `conn.close()` in finally, without await)"))

PS102_INVALID.append(Case("""
from store import open_db


async def stock_count():
    conn = await open_db()  # expect: PS102
    async with conn.cursor() as cur:
        await cur.execute("SELECT count(*) FROM stock")
        (n,) = await cur.fetchone()
    await conn.ensure_closed()
    return n
""", files={"store.py": _AIOMYSQL_FACTORY}, path="api.py",
    note="aiomysql: ensure_closed() closes it, but only when the query succeeds",
    unfixable="a release of `conn` the fix cannot move into `finally`"))

PS102_VALID.append(Case("""
from store import open_db


async def stock_count():
    conn = await open_db()
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT count(*) FROM stock")
            (n,) = await cur.fetchone()
    finally:
        await conn.ensure_closed()
    return n
""", files={"store.py": _AIOMYSQL_FACTORY}, path="api.py",
    note="aiomysql: `await conn.ensure_closed()` in finally is its end"))

PS102_VALID.append(Case(_AIOMYSQL + """

async def ping():
    conn = await aiomysql.connect(host="db", user="app", db="shop")
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT 1")
    finally:
        await conn.ensure_closed()
""", note="aiomysql: ensure_closed() in finally on a direct connect()"))

PS106_VALID.append(Case(_AIOMYSQL + """

async def ping():
    conn = await aiomysql.connect(host="db", user="app", db="shop")
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT 1")
    finally:
        await conn.ensure_closed()
        conn.close()
""", note="look-alike: close() after ensure_closed() uses nothing (a no-op)"))

PS106_INVALID.append(Case(_AIOMYSQL + """

async def touch(key):
    conn = await aiomysql.connect(host="db", user="app", db="shop")
    try:
        async with conn.cursor() as cur:
            await cur.execute("UPDATE views SET n = n + 1 WHERE k = %s", (key,))
    finally:
        await conn.ensure_closed()
    await conn.commit()  # expect: PS106
""", note="aiomysql: a commit after ensure_closed() closed the connection", unfixable=_USE))

#: a Tornado application handed an aiopg.sa engine built from a settings mapping; the
#: handlers' module imports no database package (the engine comes in `initialize`)
_TORNADO_APP = """\
import tornado.web
from aiopg.sa import create_engine

from handlers import ShelfHandler


async def make_app(settings):
    engine = await create_engine(**settings["db"])
    return tornado.web.Application([(r"/shelf", ShelfHandler, {"engine": engine})])
"""

_SHELF_BASE = """\
import tornado.web


class CatalogHandler(tornado.web.RequestHandler):
    def initialize(self, engine):
        self.engine = engine

    async def checkout(self):
        return await self.engine.acquire()
"""

PS102_INVALID.append(Case(_SHELF_BASE + """

class ShelfHandler(CatalogHandler):
    async def get(self):
        conn = await self.checkout()  # expect: PS102
        rows = await conn.execute("SELECT title FROM books WHERE shelved")
        self.write({"titles": [row.title for row in await rows.fetchall()]})
""", files={"app.py": _TORNADO_APP}, path="handlers.py",
    note="aiopg.sa: the checkout wrapper is a method of the project's base handler "
         "(`self.checkout()` resolved through the subclass's project base); nothing "
         "gives the connection back"))

PS102_VALID.append(Case(_SHELF_BASE + """

class ShelfHandler(CatalogHandler):
    async def get(self):
        conn = await self.checkout()
        try:
            rows = await conn.execute("SELECT title FROM books WHERE shelved")
            self.write({"titles": [row.title for row in await rows.fetchall()]})
        finally:
            await conn.close()
""", files={"app.py": _TORNADO_APP}, path="handlers.py",
    note="aiopg.sa: the inherited wrapper's connection closed (given back) in finally"))

PS102_VALID.append(Case("""
import tornado.web


class CatalogHandler(tornado.web.RequestHandler):
    def initialize(self, engine):
        self.engine = engine
        self.lock_db = None

    async def checkout(self):
        return self.lock_db


class ShelfHandler(CatalogHandler):
    async def get(self):
        conn = await self.checkout()
        self.write({"busy": conn is not None})
""", files={"app.py": _TORNADO_APP}, path="handlers.py",
    note="look-alike: the inherited method returns what the handler keeps, no checkout"))

# A context manager whose `__aenter__` keeps its checkout on `self` and then runs a
# statement that may raise: `async with` never calls `__aexit__` when `__aenter__`
# raises, so the release there never runs.
_ENTER_TX = _AIOMYSQL + """

class Tx:
    def __init__(self, pool):
        self.pool = pool
        self.conn = None
"""

_ENTER_TX_EXIT = """
    async def __aexit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                await self.conn.commit()
            else:
                await self.conn.rollback()
        finally:
            self.pool.release(self.conn)


async def start(pool):
    async with Tx(pool) as conn:
        cur = await conn.cursor()
        await cur.execute("UPDATE jobs SET n = n + 1")
"""

#: why `poolsafe fix` leaves such a checkout
_ENTER_BY_HAND = ("the checkout is kept on `self` by `__enter__`: give it back in an "
                  "`except` that re-raises, by hand")

PS102_INVALID.append(Case(_ENTER_TX + """
    async def __aenter__(self):
        self.conn = await self.pool.acquire()  # expect: PS102
        cur = await self.conn.cursor()
        await cur.execute("START TRANSACTION")
        return self.conn
""" + _ENTER_TX_EXIT, note="START TRANSACTION raises inside __aenter__: __aexit__ never runs",
    unfixable=_ENTER_BY_HAND))

PS102_VALID.append(Case(_ENTER_TX + """
    async def __aenter__(self):
        self.conn = await self.pool.acquire()
        try:
            cur = await self.conn.cursor()
            await cur.execute("START TRANSACTION")
        except BaseException:
            self.pool.release(self.conn)
            raise
        return self.conn
""" + _ENTER_TX_EXIT, note="the failure after the checkout gives it back and re-raises"))

PS102_VALID.append(Case(_ENTER_TX + """
    async def __aenter__(self):
        self.conn = await self.pool.acquire()
        return self.conn
""" + _ENTER_TX_EXIT, note="nothing after the checkout can raise"))

PS102_VALID.append(Case(_ENTER_TX + """
    async def __aenter__(self):
        self.conn = await self.pool.acquire()
        await self.conn.begin()
        return self.conn
""", note="look-alike: no __aexit__ (not a context manager; the class holds it as a "
          "connection of its own)"))

# The exit that gives the checkout back is inherited: a project base class's
# `__aexit__` releases what the subclass's `__aenter__` keeps on `self`.
_ENTER_BASE = _ENTER_TX.replace("class Tx:", "class _Scope:")

_ENTER_SUB = """

class Tx(_Scope):
    async def __aenter__(self):
        self.conn = await self.pool.acquire()  # expect: PS102
        cur = await self.conn.cursor()
        await cur.execute("START TRANSACTION")
        return self.conn


async def start(pool):
    async with Tx(pool) as conn:
        cur = await conn.cursor()
        await cur.execute("UPDATE jobs SET n = n + 1")
"""

PS102_INVALID.append(Case(_ENTER_BASE + """
    async def __aexit__(self, exc_type, exc, tb):
        self.pool.release(self.conn)
""" + _ENTER_SUB, note="the base class's __aexit__ releases; START TRANSACTION raises in the "
                       "subclass's __aenter__, so it never runs", unfixable=_ENTER_BY_HAND))

PS102_VALID.append(Case(_ENTER_BASE + """
    async def close(self):
        self.pool.release(self.conn)
""" + _ENTER_SUB.replace("  # expect: PS102", "").split("\n\n\nasync def start")[0] + "\n",
    note="look-alike: neither the class nor its base has __aexit__ (no context manager)"))

# The same through an async initialiser that another context manager's `__aenter__`
# calls on a fresh object (`__init__` cannot await), entering the acquire's context
# manager by hand through a project helper.
_ASYNC_INIT = _AIOMYSQL + """

async def enter(acm):
    return await acm.__aenter__()


async def leave(acm, *exc):
    return await acm.__aexit__(*exc)


class Session:
    def __init__(self):
        self.acm = None
        self.conn = None
"""

_ASYNC_INIT_USE = """
    async def finish(self, *exc):
        try:
            await self.conn.commit()
        finally:
            await leave(self.acm, *exc)


class Opened:
    def __init__(self, pool):
        self.pool = pool
        self.session = None

    async def __aenter__(self):
        session = Session()
        await session.setup(self.pool)
        self.session = session
        return session

    async def __aexit__(self, *exc):
        await self.session.finish(*exc)


class Store:
    async def open(self):
        self.pool = await aiomysql.create_pool(host="db")

    def session(self):
        return Opened(self.pool)
"""

PS102_INVALID.append(Case(_ASYNC_INIT + """
    async def setup(self, pool):
        self.acm = pool.acquire()  # expect: PS102
        self.conn = await enter(self.acm)
        cur = await self.conn.cursor()
        await cur.execute("START TRANSACTION")
""" + _ASYNC_INIT_USE, note="the async initialiser that only __aenter__ calls fails after "
    "the checkout: the with statement never calls __aexit__", unfixable=_ENTER_BY_HAND))

PS102_VALID.append(Case(_ASYNC_INIT + """
    async def setup(self, pool):
        self.acm = pool.acquire()
        self.conn = await enter(self.acm)
        try:
            cur = await self.conn.cursor()
            await cur.execute("START TRANSACTION")
        except BaseException:
            await leave(self.acm, None, None, None)
            raise
""" + _ASYNC_INIT_USE, note="the initialiser gives it back and re-raises"))

PS102_VALID.append(Case(_ASYNC_INIT + """
    async def setup(self, pool):
        self.acm = pool.acquire()
        self.conn = await enter(self.acm)
        cur = await self.conn.cursor()
        await cur.execute("START TRANSACTION")
""" + _ASYNC_INIT_USE.replace("""        session = Session()
        await session.setup(self.pool)
        self.session = session
        return session""", """        session = Session()
        self.session = session
        try:
            await session.setup(self.pool)
        except BaseException:
            await session.finish(*sys.exc_info())
            raise
        return session""").replace("class Opened:", "import sys\n\n\nclass Opened:"),
    note="the __aenter__ that calls the initialiser gives it back when it fails"))

# Round 28 (breadth64): an awaitable wrapper whose `__await__` runs a coroutine that
# keeps the checkout on `self` and then may raise: `await Db(...)` raises, nothing
# holds the object, and its `close()` / `__aexit__` never gives the connection back.
_AWAITABLE_CLASS = _AIOPG + """

class {cls}:
    def __init__(self, {arg}):
        self.{arg} = {arg}
        self.conn = None

    def __await__(self):
        return self.{opener}().__await__()
{rest}"""

#: the coroutine that `__await__` runs: the checkout, then `{then}`
_AWAITED_SETUP = """
    async def {opener}(self):
        self.conn = await {checkout}{mark}
{then}        return self
"""
_SEARCH_PATH = """\
        cur = await self.conn.cursor()
        await cur.execute("SET search_path TO app")
"""

_AWAITABLE = _AWAITABLE_CLASS.format(cls="Db", arg="dsn", opener="_open", rest="""
    async def close(self):
        self.conn.close()
""")

_AWAITABLE_USE = """

async def bump():
    db = await Db(DSN)
    try:
        cur = await db.conn.cursor()
        await cur.execute("UPDATE hits SET n = n + 1")
    finally:
        await db.close()
"""

_AWAITABLE_POOL = _AWAITABLE_CLASS.format(cls="Scope", arg="pool", opener="_take", rest="""
    async def __aenter__(self):
        return await self

    async def __aexit__(self, *exc):
        self.pool.release(self.conn)
""")

_AWAITABLE_POOL_USE = """

async def bump(pool: aiopg.Pool):
    async with Scope(pool) as scope:
        cur = await scope.conn.cursor()
        await cur.execute("UPDATE hits SET n = n + 1")
"""

PS102_INVALID.append(Case(_AWAITABLE + _AWAITED_SETUP.format(
    opener="_open", checkout="aiopg.connect(self.dsn)", mark="  # expect: PS102",
    then=_SEARCH_PATH) + _AWAITABLE_USE,
    note="aiopg: the coroutine `__await__` runs fails after the connect: "
    "`await Db(DSN)` raises and nothing calls close()", unfixable=_ENTER_BY_HAND))

PS102_INVALID.append(Case(_AWAITABLE_POOL + _AWAITED_SETUP.format(
    opener="_take", checkout="self.pool.acquire()", mark="  # expect: PS102",
    then=_SEARCH_PATH) + _AWAITABLE_POOL_USE,
    note="aiopg pool: `__aenter__` awaits the object itself, whose "
    "`__await__` fails after the checkout: `__aexit__` never runs", unfixable=_ENTER_BY_HAND))

PS102_VALID.append(Case(_AWAITABLE + """
    async def _open(self):
        self.conn = await aiopg.connect(self.dsn)
        try:
            cur = await self.conn.cursor()
            await cur.execute("SET search_path TO app")
        except BaseException:
            self.conn.close()
            raise
        return self
""" + _AWAITABLE_USE, note="look-alike: the failure closes the connection and re-raises"))

PS102_VALID.append(Case(_AWAITABLE + _AWAITED_SETUP.format(
    opener="_open", checkout="aiopg.connect(self.dsn)", mark="",
    then=_SEARCH_PATH) + _AWAITABLE_USE.replace("""    db = await Db(DSN)
    try:
""", """    db = Db(DSN)
    try:
        await db
"""), note="look-alike: the caller holds the object before awaiting it and closes it "
           "in finally"))

PS102_VALID.append(Case(_AWAITABLE_POOL.replace("""        return await self
""", """        try:
            return await self
        except BaseException:
            if self.conn is not None:
                self.pool.release(self.conn)
            raise
""") + _AWAITED_SETUP.format(
    opener="_take", checkout="self.pool.acquire()", mark="",
    then=_SEARCH_PATH) + _AWAITABLE_POOL_USE,
    note="look-alike: `__aenter__` gives it back when awaiting the "
    "object fails"))

PS102_VALID.append(Case(_AWAITABLE_POOL + _AWAITED_SETUP.format(
    opener="_take", checkout="self.pool.acquire()", mark="", then="")
    + _AWAITABLE_POOL_USE, note="look-alike: nothing after the checkout can raise"))

# Round 28 (breadth64), PS103: aiopg.sa runs in autocommit until `conn.begin()`; inside
# that transaction (`trans = await conn.begin()` up to its commit or rollback, or
# `async with conn.begin():`) a failed statement aborts the whole transaction on
# PostgreSQL, as in asyncpg's `conn.transaction()`. SAConnection has no rollback()
# of its own: the advice is a savepoint (`conn.begin_nested()`), left to the user.
_AIOPG_SA_TX = """\
import logging

from aiopg.sa import Engine

log = logging.getLogger(__name__)
"""

#: one `async with conn.begin():` block around a loop of inserts, each in a `try`
_IMPORT_ROWS = """

async def import_rows(engine: Engine, rows):
    async with engine.acquire() as conn:
        async with conn.begin():
            for row in rows:
                try:
                    {insert}
                except Exception:{mark}
                    log.warning("skipped %s", row)
"""

#: why `poolsafe fix` leaves an aiopg.sa handler
_AIOPG_SA_BY_HAND = ("`conn` has no `rollback()` (aiopg.sa connection): wrap the `try` "
                     "body in a savepoint, a nested `async with conn.begin_nested():`, by hand")

PS103_INVALID: list[Case] = [
    Case(_AIOPG_SA_TX + """

async def move(engine: Engine, src, dst, n):
    async with engine.acquire() as conn:
        trans = await conn.begin()
        try:
            await conn.execute("UPDATE acct SET bal = bal - %s WHERE id = %s", (n, src))
        except Exception:  # expect: PS103
            log.exception("debit failed")
        await conn.execute("INSERT INTO audit (src, dst) VALUES (%s, %s)", (src, dst))
        await trans.commit()
""", note="aiopg.sa: the debit fails inside `trans = await conn.begin()`; the audit "
          "insert runs in the aborted transaction", unfixable=_AIOPG_SA_BY_HAND),
    Case(_AIOPG_SA_TX + _IMPORT_ROWS.format(
        insert='await conn.execute("INSERT INTO items (sku) VALUES (%s)", (row,))',
        mark="  # expect: PS103"),
        note="aiopg.sa: per-item `try/except` inside one `async with conn.begin():` block, "
             "no savepoint: the next item runs in the aborted transaction",
        unfixable=_AIOPG_SA_BY_HAND),
]

PS103_VALID: list[Case] = [
    Case(_AIOPG_SA_TX + """

async def move(engine: Engine, src, dst, n):
    async with engine.acquire() as conn:
        try:
            await conn.execute("UPDATE acct SET bal = bal - %s WHERE id = %s", (n, src))
        except Exception:
            log.exception("debit failed")
        await conn.execute("INSERT INTO audit (src, dst) VALUES (%s, %s)", (src, dst))
""", note="look-alike: aiopg.sa with no `begin()` is autocommit: nothing to abort"),
    Case(_AIOPG_SA_TX + """

async def move(engine: Engine, src, dst, n):
    async with engine.acquire() as conn:
        trans = await conn.begin()
        await conn.execute("UPDATE acct SET bal = bal - %s WHERE id = %s", (n, src))
        await trans.commit()
        try:
            await conn.execute("UPDATE stats SET moves = moves + 1")
        except Exception:
            log.exception("stats failed")
        await conn.execute("INSERT INTO audit (src, dst) VALUES (%s, %s)", (src, dst))
""", note="look-alike: the `try` runs after `trans.commit()` ended the transaction"),
    Case(_AIOPG_SA_TX + _IMPORT_ROWS.format(
        insert='async with conn.begin_nested():\n                        await conn.execute('
               '"INSERT INTO items (sku) VALUES (%s)", (row,))', mark=""),
         note="look-alike: a savepoint per item undoes only the failed insert"),
    Case(_AIOPG_SA_TX.replace("from aiopg.sa import Engine", "from aiomysql.sa import Engine")
         + """

async def move(engine: Engine, src, dst, n):
    async with engine.acquire() as conn:
        trans = await conn.begin()
        try:
            await conn.execute("UPDATE acct SET bal = bal - %s WHERE id = %s", (n, src))
        except Exception:
            log.exception("debit failed")
        await conn.execute("INSERT INTO audit (src, dst) VALUES (%s, %s)", (src, dst))
        await trans.commit()
""", note="look-alike: aiomysql.sa: MySQL undoes only the failed statement and the "
          "transaction stays usable (the policy for SQLAlchemy on MySQL)"),
]

# ---- round 29 (breadth66): a swallowed error that leaves `trans = await conn.begin()` open
# when `async with engine.acquire()` gives the connection back. aiopg.sa's and
# aiomysql.sa's `Engine.release` raise `InvalidRequestError` for a connection still in a
# transaction, so it never goes back to the pool and its transaction keeps its locks. On
# MySQL too: the failed statement alone is undone, the transaction stays open.
_OPEN_AT_RELEASE = """\
import logging

from {lib} import Engine

log = logging.getLogger(__name__)


async def debit(engine: Engine, src, n):
    async with engine.acquire() as conn:
        trans = await conn.begin()
        try:
            await conn.execute("UPDATE acct SET bal = bal - %s WHERE id = %s", (n, src))
            await trans.commit()
        except Exception:{mark}
            {handler}
"""
_OPEN_AT_RELEASE_BY_HAND = ("a rollback in the handler would also stop the `InvalidRequestError` "
                            "the release raises today: roll back by hand")

PS103_INVALID += [
    Case(_OPEN_AT_RELEASE.format(lib="aiomysql.sa", mark="  # expect: PS103",
                                 handler='log.exception("debit failed")'),
         note="aiomysql.sa: the commit is skipped, the handler swallows, and the release "
              "refuses the connection with its transaction open",
         unfixable=_OPEN_AT_RELEASE_BY_HAND),
    Case(_OPEN_AT_RELEASE.format(lib="aiopg.sa", mark="  # expect: PS103",
                                 handler='log.exception("debit failed")'),
         note="aiopg.sa: the same, with nothing run after the handler",
         unfixable=_OPEN_AT_RELEASE_BY_HAND),
    Case(_OPEN_AT_RELEASE.format(lib="aiomysql.sa", mark="  # expect: PS103",
                                 handler="return False"),
         note="aiomysql.sa: the handler returns, out of the `async with`, with the "
              "transaction open", unfixable=_OPEN_AT_RELEASE_BY_HAND),
]

PS103_VALID += [
    Case(_OPEN_AT_RELEASE.format(lib="aiomysql.sa", mark="",
                                 handler="await trans.rollback()"),
         note="look-alike: the handler rolls back"),
    Case(_OPEN_AT_RELEASE.format(lib="aiomysql.sa", mark="",
                                 handler='log.exception("debit failed")\n            raise'),
         note="look-alike: the handler re-raises (the release's error is the caller's)"),
    Case(_OPEN_AT_RELEASE.format(lib="aiomysql.sa", mark="",
                                 handler='log.exception("debit failed")')
         + "        await trans.rollback()\n",
         note="look-alike: a rollback after the `try` ends the transaction on every path"),
    Case(_OPEN_AT_RELEASE.format(lib="aiomysql.sa", mark="",
                                 handler='log.exception("debit failed")').replace(
        "        trans = await conn.begin()\n        try:",
        "        try:\n            trans = None").replace("await trans.commit()", "pass"),
         note="look-alike: no transaction begun (aiomysql.sa autocommit): nothing stays open"),
]


# A project helper that opens a connection of its own and returns only a cursor of it:
# the caller holds the connection through the cursor, and closing the cursor does not
# close it (round 32, breadth72: a bot opening one per message this way, never closed).
_CURSOR_HELPER = _AIOMYSQL + """

async def open_cursor():
    conn = await aiomysql.connect(host="db", db="app", autocommit=True)
    try:
        return await conn.cursor()
    except BaseException:
        conn.close()
        raise
"""
_CARRIER_BY_HAND = ("the name holds a cursor of the connection the helper opened, and the "
                    "helper may also be called where the cursor is closed another way: add "
                    "`<cursor>.connection.close()` in a `finally` by hand")

#: appended after every other module's PS102 cases (the case indexes are test ids)
PS102_CARRIER_INVALID: list[Case] = [
    Case(_CURSOR_HELPER + """

async def on_message(text):
    cur = await open_cursor()  # expect: PS102
    await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
    return await cur.fetchone()
""", note="a cursor of a connection the helper opened, never closed: one connection lost "
          "per call", unfixable=_CARRIER_BY_HAND),
    Case(_CURSOR_HELPER + """

async def redeem(text):
    cur = await open_cursor()  # expect: PS102
    await cur.execute("UPDATE codes SET used = 1 WHERE code = %s", (text,))
    cur.connection.close()
""", note="the cursor's connection is closed on success only: the failed UPDATE leaves "
          "it open", unfixable=_CARRIER_BY_HAND),
    Case(_CURSOR_HELPER + """

async def wrapped_cursor():
    return await open_cursor()


async def lookup(code):
    cur = await wrapped_cursor()  # expect: PS102
    await cur.execute("SELECT 1 FROM codes WHERE code = %s", (code,))
    return await cur.fetchone()
""", note="through a second helper that returns the first one's cursor",
         unfixable=_CARRIER_BY_HAND),
]

PS102_CARRIER_VALID: list[Case] = [
    Case(_CURSOR_HELPER + """

async def on_message(text):
    cur = await open_cursor()
    try:
        await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
        return await cur.fetchone()
    finally:
        cur.connection.close()
""", note="the cursor's connection closed in `finally`"),
    Case(_AIOMYSQL + """

class Store:
    async def open_cursor(self):
        conn = await aiomysql.connect(host="db", db="app")
        self.conn = conn
        return await conn.cursor()

    async def close(self):
        self.conn.close()


async def lookup(store, code):
    cur = await store.open_cursor()
    await cur.execute("SELECT 1 FROM codes WHERE code = %s", (code,))
    return await cur.fetchone()
""", note="look-alike: the helper keeps the connection on the object, which closes it: "
          "the caller owns only the cursor"),
    Case(_CURSOR_HELPER + """

async def checked_cursor(text):
    cur = await open_cursor()
    try:
        await cur.execute("SELECT 1")
    except BaseException:
        cur.connection.close()
        raise
    return cur
""", note="look-alike: closed through the cursor on failure, handed on to the caller "
          "on success"),
]

#: appended after sqlmodel_cases' PS106 cases (the case indexes are test ids)
PS106_CARRIER_VALID: list[Case] = [
    Case(_CURSOR_HELPER + """

async def lookup(code):
    cur = await open_cursor()
    try:
        await cur.execute("SELECT id FROM codes WHERE code = %s", (code,))
    finally:
        cur.connection.close()
    return await cur.fetchone()
""", note="look-alike: aiomysql's default cursor is buffered: its rows are read after the "
          "connection closed (a cursor that carries its helper's connection is not judged)"),
]

PS103_VALID += [
    Case((_CURSOR_HELPER + """

async def record(event):
    cur = await open_cursor()
    try:
        try:
            await cur.execute("INSERT INTO events VALUES (%s)", (event,))
        except Exception:
            log.exception("insert failed")
        await cur.execute("SELECT count(*) FROM events")
    finally:
        cur.connection.close()
""").replace("import aiomysql\n",
            "import logging\n\nimport aiomysql\n\nlog = logging.getLogger(__name__)\n", 1),
         note="look-alike: a cursor has no rollback() (autocommit connection): PS103 does "
              "not read a helper's cursor as its connection"),
]

# A caller that closes only the cursor a helper hands it (`await cur.close()`): the
# connection the cursor carries stays open (round 33, breadth74; breadth72 left it).
# Appended after every other module's PS102 cases (the case indexes are test ids).
_SYNC_CURSOR_HELPER = """\
import pymysql


def open_cursor():
    conn = pymysql.connect(host="db", database="app", autocommit=True)
    return conn.cursor()
"""

PS102_CARRIER_CLOSE_INVALID: list[Case] = [
    Case(_CURSOR_HELPER + """

async def on_message(text):
    cur = await open_cursor()  # expect: PS102
    try:
        await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
        return await cur.fetchone()
    finally:
        await cur.close()
""", note="only the cursor is closed, in a finally: the connection it carries stays open",
         unfixable=_CARRIER_BY_HAND),
    Case(_SYNC_CURSOR_HELPER + """

def lookup(code):
    cur = open_cursor()  # expect: PS102
    try:
        cur.execute("SELECT id FROM codes WHERE code = %s", (code,))
        return cur.fetchone()
    finally:
        cur.close()
""", note="pymysql: a sync helper's cursor closed in a finally, its connection never",
         unfixable=_CARRIER_BY_HAND),
]

PS102_CARRIER_CLOSE_VALID: list[Case] = [
    Case(_SYNC_CURSOR_HELPER + """

def lookup(code):
    cur = open_cursor()
    try:
        cur.execute("SELECT id FROM codes WHERE code = %s", (code,))
        return cur.fetchone()
    finally:
        cur.close()
        cur.connection.close()
""", note="look-alike: the cursor and then its connection closed in the finally"),
    Case(_CURSOR_HELPER + """

async def on_message(text):
    cur = await open_cursor()
    try:
        await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
        return await cur.fetchone()
    finally:
        try:
            await cur.close()
        finally:
            cur.connection.close()
""", note="look-alike: the connection closed in a finally of its own after the cursor's "
          "awaited close (which reads the remaining result sets and may raise)"),
]

# A pool's checkout handed on as a cursor (`conn = await pool.acquire(); return await
# conn.cursor()`, or psycopg2's `conn = pool.getconn(); return conn.cursor()`): the
# caller holds a pool slot through the cursor and must give `cur.connection` back to
# the pool (aiomysql, aiopg and psycopg2 cursors all expose `.connection`); closing it
# does not free the slot. And `return psycopg2.connect(dsn).cursor()` with no name
# (round 33, gap74; breadth72 left both). Appended after every other module's PS102
# cases (the case indexes are test ids).
_POOL_CURSOR_HELPER = """\
import aiomysql


async def open_cursor(pool: aiomysql.Pool):
    conn = await pool.acquire()
    try:
        return await conn.cursor()
    except BaseException:
        pool.release(conn)
        raise
"""

_PG_POOL_CURSOR_HELPER = """\
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, "dbname=app")


def open_cursor():
    conn = pool.getconn()
    return conn.cursor()
"""

_POOL_CARRIER_BY_HAND = ("the name holds a cursor of the connection the helper checked out "
                         "of its pool, and the helper may also be called where the cursor "
                         "is given back another way: add `pool.release(<cursor>.connection)` "
                         "(`putconn` for psycopg2) in a `finally` by hand")

PS102_POOL_CARRIER_INVALID: list[Case] = [
    Case(_POOL_CURSOR_HELPER + """

async def on_message(pool, text):
    cur = await open_cursor(pool)  # expect: PS102
    await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
    return await cur.fetchone()
""", note="aiomysql: a pool's checkout handed on as a cursor, never given back: one pool "
          "slot lost per call", unfixable=_POOL_CARRIER_BY_HAND),
    Case(_POOL_CURSOR_HELPER + """

async def on_message(pool, text):
    cur = await open_cursor(pool)  # expect: PS102
    try:
        await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
        return await cur.fetchone()
    finally:
        await cur.close()
""", note="only the cursor closed: its connection stays checked out of the pool",
         unfixable=_POOL_CARRIER_BY_HAND),
    Case(_POOL_CURSOR_HELPER + """

async def on_message(pool, text):
    cur = await open_cursor(pool)  # expect: PS102
    try:
        await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
        return await cur.fetchone()
    finally:
        cur.connection.close()
""", note="the cursor's connection closed, not released: the pool still counts it as "
          "used (the slot is lost)", unfixable=_POOL_CARRIER_BY_HAND),
    Case(_PG_POOL_CURSOR_HELPER + """

def lookup(code):
    cur = open_cursor()  # expect: PS102
    cur.execute("SELECT id FROM codes WHERE code = %s", (code,))
    row = cur.fetchone()
    pool.putconn(cur.connection)
    return row
""", note="psycopg2 pool: given back on success only; a failed SELECT keeps the slot",
         unfixable=_POOL_CARRIER_BY_HAND),
    Case("""\
import psycopg2


def open_cursor(dsn):
    return psycopg2.connect(dsn).cursor()


def lookup(dsn, code):
    cur = open_cursor(dsn)  # expect: PS102
    cur.execute("SELECT id FROM codes WHERE code = %s", (code,))
    return cur.fetchone()
""", note="a cursor of a connection the helper opens with no name: the connection is "
          "never closed", unfixable=_CARRIER_BY_HAND),
    Case("""\
import aiomysql


async def open_cursor(pool: aiomysql.Pool):
    return await (await pool.acquire()).cursor()  # expect: PS102


async def on_message(pool, text):
    cur = await open_cursor(pool)
    await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
    return await cur.fetchone()
""", note="a pool's checkout with no name in the helper: reported there once (nothing names "
          "it), its callers not told again",
         unfixable="the connection has no name: bind it to a name given back in a `finally` "
                   "(or a `with` block) around its use, by hand"),
    Case(_AIOPG + """

async def open_cursor(pool: aiopg.Pool):
    conn = await pool.acquire()
    try:
        return await conn.cursor()
    except BaseException:
        pool.release(conn)
        raise


async def lookup(pool, code):
    cur = await open_cursor(pool)  # expect: PS102
    try:
        await cur.execute("SELECT id FROM codes WHERE code = %s", (code,))
        return await cur.fetchone()
    finally:
        cur.close()
""", note="aiopg: only the cursor closed (aiopg's `Cursor.close()` is plain): the pool slot "
          "its connection holds is never given back", unfixable=_POOL_CARRIER_BY_HAND),
]

PS102_POOL_CARRIER_VALID: list[Case] = [
    Case(_POOL_CURSOR_HELPER + """

async def on_message(pool, text):
    cur = await open_cursor(pool)
    try:
        await cur.execute("SELECT id FROM codes WHERE code = %s", (text,))
        return await cur.fetchone()
    finally:
        pool.release(cur.connection)
""", note="the cursor's connection given back to the pool in `finally`"),
    Case(_PG_POOL_CURSOR_HELPER + """

def lookup(code):
    cur = open_cursor()
    try:
        cur.execute("SELECT id FROM codes WHERE code = %s", (code,))
        return cur.fetchone()
    finally:
        cur.close()
        pool.putconn(cur.connection)
""", note="psycopg2 pool: the cursor closed and its connection put back in `finally`"),
    Case("""\
import aiomysql


class Store:
    def __init__(self, pool: aiomysql.Pool):
        self.pool = pool

    async def open_cursor(self):
        conn = await self.pool.acquire()
        self.conn = conn
        return await conn.cursor()

    async def done(self):
        self.pool.release(self.conn)


async def lookup(store, code):
    cur = await store.open_cursor()
    await cur.execute("SELECT 1 FROM codes WHERE code = %s", (code,))
    return await cur.fetchone()
""", note="look-alike: the helper keeps the checkout on the object, which gives it back: "
          "the caller owns only the cursor"),
    Case(_POOL_CURSOR_HELPER.replace("    except BaseException:\n        pool.release(conn)\n"
                             "        raise\n", "    finally:\n        pool.release(conn)\n") + """

async def on_message(pool, text):
    cur = await open_cursor(pool)
    await cur.execute("SELECT 1")
""", note="look-alike: the helper gives its checkout back itself (PS106's business): the "
          "caller holds no slot"),
    Case("""\
import psycopg2


def open_cursor(dsn):
    return psycopg2.connect(dsn).cursor()


def lookup(dsn, code):
    cur = open_cursor(dsn)
    try:
        cur.execute("SELECT id FROM codes WHERE code = %s", (code,))
        return cur.fetchone()
    finally:
        cur.connection.close()
""", note="look-alike: the unnamed connection closed through its cursor in `finally`"),
]

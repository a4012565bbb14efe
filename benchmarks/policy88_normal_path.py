"""What the remaining debatable classes cost, measured (issue 31, round 44, policy88).

Large code bases' "debatable" findings (large85/86/87) rest on beliefs that nobody had measured:
  (i)   a function-local SQLAlchemy session or connection dropped unclosed on the NORMAL path (no exception)
        is "freed by reference counting at return";
  (ii)  an engine built per call and dropped undisposed holds "one idle connection until garbage collection";
  (iii) a one-shot command's idle transaction "ends with the process";
  (iv)  a direct (unpooled) connection kept on an object whose `__exit__` / `__enter__` skips `close()` when a
        call raises is "freed when the object is dropped".
Each scenario is a function called N times by a caller that catches any exception (as a web framework or a CLI
loop does). Counted, with automatic gc disabled (what reference counting alone frees):

  held     the pool's checked-out count after all N calls returned (SQLAlchemy `pool.checkedout()`)
  server   the scenario's server connections after return (pg_stat_activity by application_name; MariaDB
           processlist by database; -1 = no such count), and how many of them are "idle in transaction"
           (PostgreSQL: `state`; MariaDB: information_schema.innodb_trx rows)
  gc       held / server after gc.collect()
  warn     SQLAlchemy warnings raised and pool ERROR log records, from the calls to after gc.collect()
  rows     for write scenarios: rows the N calls inserted that are in the table after gc (0 = lost writes)
  lock     SQLite write scenarios: whether another connection could write (BEGIN IMMEDIATE, timeout 0)
           after return, before gc

    python benchmarks/policy88_normal_path.py [N]

Needs SQLAlchemy 2.x, psycopg2, PyMySQL, asyncpg, aiomysql, aiosqlite and greenlet; PostgreSQL at
127.0.0.1:5432 (user postgres, trust) and MariaDB at 127.0.0.1:3306 (root, no password, database `test`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import psycopg2
import pymysql
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
MY_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
TMP = tempfile.mkdtemp(prefix="policy88")
SQLITE_PATH = os.path.join(TMP, "t.db")

_pg = psycopg2.connect(PG_DSN, application_name="policy88_monitor")
_pg.autocommit = True
_my = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test", autocommit=True)


def pg_server(app: str) -> Callable[[], tuple[int, int]]:
    def count() -> tuple[int, int]:
        with _pg.cursor() as cur:
            cur.execute("SELECT count(*), count(*) FILTER (WHERE state = 'idle in transaction') "
                        "FROM pg_stat_activity WHERE application_name = %s", (app,))
            a, b = cur.fetchone()
            return int(a), int(b)
    return count


def my_server() -> tuple[int, int]:
    with _my.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.processlist WHERE db = 'test' AND id <> "
                    "CONNECTION_ID()")
        a = int(cur.fetchone()[0])
        cur.execute("SELECT count(*) FROM information_schema.innodb_trx WHERE trx_mysql_thread_id <> "
                    "CONNECTION_ID()")
        b = int(cur.fetchone()[0])
    return a, b


def no_server() -> tuple[int, int]:
    return -1, -1


def sqlite_writable() -> str:
    c = sqlite3.connect(SQLITE_PATH, timeout=0, isolation_level=None)
    try:
        c.execute("BEGIN IMMEDIATE")
        c.execute("ROLLBACK")
        return "free"
    except sqlite3.OperationalError as e:
        return f"locked ({e})"
    finally:
        c.close()


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.n = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.n += 1


LOG = _Count()
logging.getLogger("sqlalchemy").addHandler(LOG)
logging.getLogger("sqlalchemy").propagate = False

ROWS: list[tuple[str, ...]] = []


def measure(name: str, call: Callable[[], Any], held: Callable[[], int], server: Callable[[], tuple[int, int]],
            rows: Callable[[], int] | None = None, lock: Callable[[], str] | None = None,
            settle: Callable[[], None] | None = None) -> None:
    """Call `call` N times under a catching caller; gc off until after the counts at return."""
    errors = 0
    gc.collect()
    LOG.n = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.disable()
        try:
            for _ in range(N):
                try:
                    call()
                except Exception:
                    errors += 1
            if settle:
                settle()
            time.sleep(0.3)
            ret_held, ret_server = held(), server()
            lk = lock() if lock else "-"
        finally:
            gc.enable()
        gc.collect()
        if settle:
            settle()
        time.sleep(0.3)
        gc_held, gc_server = held(), server()
    sa_warn = sum(1 for w in caught if "garbage collector" in str(w.message))
    ROWS.append((name, f"{errors}/{N}", f"{ret_held}", f"{ret_server[0]} / {ret_server[1]}", lk,
                 f"{gc_held}", f"{gc_server[0]} / {gc_server[1]}", f"{sa_warn} / {LOG.n}",
                 str(rows()) if rows else "-"))


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "policy88_item"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    tag = sa.Column(sa.String(20))


# ------------------------------------------------------------------------------------ (i) sync, normal path
def sync_scenarios() -> None:
    urls = {"sqlite": f"sqlite:///{SQLITE_PATH}", "postgresql": PG_URL, "mariadb": MY_URL}
    for backend, url in urls.items():
        app = f"policy88_{backend}"
        kw: dict[str, Any] = {"pool_size": N, "max_overflow": 0, "pool_timeout": 1}
        if backend == "postgresql":
            kw["connect_args"] = {"application_name": app}
        if backend == "sqlite":
            kw["poolclass"] = sa.pool.QueuePool
            kw["connect_args"] = {"timeout": 1}  # a writer waits 1 s for SQLite's lock, not 5
        engine = sa.create_engine(url, **kw)
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        server = pg_server(app) if backend == "postgresql" else my_server if backend == "mariadb" else no_server
        held = engine.pool.checkedout  # type: ignore[attr-defined]
        lock = sqlite_writable if backend == "sqlite" else None

        def count(tag: str) -> Callable[[], int]:
            def n() -> int:
                with engine.connect() as c:
                    return int(c.execute(sa.select(sa.func.count()).where(Item.tag == tag)).scalar_one())
            return n

        def session_read_dropped() -> None:
            session = Session(engine)
            session.execute(sa.select(Item)).all()

        def session_read_commit_dropped() -> None:
            session = Session(engine)
            session.execute(sa.select(Item)).all()
            session.commit()

        def session_flush_dropped() -> None:
            session = Session(engine)
            session.add(Item(tag="flushed"))
            session.flush()

        def session_pending_dropped() -> None:
            session = Session(engine)
            session.add(Item(tag="pending"))

        def conn_read_dropped() -> None:
            conn = engine.connect()
            conn.execute(sa.select(Item)).all()

        def conn_read_commit_dropped() -> None:
            conn = engine.connect()
            conn.execute(sa.select(Item)).all()
            conn.commit()

        def conn_insert_dropped() -> None:
            conn = engine.connect()
            conn.execute(sa.insert(Item).values(tag="conn"))

        class Manager:
            def __init__(self) -> None:
                self.session = Session(engine)

            def names(self) -> list[Any]:
                return list(self.session.execute(sa.select(Item)).all())

        def object_session_dropped() -> None:
            Manager().names()

        for label, fn, rows in [
            ("Session: query, dropped (no commit, no close)", session_read_dropped, None),
            ("Session: query, commit(), dropped", session_read_commit_dropped, None),
            ("Session: add + flush, dropped without commit", session_flush_dropped, count("flushed")),
            ("Session: add only (pending, not flushed), dropped", session_pending_dropped, count("pending")),
            ("Connection: query, dropped (no commit, no close)", conn_read_dropped, None),
            ("Connection: query, commit(), dropped", conn_read_commit_dropped, None),
            ("Connection: INSERT, dropped without commit", conn_insert_dropped, count("conn")),
            ("object keeps a Session, queries, object dropped", object_session_dropped, None),
        ]:
            measure(f"sync {backend}: {label}", fn, held, server, rows=rows, lock=lock)
        engine.dispose()


# ------------------------------------------------------------------------------- (ii) engine per call, dropped
def engine_scenarios() -> None:
    for backend, url in [("postgresql", PG_URL), ("mariadb", MY_URL)]:
        app = f"policy88_eng_{backend}"
        ca = {"application_name": app} if backend == "postgresql" else {}
        server = pg_server(app) if backend == "postgresql" else my_server

        def engine_with_connect() -> None:
            engine = sa.create_engine(url, connect_args=ca)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        def engine_with_session() -> None:
            engine = sa.create_engine(url, connect_args=ca)
            with Session(engine) as session:
                session.execute(sa.text("SELECT 1"))

        def engine_only_inspect() -> None:
            engine = sa.create_engine(url, connect_args=ca)
            sa.inspect(engine).get_table_names()

        for label, fn in [("engine per call, `with engine.connect()`, dropped undisposed", engine_with_connect),
                          ("engine per call, `with Session(engine)`, dropped undisposed", engine_with_session),
                          ("engine per call, inspect(engine), dropped undisposed", engine_only_inspect)]:
            measure(f"sync {backend}: {label}", fn, lambda: -1, server)


# --------------------------------------------------------------- bursts with the garbage collector left on
BURST: list[tuple[str, ...]] = []


def bursts() -> None:
    m = 20 * N
    engine = sa.create_engine(PG_URL, pool_timeout=1, connect_args={"application_name": "policy88_burst"})
    Base.metadata.create_all(engine)

    def session_dropped() -> None:
        session = Session(engine)
        session.execute(sa.select(Item)).all()

    def conn_dropped() -> None:
        conn = engine.connect()
        conn.execute(sa.select(Item)).all()

    for what, fn in [("Session: query, dropped", session_dropped), ("Connection: query, dropped", conn_dropped)]:
        gc.collect()
        peak = timeouts = 0
        for _ in range(m):
            try:
                fn()
            except sa.exc.TimeoutError:
                timeouts += 1
            peak = max(peak, engine.pool.checkedout())  # type: ignore[attr-defined]
        BURST.append((f"PostgreSQL, default pool (5 + 10 overflow), {what}", str(m), str(peak), str(timeouts)))
    engine.dispose()

    count = pg_server("policy88_burst_eng")
    peak = 0
    for _ in range(m):
        e = sa.create_engine(PG_URL, connect_args={"application_name": "policy88_burst_eng"})
        with e.connect() as c:
            c.execute(sa.text("SELECT 1"))
        del e
        peak = max(peak, count()[0])
    gc.collect()
    time.sleep(0.3)
    BURST.append(("PostgreSQL, engine per call, dropped undisposed (server connections)", str(m), str(peak),
                  f"- (after gc.collect(): {count()[0]})"))


# ------------------------------------------------------------------ (iii) a one-shot command's idle transaction
ONESHOT: list[tuple[str, str]] = []

_CHILD = """
import time, sqlalchemy as sa
from sqlalchemy.orm import Session
e = sa.create_engine("%s", connect_args={"application_name": "policy88_oneshot"})
s = Session(e)
s.execute(sa.text("SELECT count(*) FROM policy88_item")).all()
print("read", flush=True)
time.sleep(2.0)          # the command's one wait (an SMTP send, an HTTP call), then the process ends
"""


def oneshot() -> None:
    count = pg_server("policy88_oneshot")
    child = subprocess.Popen([sys.executable, "-c", _CHILD % PG_URL], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "read"
    time.sleep(0.3)
    during = count()
    other = psycopg2.connect(PG_DSN, application_name="policy88_ddl")
    try:
        with other.cursor() as cur:
            cur.execute("SET lock_timeout = '200ms'")
            try:
                cur.execute("ALTER TABLE policy88_item ADD COLUMN policy88_x integer")
                ddl = "ran"
                other.rollback()
            except psycopg2.errors.LockNotAvailable:
                ddl = "blocked (lock_timeout)"
                other.rollback()
    finally:
        other.close()
    child.wait()
    time.sleep(0.3)
    after = count()
    ONESHOT.append(("during the wait: server connections / idle in transaction", f"{during[0]} / {during[1]}"))
    ONESHOT.append(("an ALTER TABLE on the table read, during the wait", ddl))
    ONESHOT.append(("after the process exited: server connections / idle in transaction",
                    f"{after[0]} / {after[1]}"))


# ---------------------------------------------------- (iv) a direct connection on an object, exception gaps
def object_scenarios() -> None:
    with _pg.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS policy88_child; DROP TABLE IF EXISTS policy88_parent")
        cur.execute("CREATE TABLE policy88_parent (id int PRIMARY KEY)")
        cur.execute("CREATE TABLE policy88_child (pid int REFERENCES policy88_parent DEFERRABLE INITIALLY DEFERRED)")
    app = "policy88_obj"
    server = pg_server(app)

    class Db:  # CatHub's postgresql.py shape: commit, then close, in __exit__, no finally
        def __enter__(self) -> Db:
            self.conn = psycopg2.connect(PG_DSN, application_name=app)
            return self

        def __exit__(self, *exc: object) -> None:
            self.conn.commit()  # the deferred foreign key fails here
            self.conn.close()

    def exit_commit_fails() -> None:
        with Db() as db:
            with db.conn.cursor() as cur:
                cur.execute("INSERT INTO policy88_child VALUES (42)")

    class Db2:  # mwmbl's shape: connect, then a set-up call that may fail, in __enter__
        def __enter__(self) -> Db2:
            self.conn = psycopg2.connect(PG_DSN, application_name=app)
            self.conn.cursor().execute("SET search_path TO policy88_missing_schema, public; SELECT 1/0")
            return self

        def __exit__(self, *exc: object) -> None:
            self.conn.close()

    def enter_setup_fails() -> None:
        with Db2():
            pass

    engine = sa.create_engine(PG_URL, pool_size=N, max_overflow=0, pool_timeout=1,
                              connect_args={"application_name": app})

    class Db3:  # CatHub's cathubsql.py shape on a SQLAlchemy connection
        def __enter__(self) -> Db3:
            self.conn = engine.connect()
            return self

        def __exit__(self, *exc: object) -> None:
            self.conn.commit()
            self.conn.close()

    def sa_exit_commit_fails() -> None:
        with Db3() as db:
            db.conn.execute(sa.text("INSERT INTO policy88_child VALUES (42)"))

    measure("psycopg2 direct connection on an object: __exit__ commit() raises before close()",
            exit_commit_fails, lambda: -1, server)
    measure("psycopg2 direct connection on an object: __enter__ set-up raises after connect()",
            enter_setup_fails, lambda: -1, server)
    measure("SQLAlchemy connection on an object: __exit__ commit() raises before close()",
            sa_exit_commit_fails, engine.pool.checkedout, server)  # type: ignore[attr-defined]
    engine.dispose()


def table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def main() -> None:
    print(f"N = {N}; SQLAlchemy {sa.__version__}, psycopg2 {psycopg2.__version__.split()[0]}, PyMySQL "
          f"{pymysql.__version__}, Python {sys.version.split()[0]}\n")
    sync_scenarios()
    import aiomysql
    import aiosqlite
    import asyncpg
    print(f"asyncpg {asyncpg.__version__}, aiomysql {aiomysql.__version__}, aiosqlite {aiosqlite.__version__}\n")
    async_scenarios_run()
    engine_scenarios()
    object_scenarios()
    head = ("scenario", "raised", "held after return", "server / in transaction after return",
            "SQLite writer", "held after gc", "server / in transaction after gc", "GC warnings / pool error logs",
            "rows kept (of N)")
    table(head, ROWS)
    bursts()
    table(("burst, gc on", "calls", "most held at once", "calls that timed out"), BURST)
    oneshot()
    table(("one-shot process: read, wait 2 s, exit without commit (PostgreSQL)", "observed"), ONESHOT)


def async_scenarios_run() -> None:
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    for backend, url, app in [
        ("sqlite", f"sqlite+aiosqlite:///{SQLITE_PATH}", ""),
        ("postgresql", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", "policy88_apg"),
        ("mariadb", "mysql+aiomysql://root@127.0.0.1:3306/test", ""),
    ]:
        server = pg_server(app) if backend == "postgresql" else my_server if backend == "mariadb" else no_server
        loop = asyncio.new_event_loop()
        kw: dict[str, Any] = {"pool_size": N, "max_overflow": 0, "pool_timeout": 1}
        if backend == "postgresql":
            kw["connect_args"] = {"server_settings": {"application_name": app}}
        if backend == "sqlite":
            kw["connect_args"] = {"timeout": 1}
        engine = create_async_engine(url, **kw)

        async def setup() -> None:
            async with engine.begin() as c:
                await c.run_sync(Base.metadata.drop_all)
                await c.run_sync(Base.metadata.create_all)

        loop.run_until_complete(setup())
        held = engine.pool.checkedout  # type: ignore[attr-defined]

        async def count_tag(tag: str) -> int:
            async with engine.connect() as c:
                return int((await c.execute(sa.select(sa.func.count()).where(Item.tag == tag))).scalar_one())

        async def session_read_dropped() -> None:
            session = AsyncSession(engine)
            (await session.execute(sa.select(Item))).all()

        async def session_read_commit_dropped() -> None:
            session = AsyncSession(engine)
            (await session.execute(sa.select(Item))).all()
            await session.commit()

        async def session_flush_dropped() -> None:
            session = AsyncSession(engine)
            session.add(Item(tag="aflushed"))
            await session.flush()

        async def conn_read_dropped() -> None:
            conn = await engine.connect()
            (await conn.execute(sa.select(Item))).all()

        for label, fn, tag in [
            ("AsyncSession: query, dropped (no commit, no close)", session_read_dropped, ""),
            ("AsyncSession: query, commit(), dropped", session_read_commit_dropped, ""),
            ("AsyncSession: add + flush, dropped without commit", session_flush_dropped, "aflushed"),
            ("AsyncConnection: query, dropped", conn_read_dropped, ""),
        ]:
            def call(fn: Callable[[], Any] = fn) -> None:
                loop.run_until_complete(fn())

            def rows(tag: str = tag) -> int:
                return loop.run_until_complete(count_tag(tag))

            def settle() -> None:
                loop.run_until_complete(asyncio.sleep(0.2))

            measure(f"async {backend}: {label}", call, held, server, rows=rows if tag else None,
                    lock=sqlite_writable if backend == "sqlite" else None, settle=settle)
        loop.run_until_complete(engine.dispose())
        loop.close()


if __name__ == "__main__":
    main()

"""What a checkout left open on the exception path costs, per library (issue 31, round 43, policy87).

Each scenario is a function that checks a connection out, runs a statement that raises, and releases only
after the statement (no `finally`), or (the committed-session class) never closes a session whose last call
is `commit()`. A "handler" calls it N times and catches the exception, as a web framework does. Counted:

  during   inside the last handler's `except` block (the traceback, and so the leaking frame, still alive)
  returned after all N handlers returned (automatic gc disabled: what reference counting alone frees)
  gc       after gc.collect()
  usable   after gc.collect(): how many of the pool's max slots a fresh checkout still gets (timeout 1 s)

"held" is the pool's own count of checked-out slots (SQLAlchemy `pool.checkedout()`, psycopg2.pool `_used`,
psycopg_pool `pool_size - pool_available`, mysql.connector `pool_size - queue size`, asyncpg `get_size() -
get_idle_size()`), "server" the server connections the scenario still has open (pg_stat_activity by
application_name, or MariaDB's processlist by database). Run with a Python that has SQLAlchemy 2.x, psycopg2,
psycopg + psycopg_pool, mysql-connector-python, PyMySQL, asyncpg and greenlet:

    python benchmarks/policy87_gc_reclaim.py [N]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and MariaDB at 127.0.0.1:3306 (root, no password,
creates database `policy87`). SQLite scenarios use a file under the temp directory.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5
PG = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
MY = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": "", "database": "policy87"}

warnings.simplefilter("ignore")  # SQLAlchemy's "garbage collector is trying to clean up" warning: counted below

import psycopg2  # noqa: E402
import pymysql  # noqa: E402

_monitor = psycopg2.connect(PG, application_name="policy87_monitor")
_monitor.autocommit = True
_mymonitor = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
with _mymonitor.cursor() as _c:
    _c.execute("CREATE DATABASE IF NOT EXISTS policy87")


def pg_count(app: str) -> int:
    with _monitor.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (app,))
        return int(cur.fetchone()[0])


def my_count() -> int:
    with _mymonitor.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.processlist WHERE db = 'policy87'")
        return int(cur.fetchone()[0])


ROWS: list[tuple[str, ...]] = []


def run(name: str, leak: Callable[[], Any], held: Callable[[], int], server: Callable[[], int],
        usable: Callable[[], int]) -> None:
    """Call `leak` N times under a catching handler; count held slots and server connections."""
    during: list[tuple[int, int]] = []
    errors = 0

    def handler(last: bool) -> None:
        nonlocal errors
        try:
            leak()
        except Exception:
            errors += 1
            if last:
                during.append((held(), server()))

    gc.collect()
    gc.disable()
    try:
        for i in range(N):
            handler(i == N - 1)
        time.sleep(0.3)  # as below: let closed sockets' backends leave the server's list
        returned = (held(), server())
    finally:
        gc.enable()
    gc.collect()
    time.sleep(0.3)  # a closed socket's server backend takes a moment to leave pg_stat_activity
    after = (held(), server())
    d = during[0] if during else (-1, -1)
    ROWS.append((name, f"{errors}/{N}", f"{d[0]} / {d[1]}", f"{returned[0]} / {returned[1]}",
                 f"{after[0]} / {after[1]}", str(usable())))


def na() -> int:
    return -1


# ---------------------------------------------------------------------------------------------- SQLAlchemy sync
def sqlalchemy_scenarios() -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import DeclarativeBase, Session

    class Base(DeclarativeBase):
        pass

    class Row(Base):
        __tablename__ = "policy87_row"
        id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)

    def probe(engine: sa.Engine) -> Callable[[], int]:
        def usable() -> int:
            got = []
            try:
                for _ in range(N):
                    got.append(engine.connect())
            except sa.exc.TimeoutError:
                pass
            for c in got:
                c.close()
            return len(got)
        return usable

    path = os.path.join(tempfile.mkdtemp(prefix="policy87"), "t.db")
    urls = {
        "sqlite": f"sqlite:///{path}",
        "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
        "mariadb": "mysql+pymysql://root@127.0.0.1:3306/policy87",
    }
    for backend, url in urls.items():
        app = f"policy87_sa_{backend}"
        kw: dict[str, Any] = {"pool_size": N, "max_overflow": 0, "pool_timeout": 1}
        if backend == "postgresql":
            kw["connect_args"] = {"application_name": app}
        if backend == "sqlite":
            kw["poolclass"] = sa.pool.QueuePool
        engine = sa.create_engine(url, **kw)
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            s.add(Row())  # id 1 from the table's own sequence (an explicit id would not advance PostgreSQL's)
            s.commit()
        server = (lambda: pg_count(app)) if backend == "postgresql" else my_count if backend == "mariadb" else na
        held = engine.pool.checkedout  # type: ignore[attr-defined]

        def conn_close_not_finally() -> None:
            conn = engine.connect()
            conn.execute(sa.text("SELECT * FROM policy87_missing"))
            conn.close()

        def session_close_not_finally() -> None:
            session = Session(engine)
            session.execute(sa.text("SELECT * FROM policy87_missing"))
            session.close()

        def session_query_then_commit_fails() -> None:
            session = Session(engine)
            session.execute(sa.select(Row)).all()
            session.add(Row(id=1))  # duplicate key: the commit's flush raises
            session.commit()

        def session_add_commit_fails() -> None:
            session = Session(engine)
            session.add(Row(id=1))  # duplicate key
            session.commit()

        def session_add_commit_ok() -> None:
            session = Session(engine)
            session.add(Row())
            session.commit()  # never closed, no exception
            raise RuntimeError("the handler's own error after the commit")

        def session_commit_then_query_fails() -> None:
            session = Session(engine)
            session.add(Row())
            session.commit()
            session.execute(sa.text("SELECT * FROM policy87_missing"))  # connects again, then raises
            session.close()

        for label, fn in [
            ("Connection: close after statement, no finally", conn_close_not_finally),
            ("Session: close after statement, no finally", session_close_not_finally),
            ("Session: add-only, commit() raises (dup key), never closed", session_add_commit_fails),
            ("Session: query, add, commit() raises, never closed", session_query_then_commit_fails),
            ("Session: add-only, commit() succeeds, never closed, then error", session_add_commit_ok),
            ("Session: commit ok, later query raises, close not in finally", session_commit_then_query_fails),
        ]:
            run(f"SQLAlchemy {sa.__version__} {backend}: {label}", fn, held, server, probe(engine))
        engine.dispose()

    # PS202: an engine built per call, used in `with`, dropped undisposed (no exception at all), and an engine
    # disposed at the end but not in a finally, whose statement raises.
    for backend, url in list(urls.items())[1:]:
        app = f"policy87_eng_{backend}"
        server = (lambda: pg_count(app)) if backend == "postgresql" else my_count
        ca = {"application_name": app} if backend == "postgresql" else {}

        def engine_dropped() -> None:
            engine = sa.create_engine(url, connect_args=ca)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            raise RuntimeError("the handler's own error after the work")

        def engine_dropped_no_error() -> None:
            engine = sa.create_engine(url, connect_args=ca)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        def engine_dispose_not_finally() -> None:
            engine = sa.create_engine(url, connect_args=ca)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT * FROM policy87_missing"))
            engine.dispose()

        run(f"SQLAlchemy {backend}: engine per call, used in with, never disposed, returns normally",
            engine_dropped_no_error, na, server, na)
        run(f"SQLAlchemy {backend}: engine per call, used in with, never disposed, then error", engine_dropped,
            na, server, na)
        run(f"SQLAlchemy {backend}: engine per call, dispose() not in finally, statement raises",
            engine_dispose_not_finally, na, server, na)


# A burst with the garbage collector left on (default thresholds): M failing calls in a row, each caught, on
# SQLAlchemy's default pool size (pool_size=5, max_overflow=10) with pool_timeout=1: how many calls found the
# pool exhausted (TimeoutError), and the most slots held at once.
BURST: list[tuple[str, ...]] = []


def sqlalchemy_burst() -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    m = 10 * N
    for label, pool_kw in [("pool_size=5, max_overflow=10 (defaults)", {}),
                           ("pool_size=5, max_overflow=0", {"max_overflow": 0})]:
        engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", pool_timeout=1,
                                  **pool_kw)

        def conn_leak() -> None:
            conn = engine.connect()
            conn.execute(sa.text("SELECT * FROM policy87_missing"))
            conn.close()

        def session_leak() -> None:
            session = Session(engine)
            session.execute(sa.text("SELECT * FROM policy87_missing"))
            session.close()

        for what, fn in [("Connection", conn_leak), ("Session", session_leak)]:
            gc.collect()
            peak = timeouts = 0
            for _ in range(m):
                try:
                    fn()
                except sa.exc.TimeoutError:
                    timeouts += 1
                except Exception:
                    pass
                peak = max(peak, engine.pool.checkedout())  # type: ignore[attr-defined]
            gc.collect()
            BURST.append((f"SQLAlchemy {what}, {label}", str(m), str(peak), str(timeouts),
                          str(engine.pool.checkedout())))  # type: ignore[attr-defined]
        engine.dispose()


# --------------------------------------------------------------------------------------- SQLAlchemy asyncio
def sqlalchemy_async_scenarios() -> None:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    app = "policy87_sa_asyncpg"

    async def main() -> None:
        engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", pool_size=N,
                                     max_overflow=0, pool_timeout=1,
                                     connect_args={"server_settings": {"application_name": app}})
        held = engine.sync_engine.pool.checkedout  # type: ignore[attr-defined]

        async def conn_close_not_finally() -> None:
            conn = await engine.connect()
            await conn.execute(sa.text("SELECT * FROM policy87_missing"))
            await conn.close()

        async def session_close_not_finally() -> None:
            session = AsyncSession(engine)
            await session.execute(sa.text("SELECT * FROM policy87_missing"))
            await session.close()

        for label, fn in [("AsyncConnection: close after statement, no finally", conn_close_not_finally),
                          ("AsyncSession: close after statement, no finally", session_close_not_finally)]:
            during: list[tuple[int, int]] = []
            errors = 0

            async def handler(last: bool) -> None:
                nonlocal errors
                try:
                    await fn()
                except Exception:
                    errors += 1
                    if last:
                        during.append((held(), pg_count(app)))

            gc.collect()
            gc.disable()
            for i in range(N):
                await handler(i == N - 1)
            await asyncio.sleep(0.2)
            returned = (held(), pg_count(app))
            gc.enable()
            gc.collect()
            await asyncio.sleep(0.5)  # let a finalizer's scheduled close run on the loop
            after = (held(), pg_count(app))
            got = []
            try:
                for _ in range(N):
                    got.append(await engine.connect())
            except sa.exc.TimeoutError:
                pass
            for c in got:
                await c.close()
            ROWS.append((f"SQLAlchemy async (asyncpg): {label}", f"{errors}/{N}", f"{during[0][0]} / {during[0][1]}",
                         f"{returned[0]} / {returned[1]}", f"{after[0]} / {after[1]}", str(len(got))))
        await engine.dispose()

    asyncio.run(main())


# ------------------------------------------------------------------------------------------------ raw pools
def psycopg2_pool_scenario() -> None:
    from psycopg2 import pool as pg2pool

    app = "policy87_pg2pool"
    p = pg2pool.ThreadedConnectionPool(0, N, PG + f" application_name={app}")

    def leak() -> None:
        conn = p.getconn()
        cur = conn.cursor()
        cur.execute("SELECT * FROM policy87_missing")
        p.putconn(conn)

    def usable() -> int:
        got = []
        try:
            for _ in range(N):
                got.append(p.getconn())
        except pg2pool.PoolError:
            pass
        for c in got:
            p.putconn(c)
        return len(got)

    run("psycopg2.pool.ThreadedConnectionPool: putconn after statement, no finally", leak,
        lambda: len(p._used), lambda: pg_count(app), usable)
    p.closeall()


def psycopg_pool_scenario() -> None:
    import psycopg_pool

    app = "policy87_psycopg_pool"
    p = psycopg_pool.ConnectionPool(PG + f" application_name={app}", min_size=1, max_size=N, timeout=1, open=True)

    def leak() -> None:
        conn = p.getconn()
        conn.execute("SELECT * FROM policy87_missing")
        p.putconn(conn)

    def held() -> int:
        s = p.get_stats()
        return int(s.get("pool_size", 0)) - int(s.get("pool_available", 0))

    def usable() -> int:
        got = []
        try:
            for _ in range(N):
                got.append(p.getconn(timeout=1))
        except psycopg_pool.PoolTimeout:
            pass
        for c in got:
            p.putconn(c)
        return len(got)

    run(f"psycopg_pool {psycopg_pool.__version__} ConnectionPool: putconn after statement, no finally", leak, held,
        lambda: pg_count(app), usable)
    p.close(timeout=1)


def mysql_connector_pool_scenario() -> None:
    import mysql.connector
    from mysql.connector import pooling

    p = pooling.MySQLConnectionPool(pool_name="policy87", pool_size=N, **MY)

    def leak() -> None:
        conn = p.get_connection()
        cur = conn.cursor()
        cur.execute("SELECT * FROM policy87_missing")
        conn.close()  # returns the pooled connection

    def usable() -> int:
        got = []
        try:
            for _ in range(N):
                got.append(p.get_connection())
        except mysql.connector.errors.PoolError:
            pass
        for c in got:
            c.close()
        return len(got)

    run(f"mysql.connector {mysql.connector.__version__} pooling: close after statement, no finally", leak,
        lambda: N - p._cnx_queue.qsize(), my_count, usable)


def pymysql_direct_scenario() -> None:
    def leak() -> None:
        conn = pymysql.connect(**MY)
        cur = conn.cursor()
        cur.execute("SELECT * FROM policy87_missing")
        conn.close()

    run(f"PyMySQL {pymysql.__version__} direct connect: close after statement, no finally", leak, na, my_count, na)


def psycopg2_direct_scenario() -> None:
    app = "policy87_pg2direct"

    def leak() -> None:
        conn = psycopg2.connect(PG, application_name=app)
        cur = conn.cursor()
        cur.execute("SELECT * FROM policy87_missing")
        conn.close()

    run("psycopg2 direct connect: close after statement, no finally", leak, na, lambda: pg_count(app), na)


def asyncpg_pool_scenario() -> None:
    import asyncpg

    app = "policy87_asyncpg"

    async def main() -> None:
        p = await asyncpg.create_pool("postgresql://postgres@127.0.0.1:5432/postgres", min_size=1, max_size=N,
                                      server_settings={"application_name": app})

        async def leak() -> None:
            conn = await p.acquire()
            await conn.execute("SELECT * FROM policy87_missing")
            await p.release(conn)

        def held() -> int:
            return p.get_size() - p.get_idle_size()

        during: list[tuple[int, int]] = []
        errors = 0

        async def handler(last: bool) -> None:
            nonlocal errors
            try:
                await leak()
            except Exception:
                errors += 1
                if last:
                    during.append((held(), pg_count(app)))

        gc.collect()
        gc.disable()
        for i in range(N):
            await handler(i == N - 1)
        returned = (held(), pg_count(app))
        gc.enable()
        gc.collect()
        await asyncio.sleep(0.5)
        after = (held(), pg_count(app))
        got = []
        try:
            for _ in range(N):
                got.append(await p.acquire(timeout=1))
        except asyncio.TimeoutError:
            pass
        for c in got:
            await p.release(c)
        ROWS.append((f"asyncpg {asyncpg.__version__} pool.acquire: release after statement, no finally", f"{errors}/{N}",
                     f"{during[0][0]} / {during[0][1]}", f"{returned[0]} / {returned[1]}",
                     f"{after[0]} / {after[1]}", str(len(got))))
        p.terminate()

    asyncio.run(main())


def main() -> None:
    for step in (sqlalchemy_scenarios, sqlalchemy_burst, sqlalchemy_async_scenarios, psycopg2_pool_scenario, psycopg_pool_scenario,
                 mysql_connector_pool_scenario, pymysql_direct_scenario, psycopg2_direct_scenario,
                 asyncpg_pool_scenario):
        try:
            step()
        except Exception as exc:  # a library not installed: say so, go on
            ROWS.append((f"{step.__name__}: not run ({type(exc).__name__}: {exc})".replace("\n", " "),
                         "", "", "", "", ""))
    print(f"N = {N} calls, each raising; held / server counted (-1 = no such count)")
    print("| scenario | raised | during except: held / server | handlers returned: held / server "
          "| after gc.collect(): held / server | usable slots after gc (of N) |")
    print("|---|---|---|---|---|---|")
    for row in ROWS:
        print("| " + " | ".join(row) + " |")
    print()
    print("Burst, automatic gc on (default thresholds), PostgreSQL, pool_timeout=1:")
    print("| scenario | failing calls | most slots held at once | calls that found the pool exhausted "
          "| held after gc.collect() |")
    print("|---|---|---|---|---|")
    for row in BURST:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

"""Fixes that never change behaviour (issue 13): an existing `finally` takes the release,
imports join existing lines and unused ones go, comments move, rebound names and
several `with` items are handled. Each: exact before/after, the result re-parses, the
rule is quiet after it, and fixing again changes nothing."""

from __future__ import annotations

from poolsafe.fix.loop.apply import FixResult, fix_sources
from poolsafe.scan.engine import ScanOptions, scan_sources

PG = """\
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
"""


def _fix(code: str, files: dict[str, str], *, unsafe: bool = False) -> FixResult:
    result = fix_sources(files, ScanOptions(select={code}), unsafe=unsafe)
    assert not result.errors, result.errors
    return result


def _fixed(code: str, source: str, *, files: dict[str, str] | None = None,
           path: str = "case.py", unsafe: bool = False) -> str:
    """The fixed text of `path`, checked: it compiles, `code` no longer reports it, and a
    second run changes nothing."""
    every = {**(files or {}), path: source}
    result = _fix(code, every, unsafe=unsafe)
    fixed = result.sources()
    for name, text in fixed.items():
        compile(text, name, "exec")
    after = scan_sources(fixed, ScanOptions(select={code}))
    assert not [f for f in after.findings if f.path == path], after.findings
    again = _fix(code, fixed, unsafe=unsafe)
    assert again.sources() == fixed and not again.applied
    return fixed[path]


# ------------------------------------------------- an existing `finally`
def test_release_after_a_try_finally_joins_its_finally() -> None:
    before = PG + """
def update(log):
    conn = pool.getconn()
    try:
        conn.cursor().execute("UPDATE t SET x = 1")
        conn.commit()
    finally:
        log.info("done")
    pool.putconn(conn)
"""
    assert _fixed("PS102", before) == PG + """
def update(log):
    conn = pool.getconn()
    try:
        conn.cursor().execute("UPDATE t SET x = 1")
        conn.commit()
    finally:
        log.info("done")
        pool.putconn(conn)
"""


def test_finally_pass_takes_the_release_and_is_not_left_behind() -> None:
    before = PG + """
def update():
    conn = pool.getconn()
    try:
        conn.cursor().execute("UPDATE t SET x = 1")
        conn.commit()
        pool.putconn(conn)
    finally:
        pass
"""
    after = _fixed("PS102", before)
    assert after == PG + """
def update():
    conn = pool.getconn()
    try:
        conn.cursor().execute("UPDATE t SET x = 1")
        conn.commit()
    finally:
        pool.putconn(conn)
"""
    assert "pass" not in after


def test_a_finally_that_may_raise_keeps_the_release_outside_it() -> None:
    # `conn.commit()` in the finally may raise: the release must not depend on it
    before = PG + """
def update():
    conn = pool.getconn()
    try:
        conn.cursor().execute("UPDATE t SET x = 1")
    finally:
        conn.commit()
    pool.putconn(conn)
"""
    after = _fixed("PS102", before)
    assert after == PG + """
def update():
    conn = pool.getconn()
    try:
        try:
            conn.cursor().execute("UPDATE t SET x = 1")
        finally:
            conn.commit()
    finally:
        pool.putconn(conn)
"""


def test_an_inner_finally_emptied_by_the_fix_goes_away() -> None:
    before = PG + """
def rows():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SET search_path TO app")
    try:
        cur.execute("SELECT 1")
        return cur.fetchall()
    finally:
        pool.putconn(conn)
"""
    after = _fixed("PS102", before)
    assert after == PG + """
def rows():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SET search_path TO app")
        cur.execute("SELECT 1")
        return cur.fetchall()
    finally:
        pool.putconn(conn)
"""


def test_an_emptied_finally_of_a_try_with_handlers_is_dropped() -> None:
    before = PG + """
def rows():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SET search_path TO app")
    try:
        cur.execute("SELECT 1")
        return cur.fetchall()
    except ValueError:
        return None
    finally:
        pool.putconn(conn)
"""
    after = _fixed("PS102", before)
    assert "finally:\n            pass" not in after and after.count("finally:") == 1
    assert """    try:
        cur = conn.cursor()
        cur.execute("SET search_path TO app")
        try:
            cur.execute("SELECT 1")
            return cur.fetchall()
        except ValueError:
            return None
    finally:
        pool.putconn(conn)
""" in after


# ------------------------------------------------------------- imports
DB = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
engine = create_engine("postgresql://localhost/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""


def test_ps105_joins_existing_import_lines_and_drops_the_unused_factory() -> None:
    before = """from fastapi import FastAPI
from sqlalchemy.orm import Session
from db import SessionLocal

app = FastAPI()


@app.get("/users")
def users():
    db = SessionLocal()  # one session per request
    try:
        return db.query(User).all()
    finally:
        db.close()
"""
    result = _fix("PS105", {"db.py": DB, "routes.py": before})
    assert [a.safe for a in result.applied] == [True]
    assert result.sources()["routes.py"] == """from fastapi import FastAPI, Depends
from sqlalchemy.orm import Session
from db import get_db

app = FastAPI()


@app.get("/users")
def users(db: Session = Depends(get_db)):
    # one session per request
    return db.query(User).all()
"""
    assert _fixed("PS105", before, files={"db.py": DB}, path="routes.py") == \
        result.sources()["routes.py"]


def test_an_import_still_used_elsewhere_is_kept() -> None:
    before = """from fastapi import FastAPI
from db import SessionLocal

app = FastAPI()


@app.get("/users")
def users():
    db = SessionLocal()
    try:
        return db.query(User).all()
    finally:
        db.close()


def job():
    with SessionLocal() as db:
        db.execute("SELECT 1")
"""
    after = _fixed("PS105", before, files={"db.py": DB}, path="routes.py")
    assert after.startswith("from fastapi import FastAPI, Depends\n"
                            "from db import SessionLocal, get_db\n")


def test_parenthesised_import_keeps_its_layout() -> None:
    before = """from fastapi import (
    FastAPI,
    HTTPException,
)
from db import SessionLocal

app = FastAPI()


@app.get("/users")
def users():
    db = SessionLocal()
    try:
        return db.query(User).all()
    finally:
        db.close()
"""
    after = _fixed("PS105", before, files={"db.py": DB}, path="routes.py")
    assert after.startswith("""from fastapi import (
    FastAPI,
    HTTPException,
    Depends,
)
from db import get_db
""")


def test_a_commented_import_line_is_left_alone() -> None:
    before = """from fastapi import FastAPI
from db import SessionLocal  # the factory

app = FastAPI()


@app.get("/users")
def users():
    db = SessionLocal()
    try:
        return db.query(User).all()
    finally:
        db.close()
"""
    after = _fixed("PS105", before, files={"db.py": DB}, path="routes.py")
    assert "from db import SessionLocal, get_db  # the factory\n" in after


# ------------------------------------------------------- PS104 async with
def test_ps104_async_with_return_becomes_a_safe_yield() -> None:
    before = """from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

Factory = async_sessionmaker(create_async_engine("postgresql+asyncpg://app@db/app"))
app = FastAPI()


async def get_session():
    async with Factory() as session:
        return session


@app.get("/items")
async def items(session: AsyncSession = Depends(get_session)):
    return await session.execute("SELECT 1")
"""
    result = _fix("PS104", {"case.py": before})
    assert [a.safe for a in result.applied] == [True]
    assert _fixed("PS104", before) == before.replace("        return session\n",
                                                     "        yield session\n")


# ---------------------------------------------------- comments, rebinding
def test_ps105_comment_on_the_removed_line_moves_and_the_fix_stays_safe() -> None:
    before = DB + """
from fastapi import FastAPI
app = FastAPI()


@app.get("/users")
def users():
    db = SessionLocal()  # note
    items = db.query(User).all()
    db.close()
    return items
"""
    result = _fix("PS105", {"case.py": before})
    assert [a.safe for a in result.applied] == [True]
    after = _fixed("PS105", before)
    assert "    # note\n    items = db.query(User).all()\n" in after


def test_a_name_rebound_after_its_first_connection_was_released_is_fixed() -> None:
    before = PG + """
def two():
    conn = pool.getconn()
    conn.cursor().execute("SELECT 1")
    pool.putconn(conn)
    conn = pool.getconn()
    conn.cursor().execute("SELECT 2")
    pool.putconn(conn)
"""
    assert _fixed("PS102", before) == PG + """
def two():
    conn = pool.getconn()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        pool.putconn(conn)
    conn = pool.getconn()
    try:
        conn.cursor().execute("SELECT 2")
    finally:
        pool.putconn(conn)
"""


def test_checkout_released_as_the_last_statement_of_its_with_block() -> None:
    before = PG + """
def save():
    with pool.getconn() as conn:
        conn.cursor().execute("UPDATE t SET x = 1")
        conn.commit()
        pool.putconn(conn)
"""
    result = _fix("PS102", {"case.py": before})
    assert [a.safe for a in result.applied] == [True]
    assert _fixed("PS102", before) == PG + """
def save():
    conn = pool.getconn()
    try:
        with conn:
            conn.cursor().execute("UPDATE t SET x = 1")
            conn.commit()
    finally:
        pool.putconn(conn)
"""


def test_release_inside_with_before_the_commit_is_an_unsafe_fix() -> None:
    # the release ran before the block's exit committed: the pool rolled the work back;
    # after the fix the exit commits it. That is a change of behaviour.
    before = PG + """
def save():
    with pool.getconn() as conn:
        conn.cursor().execute("UPDATE t SET x = 1")
        pool.putconn(conn)
"""
    safe = _fix("PS102", {"case.py": before})
    assert safe.sources()["case.py"] == before
    (reason,) = [x.reason for x in safe.left]
    assert reason.startswith(
        "unsafe fix available (--unsafe-fixes): the release ran inside the block, before "
        "its commit (the pool rolled back uncommitted work); after the fix the block "
        "commits first")
    # and the equivalence check sees the same: the release moved past the exit
    assert "the original's release of `conn` before it leaves `with conn`" in reason
    assert "    finally:\n        pool.putconn(conn)\n" in _fixed("PS102", before, unsafe=True)


# ----------------------------------------------------- several with items
def test_with_checkout_and_cursor_items() -> None:
    before = PG + """
def rows():
    with pool.getconn() as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        return cur.fetchall()
"""
    assert _fixed("PS102", before) == PG + """
def rows():
    conn = pool.getconn()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchall()
    finally:
        pool.putconn(conn)
"""


def test_with_checkout_and_cursor_items_in_a_generator() -> None:
    before = PG + """
def stream():
    with pool.getconn() as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM t")
        yield from cur
"""
    assert _fixed("PS102", before) == PG + """
def stream():
    conn = pool.getconn()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT id FROM t")
            yield from cur
    finally:
        pool.putconn(conn)
"""


def test_checkout_after_another_with_item_is_not_moved_before_it() -> None:
    before = PG + """
import threading
lock = threading.Lock()

def rows():
    with lock, pool.getconn() as conn:
        return conn.cursor().fetchall()
"""
    result = _fix("PS102", {"case.py": before}, unsafe=True)
    assert result.sources()["case.py"] == before
    assert [x.reason for x in result.left] == [
        "not fixable: a `with` statement whose first item is not `<checkout> as name`"]


def test_an_import_line_below_the_code_is_not_extended() -> None:
    # `Depends(get_db)` is evaluated when the route is defined: the name must be bound
    # by the leading import block, not by a `from fastapi import ...` further down
    before = """from db import SessionLocal
from main import app


@app.get("/users")
def users():
    db = SessionLocal()
    try:
        return db.query(User).all()
    finally:
        db.close()


from fastapi import HTTPException
"""
    main = "from fastapi import FastAPI\napp = FastAPI()\n"
    after = _fixed("PS105", before, files={"db.py": DB, "main.py": main}, path="routes.py")
    assert after == """from db import get_db
from main import app
from sqlalchemy.orm import Session
from fastapi import Depends


@app.get("/users")
def users(db: Session = Depends(get_db)):
    return db.query(User).all()


from fastapi import HTTPException
"""


# --------------------------------- a close guarded by is_connected() (corpus2)
MYSQL = """\
from mysql.connector import Error, pooling
cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")
"""


def test_guarded_close_gets_an_else_and_the_handler_still_runs_first() -> None:
    before = MYSQL + """
def save(rows):
    try:
        conn = cnxpool.get_connection()
        cur = conn.cursor()
        cur.executemany("INSERT INTO t VALUES (%s)", rows)
        conn.commit()
    except Error:
        conn.rollback()
    finally:
        if conn.is_connected():
            cur.close()
            conn.close()
"""
    assert _fixed("PS102", before) == MYSQL + """
def save(rows):
    try:
        conn = cnxpool.get_connection()
        cur = conn.cursor()
        cur.executemany("INSERT INTO t VALUES (%s)", rows)
        conn.commit()
    except Error:
        conn.rollback()
    finally:
        if conn.is_connected():
            cur.close()
            conn.close()
        else:
            try:
                conn.close()
            except Exception:
                pass
"""


def test_a_use_in_the_enclosing_handler_is_not_released_before_it() -> None:
    before = PG + """
import psycopg2

def save(rows):
    try:
        conn = pool.getconn()
        conn.cursor().executemany("INSERT INTO t VALUES (%s)", rows)
        conn.commit()
        pool.putconn(conn)
    except psycopg2.Error:
        conn.rollback()
        raise
"""
    result = _fix("PS102", {"case.py": before})
    assert result.sources()["case.py"] == before
    # the release goes in the `finally` of the `try` that holds the checkout, after
    # the handler's use (tests/fix/test_fix_real.py); without `conn = None` before the
    # `try` that is unsafe (the handler meets None where getconn() raised)
    (reason,) = [x.reason for x in result.left]
    assert reason.startswith("unsafe fix available") and "UnboundLocalError" in reason


def test_a_release_inside_another_with_block_stays_inside_it() -> None:
    """A close inside a shielded cancel scope (or a timeout, a lock) in the `finally`,
    after a statement that may fail: moving the close out to a `finally` of its own
    would run it unshielded, so the fix is unsafe (large50's case; the executed proof
    saw a different outcome)."""
    before = '''
from anyio import move_on_after
from psycopg import AsyncConnection


async def listen(dsn):
    conn = await AsyncConnection.connect(dsn)
    await conn.execute("SET application_name = 'listener'")
    try:
        await conn.execute("LISTEN events")
    finally:
        with move_on_after(3, shield=True):
            await conn.execute("UNLISTEN *")
            await conn.close()
'''
    result = _fix("PS102", {"case.py": before})
    assert result.sources()["case.py"] == before
    (reason,) = [x.reason for x in result.left]
    assert reason.startswith("unsafe fix available (--unsafe-fixes)"), reason
    assert "before it leaves `with move_on_after(3, shield=True)`" in reason, reason

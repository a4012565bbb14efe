"""Fixes over every rule's INVALID cases: the result parses and compiles, the rule no
longer reports it, and fixing again changes nothing; plus exact before/after goldens."""

from __future__ import annotations

import pytest

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.rules import ALL_RULES, Case, Rule
from poolsafe.scan.engine import ScanOptions, scan_sources

# the PS2xx fixes have cases of their own in test_fix_ps20x.py
FIXABLE = [r for r in ALL_RULES if r.fixable and not r.code.startswith("PS2")]


def _files(case: Case) -> dict[str, str]:
    return {**case.files, case.path: case.code}


def _params() -> list[object]:
    return [pytest.param(rule, case, id=f"{rule.code}-invalid-{i}")
            for rule in FIXABLE for i, case in enumerate(rule.INVALID)]


@pytest.mark.parametrize(("rule", "case"), _params())
def test_fix_every_invalid_case(rule: type[Rule], case: Case) -> None:
    options = ScanOptions(select={rule.code})
    result = fix_sources(_files(case), options, unsafe=True)
    assert not result.errors, result.errors
    if case.unfixable:  # left, every one of its findings with the reason the case gives
        assert result.applied == [] and result.left
        assert {x.reason for x in result.left} == {f"not fixable: {case.unfixable}"}
        return
    assert result.applied, [x.reason for x in result.left]
    fixed = result.sources()
    for name, text in fixed.items():
        compile(text, name, "exec")
    after = scan_sources(fixed, options)
    assert not [f for f in after.findings if f.code == rule.code], after.findings
    again = fix_sources(fixed, options, unsafe=True)
    assert again.sources() == fixed
    assert not again.applied


def test_every_fixable_rule_has_cases() -> None:
    assert {r.code for r in FIXABLE} >= {"PS101", "PS102", "PS103", "PS104", "PS105"}


def _fix(code: str, source: str, *, unsafe: bool = False, files: dict[str, str] | None = None,
         path: str = "case.py", select: str | None = None) -> str:
    result = fix_sources({**(files or {}), path: source},
                         ScanOptions(select={select or code}), unsafe=unsafe)
    assert not result.errors, result.errors
    return result.sources()[path]


PG = """\
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
"""


# ------------------------------------------------------------------ PS101
def test_ps101_close_in_finally_replaced_in_place_keeping_comments() -> None:
    before = PG + """
def rows():
    conn = pool.getconn()
    try:
        return conn.cursor().fetchall()
    finally:
        # give it back
        conn.close()  # done
"""
    assert _fix("PS101", before) == PG + """
def rows():
    conn = pool.getconn()
    try:
        return conn.cursor().fetchall()
    finally:
        # give it back
        pool.putconn(conn)  # done
"""


def test_ps101_wrapper_release_is_imported() -> None:
    db = PG + """
def get_db_connection():
    return pool.getconn()

def release_db_connection(conn):
    pool.putconn(conn)
"""
    before = """from db import get_db_connection

def report():
    conn = get_db_connection()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()
"""
    assert _fix("PS101", before, files={"db.py": db}, path="reports.py") == \
        """from db import get_db_connection, release_db_connection

def report():
    conn = get_db_connection()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        release_db_connection(conn)
"""


def test_ps101_close_without_try_moves_into_finally() -> None:
    before = PG + """
def rows():
    conn = pool.getconn()
    data = conn.cursor().fetchall()
    conn.close()
    return data
"""
    assert _fix("PS101", before) == PG + """
def rows():
    conn = pool.getconn()
    try:
        data = conn.cursor().fetchall()
    finally:
        pool.putconn(conn)
    return data
"""


def test_ps101_async_putconn_is_awaited() -> None:
    before = """from psycopg_pool import AsyncConnectionPool
pool = AsyncConnectionPool("dbname=app")

async def rows():
    conn = await pool.getconn()
    try:
        return await conn.execute("SELECT 1")
    finally:
        await conn.close()
"""
    assert "        await pool.putconn(conn)\n" in _fix("PS101", before)


def test_ps102_aiomysql_close_is_not_awaited() -> None:
    """aiomysql's `Connection.close()` is a plain method that returns None: the release
    the fix writes is `conn.close()`; `await conn.close()` would raise TypeError in the
    `finally` of every call (breadth45)."""
    factory = """import aiomysql


async def open_db():
    return await aiomysql.connect(host="db", user="app", db="shop")
"""
    via_factory = """from store import open_db


async def count():
    conn = await open_db()
    async with conn.cursor() as cur:
        await cur.execute("SELECT count(*) FROM stock")
        (n,) = await cur.fetchone()
    return n
"""
    direct = """import aiomysql


async def count():
    conn = await aiomysql.connect(host="db", user="app", db="shop")
    cur = await conn.cursor()
    await cur.execute("SELECT count(*) FROM stock")
    (n,) = await cur.fetchone()
    conn.close()
    return n
"""
    for before, files in ((via_factory, {"store.py": factory}), (direct, {})):
        after = _fix("PS102", before, files=files)
        assert after != before
        assert "        conn.close()\n" in after and "await conn.close()" not in after, after


def test_ps101_psycopg3_with_conn_is_not_rewritten_away() -> None:
    """Dropping psycopg 3's `with conn:` would drop the commit its exit makes: the
    equivalence check refuses that fix even as an unsafe one (issue #30, class 6)."""
    before = """from psycopg_pool import ConnectionPool
pool = ConnectionPool("dbname=app")

def rows():
    conn = pool.getconn()
    with conn:
        return conn.execute("SELECT 1").fetchall()
"""
    assert _fix("PS101", before) == before
    assert _fix("PS101", before, unsafe=True) == before


# ------------------------------------------------------------------ PS102
def test_ps102_happy_path_release_moves_into_finally() -> None:
    before = PG + """
def get_user(user_id):
    conn = pool.getconn()
    cur = conn.cursor()
    row = cur.fetchone()
    if row is None:
        return None
    pool.putconn(conn)
    return row
"""
    assert _fix("PS102", before) == PG + """
def get_user(user_id):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        row = cur.fetchone()
        if row is None:
            return None
    finally:
        pool.putconn(conn)
    return row
"""


def test_ps102_existing_try_gets_the_finally() -> None:
    before = PG + """import psycopg2

def update():
    conn = pool.getconn()
    try:
        conn.commit()
        pool.putconn(conn)
    except psycopg2.Error:
        conn.rollback()
        pool.putconn(conn)
        raise
    return 1
"""
    assert _fix("PS102", before) == PG + """import psycopg2

def update():
    conn = pool.getconn()
    try:
        conn.commit()
    except psycopg2.Error:
        conn.rollback()
        raise
    finally:
        pool.putconn(conn)
    return 1
"""


def test_ps102_mysql_cursor_moves_inside_the_try() -> None:
    """mysql.connector's cursor() pings the server and may raise: the `try` the fix
    adds starts right after the checkout, with the cursor inside it."""
    before = """from mysql.connector import pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def names():
    conn = cnxpool.get_connection()
    cur = conn.cursor()
    try:
        cur.execute("SELECT name FROM users")
        return cur.fetchall()
    finally:
        conn.close()
"""
    after = _fix("PS102", before)
    assert after == before.replace("""    cur = conn.cursor()
    try:
        cur.execute("SELECT name FROM users")
        return cur.fetchall()
    finally:
        conn.close()
""", """    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM users")
        return cur.fetchall()
    finally:
        conn.close()
""")
    assert after != before
    assert _fix("PS102", after) == after


def test_ps102_release_after_an_unbound_read_gets_a_finally_of_its_own() -> None:
    """`cur.close()` raises UnboundLocalError when cursor() failed: the release moves
    into a `finally` around it, and the same error still reaches the caller."""
    before = """from mysql.connector import Error, pooling

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
        # cursor first
        cur.close()
        conn.close()
"""
    result = fix_sources({"case.py": before}, ScanOptions(select={"PS102"}))
    assert [a.safe for a in result.applied] == [True]
    after = result.sources()["case.py"]
    assert after == before.replace("""    finally:
        # cursor first
        cur.close()
        conn.close()
""", """    finally:
        # cursor first
        try:
            cur.close()
        finally:
            conn.close()
""")
    assert _fix("PS102", after) == after


def test_ps102_drawn_scoped_session_gets_try_finally_close() -> None:
    """A `scoped_session` registry has no `__enter__`: the fix closes it in `finally`
    rather than writing `with next(...) as session`."""
    before = """from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)


def get_session():
    session = scoped_session(sessionmaker(bind=engine))
    try:
        yield session
    finally:
        session.close()


def purge():
    session = next(get_session())
    session.execute(text("DELETE FROM events"))
    session.commit()
"""
    after = _fix("PS102", before)
    assert after == before.replace("""    session.execute(text("DELETE FROM events"))
    session.commit()
""", """    try:
        session.execute(text("DELETE FROM events"))
        session.commit()
    finally:
        session.close()
""")
    assert _fix("PS102", after) == after


def test_ps102_prefers_with_for_sqlalchemy() -> None:
    before = """from sqlalchemy import create_engine, text
engine = create_engine("postgresql://localhost/app")

def count():
    conn = engine.connect()
    n = conn.execute(text("SELECT 1")).scalar()
    conn.close()
    return n
"""
    assert _fix("PS102", before) == """from sqlalchemy import create_engine, text
engine = create_engine("postgresql://localhost/app")

def count():
    with engine.connect() as conn:
        n = conn.execute(text("SELECT 1")).scalar()
    return n
"""


def test_ps102_a_name_reused_for_a_second_checkout_fixes_each_one() -> None:
    before = """from sqlalchemy.orm import sessionmaker
Session = sessionmaker()

def close_table(items, history):
    db = Session()
    db.add(history)
    db.commit()
    db.close()

    db = Session()  # a second session under the same name
    for item in items:
        db.delete(item)
    db.commit()
    db.close()
    return len(items)
"""
    assert _fix("PS102", before) == """from sqlalchemy.orm import sessionmaker
Session = sessionmaker()

def close_table(items, history):
    with Session() as db:
        db.add(history)
        db.commit()

    with Session() as db:  # a second session under the same name
        for item in items:
            db.delete(item)
        db.commit()
    return len(items)
"""


def test_ps102_psycopg2_with_getconn_keeps_transaction_block() -> None:
    before = PG + """
def rows():
    with pool.getconn() as conn:
        return conn.cursor().fetchall()
"""
    assert _fix("PS102", before) == PG + """
def rows():
    conn = pool.getconn()
    try:
        with conn:
            return conn.cursor().fetchall()
    finally:
        pool.putconn(conn)
"""


def test_ps102_psycopg_pool_with_getconn_becomes_connection() -> None:
    before = """from psycopg_pool import ConnectionPool
pool = ConnectionPool("dbname=app")

def rows():
    with pool.getconn() as conn:
        return conn.execute("SELECT 1").fetchall()
"""
    assert "    with pool.connection() as conn:\n" in _fix("PS102", before)


def test_ps102_returned_connection_is_not_fixed() -> None:
    before = PG + """
def maybe(flag):
    conn = pool.getconn()
    if flag:
        return conn
    conn.cursor().execute("SELECT 1")
"""
    result = fix_sources({"case.py": before}, ScanOptions(select={"PS102"}))
    assert result.sources()["case.py"] == before
    assert [x.reason for x in result.left] == ["not fixable: `conn` is returned"]


# ------------------------------------------------------------------ PS103
SESSION = """\
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
"""


def test_ps103_rollback_replaces_pass() -> None:
    before = SESSION + """
def create(db: Session, item):
    try:
        db.add(item)
        db.commit()
    except IntegrityError:
        pass
    return db.query(Item).count()
"""
    assert _fix("PS103", before) == SESSION + """
def create(db: Session, item):
    try:
        db.add(item)
        db.commit()
    except IntegrityError:
        db.rollback()
    return db.query(Item).count()
"""


def test_ps103_broad_except_rolls_back_only_database_errors() -> None:
    # a safe fix: a non-database exception keeps its uncommitted work as before
    before = SESSION + """
def create(db: Session, item):
    try:
        db.flush()
    except Exception:  # keep going
        log("x")
    db.commit()
"""
    # (the import joins the existing `from sqlalchemy.exc import ...` line)
    assert _fix("PS103", before) == SESSION.replace(
        "import IntegrityError", "import IntegrityError, SQLAlchemyError") + """
def create(db: Session, item):
    try:
        db.flush()
    except Exception as exc:  # keep going
        if isinstance(exc, SQLAlchemyError):
            db.rollback()
        log("x")
    db.commit()
"""


def test_ps103_bare_except_names_its_exception_for_the_guard() -> None:
    before = PG + """
def touch():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        try:
            cur.execute("UPDATE t SET x = 1")
        except:
            print("failed")
        cur.execute("SELECT 1")
    finally:
        pool.putconn(conn)
"""
    after = _fix("PS103", before)
    # a lost connection reaches a bare except too: the rollback's own error is
    # contained, so the handler runs on as before
    assert """        except BaseException as exc:
            if isinstance(exc, psycopg2.Error):
                try:
                    conn.rollback()
                except psycopg2.Error:
                    pass  # the connection is lost: nothing to roll back
            print("failed")""" in after
    assert after.count("import psycopg2\n") == 1
    compile(after, "case.py", "exec")
    assert _fix("PS103", after) == after


def test_ps103_guard_when_name_may_be_unbound() -> None:
    before = """import psycopg2

def touch(dsn):
    try:
        conn = psycopg2.connect(dsn)
        conn.cursor().execute("UPDATE t SET x = 1")
    except psycopg2.Error:
        pass
    conn.commit()
"""
    fixed = _fix("PS103", before)
    if fixed != before:  # only when the analysis reports it
        assert "    conn = None\n    try:" in fixed
        assert "        if conn is not None:\n            conn.rollback()\n" in fixed


# ------------------------------------------------------------------ PS104
DB = """\
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))
app = FastAPI()
"""
ROUTE = """
@app.get("/")
def index(db=Depends(get_db)):
    return db.query(User).count()
"""


def test_ps104_return_factory_call() -> None:
    before = DB + """
def get_db() -> Session:
    return SessionLocal()
""" + ROUTE
    assert _fix("PS104", before) == DB.replace(
        "sessionmaker\n", "sessionmaker\nfrom collections.abc import Iterator\n", 1) + """
def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
""" + ROUTE


def test_ps104_return_in_try_becomes_yield() -> None:
    before = DB + """
def get_db():
    db = SessionLocal()
    try:
        return db
    finally:
        db.close()
""" + ROUTE
    assert _fix("PS104", before) == before.replace("return db\n", "yield db\n", 1)


def test_ps104_unsafe_when_called_directly() -> None:
    before = DB + """
def get_db():
    return SessionLocal()

def script():
    get_db().execute("SELECT 1")
""" + ROUTE
    assert _fix("PS104", before) == before
    assert "yield db" in _fix("PS104", before, unsafe=True)


# ------------------------------------------------------------------ PS105
def test_ps105_uses_existing_dependency() -> None:
    dep = """
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""
    before = DB + dep + """
@app.get("/users/{user_id}")
def read_user(user_id: int):
    db = SessionLocal()
    try:
        return db.get(User, user_id)
    finally:
        db.close()
"""
    assert _fix("PS105", before) == DB + dep + """
@app.get("/users/{user_id}")
def read_user(user_id: int, db: Session = Depends(get_db)):
    return db.get(User, user_id)
"""


def test_ps105_creates_dependency_and_imports() -> None:
    before = """from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))
app = FastAPI()


@app.get("/n")
def n():
    db = SessionLocal()
    count = db.query(User).count()
    db.close()
    return count
"""
    assert _fix("PS105", before) == """from fastapi import FastAPI, Depends
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker, Session
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.get("/n")
def n(db: Session = Depends(get_db)):
    count = db.query(User).count()
    return count
"""


def test_nested_findings_are_all_fixed() -> None:
    """A PS101 inside a PS102 region and a PS103 inside it: all fixed over passes."""
    before = PG + """import psycopg2

def job():
    conn = pool.getconn()
    cur = conn.cursor()
    try:
        cur.execute("DELETE FROM a")
    except psycopg2.Error:
        pass
    conn.commit()
    conn.close()
"""
    result = fix_sources({"case.py": before}, ScanOptions())
    fixed = result.sources()["case.py"]
    assert not result.left, result.left
    compile(fixed, "case.py", "exec")
    assert "pool.putconn(conn)" in fixed and "conn.rollback()" in fixed


def test_ps104_return_inside_async_with_becomes_a_yield_there() -> None:
    source = '''from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

Factory = async_sessionmaker(create_async_engine("postgresql+asyncpg://app@db/app"))
app = FastAPI()


async def get_session():
    async with Factory() as session:  # the block closes it
        return session


@app.get("/items")
async def items(session=Depends(get_session)):
    return await session.execute("SELECT 1")
'''
    result = fix_sources({"case.py": source}, ScanOptions(select={"PS104"}))
    assert [a.safe for a in result.applied] == [True]
    assert result.sources()["case.py"] == source.replace(
        "        return session\n", "        yield session\n")


def test_ps102_guard_for_a_failed_checkout_stays_outside_the_try() -> None:
    """`conn = get_connection()` may give None; the guard that leaves then must stay
    before the `try`, or `finally: release(conn)` runs with None (a behaviour change)."""
    source = '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, dsn="dbname=x")


def get_connection():
    try:
        return pool.getconn()
    except Exception:
        return None


def load():
    conn = get_connection()
    if not conn:
        return None
    cur = conn.cursor()
    cur.execute("SELECT 1")
    pool.putconn(conn)
    return cur
'''
    result = fix_sources({"case.py": source}, ScanOptions(select={"PS102"}))
    assert [a.safe for a in result.applied] == [True]
    assert result.sources()["case.py"] == source.replace('''    cur = conn.cursor()
    cur.execute("SELECT 1")
    pool.putconn(conn)
''', '''    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
    finally:
        pool.putconn(conn)
''')
    again = fix_sources(result.sources(), ScanOptions(select={"PS102"}))
    assert again.applied == [] and again.left == []


def test_ps102_keeps_the_release_the_code_writes() -> None:
    """The release moved into `finally` is the user's own statement (the pool named as
    the caller names it), not a close() that would end the connection instead."""
    source = '''import asyncpg


class Db:
    _pool = None

    @classmethod
    async def get_conn(cls):
        if cls._pool is None:
            cls._pool = await asyncpg.create_pool("postgresql://app@db/app")
        return await cls._pool.acquire()


async def handler():
    conn = await Db.get_conn()
    rows = await conn.fetch("SELECT 1")
    await Db._pool.release(conn)  # give it back
    return rows
'''
    fixed = _fix("PS102", source)
    assert fixed.endswith('''async def handler():
    conn = await Db.get_conn()
    try:
        rows = await conn.fetch("SELECT 1")
    finally:
        await Db._pool.release(conn)  # give it back
    return rows
''')
    assert _fix("PS102", fixed) == fixed


def test_ps102_project_wrapper_class_is_closed_in_finally() -> None:
    source = PG + '''
class PooledConnection:
    def __init__(self, conn):
        self._conn = conn

    def close(self):
        pool.putconn(self._conn)


def get_connection():
    return PooledConnection(pool.getconn())


def count():
    conn = get_connection()
    n = conn._conn.cursor().execute("SELECT 1")
    conn.close()
    return n
'''
    fixed = _fix("PS102", source)
    assert fixed.endswith('''def count():
    conn = get_connection()
    try:
        n = conn._conn.cursor().execute("SELECT 1")
    finally:
        conn.close()
    return n
''')
    compile(fixed, "case.py", "exec")


def test_ps102_tuple_checkout_is_released_with_both_names() -> None:
    """`conn, cur = get_conn()` with a release wrapper of both: the fix calls it with
    the names the checkout unpacked, in `finally`."""
    from poolsafe.rules.cases.ps102 import _TUPLE_WRAPPERS

    source = '''from db import close_conn, get_conn


def never():
    conn, cur = get_conn()
    cur.execute("SELECT 1")
    return cur.fetchone()
'''
    fixed = _fix("PS102", source, files={"db.py": _TUPLE_WRAPPERS}, path="app.py")
    assert fixed.endswith('''def never():
    conn, cur = get_conn()
    try:
        cur.execute("SELECT 1")
        return cur.fetchone()
    finally:
        close_conn(conn, cur)
''')
    again = _fix("PS102", fixed, files={"db.py": _TUPLE_WRAPPERS}, path="app.py")
    assert again == fixed


def test_ps103_rollback_in_a_broad_handler_contains_its_own_error() -> None:
    """On a lost connection the original handler returns None; a bare rollback
    there would raise (psycopg2.InterfaceError: connection already closed), so
    the safe fix contains the rollback's own error (issue #30, class 3 through a
    broad handler, seen on a public app)."""
    before = PG + """import psycopg2

def load(user_id):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        try:
            cur.execute("SELECT name FROM users WHERE id = %s", (user_id,))
            return cur.fetchone()
        except psycopg2.Error as exc:
            print("lookup failed", exc)
        cur.execute("SELECT 1")
        return None
    finally:
        pool.putconn(conn)
"""
    result = fix_sources({"case.py": before}, ScanOptions())
    after = result.sources()["case.py"]
    assert not result.left, result.left
    assert """        except psycopg2.Error as exc:
            try:
                conn.rollback()
            except psycopg2.Error:
                pass  # the connection is lost: nothing to roll back
            print("lookup failed", exc)""" in after
    compile(after, "case.py", "exec")
    again = fix_sources({"case.py": after}, ScanOptions())
    assert again.sources()["case.py"] == after


def test_ps103_uncontained_rollback_in_a_broad_handler_is_not_safe() -> None:
    """The check itself: the same fix written without the containment changes
    what a lost connection does, and fails the equivalence check."""
    import libcst as cst

    from poolsafe.fix.equivalence import check_fix

    before = PG + """import psycopg2

def load(user_id):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        try:
            cur.execute("SELECT 1")
        except psycopg2.Error:
            pass
        return None
    finally:
        pool.putconn(conn)
"""
    bare = before.replace("""        except psycopg2.Error:
            pass""", """        except psycopg2.Error:
            conn.rollback()""")
    verdict = check_fix(cst.parse_module(before), cst.parse_module(bare), "PS103")
    assert not verdict.ok
    assert any("conn.rollback()" in p for p in verdict.problems), verdict.problems
    contained = before.replace("""        except psycopg2.Error:
            pass""", """        except psycopg2.Error:
            try:
                conn.rollback()
            except psycopg2.Error:
                pass""")
    assert check_fix(cst.parse_module(before), cst.parse_module(contained), "PS103").ok


def test_a_release_through_the_wrappers_module_moves_into_finally_as_a_safe_fix() -> None:
    """`db.close_db_connection(conn)` is the release the bare name would be: moving it
    into `finally` is safe (it was offered only as unsafe: the check read it as a call
    that may raise on the paths it now runs on)."""
    wrappers = PG + """

def get_db_connection():
    return pool.getconn()


def close_db_connection(conn):
    pool.putconn(conn)
"""
    before = """import db


def names():
    conn = db.get_db_connection()
    cur = conn.cursor()
    cur.execute("SELECT name FROM items")
    rows = cur.fetchall()
    db.close_db_connection(conn)
    return rows
"""
    assert _fix("PS102", before, files={"db.py": wrappers}, path="app.py") == """import db


def names():
    conn = db.get_db_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM items")
        rows = cur.fetchall()
    finally:
        db.close_db_connection(conn)
    return rows
"""


_SESSION = """from sqlalchemy.orm import sessionmaker

from models import User

SessionLocal = sessionmaker()

"""


def test_closing_a_session_whose_objects_are_returned_is_not_a_safe_fix() -> None:
    """After the commit the returned `user` is expired: the original refreshes it through
    the session left open, the fixed code would raise DetachedInstanceError on the
    caller's first attribute read. Offered only as unsafe, with that reason."""
    before = _SESSION + """
def create_user(name):
    db = SessionLocal()
    user = User(name=name)
    db.add(user)
    db.commit()
    return user


def all_users():
    db = SessionLocal()
    return db.query(User).all()
"""
    assert _fix("PS102", before) == before
    result = fix_sources({"case.py": before}, ScanOptions(select={"PS102"}), unsafe=False)
    assert len(result.left) == 2
    assert all("DetachedInstanceError" in x.reason for x in result.left)
    assert "with SessionLocal() as db:" in _fix("PS102", before, unsafe=True)


def test_closing_a_session_whose_function_returns_plain_values_stays_safe() -> None:
    before = _SESSION + """
def create_user(name):
    db = SessionLocal()
    user = User(name=name)
    db.add(user)
    db.commit()
    return user.id


def user_count():
    db = SessionLocal()
    return db.query(User).count()
"""
    after = _fix("PS102", before)
    assert after.count("with SessionLocal() as db:") == 2


def test_a_session_the_original_closes_before_returning_its_objects_keeps_the_safe_fix() -> None:
    """`db.close()` then `return user`: the original detaches the object too, so moving
    the close into a `finally` changes nothing the caller sees (the close before the
    return is the one the fix guards); a session left open stays unsafe (above)."""
    before = _SESSION + """
def read_user(user_id):
    db = SessionLocal()
    user = db.get(User, user_id)
    db.close()
    return user
"""
    after = _fix("PS102", before)
    assert after != before
    assert "finally" in after or "with SessionLocal() as db:" in after
    result = fix_sources({"case.py": before}, ScanOptions(select={"PS102"}), unsafe=False)
    assert not result.left


def test_ps102_a_connection_handed_on_is_given_back_on_failure_only() -> None:
    before = PG + """

class Listener:
    def listen(self, channel):
        conn = pool.getconn()

        conn.autocommit = True
        with conn.cursor() as cur:  # subscribe
            cur.execute("LISTEN " + channel)
        self.conn = conn
        return conn


def tagged(tag):
    conn = pool.getconn()
    conn.cursor().execute("SET application_name = %s", (tag,))
    return conn, tag
"""
    after = PG + """

class Listener:
    def listen(self, channel):
        conn = pool.getconn()

        try:
            conn.autocommit = True
            with conn.cursor() as cur:  # subscribe
                cur.execute("LISTEN " + channel)
        except BaseException:
            pool.putconn(conn)
            raise
        self.conn = conn
        return conn


def tagged(tag):
    conn = pool.getconn()
    try:
        conn.cursor().execute("SET application_name = %s", (tag,))
    except BaseException:
        pool.putconn(conn)
        raise
    return conn, tag
"""
    fixed = _fix("PS102", before)  # a safe fix
    assert fixed == after
    compile(fixed, "case.py", "exec")
    assert not scan_sources({"case.py": fixed}, ScanOptions(select={"PS102"})).findings
    assert _fix("PS102", fixed, unsafe=True) == fixed


def test_ps102_a_connection_handed_on_through_its_cursor_is_given_back_on_failure_only(
) -> None:
    """A cursor returned or stored carries its connection (`cursor.connection`): the
    connection is handed on with it, so a `finally` would close it under the caller."""
    before = PG + """

def open_cursor(schema):
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SET search_path TO %s", (schema,))
    return cur


class Report:
    def __init__(self):
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("SET statement_timeout = 5000")
        self.cur = cur
"""
    after = PG + """

def open_cursor(schema):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SET search_path TO %s", (schema,))
    except BaseException:
        pool.putconn(conn)
        raise
    return cur


class Report:
    def __init__(self):
        conn = pool.getconn()
        try:
            cur = conn.cursor()
            cur.execute("SET statement_timeout = 5000")
        except BaseException:
            pool.putconn(conn)
            raise
        self.cur = cur
"""
    fixed = _fix("PS102", before)  # a safe fix
    assert fixed == after
    compile(fixed, "case.py", "exec")
    assert not scan_sources({"case.py": fixed}, ScanOptions(select={"PS102"})).findings
    assert _fix("PS102", fixed, unsafe=True) == fixed


def test_ps102_a_connection_handed_on_inside_a_try_is_not_given_back_early() -> None:
    before = PG + """
import psycopg2


def checked():
    try:
        conn = pool.getconn()
        conn.cursor().execute("SELECT 1")
        return conn
    except psycopg2.Error:
        conn.rollback()
        raise
"""
    result = fix_sources({"case.py": before}, ScanOptions(select={"PS102"}), unsafe=True)
    assert result.sources()["case.py"] == before
    assert [x.reason for x in result.left] == ["not fixable: `conn` is returned"]


def test_ps102_a_release_in_exit_after_a_commit_moves_into_a_finally_there() -> None:
    before = PG + """

class Unit:
    def __enter__(self):
        self.conn = pool.getconn()
        self.cur = self.conn.cursor()
        return self.cur

    def __exit__(self, exc_type, exc, tb):
        \"\"\"Commit or roll back, then give the connection back.\"\"\"

        if exc is None:
            self.cur.close()
            self.conn.commit()  # keep the work
        else:
            self.conn.rollback()

        pool.putconn(self.conn)  # back to the pool
        self.conn = None
"""
    after = PG + """

class Unit:
    def __enter__(self):
        self.conn = pool.getconn()
        self.cur = self.conn.cursor()
        return self.cur

    def __exit__(self, exc_type, exc, tb):
        \"\"\"Commit or roll back, then give the connection back.\"\"\"

        try:
            if exc is None:
                self.cur.close()
                self.conn.commit()  # keep the work
            else:
                self.conn.rollback()
        finally:
            pool.putconn(self.conn)  # back to the pool
        self.conn = None
"""
    fixed = _fix("PS102", before)  # a safe fix
    assert fixed == after
    compile(fixed, "case.py", "exec")
    assert not scan_sources({"case.py": fixed}, ScanOptions(select={"PS102"})).findings
    assert _fix("PS102", fixed, unsafe=True) == fixed


def test_ps102_a_connection_a_project_function_keeps_is_not_given_back_on_failure() -> None:
    before = PG + """

def wrap(conn):
    return {"conn": conn}


def open_wrapped():
    conn = pool.getconn()
    box = wrap(conn)
    conn.cursor().execute("SELECT 1")
    return conn, box
"""
    result = fix_sources({"case.py": before}, ScanOptions(select={"PS102"}), unsafe=True)
    assert result.sources()["case.py"] == before
    assert [x.reason for x in result.left] == ["not fixable: `conn` is returned"]


# ------------------------------------------------------------------ PS103: whose transaction
# A rollback ends the whole transaction. When the session came from the caller (or is
# an object's), that transaction may hold the caller's uncommitted work: on a database
# that undoes only the failed statement (MySQL, SQLite) the original kept it, and the
# caller then commits without it. Seen on a scheduler's shared session.
_CALLERS = SESSION + """
from sqlalchemy import text


def prune_tokens(db: Session, cutoff):
    try:
        db.execute(text("DELETE FROM tokens WHERE exp < :c"), {"c": cutoff})
    except IntegrityError:
        pass
    return db.query(Item).count()
"""


def test_ps103_rollback_of_the_callers_session_is_unsafe_and_says_why() -> None:
    assert _fix("PS103", _CALLERS) == _CALLERS  # not a safe fix
    result = fix_sources({"case.py": _CALLERS}, ScanOptions(select={"PS103"}))
    [left] = result.left
    assert "`db` comes from the caller" in left.reason
    assert "without it" in left.reason
    fixed = _fix("PS103", _CALLERS, unsafe=True)
    assert "        db.rollback()\n" in fixed
    assert _fix("PS103", fixed, unsafe=True) == fixed  # idempotent
    compile(fixed, "case.py", "exec")


def test_ps103_rollback_of_a_session_made_here_stays_safe() -> None:
    before = SESSION + """
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app"))


def prune_tokens(cutoff):
    db = SessionLocal()
    try:
        try:
            db.execute(text("DELETE FROM tokens WHERE exp < :c"), {"c": cutoff})
        except IntegrityError:
            pass
        return db.query(Item).count()
    finally:
        db.close()
"""
    fixed = _fix("PS103", before)
    assert "            db.rollback()\n" in fixed
    assert _fix("PS103", fixed) == fixed
    compile(fixed, "case.py", "exec")


def test_ps103_rollback_of_the_callers_postgresql_connection_stays_safe() -> None:
    # psycopg2 speaks to PostgreSQL alone, which aborts the whole transaction on the
    # failed statement: the caller's earlier work is lost already, and the rollback
    # discards nothing the original kept
    before = """\
import psycopg2


def add_user(conn: psycopg2.extensions.connection, email):
    try:
        cur = conn.cursor()
        cur.execute("INSERT INTO users (email) VALUES (%s)", (email,))
    except psycopg2.IntegrityError:
        pass
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM users")
    return cur.fetchone()[0]
"""
    fixed = _fix("PS103", before)
    assert "conn.rollback()" in fixed
    assert _fix("PS103", fixed) == fixed
    compile(fixed, "case.py", "exec")


# A helper whose every caller is a request handler handing it a session its dependency
# made for that request, before using it itself: the transaction the helper gets holds
# nothing but the helper's own work, as in a handler, so the rollback stays safe. (The route
# writes a failure row on the session after a failed prune: a route that only returned would
# end the session with the request, and PS103 would not report the helper at all.)
_HELPER = SESSION + """
from sqlalchemy import text


def prune_tokens(db: Session, cutoff):
    try:
        db.execute(text("DELETE FROM tokens WHERE exp < :c"), {"c": cutoff})
        db.commit()
    except IntegrityError:
        return False
    return True
"""
_DEPS = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("mysql+pymysql://app@db/app"))


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""
_ROUTES = """\
from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from deps import get_db
import tokens

router = APIRouter()


@router.post("/prune")
def prune(cutoff: int, db: Session = Depends(get_db)):
    if tokens.prune_tokens(db, cutoff):
        return {"ok": True}
    db.execute(text("INSERT INTO failures (what) VALUES ('prune')"))
    db.commit()
    return {"ok": False}
"""


def test_ps103_rollback_in_a_helper_of_handlers_with_a_fresh_session_is_safe() -> None:
    files = {"deps.py": _DEPS, "routes.py": _ROUTES}
    fixed = _fix("PS103", _HELPER, files=files, path="tokens.py")
    assert "    except IntegrityError:\n        db.rollback()\n        return False\n" in fixed
    assert _fix("PS103", fixed, files=files, path="tokens.py") == fixed


@pytest.mark.parametrize("routes", [
    # the handler used the session before: the rollback would undo that work too
    _ROUTES.replace("    if tokens.prune_tokens(db, cutoff):",
                    "    db.execute(text('UPDATE stats SET n = n + 1'))\n"
                    "    if tokens.prune_tokens(db, cutoff):"),
    # a caller that is not a request handler
    _ROUTES + "\n\ndef nightly(db):\n    tokens.prune_tokens(db, 0)\n",
    # a session that is not the handler's own dependency
    _ROUTES.replace("    if tokens.prune_tokens(db, cutoff):",
                    "    if tokens.prune_tokens(shared_session, cutoff):"),
    # the helper used as a value
    _ROUTES + "\n\nJOBS = [tokens.prune_tokens]\n",
    # called in a loop: the second call finds the first one's work
    _ROUTES.replace("    if tokens.prune_tokens(db, cutoff):\n",
                    "    for c in (cutoff, cutoff + 1):\n        tokens.prune_tokens(db, c)\n"
                    "    if True:\n"),
])
def test_ps103_rollback_in_a_helper_stays_unsafe_when_a_caller_differs(routes: str) -> None:
    files = {"deps.py": _DEPS, "routes.py": routes}
    assert _fix("PS103", _HELPER, files=files, path="tokens.py") == _HELPER
    fixed = _fix("PS103", _HELPER, files=files, path="tokens.py", unsafe=True)
    assert "db.rollback()" in fixed


def test_ps103_rollback_in_a_helper_with_no_caller_stays_unsafe() -> None:
    assert _fix("PS103", _HELPER, files={"deps.py": _DEPS}, path="tokens.py") == _HELPER


def test_ps102_a_checkout_the_code_tests_for_none_gets_a_guarded_finally() -> None:
    """A wrapper that returns None when it cannot connect, and work under `if conn:`:
    an unguarded `finally: conn.close()` would raise AttributeError on the None path,
    where the original returned; the release goes under `if conn is not None:` (the
    checkout is the connection or None), so the None path releases nothing, as before
    (fix58; executed in tests/fix/test_fix_fix58.py)."""
    source = """import pymysql


def connect():
    try:
        return pymysql.connect(host="db", user="app", database="shop")
    except pymysql.Error:
        return None


def log_visit(page):
    conn = connect()
    if conn:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO visits (page) VALUES (%s)", (page,))
        conn.commit()
"""
    result = fix_sources({"case.py": source}, ScanOptions(select={"PS102"}))
    assert "    finally:\n        if conn is not None:\n            conn.close()\n" \
        in result.sources()["case.py"]
    assert not result.left and [a.safe for a in result.applied] == [True]
    # the wrapper may also give False: `False.close()` would raise where the original
    # returned, so that one stays unsafe
    other = source.replace("        return None\n", "        return False\n")
    result = fix_sources({"case.py": other}, ScanOptions(select={"PS102"}))
    assert result.sources()["case.py"] == other
    assert [x.reason for x in result.left] == [
        "unsafe fix available (--unsafe-fixes): `conn` may be None (the code tests it), "
        "and the release in `finally` would raise on that path"]

"""The fixes real code still needs (issue 30, item 3): each shape written here in our
own words, fixed exactly as expected; every fixed text re-parses, a second `fix`
changes nothing, and the rule no longer reports it."""

from __future__ import annotations

import libcst as cst

from poolsafe.fix.loop.apply import FixResult, fix_sources
from poolsafe.scan.engine import ScanOptions, scan_sources

PG = """\
import psycopg2
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
"""


def _run(code: str, files: dict[str, str], *, unsafe: bool = False) -> FixResult:
    result = fix_sources(files, ScanOptions(select={code}), unsafe=unsafe)
    assert not result.errors, result.errors
    return result


#: PS102's direct-connection policy (policy49) leaves the exception-only gap of a
#: local `psycopg2.connect()` unreported by default; these fixes are of that gap
STRICT = {"pyproject.toml": '[tool.poolsafe]\ndirect-connections = "strict"\n'}


def _fixed(code: str, source: str, *, files: dict[str, str] | None = None,
           path: str = "case.py", unsafe: bool = False) -> str:
    """The fixed text of `path`, checked: it parses, the rule is quiet on it, and a
    second run changes nothing."""
    result = _run(code, {**(files or {}), path: source}, unsafe=unsafe)
    fixed = result.sources()
    for name, text in fixed.items():
        cst.parse_module(text)
        compile(text, name, "exec")
    after = scan_sources(fixed, ScanOptions(select={code}))
    assert not [f for f in after.findings if f.code == code and f.path == path], after.findings
    again = fix_sources(fixed, ScanOptions(select={code}), unsafe=True)
    assert again.sources() == fixed and not again.applied
    return fixed[path]


def _unsafe(code: str, source: str, because: str, *,
            files: dict[str, str] | None = None, path: str = "case.py") -> str:
    """A rewrite that does not keep behaviour, and says so: plain `fix` leaves the
    finding with the equivalence check's reason (`because` is a phrase of it), and
    `--unsafe-fixes` writes the rewrite, checked as `_fixed` checks it."""
    reasons = _left(code, source, files=files, path=path, unsafe=False)
    assert reasons and all(r.startswith("unsafe fix available (--unsafe-fixes): the "
                                        "equivalence check found") and because in r
                           for r in reasons), reasons
    return _fixed(code, source, files=files, path=path, unsafe=True)


def _left(code: str, source: str, *, files: dict[str, str] | None = None,
          path: str = "case.py", unsafe: bool = True) -> list[str]:
    """The reasons `fix` gives for the findings it leaves in `path` (unchanged)."""
    result = _run(code, {**(files or {}), path: source}, unsafe=unsafe)
    assert result.sources()[path] == source
    return [x.reason for x in result.left if x.finding.path == path]


# ------------------------------------------- a guard about *which* connection
STORE = """import psycopg2


class Store:
    def __init__(self, conn=None):
        self.conn = conn

"""


def test_close_guarded_by_which_connection_is_a_release_of_our_checkout() -> None:
    # the only way in is the checkout: `conn != self.conn` holds for it, so the
    # `finally` already gives it back on every path (no finding, nothing to fix)
    source = STORE + """    def total(self):
        conn = psycopg2.connect("dbname=app")
        try:
            return conn.cursor().fetchone()
        finally:
            if conn and conn != self.conn:
                conn.close()
"""
    found = scan_sources({"case.py": source}, ScanOptions(select={"PS102"})).findings
    assert found == []


def test_guarded_close_keeps_its_guard_when_the_try_is_extended() -> None:
    before = STORE + """    def total(self):
        conn = psycopg2.connect("dbname=app")
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM t")
        try:
            return cur.fetchone()[0]
        finally:
            if conn and conn != self.conn:
                conn.close()
"""
    assert _fixed("PS102", before, files=STRICT) == STORE + """    def total(self):
        conn = psycopg2.connect("dbname=app")
        try:
            cur = conn.cursor()
            cur.execute("SELECT count(*) FROM t")
            return cur.fetchone()[0]
        finally:
            if conn and conn != self.conn:
                conn.close()
"""


def test_guarded_close_moves_whole_when_the_try_has_handlers() -> None:
    # the handler must not start catching what the statements before the `try`
    # raise, so the `try` is not extended: a `try`/`finally` goes around both, and
    # the guarded close moves into it as it is (never `if ...: pass`)
    before = STORE + """    def total(self):
        conn = psycopg2.connect("dbname=app")
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM t")
        try:
            return cur.fetchone()[0]
        except psycopg2.Error:
            return None
        finally:
            if conn and conn != self.conn:
                conn.close()
"""
    assert _fixed("PS102", before, files=STRICT) == STORE + """    def total(self):
        conn = psycopg2.connect("dbname=app")
        try:
            cur = conn.cursor()
            cur.execute("SELECT count(*) FROM t")
            try:
                return cur.fetchone()[0]
            except psycopg2.Error:
                return None
        finally:
            if conn and conn != self.conn:
                conn.close()
"""


def test_injected_or_checked_out_keeps_the_guard() -> None:
    # a connection handed in by the caller is closed only when it is not the
    # store's own: the checkout is one of two ways in, and the guard stays
    before = STORE + """    def total(self, conn=None):
        if conn is None:
            conn = psycopg2.connect("dbname=app")
        try:
            return conn.cursor().fetchone()
        finally:
            if conn and conn != self.conn:
                conn.close()
"""
    assert scan_sources({"case.py": before}, ScanOptions(select={"PS102"})).findings == []
    assert _fixed("PS102", before) == before


# ------------------------------------------------ release in the existing finally
def test_existing_try_finally_is_extended_not_nested() -> None:
    before = PG + """
def names():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT name FROM t")
    try:
        return [r[0] for r in cur.fetchall()]
    finally:
        pool.putconn(conn)
"""
    assert _fixed("PS102", before) == PG + """
def names():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM t")
        return [r[0] for r in cur.fetchall()]
    finally:
        pool.putconn(conn)
"""


def test_finally_reading_a_name_the_gap_binds_is_not_extended() -> None:
    # `cur.close()` in the `finally` would meet `cur` unbound if `cursor()` raised:
    # extending the `try` would raise UnboundLocalError there instead
    before = PG + """
def names():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT name FROM t")
    try:
        return cur.fetchall()
    finally:
        cur.close()
        pool.putconn(conn)
"""
    fixed = _fixed("PS102", before)
    assert "    try:\n        cur = conn.cursor()\n        cur.execute(\"SELECT name FROM t\")\n" \
        "        try:\n" in fixed


def test_checkout_inside_try_whose_handler_uses_it_releases_in_its_finally() -> None:
    # the handler rolls back after the release moved out of reach: the release goes
    # in the `finally` of the `try` that holds the checkout, after that use
    before = PG + """
def save(value):
    conn = None
    try:
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("INSERT INTO t VALUES (%s)", (value,))
        conn.commit()
        pool.putconn(conn)
    except psycopg2.IntegrityError:
        if conn is not None:
            conn.rollback()
        return False
    return True
"""
    assert _fixed("PS102", before) == PG + """
def save(value):
    conn = None
    try:
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("INSERT INTO t VALUES (%s)", (value,))
        conn.commit()
    except psycopg2.IntegrityError:
        if conn is not None:
            conn.rollback()
        return False
    finally:
        if conn is not None:
            pool.putconn(conn)
    return True
"""


def test_release_errors_the_handler_caught_keep_the_nested_try() -> None:
    # `except Exception` saw what putconn() raises (a closed pool) when the release
    # ran inside the `try`; in that `try`'s `finally` it would escape instead, so
    # the release gets a `try` of its own inside, still under the handler
    before = PG + """
def names():
    try:
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("SELECT name FROM t")
        rows = cur.fetchall()
        pool.putconn(conn)
        return rows
    except Exception as e:
        print(e)
        return []
"""
    assert _fixed("PS102", before) == PG + """
def names():
    try:
        conn = pool.getconn()
        try:
            cur = conn.cursor()
            cur.execute("SELECT name FROM t")
            rows = cur.fetchall()
        finally:
            pool.putconn(conn)
        return rows
    except Exception as e:
        print(e)
        return []
"""


def test_checkout_inside_try_with_finally_gets_the_release_appended() -> None:
    # without `conn = None` before the `try`, the handler meets `None` where it met
    # an unbound name when getconn() raised (AttributeError, not UnboundLocalError):
    # the fix says so and is unsafe
    before = PG + """import logging

def save(value):
    try:
        conn = pool.getconn()
        conn.cursor().execute("INSERT INTO t VALUES (%s)", (value,))
        conn.commit()
        pool.putconn(conn)
    except psycopg2.Error:
        conn.rollback()
        raise
    finally:
        logging.info("save done")
"""
    (reason,) = _left("PS102", before, unsafe=False)
    assert reason.startswith("unsafe fix available") and "UnboundLocalError" in reason
    assert _fixed("PS102", before, unsafe=True) == PG + """import logging

def save(value):
    conn = None
    try:
        conn = pool.getconn()
        conn.cursor().execute("INSERT INTO t VALUES (%s)", (value,))
        conn.commit()
    except psycopg2.Error:
        conn.rollback()
        raise
    finally:
        logging.info("save done")
        if conn is not None:
            pool.putconn(conn)
"""


# ------------------------------------------------------------ layout of `with`
def test_new_with_block_does_not_start_with_a_blank_line() -> None:
    before = """from sqlalchemy.orm import sessionmaker
Session = sessionmaker()


def upgrade(bind):
    session = Session(bind=bind)

    session.execute("DELETE FROM t")
    session.commit()
"""
    assert _fixed("PS102", before) == """from sqlalchemy.orm import sessionmaker
Session = sessionmaker()


def upgrade(bind):
    with Session(bind=bind) as session:
        session.execute("DELETE FROM t")
        session.commit()
"""


def test_holding_try_refuses_a_name_bound_twice_and_a_use_after_it() -> None:
    twice = PG + """
def save(value):
    conn = pool.getconn()
    pool.putconn(conn)
    try:
        conn = pool.getconn()
        conn.cursor().execute("INSERT INTO t VALUES (%s)", (value,))
        pool.putconn(conn)
    except psycopg2.Error:
        conn.rollback()
"""
    assert any("bound elsewhere" in r for r in _left("PS102", twice))
    after = PG + """
def save(value):
    conn = None
    try:
        conn = pool.getconn()
        conn.cursor().execute("INSERT INTO t VALUES (%s)", (value,))
        pool.putconn(conn)
    except psycopg2.Error:
        conn.rollback()
    return conn.closed
"""
    assert any("used after" in r for r in _left("PS102", after))


# ------------------------------------------- handlers for a lost connection
def test_no_rollback_in_a_handler_for_connection_lost_errors() -> None:
    # a health check: on a lost connection rollback() raises too, and the function
    # that returned None would raise instead
    source = """import psycopg


def alive(conn: psycopg.Connection):
    try:
        conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return None
"""
    (finding,) = scan_sources({"case.py": source}, ScanOptions(select={"PS103"})).findings
    assert "no automatic fix" in finding.message and "psycopg.OperationalError" in finding.message
    (reason,) = _left("PS103", source)
    assert "lost connection" in reason and "roll back by hand" in reason


def test_no_rollback_where_the_handler_checks_the_connection_is_alive() -> None:
    psycopg2_source = """import psycopg2


def alive(conn: psycopg2.extensions.connection):
    try:
        conn.cursor().execute("SELECT 1")
        return True
    except (psycopg2.InterfaceError, psycopg2.DatabaseError):
        return None
"""
    assert "psycopg2.InterfaceError" in _left("PS103", psycopg2_source)[0]
    closed_source = """import psycopg2


def alive(conn: psycopg2.extensions.connection):
    try:
        conn.cursor().execute("SELECT 1")
        return True
    except psycopg2.Error:
        if conn.closed:
            return None
        return False
"""
    assert "`conn.closed`" in _left("PS103", closed_source)[0]


def test_liveness_check_of_mysql_connector_marks_the_handler() -> None:
    from poolsafe.analysis.connection_lost import connection_lost_reason

    stmt = cst.parse_statement(
        "try:\n    pass\nexcept mysql.connector.Error:\n"
        "    if not cnx.is_connected():\n        return None\n")
    assert isinstance(stmt, cst.Try)
    reason = connection_lost_reason(stmt.handlers[0], "cnx")
    assert reason is not None and "cnx.is_connected" in reason
    assert connection_lost_reason(stmt.handlers[0], "other") is None


# ---------------------------------------------------------------------- PS105
DB = """from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://localhost/app")
SessionLocal = sessionmaker(bind=engine)


def get_session_local():
    return sessionmaker(bind=engine)
"""


def test_ps105_refuses_a_factory_the_route_builds_itself() -> None:
    # `SessionLocal` exists only inside the route: a module-level `get_db()` calling
    # it would raise NameError on every request
    route = """from fastapi import FastAPI
from sqlalchemy import text

from db import get_session_local

app = FastAPI()


@app.get("/items")
def items():
    SessionLocal = get_session_local()
    db = SessionLocal()
    try:
        return db.execute(text("SELECT 1")).all()
    finally:
        db.close()
"""
    (reason,) = _left("PS105", route, files={"db.py": DB}, path="main.py")
    assert "`SessionLocal`, which is not bound at module level" in reason


def test_ps105_new_dependency_does_not_copy_the_banner() -> None:
    route = """from fastapi import FastAPI
from sqlalchemy import text

from db import SessionLocal

app = FastAPI()


# ---------------------------------------------------------------
# items
# ---------------------------------------------------------------
@app.get("/items")
def items():
    db = SessionLocal()
    try:
        return db.execute(text("SELECT 1")).all()
    finally:
        db.close()
"""
    assert _fixed("PS105", route, files={"db.py": DB}, path="main.py") == """\
from fastapi import FastAPI, Depends
from sqlalchemy import text

from db import SessionLocal
from sqlalchemy.orm import Session

app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


# ---------------------------------------------------------------
# items
# ---------------------------------------------------------------
@app.get("/items")
def items(db: Session = Depends(get_db)):
    return db.execute(text("SELECT 1")).all()
"""


# ------------------------------------------------- PS103: session state, loops
SCHEMA_DB = """import psycopg2


def get_connection():
    conn = psycopg2.connect("dbname=app")
    cur = conn.cursor()
    cur.execute('SET search_path TO "finances"')
    return conn
"""


def test_rollback_refused_when_the_acquire_wrapper_set_the_schema() -> None:
    # the rollback would undo the wrapper's `SET search_path`, and the DROP after it
    # would run in `public`
    script = """import psycopg2

from db import get_connection


def drop_old(name):
    conn = get_connection()
    cur = conn.cursor()
    try:
        cur.execute("DELETE FROM " + name)
    except psycopg2.Error:
        print("skip", name)
    cur.execute("DROP TABLE old CASCADE")
    conn.commit()
    conn.close()
"""
    (reason,) = _left("PS103", script, files={"db.py": SCHEMA_DB}, path="script.py")
    assert "SET search_path" in reason and "`get_connection()`" in reason


def test_rollback_refused_after_set_transaction() -> None:
    source = """import psycopg2


def report(conn: psycopg2.extensions.connection):
    cur = conn.cursor()
    cur.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
    try:
        cur.execute("SELECT total FROM ledger")
    except psycopg2.Error:
        print("no ledger")
    cur.execute("SELECT count(*) FROM entries")
    return cur.fetchone()
"""
    (reason,) = _left("PS103", source)
    assert "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE" in reason


def test_psycopg2_loop_gets_a_savepoint_per_iteration() -> None:
    # a rollback would discard the rows of earlier iterations and the final commit
    # would store only the later ones: a savepoint undoes just the failed row
    source = PG + """
def load(rows):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        for row in rows:
            try:
                cur.execute("INSERT INTO t VALUES (%s)", (row,))
            except psycopg2.IntegrityError:
                print("duplicate", row)
        conn.commit()
    finally:
        pool.putconn(conn)
"""
    assert _unsafe("PS103", source, "the fix sends savepoint statements the original "
                   "does not send") == PG + """
def load(rows):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        for row in rows:
            try:
                conn.cursor().execute("SAVEPOINT poolsafe_iteration")
                cur.execute("INSERT INTO t VALUES (%s)", (row,))
                conn.cursor().execute("RELEASE SAVEPOINT poolsafe_iteration")
            except psycopg2.IntegrityError:
                conn.cursor().execute("ROLLBACK TO SAVEPOINT poolsafe_iteration")
                print("duplicate", row)
        conn.commit()
    finally:
        pool.putconn(conn)
"""


def test_no_rollback_in_a_loop_that_commits_after_it_when_no_savepoint_fits() -> None:
    # two handlers: no single savepoint rollback; a plain rollback would lose the
    # earlier iterations' rows before the final commit, so nothing is offered
    source = PG + """
def load(rows):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        for row in rows:
            try:
                cur.execute("INSERT INTO t VALUES (%s)", (row,))
            except psycopg2.IntegrityError:
                print("duplicate", row)
            except psycopg2.DataError:
                print("bad", row)
        conn.commit()
    finally:
        pool.putconn(conn)
"""
    reasons = _left("PS103", source)
    assert reasons and all("earlier iterations" in r and "conn.commit()" in r
                           for r in reasons), reasons


def test_rollback_in_a_loop_whose_try_commits_each_iteration_is_offered() -> None:
    source = PG + """
def load(rows):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        for row in rows:
            try:
                cur.execute("INSERT INTO t VALUES (%s)", (row,))
                conn.commit()
            except psycopg2.IntegrityError:
                print("duplicate", row)
    finally:
        pool.putconn(conn)
"""
    assert "            except psycopg2.IntegrityError:\n                conn.rollback()\n" \
        in _fixed("PS103", source, unsafe=True)


# --------------------------------------------- psycopg 3 `with get_connection()`
P3_DB = """from psycopg_pool import ConnectionPool

pool = ConnectionPool("dbname=app")


def get_connection():
    return pool.getconn()


def release_connection(conn):
    pool.putconn(conn)
"""

P3_SERVICE = """from infrastructure.db import get_connection


def register(name):
    with get_connection() as conn:
        conn.execute("INSERT INTO users (name) VALUES (%s)", (name,))
    return True
"""


def test_psycopg3_with_wrapper_becomes_pool_connection_under_the_same_path() -> None:
    # the connection's `with` committed on exit: `pool.connection()` does too, and
    # gives it back; the pool is imported from the path the file already uses
    # (`src.infrastructure.db` would be a second module object, a second pool)
    files = {"src/infrastructure/__init__.py": "", "src/infrastructure/db.py": P3_DB,
             "src/app/__init__.py": "", "src/__init__.py": ""}
    result = _run("PS102", {**files, "src/app/service.py": P3_SERVICE}, unsafe=True)
    (applied,) = result.applied
    assert not applied.safe and "pool.connection()" in applied.description
    # the check cannot see that `get_connection()` is only a checkout (its body is in
    # another module), so it cannot prove the rewrite: offered as unsafe, with why
    assert _unsafe("PS102", P3_SERVICE, "the fix raises (from `acquire conn`) where the "
                   "original raises (from `get_connection()`)", files=files,
                   path="src/app/service.py") == \
        """from infrastructure.db import pool


def register(name):
    with pool.connection() as conn:
        conn.execute("INSERT INTO users (name) VALUES (%s)", (name,))
    return True
"""


def test_psycopg3_with_wrapper_that_does_more_is_not_turned_into_putconn() -> None:
    # the wrapper configures the connection: `pool.connection()` would skip that, and
    # getconn/putconn would drop the commit on exit; no fix, even unsafe
    db = P3_DB.replace("    return pool.getconn()\n", """    conn = pool.getconn()
    conn.execute("SET application_name TO 'api'")
    return conn
""")
    (reason,) = _left("PS102", P3_SERVICE, files={"infrastructure/db.py": db,
                                                   "infrastructure/__init__.py": ""},
                      path="service.py")
    assert "also commits on exit" in reason


def test_release_wrapper_is_imported_under_the_path_the_file_uses() -> None:
    db = PG.replace("import psycopg2\n", "") + """

def get_db_connection():
    return pool.getconn()


def release_db_connection(conn):
    pool.putconn(conn)
"""
    service = """from infrastructure.db import get_db_connection


def count():
    conn = get_db_connection()
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM t")
    n = cur.fetchone()[0]
    conn.close()
    return n
"""
    files = {"src/__init__.py": "", "src/infrastructure/__init__.py": "",
             "src/infrastructure/db.py": db, "src/app/__init__.py": ""}
    fixed = _fixed("PS101", service, files=files, path="src/app/service.py")
    assert fixed.startswith(
        "from infrastructure.db import get_db_connection, release_db_connection\n")


# ------------------------------------------- the release and the log line agree
def test_psycopg2_with_getconn_log_says_what_is_written() -> None:
    source = PG + """
def names():
    with pool.getconn() as conn:
        cur = conn.cursor()
        cur.execute("SELECT name FROM t")
        return cur.fetchall()
"""
    result = _run("PS102", {"case.py": source})
    (applied,) = result.applied
    assert applied.description == ("take `conn` before the `with`, keep `with conn:`, and "
                                   "release it with pool.putconn() in `finally`")
    assert "        pool.putconn(conn)\n" in result.sources()["case.py"]


def test_close_returns_pool_gets_the_release_the_finding_names() -> None:
    # the finding says `pool.putconn(conn)`: the fix writes that, not close()
    source = """from psycopg_pool import ConnectionPool

pool = ConnectionPool("dbname=app", close_returns=True)


def rows():
    conn = pool.getconn()
    data = conn.execute("SELECT 1").fetchall()
    conn.close()
    return data
"""
    (finding,) = scan_sources({"case.py": source}, ScanOptions(select={"PS102"})).findings
    assert "pool.putconn(conn)" in finding.message
    fixed = _fixed("PS102", source)
    assert "    finally:\n        pool.putconn(conn)\n" in fixed and "close()" not in fixed


def test_wrapper_of_a_class_pool_is_released_to_that_pool() -> None:
    source = """from psycopg2.pool import ThreadedConnectionPool


class Db:
    pool = ThreadedConnectionPool(1, 5, dsn="dbname=app")

    @classmethod
    def get_conn(cls):
        return cls.pool.getconn()


def names():
    conn = Db.get_conn()
    cur = conn.cursor()
    cur.execute("SELECT name FROM t")
    return cur.fetchall()
"""
    (finding,) = scan_sources({"case.py": source}, ScanOptions(select={"PS102"})).findings
    assert "Db.pool.putconn(conn)" in finding.message
    assert "    finally:\n        Db.pool.putconn(conn)\n" in _fixed("PS102", source)


def test_checkout_in_a_try_with_a_narrow_handler_uses_that_try() -> None:
    # the `try` that holds the checkout is at the right level: no `try` nested in it
    before = PG + """
def save(value):
    try:
        conn = pool.getconn()
        conn.cursor().execute("INSERT INTO t VALUES (%s)", (value,))
        conn.commit()
        pool.putconn(conn)
    except psycopg2.IntegrityError:
        return False
    return True
"""
    assert _fixed("PS102", before) == PG + """
def save(value):
    conn = None
    try:
        conn = pool.getconn()
        conn.cursor().execute("INSERT INTO t VALUES (%s)", (value,))
        conn.commit()
    except psycopg2.IntegrityError:
        return False
    finally:
        if conn is not None:
            pool.putconn(conn)
    return True
"""


def test_sqlalchemy_session_still_rolls_back_after_operational_error() -> None:
    # SQLAlchemy invalidates a lost connection; session.rollback() does not raise
    source = """from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session


def touch(db: Session, item):
    try:
        db.add(item)
        db.flush()
    except OperationalError:
        return None
    db.commit()
    return item
"""
    fixed = _fixed("PS103", source)
    assert "    except OperationalError:\n        db.rollback()\n" in fixed


def test_release_behind_an_unrelated_test_leaves_no_empty_if() -> None:
    # the finding asks for a release on every path: the `if` goes whole, never
    # `if verbose: pass` beside an unconditional release
    before = PG + """
def names(verbose):
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT name FROM t")
    rows = cur.fetchall()
    if verbose:
        pool.putconn(conn)
    return rows
"""
    assert _fixed("PS102", before) == PG + """
def names(verbose):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM t")
        rows = cur.fetchall()
    finally:
        pool.putconn(conn)
    return rows
"""
    calls = before.replace("if verbose:", "if audit(rows):")
    (reason,) = _left("PS102", calls)
    assert "empty `if`" in reason


# ------------------------- the release as written: an awaited synchronous close
# (the project's wrapper hands out a synchronous SQLAlchemy connection; the user's
# code awaits its close anyway). The fix moves that release into `finally` exactly
# as written; writing it without the `await` would run a call the original never
# makes, which the equivalence check refuses as a safe fix.
SYNC_WRAPPER = """\
from sqlalchemy import create_engine

engine = create_engine("sqlite://")


def open_conn():
    conn = engine.connect()
    return conn
"""


def test_an_awaited_release_is_kept_awaited_in_the_new_finally() -> None:
    source = """\
from db import open_conn


async def names():
    conn = await open_conn()
    rows = await conn.execute("SELECT name FROM t")
    await conn.close()
    return rows
"""
    fixed = _fixed("PS102", source, files={"db.py": SYNC_WRAPPER})
    assert fixed == """\
from db import open_conn


async def names():
    conn = await open_conn()
    try:
        rows = await conn.execute("SELECT name FROM t")
    finally:
        await conn.close()
    return rows
"""
    result = _run("PS102", {"db.py": SYNC_WRAPPER, "case.py": source})
    assert [(a.code, a.safe) for a in result.applied] == [("PS102", True)]


def test_an_awaited_release_is_kept_awaited_in_a_loop() -> None:
    source = """\
from db import open_conn


async def sleepers():
    for _ in range(3):
        conn = await open_conn()
        await conn.execute("SELECT 1")
        await conn.close()
"""
    fixed = _fixed("PS102", source, files={"db.py": SYNC_WRAPPER})
    assert "        finally:\n            await conn.close()\n" in fixed
    assert "            conn.close()" not in fixed.replace("await conn.close()", "")


def test_an_awaited_release_is_kept_awaited_in_the_enclosing_finally() -> None:
    source = """\
from db import open_conn


async def names():
    try:
        conn = await open_conn()
        rows = await conn.execute("SELECT name FROM t")
        await conn.close()
        return rows
    except ValueError:
        return None
"""
    fixed = _fixed("PS102", source, files={"db.py": SYNC_WRAPPER})
    assert "await conn.close()" in fixed and "    conn.close()" not in fixed.replace(
        "await conn.close()", "")


def test_an_awaited_release_of_a_checkout_not_awaited_stays_unsafe() -> None:
    # `conn = open_conn()` (synchronous) then `await conn.close()`: the original's
    # await raises TypeError after the close; a `finally` would raise it on the
    # failure paths too, so the release is not kept as written, and the fix written
    # without the await is refused as safe by the equivalence check
    source = """\
from db import open_conn


async def names():
    conn = open_conn()
    rows = conn.execute("SELECT name FROM t")
    await conn.close()
    return rows
"""
    reasons = _left("PS102", source, files={"db.py": SYNC_WRAPPER}, unsafe=False)
    assert reasons and "the original awaits `conn.close()`" in reasons[0], reasons


def test_own_connection_of_a_wrapper_is_closed_not_handed_to_the_pool_s_release() -> None:
    # the module's release wrapper gives back to the pool; a connection the other
    # wrapper opened itself would be refused there (`PoolError: trying to put
    # unkeyed connection`): it is closed
    store = (PG + "\n\ndef open_own():\n    return psycopg2.connect('')\n\n\n"
             "def open_shared():\n    return pool.getconn()\n\n\n"
             "def hand_back(conn):\n    pool.putconn(conn)\n")
    job = ("from store import open_own\n\n\n"
           "def count_rows():\n"
           "    conn = open_own()\n"
           "    cur = conn.cursor()\n"
           "    cur.execute('SELECT count(*) FROM t')\n"
           "    print(cur.fetchone()[0])\n")
    fixed = _fixed("PS102", job, files={"store.py": store}, path="job.py", unsafe=True)
    assert "hand_back" not in fixed
    assert "    finally:\n        conn.close()\n" in fixed
    findings = scan_sources({"store.py": store, "job.py": job}, ScanOptions(select={"PS102"}))
    assert [f.message.rsplit("; ", 1)[1] for f in findings.findings if f.path == "job.py"] \
        == ["use try/finally: conn.close()"]


def test_release_taking_the_cursor_made_right_after_the_checkout_starts_the_try_after_it(
        ) -> None:
    # `cur = conn.cursor()` cannot raise (psycopg2 makes the cursor locally): the
    # checkout cannot leak there, so the `try` starts after it and its `finally`
    # never meets `cur` unbound
    source = PG + '''

class Store:
    def release_both(self, conn, cur):
        cur.close()
        pool.putconn(conn)

    def run(self, sql, write=False):
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute(sql)
        if write:
            conn.commit()
            self.release_both(conn, cur)
            return None
        rows = cur.fetchall()
        self.release_both(conn, cur)
        return rows
'''
    fixed = _fixed("PS102", source)
    assert '''        conn = pool.getconn()
        cur = conn.cursor()
        try:
            cur.execute(sql)
            if write:
                conn.commit()
                return None
            rows = cur.fetchall()
        finally:
            self.release_both(conn, cur)
        return rows
''' in fixed


def test_release_taking_a_name_bound_by_a_call_that_may_raise_is_still_refused() -> None:
    source = PG + '''

def release_both(conn, cur):
    cur.close()
    pool.putconn(conn)


def run(sql):
    conn = pool.getconn()
    cur = make_cursor(conn)
    cur.execute(sql)
    rows = cur.fetchall()
    release_both(conn, cur)
    return rows
'''
    result = _run("PS102", {"case.py": source})
    assert [x.reason for x in result.left] == [
        "not fixable: the release of `conn` takes an argument bound after the checkout, "
        "which `finally` could meet unbound"]


def test_ps105_parameter_joins_a_signature_of_one_parameter_a_line() -> None:
    source = '''from typing import Optional

from fastapi import Depends, FastAPI, Query
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app"))
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.get("/find")
def find(
    name: Optional[str] = Query(None),
    limit: int = Query(10),
):
    db = SessionLocal()
    try:
        return db.execute(text("SELECT 1")).all()
    finally:
        db.close()
'''
    fixed = _fixed("PS105", source)
    assert '''def find(
    name: Optional[str] = Query(None),
    limit: int = Query(10),
    db: Session = Depends(get_db),
):
    return db.execute(text("SELECT 1")).all()
''' in fixed

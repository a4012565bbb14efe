"""PS106's fix: a helper returning a connection its `finally` releases becomes a
`@contextmanager`, its callers `with` blocks (in other modules too, applied together or
not at all); safe only when every caller is rewritten."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from poolsafe.cli.main import main
from poolsafe.fix.loop.apply import FixResult, fix_sources
from poolsafe.scan.engine import ScanOptions, scan_sources

SA = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
engine = create_engine("postgresql://localhost/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
"""

HELPER = """
def get_db():
    db = SessionLocal()
    try:
        return db
    finally:
        db.close()
"""

OPTIONS = ScanOptions(select={"PS106"})


def _run(files: dict[str, str], unsafe: bool = False) -> FixResult:
    result = fix_sources(files, OPTIONS, unsafe=unsafe)
    assert not result.errors, result.errors
    return result


def _checked(files: dict[str, str], unsafe: bool = False) -> dict[str, str]:
    result = _run(files, unsafe)
    assert result.applied, [x.reason for x in result.left]
    fixed = result.sources()
    for name, text in fixed.items():
        compile(text, name, "exec")
    assert not scan_sources(fixed, OPTIONS).findings
    again = _run(fixed, unsafe)
    assert again.sources() == fixed and not again.applied
    return fixed


def test_helper_and_its_callers_become_a_context_manager_safely() -> None:
    before = SA + HELPER + """

def users():
    db = get_db()  # the caller's session
    rows = db.query(User).all()
    return [r.name for r in rows]


def count():
    db = get_db()
    return db.query(User).count()
"""
    result = _run({"app.py": before})
    assert [a.safe for a in result.applied] == [True]
    assert _checked({"app.py": before})["app.py"] == """\
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from contextlib import contextmanager
engine = create_engine("postgresql://localhost/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)

@contextmanager
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def users():
    with get_db() as db:  # the caller's session
        rows = db.query(User).all()
        return [r.name for r in rows]


def count():
    with get_db() as db:
        return db.query(User).count()
"""


def test_pool_helper_with_annotation_and_existing_contextlib_import() -> None:
    before = """from contextlib import suppress
from psycopg2.extensions import connection
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def get_connection() -> connection:
    conn = pool.getconn()
    try:
        return conn
    finally:
        pool.putconn(conn)


def rows():
    conn = get_connection()
    with suppress(KeyError):
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
"""
    after = _checked({"db.py": before})["db.py"]
    assert after.startswith("from contextlib import suppress, contextmanager\n"
                            "from psycopg2.extensions import connection\n"
                            "from psycopg2.pool import ThreadedConnectionPool\n"
                            "from collections.abc import Iterator\n")
    assert "@contextmanager\ndef get_connection() -> Iterator[connection]:\n" in after
    assert "        yield conn\n" in after
    assert "    with get_connection() as conn:\n        with suppress(KeyError):\n" in after


def test_async_helper_becomes_an_async_context_manager() -> None:
    before = """import asyncpg


async def fetch_conn(pool: asyncpg.Pool):
    conn = await pool.acquire()
    try:
        return conn
    finally:
        await pool.release(conn)


async def names(pool: asyncpg.Pool):
    conn = await fetch_conn(pool)
    return await conn.fetch("SELECT name FROM users")
"""
    after = _checked({"a.py": before})["a.py"]
    assert "@asynccontextmanager\nasync def fetch_conn(pool: asyncpg.Pool):\n" in after
    assert "    async with fetch_conn(pool) as conn:\n        return await conn.fetch(" in after
    assert "from contextlib import asynccontextmanager\n" in after


def test_sync_and_async_helpers_share_one_new_contextlib_line() -> None:
    # two fixes in one file, each needing a name from `contextlib`, which the file does
    # not import yet: one new line names both (not two `from contextlib import` lines)
    before = """import asyncpg
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 4, "dbname=app")


def get_connection():
    conn = pool.getconn()
    try:
        return conn
    finally:
        pool.putconn(conn)


async def fetch_conn(apool: asyncpg.Pool):
    conn = await apool.acquire()
    try:
        return conn
    finally:
        await apool.release(conn)
"""
    after = _checked({"a.py": before}, unsafe=True)["a.py"]  # no callers: unsafe
    assert after.count("from contextlib import") == 1
    assert "from contextlib import asynccontextmanager, contextmanager\n" in after
    assert "@contextmanager\ndef get_connection():\n" in after
    assert "@asynccontextmanager\nasync def fetch_conn(apool: asyncpg.Pool):\n" in after


def test_callers_in_other_modules_are_rewritten_with_the_helper() -> None:
    reports = """from db import get_db
import db as database

def report():
    db = get_db()
    return db.query(User).count()


def names():
    session = database.get_db()
    return [u.name for u in session.query(User)]
"""
    files = {"db.py": SA + HELPER, "reports.py": reports}
    result = _run(files)
    assert [(a.path, a.safe) for a in result.applied] == [("db.py", True)]
    fixed = _checked(files)
    assert "@contextmanager\ndef get_db():" in fixed["db.py"]
    assert fixed["reports.py"] == """from db import get_db
import db as database

def report():
    with get_db() as db:
        return db.query(User).count()


def names():
    with database.get_db() as session:
        return [u.name for u in session.query(User)]
"""


def test_a_caller_of_another_shape_in_another_module_means_no_fix() -> None:
    """The caller left as it is would get a context manager where it expects a
    session: not offered, not even as an unsafe fix."""
    other = """from db import get_db as session_factory

def report():
    return session_factory().query(User).count()
"""
    files = {"db.py": SA + HELPER, "reports.py": other}
    safe = _run(files)
    assert safe.sources() == files
    assert [x.reason for x in safe.left] == [
        "not fixable: a call of `get_db` that is not `name = get_db(...)` in a function; "
        "its callers would get a context manager"]
    assert _run(files, unsafe=True).sources() == files


def test_a_caller_in_a_file_not_being_fixed_leaves_the_finding(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (tmp_path / "db.py").write_text(SA + HELPER, encoding="utf-8")
    (tmp_path / "reports.py").write_text(
        "from db import get_db\n\ndef report():\n    db = get_db()\n"
        "    return db.query(User).count()\n", encoding="utf-8")
    run = CliRunner().invoke(main, ["fix", "--select", "PS106", str(tmp_path / "db.py")])
    assert "PS106 left: not fixable here: the fix edits " in run.stderr
    assert "reports.py, which is not being fixed (name it too)" in run.stderr
    assert "return db" in (tmp_path / "db.py").read_text(encoding="utf-8")


def test_a_caller_that_hands_the_session_on_means_no_fix() -> None:
    before = SA + HELPER + """

def make():
    db = get_db()
    return db
"""
    safe = _run({"app.py": before})
    assert safe.sources()["app.py"] == before
    assert [x.reason for x in safe.left] == [
        "not fixable: in `make`, `db` is returned; its callers would get a context manager"]
    assert _run({"app.py": before}, unsafe=True).sources()["app.py"] == before


def test_a_decorated_helper_means_no_fix() -> None:
    """A retry decorator would wrap the context manager's creation, not the checkout."""
    before = SA + "from tenacity import retry\n\n\n@retry\n" + HELPER.lstrip("\n") + """

def count():
    db = get_db()
    return db.query(User).count()
"""
    result = _run({"app.py": before}, unsafe=True)
    assert result.sources()["app.py"] == before
    assert [x.reason for x in result.left] == [
        "not fixable: `@retry` wraps `get_db`: it would wrap the context manager instead "
        "of the function it wraps now"]


def test_no_caller_in_the_project_makes_the_fix_unsafe() -> None:
    before = SA + HELPER
    safe = _run({"app.py": before})
    assert [x.reason for x in safe.left] == [
        "unsafe fix available (--unsafe-fixes): `get_db` has no caller in the project; "
        "callers elsewhere would get a context manager"]
    assert "        yield db\n" in _run({"app.py": before}, unsafe=True).sources()["app.py"]


def test_a_use_after_release_is_left_with_its_reason() -> None:
    before = """from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")

def count():
    conn = pool.getconn()
    pool.putconn(conn)
    return conn.cursor().fetchone()
"""
    result = _run({"app.py": before}, unsafe=True)
    assert result.sources()["app.py"] == before
    assert [x.reason for x in result.left] == [
        "not fixable: a use after the release: move the release after it"]


def test_code_after_the_return_means_no_fix() -> None:
    """Made a `yield`, the generator resumes where `return` ended the call: statements
    after it (here one no path reached), the rest of a loop or a `try`'s `else` would
    run when the caller's block ends (found by the mutation fuzzer, round 27)."""
    after = SA + """
def get_db():
    try:
        return db
    finally:
        db.close()
    db = SessionLocal()


def users():
    db = get_db()
    return db.query(User).all()
"""
    in_loop = SA + """
def get_db():
    for _ in range(3):
        db = SessionLocal()
        try:
            return db
        finally:
            db.close()


def users():
    db = get_db()
    return db.query(User).all()
"""
    with_else = SA + """
def get_db():
    db = SessionLocal()
    try:
        return db
    except Exception:
        raise
    else:
        audit()
    finally:
        db.close()


def users():
    db = get_db()
    return db.query(User).all()
"""
    for before in (after, in_loop, with_else):
        result = fix_sources({"app.py": before}, OPTIONS, unsafe=True)
        assert result.sources()["app.py"] == before
        assert [x.reason for x in result.left] == [
            "not fixable: code can run after the `return` once it is a `yield` (a loop, "
            "a `try`'s `else`, statements after it): the caller's block would run it"]


def test_a_release_inside_a_with_in_the_finally_means_no_fix() -> None:
    """The `with`'s entry may raise before the release: as a generator, the checker
    sees the connection left out on that path, so the fix would add a PS102 (found by
    the mutation fuzzer, round 27)."""
    before = "import contextlib\n" + SA + """
def get_db():
    db = SessionLocal()
    try:
        return db
    finally:
        with contextlib.nullcontext():
            db.close()


def users():
    db = get_db()
    return db.query(User).all()
"""
    result = fix_sources({"app.py": before}, OPTIONS, unsafe=True)
    assert result.sources()["app.py"] == before
    assert [x.reason for x in result.left] == [
        "not fixable: a `finally` releases inside a `with` block, whose entry may raise: "
        "as a generator, that path would leave the connection checked out"]

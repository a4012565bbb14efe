"""PS106 on the command line and in its messages."""

from __future__ import annotations

from click.testing import CliRunner

from poolsafe.cli.main import main
from poolsafe.scan.engine import ScanOptions, scan_sources


def test_rules_lists_and_explain_documents_ps106() -> None:
    out = CliRunner().invoke(main, ["rules"]).stdout
    assert any(line.startswith("PS106") and "use-after-release" in line
               for line in out.splitlines())
    doc = CliRunner().invoke(main, ["explain", "PS106"])
    assert doc.exit_code == 0
    for section in ("## What it does", "## Why is this bad?", "## Fix safety"):
        assert section in doc.stdout


def _messages(code: str) -> list[str]:
    result = scan_sources({"m.py": code}, ScanOptions(select={"PS106"}))
    return [f.message for f in result.findings]


def test_messages_say_what_happened() -> None:
    pooled = """from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")

def count():
    conn = pool.getconn()
    pool.putconn(conn)
    return conn.cursor().fetchone()

def helper():
    conn = pool.getconn()
    try:
        return conn
    finally:
        pool.putconn(conn)
"""
    assert _messages(pooled) == [
        "psycopg2 pool connection `conn` is used after `pool.putconn(conn)` released it: "
        "another thread may hold it now",
        "`helper` returns psycopg2 pool connection `conn`, but `pool.putconn(conn)` releases "
        "it as the function returns: the caller gets a connection the pool may hand to "
        "another thread; make `helper` a `@contextmanager` (or a yield dependency) that "
        "yields it",
    ]
    session = """from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))

def names():
    with SessionLocal() as db:
        db.query(User).all()
    return db.query(User.name).all()
"""
    assert _messages(session) == [
        "SQLAlchemy session `db` is used after the exit of its `with` block released it: "
        "it opens a new connection that nothing closes"]

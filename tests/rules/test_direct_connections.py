"""PS102's direct-connection policy (issue 31, policy49): an exception-only gap of a
direct synchronous driver connection held in a local it cannot outlive is reported
only with `direct-connections = "strict"`."""

from __future__ import annotations

import pytest

from poolsafe.core.project import ProjectConfig
from poolsafe.rules import ALL_RULES, Case
from poolsafe.scan.engine import ScanOptions, scan_sources

PS102 = next(r for r in ALL_RULES if r.code == "PS102")
#: the VALID cases that only the default policy leaves unreported
LENIENT_ONLY = [c for c in PS102.VALID if c.note.startswith("policy49:")]


def _found(case: Case, policy: str | None) -> set[tuple[int, str]]:
    project = ProjectConfig() if policy is None else ProjectConfig(direct_connections=policy)
    result = scan_sources({**case.files, case.path: case.code},
                          ScanOptions(select={"PS102"}, project=project))
    assert not result.errors, result.errors
    return {(f.line, f.code) for f in result.findings if f.path == case.path}


def _connect_line(code: str) -> int:
    return next(i for i, line in enumerate(code.splitlines(), start=1)
                if ".connect(" in line or " = pool.connection()" in line)


def test_the_policy_has_its_valid_cases() -> None:
    assert len(LENIENT_ONLY) == 8


@pytest.mark.parametrize("case", LENIENT_ONLY, ids=lambda c: c.note[:40])
def test_strict_reports_what_the_default_leaves(case: Case) -> None:
    assert _found(case, None) == set()
    assert _found(case, "lenient") == set()
    assert _found(case, "strict") == {(_connect_line(case.code), "PS102")}


POOLED = Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, dsn="dbname=app")


def insert_event(kind):
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("INSERT INTO events (kind) VALUES (%s)", (kind,))
    conn.commit()
    pool.putconn(conn)
""")

SESSION = Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://app@db/app"))


def insert_event(event):
    session = Session()
    session.add(event)
    session.commit()
    session.close()
""")

AIOMYSQL = Case("""
import aiomysql


async def insert_event(kind):
    conn = await aiomysql.connect(host="db", user="app", db="app")
    cur = await conn.cursor()
    await cur.execute("INSERT INTO events (kind) VALUES (%s)", (kind,))
    await conn.commit()
    conn.close()
""")


@pytest.mark.parametrize("case", [POOLED, SESSION, AIOMYSQL],
                         ids=["psycopg2-pool", "sqlalchemy-session", "aiomysql"])
def test_pools_sessions_and_async_drivers_are_reported_either_way(case: Case) -> None:
    line = next(i for i, text in enumerate(case.code.splitlines(), start=1)
                if " = pool.getconn()" in text or " = Session()" in text
                or "aiomysql.connect(" in text)
    assert _found(case, None) == {(line, "PS102")}
    assert _found(case, "strict") == {(line, "PS102")}


def test_a_project_pyproject_declares_strict() -> None:
    case = LENIENT_ONLY[0]
    strict = Case(case.code, files={
        "pyproject.toml": '[project]\nname = "app"\n\n[tool.poolsafe]\n'
                          'direct-connections = "strict"\n'})
    assert _found(strict, None) == {(_connect_line(case.code), "PS102")}
    lenient = Case(case.code, files={
        "pyproject.toml": '[tool.poolsafe]\ndirect-connections = "lenient"\n'})
    assert _found(lenient, None) == set()


def test_psycopg2_pool_package_checkout_follows_the_policy() -> None:
    """small53b: the psycopg2-pool package's weakly held checkout is lenient-only
    where an exception is all that skips its putconn()."""
    case = next(c for c in PS102.VALID if c.code.lstrip().startswith(
        "from psycopg2_pool import") and "def meter_ok" in c.code)
    line = next(i for i, text in enumerate(case.code.splitlines(), start=1)
                if "readings.getconn()" in text)
    assert _found(case, None) == set()
    assert _found(case, "strict") == {(line, "PS102")}

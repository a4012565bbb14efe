"""PS103's fix and session state, run on PostgreSQL (issue 13): a rollback undoes a
`SET search_path` made earlier in the transaction, so after a plain rollback the
rest of a batch lands in another schema. The fix uses a savepoint there, which keeps
the setting, and refuses where only a rollback would fit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions

sqlalchemy = pytest.importorskip("sqlalchemy")
pytest.importorskip("psycopg2")

SOURCE = """\
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def load(db: Session, schema, table, names):
    db.execute(text(f"SET search_path TO {schema}"))
    skipped = []
    for name in names:
        try:
            db.execute(text(f"INSERT INTO {table} (name) VALUES (:n)"), {"n": name})
        except IntegrityError:
            skipped.append(name)
    db.commit()
    return skipped
"""

#: what a naive fix writes: a rollback in the handler (reverting search_path)
ROLLED_BACK = SOURCE.replace("            skipped.append(name)",
                             "            db.rollback()\n            skipped.append(name)")


def _run(source: str, dsn: str) -> tuple[object, list[str], list[str]]:
    """(outcome, rows in the tenant schema, rows in public)"""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg2://", 1))
    tag = uuid.uuid4().hex[:10]
    schema, table = f"tenant_{tag}", f"items_{tag}"
    namespace: dict[str, Any] = {}
    exec(compile(source, "case.py", "exec"), namespace)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
            conn.execute(text(f"CREATE TABLE {schema}.{table} (name text PRIMARY KEY)"))
            conn.execute(text(f"CREATE TABLE public.{table} (name text PRIMARY KEY)"))
        with Session(engine) as db:
            try:
                outcome: object = namespace["load"](db, schema, table, ["a", "b", "a", "c"])
            except sqlalchemy.exc.SQLAlchemyError as exc:
                outcome = type(exc).__name__
        with engine.connect() as conn:
            tenant = sorted(r[0] for r in conn.execute(text(f"SELECT name FROM {schema}.{table}")))
            public = sorted(r[0] for r in conn.execute(text(f"SELECT name FROM public.{table}")))
        return outcome, tenant, public
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"DROP TABLE IF EXISTS public.{table}"))
        engine.dispose()


def test_a_plain_rollback_writes_the_rest_into_another_schema(pg_dsn: str) -> None:
    """The hazard itself: why the fix must not be a rollback here."""
    outcome, tenant, public = _run(ROLLED_BACK, pg_dsn)
    assert outcome == ["a"]
    assert tenant == [] and public == ["c"]


def test_the_savepoint_fix_keeps_the_schema(pg_dsn: str) -> None:
    # a savepoint per iteration is an unsafe fix (it sends SQL the original does not)
    result = fix_sources({"case.py": SOURCE}, ScanOptions(select={"PS103"}), unsafe=True)
    fixed = result.sources()["case.py"]
    assert "with db.begin_nested():" in fixed and "rollback" not in fixed
    outcome, tenant, public = _run(fixed, pg_dsn)
    assert outcome == ["a"]
    assert tenant == ["a", "b", "c"] and public == []

"""The PS103 savepoint fix, run on PostgreSQL: before the fix one duplicate row in a
batch loses the whole batch (the session is left in a failed transaction and the
final commit raises); after `poolsafe fix` only the duplicate is skipped."""

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


def load(db: Session, table, names):
    skipped = []
    for name in names:
        try:
            db.execute(text(f"INSERT INTO {table} (name) VALUES (:n)"), {"n": name})
        except IntegrityError:
            skipped.append(name)
    db.commit()
    return skipped
"""


def _run(source: str, dsn: str) -> tuple[list[str] | str, list[str]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    url = dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
    engine = create_engine(url)
    table = f"ps103_{uuid.uuid4().hex[:10]}"
    namespace: dict[str, Any] = {}
    exec(compile(source, "case.py", "exec"), namespace)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE {table} (name text PRIMARY KEY)"))
        with Session(engine) as db:
            try:
                outcome: list[str] | str = namespace["load"](db, table, ["a", "b", "a", "c"])
            except sqlalchemy.exc.SQLAlchemyError as exc:
                outcome = type(exc).__name__
        with engine.connect() as conn:
            saved = sorted(r[0] for r in conn.execute(text(f"SELECT name FROM {table}")))
        return outcome, saved
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


def test_savepoint_fix_keeps_the_good_rows(pg_dsn: str) -> None:
    outcome, saved = _run(SOURCE, pg_dsn)
    # the next statement fails: "current transaction is aborted" (InFailedSqlTransaction)
    assert outcome == "InternalError" and saved == []

    # a savepoint per iteration is an unsafe fix (it sends SQL the original does not)
    result = fix_sources({"case.py": SOURCE}, ScanOptions(select={"PS103"}), unsafe=True)
    fixed = result.sources()["case.py"]
    assert [a.description for a in result.applied] == [
        "undo only the failed iteration: a savepoint on `db` around the `try` body"]
    assert "with db.begin_nested():" in fixed
    outcome, saved = _run(fixed, pg_dsn)
    assert outcome == ["a"] and saved == ["a", "b", "c"]

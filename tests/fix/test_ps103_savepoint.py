"""PS103 inside a loop: a savepoint around the `try` body undoes only the failed
iteration (a plain rollback would also discard what earlier iterations did). It sends
statements the original does not, and keeps rows the original lost: an unsafe fix by
definition, written only with `--unsafe-fixes`."""

from __future__ import annotations

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions

SESSION = """\
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
"""


def _fix(source: str, *, unsafe: bool = False) -> tuple[str, list[str]]:
    result = fix_sources({"case.py": source}, ScanOptions(select={"PS103"}), unsafe=unsafe)
    assert not result.errors, result.errors
    return result.sources()["case.py"], [x.reason for x in result.left]


SAVEPOINT_REASON = ("unsafe fix available (--unsafe-fixes): the equivalence check found "
                    "in `load`: the fix sends savepoint statements the original does not send")


def _savepoint(source: str) -> str:
    """The fix of `source` with `--unsafe-fixes`; plain `fix` leaves it, saying why."""
    plain, left = _fix(source)
    assert plain == source
    assert len(left) == 1 and left[0].startswith(SAVEPOINT_REASON), left
    after, left = _fix(source, unsafe=True)
    assert left == []
    assert _fix(after, unsafe=True) == (after, [])
    return after


def test_session_loop_gets_a_savepoint_keeping_comments() -> None:
    before = SESSION + """
def load(db: Session, items):
    for item in items:
        try:  # one bad row must not stop the batch
            # add it
            db.add(item)
            db.flush()
        except IntegrityError:
            log(item)
    db.commit()
"""
    after = _savepoint(before)
    assert after == SESSION + """
def load(db: Session, items):
    for item in items:
        try:  # one bad row must not stop the batch
            with db.begin_nested():
                # add it
                db.add(item)
                db.flush()
        except IntegrityError:
            log(item)
    db.commit()
"""


def test_async_session_loop_gets_an_async_savepoint() -> None:
    before = """\
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


async def load(db: AsyncSession, items):
    while items:
        try:
            db.add(items.pop())
            await db.flush()
        except IntegrityError:
            pass
    await db.commit()
"""
    after = _savepoint(before)
    assert """        try:
            async with db.begin_nested():
                db.add(items.pop())
                await db.flush()
        except IntegrityError:
            pass
""" in after


def test_psycopg3_loop_uses_a_nested_transaction_block() -> None:
    before = """\
import psycopg
from psycopg_pool import ConnectionPool

pool = ConnectionPool("dbname=app")


def load(rows):
    with pool.connection() as conn:
        for row in rows:
            try:
                conn.execute("INSERT INTO t VALUES (%s)", (row,))
            except psycopg.errors.UniqueViolation:
                print("duplicate", row)
"""
    after = _savepoint(before)
    assert """            try:
                with conn.transaction():
                    conn.execute("INSERT INTO t VALUES (%s)", (row,))
            except psycopg.errors.UniqueViolation:
""" in after


def test_a_helper_given_the_session_gets_no_savepoint() -> None:
    # the helper may commit, which would end the savepoint's transaction under it
    before = SESSION + """
def load(db: Session, items):
    for item in items:
        try:
            save(db, item)
        except IntegrityError:
            log(item)
    db.commit()
"""
    after, left = _fix(before)
    assert after == before
    # and a plain rollback would discard the earlier items that `db.commit()` then
    # leaves out: no fix (tests/fix/test_fix_real.py)
    assert left == ["not fixable: inside a loop, a rollback would discard the work of "
                    "earlier iterations, and `db` belongs to the caller, who may commit them; "
                    "no savepoint fits (the `try` body passes `db` to a call that may "
                    "commit): use one per iteration by hand"]


def test_a_body_that_commits_gets_no_savepoint() -> None:
    before = SESSION + """
def load(db: Session, items):
    for item in items:
        try:
            db.add(item)
            db.commit()
        except IntegrityError:
            log(item)
"""
    after, _ = _fix(before, unsafe=True)
    assert "begin_nested" not in after
    assert "            db.rollback()\n" in after


def test_a_broad_handler_makes_the_savepoint_unsafe() -> None:
    before = SESSION + """
def load(db: Session, items):
    for item in items:
        try:
            db.add(item)
            db.flush()
        except Exception:
            log(item)
    db.commit()
"""
    after, left = _fix(before)
    assert after == before
    (reason,) = left
    assert reason.startswith("unsafe fix available (--unsafe-fixes): a handler also catches "
                             "non-database errors, which now undo the iteration's work too; ")
    assert "the fix sends savepoint statements the original does not send" in reason
    after, left = _fix(before, unsafe=True)
    assert "            with db.begin_nested():\n" in after and left == []

"""PS103 except-without-rollback."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps103 import INVALID, VALID


class ExceptWithoutRollback(Rule):
    """
    ## What it does
    Flags an `except` that can catch a database error raised by work on a
    connection or session, and swallows it without `rollback()` (or
    `ROLLBACK TO SAVEPOINT`), re-raising, or releasing the connection, when
    the connection is then used again, committed by a transaction block, or
    handed back to a caller that owns it.

    Handlers that only catch non-database errors (`KeyError`, `ValueError`) are
    not flagged, nor is work inside `with session.begin():`,
    `with conn.transaction():` or `with conn:` (they roll back themselves), nor
    autocommit connections, nor asyncpg and sqlite3 connections outside a
    transaction (a failed statement does not abort anything there). A
    connection released afterwards (`putconn` and SQLAlchemy `close()` roll back)
    is not flagged either.

    ## Why is this bad?
    After a failed statement PostgreSQL rejects everything with
    `current transaction is aborted, commands ignored until end of transaction
    block`, and a SQLAlchemy session raises `PendingRollbackError` on its next
    use. One swallowed error breaks every later request that gets the session.

    ## Example
    ```python
    def create_user(db: Session, name: str):
        try:
            db.add(User(name=name))
            db.commit()
        except IntegrityError:
            return None
    ```

    ## Use instead
    ```python
    def create_user(db: Session, name: str):
        try:
            db.add(User(name=name))
            db.commit()
        except IntegrityError:
            db.rollback()
            return None
    ```

    ## Fix safety
    Inserting `rollback()` at the top of the handler is safe; where the name
    may be unbound there, the fix guards it with `if conn is not None:`.
    """

    code = "PS103"
    name = "except-without-rollback"
    summary = "an except that swallows a database error without rollback()"
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        for _func, flow in ctx.flows():
            for handler_index, (resource, why) in sorted(flow.swallowing_handlers.items()):
                handler = flow.handlers[handler_index]
                yield self.finding(
                    handler,
                    f"`except` swallows a database error on `{resource}` without "
                    f"`rollback()`, and {why}; call `{resource}.rollback()` in the handler",
                )

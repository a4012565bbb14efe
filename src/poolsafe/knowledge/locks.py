"""Explicit locks a transaction takes and holds until it ends (PS207), as data.

A transaction that took one of these on purpose holds it across what follows: the
slow call it serialises (one worker at a time), or the job it claimed from a queue
(`SKIP LOCKED`). Committing before the call would release the lock.
"""

#: query and statement methods that make a SELECT lock the rows it reads: SQLAlchemy's
#: `Query.with_for_update()` / `Select.with_for_update()` (`nowait`, `skip_locked`,
#: `read`, `key_share` all lock) and the legacy `Query.with_lockmode("update")`
LOCK_CHAIN_METHODS = frozenset({"with_for_update", "with_lockmode"})

#: the clauses of a SELECT's text (lower case, single spaces) that lock its rows
#: until the transaction ends (`NOWAIT` / `SKIP LOCKED` may follow)
SQL_ROW_LOCK_CLAUSES = ("for update", "for no key update", "for share", "for key share")

#: PostgreSQL functions that wait for an advisory lock held until the transaction ends;
#: the `pg_try_` forms are left out: they return false without the lock
ADVISORY_XACT_LOCK_FUNCTIONS = frozenset({"pg_advisory_xact_lock",
                                          "pg_advisory_xact_lock_shared"})

#: methods of a connection, session or cursor whose first argument is the statement
#: they run (SQLAlchemy, DB-API, psycopg, asyncpg)
LOCK_STATEMENT_METHODS = frozenset({
    "execute", "exec", "exec_driver_sql", "scalar", "scalars", "stream", "stream_scalars",
    "fetch", "fetchrow", "fetchval",
})

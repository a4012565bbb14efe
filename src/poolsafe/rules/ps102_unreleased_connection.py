"""PS102 unreleased-connection."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps102 import INVALID, VALID
from poolsafe.rules.ps101_close_pooled_connection import release_hint


class UnreleasedConnection(Rule):
    """
    ## What it does
    Flags a checkout (a pool connection, an engine connection, a session, an
    asyncpg `acquire()`, a raw driver connection) with some path, normal or
    exceptional, on which it is neither released, closed nor handed on.

    The analysis follows the function's control flow with exception edges: an
    exception in the body skips a release that is not in `finally`; an
    `except psycopg2.Error:` does not catch a `KeyError`; an early `return` skips
    the release below it; a generator can be thrown into at each `yield`. A
    connection that is returned, yielded to a caller, stored on an attribute or
    in a container, or passed to a function that releases it has moved on and
    is not reported here.

    `with pool.getconn() as conn:` is reported too: for psycopg2, `with conn:`
    only ends the transaction; for psycopg_pool it closes the connection rather
    than returning it.

    ## Why is this bad?
    Every path that skips the release keeps a slot checked out. Under errors the
    pool drains, and the service fails with `connection pool exhausted`,
    `QueuePool limit of size 5 overflow 10 reached` or
    `remaining connection slots are reserved`.

    ## Example
    ```python
    def get_user(user_id):
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
        row = cur.fetchone()
        pool.putconn(conn)  # skipped if execute() raises
        return row
    ```

    ## Use instead
    ```python
    def get_user(user_id):
        conn = pool.getconn()
        try:
            cur = conn.cursor()
            cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
            return cur.fetchone()
        finally:
            pool.putconn(conn)
    ```
    or, where the library has a context manager that releases
    (`with engine.connect() as conn`, `with SessionLocal() as db`,
    `with pool.connection() as conn`, `async with pool.acquire() as conn`), use it.

    ## Fix safety
    Wrapping in `try`/`finally` keeps behaviour on the happy path; it is safe.
    """

    code = "PS102"
    name = "unreleased-connection"
    summary = "a checkout that some path neither releases, closes nor hands on"
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        for _func, flow in ctx.flows():
            for call, conn in flow.with_leaks:
                kind = conn.kind
                if kind.with_var_closes:
                    why = "closes it instead of returning it to the pool"
                else:
                    why = "only ends the transaction; it does not release the connection"
                yield self.finding(
                    call,
                    f"`with {conn.origin}` on a {kind.label} {why}; "
                    f"use {kind.safe_form_for('conn')}",
                )
            for site_index, how in sorted(flow.leaks.items()):
                site = flow.sites[site_index]
                kind = site.conn.kind
                verb = "returned to the pool" if kind.pool_release else "closed"
                if how == "exception":
                    when = f"is not {verb} if an exception is raised"
                elif how == "overwritten":
                    when = f"is overwritten while still checked out (never {verb})"
                else:
                    when = f"is not {verb} on every path"
                if kind.pool_release or site.conn.via is not None:
                    advice = f"try/finally: {release_hint(site, ctx.index)}"
                    if kind.pool_release is None:
                        advice = kind.safe_form_for(site.var)
                else:
                    advice = kind.safe_form_for(site.var)
                yield self.finding(
                    site.call,
                    f"{kind.label} `{site.var}` from `{site.conn.origin}` {when}; use {advice}",
                )

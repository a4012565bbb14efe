"""PS101 close-pooled-connection."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name
from poolsafe.analysis.flow import AcquireSite
from poolsafe.analysis.index import ProjectIndex
from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps101 import INVALID, VALID


def release_hint(site: AcquireSite, index: ProjectIndex) -> str:
    """How this checkout is given back: `pool.putconn(conn)` or the project's wrapper."""
    call = site.call
    var = site.var
    kind = site.conn.kind
    if site.conn.via is None and isinstance(call.func, cst.Attribute):
        pool = dotted_name(call.func.value)
        if pool and kind.pool_release:
            prefix = "await " if kind.is_async else ""
            return f"{prefix}{pool}.{kind.pool_release}({var})"
    if site.conn.via is not None:
        wrapper = index.release_wrapper_for(site.conn.via)
        if wrapper is not None:
            return f"{'await ' if wrapper.is_async else ''}{wrapper.name}({var})"
        return f"the pool's release for `{site.conn.via}()`"
    return f"the pool's {kind.pool_release or 'release'}()"


class ClosePooledConnection(Rule):
    """
    ## What it does
    Flags `conn.close()` (and `with conn:` / `closing(conn)` where they close) on a
    connection taken from a pool whose `close()` does not give it back:
    psycopg2's `SimpleConnectionPool`/`ThreadedConnectionPool`/`PersistentConnectionPool`
    (`getconn()`), psycopg_pool's `getconn()` (unless the pool was built with
    `close_returns=True`), and any project function that wraps either.

    ## Why is this bad?
    The pool still counts the connection as checked out. Each call loses one slot
    for good, and after `maxconn` calls every request fails with
    `connection pool exhausted` (psycopg2) or times out waiting (psycopg_pool).
    For SQLAlchemy connections and sessions and for mysql.connector pooled
    connections, `close()` *is* the release: those are not flagged.

    ## Example
    ```python
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
    finally:
        conn.close()
    ```

    ## Use instead
    ```python
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
    finally:
        pool.putconn(conn)
    ```

    ## Fix safety
    The fix replaces the `close()` with the pool's release (or the project's
    release wrapper) in a `finally`; it is safe when the pool is known.
    """

    code = "PS101"
    name = "close-pooled-connection"
    summary = "close() on a pooled connection whose close does not return it to the pool"
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        for _func, flow in ctx.flows():
            for node, site in flow.close_mistakes:
                yield self.finding(
                    node,
                    f"`close()` on a {site.conn.kind.label} from `{site.conn.origin}` does not "
                    "return it to the pool (the slot is lost); "
                    f"use {release_hint(site, ctx.index)}",
                )

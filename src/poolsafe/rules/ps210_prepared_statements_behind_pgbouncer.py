"""PS210 prepared-statements-behind-pgbouncer."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.prepared_statements import caching_calls
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.core.model import RawFinding, Severity
from poolsafe.fix.fixers.ps210_statement_cache import fix_statement_cache
from poolsafe.fix.plan.api import FixOutcome
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps210 import INVALID, VALID


class PreparedStatementsBehindPgbouncer(Rule):
    """
    ## What it does
    Flags a connection or pool that caches prepared statements when it goes
    through PgBouncer in transaction mode:
    - `asyncpg.create_pool(...)` / `asyncpg.connect(...)` without
      `statement_cache_size=0`;
    - a SQLAlchemy engine with the asyncpg dialect (`postgresql+asyncpg://`)
      without `prepared_statement_cache_size=0` (in `connect_args` or the URL's
      query);
    - psycopg 3: `psycopg.connect(...)` without `prepare_threshold=None`,
      `psycopg_pool.ConnectionPool(kwargs={...})` without it, a SQLAlchemy
      engine with `postgresql+psycopg://` without it in `connect_args`.

    The connection goes through PgBouncer in transaction mode when its URL (in
    any environment: `.env`, `.env.<name>`, `os.getenv` defaults) has port
    6432 or names a PgBouncer compose service whose `POOL_MODE` /
    `PGBOUNCER_POOL_MODE` (or `pgbouncer.ini`'s `pool_mode`) is `transaction` or
    not set; a pool mode of `session` is not reported. Port 6432 is not taken
    for PgBouncer when the project's compose file publishes a PostgreSQL
    container on host port 6432 (`ports: ["6432:5432"]`) and no PgBouncer
    service publishes it: that port is the server's. A project can say so
    itself: `[tool.poolsafe] pgbouncer = true`. Unreadable `**kwargs` are given
    the benefit of the doubt.

    ## Tests, one-shot code and processes
    Test modules are not reported: tests rarely go through the production
    PgBouncer. Scripts and servers are judged alike, as soon as their URL goes
    through PgBouncer in transaction mode.

    ## Why is this bad?
    In transaction mode, PgBouncer hands each transaction to any server
    connection. A statement prepared on one server connection does not exist on
    the next: `prepared statement "__asyncpg_stmt_1__" does not exist`,
    `prepared statement "_pg3_0" already exists` (`DuplicatePreparedStatement`),
    under load and intermittently. PgBouncer 1.21+ can track protocol-level
    prepared statements (`max_prepared_statements`), but only when configured,
    and not for every driver's naming.

    ## Example
    ```python
    pool = await asyncpg.create_pool("postgresql://app@pgbouncer:6432/app")
    ```

    ## Use instead
    ```python
    pool = await asyncpg.create_pool("postgresql://app@pgbouncer:6432/app",
                                     statement_cache_size=0)
    ```

    ## Fix safety
    The fix adds the argument that turns the cache off (`statement_cache_size=0`,
    `"prepared_statement_cache_size": 0` in `connect_args`,
    `prepare_threshold=None`). Statements are then parsed on each execution, a
    small cost; results do not change, so it is safe. Replacing a value someone
    set explicitly is unsafe.
    """

    code = "PS210"
    name = "prepared-statements-behind-pgbouncer"
    summary = "a prepared-statement cache on connections through PgBouncer in transaction mode"
    severity = Severity.WARNING
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        return fix_statement_cache(ctx, finding)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return
        for found in caching_calls(ctx.index, ctx.module):
            where = (f"`{found.key}={found.value}`" if found.holder is None
                     else f"`\"{found.key}\": {found.value}` in `{found.holder}`")
            yield self.finding(
                found.call,
                f"{found.library} caches prepared statements, and {found.bouncer.reason}: "
                "the next transaction may run on another server connection (`prepared "
                f"statement ... does not exist`); add {where}",
            )

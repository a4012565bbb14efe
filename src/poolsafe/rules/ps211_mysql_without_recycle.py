"""PS211 mysql-without-recycle."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.engines import engine_sites
from poolsafe.analysis.hand_ping import pinged_at_checkout
from poolsafe.analysis.mysql_recycle import unprotected_mysql
from poolsafe.analysis.one_shot import short_lived_engine
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.core.model import RawFinding, Severity
from poolsafe.fix.fixers.ps211_pre_ping import fix_mysql_pre_ping
from poolsafe.fix.plan.api import FixOutcome
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps211 import INVALID, VALID


class MysqlWithoutRecycle(Rule):
    """
    ## What it does
    Flags a SQLAlchemy `create_engine(...)` / `create_async_engine(...)` for
    MySQL or MariaDB (`mysql+pymysql://`, `mariadb+...`, or a MySQL driver the
    project declares) that neither pings at checkout (`pool_pre_ping=True`) nor
    recycles its connections before the server's `wait_timeout`
    (`0 < pool_recycle < wait_timeout`). `wait_timeout` is read from `my.cnf` or
    a compose `mysqld --wait-timeout=N` in the repository, else MySQL's default
    of 28800 seconds (8 hours). `pool_recycle=-1` (no recycling) and values at
    or above `wait_timeout` do not count. The engine fastapi-sqlalchemy's
    middleware builds (`app.add_middleware(DBSessionMiddleware, db_url=...,
    engine_args={...})`, which calls `create_engine(db_url, **engine_args)`) is
    judged the same way, by its `db_url` and `engine_args`, and reported at the
    call (the fix leaves it: the setting goes into the `engine_args` mapping).

    Flask-SQLAlchemy configuration is not reported: Flask-SQLAlchemy sets
    `pool_recycle=7200` for MySQL itself. Engines with `NullPool`, test modules,
    and options hidden behind an unreadable `**kwargs` are not reported.

    **PS203 and PS211.** Both are about a pooled connection that died while
    idle. For a MySQL engine with neither setting, PS211 is the one reported
    (the failure is certain: MySQL closes every connection idle for
    `wait_timeout`, every night), and PS203 stays silent on that engine, so it
    is not reported twice for one missing setting. PS203 still reports a MySQL
    engine that recycles in time but does not pre-ping (a failover or a
    restart still breaks it), and every other server database. Ignoring PS211
    therefore also silences those MySQL engines.

    A URL from the environment is judged by the repository's `.env` value for it.
    A URL built by a dialect package's own builder (`from trino.sqlalchemy import
    URL`, `snowflake.sqlalchemy.URL`) is that dialect's, also through a name it was
    bound to: a Trino or Snowflake engine is not a MySQL one because the project
    also declares a MySQL driver.

    ## Tests, one-shot code and processes
    Engines that never keep an idle connection are not reported (as for PS203):
    a bootstrap engine rebound in the same scope, one whose value is dropped where
    it is made (a driver probe: `try: create_engine("mysql+pymysql://")`), one
    disposed where it was built or handed to a project function that disposes it,
    one built and dropped in code that runs once per process (a script's
    `main()`, a CLI or Django management command, an Alembic `env.py` or
    migration, an Airflow task callable, a method only such code calls, a
    script's `__main__` block that serves nothing and hands the engine to no one
    who keeps it), one a factory returns only to such code, a module-level
    engine that nothing in the project reads, one of a module that only scripts
    import, one of a script nothing imports, and any at the top level or inside
    the functions (`run_migrations_online()`) of an Alembic environment that runs
    `context.run_migrations()` (see PS203). A factory no project
    code calls is still reported.
    Nor is an engine whose checkouts a listener of the project already tests and
    replaces when dead (a `checkout` listener raising `DisconnectionError`, an
    `engine_connect` listener running its statement again: PS203's "Hand-written
    liveness checks").

    ## Why is this bad?
    MySQL closes a connection that has been idle for `wait_timeout` seconds.
    The pool does not know: after a quiet night, the first request that checks
    the connection out fails with `MySQL server has gone away` (2006) or `Lost
    connection to MySQL server during query` (2013).

    ## Example
    ```python
    engine = create_engine("mysql+pymysql://app@db/shop", pool_size=10)
    ```

    ## Use instead
    ```python
    engine = create_engine("mysql+pymysql://app@db/shop", pool_size=10, pool_recycle=3600)
    # or pool_pre_ping=True (one round trip per checkout, also survives failovers)
    ```

    ## Fix safety
    The fix adds `pool_pre_ping=True`: one round trip per checkout, no change in
    results, and it also covers PS203 (a restart or failover), so the fixed
    engine is clean for both rules; an explicit `pool_recycle` is left as it
    was. It is safe; turning an explicit `pool_pre_ping=False` into `True` is
    unsafe, and a setting inside a `**mapping` is not fixed. `pool_recycle`
    below `wait_timeout` is the alternative when a round trip per checkout is
    too much (PS203 then still asks for pre-ping).
    """

    code = "PS211"
    name = "mysql-without-recycle"
    summary = "a MySQL engine with neither pool_recycle below wait_timeout nor pool_pre_ping"
    severity = Severity.WARNING
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        return fix_mysql_pre_ping(ctx, finding)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return
        for site in engine_sites(ctx.index, ctx.module):
            problem = unprotected_mysql(ctx.index, ctx.module, site)
            if problem is None or site.call is None:
                continue
            if short_lived_engine(ctx.index, ctx.module, site.call) is not None:
                continue  # used once and dropped: no connection idles past wait_timeout
            if pinged_at_checkout(ctx.index, ctx.module, site.call) is not None:
                continue  # a listener replaces the connection the server closed
            evidence = (f" (the project declares {site.dialect_evidence})"
                        if site.dialect_evidence else "")
            seconds = 3600 if problem.wait_timeout > 3600 else max(1, problem.wait_timeout // 2)
            yield self.finding(
                site.call,
                f"{site.label}: MySQL engine{evidence} with {problem.detail}; the first "
                "checkout after a quiet period fails with `MySQL server has gone away`; add "
                f"`pool_recycle={seconds}` or `pool_pre_ping=True`",
            )

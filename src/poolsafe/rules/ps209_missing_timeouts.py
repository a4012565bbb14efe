"""PS209 missing-timeouts (opt-in)."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.deploy_files import project_files
from poolsafe.analysis.environments import environments
from poolsafe.analysis.pool_sites import (
    PoolSite,
    connect_settings,
    module_pools,
    option_text,
    setting_str,
    target,
)
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.core.model import RawFinding, Severity
from poolsafe.knowledge.capacity import MYSQL_DIALECTS
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps209 import INVALID, VALID

#: drivers whose connect has a timeout by default (asyncpg 60 s, PyMySQL/aiomysql 10 s)
_CONNECT_DEFAULT = frozenset({"asyncpg", "pymysql", "aiomysql", "asyncmy"})


class MissingTimeouts(Rule):
    """
    ## What it does
    An opt-in checklist for server pools (PostgreSQL, MySQL): selected only by
    its code (`--select PS209`, `extend-select = ["PS209"]`) or by `ALL`, never
    by default or by a prefix. It reports a pool that lacks one of:
    - a **checkout timeout**: SQLAlchemy's `pool_timeout` (30 s by default, so
      only an explicit `None` is reported), psycopg_pool's `timeout`;
    - a **connect timeout**: `connect_timeout` in the DSN
      (`?connect_timeout=5`, `connect_timeout=5` in a libpq string) or in
      `connect_args`; drivers with a default (asyncpg 60 s, PyMySQL and
      aiomysql 10 s) have one;
    - a **statement timeout**: PostgreSQL's `statement_timeout` in the DSN's
      `options` (`-c statement_timeout=5000`), in `connect_args={"options":
      ...}` or asyncpg's `server_settings`, or asyncpg's `command_timeout`;
      MySQL's `read_timeout` or `max_execution_time`.

    The URL is read as in PS208 (constants, `os.getenv` defaults, `.env`
    files); a pool whose URL is not visible is not judged (the DSN may carry
    the settings), nor one whose options hide behind `**kwargs`.

    ## Tests, one-shot code and processes
    Test modules are not reported: a test's pool lives for one test run. Scripts
    and every process of a deployment are judged alike: a missing timeout makes
    any of them wait without end.

    ## Why is this bad?
    Without timeouts, a slow or unreachable database turns into requests that
    hang: a connect waits for the operating system's TCP timeout (minutes), a
    runaway query holds its connection (and its locks) until someone kills it,
    and a pool that cannot check out waits forever. Workers pile up behind
    them and the service stops answering instead of failing fast. It is a
    checklist item, not always a defect: some jobs run long on purpose, which
    is why the rule is off by default.

    ## Example
    ```python
    engine = create_engine("postgresql+psycopg2://app@db/app")
    ```

    ## Use instead
    ```python
    engine = create_engine(
        "postgresql+psycopg2://app@db/app",
        pool_timeout=10,
        connect_args={"connect_timeout": 5, "options": "-c statement_timeout=30000"},
    )
    ```

    ## Fix safety
    No automatic fix: the right limits depend on the workload.
    """

    code = "PS209"
    name = "missing-timeouts"
    summary = "a server pool without a checkout, connect or statement timeout (opt-in)"
    severity = Severity.WARNING
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return
        pools = [p for p in module_pools(ctx.index, ctx.module) if not p.non_pooling]
        if not pools:
            return
        envs = environments(project_files(ctx.index, ctx.module))
        for pool in pools:
            if pool.options.open:
                continue
            missing = self._missing(ctx, pool, [e.values for e in envs])
            if missing:
                yield self.finding(
                    pool.anchor,
                    f"{pool.label}: no {', no '.join(missing)}; a slow or unreachable "
                    "database makes requests hang instead of failing fast; set "
                    + ", ".join(_ADVICE[m] for m in missing),
                )

    def _missing(self, ctx: FileContext, pool: PoolSite,
                 envs: list[dict[str, str]]) -> list[str]:
        for env in envs:
            if pool.url is None or setting_str(ctx.index, pool.url, env) is None:
                continue
            where = target(ctx.index, pool, env)
            dialect = where.dialect or pool.dialect
            if dialect not in ("postgresql", *MYSQL_DIALECTS):
                return []
            text = setting_str(ctx.index, pool.url, env) or ""
            scheme = text.split("://", 1)[0] if "://" in text else ""
            driver = scheme.split("+", 1)[1] if "+" in scheme else (
                pool.library if pool.library != "sqlalchemy" else "")
            settings = connect_settings(ctx.index, pool, env, where)
            if settings.get("open"):
                return []
            missing = []
            key = "pool_timeout" if pool.library == "sqlalchemy" else "timeout"
            if pool.library in ("sqlalchemy", "psycopg_pool") and pool.options.values.get(
                    key) is not None and option_text(ctx.index, pool, key, env) == "None":
                missing.append("checkout timeout")
            if "connect_timeout" not in settings and driver not in _CONNECT_DEFAULT:
                missing.append("connect timeout")
            statement = "statement_timeout" in settings or "command_timeout" in settings
            if dialect in MYSQL_DIALECTS:
                statement = statement or "read_timeout" in settings or "max_execution_time" in (
                    option_text(ctx.index, pool, "connect_args", env) or "")
            if not statement:
                missing.append("statement timeout")
            return missing
        return []


_ADVICE = {
    "checkout timeout": "`pool_timeout` (seconds)",
    "connect timeout": "`connect_timeout` (in the DSN or `connect_args`)",
    "statement timeout": "`statement_timeout` (`options=-c statement_timeout=...`; "
                         "MySQL: `read_timeout`)",
}

"""PS208 pool-capacity-exceeds-server."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.capacity import capacity_for, may_count
from poolsafe.analysis.pool_sites import module_pools, set_lines
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.core.model import RawFinding, Severity
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps208 import INVALID, VALID


class PoolCapacityExceedsServer(Rule):
    """
    ## What it does
    Adds up the connections the project's pools can open in production and
    compares the sum with the connection limit of the server they talk to, the
    arithmetic `poolsafe capacity` shows:

        web: 2 replicas x 4 workers x (10 + 5) = 120 > 47 (db: max_connections=50 - 3 reserved)

    - the pools: SQLAlchemy engines (`pool_size + max_overflow`, defaults 5 + 10),
      Flask-SQLAlchemy configuration (only one that Flask-SQLAlchemy reads, as for
      PS203: in a project that never imports Flask-SQLAlchemy and builds its own
      engines, a settings field named `SQLALCHEMY_DATABASE_URI`, pydantic's
      `BaseSettings` say, is no engine), psycopg2, psycopg_pool, asyncpg and
      aiomysql pools, Gino's `gino.create_engine`, encode/databases'
      `Database(url, max_size=...)` (10 when not given), Django's `DATABASES` entries
      (a psycopg pool's `max_size` with `OPTIONS["pool"]`, Django 5.1;
      `"pool": True` is psycopg_pool's default of 4; without a pool one
      connection per thread: gunicorn's `--threads N` (or `threads = N` in its
      configuration) per worker, else one thread per sync worker assumed; `CONN_MAX_AGE`
      and `CONN_HEALTH_CHECKS` are shown as recycle and pre-ping), with values
      followed through constants, settings modules, `os.getenv` defaults and the
      `.env` / `.env.<name>` files (each `.env.<name>` is an environment, judged
      on its own);
    - the processes: Kubernetes `Deployment` replicas (HPA `maxReplicas`),
      docker-compose `deploy.replicas` and `command`, Procfile, Dockerfile
      `CMD`, gunicorn `-w` / `gunicorn.conf.py` / `WEB_CONCURRENCY`, uvicorn
      `--workers`, celery `--concurrency`, uwsgi `--processes` (or `workers =`
      in the `.ini` file its `--ini` names); a process opens the pools of the
      modules its entry point imports (in a repository of services that each
      have an `app` package, the importing service's own), and a Django entry point (`gunicorn
      project.wsgi`, `daphne` / `uvicorn project.asgi`, `celery -A project`) the
      settings module its `DJANGO_SETTINGS_MODULE` default names;
    - the server: `postgres -c max_connections=N` in compose, `postgresql.conf`,
      `my.cnf`, `--max-connections`, PgBouncer's `MAX_CLIENT_CONN`, else the
      documented default (PostgreSQL 100, MySQL 151), minus
      `superuser_reserved_connections` (PostgreSQL, default 3), also from a
      Kubernetes StatefulSet's `command`/`args` and images' variables
      (`POSTGRESQL_MAX_CONNECTIONS`). Pools that point at different servers are
      budgeted per server, and two pools whose host is not known are never taken
      for one server.

    It is reported at each pool (engine) line that counts towards a server over
    its limit. A number that cannot be read counts as 1, so the sum is a lower
    bound: the rule reports only when even that lower bound is over the limit.
    A compose service gets the `.env` values only through `env_file:` (compose
    reads `.env` to fill in the compose file, not into the containers), unless
    the application loads `.env` itself.

    ## Tests, one-shot code and processes
    Each program is budgeted on its own: a process opens only the pools that its
    entry point reaches through imports, and the pools of different programs
    are never added together (a folder of examples, a repository of services, a
    maintenance script beside the web application). Only the processes a
    deployment file says run at once (the services of one compose file, the
    deployments of one set of Kubernetes manifests, the lines of a Procfile)
    are added up, for the server they share. The project's own entry points
    (console scripts in `pyproject.toml`, modules with an `if __name__ ==
    "__main__":` block, `__main__.py` packages) are one process each; those no
    deployed process runs or imports (all of them, with no deployment in the
    repository) are judged alone: such a program is reported only when its own
    pools exceed the limit. So is a Procfile process type beside a compose file
    or Kubernetes manifests (which are the deployment read) whose entry point no
    deployed process runs or imports (a `celery` worker only the Procfile
    starts). A pool that no entry point reaches is counted in no
    program's budget. `poolsafe capacity` lists every entry point with the pools
    it opens. Test modules are not counted.

    A process of the deployment that runs plain `python` (a Procfile's `python -m
    worker`, a compose `command: python worker.py`), whose code (the entry module
    and every project module it imports) spells nothing that works on more
    threads or tasks (`threading`, `concurrent.futures`, `multiprocessing`,
    `asyncio` or `async def`, gevent, a server such as `app.run()` or uvicorn, a
    framework that runs callbacks on threads of its own: a bot's polling,
    APScheduler), does its database work on its one thread, one checkout at a
    time: each of its pools counts as the one connection that thread holds (or
    the pool's minimum, which psycopg2 and psycopg_pool open at start), not the
    pool's maximum. `poolsafe capacity` shows it as `1 (one thread; pool (5 +
    10))` and says why under its assumptions. One thread holding two checkouts
    of one pool at once (a nested `engine.connect()`) is not seen. `python
    manage.py ...` runs a command the entry point does not import, so its
    processes keep their pools' maxima, as do the programs judged alone (a
    script whose own pool exceeds the limit is reported as configured).
    A task queue's worker counts the same way when its command runs one task at
    a time on one thread: Celery's `--pool solo` (`-P solo`), or one child of the
    prefork (or threads) pool, `--concurrency 1` (`-c 1`, no `--autoscale`);
    dramatiq's `--threads 1` (`-t 1`, for each of its `--processes`). Its code is
    the app module's imports and, for Celery, every project module that defines
    a task (`@app.task`, `@shared_task`: the worker imports them by name) and what
    those import; the framework's own name aside, they must spell none of the
    words above (a task that maps its parts over a `ThreadPoolExecutor` keeps the
    maximum). The command says so, not a word in a queue's or a service's name:
    a `gevent` or `eventlet` pool, a `--concurrency` above 1 or given by a
    variable, keep the pool's maximum, and so does a prefork pool of several
    children (each child runs one task at a time, but the rule counts a prefork
    pool's processes at their pools' maxima as it always has). An `rq worker`
    runs one job at a time too, but its command names no module, so its pools
    are not known to the budget at all.

    ## Why is this bad?
    Pools grow under load. When every replica and worker fills its pool at the
    same time, the server refuses the connections beyond its limit
    (`FATAL: sorry, too many clients already`, `remaining connection slots are
    reserved`, MySQL's `Too many connections`) and requests fail exactly at
    peak traffic or during a rolling deploy, when old and new pods overlap.

    ## Example
    ```python
    # docker-compose.yml: web runs `gunicorn -w 4`, deploy.replicas: 2;
    # db runs `postgres -c max_connections=50`
    engine = create_engine(DATABASE_URL, pool_size=10, max_overflow=5)
    ```

    ## Use instead
    ```python
    # 2 x 4 x (4 + 2) = 48 <= 97 with max_connections=100, or put PgBouncer in front
    engine = create_engine(DATABASE_URL, pool_size=4, max_overflow=2)
    ```

    ## Fix safety
    No automatic fix: the right numbers depend on the load, the workers and the
    server; `poolsafe capacity` shows the whole budget.
    """

    code = "PS208"
    name = "pool-capacity-exceeds-server"
    summary = "the pools of all processes can open more connections than the server allows"
    severity = Severity.WARNING
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return
        mine = module_pools(ctx.index, ctx.module, lines=False)
        if not mine or not may_count(ctx.index, ctx.module, mine):
            return
        set_lines(ctx.module, mine)
        capacity = capacity_for(ctx.index, ctx.module)
        lines = {p.line for p in mine}
        for pool in capacity.pools:
            if pool.module.path != ctx.module.path or pool.line not in lines:
                continue
            over = capacity.over_budgets(pool)
            if not over:
                continue
            env, budget = over[0]
            where = "" if len(capacity.environments) == 1 else f"[{env}] "
            anchor = next(p.anchor for p in mine if p.line == pool.line)
            yield self.finding(
                anchor,
                f"{pool.label}: the pools can open more connections than "
                f"{budget.server.name} allows: {where}{budget.arithmetic()}; lower the pool "
                "sizes or the processes, raise the server's limit, or put PgBouncer in front "
                "(see `poolsafe capacity`)",
            )

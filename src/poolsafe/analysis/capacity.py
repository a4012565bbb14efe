"""The connection budget of a project: every pool, times the processes that hold
it, against the connection limit of the server it talks to, per environment.

    web: 2 replicas x 4 workers x (10 + 5) = 120 > 97

Each process group (a compose service, a Kubernetes Deployment, a Procfile line)
is assumed to open every pool of the project (module-level engines are imported
by every process); pools that point at different servers (a PgBouncer, another
database) are budgeted per server. Every number shows where it comes from; an
unknown one counts as 1 and makes the total a lower bound ("at least"), so an
over-budget verdict is never built on a guess.
"""

from __future__ import annotations

import re
import shlex
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from poolsafe.analysis.config_values import Count, known
from poolsafe.analysis.deploy_files import Problem, ProjectFiles, project_files
from poolsafe.analysis.engines import holds_no_server_slot
from poolsafe.analysis.entry_points import (
    MAIN_BLOCK,
    MAX_REACHED,
    EntryPoint,
    ImportGraph,
    project_scripts,
)
from poolsafe.analysis.environments import Environment, environments
from poolsafe.analysis.index import ProjectIndex, word_pattern
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.pool_sites import (
    PoolSite,
    PoolSize,
    Target,
    connect_settings,
    option_text,
    pool_size,
    project_pools,
    target,
)
from poolsafe.analysis.process_model import (
    Command,
    ProcessGroup,
    ProcessModel,
    ServerService,
    command_option,
    process_model,
)
from poolsafe.analysis.project_facts import is_test_module, is_test_path
from poolsafe.analysis.server_limits import (
    Server,
    ServerFiles,
    compose_server,
    default_server,
    server_files,
)
from poolsafe.core.discovery import is_script_name
from poolsafe.core.project import find_project_root
from poolsafe.knowledge.capacity import (
    CONCURRENCY_WORDS,
    DEV_SERVER_RUN,
    DOTENV_READERS,
    MYSQL_DIALECTS,
    PGBOUNCER_PORT,
)

_UNITS = {"gunicorn": "workers", "uvicorn": "workers", "hypercorn": "workers",
          "fastapi": "workers", "rq": "processes", "dramatiq": "processes",
          "granian": "workers", "celery": "processes", "daphne": "processes",
          "python": "processes"}


@dataclass
class PoolUse:
    pool: PoolSite
    size: PoolSize
    target: Target
    server: Server | None
    #: how the server was chosen, when it was assumed
    note: str = ""
    #: pre-ping, recycle and timeouts, as the report shows them
    settings: dict[str, str] = field(default_factory=dict)


@dataclass
class GroupDemand:
    group: ProcessGroup
    uses: list[PoolUse]
    #: why each process of the group runs its database work on one thread (a plain
    #: `python` worker whose code starts no thread, pool, event loop or server), or None
    one_thread: str | None = None

    @property
    def threads(self) -> Count | None:
        """The process's threads, for a pool that opens one connection per thread."""
        return self.group.command.threads

    def _size(self, use: PoolUse) -> int:
        threads = self.threads
        if use.size.per_thread and threads is not None:
            return use.size.total * threads.used
        if self.one_thread is not None and not use.size.per_thread:
            return one_thread_size(use.size)
        return use.size.total

    @property
    def per_process(self) -> int:
        return sum(self._size(u) for u in self.uses)

    @property
    def total(self) -> int:
        return self.group.replicas.used * self.group.command.processes.used * self.per_process

    @property
    def exact(self) -> bool:
        threads = self.threads
        return (self.group.replicas.known and self.group.command.processes.known
                and all(u.size.known for u in self.uses)
                and (self.one_thread is None or all(
                    u.size.minimum is None or u.size.minimum.known for u in self.uses))
                and (threads is None or threads.known
                     or not any(u.size.per_thread for u in self.uses)))

    def formula(self) -> str:
        r = self.group.replicas
        p = self.group.command.processes
        unit = _UNITS.get(self.group.command.program, "processes")
        replicas = f"{r.used}{'' if r.known else '?'} replica{'s' if r.used != 1 else ''}"
        procs = f"{p.used}{'' if p.known else '?'} {unit}"
        threads = self.threads
        sizes = [self._one_thread_formula(u) or (u.size.formula() + (
            "" if u.size.known else "?") + (
            f" x {threads.used}{'' if threads.known else '?'} threads"
            if u.size.per_thread and threads is not None else "")) for u in self.uses]
        pools = sizes[0] if len(sizes) == 1 else "(" + " + ".join(sizes) + ")"
        return f"{replicas} x {procs} x {pools} = {self.total}"

    def _one_thread_formula(self, use: PoolUse) -> str | None:
        """`1 (one thread; pool (5 + 10))`: the pool of a one-thread process."""
        if (self.one_thread is None or use.size.per_thread
                or self._size(use) == use.size.total):
            return None
        full = use.size.formula() + ("" if use.size.known else "?")
        return f"{self._size(use)} (one thread; pool {full})"


def one_thread_size(size: PoolSize) -> int:
    """The connections one thread holds of a pool (the brief's "one checkout at a
    time"): one, or the pool's minimum when it opens that many at start (psycopg2's
    `minconn`, psycopg_pool's `min_size`), never more than the pool's maximum."""
    low = size.minimum.used if size.minimum is not None else 0
    return min(size.total, max(1, low))


@dataclass
class ServerBudget:
    server: Server
    groups: list[GroupDemand]

    @property
    def demand(self) -> int:
        return sum(g.total for g in self.groups)

    @property
    def exact(self) -> bool:
        return all(g.exact for g in self.groups) and self.server.max_connections.known

    @property
    def over(self) -> bool:
        return self.demand > self.server.limit

    def arithmetic(self) -> str:
        parts = [f"{g.group.name}: {g.formula()}" for g in self.groups]
        total = "" if len(self.groups) == 1 else f"; total {self.demand}"
        cmp = ">" if self.over else "<="
        bound = "" if self.exact else " (at least: some numbers are unknown)"
        return f"{'; '.join(parts)}{total} {cmp} {self.server.limit_text()}{bound}"


@dataclass
class GroupPools:
    """Which pools one process group opens (None: not known) and how that is known."""

    group: ProcessGroup
    pools: list[PoolSite] | None
    reason: str
    #: why each process of the group does its database work on one thread, or None
    #: (`one_thread`)
    one_thread: str | None = None


@dataclass
class EnvironmentCapacity:
    environment: Environment
    model: ProcessModel
    uses: list[PoolUse]
    budgets: list[ServerBudget]
    #: the pools each process group opens
    opens: list[GroupPools] = field(default_factory=list)
    #: the programs of the project judged one by one: without a deployment, all of
    #: them; with one, the console scripts and `__main__` scripts it does not run
    programs: list[ProcessGroup] = field(default_factory=list)
    #: with a deployment: the pools each of those programs opens (without one, they
    #: are `opens`)
    alone_opens: list[GroupPools] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return any(b.over for b in self.budgets)


@dataclass
class Capacity:
    root: Path
    pools: list[PoolSite]
    environments: list[EnvironmentCapacity]
    problems: list[Problem] = field(default_factory=list)
    #: hints for the user (pools in sub-projects)
    notes: list[str] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return any(e.over for e in self.environments)

    @property
    def compared(self) -> bool:
        """Some pool's demand was compared with some server's limit: without that,
        there is no verdict, only what could not be read."""
        return any(e.budgets for e in self.environments)

    def over_budgets(self, pool: PoolSite) -> list[tuple[str, ServerBudget]]:
        """The over-budget servers `pool` counts towards, per environment."""
        out = []
        for env in self.environments:
            for budget in env.budgets:
                if budget.over and any(u.pool is pool for g in budget.groups for u in g.uses):
                    out.append((env.environment.name, budget))
        return out


# ------------------------------------------------------------------- build
@dataclass
class _Setting:
    """What a project's budget is judged against, before any pool is read: the
    servers' files, the environments, the import graph, and per environment its
    process model, the process groups judged (the deployment's, else the project's
    programs) and whether they are the deployment's."""

    conf: ServerFiles
    envs: list[Environment]
    graph: ImportGraph
    #: (model, the groups judged, those of them judged each on its own)
    frames: list[tuple[ProcessModel, list[ProcessGroup], list[ProcessGroup]]]
    dotenv: bool


#: the attribute of an index that holds its settings by project root: on the index,
#: not in a table keyed by it, since a setting's import graph refers to the index
#: (a value of a `WeakKeyDictionary` that refers to its key keeps it alive)
_SETTINGS = "_capacity_settings"


def _setting(index: ProjectIndex, files: ProjectFiles) -> _Setting:
    """The setting of `files`' project, made once per index and project root."""
    per_root: dict[Path, _Setting] = index.derived(_SETTINGS, dict)
    found = per_root.get(files.root)
    if found is None:
        conf = server_files(files)
        envs = environments(files)
        graph = ImportGraph(index, files.root)
        frames = []
        scripts: list[ProcessGroup] | None = None
        for env in envs:
            model = process_model(files, env.values)
            if scripts is None:
                scripts = script_groups(index, files, graph)
            if not model.groups:
                frames.append((model, scripts, scripts))
                continue
            # the project's own programs the deployment does not run (a maintenance
            # script, a console script, a Procfile's worker beside a compose file
            # that runs only the web service): each is a process of its own, judged
            # alone
            alone = _undeployed(graph, model.groups, scripts + model.procfile)
            frames.append((model, model.groups + alone, alone))
        found = per_root[files.root] = _Setting(conf, envs, graph, frames,
                                                _loads_dotenv(index))
    return found


def compute_capacity(index: ProjectIndex, files: ProjectFiles) -> Capacity:
    pools = [p for p in project_pools(index) if _in_project(p.module, files)]
    setting = _setting(index, files)
    out = Capacity(files.root, pools, [])
    for env, frame in zip(setting.envs, setting.frames, strict=True):
        out.environments.append(_environment(index, setting, env, frame, pools))
    out.problems = list(files.problems)
    return out


def _in_project(module: ModuleInfo, files: ProjectFiles) -> bool:
    if files.virtual is not None:
        return True
    try:
        return find_project_root(module.abspath) == files.root
    except OSError:
        return False


def _merged(group: ProcessGroup, env: Environment, dotenv: bool) -> dict[str, str]:
    """The variables a process of `group` sees: a compose service that reads no `.env`
    gets only its own (unless the application loads `.env` itself)."""
    return dict(group.env) if group.isolated and not dotenv else {**env.values, **group.env}


def _environment(index: ProjectIndex, setting: _Setting, env: Environment,
                 frame: tuple[ProcessModel, list[ProcessGroup], list[ProcessGroup]],
                 pools: list[PoolSite]) -> EnvironmentCapacity:
    model, groups, alone = frame
    deployed = bool(model.groups)
    registry: dict[str, Server] = {}
    budgets: dict[str, ServerBudget] = {}
    opens: list[GroupPools] = []
    for group in groups:
        # a program judged alone (a script, a console script) keeps its pools'
        # maxima: the deployment's workers are counted as they run
        opened = group_pools(setting.graph, group, pools,
                             deployed and not any(group is g for g in alone))
        opens.append(opened)
        if opened.pools is None:
            continue
        merged = _merged(group, env, setting.dotenv)
        per_server: dict[str, list[PoolUse]] = {}
        for pool in opened.pools:
            if pool.non_pooling:
                continue
            use = pool_use(index, pool, merged, model.servers, setting.conf, registry)
            if use.server is not None:
                per_server.setdefault(use.server.name, []).append(use)
        for name, uses in per_server.items():
            uses = _one_config_class(uses)
            # without a deployment, each program is judged on its own: scripts and
            # examples do not all run at once
            key = f"{name}\0{group.name}" if any(group is g for g in alone) else name
            budget = budgets.setdefault(key, ServerBudget(registry[name], []))
            budget.groups.append(GroupDemand(group, uses, opened.one_thread))
    first_uses = [pool_use(index, pool, env.values, model.servers, setting.conf, {})
                  for pool in pools if not pool.non_pooling]
    if not deployed:
        return EnvironmentCapacity(env, model, first_uses, list(budgets.values()), opens,
                                   alone)
    return EnvironmentCapacity(env, model, first_uses, list(budgets.values()),
                               opens[:len(model.groups)], alone, opens[len(model.groups):])


def _undeployed(graph: ImportGraph, deployed: list[ProcessGroup],
                scripts: list[ProcessGroup]) -> list[ProcessGroup]:
    """The scripts whose own module no deployed process group starts from or
    imports: programs of their own (an app module's `__main__` block that runs a
    development server is the deployed program's code, not another program)."""
    reached: set[Path] = set()
    for group in deployed:
        entry = group.command.entry
        if entry is None:
            return []  # (what the deployment runs is not known: nothing is added)
        starts, _ = graph.resolve(entry)
        reached |= graph.reach(starts)
    out = []
    for script in scripts:
        entry = script.command.entry
        starts = graph.resolve(entry)[0] if entry is not None else []
        if starts and not any(p in reached for p in starts):
            out.append(script)
    return out


def may_count(index: ProjectIndex, module: ModuleInfo, mine: list[PoolSite]) -> bool:
    """Whether a pool of `mine` (the pools of `module`) may count towards some
    server's budget, told without reading the project's other pools: a pool counts
    only in a process group whose entry point reaches its module (`group_pools`),
    and only when, with that group's variables, it talks to a server
    (`_server_for`). False means that `capacity_for(index, module).over_budgets(p)`
    is empty for each of them, so PS208 has nothing to say about `module` and the
    project's pools are not read (a check of one file after an edit)."""
    files = project_files(index, module)
    if files.root in _CACHE.get(index, {}):
        return True  # (computed already: nothing to save)
    pools = [p for p in mine if not p.non_pooling]
    if not pools or not _in_project(module, files):
        return False
    setting = _setting(index, files)
    for env, (model, groups, _) in zip(setting.envs, setting.frames, strict=True):
        for group in groups:
            if group.command.entry is None:
                continue  # (`group_pools`: no pool is known to be opened)
            merged = _merged(group, env, setting.dotenv)
            # whether a server is found does not depend on the registry (it only
            # shares the servers made); the server first: the import graph costs more
            talking = [p for p in pools if _server_for(
                target(index, p, merged), model.servers, setting.conf, {}, p)[0] is not None]
            if talking and group_pools(setting.graph, group, talking).pools:
                return True
    return False


def _one_config_class(uses: list[PoolUse]) -> list[PoolUse]:
    """Flask config classes of one module are alternatives (`Config`,
    `ProductionConfig`, `TestingConfig`): a process loads one of them, so only the
    largest counts, not their sum."""
    best: dict[str, PoolUse] = {}
    out: list[PoolUse] = []
    for u in uses:
        site = u.pool.engine
        if site is not None and site.from_config and u.pool.label.startswith("config class"):
            key = u.pool.module.path
            if key not in best or u.size.total > best[key].size.total:
                best[key] = u
        else:
            out.append(u)
    return out + list(best.values())


def _loads_dotenv(index: ProjectIndex) -> bool:
    """The application reads `.env` itself (python-dotenv, pydantic settings'
    `env_file`): its values reach every process, whatever compose passes."""
    with index.full_resolution():
        return bool(index.modules_mentioning(DOTENV_READERS))


def group_pools(graph: ImportGraph, group: ProcessGroup,
                pools: list[PoolSite], deployed: bool = False) -> GroupPools:
    """The pools a process group opens: those in the modules its entry point reaches
    through imports; None when its entry point is not known. For a group of the
    deployment (`deployed`), also whether its processes work on one thread."""
    entry = group.command.entry
    if entry is None:
        return GroupPools(group, None, "the command names no module poolsafe can follow")
    starts, missing = graph.resolve(entry)
    if missing or not starts:
        what = ", ".join(f"`{m}`" for m in (missing or list(entry.targets)))
        return GroupPools(group, None, f"{what} not found (or not one file) in the project")
    reached = graph.reach(starts)
    return GroupPools(group, [p for p in pools if p.module.abspath in reached],
                      f"imports from {entry.text()}",
                      one_thread(graph, group, reached) if deployed else None)


_CONCURRENT = re.compile(word_pattern(CONCURRENCY_WORDS).pattern + b"|" + DEV_SERVER_RUN.encode())
#: the words of a task queue's own worker, which its command (`--pool solo`) settles
_WORKER_WORDS: dict[str, frozenset[str]] = {
    "celery": frozenset({"celery"}), "dramatiq": frozenset({"dramatiq"})}
#: where Celery tasks are defined (`@app.task`, `@celery.task(...)`, `@shared_task`):
#: the worker imports them by name (`include=`, `autodiscover_tasks()`), not through
#: the app module's imports
_CELERY_TASKS = re.compile(rb"@(?:[\w.]+\.)?task\b|\bshared_task\b")


def one_thread(graph: ImportGraph, group: ProcessGroup, reached: set[Path]) -> str | None:
    """Why each process of `group` does its database work on one thread, or None
    when that is not shown: a plain `python` process (a Procfile's `python -m
    worker`, a script, a console script) whose entry point and every project module
    it imports (`reached`) spell nothing that runs work on more threads or tasks
    (`CONCURRENCY_WORDS`: a thread or process pool, an event loop, green threads, a
    server, a framework's callback threads; `app.run()`). Such a process holds one
    connection of each pool at a time, not the pool's maximum. `manage.py` runs a
    management command it does not import, so it is never shown.
    A task queue's worker whose command runs one task at a time on one thread
    (`_one_task_at_a_time`: Celery's `--pool solo`, or one child, `--concurrency 1`;
    dramatiq's `--threads 1`) is judged the same way, over its entry's modules and,
    for Celery, every module that defines a task (and what those import), its own
    framework's name aside."""
    command = group.command
    entry = command.entry
    if entry is None or not reached:
        return None
    pattern = _CONCURRENT
    why = "starts no thread, process pool, event loop or server"
    if command.program in _WORKER_WORDS:
        how = _one_task_at_a_time(command)
        if how is None:
            return None
        own = _WORKER_WORDS[command.program]
        pattern = re.compile(word_pattern(
            tuple(w for w in CONCURRENCY_WORDS if w not in own)).pattern
            + b"|" + DEV_SERVER_RUN.encode())
        why = f"runs one task at a time on one thread ({how}) and {why}"
        if command.program == "celery":
            reached = reached | graph.reach_files(
                (p, src) for p, src in graph.index.files_matching(_CELERY_TASKS)
                if not is_test_path(graph.relative(p)))
    elif command.program != "python":
        return None
    if len(reached) >= MAX_REACHED or any(
            graph.relative(p).rsplit("/", 1)[-1] == "manage.py" for p in reached):
        return None
    for path in reached:
        if pattern.search(graph.source(path).encode("utf-8", "replace")):
            return None
    return (f"`{command.text}` is one Python process whose code ({len(reached)} project "
            f"module(s)) {why}: one connection of each pool at a time")


def _one_task_at_a_time(command: Command) -> str | None:
    """The option of a Celery or dramatiq worker command that makes each of its
    processes run one task at a time on one thread, or None: Celery's `--pool solo`
    (`-P solo`: the main thread runs the tasks), or one child of the prefork (or
    threads) pool (`--concurrency 1`, `-c 1`; no `--autoscale`); dramatiq's
    `--threads 1` (`-t 1`: one worker thread per process, `--processes` of them). A
    `gevent` or `eventlet` pool runs many tasks at once; a count that is not the
    literal 1 (a variable) is not read as one."""
    try:
        argv = shlex.split(command.text)
    except ValueError:
        return None
    at = next((i for i, t in enumerate(argv) if t.rsplit("/", 1)[-1] == command.program), None)
    if at is None:
        return None
    args = argv[at + 1:]
    if command.program == "celery":
        if "worker" not in args or command_option(args, ("--autoscale",)) is not None:
            return None
        pool = command_option(args, ("-P", "--pool"))
        if pool == "solo":
            return "`--pool solo`"
        concurrency = command_option(args, ("-c", "--concurrency"))
        if pool in (None, "prefork", "threads") and concurrency == "1":
            return "`--concurrency 1`"
        return None
    if command_option(args, ("-t", "--threads")) == "1":
        return "`--threads 1`"
    return None


def script_groups(index: ProjectIndex, files: ProjectFiles,
                  graph: ImportGraph) -> list[ProcessGroup]:
    """Without a deployment, the programs the project itself names: its console
    scripts and its modules with a `__main__` block (one process each)."""
    out: list[ProcessGroup] = []
    for name, module in sorted(files.console_scripts().items()):
        where = f"pyproject.toml: console script `{name}`"
        out.append(ProcessGroup(name, where, Command(
            "python", known(1, f"{where}: one process"), name, EntryPoint((module,))),
            known(1, "one run of the program")))
    with index.full_resolution():
        # read by bytes: only the scripts are parsed, not every module (nor those
        # known to parse)
        paths = [m.abspath for m in index.module_paths_matching(MAIN_BLOCK)
                 if not is_test_module(m)]
        paths += [p for p, _ in index.module_files("__main__") if p not in paths]
        # a script without a suffix whose shebang runs Python (`bin/nightly-report`)
        paths += [m.abspath for m in project_scripts(index) if m.abspath not in paths]
    for path in paths:
        rel = graph.relative(path)
        if is_test_path(rel):
            continue
        where = rel if rel.endswith("__main__.py") or is_script_name(path.name) else (
            f"{rel}: `if __name__ == \"__main__\"`")
        out.append(ProcessGroup(rel, where, Command(
            "python", known(1, f"{where}: one process"), f"python {rel}",
            EntryPoint((rel,))), known(1, "one run of the program")))
    return out


def pool_use(index: ProjectIndex, pool: PoolSite, env: Mapping[str, str],
             services: list[ServerService], conf: ServerFiles,
             registry: dict[str, Server]) -> PoolUse:
    size = pool_size(index, pool, env)
    where = target(index, pool, env)
    server, note = _server_for(where, services, conf, registry, pool)
    return PoolUse(pool, size, where, server, note, _settings(index, pool, env, where))


def _settings(index: ProjectIndex, pool: PoolSite, env: Mapping[str, str],
              where: Target) -> dict[str, str]:
    out: dict[str, str] = {}
    if pool.library == "sqlalchemy":
        for key, name in (("pool_pre_ping", "pre_ping"), ("pool_recycle", "recycle"),
                          ("pool_timeout", "pool_timeout")):
            text = option_text(index, pool, key, env)
            if text is not None:
                out[name] = text
    elif pool.library == "psycopg_pool":
        for key, name in (("timeout", "pool_timeout"), ("max_lifetime", "recycle")):
            text = option_text(index, pool, key, env)
            if text is not None:
                out[name] = text
    elif pool.library == "django":
        # CONN_HEALTH_CHECKS pings a persistent connection before reusing it;
        # CONN_MAX_AGE is how long Django keeps it between requests (seconds)
        for key, name in (("CONN_HEALTH_CHECKS", "pre_ping"), ("CONN_MAX_AGE", "recycle")):
            text = option_text(index, pool, key, env)
            if text is not None:
                out[name] = text
    elif pool.library in ("asyncpg", "aiomysql"):
        text = option_text(index, pool, "max_inactive_connection_lifetime", env) or (
            option_text(index, pool, "pool_recycle", env))
        if text is not None:
            out["recycle"] = text
    out.update(connect_settings(index, pool, env, where))
    return out


def _server_for(t: Target, services: list[ServerService], conf: ServerFiles,
                registry: dict[str, Server], pool: PoolSite) -> tuple[Server | None, str]:
    dialect = t.dialect
    if holds_no_server_slot(dialect):
        return None, f"{dialect}: no server"
    if dialect is not None and " or " in dialect:
        dialect = None
    if dialect in MYSQL_DIALECTS:
        dialect = "mysql"
    by_name = {s.name: s for s in services}
    note = ""
    service: ServerService | None = None
    kind = dialect
    host = t.host.split(".", 1)[0] if t.host is not None else None
    if t.host is not None and t.host in by_name:
        service = by_name[t.host]
    elif host is not None and host in by_name:  # a Kubernetes service's full name
        service = by_name[host]
    elif t.port == PGBOUNCER_PORT or (t.host is not None and "pgbouncer" in t.host.lower()):
        kind = "pgbouncer"
        bouncers = [s for s in services if s.kind == "pgbouncer"]
        service = bouncers[0] if len(bouncers) == 1 else None
    else:
        same = [s for s in services if s.kind == dialect] if dialect else [
            s for s in services if s.kind != "pgbouncer"]
        if len(same) == 1:
            service = same[0]
            if t.host is None:
                note = f"host not known: the compose service `{service.name}` assumed"
            elif t.host not in ("localhost", "127.0.0.1", "::1"):
                note = f"host `{t.host}`: the compose service `{service.name}` assumed"
    if service is not None:
        if service.name not in registry:
            registry[service.name] = compose_server(service, conf)
        return registry[service.name], note
    if kind is None:
        return None, "the database is not known (URL not visible, no driver declared)"
    label = {"postgresql": "PostgreSQL server", "mysql": "MySQL server",
             "pgbouncer": "PgBouncer"}.get(kind, f"{kind} server")
    # a server whose host is not known is this pool's own: two such pools may talk to
    # different servers, so they are never added up as one
    name = t.host or f"{label} (URL of {pool.where})"
    if kind not in ("postgresql", "mysql", "pgbouncer"):
        return None, f"{kind}: no documented connection limit"
    if name not in registry:
        registry[name] = default_server(kind, name, conf)
    return registry[name], note


# -------------------------------------------------- shared with the rules
_CACHE: weakref.WeakKeyDictionary[ProjectIndex, dict[Path, Capacity]] = (
    weakref.WeakKeyDictionary())


def capacity_for(index: ProjectIndex, module: ModuleInfo) -> Capacity:
    """The capacity of `module`'s project, computed once per index and project."""
    files = project_files(index, module)
    per_root = _CACHE.setdefault(index, {})
    found = per_root.get(files.root)
    if found is None:
        found = compute_capacity(index, files)
        per_root[files.root] = found
    return found


def count_text(c: Count) -> str:
    return f"{c.used}" if c.known else f"{c.used}? ({c.source})"

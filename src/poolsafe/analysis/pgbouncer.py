"""Whether a connection goes through PgBouncer in transaction mode (PS210): the
URL's port is 6432 (unless a compose PostgreSQL service, and no PgBouncer,
publishes host port 6432) or its host is a PgBouncer compose service (in an
environment of the project), and the pool mode is `transaction` or not set otherwise (compose
`POOL_MODE` / `PGBOUNCER_POOL_MODE`, `pgbouncer.ini`); or the project says so
with `[tool.poolsafe] pgbouncer = true`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from poolsafe.analysis.deploy_files import ProjectFiles, project_files
from poolsafe.analysis.environments import Environment, environments
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.pool_sites import parse_target, setting_str
from poolsafe.analysis.process_model import ServerService, process_model
from poolsafe.analysis.resolution import Bound
from poolsafe.analysis.server_limits import server_files
from poolsafe.knowledge.capacity import PGBOUNCER_PORT


@dataclass(frozen=True)
class Bouncer:
    #: why the connection is taken to go through PgBouncer in transaction mode
    reason: str
    #: the URL's scheme in that environment (`postgresql+asyncpg`), when known
    scheme: str | None


@dataclass
class _Project:
    files: ProjectFiles
    envs: list[Environment]
    services: dict[str, list[ServerService]]
    ini_mode: str | None
    declared: bool


_MEMO: weakref.WeakKeyDictionary[ProjectIndex, dict[str, _Project]] = (
    weakref.WeakKeyDictionary())


def _project(index: ProjectIndex, module: ModuleInfo) -> _Project:
    files = project_files(index, module)
    memo = _MEMO.setdefault(index, {})
    key = str(files.root)
    if key not in memo:
        envs = environments(files)
        services = {e.name: process_model(files, e.values).servers for e in envs}
        conf = server_files(files)
        memo[key] = _Project(files, envs, services,
                             conf.pool_mode[0] if conf.pool_mode else None, _declared(files))
    return memo[key]


def _declared(files: ProjectFiles) -> bool:
    """`[tool.poolsafe] pgbouncer = true` in the project's pyproject.toml."""
    return files.poolsafe_settings().get("pgbouncer") is True


def _plain_server_publishes(services: list[ServerService], port: int) -> bool:
    """A PostgreSQL compose service (not PgBouncer) publishes host port `port`
    (`ports: ["6432:5432"]`), and no PgBouncer service publishes it."""
    def host_ports(service: ServerService) -> set[int]:
        out: set[int] = set()
        for spec in service.ports:
            parts = spec.split("/")[0].split(":")
            if len(parts) >= 2 and parts[-2].isdigit():
                out.add(int(parts[-2]))  # [ip:]host:container
        return out

    plain = any(s.kind == "postgresql" and port in host_ports(s) for s in services)
    bouncer = any(s.kind == "pgbouncer" and port in host_ports(s) for s in services)
    return plain and not bouncer


def behind_pgbouncer(index: ProjectIndex, module: ModuleInfo,
                     url: Bound | None) -> Bouncer | None:
    """The reason `url` reaches PgBouncer in transaction mode in some environment,
    with the URL's scheme there; None when it does not in any."""
    project = _project(index, module)
    scheme = None
    for env in project.envs:
        text = setting_str(index, url, env.values) if url is not None else None
        if text is None:
            continue
        if "://" in text:
            scheme = text.split("://", 1)[0].lower()
        t = parse_target(text, None)
        bouncers = {s.name: s for s in project.services.get(env.name, [])
                    if s.kind == "pgbouncer"}
        service = bouncers.get(t.host or "")
        if service is None and t.port != PGBOUNCER_PORT:
            continue
        if service is None and _plain_server_publishes(
                project.services.get(env.name, []), PGBOUNCER_PORT):
            # compose maps host port 6432 to a PostgreSQL container (`"6432:5432"`,
            # to keep clear of a local server on 5432), and no PgBouncer publishes it:
            # the port is that server's
            continue
        mode = None
        if service is not None:
            mode = service.env.get("POOL_MODE") or service.env.get("PGBOUNCER_POOL_MODE")
        mode = (mode or project.ini_mode or "").lower() or None
        if mode is not None and mode != "transaction":
            continue
        where = f"the compose service `{service.name}`" if service is not None else (
            f"port {PGBOUNCER_PORT}")
        label = "" if len(project.envs) == 1 else f" in {env.name}"
        how = "in transaction mode" if mode == "transaction" else (
            "(its pool mode is not set in the repository; transaction mode assumed)")
        return Bouncer(f"the URL{label} reaches PgBouncer at {where} {how}", scheme)
    if project.declared:
        return Bouncer("the project declares `[tool.poolsafe] pgbouncer = true`", scheme)
    return None

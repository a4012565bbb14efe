"""The connection limit of each database server a project talks to: `postgres -c
max_connections=N` (compose `command`), `mysqld --max-connections N`, a
`postgresql.conf` / `my.cnf` / `pgbouncer.ini` in the repository, PgBouncer's
`MAX_CLIENT_CONN` in compose, or the documented default (PostgreSQL 100, MySQL
151, PgBouncer 100), minus PostgreSQL's `superuser_reserved_connections` (3).

Also what PS210 and PS211 need to know about the servers: PgBouncer's pool mode,
MySQL's `wait_timeout`.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from dataclasses import dataclass, field

from poolsafe.analysis.config_values import Count, known, parse_int, unknown
from poolsafe.analysis.deploy_files import ProjectFiles
from poolsafe.analysis.process_model import ServerService
from poolsafe.knowledge.capacity import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_RESERVED,
    MYSQL_DEFAULT_WAIT_TIMEOUT,
    SERVER_FLAGS_ENV,
    SERVER_LIMIT_ENV,
)


@dataclass
class Server:
    #: how the report names it: the compose service, or the URL's host
    name: str
    kind: str  # postgresql, mysql, pgbouncer
    max_connections: Count
    reserved: Count
    #: PgBouncer's pool mode (`transaction`, `session`), when it is set
    pool_mode: str | None = None
    wait_timeout: Count = field(default_factory=lambda: known(
        MYSQL_DEFAULT_WAIT_TIMEOUT, f"MySQL's default wait_timeout ({MYSQL_DEFAULT_WAIT_TIMEOUT})"))
    #: the compose service names and hosts that reach it
    hosts: frozenset[str] = frozenset()

    @property
    def limit(self) -> int:
        return self.max_connections.used - self.reserved.used

    def limit_text(self) -> str:
        if self.reserved.used:
            return (f"{self.limit} ({self.name}: max_connections={self.max_connections.used} "
                    f"- {self.reserved.used} reserved)")
        label = "max_client_conn" if self.kind == "pgbouncer" else "max_connections"
        return f"{self.limit} ({self.name}: {label}={self.max_connections.used})"


# ------------------------------------------------------------ command lines
def _flag(argv: list[str], *names: str) -> str | None:
    """`--name=V`, `--name V`, and PostgreSQL's `-c name=V` / `-cname=V`."""
    found = None
    for i, arg in enumerate(argv):
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        for name in names:
            dashed = name.replace("_", "-")
            for spelled in {name, dashed}:
                if arg in (f"--{spelled}",) and nxt:
                    found = nxt
                elif arg.startswith(f"--{spelled}="):
                    found = arg.split("=", 1)[1]
                elif arg == "-c" and nxt.startswith(f"{spelled}="):
                    found = nxt.split("=", 1)[1]
                elif arg.startswith(f"-c{spelled}="):
                    found = arg.split("=", 1)[1]
    return found


def _count(value: str | None, where: str, what: str) -> Count | None:
    if value is None:
        return None
    n = parse_int(value)
    if n is None:
        return unknown(f"{where}: `{what}={value}` is not a number")
    return known(n, f"{where}: `{what}={n}`")


def _default_max(kind: str) -> Count:
    n = DEFAULT_MAX_CONNECTIONS[kind]
    label = {"postgresql": "PostgreSQL", "mysql": "MySQL", "pgbouncer": "PgBouncer"}[kind]
    what = "max_client_conn" if kind == "pgbouncer" else "max_connections"
    return known(n, f"{label}'s default {what} ({n}); not set in the repository")


def _default_reserved(kind: str) -> Count:
    n = DEFAULT_RESERVED[kind]
    if kind == "postgresql":
        return known(n, f"PostgreSQL's default superuser_reserved_connections ({n})")
    return known(n, "none reserved")


# ------------------------------------------------------- configuration files
@dataclass
class ServerFiles:
    """Settings from configuration files in the repository, per server kind."""

    settings: dict[str, dict[str, Count]] = field(default_factory=dict)
    pool_mode: tuple[str, str] | None = None


def server_files(files: ProjectFiles) -> ServerFiles:
    out = ServerFiles()
    for rel in files.named("postgresql.conf"):
        text = files.read(rel)
        if text is not None:
            _postgresql_conf(text, rel, out)
    # a Kubernetes ConfigMap that carries the file (`data: {postgresql.conf: ...}`)
    from poolsafe.analysis.process_model import yaml_documents

    for rel in files.yaml_files():
        text = files.read(rel)
        if text is None or "ConfigMap" not in text or "postgresql.conf" not in text:
            continue
        for doc in yaml_documents(files, rel):
            if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap":
                continue
            data = doc.get("data")
            for key, value in (data.items() if isinstance(data, dict) else []):
                if str(key).endswith("postgresql.conf") and isinstance(value, str):
                    _postgresql_conf(value, f"{rel}: ConfigMap data {key}", out)
    for rel in [p for p in files.listing() if p.endswith(".cnf")]:
        parsed = _ini(files, rel)
        if parsed is None:
            continue
        for section in ("mysqld", "mariadb", "server", "mariadbd"):
            if not parsed.has_section(section):
                continue
            for key in ("max_connections", "wait_timeout"):
                for spelled in (key, key.replace("_", "-")):
                    raw = parsed.get(section, spelled, fallback="") or None
                    found = _count(raw, f"{rel} [{section}]", key)
                    if found is not None:
                        out.settings.setdefault("mysql", {})[key] = found
    for rel in files.named("pgbouncer.ini"):
        parsed = _ini(files, rel)
        if parsed is None or not parsed.has_section("pgbouncer"):
            continue
        found = _count(parsed.get("pgbouncer", "max_client_conn", fallback="") or None,
                       f"{rel} [pgbouncer]", "max_client_conn")
        if found is not None:
            out.settings.setdefault("pgbouncer", {})["max_connections"] = found
        mode = parsed.get("pgbouncer", "pool_mode", fallback="")
        if mode:
            out.pool_mode = (mode.strip().lower(), f"{rel} [pgbouncer] pool_mode")
    return out


def _postgresql_conf(text: str, where: str, out: ServerFiles) -> None:
    for n, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.split("#", 1)[0].partition("=")
        key, value = key.strip(), value.strip().strip("'\"")
        if sep and key in ("max_connections", "superuser_reserved_connections"):
            found = _count(value, f"{where}:{n}", key)
            if found is not None:
                out.settings.setdefault("postgresql", {})[key] = found


def _ini(files: ProjectFiles, rel: str) -> configparser.ConfigParser | None:
    text = files.read(rel)
    if text is None:
        return None
    parser = configparser.ConfigParser(allow_no_value=True, strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        files.note(rel, f"not read: {str(exc).splitlines()[0]}")
        return None
    return parser


# ------------------------------------------------------------------ servers
def compose_server(service: ServerService, conf: ServerFiles) -> Server:
    kind = service.kind
    where = service.where
    from_files = conf.settings.get(kind, {})
    if kind == "pgbouncer":
        env = service.env
        raw = env.get("MAX_CLIENT_CONN") or env.get("PGBOUNCER_MAX_CLIENT_CONN")
        max_c = _count(raw, where, "MAX_CLIENT_CONN") or from_files.get(
            "max_connections") or _default_max(kind)
        mode = (env.get("POOL_MODE") or env.get("PGBOUNCER_POOL_MODE") or (
            conf.pool_mode[0] if conf.pool_mode else None))
        return Server(service.name, kind, max_c, _default_reserved(kind),
                      pool_mode=mode.lower() if mode else None,
                      hosts=frozenset({service.name}))
    argv = [*service.command, *_extra_flags(service)]
    max_c = (_count(_flag(argv, "max_connections"), where, "max_connections")
             or _count(_short_n(argv) if kind == "postgresql" else None, where,
                       "max_connections")
             or _limit_env(service) or from_files.get("max_connections")
             or _default_max(kind))
    reserved = _default_reserved(kind)
    if kind == "postgresql":
        reserved = (_count(_flag(argv, "superuser_reserved_connections"), where,
                           "superuser_reserved_connections")
                    or from_files.get("superuser_reserved_connections") or reserved)
    server = Server(service.name, kind, max_c, reserved, hosts=frozenset({service.name}))
    if kind == "mysql":
        wait = _count(_flag(argv, "wait_timeout"), where, "wait_timeout") or from_files.get(
            "wait_timeout")
        if wait is not None:
            server.wait_timeout = wait
    return server


def _extra_flags(service: ServerService) -> list[str]:
    """The server flags an image reads from its environment (`MYSQL_EXTRA_FLAGS`)."""
    out: list[str] = []
    for var in SERVER_FLAGS_ENV.get(service.kind, ()):
        value = service.env.get(var)
        if value:
            out.extend(value.split())
    return out


def _short_n(argv: list[str]) -> str | None:
    """`postgres -N 300`: PostgreSQL's own short form of max_connections."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "-N" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("-N") and arg[2:].isdigit():
            found = arg[2:]
    return found


def _limit_env(service: ServerService) -> Count | None:
    """`POSTGRESQL_MAX_CONNECTIONS: 300` in the environment of an image that reads it."""
    for var in SERVER_LIMIT_ENV.get(service.kind, ()):
        value = service.env.get(var)
        if value is not None:
            return _count(value, f"{service.where}: `{var}`", "max_connections")
    return None


def default_server(kind: str, name: str, conf: ServerFiles) -> Server:
    """A server the repository does not run: its files' settings or the defaults."""
    from_files = conf.settings.get(kind, {})
    server = Server(name, kind, from_files.get("max_connections") or _default_max(kind),
                    from_files.get("superuser_reserved_connections") or _default_reserved(kind),
                    hosts=frozenset({name}))
    if kind == "mysql" and "wait_timeout" in from_files:
        server.wait_timeout = from_files["wait_timeout"]
    if kind == "pgbouncer" and conf.pool_mode is not None:
        server.pool_mode = conf.pool_mode[0]
    return server


def env_flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")

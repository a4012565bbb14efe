"""How many processes run the application, from the repository: Kubernetes
`Deployment`s (and `HorizontalPodAutoscaler` `maxReplicas`), docker-compose services
(`deploy.replicas`, `command`), Procfile lines, the Dockerfile's `CMD`/`ENTRYPOINT`,
and the process managers they start (gunicorn `-w` / `gunicorn.conf.py` /
`WEB_CONCURRENCY`, uvicorn `--workers`, celery `--concurrency`, uwsgi `--processes`
or its `.ini` file's `workers`).

Each pool lives in a process, so a process group holds `replicas x processes`
copies of every pool. YAML is read with PyYAML (`safe_load_all`), command lines
with `shlex`, Python configuration with `ast`.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from poolsafe.analysis.config_values import (
    Count,
    interpolate,
    known,
    parse_int,
    python_settings,
    unknown,
)
from poolsafe.analysis.deploy_files import ProjectFiles, iter_lines
from poolsafe.analysis.entry_points import EntryPoint, command_entry
from poolsafe.analysis.uwsgi import UwsgiCommand
from poolsafe.knowledge.capacity import (
    INFRASTRUCTURE_IMAGES,
    SERVER_IMAGES,
    WEB_CONCURRENCY,
    WORKER_OPTIONS,
)

_GUNICORN_CONFIGS = ("gunicorn.conf.py", "gunicorn_conf.py", "gunicorn_config.py",
                     "gunicorn.py")
#: programs that start the real command (`exec`, `poetry run`, `tini --`, ...)
_WRAPPERS = frozenset({"exec", "env", "tini", "dumb-init", "ddtrace-run", "newrelic-admin",
                       "run-program", "opentelemetry-instrument", "poetry", "pipenv", "uv",
                       "pdm", "hatch", "run", "--", "nice", "gosu", "su-exec", "python",
                       "python3", "-m"})
_SHELLS = frozenset({"sh", "bash", "/bin/sh", "/bin/bash", "ash", "/bin/ash"})


@dataclass(frozen=True)
class Command:
    """What a command line starts: the program and how many processes hold pools."""

    program: str
    processes: Count
    text: str
    #: the module (or script) the processes start from, when the command names one
    entry: EntryPoint | None = None
    #: threads per process that serve requests (gunicorn `--threads`), when given:
    #: Django without a pool opens one connection per thread
    threads: Count | None = None


@dataclass
class ProcessGroup:
    name: str
    #: where it is declared: `docker-compose.yml: services.web`
    where: str
    command: Command
    replicas: Count
    #: the service's own environment (compose `environment:`), on top of the `.env`
    env: dict[str, str] = field(default_factory=dict)
    #: the `.env` files do not reach the processes: a compose service without an
    #: `env_file:` that names them (compose reads `.env` only to fill in the file)
    isolated: bool = False


@dataclass
class ServerService:
    """A database server (or PgBouncer) the repository runs: a compose service."""

    name: str
    kind: str  # postgresql, mysql, pgbouncer
    where: str
    command: list[str]
    env: dict[str, str]
    ports: list[str]


@dataclass
class ProcessModel:
    groups: list[ProcessGroup]
    #: where the groups come from (`kubernetes`, `docker-compose`, ...), or "none"
    source: str
    servers: list[ServerService] = field(default_factory=list)
    #: other process descriptions that were found and not used, for the report
    also: list[str] = field(default_factory=list)
    #: the Procfile's process groups when another description (compose, Kubernetes)
    #: was chosen: another deployment, whose programs the chosen one may not run
    procfile: list[ProcessGroup] = field(default_factory=list)


# ------------------------------------------------------------------ YAML
def yaml_documents(files: ProjectFiles, rel: str) -> list[Any]:
    """The documents of a YAML file, [] (with a problem noted) when it is malformed."""
    key = ("yaml", rel)
    if key not in files.parsed:
        files.parsed[key] = _yaml_documents(files, rel)
    docs: list[Any] = files.parsed[key]
    return docs


def _yaml_documents(files: ProjectFiles, rel: str) -> list[Any]:
    import yaml

    text = files.read(rel)
    if text is None:
        return []
    if "{{" in text:
        files.note(rel, "not read: a template (`{{ ... }}`, Helm or Jinja), not rendered")
        return []
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        files.note(rel, f"not read: invalid YAML{where}: {problem}")
        return []
    except (RecursionError, MemoryError, ValueError, TypeError):
        files.note(rel, "not read: YAML too deeply nested or too large")
        return []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --------------------------------------------------------------- commands
def split_command(value: Any, env: Mapping[str, str]) -> list[str]:
    """A command as argv: a list stays a list, a string is split as a shell would."""
    if isinstance(value, list):
        parts = [str(v) for v in value if isinstance(v, (str, int, float))]
        return [interpolate(p, env) or p for p in parts]
    if isinstance(value, str):
        text = interpolate(value, env)
        # `a; b` and `a && b` come apart into their own tokens
        lexer = shlex.shlex(text if text is not None else value, posix=True,
                            punctuation_chars=";&|")
        lexer.whitespace_split = True
        try:
            return list(lexer)
        except ValueError:
            return value.split()
    return []


def analyse_command(argv: list[str], env: Mapping[str, str], files: ProjectFiles,
                    where: str) -> Command | None:
    """The application server an argv starts, or None (not a Python application)."""
    return _analyse(argv, env, files, where, 0)


def _analyse(argv: list[str], env: Mapping[str, str], files: ProjectFiles, where: str,
             depth: int) -> Command | None:
    if depth > 4 or not argv:
        return None
    text = " ".join(argv)
    # `sh -c "a && gunicorn ..."`: the script is a command line of its own
    if argv[0] in _SHELLS and "-c" in argv[1:]:
        i = argv.index("-c")
        if i + 1 < len(argv):
            return _analyse(split_command(argv[i + 1], env), env, files, where, depth + 1)
    # `a && b`, `a; b`: the last step that starts a server
    for sep in ("&&", ";", "||"):
        if sep in argv:
            steps: list[list[str]] = [[]]
            for token in argv:
                if token in ("&&", ";", "||"):
                    steps.append([])
                else:
                    steps[-1].append(token)
            for step in reversed(steps):
                found = _analyse(step, env, files, where, depth + 1)
                if found is not None:
                    return found
            return None
    script = _script(argv, files)
    if script is not None:
        return _analyse_script(script, env, files, depth)
    base = posixpath.dirname(where.split(":", 1)[0])
    stop = len(argv)
    for i, token in enumerate(argv):
        name = token.rsplit("/", 1)[-1]
        if name in WORKER_OPTIONS:
            command = _server(name, argv[i + 1:], env, files, where, text)
            entry = command_entry(name, argv[i + 1:], env, base)
            if entry is None and name == "gunicorn":
                app = _gunicorn_app(argv[i + 1:], env, files)
                entry = command_entry(name, [app], env, base) if app else None
            if name == "uwsgi":
                entry = UwsgiCommand(argv[i + 1:], files, where).entry(base)
            return replace(command, entry=entry)
        if name == "flask" and "run" in argv[i + 1:]:
            return Command("flask", known(1, f"{where}: `flask run` is one process"), text,
                           command_entry("flask", argv[i + 1:], env, base))
        if name in _WRAPPERS or name.startswith(("python", "-")) or "=" in name:
            continue
        stop = i
        break
    python = next((i for i, t in enumerate(argv[:stop])
                   if t.rsplit("/", 1)[-1].startswith("python")), None)
    if python is not None:
        return Command("python", known(1, f"{where}: one Python process"), text,
                       command_entry("python", argv[python + 1:], env, base))
    script = files.console_scripts().get(argv[stop].rsplit("/", 1)[-1]) if stop < len(
        argv) else None
    if script is not None:
        return Command("python", known(1, f"{where}: the console script `{argv[stop]}` is "
                       "one Python process"), text, EntryPoint((script,), ""))
    return None


def _script(argv: list[str], files: ProjectFiles) -> str | None:
    """The repository's shell script an argv runs (`./boot.sh`, `sh scripts/start.sh`);
    a path in the image (`/app/entrypoint.sh` after `WORKDIR /app` and `COPY . .`)
    is the repository's file its longest tail names."""
    for token in argv[:2]:
        if token.endswith(".sh"):
            rel = token.removeprefix("./").lstrip("/")
            found = [p for p in files.listing() if p == rel or p.endswith("/" + rel)]
            if found:
                return found[0]
            if token.startswith("/"):
                parts = rel.split("/")
                for i in range(1, len(parts)):
                    tail = "/".join(parts[i:])
                    if tail in files.listing():
                        return tail
    return None


def _analyse_script(rel: str, env: Mapping[str, str], files: ProjectFiles,
                    depth: int) -> Command | None:
    """The last line of a start script that starts an application server."""
    text = files.read(rel) or ""
    found = None
    for n, line in enumerate(iter_lines(text), start=1):
        if line.lstrip().startswith("#"):
            continue
        command = _analyse(split_command(line.strip(), env), env, files, f"{rel}:{n}",
                           depth + 1)
        if command is not None and command.program != "python":
            found = command
    return found


def command_option(args: list[str], names: tuple[str, ...]) -> str | None:
    """The value of the last `-w 4`, `--workers 4`, `--workers=4` or `-w4` in args
    (any of `names`, short or long)."""
    found = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                found = args[i + 1]
            elif name.startswith("--") and arg.startswith(name + "="):
                found = arg.split("=", 1)[1]
            elif not name.startswith("--") and arg.startswith(name) and len(arg) > len(name):
                found = arg[len(name):]
    return found


def _server(program: str, args: list[str], env: Mapping[str, str], files: ProjectFiles,
            where: str, text: str) -> Command:
    if program == "gunicorn" and env.get("GUNICORN_CMD_ARGS"):
        with contextlib.suppress(ValueError):
            args = [*shlex.split(env["GUNICORN_CMD_ARGS"]), *args]
    command = _server_processes(program, args, env, files, where, text)
    if program == "gunicorn":
        return replace(command, threads=_gunicorn_threads(args, env, files, where))
    return command


def _gunicorn_threads(args: list[str], env: Mapping[str, str], files: ProjectFiles,
                      where: str) -> Count | None:
    """gunicorn's `--threads N` (or `threads = N` in its configuration file)."""
    value = command_option(args, ("--threads",))
    if value is not None:
        n = parse_int(interpolate(value, env))
        return known(n, f"{where}: `--threads {value}`") if n is not None else unknown(
            f"{where}: `--threads {value}` is not a number")
    return _gunicorn_setting("threads", args, env, files)


def _server_processes(program: str, args: list[str], env: Mapping[str, str],
                      files: ProjectFiles, where: str, text: str) -> Command:
    options, default = WORKER_OPTIONS[program]
    if program == "celery":
        return Command(program, _celery(args, where), text)
    if program == "uwsgi":
        return Command(program, UwsgiCommand(args, files, where).processes(), text)
    value = command_option(args, options) if options else None
    if value is not None:
        n = parse_int(interpolate(value, env))
        flag = f"{options[0]} {value}"
        return Command(program, known(n, f"{where}: `{flag}`") if n is not None else unknown(
            f"{where}: `{flag}` is not a number"), text)
    if program == "gunicorn":
        conf = _gunicorn_setting("workers", args, env, files)
        if conf is not None:
            return Command(program, conf, text)
    if program in ("gunicorn", "uvicorn") and WEB_CONCURRENCY in env:
        n = parse_int(env[WEB_CONCURRENCY])
        if n is not None:
            return Command(program, known(n, f"${WEB_CONCURRENCY}={n}"), text)
    if default is None:
        return Command(program, unknown(f"{where}: {program}'s default (the CPU count)"), text)
    return Command(program, known(default, f"{program}'s default ({default})"), text)


def _celery(args: list[str], where: str) -> Count:
    for single in ("beat", "flower", "events"):
        if single in args and "worker" not in args:
            return known(1, f"{where}: `celery {single}` is one process")
    pool = command_option(args, ("-P", "--pool"))
    if pool in ("solo", "threads", "gevent", "eventlet"):
        return known(1, f"{where}: `--pool {pool}` runs one process")
    autoscale = command_option(args, ("--autoscale",))
    if autoscale is not None:
        n = parse_int(autoscale.split(",", 1)[0])
        if n is not None:
            return known(n, f"{where}: `--autoscale {autoscale}` (the maximum)")
    value = command_option(args, ("-c", "--concurrency"))
    if value is not None:
        n = parse_int(value)
        if n is not None:
            return known(n, f"{where}: `--concurrency {value}`")
        return unknown(f"{where}: `--concurrency {value}` is not a number")
    return unknown(f"{where}: celery's default concurrency (the CPU count)")


def _gunicorn_app(args: list[str], env: Mapping[str, str], files: ProjectFiles) -> str | None:
    """`wsgi_app = "pkg.wsgi:app"` in the gunicorn configuration the command reads."""
    import ast

    for rel in _gunicorn_config_files(args, files):
        text = files.read(rel)
        if text is None:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for stmt in tree.body:
            if (isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "wsgi_app" for t in stmt.targets)
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)):
                return stmt.value.value
    return None


def _gunicorn_config_files(args: list[str], files: ProjectFiles) -> list[str]:
    named = command_option(args, ("-c", "--config"))
    candidates: list[str] = []
    if named is not None and not named.startswith("python:"):
        rel = named.lstrip("./")
        candidates = [p for p in files.listing() if p == rel or p.endswith("/" + rel)]
    return candidates or files.named(*_GUNICORN_CONFIGS)


def _gunicorn_setting(name: str, args: list[str], env: Mapping[str, str],
                      files: ProjectFiles) -> Count | None:
    """`name = N` in gunicorn's configuration file (`-c FILE`, else the default names)."""
    for rel in _gunicorn_config_files(args, files):
        text = files.read(rel)
        if text is None:
            continue
        found = python_settings(text, (name,), env, rel).get(name)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------- sources
def process_model(files: ProjectFiles, env: Mapping[str, str]) -> ProcessModel:
    """The process groups of the project, from the most specific description found:
    Kubernetes, then docker-compose, then the Procfile, then the Dockerfile, then a
    gunicorn configuration alone."""
    dockerfile = _dockerfile_command(files, env)
    k8s, k8s_servers = _kubernetes(files, env, dockerfile)
    compose_groups, servers = _compose(files, env)
    servers = [*servers, *(s for s in k8s_servers if s.name not in {c.name for c in servers})]
    procfile = _procfile(files, env)
    candidates = [("kubernetes", k8s), ("docker-compose", compose_groups),
                  ("Procfile", procfile)]
    if dockerfile is not None:
        candidates.append(("Dockerfile", [ProcessGroup(
            "app", dockerfile[1], dockerfile[0], unknown(
                "one container assumed (no orchestrator in the repository)"))]))
    gconf = _gunicorn_setting("workers", [], env, files)
    if gconf is not None:
        app = _gunicorn_app([], env, files)
        candidates.append(("gunicorn configuration", [ProcessGroup(
            "gunicorn", gconf.source, Command("gunicorn", gconf, "gunicorn", command_entry(
                "gunicorn", [app], env) if app else None),
            unknown("one server assumed (no orchestrator in the repository)"))]))
    chosen = next(((name, groups) for name, groups in candidates if groups), None)
    also = [f"{name}: {', '.join(g.name for g in groups)}" for name, groups in candidates
            if groups and chosen is not None and name != chosen[0]]
    if chosen is None:
        return ProcessModel([], "none", servers, also)
    return ProcessModel(chosen[1], chosen[0], servers, also,
                        procfile if chosen[0] != "Procfile" else [])


def _dockerfile_command(files: ProjectFiles, env: Mapping[str, str],
                        rel: str | None = None) -> tuple[Command, str] | None:
    paths = [rel] if rel is not None else files.named("Dockerfile")[:1]
    for path in paths:
        text = files.read(path)
        if text is None:
            continue
        entry: list[str] = []
        cmd: list[str] = []
        where = path
        for n, line in enumerate(iter_lines(text), start=1):
            word, _, rest = line.strip().partition(" ")
            if word.upper() == "FROM":
                entry, cmd = [], []  # a new stage
            elif word.upper() in ("CMD", "ENTRYPOINT"):
                argv = _docker_args(rest.strip())
                if word.upper() == "CMD":
                    cmd = argv
                else:
                    entry = argv
                where = f"{path}:{n}"
        argv = [*entry, *cmd]
        found = analyse_command(argv, env, files, where) if argv else None
        if found is not None:
            return found, where
    return None


def _docker_args(rest: str) -> list[str]:
    if rest.startswith("["):
        try:
            value = json.loads(rest)
        except ValueError:
            value = None
        if isinstance(value, list):
            return [str(v) for v in value]
    return ["sh", "-c", rest]


def _procfile(files: ProjectFiles, env: Mapping[str, str]) -> list[ProcessGroup]:
    out = []
    for rel in files.named("Procfile")[:1]:
        text = files.read(rel) or ""
        for n, line in enumerate(iter_lines(text), start=1):
            name, sep, command = line.partition(":")
            if not sep or line.lstrip().startswith("#") or name.strip() == "release":
                continue
            where = f"{rel}:{n}"
            found = analyse_command(split_command(command.strip(), env), env, files, where)
            if found is not None:
                out.append(ProcessGroup(name.strip(), where, found, unknown(
                    f"{where}: the dyno count is not in the repository")))
    return out


def _infrastructure(image: Any) -> bool:
    """An image of a proxy, cache, broker or admin tool (`nginx:1.27`,
    `dpage/pgadmin4`): not the application the repository's Dockerfile builds."""
    if not isinstance(image, str):
        return False
    name = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0].lower()
    return name in INFRASTRUCTURE_IMAGES


def _image_kind(image: Any) -> str | None:
    if not isinstance(image, str):
        return None
    name = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0].lower()
    return SERVER_IMAGES.get(name) or ("pgbouncer" if "pgbouncer" in name else None)


def _environment(value: Any, env: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if v is not None:
                out[str(k)] = interpolate(str(v), env) or str(v)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str) and "=" in item:
                k, v = item.split("=", 1)
                out[k] = interpolate(v, env) or v
    return out


def _compose(files: ProjectFiles,
             env: Mapping[str, str]) -> tuple[list[ProcessGroup], list[ServerService]]:
    groups: dict[str, ProcessGroup] = {}
    servers: dict[str, ServerService] = {}
    for rel in files.compose_files():
        for doc in yaml_documents(files, rel):
            for name, service in _dict(_dict(doc).get("services")).items():
                if not isinstance(service, dict):
                    continue
                name = str(name)
                where = f"{rel}: services.{name}"
                service_env = {**_env_files(files, rel, service.get("env_file"), env),
                               **_environment(service.get("environment"), env)}
                merged = {**env, **service_env}
                command = split_command(service.get("command"), merged)
                entry = split_command(service.get("entrypoint"), merged)
                kind = _image_kind(service.get("image")) or (
                    "pgbouncer" if "pgbouncer" in name.lower() else None)
                if kind is not None:
                    ports = [str(p) for p in _list(service.get("ports"))]
                    servers[name] = ServerService(name, kind, where, [*entry, *command],
                                                  service_env, ports)
                    continue
                argv = [*entry, *command]
                found = analyse_command(argv, merged, files, where) if argv else None
                if found is None and not argv and service.get("build") is not None:
                    path = _build_dockerfile(service.get("build"), files, rel)
                    docker = _dockerfile_command(files, merged, path) if path else None
                    found = docker[0] if docker else None
                if found is None:
                    continue
                groups[name] = ProcessGroup(name, where, found, _compose_replicas(
                    service, merged, where), service_env,
                    isolated=not _reads_root_env(rel, service.get("env_file")))
    return list(groups.values()), list(servers.values())


def _reads_root_env(compose: str, value: Any) -> bool:
    """A service's `env_file:` names one of the environments' files (`.env`,
    `.env.production`) at the top: their values reach its processes."""
    entries = value if isinstance(value, list) else [value]
    base = compose.rsplit("/", 1)[0] + "/" if "/" in compose else ""
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(path, str):
            continue
        rel = (base + path).replace("/./", "/").removeprefix("./").replace("../", "")
        name = rel.rsplit("/", 1)[-1]
        if "/" not in rel and (name == ".env" or name.startswith(".env.")):
            return True
    return False


def _env_files(files: ProjectFiles, compose: str, value: Any,
               env: Mapping[str, str]) -> dict[str, str]:
    """The variables of a service's `env_file:` entries (a path, a list of paths or of
    `{path: ...}`), relative to the compose file; `.env` and `.env.<name>` are the
    environments already."""
    from poolsafe.analysis.environments import parse_env

    entries = value if isinstance(value, list) else [value]
    base = compose.rsplit("/", 1)[0] + "/" if "/" in compose else ""
    out: dict[str, str] = {}
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(path, str):
            continue
        rel = (base + path).replace("/./", "/").removeprefix("./")
        name = rel.rsplit("/", 1)[-1]
        if "/" not in rel and (name == ".env" or name.startswith(".env.")):
            continue  # the root's .env files are the environments
        text = files.read(rel) if rel in files.listing() else None
        if text is not None:
            out.update(parse_env(text, env))
    return out


def _build_dockerfile(build: Any, files: ProjectFiles, compose: str) -> str | None:
    """The Dockerfile a compose `build:` names (its `dockerfile` is relative to the
    context, the context to the compose file)."""
    context, dockerfile = ".", "Dockerfile"
    if isinstance(build, str):
        context = build
    elif isinstance(build, dict):
        context = str(build.get("context", "."))
        dockerfile = str(build.get("dockerfile", "Dockerfile"))
    base = compose.rsplit("/", 1)[0] if "/" in compose else ""
    return files.resolve(base, context, dockerfile)


def _compose_replicas(service: dict[str, Any], env: Mapping[str, str], where: str) -> Count:
    deploy = _dict(service.get("deploy"))
    for key, value in (("deploy.replicas", deploy.get("replicas")),
                       ("scale", service.get("scale"))):
        if value is None:
            continue
        n = parse_int(interpolate(str(value), env))
        if n is not None:
            return known(n, f"{where}: `{key}: {value}`")
        return unknown(f"{where}: `{key}: {value}` is not a number")
    return known(1, f"{where}: one container (no `deploy.replicas`)")


def _kubernetes(files: ProjectFiles, env: Mapping[str, str],
                dockerfile: tuple[Command, str] | None
                ) -> tuple[list[ProcessGroup], list[ServerService]]:
    groups: dict[str, ProcessGroup] = {}
    servers: dict[str, ServerService] = {}
    hpas: dict[str, tuple[int, str]] = {}
    for rel in files.yaml_files():
        text = files.read(rel)
        if text is None or "kind:" not in text:
            continue
        for doc in yaml_documents(files, rel):
            doc = _dict(doc)
            kind = doc.get("kind")
            name = str(_dict(doc.get("metadata")).get("name", "?"))
            spec = _dict(doc.get("spec"))
            if kind == "HorizontalPodAutoscaler":
                target = _dict(spec.get("scaleTargetRef")).get("name")
                n = parse_int(str(spec.get("maxReplicas")))
                if isinstance(target, str) and n is not None:
                    hpas[target] = (n, f"{rel}: HorizontalPodAutoscaler `{name}` "
                                       f"maxReplicas: {n}")
                continue
            if kind not in ("Deployment", "StatefulSet"):
                continue
            where = f"{rel}: {kind} `{name}`"
            pod = _dict(_dict(spec.get("template")).get("spec"))
            for container in _list(pod.get("containers")):
                container = _dict(container)
                cenv = {str(e.get("name")): str(e.get("value")) for e in _list(
                    container.get("env")) if isinstance(e, dict) and e.get("value") is not None}
                merged = {**env, **cenv}
                server_kind = _image_kind(container.get("image"))
                if server_kind is not None:
                    # a database the manifests run: its `command`/`args` set its limits
                    servers[name] = ServerService(
                        name, server_kind, where,
                        [*split_command(container.get("command"), merged),
                         *split_command(container.get("args"), merged)], cenv, [])
                    break
                argv = [*split_command(container.get("command"), merged),
                        *split_command(container.get("args"), merged)]
                found = analyse_command(argv, merged, files, where) if argv else None
                if found is None and not argv and dockerfile is not None and not (
                        _infrastructure(container.get("image"))):
                    found = dockerfile[0]
                if found is None:
                    continue
                replicas = spec.get("replicas", 1)
                n = parse_int(str(replicas))
                count = known(n, f"{where}: `replicas: {replicas}`") if n is not None else (
                    unknown(f"{where}: `replicas: {replicas}` is not a number"))
                groups[name] = ProcessGroup(name, where, found, count, cenv)
                break
    for target, (n, source) in hpas.items():
        if target in groups:
            groups[target].replicas = known(n, source)
    return list(groups.values()), list(servers.values())

"""The deployment files, one source at a time (in-memory projects)."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.analysis.config_values import interpolate, python_settings
from poolsafe.analysis.deploy_files import ProjectFiles
from poolsafe.analysis.environments import environments, parse_env
from poolsafe.analysis.process_model import analyse_command, process_model, split_command
from poolsafe.analysis.server_limits import compose_server, default_server, server_files


def _files(files: dict[str, str]) -> ProjectFiles:
    return ProjectFiles(Path("/virtual"), files)


def _processes(command: str, env: dict[str, str] | None = None,
               files: dict[str, str] | None = None) -> tuple[str, int | None]:
    found = analyse_command(split_command(command, env or {}), env or {}, _files(files or {}),
                            "here")
    assert found is not None
    return found.program, found.processes.value


@pytest.mark.parametrize(("command", "want"), [
    ("gunicorn -w 4 app:app", ("gunicorn", 4)),
    ("gunicorn --workers=3 app:app", ("gunicorn", 3)),
    ("gunicorn -w6 app:app", ("gunicorn", 6)),
    ("gunicorn app:app", ("gunicorn", 1)),
    ("python -m gunicorn --workers 2 app:app", ("gunicorn", 2)),
    ("poetry run uvicorn app:app --workers 5", ("uvicorn", 5)),
    ("uvicorn app:app", ("uvicorn", 1)),
    ("celery -A app worker -c 8", ("celery", 8)),
    ("celery -A app worker --concurrency=3", ("celery", 3)),
    ("celery -A app worker --autoscale=10,3", ("celery", 10)),
    ("celery -A app worker --pool=gevent --concurrency 100", ("celery", 1)),
    ("celery -A app worker", ("celery", None)),
    ("sh -c 'alembic upgrade head && exec gunicorn -w 2 app:app'", ("gunicorn", 2)),
    ("python manage.py runserver", ("python", 1)),
    ("flask db upgrade; flask translate compile; gunicorn -w 3 app:app", ("gunicorn", 3)),
    ("rq worker tasks", ("rq", 1)),
    ("dramatiq app.tasks --processes 4 --threads 8", ("dramatiq", 4)),
])
def test_command_lines(command: str, want: tuple[str, int | None]) -> None:
    assert _processes(command) == want


def test_worker_counts_from_the_environment_and_config() -> None:
    assert _processes("gunicorn app:app", {"WEB_CONCURRENCY": "7"}) == ("gunicorn", 7)
    assert _processes("gunicorn app:app", {"GUNICORN_CMD_ARGS": "--workers 9"}) == (
        "gunicorn", 9)
    assert _processes("gunicorn -w ${WORKERS:-3} app:app") == ("gunicorn", 3)
    conf = {"deploy/gunicorn.conf.py": "import multiprocessing\n"
                                        "workers = multiprocessing.cpu_count() * 2 + 1\n"}
    program, n = _processes("gunicorn -c deploy/gunicorn.conf.py app:app", files=conf)
    assert (program, n) == ("gunicorn", None)


def test_not_an_application() -> None:
    files = _files({})
    assert analyse_command(["nginx", "-g", "daemon off;"], {}, files, "x") is None
    assert analyse_command([], {}, files, "x") is None


def test_python_settings() -> None:
    text = "import os\nW = 2\nworkers = int(os.environ.get('N', W * 3))\nthreads = 'x'\n"
    found = python_settings(text, ("workers", "threads"), {}, "g.py")
    assert found["workers"].value == 6
    assert found["threads"].value is None
    assert python_settings(text, ("workers",), {"N": "5"}, "g.py")["workers"].value == 5
    assert python_settings("workers = (", ("workers",), {}, "g.py") == {}


def test_interpolation() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("${A}-${B:-2}-${EMPTY:-3}-${EMPTY-4}-$$-$A", env) == "1-2-3--$-1"
    assert interpolate("${MISSING}", env) is None


def test_env_files_make_environments() -> None:
    envs = environments(_files({".env": "A=1\nB=2\n", ".env.production": "B=3\n",
                                ".env.example": "B=9\n", ".env.dev": "C=${A}\n"}))
    assert {e.name: e.values for e in envs} == {
        "dev": {"A": "1", "B": "2", "C": "1"}, "production": {"A": "1", "B": "3"}}
    [only] = environments(_files({}))
    assert (only.name, only.values) == ("default", {})
    assert parse_env("not a line\nX=1\n") == {"X": "1"}


def test_compose_and_kubernetes() -> None:
    compose = """
services:
  web:
    image: app
    command: ["gunicorn", "-w", "${W:-2}", "app:app"]
    environment: ["W=4"]
    deploy: {replicas: 3}
  db:
    image: docker.io/library/postgres:16-alpine
    command: postgres -c max_connections=300 -c superuser_reserved_connections=5
  bouncer:
    image: bitnami/pgbouncer:1
    environment: {PGBOUNCER_POOL_MODE: transaction, PGBOUNCER_MAX_CLIENT_CONN: "1000"}
"""
    model = process_model(_files({"docker-compose.yml": compose}), {})
    assert model.source == "docker-compose"
    [web] = model.groups
    assert (web.replicas.value, web.command.processes.value) == (3, 4)
    servers = {s.name: compose_server(s, server_files(_files({}))) for s in model.servers}
    assert servers["db"].limit == 295
    assert (servers["bouncer"].kind, servers["bouncer"].limit,
            servers["bouncer"].pool_mode) == ("pgbouncer", 1000, "transaction")


def test_kubernetes_wins_over_compose_and_reads_the_dockerfile() -> None:
    files = {
        "docker-compose.yml": "services:\n  web:\n    image: app\n    command: gunicorn app:a\n",
        "Dockerfile": "FROM python\nCMD gunicorn --workers 3 app:app\n",
        "k8s/api.yaml": "kind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 4\n"
                        "  template:\n    spec:\n      containers:\n        - image: api\n",
    }
    model = process_model(_files(files), {})
    assert model.source == "kubernetes"
    [api] = model.groups
    assert (api.replicas.value, api.command.processes.value) == (4, 3)
    assert any("docker-compose" in a for a in model.also)


def test_procfile_and_server_files() -> None:
    model = process_model(_files({"Procfile": "release: alembic upgrade head\n"
                                              "web: gunicorn -w 3 app:app\n"
                                              "worker: celery -A app worker -c 2\n"}), {})
    assert [(g.name, g.command.processes.value, g.replicas.known) for g in model.groups] == [
        ("web", 3, False), ("worker", 2, False)]
    conf = server_files(_files({
        "postgresql.conf": "max_connections = 400  # tuned\n",
        "mysql/my.cnf": "[mysqld]\nmax-connections = 500\nwait_timeout = 600\n",
        "pgbouncer.ini": "[pgbouncer]\npool_mode = session\nmax_client_conn = 2000\n",
        "broken.cnf": "no section\n",
    }))
    assert default_server("postgresql", "pg", conf).limit == 397
    mysql = default_server("mysql", "my", conf)
    assert (mysql.limit, mysql.wait_timeout.value) == (500, 600)
    bouncer = default_server("pgbouncer", "pgb", conf)
    assert (bouncer.limit, bouncer.pool_mode) == (2000, "session")


@pytest.mark.parametrize("depth", [300, 900, 3000])
def test_deeply_nested_python_configuration(depth: int) -> None:
    found = python_settings("workers = " + "-" * depth + "1\n", ("workers",), {}, "g.py")
    assert all(c.value is None for c in found.values())


def test_compose_env_file_and_templates() -> None:
    compose = ("services:\n  web:\n    image: app\n    command: gunicorn app:app\n"
               "    env_file: [config/web.env]\n")
    files = _files({"docker-compose.yml": compose, "config/web.env": "WEB_CONCURRENCY=6\n",
                    "helm/templates/deploy.yaml": "kind: Deployment\nspec:\n"
                                                  "  replicas: {{ .Values.replicas }}\n"})
    model = process_model(files, {})
    [web] = model.groups
    assert web.command.processes.value == 6
    assert any("template" in p.message for p in files.problems)


def test_a_start_script_named_by_the_command() -> None:
    script = "#!/bin/sh\nflask db upgrade\nexec gunicorn -w 5 \\\n    app:app\n"
    assert _processes("./boot.sh", files={"boot.sh": script}) == ("gunicorn", 5)
    assert _processes("sh scripts/start.sh", files={"scripts/start.sh": script}) == (
        "gunicorn", 5)


def test_a_start_script_named_by_its_path_in_the_image() -> None:
    """`ENTRYPOINT ["/app/entrypoint.sh"]` after `WORKDIR /app` and `COPY . .`: the
    image's path ends with the repository's path of the script."""
    script = ("#!/bin/sh\nset -e\ncd /app\nalembic upgrade head\n"
              "exec uvicorn api:app --workers 3\n")
    assert _processes("/app/entrypoint.sh", files={"entrypoint.sh": script}) == ("uvicorn", 3)
    assert _processes("/srv/app/bin/start.sh", files={"bin/start.sh": script}) == (
        "uvicorn", 3)

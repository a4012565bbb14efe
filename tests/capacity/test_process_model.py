"""Which program opens which pool (issue #31 item 1) and no verdict without evidence
(issue #29 item 7): `poolsafe capacity` on small trees written here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from poolsafe.analysis.entry_points import EntryPoint, command_entry, imported_names
from poolsafe.cli.main import main

_ENGINE = ("from sqlalchemy import create_engine\n\n"
           "engine = create_engine('postgresql://app@{host}/app', pool_size={size}, "
           "max_overflow=0)\n")


def _tree(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _capacity(root: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["capacity", str(root), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def _check(root: Path) -> list[str]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "PS208",
                                       "--format", "json", str(root)])
    return [f"{f['path'].rsplit('/', 1)[-1]}:{f['line']}"
            for f in json.loads(result.output)["findings"]]


def test_entry_points_are_shown_with_the_pools_they_open(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "shop/__init__.py": "",
        "shop/db.py": _ENGINE.format(host="db", size=5),
        "shop/web.py": "from shop.db import engine\n\napp = object()\n",
        "reports/__init__.py": "",
        "reports/warehouse.py": _ENGINE.format(host="db", size=30),
        "reports/run.py": "from reports.warehouse import engine\n",
        "docker-compose.yml": "services:\n  web:\n    image: app\n"
                              "    command: gunicorn -w 2 shop.web:app\n"
                              "  db:\n    image: postgres:16\n",
    })
    code, doc = _capacity(root)
    assert code == 0
    [group] = doc["environments"][0]["groups"]
    assert group["entry"] == ["shop.web"]
    assert [p.rsplit("/", 1)[-1] for p in group["pools"]] == ["db.py:3"]
    [server] = doc["environments"][0]["servers"]
    # the warehouse pool is in no program the deployment runs: 1 x 2 x 5, not + 30
    assert server["demand"] == 10
    text = CliRunner().invoke(main, ["capacity", str(root)]).output
    assert "shop.web" in text and "opens" in text


def test_a_folder_of_examples_is_never_summed(tmp_path: Path) -> None:
    """Eighteen small programs with a pool of 20 each: before, 18 x 30 > 97 at every
    pool; each is a program of its own and none is over alone."""
    files = {f"examples/ex{i}/app.py": _ENGINE.format(host="localhost", size=20)
             + "\nif __name__ == '__main__':\n    engine.dispose()\n" for i in range(18)}
    root = _tree(tmp_path, files)
    assert _check(root) == []
    code, doc = _capacity(root)
    assert code == 0
    env = doc["environments"][0]
    assert len(env["groups"]) == 18
    assert all(len(g["pools"]) == 1 for g in env["groups"])
    assert all(s["demand"] == 20 for s in env["servers"])


def test_one_program_over_the_limit_alone_is_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "etl/db.py": _ENGINE.format(host="localhost", size=120),
        "etl/__init__.py": "",
        "etl/__main__.py": "from etl.db import engine\n\nengine.dispose()\n",
    })
    assert _check(root) == ["db.py:3"]
    code, _ = _capacity(root)
    assert code == 1


def test_a_url_from_a_kubernetes_secret_is_no_verdict(tmp_path: Path) -> None:
    """#29 item 7: DATABASE_URL from a Secret, no server in the repository: nothing
    can be compared; exit 3, never "within budget"."""
    root = _tree(tmp_path, {
        "app.py": "import os\nfrom sqlalchemy import create_engine\n\n"
                  "engine = create_engine(os.environ['DATABASE_URL'], pool_size=20)\n"
                  "app = object()\n",
        "k8s/api.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 12
  template:
    spec:
      containers:
        - name: api
          image: registry/api:1
          command: ["gunicorn", "-w", "4", "app:app"]
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: db, key: url}
""",
    })
    result = CliRunner().invoke(main, ["capacity", str(root)])
    assert result.exit_code == 3, result.output
    assert "Result: nothing compared" in result.output
    assert "within budget" not in result.output


def test_kubernetes_server_args_set_the_limit(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "app.py": _ENGINE.format(host="postgres", size=10) + "app = object()\n",
        "k8s/all.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - {name: api, image: registry/api:1, command: [gunicorn, -w, "4", "app:app"]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: postgres}
spec:
  template:
    spec:
      containers:
        - name: postgres
          image: postgres:16
          command: [postgres, -c, max_connections=300]
""",
    })
    code, doc = _capacity(root)
    assert code == 0
    [server] = doc["environments"][0]["servers"]
    assert (server["name"], server["limit"], server["demand"]) == ("postgres", 297, 120)
    assert "k8s/all.yaml" in server["max_connections"]["source"]


def test_compose_reads_dotenv_only_with_env_file(tmp_path: Path) -> None:
    engine = ("import os\nfrom sqlalchemy import create_engine\n\n"
              "engine = create_engine('postgresql://app@db/app', "
              "pool_size=int(os.getenv('POOL', '5')), max_overflow=0)\napp = object()\n")
    compose = ("services:\n  web:\n    image: app\n    command: gunicorn -w 4 app:app\n"
               "{extra}  db:\n    image: postgres:16\n"
               "    command: postgres -c max_connections=50\n")
    for extra, demand in (("", 20), ("    env_file: .env\n", 80)):
        root = _tree(tmp_path / str(demand), {"app.py": engine, ".env": "POOL=20\n",
                                               "docker-compose.yml": compose.format(extra=extra)})
        _, doc = _capacity(root)
        assert doc["environments"][0]["servers"][0]["demand"] == demand


def test_celery_beat_is_one_process(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "tasks.py": _ENGINE.format(host="db", size=5),
        "docker-compose.yml": "services:\n  beat:\n    image: app\n"
                              "    command: celery -A tasks beat -l info\n"
                              "  db:\n    image: postgres:16\n",
    })
    code, doc = _capacity(root)
    [group] = doc["environments"][0]["groups"]
    assert group["processes"] == {"value": 1, "known": True,
                                  "source": "docker-compose.yml: services.beat: "
                                            "`celery beat` is one process"}
    assert code == 0


def test_command_entries() -> None:
    assert command_entry("gunicorn", ["-w", "4", "-b", "0.0.0.0:8000", "-k",
                                      "uvicorn.workers.UvicornWorker", "pkg.main:app"],
                         {}) == EntryPoint(("pkg.main",))
    assert command_entry("uvicorn", ["app.main:create_app", "--factory", "--port", "80"],
                         {}) == EntryPoint(("app.main",))
    assert command_entry("celery", ["-A", "proj", "worker"], {}) == EntryPoint(
        ("proj.celery", "proj"), first_found=True)
    assert command_entry("celery", ["-A", "app.celery", "worker"], {}) == EntryPoint(
        ("app.celery.celery", "app.celery", "app"), first_found=True)
    assert command_entry("python", ["-m", "tools.sync"], {}) == EntryPoint(
        ("tools.sync", "tools.sync.__main__"))
    assert command_entry("dramatiq", ["-p", "2", "jobs.email", "jobs.sms"], {}) == EntryPoint(
        ("jobs.email", "jobs.sms"))
    assert command_entry("rq", ["worker", "high"], {}) is None


def test_imported_names() -> None:
    source = (b"import a.b as c, d\nfrom .x import (y,\n    z)\nfrom .. import w\n"
              b"def f():\n    from e.f import g\n")
    assert imported_names(source, "pkg.sub") == {
        "a", "a.b", "d", "pkg", "pkg.sub", "pkg.sub.x", "pkg.sub.x.y", "pkg.sub.x.z",
        "pkg.w", "e", "e.f", "e.f.g"}


def test_config_classes_are_alternatives(tmp_path: Path) -> None:
    """A process loads one Flask config class: the largest counts, not their sum."""
    root = _tree(tmp_path, {
        "extensions.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n",
        "config.py": "class Config:\n"
                     "    SQLALCHEMY_DATABASE_URI = 'postgresql://app@db/app'\n"
                     "    SQLALCHEMY_ENGINE_OPTIONS = {'pool_size': 20, 'max_overflow': 0}\n\n"
                     "class ProductionConfig(Config):\n"
                     "    SQLALCHEMY_ENGINE_OPTIONS = {'pool_size': 30, 'max_overflow': 0}\n",
        "app.py": "import config\nimport extensions\n\napp = object()\n",
        "docker-compose.yml": "services:\n  web:\n    image: app\n"
                              "    command: gunicorn -w 2 app:app\n"
                              "  db:\n    image: postgres:16\n",
    })
    _, doc = _capacity(root)
    [server] = doc["environments"][0]["servers"]
    assert server["demand"] == 60  # 2 x 30, not 2 x (20 + 30)


def test_infrastructure_containers_do_not_run_the_app(tmp_path: Path) -> None:
    """A Deployment of nginx with no command is not the repository's Dockerfile."""
    deployment = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  template:
    spec:
      containers:
        - {{name: {name}, image: {image}}}
"""
    root = _tree(tmp_path, {
        "app.py": _ENGINE.format(host="db", size=10) + "app = object()\n",
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-w", "2", "app:app"]\n',
        "k8s/api.yaml": deployment.format(name="api", image="registry/api:1"),
        "k8s/proxy.yaml": deployment.format(name="proxy", image="nginx:1.27"),
    })
    code, doc = _capacity(root)
    assert code == 0
    assert [g["name"] for g in doc["environments"][0]["groups"]] == ["api"]
    assert doc["environments"][0]["servers"][0]["demand"] == 20


def test_celery_flower_is_one_process(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "tasks.py": _ENGINE.format(host="db", size=5),
        "docker-compose.yml": "services:\n  flower:\n    image: app\n"
                              "    command: celery -A tasks flower\n"
                              "  db:\n    image: postgres:16\n",
    })
    _, doc = _capacity(root)
    [group] = doc["environments"][0]["groups"]
    assert group["processes"]["value"] == 1 and group["processes"]["known"]


def test_a_configmap_postgresql_conf_sets_the_limit(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "app.py": _ENGINE.format(host="db", size=40) + "app = object()\n",
        "Procfile": "web: gunicorn -w 4 app:app\n",
        "k8s/pg.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pg}\ndata:\n"
                       "  postgresql.conf: |\n    max_connections = 400\n"
                       "    shared_buffers = 1GB\n",
    })
    code, doc = _capacity(root)
    [server] = doc["environments"][0]["servers"]
    assert (server["limit"], server["demand"], code) == (397, 160, 0)
    assert "ConfigMap" in server["max_connections"]["source"]


def test_a_repository_of_programs_is_never_summed(tmp_path: Path) -> None:
    """Two services in one repository (compose runs one, a Procfile the other), a
    console script and a maintenance script, all on one server: compose wins over
    the Procfile; the programs compose does not run are shown and judged alone, and
    no pool is added into another program's budget."""
    root = _tree(tmp_path, {
        "orders/__init__.py": "",
        "orders/db.py": _ENGINE.format(host="db", size=60),
        "orders/app.py": "from orders.db import engine\n\napp = object()\n",
        "billing/__init__.py": "",
        "billing/db.py": _ENGINE.format(host="db", size=60),
        "billing/worker.py": "from billing.db import engine\n\ncelery = object()\n",
        "report/__init__.py": "",
        "report/main.py": _ENGINE.format(host="db", size=60) + "\n\ndef run():\n"
                          "    engine.dispose()\n",
        "tools/backfill.py": _ENGINE.format(host="db", size=120)
                             + "\nif __name__ == '__main__':\n    engine.dispose()\n",
        "Procfile": "web: gunicorn -w 1 orders.app:app\n",
        "docker-compose.yml": "services:\n  worker:\n    image: app\n"
                              "    command: celery -A billing.worker worker -c 1\n"
                              "  db:\n    image: postgres:16\n",
    })
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n[project.scripts]\nreport = 'report.main:run'\n")
    code, doc = _capacity(root)
    env = doc["environments"][0]
    [group] = env["groups"]
    assert "billing.worker" in group["entry"]
    assert [p.rsplit("/", 1)[-1] for p in group["pools"]] == ["db.py:3"]
    alone = {g["name"]: [p.rsplit("/", 1)[-1] for p in g["pools"]]
             for g in env["programs_alone"]}
    # the Procfile's `web` (the orders service, which compose does not run) is a
    # program of its own too (round 33: before, it was in no budget)
    assert alone == {"report": ["main.py:3"], "tools/backfill.py": ["backfill.py:3"],
                     "web": ["db.py:3"]}
    # one budget per program, never a sum: 1 (the worker: `-c 1` is one prefork child,
    # one task at a time on one thread, so one connection of its 60; round 34), 60 (web),
    # 60, 120
    assert sorted(s["demand"] for s in env["servers"]) == [1, 60, 60, 120]
    assert code == 1
    # only the program whose own pool is over the limit is reported
    assert _check(root) == ["backfill.py:3"]
    text = CliRunner().invoke(main, ["capacity", str(root)]).output
    assert "Programs the deployment does not run" in text and "report.main" in text


def test_a_python_script_without_a_suffix_is_an_entry_point(tmp_path: Path) -> None:
    """miss82: `bin/etl-nightly` (shebang `python3`, no `.py`) is a program of its
    own: it opens the pool of the module it imports, and PS208 judges it alone."""
    root = _tree(tmp_path, {
        "etl/db.py": _ENGINE.format(host="localhost", size=120),
        "etl/__init__.py": "",
        "bin/etl-nightly": "#!/usr/bin/env python3\nfrom etl.db import engine\n\n"
                           "engine.dispose()\n",
        "bin/deploy": "#!/bin/sh\npython3 -c 'import etl.db'\n",
    })
    assert _check(root) == ["db.py:3"]
    code, doc = _capacity(root)
    assert code == 1
    groups = doc["environments"][0]["groups"]
    assert [g["name"] for g in groups] == ["bin/etl-nightly"]
    assert len(groups[0]["pools"]) == 1


def test_a_command_names_a_script_without_a_suffix() -> None:
    assert command_entry("python", ["bin/etl-nightly", "--full"], {}) == EntryPoint(
        ("bin/etl-nightly",))
    assert command_entry("python", ["-u", "./bin/etl-nightly"], {}) == EntryPoint(
        ("./bin/etl-nightly",))
    assert command_entry("python", ["manage"], {}) is None  # no path: not read as one
    assert command_entry("python", ["tools/run.py"], {}) == EntryPoint(("tools/run.py",))


def test_a_procfile_line_runs_a_script_without_a_suffix(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "etl/db.py": _ENGINE.format(host="localhost", size=10),
        "etl/__init__.py": "",
        "bin/etl-nightly": "#!/usr/bin/env python3\nfrom etl.db import engine\n",
        "Procfile": "etl: python bin/etl-nightly\n",
    })
    _, doc = _capacity(root)
    groups = doc["environments"][0]["groups"]
    etl = [g for g in groups if g["name"] == "etl"]
    assert len(etl) == 1 and len(etl[0]["pools"]) == 1, groups

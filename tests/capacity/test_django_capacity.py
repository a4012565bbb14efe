"""Django's DATABASES in `poolsafe capacity` and PS208 (issue 33): a psycopg pool
(`OPTIONS["pool"]`, Django 5.1) counts its max_size per process, an alias without a
pool one connection per thread; gunicorn/uvicorn/daphne/celery processes reach the
settings through `DJANGO_SETTINGS_MODULE` in their wsgi/asgi/celery module."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from poolsafe.cli.main import main
from poolsafe.scan.engine import scan

_WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
application = get_wsgi_application()
"""

_CELERY = """\
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
app = Celery("shop")
"""

_COMPOSE = """\
services:
  web:
    build: .
    command: gunicorn shop.wsgi:application -w 4
    deploy:
      replicas: 2
  worker:
    build: .
    command: celery -A shop worker --concurrency 4
  db:
    image: postgres:16
"""


def _settings(options: str) -> str:
    return f"""\
import os

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "HOST": os.environ.get("DB_HOST", "db"),
        "PORT": "5432",
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
        {options}
    }}
}}
"""


def _project(tmp_path: Path, options: str, compose: str = _COMPOSE) -> Path:
    root = tmp_path / "site"
    (root / "shop").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "site"\nversion = "0"\n')
    (root / "docker-compose.yml").write_text(compose)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "settings.py").write_text(_settings(options))
    (root / "shop" / "wsgi.py").write_text(_WSGI)
    (root / "shop" / "celery.py").write_text(_CELERY)
    return root


def _capacity(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["capacity", str(root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_psycopg_pool_per_process_is_counted_over_budget(tmp_path: Path) -> None:
    root = _project(tmp_path, '"OPTIONS": {"pool": {"min_size": 2, "max_size": 10}},')
    code, out = _capacity(root)
    assert code == 1
    assert "web: 2 replicas x 4 workers x 10 = 80" in out
    assert "worker: 1 replica x 4 processes x 10 = 40; total 120 > 97" in out
    assert "min 2 / max 10" in out
    # CONN_HEALTH_CHECKS and CONN_MAX_AGE are shown as the pool's pre-ping and recycle
    assert "True" in out and "600" in out
    result = scan([str(root)])
    assert [(Path(f.path).name, f.line, f.code) for f in result.findings] == [
        ("settings.py", 4, "PS208")]


def test_pool_true_is_psycopg_pools_default_of_four(tmp_path: Path) -> None:
    code, out = _capacity(_project(tmp_path, '"OPTIONS": {"pool": True},'))
    assert code == 0
    assert "web: 2 replicas x 4 workers x 4 = 32" in out
    assert "total 48 <= 97" in out


def test_no_pool_is_one_connection_per_thread(tmp_path: Path) -> None:
    code, out = _capacity(_project(tmp_path, ""))
    assert code == 0
    assert "web: 2 replicas x 4 workers x 1 = 8" in out
    assert "one connection per thread" in out


def test_sqlite_opens_no_server_connection(tmp_path: Path) -> None:
    root = _project(tmp_path, "")
    (root / "shop" / "settings.py").write_text(
        'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db"}}\n')
    code, out = _capacity(root)
    assert "settings.py" not in out
    assert code == 3


def test_gunicorn_threads_multiply_the_connections_of_an_alias_without_a_pool(
        tmp_path: Path) -> None:
    compose = _COMPOSE.replace("-w 4", "-w 4 --threads 8")
    code, out = _capacity(_project(tmp_path, "", compose))
    assert "web: 2 replicas x 4 workers x 1 x 8 threads = 64" in out
    assert code == 0  # 64 + the celery worker's 4 <= 97


def test_gunicorn_threads_over_budget_is_ps208(tmp_path: Path) -> None:
    compose = _COMPOSE.replace("-w 4", "-w 4 --threads 16")
    root = _project(tmp_path, "", compose)
    code, out = _capacity(root)
    assert "web: 2 replicas x 4 workers x 1 x 16 threads = 128" in out
    assert code == 1
    result = scan([str(root)])
    assert [(Path(f.path).name, f.line, f.code) for f in result.findings] == [
        ("settings.py", 4, "PS208")]


def test_gunicorn_threads_leave_a_psycopg_pool_as_it_is(tmp_path: Path) -> None:
    compose = _COMPOSE.replace("-w 4", "-w 4 --threads 8")
    _, out = _capacity(_project(tmp_path, '"OPTIONS": {"pool": True},', compose))
    assert "web: 2 replicas x 4 workers x 4 = 32" in out  # the pool is shared by threads

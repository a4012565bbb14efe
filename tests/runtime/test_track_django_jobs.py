"""``track()`` on Django's connection handler, and ``pytest --poolsafe`` on a Django
application: a worker thread's connection that nothing closes is a leak; one the
thread closes is not; the main thread's connection belongs to Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("django")

SETTINGS = """\
SECRET_KEY = "test"
INSTALLED_APPS = []
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {name!r}}}}}
USE_TZ = True
"""

APP = """\
import threading

from django.db import close_old_connections, connection


def _query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def leaky_worker():
    t = threading.Thread(target=_query)
    t.start()
    t.join()


def _query_and_close():
    try:
        _query()
    finally:
        close_old_connections()
        connection.close()


def clean_worker():
    t = threading.Thread(target=_query_and_close)
    t.start()
    t.join()


def main_thread_query():
    return _query()
"""

TESTS = """\
from app.jobs import clean_worker, leaky_worker, main_thread_query


def test_leaky():
    leaky_worker()


def test_clean():
    clean_worker()


def test_main_thread():
    assert main_thread_query() == 1
"""


def make_app(root: Path) -> None:
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "settings.py").write_text(SETTINGS.format(name=str(root / "app.db")))
    (root / "app" / "jobs.py").write_text(APP)
    (root / "conftest.py").write_text(
        "import os\n\nimport django\n\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'app.settings')\n"
        "django.setup()\n")
    (root / "test_app.py").write_text(TESTS)


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(src), str(root)])
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "poolsafe.pytest_plugin", "-p",
         "no:cacheprovider", "-rA", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_plugin_fails_the_test_whose_thread_keeps_its_connection(tmp_path: Path) -> None:
    make_app(tmp_path)
    done = run_pytest(tmp_path, "--poolsafe")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "1 failed, 2 passed" in out, out
    assert "FAILED test_app.py::test_leaky" in out, out
    assert "taken at app/jobs.py:7 in _query" in out.lower(), out
    assert "django.db.connections (django ConnectionHandler)" in out, out


TRACK_SCRIPT = """\
import sys
import threading

import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    INSTALLED_APPS=[], USE_TZ=True)
django.setup()
from django.db import connection, connections

from poolsafe.runtime import pool_health, track

tracker = track(connections)
assert track(connections) is tracker


def query(close):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if close:
        connection.close()


with connection.cursor() as cursor:  # the main thread: Django's
    cursor.execute("SELECT 1")
assert tracker.stats().checkouts == 0

closed = threading.Thread(target=query, args=(True,))
closed.start()
closed.join()
assert tracker.stats().checkouts == 1 and tracker.holders() == []

opened, done = threading.Event(), threading.Event()


def hold_then_close():
    query(False)
    opened.set()
    done.wait(10)
    connection.close()


worker = threading.Thread(target=hold_then_close)
worker.start()
assert opened.wait(10)
assert tracker.stats().in_use == 1
assert pool_health(tracker)["in_use"] == 1
assert len(tracker.holders()) == 1
done.set()
worker.join()
assert tracker.holders() == [] and tracker.stats().returns == 2
tracker.detach()
print("ok")
"""


def test_track_counts_worker_threads_only(tmp_path: Path) -> None:
    """In a process of its own: Django's settings are configured once per process."""
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run([sys.executable, "-c", TRACK_SCRIPT, str(tmp_path / "t.db")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr

"""``track()`` for Django's connections, and the pytest plugin failing a Django
test that leaves a thread's connection open (issue #33). Each test runs pytest in
a subprocess: Django's settings are configured once per process."""

from __future__ import annotations

import pytest

pytest.importorskip("django")

CONFTEST = """
import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "dj.db"}},
    INSTALLED_APPS=[],
    USE_TZ=True,
)
django.setup()
"""

APP = """
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connection, connections


def run_in_thread(work):
    t = threading.Thread(target=work, name="job-thread")
    t.start()
    t.join()


def leaky_job():
    with connection.cursor() as cursor:     # the cursor closes; the connection stays
        cursor.execute("SELECT 1")


def tidy_job():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def executor_job():
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        close_old_connections()             # CONN_MAX_AGE = 0: closes it


EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pool-worker")


def leaky_task():
    EXECUTOR.submit(leaky_job).result()     # the worker thread lives on, and its connection


def tidy_task():
    EXECUTOR.submit(executor_job).result()


def in_the_main_thread():
    with connection.cursor() as cursor:     # the test runner's thread: Django's to manage
        cursor.execute("SELECT 1")
"""

TESTS = """
import app

def test_thread_leaks():
    app.run_in_thread(app.leaky_job)

def test_thread_closes():
    app.run_in_thread(app.tidy_job)

def test_executor_leaks():
    app.leaky_task()

def test_executor_closes():
    app.tidy_task()

def test_main_thread():
    app.in_the_main_thread()
"""


def test_plugin_fails_tests_that_leave_a_threads_connection_open(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(app=APP, test_django=TESTS)
    result = pytester.runpytest_subprocess("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=2)
    failed = {line.split("::")[1].split()[0] for line in result.stdout.lines
              if line.startswith("FAILED")}
    assert failed == {"test_thread_leaks", "test_executor_leaks"}
    result.stdout.fnmatch_lines(
        [
            "*garbage-collected while checked out*app.py:14 in leaky_job*",
            "*still checked out*thread 'pool-worker_0'*app.py:14 in leaky_job*",
            "*poolsafe: watched 1 pool: django.db.connections (django ConnectionHandler)*",
        ],
        consecutive=False,
    )


TRACK = """
import threading
import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "t.db"},
               "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": "o.db"}},
)
django.setup()
from django.db import connection, connections
from poolsafe.runtime import LeakError, pool_health, track

tracker = track(connections)
assert track(connections) is tracker
other = track(connections["other"])          # one alias
assert other is not tracker


def use(alias, close):
    def work():
        with connections[alias].cursor() as c:
            c.execute("SELECT 1")
        if close:
            connections[alias].close()
    t = threading.Thread(target=work, name=f"t-{alias}-{close}")
    t.start()
    t.join()


use("default", close=True)
use("other", close=True)
assert tracker.stats().in_use == 0 and tracker.stats().checkouts == 2
assert other.stats().checkouts == 1
use("default", close=False)
[holder] = tracker.holders()
assert holder.thread == "t-default-False", holder
assert pool_health(tracker)["in_use"] == 1
try:
    tracker.assert_no_leaks()
except LeakError as exc:
    assert "in work" in str(exc)
else:
    raise AssertionError("no LeakError")
try:
    pool_health(connections)
except TypeError as exc:
    assert "track" in str(exc)
else:
    raise AssertionError("no TypeError without a pool")

with connection.cursor() as c:                # the main thread is not counted
    c.execute("SELECT 1")
assert tracker.stats().checkouts == 3
tracker.detach()
other.detach()
use("default", close=False)
assert tracker.stats().checkouts == 3         # detached: nothing counted
print("OK")
"""


def test_track_counts_thread_connections_until_closed(pytester: pytest.Pytester) -> None:
    script = pytester.makepyfile(track_django_script=TRACK)
    result = pytester.runpython(script)
    assert result.ret == 0, result.stderr.str() + result.stdout.str()
    result.stdout.fnmatch_lines(["OK"])


POOLED = """
import django
from django.conf import settings

settings.configure(DATABASES={"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": "shop", "HOST": "127.0.0.1",
    "PORT": "1", "OPTIONS": {"pool": {"min_size": 0, "max_size": 4, "timeout": 0.5}},
}})
django.setup()
from django.db import connection, connections
from poolsafe.runtime import pool_health, track

# Django builds the pool unopened and opens it on the first connection: not closed
for target in (connections, connection, track(connections)):
    health = pool_health(target)
    assert health["status"] == "healthy", health
    assert (health["max"], health["in_use"]) == (4, 0), health
# the probe opens it and fails against no server: an error, with the reason
probed = pool_health(connections, probe=True)
assert probed["status"] == "error" and probed["error"].startswith("probe failed"), probed
# a pool closed after it was opened cannot be reopened (psycopg_pool): an error
connection.pool.close()
closed = pool_health(connections)
assert closed["status"] == "error" and closed["error"] == "the pool is closed", closed
print("OK")
"""


def test_pool_health_of_djangos_unopened_pool(pytester: pytest.Pytester) -> None:
    pytest.importorskip("psycopg_pool")
    script = pytester.makepyfile(pooled_django_script=POOLED)
    result = pytester.runpython(script)
    assert result.ret == 0, result.stderr.str() + result.stdout.str()
    result.stdout.fnmatch_lines(["OK"])

"""fix64b (benchmarks/README.md, "fixcorpus64 (fix64b)"): PS102's safe fix wrapped a
plain generator that yields its connection (or a cursor of it) in `try`/`finally:
conn.close()`. A caller that keeps what was yielded past the generator's next
resumption (`[conn] = list(gen())`, then `conn.cursor()`) worked on the original and
met a closed connection after the fix. Such a checkout is now "yielded" (not
fixable). A `@contextmanager` and a FastAPI dependency hand the connection to a
block that ends before the generator resumes, and pytest resumes a fixture only once
its test has ended: there the `finally` is the fix, and it is still applied. Each
plain shape runs before the fix with a stand-in driver whose `cursor()` fails once its
connection is closed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from fix_checks import checked, fix_one, stand_in_psycopg2

HEAD = "import contextlib\n\nimport psycopg2\n\n\n"

PLAIN = {
    "yields_the_connection": (
        "def work():\n"
        '    conn = psycopg2.connect(host="db")\n'
        "    conn.cursor()\n"
        "    yield conn\n"),
    "yields_a_new_cursor_per_step": (
        "def work():\n"
        '    conn = psycopg2.connect(host="db")\n'
        "    n = 2\n"
        "    while n:\n"
        "        n -= 1\n"
        "        yield conn.cursor()\n"),
    "yields_a_named_cursor": (
        "def work():\n"
        '    conn = psycopg2.connect(host="db")\n'
        "    cur = conn.cursor()\n"
        "    for _ in range(2):\n"
        "        yield cur\n"),
}

DRIVEN = {
    "contextmanager": (
        "@contextlib.contextmanager\n"
        "def work():\n"
        '    conn = psycopg2.connect(host="db")\n'
        "    conn.cursor()\n"
        "    yield conn\n"),
    "fastapi_dependency": (
        "from fastapi import Depends, FastAPI\n\n"
        "app = FastAPI()\n\n\n"
        "def work():\n"
        '    conn = psycopg2.connect(host="db")\n'
        "    conn.cursor()\n"
        "    yield conn\n\n\n"
        '@app.get("/")\n'
        "def route(conn=Depends(work)):\n"
        "    return conn.cursor()\n"),
    # a fixture in a pytest plugin module (not a test module, so a pool checkout it
    # may leave out is reported): pytest resumes it only once the test that received
    # the connection has ended
    "pytest_fixture": (
        "import psycopg2.pool\n"
        "import pytest\n\n"
        'pool = psycopg2.pool.ThreadedConnectionPool(1, 5, host="db")\n\n\n'
        "@pytest.fixture\n"
        "def work():\n"
        "    conn = pool.getconn()\n"
        '    conn.cursor().execute("select 1")\n'
        "    yield conn\n"
        "    pool.putconn(conn)\n"),
}

#: the release each DRIVEN case's fix puts in `finally`
DRIVEN_RELEASE = {"pytest_fixture": "pool.putconn(conn)"}


class _Conn:
    def __init__(self) -> None:
        self.closed = False

    def cursor(self) -> _Conn:
        if self.closed:
            raise sys.modules["psycopg2"].InterfaceError("connection already closed")
        return self

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def closing_driver() -> Iterator[None]:
    with stand_in_psycopg2(_Conn):
        yield


def _kept_after_the_end(text: str) -> tuple[str, Any]:
    """The caller keeps every yielded object, runs the generator to its end, then
    uses them."""
    namespace: dict[str, Any] = {}
    exec(compile(text, "case.py", "exec"), namespace)
    try:
        kept = list(namespace["work"]())
        return "returns", [type(k.cursor()).__name__ for k in kept]
    except Exception as exc:  # the outcome is compared, whatever it is
        return "raises", (type(exc).__name__, str(exc))


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_a_plain_generator_that_yields_its_checkout_is_not_fixed(
        name: str, closing_driver: None) -> None:
    """Main fixed each of these as safe; the caller then met a closed connection."""
    source = HEAD + PLAIN[name]
    assert _kept_after_the_end(source)[0] == "returns"
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=True)
    assert text == source and applied == [], text
    assert any("is yielded" in r for r in left), left


@pytest.mark.parametrize("name", sorted(DRIVEN))
def test_a_generator_driven_as_a_context_is_still_fixed(name: str) -> None:
    source = HEAD + DRIVEN[name]
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    release = DRIVEN_RELEASE.get(name, "conn.close()")
    assert f"finally:\n        {release}" in text
    checked("PS102", {"case.py": text})

"""fix70 (benchmarks/README.md, "fix70"): the exit-gap fix (`__exit__` / `close()`'s
release into a `finally`) adds the release on the way out by an exception. Where the
statements it wraps give the connection back themselves on some path that then raises
(a release spelled otherwise in a handler that raises again, the project's release
wrapper, a method of the class that does, a function passed in that is handed the
connection), the `finally` gives it back a second time there, and the pool's error
replaces the original exception. Each shape in EXIT_TWICE was fixed as safe at main;
now the fix is unsafe only, and its text is shown to raise `PoolError` where the
original raised its own error. The look-alikes in EXIT_KEPT stay safe and run the same
(the stand-in pool of test_fix_fix68)."""

from __future__ import annotations

import pytest
from fix_checks import checked, fix_one
from test_fix_fix68 import _run

HEAD = ("import threading\n\nimport psycopg2\nfrom psycopg2 import pool as pg_pool\n\n"
        "POOL = pg_pool.SimpleConnectionPool(1, SIZE, host=\"db\")\n"
        "LOCK = threading.Lock()\n\n\n")
ENTER = ("class Db:\n    def __enter__(self):\n        self.conn = POOL.getconn()\n"
         "        return self.conn\n\n")
#: the block's statement fails in mode "fail" (the first checkout's), and so does
#: `__exit__`'s own statement on that connection
DRIVER = ("\n\ndef go():\n    with Db() as conn:\n        conn.cursor().execute(\"SELECT 1\")\n"
          "    return 1\n")
#: a handler that gives the connection back (spelled otherwise) and raises again
HANDLER = ("        try:\n            self.conn.cursor().execute(\"COMMIT\")\n"
           "        except psycopg2.Error:\n            {release}\n            raise\n"
           "        POOL.putconn(self.conn)\n")
EXIT = "    def __exit__(self, *exc):\n"

EXIT_TWICE: dict[str, str] = {
    "a_handler_releases_spelled_otherwise": ENTER + EXIT + HANDLER.format(
        release="POOL.putconn(self.conn, close=True)"),
    "the_projects_release_wrapper_by_name": (
        "def drop(conn):\n    POOL.putconn(conn, close=True)\n\n\n" + ENTER + EXIT
        + HANDLER.format(release="drop(self.conn)")),
    "a_method_of_the_class_releases": (
        ENTER + "    def _abort(self):\n        POOL.putconn(self.conn, close=True)\n"
        "        raise psycopg2.Error(\"aborted\")\n\n" + EXIT
        + "        if exc[0] is not None:\n            self._abort()\n"
        "        self.conn.cursor().execute(\"COMMIT\")\n        POOL.putconn(self.conn)\n"),
    "a_function_passed_in_is_handed_the_connection": (
        "def finish(c):\n    try:\n        c.cursor().execute(\"COMMIT\")\n"
        "    except psycopg2.Error:\n        POOL.putconn(c, close=True)\n        raise\n\n\n"
        + ENTER + "    def close(self, on_close):\n        on_close(self.conn)\n"
        "        POOL.putconn(self.conn)\n\n" + EXIT + "        self.close(finish)\n"),
}

EXIT_KEPT: dict[str, str] = {
    "plain": ENTER + EXIT + "        self.conn.cursor().execute(\"COMMIT\")\n"
                            "        POOL.putconn(self.conn)\n",
    "a_handler_that_only_rolls_back": ENTER + EXIT + HANDLER.format(
        release="self.conn.rollback()"),
    "a_helper_that_checks_out_of_the_same_pool": (
        "def audit():\n    c = POOL.getconn()\n    try:\n"
        "        c.cursor().execute(\"INSERT\")\n    finally:\n        POOL.putconn(c)\n\n\n"
        + ENTER + EXIT + "        self.conn.cursor().execute(\"COMMIT\")\n        audit()\n"
        "        POOL.putconn(self.conn)\n"),
    "inside_with_a_lock": ENTER + EXIT + "        with LOCK:\n"
                                         "            self.conn.cursor().execute(\"COMMIT\")\n"
                                         "        POOL.putconn(self.conn)\n",
    "an_error_swallowed_before": (
        ENTER + EXIT + "        try:\n            self.conn.cursor().execute(\"COMMIT\")\n"
        "        except Exception:\n            pass\n"
        "        self.conn.cursor().execute(\"SELECT 2\")\n        POOL.putconn(self.conn)\n"),
    "close_then_putconn": ENTER + EXIT + "        self.conn.cursor().execute(\"COMMIT\")\n"
                                         "        self.conn.close()\n"
                                         "        POOL.putconn(self.conn)\n",
    "a_global_statement": (
        "DONE = []\n\n\n" + ENTER + EXIT + "        global DONE\n        DONE = DONE + [1]\n"
        "        self.conn.cursor().execute(\"COMMIT\")\n        POOL.putconn(self.conn)\n"),
    "docstring_comments_and_a_return": (
        ENTER + EXIT + "        \"\"\"Commit, then give it back.\"\"\"\n\n        # commit first\n"
        "        self.conn.cursor().execute(\"COMMIT\")  # may fail\n\n"
        "        # then give back\n        POOL.putconn(self.conn)  # back\n"
        "        return False\n"),
    "line_continuations": ENTER + EXIT + "        self.conn.cursor() \\\n"
                                         "            .execute(\"COMMIT\")\n"
                                         "        POOL.putconn(\n            self.conn)\n",
}

MODES = ("ok", "empty", "fail")


def _layouts(source: str) -> dict[str, str]:
    return {"lf": source, "crlf": source.replace("\n", "\r\n"),
            "tabs": source.replace("    ", "\t")}


@pytest.mark.parametrize("name", sorted(EXIT_TWICE))
def test_a_release_the_wrapped_statements_already_made_is_unsafe(name: str) -> None:
    source = HEAD + EXIT_TWICE[name] + DRIVER
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and applied == [], text
    assert any("unsafe fix available" in r and "a second time" in r for r in left), left
    fixed, _, unsafe_applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=True)
    assert unsafe_applied == [False] and "finally:" in fixed, fixed
    checked("PS102", {"case.py": fixed})
    for mode in ("ok", "empty"):
        assert _run(fixed, mode, 2) == _run(source, mode, 2), mode
    # the block and `__exit__`'s statement fail: the original gave the connection back
    # in the handler and raised the driver's error; the fixed text gives it back again
    before, after = _run(source, "fail", 2), _run(fixed, "fail", 2)
    assert before[0][:2] == ("raises", "_Error"), before
    assert after[0][:3] == ("raises", "_PoolError", "trying to put unkeyed connection"), after


@pytest.mark.parametrize("layout", ["lf", "crlf", "tabs"])
@pytest.mark.parametrize("name", sorted(EXIT_KEPT))
def test_an_exit_release_with_no_release_before_it_stays_safe(name: str, layout: str) -> None:
    source = _layouts(HEAD + EXIT_KEPT[name] + DRIVER)[layout]
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    assert "finally:" in text
    if layout == "crlf":  # every line ending stays CRLF, the new lines' too
        assert "\n" not in text.replace("\r\n", "")
    checked("PS102", {"case.py": text})
    runnable, original = text.replace("\r\n", "\n"), source.replace("\r\n", "\n")
    for size in (1, 2):
        for mode in MODES:
            after, out = _run(runnable, mode, size)
            before, _ = _run(original, mode, size)
            assert after == before, (size, mode)
            assert not any(out), (size, mode)  # the fix gives it back on every path

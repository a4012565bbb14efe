"""fix74 (benchmarks/README.md, "fix74"): adversarial shapes, round 33.

PS102: a release the analysis does not read as one, run on the normal path (through a
comprehension, `map`, a star, a loop's name for the connection, `__call__`, the class's
method, `exec`/`eval`/`locals()`, `operator.methodcaller`) or the pool closed under the
connection (`closeall()`). The `finally` the fix added gave the connection back a second
time, and psycopg2's `PoolError` replaced the result on every path that returned (safe
at main); now unsafe.

PS203/PS211: `pool_pre_ping=True` added beside a `**mapping` that another module (or
function) fills item by item: a `pool_pre_ping` written there made the keyword a second
one, `TypeError` where the engine was made (safe at main); now unsafe."""

from __future__ import annotations

from typing import Any

import pytest
import test_fix_fix68
from fix_checks import checked, fix_one, safe_and_runs_the_same, unsafe_only
from test_fix_fix68 import HEAD, _run

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions

W = ('    cur = conn.cursor()\n    cur.execute("SELECT 1")\n    rows = cur.fetchall()\n')


def _body(release: str, head: str = "") -> str:
    return head + "def go():\n    conn = POOL.getconn()\n" + W + release + "    return rows\n"


#: the release, as the analysis does not read it; safe at main, the outcome changed
UNREAD: dict[str, str] = {
    "in_a_list_comprehension": _body("    [POOL.putconn(c) for c in (conn,)]\n"),
    "in_a_generator_expression": _body("    any(POOL.putconn(c) for c in [conn])\n"),
    "a_loops_name_for_it": _body("    for c in [conn]:\n        POOL.putconn(c)\n"),
    "through_map": _body("    list(map(POOL.putconn, [conn]))\n"),
    "a_starred_argument": _body("    POOL.putconn(*[conn])\n"),
    "dunder_call": _body("    POOL.putconn.__call__(conn)\n"),
    "the_classes_method": _body("    type(POOL).putconn(POOL, conn)\n"),
    "operator_methodcaller": _body("    operator.methodcaller(\"putconn\", conn)(POOL)\n",
                                   "import operator\n\n\n"),
    "exec": _body("    exec(\"POOL.putconn(conn)\")\n"),
    "eval": _body("    eval(\"POOL.putconn(conn)\")\n"),
    "locals": _body("    POOL.putconn(locals()[\"conn\"])\n"),
    "the_pool_closed_under_it": _body("    POOL.closeall()\n"),
    "in_a_dict_comprehension": _body(
        "    {k: POOL.putconn(v) for k, v in {\"a\": conn}.items()}\n"),
    "through_zip": _body("    for p, c in zip([POOL], [conn]):\n        p.putconn(c)\n"),
    "through_starmap": _body("    list(itertools.starmap(POOL.putconn, [(conn,)]))\n",
                             "import itertools\n\n\n"),
}

#: look-alikes: safe at main and here, executed the same
KEPT: dict[str, str] = {
    "a_loop_over_other_values": _body("    for c in [1, 2]:\n        print(c)\n"
                                      "    POOL.putconn(conn)\n"),
    "an_attribute_of_it_in_a_list": _body("    print([conn.closed])\n    POOL.putconn(conn)\n"),
    "the_pool_aliased": ("def go():\n    p = POOL\n    conn = p.getconn()\n" + W
                         + "    POOL.putconn(conn)\n    return rows\n"),
}


def _closeall(self: Any) -> None:
    self.closed = True  # psycopg2: every later putconn raises "connection pool is closed"


@pytest.fixture(autouse=True)
def _pool_with_closeall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(test_fix_fix68._Pool, "closeall", _closeall, raising=False)


@pytest.mark.parametrize("layout", ["lf", "crlf"])
@pytest.mark.parametrize("name", sorted(UNREAD))
def test_a_release_the_analysis_does_not_read_makes_the_fix_unsafe(name: str,
                                                                   layout: str) -> None:
    source = HEAD + UNREAD[name]
    if layout == "crlf":
        source = source.replace("\n", "\r\n")
    fixed = unsafe_only("PS102", source, "may give `conn` back")
    original, runnable = source.replace("\r\n", "\n"), fixed.replace("\r\n", "\n")
    if layout == "crlf":
        assert "\n" not in fixed.replace("\r\n", "")
    for mode in ("ok", "empty"):
        before = _run(original, mode, 2)[0]
        assert before[0] == "returns", before
        # why it is unsafe: the fixed text gives it back a second time (or to a closed pool)
        assert _run(runnable, mode, 2)[0][:2] == ("raises", "_PoolError")


@pytest.mark.parametrize("name", sorted(KEPT))
def test_look_alikes_stay_safe_and_run_the_same(name: str) -> None:
    safe_and_runs_the_same("PS102", HEAD + KEPT[name], _run)


U = '"postgresql://u@db/app"'
M = '"mysql+pymysql://u@db/app"'
#: (rule, files): the mapping filled item by item in another module
WRITTEN_ELSEWHERE: dict[str, tuple[str, dict[str, str]]] = {
    "ps203_attribute_of_a_settings_module": ("PS203", {
        "case.py": "from sqlalchemy import create_engine\n\nimport settings\n\n"
                   "engine = create_engine(" + U + ", **settings.OPTS)\n",
        "settings.py": "OPTS = {}\nOPTS[\"pool_pre_ping\"] = True\n"}),
    "ps203_imported_name_updated": ("PS203", {
        "case.py": "from sqlalchemy import create_engine\n\nfrom settings import OPTS\n\n"
                   "engine = create_engine(" + U + ", **OPTS)\n",
        "settings.py": "OPTS = {}\nOPTS.update(pool_pre_ping=True)\n"}),
    "ps211_mysql_engine_options_of_a_settings_module": ("PS211", {
        "case.py": "from sqlalchemy import create_engine\n\nimport settings\n\n"
                   "engine = create_engine(" + M + ", **settings.OPTS)\n",
        "settings.py": "OPTS = {}\nOPTS[\"pool_pre_ping\"] = True\n"}),
}


@pytest.mark.parametrize("name", sorted(WRITTEN_ELSEWHERE))
def test_a_keyword_beside_a_mapping_written_elsewhere_is_unsafe(name: str) -> None:
    code, files = WRITTEN_ELSEWHERE[name]
    result = fix_sources(files, ScanOptions(select={code}), unsafe=False)
    assert result.sources() == files and not result.applied, result.sources()
    assert any("unsafe fix available" in x.reason and "written item by item" in x.reason
               for x in result.left), [x.reason for x in result.left]
    fixed = fix_sources(files, ScanOptions(select={code}), unsafe=True).sources()["case.py"]
    assert "pool_pre_ping=True" in fixed
    checked(code, {**files, "case.py": fixed})

    # why: the keyword given twice
    def create_engine(url: str, **kw: Any) -> dict[str, Any]:
        return kw

    with pytest.raises(TypeError, match="multiple values"):
        create_engine("x", **{"pool_pre_ping": True}, pool_pre_ping=True)  # type: ignore[misc]


def test_a_mapping_of_another_module_never_written_stays_safe() -> None:
    files = {"case.py": "from sqlalchemy import create_engine\n\nimport settings\n\n"
                        "engine = create_engine(" + U + ", **settings.OPTS)\n",
             "settings.py": "OPTS = {\"pool_size\": 5}\n"}
    text, left, applied = fix_one("PS203", files, "case.py", unsafe=False)
    assert applied == [True] and "**settings.OPTS, pool_pre_ping=True" in text, (text, left)
    checked("PS203", {**files, "case.py": text})


# The exit-gap fix (`close()`'s release into a `finally`): a handler before the release
# gives `self.conn` back in a form the analysis did not read, then raises. Safe at main:
# the added `finally` gave it back a second time, `PoolError` in place of the driver's
# error; now unsafe. A handler that only logs stays safe.
EXIT_CLASS = (
    "class Conn:\n    def __init__(self):\n        self.conn = POOL.getconn()\n\n"
    "    def close(self):\n        try:\n            self.conn.cursor().execute(\"SELECT 1\")\n"
    "        except Exception:\n{handler}            raise\n        POOL.putconn(self.conn)\n"
    "\n\ndef go():\n    c = Conn()\n    c.close()\n    return \"closed\"\n")
EXIT_UNREAD = {
    "map": "            list(map(POOL.putconn, [self.conn]))\n",
    "comprehension": "            [POOL.putconn(x) for x in (self.conn,)]\n",
    "star": "            POOL.putconn(*[self.conn])\n",
}


@pytest.mark.parametrize("name", sorted(EXIT_UNREAD))
def test_exit_gap_after_an_unread_release_in_a_handler_is_unsafe(name: str) -> None:
    source = HEAD + EXIT_CLASS.format(handler=EXIT_UNREAD[name])
    fixed = unsafe_only("PS102", source, "may give `self.conn` back")
    assert _run(source, "fail", 2)[0][:2] == ("raises", "_Error")
    assert _run(fixed, "fail", 2)[0][:2] == ("raises", "_PoolError")
    assert _run(fixed, "ok", 2)[0] == _run(source, "ok", 2)[0] == ("returns", "closed")


def test_exit_gap_after_a_handler_that_only_logs_stays_safe() -> None:
    source = HEAD + EXIT_CLASS.format(handler="            print(\"failed\")\n")
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    checked("PS102", {"case.py": text})
    for mode in ("ok", "fail"):
        assert _run(text, mode, 2)[0] == _run(source, mode, 2)[0]


# PS104 (a dependency that returns a session made a generator): safe at main when the
# function is decorated or its name is used as a value outside `Depends(...)`. Under
# `@functools.lru_cache` the second request got the same, spent generator (FastAPI:
# RuntimeError "generator didn't yield" where the original answered 200); `factory =
# get_db; factory().execute(...)` got a generator (AttributeError). Now unsafe.
PS104_APP = '''\
import functools

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


{decorator}def get_db():
    return SessionLocal()


@app.get("/items")
def items(db: Session = Depends(get_db)):
    return {{"n": db.execute(text("SELECT 1")).scalar()}}
{tail}'''
PS104_UNSAFE = {
    "lru_cache": ("@functools.lru_cache\n", "", "is decorated"),
    "a_wrapper": ("@functools.cache\n", "", "is decorated"),
    "an_alias_called": ("", "\n\nfactory = get_db\n\n\ndef warm():\n"
                        "    return factory().execute(text(\"SELECT 1\"))\n", "used as a value"),
    "a_dict_value": ("", "\n\nMAKERS = {\"db\": get_db}\n", "used as a value"),
}


@pytest.mark.parametrize("name", sorted(PS104_UNSAFE))
def test_ps104_a_decorated_or_aliased_dependency_is_unsafe(name: str) -> None:
    decorator, tail, reason = PS104_UNSAFE[name]
    source = PS104_APP.format(decorator=decorator, tail=tail)
    text, left, applied = fix_one("PS104", {"main.py": source}, "main.py", unsafe=False)
    assert text == source and applied == [], text
    assert any("unsafe fix available" in r and reason in r for r in left), left
    fixed, _, unsafe_applied = fix_one("PS104", {"main.py": source}, "main.py", unsafe=True)
    assert unsafe_applied == [False] and "yield db" in fixed
    checked("PS104", {"main.py": fixed})


def test_ps104_lru_cache_generator_fails_on_the_second_request() -> None:
    # why the decorated one is unsafe, run with FastAPI and SQLite
    testclient = pytest.importorskip("fastapi.testclient")
    source = PS104_APP.format(decorator="@functools.lru_cache\n", tail="")
    fixed, _, _ = fix_one("PS104", {"main.py": source}, "main.py", unsafe=True)
    outcomes = []
    for text in (source, fixed):
        namespace: dict[str, Any] = {"__name__": "main"}
        # one SQLite connection usable from FastAPI's worker threads
        runnable = text.replace('"postgresql://db/app"', '"sqlite://", connect_args='
                                '{"check_same_thread": False}')
        exec(compile(runnable, "main.py", "exec"), namespace)
        client = testclient.TestClient(namespace["app"], raise_server_exceptions=False)
        outcomes.append([client.get("/items").status_code for _ in range(2)])
    assert outcomes == [[200, 200], [200, 500]], outcomes


def test_ps104_dependency_overrides_and_depends_keep_it_safe() -> None:
    tail = "\n\napp.dependency_overrides[get_db] = SessionLocal\n"
    source = PS104_APP.format(decorator="", tail=tail)
    text, left, applied = fix_one("PS104", {"main.py": source}, "main.py", unsafe=False)
    assert applied == [True] and "yield db" in text, (text, left)
    checked("PS104", {"main.py": text})


# The same through a project helper handed the connection: its handler gives it back
# through a loop's name for it and raises. `may_give_back` follows the helper's
# parameter (3 levels) and now the loop's name too; a helper whose loop only logs stays
# safe.
HELPER_LOOP = (
    "def helper(c):\n    try:\n        c.cursor().execute(\"SELECT 1\")\n"
    "    except Exception:\n        for x in {items}:\n            {action}\n        raise\n\n\n"
    "def go():\n    conn = POOL.getconn()\n    helper(conn)\n    cur = conn.cursor()\n"
    "    rows = cur.fetchall()\n    POOL.putconn(conn)\n    return rows\n")


def test_a_helpers_loop_name_for_the_connection_makes_the_fix_unsafe() -> None:
    source = HEAD + HELPER_LOOP.format(items="[c]", action="POOL.putconn(x)")
    fixed = unsafe_only("PS102", source, "`helper(...)` may give `conn` back")
    assert _run(source, "fail", 2)[0][:2] == ("raises", "_Error")
    assert _run(fixed, "fail", 2)[0][:2] == ("raises", "_PoolError")


def test_a_helpers_loop_over_other_values_stays_safe() -> None:
    safe_and_runs_the_same("PS102", HEAD + HELPER_LOOP.format(items="[1, 2]",
                                                              action="print(x)"), _run)

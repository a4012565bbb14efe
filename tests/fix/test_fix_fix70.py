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
from fix_checks import checked, fix_one, unsafe_only
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
    fixed = unsafe_only("PS102", source, "a second time")
    assert "finally:" in fixed, fixed
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


# ------------------------------------------------------ part 2: PS102's other fixes
#: a helper that gives the connection back in its handler and raises again
DROP = "def drop(conn):\n    POOL.putconn(conn, close=True)\n\n\n"
PREPARE = ("def prepare(conn):\n    try:\n        conn.cursor().execute(\"SET x\")\n"
           "    except psycopg2.Error:\n        drop(conn)\n        raise\n\n\n")
TAKE = "    conn = POOL.getconn()\n"
READ = "        rows = conn.cursor().fetchall()\n"
#: the caller of a function that hands its checkout on
HANDED = "\n\ndef go():\n    c = get()\n    POOL.putconn(c)\n    return 1\n"

#: name -> (source after HEAD and DROP, what the fix does now)
SHAPES: dict[str, tuple[str, str]] = {
    # the hand-on fix (`except BaseException: release; raise`)
    "hand_on_a_helper_releases_in_its_handler": (
        PREPARE + "def get():\n" + TAKE + "    prepare(conn)\n    return conn\n" + HANDED,
        "unsafe"),
    "hand_on_a_helper_by_keyword": (
        PREPARE.replace("prepare(conn)", "prepare(c=None)").replace("conn.", "c.")
        .replace("drop(conn)", "drop(c)")
        + "def get():\n" + TAKE + "    prepare(c=conn)\n    return conn\n" + HANDED, "unsafe"),
    "hand_on_a_method_releases_in_its_handler": (
        "class Repo:\n    def prepare(self, conn):\n        try:\n"
        "            conn.cursor().execute(\"SET x\")\n        except psycopg2.Error:\n"
        "            drop(conn)\n            raise\n\n    def get(self):\n"
        "        conn = POOL.getconn()\n        self.prepare(conn)\n        return conn\n\n\n"
        "def go():\n    c = Repo().get()\n    POOL.putconn(c)\n    return 1\n", "unsafe"),
    "hand_on_stored_in_an_attribute": (
        PREPARE + "class Repo:\n    def open(self):\n        conn = POOL.getconn()\n"
        "        prepare(conn)\n        self.conn = conn\n\n\n"
        "def go():\n    r = Repo()\n    r.open()\n    POOL.putconn(r.conn)\n    return 1\n",
        "unsafe"),
    "hand_on_a_function_passed_in": (
        PREPARE + "def get(setup):\n" + TAKE + "    setup(conn)\n    return conn\n\n\n"
        "def go():\n    c = get(prepare)\n    POOL.putconn(c)\n    return 1\n", "unsafe"),
    "hand_on_a_helper_that_only_rolls_back": (
        PREPARE.replace("drop(conn)", "conn.rollback()")
        + "def get():\n" + TAKE + "    prepare(conn)\n    return conn\n" + HANDED, "safe"),
    "hand_on_a_helper_that_releases_its_own_checkout": (
        "def prepare(conn):\n    other = POOL.getconn()\n    try:\n"
        "        conn.cursor().execute(\"SET x\")\n    finally:\n        drop(other)\n\n\n"
        "def get():\n" + TAKE + "    prepare(conn)\n    return conn\n" + HANDED, "safe"),
    # the try/finally fix
    "region_a_helper_releases_in_its_handler": (
        PREPARE + "def go():\n" + TAKE + "    prepare(conn)\n"
        "    rows = conn.cursor().fetchall()\n    POOL.putconn(conn)\n    return rows\n",
        "unsafe"),
    "region_release_by_helper_in_own_handler": (
        "def go():\n" + TAKE + "    try:\n" + READ + "    except psycopg2.Error:\n"
        "        drop(conn)\n        raise\n    POOL.putconn(conn)\n    return rows\n", "unsafe"),
    "region_while_continue": (
        "def go():\n" + TAKE + "    n = 0\n    while n < 2:\n        n += 1\n"
        "        if n == 1:\n            continue\n        rows = conn.cursor().fetchall()\n"
        "    POOL.putconn(conn)\n    return rows\n", "safe"),
    "region_for_else_release": (
        "def go():\n" + TAKE + "    out = []\n    for _ in range(2):\n"
        "        out.append(conn.cursor().fetchall())\n    else:\n        POOL.putconn(conn)\n"
        "    return out\n", "not fixable"),
    "region_a_retry_decorator": (
        "def retry(f):\n    @functools.wraps(f)\n    def inner():\n        try:\n"
        "            return f()\n        except psycopg2.Error:\n            return f()\n"
        "    return inner\n\n\n@retry\ndef go():\n" + TAKE
        + "    rows = conn.cursor().fetchall()\n    POOL.putconn(conn)\n    return rows\n",
        "safe"),
    "region_try_finally_already_there": (
        "def go():\n" + TAKE + "    try:\n" + READ + "    finally:\n        STATE.append(1)\n"
        "    POOL.putconn(conn)\n    return rows\n", "safe"),
    "region_finally_returns": (
        "def go():\n" + TAKE + "    rows = None\n    try:\n" + READ
        + "        POOL.putconn(conn)\n    finally:\n        return rows\n", "safe"),
    "region_generator_expression": (
        "def go():\n" + TAKE + "    rows = (r for r in conn.cursor().fetchall())\n"
        "    POOL.putconn(conn)\n    return list(rows)\n", "safe"),
    "region_walrus": (
        "def go():\n" + TAKE + "    if (rows := conn.cursor().fetchall()):\n"
        "        POOL.putconn(conn)\n        return rows\n    POOL.putconn(conn)\n"
        "    return None\n", "safe"),
    "region_try_else": (
        "def go():\n" + TAKE + "    try:\n" + READ + "    except psycopg2.Error:\n"
        "        raise\n    else:\n        POOL.putconn(conn)\n    return rows\n", "safe"),
    "region_loop_with_continue": (
        "def go():\n    out = []\n    for _ in range(2):\n        conn = POOL.getconn()\n"
        "        rows = conn.cursor().fetchall()\n        if not rows:\n"
        "            POOL.putconn(conn)\n            continue\n        out.append(rows)\n"
        "        POOL.putconn(conn)\n    return out\n", "safe"),
    "region_match": (
        "def go(k=1):\n" + TAKE + "    rows = conn.cursor().fetchall()\n    match k:\n"
        "        case 1:\n            POOL.putconn(conn)\n            return rows\n"
        "        case _:\n            POOL.putconn(conn)\n            return None\n", "unsafe"),
    "region_comments_and_continuations": (
        "def go():\n" + TAKE + "    # read\n    rows = conn.cursor() \\\n"
        "        .fetchall()  # the rows\n    # give back\n    POOL.putconn(\n"
        "        conn)  # done\n    return rows\n", "safe"),
    "region_nonlocal_checkout": (
        "def go():\n    conn = None\n\n    def take():\n        nonlocal conn\n"
        "        conn = POOL.getconn()\n    take()\n    rows = conn.cursor().fetchall()\n"
        "    POOL.putconn(conn)\n    return rows\n", "no finding"),
    # the holding-`try` fix
    "holding_try_a_helper_releases_in_the_handler": (
        "def go():\n    try:\n        conn = POOL.getconn()\n" + READ
        + "        POOL.putconn(conn)\n        return rows\n    except psycopg2.Error:\n"
        "        conn.rollback()\n        drop(conn)\n        raise\n", "unsafe"),
}

#: fixed as safe at main; the fix gave the connection back a second time
BROKEN_AT_MAIN = frozenset({
    "hand_on_a_helper_releases_in_its_handler", "hand_on_a_helper_by_keyword",
    "hand_on_a_method_releases_in_its_handler", "hand_on_stored_in_an_attribute",
    "hand_on_a_function_passed_in", "region_a_helper_releases_in_its_handler",
})
SHAPE_HEAD = HEAD.replace("import threading\n", "import functools\nimport threading\n") \
    + "STATE = []\n\n\n" + DROP


def _status(source: str) -> tuple[str, str, list[str]]:
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    if any("unsafe fix available" in r for r in left):
        return "unsafe", text, left
    if applied and all(applied):
        return "safe", text, left
    return ("not fixable" if left else "no finding"), text, left


@pytest.mark.parametrize("layout", ["lf", "crlf", "tabs"])
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_shape_is_fixed_as_expected_and_keeps_behaviour(name: str, layout: str) -> None:
    body, expected = SHAPES[name]
    source = _layouts(SHAPE_HEAD + body)[layout]
    what, text, left = _status(source)
    assert what == expected, (what, left, text)
    if what != "safe":
        assert text == source
        if name in BROKEN_AT_MAIN:
            assert any("a second time" in r for r in left), left
        return
    if layout == "crlf":
        assert "\n" not in text.replace("\r\n", "")
    checked("PS102", {"case.py": text})
    runnable, original = text.replace("\r\n", "\n"), source.replace("\r\n", "\n")
    for size in (1, 2):
        for mode in (*MODES, "shutdown"):
            assert _run(runnable, mode, size)[0] == _run(original, mode, size)[0], (size, mode)


@pytest.mark.parametrize("name", sorted(BROKEN_AT_MAIN))
def test_the_broken_shapes_raise_the_pools_error_where_the_original_raised_its_own(
        name: str) -> None:
    source = SHAPE_HEAD + SHAPES[name][0]
    fixed = unsafe_only("PS102", source, "a second time")
    for mode in ("ok", "empty"):
        assert _run(fixed, mode, 2)[0] == _run(source, mode, 2)[0], mode
    assert _run(source, "fail", 2)[0][:2] == ("raises", "_Error")
    assert _run(fixed, "fail", 2)[0][:3] == (
        "raises", "_PoolError", "trying to put unkeyed connection")


# ------------------------------------- the keyword and teardown fixes: layouts
LAYOUT_FILES: dict[str, tuple[str, str, str]] = {
    # name -> (rule, source, text the fixed file must hold)
    "ps203_comment_after_the_last_argument": ("PS203", (
        "from sqlalchemy import create_engine\n\nengine = create_engine(\n"
        "    \"postgresql://u@db/shop\"  # the url\n)\n"), "pool_pre_ping=True"),
    "ps203_a_continuation_line": ("PS203", (
        "from sqlalchemy import create_engine\n\n"
        "engine = create_engine(\"postgresql://u@db/shop\", \\\n    echo=False)\n"),
        "pool_pre_ping=True"),
    "ps211_trailing_comment_after_the_call": ("PS211", (
        "from sqlalchemy import create_engine\n\n"
        "engine = create_engine(\"mysql+pymysql://u@db/shop\",\n"
        "                       echo=True)  # trailing\n"), "pool_pre_ping=True"),
    "ps210_comment_after_an_argument": ("PS210", (
        "import asyncpg\n\n\nasync def make():\n    return await asyncpg.create_pool(\n"
        "        \"postgresql://u@pgbouncer:6432/x\",  # bouncer\n        min_size=1\n"
        "    )\n"), "statement_cache_size=0"),
    "ps205_teardown_beside_the_app": ("PS205", (
        "from flask import Flask\nfrom sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import scoped_session, sessionmaker\n\napp = Flask(__name__)\n"
        "engine = create_engine(\"postgresql://u@db/x\", pool_pre_ping=True)\n"
        "db_session = scoped_session(sessionmaker(bind=engine))\n\n\n@app.route(\"/\")\n"
        "def index():\n    return str(db_session.execute(\"SELECT 1\").scalar())\n"),
        "db_session.remove()"),
}


@pytest.mark.parametrize("layout", ["lf", "crlf", "tabs"])
@pytest.mark.parametrize("name", sorted(LAYOUT_FILES))
def test_a_keyword_or_teardown_fix_keeps_the_files_layout(name: str, layout: str) -> None:
    import ast

    rule, source, wanted = LAYOUT_FILES[name]
    source = _layouts(source)[layout]
    text, left, applied = fix_one(rule, {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    tree = ast.parse(text.replace("\r\n", "\n"))
    # the new code is code, not part of a comment
    assert wanted in ast.unparse(tree).replace(" = ", "=").replace("'", "\"")
    if layout == "crlf":
        assert "\n" not in text.replace("\r\n", "")
    if layout == "tabs":
        assert "\n    " not in text
    checked(rule, {"case.py": text})


# ------------------------- PS203 in a pydantic settings class (fixcorpus70, tune)
APP = ("from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\n"
       "from config import settings\n\ndb = SQLAlchemy()\n\n\ndef create_app():\n"
       "    app = Flask(__name__)\n    app.config.from_object(settings)\n"
       "    db.init_app(app)\n    return app\n")
SETTINGS = ("{imports}\n\nclass Settings({base}):\n"
            "    SQLALCHEMY_DATABASE_URI: str = \"postgresql://u@db/shop\"\n"
            "    SQLALCHEMY_TRACK_MODIFICATIONS: bool = False\n\n\nsettings = Settings()\n")


def _settings(text: str) -> object:
    namespace: dict[str, object] = {"__name__": "config"}
    exec(compile(text, "config.py", "exec"), namespace)
    return namespace["settings"]


@pytest.mark.parametrize("base", ["BaseModel", "Base"])
def test_a_pydantic_settings_class_gets_an_annotated_entry(base: str) -> None:
    """pydantic 2 raises PydanticUserError at import for a field with no annotation:
    main's entry (`SQLALCHEMY_ENGINE_OPTIONS = {...}`) stopped the module there."""
    imports = "from pydantic import BaseModel" + (
        "\n\n\nclass Base(BaseModel):\n    DEBUG: bool = False\n" if base == "Base" else "")
    source = SETTINGS.format(imports=imports, base=base)
    files = {"config.py": source, "app.py": APP}
    text, left, applied = fix_one("PS203", files, "config.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    assert 'SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}' in text, text
    checked("PS203", {**files, "config.py": text})
    settings = _settings(text)
    assert settings.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True}  # type: ignore[attr-defined]
    _settings(source)  # (the original imports)


def test_a_plain_config_class_keeps_the_plain_entry() -> None:
    source = SETTINGS.format(imports="", base="object")
    files = {"config.py": source, "app.py": APP}
    text, _, applied = fix_one("PS203", files, "config.py", unsafe=False)
    assert applied == [True]
    assert 'SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}' in text, text


def test_a_pydantic_class_that_inherits_options_is_not_fixed() -> None:
    imports = ("from pydantic import BaseModel\n\n\nclass Base(BaseModel):\n"
               "    SQLALCHEMY_ENGINE_OPTIONS: dict = {\"pool_size\": 5}\n")
    source = SETTINGS.format(imports=imports, base="Base")
    files = {"config.py": source, "app.py": APP}
    text, left, applied = fix_one("PS203", files, "config.py", unsafe=True)
    assert text == source and applied == [], text
    assert any("pydantic settings class inherits" in r for r in left), left

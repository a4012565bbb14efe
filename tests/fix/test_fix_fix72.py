"""fix72 (benchmarks/README.md, "fix72").

Task A: PS103's fix on a handler whose object may be unbound there (`archive = Archive()`
inside the `try`) writes `archive = None` before the `try` and guards the rollback with
`if archive is not None:`. The flow's None check ended the facts on `archive` but not on
`archive.session`, so the finding survived its own fix and `fix` stopped after ten
passes, the handler holding ten copies of the rollback. Now a `None` check also ends the
failed transaction of `obj.<attr>`: the fix settles (one pass, a second fix is a no-op),
and it stays unsafe (where `Archive()` raised, the use after the handler meets `None`,
an AttributeError, instead of an unbound name)."""

from __future__ import annotations

from typing import Any

import pytest
from fix_checks import checked, fix_one, safe_and_runs_the_same, unsafe_only
from test_fix_fix68 import HEAD, _run

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions

ARCHIVE = '''\
import logging

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


class Archive:
    session = None

    def __init__(self, engine=None, session=None):
        self.engine = engine if engine is not None else create_engine(
            "postgresql://app@db/archive", pool_pre_ping=True)
        if session is not None:
            self.session = session
        else:
            self.session = Session(self.engine)

    def count_boxes(self):
        return self.session.execute(text("SELECT count(*) FROM boxes")).scalar()


def archive_reachable():
    ok = True
    try:
        log.info("checking the archive")
        archive = Archive()
        archive.count_boxes()
    except Exception as exc:
        log.error("archive unreachable: %s", exc)
        ok = False
    archive.count_boxes()
    return ok
'''

LAYOUTS = {"lf": ARCHIVE, "crlf": ARCHIVE.replace("\n", "\r\n"),
           "tabs": ARCHIVE.replace("    ", "\t")}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_ps103_fix_of_a_maybe_unbound_object_settles_and_stays_unsafe(layout: str) -> None:
    source = LAYOUTS[layout]
    result = fix_sources({"case.py": source}, ScanOptions(select={"PS103"}), unsafe=True)
    assert not result.errors, result.errors
    # at main: ten passes, ten rollbacks, the finding left
    assert len(result.applied) == 1 and not result.left, (result.applied, result.left)
    fixed = result.sources()["case.py"]
    assert fixed.count("rollback()") == 1, fixed
    assert "archive = None" in fixed and "if archive is not None:" in fixed
    if layout == "crlf":
        assert "\n" not in fixed.replace("\r\n", "")
    checked("PS103", {"case.py": fixed})  # re-parses, compiles, a second fix is a no-op
    # unsafe: where `Archive()` raised, the use after the handler meets None
    text = unsafe_only("PS103", source, "UnboundLocalError")
    assert text == fixed


def test_the_safe_run_leaves_it_alone() -> None:
    text, left, applied = fix_one("PS103", {"case.py": ARCHIVE}, "case.py", unsafe=False)
    assert text == ARCHIVE and applied == [] and len(left) == 1, left


# Task B: adversarial shapes. `_run` (test_fix_fix68) runs `go()` against a stand-in
# psycopg2 pool: "ok", "empty" (no rows), "fail" (the first statement fails), with one
# and two slots, and gives the outcome and the connections left out of each pool.

W = ('    cur = conn.cursor()\n    cur.execute("SELECT 1")\n    rows = cur.fetchall()\n')

#: a release the analysis does not read as one, run on the normal path: the `finally`
#: the PS102 fix added gave the connection back a second time, and `PoolError("trying
#: to put unkeyed connection")` replaced the result on every path that returned (safe at
#: main); now unsafe ("may give `conn` back before the release")
GIVEN_BACK_UNSEEN: dict[str, str] = {
    "a_release_looked_up_with_getattr": (
        "def go():\n    conn = POOL.getconn()\n" + W
        + "    getattr(POOL, \"putconn\")(conn)\n    return rows\n"),
    "a_release_taken_from_a_dict": (
        "RELEASERS = {\"pg\": POOL.putconn}\n\n\ndef go():\n    conn = POOL.getconn()\n" + W
        + "    RELEASERS[\"pg\"](conn)\n    return rows\n"),
    "a_release_bound_with_functools_partial": (
        "import functools\n\n\ndef go():\n    conn = POOL.getconn()\n"
        "    give_back = functools.partial(POOL.putconn, conn)\n" + W
        + "    give_back()\n    return rows\n"),
}

#: safe at main and here; each runs as the original did (the outcome), the release
#: added only on the ways out by an exception
KEPT: dict[str, str] = {
    "checkout_reassigned_in_a_loop": (
        "def go():\n    out = []\n    for i in range(2):\n        conn = POOL.getconn()\n"
        "        cur = conn.cursor()\n        cur.execute(\"SELECT 1\")\n"
        "        out.append(cur.fetchall())\n        POOL.putconn(conn)\n    return out\n"),
    "sys_exit_before_the_release": (
        "import sys\n\n\ndef go():\n    conn = POOL.getconn()\n" + W
        + "    if rows is None:\n        sys.exit(3)\n    POOL.putconn(conn)\n    return rows\n"),
    "a_context_manager_that_swallows": (
        "class Quiet:\n    def __enter__(self):\n        return self\n\n"
        "    def __exit__(self, *exc):\n        return True\n\n\n"
        "def go():\n    rows = None\n    with Quiet():\n        conn = POOL.getconn()\n"
        "        cur = conn.cursor()\n        cur.execute(\"SELECT 1\")\n"
        "        rows = cur.fetchall()\n        POOL.putconn(conn)\n    return rows\n"),
    "a_contextmanager_that_yields_early": (
        "import contextlib\n\n\n@contextlib.contextmanager\ndef connection():\n"
        "    conn = POOL.getconn()\n    yield conn\n    POOL.putconn(conn)\n\n\n"
        "def go():\n    with connection() as c:\n        c.cursor().execute(\"SELECT 1\")\n"
        "        rows = c.cursor().fetchall()\n    return rows\n"),
    "an_assert_before_the_release": (
        "def go():\n    conn = POOL.getconn()\n" + W
        + "    assert rows is not None\n    POOL.putconn(conn)\n    return rows\n"),
    "a_release_under_a_flag": (
        "def go(keep=False):\n    conn = POOL.getconn()\n" + W
        + "    if not keep:\n        POOL.putconn(conn)\n    return rows\n"),
    "the_release_bound_to_a_name": (
        "def go():\n    conn = POOL.getconn()\n    put = POOL.putconn\n" + W
        + "    put(conn)\n    return rows\n"),
    "a_generator_abandoned_by_its_caller": (
        "def rows_of():\n    conn = POOL.getconn()\n    cur = conn.cursor()\n"
        "    cur.execute(\"SELECT 1\")\n    for r in cur.fetchall():\n        yield r\n"
        "    POOL.putconn(conn)\n\n\ndef go():\n    g = rows_of()\n    first = next(g)\n"
        "    extra = POOL.getconn()\n    POOL.putconn(extra)\n    return first\n"),
}


@pytest.mark.parametrize("layout", ["lf", "crlf"])
@pytest.mark.parametrize("name", sorted(GIVEN_BACK_UNSEEN))
def test_a_release_the_analysis_does_not_read_makes_the_fix_unsafe(name: str,
                                                                   layout: str) -> None:
    source = HEAD + GIVEN_BACK_UNSEEN[name]
    if layout == "crlf":
        source = source.replace("\n", "\r\n")
    fixed = unsafe_only("PS102", source, "may give `conn` back")
    original, runnable = source.replace("\r\n", "\n"), fixed.replace("\r\n", "\n")
    assert _run(original, "ok", 2)[0] == ("returns", [(1,)])
    # the reason it is unsafe: the original returned, the fixed text gives it back twice
    assert _run(runnable, "ok", 2)[0][:2] == ("raises", "_PoolError")


@pytest.mark.parametrize("name", sorted(KEPT))
def test_adversarial_shapes_that_stay_safe_run_the_same(name: str) -> None:
    safe_and_runs_the_same("PS102", HEAD + KEPT[name], _run)


SHADOWED = '''\
import psycopg2


def go(dsn):
    conn = psycopg2.connect(dsn)
    try:
        conn.cursor().execute("INSERT INTO t VALUES (1)")
    except psycopg2.Error as conn:
        return str(conn)
    rows = conn.cursor().fetchall()
    conn.close()
    return rows
'''


def test_ps103_leaves_a_handler_that_binds_the_connections_name() -> None:
    # at main: `conn.rollback()` written into the handler, where `conn` is the exception
    # (AttributeError where the original returned the message); now not fixable
    text, left, applied = fix_one("PS103", {"case.py": SHADOWED}, "case.py", unsafe=True)
    assert text == SHADOWED and applied == [], text
    assert any("binds `conn` to the exception" in r for r in left), left


# The import a fix adds (PS103's `from sqlalchemy.exc import SQLAlchemyError`, PS104's
# `contextmanager`, PS105's `Depends`, ...) goes after the module's import block.
HANDLER_BODY = '''

def go(engine):
    with Session(engine) as s:
        try:
            s.execute(text("INSERT INTO b VALUES (1)"))
        except Exception as exc:
            print(exc)
        s.execute(text("SELECT 1"))
'''

IMPORT_CLASHES: dict[str, tuple[str, str]] = {
    # the module's own binding of the name replaced the added import at main: the
    # guard `isinstance(exc, SQLAlchemyError)` tested ValueError, and the rollback ran
    # for a ValueError (discarding its uncommitted work) and not for a database error
    "the_name_is_assigned_after_the_imports": (
        "from sqlalchemy import text\nfrom sqlalchemy.orm import Session\n\n"
        "SQLAlchemyError = ValueError\n", "already binds `SQLAlchemyError`"),
    # the project's own class of that name, imported: the added line rebound it for
    # the rest of the module
    "another_class_of_that_name_is_imported": (
        "from sqlalchemy import text\nfrom sqlalchemy.orm import Session\n\n"
        "from errors import SQLAlchemyError\n", "already binds `SQLAlchemyError`"),
    # an optional dependency: at main the module imported without sqlalchemy, the
    # fixed one raised ImportError at import
    "sqlalchemy_is_an_optional_dependency": (
        "try:\n    from sqlalchemy import text\n    from sqlalchemy.orm import Session\n"
        "except ImportError:\n    text = Session = None\n", "only under a `try`/`if`"),
}


@pytest.mark.parametrize("name", sorted(IMPORT_CLASHES))
def test_an_import_the_module_binds_otherwise_makes_the_fix_unsafe(name: str) -> None:
    head, reason = IMPORT_CLASHES[name]
    files = {"case.py": head + HANDLER_BODY,
             "errors.py": "class SQLAlchemyError(Exception):\n    pass\n"}
    result = fix_sources(files, ScanOptions(select={"PS103"}), unsafe=False)
    assert result.sources() == files and not result.applied
    assert any("unsafe fix available" in x.reason and reason in x.reason
               for x in result.left), [x.reason for x in result.left]


def test_the_same_import_already_there_or_a_plain_module_stays_safe() -> None:
    for head in ("from sqlalchemy import text\nfrom sqlalchemy.orm import Session\n",
                 "from sqlalchemy import text\nfrom sqlalchemy.exc import SQLAlchemyError\n"
                 "from sqlalchemy.orm import Session\n"):
        text, left, applied = fix_one("PS103", {"case.py": head + HANDLER_BODY}, "case.py",
                                      unsafe=False)
        assert applied == [True] and not left, left
        assert text.count("import SQLAlchemyError") == 1
        checked("PS103", {"case.py": text})


# PS106 (a helper made a @contextmanager) and PS104 (a dependency made a generator) turn
# a `return` into a `yield`: the caller's block (the route) then runs at that point.
# Inside a `with` (a lock) the block stays entered for all of it; inside a `try` with
# handlers, they catch the caller's exceptions, thrown in at the `yield`. Both were
# fixed as safe at main; now not fixable.
PS106_HEAD = ("import threading\n\nfrom psycopg2 import pool as pg_pool\n\n"
              "POOL = pg_pool.SimpleConnectionPool(1, SIZE, host=\"db\")\n")
PS106_HELPER = (
    "LOCK = threading.Lock()\n\n\n"
    "def get_conn():\n    conn = POOL.getconn()\n    try:\n{body}    finally:\n"
    "        POOL.putconn(conn)\n\n\n"
    "def go():\n    conn = get_conn()\n    held = LOCK.locked()\n    cur = conn.cursor()\n"
    "    cur.execute(\"SELECT 1\")\n    return held\n")
PS106_HELD_OPEN = {
    "a_lock_around_the_return": "        with LOCK:\n            return conn\n",
    "a_handler_around_the_return": ("        return conn\n    except Exception:\n"
                                    "        print(\"checkout failed\")\n        raise\n"),
}


@pytest.mark.parametrize("name", sorted(PS106_HELD_OPEN))
def test_ps106_leaves_a_return_that_a_yield_would_hold_open(name: str) -> None:
    source = PS106_HEAD + PS106_HELPER.format(body=PS106_HELD_OPEN[name])
    text, left, applied = fix_one("PS106", {"case.py": source}, "case.py", unsafe=True)
    assert text == source and applied == [], text
    assert any("made a `yield`" in r for r in left), left


def test_ps106_the_lock_would_be_held_through_the_callers_block() -> None:
    # what main wrote for the lock shape, run: the caller's block ran with LOCK held
    source = PS106_HEAD + PS106_HELPER.format(body=PS106_HELD_OPEN["a_lock_around_the_return"])
    main_text = source.replace("def get_conn():", "@contextlib.contextmanager\ndef get_conn():") \
        .replace("            return conn\n", "            yield conn\n") \
        .replace("    conn = get_conn()\n    held = LOCK.locked()\n    cur = conn.cursor()\n"
                 "    cur.execute(\"SELECT 1\")\n    return held\n",
                 "    with get_conn() as conn:\n        held = LOCK.locked()\n"
                 "        cur = conn.cursor()\n        cur.execute(\"SELECT 1\")\n"
                 "        return held\n") \
        .replace("import threading", "import contextlib\nimport threading", 1)
    assert _run(source, "ok", 2)[0] == ("returns", False)
    assert _run(main_text, "ok", 2)[0] == ("returns", True)


def test_ps106_a_plain_helper_is_still_fixed() -> None:
    source = PS106_HEAD + PS106_HELPER.format(body="        return conn\n")
    text, left, applied = fix_one("PS106", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and "yield conn" in text, (text, left)
    checked("PS106", {"case.py": text})


PS104_APP = '''\
import threading

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()
LOCK = threading.Lock()


def get_db():
{body}

@app.get("/items/{{item_id}}")
def item(item_id: int, db: Session = Depends(get_db)):
    row = db.execute(text("SELECT 1")).scalar()
    return {{"row": row}}
'''
PS104_HELD_OPEN = {
    "a_handler_around_return_db": ("    db = SessionLocal()\n    try:\n        return db\n"
                                   "    except Exception:\n        print(\"failed\")\n"
                                   "        raise\n    finally:\n        db.close()\n"),
    "a_lock_around_return_db": ("    db = SessionLocal()\n    try:\n        with LOCK:\n"
                                "            return db\n    finally:\n        db.close()\n"),
    "a_lock_around_the_checkout": "    with LOCK:\n        return SessionLocal()\n",
    "a_handler_around_the_checkout": ("    try:\n        return SessionLocal()\n"
                                      "    except Exception:\n        print(\"no session\")\n"
                                      "        raise\n"),
}
PS104_FIXED = {
    "plain": "    return SessionLocal()\n",
    "the_sessions_own_with": "    with SessionLocal() as db:\n        return db\n",
}


@pytest.mark.parametrize("name", sorted(PS104_HELD_OPEN))
def test_ps104_leaves_a_return_that_a_yield_would_hold_open(name: str) -> None:
    source = PS104_APP.format(body=PS104_HELD_OPEN[name])
    text, left, applied = fix_one("PS104", {"main.py": source}, "main.py", unsafe=True)
    assert text == source and applied == [], text
    assert any("made a `yield`" in r for r in left), left


@pytest.mark.parametrize("name", sorted(PS104_FIXED))
def test_ps104_a_plain_dependency_is_still_fixed(name: str) -> None:
    source = PS104_APP.format(body=PS104_FIXED[name])
    text, left, applied = fix_one("PS104", {"main.py": source}, "main.py", unsafe=False)
    assert applied == [True] and "yield db" in text, (text, left)
    checked("PS104", {"main.py": text})


# PS203 in a config class: in an enum the added `SQLALCHEMY_ENGINE_OPTIONS = {...}` was
# a new member (safe at main: `list(Config)` gained it, and the value read by
# `from_object` was a member, not a dict); a dataclass, a NamedTuple and `__slots__` keep
# a plain class attribute, still fixed.
FLASK_APP = ("from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\n"
             "from config import Config\n\napp = Flask(__name__)\n"
             "app.config.from_object(Config)\ndb = SQLAlchemy(app)\n")
CONFIGS = {
    "enum": ("import enum\n\n\nclass Config(enum.Enum):\n"
             "    SQLALCHEMY_DATABASE_URI = \"postgresql://db/app\"\n"),
    "enum_through_a_project_base": (
        "from enum import Enum\n\n\nclass Base(Enum):\n    pass\n\n\nclass Config(Base):\n"
        "    SQLALCHEMY_DATABASE_URI = \"postgresql://db/app\"\n"),
    "dataclass": ("from dataclasses import dataclass\n\n\n@dataclass\nclass Config:\n"
                  "    SQLALCHEMY_DATABASE_URI: str = \"postgresql://db/app\"\n"),
    "slots": ("class Config:\n    __slots__ = ()\n"
              "    SQLALCHEMY_DATABASE_URI = \"postgresql://db/app\"\n"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_ps203_in_an_enum_config_is_not_fixed(name: str) -> None:
    files = {"app.py": FLASK_APP, "config.py": CONFIGS[name]}
    result = fix_sources(files, ScanOptions(select={"PS203"}), unsafe=True)
    text = result.sources()["config.py"]
    if name.startswith("enum"):
        assert text == CONFIGS[name], text
        assert any("enum class" in x.reason for x in result.left)
        return
    assert [a.safe for a in result.applied] == [True]
    namespace: dict[str, Any] = {}
    exec(compile(text, "config.py", "exec"), namespace)
    assert namespace["Config"].SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True}


# Layouts beyond test_fix_cli's (BOM, CRLF, latin-1): on disk through `poolsafe fix`;
# the fixed file decodes with its own coding, the string literal keeps its value, the
# line endings keep their kind, and a second `fix --diff` is empty.
LAYOUT_SOURCE = (
    "from psycopg2 import pool as pg_pool\n\n"
    "POOL = pg_pool.SimpleConnectionPool(1, 4, host=\"db\")\n\n\ndef go():\n"
    "    conn = POOL.getconn()\n    cur = conn.cursor()\n"
    "    cur.execute(\"SELECT 'caf\u00e9'\")\n    rows = cur.fetchall()\n"
    "    POOL.putconn(conn)\n    return rows\n")
DISK_LAYOUTS: dict[str, bytes] = {
    "cp1252_crlf": ("# coding: cp1252\r\n" + LAYOUT_SOURCE.replace("\n", "\r\n")).encode("cp1252"),
    "cr_only": LAYOUT_SOURCE.replace("\n", "\r").encode(),
    "one_crlf_line_among_lf": LAYOUT_SOURCE.replace("    rows = cur.fetchall()\n",
                                                    "    rows = cur.fetchall()\r\n").encode(),
    "form_feed_before_def": LAYOUT_SOURCE.replace("\n\ndef go", "\n\x0c\ndef go").encode(),
    "no_final_newline": LAYOUT_SOURCE.rstrip("\n").encode(),
    "bom_and_tabs": b"\xef\xbb\xbf" + LAYOUT_SOURCE.replace("    ", "\t").encode(),
}


@pytest.mark.parametrize("name", sorted(DISK_LAYOUTS))
def test_layouts_on_disk_keep_their_kind(name: str, tmp_path: Any) -> None:
    import ast
    import io
    import tokenize

    from click.testing import CliRunner

    from poolsafe.cli.main import main

    raw = DISK_LAYOUTS[name]
    f = tmp_path / "case.py"
    f.write_bytes(raw)
    first = CliRunner().invoke(main, ["fix", "--isolated", "--no-cache", "--select",
                                      "PS102", str(f)])
    assert first.exit_code == 0, first.output
    out = f.read_bytes()
    assert out != raw and b"finally:" in out
    encoding, _ = tokenize.detect_encoding(io.BytesIO(out).readline)
    assert encoding == tokenize.detect_encoding(io.BytesIO(raw).readline)[0]
    literals = [n.value for n in ast.walk(ast.parse(out)) if isinstance(n, ast.Constant)
                and isinstance(n.value, str) and "caf" in n.value]
    assert literals == ["SELECT 'caf\u00e9'"]
    if name == "one_crlf_line_among_lf":
        assert out.count(b"\r\n") == 1
    if name == "cp1252_crlf":
        assert b"\n" not in out.replace(b"\r\n", b"")
    if name == "cr_only":
        assert b"\n" not in out
    if name == "form_feed_before_def":
        assert b"\x0c" in out
    if name == "bom_and_tabs":
        assert out.startswith(b"\xef\xbb\xbf") and b"\tfinally:" in out
    again = CliRunner().invoke(main, ["fix", "--isolated", "--no-cache", "--diff",
                                      "--select", "PS102", str(f)])
    assert again.exit_code == 0 and "Would fix 0 findings" in again.output, again.output


# PS210 adds `"prepared_statement_cache_size": 0` to the module dict an engine's
# `connect_args=ARGS` names. Safe at main when the dict is also used elsewhere: a
# direct `asyncpg.connect(dsn, **ARGS)` (asyncpg's connect takes no such keyword:
# TypeError where it connected), a second engine not behind PgBouncer, a module that
# imports it. Now unsafe; a dict used by that engine alone stays safe.
PGB_ENGINE = ('ARGS = {"server_settings": {"application_name": "x"}}\n'
              'engine = create_async_engine("postgresql+asyncpg://u@pgbouncer:6432/app", '
              "pool_pre_ping=True, connect_args=ARGS)\n")
PGB_HEAD = "import asyncpg\nfrom sqlalchemy.ext.asyncio import create_async_engine\n\n"
PGB_SHARED = {
    "a_direct_asyncpg_connect": (
        PGB_HEAD + PGB_ENGINE + "\n\nasync def listen():\n"
        "    return await asyncpg.connect(\"postgresql://u@db:5432/app\", **ARGS)\n", None),
    "a_second_engine": (
        PGB_HEAD + PGB_ENGINE + 'direct = create_async_engine("postgresql+asyncpg://u@db/app", '
        "pool_pre_ping=True, connect_args=ARGS)\n", None),
    "another_module": (PGB_HEAD + PGB_ENGINE,
                       "import asyncpg\n\nfrom main import ARGS\n\n\nasync def listen():\n"
                       "    return await asyncpg.connect(\"postgresql://u@db/app\", **ARGS)\n"),
}


@pytest.mark.parametrize("name", sorted(PGB_SHARED))
def test_ps210_a_shared_connect_args_dict_is_unsafe(name: str) -> None:
    main_text, other = PGB_SHARED[name]
    files = {"main.py": main_text, "other.py": other or "x = 1\n"}
    result = fix_sources(files, ScanOptions(select={"PS210"}), unsafe=False)
    assert result.sources() == files and not result.applied
    assert any("is also used" in x.reason for x in result.left), [x.reason for x in result.left]


def test_ps210_a_dict_of_its_own_is_still_fixed() -> None:
    source = PGB_HEAD + PGB_ENGINE
    text, left, applied = fix_one("PS210", {"main.py": source}, "main.py", unsafe=False)
    assert applied == [True] and '"prepared_statement_cache_size": 0' in text, (text, left)
    checked("PS210", {"main.py": text})

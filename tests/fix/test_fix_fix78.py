"""fix78 (benchmarks/README.md, "fix78"): adversarial shapes, round 35.

PS104 (a FastAPI dependency that returns its session, made a generator that yields it)
and PS106 (a helper that returns what its `finally` gives back, made a
`@contextmanager`): the `return` became the function's only `yield`. Where a way
through the function ends without reaching it (a bare `return`, an `if` with no
`else` around it), the generator yields nothing: FastAPI answered 500 and
`@contextmanager` raised `RuntimeError("generator didn't yield")` where the original
handed its caller None. Where code follows the `return` (statements after the `if`
around it, the rest of a loop), that code ran after every request. Both safe at main
(PS104) and safe at main (PS106's bare `return` and `if`); now not fixable."""

from __future__ import annotations

from typing import Any

import pytest
from fix_checks import no_safe_fix, one_safe_fix, only_an_unsafe_fix, safe_and_runs_the_same
from test_fix_fix68 import HEAD, _run

# ------------------------------------------------------------------ PS104
PS104_APP = '''from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://", connect_args={{"check_same_thread": False}})
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()
ENABLED = {enabled}
AFTER = []


{dep}

@app.get("/one")
def one(db=Depends(get_db)):
    if db is None:
        return {{"db": None}}
    return {{"db": db.execute(text("SELECT 1")).scalar()}}
'''

_YIELD = ("{i}db = SessionLocal()\n{i}try:\n{i}    yield db\n{i}finally:\n"
          "{i}    db.close()\n")

#: name -> (the dependency, the dependency as main's safe fix wrote it, ENABLED)
PS104_BROKEN: dict[str, tuple[str, str, bool]] = {
    "a_bare_return_first": (
        "def get_db():\n    if not ENABLED:\n        return\n    return SessionLocal()\n",
        "def get_db():\n    if not ENABLED:\n        return\n" + _YIELD.format(i="    "),
        False),
    "an_if_with_no_else": (
        "def get_db():\n    if ENABLED:\n        return SessionLocal()\n",
        "def get_db():\n    if ENABLED:\n" + _YIELD.format(i="        "),
        False),
    "code_after_the_if": (
        "def get_db():\n    if ENABLED:\n        return SessionLocal()\n"
        "    AFTER.append(\"no database\")\n    raise HTTPException(503)\n",
        "def get_db():\n    if ENABLED:\n" + _YIELD.format(i="        ")
        + "    AFTER.append(\"no database\")\n    raise HTTPException(503)\n",
        True),
    "a_loop": (
        "def get_db():\n    for attempt in range(2):\n        AFTER.append(attempt)\n"
        "        return SessionLocal()\n",
        "def get_db():\n    for attempt in range(2):\n        AFTER.append(attempt)\n"
        + _YIELD.format(i="        "),
        True),
    "code_after_the_sessions_own_with": (
        "def get_db():\n    if ENABLED:\n        with SessionLocal() as db:\n"
        "            return db\n    AFTER.append(\"no database\")\n",
        "def get_db():\n    if ENABLED:\n        with SessionLocal() as db:\n"
        "            yield db\n    AFTER.append(\"no database\")\n",
        True),
}

#: look-alikes: every other way raises, or nothing follows; safe at main and here
PS104_KEPT: dict[str, str] = {
    "a_guard_that_raises_first": (
        "def get_db():\n    if not ENABLED:\n        raise HTTPException(503)\n"
        "    return SessionLocal()\n"),
    "an_else_that_raises": (
        "def get_db():\n    if ENABLED:\n        return SessionLocal()\n    else:\n"
        "        raise HTTPException(503)\n"),
    "a_nested_function_with_its_own_bare_return": (
        "def get_db():\n    def note():\n        AFTER.append(1)\n        return\n"
        "    note()\n    return SessionLocal()\n"),
}


def _get_one(text: str) -> tuple[Any, list[Any]]:
    """What GET /one answers (or raises), and what the app appended to AFTER."""
    testclient = pytest.importorskip("fastapi.testclient")
    namespace: dict[str, Any] = {"__name__": "main"}
    exec(compile(text, "main.py", "exec", dont_inherit=True), namespace)
    client = testclient.TestClient(namespace["app"], raise_server_exceptions=False)
    response = client.get("/one")
    return (response.status_code, response.text), namespace["AFTER"]


@pytest.mark.parametrize("name", sorted(PS104_BROKEN))
def test_ps104_a_yield_that_may_be_skipped_or_followed_is_not_fixed(name: str) -> None:
    dep, at_main, enabled = PS104_BROKEN[name]
    source = PS104_APP.format(enabled=enabled, dep=dep)
    no_safe_fix("PS104", {"main.py": source}, "main.py", "not fixable", unsafe=True)
    # why: main's safe fix answered or acted otherwise
    fixed_at_main = PS104_APP.format(enabled=enabled, dep=at_main)
    compile(fixed_at_main, "main.py", "exec")
    assert _get_one(fixed_at_main) != _get_one(source)


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("name", sorted(PS104_KEPT))
def test_ps104_a_yield_every_other_way_raises_around_stays_safe(name: str,
                                                                  enabled: bool) -> None:
    source = PS104_APP.format(enabled=enabled, dep=PS104_KEPT[name])
    text = one_safe_fix("PS104", {"main.py": source}, "main.py")
    assert "yield db" in text
    assert _get_one(text) == _get_one(source)


# ------------------------------------------------------------------ PS106
PS106_CALLER = ("def go():\n    conn = get_connection()\n    if conn is None:\n"
                "        return \"off\"\n    return conn.cursor().fetchall()\n")
_RELEASE = ("{i}conn = POOL.getconn()\n{i}try:\n{i}    {ret} conn\n{i}finally:\n"
            "{i}    POOL.putconn(conn)\n")
#: name -> the helper (with `{ret}`: `return` in the original, `yield` at main's fix)
PS106_BROKEN: dict[str, str] = {
    "a_bare_return_first": ("ON = False\n\n\ndef get_connection():\n    if not ON:\n"
                            "        return\n" + _RELEASE.format(i="    ", ret="{ret}")),
    "an_if_with_no_else": ("ON = False\n\n\ndef get_connection():\n    if ON:\n"
                           + _RELEASE.format(i="        ", ret="{ret}")),
}
PS106_CALLER_AT_MAIN = ("def go():\n    with get_connection() as conn:\n        if conn is None:\n"
                        "            return \"off\"\n        return conn.cursor().fetchall()\n")


@pytest.mark.parametrize("name", sorted(PS106_BROKEN))
def test_ps106_a_yield_that_may_be_skipped_is_not_fixed(name: str) -> None:
    helper = PS106_BROKEN[name]
    source = HEAD + helper.format(ret="return") + "\n\n" + PS106_CALLER
    no_safe_fix("PS106", {"case.py": source}, "case.py", "not fixable", "yields nothing",
                unsafe=True)
    at_main = ("from contextlib import contextmanager\n" + HEAD
               + helper.format(ret="yield").replace("def get_connection",
                                                    "@contextmanager\ndef get_connection")
               + "\n\n" + PS106_CALLER_AT_MAIN)
    assert _run(source, "ok", 2)[0] == ("returns", "off")
    assert _run(at_main, "ok", 2)[0][:3] == ("raises", "RuntimeError", "generator didn't yield")


def test_ps106_a_guard_that_raises_first_stays_safe() -> None:
    source = HEAD + ("ON = True\n\n\ndef get_connection():\n    if not ON:\n"
                     "        raise RuntimeError(\"off\")\n"
                     + _RELEASE.format(i="    ", ret="return")
                     + "\n\ndef go():\n    conn = get_connection()\n"
                     "    return conn.cursor().fetchall()\n")
    text = safe_and_runs_the_same("PS106", source, _run)
    assert "with get_connection() as conn:" in text


# ------------------------------------------------------------------ PS103
# PS103's rollback in a swallowing handler also undoes the transaction's work done before
# the `try`; the equivalence check refuses that when the work is a method of the
# resource or of a cursor made from it (`cur.execute(...)`, `s.add(a)`). Safe at main
# where the same work went through a second name (`t = s; t.add(a)`), a walrus-bound
# cursor, or a project function handed the resource (`add_a(s, a)`). Now not fixable.
PS103_SA = ("from sqlalchemy import create_engine\nfrom sqlalchemy.exc import SQLAlchemyError\n"
            "from sqlalchemy.orm import sessionmaker\n\n"
            "engine = create_engine(\"postgresql://app@db/app\")\n"
            "Session = sessionmaker(engine)\n\n\n"
            "def add_a(s, a):\n    s.add(a)\n    s.flush()\n\n\n")
PS103_PG = "import psycopg2\n\nconn = psycopg2.connect(dsn=\"dbname=app\")\n\n\n"
_SA_SAVE = ("def save(a, b):\n    s = Session()\n{before}    try:\n        s.execute(b)\n"
            "    except SQLAlchemyError:\n        print(\"skip b\")\n    s.commit()\n"
            "    s.close()\n")
_PG_SAVE = ("def save(a, b):\n{before}    try:\n"
            "        cur.execute(\"INSERT INTO t VALUES (%s)\", (b,))\n"
            "    except psycopg2.Error:\n        print(\"skip b\")\n    conn.commit()\n")
PS103_EARLIER_WORK: dict[str, tuple[str, str]] = {
    "a_project_function_handed_the_session": (
        PS103_SA + _SA_SAVE.format(before="    add_a(s, a)\n"), "add_a(s, a)"),
    "a_second_name_for_the_session": (
        PS103_SA + _SA_SAVE.format(before="    t = s\n    t.add(a)\n    t.flush()\n"), "t.add(a)"),
    "a_walrus_bound_cursor": (
        PS103_PG + _PG_SAVE.format(
            before="    (cur := conn.cursor()).execute(\"INSERT INTO t VALUES (%s)\", (a,))\n"),
        "(cur := conn.cursor()).execute"),
}
PS103_NO_EARLIER_WORK: dict[str, str] = {
    "a_log_line_naming_the_session": PS103_SA + _SA_SAVE.format(
        before="    print(\"saving with\", s)\n"),
    "a_pure_builtin_of_the_session": PS103_SA + _SA_SAVE.format(
        before="    assert isinstance(s, object)\n"),
    "earlier_work_committed": PS103_SA + _SA_SAVE.format(
        before="    add_a(s, a)\n    s.commit()\n"),
}


@pytest.mark.parametrize("name", sorted(PS103_EARLIER_WORK))
def test_ps103_a_rollback_that_undoes_earlier_work_through_another_name_is_not_fixed(
        name: str) -> None:
    source, work = PS103_EARLIER_WORK[name]
    no_safe_fix("PS103", {"case.py": source}, "case.py", "not fixable", "also undoes", work,
                unsafe=True)


@pytest.mark.parametrize("name", sorted(PS103_NO_EARLIER_WORK))
def test_ps103_a_rollback_with_no_earlier_work_stays_safe(name: str) -> None:
    source = PS103_NO_EARLIER_WORK[name]
    text = one_safe_fix("PS103", {"case.py": source}, "case.py")
    assert "        s.rollback()\n        print(\"skip b\")" in text, text


# ------------------------------------------------------------------ PS102, round 34's left
# A release through a name bound to what a call hands back: a function of the module that
# returns the pool's release (a method, a lambda, a function it defines), or a mapping's
# `.get(...)`. The added `finally` gave the connection back a second time: psycopg2's
# `PoolError` where the original returned (safe at main). Now unsafe.
def _released_through(factory: str, call: str) -> str:
    return (HEAD + factory + "def go():\n    conn = POOL.getconn()\n"
            "    cur = conn.cursor()\n    cur.execute(\"SELECT 1\")\n    rows = cur.fetchall()\n"
            f"    release = {call}\n    release(conn)\n    return rows\n")


RELEASE_MADE_BY_A_CALL: dict[str, str] = {
    "a_function_returning_the_method": _released_through(
        "def make_releaser():\n    return POOL.putconn\n\n\n", "make_releaser()"),
    "a_function_returning_a_lambda": _released_through(
        "def make_releaser():\n    return lambda c: POOL.putconn(c)\n\n\n", "make_releaser()"),
    "a_function_returning_its_own_function": _released_through(
        "def make_releaser(pool):\n    def put(c):\n        pool.putconn(c)\n\n"
        "    return put\n\n\n",
        "make_releaser(POOL)"),
    "a_mappings_get": _released_through("RELEASERS = {\"pg\": POOL.putconn}\n\n\n",
                                        "RELEASERS.get(\"pg\")"),
}


@pytest.mark.parametrize("name", sorted(RELEASE_MADE_BY_A_CALL))
def test_ps102_a_release_through_a_name_a_call_made_is_unsafe(name: str) -> None:
    source = RELEASE_MADE_BY_A_CALL[name]
    fixed = only_an_unsafe_fix("PS102", {"case.py": source}, "case.py", "may give `conn` back",
                               "finally:\n        POOL.putconn(conn)")
    for mode in ("ok", "empty"):
        assert _run(source, mode, 2)[0][0] == "returns"
        # why it is unsafe: the fixed text gives it back a second time
        assert _run(fixed, mode, 2)[0][:2] == ("raises", "_PoolError")


def test_ps102_a_name_a_call_made_that_releases_nothing_stays_safe() -> None:
    source = (HEAD + "class Checker:\n    def __call__(self, c):\n"
              "        return c is not None\n\n\n"
              "def make_checker():\n    return Checker()\n\n\ndef go():\n"
              "    conn = POOL.getconn()\n    rows = conn.cursor().fetchall()\n"
              "    check = make_checker()\n    ok = check(conn)\n    POOL.putconn(conn)\n"
              "    return rows, ok\n")
    safe_and_runs_the_same("PS102", source, _run)


# ------------------------------------------------------------------ PS105, round 34's left
# A session made in a route becomes `Depends(get_db)`; FastAPI's per-request cache covers
# the dependencies a route, its router, its app or `include_router(...)` declares with
# `dependencies=[Depends(...)]` too, so the new parameter got the session those opened,
# where the route had made one of its own (safe at main; executed with FastAPI: the two
# sessions' `hash_key` equal in the fixed app, not in the original). Now unsafe.
PS105_DECLARED_APP = '''from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://", connect_args={{"check_same_thread": False}})
SessionLocal = sessionmaker(bind=engine)
HELD = {{}}


def get_db():
    db = SessionLocal()
    HELD["db"] = db
    try:
        yield db
    finally:
        db.close()


def current_user(db: Session = Depends(get_db)):
    return db


app = FastAPI({app})
router = APIRouter({router})


@router.post("/log"{route})
def log():
    audit = SessionLocal()
    same = audit.hash_key == HELD["db"].hash_key if "db" in HELD else None
    audit.close()
    return {{"same": same}}


app.include_router(router{include})
'''
PS105_DECLARED: dict[str, dict[str, str]] = {
    "on_the_route": {"route": ", dependencies=[Depends(get_db)]"},
    "on_the_route_through_another_dependency": {
        "route": ", dependencies=[Depends(current_user)]"},
    "on_the_router": {"router": "dependencies=[Depends(get_db)]"},
    "on_include_router": {"include": ", dependencies=[Depends(get_db)]"},
    "on_the_app_through_another_dependency": {"app": "dependencies=[Depends(current_user)]"},
}


def _declared_app(**parts: str) -> str:
    return PS105_DECLARED_APP.format(**{"app": "", "router": "", "route": "",
                                        "include": "", **parts})


def _post(text: str) -> Any:
    testclient = pytest.importorskip("fastapi.testclient")
    namespace: dict[str, Any] = {"__name__": "main"}
    exec(compile(text, "main.py", "exec", dont_inherit=True), namespace)
    return testclient.TestClient(namespace["app"]).post("/log").json()


@pytest.mark.parametrize("name", sorted(PS105_DECLARED))
def test_ps105_a_dependency_declared_with_dependencies_is_unsafe(name: str) -> None:
    source = _declared_app(**PS105_DECLARED[name])
    fixed = only_an_unsafe_fix("PS105", {"main.py": source}, "main.py", "the same session",
                               "audit: Session = Depends(get_db)")
    assert _post(source) == {"same": False}
    assert _post(fixed) == {"same": True}


def test_ps105_a_route_with_no_declared_dependency_stays_safe() -> None:
    source = _declared_app()
    text = one_safe_fix("PS105", {"main.py": source}, "main.py")
    # no `get_db` ran in the original; in the fixed app the only one is the route's own
    assert _post(source) == {"same": None}
    assert _post(text) == {"same": True}


# ------------------------------------------------------------------ PS205, round 34's left
# PS205's teardown handler removes the scoped session when the app context ends; a body
# Flask streams runs after that (fix76). Safe at main where the streamed body was a
# generator imported from another module, a generator the view returns itself (Flask
# streams an iterator a view returns), or Flask's `stream_template_string(...)`: the
# lazy `user.posts` raised DetachedInstanceError where the original answered (executed,
# Flask + SQLite). Now unsafe.
from test_fix_fix76 import FLASK_APP  # noqa: E402

STREAMS = ('def rows(users):\n    for user in users:\n'
           '        yield f"{user.name},{len(user.posts)}\\n"\n')
_TEMPLATE = '"{% for u in users %}{{ u.name }},{{ u.posts|length }}\\n{% endfor %}"'
#: name -> (the view's last line, the modules beside app.py)
PS205_STREAMED: dict[str, tuple[str, dict[str, str]]] = {
    "an_imported_generator": (
        "    from streams import rows as imported_rows\n"
        "    return Response(imported_rows(users), mimetype=\"text/csv\")\n",
        {"streams.py": STREAMS}),
    "an_imported_generator_through_its_module": (
        "    import streams\n    return Response(streams.rows(users), mimetype=\"text/csv\")\n",
        {"streams.py": STREAMS}),
    "a_generator_the_view_returns": ("    return rows()\n", {}),
    "stream_template_string": (
        "    from flask import stream_template_string\n"
        f"    return stream_template_string({_TEMPLATE}, users=users)\n", {}),
}


def _streamed_app(last: str) -> str:
    head, _ = FLASK_APP.split("    return Response({body}")
    return head.replace("{{", "{").replace("}}", "}") + last


def _export_with(text: str, others: dict[str, str]) -> Any:
    import sys
    import types
    saved = {name: sys.modules.get(name[:-3]) for name in others}
    try:
        for name, other in others.items():
            module = types.ModuleType(name[:-3])
            exec(compile(other, name, "exec", dont_inherit=True), module.__dict__)
            sys.modules[name[:-3]] = module
        namespace: dict[str, Any] = {"__name__": "flask_case"}
        exec(compile(text, "app.py", "exec", dont_inherit=True), namespace)
        client = namespace["app"].test_client()
        try:
            response = client.get("/export")
            return response.status_code, response.get_data(as_text=True)
        except Exception as exc:  # the outcome is compared, whatever it is
            return type(exc).__name__
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name[:-3], None)
            else:
                sys.modules[name[:-3]] = module


@pytest.mark.parametrize("name", sorted(PS205_STREAMED))
def test_ps205_a_body_streamed_otherwise_makes_the_teardown_fix_unsafe(name: str) -> None:
    pytest.importorskip("flask")
    last, others = PS205_STREAMED[name]
    assert_streamed_fix_unsafe_and_detached(last, others)


def assert_streamed_fix_unsafe_and_detached(last: str, others: dict[str, str]) -> None:
    """PS205's only fix of the streamed app is unsafe, and rightly: the original answers,
    the fixed app ends the session before the body is streamed."""
    source = _streamed_app(last)
    files = {"app.py": source, **others}
    fixed = only_an_unsafe_fix("PS205", files, "app.py", "stream", "db_session.remove()")
    assert _export_with(source, others) == (200, "ann,2\n")
    assert _export_with(fixed, others) == "DetachedInstanceError"


def test_ps205_an_imported_function_that_builds_the_body_stays_safe() -> None:
    pytest.importorskip("flask")
    others = {"streams.py": "def csv(users):\n"
                            "    return \"\".join(\n"
                            "        f\"{u.name},{len(u.posts)}\\n\" for u in users)\n"}
    source = _streamed_app("    from streams import csv\n"
                           "    return Response(csv(users), mimetype=\"text/csv\")\n")
    files = {"app.py": source, **others}
    text = one_safe_fix("PS205", files, "app.py")
    assert _export_with(text, others) == _export_with(source, others) == (200, "ann,2\n")


# ------------------------------------------------------------------ PS206
# PS206 wraps a job's work after `app = create_app()` in `with app.app_context():`. Where
# the project's Celery task class already runs every task inside an app context (Flask's
# documented `class FlaskTask(Task): def __call__(...): with app.app_context(): ...`,
# set as `Celery(task_cls=...)` or `celery.Task = ...`), the original job worked, in
# that app's context (its session, its engine); the fixed one moves the work to the new
# app's context: another session and engine, another configuration (executed with
# Flask-SQLAlchemy 3.1.1 outside the shared venv: the original counted the outer app's
# rows, the fixed job raised OperationalError "no such table" on the new app's
# database). Safe at main; now unsafe.
PS206_FACTORY = '''from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app(uri="sqlite:///:memory:"):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    db.init_app(app)
    return app


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
'''
PS206_TASKS = '''from celery import Celery, Task
from factory import create_app, db, User

flask_app = create_app("sqlite:////tmp/app.db")
{task_class}

@celery.task
def cleanup():
    app = create_app()
    return User.query.count()
'''
_CONTEXT_TASK = ('\n\nclass FlaskTask(Task):\n    def __call__(self, *args, **kwargs):\n'
                 '        with flask_app.app_context():\n'
                 '            return self.run(*args, **kwargs)\n\n\n')
PS206_CONTEXT_TASKS: dict[str, str] = {
    "task_cls": _CONTEXT_TASK + "celery = Celery(__name__, task_cls=FlaskTask)\n",
    "celery_task_assigned": _CONTEXT_TASK + "celery = Celery(__name__)\ncelery.Task = FlaskTask\n",
}


@pytest.mark.parametrize("name", sorted(PS206_CONTEXT_TASKS))
def test_ps206_a_task_class_that_pushes_a_context_makes_the_fix_unsafe(name: str) -> None:
    files = {"factory.py": PS206_FACTORY,
             "tasks.py": PS206_TASKS.format(task_class=PS206_CONTEXT_TASKS[name])}
    only_an_unsafe_fix("PS206", files, "tasks.py", "FlaskTask", "with app.app_context():")


def test_ps206_a_task_class_without_a_context_stays_safe() -> None:
    plain = "\n\ncelery = Celery(__name__)\n"
    files = {"factory.py": PS206_FACTORY, "tasks.py": PS206_TASKS.format(task_class=plain)}
    one_safe_fix("PS206", files, "tasks.py")

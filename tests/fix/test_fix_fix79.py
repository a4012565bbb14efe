"""fix79 (benchmarks/README.md, "fix79"): the shapes fix78b left, round 36.

PS102: a release through a name bound to what a factory reached at run time makes
(`getattr(rel, "make_releaser")(POOL)`, `MAKERS["pg"](POOL)`, `globals()[...]`), or to a callable
instance of a project class whose `__call__` gives back what it is handed
(`release = Releaser(POOL)`; imported; made by a factory): the added `finally` gave the
connection back a second time (psycopg2's `PoolError` where the original returned).
Safe at main; now unsafe.

PS103: work before the `try` through an object that holds the module's connection or
session (`repo.add(a)`, `repo.session.add(a)`, in a function or a view): the added
rollback also undoes it. Safe at main; now not fixable. A view on the module's one
session object, made at import and shared by every request: the rollback also discards
what an earlier request left uncommitted, which the original's commit kept. Safe at
main; now unsafe.

PS205: a streamed body handed to a helper of another module that gives it to
`Response(...)`: the body ran after the new teardown handler (`DetachedInstanceError`
where the original answered). Safe at main; now unsafe."""

from __future__ import annotations

from typing import Any

import pytest
from fix_checks import no_safe_fix, one_safe_fix, only_an_unsafe_fix
from test_fix_fix78b import (
    _released_through,
    _run_with,
    assert_only_unsafe_and_given_back_twice,
)

# ------------------------------------------------------------------ PS102
_RELEASER = ("class Releaser:\n    def __init__(self, pool):\n        self.pool = pool\n\n"
             "    def __call__(self, c):\n        self.pool.putconn(c)\n\n\n")
_MAKER = "def make_releaser(pool):\n    return pool.putconn\n"


#: name -> (case.py, the modules beside it)
PS102_MADE_AT_RUN_TIME: dict[str, tuple[str, dict[str, str]]] = {
    "a_factory_through_getattr_of_its_module": (
        _released_through("import rel\n\n\n", "getattr(rel, \"make_releaser\")(POOL)"),
        {"rel.py": _MAKER}),
    "a_factory_through_globals": (
        _released_through(_MAKER + "\n\n", "globals()[\"make_releaser\"](POOL)"), {}),
    "a_factory_from_a_table": (
        _released_through(_MAKER + "\n\nMAKERS = {\"pg\": make_releaser}\n\n\n",
                          "MAKERS[\"pg\"](POOL)"), {}),
    "a_callable_instance": (_released_through(_RELEASER, "Releaser(POOL)"), {}),
    "a_callable_instance_of_an_imported_class": (
        _released_through("from rel import Releaser\n\n\n", "Releaser(POOL)"),
        {"rel.py": _RELEASER}),
    "a_callable_instance_of_a_subclass": (
        _released_through(_RELEASER + "class PgReleaser(Releaser):\n    pass\n\n\n",
                          "PgReleaser(POOL)"), {}),
    "a_factory_returning_a_callable_instance": (
        _released_through(_RELEASER + "def make(pool):\n    return Releaser(pool)\n\n\n",
                          "make(POOL)"), {}),
}


@pytest.mark.parametrize("name", sorted(PS102_MADE_AT_RUN_TIME))
def test_ps102_a_release_made_at_run_time_or_by_a_callable_instance_is_unsafe(
        name: str) -> None:
    source, others = PS102_MADE_AT_RUN_TIME[name]
    assert_only_unsafe_and_given_back_twice(source, others)


#: look-alikes: a callable instance whose `__call__` gives nothing back, a factory from a
#: table that makes no release
PS102_NO_RELEASE: dict[str, str] = {
    "a_callable_instance_that_only_checks": _released_through(
        "class Checker:\n    def __call__(self, c):\n        return c is not None\n\n\n",
        "Checker()").replace("    release(conn)\n", "    ok = release(conn)\n"
                             "    POOL.putconn(conn)\n"),
    "a_callable_instance_that_reads_with_it": _released_through(
        "class Reader:\n    def __call__(self, c):\n        return c.cursor().fetchall()\n\n\n",
        "Reader()").replace("    release(conn)\n", "    more = release(conn)\n"
                            "    POOL.putconn(conn)\n"),
}


@pytest.mark.parametrize("name", sorted(PS102_NO_RELEASE))
def test_ps102_a_callable_that_gives_nothing_back_stays_safe(name: str) -> None:
    source = PS102_NO_RELEASE[name]
    text = one_safe_fix("PS102", {"case.py": source}, "case.py")
    for size in (1, 2):
        for mode in ("ok", "empty", "fail"):
            before, kept = _run_with(source, {}, mode, size)
            after, out = _run_with(text, {}, mode, size)
            assert after == before and sum(out) <= sum(kept), (mode, size, before, after)


# ------------------------------------------------------------------ PS103
# Work before the `try` through an object that holds the module's connection or session:
# the equivalence check reads the function's own names, `_earlier_work_elsewhere`
# (fix78b) project functions that name the module's resource themselves; neither read
# `repo.add(a)` where `repo = Repo(conn)`. The added rollback also undoes that work, and
# the code after the handler goes on as if it were kept (the standard of fix78's direct
# forms, read, not executed: no PostgreSQL here).
_PG = ("import psycopg2\n{flask}\nconn = psycopg2.connect(dsn=\"dbname=app\")\n{app}\n\n"
       "class Repo:\n    def __init__(self, c):\n        self.c = c\n\n"
       "    def add(self, a):\n"
       "        self.c.cursor().execute(\"INSERT INTO t VALUES (%s)\", (a,))\n\n\n"
       "class Held:\n    c = conn\n\n    def add(self, a):\n"
       "        self.c.cursor().execute(\"INSERT INTO t VALUES (%s)\", (a,))\n\n\n"
       "repo = Repo(conn)\nheld = Held()\n\n\n")
_PG_SAVE = ("{route}def save(a=1, b=2):\n{before}    cur = conn.cursor()\n    try:\n"
            "        cur.execute(\"INSERT INTO t VALUES (%s)\", (b,))\n"
            "    except psycopg2.Error:\n        print(\"skip b\")\n    conn.commit()\n"
            "    return \"ok\"\n")
_SA = ("from sqlalchemy import create_engine\nfrom sqlalchemy.exc import SQLAlchemyError\n"
       "from sqlalchemy.orm import scoped_session, sessionmaker\n\n"
       "engine = create_engine(\"postgresql://app@db/app\")\n"
       "Session = scoped_session(sessionmaker(engine))\n\n\n"
       "class Repo:\n    def __init__(self, session):\n        self.session = session\n\n"
       "    def add(self, a):\n        self.session.add(a)\n        self.session.flush()\n\n\n"
       "repo = Repo(Session)\n\n\n"
       "def save(a, b):\n{before}    try:\n        Session.execute(b)\n"
       "    except SQLAlchemyError:\n        print(\"skip b\")\n    Session.commit()\n")


def _pg(before: str, view: bool = False) -> str:
    return (_PG.format(flask="from flask import Flask\n" if view else "",
                       app="app = Flask(__name__)\n" if view else "")
            + _PG_SAVE.format(route="@app.post(\"/save\")\n" if view else "", before=before))


#: name -> (the source, the earlier call the reason names)
PS103_THROUGH_A_HOLDER: dict[str, tuple[str, str]] = {
    "a_module_object_made_with_the_connection": (_pg("    repo.add(a)\n"), "repo.add(a)"),
    "a_class_attribute_naming_the_connection": (_pg("    held.add(a)\n"), "held.add(a)"),
    "in_a_view": (_pg("    repo.add(a)\n", view=True), "repo.add(a)"),
    "a_scoped_session_through_an_object": (_SA.format(before="    repo.add(a)\n"),
                                           "repo.add(a)"),
    "a_scoped_session_through_an_attribute_of_an_object": (
        _SA.format(before="    repo.session.add(a)\n"), "repo.session.add(a)"),
}


@pytest.mark.parametrize("name", sorted(PS103_THROUGH_A_HOLDER))
def test_ps103_a_rollback_that_undoes_work_through_a_holder_is_not_fixed(name: str) -> None:
    source, work = PS103_THROUGH_A_HOLDER[name]
    no_safe_fix("PS103", {"case.py": source}, "case.py", "not fixable", "also undoes",
                f"`{work}`", unsafe=True)


#: look-alikes: an object that does not hold the connection, or the work committed
PS103_NO_HOLDER: dict[str, str] = {
    "an_object_made_without_the_connection": (
        _pg("    Repo(None)\n").replace("repo = Repo(conn)\n", "repo = Repo(None)\n")),
    "the_work_through_the_object_committed": _pg("    repo.add(a)\n    conn.commit()\n"),
    "a_view_with_no_earlier_work": _pg("", view=True),
}


@pytest.mark.parametrize("name", sorted(PS103_NO_HOLDER))
def test_ps103_a_rollback_with_no_work_through_a_holder_stays_safe(name: str) -> None:
    source = PS103_NO_HOLDER[name]
    text = one_safe_fix("PS103", {"case.py": source}, "case.py")
    assert "conn.rollback()" in text, text


# A view on the module's one session object (`session = SessionLocal()` at import): its
# transaction is the process's, so it may hold what an earlier request did and did not
# commit; `_shared_transaction` took any view's session to begin with the request. A
# failure in the `try` that SQLAlchemy raises before sending anything (a bind parameter
# left without a value: `StatementError`, nothing aborted on the server) left that work
# for the original's commit; the rollback the fix adds discards it. Executed below on
# SQLite (the same SQLAlchemy calls; the rule's finding needs the PostgreSQL URL, so the
# run swaps it).
PS103_VIEW = '''from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app")
{session}
app = Flask(__name__)


@app.post("/queue")
def queue():
    {name}.execute(text("INSERT INTO t VALUES (1)"))
    return "queued"


@app.post("/save")
def save():
    try:
        found = {name}.execute(text("INSERT INTO t VALUES (:x)"), {{"y": 2}})
    except SQLAlchemyError:
        found = None
    {name}.commit()
    return "saved" if found is not None else "skipped"
'''
PS103_MADE_AT_IMPORT = {
    "a_session_made_at_import": ("session = sessionmaker(engine)()", "session"),
    "a_session_of_a_module_factory": (
        "SessionLocal = sessionmaker(engine)\nsession = SessionLocal()", "session"),
}


def _queue_then_save(text: str) -> Any:
    pytest.importorskip("flask")
    runnable = text.replace("postgresql://app@db/app", "sqlite://").replace(
        "create_engine(\"sqlite://\")",
        "create_engine(\"sqlite://\", poolclass=__import__(\"sqlalchemy.pool\").pool.StaticPool,"
        " connect_args={\"check_same_thread\": False})")
    namespace: dict[str, Any] = {"__name__": "flask_case"}
    exec(compile(runnable, "case.py", "exec", dont_inherit=True), namespace)
    from sqlalchemy import text as sql
    with namespace["engine"].begin() as conn:
        conn.execute(sql("CREATE TABLE t (x INTEGER)"))
    client = namespace["app"].test_client()
    answers = [client.post("/queue").get_data(as_text=True),
               client.post("/save").get_data(as_text=True)]
    with namespace["engine"].connect() as conn:
        return answers, conn.execute(sql("SELECT count(*) FROM t")).scalar()


@pytest.mark.parametrize("name", sorted(PS103_MADE_AT_IMPORT))
def test_ps103_a_view_on_a_session_made_at_import_is_unsafe(name: str) -> None:
    session, var = PS103_MADE_AT_IMPORT[name]
    source = PS103_VIEW.format(session=session, name=var)
    fixed = only_an_unsafe_fix("PS103", {"case.py": source}, "case.py",
                               f"`{var}` outlives this call", f"{var}.rollback()")
    # the earlier request's row: kept by the original's commit, discarded by the fix
    assert _queue_then_save(source) == (["queued", "skipped"], 1)
    assert _queue_then_save(fixed) == (["queued", "skipped"], 0)


def test_ps103_a_view_on_a_scoped_session_stays_safe() -> None:
    # a registry hands each thread (each request, with its teardown) its own session:
    # the view's exemption stands (an over-approximation where nothing removes it)
    source = PS103_VIEW.format(
        session="from sqlalchemy.orm import scoped_session\n"
                "Session = scoped_session(sessionmaker(engine))", name="Session")
    one_safe_fix("PS103", {"case.py": source}, "case.py")


# ------------------------------------------------------------------ PS205
# A streamed body handed to a helper of another module that gives it to `Response(...)`
# (`_handed_to_parameters`, fix78b, binds parameters within a module): the body ran
# after the new teardown handler, `DetachedInstanceError` where the original answered
# (executed, Flask + SQLAlchemy on SQLite, fix76's app).
from test_fix_fix78 import _export_with, _streamed_app, assert_streamed_fix_unsafe_and_detached  # noqa: E402

_HELPER = ("from flask import Response\n\n\ndef csv_response(body):\n"
           "    return Response(body, mimetype=\"text/csv\")\n")
#: name -> (the view's last lines, the modules beside it)
PS205_HANDED_ELSEWHERE: dict[str, tuple[str, dict[str, str]]] = {
    "an_imported_helper": (
        "    from views_util import csv_response\n    return csv_response(rows())\n",
        {"views_util.py": _HELPER}),
    "an_imported_helper_renamed": (
        "    from views_util import csv_response as respond\n    return respond(rows())\n",
        {"views_util.py": _HELPER}),
    "a_helper_through_its_module": (
        "    import views_util\n    return views_util.csv_response(rows())\n",
        {"views_util.py": _HELPER}),
    "by_keyword": (
        "    from views_util import csv_response\n    return csv_response(body=rows())\n",
        {"views_util.py": _HELPER}),
    "a_helper_handing_it_to_a_third_module": (
        "    from views_util import send\n    return send(rows())\n",
        {"responses.py": _HELPER,
         "views_util.py": "from responses import csv_response\n\n\ndef send(out):\n"
                          "    return csv_response(out)\n"}),
}


@pytest.mark.parametrize("name", sorted(PS205_HANDED_ELSEWHERE))
def test_ps205_a_body_handed_to_a_helper_of_another_module_is_unsafe(name: str) -> None:
    pytest.importorskip("flask")
    last, others = PS205_HANDED_ELSEWHERE[name]
    assert_streamed_fix_unsafe_and_detached(last, others)


#: look-alikes: the helper of another module is handed a built body, or builds it itself
PS205_BUILT_ELSEWHERE: dict[str, tuple[str, dict[str, str]]] = {
    "a_built_body_handed": (
        "    from views_util import csv_response\n"
        "    return csv_response(\"\".join(rows()))\n", {"views_util.py": _HELPER}),
    "the_helper_builds_it": (
        "    from views_util import csv_response\n    return csv_response(rows())\n",
        {"views_util.py": "from flask import Response\n\n\ndef csv_response(body):\n"
                          "    return Response(\"\".join(body), mimetype=\"text/csv\")\n"}),
}


@pytest.mark.parametrize("name", sorted(PS205_BUILT_ELSEWHERE))
def test_ps205_a_body_built_before_the_view_returns_stays_safe(name: str) -> None:
    pytest.importorskip("flask")
    last, others = PS205_BUILT_ELSEWHERE[name]
    source = _streamed_app(last)
    files = {"app.py": source, **others}
    text = one_safe_fix("PS205", files, "app.py")
    assert _export_with(text, others) == _export_with(source, others) == (200, "ann,2\n")

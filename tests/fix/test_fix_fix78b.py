"""fix78b (benchmarks/README.md, "fix78b"): the shapes fix78 left, round 35.

PS102: a release through a name bound to what a project factory makes, where the
factory is imported from another module (renamed, or reached through its module or its
class), returns `partial(pool.putconn)` (`partial` imported under another name), or
returns what another factory makes: the added `finally` gave the connection back a
second time (psycopg2's `PoolError` where the original returned). Safe at main; now
unsafe.

PS205: a streamed body handed to `Response(...)` / `stream_with_context(...)` (or
returned by the view) through a name bound to it (`gen = rows(); return Response(gen)`,
`body = gen`), or lazily (`map(...)`, `iter(rows())`, `itertools.chain(...)`, the
generator function renamed): the body ran after the new teardown handler removed the session
(`DetachedInstanceError` where the original answered). Safe at main; now unsafe.

PS103: see the section below."""

from __future__ import annotations

from typing import Any

import pytest
from fix_checks import no_safe_fix, one_safe_fix, only_an_unsafe_fix
from stand_in_driver import installed
from test_fix_fix68 import HEAD, _run

# ------------------------------------------------------------------ PS102
#: the other module: `make_releaser(pool)` hands back the pool's release
RELEASERS: dict[str, str] = {
    "method": "def make_releaser(pool):\n    return pool.putconn\n",
    "own_function": ("def make_releaser(pool):\n    def put(c):\n        pool.putconn(c)\n\n"
                     "    return put\n"),
    "partial": ("import functools\n\n\ndef make_releaser(pool):\n"
                "    return functools.partial(pool.putconn)\n"),
    "another_factory": ("def _inner(pool):\n    return pool.putconn\n\n\n"
                        "def make_releaser(pool):\n    return _inner(pool)\n"),
}


def _released_through(imports: str, call: str) -> str:
    return (HEAD + imports + "def go():\n    conn = POOL.getconn()\n"
            "    cur = conn.cursor()\n    cur.execute(\"SELECT 1\")\n    rows = cur.fetchall()\n"
            f"    release = {call}\n    release(conn)\n    return rows\n")


#: name -> (case.py, the modules beside it)
RELEASE_MADE_ELSEWHERE: dict[str, tuple[str, dict[str, str]]] = {
    "an_imported_factory": (
        _released_through("from rel import make_releaser\n\n\n", "make_releaser(POOL)"),
        {"rel.py": RELEASERS["method"]}),
    "an_imported_factory_renamed": (
        _released_through("from rel import make_releaser as mk\n\n\n", "mk(POOL)"),
        {"rel.py": RELEASERS["method"]}),
    "an_imported_factory_through_its_module": (
        _released_through("import rel\n\n\n", "rel.make_releaser(POOL)"),
        {"rel.py": RELEASERS["method"]}),
    "an_imported_factory_returning_its_own_function": (
        _released_through("from rel import make_releaser\n\n\n", "make_releaser(POOL)"),
        {"rel.py": RELEASERS["own_function"]}),
    "an_imported_factory_returning_a_partial": (
        _released_through("from rel import make_releaser\n\n\n", "make_releaser(POOL)"),
        {"rel.py": RELEASERS["partial"]}),
    "an_imported_factory_returning_another_factorys_make": (
        _released_through("from rel import make_releaser\n\n\n", "make_releaser(POOL)"),
        {"rel.py": RELEASERS["another_factory"]}),
    "a_factory_returning_another_factorys_make": (
        _released_through(RELEASERS["another_factory"] + "\n\n", "make_releaser(POOL)"), {}),
    "a_static_method_factory": (
        _released_through("class R:\n    @staticmethod\n    def make(pool):\n"
                          "        return pool.putconn\n\n\n", "R.make(POOL)"), {}),
    "partial_imported_under_another_name": (
        _released_through("from functools import partial as bind\n\n\n",
                          "bind(POOL.putconn)"), {}),
}


def _run_with(text: str, others: dict[str, str], mode: str, size: int) -> Any:
    """fix68's `_run` with the other modules importable (they need no pool of their own)."""
    modules: dict[str, Any] = {}
    for name, other in others.items():
        import types
        module = types.ModuleType(name[:-3])
        exec(compile(other, name, "exec", dont_inherit=True), module.__dict__)
        modules[name[:-3]] = module
    with installed(modules):
        return _run(text, mode, size)


def assert_only_unsafe_and_given_back_twice(source: str, others: dict[str, str]) -> None:
    """PS102's only fix of `case.py` is unsafe, and rightly: the original returns, the
    fixed text gives the connection back a second time (`PoolError`)."""
    files = {"case.py": source, **others}
    fixed = only_an_unsafe_fix("PS102", files, "case.py", "may give `conn` back",
                               "finally:\n        POOL.putconn(conn)")
    for mode in ("ok", "empty"):
        assert _run_with(source, others, mode, 2)[0][0] == "returns"
        assert _run_with(fixed, others, mode, 2)[0][:2] == ("raises", "_PoolError")


@pytest.mark.parametrize("name", sorted(RELEASE_MADE_ELSEWHERE))
def test_ps102_a_release_made_by_a_factory_read_elsewhere_is_unsafe(name: str) -> None:
    source, others = RELEASE_MADE_ELSEWHERE[name]
    assert_only_unsafe_and_given_back_twice(source, others)


#: look-alikes: an imported factory that makes an object or a value, not a release
CHECKERS: dict[str, str] = {
    "an_instance": ("class Checker:\n    def __call__(self, c):\n"
                    "        return c is not None\n\n\n"
                    "def make_checker():\n    return Checker()\n"),
    "an_instance_of_a_class_it_makes": (
        "def make_checker():\n"
        "    return type(\"C\", (), {\"__call__\": lambda s, c: c is not None})()\n"),
}


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_ps102_an_imported_factory_that_makes_no_release_stays_safe(name: str) -> None:
    others = {"checks.py": CHECKERS[name]}
    source = (HEAD + "from checks import make_checker\n\n\ndef go():\n"
              "    conn = POOL.getconn()\n    rows = conn.cursor().fetchall()\n"
              "    check = make_checker()\n    ok = check(conn)\n    POOL.putconn(conn)\n"
              "    return rows, ok\n")
    files = {"case.py": source, **others}
    text = one_safe_fix("PS102", files, "case.py")
    for size in (1, 2):
        for mode in ("ok", "empty", "fail"):
            before, kept = _run_with(source, others, mode, size)
            after, out = _run_with(text, others, mode, size)
            assert after == before and sum(out) <= sum(kept), (mode, size, before, after)


# ------------------------------------------------------------------ PS205
# PS205's teardown handler removes the scoped session when the app context ends; a body
# Flask streams runs after that (fix76, fix78). Safe at main where the streamed body
# reached `Response(...)`, `stream_with_context(...)` or the view's `return` through a
# name bound to it: the lazy `user.posts` raised DetachedInstanceError where the
# original answered (executed, Flask + SQLite). Now unsafe.
from test_fix_fix78 import _export_with, _streamed_app  # noqa: E402

#: name -> the view's last lines (after its `users = ...` and `def rows(): ... yield`)
PS205_THROUGH_A_NAME: dict[str, str] = {
    "response_of_a_name": "    gen = rows()\n"
                                  "    return Response(gen, mimetype=\"text/csv\")\n",
    "stream_with_context_of_a_name": (
        "    gen = rows()\n"
                "    return Response(stream_with_context(gen), mimetype=\"text/csv\")\n"),
    "a_name_bound_to_another": (
        "    gen = rows()\n    body = gen\n"
                "    return Response(body, mimetype=\"text/csv\")\n"),
    "a_generator_expression_bound": (
        "    body = (f\"{u.name},{len(u.posts)}\\n\" for u in users)\n"
        "    return Response(body, mimetype=\"text/csv\")\n"),
    "a_walrus": (
        "    if (gen := rows()) is not None:\n"
                "        return Response(gen, mimetype=\"text/csv\")\n"),
    "the_view_returns_the_name": "    gen = rows()\n    return gen\n",
    # not through a name: a lazy `map(...)` / `filter(...)` calls its function as Flask
    # iterates the body, after the teardown
    "a_lazy_map": ("    return Response(map(lambda u: f\"{u.name},{len(u.posts)}\\n\", users),\n"
                   "                    mimetype=\"text/csv\")\n"),
    "a_name_bound_to_a_lazy_filter_of_the_rows": (
        "    body = filter(None, rows())\n    return Response(body, mimetype=\"text/csv\")\n"),
    # a lazy wrapper of the generator, and the generator function under a second name
    "iter_of_the_generator": "    return Response(iter(rows()), mimetype=\"text/csv\")\n",
    "itertools_chain_with_the_generator": (
        "    import itertools\n"
        "    return Response(itertools.chain([], rows()), mimetype=\"text/csv\")\n"),
    "the_generator_function_renamed": (
        "    make = rows\n    return Response(make(), mimetype=\"text/csv\")\n"),
    # a helper of the module handed the generator gives it to `Response`
    "a_helper_handed_the_generator": (
        "    return csv_response(rows())\n\n\ndef csv_response(body):\n"
        "    return Response(body, mimetype=\"text/csv\")\n"),
}


@pytest.mark.parametrize("name", sorted(PS205_THROUGH_A_NAME))
def test_ps205_a_body_streamed_through_a_name_makes_the_teardown_fix_unsafe(
        name: str) -> None:
    pytest.importorskip("flask")
    source = _streamed_app(PS205_THROUGH_A_NAME[name])
    fixed = only_an_unsafe_fix("PS205", {"app.py": source}, "app.py", "stream",
                               "db_session.remove()")
    assert _export_with(source, {}) == (200, "ann,2\n")
    assert _export_with(fixed, {}) == "DetachedInstanceError"


#: look-alikes: a name bound to a body built before the view returns
PS205_BUILT: dict[str, str] = {
    "a_joined_string": (
        "    body = \"\".join(rows())\n"
                "    return Response(body, mimetype=\"text/csv\")\n"),
    "a_list_of_the_generator": (
        "    gen = list(rows())\n"
        "    return Response(gen, mimetype=\"text/csv\")\n"),
    "a_helper_handed_a_built_body": (
        "    return csv_response(\"\".join(rows()))\n\n\ndef csv_response(body):\n"
        "    return Response(body, mimetype=\"text/csv\")\n"),
}


@pytest.mark.parametrize("name", sorted(PS205_BUILT))
def test_ps205_a_name_bound_to_a_built_body_stays_safe(name: str) -> None:
    pytest.importorskip("flask")
    source = _streamed_app(PS205_BUILT[name])
    text = one_safe_fix("PS205", {"app.py": source}, "app.py")
    assert _export_with(text, {}) == _export_with(source, {}) == (200, "ann,2\n")


# ------------------------------------------------------------------ PS103
# PS103's rollback in a swallowing handler also undoes the transaction's work done before
# the `try`; the equivalence check refuses that when the work goes through the names of
# the function (fix78). Safe at main where the resource is the module's (a module-level
# connection, or a local that is only a second name for the module's scoped-session
# registry, `s = Session`) and the earlier work went through a project function not
# handed it, which reaches the module's name itself (`insert_a(a)`, two levels down, a
# local alias `c = conn`). Now not fixable, with the same reason as fix78's direct forms.
PS103_PG = ("import psycopg2\n\nconn = psycopg2.connect(dsn=\"dbname=app\")\n\n\n"
            "def _write(a):\n    conn.cursor().execute(\"INSERT INTO t VALUES (%s)\", (a,))\n\n\n"
            "def insert_a(a):\n    conn.cursor().execute(\"INSERT INTO t VALUES (%s)\", (a,))\n\n\n"
            "def insert_deep(a):\n    _write(a)\n\n\n"
            "def check(a):\n    return a is not None\n\n\n")
_PG_SAVE = ("def save(a, b):\n{before}    cur = {c}.cursor()\n    try:\n"
            "        cur.execute(\"INSERT INTO t VALUES (%s)\", (b,))\n"
            "    except psycopg2.Error:\n        print(\"skip b\")\n    {c}.commit()\n")
PS103_SA = ("from sqlalchemy import create_engine\nfrom sqlalchemy.exc import SQLAlchemyError\n"
            "from sqlalchemy.orm import scoped_session, sessionmaker\n\n"
            "engine = create_engine(\"postgresql://app@db/app\")\n"
            "Session = scoped_session(sessionmaker(engine))\n"
            "Fresh = sessionmaker(engine)\n\n\n"
            "def add_a(a):\n    Session.add(a)\n    Session.flush()\n\n\n")
_SA_SAVE = ("def save(a, b):\n    s = {made}\n{before}    try:\n        s.execute(b)\n"
            "    except SQLAlchemyError:\n        print(\"skip b\")\n    s.commit()\n")
#: name -> (the source, the earlier call the reason names)
PS103_WORK_ELSEWHERE: dict[str, tuple[str, str]] = {
    "a_project_function_using_the_module_connection": (
        PS103_PG + _PG_SAVE.format(before="    insert_a(a)\n", c="conn"), "insert_a(a)"),
    "two_levels_down": (
        PS103_PG + _PG_SAVE.format(before="    insert_deep(a)\n", c="conn"), "insert_deep(a)"),
    "a_local_second_name_for_the_module_connection": (
        PS103_PG + _PG_SAVE.format(before="    c = conn\n    insert_a(a)\n", c="c"),
        "insert_a(a)"),
    "the_scoped_session_registry_under_a_local_name": (
        PS103_SA + _SA_SAVE.format(made="Session", before="    add_a(a)\n"), "add_a(a)"),
}


#: the module's connection imported from `db.py`, the function from `helpers.py`
PS103_IMPORTED = {
    "db.py": "import psycopg2\n\nconn = psycopg2.connect(dsn=\"dbname=app\")\n",
    "helpers.py": ("from db import conn\n\n\ndef insert_a(a):\n"
                   "    conn.cursor().execute(\"INSERT INTO t VALUES (%s)\", (a,))\n\n\n"
                   "def log_dsn():\n    print(\"using\", conn.dsn)\n"),
}
_IMPORTED_SAVE = ("import psycopg2\n\nfrom db import conn\n"
                  "from helpers import insert_a, log_dsn\n\n\n"
                  + _PG_SAVE.format(before="{before}", c="conn"))


def test_ps103_a_function_imported_with_the_connection_it_shares_is_not_fixed() -> None:
    source = _IMPORTED_SAVE.format(before="    insert_a(a)\n")
    files = {"case.py": source, **PS103_IMPORTED}
    no_safe_fix("PS103", files, "case.py", "not fixable", "`insert_a(a)`", unsafe=True)


def test_ps103_an_imported_function_reading_only_the_dsn_is_refused_too() -> None:
    # `conn.dsn` is read through the module's `conn` too: counted as work (over-refusal)
    source = _IMPORTED_SAVE.format(before="    log_dsn()\n")
    files = {"case.py": source, **PS103_IMPORTED}
    no_safe_fix("PS103", files, "case.py", "`log_dsn()`", unsafe=True)


@pytest.mark.parametrize("name", sorted(PS103_WORK_ELSEWHERE))
def test_ps103_a_rollback_that_undoes_work_done_elsewhere_is_not_fixed(name: str) -> None:
    source, work = PS103_WORK_ELSEWHERE[name]
    no_safe_fix("PS103", {"case.py": source}, "case.py", "not fixable", "also undoes",
                f"`{work}`", unsafe=True)


def test_ps103_the_scoped_session_registry_under_a_local_name_is_unsafe() -> None:
    # no earlier work here, but `s` is the thread's session, which the caller may have
    # worked in: as for the module's own name, the fix is offered as unsafe only
    source = PS103_SA + _SA_SAVE.format(made="Session", before="")
    no_safe_fix("PS103", {"case.py": source}, "case.py", "unsafe fix available",
                "is the module's `Session`")


#: look-alikes: nothing before the `try` works in the transaction, or it was committed,
#: or the session is a new one of the function's own
PS103_NOTHING_ELSEWHERE: dict[str, str] = {
    "a_project_function_that_does_not_use_the_connection": (
        PS103_PG + _PG_SAVE.format(before="    check(a)\n", c="conn")),
    "the_earlier_work_committed": (
        PS103_PG + _PG_SAVE.format(before="    insert_a(a)\n    conn.commit()\n", c="conn")),
    "a_new_session_of_its_own": (
        PS103_SA + _SA_SAVE.format(made="Fresh()", before="    add_a(a)\n")),
}


@pytest.mark.parametrize("name", sorted(PS103_NOTHING_ELSEWHERE))
def test_ps103_a_rollback_with_no_work_done_elsewhere_stays_safe(name: str) -> None:
    source = PS103_NOTHING_ELSEWHERE[name]
    text = one_safe_fix("PS103", {"case.py": source}, "case.py")
    assert "rollback()" in text and text != source, text

"""The path under a finding (PS102, PS103, PS106, PS207): exact steps on small cases of our
own, and on every INVALID case of those rules, steps that are real lines of the
function the finding is in."""

from __future__ import annotations

import ast
import textwrap

import pytest

from poolsafe.core.model import Finding
from poolsafe.rules import RULES_BY_CODE, Case
from poolsafe.scan.engine import ScanOptions, scan_sources

POOL = ("from psycopg2.pool import ThreadedConnectionPool\n\n"
        "pool = ThreadedConnectionPool(1, 4, dsn='x')\n")


def findings(code: str, rule: str, path: str = "case.py") -> list[Finding]:
    result = scan_sources({path: textwrap.dedent(code)}, ScanOptions(select={rule}))
    assert not result.errors, result.errors
    return [f for f in result.findings if f.path == path]


def steps(f: Finding) -> list[tuple[int, str]]:
    return [(s.line, s.label) for s in f.steps]


def test_exception_path_names_the_first_statement_that_leaks() -> None:
    (f,) = findings(POOL + textwrap.dedent("""
        def load(key):
            conn = pool.getconn()
            cur = conn.cursor()
            cur.execute("select v from kv where k = %s", (key,))
            value = cur.fetchone()
            pool.putconn(conn)
            return value
    """), "PS102")
    assert steps(f) == [
        (6, "`conn` checked out here"),
        (8, "`cur.execute(...)` may raise: the exception leaves `load()` without "
            "`pool.putconn(conn)`"),
    ]


def test_a_call_whose_exception_is_handled_with_a_release_is_not_the_witness() -> None:
    # the first call's exception is caught and the connection released there; the
    # leak is the second call's: the path must point there, not at the first
    (f,) = findings(POOL + textwrap.dedent("""
        def sync(rows):
            conn = pool.getconn()
            try:
                conn.cursor().execute("delete from staging")
            except Exception:
                pool.putconn(conn)
                raise
            conn.cursor().executemany("insert into staging values (%s)", rows)
            pool.putconn(conn)
    """), "PS102")
    assert [line for line, _ in steps(f)] == [6, 12]
    assert "`conn.cursor().executemany(...)` may raise" in steps(f)[1][1]


def test_early_return_path() -> None:
    (f,) = findings(POOL + textwrap.dedent("""
        def count(table, dry_run):
            conn = pool.getconn()
            if dry_run:
                return 0
            try:
                cur = conn.cursor()
                cur.execute("select count(*) from " + table)
                return cur.fetchone()[0]
            finally:
                pool.putconn(conn)
    """), "PS102")
    assert steps(f) == [
        (6, "`conn` checked out here"),
        (8, "returns with `conn` still checked out, without `pool.putconn(conn)`"),
    ]


def test_end_of_function_path() -> None:
    (f,) = findings(POOL + textwrap.dedent("""
        def touch(flag):
            conn = pool.getconn()
            if flag:
                pool.putconn(conn)
            print("done")
    """), "PS102")
    assert steps(f) == [
        (6, "`conn` checked out here"),
        (9, "the end of `touch()` is reached with `conn` still checked out, without "
            "`pool.putconn(conn)`"),
    ]


def test_use_after_release_path() -> None:
    (f,) = findings(POOL + textwrap.dedent("""
        def total():
            conn = pool.getconn()
            pool.putconn(conn)
            cur = conn.cursor()
            cur.execute("select 1")
    """), "PS106")
    assert steps(f) == [(7, "`conn` released here"),
                        (8, "`conn` used here, after the release")]


def test_returned_inside_finally_release_path() -> None:
    code = """
        from sqlalchemy.orm import sessionmaker

        SessionLocal = sessionmaker()


        def get_session():
            db = SessionLocal()
            try:
                return db
            finally:
                db.close()
    """
    (f,) = findings(code, "PS106")
    assert [line for line, _ in steps(f)] == [10, 12]
    assert steps(f)[1][1].startswith("`db` released here as the function returns")


def test_slow_call_in_transaction_path() -> None:
    (f,) = findings("""
        import requests
        from sqlalchemy.orm import Session


        def refresh(session: Session, item_id):
            item = session.get(Item, item_id)
            price = requests.get("https://prices.example/" + item.sku, timeout=5)
            item.price = price.json()["price"]
            session.commit()
    """, "PS207")
    assert steps(f) == [(7, "`session` begins a transaction here"),
                        (8, "`requests.get` runs with the transaction open")]


def test_concise_stays_one_line_and_findings_without_a_path_have_none() -> None:
    (f,) = findings(POOL + textwrap.dedent("""
        def bad():
            conn = pool.getconn()
            conn.close()
    """), "PS101")
    assert f.steps == ()


_SESSION = """
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))
"""


def test_swallowed_error_path_reuse() -> None:
    (f,) = findings(_SESSION + textwrap.dedent("""
        def create_user(db: Session, user, audit):
            try:
                db.add(user)
                db.flush()
            except IntegrityError:
                pass
            db.add(audit)
            db.commit()
    """), "PS103")
    assert f.line == 12
    assert steps(f) == [
        (11, "`db.flush(...)` works on `db`: a database error here aborts its transaction"),
        (12, "`except IntegrityError` swallows the error without `db.rollback()`"),
        (15, "`db` is used again here, in the aborted transaction"),
    ]


def test_swallowed_error_path_handed_back_by_return_and_by_the_end() -> None:
    found = findings(_SESSION + textwrap.dedent("""
        def early(db: Session, user):
            try:
                db.execute("insert into t values (1)")
            except IntegrityError:
                return None
            return user


        def late(db: Session, user):
            try:
                db.execute("insert into t values (1)")
            except IntegrityError:
                print("duplicate")
    """), "PS103")
    assert [steps(f) for f in found] == [
        [(10, "`db.execute(...)` works on `db`: a database error here aborts its "
              "transaction"),
         (11, "`except IntegrityError` swallows the error without `db.rollback()`"),
         (12, "returns with `db` in the aborted transaction: the caller gets it back "
              "that way")],
        [(18, "`db.execute(...)` works on `db`: a database error here aborts its "
              "transaction"),
         (19, "`except IntegrityError` swallows the error without `db.rollback()`"),
         (20, "the end of `late()` is reached with `db` in the aborted transaction: the "
              "caller gets it back that way")],
    ]


def test_swallowed_error_path_commit_on_exit() -> None:
    (f,) = findings("""
        from sqlalchemy import create_engine, text

        engine = create_engine("postgresql://localhost/app")


        def load(r):
            with engine.begin() as conn:
                try:
                    conn.execute(text("INSERT INTO t VALUES (:r)"), {"r": r})
                except Exception:
                    pass
    """, "PS103")
    assert steps(f) == [
        (10, "`conn.execute(...)` works on `conn`: a database error here aborts its "
             "transaction"),
        (11, "`except Exception` swallows the error without `conn.rollback()`"),
        (8, "this `with` block commits `conn`'s aborted transaction as it ends"),
    ]


_WRAPPERS = POOL + """

def get_db_connection():
    return pool.getconn()


def release_db_connection(conn):
    pool.putconn(conn)
"""


def test_wrappers_in_another_module_are_steps_at_their_definitions() -> None:
    app = textwrap.dedent("""
        from db import get_db_connection, release_db_connection


        def load(key):
            conn = get_db_connection()
            cur = conn.cursor()
            cur.execute("select 1")
            release_db_connection(conn)


        def again():
            conn = get_db_connection()
            release_db_connection(conn)
            conn.cursor()
    """)
    result = scan_sources({"db.py": _WRAPPERS, "app.py": app},
                          ScanOptions(select={"PS102", "PS106"}))
    leak, reuse = (f for f in result.findings if f.path == "app.py")
    assert [(s.path, s.line, s.label) for s in leak.steps] == [
        (None, 6, "`conn` checked out here"),
        ("db.py", 6, "`get_db_connection()` is defined here: it takes the connection from "
                     "the pool and hands it out"),
        (None, 8, "`cur.execute(...)` may raise: the exception leaves `load()` without "
                  "`release_db_connection(conn)`"),
        ("db.py", 10, "`release_db_connection()` is defined here: the release the checkout "
                      "needs"),
    ]
    assert [(s.path, s.line, s.label) for s in reuse.steps] == [
        (None, 14, "`conn` released here"),
        ("db.py", 10, "`release_db_connection()` is defined here: it gives the connection "
                      "back"),
        (None, 15, "`conn` used here, after the release"),
    ]
    lines = _WRAPPERS.splitlines()
    assert lines[5].startswith("def get_db_connection") and \
        lines[9].startswith("def release_db_connection")


def test_wrappers_in_the_same_module_add_no_step() -> None:
    (f,) = findings(_WRAPPERS + textwrap.dedent("""

        def load(key):
            conn = get_db_connection()
            conn.cursor().execute("select 1")
            release_db_connection(conn)
    """), "PS102")
    assert [s.path for s in f.steps] == [None, None]


# ------------------------------------------------------- every case of the rules
def _function_ranges(code: str) -> list[tuple[int, int]]:
    tree = ast.parse(code)
    return [(n.lineno, n.end_lineno or n.lineno) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _cases() -> list[object]:
    out = []
    for code in ("PS102", "PS103", "PS106", "PS207"):
        for i, case in enumerate(RULES_BY_CODE[code].INVALID):
            out.append(pytest.param(code, case, id=f"{code}-invalid-{i}"))
    return out


@pytest.mark.parametrize(("code", "case"), _cases())
def test_every_step_is_a_line_of_the_findings_function(code: str, case: Case) -> None:
    result = scan_sources({**case.files, case.path: case.code}, ScanOptions(select={code}))
    ranges = _function_ranges(case.code)
    marks = {i for i, text in enumerate(case.code.splitlines(), 1)
             if f"# expect: {code}" in text}
    for f in result.findings:
        if f.path != case.path or not f.steps:
            continue
        inner = [r for r in ranges if r[0] <= f.line <= r[1]]
        if not inner and ("import streamlit" in case.code or code == "PS207"):
            # a Streamlit page's top level (PS106), a script's module body (PS207):
            # every step is outside the functions
            for s in f.steps:
                assert s.path is None and not any(a <= s.line <= b for a, b in ranges), (f, s)
            continue
        assert inner, f"{f.line} is in no function"
        start, end = min(inner, key=lambda r: r[1] - r[0])
        for s in f.steps:
            if s.path is not None:
                # a wrapper in another module of the case: the line of its `def`
                text = case.files[s.path].splitlines()[s.line - 1].strip()
                name = s.label.split("`")[1].removesuffix("()")
                assert text.startswith((f"def {name}(", f"async def {name}(")), (s, text)
                continue
            assert start <= s.line <= end, (f, s)
        if code == "PS102":
            assert f.steps[0].line == f.line  # the checkout comes first
        if code == "PS103":
            # the work that fails, then the `except` the case marks, then where the
            # aborted transaction is met again
            assert len(f.steps) == 3, f
            assert f.steps[1].line == f.line
            assert f.line in marks
            assert f.steps[0].line < f.line


def test_every_swallowed_error_has_its_whole_path() -> None:
    """Every PS103 finding on the rule's cases shows all three steps."""
    total = 0
    for case in RULES_BY_CODE["PS103"].INVALID:
        result = scan_sources({**case.files, case.path: case.code},
                              ScanOptions(select={"PS103"}))
        for f in result.findings:
            if f.path == case.path:
                total += 1
                assert len(f.steps) == 3, (case.code, f)
    assert total >= 20


def test_most_leak_cases_get_a_path() -> None:
    """A path is the rule, not the exception: on the INVALID cases of PS102 about seven
    findings in ten have one (the rest are their own evidence: `with` on a checkout,
    a checkout overwritten, a class whose `__exit__` skips the release, a close behind
    `is_connected()`)."""
    total = with_path = 0
    for case in RULES_BY_CODE["PS102"].INVALID:
        result = scan_sources({**case.files, case.path: case.code},
                              ScanOptions(select={"PS102"}))
        for f in result.findings:
            if f.path == case.path:
                total += 1
                with_path += bool(f.steps)
    assert total and with_path / total >= 0.6, (with_path, total)

"""The equivalence check behind every fix (issue #30, item 1).

Each class of behaviour change the issue found in real fixes is written here as a
minimal original and a bad "after" built by hand (so the test does not depend on
what today's fixers write), and must fail `check_fix`; a good fix of the same shape
passes. Then every plan the fixers make for the rule cases and the fixture apps is
applied alone and checked: each passes, except the two cases whose fix is one of the
classes (they are listed, and must fail)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import libcst as cst
import pytest

from poolsafe.analysis.index import ProjectIndex
from poolsafe.fix.equivalence import Verdict, check_fix
from poolsafe.fix.loop.apply import apply_plans
from poolsafe.fix.plan.api import FixPlan
from poolsafe.rules import ALL_RULES, FileContext
from poolsafe.scan.checking import enabled_rules, parse_source, with_virtual_files
from poolsafe.scan.engine import ScanOptions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def verdict(before: str, after: str, code: str) -> Verdict:
    return check_fix(cst.parse_module(before), cst.parse_module(after), code)


# ------------------------------------------------------------ the six classes
GUARDED_BEFORE = '''
from app.db import get_conn, release_conn


class Store:
    def names(self, conn=None):
        conn = conn or get_conn()
        try:
            return conn.cursor().execute("SELECT name FROM t").fetchall()
        finally:
            if conn and conn is not self.conn:
                conn.close()
'''
GUARDED_LOST = '''
from app.db import get_conn, release_conn


class Store:
    def names(self, conn=None):
        conn = conn or get_conn()
        try:
            try:
                return conn.cursor().execute("SELECT name FROM t").fetchall()
            finally:
                if conn and conn is not self.conn:
                    pass
        finally:
            conn.close()
'''
GUARDED_KEPT = '''
from app.db import get_conn, release_conn


class Store:
    def names(self, conn=None):
        conn = conn or get_conn()
        try:
            return conn.cursor().execute("SELECT name FROM t").fetchall()
        finally:
            if conn and conn is not self.conn:
                release_conn(conn)
'''


def test_1_a_guard_lost_from_a_guarded_close_fails() -> None:
    v = verdict(GUARDED_BEFORE, GUARDED_LOST, "PS101")
    assert not v.ok and not v.drop
    assert any("leaves `conn` open when `conn and conn is not self.conn`" in p
               for p in v.problems), v.problems
    # the guard kept, the release swapped in under it: fine
    assert verdict(GUARDED_BEFORE, GUARDED_KEPT, "PS101").ok


ROUTE_BEFORE = '''
from fastapi import FastAPI
from app.db import get_session_local

app = FastAPI()


@app.get("/items")
def items():
    SessionLocal = get_session_local()
    db = SessionLocal()
    try:
        return db.execute("SELECT 1").all()
    finally:
        db.close()
'''
ROUTE_AFTER = '''
from fastapi import Depends, FastAPI
from app.db import get_session_local

app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.get("/items")
def items(db=Depends(get_db)):
    SessionLocal = get_session_local()
    return db.execute("SELECT 1").all()
'''


def test_2_a_new_function_calling_a_name_of_the_route_fails() -> None:
    v = verdict(ROUTE_BEFORE, ROUTE_AFTER, "PS105")
    assert v.drop  # NameError on every request: not even an unsafe fix
    assert v.problems == ("`get_db` would read `SessionLocal`, which nothing binds there "
                          "(NameError on every call)",)
    good = ROUTE_AFTER.replace("def get_db():\n    db = SessionLocal()",
                               "def get_db():\n    db = get_session_local()()")
    assert verdict(ROUTE_BEFORE, good, "PS105").ok


HEALTH_BEFORE = '''
import psycopg


def healthy():
    conn = pool.getconn()
    try:
        conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return None
    finally:
        pool.putconn(conn)
'''


def test_3_a_rollback_that_can_raise_in_a_lost_connection_handler_fails() -> None:
    bad = HEALTH_BEFORE.replace("        return None",
                                "        conn.rollback()\n        return None")
    v = verdict(HEALTH_BEFORE, bad, "PS103")
    assert not v.ok and not v.drop
    assert any("the fix raises (from `conn.rollback()`) where the original returns `None`"
               in p for p in v.problems), v.problems
    # its own error contained: the function still returns None
    contained = HEALTH_BEFORE.replace(
        "        return None",
        "        try:\n            conn.rollback()\n        except psycopg.Error:\n"
        "            pass\n        return None")
    assert verdict(HEALTH_BEFORE, contained, "PS103").ok


SCHEMA_BEFORE = '''
import psycopg2


def rebuild(conn):
    cur = conn.cursor()
    cur.execute('SET search_path TO "Finances"')
    try:
        cur.execute("CREATE TABLE log (x int)")
    except psycopg2.errors.DuplicateTable:
        pass
    cur.execute("DROP TABLE IF EXISTS old CASCADE")
    conn.commit()
'''


def test_4_a_rollback_that_undoes_session_state_fails() -> None:
    bad = SCHEMA_BEFORE.replace("        pass", "        conn.rollback()")
    v = verdict(SCHEMA_BEFORE, bad, "PS103")
    assert v.drop  # the later DROP runs in another schema: never offered
    assert any("also undoes `cur.execute('SET search_path TO \"Finances\"')`" in p
               for p in v.problems), v.problems


LOOP_BEFORE = '''
import psycopg2


def import_rows(conn, rows):
    cur = conn.cursor()
    for row in rows:
        try:
            cur.execute("INSERT INTO t VALUES (%s)", (row,))
        except psycopg2.IntegrityError:
            pass
    conn.commit()
'''


def test_5_a_rollback_in_a_loop_before_a_final_commit_fails() -> None:
    bad = LOOP_BEFORE.replace("            pass", "            conn.rollback()")
    v = verdict(LOOP_BEFORE, bad, "PS103")
    assert v.drop
    assert any("also undoes `cur.execute(\"INSERT INTO t VALUES (%s)\", (row,))`" in p
               for p in v.problems), v.problems
    # a savepoint per iteration undoes only the failed row
    good = LOOP_BEFORE.replace(
        "        try:\n            cur.execute(\"INSERT",
        "        cur.execute(\"SAVEPOINT row\")\n        try:\n            cur.execute(\"INSERT"
    ).replace("            pass", "            cur.execute(\"ROLLBACK TO SAVEPOINT row\")")
    assert verdict(LOOP_BEFORE, good, "PS103").ok


COMMIT_BEFORE = '''
from app.db import get_connection, pool


def register(user):
    with get_connection() as conn:
        conn.execute("INSERT INTO users VALUES (%s)", (user,))
    return True
'''
COMMIT_LOST = '''
from app.db import get_connection, pool


def register(user):
    conn = pool.getconn()
    try:
        conn.execute("INSERT INTO users VALUES (%s)", (user,))
    finally:
        pool.putconn(conn)
    return True
'''
COMMIT_KEPT = '''
from app.db import get_connection, pool


def register(user):
    conn = pool.getconn()
    try:
        with conn:
            conn.execute("INSERT INTO users VALUES (%s)", (user,))
    finally:
        pool.putconn(conn)
    return True
'''


def test_6_a_with_conn_that_committed_rewritten_without_commit_fails() -> None:
    v = verdict(COMMIT_BEFORE, COMMIT_LOST, "PS102")
    assert v.drop
    assert v.problems == ("in `register`: the original leaves `with conn`, whose exit may "
                          "commit; the fix no longer runs that exit, so what it stored is "
                          "lost",)
    assert verdict(COMMIT_BEFORE, COMMIT_KEPT, "PS102").ok


# ------------------------------------------------------------ more shapes
PLAIN = '''
def get_user(user_id):
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    row = cur.fetchone()
    if row is None:
        return None
    pool.putconn(conn)
    return row
'''


@pytest.mark.parametrize(("after", "problem"), [
    # the release in `finally`: the only change
    (PLAIN.replace("    cur = conn.cursor()", "    try:\n        cur = conn.cursor()")
     .replace("    cur.execute(", "        cur.execute(")
     .replace("    row = cur.fetchone()\n    if row is None:\n        return None\n"
              "    pool.putconn(conn)\n",
              "        row = cur.fetchone()\n        if row is None:\n            return None\n"
              "    finally:\n        pool.putconn(conn)\n"), None),
    # a statement lost
    (PLAIN.replace("    cur.execute(\"SELECT * FROM users WHERE id = %s\", (user_id,))\n", ""),
     "where the original raises (from `cur.execute("),
    # an early return changed
    (PLAIN.replace("return None", "return {}"), "returns `{}`"),
    # a guard changed
    (PLAIN.replace("if row is None", "if not row"), "a path of the original is gone"),
    # a second release on one path
    (PLAIN.replace("    return row", "    pool.putconn(conn)\n    return row"),
     "`conn` would be released 2 times on one path"),
])
def test_plain_changes_are_seen(after: str, problem: str | None) -> None:
    v = verdict(PLAIN, after, "PS102")
    if problem is None:
        assert v.ok, v.problems
    else:
        assert any(problem in p for p in v.problems), v.problems


def test_a_release_of_a_name_not_bound_on_some_path_fails() -> None:
    before = '''
def load(dsn):
    try:
        conn = connect(dsn)
        return conn.cursor().execute("SELECT 1")
    except KeyError:
        return None
'''
    after = before.replace("    except KeyError:\n        return None",
                           "    except KeyError:\n        return None\n"
                           "    finally:\n        conn.close()")
    v = verdict(before, after, "PS102")
    assert any("a name that is not bound" in p for p in v.problems), v.problems


# ------------------------------------------------- every fix of the cases
#: the cases whose plan is itself one of the classes above (refused by the loop)
EXPECTED_TO_FAIL = {"PS101-invalid-8": "class 6", "PS103-invalid-8": "class 5",
                    "fixture-flask_psycopg2": "class 5",
                    # rewrites the fixers learned beside the check (a guarded close moved
                    # whole, a release in the holding try's finally, a savepoint in a
                    # loop, a rollback kept for a session after OperationalError) that
                    # it cannot prove yet: `fix` offers them as unsafe, with its reason
                    "PS102-invalid-2": "not proved yet", "PS102-invalid-36": "not proved yet",
                    "PS103-invalid-0": "not proved yet", "PS103-invalid-4": "not proved yet",
                    "PS106-invalid-8": "not proved yet"}
COUNTS: Counter[str] = Counter()


def _plans(files: dict[str, str]) -> list[tuple[str, cst.Module, FixPlan]]:
    options = with_virtual_files(ScanOptions(), files)
    modules = [parse_source(name, Path("/virtual") / name, Path(name), text)
               for name, text in files.items() if name.endswith(".py")]
    index = ProjectIndex(modules, options.project)
    out = []
    for module in modules:
        ctx = FileContext(module, index)
        for rule in enabled_rules(options):
            if not rule.fixable:
                continue
            for raw in rule.check(ctx):
                plan = rule.fix(ctx, raw)
                if isinstance(plan, FixPlan) and plan.path in (None, module.path) \
                        and not plan.companions:
                    out.append((rule.code, module.tree, plan))
    return out


def _projects() -> list[object]:
    out = []
    for rule in ALL_RULES:
        if rule.fixable:
            for i, case in enumerate(rule.INVALID):
                out.append(pytest.param({**case.files, case.path: case.code},
                                        id=f"{rule.code}-invalid-{i}"))
    for before in sorted(FIXTURES.glob("*/before")):
        files = {str(p.relative_to(before)): p.read_text(encoding="utf-8")
                 for p in sorted(before.rglob("*")) if p.is_file()}
        out.append(pytest.param(files, id=f"fixture-{before.parent.name}"))
    return out


@pytest.mark.parametrize("files", _projects())
def test_every_fix_of_the_cases_and_fixtures_passes(files: dict[str, str],
                                                    request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.id
    failed = []
    for code, tree, plan in _plans(files):
        v = check_fix(tree, apply_plans(tree, [plan]), code)
        COUNTS["plans"] += 1
        COUNTS["functions compared path by path"] += v.compared
        if not v.ok:
            failed.append((code, v.problems))
    if name in EXPECTED_TO_FAIL:
        assert failed, f"{name} ({EXPECTED_TO_FAIL[name]}) should fail the check"
    else:
        assert not failed, failed


def test_zz_counts() -> None:
    """(runs last in this module: the number of plans checked above)"""
    if COUNTS:
        print(f"\nequivalence check: {dict(COUNTS)}")
        assert COUNTS["plans"] > 100

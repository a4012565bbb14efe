"""Executed proof that the safe fixes keep behaviour (issue #30, item 2).

Every rule case of PS101-PS106 that `poolsafe fix` fixes safely, and generated
functions (hypothesis) of the shapes no case lists, run before and after the fix
against the reference pool with recording drivers: psycopg2's stand-in
(`proof_recording`) and, for every other library a case imports (SQLAlchemy,
psycopg 3 / psycopg_pool, asyncpg, peewee, mysql.connector, PyMySQL, aiopg,
aiomysql, Flask-SQLAlchemy, FastAPI...), the generic stand-ins of
`proof_standins`, whose checkouts, statements, commits and releases go through the
same pool. Each function (and each method, on an instance made for the call; an
async one in an event loop; a FastAPI dependency resolved and torn down as FastAPI
does) runs once without a fault, then with a fault injected at each statement and
each commit in turn, with each input and each canned fetch (a row, or None for the
early returns). Before and after must return the same values, raise the same
exceptions and commit the same rows, and after the fix no call of a changed
function leaves a connection out of the pool. A PS103 rollback is the one allowed
difference: on a fault path the fixed code (and the module's functions that call
it) may go on where the original's aborted transaction failed, so there it must
commit at least what the original did (never less) and leave no more out.

`python -m pytest -q -s tests/proof/test_fixes_executed.py` prints how many
cases, functions and faults ran."""

from __future__ import annotations

import ast
import re
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proof_recording import FETCHES, NotRunnable, Observation, Scenario, run_module

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.rules import ALL_RULES, Case
from poolsafe.scan.engine import ScanOptions

CODES = {"PS101", "PS102", "PS103", "PS104", "PS105", "PS106"}
#: modules a case may import and still run here: psycopg2 has a stand-in
RUNNABLE_IMPORTS = {"psycopg2", "psycopg2.pool", "psycopg2.errors", "psycopg2.extras",
                    "logging", "contextlib", "typing", "time", "os", "__future__"}
COUNTS: Counter[str] = Counter()


def _imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _functions(source: str) -> dict[str, str]:
    """The module's functions and its classes' methods (`Class.method`), by name."""
    out = {}
    for n in ast.parse(source).body:
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
            out[n.name] = ast.unparse(n)
        elif isinstance(n, ast.ClassDef):
            for m in n.body:
                if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef):
                    out[f"{n.name}.{m.name}"] = ast.unparse(m)
    return out


def _handing_on(before: str, after: str) -> set[str]:
    """The functions (as `_functions` names them) that the fix gave an `except
    BaseException:` (or bare `except:`) ending in a bare `raise`: PS102's "release on
    failure, hand on on success". They give the connection back only when they
    raise; when they return, the caller or the object holds it, as before."""
    def handlers(source: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, text in _functions(source).items():
            out[name] = sum(
                1 for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ExceptHandler)
                and (n.type is None or ast.unparse(n.type) == "BaseException")
                and n.name is None and isinstance(n.body[-1], ast.Raise)
                and n.body[-1].exc is None)
        return out
    old = handlers(before)
    return {name for name, k in handlers(after).items() if k > old.get(name, 0)}


def _with_callers(source: str, names: set[str]) -> set[str]:
    """`names` and the functions of `source` that call one of them (by its name, or
    its class's), transitively: a PS103 rollback lets a caller go on too."""
    found = set(names)
    bodies = _functions(source)
    while True:
        words = {w for n in found for w in n.split(".")}
        more = {name for name, text in bodies.items() if name not in found and any(
            re.search(rf"\b{re.escape(w)}\b", text) for w in words)}
        if not more:
            return found
        found |= more


def prove(before: str, select: set[str] = CODES, files: dict[str, str] | None = None,
          path: str = "case.py") -> tuple[int, int]:
    """Fix `before` (safe fixes only; `files` are the project's other modules), run
    both, assert the same behaviour; returns (functions run, faults injected).
    (0, 0) when there is nothing to run."""
    result = fix_sources({**(files or {}), path: before}, ScanOptions(select=select),
                         unsafe=False)
    fixed = result.sources()
    after = fixed[path]
    if fixed == {**(files or {}), path: before}:
        return 0, 0
    rolled_back = {a.line for a in result.applied if a.code == "PS103" and a.path == path}
    # a PS104 fix turns a dependency that returns its session into one that yields it:
    # FastAPI calls it (before and after), never the code
    dependencies = _functions_at(after, {a.line for a in result.applied
                                         if a.code == "PS104" and a.path == path},
                                 callers=False)
    others_after = {p: t for p, t in fixed.items() if p != path}
    return prove_pair(before, after, _functions_at(after, rolled_back), files=files,
                      files_after=others_after, dependencies=dependencies)


def prove_pair(before: str, after: str, ps103: set[str] = frozenset(),  # type: ignore[assignment]
               files: dict[str, str] | None = None,
               files_after: dict[str, str] | None = None,
               dependencies: set[str] | None = None) -> tuple[int, int]:
    """Run `before` and `after` (with the other modules before and after) under every
    fault and input; assert they behave the same (the functions in `ps103` got a
    rollback: see the module's docstring)."""
    old, new = _functions(before), _functions(after)
    changed = {name for name in new if old.get(name) != new[name]}
    handing_on = _handing_on(before, after)
    files_after = files if files_after is None else files_after
    functions = faults = 0
    for fetch in FETCHES:
        plain_b = run_module(before, Scenario(), fetch, files=files,
                             dependencies=dependencies)
        plain_a = run_module(after, Scenario(), fetch, files=files_after,
                             dependencies=dependencies)
        _same(plain_b, plain_a, changed, ps103, f"no fault, fetch {fetch!r}",
              handing_on)
        functions += len({name for name, _ in plain_a.outcomes})
        scenarios = [Scenario("statement", k) for k in range(plain_b.statements)] + \
                    [Scenario("commit", k) for k in range(plain_b.commits)]
        for scenario in scenarios:
            obs_b = run_module(before, scenario, fetch, files=files,
                               dependencies=dependencies)
            obs_a = run_module(after, scenario, fetch, files=files_after,
                               dependencies=dependencies)
            _same(obs_b, obs_a, changed, ps103, f"{scenario}, fetch {fetch!r}",
                  handing_on)
            faults += 1
    return functions, faults


def _functions_at(source: str, lines: set[int], callers: bool = True) -> set[str]:
    """The functions and methods holding these lines (line numbers of the before
    text: a PS103 rollback adds lines after the handler, so its function still holds
    it), and their callers in the module."""
    out = set()
    for node in ast.parse(source).body:
        members = [(node.name, node)] if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef) else [
            (f"{node.name}.{m.name}", m) for m in node.body
            if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)] if isinstance(
            node, ast.ClassDef) else []
        for name, f in members:
            if f.end_lineno is not None and any(f.lineno <= line <= f.end_lineno
                                                for line in lines):
                out.add(name)
    return _with_callers(source, out) if out and callers else out


def _same(b: Observation, a: Observation, changed: set[str], ps103: set[str],
          where: str, handing_on: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    for key, outcome in b.outcomes.items():
        if key[0] in ps103 and "no fault" not in where:
            continue  # checked by the committed rows below
        assert a.outcomes.get(key) == outcome, (where, key, outcome, a.outcomes.get(key))
    for key, out in a.left_out.items():
        if key[0] in ps103:  # a rollback, no release: never more out than before
            assert out <= b.left_out.get(key, 0), (where, key, "more connections out")
        elif key[0] in handing_on and a.outcomes.get(key, ("raise",))[0] != "raise":
            # handed to the caller or the object on success: as many as before
            assert out <= b.left_out.get(key, 0), (where, key, "more connections out")
        elif key[0] in changed:
            assert out == 0, (where, key, f"{out} connection(s) left out after the fix")
    if ps103 and "no fault" not in where:
        missing = Counter(b.committed) - Counter(a.committed)
        assert not missing, (where, "the fix commits less", missing)
    else:
        assert a.committed == b.committed, (where, b.committed, a.committed)


# ------------------------------------------------ the layer can tell a change
GOOD = '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, dsn="dbname=app")


def save(n):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("INSERT INTO t VALUES (%s)", (n,))
        if cur.fetchone() is None:
            return "missing"
        conn.commit()
    finally:
        pool.putconn(conn)
    return "saved"
'''


@pytest.mark.parametrize(("bad", "why"), [
    (GOOD.replace("        conn.commit()\n", ""), "committed rows"),
    (GOOD.replace("    finally:\n        pool.putconn(conn)\n", "    finally:\n        pass\n"),
     "left out"),
    (GOOD.replace('return "missing"', 'return None'), "return value"),
    (GOOD.replace("        cur = conn.cursor()\n",
                  "        cur = conn.cursor()\n        cur.execute(\"SET ROLE x\")\n"),
     "an extra statement fails where the original's did not"),
])
def test_the_layer_sees_a_bad_after(bad: str, why: str) -> None:
    assert prove_pair(GOOD, GOOD) != (0, 0)
    with pytest.raises(AssertionError):
        prove_pair(GOOD, bad)


# ------------------- the layer can tell a change under the generic stand-ins
# (each bad "after" is one of the classes issue #30 found in real fixes, or a
# leak, written here in our own words)
PG3 = '''from psycopg_pool import ConnectionPool

pool = ConnectionPool("dbname=app")


def register(name):
    with pool.connection() as conn:
        conn.execute("INSERT INTO users (name) VALUES (%s)", (name,))
    return True
'''
ASYNC = '''import asyncpg


async def count(pool: asyncpg.Pool):
    conn = await pool.acquire()
    try:
        n = await conn.fetchval("SELECT count(*) FROM users")
    finally:
        await pool.release(conn)
    return n
'''
ORM = '''from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))


def rename(user_id, name):
    db = SessionLocal()
    try:
        user = db.get(User, user_id)
        if user is None:
            return None
        user.name = name
        db.commit()
    finally:
        db.close()
    return name
'''
ENGINE = '''from sqlalchemy import create_engine, text

engine = create_engine("postgresql://localhost/app")


def purge(days):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE age > :d"), {"d": days})
'''


PEEWEE = '''from playhouse.pool import PooledPostgresqlDatabase

db = PooledPostgresqlDatabase("app", max_connections=8)


def count_rows():
    db.connect()
    try:
        return db.execute_sql("SELECT count(*) FROM t").fetchone()
    finally:
        db.close()
'''


@pytest.mark.parametrize(("good", "bad", "why"), [
    (PEEWEE, PEEWEE.replace("    finally:\n        db.close()\n", "    finally:\n        pass\n"),
     "peewee: the connection the function opened is never closed"),
    (PG3, PG3.replace("    with pool.connection() as conn:\n        conn.execute",
                      "    conn = pool.getconn()\n    try:\n        conn.execute").replace(
        "(name,))\n", "(name,))\n    finally:\n        pool.putconn(conn)\n"),
     "psycopg 3 `with` rewritten to getconn/putconn: the commit on exit is lost"),
    (ASYNC, ASYNC.replace("await pool.release(conn)", "pool.release(conn)"),
     "a dropped `await`: the release never runs"),
    (ORM, ORM.replace("    finally:\n        db.close()\n", "    finally:\n        pass\n"),
     "a session never closed"),
    (ORM, ORM.replace("        if user is None:\n            return None\n", ""),
     "an early return dropped"),
    (ENGINE, ENGINE.replace("engine.begin()", "engine.connect()"),
     "`engine.begin()` (commits) became `engine.connect()` (does not)"),
])
def test_the_layer_sees_a_bad_after_under_the_stand_ins(good: str, bad: str, why: str) -> None:
    assert bad != good
    functions, faults = prove_pair(good, good)
    assert functions and faults, "the good version must run and reach the database"
    with pytest.raises(AssertionError):
        prove_pair(good, bad)


# ------------------------------------------------------------- rule cases
def _cases() -> list[Any]:
    out = []
    for rule in ALL_RULES:
        if rule.code not in CODES:
            continue
        for i, case in enumerate(rule.INVALID):
            out.append(pytest.param(rule.code, case, id=f"{rule.code}-invalid-{i}"))
    return out


@pytest.mark.parametrize(("code", "case"), _cases())
def test_fixed_case_behaves_as_before(code: str, case: Case) -> None:
    try:
        functions, faults = prove(case.code, {code}, dict(case.files), case.path)
    except NotRunnable as exc:
        COUNTS["cases not runnable here (do not import under the stand-ins)"] += 1
        pytest.skip(f"does not import under the stand-ins: {exc}")
    if not functions:
        COUNTS["cases without a safe fix"] += 1
        return
    COUNTS["cases run"] += 1
    COUNTS["cases run with several modules"] += bool(case.files)
    COUNTS["cases run with a fault injected"] += bool(faults)
    if _imports(case.code) - RUNNABLE_IMPORTS:
        COUNTS["cases run importing a library other than psycopg2"] += 1
    COUNTS["function runs"] += functions
    COUNTS["faults injected"] += faults


# ------------------------------------------------------- generated functions
HEADER = '''from psycopg2.pool import ThreadedConnectionPool
import psycopg2

pool = ThreadedConnectionPool(1, 5, dsn="dbname=app")


'''
STEPS = {
    "insert": ['cur.execute("INSERT INTO t VALUES (%s)", (n,))'],
    "select": ['cur.execute("SELECT x FROM t WHERE id = %s", (n,))', "row = cur.fetchone()"],
    "early": ["if n is None:", "    return 'early'"],
    "missing": ['cur.execute("SELECT y FROM t")', "if cur.fetchone() is None:",
                "    return None"],
    "commit": ["conn.commit()"],
    "guarded": ["try:", '    cur.execute("UPDATE t SET x = 1")',
                "except psycopg2.IntegrityError:", "    return 'conflict'"],
    "loop": ["for item in (n or []):", '    cur.execute("INSERT INTO u VALUES (%s)", (item,))'],
}


def _program(steps: list[str], release: str) -> str:
    lines = ["def work(n):", "    conn = pool.getconn()", "    cur = conn.cursor()"]
    for step in steps:
        lines += ["    " + line for line in STEPS[step]]
    if release == "end":
        lines += ["    pool.putconn(conn)", "    return 'done'"]
    elif release == "close":
        lines += ["    conn.close()", "    return 'done'"]
    else:  # returns without a release on the happy path too
        lines += ["    return 'done'"]
    return HEADER + "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=4),
       st.sampled_from(["end", "close", "none"]))
def test_generated_functions_behave_as_before(steps: list[str], release: str) -> None:
    source = _program(steps, release)
    functions, faults = prove(source)
    COUNTS["generated programs"] += 1
    COUNTS["generated programs fixed and run"] += bool(functions)
    COUNTS["function runs"] += functions
    COUNTS["faults injected"] += faults


# the same under the generic stand-ins: an asyncpg pool checkout in an async function
# and a SQLAlchemy session, each with the shapes of its library
LIBRARIES: dict[str, tuple[str, str, dict[str, list[str]]]] = {
    "asyncpg": (
        "import asyncpg\n\n\nasync def work(pool: asyncpg.Pool, n):\n"
        "    conn = await pool.acquire()\n",
        "    await pool.release(conn)\n",
        {"insert": ['await conn.execute("INSERT INTO t VALUES ($1)", n)'],
         "select": ['row = await conn.fetchrow("SELECT x FROM t WHERE id = $1", n)'],
         "early": ["if n is None:", "    return 'early'"],
         "missing": ['if await conn.fetchrow("SELECT y FROM t") is None:',
                     "    return None"],
         "guarded": ["try:", '    await conn.execute("UPDATE t SET x = 1")',
                     "except asyncpg.UniqueViolationError:", "    return 'conflict'"],
         "loop": ["for item in (n or []):",
                  '    await conn.execute("INSERT INTO u VALUES ($1)", item)'],
         "transaction": ["async with conn.transaction():",
                         '    await conn.execute("DELETE FROM t")']}),
    "sqlalchemy": (
        "from sqlalchemy import create_engine, text\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "from sqlalchemy.orm import sessionmaker\n\n"
        'SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))\n'
        "\n\ndef work(n):\n    db = SessionLocal()\n",
        "    db.close()\n",
        {"insert": ['db.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})'],
         "select": ['row = db.execute(text("SELECT x FROM t")).first()'],
         "early": ["if n is None:", "    return 'early'"],
         "missing": ["if db.get(Item, n) is None:", "    return None"],
         "commit": ["db.commit()"],
         "guarded": ["try:", "    db.flush()", "except IntegrityError:",
                     "    return 'conflict'"],
         "loop": ["for item in (n or []):", "    db.add(Item(id=item))"]}),
}


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(LIBRARIES)), st.data(), st.booleans())
def test_generated_functions_of_other_libraries_behave_as_before(
        library: str, data: st.DataObject, released: bool) -> None:
    head, release, steps = LIBRARIES[library]
    chosen = data.draw(st.lists(st.sampled_from(sorted(steps)), min_size=1, max_size=4))
    body = "".join(f"    {line}\n" for step in chosen for line in steps[step])
    source = head + body + (release if released else "") + "    return 'done'\n"
    functions, faults = prove(source)
    COUNTS["generated programs (other libraries)"] += 1
    COUNTS["generated programs (other libraries) fixed and run"] += bool(functions)
    COUNTS["function runs"] += functions
    COUNTS["faults injected"] += faults


def test_zz_summary() -> None:
    """(last in the module) what the executed layer ran."""
    if COUNTS:
        print(f"\nexecuted proof: {dict(sorted(COUNTS.items()))}")
        assert COUNTS["faults injected"] > 0

"""`check` answers "is there a fix, and is it safe?" (the `[*]` marker, the hidden-fix
count) from `Rule.fix_safety`, which first runs the fixer under `check_only()`: every
decision, none of the edits (then, for a plan it would offer, the full plan and the
equivalence check `fix` runs: tests/cli/test_cli_parity.py compares the result with
what `fix` writes). The cheap answer must be the full plan's: compared here for every
finding of a fixable rule on every rule case, the fixture apps, and generated
functions."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from poolsafe.analysis.index import ProjectIndex
from poolsafe.fix.plan.api import FixPlan, check_only
from poolsafe.rules import ALL_RULES, FileContext
from poolsafe.scan.checking import enabled_rules, parse_source, with_virtual_files
from poolsafe.scan.engine import ScanOptions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def safety_answers(files: dict[str, str]) -> Iterator[tuple[str, int, str | None, str | None]]:
    """(rule, finding number, cheap answer, full plan's answer) for each finding of a
    fixable rule in the in-memory project `files`."""
    options = with_virtual_files(ScanOptions(), files)
    modules = [parse_source(name, Path("/virtual") / name, Path(name), text)
               for name, text in files.items() if name.endswith(".py")]
    index = ProjectIndex(modules, options.project)
    rules = [r for r in enabled_rules(options) if r.fixable]
    for module in modules:
        ctx = FileContext(module, index)
        for rule in rules:
            for n, raw in enumerate(rule.check(ctx)):
                with check_only():
                    cheap = rule.plan_safety(ctx, raw)
                full = rule.plan_safety(ctx, raw)  # outside check_only(): the whole plan
                yield rule.code, n, cheap, full


def _case_projects() -> list[object]:
    out = []
    for rule in ALL_RULES:
        for kind, cases in (("invalid", rule.INVALID), ("valid", rule.VALID)):
            for i, case in enumerate(cases):
                out.append(pytest.param({**case.files, case.path: case.code},
                                        id=f"{rule.code}-{kind}-{i}"))
    return out


def _fixture_projects() -> list[object]:
    out = []
    for app in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for form in ("before", "after"):
            root = app / form
            files = {str(p.relative_to(root)): p.read_text(encoding="utf-8")
                     for p in sorted(root.rglob("*")) if p.is_file()}
            out.append(pytest.param(files, id=f"{app.name}-{form}"))
    return out


SEEN: Counter[str | None] = Counter()


@pytest.mark.parametrize("files", _case_projects() + _fixture_projects())
def test_cheap_answer_equals_the_full_plan_on_cases_and_fixtures(files: dict[str, str]) -> None:
    for code, n, cheap, full in safety_answers(files):
        assert cheap == full, (code, n)
        SEEN[full] += 1


# ------------------------------------------------------------------ generated
HEADERS = {
    "pool": ("from psycopg2.pool import ThreadedConnectionPool\n"
             "pool = ThreadedConnectionPool(1, 10, dsn='dbname=x')\n",
             "pool.getconn()", "pool.putconn({v})", False),
    "wrapper": ("from psycopg2.pool import ThreadedConnectionPool\n"
                "pool = ThreadedConnectionPool(1, 10, dsn='dbname=x')\n\n\n"
                "def get_conn():\n    return pool.getconn()\n\n\n"
                "def put_conn(conn):\n    pool.putconn(conn)\n",
                "get_conn()", "put_conn({v})", False),
    "engine": ("from sqlalchemy import create_engine\n"
               "engine = create_engine('postgresql://x')\n",
               "engine.connect()", "{v}.close()", False),
    "session": ("from sqlalchemy import create_engine\n"
                "from sqlalchemy.orm import sessionmaker\n"
                "Session = sessionmaker(bind=create_engine('postgresql://x'))\n",
                "Session()", "{v}.close()", False),
    "direct": ("import psycopg2\n", "psycopg2.connect('dbname=x')", "{v}.close()", False),
    "asyncpg": ("import asyncpg\npool = None\n\n\nasync def setup():\n    global pool\n"
                "    pool = await asyncpg.create_pool('postgresql://x')\n",
                "await pool.acquire()", "await pool.release({v})", True),
}

STATEMENTS = [
    "cur = {v}.cursor()",
    "cur.execute('SELECT 1')",
    "{v}.commit()",
    "{release}",
    "{release}  # done",
    "# give it back\n{release}",
    "if key:\n    {release}\n    return None",
    "if not {v}:\n    return None",
    "return cur.fetchone()",
    "try:\n    {v}.commit()\nexcept Exception:\n    {v}.rollback()\n    raise",
    "try:\n    cur.execute('x')\nfinally:\n    {release}",
    "for i in range(3):\n    cur.execute('x')",
    "for i in range(3):\n    {release}",
    "log.info('x')",
    "items.append({v})",
    "{v} = None",
    "other = {v}",
    "with {v}.cursor() as c:\n    c.execute('x')",
    "with {v}:\n    {v}.execute('x')",
    "def inner():\n    return {v}",
    "return {v}",
    "del {v}",
    "x = helper({v}, key)",
]


def _function(rng: random.Random, n: int, acquire: str, release: str, is_async: bool) -> str:
    body = [f"conn = {acquire}"]
    for _ in range(rng.randint(1, 5)):
        stmt = rng.choice(STATEMENTS).format(v="conn", release=release.format(v="conn"))
        if is_async:
            stmt = stmt.replace("cur.execute(", "await conn.execute(")
        body.append(stmt)
    lines = "\n".join("    " + line for stmt in body for line in stmt.splitlines())
    return f"\n\n{'async ' if is_async else ''}def op_{n}(key, items, log, helper):\n{lines}\n"


def generated_projects(count: int, seed: int = 14) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    for k in range(count):
        name = rng.choice(sorted(HEADERS))
        header, acquire, release, is_async = HEADERS[name]
        text = header + "".join(_function(rng, n, acquire, release, is_async)
                                for n in range(10))
        yield {f"gen_{k}.py": text}


def test_cheap_answer_equals_the_full_plan_on_generated_functions() -> None:
    seen: Counter[str | None] = Counter()
    for files in generated_projects(40):
        for code, n, cheap, full in safety_answers(files):
            assert cheap == full, (code, n, files)
            seen[full] += 1
    # the generated functions reach every answer: a safe fix, an unsafe one, none
    assert seen["safe"] and seen["unsafe"] and seen[None], seen


def test_plans_made_to_check_are_marked_and_others_are_not() -> None:
    with check_only():
        assert FixPlan("PS102", "x").check_only
    assert not FixPlan("PS102", "x").check_only

"""A rule's findings do not depend on which other rules run: `--select PS207` alone
reports what the all-rules scan reports for PS207.

The index memoises what each expression evaluates to, and cuts a cycle of
evaluations by answering None for a node already being evaluated. A binding whose
value names the variable it binds (`async with pool.acquire() as pool`) was such a
cycle: which of the two nodes was asked first decided what the memo kept, so
PS207 alone (which asks about `pool` in `pool.acquire()` first) saw the pool, not
the connection, in the body, while PS102 (which asks about the `with` item first)
left the right answer for PS207 to read."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.values import Connection, LibraryObject
from poolsafe.rules import ALL_RULES
from poolsafe.scan.checking import parse_source
from poolsafe.scan.engine import ScanOptions, scan

REBOUND_POOL = {
    "app/__init__.py": "",
    "app/database.py": "import asyncpg\n\npool = None\n\n\nasync def init():\n"
                       "    global pool\n"
                       "    pool = await asyncpg.create_pool(dsn='postgresql://localhost/app')\n",
    "app/handlers.py": "import asyncio\n\nfrom app import database\n\n\nclass Report:\n"
                       "    def __init__(self, conn, user_id):\n"
                       "        self.conn = conn\n        self.user_id = user_id\n\n"
                       "    async def build(self):\n        await asyncio.sleep(5)\n"
                       "        return self.user_id\n\n\n"
                       "async def send_report(user_id):\n"
                       "    pool = database.pool\n"
                       # asyncpg holds a transaction only inside .transaction()
                       "    async with pool.acquire() as pool, pool.transaction():\n"
                       "        await pool.fetchrow('SELECT 1 FROM users WHERE id = $1', user_id)\n"
                       "        report = Report(pool, user_id)\n"
                       "        await report.build()\n",
}


def _write(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = base / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


Found = list[tuple[str, int, int, str]]


def _found(select: set[str]) -> dict[str, Found]:
    """Each rule's findings (path, line, column, message) when `select` runs."""
    out: dict[str, Found] = {}
    for f in scan(["."], ScanOptions(select=select, jobs=1)).findings:
        out.setdefault(f.code, []).append((f.path, f.line, f.column, f.message))
    return out


def _each_rule_alone_as_all() -> None:
    every = _found({"ALL"})  # `ALL`: PS209 is opt-in, not in the default selection
    for rule in ALL_RULES:
        assert _found({rule.code}).get(rule.code, []) == every.get(rule.code, []), rule.code


@pytest.mark.parametrize("prefilter", [True, False])
def test_ps207_alone_reports_what_all_rules_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefilter: bool) -> None:
    _write(tmp_path, REBOUND_POOL)
    monkeypatch.chdir(tmp_path)
    every = [(f.path, f.line, f.column, f.message)
             for f in scan(["."], ScanOptions(prefilter=prefilter, jobs=1)).findings
             if f.code == "PS207"]
    assert [(p, line) for p, line, _, _ in every] == [("app/handlers.py", 21)]
    alone = [(f.path, f.line, f.column, f.message)
             for f in scan(["."], ScanOptions(select={"PS207"}, prefilter=prefilter,
                                              jobs=1)).findings]
    assert alone == every


def test_each_rule_alone_reports_what_all_rules_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, REBOUND_POOL)
    monkeypatch.chdir(tmp_path)
    _each_rule_alone_as_all()


SELF_REFERENCE = (
    "import asyncpg\n\n"
    "POOL = asyncpg.create_pool(dsn='x')\n\n\n"
    "async def handler():\n"
    "    pool = POOL\n"
    "    async with pool.acquire() as pool:\n"
    "        await pool.fetchrow('SELECT 1')\n"
)


def _names(module_node: cst.Module, name: str) -> list[cst.Name]:
    return [n for n in iter_nodes(module_node, into_functions=True)
            if isinstance(n, cst.Name) and n.value == name]


@pytest.mark.parametrize("order", ["source", "reversed"])
def test_a_self_referencing_binding_evaluates_alike_in_any_order(order: str) -> None:
    """`pool` in `pool.acquire()` is the pool bound before the `with`; `pool` in its
    body is the connection the `with` entered, whichever is asked first."""
    module = parse_source("m.py", Path("/virtual/m.py"), Path("m.py"), SELF_REFERENCE)
    index = ProjectIndex([module])
    func = module.functions["handler"]
    # the `pool` names of the function: the assignment's target, the one in
    # `pool.acquire()`, the `as` target, the one in the body
    _, in_item, target, in_body = _names(func.node, "pool")
    asked = [in_item, target, in_body]
    for node in (asked if order == "source" else reversed(asked)):
        index.evaluate(node, module, func)
    assert isinstance(index.evaluate(in_item, module, func), LibraryObject)
    assert isinstance(index.evaluate(target, module, func), Connection)
    assert isinstance(index.evaluate(in_body, module, func), Connection)


FIXTURES = sorted(p for p in (Path(__file__).resolve().parents[2] / "fixtures").glob("*/*")
                  if p.is_dir())


@pytest.mark.parametrize("app", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_rule_alone_reports_what_all_rules_report_on_the_fixtures(
        app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(app)
    _each_rule_alone_as_all()

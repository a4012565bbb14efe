"""No fixer stops the run (issue #30, item 4).

A fixer that raises, or a fix whose result would carry a finding its function did
not have, is not applied: that finding is left with the reason on its one line, the
file's other fixes are made, and `fix` exits as docs/fix.md says (1: findings left),
never 2 (an internal error)."""

from __future__ import annotations

import shutil
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner

from poolsafe.cli.main import main
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.edits import enclosing_function, parent_map, statement_line
from poolsafe.fix.loop.apply import fix_sources
from poolsafe.fix.plan.api import FixOutcome, FixPlan
from poolsafe.rules import RULES_BY_CODE, FileContext
from poolsafe.scan.engine import ScanOptions

# the PS103 fixer's guarded rollback inside an `isinstance` guard (a broad handler on
# a name that may be None) once built text that did not parse: ParserSyntaxError,
# `fix` exit 2, and the PS101 fix below was lost with it
BROAD_HANDLER_MAYBE_NONE = '''\
import psycopg2
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 2, dsn="dbname=x")


def store(dsn):
    conn = None
    try:
        conn = psycopg2.connect(dsn)
        conn.cursor().execute("INSERT INTO t VALUES (1)")
    except Exception as exc:
        print(exc)
    if conn is not None:
        conn.cursor().execute("SELECT 1")
        conn.commit()


def count():
    conn = pool.getconn()
    try:
        return conn.cursor().execute("SELECT count(*) FROM t")
    finally:
        conn.close()
'''


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["fix", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


def test_a_fixer_that_raises_leaves_its_finding_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = RULES_BY_CODE["PS103"]

    def broken(self: object, ctx: FileContext, finding: RawFinding) -> FixOutcome | None:
        raise cst.ParserSyntaxError("expected INDENT", lines=["x"], raw_line=1,
                                    raw_column=0)

    monkeypatch.setattr(rule, "fix", broken)
    (tmp_path / "app.py").write_text(BROAD_HANDLER_MAYBE_NONE, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    code, err = _run(str(tmp_path))
    assert code == 1, err  # findings left; not 2
    lines = [line for line in err.splitlines() if "PS103 left:" in line]
    assert len(lines) == 1, err
    assert "the PS103 fixer failed (ParserSyntaxError" in lines[0], err
    assert "internal error" not in err
    # the other fix of the same file is made
    assert "pool.putconn(conn)" in (tmp_path / "app.py").read_text(encoding="utf-8")


def test_the_real_fixer_on_that_shape_exits_one_not_two(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(BROAD_HANDLER_MAYBE_NONE, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    code, err = _run(str(tmp_path))
    assert code in (0, 1), err
    assert "internal error" not in err
    text = (tmp_path / "app.py").read_text(encoding="utf-8")
    compile(text, "app.py", "exec")
    assert "pool.putconn(conn)" in text


# a fix whose result carries a new finding in the function it rewrites: here a
# stand-in PS101 fixer that releases by closing in a new handler that swallows the
# error and reuses the connection (a new PS103)
ONE_CLOSE = '''\
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 2, dsn="dbname=x")


def count():
    conn = pool.getconn()
    try:
        return conn.cursor().execute("SELECT count(*) FROM t")
    finally:
        conn.close()


def names():
    conn = pool.getconn()
    try:
        return conn.cursor().execute("SELECT name FROM t")
    finally:
        conn.close()
'''

BAD_RELEASE = '''\
try:
    conn.cursor().execute("DELETE FROM t")
except Exception:
    pass
conn.cursor().execute("SELECT 1")
pool.putconn(conn)
'''


@pytest.mark.parametrize("selection", [{"PS101", "PS103"}, {"PS101"}])
def test_a_fix_that_adds_a_finding_is_reverted_for_that_finding_only(
        monkeypatch: pytest.MonkeyPatch, selection: set[str]) -> None:
    rule = RULES_BY_CODE["PS101"]
    real = rule.fix

    def adds_ps103(self: object, ctx: FileContext, finding: RawFinding) -> FixOutcome | None:
        plan = real(self, ctx, finding)  # type: ignore[arg-type]
        assert isinstance(plan, FixPlan)
        code = ctx.module.tree.code_for_node(finding.node)
        if "count" not in ctx.module.tree.code or not _in_function(ctx, finding, "count"):
            return plan
        assert "close" in code
        bad = cst.parse_module(BAD_RELEASE).body
        stmt = statement_line(finding.node, parent_map(ctx.module.tree))
        assert stmt is not None
        plan.replacements.clear()
        plan.replace(stmt, cst.FlattenSentinel(list(bad)))
        return plan

    monkeypatch.setattr(rule, "fix", adds_ps103)
    # (unsafe: the equivalence check already marks this stand-in fix unsafe); the check
    # runs PS103 even when only the fixed rule is selected
    result = fix_sources({"app.py": ONE_CLOSE}, ScanOptions(select=selection), unsafe=True)
    text = result.sources()["app.py"]
    compile(text, "app.py", "exec")
    assert "DELETE FROM t" not in text  # reverted
    assert text.count("pool.putconn(conn)") == 1  # `names` is still fixed
    assert [(a.code, a.line) for a in result.applied] == [("PS101", 19)]
    left = [(x.finding.code, x.finding.line, x.reason) for x in result.left]
    assert len(left) == 1 and left[0][:2] == ("PS101", 11), left
    assert left[0][2] == ("the fix was reverted: it would add a new finding (PS102, PS103) in the "
                          "function it rewrites"), left
    assert result.internal_errors == 0 and not result.errors


def _in_function(ctx: FileContext, finding: RawFinding, name: str) -> bool:
    func = enclosing_function(finding.node, parent_map(ctx.module.tree), ctx.module)
    return func is not None and func.name == name


def test_fixture_apps_fix_without_reverts(tmp_path: Path) -> None:
    """The check reverts nothing the fixers do today on the bundled apps."""
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    for before in sorted(fixtures.glob("*/before")):
        work = tmp_path / before.parent.name
        shutil.copytree(before, work)
        code, err = _run("--unsafe-fixes", str(work))
        assert "was reverted" not in err and "fixer failed" not in err, err
        assert code in (0, 1), err

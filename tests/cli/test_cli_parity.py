"""Ruff-parity of `poolsafe check` (#15): one test per behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Invoke

from poolsafe.core.model import Finding, Location, ScanResult, Severity
from poolsafe.report.statistics import rows

ROOT = Path(__file__).resolve().parents[2]

DB = '''\
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=test")


def get_conn():
    return pool.getconn()
'''

APP = '''\
from db import get_conn


def handler():
    conn = get_conn()
    cur = conn.cursor()
    cur.execute("select 1")
    return cur.fetchone()
'''


def small_project(root: Path) -> Path:
    """One leak, which `poolsafe fix` fixes safely."""
    (root / "db.py").write_text(DB)
    (root / "app.py").write_text(APP)
    return root


def test_add_noqa_writes_suppressions_and_keeps_comments(project: Path, cli: Invoke) -> None:
    db = project / "app" / "db.py"
    text = db.read_text().replace("    conn = pool.getconn()\n    cur = conn.cursor()\n"
                                  "    cur.execute(\"SELECT * FROM users WHERE id",
                                  "    conn = pool.getconn()  # noqa: E501 (long on purpose)\n"
                                  "    cur = conn.cursor()\n"
                                  "    cur.execute(\"SELECT * FROM users WHERE id", 1)
    db.write_text(text)
    before = cli("check", "--format", "json")
    assert before.code == 1
    r = cli("check", "--add-noqa")
    assert r.code == 0, r.all
    assert "Added " in r.err and "noqa directive" in r.err
    after = db.read_text()
    assert "conn = pool.getconn()  # noqa: E501, PS102 (long on purpose)\n" in after
    assert "        conn.close()  # noqa: PS101\n" in after
    again = cli("check")
    assert again.code == 0, again.all
    assert "Added 0 noqa directives." in cli("check", "--add-noqa").err


def test_ps001_fix_removes_unused_codes_and_comments(project: Path, cli: Invoke) -> None:
    clean = project / "app" / "clean.py"
    original = clean.read_text()
    first = original.splitlines()[0]
    lines = original.splitlines(keepends=True)
    lines[0] = first + "  # poolsafe: ignore[PS101]\n"
    clean.write_text("".join(lines))
    db = project / "app" / "db.py"
    db.write_text(db.read_text().replace("    conn = pool.getconn()\n    cur = conn.cursor()\n",
                                         "    conn = pool.getconn()  # poolsafe: ignore[PS102, "
                                         "PS103]\n    cur = conn.cursor()\n", 1))
    reported = cli("check", "--report-unused-ignores", "--format", "concise")
    assert "PS001 [*]" in reported.out
    r = cli("check", "--fix", "--report-unused-ignores")
    assert clean.read_text() == original
    assert "conn = pool.getconn()  # poolsafe: ignore[PS102]\n" in db.read_text()
    assert "PS001" not in r.out


def test_diff_prints_the_fixes_and_writes_nothing(tmp_path: Path, cli: Invoke,
                                                  monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(small_project(tmp_path))
    r = cli("check", "--diff", "--no-cache")
    assert r.code == 1
    assert r.out.startswith("--- a/app.py\n+++ b/app.py\n")
    assert "+        pool.putconn(conn)\n" in r.out
    assert "Would fix 1 finding." in r.err
    assert (tmp_path / "app.py").read_text() == APP


def test_show_fixes_and_exit_non_zero_on_fix(tmp_path: Path, cli: Invoke,
                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(small_project(tmp_path))
    r = cli("check", "--fix", "--show-fixes", "-e", "--no-cache")
    assert r.code == 1  # fixed, nothing left: -e still says something changed
    assert "Fixed 1 finding." in r.err
    assert "- app.py:\n    1 x PS102 (unreleased-connection)" in r.err
    assert "pool.putconn(conn)" in (tmp_path / "app.py").read_text()
    (tmp_path / "app.py").write_text(APP)
    assert cli("check", "--fix", "--no-cache").code == 0


def test_output_format_is_an_alias_of_format(project: Path, cli: Invoke) -> None:
    assert cli("check", "--output-format", "json").out == cli("check", "--format", "json").out


def test_quiet_prints_findings_only(project: Path, cli: Invoke) -> None:
    for fmt in ("text", "concise"):
        r = cli("check", "-q", "--format", fmt)
        assert r.code == 1
        assert "PS102" in r.out
        assert "Found " not in r.out and "Found " not in r.err


def test_summary_counts_hidden_fixes(cli: Invoke) -> None:
    r = cli("check", "--no-cache", str(ROOT / "fixtures" / "flask_psycopg2" / "before"))
    assert "1 hidden fix can be enabled with `--unsafe-fixes`" in r.out
    r = cli("check", "--no-cache", "--select", "PS102",
            str(ROOT / "fixtures" / "flask_psycopg2" / "before"))
    assert "hidden fix" not in r.out


def test_hidden_fixes_come_from_the_check_and_survive_the_cache(tmp_path: Path,
                                                                 cli: Invoke) -> None:
    """Each finding's fix is planned once, in the check (for its `[*]`); whether only
    an unsafe fix exists is kept with the finding, in the cache too, so a warm run
    counts hidden fixes without analysing anything again."""
    import shutil

    app = tmp_path / "app"
    shutil.copytree(ROOT / "fixtures" / "flask_psycopg2" / "before", app)
    cold = cli("check", str(app))
    warm = cli("check", str(app))
    assert "1 hidden fix can be enabled with `--unsafe-fixes`" in cold.out
    assert warm.out == cold.out
    from poolsafe.scan.engine import scan

    assert [(f.line, f.code) for f in scan([str(app)]).findings if f.unsafe_fix] == [
        (50, "PS103")]


def test_dedicated_config_files_and_their_precedence(project: Path, cli: Invoke) -> None:
    Path("pyproject.toml").write_text('[tool.poolsafe]\nselect = ["PS101"]\n')
    Path("poolsafe.toml").write_text('select = ["PS102"]\n')
    Path(".poolsafe.toml").write_text('select = ["PS104"]\n')

    def codes() -> set[str]:
        return {f["code"] for f in json.loads(cli("check", "--format", "json").out)["findings"]}

    assert codes() == {"PS104"}
    Path(".poolsafe.toml").unlink()
    assert codes() == {"PS102"}
    Path("poolsafe.toml").unlink()
    assert codes() == {"PS101"}


def test_gitlab_code_quality(project: Path, cli: Invoke) -> None:
    r = cli("check", "--format", "gitlab")
    issues = json.loads(r.out)
    findings = json.loads(cli("check", "--format", "json").out)["findings"]
    assert len(issues) == len(findings)
    for issue, f in zip(issues, findings, strict=True):
        assert issue["check_name"] == f["code"]
        assert issue["description"].startswith(f["code"] + " ")
        assert issue["severity"] in ("major", "minor")
        assert issue["location"] == {"path": f["path"],
                                     "lines": {"begin": f["line"], "end": f["end_line"]}}
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_json_lines(project: Path, cli: Invoke) -> None:
    r = cli("check", "--format", "json-lines")
    findings = json.loads(cli("check", "--format", "json").out)["findings"]
    assert [json.loads(line) for line in r.out.splitlines()] == findings


def test_fix_marker_follows_the_code(project: Path, cli: Invoke) -> None:
    text = cli("check", "--select", "PS102").out.splitlines()[0]
    assert text.startswith("app/db.py:9:12: PS102 [*] error ")
    concise = cli("check", "--select", "PS102", "--format", "concise").out.splitlines()[0]
    assert concise.startswith("app/db.py:9:12: PS102 [*] psycopg2 pool connection")


def test_rules_and_statistics_agree_on_fixable(cli: Invoke) -> None:
    stats = json.loads(cli("check", "--no-cache", "--statistics", "--format", "json",
                           str(ROOT / "fixtures")).out)
    rules = {r["code"]: r["fixable"] for r in json.loads(cli("rules", "--format", "json").out)}
    assert stats
    for row in stats:
        if row["fixable"]:
            assert rules[row["code"]], row["code"]


def test_statistics_fixable_when_any_finding_is() -> None:
    def finding(line: int, fixable: bool) -> Finding:
        return Finding("a.py", Location(line, 1, line, 2), "PS205",
                       "scoped-session-never-removed", "m", Severity.WARNING, fixable)

    (row,) = rows(ScanResult(findings=[finding(1, False), finding(2, True)]))
    assert row["fixable"] is True and row["fixable_count"] == 1


def test_top_level_help_does_not_cut_descriptions(cli: Invoke) -> None:
    out = cli("--help").out
    commands = out.split("Commands:\n", 1)[1]
    assert "..." not in commands
    assert "Print the documentation of rule CODE (e.g. PS102, or unreleased-" in commands


def test_no_color_removes_every_escape_code(project: Path, cli: Invoke) -> None:
    env = {"FORCE_COLOR": "1", "NO_COLOR": "1"}
    for args in (("check",), ("check", "--statistics"), ("rules",), ("explain", "PS102")):
        r = cli(*args, env=env)
        assert "\x1b" not in r.out + r.err, args
    assert "\x1b" in cli("check", env={"FORCE_COLOR": "1"}).out


def test_output_file_into_a_missing_directory(project: Path, cli: Invoke) -> None:
    r = cli("check", "--format", "json", "-o", "reports/ci/poolsafe.json")
    assert r.code == 1
    assert json.loads(Path("reports/ci/poolsafe.json").read_text())["findings"]


def test_usage_errors_are_one_line(project: Path, cli: Invoke) -> None:
    for args in (("check", "--format", "bogus"), ("check", "--no-such-option"),
                 ("chek",), ("explain",)):
        r = cli(*args)
        assert r.code == 2, args
        assert r.out == ""
        lines = r.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("poolsafe: error: "), r.err


def test_ps001_has_a_fix_in_explain(cli: Invoke) -> None:
    assert "--fix --report-unused-ignores" in cli("explain", "PS001").out



# ------------------------------------------- `[*]` of `check` == what `fix` writes
def _parity_projects() -> list[object]:
    from poolsafe.rules import ALL_RULES

    out = []
    for rule in ALL_RULES:
        if rule.fixable:
            for i, case in enumerate(rule.INVALID):
                out.append(pytest.param({**case.files, case.path: case.code},
                                        id=f"{rule.code}-invalid-{i}"))
    for before in sorted((ROOT / "fixtures").glob("*/before")):
        files = {str(p.relative_to(before)): p.read_text(encoding="utf-8")
                 for p in sorted(before.rglob("*")) if p.is_file()}
        out.append(pytest.param(files, id=f"fixture-{before.parent.name}"))
    return out


@pytest.mark.parametrize("files", _parity_projects())
def test_check_marks_exactly_the_findings_fix_rewrites(files: dict[str, str]) -> None:
    """The findings `check` marks `[*]` are the ones `poolsafe fix` (safe fixes only)
    resolves, rule by rule and file by file; with `--unsafe-fixes`, the hidden ones
    are resolved too (a fix may also mend a finding of a rule that has no fix of its
    own). Both run the same fixer and the same equivalence check."""
    from collections import Counter

    from poolsafe.fix.loop.apply import fix_sources
    from poolsafe.scan.engine import ScanOptions, scan_sources

    findings = scan_sources(files, ScanOptions()).findings
    every = Counter((f.path, f.code) for f in findings)
    marked = Counter((f.path, f.code) for f in findings if f.fixable)
    hidden = Counter((f.path, f.code) for f in findings if f.unsafe_fix)
    no_fix = {(f.path, f.code) for f in findings if not f.fixable and not f.unsafe_fix}

    def resolved(unsafe: bool) -> Counter[tuple[str, str]]:
        result = fix_sources(files, ScanOptions(), unsafe=unsafe)
        assert not result.errors, result.errors
        after = scan_sources({**files, **result.sources()}, ScanOptions()).findings
        left = Counter((f.path, f.code) for f in after)
        assert not left - every, left - every  # no fix made a new finding
        return every - left

    assert resolved(False) == marked
    with_unsafe = resolved(True)
    assert with_unsafe - (marked + hidden) == Counter(
        {k: n for k, n in (with_unsafe - (marked + hidden)).items() if k in no_fix})
    assert not (marked + hidden) - with_unsafe


def test_the_parity_cases_hold_both_kinds() -> None:
    """The parity test above compares safe and hidden fixes: its projects hold many of
    each (counted here over all of them; a module-level tally filled by the
    parametrized test depends on which cases an xdist worker ran)."""
    from poolsafe.scan.engine import ScanOptions, scan_sources

    safe = hidden = 0
    for param in _parity_projects():
        files = param.values[0]  # type: ignore[attr-defined]
        findings = scan_sources(files, ScanOptions()).findings
        safe += sum(1 for f in findings if f.fixable)
        hidden += sum(1 for f in findings if f.unsafe_fix)
    assert safe > 100 and hidden > 10, (safe, hidden)

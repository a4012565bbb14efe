"""Static findings meet the test suite: the real pytest plugin writes what the fixture
app's tests leaked (`--poolsafe-report`), and `poolsafe check --runtime` confirms the
findings it explains and reports the leak static analysis cannot see (PS002).

Each run is a real `python -m pytest` and a real `python -m poolsafe` in a copy of
fixtures/runtime_evidence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "runtime_evidence"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    return env


def run_tests(app: Path, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # (the plugin loads by its entry point, as in any project that installed poolsafe)
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--poolsafe",
         "--poolsafe-report", str(report)],
        cwd=app, capture_output=True, text=True, env=_env(), timeout=300)


def check(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "poolsafe", "check", "--no-cache", *args],
                          cwd=app, capture_output=True, text=True, env=_env(), timeout=300)


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    app = tmp_path_factory.mktemp("evidence") / "app"
    shutil.copytree(FIXTURE / "before", app)
    report = app / "poolsafe-runtime.json"
    result = run_tests(app, report)
    # the leaking tests fail under --poolsafe; the report is written all the same
    # (and the last test finds the pool empty: the hidden leak holds a connection)
    assert "4 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert f"poolsafe: 3 leaks written to {report}" in result.stdout
    return app, report


def test_the_report_names_each_test_and_the_user_frames(before: tuple[Path, Path]) -> None:
    app, report = before
    doc = json.loads(report.read_text())
    assert doc["format"] == 1
    by_test = {leak["test"].rsplit("::", 1)[1]: leak for leak in doc["leaks"]}
    assert sorted(by_test) == ["test_a_negative_total_is_refused",
                               "test_nothing_is_archived",
                               "test_the_reporting_connection_answers"]
    frame = by_test["test_a_negative_total_is_refused"]["frames"][0]
    assert frame == {"path": str(app / "orders" / "store.py"), "line": 19,
                     "function": "add_order", "text": "conn = POOL.getconn()"}
    # no frame of pytest, the standard library or poolsafe itself
    for leak in doc["leaks"]:
        assert all(f["path"].startswith(str(app)) for f in leak["frames"])


def test_the_report_names_who_held_the_pool_when_it_ran_dry(
        before: tuple[Path, Path]) -> None:
    """The pool of two runs dry in the last test: the report names both holders, with
    the test that made each checkout and its user frames."""
    app, report = before
    (error,) = json.loads(report.read_text())["pool_errors"]
    assert (error["test"], error["kind"], error["pool"], error["message"]) == (
        "tests/test_orders.py::test_the_totals_agree", "exhausted", "orders",
        "connection pool exhausted")
    held = [(h["test"].rsplit("::", 1)[1], h["state"], h["frames"][0]["line"],
             h["frames"][0]["function"]) for h in error["holders"]]
    assert held == [
        # leaked two tests earlier, kept in the module's cache
        ("test_the_reporting_connection_answers", "checked out", 42, "reporting_connection"),
        # the first of the two the failing test asked for
        ("test_the_totals_agree", "checked out", 48, "totals_agree")]
    for h in error["holders"]:
        assert all(f["path"].startswith(str(app)) for f in h["frames"])


def test_check_notes_the_finding_that_held_the_pool(before: tuple[Path, Path]) -> None:
    """`check --runtime` puts a note on the finding whose checkout held a connection
    when the pool ran dry (here the leak only the runtime saw), in every output."""
    app, report = before
    findings = json.loads(check(app, "--runtime", str(report), "--format", "json",
                                ".").stdout)["findings"]
    notes = {(f["line"], f["code"]): f["runtime_notes"] for f in findings}
    note = ("held one of the 2 connections of pool `orders` when "
            "`tests/test_orders.py::test_the_totals_agree` found it exhausted (checked out "
            "by `tests/test_orders.py::test_the_reporting_connection_answers`)")
    assert notes == {(19, "PS102"): [], (26, "PS102"): [], (42, "PS002"): [note]}
    text = check(app, "--runtime", str(report), ".").stdout
    assert f"         = note: {note}\n" in text
    sarif = json.loads(check(app, "--runtime", str(report), "--format", "sarif", ".").stdout)
    assert [r["properties"].get("runtimeNotes") for r in sarif["runs"][0]["results"]] == [
        None, None, [note]]


def test_check_confirms_two_findings_and_reports_the_hidden_leak(
        before: tuple[Path, Path]) -> None:
    app, report = before
    result = check(app, "--runtime", str(report), "--format", "json", ".")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    confirmed = [(f["path"], f["line"], f["code"]) for f in findings
                 if f["confirmed"] and f["code"] != "PS002"]
    runtime_only = [(f["path"], f["line"]) for f in findings if f["code"] == "PS002"]
    unconfirmed = [(f["path"], f["line"], f["code"]) for f in findings if not f["confirmed"]]
    assert confirmed == [("orders/store.py", 19, "PS102"), ("orders/store.py", 26, "PS102")]
    assert runtime_only == [("orders/store.py", 42)]
    assert unconfirmed == []
    ps002 = next(f for f in findings if f["code"] == "PS002")
    assert ps002["confirmed"].endswith("::test_the_reporting_connection_answers")
    assert ps002["column"] == 9  # the statement, not the indentation


def test_text_and_sarif_say_it(before: tuple[Path, Path]) -> None:
    app, report = before
    text = check(app, "--runtime", str(report), ".").stdout
    assert ("[confirmed at runtime by tests/test_orders.py::test_a_negative_total_is_refused]"
            in text)
    sarif = json.loads(check(app, "--runtime", str(report), "--format", "sarif", ".").stdout)
    results = sarif["runs"][0]["results"]
    assert sum(1 for r in results if r["properties"].get("confirmed")) == 3
    assert "PS002" in {rule["id"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}


def test_confirmed_only_keeps_what_the_suite_proved(before: tuple[Path, Path]) -> None:
    app, report = before
    # a finding the suite never exercised: left out under --confirmed-only
    extra = app / "orders" / "extra.py"
    extra.write_text("from orders.db import POOL\n\n\ndef unused():\n"
                     "    conn = POOL.getconn()\n    conn.execute('SELECT 1')\n"
                     "    POOL.putconn(conn)\n")
    try:
        every = json.loads(check(app, "--runtime", str(report), "--format", "json",
                                 ".").stdout)["findings"]
        only = json.loads(check(app, "--runtime", str(report), "--confirmed-only",
                                "--format", "json", ".").stdout)["findings"]
    finally:
        extra.unlink()
    assert ("orders/extra.py", 5) in {(f["path"], f["line"]) for f in every}
    assert {(f["path"], f["line"]) for f in only} == {
        ("orders/store.py", 19), ("orders/store.py", 26), ("orders/store.py", 42)}


def test_a_report_of_an_earlier_commit_still_matches_moved_code(
        tmp_path: Path, before: tuple[Path, Path]) -> None:
    app, report = before
    moved = tmp_path / "app"
    shutil.copytree(app, moved)
    store = moved / "orders" / "store.py"
    store.write_text('"""Moved down by two lines."""\n\n' + store.read_text())
    # the report names the old copy's lines: point it at this copy, as if written here
    doc = json.loads(report.read_text())
    for leak in doc["leaks"]:
        for frame in leak["frames"]:
            frame["path"] = frame["path"].replace(str(app), str(moved))
    (moved / "old-report.json").write_text(json.dumps(doc))
    findings = json.loads(check(moved, "--runtime", "old-report.json", "--format", "json",
                                ".").stdout)["findings"]
    assert [(f["line"], f["code"]) for f in findings if f["confirmed"]
            and f["code"] == "PS102"] == [(21, "PS102"), (28, "PS102")]


def test_the_fixed_app_leaks_nothing(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(FIXTURE / "after", app)
    report = app / "poolsafe-runtime.json"
    result = run_tests(app, report)
    assert "5 passed" in result.stdout, result.stdout + result.stderr
    doc = json.loads(report.read_text())
    assert doc["leaks"] == [] and doc["pool_errors"] == []
    checked = check(app, "--runtime", str(report), ".")
    assert checked.returncode == 0, checked.stdout


def test_bad_uses_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "bad.json").write_text("{}")
    r = check(tmp_path, "--runtime", "bad.json", ".")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "poolsafe: error: bad.json: not a poolsafe runtime report (written by "
        "`pytest --poolsafe --poolsafe-report FILE`)"]
    r = check(tmp_path, "--confirmed-only", ".")
    assert r.returncode == 2 and "--confirmed-only needs --runtime FILE" in r.stderr

"""`rules`, `explain`, exit codes, internal errors, progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Invoke

from poolsafe.cli import main as cli_mod
from poolsafe.rules import ALL_RULES
from poolsafe.scan import pipeline
from poolsafe.scan.options import ScanOptions


def test_rules_table_and_json(cli: Invoke) -> None:
    r = cli("rules")
    assert r.code == 0
    header = r.out.splitlines()[0].split()
    assert header == ["code", "name", "severity", "fixable", "summary"]
    for rule in ALL_RULES:
        assert rule.code in r.out and rule.name in r.out
    doc = json.loads(cli("rules", "--format", "json").out)
    assert [d["code"] for d in doc][2:] == [r.code for r in ALL_RULES]
    assert [d["code"] for d in doc][:2] == ["PS001", "PS002"]  # unused ignore, runtime leak
    assert set(doc[0]) == {"code", "name", "summary", "severity", "fixable"}


def test_explain(cli: Invoke) -> None:
    r = cli("explain", "PS102")
    assert r.code == 0
    assert r.out.startswith("# PS102 unreleased-connection\n")
    assert "## What it does" in r.out
    assert cli("explain", "unreleased-connection").out == r.out
    r = cli("explain", "PS999")
    assert r.code == 2 and r.err.strip() == \
        "poolsafe: error: unknown rule 'PS999' (see `poolsafe rules`)"


def test_explain_renders_markdown_on_a_terminal(cli: Invoke) -> None:
    r = cli("explain", "PS102", env={"FORCE_COLOR": "1"})
    assert r.code == 0
    assert "## What it does" not in r.out  # headings are rendered, not printed raw
    assert "What it does" in r.out


def test_exit_codes(project: Path, cli: Invoke) -> None:
    assert cli("check").code == 1
    assert cli("check", "app/clean.py").code == 0
    assert cli("check", "--exit-zero").code == 0
    (project / "broken.py").write_text("import psycopg2\nconn = pool.getconn(\n")
    r = cli("check", "broken.py")
    assert r.code == 1 and "broken.py" in r.out and "syntax error" in r.out


def test_internal_error_is_one_line(project: Path, cli: Invoke,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(pipeline, "scan", boom)
    r = cli("check")
    assert r.code == 2
    assert r.err.strip().splitlines() == [
        "poolsafe: error: internal error: RuntimeError: kaput "
        "(set POOLSAFE_DEBUG=1 for a traceback)"]


def test_no_progress_off_a_terminal_or_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli_mod._progress_wanted() is False  # pytest captures stderr
    monkeypatch.setenv("CI", "true")
    assert cli_mod._progress_wanted() is False


def test_progress_bar_path(project: Path, cli: Invoke,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []
    original = pipeline.scan

    def spy(paths: list[str], options: ScanOptions) -> object:
        assert options.progress is not None
        inner = options.progress

        def record(phase: str, path: str) -> None:
            seen.append((phase, path))
            inner(phase, path)

        options.progress = record
        return original(paths, options)

    monkeypatch.setattr(cli_mod, "_progress_wanted", lambda: True)
    monkeypatch.setattr(cli_mod, "PROGRESS_THRESHOLD", 1)
    monkeypatch.setattr(pipeline, "scan", spy)
    r = cli("check", "--format", "json")
    assert r.code == 1
    assert ("check", "app/db.py") in seen and ("parse", "app/db.py") in seen
    assert json.loads(r.out)["findings"]


def test_version(cli: Invoke) -> None:
    from poolsafe import __version__

    assert __version__ in cli("--version").out


def test_file_list_without_progress_reports(project: Path, cli: Invoke,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """If the engine stops calling the progress hook, junit and stale baseline
    detection still know which files were scanned."""
    original = pipeline.scan

    def silent(paths: list[str], options: ScanOptions) -> object:
        options.progress = None
        return original(paths, options)

    monkeypatch.setattr(pipeline, "scan", silent)
    r = cli("check", "--format", "junit")
    assert r.out.count("<testcase ") == 4


def test_jobs_option_gives_the_same_output(project: Path, cli: Invoke) -> None:
    serial = cli("check", "--no-cache", "-j", "1", ".")
    assert serial.code == 1
    assert cli("check", "--no-cache", "--jobs", "2", ".") == serial


def test_jobs_must_be_positive(project: Path, cli: Invoke) -> None:
    run = cli("check", "-j", "0", ".")
    assert run.code == 2
    assert "--jobs" in run.err and "0" in run.err

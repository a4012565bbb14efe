"""GitHub issue 8: a hostile repository never crashes the scan. The tree is built
at run time; every bad file becomes one clear entry under `errors`, and the one
real leak is still reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_tree import EXPECTED_ERRORS, LEAK_LINE, build

POOLSAFE = [sys.executable, "-m", "poolsafe.cli.main"]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([*POOLSAFE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    return build(root, outside=root / "elsewhere")


@pytest.fixture(scope="module")
def json_run(tree: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    proc = run(["check", "--format", "json", "--no-cache", "proj"], tree.parent)
    return proc, json.loads(proc.stdout)


def _errors(report: dict[str, object]) -> dict[str, str]:
    errors = report["errors"]
    assert isinstance(errors, list)
    return {Path(e["path"]).name: e["message"] for e in errors}


def test_json_reports_every_bad_file_once_and_still_finds_the_leak(
        json_run: tuple[subprocess.CompletedProcess[str], dict[str, object]]) -> None:
    proc, report = json_run
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr
    errors = _errors(report)
    for name, words in EXPECTED_ERRORS.items():
        assert name in errors, (name, errors)
        for w in words:
            assert w.lower() in errors[name].lower(), (name, errors[name])
    # files that are fine (or skipped) are not errors
    for ok in ("latin1.py", "bom.py", "crlf.py", "cr.py", "empty.py", "long_chain.py",
               "inner.py", "side_effects.py", "huge_literals.py"):
        assert ok not in errors, (ok, errors)
    assert len(report["errors"]) == len(EXPECTED_ERRORS)  # type: ignore[arg-type]
    findings = report["findings"]
    assert isinstance(findings, list)
    leaks = [(f["path"], f["line"], f["code"]) for f in findings]
    assert (os.path.join("proj", "app", "leak.py"), LEAK_LINE, "PS102") in leaks


def test_symlinks_are_not_followed(
        json_run: tuple[subprocess.CompletedProcess[str], dict[str, object]]) -> None:
    _, report = json_run
    paths = [f["path"] for f in report["findings"]]  # type: ignore[attr-defined]
    paths += [e["path"] for e in report["errors"]]  # type: ignore[attr-defined]
    assert not any("outside" in p or "loop" in p for p in paths), paths


def test_scanned_code_is_never_executed(
        tree: Path, json_run: tuple[subprocess.CompletedProcess[str], dict[str, object]]) -> None:
    assert not (tree.parent / "EXECUTED").exists()


def test_text_output_lists_errors_without_traceback(tree: Path) -> None:
    proc = run(["check", "--no-cache", "proj"], tree.parent)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    for name in EXPECTED_ERRORS:
        assert name in out, name
    assert "PS102" in out
    assert not (tree.parent / "EXECUTED").exists()


def test_missing_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run(["check", "does/not/exist.py"], tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "does/not/exist.py" in proc.stderr


def test_crashing_rule_is_reported_and_others_still_run(tree: Path) -> None:
    """A rule that raises on one file: exit 2, the error names the rule and the file,
    and the other rules and files are still checked."""
    script = (
        "import sys\n"
        "from poolsafe.rules import ps101_close_pooled_connection as m\n"
        "orig = m.ClosePooledConnection.check\n"
        "def boom(self, ctx):\n"
        "    if ctx.module.path.endswith('leak.py'):\n"
        "        raise ValueError('boom')\n"
        "    return orig(self, ctx)\n"
        "m.ClosePooledConnection.check = boom\n"
        "from poolsafe.cli.main import main\n"
        "sys.argv = ['poolsafe', 'check', '--format', 'json', '--no-cache',"
        " 'proj/app']\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tree.parent,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    report = json.loads(proc.stdout)
    msgs = [(e["path"], e["message"]) for e in report["errors"]]
    assert any(p.endswith("leak.py") and "PS101" in m and "boom" in m for p, m in msgs), msgs
    assert any(f["code"] == "PS102" for f in report["findings"])

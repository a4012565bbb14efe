"""Helpers for the CLI tests: a private copy of the small project in data/, and a
runner that returns exit code, stdout and stderr separately."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import DATA, Invoke, Run
from click.testing import CliRunner

from poolsafe.cli.main import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of tests/cli/data in a temporary directory, which becomes the cwd.
    Outside any git repository, so SARIF's %SRCROOT% is that directory."""
    root = tmp_path / "proj"
    shutil.copytree(DATA, root)
    monkeypatch.chdir(root)
    for var in ("NO_COLOR", "FORCE_COLOR", "CI", "POOLSAFE_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("POOLSAFE_NO_PROGRESS", "1")
    yield root


@pytest.fixture
def cli() -> Invoke:
    def invoke(*args: str, env: dict[str, str] | None = None) -> Run:
        runner = CliRunner()
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return invoke

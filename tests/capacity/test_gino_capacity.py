"""Gino's engine is an asyncpg pool (issue 33): `gino.create_engine(dsn, max_size=N)`
counts N per process in `poolsafe capacity` and PS208 (asyncpg's defaults, 10 and 10,
when no size is given)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from poolsafe.cli.main import main
from poolsafe.scan.engine import scan

_APP = """\
import asyncio

import gino


async def main():
    engine = await gino.create_engine("postgresql://app@db/app"{size})
    try:
        await engine.status("SELECT 1")
    finally:
        await engine.close()


if __name__ == "__main__":
    asyncio.run(main())
"""

_COMPOSE = """\
services:
  app:
    build: .
    command: python app.py
    deploy:
      replicas: 6
  db:
    image: postgres:16
"""


def _project(tmp_path: Path, size: str) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "g"\nversion = "0"\n')
    (tmp_path / "docker-compose.yml").write_text(_COMPOSE)
    (tmp_path / "app.py").write_text(_APP.format(size=size))
    return tmp_path


def _capacity(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["capacity", str(root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_gino_engine_max_size_counts_per_process(tmp_path: Path) -> None:
    root = _project(tmp_path, ", max_size=20")
    code, out = _capacity(root)
    assert code == 1
    assert "app: 6 replicas x 1 processes x 20 = 120 > 97" in out
    found = [(Path(f.path).name, f.line, f.code) for f in scan([str(root)]).findings]
    assert found == [("app.py", 7, "PS208")]


def test_gino_engine_defaults_to_asyncpgs_ten(tmp_path: Path) -> None:
    code, out = _capacity(_project(tmp_path, ""))
    assert code == 0
    assert "app: 6 replicas x 1 processes x 10 = 60 <= 97" in out

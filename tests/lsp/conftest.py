"""A project on disk for the language server tests: a pool wrapper in one module,
its leaking caller in another."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_project import APP, DB


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    (root / "db.py").write_text(DB)
    (root / "app.py").write_text(APP)
    return root

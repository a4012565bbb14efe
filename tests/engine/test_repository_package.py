"""A project whose code imports itself under the repository's own name (`import
SuppleTime.pr.app.config as conf` in a checkout named `SuppleTime`: the repository is
run from its parent directory): the import means the project's module."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from poolsafe.cli.main import main


def _findings(root: Path, rule: str) -> list[str]:
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", rule,
                                       "--format", "json", str(root)])
    return ["/".join(f["path"].replace("\\", "/").split("/")[-2:]) + f":{f['line']}"
            for f in json.loads(result.output)["findings"]]


def _project(root: Path) -> Path:
    files = {
        "pyproject.toml": "[project]\nname = 'supple'\n",
        "pr/__init__.py": "",
        "pr/app/__init__.py": "",
        "pr/app/config.py": 'DATABASE_URL = "postgresql+psycopg2://app@db/shop"\n',
        "pr/app/database.py": "from sqlalchemy import create_engine\n\n"
                              "import SuppleTime.pr.app.config as conf\n\n"
                              "engine = create_engine(conf.DATABASE_URL, pool_size=20)\n",
        "pr/app/web.py": "from flask import Flask\n\nfrom SuppleTime.pr.app.database import "
                         "engine\n\napp = Flask(__name__)\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_an_import_under_the_repositorys_own_name(tmp_path: Path) -> None:
    root = _project(tmp_path / "SuppleTime")
    assert _findings(root, "PS203") == ["app/database.py:5"]


def test_another_first_name_stays_outside(tmp_path: Path) -> None:
    """The same tree checked out under another name: `SuppleTime` is then no module of
    the project, and nothing tells the URL."""
    root = _project(tmp_path / "shop")
    assert _findings(root, "PS203") == []

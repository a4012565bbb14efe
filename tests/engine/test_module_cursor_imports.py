"""A module-level cursor imported from another module (PS103) is found by following
that one imported name through the modules its imports name, not by asking every
imported module for all of its cursors, which asked for their imports too: the
check of one file loaded every project module the import graph reaches (122 of
superset's modules for `models/core.py`, issue 32)."""

from __future__ import annotations

from pathlib import Path

import pytest

import poolsafe.scan.checking as checking
from poolsafe.scan.engine import scan
from poolsafe.scan.options import ScanOptions

_FILES = {
    "pyproject.toml": '[project]\nname = "bot"\nversion = "0"\n',
    "bot/__init__.py": "",
    "bot/db.py": ('import psycopg2\n\nconn = psycopg2.connect("dbname=bot")\n'
                  "cur = conn.cursor()\n"),
    # a re-export: the cursor's name is followed through it to `bot.db`
    "bot/shim.py": "from bot.db import cur\n",
    # a name assigned here: nothing of `bot.deep` is needed to know it is no cursor
    "bot/limits.py": ('import psycopg2\n\nfrom bot.deep import VALUE\n\nLIMIT = VALUE\n'
                      'pool = psycopg2.connect("dbname=limits")\n'),
    "bot/deep.py": 'import psycopg2\n\nVALUE = 1\nother = psycopg2.connect("dbname=x")\n',
    "bot/tasks.py": (
        "from bot.limits import LIMIT\nfrom bot.shim import cur\n\n\n"
        "def remember(url):\n    try:\n"
        '        cur.execute("INSERT INTO links (url) VALUES (%s)", (url,))\n'
        "    except Exception:\n        return False\n    return True\n"),
}


def test_an_imported_cursor_is_followed_alone(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for rel, text in _FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    parsed: list[str] = []
    parse_source = checking.parse_source

    def counting(display: str, *args: object) -> object:
        parsed.append(Path(display).name)
        return parse_source(display, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(checking, "parse_source", counting)
    result = scan([str(tmp_path / "bot" / "tasks.py")], ScanOptions(jobs=1))
    assert not result.errors
    assert [(Path(f.path).name, f.line, f.code) for f in result.findings] == [
        ("tasks.py", 8, "PS103")]
    assert "db.py" in parsed and "shim.py" in parsed, parsed
    assert "deep.py" not in parsed, parsed

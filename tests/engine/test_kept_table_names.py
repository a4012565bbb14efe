"""`project_facts._command_table_entry` (a function named only in a management
command's top-level table runs once per process) reads the names in the literal tables
of every module that spells `Command` (`_command_table_names`). Each module's names
are kept between runs by the module's text (`SummaryStore.put_table_names`): an
edit's `check FILE` reads the unchanged modules' names from the kept answers without
parsing them, and a module whose text changed is parsed and read again, so the
one-shot answer (and the finding it decides) follows the edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.core.model import ScanResult
from poolsafe.scan.cache import CACHE_DIR_NAME
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.lazy_index import LazyIndex

SCRIPT = """import psycopg2


def collect_tokens(*, uri):
    conn = psycopg2.connect(uri)
    cur = conn.cursor()
    cur.execute("SELECT token FROM cards")
    return cur.fetchall()
"""

COMMAND = """from django.core.management.base import BaseCommand

from app.scripts.tokens import collect_tokens

SCRIPTS = {{"collect-tokens": collect_tokens}}


class {name}(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("script")
        parser.add_argument("--uri")

    def handle(self, *args, **options):
        SCRIPTS[options["script"]](uri=options["uri"])
"""

#: a module that spells the word and holds no command (nothing else reads it)
OTHER = """import sqlalchemy

# a Command pattern for the undo stack
HISTORY = []
"""

SCRIPT_PATH = "app/scripts/tokens.py"
COMMAND_PATH = "app/management/commands/run_script.py"


def _key(result: ScanResult) -> list[tuple[object, ...]]:
    return [(f.path, f.location, f.code, f.message) for f in result.findings]


def test_kept_table_names_follow_the_command_module(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tables'\n")
    files = {"app/__init__.py": "", "app/management/__init__.py": "",
             "app/management/commands/__init__.py": "", "app/scripts/__init__.py": "",
             SCRIPT_PATH: SCRIPT, COMMAND_PATH: COMMAND.format(name="Command"),
             "app/other.py": OTHER}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    # (PS107 alone reads every module that spells `Command` for its own question)
    opts = ScanOptions(cache_dir=tmp_path / CACHE_DIR_NAME, ignore={"PS107"})
    assert _key(scan(["."], opts)) == []  # one-shot: run once by the command's table
    assert list((tmp_path / CACHE_DIR_NAME / "modules").glob("*.used.json"))

    loaded: list[str] = []
    orig_at = LazyIndex._module_at

    def recording(self: LazyIndex, path: str) -> object:
        if path not in self._loaded:
            loaded.append(Path(path).name)
        return orig_at(self, path)

    monkeypatch.setattr(LazyIndex, "_module_at", recording)
    (tmp_path / SCRIPT_PATH).write_text(SCRIPT + "\n\ndef edit_0():\n    return 0\n")
    cached = scan([SCRIPT_PATH], opts)
    monkeypatch.setattr(LazyIndex, "_module_at", orig_at)
    assert _key(cached) == [] == _key(scan([SCRIPT_PATH], ScanOptions(ignore={"PS107"})))
    # the command module is read (it imports the function); the module that only
    # spells the word is decided from its kept names, neither parsed nor loaded
    assert "run_script.py" in loaded, loaded
    assert "other.py" not in loaded, loaded

    # the command module no longer defines a `Command`: its table runs nothing, and
    # the connection of a function nothing runs once is reported
    (tmp_path / COMMAND_PATH).write_text(COMMAND.format(name="Helper"))
    (tmp_path / SCRIPT_PATH).write_text(SCRIPT + "\n\ndef edit_1():\n    return 1\n")
    cached = scan([SCRIPT_PATH], opts)
    assert [(f.code, f.location.line) for f in cached.findings] == [("PS102", 5)]
    assert _key(cached) == _key(scan([SCRIPT_PATH], ScanOptions(ignore={"PS107"})))

    # and back: one-shot again
    (tmp_path / COMMAND_PATH).write_text(COMMAND.format(name="Command"))
    (tmp_path / SCRIPT_PATH).write_text(SCRIPT + "\n\ndef edit_2():\n    return 2\n")
    cached = scan([SCRIPT_PATH], opts)
    assert _key(cached) == [] == _key(scan([SCRIPT_PATH], ScanOptions(ignore={"PS107"})))

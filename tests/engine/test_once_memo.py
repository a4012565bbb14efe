"""`project_facts.is_cli_entry` ("runs once per process") walks up a function's
callers; the same functions are asked again from each function below them (an
engine helper called from several places whose callers share one set-up function).
Its answers are kept per function, depth and resolution level for the life of the
index (`once_per_process` computes one), and `_run_from_table` reads a module's
literal tables from one walk of it: the findings are those of the walk asked afresh
each time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import poolsafe.analysis.project_facts as project_facts
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.core.model import ScanResult
from poolsafe.scan.engine import ScanOptions, scan

#: two engine helpers, each called from a set-up function that a table in `main()`
#: walks once, and from a request handler (many times)
DB = """from sqlalchemy import create_engine


def engine_for_setup(url):
    return create_engine(url)


def engine_for_requests(url):
    return create_engine(url)
"""

SETUP = """from db import engine_for_setup, engine_for_requests


def init_schema(url):
    engine_for_setup(url)
    engine_for_requests(url)


def seed(url):
    engine_for_setup(url)


def main():
    for name, step in [("schema", init_schema), ("seed", seed)]:
        step("postgresql://x")


if __name__ == "__main__":
    main()
"""

VIEWS = """from flask import Flask

from db import engine_for_requests

app = Flask(__name__)


@app.route("/")
def index():
    return str(engine_for_requests("postgresql://x").url)
"""


def _write(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'once'\n")
    for name, text in {"db.py": DB, "setup_db.py": SETUP, "views.py": VIEWS}.items():
        (tmp_path / name).write_text(text)


def _key(result: ScanResult) -> list[tuple[object, ...]]:
    return sorted((str(f.path), f.location.line, f.code, f.message) for f in result.findings)


def test_one_shot_answers_are_computed_once_and_find_what_fresh_answers_find(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path)
    monkeypatch.chdir(tmp_path)
    asked: Counter[tuple[str, int]] = Counter()
    original = project_facts.once_per_process

    def counting(index: ProjectIndex, func: FunctionInfo,
                 depth: int = 0) -> bool:
        asked[(func.qualname, depth)] += 1
        return original(index, func, depth)

    monkeypatch.setattr(project_facts, "once_per_process", counting)
    kept = scan(["."], ScanOptions(cache_dir=None, jobs=1))
    assert asked and max(asked.values()) == 1
    # every call of `is_cli_entry` computed afresh, as before the memo
    monkeypatch.setattr(project_facts, "is_cli_entry", original)
    fresh = scan(["."], ScanOptions(cache_dir=None, jobs=1))
    assert _key(kept) == _key(fresh)
    assert any(f.code == "PS202" for f in kept.findings)


def test_a_table_walked_once_is_read_from_the_kept_walk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path)
    monkeypatch.chdir(tmp_path)
    walks: list[tuple[int, int]] = []
    original = project_facts._literal_tables

    def counting(index: ProjectIndex,
                 module: ModuleInfo) -> object:
        found = original(index, module)
        walks.append((id(module.tree), id(found)))
        return found

    monkeypatch.setattr(project_facts, "_literal_tables", counting)
    result = scan(["."], ScanOptions(cache_dir=None, jobs=1))
    # asked again for a module (both set-up functions are in one): its one walk, kept
    assert len(walks) > len({tree for tree, _ in walks})
    assert len(set(walks)) == len({tree for tree, _ in walks})
    # `engine_for_setup` runs once (from the table's entries), `engine_for_requests`
    # from a route too: only the latter is reported
    lines = {f.location.line for f in result.findings
             if f.code == "PS202" and str(f.path).endswith("db.py")}
    assert lines == {9}

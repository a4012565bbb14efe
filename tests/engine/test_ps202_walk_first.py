"""PS202's walk up the callers of an engine factory (`_per_call_caller`): for the
outermost call's last caller that returns the engine undisposed, the walk up that
caller's callers is made first, and whether the caller runs once is asked only
when the walk finds a site (issue 32: mlflow's `create_sqlalchemy_engine_with_retry`,
whose callers all keep the engine, was asked whether it runs once, a walk up five
levels of server modules). The findings are those of the original order
(`_last_caller` answering False), whichever way each question goes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import poolsafe.rules.ps202_engine_per_call as ps202
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.core.model import ScanResult
from poolsafe.scan.engine import ScanOptions, scan

DB = """from sqlalchemy import create_engine


def make_engine(url):
    return create_engine(url)


def engine_with_retry(url):
    for _ in range(3):
        try:
            return make_engine(url)
        except Exception:
            pass
    raise RuntimeError(url)
"""

#: every caller of the retrying factory keeps what it returns
KEPT = """from db import engine_with_retry


class Store:
    def __init__(self, url):
        self.engine = engine_with_retry(url)
"""

#: a request handler builds one per request and drops it
DROPPED = """from flask import Flask

from db import engine_with_retry

app = Flask(__name__)


@app.route("/")
def index():
    return str(engine_with_retry("postgresql://x").url)
"""

#: the retrying factory is a command of its own (it runs once per process), and a
#: request handler calls it too
COMMAND = """import click
from sqlalchemy import create_engine


def make_engine(url):
    return create_engine(url)


@click.command()
def engine_with_retry(url="postgresql://x"):
    return make_engine(url)
"""

CASES = {
    "kept": {"db.py": DB, "store.py": KEPT},
    "dropped": {"db.py": DB, "store.py": KEPT, "views.py": DROPPED},
    "command": {"db.py": COMMAND, "views.py": DROPPED},
}


def _key(result: ScanResult) -> list[tuple[object, ...]]:
    return sorted((str(f.path), f.location.line, f.code, f.message) for f in result.findings)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_walk_first_finds_what_the_original_order_finds(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'walk'\n")
    for name, text in CASES[case].items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    asked: Counter[str] = Counter()
    original = ps202._runs_once_or_keeps

    def counting(index: ProjectIndex, func: FunctionInfo) -> bool:
        asked[func.name] += 1
        return original(index, func)

    monkeypatch.setattr(ps202, "_runs_once_or_keeps", counting)
    first = scan(["."], ScanOptions(cache_dir=None, jobs=1))
    walked_first = asked["engine_with_retry"]
    asked.clear()
    monkeypatch.setattr(ps202, "_last_caller", lambda sites, i: False)
    before = scan(["."], ScanOptions(cache_dir=None, jobs=1))
    assert _key(first) == _key(before)
    asked_before = asked["engine_with_retry"]
    reported = {f.location.line for f in first.findings
                if f.code == "PS202" and str(f.path).endswith("db.py")}
    if case == "kept":
        # the walk finds no site: the question is not asked, nothing is reported
        assert (walked_first, asked_before) == (0, 1) and reported == set()
    elif case == "dropped":
        # the walk finds the handler's call: asked, it does not run once, reported
        assert (walked_first, asked_before) == (1, 1) and reported == {5}
    else:
        # the factory is a command: nothing, whichever order
        assert walked_first == asked_before and reported == set()

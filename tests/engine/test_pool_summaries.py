"""Per-module pool summaries (`poolsafe.analysis.pool_summary`, kept by
`poolsafe.scan.summaries`): after an edit of a leaf module, PS208's project-wide
capacity reads the other modules' summaries instead of parsing the modules that
spell a pool word but hold no pool, and finds what a fresh scan finds; a change in
another module that makes one of them hold a pool (a project function replaced by
a re-export of `create_engine`) changes PS208's answer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from edit_helpers import edit_file as _edit
from edit_helpers import result_key as _key

import poolsafe.scan.checking as checking
from poolsafe.analysis.pool_summary import PoolSummary, summarize
from poolsafe.scan.cache import clear_cache
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.summaries import SUFFIX

COMPOSE = """services:
  web:
    image: app
    command: gunicorn -w 4 app:app
    deploy:
      replicas: 2
  db:
    image: postgres:16
    command: postgres -c max_connections=200
"""
URL = "'postgresql://app@db/app'"
FILES = {
    "pyproject.toml": "[project]\nname = 'p'\n",
    "docker-compose.yml": COMPOSE,
    "app.py": ("from db import engine\nimport leaf\nimport views\nimport reports\n\n"
               "app = object()\n"),
    "db.py": ("from sqlalchemy import create_engine\n\n"
              f"engine = create_engine({URL}, pool_size=10, max_overflow=5,\n"
              "                       pool_pre_ping=True)\n"),
    "leaf.py": ("from sqlalchemy import create_engine\n\n"
                f"reports_engine = create_engine({URL}, pool_size=2, max_overflow=0,\n"
                "                               pool_pre_ping=True)\n"),
    # modules that spell a pool word and hold no pool
    "models.py": ("from sqlalchemy import Column, Integer\n\n\n"
                  "class Database:\n    id = Column(Integer)\n"),
    "dbutil.py": "def make(url, **options):\n    return url\n",
    "views.py": ("from sqlalchemy import text\n\nfrom dbutil import make\n"
                 "from models import Database\n\n"
                 f"engine_b = make({URL}, pool_size=20, max_overflow=0)\n\n\n"
                 "def current(session):\n"
                 "    return session.execute(text('select 1')), Database()\n"),
    "reports.py": ("from sqlalchemy import text\n\n\n"
                   "def report():\n    # the engine comes from create_engine in db.py\n"
                   "    return text('select count(*) from report')\n"),
}
BYSTANDERS = {"models.py", "views.py", "reports.py"}




def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    for name, text in FILES.items():
        (root / name).write_text(text)
    monkeypatch.chdir(root)
    return root


def test_a_leaf_edit_reads_the_other_modules_summaries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch_parses: list[str]) -> None:
    root = _project(tmp_path, monkeypatch)
    cache = root / ".poolsafe_cache"
    opts = ScanOptions(cache_dir=cache)
    scan(["."], opts)  # (makes the cache: summaries go only in one poolsafe made)
    # a cache without summaries (the run that made it keeps them since round 26)
    shutil.rmtree(cache / "modules")
    leaf = root / "leaf.py"
    # the first edit parses the modules that spell a pool word, and summarizes them
    _edit(leaf, FILES["leaf.py"] + "\nA = 1\n", 1)
    epoch_parses.clear()
    first = scan(["leaf.py"], opts)
    assert set(epoch_parses) >= BYSTANDERS
    assert list((cache / "modules").glob(f"*{SUFFIX}"))
    # the next reads their summaries: none of them is parsed or loaded
    _edit(leaf, FILES["leaf.py"] + "\nA = 2\n", 2)
    epoch_parses.clear()
    second = scan(["leaf.py"], opts)
    assert not BYSTANDERS & set(epoch_parses), epoch_parses
    fresh = scan(["leaf.py"], ScanOptions())
    assert _key(second) == _key(fresh) == _key(first)
    # 2 x 4 x (15 + 2) = 136 <= 197: no PS208 yet
    assert "PS208" not in {f.code for f in second.findings}

    # `make` becomes SQLAlchemy's create_engine: views.py's own bytes (and summary)
    # are the same, but what its call means changed; its 20 connections count now
    _edit(root / "dbutil.py", "from sqlalchemy import create_engine as make\n", 3)
    _edit(leaf, FILES["leaf.py"] + "\nA = 3\n", 4)
    epoch_parses.clear()
    third = scan(["leaf.py"], opts)
    assert "views.py" in epoch_parses
    fresh = scan(["leaf.py"], ScanOptions())
    assert _key(third) == _key(fresh)
    assert [f.code for f in third.findings if f.code == "PS208"] == ["PS208"]
    assert "= 296 >" in next(f.message for f in third.findings if f.code == "PS208")


def test_a_pool_added_in_another_module_changes_ps208(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch_parses: list[str]) -> None:
    root = _project(tmp_path, monkeypatch)
    opts = ScanOptions(cache_dir=root / ".poolsafe_cache")
    scan(["."], opts)
    leaf = root / "leaf.py"
    for step in (1, 2):  # (the second edit reads the summaries)
        _edit(leaf, FILES["leaf.py"] + f"\nA = {step}\n", step)
        assert "PS208" not in {f.code for f in scan(["leaf.py"], opts).findings}
    # models.py, summarized as holding no pool, now makes one of 30 connections
    _edit(root / "models.py", FILES["models.py"] + "\nfrom sqlalchemy import create_engine\n"
          f"big = create_engine({URL}, pool_size=30, max_overflow=0)\n", 3)
    _edit(leaf, FILES["leaf.py"] + "\nA = 3\n", 4)
    result = scan(["leaf.py"], opts)
    assert _key(result) == _key(scan(["leaf.py"], ScanOptions()))
    message = next(f.message for f in result.findings if f.code == "PS208")
    assert "2 replicas x 4 workers x ((10 + 5) + (2 + 0) + (30 + 0)) = 376 >" in message, message


def test_a_summary_is_plain_data_and_a_damaged_one_is_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, monkeypatch)
    cache = root / ".poolsafe_cache"
    opts = ScanOptions(cache_dir=cache)
    scan(["."], opts)
    _edit(root / "leaf.py", FILES["leaf.py"] + "\nA = 1\n", 1)
    scan(["leaf.py"], opts)
    kept = list((cache / "modules").glob(f"*{SUFFIX}"))
    assert kept
    for path in kept:
        assert PoolSummary.from_json(json.loads(path.read_text())) is not None
        path.write_text('{"direct": "no"}')  # damaged: as if there were none
    _edit(root / "leaf.py", FILES["leaf.py"] + "\nA = 2\n", 2)
    assert _key(scan(["leaf.py"], opts)) == _key(scan(["leaf.py"], ScanOptions()))
    clear_cache(cache)
    assert not cache.exists()


@pytest.mark.parametrize(("source", "direct", "imported"), [
    # a constructor called through an attribute: resolution would be needed
    ("import sqlalchemy\ne = sqlalchemy.create_engine('x')\n", True, ()),
    # an imported constructor: the import's qualified name
    ("from sqlalchemy import create_engine\ne = create_engine('x')\n", False,
     ("sqlalchemy.create_engine",)),
    # a function's own class or function named like a constructor: never a library's
    ("class Database:\n    pass\n\ndef f():\n    return Database()\n", False, ()),
    # a name assigned in a function: only an evaluation can follow it
    ("def f(make):\n    g = make\n    return g()\n", True, ()),
    # a parameter called: never a library's constructor (`ProjectIndex._name`)
    ("from x import y\n\ndef f(make):\n    return make(y)\n", False, ()),
    # an import inside the function
    ("def f():\n    from app.db import make\n    return make()\n", False,
     ("app.db.make",)),
    # Flask-SQLAlchemy's key assigned, Django's DATABASES at the top level
    ("class Config:\n    SQLALCHEMY_DATABASE_URI = 'x'\n", True, ()),
    ("DATABASES = {}\n", True, ()),
    ("def f(app):\n    app.config['SQLALCHEMY_ENGINE_OPTIONS'] = {}\n", True, ()),
    # a key only read is no configuration
    ("def f(app):\n    return app.config['SQLALCHEMY_DATABASE_URI']\n", False, ()),
])
def test_summarize(source: str, direct: bool, imported: tuple[str, ...],
                   tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(source)
    module = checking.parse_source("m.py", path, Path("m.py"), source)
    summary = summarize(module)
    assert (summary.direct, summary.imported) == (direct, imported)
    assert PoolSummary.from_json(json.loads(json.dumps(summary.to_json()))) == summary


def _projects() -> list[tuple[str, dict[str, str]]]:
    """Every fixture app and every rule case, as {relative path: source}."""
    from poolsafe.rules import ALL_RULES

    root = Path(__file__).resolve().parents[2] / "fixtures"
    out = [(f"{app.parent.name}/{app.name}",
            {str(p.relative_to(app)): p.read_text() for p in sorted(app.rglob("*.py"))})
           for app in sorted(root.glob("*/*")) if app.is_dir()]
    for rule in ALL_RULES:
        for n, case in enumerate([*rule.VALID, *rule.INVALID]):
            out.append((f"{rule.code}#{n}", {**case.files, case.path: case.code}))
    return out


def test_a_module_summarized_as_holding_no_pool_holds_none(tmp_path: Path) -> None:
    """`may_hold_pools` False (each imported name judged by the index's own
    resolution) implies `module_pools` finds nothing: on every fixture module and
    every rule case's module."""
    from poolsafe.analysis.index import ProjectIndex
    from poolsafe.analysis.pool_sites import module_pools
    from poolsafe.analysis.pool_summary import ImportKind, may_hold_pools
    from poolsafe.analysis.values import ClassRef, External, FunctionRef, ModuleRef

    judged = skipped = 0
    for name, files in _projects():
        root = tmp_path / name.replace("/", "_").replace("#", "_")
        modules = []
        for rel, text in files.items():
            if not rel.endswith(".py"):
                continue
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            try:
                modules.append(checking.parse_source(rel, path, Path(rel), text))
            except Exception:  # (a case that does not parse: nothing to judge)
                continue
        index = ProjectIndex(modules)
        for module in modules:

            def kind(qualname: str, near: object = module,
                     index: ProjectIndex = index) -> ImportKind:
                value = index.resolve_qualname(qualname, near)  # type: ignore[arg-type]
                if isinstance(value, (FunctionRef, ClassRef, ModuleRef)):
                    return ImportKind.PROJECT
                if isinstance(value, External) and value.qualname == qualname:
                    return ImportKind.EXTERNAL
                return ImportKind.UNKNOWN

            judged += 1
            if not may_hold_pools(summarize(module), kind):
                skipped += 1
                assert module_pools(index, module) == [], (name, module.path)
    assert judged > 500 and skipped > 100, (judged, skipped)


def test_summaries_are_pruned_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    # one summary per version of a module: edits add up, so a run that writes one
    # removes the oldest past the limit, as the snapshots do
    import poolsafe.scan.summaries as summaries

    root = _project(tmp_path, monkeypatch)
    cache = root / ".poolsafe_cache"
    opts = ScanOptions(cache_dir=cache)
    scan(["."], opts)
    modules = cache / "modules"
    shutil.rmtree(modules)  # (the summaries the run that made the cache kept)
    modules.mkdir()
    for i in range(12):  # summaries of older versions, oldest first
        old = modules / f"old{i:02d}{SUFFIX}"
        old.write_text("{}")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    monkeypatch.setattr(summaries, "LIMIT", 10)
    monkeypatch.setattr(summaries, "KEEP", 5)
    _edit(root / "leaf.py", FILES["leaf.py"] + "\nA = 1\n", 1)
    scan(["leaf.py"], opts)
    left = sorted(p.name for p in modules.glob(f"*{SUFFIX}"))
    # pruned once, at the run's first write (down to 5), then the run's other writes
    assert 5 < len(left) <= 10
    assert not any(name < "old07" and name.startswith("old") for name in left), left
    assert "old11" + SUFFIX in left  # the newest old one was kept

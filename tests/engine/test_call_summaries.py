"""Per-module call summaries (`poolsafe.analysis.call_summary`, kept by
`poolsafe.scan.summaries`): `ProjectFacts.call_sites` (behind `callers` and
`is_cli_entry`), `any_call_site` and `ProjectIndex.dependency_functions` skip, without
loading it, a module whose kept summary says it has no call of the name (no
`Depends` argument). Their answers, and the findings, are those of the tree-walking
versions (every module the byte pattern matches loaded and walked), on the fixtures,
the rule cases and a generated project whose modules spell the names without calling
them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from poolsafe.analysis.call_summary import CallSummary, summarize_calls
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.project_facts import CallSite, ProjectFacts
from poolsafe.analysis.resolution import inventory
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.lazy_index import LazyIndex
from poolsafe.scan.summaries import CALLS_SUFFIX

from project_tree import write_project
from rule_case_tree import write_rule_cases

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

#: modules that spell `make_engine(`, `run_once(` and `Depends(` without calling them
GENERATED = {
    "pyproject.toml": "[project]\nname = 'gen'\n",
    "db.py": ("from sqlalchemy import create_engine\n\n\n"
              "def make_engine(url):\n    return create_engine(url, pool_size=5)\n"),
    "cli.py": ("import click\n\nfrom db import make_engine\n\n\n"
               "def run_once():\n    engine = make_engine('postgresql://db/app')\n"
               "    return engine.connect()\n\n\n"
               "@click.command()\ndef main():\n    run_once()\n"),
    "worker.py": ("from db import make_engine\n\n\n"
                  "def loop(urls):\n    for url in urls:\n"
                  "        conn = make_engine(url).connect()\n        conn.execute('x')\n"),
    "docs_only.py": ('"""Call make_engine(url) once, then run_once() from the CLI;\n'
                     'FastAPI handlers take Depends(get_session)."""\n'
                     "import sqlalchemy\n\nVALUE = sqlalchemy.__name__\n"),
    "api.py": ("from fastapi import Depends, FastAPI\nfrom sqlalchemy.orm import Session\n\n"
               "from session import get_session\n\napp = FastAPI()\n\n\n"
               "@app.get('/x')\ndef read(db: Session = Depends(get_session)):\n"
               "    return db.execute('select 1')\n"),
    "session.py": ("from sqlalchemy.orm import sessionmaker\n\nfrom db import make_engine\n\n"
                   "Local = sessionmaker(bind=make_engine('postgresql://db/app'))\n\n\n"
                   "def get_session():\n    db = Local()\n    try:\n        yield db\n"
                   "    finally:\n        db.close()\n"),
    "comment_only.py": ("import sqlalchemy  # Depends(get_session) is FastAPI's, not ours\n\n"
                        "# make_engine(url) lives in db.py\nX = sqlalchemy\n"),
}


def _site(s: CallSite) -> tuple[str, str | None, int]:
    calls = [c for c, _f in inventory(s.module).calls]
    return (str(s.module.abspath), None if s.func is None else s.func.qualname,
            next(i for i, c in enumerate(calls) if c is s.call))


@pytest.fixture()
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[tuple[object, ...]]]:
    """Every answer of the three questions during a scan, as plain data."""
    seen: set[tuple[object, ...]] = set()
    call_sites, any_call_site = ProjectFacts.call_sites, ProjectFacts.any_call_site
    dependency_functions = ProjectIndex.dependency_functions

    def sites(self: ProjectFacts, name: str) -> list[CallSite]:
        got = call_sites(self, name)
        seen.add(("sites", name, tuple(sorted(map(_site, got)))))
        return got

    def any_site(self: ProjectFacts, name: str, wanted: object, admitted: object = None
                 ) -> bool:
        got = any_call_site(self, name, wanted, admitted)  # type: ignore[arg-type]
        seen.add(("any", name, got))
        return got

    def dependencies(self: ProjectIndex) -> set[int]:
        got = dependency_functions(self)
        # (the functions of the modules loaded: loading none for the record)
        loaded = [m for m in getattr(self, "_loaded", {}).values() if m is not None]
        names = {(str(f.module.abspath), f.qualname)
                 for m in [*loaded, *self._modules] for f in m.all_functions
                 if id(f.node) in got}
        seen.add(("depends", tuple(sorted(names))))
        return got

    monkeypatch.setattr(ProjectFacts, "call_sites", sites)
    monkeypatch.setattr(ProjectFacts, "any_call_site", any_site)
    monkeypatch.setattr(ProjectIndex, "dependency_functions", dependencies)
    yield seen


def _tree_walking(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index's questions as at main: every module the pattern matches is loaded."""
    monkeypatch.setattr(LazyIndex, "modules_with_calls", ProjectIndex.modules_with_calls)
    monkeypatch.setattr(LazyIndex, "any_module_calling", ProjectIndex.any_module_calling)
    monkeypatch.setattr(LazyIndex, "dependency_modules", ProjectIndex.dependency_modules)


def _findings(root: Path, cache: Path | None) -> list[tuple[object, ...]]:
    result = scan([str(root)], ScanOptions(cache_dir=cache))
    return sorted((f.path, f.line, f.code, f.message) for f in result.findings)


def _recheck_all(cache: Path) -> None:
    """Forget every file's findings, keep the parsed modules and the summaries: the
    next scan checks every file again, with the summaries there."""
    for entry in cache.glob("*.json"):
        entry.unlink()


def _compare(root: Path, monkeypatch: pytest.MonkeyPatch,
             answers: set[tuple[object, ...]]) -> int:
    cache = root / ".poolsafe_cache"
    fresh = _findings(root, None)
    _findings(root, cache)  # makes the cache (summaries go only in one poolsafe made)
    _recheck_all(cache)
    _findings(root, cache)  # the summaries of every module it parses
    kept = list((cache / "modules").glob(f"*{CALLS_SUFFIX}"))
    assert kept
    skipped: list[str] = []
    summarized = LazyIndex._summarized

    def counting(self: LazyIndex, pattern: object, relevant: object) -> object:
        out = summarized(self, pattern, relevant)  # type: ignore[arg-type]
        paths, _given = self._matching(pattern) or ([], [])  # type: ignore[arg-type]
        skipped.extend(p for p in paths if p not in self._loaded)
        return out

    monkeypatch.setattr(LazyIndex, "_summarized", counting)
    _recheck_all(cache)
    answers.clear()
    with_summaries = _findings(root, cache)
    summary_answers = set(answers)
    with monkeypatch.context() as m:
        _tree_walking(m)
        _recheck_all(cache)
        answers.clear()
        walked = _findings(root, cache)
        walked_answers = set(answers)
    assert summary_answers == walked_answers
    assert with_summaries == walked == fresh
    return len(skipped)


def test_generated_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           answers: set[tuple[object, ...]]) -> None:
    root = write_project(tmp_path / "gen", GENERATED)
    monkeypatch.chdir(root)
    skipped = _compare(root, monkeypatch, answers)
    # the modules that only spell the names are skipped, and the questions were asked
    assert skipped >= 1
    assert any(a[0] == "sites" and a[1] == "make_engine" for a in answers), answers


def test_fixtures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  answers: set[tuple[object, ...]]) -> None:
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns(".poolsafe_cache"))
    monkeypatch.chdir(root)
    _compare(root, monkeypatch, answers)
    assert answers


def test_rule_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    answers: set[tuple[object, ...]]) -> None:
    root = write_rule_cases(tmp_path / "cases")
    (root / "pyproject.toml").write_text("[project]\nname = 'cases'\n")
    monkeypatch.chdir(root)
    _compare(root, monkeypatch, answers)
    assert answers


def test_a_summary_says_what_the_module_calls(tmp_path: Path) -> None:
    from poolsafe.analysis.module import collect_module

    import libcst as cst

    source = GENERATED["cli.py"]
    path = tmp_path / "cli.py"
    module = collect_module(str(path), path, Path("cli.py"), source, cst.parse_module(source))
    summary = summarize_calls(module)
    assert summary.calls >= {"make_engine", "connect", "run_once", "command"}
    assert summary.functions == {"run_once", "main"}
    assert not summary.depends
    assert CallSummary.from_json(summary.to_json()) == summary
    assert CallSummary.from_json({"calls": "x", "depends": False, "functions": []}) is None

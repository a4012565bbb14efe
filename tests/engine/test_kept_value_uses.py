"""`project_facts._method_run_once` asks whether a class or method name is used as a
value (`_used_as_value`) in every module that spells it without a call. Its answer
for a module is kept between runs by the module's text (`SummaryStore.put_used`):
an edit's `check FILE` then decides the unchanged modules from the kept answers
without parsing them, and finds what a fresh scan finds."""

from __future__ import annotations

from pathlib import Path

import pytest

import poolsafe.analysis.project_facts as project_facts
from poolsafe.core.model import ScanResult
from poolsafe.scan.cache import CACHE_DIR_NAME, clear_cache
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.lazy_index import LazyIndex

DB = """from sqlalchemy import create_engine


def make_engine(url):
    return create_engine(url)
"""

STORE = """from db import make_engine


class Store:
    def __init__(self, url):
        self.engine = make_engine(url)
"""

MAIN = """import sqlalchemy
from store import Store

if __name__ == "__main__":
    s = Store("postgresql://x")
"""

#: a module that hands the class on as a value (then it may be built many times)
REGISTRY = """import sqlalchemy
from store import Store

HANDLERS = [Store]
"""

#: one that only imports it (no value use)
TYPED = """import sqlalchemy
from store import Store
"""


def _key(result: ScanResult) -> list[tuple[object, ...]]:
    return [(f.path, f.location, f.code, f.message) for f in result.findings]


@pytest.mark.parametrize("registry", [False, True], ids=["no value use", "value use"])
def test_kept_answers_decide_unchanged_modules_and_find_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: bool) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'kept'\n")
    files = {"db.py": DB, "store.py": STORE, "main.py": MAIN, "typed.py": TYPED}
    if registry:
        files["registry.py"] = REGISTRY
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    once: list[bool] = []
    orig_once = project_facts._method_run_once

    def answering(index: object, func: object, depth: int) -> bool:
        found = orig_once(index, func, depth)  # type: ignore[arg-type]
        once.append(found)
        return found

    monkeypatch.setattr(project_facts, "_method_run_once", answering)
    opts = ScanOptions(cache_dir=tmp_path / CACHE_DIR_NAME)
    scan(["."], opts)
    for i in range(3):
        (tmp_path / "db.py").write_text(DB + f"\n\ndef edit_{i}():\n    return {i}\n")
        cached = scan(["db.py"], opts)
        fresh = scan(["db.py"], ScanOptions())
        assert _key(cached) == _key(fresh)
    assert once  # (the question is asked)
    # the last edit decides the module that only imports the name from its kept
    # answer: it is neither parsed nor loaded (nothing else reads it)
    loaded: list[str] = []
    orig_at = LazyIndex._module_at

    def recording(self: LazyIndex, path: str) -> object:
        if path not in self._loaded:
            loaded.append(Path(path).name)
        return orig_at(self, path)

    monkeypatch.setattr(LazyIndex, "_module_at", recording)
    once.clear()
    (tmp_path / "db.py").write_text(DB + "\n\ndef edit_last():\n    return 0\n")
    last = scan(["db.py"], opts)
    assert "main.py" in loaded, loaded  # (read for the calls of `Store`)
    assert "typed.py" not in loaded and "registry.py" not in loaded, loaded
    # the kept answers give the question's own answer: `Store()` runs once (from
    # `__main__`) unless a module hands the class on
    assert once and set(once) == {not registry}
    assert _key(last) == _key(scan(["db.py"], ScanOptions()))
    # the kept answers are the cache's own files: `clean` removes them with the rest
    cache = tmp_path / CACHE_DIR_NAME
    assert list((cache / "modules").glob("*.used.json"))
    assert clear_cache(cache) == []
    assert not cache.exists()

"""`sys_path_dirs` reads the text of every file that spells `sys.path.append`; on a
lazy index with kept summaries (an edit's `check FILE` after a run that filled the
cache) the selected files among them are read from their bytes, not parsed, when
their kept summary tells that they parse and their text is their bytes. The pattern
is recorded with the same files (the cache's dependency), and the check finds what
a fresh scan finds, also after the script's `sys.path` line changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.analysis.index import _SYS_PATH_WORD
from poolsafe.core.model import ScanResult
from poolsafe.scan import lazy_index
from poolsafe.scan.cache import CACHE_DIR_NAME, pattern_key
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.lazy_index import LazyIndex

RUN = """import sys

sys.path.append("../vendored")

import psycopg2
from orm import make

if __name__ == "__main__":
    print(make)
"""

ORM = """import psycopg2


def make(dsn):
    return psycopg2.connect(dsn)
"""

MAIN = """import psycopg2
from orm import make


def count(dsn):
    conn = make(dsn)
    cur = conn.cursor()
    cur.execute("SELECT 1")
    return cur.fetchone()
"""


def _key(result: ScanResult) -> list[tuple[object, ...]]:
    return [(f.path, f.location, f.code, f.message) for f in result.findings]


def test_sys_path_scripts_are_read_unparsed_after_a_cached_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'paths'\n")
    for name, text in {"tools/run.py": RUN, "vendored/orm.py": ORM,
                       "app/main.py": MAIN}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    opts = ScanOptions(cache_dir=tmp_path / CACHE_DIR_NAME)
    scan(["."], opts)

    loaded: list[str] = []
    matched: list[list[str]] = []
    orig_at = LazyIndex._module_at
    orig_files = LazyIndex.files_matching

    def recording(self: LazyIndex, path: str) -> object:
        if path not in self._loaded:
            loaded.append(Path(path).name)
        return orig_at(self, path)

    def files(self: LazyIndex, pattern: object) -> list[tuple[Path, str]]:
        found = orig_files(self, pattern)  # type: ignore[arg-type]
        if pattern is _SYS_PATH_WORD:
            matched.append([Path(p).name for p in self.matched[pattern_key(_SYS_PATH_WORD)]])
        return found

    monkeypatch.setattr(LazyIndex, "_module_at", recording)
    monkeypatch.setattr(lazy_index.LazyIndex, "files_matching", files)
    (tmp_path / "app/main.py").write_text(MAIN + "\n\ndef edit_0():\n    return 0\n")
    cached = scan(["app/main.py"], opts)
    monkeypatch.setattr(LazyIndex, "_module_at", orig_at)
    # the script was read for its sys.path line (and recorded), not parsed
    assert matched and all(m == ["run.py"] for m in matched), matched
    assert "run.py" not in loaded, loaded
    assert _key(cached) == _key(scan(["app/main.py"], ScanOptions()))
    # (`make` resolved through the directory the script adds: its connection is reported)
    assert [(f.code, f.location.line) for f in cached.findings] == [("PS102", 6)]

    # the script no longer adds the directory: `make` is no longer the project's, and
    # the edit's check finds what a fresh scan finds (nothing)
    (tmp_path / "tools/run.py").write_text(RUN.replace("sys.path.append", "print"))
    (tmp_path / "app/main.py").write_text(MAIN + "\n\ndef edit_1():\n    return 1\n")
    cached = scan(["app/main.py"], opts)
    assert _key(cached) == [] == _key(scan(["app/main.py"], ScanOptions()))

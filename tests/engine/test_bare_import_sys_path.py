"""`ProjectIndex.importable` for a bare-name import (issue 32): the per-file prefixes
answer first, and the project's `sys.path` additions (`sys_path_dirs`, which reads
every file that spells `sys.path.append` and, on a lazy index, parses the selected
ones) are read only when the prefixes say no. Asking them first for every candidate
file parsed those scripts on every one-edit check (mlflow's `setup_*_cases.py`) and
made them dependencies of the edited file's cache entry."""

from __future__ import annotations

from pathlib import Path

from poolsafe.analysis.index import _SYS_PATH_WORD
from poolsafe.analysis.module import ModuleInfo
from poolsafe.scan.cache import pattern_key
from poolsafe.scan.checking import parse_source
from poolsafe.scan.lazy_index import LazyIndex

SCRIPT = 'import sys\n\nsys.path.append("../vendored")\n\nfrom orm import make\n'


def _index(files: dict[str, bytes]) -> tuple[LazyIndex, list[str]]:
    parsed: list[str] = []

    def load(path: str) -> ModuleInfo | None:
        parsed.append(path)
        p = Path(path)
        return parse_source(p.name, p, Path(p.name), files[path].decode())

    names: dict[str, list[str]] = {}
    for p in files:
        names.setdefault(Path(p).stem, []).append(p)
    index = LazyIndex([], None, load, names, frozenset(), selected=list(files),
                      source=lambda path: files[path])
    return index, parsed


def _project(tmp_path: Path, with_script: bool) -> dict[str, bytes]:
    files = {
        str(tmp_path / "app" / "db.py"): b"def connect():\n    return 1\n",
        str(tmp_path / "app" / "main.py"): b"from db import connect\n",
        str(tmp_path / "vendored" / "orm.py"): b"def make():\n    return 2\n",
    }
    if with_script:
        files[str(tmp_path / "tools" / "run.py")] = SCRIPT.encode()
    return files


def test_a_sibling_module_is_importable_without_reading_sys_path(tmp_path: Path) -> None:
    index, parsed = _index(_project(tmp_path, with_script=True))
    main = str(tmp_path / "app" / "main.py")
    assert index.importable(str(tmp_path / "app" / "db.py"), "db", main) is True
    # the prefixes decided: the script that edits sys.path was neither parsed nor
    # recorded as a dependency
    assert parsed == []
    assert pattern_key(_SYS_PATH_WORD) not in index.matched
    # an importer outside its directory does not find it by its bare name
    assert index.importable(str(tmp_path / "app" / "db.py"), "db",
                            str(tmp_path / "elsewhere" / "x.py")) is False


def test_a_directory_a_script_puts_on_sys_path_is_importable(tmp_path: Path) -> None:
    files = _project(tmp_path, with_script=True)
    index, parsed = _index(files)
    orm = str(tmp_path / "vendored" / "orm.py")
    assert index.importable(orm, "orm", str(tmp_path / "app" / "main.py")) is True
    # the prefixes said no, so the sys.path additions were read, and recorded
    assert str(tmp_path / "tools" / "run.py") in parsed
    assert index.matched[pattern_key(_SYS_PATH_WORD)] == [str(tmp_path / "tools" / "run.py")]
    # a dotted name is never a bare import
    assert index.importable(orm, "vendored.orm", str(tmp_path / "app" / "main.py")) is True


def test_without_the_script_the_other_directory_is_not_importable(tmp_path: Path) -> None:
    index, _ = _index(_project(tmp_path, with_script=False))
    orm = str(tmp_path / "vendored" / "orm.py")
    assert index.importable(orm, "orm", str(tmp_path / "app" / "main.py")) is False

"""`ProjectIndex.importable` for a bare-name import (issue 32): the per-file prefixes
answer first, and the project's `sys.path` additions (`sys_path_dirs`, which reads
every file that spells `sys.path.append` and, on a lazy index, parses the selected
ones) are read only when the prefixes say no, as before the prefixes (2bb6fde).
Asking them first, for every candidate file, loaded those scripts in a project where
no import needs them and made them dependencies of the checked file's cache entry."""

from __future__ import annotations

from pathlib import Path

from test_any_module import _index  # (a lazy index over files in memory, parses logged)

from poolsafe.analysis.index import _SYS_PATH_WORD
from poolsafe.scan.cache import pattern_key

SCRIPT = 'import sys\n\nsys.path.append("../vendored")\n\nfrom orm import make\n'


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

"""`module_names` strips the last suffix by string, as `Path.with_suffix("")` does; a
file whose name has no suffix at all is a script (found by its shebang) that nobody
imports: no name (miss82)."""

from __future__ import annotations

from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

import pytest

from poolsafe.core.project import module_key, module_names

CASES = ["a/b.py", "a/__init__.py", "__init__.py", "x.py", "a/.py", "a/b.", "a/b.c.py",
         "a/b", "a.b/c.py", "1a/b.py", "a/b-c.py", "a/b.pyi", ".hidden/x.py", "a/..py",
         "..", "a/b/..", "ü/ß.py"]


def _by_with_suffix(rel: PurePath) -> tuple[tuple[str, ...], bool]:
    if rel.parts and "." not in rel.parts[-1]:
        return (), False  # a script without a suffix (`a/b`)
    parts = list(rel.with_suffix("").parts)
    is_package = bool(parts) and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return tuple(".".join(parts[i:]) for i in range(len(parts))
                 if all(p.isidentifier() for p in parts[i:])), is_package


@pytest.mark.parametrize("flavour", [PurePosixPath, PureWindowsPath])
@pytest.mark.parametrize("rel", CASES)
def test_module_names_as_with_suffix(flavour: type[PurePath], rel: str) -> None:
    path = flavour(rel)
    assert module_names(path) == _by_with_suffix(path)  # type: ignore[arg-type]


def test_a_path_without_a_name_is_refused_as_before() -> None:
    with pytest.raises(ValueError):
        module_key(Path("."))

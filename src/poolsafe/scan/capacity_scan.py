"""`poolsafe capacity`: parse what the budget needs and compute it.

The modules parsed are those that may hold a pool (they spell a pool constructor
or a Flask-SQLAlchemy key) and, transitively, the project modules they import
(settings, constants), not the whole tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from poolsafe.analysis.capacity import Capacity, compute_capacity
from poolsafe.analysis.deploy_files import ProjectFiles
from poolsafe.analysis.doubles import is_test_path
from poolsafe.analysis.entry_points import MAIN_BLOCK
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.pool_sites import POOL_WORDS
from poolsafe.core.discovery import SourceFile, discover, is_script_name, python_shebang
from poolsafe.core.model import FileError
from poolsafe.core.project import (
    ProjectConfig,
    absolute,
    find_project_root,
    module_key,
    named_roots,
    root_of_directory,
)
from poolsafe.scan.checking import load
from poolsafe.scan.options import MAX_FILE_BYTES

#: how many rounds of imports are followed from the pool modules
_IMPORT_DEPTH = 4
_WORDS = re.compile(rb"\b(" + b"|".join(w.encode() for w in POOL_WORDS) + rb")\b")


class _FileIndex(ProjectIndex):
    """The parsed modules, and every project file by name for the import graph (read
    when asked, not parsed)."""

    def __init__(self, modules: Iterable[ModuleInfo], project: ProjectConfig | None,
                 files: dict[str, list[SourceFile]]) -> None:
        super().__init__(modules, project)
        self._files = files

    def module_files(self, name: str) -> list[tuple[Path, str]]:
        out: list[tuple[Path, str]] = []
        for f in self._files.get(name, []):
            try:
                data = f.path.read_bytes()
            except OSError:
                continue
            if len(data) <= MAX_FILE_BYTES:
                out.append((f.path, data.decode("utf-8", "replace")))
        return out


class CapacityError(Exception):
    """A path that cannot be read; the message is one line for the user."""


def project_capacity(path: str, excluded: list[re.Pattern[str]] | None = None,
                     project: ProjectConfig | None = None) -> tuple[Capacity, list[str]]:
    """The capacity of the project around `path`, and the files that could not be
    parsed (`path: message`)."""
    with named_roots([path]):
        return _project_capacity(path, excluded, project)


def _project_capacity(path: str, excluded: list[re.Pattern[str]] | None,
                      project: ProjectConfig | None) -> tuple[Capacity, list[str]]:
    target = Path(path)
    if not target.exists():
        raise CapacityError(f"{path}: no such file or directory")
    root = find_project_root(absolute(target))
    display_root = path if target.is_dir() and absolute(target) == root else str(root)
    errors: list[str] = []
    sources: list[SourceFile] = []
    for item in discover([display_root], excluded=excluded):
        if isinstance(item, str):
            errors.append(item)
        else:  # absolute paths: the project facts (declared drivers) walk up from them
            sources.append(SourceFile(item.display, absolute(item.path), item.relative))
    by_name: dict[str, list[SourceFile]] = {}
    for f in sources:
        names, _ = module_key(f.relative)
        for n in names:
            by_name.setdefault(n, []).append(f)
    parsed: dict[Path, ModuleInfo] = {}

    def parse(f: SourceFile) -> ModuleInfo | None:
        if f.path in parsed:
            return parsed[f.path]
        loaded = load(f, MAX_FILE_BYTES)
        if isinstance(loaded, FileError):
            errors.append(f"{loaded.where}: {loaded.message}")
            return None
        parsed[f.path] = loaded.module
        return loaded.module

    frontier: list[ModuleInfo] = []
    for f in sources:
        head = _head(f.path)
        if head is None:
            continue
        if (_WORDS.search(head) or MAIN_BLOCK.search(head) or f.path.name == "__main__.py"
                or (is_script_name(f.path.name) and python_shebang(head))):
            m = parse(f)
            if m is not None:
                frontier.append(m)
    for _ in range(_IMPORT_DEPTH):
        nxt: list[ModuleInfo] = []
        for m in frontier:
            for qual in m.imports.values():
                for name in _prefixes(qual):
                    for f in by_name.get(name, []):
                        if f.path not in parsed:
                            found = parse(f)
                            if found is not None:
                                nxt.append(found)
        frontier = nxt
    index = _FileIndex(parsed.values(), project, by_name)
    capacity = compute_capacity(index, ProjectFiles(root))
    if not capacity.pools:
        # a repository's top whose pools live in sub-projects (backend/pyproject.toml)
        others = sorted({os.path.relpath(find_project_root(m.abspath), root)
                         for m in module_pools_of(index)} - {"."})
        if others:
            capacity.notes.append("the pools are in other projects below: " + ", ".join(
                f"{o} (`poolsafe capacity {os.path.join(path, o)}`)" for o in others))
    return capacity, errors


def capacity_paths(path: str) -> list[str]:
    """The paths `poolsafe capacity PATH` reports on, one per project: `path` itself,
    or, for a directory below its project root that holds projects of their own (a
    folder of examples, services side by side), the root of each project with a
    pool module under `path` (a test module holds no production pool), in path order.
    Pools of programs that are not deployed together are never added up."""
    target = Path(path)
    if not target.is_dir():
        return [path]
    top = absolute(target)
    with named_roots([path]):
        root = find_project_root(top)
        if top == root:
            return [path]
        roots: set[Path] = set()
        memo: dict[str, str | None] = {}
        for item in discover([path]):
            if isinstance(item, str) or not _WORDS.search(_head(item.path) or b""):
                continue
            file = absolute(item.path)
            owner = root_of_directory(str(file.parent), memo)
            if not is_test_path(os.path.relpath(file, owner)):
                roots.add(owner)
    if roots <= {root}:
        return [path]
    return [path if r == root else os.path.join(path, os.path.relpath(r, top))
            for r in sorted(roots)]


def _head(path: Path) -> bytes | None:
    """The first bytes of `path` the scan would read (one past the size limit), or
    None for a file that cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None


def module_pools_of(index: ProjectIndex) -> list[ModuleInfo]:
    from poolsafe.analysis.pool_sites import project_pools

    return [p.module for p in project_pools(index)]


def _prefixes(qualname: str) -> list[str]:
    parts = qualname.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]

"""The database drivers a project declares, for engines whose URL is not visible.

`create_engine(os.environ["DATABASE_URL"])` says nothing about the server, but a
project whose `requirements.txt` lists `psycopg2-binary` talks to PostgreSQL. The
dependency files read are `requirements*.txt` (and `requirements/*.txt`),
`pyproject.toml` (`[project] dependencies`, Poetry's main and group
dependencies), `setup.py` (`install_requires=[...]` literals), `setup.cfg`
(`install_requires`) and `Pipfile` (`[packages]`), in every directory from the
module's up to its project root (a monorepo's `backend/requirements.txt`
counts). Optional extras are not read: a library that supports several databases
declares them there, and none of them is *the* server. When the declared drivers
serve several server dialects, the answer names them all.
"""

from __future__ import annotations

import ast
import codecs
import configparser
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from poolsafe.core.project import DEPENDENCY_FILES, find_project_root, is_within
from poolsafe.knowledge.frameworks import DRIVER_DIALECTS

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class DeclaredDriver:
    #: the dialect, or several joined with " or " (`postgresql or mysql`)
    dialect: str
    #: what declares it, for messages: `psycopg2-binary in requirements.txt`
    evidence: str


def declared_driver(module_path: Path,
                    virtual: Mapping[Path, str] | None = None) -> DeclaredDriver | None:
    """The server dialect the project around `module_path` declares a driver for.
    `virtual` holds files that exist only in memory (by absolute path); they are read
    instead of the disk."""
    found = [(name, where) for name, _, where in declared_requirements(module_path, virtual)
             if name in DRIVER_DIALECTS]
    if not found:
        return None
    dialects = sorted({DRIVER_DIALECTS[name] for name, _ in found})
    name, where = found[0]
    return DeclaredDriver(" or ".join(dialects), f"{name} in {where}")


#: SQLite's asynchronous driver: an async engine (`create_async_engine`) of a project
#: that declares it and no server driver can only be SQLite's
SQLITE_ASYNC_DRIVERS = frozenset({"aiosqlite"})
#: asynchronous server drivers outside `DRIVER_DIALECTS` (which SQLAlchemy's async
#: dialects also use) and words of a SQLAlchemy extra that installs one
#: (`sqlalchemy[postgresql_asyncpg]`)
_ASYNC_SERVER_DRIVERS = frozenset({"aioodbc", "aiopg", "psqlpy"})
_SERVER_EXTRA = re.compile(r"postgres|mysql|mariadb|oracle|mssql|asyncpg|asyncmy|aioodbc",
                           re.I)


def declared_async_sqlite(module_path: Path,
                          virtual: Mapping[Path, str] | None = None) -> str | None:
    """The evidence (`aiosqlite in pyproject.toml`) when the project around
    `module_path` declares SQLite's asynchronous driver and no server driver (none of
    `DRIVER_DIALECTS`, no other async server driver, no extra that installs one);
    else None."""
    found = declared_requirements(module_path, virtual)
    evidence = None
    for name, raw, where in found:
        if name in DRIVER_DIALECTS or name in _ASYNC_SERVER_DRIVERS:
            return None
        extras = raw.partition("[")[2].partition("]")[0]
        if extras and _SERVER_EXTRA.search(extras):
            return None
        if name in SQLITE_ASYNC_DRIVERS and evidence is None:
            evidence = f"{name} in {where}"
    return evidence


def declared_requirements(module_path: Path, virtual: Mapping[Path, str] | None = None,
                          ) -> list[tuple[str, str, str]]:
    """(normalized name, requirement as written, file name) for every requirement the
    dependency files declare, from the module's directory up to its project root,
    nearest first. The files are read afresh each time: an editor's server outlives an
    edit of requirements.txt; the engine sites that ask are computed once per parsed
    module."""
    out: list[tuple[str, str, str]] = []
    directory = module_path.parent
    root = directory if virtual else find_project_root(module_path)
    while True:
        for path, requirements in _declarations(directory, virtual or {}):
            rel = path.relative_to(directory).as_posix()
            out.extend((_normalize(raw), raw, rel) for raw in requirements)
        if directory == root or not is_within(directory, root) or directory.parent == directory:
            break
        directory = directory.parent
    return out


def _normalize(requirement: str) -> str:
    m = _NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower() if m else ""


def _declarations(directory: Path,
                  virtual: Mapping[Path, str]) -> list[tuple[Path, list[str]]]:
    out: list[tuple[Path, list[str]]] = []
    if virtual:
        entries = sorted(p for p in virtual if p.parent == directory)
    else:
        try:
            entries = sorted(p for p in directory.iterdir() if p.name in _NAMES
                             or p.name.startswith("requirements"))
        except OSError:
            return out
    for path in entries:
        name = path.name

        def read(p: Path) -> str:
            return virtual[p] if virtual else _read(p)

        try:
            if name.startswith("requirements") and name.endswith((".txt", ".in")):
                out.append((path, _requirements(read(path))))
            elif name == "requirements" and not virtual and path.is_dir():
                out.extend((p, _requirements(_read(p))) for p in sorted(path.glob("*.txt")))
            elif name == "pyproject.toml":
                out.append((path, _pyproject(read(path))))
            elif name == "setup.py":
                out.append((path, _setup_py(read(path))))
            elif name == "setup.cfg":
                out.append((path, _setup_cfg(read(path))))
            elif name == "Pipfile":
                out.append((path, _pipfile(read(path))))
        except (OSError, UnicodeDecodeError, ValueError, SyntaxError, RecursionError,
                configparser.Error):  # tomllib's TOMLDecodeError is a ValueError
            continue  # an unreadable or malformed file declares nothing
    return out


_NAMES = frozenset(DEPENDENCY_FILES)


def _read(path: Path) -> str:
    if not path.is_file():
        return ""
    with path.open("rb") as f:
        data = f.read(1_000_000)
    # `pip freeze > requirements.txt` in Windows PowerShell writes UTF-16 with a BOM
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def _requirements(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "-"))]


def _toml(text: str) -> dict[str, object]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    doc: dict[str, object] = tomllib.loads(text)
    return doc


def _table(doc: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _pyproject(text: str) -> list[str]:
    doc = _toml(text)
    out: list[str] = []
    deps = _table(doc, "project", "dependencies")
    if isinstance(deps, list):
        out.extend(d for d in deps if isinstance(d, str))
    poetry = _table(doc, "tool", "poetry", "dependencies")
    if isinstance(poetry, dict):
        out.extend(str(k) for k in poetry)
    groups = _table(doc, "tool", "poetry", "group")
    if isinstance(groups, dict):
        for group in groups.values():
            gdeps = _table(group, "dependencies")
            if isinstance(gdeps, dict):
                out.extend(str(k) for k in gdeps)
    return out


def _pipfile(text: str) -> list[str]:
    packages = _table(_toml(text), "packages")
    return [str(k) for k in packages] if isinstance(packages, dict) else []


def _setup_cfg(text: str) -> list[str]:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    raw = parser.get("options", "install_requires", fallback="")
    return [line for line in raw.splitlines() if line.strip()]


def _setup_py(text: str) -> list[str]:
    tree = ast.parse(text)
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires" and isinstance(
                node.value, (ast.List, ast.Tuple)):
            out.extend(e.value for e in node.value.elts
                       if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return out

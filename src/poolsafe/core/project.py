"""The project a scan belongs to: its root directory and its import roots.

The paths a user names choose which files are *reported*; resolution (imports,
wrapper inference, project-wide facts) always sees the whole project, so that a
pre-commit run on one staged file, an editor buffer and a whole-tree scan agree on
every finding of that file.

The project root of a path is the nearest directory, walking up from it (from a
file's own directory), that holds any of `ROOT_MARKERS`: `pyproject.toml`,
`setup.cfg`, `setup.py` or `.git`. The nearest directory wins whichever marker it
has, so a sub-project with its own `pyproject.toml` inside a git repository is a
project of its own. A `setup.py` beside an `__init__.py` is no marker: it is a
module of that package (`infrastructure/database/setup.py` building the engine,
imported as `infrastructure.database.setup`), not a packaging script, whose
directory is never itself a package. With no marker above it, a path below a
directory the user named (`poolsafe check /path/to/app`) belongs to that directory,
or, when the named directory is a package (regular, or a namespace package its own
modules import by name), to the directory Python imports the package from
(`named_roots`): naming one application from a parent directory (`~`, `/tmp`) walks
that application, not the parent. Any other path without a marker belongs to the
working directory when it is below it (as Ruff does: `check .` and `check
app/models.py` agree when `app` is a package), and otherwise to the directory Python
imports it from: its own directory (a file's), or, inside a package, the first
directory above the package's `__init__.py` files. `--project-root` overrides the
search.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


def absolute(path: str | Path) -> Path:
    """`path` made absolute without resolving symbolic links (a link's location, not
    its target, decides which project it belongs to)."""
    return Path(os.path.abspath(path))


def find_project_root(path: str | Path) -> Path:
    """The project root of `path` (see the module docstring)."""
    start = absolute(path)
    if not start.is_dir():
        start = start.parent
    return root_of_directory(str(start), {})


def root_of_directory(directory: str, memo: dict[str, str | None]) -> Path:
    """The project root of an absolute directory; `memo` keeps what each directory on
    the way up was found to be, for the next directory of the same project."""
    marked = _marked_above(directory, memo)
    if marked is not None:
        return Path(marked)
    named = _named_root_of(directory)
    if named is not None:
        return Path(named)
    start = Path(directory)
    cwd = absolute(Path.cwd())
    return cwd if is_within(start, cwd) else Path(_above_packages(directory))


#: the roots of the unmarked directories the running scan, fix or capacity was named
#: (`named_roots`), deepest first
_NAMED_ROOTS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "poolsafe_named_roots", default=())


@contextlib.contextmanager
def named_roots(paths: Iterable[str | Path]) -> Iterator[None]:
    """While it lasts, a directory the user named that has no root marker at or above
    it is a project root of its own (or, inside a package, the directory the package
    is imported from), for every file below it: `poolsafe check ~/code/app` run from
    `~` resolves and walks `app`, not all of `~`. A named file stands for its
    directory. A path keeps the working-directory rule when its root would be the
    working directory or above it (`check .`, `check models.py`, `check app/` for a
    package `app`), or when it is below a working directory that looks like the top of
    an unmarked project (`_looks_like_project_top`), where `check workers/job.py` must
    report what `check .` reports."""
    cwd_path = absolute(Path.cwd())
    cwd = str(cwd_path)
    memo: dict[str, str | None] = {}
    found: set[str] = set()
    top: list[bool] = []  # whether the working directory looks like a project's top, once
    for path in paths:
        start = absolute(path)
        directory = str(start if start.is_dir() else start.parent)
        if _marked_above(directory, memo) is not None:
            continue
        if is_within(directory, cwd_path):
            if not top:
                top.append(_looks_like_project_top(cwd))
            if directory == cwd or top[0]:
                # its root is the working directory, above it, or below a working
                # directory that is a project's top: the working directory's rule
                # (decided before `_import_root_of_named` reads any module)
                continue
        root = _import_root_of_named(directory)
        if not is_within(cwd, Path(root)):  # (at or above it: the working directory's rule)
            found.add(root)
    ordered = tuple(sorted(found, key=lambda r: -len(Path(r).parts)))
    token = _NAMED_ROOTS.set(ordered)
    try:
        yield
    finally:
        _NAMED_ROOTS.reset(token)


def _import_root_of_named(directory: str) -> str:
    """The directory a named directory's modules are imported from: climbing out of
    regular packages (`__init__.py`) and out of a namespace package whose own files
    import it by its name (`pkg/app.py` saying `from pkg.db import ...`)."""
    return _climb_packages(directory, lambda d: _has_init(d) or _imports_itself(d))


#: how many of a directory's modules `_imports_itself` reads at most
_SELF_IMPORT_FILES = 2_000


def _imports_itself(directory: str) -> bool:
    """Whether a module below `directory` imports `directory`'s name as a package
    (`import pkg.db`, `from pkg import db`, `from pkg.db import x`)."""
    name = os.path.basename(directory)
    if not name.isidentifier():
        return False
    pattern = re.compile(rb"^[ \t]*(?:from|import)[ \t]+" + re.escape(name.encode())
                         + rb"(?:\.|[ \t]+import\b)", re.MULTILINE)
    seen = 0
    for current, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for file in files:
            if not file.endswith(".py"):
                continue
            seen += 1
            if seen > _SELF_IMPORT_FILES:
                return False
            try:
                with open(os.path.join(current, file), "rb") as f:
                    if pattern.search(f.read()):
                        return True
            except OSError:
                continue
    return False


#: files at the top of a project without markers (besides Python modules): its
#: dependencies and its deployment
_PROJECT_TOP_FILES = re.compile(
    r"requirements.*\.txt|Pipfile|poetry\.lock|uv\.lock|tox\.ini|alembic\.ini|\.env"
    r"|Procfile|Dockerfile|(?:docker-)?compose.*\.ya?ml|.*\.py")


def _looks_like_project_top(directory: str) -> bool:
    """Whether `directory` itself looks like the top of a project: it holds a Python
    module, or a project's dependency or deployment file (`requirements.txt`,
    `docker-compose.yml`, ...), so that `check .` there and `check workers/job.py`
    must agree; not a folder of folders (`~`, `/tmp`, a folder of projects)."""
    try:
        with os.scandir(directory) as entries:
            return any(_PROJECT_TOP_FILES.fullmatch(e.name) and e.is_file() for e in entries)
    except OSError:
        return False


def _named_root_of(directory: str) -> str | None:
    """The deepest named root (`named_roots`) at or above `directory`, or None."""
    for root in _NAMED_ROOTS.get():
        if directory == root or directory.startswith(root.rstrip(os.sep) + os.sep):
            return root
    return None


def _above_packages(directory: str) -> str:
    """The directory Python would import `directory`'s modules from: the first one at
    or above it that is not a package (holds no `__init__.py`), so that `core/jobs.py`
    is the module `core.jobs` and `from core.jobs import ...` in a sibling resolves."""
    return _climb_packages(directory, _has_init)


def _has_init(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "__init__.py"))


def _climb_packages(directory: str, is_package: Callable[[str], bool]) -> str:
    """The first directory at or above `directory` that `is_package` says is no
    package (or the file system's root)."""
    current = directory
    while is_package(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def _has_root_marker(directory: str) -> bool:
    """Whether `directory` holds one of `ROOT_MARKERS`; a `setup.py` there counts only
    when the directory is no regular package (no `__init__.py` beside it): in a
    package it is one of the package's modules (see the module docstring)."""
    for marker in ROOT_MARKERS:
        if not os.path.lexists(os.path.join(directory, marker)):
            continue
        if marker != "setup.py" or not os.path.lexists(os.path.join(directory, "__init__.py")):
            return True
    return False


def _marked_above(directory: str, memo: dict[str, str | None]) -> str | None:
    """The nearest directory at or above `directory` with a root marker, or None."""
    chain = []
    found: str | None = None
    current = directory
    while True:
        if current in memo:
            found = memo[current]
            break
        chain.append(current)
        if _has_root_marker(current):
            found = current
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for d in chain:
        memo[d] = found
    return found


def project_relative(path: str | Path, root: str | Path) -> str | None:
    """`path` relative to the project root `root`, '/'-separated (both taken as absolute,
    lexically: no link is followed); None when it is outside. The one way the
    configuration's globs, the baseline's keys and the reports' URIs name a file."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return None


def is_within(path: str | Path, root: Path) -> bool:
    try:
        Path(path).relative_to(root)
    except ValueError:
        return False
    return True


def import_root_of(path: Path, import_roots: Sequence[Path]) -> Path | None:
    """The deepest import root that contains `path` (None: none does)."""
    best: Path | None = None
    for root in import_roots:
        if is_within(path, root) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return best


def import_roots(root: Path, src: Iterable[str]) -> list[Path]:
    """`[tool.poolsafe] src` entries (relative to the project root) as absolute paths;
    the project root itself when none is given."""
    out = [absolute(root / s) for s in src]
    return out or [root]


#: the values of `[tool.poolsafe] direct-connections` (`ProjectConfig.direct_connections`)
DIRECT_CONNECTION_POLICIES = ("lenient", "strict")


@dataclass
class ProjectConfig:
    """What configuration adds to inference (`[tool.poolsafe]` acquire/release lists)."""

    acquire: dict[str, str] = field(default_factory=dict)  # function name -> kind key
    release: set[str] = field(default_factory=set)
    session_dependencies: set[str] = field(default_factory=set)
    #: PS102 and a direct synchronous driver connection (`psycopg2.connect()`) held in
    #: a local it cannot outlive, closed on the normal path and missed only when an
    #: exception unwinds the call: "lenient" (the default) does not report it, since
    #: reference counting closes it with the frame; "strict" does (PyPy, or a team
    #: that wants every close deterministic). `[tool.poolsafe] direct-connections`
    direct_connections: str = "lenient"
    #: files of an in-memory project that are not modules (`requirements.txt`), by
    #: relative path: the rule-case harness and `fix_sources` have no disk to read
    virtual_files: dict[str, str] = field(default_factory=dict)


def importable_from(path: str, name: str, importer: str,
                    package_dirs: Collection[str] | None = None) -> bool:
    """Whether the module file `path`, known by the (suffix) name `name`, is what an
    import of `name` means in the file `importer`.

    A dotted name (`app.db`) is specific enough to trust. A single name (`json`)
    only means a project file when its import root (the directory it would be
    imported from) contains the importer; otherwise `import json` in Django would
    resolve to `django/core/serializers/json.py`. A package nested in another
    (`app/stripe/`, beside `app/__init__.py`) is imported by its dotted name: from
    inside it, a bare `import stripe` is the library it wraps (a package never finds
    itself by its bare name: Python 2's implicit relative import looks for a
    sibling first). `package_dirs`: the directories that hold an `__init__.py`, as
    the index knows them (default: the file system)."""
    if "." in name:
        return True
    p = Path(path)
    root = p.parent.parent if p.name == "__init__.py" else p.parent
    try:
        Path(importer).relative_to(root)
    except ValueError:
        return False
    if p.name == "__init__.py" and (
            str(root) in package_dirs if package_dirs is not None
            else _is_package_dir(str(root))):
        try:
            Path(importer).relative_to(p.parent)
        except ValueError:
            return True
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _is_package_dir(directory: str) -> bool:
    return (Path(directory) / "__init__.py").is_file()


def module_key(rel: Path) -> tuple[tuple[str, ...], str]:
    """A file's possible module names and the package its relative imports start from."""
    names, is_package = module_names(rel)
    return names, package_of(names, is_package)


def package_of(names: tuple[str, ...], is_package: bool) -> str:
    full = names[0] if names else ""
    return full if is_package else full.rpartition(".")[0]


def module_names(rel: Path) -> tuple[tuple[str, ...], bool]:
    """The dotted names `rel` (a file's path relative to where it was found) may be
    imported by, longest first, and whether it is a package's `__init__`. A script
    without a suffix (`bin/metasrht-daily`, `manage`: found by its Python shebang)
    runs as `__main__` and is importable by nobody: no name."""
    parts = list(rel.parts)
    if parts and "." not in parts[-1]:
        return (), False
    if not parts:
        parts = list(rel.with_suffix("").parts)  # raises, as it always did
    else:  # `with_suffix("")` on the last part, without a new Path per file
        name = parts[-1]
        dot = name.rfind(".")
        if 0 < dot < len(name) - 1:
            parts[-1] = name[:dot]
    is_package = bool(parts) and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    names = tuple(".".join(parts[i:]) for i in range(len(parts)) if all(
        p.isidentifier() for p in parts[i:]))
    return names, is_package


def names_to_files(paths: list[str], modules: list[tuple[tuple[str, ...], str]]
                    ) -> dict[str, list[str]]:
    """Module name -> the files (absolute paths) that may be that module."""
    out: dict[str, list[str]] = {}
    for path, (names, _) in zip(paths, modules, strict=True):
        for n in names:
            out.setdefault(n, []).append(path)
    return out


#: the rules whose findings depend on the deployment files (compose, manifests, `.env`:
#: an engine's dialect may come from the `.env` value of its URL's variable)
DEPLOYMENT_RULES: tuple[str, ...] = ("PS203", "PS204", "PS208", "PS209", "PS210", "PS211")

#: the files that declare a project's dependencies (read for its database drivers)
DEPENDENCY_FILES: tuple[str, ...] = ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile")


def dependency_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, mtime) of the root's dependency files, for cache keys: findings
    that depend on the declared drivers are stale when one of them changes."""
    out = []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return ()
    for name in names:
        if name in DEPENDENCY_FILES or name.startswith("requirements"):
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue
            out.append((name, st.st_size, st.st_mtime_ns))
    return tuple(out)

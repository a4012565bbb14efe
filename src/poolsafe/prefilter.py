"""Which files need parsing at all (GitHub issue 7).

libcst parses at roughly 0.5 MB/s and needs about 1 GB of memory per MB of source,
so the engine parses only the files whose findings can be non-empty, and the files
their analysis reaches:

1. Seeds: files that import a database or framework package named in
   `poolsafe.knowledge` (any `(package, name)` table there, minus the packages in
   `CONTEXT_ONLY_ROOTS`, which never create a connection by themselves), or that
   contain a token that the analysis reads by name alone (`.getconn`, `Depends(`,
   `SQLALCHEMY_ENGINE_OPTIONS`, names from `[tool.poolsafe]`).
2. Taint: in a selected file, a top-level definition (function, class, assignment,
   import) is tainted when its text mentions a seed package or another tainted
   name; every file that mentions a tainted name as a word is selected too, and so
   on until nothing changes. A file that mentions no database package and no
   tainted name can hold no connection, session, pool or engine, so it has no
   findings and contributes nothing to the project-wide facts that rules use.
3. Everything else that the analysis of selected files resolves (a helper module
   imported by a selected file) is parsed on demand by `LazyIndex`.

A skipped file is not parsed, so its syntax errors are not reported.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import itertools
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from poolsafe.analysis.index import ProjectConfig, ProjectIndex
from poolsafe.analysis.module import ModuleInfo

#: Packages that appear in knowledge tables only as context (decorators, HTTP
#: clients, job runners, Django views): importing one does not make a file relevant.
CONTEXT_ONLY_ROOTS: frozenset[str] = frozenset(
    {"contextlib", "functools", "cachetools", "click", "typer", "threading", "concurrent",
     "httpx", "requests", "urllib", "urllib3", "aiohttp", "builtins", "os", "apscheduler",
     "flask_apscheduler", "celery", "django", "rest_framework", "typing", "asyncio"}
)

#: Words the analysis reacts to without any import (an unknown object's `getconn()`,
#: FastAPI's `Depends(...)`, Flask-SQLAlchemy's engine options key).
SYNTACTIC_TOKENS: frozenset[str] = frozenset(
    {"getconn", "Depends", "Security", "SQLALCHEMY_ENGINE_OPTIONS"}
)

_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_DEF = re.compile(rb"^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
_TOP_NAME = re.compile(
    rb"^(?:(?:async[ \t]+)?def|class)[ \t]+([A-Za-z_]\w*)|^([A-Za-z_]\w*)[ \t]*[:=]", re.M)


def _roots_in(value: object, out: set[str], depth: int = 0) -> None:
    if depth > 4:
        return
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(x, str) for x in value):
        out.add(value[0].split(".")[0])
    elif isinstance(value, dict):
        for k in value:  # keys only: values are kinds, not packages
            _roots_in(k, out, depth + 1)
    elif isinstance(value, (set, frozenset, tuple, list)):
        for x in value:
            _roots_in(x, out, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _roots_in(getattr(value, f.name), out, depth + 1)


def seed_roots() -> frozenset[str]:
    """Package roots named anywhere in poolsafe.knowledge, minus context-only ones."""
    import poolsafe.knowledge as knowledge

    roots: set[str] = set()
    for info in pkgutil.iter_modules(knowledge.__path__):
        mod = importlib.import_module(f"{knowledge.__name__}.{info.name}")
        for name, value in vars(mod).items():
            if name.isupper() and not name.startswith("_"):
                _roots_in(value, roots)
    return frozenset(r for r in roots if r.isidentifier() and r not in CONTEXT_ONLY_ROOTS)


def _seed_pattern(roots: Iterable[str], tokens: Iterable[str]) -> re.Pattern[bytes]:
    alt = b"|".join(re.escape(r.encode()) for r in sorted(roots, key=len, reverse=True))
    words = b"|".join(re.escape(t.encode()) for t in sorted(tokens))
    imports = (rb"^[ \t]*(?:from[ \t]+(?:" + alt + rb")\b|import[ \t]+(?:[\w.]+[ \t]*"
               rb"(?:as[ \t]+\w+)?[ \t]*,[ \t]*)*(?:" + alt + rb")\b)")
    return re.compile(imports + (rb"|\b(?:" + words + rb")\b" if words else b""), re.M)


def _words_pattern(words: Iterable[str]) -> re.Pattern[bytes] | None:
    ws = sorted(words)
    if not ws:
        return None
    return re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in ws) + rb")\b")


# ------------------------------------------------------------------ definitions
@dataclass
class Definitions:
    """The top-level names a module defines, each with the words its definition uses."""

    defs: dict[str, set[str]] = field(default_factory=dict)
    #: True when the file could not be read by `ast` (names came from a regex)
    approximate: bool = False


def _words(node: ast.AST) -> set[str]:
    out: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.alias):
            out.update(n.name.split("."))
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.ImportFrom) and n.module:
            out.update(n.module.split("."))
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and len(n.value) < 200:
            out.update(w.decode() for w in _WORD.findall(n.value.encode("utf-8", "ignore")))
        elif isinstance(n, ast.keyword) and n.arg:
            out.add(n.arg)
    return out


def _bound_names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


_BLOCK_START = re.compile(rb"^(?=[^\s#])", re.M)


def _approximate_definitions(data: bytes) -> Definitions:
    """For a file `ast` cannot read: each top-level block (a line at column 0 and the
    indented lines after it) defines the name at its start and uses its words."""
    out = Definitions(approximate=True)
    starts = [m.start() for m in _BLOCK_START.finditer(data)] + [len(data)]
    for a, b in itertools.pairwise(starts):
        block = data[a:b]
        m = _TOP_NAME.match(block)
        if m is not None:
            name = (m.group(1) or m.group(2)).decode()
            out.defs.setdefault(name, set()).update(w.decode() for w in _WORD.findall(block))
    return out


def definitions(data: bytes) -> Definitions:
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return _approximate_definitions(data)
    out = Definitions()

    def visit(stmts: list[ast.stmt]) -> None:
        for st in stmts:
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.defs.setdefault(st.name, set()).update(_words(st))
            elif isinstance(st, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = st.targets if isinstance(st, ast.Assign) else [st.target]
                words = _words(st)
                for t in targets:
                    for n in _bound_names(t):
                        out.defs.setdefault(n, set()).update(words)
            elif isinstance(st, (ast.Import, ast.ImportFrom)):
                base = st.module.split(".") if isinstance(st, ast.ImportFrom) and st.module else []
                for a in st.names:
                    local = a.asname or a.name.split(".")[0]
                    out.defs.setdefault(local, set()).update([*base, *a.name.split(".")])
            elif isinstance(st, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for part in ("body", "orelse", "finalbody"):
                    visit(getattr(st, part, []))
                for h in getattr(st, "handlers", []):
                    visit(h.body)
            elif hasattr(ast, "TryStar") and isinstance(st, ast.TryStar):
                visit(st.body)

    try:
        visit(tree.body)
    except RecursionError:
        out.approximate = True
    return out


def imports_of(data: bytes, package: str) -> list[tuple[str, str | None]] | None:
    """(module, imported name or None) for every import in the file, relative ones
    resolved against `package`; None when `ast` cannot read the file."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    out: list[tuple[str, str | None]] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            out.extend((a.name, None) for a in n.names)
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (n.level - 1)] if n.level - 1 <= len(parts) else []
                base = ".".join([*parts, base] if base else parts)
            for a in n.names:
                out.append((base, a.name))
                out.append((f"{base}.{a.name}" if base else a.name, None))
    return out


# -------------------------------------------------------------------- selection
@dataclass
class Selection:
    #: indexes of the files to parse and check
    targets: list[int]
    #: names defined by every file, from a cheap regex (for LazyIndex)
    def_names: frozenset[str]
    #: tainted top-level names (for reports and tests)
    tainted: set[str]


def select(datas: list[bytes], config: ProjectConfig | None = None,
           definitions_of: Callable[[int], Definitions] | None = None,
           modules: list[tuple[tuple[str, ...], str]] | None = None) -> Selection:
    """`modules` gives each file's module names and package (from its path); with it,
    a file is selected for a tainted name only when it imports that name (or its
    module) from a selected file, not merely because it spells the same word."""
    """The files to parse, given each file's bytes (see the module docstring)."""
    config = config or ProjectConfig()
    roots = seed_roots()
    configured = set(config.acquire) | set(config.release) | set(config.session_dependencies)
    configured = {c.rsplit(".", 1)[-1] for c in configured if c}
    tokens = SYNTACTIC_TOKENS | configured
    seed = _seed_pattern(roots, tokens)
    get_defs = definitions_of or (lambda i: definitions(datas[i]))
    selected: set[int] = set()
    frontier = [i for i, d in enumerate(datas) if seed.search(d)]
    taint: set[str] = set(roots) | set(tokens)
    #: module name -> its tainted top-level names
    exported: dict[str, set[str]] = {}
    while frontier:
        selected.update(frontier)
        new_names: set[str] = set()
        for i in frontier:
            defs = get_defs(i).defs
            changed = True
            local = set(taint)
            while changed:
                changed = False
                for name, words in defs.items():
                    if name not in local and not words.isdisjoint(local):
                        local.add(name)
                        changed = True
            new_names |= {n for n in defs if n in local and n not in taint}
            if modules is not None:
                for mod in modules[i][0]:
                    exported.setdefault(mod, set()).update(n for n in defs if n in local)
        taint |= new_names
        pattern = _words_pattern(new_names)
        if pattern is None:
            break
        frontier = [i for i, d in enumerate(datas) if i not in selected and pattern.search(d)]
        if modules is not None:
            frontier = [i for i in frontier if _imports_tainted(datas[i], modules[i][1],
                                                                exported)]
    def_names = frozenset(m.decode() for d in datas for m in _DEF.findall(d))
    return Selection(sorted(selected), def_names, taint)


def _imports_tainted(data: bytes, package: str, exported: dict[str, set[str]]) -> bool:
    imports = imports_of(data, package)
    if imports is None:
        return True  # unreadable by ast: keep it (libcst decides)
    words: set[bytes] | None = None
    for module, name in imports:
        if name is not None:
            if (name == "*" and exported.get(module)) or name in exported.get(module, ()):
                return True
            continue
        # `import pkg.mod` / `from pkg import mod`: the module object, used as mod.name
        for mod, names in exported.items():
            if names and (mod == module or mod.startswith(module + ".")):
                if words is None:
                    words = set(_WORD.findall(data))
                if any(n.encode() in words for n in names):
                    return True
    return False


# ------------------------------------------------------------------- lazy index
class _LazyNames(dict[str, list[ModuleInfo]]):
    """`ProjectIndex.by_name` that parses a module the first time its name is asked."""

    def __init__(self, initial: dict[str, list[ModuleInfo]],
                 load: Callable[[str], list[ModuleInfo]]) -> None:
        super().__init__(initial)
        self._load = load
        self._done: set[str] = set()

    def _ensure(self, name: str) -> None:
        if name in self._done:
            return
        self._done.add(name)
        for m in self._load(name):
            for n in m.names:
                lst = super().setdefault(n, [])
                if not any(x is m for x in lst):
                    lst.append(m)

    def get(self, name: str, default: Any = None) -> Any:
        self._ensure(name)
        return super().get(name, default)

    def __getitem__(self, name: str) -> list[ModuleInfo]:
        self._ensure(name)
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self._ensure(name)
        return super().__contains__(name)


class LazyIndex(ProjectIndex):
    """A project index over the selected modules that parses any other project
    module when name resolution reaches it.

    `def_names` (every function name defined in any file, by regex) answers the
    index's cheap "may this be a project function?" pre-check, which otherwise
    depends on which modules happen to be loaded yet."""

    def __init__(self, modules: Iterable[ModuleInfo], config: ProjectConfig | None,
                 load: Callable[[str], ModuleInfo | None],
                 files_by_name: dict[str, list[str]], def_names: frozenset[str]) -> None:
        super().__init__(modules, config)
        self._load_file = load
        self._files_by_name = files_by_name
        self._def_names = def_names
        self._loaded: dict[str, ModuleInfo | None] = {}
        #: module name -> the files that resolution asked for (the cache records them)
        self.lookups: dict[str, list[str]] = {}
        for m in self.modules:
            self._loaded[str(m.abspath)] = m
        self.by_name = _LazyNames(self.by_name, self._load_name)

    def _load_name(self, name: str) -> list[ModuleInfo]:
        files = self._files_by_name.get(name, [])
        self.lookups[name] = files
        out = []
        for path in files:
            if path not in self._loaded:
                m = self._load_file(path)
                self._loaded[path] = m
                if m is not None:
                    self.modules.append(m)
            found = self._loaded[path]
            if found is not None:
                out.append(found)
        return out

    def _may_be_project_function(self, name: str) -> bool:
        return name in self._def_names or super()._may_be_project_function(name)

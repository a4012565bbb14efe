"""Which files need parsing at all (GitHub issue 7).

libcst parses at roughly 0.5 MB/s and needs about 1 GB of memory per MB of source,
so the engine parses only the files whose findings can be non-empty, and the files
their analysis reaches. Selection reads each file's bytes once and never parses:

1. Seeds, by a byte-level token scan (`seed_pattern`):
   - an import of a package named in `poolsafe.knowledge` (any `(package, name)`
     table there, minus `CONTEXT_ONLY_ROOTS`, which never create a connection by
     themselves: `from django.db import connection` is not a seed);
   - a name that only database code spells: the pool, engine and session
     constructors of `OBJECT_CONSTRUCTORS` and `DIRECT_ACQUIRERS` (`create_engine`,
     `sessionmaker`, `ThreadedConnectionPool`...), the pool methods (`getconn`,
     `putconn`, `raw_connection`), FastAPI's `Depends(`, Flask-SQLAlchemy's config
     keys and teardown hooks, job decorators, names from `[tool.poolsafe]`;
2. Taint, by blocks: each top-level statement of a selected file (a `def`, `class`,
   assignment or import with its indented lines) defines names; a block is tainted
   when it calls an acquirer or constructor of the knowledge base (`connect(`,
   `getconn(`, `sessionmaker(`...) or a tainted function, or spells a tainted value
   (a module-level name bound to one); classes pass nothing on, and
   `from psycopg import Json` taints nothing. A file that imports a
   tainted name from a selected module (`from app.db import get_conn`, or
   `import app.db` and `.get_conn`) is selected too, until nothing changes. Imports
   are read with a regular expression over the bytes already in memory.
3. Everything else that the analysis of selected files resolves (a helper module
   imported by a selected file) is parsed on demand by `LazyIndex`.

A file that mentions no database package and imports no tainted name can hold no
connection, session, pool or engine, so it has no findings and contributes nothing
to the project-wide facts that rules use. A skipped file is not parsed, so its
syntax errors are not reported.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from poolsafe.analysis.index import ProjectConfig, ProjectIndex, importable_from
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

#: Tokens that count only as a call (`Security(...)`, not `SecurityMiddleware`).
CALL_TOKENS: frozenset[str] = frozenset({"Depends", "Security"})

#: Names from the knowledge tables that are too common to select a file alone
#: (`connect`, `Session`, `Pool`); they count only as calls in a file that also
#: spells a database package (see `seed_pattern`).
GENERIC_NAMES: frozenset[str] = frozenset({"connect", "Connect", "Session", "Pool", "SQLAlchemy"})

#: Calls that select a file that also spells a database package's name.
GENERIC_CALLS: tuple[bytes, ...] = (rb"\bSession\s*\(", rb"\.connect\s*\(", rb"\.begin\s*\(",
                                    rb"\.acquire\s*\(", rb"\bSQLAlchemy\s*\(")

_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_DEF = re.compile(rb"^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)


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


def _knowledge_modules() -> list[Any]:
    import poolsafe.knowledge as knowledge

    return [importlib.import_module(f"{knowledge.__name__}.{info.name}")
            for info in pkgutil.iter_modules(knowledge.__path__)]


def seed_roots() -> frozenset[str]:
    """Package roots named anywhere in poolsafe.knowledge, minus context-only ones."""
    roots: set[str] = set()
    for mod in _knowledge_modules():
        for name, value in vars(mod).items():
            if name.isupper() and not name.startswith("_"):
                _roots_in(value, roots)
    return frozenset(r for r in roots if r.isidentifier() and r not in CONTEXT_ONLY_ROOTS)


def seed_tokens() -> frozenset[str]:
    """Names that only database code spells, from the knowledge base."""
    from poolsafe.knowledge import (
        ACQUIRE_METHOD_NAMES,
        DIRECT_ACQUIRERS,
        OBJECT_CONSTRUCTORS,
        POOL_RELEASE_METHODS,
    )
    from poolsafe.knowledge import frameworks as fw

    names: set[str] = {n for _, n in OBJECT_CONSTRUCTORS} | {n for _, n in DIRECT_ACQUIRERS}
    names |= {n for n in ACQUIRE_METHOD_NAMES | POOL_RELEASE_METHODS if "_" in n or n == "getconn"}
    names |= set(fw.FLASK_TEARDOWN_METHODS)
    names |= {fw.FLASK_SQLALCHEMY_URI_KEY, fw.FLASK_SQLALCHEMY_OPTIONS_KEY,
              fw.FLASK_SQLALCHEMY_OPTIONS_KEYWORD}
    names |= {r.name for r in fw.JOB_REGISTRARS if r.decorator or "_" in r.name}
    names |= {tail.split(".")[-1] for _, tail in fw.NON_POOLING_CLASSES}
    names -= GENERIC_NAMES | {"release", "acquire", "get_connection", "task"}
    return frozenset(names | SYNTACTIC_TOKENS)


def acquire_calls() -> frozenset[str]:
    """Calls that hand out a connection, session, engine or pool (knowledge base)."""
    from poolsafe.knowledge import (
        ACQUIRE_METHOD_NAMES,
        DIRECT_ACQUIRERS,
        OBJECT_CONSTRUCTORS,
        OBJECT_TYPES,
        TRANSACTION_CM_METHODS,
    )

    names = {n for _, n in OBJECT_CONSTRUCTORS} | {n for _, n in DIRECT_ACQUIRERS}
    names |= set(ACQUIRE_METHOD_NAMES) | set(TRANSACTION_CM_METHODS)
    names |= {m for t in OBJECT_TYPES.values() for m in t.cm_methods}
    return frozenset(names)


def _alt(words: Iterable[str]) -> bytes:
    return b"|".join(re.escape(w.encode()) for w in sorted(words, key=lambda w: (-len(w), w)))


def seed_pattern(roots: Iterable[str], tokens: Iterable[str]) -> re.Pattern[bytes]:
    """An import of a root package, or a token as a word."""
    alt = _alt(roots)
    imports = (rb"^[ \t]*(?:from[ \t]+(?:" + alt + rb")\b|import[ \t]+(?:[\w.]+[ \t]*"
               rb"(?:as[ \t]+\w+)?[ \t]*,[ \t]*)*(?:" + alt + rb")\b)")
    words = _alt(t for t in tokens if t not in CALL_TOKENS)
    calls = _alt(t for t in tokens if t in CALL_TOKENS)
    return re.compile(imports + (rb"|\b(?:" + words + rb")\b" if words else b"")
                      + (rb"|\b(?:" + calls + rb")[ \t]*\(" if calls else b""), re.M)


def _words_pattern(words: Iterable[str]) -> re.Pattern[bytes] | None:
    ws = list(words)
    if not ws:
        return None
    return re.compile(rb"\b(?:" + _alt(ws) + rb")\b")


# ------------------------------------------------------------------ definitions
@dataclass
class Block:
    """What one top-level definition spells."""

    words: set[str] = field(default_factory=set)
    #: names spelled as calls (`name(`) or in a class's bases
    called: set[str] = field(default_factory=set)
    #: a `def` or `class` (used elsewhere only through a call or a subclass); else a
    #: value (an assignment or import: any mention passes it on)
    callable: bool = False


@dataclass
class Definitions:
    """The top-level names a module defines, each with the block that defines it."""

    defs: dict[str, Block] = field(default_factory=dict)


_BLOCK_START = re.compile(rb"^(?=[^\s#])", re.M)
_HEAD_DEF = re.compile(rb"(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)")
_HEAD_COMPOUND = re.compile(rb"(?:if|elif|else|try|except|finally|with|async|for|while|match)\b")
_HEAD_ASSIGN = re.compile(rb"([A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*)[ \t]*,?[ \t]*"
                          rb"(?::[^=\n]*)?(?:=(?!=)|[-+*/|&%^@]=|:)")
_NESTED_NAME = re.compile(
    rb"^[ \t]+(?:(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)|([A-Za-z_]\w*)[ \t]*"
    rb"(?::[^=\n]*)?=(?!=))", re.M)
_NAME_LIST = re.compile(rb"[A-Za-z_]\w*")
_CALLED = re.compile(rb"([A-Za-z_]\w*)[ \t]*\(")
_CLASS_BASES = re.compile(rb"^[ \t]*class[ \t]+\w+[ \t]*\(([^)]*)\)", re.M)
_FROM = re.compile(rb"^[ \t]*from[ \t]+(\.*)[ \t]*([\w.]*)[ \t]+import[ \t]*"
                   rb"(\([^)]*\)|(?:[^\n\\]|\\\r?\n)*)", re.M)
_IMPORT = re.compile(rb"^[ \t]*import[ \t]+((?:[^\n\\;#]|\\\r?\n)*)", re.M)
_COMMENT = re.compile(rb"#[^\n]*")


def _import_bindings(stmt: bytes) -> list[tuple[str, str, str]]:
    """(bound name, module, imported name) for the import statements in `stmt`;
    the imported name is "" for `import a.b`."""
    out: list[tuple[str, str, str]] = []
    for m in _FROM.finditer(stmt):
        module = m.group(1).decode() + m.group(2).decode("ascii", "replace")
        for part in _COMMENT.sub(b"", m.group(3)).strip(b"()").split(b","):
            words = part.split()
            if words:
                name = words[0].decode("ascii", "replace")
                bound = (words[-1].decode("ascii", "replace")
                         if len(words) >= 3 and words[-2] == b"as" else name)
                out.append((bound, module, name))
    for m in _IMPORT.finditer(stmt):
        for part in _COMMENT.sub(b"", m.group(1)).replace(b"\\", b" ").split(b","):
            words = part.split()
            if words:
                module = words[0].decode("ascii", "replace")
                bound = (words[-1].decode("ascii", "replace")
                         if len(words) >= 3 and words[-2] == b"as" else module.split(".")[0])
                out.append((bound, module, ""))
    return out


def definitions(data: bytes) -> Definitions:
    """Each top-level block (a line at column 0 and the indented lines after it)
    defines the names at its start. Decorators join the block they decorate; a
    block that defines nothing (a line of a triple-quoted string at column 0, an
    expression) joins the block before it."""
    out = Definitions()
    starts = [m.start() for m in _BLOCK_START.finditer(data)] + [len(data)]
    current: list[str] = []
    pending = b""
    for a, b in itertools.pairwise(starts):
        block = pending + data[a:b]
        if data[a:a + 1] == b"@":
            pending = block
            continue
        pending = b""
        names: list[str]
        is_callable = False
        m = _HEAD_DEF.match(data, a)
        if m is not None and data.startswith(b"class", a):
            # a class passes nothing on: its instances reach the analysis through
            # the module that builds them, which LazyIndex parses on demand
            current = []
            continue
        if m is not None:
            names = [m.group(1).decode()]
            is_callable = True
        elif data.startswith((b"import", b"from"), a) and (imps := _import_bindings(block)):
            for bound, module, name in imps:
                # `from psycopg import Json`: a class of a database package is not
                # database code by itself; `import psycopg2`, `from psycopg2 import
                # pool` (a module) and `from sqlalchemy import Session` (a known
                # name, see acquire_calls) are
                blk = out.defs.setdefault(bound, Block())
                blk.words.add(name or module)
                blk.called.add(name or module)
                if not name[:1].isupper():
                    blk.words.update(module.split("."))
            current = []
            continue
        elif _HEAD_COMPOUND.match(data, a):
            names = [(g1 or g2).decode() for g1, g2 in _NESTED_NAME.findall(block)]
            names += [bound for bound, _, _ in _import_bindings(block)]
        elif (m := _HEAD_ASSIGN.match(data, a)) is not None:
            names = [n.decode() for n in _NAME_LIST.findall(m.group(1))]
        else:
            names = []
        if names:
            current = names
        if not current:
            continue
        words = {w.decode() for w in _WORD.findall(block)}
        called = {w.decode() for w in _CALLED.findall(block)}
        for bases in _CLASS_BASES.findall(block):
            called.update(w.decode() for w in _WORD.findall(bases))
        for n in current:
            blk = out.defs.setdefault(n, Block())
            blk.words |= words
            blk.called |= called
            blk.callable = blk.callable or is_callable
    return out


def imports_of(data: bytes, package: str) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every import statement in the bytes,
    relative ones resolved against `package` (read with regular expressions: an
    import spelled inside a string counts too, which only selects more)."""
    out: list[tuple[str, str | None]] = []
    for m in _FROM.finditer(data):
        level = len(m.group(1))
        base = m.group(2).decode("ascii", "replace")
        if level:
            parts = package.split(".") if package else []
            parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
            base = ".".join([*parts, base] if base else parts)
        for part in _COMMENT.sub(b"", m.group(3)).strip(b"()").split(b","):
            words = part.split()
            if not words:
                continue
            name = words[0].decode("ascii", "replace")
            out.append((base, name))
            out.append((f"{base}.{name}" if base else name, None))
    for m in _IMPORT.finditer(data):
        for part in _COMMENT.sub(b"", m.group(1)).replace(b"\\", b" ").split(b","):
            words = part.split()
            if words:
                out.append((words[0].decode("ascii", "replace"), None))
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
    #: indexes of the seed files (phase 1)
    seeds: list[int] = field(default_factory=list)


_DB_WORDS_CACHE: dict[str, Any] = {}


def _patterns(config: ProjectConfig) -> tuple[frozenset[str], frozenset[str],
                                              re.Pattern[bytes], re.Pattern[bytes],
                                              re.Pattern[bytes]]:
    configured = set(config.acquire) | set(config.release) | set(config.session_dependencies)
    configured = {c.rsplit(".", 1)[-1] for c in configured if c}
    key = repr(sorted(configured))
    if key not in _DB_WORDS_CACHE:
        roots = seed_roots()
        tokens = seed_tokens() | configured
        seed = seed_pattern(roots, tokens)
        db_word = re.compile(rb"\b(?:" + _alt(roots) + rb")\b")
        generic = re.compile(b"|".join(GENERIC_CALLS))
        _DB_WORDS_CACHE[key] = (roots, frozenset(tokens), seed, db_word, generic)
    return _DB_WORDS_CACHE[key]  # type: ignore[no-any-return]


def is_seed(data: bytes, config: ProjectConfig | None = None) -> bool:
    roots, tokens, seed, _, _ = _patterns(config or ProjectConfig())
    key = (roots, tokens)
    literals = _LITERALS.get(key)
    if literals is None:
        literals = _LITERALS[key] = tuple(w.encode() for w in roots | tokens)
    # a substring test (C speed) first: most files spell none of the words
    if not any(w in data for w in literals):
        return False
    return seed.search(data) is not None


_LITERALS: dict[tuple[frozenset[str], frozenset[str]], tuple[bytes, ...]] = {}


def select(datas: list[bytes], config: ProjectConfig | None = None,
           definitions_of: Callable[[int], Definitions] | None = None,
           modules: list[tuple[tuple[str, ...], str]] | None = None) -> Selection:
    """The files to parse, given each file's bytes (see the module docstring).

    `modules` gives each file's module names and package (from its path); with it,
    a file is selected for a tainted name only when it imports that name (or its
    module) from a selected file, not merely because it spells the same word."""
    config = config or ProjectConfig()
    roots, tokens, _, _, _ = _patterns(config)
    get_defs = definitions_of or (lambda i: definitions(datas[i]))
    calls = acquire_calls() | set(tokens)
    selected: set[int] = set()
    frontier = [i for i, d in enumerate(datas) if is_seed(d, config)]
    seeds = list(frontier)
    #: tainted values (any mention passes taint on) and callables (a call does)
    values: set[str] = set(roots)
    callables: set[str] = set(calls)
    taint_words = values | callables
    #: names already searched for in the other files
    propagated: set[str] = set()
    import_memo: dict[int, list[tuple[str, str | None]]] = {}
    #: module name -> its tainted top-level names
    exported: dict[str, set[str]] = {}
    while frontier:
        selected.update(frontier)
        new_names: set[str] = set()
        for i in frontier:
            defs = get_defs(i).defs
            local_values, local_callables = set(values), set(callables)
            local: set[str] = set()
            changed = True
            while changed:
                changed = False
                for name, blk in defs.items():
                    if name in local:
                        continue
                    if (blk.words.isdisjoint(local_values)
                            and blk.called.isdisjoint(local_callables)):
                        continue
                    local.add(name)
                    (local_callables if blk.callable else local_values).add(name)
                    changed = True
            fresh = local - propagated - roots
            new_names |= fresh
            values |= local_values - local_callables
            callables |= local_callables & local
            if modules is not None:
                for mod in modules[i][0]:
                    exported.setdefault(mod, set()).update(local)
        propagated |= new_names
        if not new_names:
            break
        if modules is None:
            pattern = _words_pattern(new_names)
            assert pattern is not None
            frontier = [i for i, d in enumerate(datas) if i not in selected
                        and pattern.search(d)]
            continue
        prefixes: dict[str, set[str]] = {}
        for mod, names in exported.items():
            parts = mod.split(".")
            for k in range(1, len(parts) + 1):
                prefixes.setdefault(".".join(parts[:k]), set()).update(names)
        frontier = []
        patterns: dict[str, re.Pattern[bytes] | None] = {}
        for i, d in enumerate(datas):
            if i in selected:
                continue
            if i not in import_memo:
                import_memo[i] = imports_of(d, modules[i][1])
            if _imports_tainted(d, import_memo[i], exported, prefixes, patterns):
                frontier.append(i)
    def_names = frozenset(m.decode() for d in datas for m in _DEF.findall(d))
    return Selection(sorted(selected), def_names, taint_words | propagated, seeds)


def _imports_tainted(data: bytes, imports: list[tuple[str, str | None]],
                     exported: dict[str, set[str]], prefixes: dict[str, set[str]],
                     patterns: dict[str, re.Pattern[bytes] | None]) -> bool:
    """The file imports a tainted name from a selected module (`from m import name`),
    or a module whose tainted names it then spells (`import pkg.m` ... `.name`)."""
    for module, name in imports:
        if name is not None:
            names = exported.get(module)
            if names and (name == "*" or name in names):
                return True
            continue
        if module not in patterns:
            names = prefixes.get(module)
            patterns[module] = _words_pattern(names) if names else None
        pattern = patterns[module]
        if pattern is not None and pattern.search(data):
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

    def _candidates(self, name: str, near: ModuleInfo) -> list[ModuleInfo]:
        """Like the index's, but decides by path before parsing anything: an
        `import json` must not parse every project file called json.py."""
        files = self._files_by_name.get(name, [])
        self.lookups[name] = files
        here = str(near.abspath)
        out = [m for m in dict.get(self.by_name, name, [])
               if importable_from(str(m.abspath), name, here)]
        for path in files:
            if not importable_from(path, name, here):
                continue
            if path not in self._loaded:
                m = self._load_file(path)
                self._loaded[path] = m
                if m is not None:
                    self.modules.append(m)
                    for n in m.names:
                        lst = dict.setdefault(self.by_name, n, [])
                        if not any(x is m for x in lst):
                            lst.append(m)
            found = self._loaded[path]
            if found is not None and not any(x is found for x in out):
                out.append(found)
        return out

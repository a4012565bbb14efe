"""The project index: resolves names across modules and infers the project's own
acquire/release wrappers.

Evaluation is demand-driven and memoised: nothing is computed for a name until a
rule asks what it is, so a large project costs only what its database code needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import ClassVar, Protocol, TypeVar, cast

import libcst as cst

from poolsafe.analysis.autocommit import autocommit_targets
from poolsafe.analysis.cstutil import (
    argument_for,
    bound_names,
    call_name,
    chain_links,
    children,
    dotted_name,
    final_name,
    iter_calls,
    iter_nodes,
    keyword_arg,
    positional_args,
    statements_after,
    string_value,
    strip_await,
)
from poolsafe.analysis.doubles import calls_a_double, is_test_module, replaced_names
from poolsafe.analysis.memoizing import memoizes
from poolsafe.analysis.module import (
    ClassInfo,
    FunctionInfo,
    ImportBinding,
    LocalValue,
    ModuleInfo,
    ModulePath,
    Opaque,
    WithBinding,
)
from poolsafe.analysis.owner_flag import owner_flag_at
from poolsafe.analysis.untaken_returns import may_leave_untaken, untaken_return
from poolsafe.analysis.values import (
    AUTOCOMMIT_FLAG,
    ClassRef,
    Connection,
    External,
    ExternalInstance,
    FunctionRef,
    Instance,
    LibraryObject,
    ManagedContext,
    ModuleRef,
    Value,
)
from poolsafe.core.complexity import parse_refusal
from poolsafe.core.project import ProjectConfig
from poolsafe.knowledge import (
    CLOSE_METHODS,
    CONNECTION_KINDS,
    CONTEXTMANAGER_DECORATORS,
    DEPENDS,
    DIRECT_ACQUIRERS,
    OBJECT_CONSTRUCTORS,
    OBJECT_TYPES,
    POOL_RELEASE_METHODS,
    SELF_RELEASE_METHODS,
    TRANSACTION_CM_METHODS,
    match_qualname,
    route_framework_of,
)
from poolsafe.knowledge.django import (
    DJANGO_MANAGER_ATTRIBUTES,
    DJANGO_VIEW_LOOKUPS,
    DRF_SERIALIZER_ATTRIBUTE,
    DRF_SERIALIZER_GETTERS,
)
from poolsafe.knowledge.frameworks import (
    ALEMBIC_CONTEXTS,
    ALEMBIC_ROOT,
    BORROWED_BIND_ANNOTATIONS,
    CACHING_DECORATORS,
    FLASK_SQLALCHEMY_CLASS,
    FLASK_SQLALCHEMY_OPTION_HOOKS,
    PER_REQUEST_INSTANCE_ROOTS,
    REQUEST_NAMESPACES,
    SESSION_CONNECTION_METHOD,
    STAR_IMPORT_NAMES,
    VIEW_BASE_ROOTS,
)
from poolsafe.knowledge.libraries import (
    AIO_ENGINE_SUBMODULE,
    AIO_POOL_KINDS,
    AIO_RAW_POOL_FACTORY,
    AIO_RAW_POOL_KINDS,
    CURSOR_CONNECTION_ATTR,
    CURSOR_FACTORY_METHODS,
    DATABASES_RIVALS,
    DATABASES_ROOT,
    DATABASES_UNTYPED_CHECKOUTS,
    KEYED_CONNECTION_HANDLERS,
    SUBSCRIPT_SUFFIX,
    async_psycopg_connect,
    root_matches,
)

_MAX_DEPTH = 40
#: the peewee database types a project subclass inherits (`_peewee_base`)
_PEEWEE_DATABASES = frozenset({"peewee.database", "peewee.sqlite"})


_T = TypeVar("_T")


_K = TypeVar("_K")
_O = TypeVar("_O")
_V = TypeVar("_V")


def held(memo: Mapping[_K, tuple[_O, _V]], key: _K, obj: _O) -> tuple[_O, _V] | None:
    """The entry of `memo` at `key` when it was made for `obj` itself, else None.

    A memo that lives longer than one call and is keyed by `id(obj)` keeps `obj` in
    its entry, `(obj, answer)`, and answers only for that very object: an id is an
    address, and once an object is freed (a node made for one question, a function
    made of a module's top level, a dropped module) the next object made may take
    it; the kept object cannot be freed while the entry lives, so no other object
    takes its id meanwhile, and the identity test says so where it matters."""
    found = memo.get(key)
    return found if found is not None and found[0] is obj else None

#: where the modules of an in-memory project live (`scan_sources`, `fix_sources`)
_VIRTUAL_ROOT = Path("/virtual")


#: a pool library that hands out connections by `getconn()`, named anywhere in a
#: module (`from psycopg2 import pool`, `psycopg2.pool.ThreadedConnectionPool(...)`,
#: `SimpleConnectionPool`, `psycopg_pool`, `psycopg2_pool`)
_POOL_LIBRARY_NAMES = re.compile(
    rb"psycopg2\.pool|from\s+psycopg2\s+import\s+[^\n]*\bpool\b|\w*ConnectionPool\b"
    rb"|\bpsycopg_pool\b|\bpsycopg2_pool\b")

class NamedStore(Protocol):
    """What `poolsafe.analysis.statement_errors` read from a module's bytes, kept
    between runs by those bytes (`poolsafe.scan.summaries.SummaryStore`)."""

    def get_named(self, data: bytes) -> tuple[bool, bool] | None: ...

    def put_named(self, data: bytes, found: tuple[bool, bool]) -> None: ...

    def get_used(self, data: bytes, name: str) -> bool | None:
        """The kept answer of `project_facts._used_as_value` for `name` in the module
        whose text is `data` decoded (None when none is kept)."""

    def put_used(self, text: bytes, name: str, found: bool) -> None:
        """Keep `found`, `_used_as_value`'s answer for `name` in the module whose
        text, encoded as UTF-8, is `text`."""

    def get_table_names(self, data: bytes) -> list[str] | None:
        """The kept answer of `project_facts._module_table_names` for the module whose
        text is `data` decoded (None when none is kept)."""

    def put_table_names(self, text: bytes, names: list[str]) -> None:
        """Keep `names`, `_module_table_names`' answer for the module whose text,
        encoded as UTF-8, is `text`."""


class CallerSite(Protocol):
    """A call of a project function somewhere in the project
    (`project_facts.CallSite`)."""

    @property
    def call(self) -> cst.Call: ...

    @property
    def module(self) -> ModuleInfo: ...

    @property
    def func(self) -> FunctionInfo | None: ...


#: the session classes whose `close()` is a coroutine function (`class_=` of a sessionmaker)
_ASYNC_SESSION_CLASSES: frozenset[tuple[str, str]] = frozenset(
    {("sqlalchemy", "AsyncSession"), ("sqlmodel", "AsyncSession")})


#: a SQLAlchemy connection's `.engine`: the engine (sync or async) it came from
_CONNECTION_ENGINES = {"sqlalchemy-connection": "sqlalchemy.engine",
                       "sqlalchemy-async-connection": "sqlalchemy.async_engine"}


#: the start of a pattern that `ProjectIndex.any_file_matches` searches every project
#: file for (a regex comment): the cache re-checks its readers when any file's match
#: changes, selected or not (`engine._broken`)
EVERY_FILE = b"(?#every file)"

class ProjectIndex:
    #: per-module facts kept between runs, for the questions that can be answered
    #: without parsing a module (an index that parses on demand has them)
    summaries: NamedStore | None = None
    #: the project's calls of a function outside its tests, `project_facts`'
    #: `project_callers`: that module sits above the index, so it hands its finder in
    #: when it is imported (as every rule does); without it no parameter is read as
    #: handed a connection by its callers
    project_callers_of: ClassVar[
        Callable[[ProjectIndex, FunctionInfo], list[CallerSite]] | None] = None
    #: the same module's finder of every call outside the tests whose callee's last
    #: name is the one given (`conn.run_sync(...)` for "run_sync")
    project_calls_named: ClassVar[
        Callable[[ProjectIndex, str], list[CallerSite]] | None] = None

    def __init__(self, modules: Iterable[ModuleInfo],
                 config: ProjectConfig | None = None) -> None:
        self._modules = list(modules)
        self.config = config or ProjectConfig()
        #: files that are not modules, by absolute path, when the project is in
        #: memory (the rule-case harness): `requirements.txt` and friends
        self.text_files: dict[Path, str] = {
            _VIRTUAL_ROOT / name: text for name, text in self.config.virtual_files.items()}
        self.by_name: dict[str, list[ModuleInfo]] = {}
        self._package_dirs: frozenset[str] | None = None
        self._sys_path_dirs: frozenset[str] | None = None
        #: path -> what decides whether a bare import means it (`_import_prefixes`)
        self._import_prefixes: dict[str, tuple[str, str | None]] = {}
        for m in self._modules:
            for n in m.names:
                self.by_name.setdefault(n, []).append(m)
        #: id(node) -> (node, value): the node is kept so that its address is not
        #: given to another node while the memo can answer for it (a string
        #: annotation's parsed node lives only while it is evaluated)
        self._memo: MutableMapping[
            int, tuple[cst.CSTNode, cst.FunctionDef | None, Value | None]] = {}
        self._binds_later_memo: bool | None = None
        self._active: set[int] = set()
        #: id(def node) -> (the node, the answer) of the wrapper questions (`held`:
        #: an entry answers only for the node it was made for)
        self._acquirer_memo: MutableMapping[int, tuple[cst.FunctionDef, Connection | None]] = {}
        self._carrier_memo: MutableMapping[int, tuple[cst.FunctionDef, Connection | None]] = {}
        self._cm_memo: MutableMapping[int, tuple[cst.FunctionDef, ManagedContext | None]] = {}
        self._releaser_memo: MutableMapping[int, tuple[cst.FunctionDef, frozenset[int]]] = {}
        self._rollbacker_memo: MutableMapping[int, tuple[cst.FunctionDef, frozenset[int]]] = {}
        #: `dependency_functions`, and the nodes it holds the ids of (kept, so that no
        #: node made later takes one of those ids while the set is asked)
        self._dependencies: set[int] | None = None
        self._dependency_nodes: list[cst.FunctionDef] = []
        #: (qualname, id(module asking)) -> (that module, the answer)
        self._qualname_memo: MutableMapping[tuple[str, int],
                                            tuple[ModuleInfo, Value | None]] = {}
        self._function_names: set[str] | None = None
        self._release_wrapper_memo: MutableMapping[str, FunctionInfo | None] = {}
        #: id(value) -> (value, ids of the names and attributes inside it), for
        #: `_within` (syntax only: the same at every scope level of a lazy index)
        self._parts_memo: dict[int, tuple[cst.CSTNode, frozenset[int]]] = {}
        #: id(module) -> (module, the names its tests replace with doubles)
        self._doubles_memo: dict[int, tuple[ModuleInfo, frozenset[str]]] = {}
        #: id(module) -> (module, id(top-level def) -> id of the `if` branch holding it)
        self._branches_memo: dict[int, tuple[ModuleInfo, dict[int, int]]] = {}
        #: the request-namespace attributes being looked up (`_namespace_attribute`)
        self._namespace_active: set[str] = set()
        #: `_aio_pool_kind`, once asked
        self._aio_kind: tuple[str | None] | None = None
        self._databases_only: bool | None = None
        #: `_own_getconn_only`, once asked
        self._own_getconn: bool | None = None
        #: the project-wide facts the analyses derive once per index (`derived`)
        self._derived: dict[str, object] = {}
        #: id(module) -> (module, the modules that import it): every module's check
        #: asks again for the modules above it (`one_shot`), and each answer searches
        #: the project
        self._importers_memo: dict[int, tuple[ModuleInfo, list[ModuleInfo]]] = {}

    def derived(self, key: str, compute: Callable[[], _T]) -> _T:
        """The project-wide fact `key`: what `compute()` gives the first time it is
        asked, kept for the life of this index (one check epoch; nothing of it is
        used after). Each analysis module names its own keys; a fact that depends on
        how much of the project resolution may read puts `resolution_level` in its
        key."""
        if key in self._derived:
            return cast(_T, self._derived[key])
        value = compute()
        self._derived[key] = value
        return value

    @property
    def resolution_level(self) -> int | None:
        """How much of the project name resolution may parse at this moment, for an
        index that loads modules on demand (`LazyIndex`); None for one that holds
        them all."""
        return None

    @property
    def modules(self) -> list[ModuleInfo]:
        """The project's modules that project-wide facts are read from."""
        return self._modules

    def modules_mentioning(self, words: Iterable[str]) -> list[ModuleInfo]:
        """The modules of `modules` whose source has one of `words` as a whole word,
        in the same order: every module that can add to a fact keyed by those words
        (a call of `name`, a decorator, an import of `flask`). An index that parses
        on demand parses these only, not the whole project."""
        return self.modules_matching(word_pattern(words))

    def pool_candidates(self, words: Iterable[str]) -> list[ModuleInfo]:
        """The modules that may hold a connection pool: `modules_mentioning(words)`,
        less those an index with per-module summaries knows hold none without
        parsing them (`poolsafe.analysis.pool_summary`)."""
        return self.modules_mentioning(words)

    def modules_calling(self, names: Iterable[str]) -> list[ModuleInfo]:
        """The modules of `modules` that may call one of `names` (`name(...)`,
        `x.name(...)`; a superset, by `call_pattern`): every module with a call
        whose `call_name` is one of them, without those that only spell the word
        (a docstring, an attribute read)."""
        return self.modules_matching(call_pattern(names))

    def modules_defining(self, names: Iterable[str]) -> list[ModuleInfo]:
        """The modules that may `def` one of `names` (a superset, by a regex)."""
        return self.modules_matching(def_pattern(names))

    def modules_matching(self, pattern: re.Pattern[bytes]) -> list[ModuleInfo]:
        """The modules of `modules` whose source (as UTF-8) matches `pattern`."""
        return [m for m in self.modules if source_matches(pattern, m.source.encode())]

    def files_matching(self, pattern: re.Pattern[bytes]) -> list[tuple[Path, str]]:
        """Every project file whose bytes match `pattern`, with its source, including
        the files `modules` leaves out (an index that parses on demand reads the
        prefilter's selection only; a program's `__main__` script that touches no
        database is no less a program). This one holds every module."""
        return [(m.abspath, m.source) for m in self.modules_matching(pattern)]

    def module_paths_matching(self, pattern: re.Pattern[bytes]) -> list[ModulePath]:
        """Where the modules of `modules_matching(pattern)` are, in its order, for a
        question about their paths and names alone. An index that parses on demand
        parses none that is known to parse (the same list, the same record)."""
        return [ModulePath.of(m)
                for m in self.modules_matching(pattern)]

    def any_file_matches(self, pattern: re.Pattern[bytes]) -> bool:
        """Whether any project file, the prefilter's selection or not, matches
        `pattern` (its bytes), read without parsing. `pattern` begins with
        `EVERY_FILE` (a regex comment), which marks its cache record: an edit to any
        file, selected or not, that changes whether it matches re-checks what read
        the answer. This index holds every module."""
        return bool(self.modules_matching(pattern))

    def unread_files_match(self, pattern: re.Pattern[bytes]) -> bool:
        """Whether a project file that `modules` leaves out matches `pattern` (an
        index that parses on demand knows every file's bytes, and reads the
        prefilter's selection only); this one holds every module: never."""
        return False

    def unread_modules_matching(self, *patterns: re.Pattern[bytes]) -> list[ModuleInfo]:
        """The project modules that `modules` leaves out (an index that parses on
        demand reads the prefilter's selection only) whose bytes match every one of
        `patterns`, parsed: a question whose answer depends on code that touches no
        database (who calls a method of a class that only uses other modules'
        database code) reads them too. This one holds every module: none."""
        return []

    def any_module(self, pattern: re.Pattern[bytes], wanted: Callable[[ModuleInfo], bool],
                   likely: re.Pattern[bytes] | None = None,
                   admitted: Callable[[Path, bytes], bool] | None = None,
                   decided: Callable[[ModulePath, bytes], bool | None] | None = None
                   ) -> bool:
        """`any(wanted(m) for m in self.modules_matching(pattern))`. An index that
        parses on demand tries first the modules whose bytes match `likely` (a
        module that `wanted` most probably accepts) and stops parsing at the first
        one accepted: the answer is the same, in whatever order they are tried.
        `admitted`, given a module's path and bytes, says which modules `wanted`
        may accept at all (the others are never parsed for it): an answer from the
        bytes that must never refuse a module `wanted` accepts. `decided`, given
        where a module is and its bytes, is `wanted`'s own answer when it is known
        without the tree (a kept answer, made from a parse of the same bytes), else
        None: an index that parses on demand does not parse a module it decides
        (this one has every module parsed, and asks `wanted`)."""
        return any(wanted(m) for m in self.modules_matching(pattern)
                   if admitted is None or admitted(m.abspath, m.source.encode()))

    @contextmanager
    def connections_only(self) -> Iterator[None]:
        """A scope whose questions are about connections, sessions, pools and engines
        (the engine checks each file inside one; `full_resolution` marks the
        questions that are not). An index that loads modules on demand may skip the
        modules that cannot hold one; this one has all."""
        yield

    @contextmanager
    def slow_work(self) -> Iterator[None]:
        """A scope inside `connections_only` whose questions are about slow work
        (HTTP, sleeps, subprocesses: PS207), which modules without a database word
        do; an index that loads modules on demand widens what it may load."""
        yield

    @contextmanager
    def full_resolution(self) -> Iterator[None]:
        """A scope that needs every module, whatever `connections_only` said (a
        constant, a base class)."""
        yield

    # ------------------------------------------------------------------ names
    def resolve_qualname(self, qualname: str, near: ModuleInfo) -> Value | None:
        """A dotted name from an import: a project symbol, or an external name."""
        key = (qualname, id(near))
        known = held(self._qualname_memo, key, near)
        if known is not None:
            return known[1]
        # a cycle of re-exports ends here
        self._qualname_memo[key] = (near, External(qualname))
        result = self._resolve_qualname(qualname, near)
        self._qualname_memo[key] = (near, result)
        return result

    def _resolve_qualname(self, qualname: str, near: ModuleInfo) -> Value | None:
        parts = qualname.split(".")
        for i in range(len(parts), 0, -1):
            candidates = self._candidates(".".join(parts[:i]), near)
            if not candidates:
                continue
            module = _closest(candidates, near)
            if i == len(parts) and i > 1:
                # `from pkg import helper` where `pkg/helper.py` exists and
                # `pkg/__init__.py` does `from pkg.helper import helper`: the package's
                # attribute is what its `__init__` bound last (the function), not the
                # submodule (Python looks the attribute up first)
                rebound = self._package_binding(parts, near)
                if rebound is not None:
                    return rebound
            value: Value | None = ModuleRef(module)
            for attr in parts[i:]:
                value = self._attribute(value, attr, module, 0)
                if value is None:
                    break
            if value is not None:
                return value
        if len(parts) > 1 and parts[0] == _root_name(near):
            # `import SuppleTime.pr.app.config` in the checkout `SuppleTime/`: the
            # repository, run from its parent directory, is a package of its own name
            inner = self._resolve_qualname(".".join(parts[1:]), near)
            if not isinstance(inner, External):
                return inner
        return External(qualname)

    def _package_binding(self, parts: list[str], near: ModuleInfo) -> Value | None:
        """What the package `parts[:-1]`'s `__init__` binds `parts[-1]` to with a
        `def`, a `class` or an import of something other than that submodule."""
        parents = self._candidates(".".join(parts[:-1]), near)
        if not parents:
            return None
        parent = _closest(parents, near)
        last = parts[-1]
        if not parent.is_package or not (
                last in parent.functions or last in parent.classes or last in parent.imports):
            return None
        bound = self.lookup_module_name(parent, last, 0)
        return None if bound is None or isinstance(bound, (ModuleRef, External)) else bound

    def _candidates(self, name: str, near: ModuleInfo) -> list[ModuleInfo]:
        """Project modules that an `import <name>` in `near` can mean."""
        return [m for m in self.by_name.get(name, [])
                if self.importable(str(m.abspath), name, str(near.abspath))]

    def _means(self, name: str, near: ModuleInfo, target: ModuleInfo) -> bool:
        """Whether `target` is one of `_candidates(name, near)`, without making the
        others: `importers` asks it of every import of every module that spells the
        target's name."""
        return any(m is target for m in self.by_name.get(name, [])) and self.importable(
            str(target.abspath), name, str(near.abspath))

    def importable(self, path: str, name: str, importer: str) -> bool:
        """`importable_from`, and also a module by its bare name from a directory the
        project's own code puts on `sys.path` (`sys.path.append('./ORM')` in the entry
        point, then `from aioengine import get_engine` anywhere): `sys_path_dirs`.

        Asked once per candidate file of every import the analysis follows, so the
        answer for a bare name is read off prefixes worked out once per file
        (`_import_prefixes`) rather than with `pathlib` each time. `sys_path_dirs` is
        asked only when the prefixes say no: it reads (and, on demand, parses) every
        file that spells `sys.path`, which a question the prefixes answer must not
        cost (nor add to the cache's dependencies)."""
        if "." in name:
            return True
        inside, not_inside = self._import_prefixes.get(path) or self._prefixes_of(path)
        if importer.startswith(inside) and (
                not_inside is None or not importer.startswith(not_inside)):
            return True
        return os.path.dirname(path) in self.sys_path_dirs()

    def _prefixes_of(self, path: str) -> tuple[str, str | None]:
        """For the module file `path`: the directory prefix an importer must be in
        (its import root) and the one it must not be in (a package's own directory: a
        package never finds itself by its bare name): `importable_from`'s rules, read
        lexically."""
        p = Path(path)
        package = p.name == "__init__.py"
        root = str(p.parent.parent if package else p.parent)
        not_inside = None
        if package and root in self.package_dirs():
            not_inside = _dir_prefix(str(p.parent))
        found = (_dir_prefix(root), not_inside)
        self._import_prefixes[path] = found
        return found

    def sys_path_dirs(self) -> frozenset[str]:
        """The project directories that a project file adds to `sys.path` with a
        string literal (`sys.path.append("./lib")`, `sys.path.insert(0, "../ORM")`),
        read relative to that file's directory (where such a script is run from)."""
        if self._sys_path_dirs is None:
            found: set[str] = set()
            for path, source in self.files_matching(_SYS_PATH_WORD):
                for m in _SYS_PATH_ADD.finditer(source):
                    found.add(os.path.normpath(os.path.join(os.path.dirname(str(path)),
                                                            m.group(2))))
            self._sys_path_dirs = frozenset(found)
        return self._sys_path_dirs

    def package_dirs(self) -> frozenset[str]:
        """The project's directories that hold an `__init__.py` (`importable_from`)."""
        if self._package_dirs is None:
            self._package_dirs = frozenset(
                str(m.abspath.parent) for m in self._modules if m.abspath.name == "__init__.py")
        return self._package_dirs

    def module_files(self, name: str) -> list[tuple[Path, str]]:
        """(absolute path, source) of the project files that may be the module `name`
        (a suffix name, as `by_name` holds them), for questions about the import graph
        that need no parse. An index that parses on demand reads them without parsing."""
        return [(m.abspath, m.source) for m in self.by_name.get(name, [])]

    def importers(self, target: ModuleInfo) -> list[ModuleInfo]:
        """The other project modules that import `target` (by one of its dotted
        names, also under the repository's own name)."""
        known = held(self._importers_memo, id(target), target)
        if known is None:
            known = self._importers_memo[id(target)] = (target, self._importers(target))
        return list(known[1])

    def _importers(self, target: ModuleInfo) -> list[ModuleInfo]:
        lasts = {n.rsplit(".", 1)[-1] for n in target.names}
        # `target` answers only its own names: a prefix of an import that is none of
        # them is not looked up (nor are the files it names parsed)
        names = set(target.names)
        out: list[ModuleInfo] = []
        with self.full_resolution():
            for m in self.modules_matching(word_pattern(lasts)):
                if m is target:
                    continue
                for qualname in [*m.imports.values(), *m.star_imports]:
                    parts = qualname.split(".")
                    if len(parts) > 1 and parts[0] == _root_name(m):
                        parts = parts[1:]
                    if any(self._means(prefix, m, target)
                           for i in range(len(parts), 0, -1)
                           if (prefix := ".".join(parts[:i])) in names):
                        out.append(m)
                        break
        return out

    def lookup_module_name(self, module: ModuleInfo, name: str, depth: int,
                           within: cst.CSTNode | None = None) -> Value | None:
        """What `name` is at the top level of `module`; `within` is the node being
        evaluated, if it is a use of `name` in `module` (see `_within`)."""
        if name in module.functions:
            return FunctionRef(module.functions[name])
        if name in module.classes:
            rebound = self._class_rebound(module, name, depth, within)
            return rebound if rebound is not None else ClassRef(module.classes[name])
        if name in module.assigns:
            found = self._first(module.assigns[name], module, None, depth, within)
            if found is None and name in module.imports and all(
                    isinstance(v, cst.Name) and v.value == "None"
                    for v in module.assigns[name]):
                # an optional dependency: `try: from apscheduler... import
                # BlockingScheduler` / `except ImportError: BlockingScheduler = None`;
                # the placeholder is no object, so wherever the name is called it is
                # the import
                return self.resolve_qualname(module.imports[name], module)
            return found
        if name in module.imports:
            return self.resolve_qualname(module.imports[name], module)
        return self._star_imported(module, name)

    def _class_rebound(self, module: ModuleInfo, name: str, depth: int,
                       within: cst.CSTNode | None) -> LibraryObject | None:
        """The session factory a class of `module` is rebound to by a later top-level
        assignment (`class Session(_Session): ...` then `Session =
        sessionmaker(class_=Session)`): after the import, the module's `Session` is
        the factory, and a call of it makes a session that checks out a connection.
        None when the last top-level binding of `name` is not such a plain assignment
        (a `def` or `class` after it, a binding inside an `if` or `try` is not
        ordered here), when `within` is part of the assigned value (`class_=Session`
        there is still the class), or when the value is not a session factory."""
        if name not in module.assigns:
            return None
        last: cst.BaseExpression | None = None
        for st in module.tree.body:
            if isinstance(st, (cst.ClassDef, cst.FunctionDef)) and st.name.value == name:
                last = None
            elif isinstance(st, cst.SimpleStatementLine):
                for small in st.body:
                    if isinstance(small, cst.Assign) and any(
                            isinstance(t.target, cst.Name) and t.target.value == name
                            for t in small.targets):
                        last = small.value
        if last is None or self._within(last, within):
            return None
        value = self.evaluate(last, module, None, depth + 1)
        if isinstance(value, LibraryObject) and value.type.call_kind is not None \
                and CONNECTION_KINDS[value.type.call_kind].is_session:
            return value
        return None

    def missing_import(self, module: ModuleInfo) -> str | None:
        """A name that a top-level `from pkg.mod import name` of `module` (not inside
        a `try`, an `if` or a function) asks of a project module that cannot give
        it: `pkg.mod` defines, assigns and imports no `name`, star-imports nothing,
        has no module `__getattr__`, no submodule of that name exists, and its
        source never spells the word. Importing `module` then raises ImportError,
        so nothing in it ever runs. The dotted `pkg.mod.name` it asked for, else
        None."""
        for st in module.tree.body:
            if not isinstance(st, cst.SimpleStatementLine):
                continue
            for small in st.body:
                if not isinstance(small, cst.ImportFrom) or isinstance(small.names,
                                                                        cst.ImportStar):
                    continue
                for alias in small.names:
                    local = alias.evaluated_alias or alias.evaluated_name
                    qualname = module.imports.get(local)
                    if qualname is None or "." not in qualname:
                        continue
                    base, _, attr = qualname.rpartition(".")
                    with self.full_resolution():
                        # every module the import may mean, not only those a scan read
                        # for their database words: a sibling project's `users.models`
                        # beside this one's (a repository of two Django projects) must
                        # not stand alone for it
                        candidates = self._candidates(base, module)
                        if len(candidates) != 1 or self._candidates(qualname, module):
                            continue
                    source = candidates[0]
                    if source is module or source.star_imports \
                            or "__getattr__" in source.functions \
                            or re.search(rf"\b{re.escape(attr)}\b", source.source):
                        continue
                    return qualname
        return None

    def _star_imported(self, module: ModuleInfo, name: str) -> Value | None:
        """`name` brought in by `from pkg.database import *` from a project module that
        defines or imports it at its top level (the last such import wins, as in
        Python; names with a leading underscore are not exported). A star import of a
        library brings the names `STAR_IMPORT_NAMES` knows it exports (`from flask
        import *` then `Blueprint(...)`); other names of other libraries stay unknown."""
        if name.startswith("_"):
            return None
        for base in reversed(module.star_imports):
            candidates = self._candidates(base, module)
            if not candidates:
                if name in STAR_IMPORT_NAMES.get(base, ()):
                    return External(f"{base}.{name}")
                continue
            source = _closest(candidates, module)
            if source is module:
                continue
            if name in source.functions or name in source.classes \
                    or name in source.assigns or name in source.imports:
                return self.resolve_qualname(f"{base}.{name}", module)
        return None

    def _first(self, values: list[cst.BaseExpression], module: ModuleInfo,
               func: FunctionInfo | None, depth: int,
               within: cst.CSTNode | None = None) -> Value | None:
        for v in reversed(values):
            if self._within(v, within):
                continue
            result = self.evaluate(v, module, func, depth + 1)
            if result is not None:
                return result
        return None

    def _within(self, value: cst.CSTNode, node: cst.CSTNode | None) -> bool:
        """`node` is part of `value`, the value of a binding of the name it uses
        (`async with pool.acquire() as pool`, `conn = wrap(conn)`, `self.db =
        Db(self.db)`): evaluated before that binding is made, it never means it.

        Left to the cycle guard of `evaluate`, such a use meant whatever the memo
        kept from the first question asked: asked about `pool` in `pool.acquire()`
        first, the guard cut the `with` item short (None, memoised), and the `pool`
        of the body was the pool ever after, not the connection; asked about the
        item first, both were right. A rule's findings then depended on which
        rules ran before it (PS207 alone missed what it found beside PS102)."""
        if node is None:
            return False
        known = self._parts_memo.get(id(value))
        if known is None or known[0] is not value:
            known = (value, frozenset(
                id(n) for n in iter_nodes(value, into_functions=True)
                if isinstance(n, (cst.Name, cst.Attribute))))
            self._parts_memo[id(value)] = known
        return id(node) in known[1]

    # ------------------------------------------------------------- evaluation
    def evaluate(self, node: cst.BaseExpression, module: ModuleInfo,
                 func: FunctionInfo | None, depth: int = 0) -> Value | None:
        key = id(node)
        scope = func.node if func is not None else None
        known = self._memo.get(key)
        # (the answer is the scope's: a `self` or a parameter asked without its
        # function, as a project-wide question may, is not what it is inside it)
        if known is not None and known[0] is node and known[1] is scope:
            return known[2]
        if key in self._active or depth > _MAX_DEPTH:
            return None
        self._active.add(key)
        try:
            result = self._evaluate(node, module, func, depth)
        finally:
            self._active.discard(key)
        self._memo[key] = (node, scope, result)
        return result

    def _evaluate(self, node: cst.BaseExpression, module: ModuleInfo,
                  func: FunctionInfo | None, depth: int) -> Value | None:
        node, _ = strip_await(node)
        if isinstance(node, cst.Name):
            return self._name(node.value, module, func, depth, node)
        if isinstance(node, cst.Attribute):
            base = self.evaluate(node.value, module, func, depth + 1)
            if base is None and node.attr.value == "engine" and func is not None \
                    and isinstance(node.value, cst.Name):
                return self._handed_engine(node.value.value, module, func, depth)
            return self._attribute(base, node.attr.value, module, depth, node, func)
        if isinstance(node, cst.Call):
            return self._call(node, module, func, depth)
        if isinstance(node, cst.Subscript):
            # `connections["replica"]`: one alias of a keyed connection handler
            base = self.evaluate(node.value, module, func, depth + 1)
            if isinstance(base, External) and match_qualname(base.qualname,
                                                             KEYED_CONNECTION_HANDLERS):
                return External(base.qualname + SUBSCRIPT_SUFFIX)
        return None

    def evaluate_dotted(self, key: str, module: ModuleInfo,
                        func: FunctionInfo | None) -> Value | None:
        """What `a.b.c` is inside `func` (a name chain, evaluated without a node)."""
        first, *rest = key.split(".")
        value = self._name(first, module, func, 0)
        for attr in rest:
            value = self._attribute(value, attr, module, 0, None, func)
        return value

    def _name(self, name: str, module: ModuleInfo, func: FunctionInfo | None,
              depth: int, node: cst.Name | None = None) -> Value | None:
        """What `name` means inside `func` (`node`: the use being evaluated, if any,
        which never means a binding whose value it is part of: `_within`)."""
        scope = func
        while scope is not None:
            if name in scope.locals:
                return self._local(scope.locals[name], module, scope, depth, node)
            if name in scope.all_param_names():
                params = [p.name.value for p in scope.node.params.params]
                if scope.is_method and scope.cls is not None and params and name == params[0]:
                    # a classmethod's first parameter is the class: `cls()` builds an
                    # instance (`return cls._instance` after `cls._instance = cls()`)
                    if _is_classmethod(scope):
                        return ClassRef(scope.cls)
                    return Instance(scope.cls)
                annotation = param_annotation(scope, name)
                if annotation is not None:
                    return self._annotated(annotation, scope.module, depth)
                return None
            scope = scope.parent
        if func is not None and name in module.functions:
            same = self._same_branch_function(module, func, name)
            if same is not None:
                return FunctionRef(same)
        return self.lookup_module_name(module, name, depth, node)

    def _same_branch_function(self, module: ModuleInfo, func: FunctionInfo,
                              name: str) -> FunctionInfo | None:
        """A function `name` defined in the same branch of a module-level `if`/`elif`/
        `else` as the top-level function `func` sits in (`if sqlite: def connect_db():
        ...; def get_db(): connect_db()` / `elif postgres:` the same two): at run time
        the call means its own branch's definition, not the last one in the file."""
        top = func
        while top.parent is not None:
            top = top.parent
        if top.cls is not None:
            return None
        known = self._branches_memo.get(id(module))
        if known is None or known[0] is not module:
            known = (module, _branch_suites(module.tree))
            self._branches_memo[id(module)] = known
        suites = known[1]
        suite = suites.get(id(top.node))
        if suite is None:
            return None
        return next((f for f in module.all_functions if f.name == name and f.parent is None
                     and f.cls is None and suites.get(id(f.node)) == suite), None)

    def _local(self, values: list[LocalValue], module: ModuleInfo, func: FunctionInfo,
               depth: int, node: cst.Name | None = None) -> Value | None:
        for v in reversed(values):
            if isinstance(v, Opaque):
                continue
            if isinstance(v, ImportBinding):
                return self.resolve_qualname(v.qualname, module)
            if self._within(v.item if isinstance(v, WithBinding) else v, node):
                continue
            if isinstance(v, WithBinding):
                entered = self.evaluate(v.item, module, func, depth + 1)
                if isinstance(entered, ManagedContext):
                    return Connection(entered.kind_key, entered.origin)
                if isinstance(entered, Connection):
                    return entered
                continue
            assert isinstance(v, cst.BaseExpression)
            result = self.evaluate(v, module, func, depth + 1)
            if result is not None:
                return result
        return None

    def _annotated(self, annotation: cst.BaseExpression, module: ModuleInfo,
                   depth: int) -> Value | None:
        """A pool, engine or session factory named by a type annotation
        (`pool: asyncpg.Pool`, `Optional[Engine]`, `"ThreadedConnectionPool | None"`),
        or an instance of the project class it names (`db: Db`, whose `self.pool` a
        method of `Db` set)."""
        for node in annotation_parts(annotation):
            value = self.evaluate(node, module, None, depth + 1)
            if isinstance(value, External):
                ctor = match_qualname(value.qualname, OBJECT_CONSTRUCTORS)
                if ctor is not None and ctor[1][:1].isupper():
                    return LibraryObject(OBJECT_CONSTRUCTORS[ctor])
            if isinstance(value, ClassRef):
                return Instance(value.cls)
        return None

    def _attribute(self, base: Value | None, attr: str, module: ModuleInfo,
                   depth: int, node: cst.Attribute | None = None,
                   func: FunctionInfo | None = None) -> Value | None:
        """`base.attr` (`node`: the attribute being evaluated, if any, which never
        means an assignment of `attr` whose value it is part of: `_within`)."""
        if base is None:
            return None
        if isinstance(base, External):
            # `import db.util` then `db.util.get_connection()`: `db` is no module of
            # the index (a namespace package without `__init__.py`, or a package whose
            # `__init__` the prefilter left unparsed), but `db.util` is one
            qualname = f"{base.qualname}.{attr}"
            sub = self._candidates(qualname, module) if qualname in self.by_name else []
            if sub:
                return ModuleRef(_closest(sub, module))
            if base.qualname in REQUEST_NAMESPACES:
                assigned = self._namespace_attribute(attr, depth)
                if assigned is not None:
                    return assigned
            return External(qualname)
        if isinstance(base, ModuleRef):
            found = self.lookup_module_name(base.module, attr, depth + 1)
            if found is None:
                sub = [m for n in base.module.names[:1]
                       for m in self.by_name.get(f"{n}.{attr}", [])]
                if sub:
                    return ModuleRef(_closest(sub, module))
            return found
        if isinstance(base, LibraryObject):
            attrs = base.type.attributes or {}
            if attr in attrs:
                return LibraryObject(attrs[attr])
            return None
        if isinstance(base, Connection) and attr == "engine":
            # a SQLAlchemy connection's engine, whose `connect()` checks out another
            engine = _CONNECTION_ENGINES.get(base.kind_key)
            return None if engine is None else LibraryObject(engine)
        if isinstance(base, (Instance, ClassRef)):
            cls = base.cls
            if attr in cls.methods:
                method = cls.methods[attr]
                if isinstance(base, Instance) and _is_property(method):
                    found = self._property_object(method, depth)
                    if found is not None:
                        return found
                return FunctionRef(method)
            if attr in cls.attributes:
                pairs = list(zip(cls.attributes[attr], cls.attribute_scopes[attr],
                                 strict=True))
                own = _own_earlier_assignment(pairs, func, node)
                if own is not None:
                    # the method's own assignment reaches the use (`self.conn =
                    # pymysql.connect()` then `self.conn.commit()`), whatever other
                    # methods of the class assign (`self.conn = psycopg2.connect()`)
                    found = self.evaluate(own, cls.module, func, depth + 1)
                    if found is not None:
                        return found
                for value, scope in reversed(pairs):
                    if self._within(value, node):
                        continue
                    result = self.evaluate(value, cls.module, scope, depth + 1)
                    if result is not None:
                        return result
            if attr in cls.annotations:
                return self._annotated(cls.annotations[attr], cls.module, depth)
            if attr in cls.class_values and len(cls.class_values[attr]) == 1:
                # a connection opened in the class body (`conn = psycopg2.connect(...)`
                # under `class DB:`): one per process, opened at import and shared by
                # every instance, as a module-level one is; and so is a pool built
                # there (`_pool = MySQLConnectionPool(...)`), whose checkouts
                # (`cls._pool.get_connection()`) are judged as any pool's. Only these
                # are read there (an engine in a class body keeps its old reading)
                found = self.evaluate(cls.class_values[attr][0], cls.module, None, depth + 1)
                if isinstance(found, Connection) or (
                        isinstance(found, LibraryObject) and found.type.is_pool):
                    return found
            inherited = self._inherited_method(cls, attr, depth)
            if inherited is not None:
                return FunctionRef(inherited)
        return None

    def _inherited_method(self, cls: ClassInfo, attr: str, depth: int) -> FunctionInfo | None:
        """The method `attr` a project base class of `cls` defines, when `cls` defines
        no method or attribute of that name itself (`class IndexHandler(BaseHandler)`
        calling `self.get_db()` that `BaseHandler` defines). Only methods, only
        project bases, nearest first in the order the bases are written; a property
        is left out (its value is the object it returns, read where it is defined)."""
        if depth > _MAX_DEPTH or attr in cls.attributes or attr in cls.annotations \
                or attr in cls.class_values:
            return None
        for base in cls.node.bases:
            if base.keyword is not None:
                continue
            value = self.evaluate(base.value, cls.module, None, depth + 1)
            if not isinstance(value, ClassRef) or value.cls is cls:
                continue
            method = value.cls.methods.get(attr)
            if method is not None:
                return None if _is_property(method) else method
            found = self._inherited_method(value.cls, attr, depth + 1)
            if found is not None:
                return found
        return None

    def _namespace_attribute(self, attr: str, depth: int) -> Value | None:
        """`g.db` on a request namespace (`REQUEST_NAMESPACES`): the database object,
        pool or engine a project function assigns to that attribute (`g.db =
        DATABASE` in a `before_request` hook), so that `g.db.connect()` and
        `g.db.close()` in the request's other hooks mean it. Only such objects: a
        checkout stored there (`g.conn = pool.getconn()`) stays unknown, as before."""
        if attr in self._namespace_active or depth > _MAX_DEPTH:
            return None
        self._namespace_active.add(attr)
        try:
            pattern = spelling(rb"\." + re.escape(attr.encode()) + rb"[ \t]*=[^=]", [attr])
            for m in self.modules_matching(pattern):
                for f, node in _attribute_assigns(m, attr):
                    if not any(isinstance(t.target, cst.Attribute)
                               and t.target.attr.value == attr
                               and self._is_namespace(t.target.value, m, f, depth)
                               for t in node.targets):
                        continue
                    value = self.evaluate(node.value, m, f, depth + 1)
                    if isinstance(value, LibraryObject):
                        return value
            return None
        finally:
            self._namespace_active.discard(attr)

    def _is_namespace(self, expr: cst.BaseExpression, module: ModuleInfo,
                      func: FunctionInfo | None, depth: int) -> bool:
        value = self.evaluate(expr, module, func, depth + 1)
        return isinstance(value, External) and value.qualname in REQUEST_NAMESPACES

    def _call(self, call: cst.Call, module: ModuleInfo, func: FunctionInfo | None,
              depth: int) -> Value | None:
        callee_node = method_alias(call.func, func) or call.func
        if calls_a_double(call, self._replaced_in(module)):
            return None  # a test double stands there: it hands out no connection
        drawn = self._drawn_session(call, module, func, depth)
        if drawn is not None:
            return drawn
        # `obj.method()` on a known library object
        if isinstance(callee_node, cst.Attribute):
            method = callee_node.attr.value
            base = self.evaluate(callee_node.value, module, func, depth + 1)
            if isinstance(base, LibraryObject):
                return self._library_method(base, method, call)
            if isinstance(base, Connection) and method in TRANSACTION_CM_METHODS:
                return ManagedContext(base.kind_key, _source(call), transactional=True)
            if isinstance(base, Instance) and method in DJANGO_VIEW_LOOKUPS and not call.args:
                model = self._view_model(base.cls, depth)
                if model is not None:
                    return Instance(model)
            if isinstance(base, Instance) and method in DRF_SERIALIZER_GETTERS \
                    and view_class_framework(self, base.cls) == "django":
                serializer = self._view_serializer(base.cls, depth)
                if serializer is not None:
                    return Instance(serializer)
            if base is None and method == "getconn" and not self._mock_patched(func) \
                    and not is_test_module(module) and not self._own_getconn_only():
                # an unknown object's getconn(): psycopg2 and psycopg_pool agree on
                # what it means (putconn returns it, close() does not)
                return Connection("psycopg2-pool", _source(call))
            if base is None and method == "acquire" and not call.args \
                    and _names_a_database(callee_node.value) \
                    and not self._mock_patched(func) and not is_test_module(module):
                kind = self._aio_pool_kind()
                if kind is not None:
                    return Connection(kind, _source(call))
            if base is None and method in DATABASES_UNTYPED_CHECKOUTS \
                    and not positional_args(call) \
                    and _names_a_database(callee_node.value) \
                    and not self._mock_patched(func) and not is_test_module(module) \
                    and self._databases_alone():
                return Connection(DATABASES_UNTYPED_CHECKOUTS[method], _source(call))
        callee = self.evaluate(callee_node, module, func, depth + 1)
        if isinstance(callee, External):
            return self._external_call(callee.qualname, call, module, func, depth)
        if isinstance(callee, LibraryObject):
            t = callee.type
            if t.call_kind is not None:
                maker = self._maker_call(callee_node, func)
                if self._borrows_connection(call, module, func, depth) or (
                        maker is not None and CONNECTION_KINDS[t.call_kind].is_session
                        and self._borrows_connection(maker, module, func, depth,
                                                     positional=True)):
                    return None
                return Connection(t.call_kind, _source(call),
                                  autocommit=AUTOCOMMIT_FLAG in callee.flags)
            if t.is_scoped and func is not None and isinstance(callee_node, cst.Name) \
                    and all(a.keyword is not None for a in call.args) \
                    and self._builds_registry_here(callee_node, func):
                # `session = Session()` on a `scoped_session(...)` registry this function
                # builds for itself: the thread's session, this function's own (it holds
                # a connection from its first statement until `close()`, or the
                # registry's `remove()`: `released_by_call`)
                return Connection("session", _source(call))
            if t.is_scoped and not call.args and func is None:
                # `session = Session()` at a module's top level on a `scoped_session`
                # registry: the thread's session, the same one the registry's own
                # methods proxy to (inside a function, `with Session() as s:` and
                # `s = Session()` keep their own handling)
                return callee
            return None
        if isinstance(callee, FunctionRef):
            found = self._project_call(callee.func, call)
            if found is None:
                found = self._instance_of_argument(callee.func, call, module, func, depth)
            return found
        if isinstance(callee, ClassRef):
            wrapper = self._pooled_wrapper_kind(callee.cls, call, module, func, depth)
            if wrapper is not None:
                return Connection(wrapper, _source(call))
            peewee_base = self._peewee_base(callee.cls, depth)
            if peewee_base is not None:
                return LibraryObject(peewee_base)
            if self._flask_sqlalchemy_hooks_only(callee.cls, depth):
                return LibraryObject(OBJECT_CONSTRUCTORS[FLASK_SQLALCHEMY_CLASS])
            return Instance(callee.cls)
        return None

    def _peewee_base(self, cls: ClassInfo, depth: int) -> str | None:
        """The peewee database type a project class inherits from a library base, at
        any depth of project bases (peewee's own recipe `class RetryDB(ReconnectMixin,
        PooledMySQLDatabase): pass`, playhouse's `RetryOperationalError` mixin): its
        instances are that database, with the same connect()/close(). Only peewee's
        types: a project subclass of another library class may change what its
        methods do."""
        if depth > _MAX_DEPTH:
            return None
        for base in cls.node.bases:
            value = self.evaluate(base.value, cls.module, None, depth + 1)
            if isinstance(value, External):
                ctor = match_qualname(value.qualname, OBJECT_CONSTRUCTORS)
                if ctor is not None and OBJECT_CONSTRUCTORS[ctor] in _PEEWEE_DATABASES:
                    return OBJECT_CONSTRUCTORS[ctor]
            elif isinstance(value, ClassRef) and value.cls is not cls:
                inherited = self._peewee_base(value.cls, depth + 1)
                if inherited is not None:
                    return inherited
        return None

    def _flask_sqlalchemy_hooks_only(self, cls: ClassInfo, depth: int) -> bool:
        """A project subclass of Flask-SQLAlchemy's `SQLAlchemy` (at any depth of project
        bases) that defines no method but the engine option hooks
        (`FLASK_SQLALCHEMY_OPTION_HOOKS`: the documented `pool_pre_ping` workaround,
        `class SQLAlchemy(_SQLAlchemy): def apply_pool_defaults(self, app, options): ...`):
        its instance is the extension, whose `db.session` is the request's scoped
        session. A subclass with any other method (`auto_commit()`, its own
        `__init__`) stays a project object: it may change what the extension does."""
        if depth > _MAX_DEPTH or any(name not in FLASK_SQLALCHEMY_OPTION_HOOKS
                                     for name in cls.methods):
            return False
        for base in cls.node.bases:
            if base.keyword is not None:
                continue
            value = self.evaluate(base.value, cls.module, None, depth + 1)
            if isinstance(value, External):
                ctor = match_qualname(value.qualname, OBJECT_CONSTRUCTORS)
                if ctor is not None and ctor == FLASK_SQLALCHEMY_CLASS:
                    return True
            elif isinstance(value, ClassRef) and value.cls is not cls \
                    and self._flask_sqlalchemy_hooks_only(value.cls, depth + 1):
                return True
        return False

    def _view_serializer(self, cls: ClassInfo, depth: int) -> ClassInfo | None:
        """The project class a DRF view's `self.get_serializer(...)` makes: the last
        `serializer_class = X` of its own body, else of a project base's."""
        if depth > _MAX_DEPTH:
            return None
        for st in reversed(cls.node.body.body):
            if not isinstance(st, cst.SimpleStatementLine):
                continue
            for small in reversed(st.body):
                if isinstance(small, cst.Assign) and any(
                        isinstance(t.target, cst.Name)
                        and t.target.value == DRF_SERIALIZER_ATTRIBUTE for t in small.targets):
                    found = self.evaluate(small.value, cls.module, None, depth + 1)
                    return found.cls if isinstance(found, ClassRef) else None
        for base in cls.node.bases:
            value = self.evaluate(base.value, cls.module, None, depth + 1)
            if isinstance(value, ClassRef):
                inherited = self._view_serializer(value.cls, depth + 1)
                if inherited is not None:
                    return inherited
        return None

    def _view_model(self, cls: ClassInfo, depth: int) -> ClassInfo | None:
        """The project model whose instance a Django or DRF view class's
        `self.get_object()` returns: its own override's return annotation
        (`def get_object(self) -> User`), else the class's `model = Order` or the model
        of its `queryset = Order.objects...`."""
        if view_class_framework(self, cls) != "django":
            return None
        override = cls.methods.get("get_object")
        if override is not None:
            returns = override.node.returns
            found = (self.evaluate(returns.annotation, cls.module, None, depth + 1)
                     if returns is not None else None)
            return found.cls if isinstance(found, ClassRef) else None
        for st in cls.node.body.body:
            if not isinstance(st, cst.SimpleStatementLine):
                continue
            for small in st.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target, value = small.targets[0].target, small.value
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    target, value = small.target, small.value
                else:
                    continue
                if not isinstance(target, cst.Name) or target.value not in {"model",
                                                                          "queryset"}:
                    continue
                expr: cst.BaseExpression = value
                if target.value == "queryset":  # down to `Order` of `Order.objects...`
                    manager = next(
                        (link for link in chain_links(expr) if isinstance(link, cst.Attribute)
                         and link.attr.value in DJANGO_MANAGER_ATTRIBUTES), None)
                    if manager is None:
                        continue
                    expr = manager.value
                found = self.evaluate(expr, cls.module, None, depth + 1)
                if isinstance(found, ClassRef):
                    return found.cls
        return None

    def _aio_pool_kind(self) -> str | None:
        """The connection an unknown object's `acquire()` hands out in a project whose
        only async pool library is aiopg or aiomysql (`await app['db'].acquire()`,
        with the pool kept in an aiohttp application's state): that library's
        engine connection, whose `close()` gives it back (the lenient reading: only
        paths that reach no release at all are reported). None when the project
        imports neither, both, or asyncpg (whose pools the index knows by type)."""
        if self._aio_kind is None:
            roots: set[str] = set()
            for m in self.modules_mentioning([*AIO_POOL_KINDS, "asyncpg"]):
                roots.update(q.split(".", 1)[0] for q in m.imports.values())
                for f in m.all_functions:
                    roots.update(v.qualname.split(".", 1)[0] for vs in f.locals.values()
                                 for v in vs if isinstance(v, ImportBinding))
            found = roots & {*AIO_POOL_KINDS, "asyncpg"}
            only = next(iter(found)) if len(found) == 1 else ""
            kind = AIO_POOL_KINDS.get(only)
            if kind is not None and self._raw_aio_pools_only(only):
                kind = AIO_RAW_POOL_KINDS[only]
            self._aio_kind = (kind,)
        return self._aio_kind[0]

    def _own_getconn_only(self) -> bool:
        """The project's own class has a `getconn()` method that checks out from no pool
        (ldap2pg's `Pooler.getconn(dbname)`: one connection per database, opened and
        cached by the class, all closed by its `__exit__`), and no module names a pool
        library that has one (psycopg2's `pool` module or its `*ConnectionPool`
        classes, `psycopg_pool`, `psycopg2_pool`): an unknown object's `getconn()` is
        then that method's, not a pool's checkout with a `putconn()` owed."""
        if self._own_getconn is None:
            own = False
            for m in self.modules_mentioning(["getconn"]):
                for f in m.all_functions:
                    if f.name == "getconn" and f.cls is not None and f.parent is None \
                            and not any(isinstance(n, cst.Call)
                                        and isinstance(n.func, cst.Attribute)
                                        and n.func.attr.value == "getconn"
                                        for n in iter_nodes(f.node.body)):
                        own = True
            pools = bool(self.modules_matching(_POOL_LIBRARY_NAMES)) if own else True
            self._own_getconn = own and not pools
        return self._own_getconn

    def _databases_alone(self) -> bool:
        """The project imports encode/databases and no other library whose objects have
        a `transaction()` (`DATABASES_RIVALS`): an unknown database-named object's
        `transaction()` (`request.app.database`, the `Database` kept on the
        application at startup) is then that `Database`'s."""
        if self._databases_only is None:
            roots: set[str] = set()
            for m in self.modules_mentioning([DATABASES_ROOT, *DATABASES_RIVALS]):
                roots.update(q.split(".", 1)[0] for q in m.imports.values())
                for f in m.all_functions:
                    roots.update(v.qualname.split(".", 1)[0] for vs in f.locals.values()
                                 for v in vs if isinstance(v, ImportBinding))
            own = any(n == DATABASES_ROOT or n.startswith(DATABASES_ROOT + ".")
                      for n in self.by_name)  # a project package of that name
            self._databases_only = DATABASES_ROOT in roots and not own \
                and not roots & DATABASES_RIVALS
        return self._databases_only

    def _raw_aio_pools_only(self, library: str) -> bool:
        """Whether the project builds `library`'s raw pools (`aiomysql.create_pool`)
        and never its `.sa` engines: an unknown `acquire()` then hands out a raw pool
        connection (`close()` does not give it back)."""
        engine = f"{library}.{AIO_ENGINE_SUBMODULE}"
        raw = False
        for m in self.modules_mentioning([library]):
            if engine in m.source or any(q == engine or q.startswith(engine + ".")
                                         for q in m.imports.values()):
                return False
            raw = raw or AIO_RAW_POOL_FACTORY in m.source
        return raw

    def _replaced_in(self, module: ModuleInfo) -> frozenset[str]:
        """What a test module replaces with doubles (`poolsafe.analysis.doubles`)."""
        key = id(module)
        found = self._doubles_memo.get(key)
        if found is None or found[0] is not module:
            found = self._doubles_memo[key] = (module, replaced_names(module))
        return found[1]

    def _drawn_session(self, call: cst.Call, module: ModuleInfo, func: FunctionInfo | None,
                       depth: int) -> Connection | None:
        """`next(get_db())` / `get_db().__next__()` on a project generator (no
        @contextmanager) that yields a session (or a `scoped_session` registry, which
        stands for its thread's session): the generator object is dropped at once,
        its `finally` closes the session, and the first query opens a new connection
        that only a `close()` of the caller's gives back. The caller holds a session.
        So does `await anext(get_session())` / `await gen.__anext__()` on an async
        generator: nothing but the event loop's async-generator finalizer, after the
        generator object is collected, ever runs the `async with` exit that closes
        the session, and it runs then in a task of its own, wherever the caller is."""
        f = call.func
        gen_call: cst.BaseExpression | None = None
        if isinstance(f, cst.Name) and f.value in ("next", "anext") and len(call.args) == 1 \
                and self._name(f.value, module, func, depth + 1) is None:
            gen_call = call.args[0].value
        elif isinstance(f, cst.Attribute) and f.attr.value in ("__next__", "__anext__") \
                and not call.args:
            gen_call = f.value
        drawn = "anext" if (isinstance(f, cst.Name) and f.value == "anext") or (
            isinstance(f, cst.Attribute) and f.attr.value == "__anext__") else "next"
        if isinstance(gen_call, cst.Name) and func is not None:
            # `gen = get_db()` then `next(gen)`: the generator object lives in a local,
            # and its `finally` runs only when that object is collected
            bound = func.locals.get(gen_call.value, [])
            if len(bound) == 1 and isinstance(bound[0], cst.Call):
                gen_call = bound[0]
        if not isinstance(gen_call, cst.Call):
            return None
        gen = self.evaluate(gen_call.func, module, func, depth + 1)
        if not isinstance(gen, FunctionRef) or not gen.func.is_generator \
                or self.is_contextmanager(gen.func):
            return None
        for node in iter_nodes(gen.func.node.body):
            if isinstance(node, cst.Yield) and isinstance(node.value, cst.BaseExpression):
                value = self.evaluate(node.value, gen.func.module, gen.func, depth + 1)
                if isinstance(value, Connection) and value.kind.is_session:
                    return Connection(value.kind_key, f"{drawn}({_source(gen_call)})")
                if isinstance(value, LibraryObject) and value.type.is_scoped:
                    # a `scoped_session` registry: each use goes to its thread's session
                    return Connection("scoped-session", f"{drawn}({_source(gen_call)})")
        return None

    def _makes_async_sessions(self, call: cst.Call, module: ModuleInfo,
                              func: FunctionInfo | None, depth: int) -> bool:
        """`class_=AsyncSession` (SQLAlchemy's or SQLModel's) among the arguments."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "class_":
                value = self.evaluate(arg.value, module, func, depth + 1)
                return isinstance(value, External) and match_qualname(
                    value.qualname, _ASYNC_SESSION_CLASSES) is not None
        return False

    def _library_method(self, obj: LibraryObject, method: str, call: cst.Call) -> Value | None:
        t = obj.type
        if method in t.acquire_methods:
            kind = t.acquire_methods[method]
            for flag, overrides in (t.keyword_kinds or {}).items():
                if flag in obj.flags and method in overrides:
                    kind = overrides[method]
            return Connection(kind, _source(call), autocommit=AUTOCOMMIT_FLAG in obj.flags)
        if method in t.cm_methods:
            kind_key = next(iter(t.acquire_methods.values()), t.call_kind or "session")
            if t.is_session_factory:
                kind_key = t.call_kind or "session"
            if t.is_engine:
                kind_key = t.acquire_methods.get("connect", kind_key)
            return ManagedContext(kind_key, _source(call), transactional=True)
        return None

    def _external_call(self, qualname: str, call: cst.Call, module: ModuleInfo,
                       func: FunctionInfo | None, depth: int) -> Value | None:
        configured = configured_name(qualname, self.config.acquire)
        if configured is not None:
            # a configured acquire function from outside the project (a C extension,
            # a company library): `acquire = ["corp_db.lease"]`
            return Connection(self.config.acquire[configured], _source(call),
                              via=qualname.rsplit(".", 1)[-1])
        if async_psycopg_connect(qualname):
            return Connection("psycopg-async", _source(call))
        ctor = match_qualname(qualname, OBJECT_CONSTRUCTORS)
        if ctor is not None:
            type_key = OBJECT_CONSTRUCTORS[ctor]
            flags = frozenset(
                a.keyword.value for a in call.args
                if a.keyword is not None and isinstance(a.value, cst.Name)
                and a.value.value == "True"
            )
            if self._builds_autocommit(call, module, func, depth):
                flags |= {AUTOCOMMIT_FLAG}
            if type_key == "sqlalchemy.sessionmaker" \
                    and self._makes_async_sessions(call, module, func, depth):
                # `sessionmaker(engine, class_=AsyncSession)`, the idiom before
                # `async_sessionmaker`: its sessions close with a coroutine
                type_key = "sqlalchemy.async_sessionmaker"
            return LibraryObject(type_key, flags)
        acq = match_qualname(qualname, DIRECT_ACQUIRERS)
        if acq is not None:
            spec = DIRECT_ACQUIRERS[acq]
            kind = spec.kind
            for kw, pooled_kind in spec.pooled_by:
                if keyword_arg(call, kw) is not None:
                    kind = pooled_kind
            if CONNECTION_KINDS[kind].is_session and self._borrows_connection(
                    call, module, func, depth, positional=True):
                return None
            if CONNECTION_KINDS[kind].is_session and not call.args \
                    and not self._binds_later():
                return None  # `orm.Session()` bound to nothing can run no SQL
            autocommit = any(isinstance(arg := keyword_arg(call, kw), cst.Name)
                             and arg.value == literal for kw, literal in spec.autocommit_by)
            return Connection(kind, _source(call), autocommit=autocommit)
        last = qualname.rsplit(".", 1)[-1]
        if last[:1].isupper():
            return ExternalInstance(qualname)
        return None

    @staticmethod
    def _maker_call(callee: cst.BaseExpression, func: FunctionInfo | None) -> cst.Call | None:
        """The call that built the session factory `callee` calls: itself
        (`sessionmaker(bind=conn)()`) or a local name's only binding (`maker =
        sessionmaker(bind=conn)` and then `maker()`)."""
        if isinstance(callee, cst.Call):
            return callee
        if isinstance(callee, cst.Name) and func is not None:
            values = func.locals.get(callee.value, [])
            if len(values) == 1 and isinstance(values[0], cst.Call):
                return values[0]
        return None

    def session_bind(self, call: cst.Call, module: ModuleInfo,
                     func: FunctionInfo | None) -> cst.BaseExpression | None:
        """What a session construction binds: `conn` in `Session(bind=conn)`,
        `Session(conn)`, `SessionLocal(bind=conn)`, `sessionmaker(bind=conn)()` and
        `maker()` after `maker = sessionmaker(bind=conn)`; None for any other call.
        A session bound to a connection runs on it and never closes it (its
        `close()` ends only its own transaction)."""
        callee = self.evaluate(call.func, module, func)
        if isinstance(callee, External):
            acq = match_qualname(callee.qualname, DIRECT_ACQUIRERS)
            if acq is None or not CONNECTION_KINDS[DIRECT_ACQUIRERS[acq].kind].is_session:
                return None
            return _bind_argument(call)
        if not isinstance(callee, LibraryObject) or callee.type.call_kind is None \
                or not CONNECTION_KINDS[callee.type.call_kind].is_session:
            return None
        bind = keyword_arg(call, "bind")
        maker = self._maker_call(call.func, func)
        return bind if bind is not None or maker is None else _bind_argument(maker)

    def _binds_later(self) -> bool:
        """Some code of the project gives a session or metadata a bind after the fact
        (`session.bind = engine`, `metadata.bind = engine`, `MetaData(bind=engine)`):
        a session built with no bind may then still connect. Without that, a session
        class called with no argument at all (`orm.Session()`, not a sessionmaker) has
        no engine to check a connection out of (`merge(load=False)`, `expunge()`)."""
        found = self._binds_later_memo
        if found is None:
            found = bool(self.modules_matching(_LATE_BIND))
            self._binds_later_memo = found
        return found

    def _borrows_connection(self, call: cst.Call, module: ModuleInfo,
                            func: FunctionInfo | None, depth: int,
                            positional: bool = False) -> bool:
        """A session bound to a connection someone else owns (`Session(bind=conn)`
        inside `with engine.connect() as conn:`, `Session(bind=op.get_bind())` in an
        Alembic migration): it checks nothing out of a pool, and whoever owns the
        connection ends it. A session bound to an engine (or to nothing) checks out.
        With `positional`, `bind` is also the first positional parameter (the
        `Session(conn)` and `AsyncSession(conn)` constructors)."""
        bind = _bind_argument(call) if positional else keyword_arg(call, "bind")
        if bind is None:
            return False
        return self._is_connection_expr(bind, module, func, depth, 0)

    def _is_connection_expr(self, expr: cst.BaseExpression, module: ModuleInfo,
                            func: FunctionInfo | None, depth: int, hops: int) -> bool:
        inner, _ = strip_await(expr)
        if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
                and inner.func.attr.value == "get_bind":
            # Alembic's `op.get_bind()` hands out the migration's connection; an
            # application-wide scoped session's (`db.session.get_bind()`) is its engine,
            # and a session bound to it checks out a connection of its own
            return not self._scoped_session(inner.func.value, module, func, depth)
        if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
                and inner.func.attr.value == SESSION_CONNECTION_METHOD \
                and self._scoped_session(inner.func.value, module, func, depth):
            return True  # `db.session.connection()`: the scoped session's own, it ends it
        value = self.evaluate(inner, module, func, depth + 1)
        if isinstance(value, Connection):
            return not value.kind.is_session
        if isinstance(inner, cst.Name) and func is not None and hops < 2 \
                and inner.value in func.locals:
            # `bind = op.get_bind()` a line before
            return any(isinstance(v, cst.BaseExpression) and self._is_connection_expr(
                v, module, func, depth, hops + 1) for v in func.locals[inner.value])
        if func is not None and value is None and hops < 2:
            return self._borrowed_parameter(inner, module, func, depth, hops)
        return False

    def _scoped_session(self, expr: cst.BaseExpression, module: ModuleInfo,
                        func: FunctionInfo | None, depth: int) -> bool:
        """`db.session` of Flask-SQLAlchemy (also of a project subclass of its
        `SQLAlchemy`) or a module's `scoped_session(...)`: the application's session
        registry, bound to an engine."""
        value = self.evaluate(expr, module, func, depth + 1)
        if isinstance(value, LibraryObject):
            return value.type.is_scoped
        if not isinstance(expr, cst.Attribute) or expr.attr.value != "session":
            return False
        owner = self.evaluate(expr.value, module, func, depth + 1)
        if not isinstance(owner, Instance):
            return False
        root, name = FLASK_SQLALCHEMY_CLASS
        found = derived_root(self, owner.cls, (root,))
        return found is not None and found[0].rsplit(".", 1)[-1] == name

    def _borrowed_parameter(self, expr: cst.BaseExpression, module: ModuleInfo,
                            func: FunctionInfo, depth: int, hops: int) -> bool:
        """A connection the function is handed by its caller, who owns it: a parameter
        annotated `Connection` (not `Engine`); an unannotated plain parameter that
        every call of the function in the project (outside the tests, at least one)
        passes a connection for (`count_rows(conn)` inside `with engine.connect() as
        conn:`, `helper(op.get_bind())`); or `ctx.connection` of an Alembic context
        parameter (annotated `AutogenContext`, or the first parameter of a hook
        registered with an `alembic` decorator:
        `@comparators.dispatch_for("schema") def compare(autogen_context, ...)`)."""
        attr = None
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            attr, expr = expr.attr.value, expr.value
        if not isinstance(expr, cst.Name) or expr.value in func.locals \
                or expr.value not in func.all_param_names():
            return False
        name = expr.value
        annotation = param_annotation(func, name)
        annotated = [] if annotation is None else [
            v.qualname for part in annotation_parts(annotation)
            if isinstance(v := self.evaluate(part, module, None, depth + 1), External)]
        if attr is not None:
            if attr != "connection":
                return False
            if annotation is not None:
                return any(match_qualname(q, ALEMBIC_CONTEXTS) for q in annotated)
            params = [p.name.value for p in func.node.params.params]
            return func.cls is None and bool(params) and params[0] == name and any(
                isinstance(v := self.evaluate(d.decorator.func if isinstance(
                    d.decorator, cst.Call) else d.decorator, module, None, depth + 1),
                    External) and root_matches(v.qualname, ALEMBIC_ROOT)
                for d in func.node.decorators)
        if annotation is not None:
            return any(match_qualname(q, BORROWED_BIND_ANNOTATIONS) for q in annotated)
        params = [p.name.value for p in func.node.params.params]
        if name not in params:
            return False
        if func.cls is not None:
            return self._run_sync_parameter(func, name, depth)
        finder = ProjectIndex.project_callers_of
        if finder is None:
            return False
        sites = finder(self, func)
        handed = self._run_sync_parameter(func, name, depth)
        return (bool(sites) or handed) and all(
            (arg := argument_for(s.call, name, params.index(name))) is not None
            and not self._acquired_inline(arg, s.module, s.func, depth)
            and self._is_connection_expr(arg, s.module, s.func, depth, hops + 1)
            for s in sites)

    def _run_sync_parameter(self, func: FunctionInfo, name: str, depth: int) -> bool:
        """`name` is the parameter `run_sync` hands its callback the sync connection
        in: the first (after `self` / `cls` for a method: `await
        conn.run_sync(self._create)`)."""
        params = [p.name.value for p in func.node.params.params]
        first = 1 if func.cls is not None and not any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
            for d in func.node.decorators) else 0
        return len(params) > first and params[first] == name \
            and self._run_sync_callback(func, depth)

    def _handed_engine(self, name: str, module: ModuleInfo, func: FunctionInfo,
                       depth: int) -> Value | None:
        """`conn.engine` of a SQLAlchemy connection the function is handed (a
        parameter annotated `Connection` / `AsyncConnection`, or the sync connection
        `run_sync` hands its callback): the engine, whose `connect()` checks out
        another connection of its pool."""
        if name in func.locals or name not in func.all_param_names():
            return None
        annotation = param_annotation(func, name)
        if annotation is None:
            return LibraryObject("sqlalchemy.engine") if self._run_sync_parameter(
                func, name, depth) else None
        for part in annotation_parts(annotation):
            value = self.evaluate(part, module, None, depth + 1)
            found = match_qualname(value.qualname, BORROWED_BIND_ANNOTATIONS) if isinstance(
                value, External) else None
            if found is not None:
                return LibraryObject(_CONNECTION_ENGINES[
                    "sqlalchemy-async-connection" if found[1] == "AsyncConnection"
                    else "sqlalchemy-connection"])
        return None

    def _run_sync_callback(self, func: FunctionInfo, depth: int) -> bool:
        """`func` is handed to an async connection's `run_sync` (`await
        conn.run_sync(create_tables)`, or a method of the caller's own class: `await
        conn.run_sync(self._create)`; outside the tests), which calls it with the
        sync connection under it: SQLAlchemy's, closed with the async one. Not an
        `AsyncSession`'s, which hands a sync session."""
        finder = ProjectIndex.project_calls_named
        for site in [] if finder is None else finder(self, "run_sync"):
            call = site.call
            if not call.args or call.args[0].keyword is not None \
                    or not isinstance(call.func, cst.Attribute):
                continue
            handed = call.args[0].value
            callback = self.evaluate(handed, site.module, site.func, depth + 1)
            # a function defined in the caller's body (`def _create(sync_conn): ...`
            # and `await conn.run_sync(_create)`), which evaluates to nothing
            nested = isinstance(handed, cst.Name) and site.func is not None \
                and site.module is func.module \
                and func.qualname == f"{site.func.qualname}.<locals>.{handed.value}"
            # a method of the caller's own class (`self._create`, `cls._create`)
            own = isinstance(handed, cst.Attribute) and isinstance(handed.value, cst.Name) \
                and handed.value.value in ("self", "cls") and site.func is not None \
                and func.cls is not None and site.func.cls is func.cls \
                and handed.attr.value == func.name
            if not nested and not own and not (isinstance(callback, FunctionRef)
                                               and callback.func is func):
                continue
            receiver = self.evaluate(call.func.value, site.module, site.func, depth + 1)
            if isinstance(receiver, (External, ExternalInstance, ModuleRef)):
                # another library's `run_sync` (`anyio.to_thread.run_sync(fn)`,
                # `quart.utils.run_sync(fn)`, a tornado IOLoop's): no connection
                continue
            if not (isinstance(receiver, Connection) and receiver.kind.is_session):
                return True
        return False

    def _acquired_inline(self, arg: cst.BaseExpression, module: ModuleInfo,
                         func: FunctionInfo | None, depth: int) -> bool:
        """`f(engine.connect())`: a connection checked out in the call's own argument,
        which nobody closes (`f(op.get_bind())` borrows Alembic's)."""
        inner, _ = strip_await(arg)
        return isinstance(inner, cst.Call) \
            and isinstance(self.evaluate(inner, module, func, depth + 1), Connection)

    def _pooled_wrapper_kind(self, cls: ClassInfo, call: cst.Call, module: ModuleInfo,
                             func: FunctionInfo | None, depth: int) -> str | None:
        """`PooledConnection(conn, pool)`: a project class built around a checkout whose
        `close()` (and maybe `__exit__`) gives it back is itself the checkout; its
        `close()` is the release. None unless an argument is a connection the
        analysis tracks: a class built around a `sqlite3` connection (a file opened
        in the process, no server connection and no pool slot) is no checkout, as
        the `sqlite3` connection itself is none."""
        if not any(isinstance(arg := self.evaluate(a.value, module, func, depth + 1),
                              Connection) and arg.kind.tracked for a in call.args):
            return None
        close = cls.methods.get("close")
        if close is None or not _releases_own_attribute(close):
            return None
        exit_ = cls.methods.get("__exit__") or cls.methods.get("__aexit__")
        if exit_ is not None and (_releases_own_attribute(exit_) or _calls_own(exit_, "close")):
            return "pooled-wrapper-cm"
        return "pooled-wrapper"

    def _property_object(self, method: FunctionInfo, depth: int) -> Value | None:
        """The pool, engine or session factory a `@property` of a project class returns
        (a Flask extension's `db.connection`), also when it returns an attribute it
        set just before: `ctx.pool = self.connect(); return ctx.pool`."""
        for ret in _returns(method):
            if ret.value is None:
                continue
            value = self.evaluate(ret.value, method.module, method, depth + 1)
            if isinstance(value, (LibraryObject, Instance)):
                return value
            key = dotted_name(ret.value) if isinstance(ret.value, cst.Attribute) else None
            if key is None:
                continue
            for node in iter_nodes(method.node.body):
                if isinstance(node, cst.Assign) and any(
                        dotted_name(t.target) == key for t in node.targets):
                    value = self.evaluate(node.value, method.module, method, depth + 1)
                    if isinstance(value, (LibraryObject, Instance)):
                        return value
        return None

    def _mock_patched(self, func: FunctionInfo | None) -> bool:
        """A test whose parameters `unittest.mock.patch` fills with mocks
        (`@mock.patch("app.pool")`): their `getconn()` hands out nothing."""
        while func is not None:
            for deco in func.node.decorators:
                target = deco.decorator
                if isinstance(target, cst.Call):
                    target = target.func
                value = self.evaluate(target, func.module, func.parent)
                if isinstance(value, External) and value.qualname.startswith(
                        ("unittest.mock.patch", "mock.patch")):
                    return True
            func = func.parent
        return False

    def _builds_autocommit(self, call: cst.Call, module: ModuleInfo,
                           func: FunctionInfo | None, depth: int) -> bool:
        """A pool, engine or session factory whose connections run in autocommit:
        `create_engine(url, isolation_level="AUTOCOMMIT")`, psycopg_pool's
        `ConnectionPool(kwargs={"autocommit": True})`, `sessionmaker(bind=engine)` over
        such an engine."""
        iso = keyword_arg(call, "isolation_level")
        if iso is not None and string_value(iso) == "AUTOCOMMIT":
            return True
        kwargs = keyword_arg(call, "kwargs")
        if isinstance(kwargs, cst.Dict):
            for el in kwargs.elements:
                if (isinstance(el, cst.DictElement) and string_value(el.key) == "autocommit"
                        and isinstance(el.value, cst.Name) and el.value.value == "True"):
                    return True
        bind = keyword_arg(call, "bind")
        if bind is None and call.args and call.args[0].keyword is None:
            bind = call.args[0].value
        if bind is not None:
            bound = self.evaluate(bind, module, func, depth + 1)
            return isinstance(bound, LibraryObject) and AUTOCOMMIT_FLAG in bound.flags
        return False

    def _instance_of_argument(self, func: FunctionInfo, call: cst.Call, module: ModuleInfo,
                              caller: FunctionInfo | None, depth: int) -> Value | None:
        """`instantiate(Settings)` where the helper returns `cls()` of the class it
        is given (`def instantiate(cls): ... return cls()`): an instance of it."""
        if func.is_generator:
            return None
        params = func.param_names()
        for ret in _returns(func):
            value = strip_await(ret.value)[0] if ret.value is not None else None
            if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name)
                    and value.func.value in params):
                continue
            name = value.func.value
            arg = next((a.value for a in call.args
                        if a.keyword is not None and a.keyword.value == name), None)
            positional = [a.value for a in call.args if a.keyword is None and not a.star]
            i = params.index(name)
            if arg is None and i < len(positional):
                arg = positional[i]
            if arg is None:
                continue
            given = self.evaluate(arg, module, caller, depth + 1)
            if isinstance(given, ClassRef):
                return Instance(given.cls)
        return None

    def _project_call(self, func: FunctionInfo, call: cst.Call) -> Value | None:
        configured = self.config.acquire.get(func.name) or self.config.acquire.get(
            f"{func.module.names[0] if func.module.names else ''}.{func.qualname}")
        if configured:
            return Connection(configured, _source(call), via=func.name)
        cm = self.context_manager_of(func)
        if cm is not None:
            return ManagedContext(cm.kind_key, _source(call), cm.transactional)
        conn = self.acquirer_of(func)
        untaken = {id(ret) for ret in _returns(func) if untaken_return(func, ret, call)} \
            if may_leave_untaken(func, call) else set()
        if conn is not None and not func.is_generator and may_leave_untaken(func, call) and all(
                self._untaken_checkout(func, ret, call, untaken) for ret in _returns(func)
                if ret.value is not None and self._acquired_by(ret, func) is not None):
            # `connect(url=url)` of `def connect(handle=None, url=None)` whose checkout is
            # returned only under `if isinstance(handle, str):`: not this call's
            conn = None
        if conn is not None:
            return Connection(conn.kind_key, _source(call), via=func.name, packed=conn.packed,
                              autocommit=conn.autocommit, carrier=conn.carrier,
                              owned_flag=conn.owned_flag)
        if func.is_generator:
            return None
        # a factory of pools, engines or session makers: `def get_engine(): return ...`
        for ret in _returns(func):
            if ret.value is None or id(ret) in untaken:
                continue
            value = self.evaluate(ret.value, func.module, func)
            if isinstance(value, (LibraryObject, Instance)):
                return value
        # a factory of a web framework's blueprint or router (`def make_blueprint(name):
        # return Blueprint(name, ...)`, `bp = make_blueprint("health")`): only those
        # types, so that `@bp.get(...)` is a route; other library objects stay unknown
        made = {self.evaluate(ret.value, func.module, func)
                for ret in _returns(func) if ret.value is not None}
        if len(made) == 1:
            only = next(iter(made))
            if isinstance(only, ExternalInstance) and route_framework_of(only.qualname):
                return only
        return None

    def _untaken_checkout(self, func: FunctionInfo, ret: cst.Return, call: cst.Call,
                          untaken: set[int]) -> bool:
        """The checkout `ret` hands out is not `call`'s: the return sits under a test
        the call cannot pass (`untaken`), or it returns a name every binding of which
        to a connection does (`handle = sqlite3.connect(handle)` under `if
        isinstance(handle, str):`, then `return handle` after the `if`)."""
        if id(ret) in untaken:
            return True
        value = strip_await(ret.value)[0] if ret.value is not None else None
        if not isinstance(value, cst.Name):
            return False
        binds = [node for node in _own_nodes(func.node.body) if isinstance(node, cst.Assign)
                 and any(isinstance(t.target, cst.Name) and t.target.value == value.value
                         for t in node.targets)]
        checkouts = [b for b in binds
                     if isinstance(self.evaluate(b.value, func.module, func), Connection)]
        return bool(checkouts) and all(untaken_return(func, b, call) for b in checkouts)

    # -------------------------------------------------------- wrapper inference
    def acquirer_of(self, func: FunctionInfo) -> Connection | None:
        """`func` returns a fresh checkout (it is a project acquire wrapper)."""
        return self._by_returns(self._acquirer_memo, func, self._acquired_by)

    def _acquired_by(self, ret: cst.Return, func: FunctionInfo) -> Connection | None:
        """The fresh checkout `ret` (a return of `func` with a value) hands out."""
        assert ret.value is not None
        if self._released_on_return(ret, func) or _cached_elsewhere(ret, func) \
                or self.cache_decorated(func):
            return None
        value = self.evaluate(ret.value, func.module, func)
        if isinstance(value, Connection):
            # `conn = psycopg2.connect(dsn); conn.autocommit = True; return conn`
            autocommit = value.autocommit or (
                isinstance(ret.value, cst.Name)
                and ret.value.value in autocommit_targets(func.node.body))
            return Connection(value.kind_key, f"{func.name}()", via=func.name,
                              packed=value.packed, autocommit=autocommit,
                              carrier=value.carrier, owned_flag=value.owned_flag)
        packed = self._packed_connection(ret.value, func)
        if packed is None or packed.packed is None:
            return packed
        return replace(packed, owned_flag=self._owned_flag(func, packed.packed[0]))

    def _owned_flag(self, func: FunctionInfo, packed_at: int) -> int | None:
        """The position of `func`'s ownership flag (`return conn, True`) when every
        return of `func` that hands out a fresh checkout at `packed_at` has it True
        at the same position (a connection the object keeps, `return self._conn,
        False`, is lent, not handed out)."""
        positions = {owner_flag_at(ret, func.node.body, packed_at)
                     for ret in _returns(func)
                     if ret.value is not None
                     and (made := self._packed_connection(ret.value, func)) is not None
                     and made.packed is not None and made.packed[0] == packed_at
                     and not _kept_elsewhere(_element(ret.value, packed_at), func)}
        return positions.pop() if len(positions) == 1 else None

    def cache_decorated(self, func: FunctionInfo) -> bool:
        """`func` keeps what it returns for later calls: it is decorated with a caching
        decorator (`@functools.lru_cache(maxsize=None)`, `@functools.cache`,
        `@cachetools.cached(...)`), also through a module-level name bound once to
        one (`memoize = lru_cache(maxsize=None)`, then `@memoize`). Every caller
        gets the same object, so `func` is a cached accessor, not an acquire
        wrapper: its callers borrow what it returns, and a close by one would break
        the next."""
        for deco in func.node.decorators:
            target = deco.decorator.func if isinstance(deco.decorator, cst.Call) \
                else deco.decorator
            if self._caching_decorator(target, func.module, func.parent):
                return True
            if isinstance(target, cst.Name) and (func.parent is None
                                                 or not func.parent.binds(target.value)):
                bound = func.module.assigns.get(target.value, [])
                if len(bound) == 1 and target.value not in func.module.functions \
                        and target.value not in func.module.classes:
                    value = bound[0]
                    alias = value.func if isinstance(value, cst.Call) else value
                    if self._caching_decorator(alias, func.module, None):
                        return True
        return self.memo_decorated(func)

    def memo_decorated(self, func: FunctionInfo) -> bool:
        """`func` is decorated with a memoizing decorator the project writes itself
        (`@cache_async_def` whose wrapper stores the result on the instance with
        `setattr` and returns `getattr`, or a dict cache): see `analysis.memoizing`.
        A decorator factory (`@cached(ttl=60)`) is not read."""
        for deco in func.node.decorators:
            if isinstance(deco.decorator, cst.Call):
                continue
            value = self.evaluate(deco.decorator, func.module, func.parent)
            if isinstance(value, FunctionRef) and memoizes(value.func.node):
                return True
        return False

    def _caching_decorator(self, expr: cst.BaseExpression, module: ModuleInfo,
                           scope: FunctionInfo | None) -> bool:
        value = self.evaluate(expr, module, scope)
        return isinstance(value, External) and match_qualname(
            value.qualname, CACHING_DECORATORS) is not None

    def cursor_carrier_of(self, func: FunctionInfo) -> Connection | None:
        """`func` returns a cursor of a connection of its own that it opened
        (`Connection.carrier`), or the result of such a helper. Only PS102's flow
        asks: the other rules do not see the cursor as a connection (a cursor has
        no `rollback()`, and its buffered rows read after the connection closed)."""
        return self._by_returns(self._carrier_memo, func, self._carried_by)

    def _carried_by(self, ret: cst.Return, func: FunctionInfo) -> Connection | None:
        """The connection the cursor `ret` (a return of `func` with a value) carries."""
        assert ret.value is not None
        result = self._cursor_of_own_connection(ret.value, func)
        if result is None:
            inner = strip_await(ret.value)[0]
            callee = self.evaluate(inner.func, func.module, func) \
                if isinstance(inner, cst.Call) else None
            carried = self.cursor_carrier_of(callee.func) \
                if isinstance(callee, FunctionRef) else None
            if carried is not None:
                result = Connection(carried.kind_key, f"{func.name}()",
                                    via=func.name, autocommit=carried.autocommit,
                                    carrier=True)
        return result

    @staticmethod
    def _by_returns(memo: MutableMapping[int, tuple[cst.FunctionDef, Connection | None]],
                    func: FunctionInfo,
                    judge: Callable[[cst.Return, FunctionInfo], Connection | None]
                    ) -> Connection | None:
        """What `judge` makes of the first return with a value of `func` it makes
        something of (a generator returns nothing), once per function: `memo` holds
        None while it is worked out, so a recursive call adds nothing."""
        key = id(func.node)
        known = held(memo, key, func.node)
        if known is not None:
            return known[1]
        memo[key] = (func.node, None)
        result: Connection | None = None
        if not func.is_generator:
            for ret in _returns(func):
                if ret.value is not None:
                    result = judge(ret, func)
                    if result is not None:
                        break
        memo[key] = (func.node, result)
        return result

    def _cursor_of_own_connection(self, value: cst.BaseExpression,
                                  func: FunctionInfo) -> Connection | None:
        """`conn = await aiomysql.connect(...); cur = await conn.cursor(); return cur`
        (or `return conn.cursor()`, or `return psycopg2.connect(dsn).cursor()` with no
        name): a cursor of a connection of its own that `func` opened, neither closed,
        stored nor handed on there: the caller holds that connection through the
        cursor (`Connection.carrier`). Also a pool's checkout (`conn = await
        pool.acquire()`, `conn = pool.getconn()`): the caller holds a pool slot and
        gives it back with `pool.release(cur.connection)` (aiomysql, aiopg) or
        `pool.putconn(cur.connection)` (psycopg2), whose cursors all expose
        `.connection`."""
        value = strip_await(value)[0]
        if isinstance(value, cst.Name):
            made = _only_assignment(func, value.value)
            if made is None:
                return None
            value = strip_await(made)[0]
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
                and value.func.attr.value in CURSOR_FACTORY_METHODS):
            return None
        opened = strip_await(value.func.value)[0]
        holder: str | None = None
        if isinstance(opened, cst.Name):
            holder = opened.value
            made = _only_assignment(func, holder)
            if made is None:
                return None
        elif isinstance(opened, cst.Call):
            made = opened  # `psycopg2.connect(dsn).cursor()`: nothing else can close it
        else:
            return None
        conn = self.evaluate(made, func.module, func)
        if not isinstance(conn, Connection) or conn.packed is not None or conn.carrier \
                or not (conn.kind.direct or conn.kind.pool_release) or not conn.kind.tracked:
            return None
        if holder is None and not conn.kind.direct:
            # `(await pool.acquire()).cursor()`: PS102 reports the unnamed checkout in
            # the helper already ("nothing names it"); its callers are not told again
            return None
        if holder is not None and (
                any(holder in self.released_by_call(call, func)
                    for call in _calls_outside_reraising_handlers(func.node.body))
                or _used_beyond_cursor(func, holder, value)):
            return None
        return Connection(conn.kind_key, f"{func.name}()", via=func.name,
                          autocommit=conn.autocommit, carrier=True)

    def _released_on_return(self, ret: cst.Return, func: FunctionInfo) -> bool:
        """`try: return conn finally: pool.putconn(conn)` (or `with ... as conn: return
        conn`): the caller gets a released connection, not a checkout (PS106 reports the
        `return`), so `func` is no acquire wrapper."""
        inner = ret.value.expression if isinstance(ret.value, cst.Await) else ret.value
        if not isinstance(inner, cst.Name):
            return False
        name = inner.value
        for anc in _path_to(func.node.body, ret):
            if isinstance(anc, cst.Try) and anc.finalbody is not None \
                    and name in self.released_names(anc.finalbody, func):
                return True
            if isinstance(anc, cst.With) and any(
                    item.asname is not None and isinstance(item.asname.name, cst.Name)
                    and item.asname.name.value == name
                    and isinstance(item.item.expression if isinstance(item.item, cst.Await)
                                   else item.item, cst.Call)
                    and _with_releases(self.evaluate(item.item, func.module, func))
                    for item in anc.items):
                return True
        return False

    def _packed_connection(self, value: cst.BaseExpression,
                           func: FunctionInfo) -> Connection | None:
        """`return conn, conn.cursor()` (a tuple or list literal holding exactly one
        connection, no starred element): the connection, with its position."""
        if not isinstance(value, (cst.Tuple, cst.List)):
            return None
        items = value.elements
        if any(isinstance(e, cst.StarredElement) for e in items):
            return None
        found: list[tuple[int, Connection]] = []
        for i, element in enumerate(items):
            item = self.evaluate(element.value, func.module, func)
            if isinstance(item, Connection) and item.packed is None:
                found.append((i, item))
        if len(found) != 1:
            return None
        i, conn = found[0]
        return Connection(conn.kind_key, f"{func.name}()", via=func.name,
                          packed=(i, len(items)))

    def context_manager_of(self, func: FunctionInfo) -> ManagedContext | None:
        """`func` is a @contextmanager that yields a connection (a safe `with` source)."""
        key = id(func.node)
        known = held(self._cm_memo, key, func.node)
        if known is not None:
            return known[1]
        self._cm_memo[key] = (func.node, None)
        result: ManagedContext | None = None
        if func.is_generator and self.is_contextmanager(func):
            for node in iter_nodes(func.node.body):
                if isinstance(node, cst.Yield) and isinstance(node.value, cst.BaseExpression):
                    value = self.evaluate(node.value, func.module, func)
                    if isinstance(value, Connection):
                        result = ManagedContext(value.kind_key, f"{func.name}()", False)
                        break
        self._cm_memo[key] = (func.node, result)
        return result

    def is_contextmanager(self, func: FunctionInfo) -> bool:
        """`func` is decorated with `@contextmanager` or `@asynccontextmanager`."""
        for deco in func.node.decorators:
            value = self.evaluate(deco.decorator, func.module, func.parent)
            if isinstance(value, External) and match_qualname(
                    value.qualname, CONTEXTMANAGER_DECORATORS):
                return True
        return False

    def releaser_positions(self, func: FunctionInfo) -> frozenset[int]:
        """Positional indexes of the parameters that `func` releases."""
        key = id(func.node)
        known = held(self._releaser_memo, key, func.node)
        if known is not None:
            return known[1]
        self._releaser_memo[key] = (func.node, frozenset())
        if configured_name(_qualified(func), self.config.release) is not None:
            # configured: whichever argument is the connection
            result = frozenset(range(max(1, len(func.param_names()))))
        else:
            params = func.param_names()
            released: set[str] = set()
            for call in iter_calls(func.node.body):
                names = self.released_by_call(call, func)
                if names and _ends_in_raise(func.node, call):
                    continue  # released only where the helper raises
                released |= {n for n in names if not _closes_own_rebinding(func.node, call, n)}
            result = frozenset(i for i, p in enumerate(params) if p in released)
        self._releaser_memo[key] = (func.node, result)
        return result

    def released_names(self, body: cst.CSTNode, func: FunctionInfo) -> set[str]:
        """Names that some call under `body` releases, closes or gives back."""
        names: set[str] = set()
        for call in iter_calls(body):
            names.update(self.released_by_call(call, func))
        return names

    def released_by_call(self, call: cst.Call, func: FunctionInfo | None) -> set[str]:
        """Names that this one call releases: `pool.putconn(c)`, `c.close()`,
        `release_db_connection(c)`, `put(c)` after `put = pool.putconn`."""
        f = method_alias(call.func, func) or call.func
        out: set[str] = set()
        if isinstance(f, cst.Attribute):
            if f.attr.value in POOL_RELEASE_METHODS and not self._not_a_pool(f.value, func):
                args = positional_args(call)
                if args and isinstance(args[0], cst.Name):
                    out.add(args[0].value)
                elif args and isinstance(args[0], cst.Attribute) \
                        and args[0].attr.value == CURSOR_CONNECTION_ATTR \
                        and isinstance(args[0].value, cst.Name):
                    out.add(args[0].value.value)  # `pool.release(cur.connection)`
                conn_kw = keyword_arg(call, "conn") or keyword_arg(call, "connection")
                if isinstance(conn_kw, cst.Name):
                    out.add(conn_kw.value)
            if f.attr.value == "close" and isinstance(f.value, cst.Name):
                out.add(f.value.value)
                if func is not None:  # the registry's session closed: the registry's too
                    out |= self._registry_of(f.value.value, func)
            elif f.attr.value == "close" and not call.args \
                    and isinstance(f.value, cst.Attribute) \
                    and f.value.attr.value == CURSOR_CONNECTION_ATTR \
                    and isinstance(f.value.value, cst.Name):
                out.add(f.value.value.value)  # `cur.connection.close()`: the cursor's own
            elif f.attr.value == "remove" and not call.args and isinstance(f.value, cst.Name) \
                    and func is not None and self._is_scoped_checkout(f.value, func):
                out.add(f.value.value)  # `db.remove()` on a drawn scoped_session registry
                out |= self._drawn_from(f.value.value, func)
            elif f.attr.value in SELF_RELEASE_METHODS and not call.args \
                    and isinstance(f.value, cst.Name) and func is not None \
                    and self._releases_itself(f.value, f.attr.value, func):
                out.add(f.value.value)  # Gino's `conn.release()`, a transaction's `commit()`
            elif f.attr.value in CLOSE_METHODS and not call.args \
                    and isinstance(f.value, cst.Name) and func is not None \
                    and self._closes_itself(f.value, f.attr.value, func):
                out.add(f.value.value)  # aiomysql's `await conn.ensure_closed()`
        if func is None:
            return out
        out |= self._own_attributes_closed(call, func)
        out |= self._drawn_generator_ended(call, func)
        name = call_name(call)
        if name is None or (isinstance(f, cst.Attribute) and name == "close" and not call.args):
            return out
        imported = isinstance(f, cst.Name) and name in func.module.imports
        configured = bool(self.config.release) and any(
            e.rsplit(".", 1)[-1] == name for e in self.config.release)
        if not imported and not configured and not self._may_be_project_function(name):
            return out
        callee = self.evaluate(f, func.module, func)
        if isinstance(callee, FunctionRef):
            positions = self.releaser_positions(callee.func)
            for i, arg in enumerate(positional_args(call)):
                if i in positions and isinstance(arg, cst.Name):
                    out.add(arg.value)
        elif isinstance(callee, External) and self.config.release and configured_name(
                callee.qualname, self.config.release) is not None:
            # a configured release from outside the project: `unlease(name, conn)`
            out.update(a.value.value for a in call.args if isinstance(a.value, cst.Name))
        return out

    def _drawn_generator_ended(self, call: cst.Call, func: FunctionInfo) -> set[str]:
        """`gen.close()`, `await gen.aclose()`, or a later `next(gen, None)` / `await
        anext(gen, None)` / unbound `next(gen)`, on a generator object kept in a local
        (`gen = get_db()`) from which the function drew a session (`db = next(gen)`):
        closing the generator throws GeneratorExit in at its `yield`, resuming it runs
        on past it, and either way the `with` (or the `finally: ....close()`) around
        the `yield` closes the session. Only for a project generator that does close
        what it yields on exit (`_closes_yielded_on_exit`): a bare `yield SessionLocal()`
        gives the caller a session that ending the generator does not close."""
        f = call.func
        gen_name: str | None = None
        if isinstance(f, cst.Attribute) and f.attr.value in GENERATOR_END_METHODS \
                and not call.args and isinstance(f.value, cst.Name):
            gen_name = f.value.value
        elif isinstance(f, cst.Name) and f.value in ("next", "anext") and call.args \
                and len(call.args) <= 2 and all(a.keyword is None for a in call.args) \
                and isinstance(call.args[0].value, cst.Name) \
                and self._name(f.value, func.module, func, 0) is None:
            if len(call.args) == 1 and _binds_call(call, func):
                return set()  # `db = next(gen)` draws the session
            gen_name = call.args[0].value.value
        if gen_name is None:
            return set()
        bound = func.locals.get(gen_name, [])
        if len(bound) != 1 or not isinstance(bound[0], cst.Call):
            return set()
        gen = self.evaluate(bound[0].func, func.module, func)
        if not isinstance(gen, FunctionRef) or not gen.func.is_generator \
                or self.is_contextmanager(gen.func) \
                or not _closes_yielded_on_exit(gen.func.node):
            return set()
        drawn: set[str] = set()
        for name, values in func.locals.items():
            for value in values:
                inner = strip_await(value)[0] if isinstance(value, cst.BaseExpression) else None
                if isinstance(inner, cst.Call) and _draws_from(inner, gen_name):
                    drawn.add(name)
        return drawn

    def _own_attributes_closed(self, call: cst.Call, func: FunctionInfo) -> set[str]:
        """`self.close()` where the class's `close` closes `self._conn`: the call
        releases `self._conn` (named as the caller spells its receiver)."""
        f = call.func
        if not func.is_method or not isinstance(f, cst.Attribute) \
                or not isinstance(f.value, cst.Name):
            return set()
        params = func.node.params.params
        if not params or params[0].name.value != f.value.value:
            return set()
        callee = self.evaluate(f, func.module, func)
        if not isinstance(callee, FunctionRef) or not callee.func.is_method:
            return set()
        inner = callee.func.node.params.params
        if not inner:
            return set()
        own = inner[0].name.value + "."
        out: set[str] = set()
        for c in iter_calls(callee.func.node.body):
            target = c.func
            if isinstance(target, cst.Attribute) and target.attr.value == "close" \
                    and not c.args:
                closed = dotted_name(target.value)
                if closed is not None and closed.startswith(own):
                    out.add(f.value.value + "." + closed[len(own):])
        return out

    def _releases_itself(self, receiver: cst.Name, method: str, func: FunctionInfo) -> bool:
        """`receiver.method()` gives back the checkout `receiver` holds
        (`ConnectionKind.self_release`)."""
        value = self.evaluate(receiver, func.module, func)
        return isinstance(value, Connection) and method in value.kind.self_release

    def _closes_itself(self, receiver: cst.Name, method: str, func: FunctionInfo) -> bool:
        """`receiver.method()` closes the connection `receiver` holds, as `close()` would
        (`ConnectionKind.close_methods`)."""
        value = self.evaluate(receiver, func.module, func)
        return isinstance(value, Connection) and method in value.kind.close_methods

    def _is_scoped_checkout(self, receiver: cst.Name, func: FunctionInfo) -> bool:
        value = self.evaluate(receiver, func.module, func)
        if isinstance(value, Connection) and value.kind_key == "scoped-session":
            return True
        # a registry the function builds for itself (`s = scoped_session(...)`)
        return isinstance(value, LibraryObject) and value.type.is_scoped \
            and self._builds_registry_here(receiver, func)

    def _builds_registry_here(self, name: cst.Name, func: FunctionInfo) -> bool:
        """`name` is bound in `func` to a `scoped_session(...)` it builds itself."""
        return any(self.builds_scoped_session(bound, func)
                   for bound in func.locals.get(name.value, ()) if isinstance(bound, cst.Call))

    def _registry_of(self, name: str, func: FunctionInfo) -> set[str]:
        """{`Session`} when `func` binds `name` only to the session of a registry it
        builds for itself (`session = Session()`): closing that session leaves the
        registry holding nothing."""
        values = func.locals.get(name, ())
        registries = {v.func.value for v in values
                      if isinstance(v, cst.Call) and isinstance(v.func, cst.Name)}
        if len(registries) != 1:
            return set()
        registry = next(iter(registries))
        if name not in self._drawn_from(registry, func) \
                or not self._builds_registry_here(cst.Name(registry), func):
            return set()
        return {registry}

    @staticmethod
    def _drawn_from(registry: str, func: FunctionInfo) -> set[str]:
        """The names `func` binds only to its registry's session (`session =
        Session()`, keywords for the factory allowed): the registry's `remove()`
        closes that session."""
        return {name for name, values in func.locals.items()
                if values and all(isinstance(v, cst.Call) and isinstance(v.func, cst.Name)
                                  and v.func.value == registry
                                  and all(a.keyword is not None for a in v.args)
                                  for v in values)}

    def builds_scoped_session(self, call: cst.Call, func: FunctionInfo) -> bool:
        """`scoped_session(...)` itself (not a project function that returns one)."""
        callee = self.evaluate(call.func, func.module, func)
        return isinstance(callee, External) and callee.qualname.split(".")[0] == "sqlalchemy" \
            and callee.qualname.rsplit(".", 1)[-1] == "scoped_session"

    def _not_a_pool(self, receiver: cst.BaseExpression, func: FunctionInfo | None) -> bool:
        """`psycopg2.pool.putconn(conn)`: a module (or a class) is no pool, so the call
        releases nothing (it raises)."""
        if func is None:
            return False
        value = self.evaluate(receiver, func.module, func)
        return isinstance(value, (External, ModuleRef, ClassRef))

    def release_wrapper_for(self, acquirer_name: str) -> FunctionInfo | None:
        """The project function that releases what the acquire wrapper `acquirer_name`
        hands out: a releaser defined beside it (of its first parameter if one is)."""
        if acquirer_name not in self._release_wrapper_memo:
            self._release_wrapper_memo[acquirer_name] = self._release_wrapper_for(acquirer_name)
        return self._release_wrapper_memo[acquirer_name]

    def _release_wrapper_for(self, acquirer_name: str) -> FunctionInfo | None:
        for m in self.modules_defining([acquirer_name]):
            acquirer = m.functions.get(acquirer_name)
            siblings = list(m.functions.values())
            if acquirer is None:
                # a classmethod acquirer: its release is a method of the same class
                # (`Database.get_connection()` / `Database.put_connection(conn)`)
                cls = next((c for c in m.classes.values() if acquirer_name in c.methods),
                           None)
                if cls is None:
                    continue
                acquirer = cls.methods[acquirer_name]
                siblings = list(cls.methods.values())
            releasers = [f for f in siblings
                         if f is not acquirer and self.releaser_positions(f)]
            # one that releases its first parameter (`release(conn)`), else any
            # (`unlease(name, conn)`)
            for f in releasers:
                if 0 in self.releaser_positions(f):
                    return f
            if releasers:
                return releasers[0]
        return None

    def gives_back_to_a_pool(self, func: FunctionInfo) -> bool:
        """Whether `func` releases a parameter by handing it to a pool
        (`POOL.putconn(conn)`): a release for a pool's checkouts, never for a
        connection of its own (`psycopg2.connect()`), which the pool refuses."""
        params = set(func.param_names())
        for call in iter_calls(func.node.body):
            f = method_alias(call.func, func) or call.func
            if isinstance(f, cst.Attribute) and f.attr.value in POOL_RELEASE_METHODS \
                    and params & self.released_by_call(call, func):
                return True
        return False

    def rollback_positions(self, func: FunctionInfo) -> frozenset[int]:
        """Positional indexes of the parameters that `func` rolls back."""
        key = id(func.node)
        known = held(self._rollbacker_memo, key, func.node)
        if known is not None:
            return known[1]
        params = func.param_names()
        rolled: set[str] = set()
        for call in iter_calls(func.node.body):
            f = call.func
            if isinstance(f, cst.Attribute) and f.attr.value == "rollback":
                base = dotted_name(f.value)
                if base is not None:
                    rolled.add(base.split(".")[0])
        result = frozenset(i for i, p in enumerate(params) if p in rolled)
        self._rollbacker_memo[key] = (func.node, result)
        return result

    def is_project_function_name(self, name: str) -> bool:
        """Some function or method of the project is called `name` (a cheap check
        before evaluating a call)."""
        return self._may_be_project_function(name)

    def _may_be_project_function(self, name: str) -> bool:
        if self._function_names is None:
            self._function_names = {
                n for m in self.modules
                for n in (*m.functions, *(meth for c in m.classes.values() for meth in c.methods))
            }
        return name in self._function_names

    # --------------------------------------------------------------- FastAPI
    def dependency_functions(self) -> set[int]:
        """id() of every function used in `Depends(...)` anywhere in the project."""
        if self._dependencies is None:
            found: set[int] = set()
            # the calls `collect_module` records, and the configured dependencies
            # (a module with `depends_args` calls Depends or Security)
            pattern = call_pattern(["Depends", "Security"], self.config.session_dependencies)
            for m in self.modules_matching(pattern):
                for arg in m.depends_args:
                    value = self.evaluate(arg, m, None)
                    if isinstance(value, FunctionRef):
                        found.add(id(value.func.node))
                        self._dependency_nodes.append(value.func.node)
                for f in m.all_functions:
                    if f.name in self.config.session_dependencies:
                        found.add(id(f.node))
                        self._dependency_nodes.append(f.node)
            self._dependencies = found
        return self._dependencies

    def is_depends_call(self, node: cst.BaseExpression, module: ModuleInfo) -> bool:
        if not isinstance(node, cst.Call):
            return False
        callee = self.evaluate(node.func, module, None)
        return isinstance(callee, External) and match_qualname(callee.qualname,
                                                               DEPENDS) is not None

    def kind_of_connection_key(self, key: str) -> str:
        return CONNECTION_KINDS[key].label

    def object_type(self, key: str) -> str:
        return OBJECT_TYPES[key].label


_WORD_PATTERNS: dict[frozenset[str], re.Pattern[bytes]] = {}
#: the words each pattern of `_WORD_PATTERNS` needs: every match spells one
_PATTERN_WORDS: dict[re.Pattern[bytes], tuple[bytes, ...]] = {}


def _remember(key: frozenset[str], pattern: re.Pattern[bytes], words: Iterable[str]
              ) -> re.Pattern[bytes]:
    _WORD_PATTERNS[key] = pattern
    _PATTERN_WORDS[pattern] = tuple(sorted({w.encode() for w in words}))
    return pattern


def spelt_like(pattern: re.Pattern[bytes], like: re.Pattern[bytes]) -> re.Pattern[bytes]:
    """`pattern`, which matches where `like` does (the same regex behind a regex
    comment: `EVERY_FILE`), given the words of `like` if it has any."""
    words = _PATTERN_WORDS.get(like)
    if words is not None and pattern not in _PATTERN_WORDS:
        _PATTERN_WORDS[pattern] = words
    return pattern


def spelt_words() -> dict[re.Pattern[bytes], tuple[bytes, ...]]:
    """Every pattern made here whose matches each spell one of a few words, with
    those words (`source_matches` tests them first): a copy, for the cache, which
    keeps them with the patterns it records (`poolsafe.scan.engine._broken`)."""
    return dict(_PATTERN_WORDS)


def source_matches(pattern: re.Pattern[bytes], data: bytes) -> bool:
    """`pattern.search(data)`, answered by substring tests alone (at C speed, where
    a regex beginning with a word boundary tries every position) when `data`
    spells none of the words a pattern of this module needs."""
    words = _PATTERN_WORDS.get(pattern)
    if words is not None and not any(w in data for w in words):
        return False
    return pattern.search(data) is not None


def spelling(regex: bytes, words: Iterable[str]) -> re.Pattern[bytes]:
    """`re.compile(regex)`, for a regex every match of which spells one of `words`
    (a name it is built around): `source_matches` then tests a file's bytes for the
    words first, at C speed, and runs the regex only where one is spelt (a regex
    beginning with a word boundary tries every position of every file)."""
    pattern = re.compile(regex)
    if pattern not in _PATTERN_WORDS:
        _PATTERN_WORDS[pattern] = tuple(sorted({w.encode() for w in words}))
    return pattern


def word_pattern(words: Iterable[str]) -> re.Pattern[bytes]:
    """A regex matching any of `words` as a whole word, over a file's bytes."""
    key = frozenset(words)
    if key not in _WORD_PATTERNS:
        alternatives = "|".join(re.escape(w) for w in sorted(key)) or r"(?!x)x"
        return _remember(key, re.compile(rf"\b(?:{alternatives})\b".encode()), key)
    return _WORD_PATTERNS[key]


def call_pattern(names: Iterable[str], words: Iterable[str] = ()) -> re.Pattern[bytes]:
    """A regex matching a call of any of `names` (the name as a whole word, then
    only blanks, line ends, backslash continuations, closing brackets of a
    parenthesized callee and comments before the `(`), or any of `words` as a
    whole word. A call's callee name and its argument list cannot be separated by
    anything else, so every module with such a call matches."""
    calls, plain = frozenset(names), frozenset(words)
    key = frozenset({*(f"call:{n}" for n in calls), *(f"word:{w}" for w in plain)})
    if key not in _WORD_PATTERNS:
        parts = []
        if calls:
            called = "|".join(re.escape(n) for n in sorted(calls))
            # the run between the name and its `(` is taken once, greedily, in a
            # lookahead (an atomic group: `\1` then matches what it took), and a
            # comment stops at a `(`: the same files match as with `(?:[\s)\\]|
            # \#[^\r\n]*)*`, whose comment could end at any of its own `#`s, so a
            # name followed by lines of `#` banners backtracked exponentially
            # (large58: spacewalk's `import raise_with_tb` above a banner hung `check`)
            parts.append(rf"\b(?:{called})(?=((?:[\s)\\]|\#[^\r\n(]*)*))\1\(")
        if plain:
            parts.append(r"\b(?:" + "|".join(re.escape(w) for w in sorted(plain)) + r")\b")
        return _remember(key, re.compile("|".join(parts).encode() if parts else rb"(?!x)x"),
                         calls | plain)
    return _WORD_PATTERNS[key]


def def_pattern(names: Iterable[str]) -> re.Pattern[bytes]:
    """A regex matching `def NAME` for any of `names`."""
    key = frozenset(f"def:{n}" for n in names)
    if key not in _WORD_PATTERNS:
        alternatives = "|".join(re.escape(n) for n in sorted(names)) or r"(?!x)x"
        return _remember(key, re.compile(rf"\bdef\s+(?:{alternatives})\b".encode()), names)
    return _WORD_PATTERNS[key]


def param_annotation(func: FunctionInfo, name: str) -> cst.BaseExpression | None:
    param = func.param(name)
    return param.annotation.annotation if param is not None and param.annotation else None


def annotation_parts(annotation: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The types an annotation names: `Optional[X]` -> X, `X | None` -> X, `"X"` -> X.
    A context variable is not what it holds: `ContextVar[AsyncSession | None]` names
    only `ContextVar` (its `set()`/`reset()` do no database work; the session is what
    `.get()` returns)."""
    if isinstance(annotation, cst.SimpleString):
        try:
            text = annotation.evaluated_value
            if isinstance(text, str) and parse_refusal(text) is not None:
                return []  # (a string that would crash or stall the parser)
            annotation = cst.parse_expression(text) if isinstance(text, str) else annotation
        except Exception:
            return []
    if isinstance(annotation, cst.BinaryOperation):
        return annotation_parts(annotation.left) + annotation_parts(annotation.right)
    if isinstance(annotation, cst.Subscript):
        out = [annotation.value]
        if final_name(annotation.value) == "ContextVar":
            return out
        for element in annotation.slice:
            if isinstance(element.slice, cst.Index):
                out.extend(annotation_parts(element.slice.value))
        return out
    return [annotation]


def _source(call: cst.Call) -> str:
    """A short rendering of a call for messages: `pool.getconn()`."""
    name = dotted_name(call.func)
    if name is None:
        f = call.func
        if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Subscript) \
                and dotted_name(f.value.value) is not None:
            # `connections["replica"].cursor()`: the handler's name and the key
            key = cst.Module([]).code_for_node(f.value)
            if len(key) <= 60:
                return f"{key}.{f.attr.value}()"
        name = call_name(call)
        if name is None:
            # `sessionmaker(bind=engine)()`: the call as written when it is short
            text = cst.Module([]).code_for_node(call)
            return text if len(text) <= 60 and "\n" not in text else "call()"
    return f"{name}()"


def _with_releases(value: Value | None) -> bool:
    """A `with` item whose exit ends the connection it binds."""
    if isinstance(value, ManagedContext):
        return not value.transactional
    return isinstance(value, Connection) and (value.kind.with_acquire_releases
                                              or value.kind.with_var_closes)


def _path_to(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes from `root` down to `target`'s parent (empty when not found), not
    entering nested functions."""
    stack: list[tuple[cst.CSTNode, int]] = [(root, 0)]
    path: list[cst.CSTNode] = []
    while stack:
        node, depth = stack.pop()
        del path[depth:]
        if node is target:
            return path
        if depth and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        path.append(node)
        stack.extend((c, depth + 1) for c in reversed(children(node)))
    return []


def _returns(func: FunctionInfo) -> list[cst.Return]:
    return func.returns


def _only_assignment(func: FunctionInfo, name: str) -> cst.BaseExpression | None:
    """The value of the one plain assignment `name = value` in `func`'s own body
    (nested functions and classes aside); None when it is bound another way or
    more than once."""
    found: list[cst.BaseExpression] = []
    bound_otherwise = False
    for node in _own_nodes(func.node.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value == name:
                    found.append(node.value)
                elif name in {n.value for n in iter_nodes(target.target)
                              if isinstance(n, cst.Name)}:
                    bound_otherwise = True
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) \
                and isinstance(node.target, cst.Name) and node.target.value == name:
            bound_otherwise = True
        elif isinstance(node, (cst.For, cst.AsName, cst.NamedExpr)):
            bound: cst.CSTNode = node.target if isinstance(node, (cst.For, cst.NamedExpr)) \
                else node.name
            if name in {n.value for n in iter_nodes(bound) if isinstance(n, cst.Name)}:
                bound_otherwise = True
    if bound_otherwise or len(found) != 1:
        return None
    return found[0]


def _own_nodes(body: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The nodes under `body` but whitespace and punctuation (`cstutil.children`),
    not entering nested functions, classes or lambdas."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        yield node
        for child in children(node):
            if not isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                stack.append(child)


def _calls_outside_reraising_handlers(body: cst.CSTNode) -> Iterator[cst.Call]:
    """The calls under `body` but those in an `except` handler that ends with a bare
    `raise` (`except BaseException: conn.close(); raise`): such a close runs only when
    the function fails, and on success the connection leaves with the cursor."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.ExceptHandler) and _ends_with_bare_raise(node.body):
            continue
        if isinstance(node, cst.Call):
            yield node
        stack.extend(node.children)


def _ends_with_bare_raise(block: cst.BaseSuite) -> bool:
    if not isinstance(block, cst.IndentedBlock) or not block.body:
        return False
    last = block.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Raise) and small.exc is None for small in last.body)


def _used_beyond_cursor(func: FunctionInfo, holder: str, cursor_call: cst.Call) -> bool:
    """`holder` is read anywhere in `func` other than as the receiver of `cursor_call`
    and of its own method calls (`conn.commit()`, `conn.autocommit(True)`): it may be
    returned, stored, passed on or captured, and then the caller is not its only owner.
    Not a read in an `except` handler that ends with a bare `raise` (`except
    BaseException: pool.release(conn); raise`): it runs only when `func` fails."""
    receiver = cursor_call.func.value if isinstance(cursor_call.func, cst.Attribute) else None
    method_receivers: set[int] = set()
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and isinstance(node.func.value, cst.Name) and node.func.value.value == holder:
            method_receivers.add(id(node.func.value))
    on_failure = {id(n) for handler in iter_nodes(func.node.body)
                  if isinstance(handler, cst.ExceptHandler)
                  and _ends_with_bare_raise(handler.body) for n in iter_nodes(handler.body)}
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) or id(node) in on_failure:
            continue
        # an assignment's own target binds the name, it does not read it
        if isinstance(node, cst.Name) and node.value == holder and node is not receiver \
                and id(node) not in method_receivers and not _is_assign_target(func, node):
            return True
    return False


def _is_assign_target(func: FunctionInfo, name: cst.Name) -> bool:
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and any(t.target is name for t in node.targets):
            return True
    return False


def _own_earlier_assignment(pairs: list[tuple[cst.BaseExpression, FunctionInfo]],
                            func: FunctionInfo | None,
                            use: cst.Attribute | None) -> cst.BaseExpression | None:
    """The value of the last assignment of a class attribute (`pairs`: every value with
    its method) that `func` itself makes before `use`, its use there, in the order of
    the method's text (its last one, when the use is asked by name alone), when some
    other method of the class assigns the attribute too; None when `func` makes none
    before the use (then every assignment of the class is read as before)."""
    if func is None or all(scope is func for _, scope in pairs) \
            or not any(scope is func for _, scope in pairs):
        return None
    mine = {id(value): value for value, scope in pairs if scope is func}
    last: cst.BaseExpression | None = None
    for n in iter_nodes(func.node.body):
        if n is use:
            return last
        if id(n) in mine and mine[id(n)] is n:
            last = mine[id(n)]
    return last if use is None else None


def _is_classmethod(func: FunctionInfo) -> bool:
    """Decorated `@classmethod`: its first parameter is the class, not an instance."""
    return any(dotted_name(deco.decorator) == "classmethod" for deco in func.node.decorators)


def _is_property(func: FunctionInfo) -> bool:
    """Decorated `@property` or `@cached_property` (`functools.cached_property`)."""
    for deco in func.node.decorators:
        name = dotted_name(deco.decorator)
        if name is not None and name.rsplit(".", 1)[-1] in ("property", "cached_property"):
            return True
    return False


def _packages_first(candidates: list[ModuleInfo]) -> list[ModuleInfo]:
    """Without the modules `X.py` that sit beside a package `X/` in the same folder:
    Python's path finder tries the package first, so `import X` (also from inside
    `X.py`, a top-level `app.py` beside a package `app/`) means the package."""
    packages = {m.abspath.parent for m in candidates if m.abspath.name == "__init__.py"}
    if not packages:
        return candidates
    return [m for m in candidates
            if m.abspath.name == "__init__.py"
            or m.abspath.parent / m.abspath.stem not in packages]


def _closest(candidates: list[ModuleInfo], near: ModuleInfo) -> ModuleInfo:
    if len(candidates) == 1:
        return candidates[0]
    candidates = _packages_first(candidates)
    here = str(near.abspath)

    def shared(m: ModuleInfo) -> int:
        return len(os.path.commonpath([here, str(m.abspath)]))

    return max(candidates, key=shared)


_WRAPPER_RELEASES = frozenset({"putconn", "release", "close", "closeconn"})


def _self_attribute(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
            and node.value.value == "self")


def _releases_own_attribute(method: FunctionInfo) -> bool:
    """`pool.putconn(self._conn)`, `self._pool.release(self.conn)` or `self.conn.close()`
    in the method's own body."""
    for call in method.direct_calls:
        f = call.func
        if not isinstance(f, cst.Attribute):
            continue
        name = f.attr.value
        if ((name in POOL_RELEASE_METHODS or name in _WRAPPER_RELEASES)
                and any(_self_attribute(a.value) for a in call.args)):
            return True
        if name in {"close", "release"} and _self_attribute(f.value) and not call.args:
            return True
    return False


def _calls_own(method: FunctionInfo, name: str) -> bool:
    """`self.<name>()` in the method's own body."""
    return any(isinstance(c.func, cst.Attribute) and c.func.attr.value == name
               and isinstance(c.func.value, cst.Name) and c.func.value.value == "self"
               for c in method.direct_calls)


def _qualified(func: FunctionInfo) -> str:
    """`app.db.get_conn` for a project function (its longest module name)."""
    module = func.module.names[0] if func.module.names else ""
    return f"{module}.{func.qualname}" if module else func.qualname


def configured_name(qualname: str, entries: Iterable[str]) -> str | None:
    """The `[tool.poolsafe]` acquire/release entry that names `qualname`: the full
    dotted name (`corp_db.lease`), a dotted tail of it (`db.lease` for
    `app.db.lease`), or a bare function name (`lease`)."""
    for entry in entries:
        if entry == qualname or qualname.endswith("." + entry):
            return entry
    return None


def _cached_elsewhere(ret: cst.Return, func: FunctionInfo) -> bool:
    """`con = g._database_con = connect(...)`, `self.conn = conn`, `_cache[k] = conn`,
    a `global` name, a name the function only reads (`return MYSQL_CONN`): the
    returned connection is also kept where the next call (and a teardown) finds it,
    so `func` is a cached accessor, not an acquire wrapper; its callers do not own
    what it returns."""
    assert ret.value is not None
    return _kept_elsewhere(ret.value, func)


def _element(value: cst.BaseExpression, index: int) -> cst.BaseExpression:
    """The element at `index` of a returned tuple or list literal."""
    assert isinstance(value, (cst.Tuple, cst.List))
    return value.elements[index].value


def _kept_elsewhere(value: cst.BaseExpression, func: FunctionInfo) -> bool:
    """`value` (returned by `func`, alone or in a tuple) names a connection kept
    beyond the call (see `_cached_elsewhere`)."""
    value = value.expression if isinstance(value, cst.Await) else value
    if isinstance(value, cst.Attribute):
        return True  # `return self._conn`: the object keeps it, the caller borrows it
    if not isinstance(value, cst.Name):
        return False
    name = value.value
    if name in func.globals_declared:
        return True
    if name not in func.locals and name not in func.all_param_names() \
            and name not in bound_names(func.node.body):
        # `return MYSQL_CONN`: a name the function never binds is the module's (or an
        # enclosing function's), made once and kept there; every caller borrows it
        return True
    return keeps_connection(func, name)


def keeps_connection(func: FunctionInfo, name: str) -> bool:
    """`func` stores what its local `name` holds where a later call finds it: on an
    attribute or in an item (`self.conn = conn`, `_cache[k] = conn`, `con =
    g._database_con = connect(...)`), or in an object the module made
    (`_kept_by_module_object`)."""
    return _kept_by_module_object(func, name) or bool(connection_stores(func, name))


def connection_stores(func: FunctionInfo, name: str) -> list[cst.BaseExpression]:
    """The attributes and items `func` stores what its local `name` holds in
    (`self.conn = conn`, `_cache[k] = conn`, `con = g._database_con = connect(...)`)."""
    out: list[cst.BaseExpression] = []
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.Assign):
            continue
        targets = [t.target for t in node.targets]
        stored = [t for t in targets if isinstance(t, (cst.Attribute, cst.Subscript))]
        if not stored:
            continue
        named = any(isinstance(t, cst.Name) and t.value == name for t in targets)
        if named or (isinstance(node.value, cst.Name) and node.value.value == name):
            out.extend(stored)
    return out


#: methods of a module-level object that only log what they are given
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception",
                          "critical", "log"})


def _kept_by_module_object(func: FunctionInfo, name: str) -> bool:
    """`_connection_cache.cache(ConnectionObject(conn, key))`, `_registry.add(conn)`:
    the connection (or an object built around it, inline or in a local) is handed to
    a method of an object the module made at its top level, which keeps it for the
    next call (a logger's methods only log it; a pool's release gives it back)."""
    for call in func.direct_calls:
        f = call.func
        if not isinstance(f, cst.Attribute) or f.attr.value in _LOG_METHODS \
                or f.attr.value in POOL_RELEASE_METHODS or f.attr.value == "close":
            continue  # (`pool.putconn(conn)` gives it back: it keeps nothing)
        root: cst.BaseExpression = f.value
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name) or root.value not in func.module.assigns \
                or root.value in func.locals or root.value in func.all_param_names():
            continue
        for arg in call.args:
            value = arg.value
            if isinstance(value, cst.Name) and value.value == name:
                return True
            # the object built around it, inline or through a local
            # (`holder = ConnectionObject(conn, key)`; `_cache.cache(holder)`)
            built = [value] if not isinstance(value, cst.Name) else [
                v for v in func.locals.get(value.value, []) if isinstance(v, cst.Call)]
            if any(isinstance(b, cst.Call) and any(
                    isinstance(a.value, cst.Name) and a.value.value == name for a in b.args)
                   for b in built):
                return True
    return False


def method_alias(callee: cst.BaseExpression, func: FunctionInfo | None
                 ) -> cst.Attribute | None:
    """`get` in `get = pool.getconn; conn = get()`: a local name bound once, in the
    calling function, to an attribute (a bound method), stands for that attribute, so
    the call is the method's call (a checkout, or with `put = pool.putconn` a release).
    A name bound more than once, or to anything else, is not followed."""
    if not isinstance(callee, cst.Name) or func is None:
        return None
    values = func.locals.get(callee.value)
    if values is None or len(values) != 1 or not isinstance(values[0], cst.Attribute):
        return None
    return values[0]


#: an unknown receiver of `acquire()` whose name says it is a database pool
#: (`app['db']`, `request.app.pool`, `self._engine`); locks and semaphores are not
#: a project file that edits `sys.path` (`sys_path_dirs`)
_SYS_PATH_WORD = re.compile(rb"sys\.path\.(?:append|insert)\b")
_SYS_PATH_ADD = re.compile(
    r"""sys\.path\.(?:append|insert)\(\s*(?:\d+\s*,\s*)?(['"])([^'"\n]+)\1\s*\)""")
_DATABASE_WORD = re.compile(r"(?:^|_)(?:db|pool|engine|database)$", re.IGNORECASE)


def _names_a_database(receiver: cst.BaseExpression) -> bool:
    """The receiver's last name (an attribute, or a subscript's string key) ends with
    a database word: `db`, `pg_pool`, `read_engine` (not `db_lock`)."""
    last: str | None = None
    if isinstance(receiver, cst.Name):
        last = receiver.value
    elif isinstance(receiver, cst.Attribute):
        last = receiver.attr.value
    elif isinstance(receiver, cst.Subscript) and len(receiver.slice) == 1:
        index = receiver.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            raw = index.value.evaluated_value
            last = raw if isinstance(raw, str) else None
    return last is not None and _DATABASE_WORD.search(last) is not None


def _closes_own_rebinding(root: cst.FunctionDef, call: cst.Call, name: str) -> bool:
    """`call` releases `name` only under `if flag:`, and every block that sets `flag =
    True` also rebinds `name` (`if isinstance(conn, str): conn = sqlite3.connect(conn);
    owned = True` ... `finally: if owned: conn.close()`): what it closes is the
    helper's own connection, never the one its caller passed in."""
    flags: set[str] = set()
    for node in iter_nodes(root):
        if isinstance(node, cst.If) and isinstance(node.test, cst.Name) and any(
                n is call for n in iter_nodes(node.body)):
            flags.add(node.test.value)
    for flag in flags:
        setting = [block for block in iter_nodes(root)
                   if isinstance(block, cst.IndentedBlock) and _assigns(block, flag, True)]
        if setting and all(_assigns(block, name, None) for block in setting):
            return True
    return False


def _assigns(block: cst.IndentedBlock, name: str, value: bool | None) -> bool:
    """A statement directly in `block` assigns `name` (`name = True` when `value` is
    True, anything when it is None)."""
    for st in block.body:
        if not isinstance(st, cst.SimpleStatementLine):
            continue
        for small in st.body:
            if isinstance(small, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value == name
                    for t in small.targets) and (value is None or (
                        isinstance(small.value, cst.Name) and small.value.value == "True")):
                return True
    return False


def _ends_in_raise(root: cst.FunctionDef, call: cst.Call) -> bool:
    """Every way on from `call` within `root` meets a `raise` of the block it is in,
    or of an enclosing one (`except Error: conn.close(); raise Failed()`): the
    release happens only on a path where the function raises, so its caller, which
    goes on only when it returns, still holds the connection."""
    parents: dict[int, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        for child in node.children:
            parents[id(child)] = node
            stack.append(child)
    for st in statements_after(call, root, parents, (cst.For, cst.While, cst.FunctionDef,
                                                      cst.Lambda, cst.ClassDef, cst.Finally)):
        if isinstance(st, cst.SimpleStatementLine) and any(
                isinstance(small, cst.Raise) for small in st.body):
            return True
        if any(isinstance(n, (cst.Return, cst.Break, cst.Continue, cst.Raise))
               for n in iter_nodes(st)):
            return False
    return False


#: a bind given after the session or the metadata was built (`x.bind = None` gives none)
_LATE_BIND = re.compile(rb"\.bind\s*=\s*(?!None\b)[^=\s]|MetaData\([^)]*\bbind\s*=|"
                        rb"\bbind_mapper\b|\bbinds\s*=")


#: how deep `view_class_framework` follows project base classes (resolution's
#: MAX_RESOLUTION_DEPTH; resolution imports this module, so it is not read from there)
_MAX_VIEW_BASE_DEPTH = 12


def class_bases(index: ProjectIndex, cls: ClassInfo) -> Iterator[tuple[cst.Arg, Value | None]]:
    """The positional bases of `cls` (its metaclass and other keywords left out), each
    with what it resolves to, fully resolved (a project class is a `ClassRef`, a
    library's an `External`)."""
    for base in cls.node.bases:
        if base.keyword is not None:
            continue
        with index.full_resolution():
            value = index.evaluate(base.value, cls.module, None)
        yield base, value


def view_class_framework(index: ProjectIndex, cls: ClassInfo) -> str | None:
    """"flask" or "django" when `cls` derives (through project classes) from one of
    their class-based view bases (`VIEW_BASE_ROOTS`), else None."""
    found = derived_root(index, cls, VIEW_BASE_ROOTS)
    if found is None:
        return None
    return "flask" if found[1].startswith("flask") else "django"


def per_request_class(index: ProjectIndex, cls: ClassInfo) -> str | None:
    """The framework base (`tornado.web.RequestHandler`, `django.views.View`...) when
    `cls` derives from one whose instances live for one request
    (`PER_REQUEST_INSTANCE_ROOTS`), through project classes; else None."""
    found = derived_root(index, cls, PER_REQUEST_INSTANCE_ROOTS)
    return None if found is None else found[0]


def _attribute_assigns(module: ModuleInfo,
                       attr: str) -> list[tuple[FunctionInfo | None, cst.Assign]]:
    """The assignments of `module` with a target `<something>.attr`, with the function
    each is in (None: a simple statement at the top level), in the order
    `ProjectIndex._namespace_attribute` asks them: each function's body (nested scopes
    not entered), then the top level's simple statements. What they are depends on the
    module's text alone, so it is kept with the module: a language server asks it of
    the same unchanged modules on every keystroke (issue 32)."""
    kept: dict[str, list[tuple[FunctionInfo | None, cst.Assign]]] = \
        module.__dict__.setdefault(_ATTRIBUTE_ASSIGNS, {})
    found = kept.get(attr)
    if found is None:
        scopes: list[tuple[FunctionInfo | None, cst.CSTNode]] = [
            (f, f.node.body) for f in module.all_functions]
        scopes.extend((None, st) for st in module.tree.body
                      if isinstance(st, cst.SimpleStatementLine))
        found = kept[attr] = [
            (f, node) for f, body in scopes for node in iter_nodes(body)
            if isinstance(node, cst.Assign) and any(
                isinstance(t.target, cst.Attribute) and t.target.attr.value == attr
                for t in node.targets)]
    return found


#: the attribute of a module that keeps `_attribute_assigns`' answers, by name
_ATTRIBUTE_ASSIGNS = "_attribute_assigns"


def derived_root(index: ProjectIndex, cls: ClassInfo, roots: Iterable[str],
                 depth: int = 0) -> tuple[str, str] | None:
    """(the library base's name, the one of `roots` it matches) of the first base of
    `cls`, directly or through project classes, that matches one of `roots`."""
    if depth > _MAX_VIEW_BASE_DEPTH:
        return None
    for _, value in class_bases(index, cls):
        if isinstance(value, External):
            for root in roots:
                if root_matches(value.qualname, root):
                    return value.qualname, root
        elif isinstance(value, ClassRef):
            found = derived_root(index, value.cls, roots, depth + 1)
            if found is not None:
                return found
    return None


def _branch_suites(tree: cst.Module) -> dict[int, int]:
    """id(FunctionDef) -> id of the branch (the suite of an `if`, `elif` or `else` at a
    module's top level) that defines it; functions outside any branch are absent."""
    out: dict[int, int] = {}

    def branch(suite: cst.BaseSuite) -> None:
        body = suite.body if isinstance(suite, cst.IndentedBlock) else []
        for st in body:
            if isinstance(st, cst.FunctionDef):
                out[id(st)] = id(suite)
            elif isinstance(st, cst.If):
                walk(st)

    def walk(node: cst.If) -> None:
        branch(node.body)
        if isinstance(node.orelse, cst.If):
            walk(node.orelse)
        elif isinstance(node.orelse, cst.Else):
            branch(node.orelse.body)

    for st in tree.body:
        if isinstance(st, cst.If):
            walk(st)
    return out


def _root_name(module: ModuleInfo) -> str | None:
    """The name of the directory a module is imported from (the project's root, or
    its import root), from the module's longest dotted name and its file."""
    if not module.names:
        return None
    up = len(module.names[0].split(".")) - (0 if module.is_package else 1)
    parents = module.abspath.parents
    return parents[up].name if up < len(parents) else None


def _dir_prefix(directory: str) -> str:
    """What the paths of the files under `directory` start with."""
    return directory if directory.endswith(os.sep) else directory + os.sep


def _bind_argument(call: cst.Call) -> cst.BaseExpression | None:
    """`bind=` of a session or session factory construction, or its first positional
    argument (`Session(conn)`, `sessionmaker(engine)`)."""
    bind = keyword_arg(call, "bind")
    if bind is None and call.args and call.args[0].keyword is None \
            and call.args[0].star == "":
        bind = call.args[0].value
    return bind


#: what ends a generator object by hand: `gen.close()`, `await gen.aclose()`
GENERATOR_END_METHODS = frozenset({"close", "aclose"})


def _binds_call(call: cst.Call, func: FunctionInfo) -> bool:
    """`call` (under an `await` or not) is the value of one of `func`'s bindings."""
    for values in func.locals.values():
        for value in values:
            if isinstance(value, cst.BaseExpression) and strip_await(value)[0] is call:
                return True
    return False


def _draws_from(call: cst.Call, gen_name: str) -> bool:
    """`next(gen)` / `anext(gen)` / `gen.__next__()` / `gen.__anext__()` with one
    value drawn from the generator object named `gen_name`."""
    f = call.func
    if isinstance(f, cst.Name) and f.value in ("next", "anext") and len(call.args) == 1:
        arg = call.args[0].value
        return isinstance(arg, cst.Name) and arg.value == gen_name
    return isinstance(f, cst.Attribute) and f.attr.value in ("__next__", "__anext__") \
        and not call.args and isinstance(f.value, cst.Name) and f.value.value == gen_name


def _closes_yielded_on_exit(node: cst.FunctionDef) -> bool:
    """Every `yield NAME` of the generator is inside a `with ... as NAME` (or `async
    with`) or inside the body of a `try` whose `finally` calls `NAME.close()`: ending
    the generator at that `yield` closes what it gave. No other yield."""
    yields = [n for n in iter_nodes(node.body) if isinstance(n, cst.Yield)]
    if not yields:
        return False
    covered: set[int] = set()
    for n in iter_nodes(node.body):
        if isinstance(n, cst.With):
            names = {item.asname.name.value for item in n.items
                     if item.asname is not None and isinstance(item.asname.name, cst.Name)}
            for y in iter_nodes(n.body):
                if isinstance(y, cst.Yield) and isinstance(y.value, cst.Name) \
                        and y.value.value in names:
                    covered.add(id(y))
        elif isinstance(n, cst.Try) and n.finalbody is not None:
            closed = {c.func.value.value for c in iter_calls(n.finalbody.body)
                      if isinstance(c.func, cst.Attribute) and c.func.attr.value == "close"
                      and isinstance(c.func.value, cst.Name)}
            for y in iter_nodes(n.body):
                if isinstance(y, cst.Yield) and isinstance(y.value, cst.Name) \
                        and y.value.value in closed:
                    covered.add(id(y))
    return all(id(y) in covered for y in yields)

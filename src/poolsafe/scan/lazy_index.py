"""The project index a scan resolves with: built over the files it checks, it parses
any other project module when name resolution or a project-wide fact reaches it.

See `LazyIndex`; the prefilter (`poolsafe.scan.prefilter`) decides, from bytes, which
modules are selected.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from poolsafe.analysis.index import (
    EVERY_FILE,
    ProjectIndex,
    source_matches,
    spelt_like,
    word_pattern,
)
from poolsafe.analysis.module import ModuleInfo, ModulePath
from poolsafe.analysis.pool_summary import (
    ImportKind,
    PoolSummary,
    may_hold_pools,
    summarize,
)
from poolsafe.core.project import ProjectConfig
from poolsafe.scan.cache import pattern_key
from poolsafe.scan.summaries import SummaryStore, plain_utf8


class _LazyNames(dict[str, list[ModuleInfo]]):
    """`ProjectIndex.by_name` that parses a module the first time its name is asked,
    and shows only the modules that `visible` admits."""

    def __init__(self, initial: dict[str, list[ModuleInfo]],
                 load: Callable[[str], tuple[list[ModuleInfo], bool]],
                 visible: Callable[[ModuleInfo], bool]) -> None:
        super().__init__(initial)
        self._load = load
        self._visible = visible
        self._done: set[str] = set()

    def _ensure(self, name: str) -> None:
        if name in self._done:
            return
        # the loader registers what it parses under every name of the module
        _, complete = self._load(name)
        if complete:
            self._done.add(name)

    def _shown(self, name: str) -> list[ModuleInfo] | None:
        self._ensure(name)
        found = super().get(name)
        return None if found is None else [m for m in found if self._visible(m)]

    def get(self, name: str, default: Any = None) -> Any:
        shown = self._shown(name)
        return shown if shown else default

    def __getitem__(self, name: str) -> list[ModuleInfo]:
        shown = self._shown(name)
        if not shown:
            raise KeyError(name)
        return shown

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self._shown(name))


_ABSENT = object()


class _LayeredMemo(dict[Any, Any]):
    """A level's own memo table that also reads the tables of the wider levels
    (`wider`, nearest first), as `ChainMap(self, *wider)` would: writes go to this
    table only. A hit here costs a dict lookup, not ChainMap's scan of every
    layer in Python (the index asks its memos once per node it evaluates)."""

    __slots__ = ("wider",)

    def __init__(self, wider: tuple[dict[Any, Any], ...]) -> None:
        super().__init__()
        #: the wider levels' own tables; each is read as a plain dict, for only
        #: what that level wrote (a wider `_LayeredMemo` is listed with its own wider)
        self.wider = wider

    def get(self, key: Any, default: Any = None) -> Any:
        found = dict.get(self, key, _ABSENT)
        if found is not _ABSENT:
            return found
        for table in self.wider:
            found = dict.get(table, key, _ABSENT)
            if found is not _ABSENT:
                return found
        return default

    def __missing__(self, key: Any) -> Any:
        for table in self.wider:  # (not in this table: `__missing__`)
            found = dict.get(table, key, _ABSENT)
            if found is not _ABSENT:
                return found
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or any(
            dict.__contains__(table, key) for table in self.wider)


#: how much of the project resolution may parse (see `LazyIndex._level`)
_FULL, _SELECTED, _DATABASE = 0, 1, 2

#: the index's memo tables (see `LazyIndex.connections_only`)
_MEMOS = ("_memo", "_acquirer_memo", "_cm_memo", "_releaser_memo", "_rollbacker_memo",
          "_qualname_memo", "_release_wrapper_memo", "_carrier_memo")


class LazyIndex(ProjectIndex):
    """A project index over the selected modules that parses any other project
    module when name resolution reaches it.

    `def_names` (every function name defined in any file, by regex) answers the
    index's cheap "may this be a project function?" pre-check, which otherwise
    depends on which modules happen to be loaded yet."""

    #: per-module summaries kept between runs (`poolsafe.scan.summaries`), if any
    summaries: SummaryStore | None = None
    #: whether a pattern matches a file's bytes (as `source_matches` over
    #: `source(path)`), answered from what an earlier index over the same bytes
    #: found: a language server's keystroke searches only the edited file again
    #: (`fix.loop.quick.ModuleMemo`)
    kept_matches: Callable[[re.Pattern[bytes], str, bytes], bool] | None = None
    #: the files of `order` whose bytes match a pattern, as `[p for p in order if
    #: match(p)]` with `match` the file's `_raw_matches`, answered from the last
    #: index's list and the files changed since (`fix.loop.quick.ModuleMemo`)
    kept_matching: Callable[[re.Pattern[bytes], list[str], Callable[[str], bool]],
                            list[str]] | None = None

    #: where the selected file at a path is (`ModulePath`) when it is known to parse if
    #: asked (not refused for its size), without parsing it; None when it would not
    #: parse. With a kept summary of its bytes (made from a parse), it parses
    #: (`module_paths_matching`). Set by the scan that builds the index.
    place: Callable[[str], ModulePath | None] | None = None

    def __init__(self, modules: Iterable[ModuleInfo], config: ProjectConfig | None,
                 load: Callable[[str], ModuleInfo | None],
                 files_by_name: dict[str, list[str]], def_names: frozenset[str],
                 selected: Sequence[str] | None = None,
                 source: Callable[[str], bytes] | None = None,
                 known_matches: dict[str, list[str]] | None = None,
                 database: Iterable[str] | None = None) -> None:
        """`modules` are parsed already; `selected` (absolute paths, in the project's
        order; default: those of `modules`) are the modules project-wide facts read,
        parsed when a fact needs them (`source` gives their bytes for
        `modules_mentioning`). `known_matches` (pattern key -> the selected files
        it matches, in order) answers a pattern without reading every file: the
        cache's record of a previous run, checked against this tree's edits.
        `database` (absolute paths; default: all of `selected`) are the selected
        modules that can make a connection, session, pool or engine: the prefilter's
        selection without the roots of slow work only (`select(database_only=True)`),
        which `connections_only` is limited to (`slow_work` widens it again)."""
        super().__init__(modules, config)
        self._load_file = load
        self._files_by_name = files_by_name
        self._def_names = def_names
        self._loaded: dict[str, ModuleInfo | None] = {}
        #: function and method names of the loaded modules (the first
        #: `_loaded_names_count` of `_loaded`), for `_may_be_project_function`
        self._loaded_names: set[str] = set()
        self._loaded_names_count = 0
        #: module name -> the files that resolution asked for (the cache records them)
        self.lookups: dict[str, list[str]] = {}
        #: pattern key (`pattern_key`) -> the selected files a project-wide fact read
        #: because their bytes matched it (the cache records them too)
        self.matched: dict[str, list[str]] = {}
        #: whether a fact read every selected module (then every one is a dependency)
        self.read_all = False
        self._known_matches = known_matches or {}
        for m in self._modules:
            self._loaded[str(m.abspath)] = m
        self._order = (list(selected) if selected is not None
                       else [str(m.abspath) for m in self._modules])
        self._given = [m for m in self._modules if str(m.abspath) not in set(self._order)]
        self._all_parsed = selected is None
        self._source = source
        self._selected = frozenset(self._loaded) | frozenset(self._order)
        self._database = (self._selected if database is None
                          else frozenset(self._loaded) | frozenset(database))
        #: which modules resolution may parse: every one (`_FULL`), the selected
        #: ones (`_SELECTED`), or those that can make a connection (`_DATABASE`)
        self._level = _FULL
        #: each level's memo tables; a level reads what it and every wider level
        #: learnt, and writes its own (a narrower answer is less precise about
        #: anything but connections)
        full: dict[str, dict[Any, Any]] = {a: getattr(self, a) for a in _MEMOS}
        selected_: dict[str, dict[Any, Any]] = {
            a: _LayeredMemo((full[a],)) for a in _MEMOS}
        # where every selected module can make a connection (database code through
        # and through), the two narrower levels may parse the same modules, so they
        # give the same answers: one set of tables serves both
        database_: dict[str, dict[Any, Any]] = (
            selected_ if self._database == self._selected
            else {a: _LayeredMemo((selected_[a], full[a])) for a in _MEMOS})
        self._views: list[dict[str, dict[Any, Any]]] = [full, selected_, database_]
        self.by_name = _LazyNames(self.by_name, self._load_name,
                                  lambda m: self._loadable(str(m.abspath)))

    @contextmanager
    def connections_only(self) -> Iterator[None]:
        """Only the modules that can make a connection, session, pool or engine are
        parsed inside this scope: a module the prefilter's database selection left
        out spells no database word and imports no tainted name. Its answers (less
        precise about anything else) live in memos of their own."""
        with self._scope(_DATABASE):
            yield

    @contextmanager
    def slow_work(self) -> Iterator[None]:
        """Widen `connections_only` to every selected module, for a question about
        slow work (PS207): a module selected for its HTTP client or `time.sleep`
        alone makes no connection, but a transaction elsewhere may call it."""
        with self._scope(min(self._level, _SELECTED)):
            yield

    @contextmanager
    def full_resolution(self) -> Iterator[None]:
        """Undo `connections_only` for a question about other values: a constant, a
        base class, a configuration key defined in a module with no database word."""
        with self._scope(_FULL):
            yield

    @contextmanager
    def _scope(self, level: int) -> Iterator[None]:
        if level == self._level:
            yield
            return
        outer = self._level
        self._enter(level)
        try:
            yield
        finally:
            self._enter(outer)

    def _enter(self, level: int) -> None:
        self._level = level
        for a, memo in self._views[level].items():
            setattr(self, a, memo)

    @property
    def resolution_level(self) -> int | None:
        return self._level

    def _loadable(self, path: str) -> bool:
        if self._level == _FULL:
            return True
        return path in (self._selected if self._level == _SELECTED else self._database)

    def _load_name(self, name: str) -> tuple[list[ModuleInfo], bool]:
        """The modules called `name`, parsed now if need be, and whether that is all of
        them (inside `connections_only`, the unselected ones wait)."""
        files = self._files_by_name.get(name, [])
        self.lookups[name] = files
        out = []
        complete = True
        for path in files:
            if not self._loadable(path):
                complete = False
                continue
            found = self._module_at(path)
            if found is not None:
                out.append(found)
        return out, complete

    def package_dirs(self) -> frozenset[str]:
        """Every project directory with an `__init__.py`, parsed or not."""
        if self._package_dirs is None:
            self._package_dirs = frozenset(
                str(Path(p).parent) for paths in self._files_by_name.values() for p in paths
                if p.endswith("__init__.py"))
        return self._package_dirs

    def module_at(self, path: str) -> ModuleInfo | None:
        """The selected module in `path`, parsed now if it was not yet."""
        return self._module_at(path)

    def _module_at(self, path: str) -> ModuleInfo | None:
        """The module in `path`, parsed the first time it is asked for. It does not
        join `modules`: project-wide facts read the selected modules only, not
        whatever resolution happened to parse before they were computed."""
        if path not in self._loaded:
            m = self._load_file(path)
            self._loaded[path] = m
            if m is not None and self.summaries is not None and self._source is not None:
                with contextlib.suppress(KeyError, OSError):
                    self.summaries.put(path, self._source(path), self._summary_of(path, m))
            if m is not None:
                for n in m.names:
                    lst = dict.setdefault(self.by_name, n, [])
                    if not any(x is m for x in lst):
                        lst.append(m)
        return self._loaded[path]

    @property
    def modules(self) -> list[ModuleInfo]:
        """Every selected module (parsed now if need be, in the project's order), then
        any module given that is not selected (a file being fixed)."""
        self.read_all = True
        if not self._all_parsed:
            self._modules = [*self._selected_modules(self._order), *self._given]
            self._all_parsed = True
        return self._modules

    def modules_matching(self, pattern: re.Pattern[bytes]) -> list[ModuleInfo]:
        matching = self._matching(pattern)
        if matching is None:
            found = super().modules_matching(pattern)
        else:
            paths, given = matching
            found = [*self._selected_modules(paths), *given]
        self.matched.setdefault(pattern_key(pattern), [str(m.abspath) for m in found])
        return found

    def module_paths_matching(self, pattern: re.Pattern[bytes]) -> list[ModulePath]:
        """`modules_matching`'s paths, where a selected file not parsed yet is parsed
        only when it is not known to parse: its kept summary (made from a parse of
        these bytes) and `place` tell where it is. Recorded as `modules_matching`
        records it."""
        matching = self._matching(pattern) if (
            self.place is not None and self.summaries is not None) else None
        if matching is None or self.place is None:
            return super().module_paths_matching(pattern)
        paths, given = matching
        out: list[ModulePath] = []
        for path in paths:
            place = None if path in self._loaded else self.place(path)
            if place is None or self._kept_summary(path) is None:
                m = self._module_at(path)
                place = None if m is None else ModulePath.of(m)
            if place is not None:
                out.append(place)
        out.extend(ModulePath.of(m) for m in given)
        self.matched.setdefault(pattern_key(pattern), [str(p.abspath) for p in out])
        return out

    def any_module(self, pattern: re.Pattern[bytes], wanted: Callable[[ModuleInfo], bool],
                   likely: re.Pattern[bytes] | None = None,
                   admitted: Callable[[Path, bytes], bool] | None = None,
                   decided: Callable[[ModulePath, bytes], bool | None] | None = None
                   ) -> bool:
        """Parses the matching modules one at a time, those parsed already first, then
        those whose bytes match `likely`, until one is `wanted`; a module not parsed
        yet that `decided` answers for (at its `place`: one that parses) is not
        parsed. Every file the pattern matches is
        recorded (`matched`) as if all were read: the answer depends on them all."""
        matching = self._matching(pattern)
        if matching is None:
            return super().any_module(pattern, wanted, likely, admitted)
        paths, given = matching
        self.matched.setdefault(pattern_key(pattern),
                                [*paths, *(str(m.abspath) for m in given)])
        if admitted is not None:
            given = [m for m in given if admitted(m.abspath, m.source.encode())]
            paths = [p for p in paths if admitted(Path(p), self._source_of(p))]
        if any(wanted(m) for m in given):
            return True
        first = set() if likely is None else {p for p in paths if self._matches(likely, p)}
        # the modules parsed already cost nothing to ask: first; then those `likely`
        # names, then the smallest (a module loads in time with its size, and one
        # wanted module answers: superset's and mlflow's models are 0.1-0.5 MB)
        paths = sorted(paths, key=lambda p: (p not in self._loaded, p not in first,
                                             0 if p in self._loaded else len(self._source_of(p))))
        for path in paths:
            if decided is not None and self.place is not None and path not in self._loaded:
                place = self.place(path)
                known = None if place is None else decided(place, self._source_of(path))
                if known is not None:
                    if known:
                        return True
                    continue
            m = self._module_at(path)
            if m is not None and wanted(m):
                return True
        return False

    def pool_candidates(self, words: Iterable[str]) -> list[ModuleInfo]:
        """`modules_mentioning(words)` without the modules whose kept summary says they
        hold no pool (`pool_summary.may_hold_pools`): those are not parsed. The
        pattern is recorded with every file that matches and parses, as
        `modules_matching` records it."""
        pattern = word_pattern(words)
        matching = self._matching(pattern) if self.summaries is not None else None
        if matching is None:
            return self.modules_matching(pattern)
        paths, given = matching
        recorded: list[str] = []
        out: list[ModuleInfo] = []
        for path in paths:
            summary: PoolSummary | None = None
            if path in self._loaded:
                parsed = self._loaded[path]
                # (parsed already: its resolution would still parse other modules)
                summary = self._summary_of(path, parsed) if parsed is not None else None
            elif self.summaries is not None:
                summary = self._kept_summary(path)
            if summary is not None and not may_hold_pools(
                    summary, partial(self._import_kind, here=path)):
                recorded.append(path)  # (it parsed, now or when its summary was made)
                continue
            m = self._module_at(path)
            if m is not None:
                recorded.append(path)
                out.append(m)
        self.matched.setdefault(pattern_key(pattern),
                                [*recorded, *(str(m.abspath) for m in given)])
        return [*out, *given]

    def _import_kind(self, qualname: str, here: str) -> ImportKind:
        """What `resolve_qualname(qualname, <the module in here>)` gives, told from the
        files, the modules parsed and the kept summaries, without parsing: a project
        module or a function or class one defines (`PROJECT`), the library name
        itself (`EXTERNAL`: no project module answers it), or `UNKNOWN`. It follows
        `_resolve_qualname`: the longest prefix that names project modules, then the
        rest as attributes (`_attribute` of a `ModuleRef`); an attribute that is no
        top-level name and no submodule ends that prefix's try."""
        parts = qualname.split(".")
        for i in range(len(parts), 0, -1):
            candidates = self._candidate_facts(".".join(parts[:i]), here)
            if candidates is None:
                return ImportKind.UNKNOWN
            if not candidates:
                continue
            if i == len(parts):
                return ImportKind.PROJECT  # the module itself
            outcomes = {self._attribute_kind(facts, parts[i:]) for facts in candidates}
            if outcomes == {ImportKind.PROJECT}:
                return ImportKind.PROJECT
            if outcomes == {ImportKind.EXTERNAL}:
                continue  # (no value: the next shorter prefix is tried)
            return ImportKind.UNKNOWN
        return ImportKind.EXTERNAL

    def _attribute_kind(self, facts: PoolSummary, rest: list[str]) -> ImportKind:
        """`PROJECT` when `rest` on the module of `facts` is a function or class it
        defines, `EXTERNAL` when `lookup_module_name` finds nothing and no submodule
        answers (the value is None), else `UNKNOWN`."""
        attr = rest[0]
        if attr in facts.defined:
            return ImportKind.PROJECT if len(rest) == 1 else ImportKind.UNKNOWN
        if attr in facts.bound or (facts.star and not attr.startswith("_")):
            return ImportKind.UNKNOWN
        if not facts.first_name:
            return ImportKind.EXTERNAL
        # `_attribute`: `by_name.get(f"{first}.{attr}")`, the modules it may show
        name = f"{facts.first_name}.{attr}"
        files = self._files_by_name.get(name, [])
        self.lookups[name] = files
        if any(self._loadable(p) for p in files) or any(
                self._loadable(str(m.abspath)) for m in dict.get(self.by_name, name, [])):
            return ImportKind.UNKNOWN
        return ImportKind.EXTERNAL

    def _summary_of(self, path: str, module: ModuleInfo) -> PoolSummary:
        """`summarize(module)`, once per path and index (the module at a path stays)."""
        memo: dict[str, PoolSummary | None] = self.__dict__.setdefault("_summaries_memo", {})
        found = memo.get(path)
        if found is None:
            found = memo[path] = summarize(module)
        return found

    def _kept_summary(self, path: str) -> PoolSummary | None:
        """The kept summary of the unparsed module in `path`, once per path and index."""
        memo: dict[str, PoolSummary | None] = self.__dict__.setdefault("_summaries_memo", {})
        if path not in memo:
            found = None
            if self.summaries is not None and self._source is not None:
                with contextlib.suppress(KeyError, OSError):
                    found = self.summaries.get(path, self._source(path))
            memo[path] = found
        return memo[path]

    def _candidate_facts(self, name: str, here: str) -> list[PoolSummary] | None:
        """For each module `_candidates(name, <module in here>)` would give, its
        summary (made now for a parsed one); None when a candidate is neither parsed
        nor summarized (whether it parses is not known)."""
        files = self._files_by_name.get(name, [])
        self.lookups[name] = files
        out: list[PoolSummary] = []
        seen: set[str] = set()
        for m in dict.get(self.by_name, name, []):
            path = str(m.abspath)
            if self.importable(path, name, here) and self._loadable(path):
                seen.add(path)
                out.append(self._summary_of(path, m))
        for path in files:
            if path in seen or not self.importable(path, name, here) \
                    or not self._loadable(path):
                continue
            if path in self._loaded:
                parsed = self._loaded[path]
                if parsed is not None:
                    out.append(self._summary_of(path, parsed))
                continue
            summary = self._kept_summary(path)
            if summary is None:
                return None
            out.append(summary)
        return out

    def files_matching(self, pattern: re.Pattern[bytes]) -> list[tuple[Path, str]]:
        if self._source is None:
            return super().files_matching(pattern)
        found = self._selected_files_matching(pattern)
        have = {str(path) for path, _ in found}
        others = {p for paths in self._files_by_name.values() for p in paths} \
            - self._selected - have
        extra = [p for p in sorted(others) if self._raw_matches(pattern, p)]
        # the cache's dependency: a change to an unselected file re-checks everything
        self.matched.setdefault(pattern_key(pattern), []).extend(extra)
        return found + [(Path(p), self._source(p).decode("utf-8", "replace")) for p in extra]

    def _selected_files_matching(self, pattern: re.Pattern[bytes]) -> list[tuple[Path, str]]:
        """`ProjectIndex.files_matching` over the selected files (recorded as
        `modules_matching` records it), where a file not parsed yet is not parsed when
        its kept summary and `place` tell that it parses and its text is its bytes
        (UTF-8, no byte-order mark): `sys_path_dirs` reads only the text."""
        matching = self._matching(pattern) if (
            self.place is not None and self.summaries is not None) else None
        if matching is None or self.place is None:
            return super().files_matching(pattern)
        paths, given = matching
        out: list[tuple[Path, str]] = []
        for path in paths:
            data = None
            if path not in self._loaded and self.place(path) is not None \
                    and self._kept_summary(path) is not None:
                data = self._source_of(path)
            if data is not None and plain_utf8(data):
                out.append((Path(path), data.decode()))
                continue
            m = self._module_at(path)
            if m is not None:
                out.append((m.abspath, m.source))
        out.extend((m.abspath, m.source) for m in given)
        self.matched.setdefault(pattern_key(pattern), [str(p) for p, _ in out])
        return out

    def unread_modules_matching(self, *patterns: re.Pattern[bytes]) -> list[ModuleInfo]:
        if self._source is None or not patterns:
            return []
        memo: dict[tuple[bytes, ...], list[ModuleInfo]] = self.__dict__.setdefault(
            "_unread_modules_memo", {})
        key = tuple(p.pattern for p in patterns)
        if key not in memo:
            others = {p for paths in self._files_by_name.values() for p in paths} \
                - self._selected
            extra = [p for p in sorted(others)
                     if all(self._raw_matches(pattern, p) for pattern in patterns)]
            # the cache's dependency, as `files_matching` records it
            for pattern in patterns:
                self.matched.setdefault(pattern_key(pattern), []).extend(extra)
            memo[key] = [m for m in map(self._module_at, extra) if m is not None]
        return memo[key]

    def any_file_matches(self, pattern: re.Pattern[bytes]) -> bool:
        """Searches the bytes of every project file, selected or not, parsing none;
        every file that matches is recorded (`matched`) under the pattern's key,
        whose `EVERY_FILE` mark has the cache compare an edit of any file. A record
        that still holds (`known_matches`) answers without searching."""
        if self._source is None:
            return super().any_file_matches(pattern)
        return bool(self._every_file_matching(pattern))

    def _every_file_matching(self, pattern: re.Pattern[bytes]) -> list[str]:
        """`any_file_matches`'s files (recorded as it says), by path."""
        key = pattern_key(pattern)
        known = self._known_matches.get(key)
        if known is not None:
            found = list(known)
        else:
            memo: dict[bytes, list[str]] = self.__dict__.setdefault("_every_file_memo", {})
            if pattern.pattern not in memo:
                matching = self._matching(pattern)
                if matching is None:
                    mine = [str(m.abspath) for m in super().modules_matching(pattern)]
                else:
                    paths, given = matching
                    mine = [*paths, *(str(m.abspath) for m in given)]
                others = {p for paths in self._files_by_name.values() for p in paths} \
                    - self._selected - set(mine)
                memo[pattern.pattern] = mine + [p for p in sorted(others)
                                                if self._raw_matches(pattern, p)]
            found = memo[pattern.pattern]
        self.matched.setdefault(key, list(found))
        return found

    def unread_files_match(self, pattern: re.Pattern[bytes]) -> bool:
        """Whether a file outside the selection matches `pattern`, from the files
        that match it anywhere, recorded under the pattern marked `EVERY_FILE` (as
        `any_file_matches` records them): the cache's dependency, so that an edit
        making an unread file match, or stop matching, or a matching file entering
        or leaving the selection, re-checks what read the answer (with no record, an
        unread file that started to match left its readers' cached findings
        standing). On an edit, a record that held answers without a search."""
        if self._source is None:
            return False
        memo: dict[bytes, re.Pattern[bytes]] = self.__dict__.setdefault("_marked_memo", {})
        marked = memo.get(pattern.pattern)
        if marked is None:
            # (the words of `pattern`, if it has any, are the marked one's: the cache
            # tests a changed file for them before it searches it)
            marked = memo[pattern.pattern] = spelt_like(
                re.compile(EVERY_FILE + pattern.pattern, pattern.flags), pattern)
        return any(p not in self._selected for p in self._every_file_matching(marked))

    def _matches(self, pattern: re.Pattern[bytes], path: str) -> bool:
        """`source_matches(pattern, self._source_of(path))`."""
        parsed = self._loaded.get(path)
        if parsed is not None and not (self.kept_matches is not None
                                       and self._text_is_bytes(path, parsed)):
            # (a parsed module's text, which may not be the file's bytes)
            return source_matches(pattern, parsed.source.encode())
        return self._raw_matches(pattern, path)

    def _text_is_bytes(self, path: str, parsed: ModuleInfo) -> bool:
        """Whether the parsed module's text, encoded, is the file's bytes (once per
        path and index: the module at a path stays)."""
        memo: dict[str, bool] = self.__dict__.setdefault("_text_is_bytes_memo", {})
        found = memo.get(path)
        if found is None:
            found = memo[path] = self._source is not None and (
                parsed.source.encode() == self._source(path))
        return found

    def _raw_matches(self, pattern: re.Pattern[bytes], path: str) -> bool:
        """`source_matches(pattern, self._source(path))`, from `kept_matches` if any."""
        data = self._source(path) if self._source is not None else b""
        if self.kept_matches is not None:
            return self.kept_matches(pattern, path, data)
        return source_matches(pattern, data)

    def _source_of(self, path: str) -> bytes:
        parsed = self._loaded.get(path)
        if parsed is not None or self._source is None:
            return parsed.source.encode() if parsed is not None else b""
        return self._source(path)

    def _matching(self, pattern: re.Pattern[bytes]
                  ) -> tuple[list[str], list[ModuleInfo]] | None:
        """The selected files whose bytes match `pattern` (in the project's order) and
        the given modules that match, without parsing; None when every module is
        parsed already (or no bytes are at hand): then the modules answer."""
        if self._all_parsed or self._source is None:
            return None
        given = [m for m in self._given if source_matches(pattern, m.source.encode())]
        known = self._known_matches.get(pattern_key(pattern))
        if known is not None:
            wanted = set(known)
            return [p for p in self._order if p in wanted], given
        # the selected files' bytes do not change in an index's life: each pattern
        # is searched once (PS103 asks for one per directory of the project)
        memo: dict[re.Pattern[bytes], list[str]] = self.__dict__.setdefault(
            "_matching_memo", {})
        found = memo.get(pattern)
        if found is None and self.kept_matching is not None:
            found = self.kept_matching(pattern, self._order,
                                       lambda p: self._raw_matches(pattern, p))
            # (a parsed module whose text is not its file's bytes answers by its text,
            # as `_matches` does)
            odd = {p for p, m in self._loaded.items()
                   if m is not None and not self._text_is_bytes(p, m)}
            if odd:
                kept = set(found)
                found = [p for p in self._order
                         if (self._matches(pattern, p) if p in odd else p in kept)]
            memo[pattern] = found
        if found is None:
            found = memo[pattern] = [p for p in self._order if self._matches(pattern, p)]
        return list(found), given

    def _selected_modules(self, paths: Iterable[str]) -> list[ModuleInfo]:
        return [m for m in map(self._module_at, paths) if m is not None]

    def _may_be_project_function(self, name: str) -> bool:
        """`def_names` has every function name the project's files define (found by
        a regex over their bytes), so no module needs parsing to answer."""
        if name in self._def_names:
            return True
        # modules given in memory (editor buffers) may define names the regex did not
        # see; their names are folded in as modules load, not searched per call
        if len(self._loaded) != self._loaded_names_count:
            for m in list(self._loaded.values())[self._loaded_names_count:]:
                if m is not None:
                    self._loaded_names.update(m.functions)
                    for c in m.classes.values():
                        self._loaded_names.update(c.methods)
            self._loaded_names_count = len(self._loaded)
        return name in self._loaded_names

    def module_files(self, name: str) -> list[tuple[Path, str]]:
        """The files called `name`, read (from memory for a checked buffer) but not
        parsed; the lookup is recorded as resolution's are (the cache's dependencies)."""
        files = self._files_by_name.get(name, [])
        self.lookups[name] = files
        out: list[tuple[Path, str]] = []
        for path in files:
            loaded = self._loaded.get(path)
            if loaded is not None:
                out.append((loaded.abspath, loaded.source))
                continue
            data: bytes | None = None
            if self._source is not None:
                with contextlib.suppress(KeyError, OSError):
                    data = self._source(path)
            if data is None:
                try:
                    data = Path(path).read_bytes()
                except OSError:
                    continue
            out.append((Path(path), data.decode("utf-8", "replace")))
        return out

    def _means(self, name: str, near: ModuleInfo, target: ModuleInfo) -> bool:
        """Like `_candidates` (and recorded as it is), for `target` alone: no other
        file called `name` is parsed."""
        files = self._files_by_name.get(name, [])
        self.lookups[name] = files
        path = str(target.abspath)
        if not self.importable(path, name, str(near.abspath)) or not self._loadable(path):
            return False
        return any(m is target for m in dict.get(self.by_name, name, [])) or (
            path in files and self._module_at(path) is target)

    def _candidates(self, name: str, near: ModuleInfo) -> list[ModuleInfo]:
        """Like the index's, but decides by path before parsing anything: an
        `import json` must not parse every project file called json.py."""
        files = self._files_by_name.get(name, [])
        self.lookups[name] = files
        here = str(near.abspath)
        out = [m for m in dict.get(self.by_name, name, [])
               if self.importable(str(m.abspath), name, here)
               and self._loadable(str(m.abspath))]
        for path in files:
            if not self.importable(path, name, here) or not self._loadable(path):
                continue
            found = self._module_at(path)
            if found is not None and not any(x is found for x in out):
                out.append(found)
        return out

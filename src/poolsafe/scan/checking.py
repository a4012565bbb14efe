"""Parsing and checking: libcst parses each selected file once, the rules run on it
against the project index, and the reported nodes get their positions.

The engine (`poolsafe.scan.engine`) imports this module only when a scan has a file to
parse: a cached result, or a tree without database code, loads no parser.
"""

from __future__ import annotations

import ast
import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from poolsafe.analysis.index import ProjectIndex, spelt_words
from poolsafe.analysis.module import ModuleInfo, ModulePath, collect_module
from poolsafe.core.complexity import parse_refusal
from poolsafe.core.discovery import SHEBANG_BYTES, SourceFile, is_script_name, python_shebang
from poolsafe.core.gc_scope import keep_new_objects, release_dropped
from poolsafe.core.heap import TRIM_AFTER_BYTES, return_free_memory
from poolsafe.core.model import FileError, Finding, Location, RawFinding, ScanResult, Step
from poolsafe.core.positions import spans
from poolsafe.core.project import module_key, module_names, names_to_files
from poolsafe.core.rule_codes import enabled_codes
from poolsafe.core.shared_leaves import parse_module
from poolsafe.core.source import DecodedSource, SourceError, decode
from poolsafe.fix.equivalence import comparisons_kept
from poolsafe.fix.fixers.edits import parent_map, remember_parents
from poolsafe.rules import RULES_BY_CODE, FileContext, Rule
from poolsafe.scan.cache import pattern_key
from poolsafe.scan.cancellation import raise_if_stopped
from poolsafe.scan.lazy_index import LazyIndex
from poolsafe.scan.options import MAX_FILE_BYTES, ScanOptions
from poolsafe.scan.parallel import CheckResults, check_all
from poolsafe.scan.prefilter import Selection, select
from poolsafe.scan.proofs import ProofStore
from poolsafe.scan.scope import ProjectScope, read_error, too_large_error
from poolsafe.scan.snapshots import WRITE_MAX as SNAPSHOT_WRITE_MAX
from poolsafe.scan.snapshots import ReparseStore, SnapshotStore
from poolsafe.scan.summaries import SummaryStore


@dataclass
class ParsedFile:
    source_file: SourceFile
    decoded: DecodedSource
    module: ModuleInfo



def _not_validated(self: cst.CSTNode) -> None:
    """`CSTNode.__post_init__` inside `unvalidated_nodes`."""


@contextmanager
def unvalidated_nodes() -> Iterator[None]:
    """Nodes built inside this scope are not validated.

    libcst validates each node as it is built (`CSTNode.__post_init__` calls
    `_validate`). The nodes its parser builds are valid by construction, and their
    validation costs some 15% of the parse (libcst's own comment there suggests
    skipping it for parsed files). A scan's checks run inside this scope: parsing,
    analysis, and the fixability check, which builds no edits. `poolsafe fix`
    builds its edits outside it, and parses each fixed file again, validated,
    before writing it. The switch is made once per scan: made per file, it costs
    what it saves, since each switch clears the attribute caches of every node
    class."""
    previous = cst.CSTNode.__dict__["__post_init__"]
    setattr(cst.CSTNode, "__post_init__", _not_validated)  # noqa: B010 (mypy: a method)
    try:
        yield
    finally:
        setattr(cst.CSTNode, "__post_init__", previous)  # noqa: B010


class Refused(Exception):
    """A file that libcst is not asked to parse (see `poolsafe.core.complexity`): the
    message is for the user."""


def parse_source(display: str, path: Path, relative: Path, text: str) -> ModuleInfo:
    """Parse and collect one module: the one place poolsafe parses a file (a check, a
    fix, the project index, the language server); `Refused` for text that would crash
    or stall the parser."""
    refusal = parse_refusal(text)
    if refusal is not None:
        raise Refused(refusal)
    tree = parse_module(text)  # (its whitespace and punctuation shared: core.shared_leaves)
    if len(text) >= TRIM_AFTER_BYTES:  # what the native parser freed (see core.heap)
        return_free_memory()
    # the walk that collects the module records its parent map too: positions and
    # the rules ask for it of every module they report on, and a walk of its own
    # cost some 4% of a dense scan
    parents: dict[int, cst.CSTNode] = {}
    module = collect_module(display, path, relative, text, tree, parents)
    remember_parents(tree, parents)
    keep_new_objects()
    return module



def parse_error(display: str, text: str, exc: Exception) -> FileError:
    """The `errors` entry for a file libcst could not parse: for a syntax error,
    Python's own message and position (`path:line:column: syntax error: ...`), which
    libcst's do not always match; libcst's where Python accepts the code."""
    if isinstance(exc, Refused):
        return FileError(display, str(exc))
    if isinstance(exc, RecursionError):
        return FileError(display, "cannot parse: too deeply nested")
    try:
        compile(text, display, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as err:
        return FileError(display, f"syntax error: {err.msg}", err.lineno, err.offset)
    except (ValueError, RecursionError, MemoryError):
        pass
    if isinstance(exc, cst.ParserSyntaxError):
        first = str(exc.message).splitlines()[0] if exc.message else "invalid syntax"
        return FileError(display, f"syntax error (libcst): {first}", exc.raw_line,
                         exc.raw_column + 1)
    return FileError(display, f"cannot parse: {type(exc).__name__}: {exc}")



class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size



def _read_limited(path: Path, max_bytes: int) -> bytes:
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _TooLarge(path.stat().st_size)
    return data



def load(source_file: SourceFile, max_bytes: int = MAX_FILE_BYTES) -> ParsedFile | FileError:
    try:
        data = _read_limited(source_file.path, max_bytes)
    except _TooLarge as exc:
        return too_large_error(source_file, exc.size, max_bytes)
    except OSError as exc:
        return read_error(source_file, exc)
    return load_data(source_file, data)



def load_data(source_file: SourceFile, data: bytes) -> ParsedFile | FileError:
    """Decode, check and parse one file's bytes."""
    try:
        decoded = decode(data)
    except SourceError as exc:
        return FileError(source_file.display, str(exc))
    try:
        module = parse_source(source_file.display, source_file.path, source_file.relative,
                              decoded.text)
    except Exception as exc:  # libcst raises several kinds on hostile input
        return parse_error(source_file.display, decoded.text, exc)
    return ParsedFile(source_file, decoded, module)



def enabled_rules(options: ScanOptions) -> list[Rule]:
    return [RULES_BY_CODE[code]() for code in enabled_codes(options.select, options.ignore)]



def positions(module: cst.Module, nodes: Iterable[cst.CSTNode],
              text: str | None = None) -> dict[int, Location]:
    """Line/column of the given nodes (computed only for files that report). With
    the module's source `text`, only the statements that hold them are rendered
    (the parent map is the one fix plans use, built once per module)."""
    parents = parent_map(module) if text is not None else None
    return {key: Location(s.start_line, s.start_column + 1, s.end_line, s.end_column + 1)
            for key, s in spans(module, nodes, parents, text).items()}



def resolved_steps(raw: RawFinding, where: dict[int, Location]) -> tuple[Step, ...]:
    """A finding's path with the positions of its nodes (a step whose node has no
    position is left out)."""
    out: list[Step] = []
    for step in raw.steps:
        if isinstance(step, Step):
            out.append(step)
        elif (loc := where.get(id(step[0]))) is not None:
            out.append(Step(loc.line, loc.column, step[1]))
    return tuple(out)


def step_nodes(raw: Iterable[RawFinding]) -> Iterator[cst.CSTNode]:
    """The nodes of the findings' paths whose positions are wanted (a resolved step
    in another module has its own)."""
    for f in raw:
        for step in f.steps:
            if not isinstance(step, Step):
                yield step[0]


def check_module(parsed: ParsedFile, index: ProjectIndex,
                 rules: list[Rule]) -> tuple[list[Finding], list[FileError]]:
    raise_if_stopped()
    ctx = FileContext(parsed.module, index)
    raw: list[RawFinding] = []
    errors: list[FileError] = []
    for rule in rules:
        try:
            raw.extend(rule.check(ctx))
        except RecursionError:
            errors.append(FileError(parsed.module.path,
                                    f"internal error in {rule.code}: code nested too deeply"))
        except Exception as exc:
            errors.append(FileError(parsed.module.path,
                                    f"internal error in {rule.code}: {type(exc).__name__}: {exc}"))
    if not raw:
        return [], errors
    try:
        where = positions(parsed.module.tree,
                          [*(f.node for f in raw), *step_nodes(raw)],
                          parsed.module.source)
    except RecursionError:
        errors.append(FileError(parsed.module.path, "internal error: nested too deeply"))
        return [], errors
    meta = {r.code: r.meta() for r in rules}
    by_code = {r.code: r for r in rules}
    findings: dict[tuple[str, int, int], Finding] = {}
    for f in raw:
        loc = where.get(id(f.node))
        if loc is None:
            continue
        m = meta[f.code]
        key = (f.code, loc.line, loc.column)
        if key in findings:
            continue
        safety = by_code[f.code].fix_safety(ctx, f)
        findings[key] = Finding(parsed.module.path, loc, f.code, m.name, f.message,
                                m.severity, safety == "safe", unsafe_fix=safety == "unsafe",
                                steps=resolved_steps(f, where))
    return list(findings.values()), errors



def _too_large(f: SourceFile, d: bytes, options: ScanOptions) -> FileError | None:
    if len(d) > options.max_file_bytes:
        return too_large_error(f, len(d), options.max_file_bytes)
    return None



def _load_checked(f: SourceFile, d: bytes, options: ScanOptions) -> ParsedFile | FileError:
    return _too_large(f, d, options) or load_data(f, d)


#: a file parsed ahead weighs this many times less in the workers' shares: what is
#: left of it is its analysis (Django cold: the share holding the large seed files,
#: parsed ahead, finished 0.4-0.5 s before the other when they weighed their bytes)
PREPARSED_SHARE = 3

#: the most source `preparse` parses ahead (the workers forked after it start with
#: its trees in their memory, some 40 times the source)
PREPARSE_BYTES = 1_000_000


def preparse(project: ProjectScope, options: ScanOptions, ready: Callable[[], bool],
             checked: Callable[[], object]) -> dict[str, ParsedFile | FileError]:
    """Reported files a cold scan checks, parsed until `ready()` (or
    `PREPARSE_BYTES`), largest first: `checked()` is the database selection (the
    indexes of the files that can have findings) once the child computing the
    selections has told it, None before, when this waits for it (or for `ready()`).
    This runs while the child goes on with the full selection, on the core it
    leaves idle; the workers forked next inherit the trees, and `check_selected`
    does not parse these files again. By absolute path, as `check_selected` names
    files."""
    files, datas = project.files, project.datas
    told = checked()
    while told is None and not ready():
        time.sleep(0.002)
        told = checked()
    if not isinstance(told, list):  # (the child answered first: nothing is left to do)
        return {}
    reported = set(project.reported)
    out: dict[str, ParsedFile | FileError] = {}
    budget = PREPARSE_BYTES
    # a module kept from an earlier run is loaded by the check, not parsed here
    store = None if options.cache_dir is None else SnapshotStore(options.cache_dir, write=False)
    with unvalidated_nodes():
        for i in sorted((i for i in told if i in reported), key=lambda i: -len(datas[i])):
            if ready() or budget <= 0:
                break
            raise_if_stopped()
            f = files[i]
            if store is not None and store.has(f.display, f.path, f.relative, datas[i]):
                continue
            out[str(f.path)] = _load_checked(f, datas[i], options)
            budget -= len(datas[i])
    # (the workers forked next would each start with the parses' freed peak)
    return_free_memory()
    return out


def scan_everything(project: ProjectScope, options: ScanOptions, result: ScanResult) -> None:
    """Without the prefilter: parse every file of the project, check the reported."""
    with unvalidated_nodes():
        _scan_everything(project, options, result)


def _scan_everything(project: ProjectScope, options: ScanOptions, result: ScanResult) -> None:
    reported = set(project.reported)
    parsed: dict[int, ParsedFile] = {}
    for i, (f, d) in enumerate(zip(project.files, project.datas, strict=True)):
        loaded = _load_checked(f, d, options)
        if isinstance(loaded, FileError):
            if i in reported:
                result.errors.append(loaded)
        else:
            parsed[i] = loaded
        if i in reported and options.progress is not None:
            options.progress("parse", f.display)
    index = ProjectIndex([p.module for p in parsed.values()], options.project)
    rules = enabled_rules(options)
    for i in project.reported:
        if i not in parsed:
            continue
        findings, errors = check_module(parsed[i], index, rules)
        if options.progress is not None:
            options.progress("check", project.files[i].display)
        result.record(findings, errors)



#: makes a selection: (paths, datas, options, modules, database_only) -> Selection
Selector = Callable[[list[str], list[bytes], ScanOptions,
                     list[tuple[tuple[str, ...], str]], bool], Selection]


def _select(paths: list[str], datas: list[bytes], options: ScanOptions,
            modules: list[tuple[tuple[str, ...], str]], database_only: bool) -> Selection:
    return select(datas, options.project, modules=modules, database_only=database_only)


class ProjectResolution:
    """A project around files that are checked from other text than the disk's (the
    fix loop's rewritten files): an index over those files plus the modules the
    prefilter selects in the rest of the project, exactly what a scan of the
    project resolves against."""

    def __init__(self, project: ProjectScope, options: ScanOptions,
                 selector: Selector | None = None) -> None:
        """`selector` (default: `prefilter.select`) makes the prefilter's selections:
        one that remembers the previous state redoes them after an edit."""
        self.options = options
        self.paths, modules, self.files_by_name = self._layout(project)
        choose = selector or _select
        self.selection = choose(self.paths, project.datas, options, modules, False)
        self.database = choose(self.paths, project.datas, options, modules, True).targets
        self.by_path = dict(zip(self.paths, zip(project.files, project.datas, strict=True),
                                strict=True))

    def _layout(self, project: ProjectScope) -> tuple[list[str], list[tuple[tuple[str, ...], str]],
                                                      dict[str, list[str]]]:
        """The files' paths, their module keys and the files of each module name (what
        depends on the list of files alone, not on their bytes)."""
        paths = [str(f.path) for f in project.files]
        modules = [module_key(f.relative) for f in project.files]
        return paths, modules, names_to_files(paths, modules)

    def _load(self, path: str) -> ModuleInfo | None:
        f, d = self.by_path[path]
        loaded = _load_checked(f, d, self.options)
        return None if isinstance(loaded, FileError) else loaded.module

    def index(self, checked: list[ModuleInfo]) -> LazyIndex:
        """An index whose modules are `checked` in place of their files on disk, and
        the other selected modules of the project, in the project's order."""
        return LazyIndex(checked, self.options.project, self._load, self.files_by_name,
                         self.selection.def_names,
                         selected=[self.paths[i] for i in sorted(
                             set(self.selection.targets).union(self.database))],
                         source=lambda path: self.by_path[path][1],
                         database=[self.paths[i] for i in self.database])



def is_module_file(name: str, text: str) -> bool:
    """Whether the in-memory file `name` is a module: a `.py` file, or a script
    without a suffix whose first line is a Python shebang (`bin/nightly-report`)."""
    return name.endswith(".py") or (
        is_script_name(name.rpartition("/")[2])
        and python_shebang(text[:SHEBANG_BYTES].encode("utf-8", "replace")))


def with_virtual_files(options: ScanOptions, files: dict[str, str]) -> ScanOptions:
    """`options` whose project carries the in-memory files that are not modules."""
    extra = {name: text for name, text in files.items() if not is_module_file(name, text)}
    if not extra:
        return options
    return dataclasses.replace(options, project=dataclasses.replace(
        options.project, virtual_files={**options.project.virtual_files, **extra}))


def scan_sources(files: dict[str, str], options: ScanOptions | None = None) -> ScanResult:
    """Scan in-memory modules (used by the rule-case harness); files that are not
    modules (`requirements.txt`) are what the project declares."""
    options = options or ScanOptions()
    result = ScanResult()
    parsed: list[ParsedFile] = []
    options = with_virtual_files(options, files)
    for name, text in files.items():
        path = Path("/virtual") / name
        if not is_module_file(name, text):
            continue
        module = parse_source(name, path, Path(name), text)
        parsed.append(ParsedFile(SourceFile(name, path, Path(name)), decode(text.encode()),
                                 module))
    index = ProjectIndex([p.module for p in parsed], options.project)
    rules = enabled_rules(options)
    for p in parsed:
        findings, errors = check_module(p, index, rules)
        result.findings.extend(findings)
        result.errors.extend(errors)
    result.findings.sort(key=Finding.sort_key)
    return result

#: source bytes one index parses before the next file's check starts a fresh index
#: (see `check_selected`): a parsed module takes some 40 times its source in
#: memory, so an index stays near 40 MB however many files a share has (the largest
#: process of a dense scan is the prefilter's child, at some 220 MB on 1,500 dense
#: modules whether this is 0.5, 1 or 2 MB; at 0.5 MB a Django worker parsed its
#: largest dependencies twice, 15% more parsing) ...
EPOCH_BYTES = 1_000_000
#: ... or this many times the most that one check parsed, if that is more: a fresh
#: index parses again what checks read in common (the project's wrappers, the
#: modules a project-wide fact reads), which must stay a small part of the parsing
EPOCH_GROWTH = 4
#: ... but never more than this much source: a process's memory follows the largest
#: epoch it held (a dropped epoch's freed pages stay with the process), and one
#: check that parses 2.2 MB let `EPOCH_GROWTH` make epochs of 8.9 MB (mlflow 3.18.0
#: cold: a worker at 386 MB; epochs of 2.2, 4.3 and 5.5 MB at 164, 230 and 289 MB).
#: What a capped epoch leaves to the next is loaded or parsed again: at 3 MB mlflow's
#: cold run with a cache peaked at 296 MB (not 382), but `--no-cache` runs took 29%
#: (mlflow) and 75% (superset) more CPU; at 6 MB, 376 MB instead of 441 MB for
#: mlflow `--no-cache` at 9% more CPU, superset's CPU unchanged (speed76)
EPOCH_MAX_BYTES = 6_000_000


def check_selected(project: ProjectScope, options: ScanOptions, selected: list[int],
                   def_names: frozenset[str], to_check: set[str],
                   files_by_name: dict[str, list[str]],
                   known_matches: dict[str, list[str]] | None = None,
                   database: list[int] | None = None,
                   preparsed: dict[str, ParsedFile | FileError] | None = None
                   ) -> CheckResults:
    """Check the files of `to_check` (absolute paths, all selected): parse them, and
    resolve against the project, whose other selected modules are parsed when a
    name or a project-wide fact reaches them (see `LazyIndex`). The result holds the
    findings, the errors (parse errors included) and the module names looked up.
    `known_matches` are pattern matches over the selected files known to hold for
    this tree (see `LazyIndex`); `database` (indexes, default: `selected`) are the
    selected files that can make a connection (`select(database_only=True)`).
    `preparsed` (see `preparse`) are files parsed already, each used once: it is
    emptied as they are (a forked worker empties its own copy).

    The index and its parsed modules are dropped, and a fresh index begun, once the
    files it parsed add up to `EPOCH_BYTES` of source (or `EPOCH_GROWTH` times the
    most one check parsed, if more): its memos are keyed by the identity of the
    trees, so they go together, and a share's memory stays bounded however many
    files it checks. A fresh index gives
    the same findings (each file's findings depend on the project, not on what an
    index parsed before: the same holds for the shares of `--jobs`); what it costs
    is parsing again what every check reads (a project's wrappers), once an index."""
    files, datas = project.files, project.datas
    paths = [str(f.path) for f in files]
    by_path = dict(zip(paths, zip(files, datas, strict=True), strict=True))
    chosen = sorted(selected)
    reported = project.reported
    own = [paths[i] for i in chosen if paths[i] in to_check]
    if options.progress is not None:
        for i in reported:
            options.progress("parse", files[i].display)
    rules = enabled_rules(options)
    db_paths = None if database is None else [paths[i] for i in database]
    parsed_ahead = preparsed if preparsed is not None else {}
    snapshots = (None if options.cache_dir is None
                 else SnapshotStore(options.cache_dir, write=len(own) <= SNAPSHOT_WRITE_MAX))
    summaries = None if options.cache_dir is None else SummaryStore(options.cache_dir)

    def check_share(share: list[str]) -> CheckResults:
        # Nothing is parsed up front: each worker parses its share of the files to
        # check (and whatever their resolution reaches, through the index), so
        # parsing runs on every core, not only in this process
        out = CheckResults()
        # which selected files a pattern matches depends on their bytes only: what
        # one epoch searched, the next need not search again
        matches = dict(known_matches or {})
        # what one epoch parsed and the next needs again is loaded, not parsed
        reparses = ReparseStore()
        epoch = _Epoch(options, by_path, files_by_name, def_names,
                       [paths[i] for i in chosen], matches, db_paths, parsed_ahead,
                       snapshots, to_check, summaries, reparses)
        heaviest = 0  # the most one check parsed
        # the bytes of the share's files not checked yet (this one included)
        left = sum(len(by_path[p][1]) for p in share)
        for path in share:
            limit = min(max(EPOCH_BYTES, EPOCH_GROWTH * heaviest), EPOCH_MAX_BYTES)
            if epoch.parsed_bytes and epoch.parsed_bytes >= limit:
                epoch.record(out)
                matches.update(epoch.index.matched)
                epoch.drop()
                epoch = _Epoch(options, by_path, files_by_name, def_names,
                               [paths[i] for i in chosen], matches, db_paths, parsed_ahead,
                               snapshots, to_check, summaries, reparses)
                release_dropped()
                return_free_memory()  # (the dropped trees' pages)
            # a module parsed again is worth keeping only for an epoch after this one
            reparses.wanted = epoch.parsed_bytes + left > limit
            left -= len(by_path[path][1])
            before = epoch.parsed_bytes
            epoch.index.module_at(path)  # through the index, so it knows the module
            loaded = epoch.load(path)
            if isinstance(loaded, FileError):
                out.errors.append(loaded)
            else:
                with epoch.index.connections_only():
                    findings, errors = check_module(loaded, epoch.index, rules)
                out.findings.extend(findings)
                out.errors.extend(errors)
            # what this file's findings may depend on: everything its epoch's index
            # looked up and searched so far, this check's and the earlier ones' (an
            # answer an earlier check computed is memoized, not looked up again)
            # (no name kept for the index: a dropped epoch's index must be freed)
            out.deps[path] = (len(out.epochs), len(epoch.index.lookups),
                              len(epoch.index.matched), epoch.index.read_all)
            heaviest = max(heaviest, epoch.parsed_bytes - before)
        epoch.record(out)
        epoch.drop()
        return out

    # the shares are balanced by the work left: a file parsed ahead costs its worker
    # only its analysis
    sizes = [len(by_path[p][1]) // (PREPARSED_SHARE if p in parsed_ahead else 1) for p in own]
    # the path comparisons of the `[*]` proofs, kept between runs with the cache
    proofs = None if options.cache_dir is None else ProofStore(options.cache_dir)
    with unvalidated_nodes(), comparisons_kept(proofs):  # (forked workers inherit them)
        return check_all(own, sizes, options.jobs, check_share)


class _Epoch:
    """An index and the files it parsed (see `check_selected`)."""

    def __init__(self, options: ScanOptions, by_path: dict[str, tuple[SourceFile, bytes]],
                 files_by_name: dict[str, list[str]], def_names: frozenset[str],
                 selected: list[str], known_matches: dict[str, list[str]] | None,
                 database: list[str] | None,
                 preparsed: dict[str, ParsedFile | FileError],
                 snapshots: SnapshotStore | None = None,
                 checked: set[str] | frozenset[str] = frozenset(),
                 summaries: SummaryStore | None = None,
                 reparses: ReparseStore | None = None) -> None:
        self.options = options
        self.by_path = by_path
        self.preparsed = preparsed
        self.snapshots = snapshots
        #: the modules this epoch's share parsed before (see `ReparseStore`)
        self.reparses = reparses
        #: the files this run checks (edited ones, most often: no snapshot is kept)
        self.checked = checked
        #: every file parsed so far, by path: the module the index hands out for a
        #: path is the one that path's findings are computed on
        self.parsed: dict[str, ParsedFile | FileError] = {}
        self.parsed_bytes = 0
        self.index = LazyIndex([], options.project, self._dependency, files_by_name,
                               def_names, selected=selected,
                               source=lambda path: by_path[path][1],
                               known_matches=known_matches, database=database)
        self.index.summaries = summaries
        self.index.place = self._place

    def load(self, path: str) -> ParsedFile | FileError:
        if path not in self.parsed:
            f, d = self.by_path[path]
            done = self.preparsed.pop(path, None)
            if done is None:
                done = self._parse(f, d)
            else:  # (parsed ahead, not analysed yet: kept as one parsed here would be)
                self._keep(f, d, done)
                if self.reparses is not None:
                    self.reparses.note_parse(path)
            self.parsed[path] = done
            self.parsed_bytes += len(d)
        return self.parsed[path]

    def _parse(self, f: SourceFile, d: bytes) -> ParsedFile | FileError:
        """`_load_checked`, or the module's snapshot: from an earlier epoch of this
        share (`ReparseStore`), else from an earlier run (see
        `poolsafe.scan.snapshots`); a module parsed here only for what other modules
        read from it is kept as one of the latter, and one parsed a second time in
        this share as one of the former."""
        store, reparses = self.snapshots, self.reparses
        path = str(f.path)
        # (a file too large to parse is never kept: it is no module)
        module = None if reparses is None else reparses.load(path)
        if module is None and store is not None:
            too_large = _too_large(f, d, self.options)
            if too_large is not None:
                return too_large
            module = store.load(f.display, f.path, f.relative, d)
        if module is not None:
            try:
                decoded = decode(d)
            except SourceError as exc:  # (it decoded when the snapshot was made)
                return FileError(f.display, str(exc))
            keep_new_objects()
            return ParsedFile(f, decoded, module)
        again = reparses is not None and reparses.note_parse(path)
        loaded = _load_checked(f, d, self.options) if store is None else load_data(f, d)
        if again and reparses is not None and isinstance(loaded, ParsedFile):
            reparses.keep(path, loaded.module)
        self._keep(f, d, loaded)
        return loaded

    def _keep(self, f: SourceFile, d: bytes, loaded: ParsedFile | FileError) -> None:
        """Keep a module just parsed as a snapshot, if it is one to keep: one parsed
        only for what other modules read from it (or any, with `keep_checked`); in a
        run too large to write snapshots of its own, any (see `SnapshotStore.store`:
        its own check's parse too, which later checks and the first `check FILE`
        after the run read)."""
        store = self.snapshots
        if store is None or not isinstance(loaded, ParsedFile):
            return
        if store.write:
            if store.keep_checked or str(f.path) not in self.checked:
                store.store(loaded.module, f.display, f.path, f.relative, d)
        else:
            store.store(loaded.module, f.display, f.path, f.relative, d, large_run=True)

    def _place(self, path: str) -> ModulePath | None:
        """Where the module in `path` is, unless its size refuses it (`LazyIndex.place`:
        the index knows from a kept summary that it parses)."""
        f, d = self.by_path[path]
        if _too_large(f, d, self.options) is not None:
            return None
        names, is_package = module_names(f.relative)
        return ModulePath(f.path, names, is_package)

    def _dependency(self, path: str) -> ModuleInfo | None:
        loaded = self.load(path)
        return None if isinstance(loaded, FileError) else loaded.module

    def drop(self) -> None:
        """Break the reference cycles of what this epoch built (a module and its
        functions point at each other; the index and this epoch too), so that the
        trees are freed by reference counting as soon as the epoch is let go: the
        full collection of `release_dropped` then walks the live objects only, not
        some forty times the source parsed (dense, 300 modules, one process: the
        collection took 0.8 s of a 16 s scan; now 0.07 s, and 0.26 s with this).
        Nothing of the epoch may be used afterwards; the findings and the lookups
        already recorded are plain data."""
        for loaded in self.parsed.values():
            if isinstance(loaded, ParsedFile):
                module = loaded.module
                for func in module.all_functions:
                    func.__dict__.clear()
                for cls in module.classes.values():
                    cls.__dict__.clear()
                module.__dict__.clear()
        self.parsed.clear()
        self.index.__dict__.clear()

    def record(self, out: CheckResults) -> None:
        """Add what the index looked up to `out` (for the cache), and the order it
        looked them up in, as one of `out.epochs` (`out.deps` counts into it)."""
        out.epochs.append((list(self.index.lookups), list(self.index.matched)))
        for name, looked_up in self.index.lookups.items():
            out.lookups.setdefault(name, looked_up)
        for key, matched in self.index.matched.items():
            out.matched.setdefault(key, matched)
        if self.index.matched:
            words = {pattern_key(p): w for p, w in spelt_words().items()}
            for key in self.index.matched:
                if key in words and key not in out.words:
                    out.words[key] = [w.decode("utf-8") for w in words[key]]
        out.read_all = out.read_all or self.index.read_all

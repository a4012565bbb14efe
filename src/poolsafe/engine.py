"""Parse each file once, build the project index, run every rule, resolve positions."""

from __future__ import annotations

import ast
import gc
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import libcst as cst

from poolsafe import __version__
from poolsafe.analysis.index import ProjectConfig, ProjectIndex
from poolsafe.analysis.module import ModuleInfo, collect_module, module_key
from poolsafe.cache import config_key, content_hash, load_entry, store_entry
from poolsafe.config import Config
from poolsafe.discovery import SourceFile
from poolsafe.model import FileError, Finding, Location, RawFinding, ScanResult, Severity
from poolsafe.parallel import CheckResults, check_all
from poolsafe.positions import spans
from poolsafe.prefilter import LazyIndex, select
from poolsafe.rules import ALL_RULES, FileContext, Rule
from poolsafe.scope import ProjectScope, ScopeSettings, build_scope, read_error
from poolsafe.source import (
    MAX_BRACKET_DEPTH,
    DecodedSource,
    SourceError,
    bracket_depth,
    decode,
)

#: libcst needs about 1 GB of memory per MB of source: larger files are reported, not parsed
MAX_FILE_BYTES = 2_000_000
#: stack and recursion limit for parsing and analysing deeply nested code
STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 60_000

T = TypeVar("T")


@dataclass
class ScanOptions:
    select: set[str] | None = None
    ignore: set[str] = field(default_factory=set)
    project: ProjectConfig = field(default_factory=ProjectConfig)
    exclude: list[re.Pattern[str]] = field(default_factory=list)
    #: called as progress(phase, path) after each file is parsed ("parse") and
    #: checked ("check"); the CLI uses it for its progress bar and file list
    progress: Callable[[str, str], None] | None = None
    #: files larger than this are reported as errors instead of parsed
    max_file_bytes: int = MAX_FILE_BYTES
    #: where the persistent cache lives (None: no cache)
    cache_dir: Path | None = None
    #: skip files that mention no database name (see poolsafe.prefilter)
    prefilter: bool = True
    #: worker processes for the check phase (see poolsafe.parallel)
    jobs: int = 1
    #: the configured exclude globs and the directory they are relative to: applied
    #: when walking a project root for resolution (`exclude` is for the named paths)
    exclude_globs: list[str] = field(default_factory=list)
    config_root: Path | None = None
    #: every file's project root (None: found for each file, see poolsafe.project)
    project_root: Path | None = None
    #: import roots, relative to the project root (`[tool.poolsafe] src`)
    src: list[str] = field(default_factory=list)
    #: absolute path -> bytes to scan instead of the file on disk (editor buffers)
    overrides: dict[Path, bytes] = field(default_factory=dict)

    def scope_settings(self) -> ScopeSettings:
        return ScopeSettings(exclude=self.exclude, exclude_globs=self.exclude_globs,
                             config_root=self.config_root, project_root=self.project_root,
                             src=self.src, overrides=self.overrides)


def scope_options(cfg: Config, excludes: list[str], project_root: str | None
                  ) -> dict[str, Any]:
    """The ScanOptions fields that say what resolution sees around the named paths."""
    return {"exclude_globs": excludes, "config_root": cfg.root, "src": cfg.src,
            "project_root": Path(project_root) if project_root else None}


@dataclass
class ParsedFile:
    source_file: SourceFile
    decoded: DecodedSource
    module: ModuleInfo


def parse_source(display: str, path: Path, relative: Path, text: str) -> ModuleInfo:
    tree = cst.parse_module(text)
    module = collect_module(display, path, relative, text, tree)
    if _trees_kept:
        gc.freeze()
    return module


#: inside `trees_kept_out_of_gc`: how deep
_trees_kept = 0


@contextmanager
def trees_kept_out_of_gc() -> Iterator[None]:
    """A scan keeps every parsed tree (millions of small objects, no reference cycles)
    until it ends, and Python's cyclic collector would walk all of them again on each
    full collection: a third of a dense scan's time. So each module is moved out of
    its sight (`gc.freeze`) once built, and handed back when the scan is done."""
    global _trees_kept
    _trees_kept += 1
    try:
        yield
    finally:
        _trees_kept -= 1
        if not _trees_kept:
            gc.unfreeze()


def parse_error(display: str, text: str, exc: Exception) -> FileError:
    """The `errors` entry for a file libcst could not parse: for a syntax error,
    Python's own message and position (`path:line:column: syntax error: ...`), which
    libcst's do not always match; libcst's where Python accepts the code."""
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


def too_large_error(source_file: SourceFile, size: int, max_bytes: int) -> FileError:
    return FileError(source_file.display, f"skipped: {size / 1e6:.1f} MB is above the "
                                          f"{max_bytes / 1e6:.1f} MB limit for one file")


def load_data(source_file: SourceFile, data: bytes) -> ParsedFile | FileError:
    """Decode, check and parse one file's bytes."""
    try:
        decoded = decode(data)
    except SourceError as exc:
        return FileError(source_file.display, str(exc))
    if "\0" in decoded.text:
        return FileError(source_file.display, "cannot parse: the file contains a NUL byte")
    depth = bracket_depth(decoded.text)
    if depth > MAX_BRACKET_DEPTH:
        return FileError(source_file.display,
                         f"cannot parse: brackets nested {depth} levels deep (too deeply "
                         f"nested; Python allows {MAX_BRACKET_DEPTH})")
    try:
        module = parse_source(source_file.display, source_file.path, source_file.relative,
                              decoded.text)
    except Exception as exc:  # libcst raises several kinds on hostile input
        return parse_error(source_file.display, decoded.text, exc)
    return ParsedFile(source_file, decoded, module)


def enabled_rules(options: ScanOptions) -> list[Rule]:
    rules = []
    for rule_cls in ALL_RULES:
        code = rule_cls.code
        selected = options.select is None or any(code.startswith(s) for s in options.select)
        ignored = any(code.startswith(s) for s in options.ignore)
        if selected and not ignored:
            rules.append(rule_cls())
    return rules


def positions(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[int, Location]:
    """Line/column of the given nodes (computed only for files that report)."""
    return {key: Location(s.start_line, s.start_column + 1, s.end_line, s.end_column + 1)
            for key, s in spans(module, nodes).items()}


def check_module(parsed: ParsedFile, index: ProjectIndex,
                 rules: list[Rule]) -> tuple[list[Finding], list[FileError]]:
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
        where = positions(parsed.module.tree, (f.node for f in raw))
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
        fixable = by_code[f.code].safe_fix_available(ctx, f)
        findings[key] = Finding(parsed.module.path, loc, f.code, m.name, f.message,
                                m.severity, fixable)
    return list(findings.values()), errors


def run_deep(fn: Callable[[], T]) -> T:
    """Run `fn` in a thread with a large stack and a raised recursion limit, so that
    deeply nested code makes a RecursionError (reported per file) rather than a crash
    of the interpreter."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the calling thread
            box["error"] = exc

    old_limit = sys.getrecursionlimit()
    old_stack = threading.stack_size()
    sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
    try:
        try:
            threading.stack_size(STACK_BYTES)
        except (ValueError, RuntimeError):  # platform without adjustable stacks
            sys.setrecursionlimit(max(old_limit, 10_000))
            return fn()
        thread = threading.Thread(target=target, name="poolsafe-scan")
        threading.stack_size(old_stack)
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    return cast(T, box["value"])


def scan(paths: list[str], options: ScanOptions | None = None) -> ScanResult:
    opts = options or ScanOptions()

    def run() -> ScanResult:
        with trees_kept_out_of_gc():
            return _scan(paths, opts)

    return run_deep(run)


def _scan(paths: list[str], options: ScanOptions) -> ScanResult:
    """Report the files of `paths`; resolve each against its whole project."""
    result = ScanResult()
    scope = build_scope(paths, options.scope_settings())
    result.errors.extend(scope.errors)
    for project in scope.projects:
        if options.prefilter:
            _scan_selected(project, options, result)
        else:
            _scan_everything(project, options, result)
    result.files_scanned = scope.reported_count
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=lambda e: e.path)
    return result


def _too_large(f: SourceFile, d: bytes, options: ScanOptions) -> FileError | None:
    if len(d) > options.max_file_bytes:
        return too_large_error(f, len(d), options.max_file_bytes)
    return None


def _load_checked(f: SourceFile, d: bytes, options: ScanOptions) -> ParsedFile | FileError:
    return _too_large(f, d, options) or load_data(f, d)


def _record(result: ScanResult, findings: list[Finding], errors: list[FileError]) -> None:
    result.findings.extend(findings)
    for e in errors:
        result.errors.append(e)
        if e.message.startswith("internal error"):
            result.internal_errors += 1


def _scan_everything(project: ProjectScope, options: ScanOptions, result: ScanResult) -> None:
    """Without the prefilter: parse every file of the project, check the reported."""
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
        _record(result, findings, errors)


def _scan_selected(project: ProjectScope, options: ScanOptions, result: ScanResult) -> None:
    """Read every file of the project, parse those the prefilter selects (and, on
    demand, the modules their analysis resolves), check the selected reported ones.

    A project's cache entry holds the findings of every file checked so far, with
    what they were computed from (see poolsafe.cache); a later run answers each file
    it reports from there while nothing that file's findings depend on has changed."""
    files, datas, reported = project.files, project.datas, project.reported
    paths = [str(f.path) for f in files]
    display = {paths[i]: files[i].display for i in reported}
    key = tree = ""
    entry: dict[str, Any] | None = None
    if options.cache_dir is not None:
        key = _cache_key(options, project.root)
        tree = _tree_digest(files, datas)
        entry = load_entry(options.cache_dir, key)
        if entry is not None and entry.get("tree") == tree:
            wanted = [paths[i] for i in reported if paths[i] in entry.get("selected", {})]
            cached = _cached_files(entry, wanted, display)
            if cached is not None:  # nothing changed: not even the selection is needed
                _cached_result(result, cached, [files[i] for i in reported], options)
                return
    modules = [module_key(f.relative) for f in files]
    selection = select(datas, options.project, modules=modules)
    chosen = set(selection.targets)
    by_path = dict(zip(paths, zip(files, datas, strict=True), strict=True))
    files_by_name = _names_to_files(paths, modules)
    hashes: dict[str, str] = {}

    def hash_of(path: str) -> str:
        if path not in hashes:
            hashes[path] = content_hash(by_path[path][1])
        return hashes[path]

    selected = {paths[i]: hash_of(paths[i]) for i in selection.targets}
    wanted = [paths[i] for i in reported if i in chosen]
    known: dict[str, Any] = {}
    if entry is not None and (entry.get("tree") == tree or _still_valid(
            entry, selected, files_by_name, hash_of)):
        known = entry.get("files", {})
    cached = _cached_files({"files": known}, [p for p in wanted if p in known], display)
    if cached is None:
        known, cached = {}, ScanResult()
    to_check = {p for p in wanted if p not in known}
    if not to_check:  # the edits touched nothing these findings depend on
        if options.cache_dir is not None and entry is not None:
            store_entry(options.cache_dir, key, {**entry, "tree": tree})
        _cached_result(result, cached, [files[i] for i in reported], options)
        return

    def load_dependency(path: str) -> ModuleInfo | None:
        f, d = by_path[path]
        loaded = _load_checked(f, d, options)
        return None if isinstance(loaded, FileError) else loaded.module

    own: list[ParsedFile] = []
    new_errors: list[FileError] = []
    for i in sorted(chosen):
        if paths[i] not in to_check:
            continue  # parsed when a fact needs it (see LazyIndex.modules_mentioning)
        loaded = _load_checked(files[i], datas[i], options)
        if isinstance(loaded, FileError):
            new_errors.append(loaded)
        else:
            own.append(loaded)
    if options.progress is not None:
        for i in reported:
            options.progress("parse", files[i].display)
    index = LazyIndex([p.module for p in own], options.project, load_dependency,
                      files_by_name, selection.def_names,
                      selected=[paths[i] for i in sorted(chosen)],
                      source=lambda path: by_path[path][1])
    rules = enabled_rules(options)

    def check_share(share: list[ParsedFile]) -> CheckResults:
        out = CheckResults()
        for p in share:
            with index.connections_only():
                findings, errors = check_module(p, index, rules)
            out.findings.extend(findings)
            out.errors.extend(errors)
        out.lookups = index.lookups
        return out

    checked = check_all(own, [len(p.module.source) for p in own], options.jobs, check_share)
    for name, looked_up in checked.lookups.items():
        index.lookups.setdefault(name, looked_up)
    new_errors.extend(checked.errors)
    _record(result, cached.findings, cached.errors)
    _record(result, checked.findings, new_errors)
    if options.cache_dir is not None:
        previous = entry.get("lookups", {}) if known and entry is not None else {}
        store_entry(options.cache_dir, key, {
            "tree": tree,
            "selected": selected,
            "lookups": {**previous, **{name: [[p, hash_of(p)] for p in looked_up]
                                       for name, looked_up in index.lookups.items()}},
            "files": {**known, **_files_json(to_check, checked.findings, new_errors,
                                             {files[i].display: paths[i] for i in reported})},
        })
    if options.progress is not None:
        for i in reported:
            options.progress("check", files[i].display)


def _names_to_files(paths: list[str], modules: list[tuple[tuple[str, ...], str]]
                    ) -> dict[str, list[str]]:
    """Module name -> the files (absolute paths) that may be that module."""
    out: dict[str, list[str]] = {}
    for path, (names, _) in zip(paths, modules, strict=True):
        for n in names:
            out.setdefault(n, []).append(path)
    return out


class ProjectResolution:
    """A project around files that are checked from other text than the disk's (the
    fix loop's rewritten files): an index over those files plus the modules the
    prefilter selects in the rest of the project, exactly what a scan of the
    project resolves against."""

    def __init__(self, project: ProjectScope, options: ScanOptions) -> None:
        self.options = options
        self.paths = [str(f.path) for f in project.files]
        modules = [module_key(f.relative) for f in project.files]
        self.selection = select(project.datas, options.project, modules=modules)
        self.by_path = dict(zip(self.paths, zip(project.files, project.datas, strict=True),
                                strict=True))
        self.files_by_name = _names_to_files(self.paths, modules)

    def _load(self, path: str) -> ModuleInfo | None:
        f, d = self.by_path[path]
        loaded = _load_checked(f, d, self.options)
        return None if isinstance(loaded, FileError) else loaded.module

    def index(self, checked: list[ModuleInfo]) -> LazyIndex:
        """An index whose modules are `checked` in place of their files on disk, and
        the other selected modules of the project, in the project's order."""
        return LazyIndex(checked, self.options.project, self._load, self.files_by_name,
                         self.selection.def_names,
                         selected=[self.paths[i] for i in sorted(self.selection.targets)],
                         source=lambda path: self.by_path[path][1])


def _tree_digest(files: list[SourceFile], datas: list[bytes]) -> str:
    """Every file's path and content: equal digests mean an unchanged tree."""
    return content_hash("\n".join(f"{f.path}\0{content_hash(d)}"
                                  for f, d in zip(files, datas, strict=True)).encode())


def _cached_result(result: ScanResult, cached: ScanResult, files: list[SourceFile],
                   options: ScanOptions) -> None:
    _record(result, cached.findings, cached.errors)
    if options.progress is not None:
        for f in files:
            options.progress("parse", f.display)
            options.progress("check", f.display)


def _cache_key(options: ScanOptions, root: Path) -> str:
    rules = sorted(r.code for r in enabled_rules(options))
    project = options.project
    return config_key((__version__, str(root), rules, sorted(project.acquire.items()),
                       sorted(project.release), sorted(project.session_dependencies),
                       options.max_file_bytes))


def _finding_json(f: Finding) -> list[Any]:
    loc = f.location
    return [loc.line, loc.column, loc.end_line, loc.end_column, f.code, f.name, f.message,
            f.severity.value, f.fixable]


def _files_json(paths: set[str], findings: list[Finding], errors: list[FileError],
                abs_of: dict[str, str]) -> dict[str, Any]:
    """Per checked file (absolute path): its findings and errors, for the cache."""
    out: dict[str, Any] = {p: {"findings": [], "errors": []} for p in paths}
    for f in findings:
        out[abs_of.get(f.path, f.path)]["findings"].append(_finding_json(f))
    for e in errors:
        out[abs_of.get(e.path, e.path)]["errors"].append([e.message, e.line, e.column])
    return out


def _still_valid(entry: dict[str, Any], selected: dict[str, str],
                 files_by_name: dict[str, list[str]], hash_of: Callable[[str], str]) -> bool:
    """Whether an entry made from another tree still holds: the same selected files
    with the same contents (project-wide facts read them all), and every module name
    resolution looked up still answered by the same files, unchanged."""
    if entry.get("selected") != selected:
        return False
    for name, recorded in entry.get("lookups", {}).items():
        if [p for p, _ in recorded] != files_by_name.get(name, []):
            return False
        if any(hash_of(p) != h for p, h in recorded):
            return False
    return True


def _cached_files(entry: dict[str, Any], paths: list[str],
                  display: dict[str, str]) -> ScanResult | None:
    """The cached findings and errors of `paths` (None if one of them is not in the
    entry, or the entry is malformed)."""
    out = ScanResult()
    files = entry.get("files")
    if not isinstance(files, dict):
        return None
    try:
        for path in paths:
            record = files.get(path)
            if record is None:
                return None
            shown = display.get(path, path)
            for line, col, end_line, end_col, code, name, message, sev, fixable in record[
                    "findings"]:
                out.findings.append(Finding(shown, Location(line, col, end_line, end_col),
                                            code, name, message, Severity(sev), fixable))
            for message, line, column in record["errors"]:
                out.errors.append(FileError(shown, message, line, column))
    except (KeyError, TypeError, ValueError):
        return None
    return out


def scan_sources(files: dict[str, str], options: ScanOptions | None = None) -> ScanResult:
    """Scan in-memory modules (used by the rule-case harness)."""
    options = options or ScanOptions()
    result = ScanResult()
    parsed: list[ParsedFile] = []
    for name, text in files.items():
        path = Path("/virtual") / name
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

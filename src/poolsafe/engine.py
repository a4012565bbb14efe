"""Parse each file once, build the project index, run every rule, resolve positions."""

from __future__ import annotations

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
from libcst.metadata import MetadataWrapper, PositionProvider

from poolsafe import __version__
from poolsafe.analysis.index import ProjectConfig, ProjectIndex
from poolsafe.analysis.module import ModuleInfo, collect_module, module_key
from poolsafe.cache import config_key, content_hash, load_entry, store_entry
from poolsafe.discovery import SourceFile, discover
from poolsafe.model import FileError, Finding, Location, RawFinding, ScanResult, Severity
from poolsafe.parallel import CheckResults, check_all
from poolsafe.prefilter import LazyIndex, select
from poolsafe.rules import ALL_RULES, FileContext, Rule
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


def _parse_error_message(exc: Exception) -> str:
    if isinstance(exc, cst.ParserSyntaxError):
        first = str(exc.message).splitlines()[0] if exc.message else "invalid syntax"
        return f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: {first}"
    if isinstance(exc, RecursionError):
        return "too deeply nested to parse"
    return f"cannot parse: {type(exc).__name__}: {exc}"


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


def read_error(source_file: SourceFile, exc: OSError) -> FileError:
    """The `errors` entry for a file that could not be read."""
    if isinstance(exc, FileNotFoundError):
        return FileError(source_file.display, "file disappeared before it could be read")
    if isinstance(exc, IsADirectoryError):
        return FileError(source_file.display, "is a directory")
    return FileError(source_file.display, f"cannot read: {exc.strerror or exc}")


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
    except RecursionError as exc:
        return FileError(source_file.display, _parse_error_message(exc))
    except Exception as exc:  # libcst raises several kinds on hostile input
        return FileError(source_file.display, _parse_error_message(exc))
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
    """Line/column of the given nodes; metadata is computed only for files that report."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    ranges = wrapper.resolve(PositionProvider)
    out: dict[int, Location] = {}
    for node in nodes:
        r = ranges.get(node)
        if r is not None:
            out[id(node)] = Location(r.start.line, r.start.column + 1, r.end.line,
                                     r.end.column + 1)
    return out


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
        fixable = m.fixable and safe_fix_available(ctx, by_code[f.code], f)
        findings[key] = Finding(parsed.module.path, loc, f.code, m.name, f.message,
                                m.severity, fixable)
    return list(findings.values()), errors


def safe_fix_available(ctx: FileContext, rule: Rule, finding: RawFinding) -> bool:
    """Whether `poolsafe fix` (without --unsafe-fixes) has a fix for this finding: the
    `[*]` that `check` shows and the `fixable` field of the JSON output."""
    from poolsafe.fix.api import FixPlan
    from poolsafe.fix.apply import extra_fixers, fixer_for

    fixer = fixer_for(rule, extra_fixers())
    if fixer is None:
        return False
    try:
        outcome = fixer(ctx, finding)
    except Exception:  # a fixer that cannot plan offers no fix; `fix` reports it
        return False
    return isinstance(outcome, FixPlan) and outcome.safe


def parse_all(paths: list[str], options: ScanOptions,
              result: ScanResult) -> list[ParsedFile]:
    parsed: list[ParsedFile] = []
    for item in discover(paths, excluded=options.exclude):
        if isinstance(item, str):
            result.errors.append(FileError(item.split(":", 1)[0], item.split(": ", 1)[-1]))
            continue
        loaded = load(item, options.max_file_bytes)
        if options.progress is not None:
            options.progress("parse", item.display)
        if isinstance(loaded, FileError):
            result.errors.append(loaded)
        else:
            parsed.append(loaded)
    return parsed


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
    if options.prefilter:
        return _scan_selected(paths, options)
    result = ScanResult()
    parsed = parse_all(paths, options, result)
    index = ProjectIndex([p.module for p in parsed], options.project)
    rules = enabled_rules(options)
    for p in parsed:
        findings, errors = check_module(p, index, rules)
        if options.progress is not None:
            options.progress("check", p.source_file.display)
        result.findings.extend(findings)
        for e in errors:
            result.errors.append(e)
            if e.message.startswith("internal error"):
                result.internal_errors += 1
    result.files_scanned = len(parsed)
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=lambda e: e.path)
    return result


def _read(source_file: SourceFile) -> bytes | FileError:
    try:
        return source_file.path.read_bytes()
    except OSError as exc:
        return read_error(source_file, exc)


def _scan_selected(paths: list[str], options: ScanOptions) -> ScanResult:
    """Read every file, parse only those the prefilter selects (and, on demand, the
    modules their analysis resolves), check the selected ones."""
    result = ScanResult()
    files: list[SourceFile] = []
    datas: list[bytes] = []
    for item in discover(paths, excluded=options.exclude):
        if isinstance(item, str):
            result.errors.append(FileError(item.split(":", 1)[0], item.split(": ", 1)[-1]))
            continue
        data = _read(item)
        if isinstance(data, FileError):
            result.errors.append(data)
            continue
        files.append(item)
        datas.append(data)
    key = tree = ""
    if options.cache_dir is not None:
        key = _cache_key(options)
        tree = _tree_digest(files, datas)
        entry = load_entry(options.cache_dir, key)
        cached = (_cached_findings(entry, {str(f.path): f.display for f in files})
                  if entry is not None and entry.get("tree") == tree else None)
        if cached is not None:  # nothing changed: not even the selection is needed
            return _cached_result(result, cached, files, options)
    modules = [module_key(f.relative) for f in files]
    selection = select(datas, options.project, modules=modules)
    chosen = set(selection.targets)
    by_path = {str(f.path): (f, d) for f, d in zip(files, datas, strict=True)}
    files_by_name: dict[str, list[str]] = {}
    for f, (names, _) in zip(files, modules, strict=True):
        for n in names:
            files_by_name.setdefault(n, []).append(str(f.path))

    hashes: dict[str, str] = {}

    def hash_of(path: str) -> str:
        if path not in hashes:
            hashes[path] = content_hash(by_path[path][1])
        return hashes[path]

    if options.cache_dir is not None:
        selected_hashes = {str(files[i].path): hash_of(str(files[i].path))
                           for i in selection.targets}
        entry = load_entry(options.cache_dir, key)
        cached = _from_cache(entry, selected_hashes, files_by_name, hash_of,
                             {str(f.path): f.display for f in files})
        if cached is not None:  # the edits touched no file that the findings depend on
            assert entry is not None
            store_entry(options.cache_dir, key, {**entry, "tree": tree})
            return _cached_result(result, cached, files, options)

    def too_large(f: SourceFile, d: bytes) -> FileError | None:
        if len(d) > options.max_file_bytes:
            return too_large_error(f, len(d), options.max_file_bytes)
        return None

    def load_dependency(path: str) -> ModuleInfo | None:
        f, d = by_path[path]
        if too_large(f, d) is not None:
            return None
        loaded = load_data(f, d)
        return None if isinstance(loaded, FileError) else loaded.module

    parsed: list[ParsedFile] = []
    for i, (f, d) in enumerate(zip(files, datas, strict=True)):
        if i in chosen:
            loaded = too_large(f, d) or load_data(f, d)
            if isinstance(loaded, FileError):
                result.errors.append(loaded)
            else:
                parsed.append(loaded)
        if options.progress is not None:
            options.progress("parse", f.display)
    index = LazyIndex([p.module for p in parsed], options.project, load_dependency,
                      files_by_name, selection.def_names)
    rules = enabled_rules(options)
    first_error = len(result.errors)

    def check_share(share: list[ParsedFile]) -> CheckResults:
        out = CheckResults()
        for p in share:
            with index.connections_only():
                findings, errors = check_module(p, index, rules)
            out.findings.extend(findings)
            out.errors.extend(errors)
        out.lookups = index.lookups
        return out

    checked = check_all(parsed, [len(p.module.source) for p in parsed], options.jobs,
                        check_share)
    for name, paths in checked.lookups.items():
        index.lookups.setdefault(name, paths)
    analysed = ScanResult(findings=checked.findings, errors=checked.errors)
    analysed.internal_errors = sum(e.message.startswith("internal error")
                                   for e in checked.errors)
    selected_paths = {f.display for i, f in enumerate(files) if i in chosen}
    parse_errors = [e for e in result.errors[first_error:] if e.path in selected_paths]
    result.findings.extend(analysed.findings)
    result.errors.extend(analysed.errors)
    result.internal_errors += analysed.internal_errors
    if options.cache_dir is not None:
        display_to_abs = {f.display: str(f.path) for f in files}
        store_entry(options.cache_dir, key, {
            "tree": tree,
            "selected": {str(files[i].path): hash_of(str(files[i].path))
                         for i in selection.targets},
            "lookups": {name: [[p, hash_of(p)] for p in paths]
                        for name, paths in index.lookups.items()},
            "findings": [_finding_json(f, display_to_abs) for f in analysed.findings],
            "errors": [[display_to_abs.get(e.path, e.path), e.message]
                       for e in [*parse_errors, *analysed.errors]],
            "internal_errors": analysed.internal_errors,
        })
    if options.progress is not None:
        for f in files:
            options.progress("check", f.display)
    result.files_scanned = len(files)
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=lambda e: e.path)
    return result


def _tree_digest(files: list[SourceFile], datas: list[bytes]) -> str:
    """Every file's path and content: equal digests mean an unchanged tree."""
    return content_hash("\n".join(f"{f.path}\0{content_hash(d)}"
                                  for f, d in zip(files, datas, strict=True)).encode())


def _cached_result(result: ScanResult, cached: ScanResult, files: list[SourceFile],
                   options: ScanOptions) -> ScanResult:
    result.findings.extend(cached.findings)
    result.errors.extend(cached.errors)
    result.internal_errors += cached.internal_errors
    if options.progress is not None:
        for f in files:
            options.progress("parse", f.display)
            options.progress("check", f.display)
    result.files_scanned = len(files)
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=lambda e: e.path)
    return result


def _cache_key(options: ScanOptions) -> str:
    rules = sorted(r.code for r in enabled_rules(options))
    project = options.project
    return config_key((__version__, rules, sorted(project.acquire.items()),
                       sorted(project.release), sorted(project.session_dependencies),
                       options.max_file_bytes))


def _finding_json(f: Finding, display_to_abs: dict[str, str]) -> list[Any]:
    loc = f.location
    return [display_to_abs.get(f.path, f.path), loc.line, loc.column, loc.end_line,
            loc.end_column, f.code, f.name, f.message, f.severity.value, f.fixable]


def _from_cache(entry: dict[str, Any] | None, selected: dict[str, str],
                files_by_name: dict[str, list[str]], hash_of: Callable[[str], str],
                display: dict[str, str]) -> ScanResult | None:
    """The cached result, when the selection and every recorded lookup still hold."""
    if entry is None or entry.get("selected") != selected:
        return None
    for name, recorded in entry.get("lookups", {}).items():
        current = files_by_name.get(name, [])
        if [p for p, _ in recorded] != current:
            return None
        if any(hash_of(p) != h for p, h in recorded):
            return None
    return _cached_findings(entry, display)


def _cached_findings(entry: dict[str, Any], display: dict[str, str]) -> ScanResult | None:
    """The findings and errors a cache entry holds (None if it is malformed)."""
    out = ScanResult()
    try:
        for path, line, col, end_line, end_col, code, name, message, sev, fixable in entry[
                "findings"]:
            out.findings.append(Finding(display.get(path, path),
                                        Location(line, col, end_line, end_col), code, name,
                                        message, Severity(sev), fixable))
        for path, message in entry["errors"]:
            out.errors.append(FileError(display.get(path, path), message))
        out.internal_errors = int(entry.get("internal_errors", 0))
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

"""A scan: what it reports and resolves (poolsafe.scope), what the cache already
knows (poolsafe.cache), what the prefilter selects, and then, only for the files
that need it, parsing and checking (poolsafe.checking, imported on demand, so a
cached answer or a tree without database code loads no parser)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from poolsafe import __version__
from poolsafe.cache import config_key, content_hash, load_entry, store_entry
from poolsafe.discovery import SourceFile
from poolsafe.gc_scope import trees_kept_out_of_gc
from poolsafe.model import FileError, Finding, Location, ScanResult, Severity
from poolsafe.options import MAX_FILE_BYTES, ScanOptions, scope_options
from poolsafe.prefilter import select
from poolsafe.project import DEPLOYMENT_RULES, dependency_signature, module_key, names_to_files
from poolsafe.rule_codes import enabled_codes
from poolsafe.scope import ProjectScope, build_scope

__all__ = ["MAX_FILE_BYTES", "ScanOptions", "run_deep", "scan", "scan_sources",
           "scope_options"]

#: stack and recursion limit for parsing and analysing deeply nested code
STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 60_000

T = TypeVar("T")
































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
            from poolsafe.checking import scan_everything

            scan_everything(project, options, result)
    result.files_scanned = scope.reported_count
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=lambda e: e.path)
    return result










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
    files_by_name = names_to_files(paths, modules)
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

    from poolsafe.checking import check_selected  # the parser, only when needed

    checked = check_selected(project, options, selection.targets, selection.def_names,
                             to_check, files_by_name)
    new_errors = checked.errors
    result.record(cached.findings, cached.errors)
    result.record(checked.findings, new_errors)
    if options.cache_dir is not None:
        previous = entry.get("lookups", {}) if known and entry is not None else {}
        store_entry(options.cache_dir, key, {
            "tree": tree,
            "selected": selected,
            "lookups": {**previous, **{name: [[p, hash_of(p)] for p in looked_up]
                                       for name, looked_up in checked.lookups.items()}},
            "files": {**known, **_files_json(to_check, checked.findings, new_errors,
                                             {files[i].display: paths[i] for i in reported})},
        })
    if options.progress is not None:
        for i in reported:
            options.progress("check", files[i].display)






def _tree_digest(files: list[SourceFile], datas: list[bytes]) -> str:
    """Every file's path and content: equal digests mean an unchanged tree."""
    return content_hash("\n".join(f"{f.path}\0{content_hash(d)}"
                                  for f, d in zip(files, datas, strict=True)).encode())


def _cached_result(result: ScanResult, cached: ScanResult, files: list[SourceFile],
                   options: ScanOptions) -> None:
    result.record(cached.findings, cached.errors)
    if options.progress is not None:
        for f in files:
            options.progress("parse", f.display)
            options.progress("check", f.display)


def _cache_key(options: ScanOptions, root: Path) -> str:
    rules = enabled_codes(options.select, options.ignore)
    project = options.project
    return config_key((__version__, str(root), rules, sorted(project.acquire.items()),
                       sorted(project.release), sorted(project.session_dependencies),
                       options.max_file_bytes, dependency_signature(root),
                       _deployment_signature(rules, root)))


def _deployment_signature(rules: list[str], root: Path) -> object:
    """The deployment files (compose, manifests, `.env*`) that PS208 and PS210 read:
    their findings are stale when one of them changes. Not walked when those rules
    are off."""
    if not any(code in rules for code in DEPLOYMENT_RULES):
        return None
    from poolsafe.analysis.deploy_files import deployment_signature

    return deployment_signature(root)


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
    """Scan in-memory modules (the rule-case harness)."""
    from poolsafe.checking import scan_sources as scan_in_memory

    return scan_in_memory(files, options)

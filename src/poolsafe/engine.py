"""Parse each file once, build the project index, run every rule, resolve positions."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from poolsafe.analysis.index import ProjectConfig, ProjectIndex
from poolsafe.analysis.module import ModuleInfo, collect_module
from poolsafe.discovery import SourceFile, discover
from poolsafe.model import FileError, Finding, Location, RawFinding, ScanResult
from poolsafe.rules import ALL_RULES, FileContext, Rule
from poolsafe.source import DecodedSource, SourceError, decode


@dataclass
class ScanOptions:
    select: set[str] | None = None
    ignore: set[str] = field(default_factory=set)
    project: ProjectConfig = field(default_factory=ProjectConfig)
    exclude: list[re.Pattern[str]] = field(default_factory=list)
    #: called as progress(phase, path) after each file is parsed ("parse") and
    #: checked ("check"); the CLI uses it for its progress bar and file list
    progress: Callable[[str, str], None] | None = None


@dataclass
class ParsedFile:
    source_file: SourceFile
    decoded: DecodedSource
    module: ModuleInfo


def parse_source(display: str, path: Path, relative: Path, text: str) -> ModuleInfo:
    tree = cst.parse_module(text)
    return collect_module(display, path, relative, text, tree)


def _parse_error_message(exc: Exception) -> str:
    if isinstance(exc, cst.ParserSyntaxError):
        first = str(exc.message).splitlines()[0] if exc.message else "invalid syntax"
        return f"syntax error at line {exc.raw_line}, column {exc.raw_column + 1}: {first}"
    if isinstance(exc, RecursionError):
        return "too deeply nested to parse"
    return f"cannot parse: {type(exc).__name__}: {exc}"


def load(source_file: SourceFile) -> ParsedFile | FileError:
    try:
        data = source_file.path.read_bytes()
    except FileNotFoundError:
        return FileError(source_file.display, "file disappeared before it could be read")
    except IsADirectoryError:
        return FileError(source_file.display, "is a directory")
    except OSError as exc:
        return FileError(source_file.display, f"cannot read: {exc.strerror or exc}")
    try:
        decoded = decode(data)
    except SourceError as exc:
        return FileError(source_file.display, str(exc))
    if "\0" in decoded.text:
        return FileError(source_file.display, "cannot parse: the file contains a NUL byte")
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
    findings: dict[tuple[str, int, int], Finding] = {}
    for f in raw:
        loc = where.get(id(f.node))
        if loc is None:
            continue
        m = meta[f.code]
        key = (f.code, loc.line, loc.column)
        findings.setdefault(key, Finding(parsed.module.path, loc, f.code, m.name, f.message,
                                         m.severity, m.fixable))
    return list(findings.values()), errors


def parse_all(paths: list[str], options: ScanOptions,
              result: ScanResult) -> list[ParsedFile]:
    parsed: list[ParsedFile] = []
    for item in discover(paths, excluded=options.exclude):
        if isinstance(item, str):
            result.errors.append(FileError(item.split(":", 1)[0], item.split(": ", 1)[-1]))
            continue
        loaded = load(item)
        if options.progress is not None:
            options.progress("parse", item.display)
        if isinstance(loaded, FileError):
            result.errors.append(loaded)
        else:
            parsed.append(loaded)
    return parsed


def scan(paths: list[str], options: ScanOptions | None = None) -> ScanResult:
    options = options or ScanOptions()
    result = ScanResult()
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 10_000))
    try:
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
    finally:
        sys.setrecursionlimit(old_limit)
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=lambda e: e.path)
    return result


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

"""Baselines: accept today's findings, fail on new ones.

A finding is matched by its file, its code, the qualified name of the innermost
function (or class) around it, and the stripped text of its line: not by line
number, so code that moves stays baselined. Matching is by multiset: two identical
entries cover two findings. Entries that match nothing in a scanned file are stale
(the leak was fixed or the line changed).
"""

from __future__ import annotations

import ast
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from poolsafe.core.model import Finding
from poolsafe.core.project import find_project_root, project_relative
from poolsafe.core.safe_write import write_atomic
from poolsafe.core.source import SourceError, decode

FORMAT_VERSION = 1


class BaselineError(Exception):
    """A baseline file that cannot be read; the message is one line for the user."""


@dataclass(frozen=True, order=True)
class Key:
    path: str
    code: str
    function: str
    source: str


class SourceInfo:
    """Lines and scopes of the files that findings point at, read once each."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}
        self._scopes: dict[str, list[tuple[int, int, int, str]]] = {}

    def lines(self, path: str) -> list[str]:
        if path not in self._lines:
            try:
                with open(path, "rb") as fh:
                    text = decode(fh.read()).text
            except (OSError, SourceError):
                text = ""
            self._lines[path] = text.splitlines()
        return self._lines[path]

    def line_text(self, path: str, line: int) -> str:
        lines = self.lines(path)
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    def _scope_list(self, path: str) -> list[tuple[int, int, int, str]]:
        if path not in self._scopes:
            scopes: list[tuple[int, int, int, str]] = []
            try:
                tree = ast.parse("\n".join(self.lines(path)) + "\n")
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
            if tree is not None:
                _collect_scopes(tree, "", 0, scopes)
            self._scopes[path] = scopes
        return self._scopes[path]

    def function(self, path: str, line: int) -> str:
        """Qualified name of the innermost def or class containing `line` ("" at
        module level)."""
        best: tuple[int, str] | None = None
        for start, end, depth, qualname in self._scope_list(path):
            if start <= line <= end and (best is None or depth > best[0]):
                best = (depth, qualname)
        return best[1] if best else ""


def _collect_scopes(node: ast.AST, prefix: str, depth: int,
                    out: list[tuple[int, int, int, str]]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            qualname = f"{prefix}.{child.name}" if prefix else child.name
            start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
            out.append((start, child.end_lineno or child.lineno, depth + 1, qualname))
            _collect_scopes(child, qualname, depth + 1, out)
        else:
            _collect_scopes(child, prefix, depth, out)


def _rel(path: str, base: Path) -> str:
    """The key's path: relative to the baseline's directory (with `..` outside it)."""
    inside = project_relative(path, base)
    if inside is not None:
        return inside
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(base))).as_posix()


def key_of(finding: Finding, base: Path, info: SourceInfo) -> Key:
    return Key(_rel(finding.path, base), finding.code, info.function(finding.path, finding.line),
               info.line_text(finding.path, finding.line))


@dataclass
class Baseline:
    path: Path
    entries: list[dict[str, str]]

    @property
    def base(self) -> Path:
        return self.path.parent

    def keys(self) -> Counter[Key]:
        return Counter(Key(e["path"], e["code"], e["function"], e["source"])
                       for e in self.entries)


def read(path: Path) -> Baseline:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found "
                            f"(create it with `poolsafe baseline {path}`)") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not a poolsafe baseline (invalid JSON: {exc})") from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if (not isinstance(entries, list) or not isinstance(doc, dict)
            or doc.get("poolsafe-baseline") != FORMAT_VERSION):
        raise BaselineError(f"{path}: not a poolsafe baseline (expected "
                            f"{{\"poolsafe-baseline\": {FORMAT_VERSION}, \"entries\": [...]}})")
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not all(
                isinstance(e.get(k), str) for k in ("path", "code", "function", "source")):
            raise BaselineError(f"{path}: entry {i} needs string fields path, code, function, "
                                "source")
    return Baseline(path, entries)


#: suffixes of files that are never a baseline (writing one over them loses code)
_SOURCE_SUFFIXES = (".py", ".pyi", ".pyw", ".pyx", ".toml", ".cfg", ".ini", ".txt", ".md")


def overwrite_refusal(path: Path) -> str | None:
    """Why writing a baseline to `path` could destroy something (None when it cannot):
    a source or configuration file by its name, or an existing file that is not a
    poolsafe baseline. `poolsafe baseline --force` writes anyway."""
    if path.suffix.lower() in _SOURCE_SUFFIXES:
        return f"{path} looks like a source or configuration file, not a baseline"
    if not os.path.lexists(path):
        return None
    if path.is_symlink() or not path.is_file():
        return f"{path} exists and is not a regular file"
    try:
        read(path)
    except BaselineError:
        return f"{path} exists and is not a poolsafe baseline"
    return None


def write(path: Path, findings: Iterable[Finding], info: SourceInfo | None = None) -> int:
    info = info or SourceInfo()
    base = path.parent
    entries = []
    for f in findings:
        k = key_of(f, base, info)
        entries.append({"path": k.path, "code": k.code, "function": k.function,
                        "source": k.source, "message": f.message})
    entries.sort(key=lambda e: (e["path"], e["code"], e["function"], e["source"], e["message"]))
    doc = {"poolsafe-baseline": FORMAT_VERSION, "entries": entries}
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    # atomically, never through a link nor outside the project the file is in, with
    # the mode the umask gives a new file (an existing baseline keeps its mode)
    write_atomic(path, text.encode("utf-8"), find_project_root(path))
    return len(entries)


@dataclass
class Match:
    kept: list[Finding]
    baselined: list[Finding]
    #: entries not matched by any finding, in files that were scanned or are gone
    stale: list[Key]


def apply(baseline: Baseline, findings: list[Finding], scanned: Iterable[str],
          info: SourceInfo) -> Match:
    remaining = baseline.keys()
    kept: list[Finding] = []
    baselined: list[Finding] = []
    for f in findings:
        k = key_of(f, baseline.base, info)
        if remaining[k] > 0:
            remaining[k] -= 1
            baselined.append(f)
        else:
            kept.append(f)
    scanned_rel = {_rel(p, baseline.base) for p in scanned}
    stale = []
    for k, n in sorted(remaining.items()):
        if n <= 0:
            continue
        if k.path in scanned_rel or not (baseline.base / k.path).exists():
            stale.extend([k] * n)
    return Match(kept, baselined, stale)

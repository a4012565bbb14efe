"""`--format gitlab`: GitLab's Code Quality report (a JSON array of issues, the
CodeClimate subset GitLab reads): `description`, `check_name`, `fingerprint`,
`severity` and `location` (`path`, `lines.begin`/`lines.end`).

The fingerprint identifies a finding across runs: its file, code, message and the
text of its line, with a counter for identical ones, so a finding keeps its
fingerprint when code above it moves.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from poolsafe.core.model import Finding, Severity
from poolsafe.report import ReportContext

#: GitLab's severities: info, minor, major, critical, blocker
SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor"}


def _line_text(path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def issues(ctx: ReportContext) -> list[dict[str, Any]]:
    out = []
    seen: dict[str, int] = {}
    cache: dict[str, list[str]] = {}
    for f in ctx.result.findings:
        out.append(_issue(f, seen, cache))
    for e in ctx.result.errors:
        line = e.line or 1
        out.append({
            "description": f"poolsafe could not check this file: {e.message}",
            "check_name": "poolsafe-error",
            "fingerprint": _fingerprint(f"{e.path}\0error\0{e.message}", seen),
            "severity": "critical",
            "location": {"path": e.path.replace("\\", "/"),
                         "lines": {"begin": line, "end": line}},
        })
    return out


def _issue(f: Finding, seen: dict[str, int], cache: dict[str, list[str]]) -> dict[str, Any]:
    key = f"{f.path}\0{f.code}\0{f.message}\0{_line_text(f.path, f.line, cache)}"
    return {
        "description": f"{f.code} {f.message}",
        "check_name": f.code,
        "fingerprint": _fingerprint(key, seen),
        "severity": SEVERITY.get(f.severity, "minor"),
        "location": {"path": f.path.replace("\\", "/"),
                     "lines": {"begin": f.location.line, "end": f.location.end_line}},
    }


def _fingerprint(key: str, seen: dict[str, int]) -> str:
    n = seen.get(key, 0)
    seen[key] = n + 1
    return hashlib.sha256(f"{key}\0{n}".encode()).hexdigest()[:32]


def render(ctx: ReportContext) -> str:
    return json.dumps(issues(ctx), indent=2) + "\n"

"""`--format json`: the object documented in DESIGN.md ("Interfaces")."""

from __future__ import annotations

import json
from typing import Any

from poolsafe import __version__
from poolsafe.core.model import FileError, ScanResult, Step


def as_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "version": __version__,
        "findings": [
            {
                "path": f.path,
                "line": f.location.line,
                "column": f.location.column,
                "end_line": f.location.end_line,
                "end_column": f.location.end_column,
                "code": f.code,
                "name": f.name,
                "message": f.message,
                "severity": str(f.severity),
                "fixable": f.fixable,
                # the path that shows it: the checkout, what raises or returns early,
                # how the function is left; a step in another file (a wrapper's
                # definition) names it in `path`
                "steps": [_step(s) for s in f.steps],
                # `check --runtime`: the test that leaked it (null: not confirmed)
                "confirmed": f.confirmed,
                # `check --runtime`: each time a pool ran dry while this checkout
                # held one of its connections
                "runtime_notes": list(f.runtime_notes),
            }
            for f in result.findings
        ],
        "errors": [_error(e) for e in result.errors],
    }


def _step(s: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"line": s.line, "column": s.column, "message": s.label}
    if s.path is not None:
        out["path"] = s.path
    return out


def render(result: ScanResult) -> str:
    return json.dumps(as_dict(result), indent=2) + "\n"


def _error(e: FileError) -> dict[str, object]:
    """`path` and `message`; `line` and `column` where the problem has a place."""
    out: dict[str, object] = {"path": e.path, "message": e.message}
    if e.line is not None:
        out.update(line=e.line, column=e.column or 1)
    return out

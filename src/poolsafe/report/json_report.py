"""`--format json`: the object documented in DESIGN.md ("Interfaces")."""

from __future__ import annotations

import json
from typing import Any

from poolsafe import __version__
from poolsafe.model import ScanResult


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
            }
            for f in result.findings
        ],
        "errors": [{"path": e.path, "message": e.message} for e in result.errors],
    }


def render(result: ScanResult) -> str:
    return json.dumps(as_dict(result), indent=2) + "\n"

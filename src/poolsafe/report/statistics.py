"""`--statistics`: how many findings of each code."""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from poolsafe.core.model import Finding, ScanResult


def rows(result: ScanResult) -> list[dict[str, Any]]:
    """One row per code. `fixable`: whether `poolsafe fix` fixes any of its findings
    (the `[*]` they show), not only the first; `fixable_count`: how many."""
    counts = Counter(f.code for f in result.findings)
    fixable = Counter(f.code for f in result.findings if f.fixable)
    first: dict[str, Finding] = {}
    for f in result.findings:
        first.setdefault(f.code, f)
    return [{"code": code, "name": first[code].name, "count": n,
             "severity": str(first[code].severity), "fixable": fixable[code] > 0,
             "fixable_count": fixable[code]}
            for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def render_json(result: ScanResult) -> str:
    return json.dumps(rows(result), indent=2) + "\n"


def render_text(result: ScanResult, console: Console) -> None:
    data = rows(result)
    if not data:
        return
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("count", justify="right")
    table.add_column("code")
    table.add_column("name")
    table.add_column("severity")
    table.add_column("fixable")
    for r in data:
        table.add_row(str(r["count"]), r["code"], r["name"], r["severity"],
                      "[*]" if r["fixable"] else "")
    if console.is_terminal:
        console.print(table)
        return
    plain = Console(file=io.StringIO(), width=1000, no_color=True)
    with plain.capture() as captured:
        plain.print(table)
    for line in captured.get().splitlines():
        console.print(line.rstrip(), markup=False, highlight=False, soft_wrap=True)

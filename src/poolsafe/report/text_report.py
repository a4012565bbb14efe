"""`--format text`: findings with a short code frame, and a summary line (rich)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from poolsafe.model import Finding, ScanResult

_SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow"}


def _frame(lines: list[str], f: Finding) -> list[str]:
    n = f.location.line
    out = []
    for i in range(max(1, n - 1), min(len(lines), n + 1) + 1):
        marker = ">" if i == n else " "
        out.append(f"  {marker} {i:>4} | {lines[i - 1].rstrip()}")
        if i == n:
            width = max(1, (f.location.end_column - f.location.column)
                        if f.location.end_line == n else len(lines[i - 1].rstrip())
                        - f.location.column + 1)
            out.append("         | " + " " * (f.location.column - 1) + "^" * width)
    return out


def render(result: ScanResult, console: Console) -> None:
    cache: dict[str, list[str]] = {}
    for f in result.findings:
        style = _SEVERITY_STYLE.get(str(f.severity), "bold")
        console.print(
            f"[bold]{escape(f.path)}[/]:{f.line}:{f.column}: [{style}]{f.code}[/] "
            f"[dim]{f.severity}[/] {escape(f.message)}"
            + (" [cyan]\\[*][/]" if f.fixable else ""),
            highlight=False,
            soft_wrap=True,
        )
        if f.path not in cache:
            try:
                cache[f.path] = Path(f.path).read_text(encoding="utf-8",
                                                       errors="replace").splitlines()
            except OSError:
                cache[f.path] = []
        for line in _frame(cache[f.path], f):
            console.print(escape(line), style="dim", highlight=False, soft_wrap=True)
    for e in result.errors:
        console.print(f"[bold]{escape(e.path)}[/]: [bold magenta]error[/] {escape(e.message)}",
                      highlight=False, soft_wrap=True)
    console.print(summary_line(result), highlight=False)


def summary_line(result: ScanResult) -> str:
    n = len(result.findings)
    fixable = sum(1 for f in result.findings if f.fixable)
    files = len({f.path for f in result.findings})
    parts = []
    if n:
        parts.append(f"Found {n} finding{'s' if n != 1 else ''} in {files} "
                     f"file{'s' if files != 1 else ''} ({result.files_scanned} scanned)")
        if fixable:
            parts.append(f"{fixable} fixable with `poolsafe fix` [*]")
    else:
        parts.append(f"All clear: no findings in {result.files_scanned} "
                     f"file{'s' if result.files_scanned != 1 else ''}")
    if result.errors:
        parts.append(f"{len(result.errors)} file{'s' if len(result.errors) != 1 else ''} "
                     "could not be checked")
    return "; ".join(parts) + "."

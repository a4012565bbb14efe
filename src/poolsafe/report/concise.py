"""`--format concise`: one line per finding, `path:line:col: CODE [*] message` (`[*]`:
`poolsafe fix` fixes it)."""

from __future__ import annotations

from poolsafe.core.model import Finding
from poolsafe.report import ReportContext


def _code(f: Finding) -> str:
    return f"{f.code} [*]" if f.fixable else f.code


def render(ctx: ReportContext) -> str:
    out = [f"{f.path}:{f.line}:{f.column}: {_code(f)} {f.message}" for f in ctx.result.findings]
    out.extend(f"{e.where}: error: {e.message}" for e in ctx.result.errors)
    if ctx.show_suppressed:
        out.extend(f"{s.finding.path}:{s.finding.line}:{s.finding.column}: {_code(s.finding)} "
                   f"{s.finding.message} (suppressed by {s.reason})" for s in ctx.suppressed)
    return "".join(line + "\n" for line in out)

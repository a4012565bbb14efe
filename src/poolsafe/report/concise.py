"""`--format concise`: one line per finding, `path:line:col: CODE message`."""

from __future__ import annotations

from poolsafe.report import ReportContext


def render(ctx: ReportContext) -> str:
    out = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in ctx.result.findings]
    out.extend(f"{e.where}: error: {e.message}" for e in ctx.result.errors)
    if ctx.show_suppressed:
        out.extend(f"{s.finding.path}:{s.finding.line}:{s.finding.column}: {s.finding.code} "
                   f"{s.finding.message} (suppressed by {s.reason})" for s in ctx.suppressed)
    return "".join(line + "\n" for line in out)

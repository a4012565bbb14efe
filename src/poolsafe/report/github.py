"""`--format github`: GitHub Actions workflow commands, which annotate the lines of
a pull request (`::error file=...,line=...::message`)."""

from __future__ import annotations

from poolsafe.report import ReportContext


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(ctx: ReportContext) -> str:
    out = []
    for f in ctx.result.findings:
        level = "warning" if str(f.severity) == "warning" else "error"
        loc = f.location
        props = (f"file={_prop(f.path)},line={loc.line},col={loc.column},"
                 f"endLine={loc.end_line},endColumn={loc.end_column},"
                 f"title={_prop(f'{f.code} {f.name}')}")
        out.append(f"::{level} {props}::{_data(f.message)}")
    for e in ctx.result.errors:
        place = f",line={e.line},col={e.column or 1}" if e.line is not None else ""
        out.append(f"::error file={_prop(e.path)}{place},title=poolsafe::{_data(e.message)}")
    return "".join(line + "\n" for line in out)

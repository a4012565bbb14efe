"""From poolsafe's findings, fixes and rule pages to the protocol's diagnostics,
text edits and hover contents (positions in the client's units: UTF-16 by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from poolsafe.core.model import FileError, Finding, Severity
from poolsafe.report.rule_docs import anchor
from poolsafe.scan.config import Config
from poolsafe.scan.suppression_edits import LineEdit

SOURCE = "poolsafe"

_SEVERITY = {Severity.ERROR: types.DiagnosticSeverity.Error,
             Severity.WARNING: types.DiagnosticSeverity.Warning}


def docs_base() -> str | None:
    """Where docs/rules.md is: the repository's copy next to a source checkout (an
    editable install), else None (the client may name one: `docsUrl`)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "docs" / "rules.md"
        if candidate.is_file() and (parent / "pyproject.toml").is_file():
            return candidate.as_uri()
    return None


def rule_href(code: str, base: str | None) -> str | None:
    return f"{base}#{anchor(code)}" if base else None


def _position(lines: list[str], codec: PositionCodec, line: int, column: int
              ) -> types.Position:
    """A one-based line and column (code points) as a client position."""
    line0 = max(0, line - 1)
    if line0 >= len(lines):
        return types.Position(line=line0, character=max(0, column - 1))
    return codec.position_to_client_units(lines, ServerTextPosition(line0, max(0, column - 1)))


def related(f: Finding, uri: str, lines: list[str], codec: PositionCodec
            ) -> list[types.DiagnosticRelatedInformation] | None:
    """The finding's path, for the editor to show under the diagnostic and jump to."""
    if not f.steps:
        return None
    out = []
    for s in f.steps:
        if s.path is None:
            at = _position(lines, codec, s.line, s.column)
            where, label = uri, f"{s.line}: {s.label}"
        else:
            # a wrapper's definition in another file: its `def` line starts with
            # indentation, so code points are the client's units there
            at = types.Position(line=max(0, s.line - 1), character=max(0, s.column - 1))
            where, label = Path(s.path).resolve().as_uri(), f"{s.path}:{s.line}: {s.label}"
        out.append(types.DiagnosticRelatedInformation(
            location=types.Location(uri=where, range=types.Range(start=at, end=at)),
            message=label))
    return out


def diagnostic(f: Finding, index: int, version: int | None, lines: list[str],
               codec: PositionCodec, cfg: Config, docs: str | None,
               uri: str = "") -> types.Diagnostic:
    severity = cfg.severity.get(f.code, f.severity)
    loc = f.location
    href = rule_href(f.code, docs)
    data: dict[str, Any] = {"code": f.code, "index": index, "version": version,
                            "fixable": f.fixable, "line": loc.line}
    return types.Diagnostic(
        range=types.Range(start=_position(lines, codec, loc.line, loc.column),
                          end=_position(lines, codec, loc.end_line, loc.end_column)),
        message=f.message,
        severity=_SEVERITY.get(severity, types.DiagnosticSeverity.Warning),
        code=f.code,
        code_description=types.CodeDescription(href=href) if href else None,
        source=SOURCE,
        related_information=related(f, uri, lines, codec) if uri else None,
        data=data)


def error_diagnostic(e: FileError, lines: list[str], codec: PositionCodec
                     ) -> types.Diagnostic:
    """A file poolsafe could not parse: one diagnostic where the problem is."""
    line, column = e.line or 1, e.column or 1
    start = _position(lines, codec, line, column)
    message = e.message
    prefix = f"{e.path}:"
    if message.startswith(prefix):
        message = message[len(prefix):].lstrip()
    return types.Diagnostic(range=types.Range(start=start, end=start), message=message,
                            severity=types.DiagnosticSeverity.Error, source=SOURCE)


def _offset_position(text: str, offset: int) -> tuple[int, int]:
    """A character offset of `text` as a zero-based line and column (code points)."""
    before = text[:offset]
    line = before.count("\n")
    column = offset - (before.rfind("\n") + 1)
    return line, column


def text_edit(old: str, new: str, codec: PositionCodec) -> types.TextEdit | None:
    """One edit that turns `old` into `new`: the span between their common prefix
    and common suffix."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    limit = min(len(old), len(new)) - start
    suffix = 0
    while suffix < limit and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    lines = old.splitlines(keepends=True) or [""]
    start_pos = _offset_position(old, start)
    end_pos = _offset_position(old, len(old) - suffix)
    return types.TextEdit(
        range=types.Range(
            start=codec.position_to_client_units(lines, ServerTextPosition(*start_pos)),
            end=codec.position_to_client_units(lines, ServerTextPosition(*end_pos))),
        new_text=new[start:len(new) - suffix])


def line_edit(edit: LineEdit, lines: list[str], codec: PositionCodec) -> types.TextEdit:
    start = codec.position_to_client_units(lines, ServerTextPosition(edit.line - 1, edit.start))
    end = codec.position_to_client_units(lines, ServerTextPosition(edit.line - 1, edit.end))
    return types.TextEdit(range=types.Range(start=start, end=end), new_text=edit.new_text)

"""Writing suppression comments: `# poolsafe: ignore[PS102]` (an editor's "Ignore
PS102 on this line") or `# noqa: PS102` (`poolsafe check --add-noqa`), merged into
a comment the line already has, and removing unused codes from one (PS001's fix).

Every edit is found from the file's tokens, so a `#` inside a string is never taken
for a comment, and a line that cannot take a comment (it ends inside a multi-line
string, or continues with a backslash) gets none.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from poolsafe.scan.suppression import _DIRECTIVE, _NOQA


@dataclass(frozen=True)
class LineEdit:
    """Replace columns [start, end) (code points, zero-based) of `line` (one-based)."""

    line: int
    start: int
    end: int
    new_text: str


def _tokens(text: str) -> list[tokenize.TokenInfo] | None:
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None


def _ps_codes(words: str) -> list[str]:
    return [w for w in (w.strip() for w in re.split(r"[\s,]+", words)) if w]


def suppression_edit(text: str, line: int, codes: Iterable[str], *,
                     noqa: bool = False) -> LineEdit | None:
    """The edit that makes `line` of `text` suppress `codes`, or None when it already
    does or cannot take a comment."""
    wanted = sorted({c.upper() for c in codes})
    tokens = _tokens(text)
    if tokens is None or not wanted:
        return None
    comment: tokenize.TokenInfo | None = None
    end_of_line: tokenize.TokenInfo | None = None
    for tok in tokens:
        if tok.type == tokenize.STRING and tok.start[0] <= line < tok.end[0]:
            return None  # the line ends inside a string
        if tok.start[0] != line:
            continue
        if tok.type == tokenize.COMMENT:
            comment = tok
        elif tok.type in (tokenize.NEWLINE, tokenize.NL) and end_of_line is None:
            end_of_line = tok
    if comment is not None:
        return _merge(comment, wanted, noqa)
    if end_of_line is None:
        return None  # a backslash continuation, or the end of the file
    source_line = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
    code_end = len(source_line[:end_of_line.start[1]].rstrip())
    directive = _directive(wanted, noqa)
    return LineEdit(line, code_end, end_of_line.start[1], f"  {directive}")


def _directive(codes: list[str], noqa: bool) -> str:
    return f"# noqa: {', '.join(codes)}" if noqa else f"# poolsafe: ignore[{', '.join(codes)}]"


def _merge(comment: tokenize.TokenInfo, wanted: list[str], noqa: bool) -> LineEdit | None:
    line, col = comment.start
    body = comment.string
    m = _DIRECTIVE.search(body)
    if m is not None:
        if m.group(1) is None:
            return None  # a bare `# poolsafe: ignore` covers every code
        have = _ps_codes(m.group(1))
        missing = [c for c in wanted if c not in {h.upper() for h in have}]
        if not missing:
            return None
        return LineEdit(line, col + m.start(), col + m.end(),
                        f"# poolsafe: ignore[{', '.join([*have, *missing])}]")
    n = _NOQA.search(body)
    if n is not None and noqa:
        if n.group(1) is None:
            return None  # a bare noqa comment covers every code
        listed = n.group(1).rstrip()
        have = _ps_codes(listed)
        missing = [c for c in wanted if c not in {h.upper() for h in have}]
        if not missing:
            return None
        end = n.start(1) + len(listed)
        return LineEdit(line, col + n.start(), col + end, f"# noqa: {', '.join([*have, *missing])}")
    if n is not None and n.group(1) is None:
        return None  # a bare noqa comment suppresses poolsafe findings too
    return LineEdit(line, col + len(body), col + len(body), f"  {_directive(wanted, noqa)}")


def removal_edit(text: str, line: int, unused: Iterable[str] | None) -> LineEdit | None:
    """The edit that drops `unused` codes (None: the whole comment) from the
    suppression comment on `line`: the whole comment goes when no code is left, and
    the rest of a comment that says more (`# noqa: E501`) stays."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    comment = next((t for t in tokens if t.type == tokenize.COMMENT and t.start[0] == line),
                   None)
    if comment is None:
        return None
    line_no, col = comment.start
    body = comment.string
    drop = None if unused is None else {c.upper() for c in unused}
    m = _DIRECTIVE.search(body)
    kind = "ignore"
    if m is None:
        m = _NOQA.search(body)
        kind = "noqa"
    if m is None:
        return None
    start, end = m.start(), m.end()
    replacement = ""
    if drop is not None and m.group(1) is not None:
        listed = m.group(1) if kind == "ignore" else m.group(1).rstrip()
        if kind == "noqa":
            end = m.start(1) + len(listed)
        kept = [c for c in _ps_codes(listed) if c.upper() not in drop]
        if kept:
            replacement = (f"# poolsafe: ignore[{', '.join(kept)}]" if kind == "ignore"
                           else f"# noqa: {', '.join(kept)}")
    if replacement:
        return LineEdit(line_no, col + start, col + end, replacement)
    rest = (body[:start] + body[end:]).strip()
    if rest in ("", "#"):
        # the whole comment, with the spaces before it
        source_line = text.splitlines()[line_no - 1]
        code_end = len(source_line[:col].rstrip())
        return LineEdit(line_no, code_end, col + len(body), "")
    # another comment shares the token (a noqa for E501 before a poolsafe ignore)
    before = body[:start].rstrip()
    after = body[end:].strip()
    if not before:
        new = after if after.startswith("#") else f"# {after}"
    else:
        new = f"{before}  {after}".rstrip() if after else before
    return LineEdit(line_no, col, col + len(body), new)


def apply_line_edits(text: str, edits: Iterable[LineEdit]) -> str:
    """`text` with the edits made (at most one per line is expected)."""
    lines = text.splitlines(keepends=True)
    for e in sorted(edits, key=lambda e: (e.line, e.start), reverse=True):
        if not 1 <= e.line <= len(lines):
            continue
        raw = lines[e.line - 1]
        body = raw.rstrip("\r\n")
        ending = raw[len(body):]
        lines[e.line - 1] = body[:e.start] + e.new_text + body[e.end:] + ending
    return "".join(lines)

"""The prose of Python source, found over its bytes without parsing: comments, and
strings that are statements by themselves (docstrings, and any other string
standing alone on its logical line, which Python evaluates and discards).

A database word there (`# MySQL needs this`, a docstring naming `create_engine`) is
no database code: the prefilter does not let it make a file a seed (see
`poolsafe.scan.prefilter.is_seed`). Large libraries that talk about databases in their
comments (Django names MySQL in the comments and docstrings of some 25 modules)
are otherwise checked in full for nothing.

One regular expression finds the comments and strings left to right, so that a
`#` inside a string and a quote inside a comment are read as Python reads them;
the brackets of the code before a string tell whether it stands at statement
level. It answers for valid Python 3 source as `tokenize` does (a property test
compares the two), and never fails on anything else.
"""

from __future__ import annotations

import re

#: a comment, or a string without its prefix (a triple-quoted string left open runs
#: to the end, as `tokenize` would have it before it fails); every branch begins
#: with a literal, so `re` skips ahead to the next `#` or quote at C speed
_LEXEME = re.compile(
    rb"\#[^\r\n]*"
    rb"|'''(?:[^'\\]++|\\.|'(?!''))*+(?:'''|\Z)"
    rb'|"""(?:[^"\\]++|\\.|"(?!""))*+(?:"""|\Z)'
    rb"|'(?:[^'\\\r\n]++|\\.)*+'"
    rb'|"(?:[^"\\\r\n]++|\\.)*+"',
    re.S)

#: what may follow a string that ends its statement: blanks, then a line end, a
#: comment, a `;` or the end of the source
_STATEMENT_END = re.compile(rb"[ \t\f]*(?:[\r\n#;]|\Z)")

_PREFIX_LETTERS = frozenset(b"rRbBuUfF")
_INDENT = frozenset(b" \t\f")
_LINE_END = frozenset(b"\r\n")

#: every byte but a line end made a space (a blanked span keeps its lines)
_BLANK = bytes(c if c in b"\r\n" else 32 for c in range(256))


def prose_spans(data: bytes) -> list[tuple[int, int]]:
    """The `(start, end)` byte offsets of each comment and each string that is a
    statement by itself, prefix included (an f-string never is prose: it runs the
    code it holds), in order."""
    if b"#" not in data and b"'" not in data and b'"' not in data:
        return []
    lexemes = [m.span() for m in _LEXEME.finditer(data)]
    spans: list[tuple[int, int]] = []
    code: bytes | None = None  # `data` with every lexeme blanked, made when needed
    depth = counted = 0  # the brackets left open by the code before `counted`
    # where comments end: a backslash that ends a comment continues no line
    comment_ends = {end for start, end in lexemes if data[start] == 35}
    for start, end in lexemes:
        if data[start] == 35:  # `#`
            spans.append((start, end))
            continue
        first = _prefix_start(data, start)
        if (first < 0 or not _starts_a_line(data, first, comment_ends)
                or _STATEMENT_END.match(data, end) is None):
            continue
        if code is None:
            code = _code_only(data, lexemes)
        depth = max(0, depth + _brackets(code[counted:first]))
        counted = first
        if depth == 0:
            spans.append((first, end))
    return spans


def without_prose(data: bytes) -> bytes:
    """`data` with its prose (`prose_spans`) made blanks: the same length, the same
    line ends, so every offset and line of the code is where it was (`data`
    itself when it has none)."""
    spans = prose_spans(data)
    if not spans:
        return data
    parts: list[bytes] = []
    end = 0
    for start, stop in spans:
        parts.append(data[end:start])
        parts.append(data[start:stop].translate(_BLANK))
        end = stop
    parts.append(data[end:])
    return b"".join(parts)


def _prefix_start(data: bytes, quote: int) -> int:
    """Where the string whose quote is at `quote` begins, its prefix letters
    included (`rb"..."`), or -1 for an f-string. (Letters that end a longer word,
    `elif"x"`, are taken for a prefix too: such a string starts no line.)"""
    first = quote
    while first > 0 and quote - first < 2 and data[first - 1] in _PREFIX_LETTERS:
        first -= 1
    return -1 if b"f" in data[first:quote].lower() else first


def _code_only(data: bytes, lexemes: list[tuple[int, int]]) -> bytes:
    """`data` with each of `lexemes` (comments and strings) made NUL bytes."""
    parts: list[bytes] = []
    end = 0
    for start, stop in lexemes:
        parts.append(data[end:start])
        parts.append(bytes(stop - start))
        end = stop
    parts.append(data[end:])
    return b"".join(parts)


def _brackets(code: bytes) -> int:
    """How many more brackets `code` opens than it closes."""
    return (code.count(b"(") + code.count(b"[") + code.count(b"{")
            - code.count(b")") - code.count(b"]") - code.count(b"}"))


def _starts_a_line(data: bytes, at: int, comment_ends: set[int] | frozenset[int] = frozenset()
                   ) -> bool:
    """Whether only indentation comes before `at` on its line, and the line before
    does not continue into it with a backslash (one that ends a comment, whose end is
    in `comment_ends`, continues nothing)."""
    line = at
    while line > 0 and data[line - 1] in _INDENT:
        line -= 1
    if line == 0:
        return True
    if data[line - 1] not in _LINE_END:
        return False
    # the character before the previous line's end (`\r\n` is one end)
    before = line - 2 if line >= 2 and data[line - 2:line] == b"\r\n" else line - 1
    return before <= 0 or data[before - 1] != 92 or before in comment_ends  # a backslash

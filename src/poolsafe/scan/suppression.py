"""`# poolsafe: ignore[PS102]` comments, and Ruff-style `# noqa: PS102` / bare `# noqa`:
read from the file's tokens (so a `#` inside a string is never mistaken for one) and
applied to findings after the scan. A `# noqa` that names only other tools' codes
(`# noqa: E501`) is not poolsafe's."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from poolsafe.core.source import SourceError, decode

_DIRECTIVE = re.compile(r"#\s*poolsafe\s*:\s*ignore\b(?:\s*\[([^\]]*)\])?", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa\b(?:\s*:\s*([\w\s,]+))?", re.IGNORECASE)
#: the words a file needs for `parse_comments` to find anything (a cheap pre-check)
MARKERS = ("poolsafe", "noqa")


@dataclass
class IgnoreComment:
    line: int
    column: int
    #: None: every code (a bare `# poolsafe: ignore`)
    codes: frozenset[str] | None
    #: the codes (or "*" for a bare ignore) that suppressed at least one finding
    used: set[str] = field(default_factory=set)
    #: written as a noqa comment rather than `poolsafe: ignore`
    noqa: bool = False

    @property
    def text(self) -> str:
        if self.noqa:
            return "# noqa" if self.codes is None else f"# noqa: {', '.join(sorted(self.codes))}"
        if self.codes is None:
            return "# poolsafe: ignore"
        return f"# poolsafe: ignore[{', '.join(sorted(self.codes))}]"

    def covers(self, code: str) -> bool:
        return self.codes is None or code in self.codes


def parse_comments(text: str) -> dict[int, IgnoreComment]:
    """Ignore directives by line. Tokenizing stops quietly at an error (the scan
    reports unparsable files on its own)."""
    out: dict[int, IgnoreComment] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type != tokenize.COMMENT:
                continue
            line = tok.start[0]
            m = _DIRECTIVE.search(tok.string)
            if m:
                codes: frozenset[str] | None = None
                if m.group(1) is not None:
                    codes = frozenset(c.strip().upper() for c in m.group(1).split(",")
                                      if c.strip())
                out[line] = IgnoreComment(line, tok.start[1] + m.start() + 1, codes)
                continue
            m = _NOQA.search(tok.string)
            if m:
                noqa_codes = _noqa_codes(m.group(1))
                if noqa_codes != frozenset():
                    out[line] = IgnoreComment(line, tok.start[1] + m.start() + 1, noqa_codes,
                                              noqa=True)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return out


def _noqa_codes(listed: str | None) -> frozenset[str] | None:
    """None for a bare `# noqa`; poolsafe's codes among those listed (empty when it
    names only other tools' codes: then it is not poolsafe's)."""
    if listed is None:
        return None
    words = (w.strip().upper() for w in re.split(r"[\s,]+", listed))
    return frozenset(w for w in words if re.fullmatch(r"PS\d{3}", w))


def _mentions_in_bytes(data: bytes) -> bool:
    lower = data.lower()
    return any(marker in lower for marker in _MARKER_BYTES)


def mentions_directive(text: str) -> bool:
    """Whether `text` may hold a suppression comment (before tokenizing it)."""
    lower = text.lower()
    return any(marker in lower for marker in MARKERS)


#: `MARKERS` as bytes, for `read_comments`' test before decoding
_MARKER_BYTES = tuple(m.encode() for m in MARKERS)


def read_comments(path: str, data: bytes | None = None) -> dict[int, IgnoreComment]:
    """The suppression comments of the file at `path`, by line; from `data` when
    given (the bytes a scan read), else read from the file."""
    try:
        if data is None:
            with open(path, "rb") as fh:
                data = fh.read()
        if b"coding" not in data and not _mentions_in_bytes(data):
            # without a coding cookie the file is UTF-8 (or nothing that decodes),
            # where the markers' letters are single bytes and no other character
            # lower-cases to one: no marker in the bytes, none in the text (most
            # files of a report with thousands of findings, decoded for nothing)
            return {}
        text = decode(data).text
    except (OSError, SourceError):
        return {}
    if not mentions_directive(text):
        return {}
    return parse_comments(text)

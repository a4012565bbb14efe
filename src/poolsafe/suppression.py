"""`# poolsafe: ignore[PS102]` comments: read from the file's tokens (so a `#` inside a
string is never mistaken for one) and applied to findings after the scan."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from poolsafe.source import SourceError, decode

_DIRECTIVE = re.compile(r"#\s*poolsafe\s*:\s*ignore\b(?:\s*\[([^\]]*)\])?", re.IGNORECASE)


@dataclass
class IgnoreComment:
    line: int
    column: int
    #: None: every code (a bare `# poolsafe: ignore`)
    codes: frozenset[str] | None
    #: the codes (or "*" for a bare ignore) that suppressed at least one finding
    used: set[str] = field(default_factory=set)

    @property
    def text(self) -> str:
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
            m = _DIRECTIVE.search(tok.string)
            if not m:
                continue
            codes: frozenset[str] | None = None
            if m.group(1) is not None:
                codes = frozenset(c.strip().upper() for c in m.group(1).split(",") if c.strip())
            line = tok.start[0]
            out[line] = IgnoreComment(line, tok.start[1] + m.start() + 1, codes)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return out


def read_comments(path: str) -> dict[int, IgnoreComment]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        text = decode(data).text
    except (OSError, SourceError):
        return {}
    if "poolsafe" not in text.lower():
        return {}
    return parse_comments(text)

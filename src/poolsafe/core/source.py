"""Reading Python source the way the interpreter does (PEP 263 cookies, BOM)."""

from __future__ import annotations

import io
import itertools
import tokenize
from dataclasses import dataclass

#: CPython's tokenizer refuses more than this many nested brackets (MAXLEVEL)
MAX_BRACKET_DEPTH = 200
_BRACKET_STEP = {ord("("): 1, ord("["): 1, ord("{"): 1, ord(")"): -1, ord("]"): -1,
                 ord("}"): -1}
_KEEP_BRACKETS = bytes(range(256)).translate(None, b"()[]{}")


@dataclass(frozen=True)
class DecodedSource:
    text: str
    encoding: str
    bom: bool
    newline: str


class SourceError(Exception):
    """A file that cannot be read or decoded; the message is for the user."""


def decode(data: bytes) -> DecodedSource:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"cannot determine the encoding: {exc.msg}") from None
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        where = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        raise SourceError(f"cannot decode as {encoding}{where}: {reason}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    newline = "\r\n" if "\r\n" in text else ("\r" if "\r" in text else "\n")
    return DecodedSource(text=text, encoding=encoding, bom=bom, newline=newline)


#: what a file that cannot be parsed because of one NUL byte is told
NUL_MESSAGE = "cannot parse: the file contains a NUL byte"


def undecodable(data: bytes) -> str | None:
    """Why `data` is no Python source at the byte level (a NUL byte, bytes its
    encoding cannot decode: a binary file, Latin-1 read as UTF-8), or None. ASCII
    without a coding cookie in its first two lines is decided without decoding."""
    if b"\0" in data:
        return NUL_MESSAGE
    end = data.find(b"\n", data.find(b"\n") + 1)
    if data.isascii() and b"coding" not in (data if end < 0 else data[:end]):
        return None
    try:
        decode(data)
    except SourceError as exc:
        return str(exc)
    return None


def encode(source: DecodedSource, text: str) -> bytes:
    data = text.encode(source.encoding)
    if source.bom and not data.startswith(b"\xef\xbb\xbf"):
        data = b"\xef\xbb\xbf" + data
    return data


def bracket_depth(text: str) -> int:
    """The deepest bracket nesting in `text`, ignoring brackets in strings and
    comments. A cheap upper bound is computed first; the exact (tokenizer) count
    runs only for the rare file whose bound exceeds MAX_BRACKET_DEPTH."""
    data = text.encode("utf-8", "surrogatepass")
    only = data.translate(None, _KEEP_BRACKETS)
    if len(only) <= MAX_BRACKET_DEPTH:
        return 0
    bound = max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, only)), default=0)
    if bound <= MAX_BRACKET_DEPTH:
        return bound
    depth = deepest = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
                deepest = max(deepest, depth)
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return deepest

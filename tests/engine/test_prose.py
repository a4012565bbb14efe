"""`poolsafe.scan.prose` finds comments and statement strings as `tokenize` does, on
generated valid Python that mixes the awkward cases: quotes and `#` inside strings
and comments, string prefixes, triple quotes over several lines, brackets over
several lines, backslash continuations, `;`, f-strings, `\\r\\n`."""

from __future__ import annotations

import io
import tokenize

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from poolsafe.scan.prose import prose_spans, without_prose

WORDS = ["MySQL", "create_engine", "x", "conn"]

_TEXT = st.sampled_from(["", " ", "MySQL", "a # b", "it's", 'say "hi"', "(", ")", "[",
                         "\\\\", "\\'", '\\"', "{{", "}}", "x"])
_PREFIX = st.sampled_from(["", "r", "b", "rb", "Rb", "u", "f", "fr", "F"])


def _string(prefix: str, quote: str, parts: list[str]) -> str:
    body = "".join(parts)
    if "f" in prefix.lower():
        body = body.replace("{{", "").replace("}}", "") + "{x}"
    if "r" in prefix.lower():  # a raw string cannot end in an odd backslash
        body = body.replace("\\", "")
    if len(quote) == 1:
        body = body.replace(quote, "").replace("\n", "")
    else:
        body = body.replace(quote[0], "")
    if (len(body) - len(body.rstrip("\\"))) % 2:  # a last backslash would escape the quote
        body += " "
    return prefix + quote + body + quote


strings = st.builds(_string, _PREFIX, st.sampled_from(["'", '"', "'''", '"""']),
                    st.lists(st.one_of(_TEXT, st.just("\n")), max_size=4))

expressions = st.recursive(
    st.one_of(st.sampled_from(WORDS), strings),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a},\n {b})", inner, inner),
        st.builds(lambda a, b: f"[{a}, {b}]", inner, inner),
        st.builds(lambda a, b: f"{{{a}: {b}}}", inner, inner),
        st.builds(lambda a, b: f"{a} {b}", strings, strings),  # implicit concatenation
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(WORDS), inner),
        st.builds(lambda a: f"({a}  # MySQL )\n)", inner),
        st.builds(lambda a: f"(\n    {a}\n)", inner),  # a string alone on a line, in brackets
    ),
    max_leaves=6)

comments = st.builds(lambda t: "# " + t.replace("\n", ""), _TEXT)

statements = st.one_of(
    expressions,  # a string alone here is a statement
    st.builds(lambda a: f"x = {a}", expressions),
    st.builds(lambda a: f"x = \\\n    {a}", expressions),
    st.builds(lambda a, b: f"x = 1; {a}", expressions, st.just("")),
    st.builds(lambda a: f"if x: {a}", expressions),
    st.builds(lambda a, c: f"{a}  {c}", expressions, comments),
    st.builds(lambda s, b: f"def f():\n    {s}\n    return {b}", strings, expressions),
    st.builds(lambda s: f"class C:\n    {s}\n    x = 1", strings),
    st.builds(lambda s: f"if x:\n    pass\nelif{s}:\n    pass", strings),  # no prefix
    comments,
)


@st.composite
def sources(draw: st.DrawFn) -> str:
    lines = draw(st.lists(statements, min_size=1, max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return ("\n".join(lines) + draw(st.sampled_from(["", "\n"]))).replace("\n", newline)


def _reference(text: str) -> list[tuple[int, int]]:
    """Comments, and string tokens that are alone on their logical line and first
    on their physical one (f-strings excluded), by `tokenize`, as byte offsets."""
    data = text.encode()
    starts = [0]
    for line in io.BytesIO(data):
        starts.append(starts[-1] + len(line))

    def offset(row: int, col: int, line: str) -> int:
        return starts[row - 1] + len(line[:col].encode())

    tokens = [t for t in tokenize.tokenize(io.BytesIO(data).readline)
              if t.type not in (tokenize.ENCODING, tokenize.NL)]
    spans: list[tuple[int, int]] = []
    for k, tok in enumerate(tokens):
        start = offset(tok.start[0], tok.start[1], tok.line)
        if tok.type == tokenize.COMMENT:
            spans.append((start, start + len(tok.string.encode())))
            continue
        if tok.type != tokenize.STRING:
            continue
        prefix = tok.string[:len(tok.string) - len(tok.string.lstrip("rRbBuUfF"))]
        before = next((t for t in reversed(tokens[:k]) if t.type != tokenize.COMMENT), None)
        after = tokens[k + 1] if k + 1 < len(tokens) else None
        first = before is None or before.type in (tokenize.NEWLINE, tokenize.INDENT,
                                                  tokenize.DEDENT)
        on_line_start = not tok.line[:tok.start[1]].strip()
        last = after is None or after.type in (tokenize.NEWLINE, tokenize.COMMENT,
                                               tokenize.ENDMARKER) or after.string == ";"
        if first and on_line_start and last and "f" not in prefix.lower():
            spans.append((start, start + len(tok.string.encode())))
    return spans


@settings(max_examples=500, deadline=None)
@given(sources())
@example("x = 1; 'MySQL'\n")
@example("x = \\\n    'MySQL'\n")
@example("def f():\n    '''MySQL's\n    # not a comment'''\n    return x\n")
@example("x = ('a'\n     'MySQL')\n")
@example("f'{x}'\n")
@example("'it''s' # MySQL\r\n")
@example("MySQL  # \\\\\n''")  # a backslash that ends a comment continues no line
def test_prose_is_what_tokenize_finds(text: str) -> None:
    data = text.encode()
    try:
        reference = _reference(text)
    except (tokenize.TokenError, SyntaxError):  # (the generator makes few of these)
        assume(False)
        raise
    assert prose_spans(data) == reference
    blank = without_prose(data)
    assert len(blank) == len(data)
    inside = {i for start, end in reference for i in range(start, end)}
    for i, (was, now) in enumerate(zip(data, blank, strict=True)):
        if i not in inside or was in b"\r\n":
            assert now == was
        else:
            assert now == ord(" ")


def test_comments_and_docstrings_are_blanked_and_code_is_kept() -> None:
    data = (b'"""Talks about MySQL."""\n'
            b"import x  # MySQL too\n"
            b"def f():\n"
            b"    '''create_engine here is prose'''\n"
            b"    return g('MySQL', \"#\")\n")
    blank = without_prose(data)
    assert blank.count(b"MySQL") == 1  # the argument, a string that is no statement
    assert b"create_engine" not in blank
    assert b"return g('MySQL', \"#\")" in blank
    assert blank.count(b"\n") == data.count(b"\n")


def test_source_without_quotes_or_comments_is_returned_as_is() -> None:
    data = b"x = 1\n"
    assert without_prose(data) is data
    assert prose_spans(data) == []


def test_an_unterminated_string_does_not_fail() -> None:
    for data in (b"x = 'abc\n# MySQL\n", b'"""MySQL\n', b"'\n"):
        assert len(without_prose(data)) == len(data)

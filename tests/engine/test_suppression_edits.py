"""Writing and removing suppression comments (the editor's "Ignore on this line",
`check --add-noqa`, PS001's fix)."""

from __future__ import annotations

import pytest

from poolsafe.scan.suppression_edits import apply_line_edits, removal_edit, suppression_edit


def add(text: str, line: int, code: str = "PS102", noqa: bool = False) -> str:
    edit = suppression_edit(text, line, [code], noqa=noqa)
    return text if edit is None else apply_line_edits(text, [edit])


def test_adds_a_comment_at_the_end_of_the_code() -> None:
    assert add("x = f()   \ny = 1\n", 1) == "x = f()  # poolsafe: ignore[PS102]\ny = 1\n"


def test_merges_with_an_existing_ignore() -> None:
    assert add("x = f()  # poolsafe: ignore[PS101]  # why\n", 1) == (
        "x = f()  # poolsafe: ignore[PS101, PS102]  # why\n")


def test_keeps_another_comment() -> None:
    assert add("x = f()  # keep me\n", 1) == "x = f()  # keep me  # poolsafe: ignore[PS102]\n"


def test_noqa_style_merges_into_another_tools_noqa() -> None:
    assert add("x = f()  # noqa: E501\n", 1, noqa=True) == "x = f()  # noqa: E501, PS102\n"
    assert add("x = f()\n", 1, noqa=True) == "x = f()  # noqa: PS102\n"


@pytest.mark.parametrize("text", [
    "x = f()  # poolsafe: ignore\n",   # covers every code already
    "x = f()  # noqa\n",
    "x = f()  # poolsafe: ignore[PS102]\n",
    's = """a\nb"""\n',                # line 1 ends inside a string
    "x = 1 + \\\n    2\n",             # backslash continuation
])
def test_nothing_to_do(text: str) -> None:
    assert suppression_edit(text, 1, ["PS102"]) is None


def test_a_hash_in_a_string_is_not_a_comment() -> None:
    assert add("x = f('# poolsafe: ignore[PS101]')\n", 1) == (
        "x = f('# poolsafe: ignore[PS101]')  # poolsafe: ignore[PS102]\n")


def remove(text: str, line: int, codes: list[str] | None) -> str:
    edit = removal_edit(text, line, codes)
    return text if edit is None else apply_line_edits(text, [edit])


def test_removes_an_unused_code_or_the_whole_comment() -> None:
    assert remove("x = f()  # poolsafe: ignore[PS101, PS102]\n", 1, ["PS101"]) == (
        "x = f()  # poolsafe: ignore[PS102]\n")
    assert remove("x = f()  # poolsafe: ignore[PS101]\n", 1, ["PS101"]) == "x = f()\n"
    assert remove("x = f()  # poolsafe: ignore\r\n", 1, None) == "x = f()\r\n"


def test_removal_keeps_other_comments_and_codes() -> None:
    assert remove("x = f()  # noqa: E501, PS102\n", 1, ["PS102"]) == "x = f()  # noqa: E501\n"
    assert remove("x = f()  # why  # poolsafe: ignore[PS102]\n", 1, ["PS102"]) == (
        "x = f()  # why\n")
    assert remove("x = f()  # poolsafe: ignore[PS102]  # why\n", 1, ["PS102"]) == (
        "x = f()  # why\n")

"""`read_comments` skips decoding a file whose bytes hold no marker only where that
cannot hide one: a file without a coding cookie (UTF-8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.scan.suppression import read_comments

CASES = {
    "none.py": (b"x = 1\n", {}),
    "upper.py": (b"x = 1  # POOLSAFE: IGNORE[PS102]\ny = 2  # NoQa\n",
                 {1: frozenset({"PS102"}), 2: None}),
    "unicode.py": ("s = 'ünï'  # noqa: PS101\n".encode(), {1: frozenset({"PS101"})}),
    "bom.py": (b"\xef\xbb\xbfx = 1  # poolsafe: ignore\n", {1: None}),
    "latin1.py": ("# -*- coding: latin-1 -*-\ns = 'é'  # noqa: PS101\n".encode("latin-1"),
                  {2: frozenset({"PS101"})}),
    # UTF-7 spells `noqa` in base64: no marker in the bytes, one in the text
    "utf7.py": (b"# coding: utf-7\nx = 1  # +AG4-oqa: PS101\n", {2: frozenset({"PS101"})}),
    "undecodable.py": (b"x = '\xff\xfe'  # noqa\n", {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_read_comments(tmp_path: Path, name: str) -> None:
    data, expected = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert {line: c.codes for line, c in read_comments(str(path)).items()} == expected

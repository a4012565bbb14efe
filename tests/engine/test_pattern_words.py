"""The cache keeps, with each pattern a project-wide fact searched, the words every
match of it spells (`analysis.index.spelt_words`): after an edit, `engine._broken`
tests the changed files for them before it compiles and runs the pattern (issue 32:
mlflow's central module, 145 patterns, 28 ms). The answers are the pattern's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_incremental import _SHOP_DB, _SHOP_VIEWS, _key  # (the decorator project)

from poolsafe.scan import engine
from poolsafe.scan.cache import pattern_key
from poolsafe.scan.engine import ScanOptions, scan

_CALLS = re.compile(rb"\bmake_engine\s*\(")
_KEY = pattern_key(_CALLS)


def _entry(matched: list[str], words: object) -> dict[str, Any]:
    return {"selected": {"a.py": "old-a", "b.py": "h-b"}, "checked": ["a.py", "b.py"],
            "lookups": {}, "digests": {},
            "matched": {_KEY: [[p, "old-a" if p == "a.py" else "h-b"] for p in matched]},
            "words": {_KEY: words}}


@pytest.mark.parametrize(("before", "now", "broken"), [
    (["b.py"], b"x = 1\n", False),             # no call before, none now
    (["a.py", "b.py"], b"x = 1\n", True),      # the call removed (and a.py changed)
    (["b.py"], b"e = make_engine()\n", True),  # a call added
    (["b.py"], b"make_engine = None\n", False),  # the word, but no call: the regex says
    (["b.py"], b"e = make_engine (url)\n", True),
    (["b.py"], b"# make_engine() is gone\n", True),  # a comment matches as the regex does
])
@pytest.mark.parametrize("words", [["make_engine"], None, "not a list"])
def test_broken_answers_as_the_pattern_does(monkeypatch: pytest.MonkeyPatch,
                                            before: list[str], now: bytes, broken: bool,
                                            words: object) -> None:
    compiled = []

    def pattern_of(key: str) -> re.Pattern[bytes]:
        compiled.append(key)
        return _CALLS

    monkeypatch.setattr(engine, "pattern_of", pattern_of)
    datas = {"a.py": now, "b.py": b"make_engine()\n"}
    answer = engine._broken(_entry(before, words), {"a.py": "new-a", "b.py": "h-b"},
                            {"a.py", "b.py"}, {}, {"a.py": "new-a", "b.py": "h-b"},
                            datas.__getitem__)
    assert answer is not None
    assert (_KEY in answer[1]) is broken
    if words == ["make_engine"] and b"make_engine" not in now:
        assert compiled == []  # the words ruled the file out: nothing compiled


_VIEWS_WITHOUT = _SHOP_VIEWS.replace("@transactional\n", "")


def test_the_entry_keeps_the_words_and_an_edit_gives_fresh_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler-wrapper fact searches the selected files for `@transactional`;
    `views.py` stops and starts applying it: the cached scan equals a fresh one at
    each step, and the entry records the words of its call and decorator patterns."""
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "__init__.py").write_text("")
    (shop / "db.py").write_text(_SHOP_DB)
    monkeypatch.chdir(tmp_path)
    cache_dir = tmp_path / "cache"
    cache = ScanOptions(cache_dir=cache_dir, jobs=1)
    for text in [_SHOP_VIEWS, _VIEWS_WITHOUT, _SHOP_VIEWS]:
        (shop / "views.py").write_text(text)
        cached = scan(["."], cache)
        fresh = scan(["."], ScanOptions(jobs=1))
        assert _key(cached) == _key(fresh), text
        (entry_file,) = cache_dir.glob("*.json")
        entry = json.loads(entry_file.read_text())
        assert entry["words"], "no words recorded"
        assert set(entry["words"]) <= set(entry["matched"])
        for words in entry["words"].values():
            assert all(isinstance(w, str) and w for w in words)


def test_a_pattern_marked_every_file_keeps_the_words_of_the_one_it_marks() -> None:
    """`LazyIndex.unread_files_match` searches every file for a word pattern behind
    `EVERY_FILE` (a regex comment: the same matches): the marked pattern has the
    words too, and so has `argv_parse`'s `getopt|docopt`."""
    from poolsafe.analysis.argv_parse import _ARGV_LIBRARIES
    from poolsafe.analysis.index import EVERY_FILE, spelt_like, spelt_words, word_pattern

    plain = word_pattern(["speed88_word"])
    marked = spelt_like(re.compile(EVERY_FILE + plain.pattern, plain.flags), plain)
    assert spelt_words()[marked] == (b"speed88_word",)
    assert spelt_words()[_ARGV_LIBRARIES] == (b"docopt", b"getopt")
    unspelt = re.compile(rb"speed88_(?:a|b)")
    assert spelt_like(re.compile(EVERY_FILE + unspelt.pattern), unspelt) not in spelt_words()

"""`call_pattern`: the byte pattern that decides which modules a project-wide fact
about calls of a name reads. It must match every module with such a call (else a
fact misses a call site) and may skip a module that only spells the name."""

from __future__ import annotations

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poolsafe.analysis.cstutil import call_name, iter_nodes
from poolsafe.analysis.index import (
    call_pattern,
    def_pattern,
    source_matches,
    spelling,
    word_pattern,
)

CALLS = [
    "submit(job)",
    "pool.submit(job)",
    "pool.submit (job)",
    "pool . submit(job)",
    "x = [pool.submit\n    (job)]",
    "x = (pool.submit  # why\n     (job))",
    "pool.submit \\\n    (job)",
    "(submit)(job)",
    "(pool.submit)\t(job)",
    "((pool).submit)(job)",
    "async def f():\n    await pool.submit(job)",
    "f(pool.submit(job))",
]

NOT_CALLS = [
    '"""Call submit to queue a job."""',
    "x = pool.submit",
    "pool.submitted(job)",
    "resubmit(job)",
    "pool.submit[0](job)",
    "submit.apply(job)",
    "def submit_all(): pass",
]


def calls_of(source: str, name: str) -> int:
    tree = cst.parse_module(source)
    return sum(1 for n in iter_nodes(tree, into_functions=True)
               if isinstance(n, cst.Call) and call_name(n) == name)


@pytest.mark.parametrize("source", CALLS)
def test_every_call_of_the_name_matches(source: str) -> None:
    assert calls_of(source, "submit") >= 1  # the case is what it claims
    assert call_pattern(["submit"]).search(source.encode())


@pytest.mark.parametrize("source", NOT_CALLS)
def test_a_module_that_only_spells_the_name_does_not(source: str) -> None:
    assert calls_of(source, "submit") == 0
    assert not call_pattern(["submit"]).search(source.encode())


def test_words_match_as_whole_words_beside_the_calls() -> None:
    pattern = call_pattern(["Depends"], ["get_session"])
    assert pattern.search(b"def get_session():\n    yield s\n")
    assert pattern.search(b"db = Depends(get_db)")
    assert not pattern.search(b"def get_sessions(): pass\nDepends = 1\n")
    assert not call_pattern([]).search(b"anything(at_all)")


_TEXTS = st.lists(st.sampled_from(["submit", "sub", "mit", "def", " ", "\n", "(", ")", "#",
                                   "x", "_", ".", "def submit", "pool", "\u00e9", "1",
                                   "as", "=", "raise ", "class ", "\t"]),
                  max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_the_substring_pretest_answers_as_the_pattern(text: str) -> None:
    data = text.encode()
    for pattern in (call_pattern(["submit"]), call_pattern(["submit"], ["pool"]),
                    word_pattern(["pool", "x1"]), def_pattern(["submit"]), word_pattern([]),
                    *_SPELLINGS):
        assert source_matches(pattern, data) == (pattern.search(data) is not None)


#: the regexes the project-wide facts build around one name (`spelling`)
_SPELLINGS = (
    spelling(rb"\bsubmit\b", ["submit"]),
    spelling(rb"\bsubmit\b(?!\s*\()", ["submit"]),
    spelling(rb"\bsubmit\s+as\s+\w", ["submit"]),
    spelling(rb"\.submit[ \t]*=[^=]", ["submit"]),
    spelling(rb"raise\s+[\w.]*\bsubmit\b", ["submit"]),
    spelling(rb"\bclass\s+submit\b", ["submit"]),
)


def test_a_spelling_pattern_is_the_regex_it_was_built_from() -> None:
    assert spelling(rb"\bsubmit\b", ["submit"]).pattern == rb"\bsubmit\b"
    assert not source_matches(_SPELLINGS[0], b"x = pool.sub_mit()\n")
    assert source_matches(_SPELLINGS[0], b"x = pool.submit\n")
    assert not source_matches(_SPELLINGS[1], b"x = pool.submit()\n")


def test_a_file_that_spells_none_of_the_words_does_not_match() -> None:
    pattern = word_pattern(["getconn"])
    assert not source_matches(pattern, b"x = pool.get_conn()\n")
    assert source_matches(pattern, b"x = pool.getconn()\n")
    assert not source_matches(pattern, b"x = pool.getconnection()\n")  # the regex decides


BANNER = "#" * 79


@pytest.mark.parametrize("source", [
    f"from usix import raise_with_tb\n{BANNER}\n# Section\n{BANNER}\n",
    f"x = raise_with_tb  # {BANNER}\n{BANNER}\n",
])
def test_a_name_above_comment_banners_is_no_call(source: str) -> None:
    # (the pattern before large58 backtracked exponentially over the banner's `#`s: a
    # search on such a module did not return)
    assert calls_of(source, "raise_with_tb") == 0
    assert not call_pattern(["raise_with_tb"]).search(source.encode())


def test_a_call_after_comment_banners_still_matches() -> None:
    source = f"x = (raise_with_tb  # {BANNER}\n  {BANNER}\n     (err))\n"
    assert calls_of(source, "raise_with_tb") == 1
    assert call_pattern(["raise_with_tb"]).search(source.encode())

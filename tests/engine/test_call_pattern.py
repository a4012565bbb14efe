"""`call_pattern`: the byte pattern that decides which modules a project-wide fact
about calls of a name reads. It must match every module with such a call (else a
fact misses a call site) and may skip a module that only spells the name."""

from __future__ import annotations

import libcst as cst
import pytest

from poolsafe.analysis.cstutil import call_name, iter_nodes
from poolsafe.analysis.index import call_pattern

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

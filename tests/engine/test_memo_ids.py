"""A memo of the index keyed by `id(node)` answers only for the node it was made for.

An id is an address: once a node is freed (a module dropped, a function made of a
module's top level for one rule, a node parsed from a string annotation) the next
object made may take it, and a memo that kept the id alone answered for the new node
with the old node's answer (a finding that depended on which files an epoch had
checked before). Each test asks a question about a function of a module that is then
freed, makes new functions of another module until one takes the freed node's address
(CPython hands a freed block to the next object of its size: a few tries), and asks
the same index about each: every answer must be the new function's own. The memos
keep their node now (`poolsafe.analysis.index.held`), so the address is never handed
on while the index lives. At dc73a399, where they kept the id alone, the release and
rollback tests and the address test fail; the acquirer, carrier and context-manager
memos were kept safe there by `evaluate`'s memo, which holds the function's node as the
scope of what it evaluated in it (guards, should that change).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.scan.checking import parse_source

#: how many new modules are made, at most, to find the freed address again
_TRIES = 60


def _module(name: str, text: str) -> ModuleInfo:
    return parse_source(name, Path("/virtual") / name, Path(name), text)


def _answers_after_reuse(first: str, second: str, name: str,
                         ask: Callable[[ProjectIndex, FunctionInfo], object],
                         index: ProjectIndex | None = None) -> tuple[object, list[object],
                                                                     object, bool]:
    """(the answer for `name` of module `first`, the same index's answers for `name` of
    each new module `second` made after the first was freed, the answer a fresh index
    gives for `second`, whether one of them took the freed node's address)."""
    index = index or ProjectIndex([])
    module = _module("first.py", first)
    func = module.functions[name]
    before = ask(index, func)
    freed = id(func.node)
    del module, func
    gc.collect()
    kept: list[ModuleInfo] = []  # (alive, so that each new module takes new blocks)
    answers: list[object] = []
    reused = False
    for _ in range(_TRIES):
        other = _module("second.py", second)
        kept.append(other)
        answers.append(ask(index, other.functions[name]))
        if id(other.functions[name].node) == freed:
            reused = True
            break
    fresh = ask(ProjectIndex([]), kept[-1].functions[name])
    return before, answers, fresh, reused


def _check(first: str, second: str, name: str,
           ask: Callable[[ProjectIndex, FunctionInfo], object]) -> None:
    before, answers, fresh, _reused = _answers_after_reuse(first, second, name, ask)
    assert before != fresh, "the two functions must be told apart by the question"
    assert all(a == fresh for a in answers), (before, answers[-3:], fresh)


def test_releaser_positions_are_the_new_functions() -> None:
    _check("def helper(conn):\n    conn.close()\n",
           "def helper(conn):\n    conn.execute('SELECT 1')\n",
           "helper", lambda index, f: index.releaser_positions(f))


def test_rollback_positions_are_the_new_functions() -> None:
    _check("def helper(conn):\n    conn.rollback()\n",
           "def helper(conn):\n    conn.commit()\n",
           "helper", lambda index, f: index.rollback_positions(f))


def test_acquirer_answers_are_the_new_functions() -> None:
    _check("import psycopg2\n\n\ndef helper(dsn):\n    return psycopg2.connect(dsn)\n",
           "import json\n\n\ndef helper(text):\n    return json.loads(text)\n",
           "helper", lambda index, f: index.acquirer_of(f))


def test_cursor_carrier_answers_are_the_new_functions() -> None:
    _check("import psycopg2\n\n\ndef helper(dsn):\n"
           "    conn = psycopg2.connect(dsn)\n    return conn.cursor()\n",
           "import json\n\n\ndef helper(text):\n    data = json.loads(text)\n"
           "    return data.cursor()\n",
           "helper", lambda index, f: index.cursor_carrier_of(f))


def test_context_manager_answers_are_the_new_functions() -> None:
    _check("import contextlib\nimport psycopg2\n\n\n@contextlib.contextmanager\n"
           "def helper(dsn):\n    conn = psycopg2.connect(dsn)\n    yield conn\n"
           "    conn.close()\n",
           "import contextlib\nimport json\n\n\n@contextlib.contextmanager\n"
           "def helper(text):\n    data = json.loads(text)\n    yield data\n",
           "helper", lambda index, f: index.context_manager_of(f))


def test_a_held_memo_keeps_its_node_and_answers_for_it_alone() -> None:
    # the freed node's address is not handed on while the index lives: the memo holds it
    first = "def helper(conn):\n    conn.close()\n"
    second = "def helper(conn):\n    conn.execute('SELECT 1')\n"
    _before, _answers, _fresh, reused = _answers_after_reuse(
        first, second, "helper", lambda index, f: index.releaser_positions(f))
    assert not reused

"""Django settings the rules read: `ATOMIC_REQUESTS` (PS207).

A settings module is found by what it spells, not by its name: any module of the
project outside its tests whose `DATABASES` entry (a dict literal, also one a
function returns, or an assignment to `DATABASES[...]["ATOMIC_REQUESTS"]`) sets the
key to the literal `True`. A value read
from the environment (`env.bool("ATOMIC_REQUESTS")`) is not known, and is not
assumed to be set.
"""

from __future__ import annotations

import weakref

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, string_value
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.knowledge.django import DJANGO_ATOMIC_REQUESTS_SETTING

_MEMO: weakref.WeakKeyDictionary[ProjectIndex, bool] = weakref.WeakKeyDictionary()


def atomic_requests(index: ProjectIndex) -> bool:
    """Some settings module of the project sets `ATOMIC_REQUESTS` to `True`."""
    found = _MEMO.get(index)
    if found is None:
        found = _MEMO[index] = any(
            _sets_atomic_requests(m.tree)
            for m in index.modules_mentioning([DJANGO_ATOMIC_REQUESTS_SETTING])
            if not is_test_module(m))
    return found


def _sets_atomic_requests(tree: cst.Module) -> bool:
    # (also inside a function that builds the settings: `def config(): return {...}`)
    for node in iter_nodes(tree, into_functions=True):
        if isinstance(node, cst.DictElement) and _is_key(node.key) and _is_true(node.value):
            return True
        if isinstance(node, cst.Assign) and _is_true(node.value) and any(
                isinstance(t.target, cst.Subscript) and len(t.target.slice) == 1
                and isinstance(t.target.slice[0].slice, cst.Index)
                and _is_key(t.target.slice[0].slice.value) for t in node.targets):
            return True
    return False


def _is_key(node: cst.BaseExpression) -> bool:
    return string_value(node) == DJANGO_ATOMIC_REQUESTS_SETTING


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"

"""Django settings the rules read: `ATOMIC_REQUESTS` and `EMAIL_BACKEND` (PS207).

A settings module is found by what it spells, not by its name: any module of the
project outside its tests whose `DATABASES` entry (a dict literal, also one a
function returns, or an assignment to `DATABASES[...]["ATOMIC_REQUESTS"]`) sets the
key to the literal `True`. A value read
from the environment (`env.bool("ATOMIC_REQUESTS")`) is not known, and is not
assumed to be set.

`EMAIL_BACKEND` queues mail in the database when every assignment to it in the
project outside its tests (at least one) is a string naming such a backend
(`DJANGO_DB_QUEUE_EMAIL_BACKENDS`); any other value, a value read from the
environment, or an assignment to an attribute (`settings.EMAIL_BACKEND = ...`) may
name a backend that sends.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from pathlib import Path

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, is_true, iter_nodes, string_value
from poolsafe.analysis.deploy_files import project_files
from poolsafe.analysis.doubles import is_test_path
from poolsafe.analysis.index import ProjectIndex, word_pattern
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.knowledge.django import (
    DJANGO_ATOMIC_REQUESTS_SETTING,
    DJANGO_DB_QUEUE_EMAIL_BACKENDS,
    DJANGO_EMAIL_BACKEND_SETTING,
)

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
        if isinstance(node, cst.DictElement) and _is_key(node.key) and is_true(node.value):
            return True
        if isinstance(node, cst.Assign) and is_true(node.value) and any(
                isinstance(t.target, cst.Subscript) and len(t.target.slice) == 1
                and isinstance(t.target.slice[0].slice, cst.Index)
                and _is_key(t.target.slice[0].slice.value) for t in node.targets):
            return True
    return False


def _is_key(node: cst.BaseExpression) -> bool:
    return string_value(node) == DJANGO_ATOMIC_REQUESTS_SETTING


_EMAIL_KEY = "_django_email_queued_in_database"


def email_queued_in_database(index: ProjectIndex, module: ModuleInfo,
                             project_queue: Callable[[ProjectIndex, str], bool]) -> bool:
    """The settings of `module`'s project send Django's mail through a backend that
    only queues it in the database (django-mailer's `DbBackend`): `send_mail()` is a
    row insert. Every project file is read, parsed or not: a settings module with
    no database word is one the prefilter leaves out. `project_queue` answers for a
    backend the project defines itself (`slow_calls.project_queue`)."""
    root = project_files(index, module).root
    known: dict[Path, bool] = index.derived(_EMAIL_KEY, dict)
    if root not in known:
        known[root] = False  # a backend's own sends, read while answering, are slow
        known[root] = _email_queued_in_database(index, root, project_queue)
    return known[root]


def _email_queued_in_database(index: ProjectIndex, root: Path,
                              project_queue: Callable[[ProjectIndex, str], bool]) -> bool:
    values: list[str | None] = []
    with index.full_resolution():
        found = index.files_matching(word_pattern([DJANGO_EMAIL_BACKEND_SETTING]))
    for path, source in found:
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            continue  # another project's settings
        if is_test_path(rel):
            continue
        try:
            tree = cst.parse_module(source)
        except cst.ParserSyntaxError:
            return False
        values.extend(_email_backends(tree))
    return bool(values) and all(
        v is not None and (v in DJANGO_DB_QUEUE_EMAIL_BACKENDS or project_queue(index, v))
        for v in values)


def _email_backends(tree: cst.Module) -> list[str | None]:
    """What each assignment to `EMAIL_BACKEND` in `tree` sets: the string, or None
    for any other value (read from the environment, computed, added to) and for an
    assignment to an attribute (`settings.EMAIL_BACKEND = ...`)."""
    values: list[str | None] = []
    for node in iter_nodes(tree, into_functions=True):
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
            value: cst.BaseExpression | None = node.value
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
            value = node.value if isinstance(node, cst.AnnAssign) else None
        else:
            continue
        for target in targets:
            for name in _assigned(target):
                if name == DJANGO_EMAIL_BACKEND_SETTING:
                    values.append(string_value(value) if value is not None else None)
                elif name.endswith("." + DJANGO_EMAIL_BACKEND_SETTING):
                    values.append(None)
    return values


def _assigned(target: cst.BaseExpression) -> list[str]:
    """The dotted names an assignment target binds (`A = B = ...`, `A, B = ...`)."""
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _assigned(e.value)]
    name = dotted_name(target)
    return [name] if name is not None else []

"""Flask-SQLAlchemy used on another thread with no application context (PS206).

A `threading.Thread` target, a `threading.Timer` function, an executor task or a
Flask-SocketIO `start_background_task` function runs without the request's
application context: `db.session` or `Model.query` there fails with "Working
outside of application context" (or, with a context pushed by hand and never
popped, keeps the thread's session and its connection). The job that builds the
app itself (`app = create_app()`) is PS206's first case; this module finds the jobs
that use the database without building an app and without pushing a context.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.app_context import app_factory_call, is_context_call, pushes_context_of
from poolsafe.analysis.cstutil import children, dotted_name, iter_calls, positional_args
from poolsafe.analysis.django_threads import thread_subclass_runs, threaded_target
from poolsafe.analysis.index import ProjectIndex, word_pattern
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import facts, is_flask_db, is_model_class, used_through
from poolsafe.analysis.resolution import decorator_target, instance_type
from poolsafe.analysis.values import ClassRef, FunctionRef
from poolsafe.knowledge.frameworks import (
    FLASK_MODEL_QUERY_ATTRIBUTES,
    FLASK_SQLALCHEMY_CONTEXT_ATTRIBUTES,
)

#: registrations of `project_facts.jobs()` that run the function on a new thread
_THREAD_JOBS = {"Thread": "a `threading.Thread`", "Timer": "a `threading.Timer`",
                "submit": "an executor task (`submit`)"}
#: Flask-SocketIO's background tasks: `socketio.start_background_task(f, *args)`
_SOCKETIO = frozenset({("flask_socketio", "SocketIO")})
_BACKGROUND_TASK = "start_background_task"
_DEPTH = 2


@dataclass(frozen=True)
class ThreadUse:
    node: cst.CSTNode
    func: FunctionInfo
    how: str
    use: str


def thread_db_uses(index: ProjectIndex, module: ModuleInfo) -> Iterator[ThreadUse]:
    if not flask_sqlalchemy_in_project(index):
        return
    if _entries_deferred(index):
        yield from _uses_before_entries(index, module)
        return
    entries = _entries(index)
    for func in module.all_functions:
        how = entries.get(id(func.node))
        if how is None or app_factory_call(index, func) is not None:
            continue
        if pushes_context_of(func) or _context_decorator(func):
            continue
        found = _first_use(index, func, 0)
        if found is not None:
            yield ThreadUse(found[0], func, how, found[1])


#: the attribute of an index that holds its thread entries (see `_entries`)
_ENTRIES = "_flask_thread_entries"
_USES_FLASK_SQLALCHEMY = "_flask_sqlalchemy_in_project"
#: the resolution levels at which a check put off the search (`_entries_deferred`)
_DEFERRED = "_flask_thread_entries_deferred"
_FLASK_SQLALCHEMY_WORD = word_pattern(["flask_sqlalchemy"])


def flask_sqlalchemy_in_project(index: ProjectIndex) -> bool:
    """Whether any project file spells `flask_sqlalchemy` (computed once per index).
    A use is of the extension's `db` (`is_flask_db`) or of a model deriving from its
    `db.Model`, values only an import naming `flask_sqlalchemy` makes known: a
    project without the word has none, and its thread entries, which take every
    module that spells `Thread`, `Timer` or `submit` to find (and whatever their
    resolution reaches: 372 of mlflow's modules, held for the rest of the run), are
    not looked for; nor are PS206's background jobs, whose uses are the same."""
    return index.derived(
        _USES_FLASK_SQLALCHEMY,
        lambda: index.any_module(_FLASK_SQLALCHEMY_WORD, lambda _m: True)
        or index.unread_files_match(_FLASK_SQLALCHEMY_WORD))


def _entries(index: ProjectIndex) -> dict[int, str]:
    """id(FunctionDef) -> how it runs on another thread, computed once per index: the
    search reads every module that spells a thread word, with full resolution, so
    searched again for each checked module (as it was until issue 32's mlflow
    profile) it cost a cold run on a large Flask code base the product of the two.
    One answer per resolution level of an index that has them (`LazyIndex`): a
    Socket.IO task is resolved at the caller's level, as it was when not kept."""
    memo: dict[int | None, dict[int, str]] = index.derived(_ENTRIES, dict)
    level = index.resolution_level
    found = memo.get(level)
    if found is None:
        found = memo[level] = _find_entries(index)
    return found


def _entries_deferred(index: ProjectIndex) -> bool:
    """True once per index and resolution level, for the first module checked before
    its thread entries are known (see `_uses_before_entries`); the modules checked
    after it in the same index search them at once (asking each of their functions
    first would cost a whole-project run more than the search)."""
    level = index.resolution_level
    memo: dict[int | None, dict[int, str]] = index.derived(_ENTRIES, dict)
    if level in memo:
        return False
    deferred: set[int | None] = index.derived(_DEFERRED, set)
    if level in deferred:
        return False
    deferred.add(level)
    return True


def _uses_before_entries(index: ProjectIndex, module: ModuleInfo) -> Iterator[ThreadUse]:
    """`thread_db_uses` of an index that has not searched its thread entries yet: the
    module's functions' uses first, and the project-wide search only if one has a
    use (the answer is the same: each is a question of its own, kept by the
    index). A `check FILE` after an edit asks for one module, which mostly has
    none: superset's `db_engine_specs/gsheets.py` spent a fifth of the run in
    the search (issue 32)."""
    found: list[tuple[FunctionInfo, tuple[cst.CSTNode, str]]] = []
    for func in module.all_functions:
        if pushes_context_of(func) or _context_decorator(func):
            continue
        use = _first_use(index, func, 0)
        if use is not None:
            found.append((func, use))
    if not found:
        return
    entries = _entries(index)
    for func, use in found:
        how = entries.get(id(func.node))
        if how is None or app_factory_call(index, func) is not None:
            continue
        yield ThreadUse(use[0], func, how, use[1])


def _find_entries(index: ProjectIndex) -> dict[int, str]:
    out = {key: _THREAD_JOBS[how] for key, how in facts(index).jobs().items()
           if how in _THREAD_JOBS}
    with index.full_resolution():  # Thread/Timer and their subclasses, executors
        for module in index.modules_mentioning(["Thread", "Timer", "submit"]):
            for func in (None, *module.all_functions):
                calls = iter_calls(module.tree) if func is None else func.direct_calls
                for call in calls:
                    found = threaded_target(index, module, func, call)
                    if found is not None and "sync_to_async" not in found[1] \
                            and "APScheduler" not in found[1]:
                        out.setdefault(id(found[0].node), found[1])
            # a project subclass of `threading.Thread`: its `run()` is the thread's body
            for run in thread_subclass_runs(index, module):
                out.setdefault(id(run.node), _THREAD_JOBS["Thread"])
    for module in index.modules_mentioning([_BACKGROUND_TASK]):
        for func in (None, *module.all_functions):
            calls = iter_calls(module.tree) if func is None else func.direct_calls
            for call in calls:
                f = call.func
                args = positional_args(call)
                if not (isinstance(f, cst.Attribute) and f.attr.value == _BACKGROUND_TASK
                        and args):
                    continue
                if not instance_type(index.evaluate(f.value, module, func), _SOCKETIO):
                    continue
                target = index.evaluate(args[0], module, func)
                if isinstance(target, FunctionRef):
                    out.setdefault(id(target.func.node),
                                   "Flask-SocketIO's `start_background_task`")
    return out


def _context_decorator(func: FunctionInfo) -> bool:
    """A decorator that brings a context (`copy_current_request_context`, a project's
    `with_app_context`): its name says so."""
    return any("context" in (dotted_name(decorator_target(d)) or "")
               for d in func.node.decorators)


#: the attribute of an index that holds `_first_use`'s answers
_FIRST_USES = "_flask_thread_first_uses"


def _first_use(index: ProjectIndex, func: FunctionInfo,
               depth: int) -> tuple[cst.CSTNode, str] | None:
    """The first use of Flask-SQLAlchemy in `func`'s body, directly or (up to
    `_DEPTH` calls down) in a project function it calls, with how it is used. Kept
    per index, function, depth and resolution level: an editor's check asks it of
    every function of the module, and their callees' answers are shared (superset's
    `models/core.py`: some 14,000 nodes looked at per keystroke, walked again for
    each caller). The function's node is kept with its answer, so that an id() is
    never answered for another node."""
    memo: dict[tuple[int, int, int | None], tuple[cst.CSTNode, tuple[cst.CSTNode, str] | None]]
    memo = index.derived(_FIRST_USES, dict)
    key = (id(func.node), depth, index.resolution_level)
    kept = memo.get(key)
    if kept is not None and kept[0] is func.node:
        return kept[1]
    found = _walk_for_use(index, func, func.node.body, depth)
    memo[key] = (func.node, found)
    return found


def _walk_for_use(index: ProjectIndex, func: FunctionInfo, body: cst.CSTNode,
                  depth: int) -> tuple[cst.CSTNode, str] | None:
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if node is not body and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.With) and any(is_context_call(i.item) for i in node.items):
            continue
        use = _use_at(index, func, node, depth)
        if use is not None:
            return node, use
        stack.extend(reversed(children(node)))
    return None


def _use_at(index: ProjectIndex, func: FunctionInfo, node: cst.CSTNode,
            depth: int) -> str | None:
    if isinstance(node, cst.Attribute):
        attr = node.attr.value
        if attr in FLASK_SQLALCHEMY_CONTEXT_ATTRIBUTES and is_flask_db(
                index.evaluate(node.value, func.module, func)):
            return f"`{dotted_name(node) or attr}`"
        if attr in FLASK_MODEL_QUERY_ATTRIBUTES:
            with index.full_resolution():
                owner = index.evaluate(node.value, func.module, func)
            if isinstance(owner, ClassRef) and is_model_class(index, owner.cls):
                return f"`{owner.cls.name}.{attr}`"
    elif isinstance(node, cst.Call) and depth < _DEPTH:
        callee = index.evaluate(node.func, func.module, func)
        if isinstance(callee, FunctionRef) and callee.func is not func \
                and not pushes_context_of(callee.func):
            inner = _first_use(index, callee.func, depth + 1)
            if inner is not None:
                return used_through(callee.func.name, inner[1])
    return None

"""Django database work outside the request cycle that never closes its connection
(read by PS107).

Django opens a connection per thread on first use and closes it at the end of a
request. A function that runs on another thread (a `threading.Thread` target, a
`threading.Timer`, an executor task, an APScheduler job, a
`sync_to_async(thread_sensitive=False)` function) or in a loop of a management
command is outside that cycle: what it opens stays open until it calls
`connection.close()`, `close_old_connections()` or `connections.close_all()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import (
    call_name,
    chain_links,
    children,
    dotted_name,
    getattr_literal,
    is_true,
    iter_calls,
    iter_nodes,
    keyword_arg,
    positional_args,
    string_value,
    strip_await,
)
from poolsafe.analysis.django_callbacks import (
    ANY_CLOSE_SUFFICES,
    PTB_HANDLER,
    background_task,
    callback_entries,
)
from poolsafe.analysis.django_callbacks import WORDS as CALLBACK_WORDS
from poolsafe.analysis.django_claims import claims_rows
from poolsafe.analysis.django_query_shapes import instance_query
from poolsafe.analysis.index import (
    ProjectIndex,
    annotation_parts,
    param_annotation,
    word_pattern,
)
from poolsafe.analysis.joined_threads import joined_before_return
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import (
    facts,
    handed_instance,
    is_cli_entry,
    is_django_command,
    used_through,
)
from poolsafe.analysis.resolution import (
    decorator_target,
    external_name,
    inherited_method,
    instance_type,
    qual_match,
)
from poolsafe.analysis.values import (
    ClassRef,
    External,
    ExternalInstance,
    FunctionRef,
    Instance,
)
from poolsafe.knowledge.django import (
    CLOSING_DECORATOR_NAMES,
    DJANGO_APP_PREFIX,
    DJANGO_ATOMIC,
    DJANGO_CALL_COMMAND,
    DJANGO_CLOSERS,
    DJANGO_COMMAND_CLASS,
    DJANGO_COMMAND_METHOD,
    DJANGO_CONNECTION_CLOSE_METHODS,
    DJANGO_CONNECTION_OBJECTS,
    DJANGO_CONSTANCE_BACKEND_SETTING,
    DJANGO_CONSTANCE_CONFIG,
    DJANGO_CONSTANCE_DATABASE_BACKEND,
    DJANGO_DATABASE_COMMANDS,
    DJANGO_FORWARD_RELATIONS,
    DJANGO_MANAGER_ATTRIBUTES,
    DJANGO_MANY_TO_MANY,
    DJANGO_MODEL_APPS,
    DJANGO_MODEL_ROOT,
    DJANGO_MODEL_SIGNALS,
    DJANGO_RECEIVER,
    DJANGO_RELATED_MANAGER_METHODS,
    DJANGO_RELATED_NAME,
    DJANGO_RELATION_FIELDS,
    DJANGO_RELATION_WORDS,
    DJANGO_ROW_LOOKUPS,
    DJANGO_ROW_WRITER_NO_COMMIT,
    DJANGO_ROW_WRITER_SAVE,
    DJANGO_ROW_WRITERS,
    DJANGO_SIGNAL_INSTANCE,
    DJANGO_TRANSACTION,
    DJANGO_TRANSACTION_CALLS,
    DJANGO_USER_MODEL_GETTERS,
    DJANGO_WRITER_META,
    DJANGO_WRITER_MODEL,
    DONE_CALLBACK,
    EXECUTOR_METHODS,
    EXECUTOR_TYPES,
    ONE_SHOT_THREADS,
    PTB_UPDATER_STARTS,
    SYNC_TO_ASYNC,
    THREAD_CLASSES,
    THREAD_JOB_DECORATORS,
    THREAD_JOB_REGISTRATIONS,
    THREAD_RUN_WRAPPERS,
)
from poolsafe.knowledge.frameworks import APSCHEDULER_TYPES

#: how deep project calls are followed for database work and for a close
_DEPTH = 2
_MAX_BASES = 8


@dataclass(frozen=True)
class ThreadGap:
    #: the database work reported (an `X.objects` attribute, a `cursor()` call, or the
    #: call of a project function that does it)
    node: cst.CSTNode
    func: FunctionInfo
    #: how the function runs off the request cycle, for the message
    how: str
    #: what it does, for the message (`Order.objects`)
    use: str
    #: "never" (no close), "exception" (a close an exception skips), "loop"
    why: str


def django_thread_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[ThreadGap]:
    if not _django_in_project(index):
        return
    if index.missing_import(module) is not None:
        return  # the module fails at import (ImportError): nothing in it ever runs
    entries = _entries(index)
    for func in module.all_functions:
        how = entries.get(id(func.node))
        if how is not None:
            gap = _entry_gap(index, func, how)
            if gap is not None:
                yield gap
        if func.name == "handle" and func.cls is not None and is_django_command(index, func.cls):
            yield from _loop_gaps(index, func)
        else:
            called = _command_callees(index).get(id(func.node))
            if called is not None:
                yield from _loop_gaps(index, func, called)
    yield from _command_thread_gaps(index, module)


def runs_elsewhere(index: ProjectIndex, module: ModuleInfo) -> bool:
    """Whether a function of `module` runs on a thread of its own or in a command's
    loop (a thread target, a job, a callee of `handle()`): such a module may hold
    Django database work though it spells no Django word itself, through a
    project helper of another module (`Thread(target=refresh)` where `refresh`
    calls `reports.rebuild()`, which queries the models)."""
    if not _django_in_project(index):
        return False
    entries = _entries(index)
    callees = _command_callees(index)
    return any(id(f.node) in entries or id(f.node) in callees for f in module.all_functions)


_COMMAND_CALLEES = "_django_command_callees"


def _command_callees(index: ProjectIndex) -> dict[int, str]:
    """id(FunctionDef) -> how, for the project functions and methods a management
    command's `handle()` calls (`handle()` -> `run()`, `self.process()`): a loop in
    one of them runs for as long as the command (computed once per index)."""
    return index.derived(_COMMAND_CALLEES, lambda: _find_command_callees(index))


def _find_command_callees(index: ProjectIndex) -> dict[int, str]:
    out: dict[int, str] = {}
    with index.full_resolution():
        for module in index.modules_mentioning((DJANGO_COMMAND_CLASS,)):
            for cls in module.classes.values():
                handle = cls.methods.get(DJANGO_COMMAND_METHOD)
                if handle is None or not is_django_command(index, cls):
                    continue
                if _atomic_decorated(index, handle):
                    continue  # its callees' loops run in one transaction (`_loop_gaps`)
                in_atomic = _in_atomic_blocks(index, handle)
                for call in handle.direct_calls:
                    if id(call) in in_atomic:
                        continue
                    callee = index.evaluate(call.func, module, handle)
                    target = callee.func if isinstance(callee, FunctionRef) else (
                        bound_method(index, module, handle, call.func) if callee is None
                        else None)
                    if target is not None and target is not handle:
                        out.setdefault(id(target.node),
                                       f"a loop of `{target.name}()`, which management "
                                       f"command `{DJANGO_COMMAND_METHOD}()` calls")
    return out


_DJANGO_WORD = word_pattern(["django"])


def _django_in_project(index: ProjectIndex) -> bool:
    """Whether any project file spells `django` (computed once per index). Every gap
    needs a Django model, cursor or transaction, which only an import naming `django`
    makes known: a project without the word has none, and its thread entries, which
    take the whole project's registrations to find, are not looked for."""
    return index.derived(_USES_DJANGO, lambda: index.any_module(_DJANGO_WORD, lambda _m: True)
                         or index.unread_files_match(_DJANGO_WORD))


# ------------------------------------------------------------------ entries
_USES_DJANGO = "_django_in_project"
_ENTRIES = "_django_thread_entries"
#: the words of a module that can start one (`executor.map` on an executor built in
#: that module: its name is spelled there)
_ENTRY_WORDS = ("sync_to_async", "ThreadPoolExecutor", "run_in_executor", "add_job",
                DONE_CALLBACK,
                "scheduled_job", "Thread", "Timer", "ThreadPool", "dummy", *CALLBACK_WORDS)


def _entries(index: ProjectIndex) -> dict[int, str]:
    """id(FunctionDef) -> how it runs on another thread (computed once per index)."""
    return index.derived(_ENTRIES, lambda: _find_entries(index))


def _find_entries(index: ProjectIndex) -> dict[int, str]:
    out: dict[int, str] = {}
    for key, how in facts(index).jobs().items():
        decorated = how.startswith("@")
        if (how.rsplit(".", 1)[-1] in THREAD_JOB_DECORATORS if decorated
                else how in THREAD_JOB_REGISTRATIONS):
            out[key] = _DESCRIBED.get(how, how)
    #: the targets whose every thread start is one-shot code waiting for it (not a
    #: decorated job, `@scheduler.scheduled_job`: it has no start of its own)
    joined: dict[int, bool] = {}
    for how, job, where, call in facts(index).job_registration_calls():
        key = id(job.node)
        if key in out:
            joined[key] = joined.get(key, True) and _one_shot_joined(
                index, where, call, _DESCRIBED.get(how, how))
    # the same registrations, resolved across modules (`facts().jobs()` is asked inside
    # `connections_only`, where a scheduler built in a settings module is unknown)
    with index.full_resolution():
        for module in index.modules_mentioning(_ENTRY_WORDS):
            for func, call in _scoped_calls(module):
                found = threaded_target(index, module, func, call)
                if found is not None and not (func is not None
                                              and _apscheduler_job(found[1])
                                              and _never_called(index, func)
                                              and _owns_scheduler(func)):
                    key = id(found[0].node)
                    waited = key not in out or joined.get(key, False)
                    joined[key] = waited and _one_shot_joined(index, func, call, found[1])
                    out.setdefault(key, found[1])
            for f in module.all_functions:
                registered = _decorator_registration(index, module, f)
                if registered is not None:
                    out.setdefault(id(f.node), registered)
                    joined[id(f.node)] = False
            for key, how in callback_entries(index, module).items():
                out.setdefault(key, how)
                joined[key] = False
            # a project subclass of `threading.Thread`: its `run()` is the new thread's
            # body (`class Sync(Thread): def run(self): ...`, started with `.start()`)
            for run in thread_subclass_runs(index, module):
                out.setdefault(id(run.node), _DESCRIBED["Thread"])
                joined[id(run.node)] = False
        # a job whose every registration sits in a function nothing calls is never
        # registered (`def start_scheduler(): ... add_job(sync, ...)` left uncalled)
        registrars: dict[int, list[FunctionInfo | None]] = {}
        for job, where in facts(index).job_registrations():
            registrars.setdefault(id(job.node), []).append(where)
        for key, wheres in registrars.items():
            if key in out and _apscheduler_job(out[key]) and all(
                    w is not None and _never_called(index, w) and _owns_scheduler(w)
                    for w in wheres):
                del out[key]
        if not _scheduler_started(index):
            # a scheduler nobody starts runs none of its jobs (`scheduler.start()` left
            # commented out): its registrations put no function on a thread
            out = {key: how for key, how in out.items() if not _apscheduler_job(how)}
        if PTB_HANDLER in out.values() and not _updater_started(index):
            # python-telegram-bot handlers that no `Updater` polls for: a dispatcher fed
            # by hand (`dispatcher.process_update()` in a webhook view) runs them in the
            # caller's thread
            out = {key: how for key, how in out.items() if how != PTB_HANDLER}
    # threads that one-shot code starts and waits for (a management command joining
    # its workers): their connections last no longer than the command's process
    return {key: how for key, how in out.items() if not joined.get(key, False)}


def _one_shot_joined(index: ProjectIndex, starter: FunctionInfo | None, call: cst.Call,
                     how: str) -> bool:
    """A thread or pool task that one-shot code (`project_facts.is_cli_entry`: a
    management command's `handle()`, a method only it calls) starts and waits for
    before it returns (`joined_threads`), when neither the starter nor, for a
    command's method, the command's `handle()` loops for ever (a daemon's rounds
    would each start new threads)."""
    if starter is None or how not in _JOINABLE:
        return False
    if not joined_before_return(starter.node.body, call) or _daemon(starter):
        return False
    if starter.cls is not None and is_django_command(index, starter.cls):
        handle = starter.cls.methods.get(DJANGO_COMMAND_METHOD)
        if handle is not None and handle is not starter and _daemon(handle):
            return False
    return is_cli_entry(index, starter)


def _daemon(func: FunctionInfo) -> bool:
    """`func` has a loop that keeps it running (`long_running`)."""
    return any(isinstance(n, cst.While) and long_running(n, func.node)
               for n in iter_nodes(func.node.body))


def _never_called(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A plain module-level function (no class, no decorator, not nested) whose name no
    project file spells but at its own `def`: nothing calls it, imports it or names
    it in a string (`def start_scheduler(): ... scheduler.add_job(sync, ...)` left
    uncalled). Read for scheduler jobs only, with `_owns_scheduler`: a thread
    started by such a function may still be started from outside the project (a
    library's public function, a signal receiver connected by name)."""
    if func.cls is not None or func.parent is not None or func.node.decorators:
        return False
    name = func.name
    word = re.compile(rf"\b{re.escape(name)}\b")
    seen = sum(len(word.findall(source))
               for _, source in index.files_matching(word_pattern([name])))
    return seen == 1


def _owns_scheduler(func: FunctionInfo) -> bool:
    """`func` builds a scheduler (a call of a `...Scheduler` class) and starts one
    (`.start()`) in its own body: the scheduler its jobs run on exists only if it
    runs. A function that registers on a scheduler made elsewhere (a module's,
    started at import) may be called from outside the project (a signal)."""
    built = started = False
    for call in func.direct_calls:
        name = call_name(call) or ""
        built = built or name.endswith("Scheduler")
        started = started or (isinstance(call.func, cst.Attribute) and name == "start")
    return built and started


def _updater_started(index: ProjectIndex) -> bool:
    """Whether the project may start a python-telegram-bot `Updater`: a
    `.start_polling()` / `.start_webhook()` call in a module it reads, or one spelled
    (outside a comment) in a file it did not read (computed once per index and
    resolution level)."""
    def started(module: ModuleInfo) -> bool:
        return any(isinstance(call.func, cst.Attribute)
                   and call.func.attr.value in PTB_UPDATER_STARTS
                   for call, _ in module.calls)

    return index.derived(f"{_UPDATER_STARTED}:{index.resolution_level}", lambda: index.any_module(
        word_pattern(PTB_UPDATER_STARTS), started) or index.unread_files_match(_UPDATER_CALL))


_UPDATER_STARTED = "_django_ptb_updater_started"
_UPDATER_CALL = re.compile(rb"(?m)^[^#\n]*\.\s*start_(?:polling|webhook)\s*\(")


#: the methods that set an APScheduler scheduler running
_SCHEDULER_START = "start"


def _apscheduler_job(how: str) -> bool:
    return how in (_DESCRIBED["add_job"], _SCHEDULED_JOB) or (
        how.startswith("@") and how.rsplit(".", 1)[-1] in THREAD_JOB_DECORATORS)


def _scheduler_started(index: ProjectIndex) -> bool:
    """Whether the project may start an APScheduler scheduler anywhere: a `.start()`
    call on one, or on any receiver but a known library object of another kind (a
    `threading.Thread`): an unknown one, a name imported from a module the scan did
    not read, a project object; or, in a file the scan did not read, any `.start(`
    outside a comment (computed once per index and resolution level)."""
    def started(module: ModuleInfo) -> bool:
        for call, func in module.calls:
            f = call.func
            if isinstance(f, cst.Attribute) and f.attr.value == _SCHEDULER_START:
                owner = index.evaluate(f.value, module, func)
                if not isinstance(owner, ExternalInstance) or instance_type(
                        owner, APSCHEDULER_TYPES):
                    return True  # a scheduler, or a receiver it may be
        return False

    return index.derived(f"{_STARTED}:{index.resolution_level}", lambda: index.any_module(
        word_pattern(SCHEDULER_WORDS), started) or index.unread_files_match(_START_CALL))


_STARTED = "_django_scheduler_started"
#: the words of a module that may start a scheduler (the prefilter selects such a
#: module with a `start(` call, `prefilter._scheduler_start_files`)
SCHEDULER_WORDS = ("apscheduler", "scheduler", "Scheduler", "sched")
_START_CALL = re.compile(rb"(?m)^[^#\n]*\.\s*start\s*\(")


#: the method a `threading.Thread` subclass overrides with the thread's body
_THREAD_BODY = "run"


#: how a registration runs its function, for messages
_DESCRIBED = {
    "Thread": "a `threading.Thread`",
    "Timer": "a `threading.Timer`",
    "submit": "an executor's worker thread (`submit`)",
    "add_job": "an APScheduler job (`add_job`)",
    DONE_CALLBACK: "a done-callback of an executor's task (`add_done_callback`, run on "
                   "the worker thread)",
}


def _decorator_registration(index: ProjectIndex, module: ModuleInfo,
                            f: FunctionInfo) -> str | None:
    for deco in f.node.decorators:
        expr = deco.decorator
        if isinstance(expr, cst.Call) and _unsafe_sync_to_async(index, module, f.parent, expr):
            return "`@sync_to_async(thread_sensitive=False)`"
        target = decorator_target(deco)
        if isinstance(target, cst.Attribute) and target.attr.value in THREAD_JOB_DECORATORS \
                and instance_type(index.evaluate(target.value, module, f.parent),
                                  APSCHEDULER_TYPES):
            return _SCHEDULED_JOB
    return None


_SCHEDULED_JOB = "an APScheduler job (`@scheduled_job`)"
#: the thread starts a function can wait for (`joined_threads`): a thread it joins, a
#: task of a pool it shuts down
_JOINABLE = frozenset({_DESCRIBED["Thread"], _DESCRIBED["Timer"],
                       "an executor's worker thread (`submit`)",
                       "an executor's worker thread (`map`)"})


#: what `_thread_start` finds: the function run (an expression), how, and its first
#: argument when the call spells it
_Started = tuple[cst.BaseExpression, str, "cst.BaseExpression | None"]


def _thread_start(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                  call: cst.Call) -> _Started | None:
    """The function `call` runs on another thread (an expression), how, and the first
    argument it is given there when `call` spells it (`args=[x]`,
    `executor.submit(f, x)`)."""
    args = positional_args(call)
    f = call.func
    if _unsafe_sync_to_async(index, module, func, call) and args:
        return args[0], "`sync_to_async(thread_sensitive=False)`", None
    if isinstance(f, cst.Attribute) and f.attr.value == DONE_CALLBACK and args \
            and _executor_future(index, module, func, f.value):
        return args[0], _DESCRIBED[DONE_CALLBACK], None
    if isinstance(f, cst.Attribute) and f.attr.value in EXECUTOR_METHODS:
        method = f.attr.value
        pos = EXECUTOR_METHODS[method]
        if len(args) > pos and (method == "run_in_executor" or _is_executor(
                index, module, func, f.value)):
            first = args[pos + 1] if len(args) > pos + 1 and method in _TASK_ARGUMENTS_FOLLOW \
                else None
            return args[pos], f"an executor's worker thread (`{method}`)", first
        return None
    if isinstance(f, cst.Attribute) and f.attr.value == "add_job":
        if not instance_type(index.evaluate(f.value, module, func), APSCHEDULER_TYPES) \
                and not handed_instance(index, f.value, module, func, APSCHEDULER_TYPES):
            return None
        target = keyword_arg(call, "func") or (args[0] if args else None)
        if target is None:
            return None
        return target, _DESCRIBED["add_job"], _first_element(keyword_arg(call, "args"))
    if len(args) < 2 and keyword_arg(call, "target") is None \
            and keyword_arg(call, "function") is None:
        return None  # no function to run whatever the callee is: nothing resolved
    callee = index.evaluate(f, module, func)
    kind = _thread_class(index, callee)
    if kind is None and callee is None and isinstance(f, cst.Name) and func is not None:
        kind = _local_thread_class(index, module, func, f.value)
    if kind is None:
        return None
    name = kind[1].rsplit(".", 1)[-1]
    keyword = "target" if name == "Thread" else "function"
    target = keyword_arg(call, keyword) or (args[1] if len(args) > 1 else None)
    if target is None:
        return None
    return target, _DESCRIBED[name], _first_element(keyword_arg(call, "args"))


def _executor_future(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                     expr: cst.BaseExpression) -> bool:
    """A future an executor's `submit()` returned: the call itself
    (`executor.submit(f).add_done_callback(cb)`), or a name of `func` assigned from it
    (`future = executor.submit(f)`). Its done-callbacks run on the worker thread that
    finished the task (an asyncio task's run on the event loop's thread)."""
    if isinstance(expr, cst.Name) and func is not None:
        values = [v for v in func.locals.get(expr.value, [])
                  if isinstance(v, cst.BaseExpression)]
        if len(values) != 1:
            return False
        expr = values[0]
    expr = strip_await(expr)[0]
    return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "submit"
            and _is_executor(index, module, func, expr.func.value))


#: executor methods whose further positional arguments are the task's own
#: (`executor.submit(f, x)`, `loop.run_in_executor(None, f, x)`)
_TASK_ARGUMENTS_FOLLOW = frozenset({"submit", "run_in_executor", "apply_async", "apply"})


def _first_element(expr: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """`x` of `[x, ...]` / `(x, ...)`."""
    if isinstance(expr, (cst.List, cst.Tuple)) and expr.elements \
            and isinstance(expr.elements[0], cst.Element):
        return expr.elements[0].value
    return None


def thread_subclass_runs(index: ProjectIndex, module: ModuleInfo) -> Iterator[FunctionInfo]:
    """The `run()` of each project subclass of `threading.Thread` in `module` (directly
    or through a project base): the body of the thread such an object starts."""
    for cls in module.classes.values():
        run = cls.methods.get(_THREAD_BODY)
        kind = _thread_class(index, ClassRef(cls)) if run is not None else None
        if run is not None and kind is not None and kind[1] == "Thread":
            yield run


def threaded_target(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                     call: cst.Call) -> tuple[FunctionInfo, str] | None:
    """The project function `call` runs on another thread, and how."""
    started = _thread_start(index, module, func, call)
    if started is None:
        return None
    target, how, _first = started
    target = _named_attribute(target)
    found = _target_function(index, module, func, target)
    if found is not None:
        return found, how
    bound = bound_method(index, module, func, target)
    if bound is None:
        bound = _super_method(index, module, func, target)
    return (bound, how) if bound is not None else None


def _named_attribute(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`getattr(obj, "name")` (with or without a default) read as `obj.name`: the
    attribute a literal name picks is as certain as the dotted one (a name held in a
    variable is not followed). Anything else is returned as it is."""
    looked_up = getattr_literal(expr)
    if looked_up is None or not looked_up[1].isidentifier():
        return expr
    return cst.Attribute(value=looked_up[0], attr=cst.Name(looked_up[1]))


def _super_method(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                  expr: cst.BaseExpression) -> FunctionInfo | None:
    """The project method `super().name` (in the method itself) or
    `super(Cls, self).name` (also in a function nested in it) names, in a
    method of a class with one base (the class `Cls` names must be the method's own
    class): the base's method, or the nearest one up a chain of single bases. With
    several bases the next class of the instance's MRO depends on the instance's
    class, and nothing is returned."""
    if not (isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Call)
            and isinstance(expr.value.func, cst.Name) and expr.value.func.value == "super"):
        return None
    owner = func
    while owner is not None and owner.cls is None:
        owner = owner.parent  # a function nested in the method
    if owner is None or owner.cls is None:
        return None
    cls: ClassInfo | None = owner.cls
    args = expr.value.args
    if not args and owner is not func:
        return None  # zero-argument super() in a nested function has no instance
    if args:
        if len(args) != 2 or any(a.keyword is not None or a.star for a in args):
            return None
        named = index.evaluate(args[0].value, module, func)
        if not isinstance(named, ClassRef) or named.cls is not cls:
            return None
    for _ in range(_MAX_BASES):
        if cls is None or len(cls.node.bases) != 1:
            return None
        base = index.evaluate(cls.node.bases[0].value, cls.module, None)
        if not isinstance(base, ClassRef):
            return None
        cls = base.cls
        if expr.attr.value in cls.methods:
            return cls.methods[expr.attr.value]
    return None


def _target_function(index: ProjectIndex, module: ModuleInfo, starter: FunctionInfo | None,
                     expr: cst.BaseExpression) -> FunctionInfo | None:
    """The project function a thread start names: one the index resolves, or a
    function defined inside the starter (or a function enclosing it) under that name
    (`def load(rows): ...` next to `Thread(target=load)` in a view)."""
    value = index.evaluate(expr, module, starter)
    if isinstance(value, FunctionRef):
        return value.func
    if value is None and isinstance(expr, cst.Name) and starter is not None:
        return _nested_function(module, starter, expr.value)
    return None


def _nested_function(module: ModuleInfo, func: FunctionInfo, name: str) -> FunctionInfo | None:
    """The one function `def name` directly inside `func` or a function enclosing it
    (the nearest scope that binds `name`), when that scope binds the name to nothing
    else (no assignment, no parameter of that name)."""
    scope: FunctionInfo | None = func
    while scope is not None:
        defined = [f for f in module.all_functions
                   if f.parent is scope and f.cls is None and f.name == name]
        if name in scope.locals or name in scope.all_param_names():
            return None
        if defined:
            return defined[0] if len(defined) == 1 else None
        scope = scope.parent
    return None


# ------------------------------------------------------------- bound methods
def bound_method(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                 expr: cst.BaseExpression, depth: int = 0) -> FunctionInfo | None:
    """The project method `obj.method` names where the index leaves it unknown: `obj`
    is an instance of a project class (one it knows, a parameter annotated with the
    class, a model signal receiver's `instance`, a row a manager lookup returns) and
    the method is the class's own or a project base's (`Thread(target=instance.send)`
    in a `post_save` receiver; `pool.submit(self.refresh)` with `refresh` inherited)."""
    if not isinstance(expr, cst.Attribute):
        return None
    cls = _object_class(index, module, func, expr.value, depth)
    return inherited_method(index, cls, expr.attr.value, _MAX_BASES) if cls is not None else None


#: how many returned rows `_object_class` follows through (`qs = qs.filter(...)` binds
#: a name to a call on itself: without a bound, the lookup never ends)
_MAX_ROW_DEPTH = 3


def _object_class(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                  expr: cst.BaseExpression, depth: int = 0) -> ClassInfo | None:
    value = index.evaluate(expr, module, func)
    if isinstance(value, (Instance, ClassRef)):
        return value.cls
    if value is None and func is not None and isinstance(expr, cst.Attribute):
        return _default_collaborator(index, func, expr)
    if value is not None or func is None or not isinstance(expr, cst.Name):
        return None
    name = expr.value
    if name in func.all_param_names():
        annotation = param_annotation(func, name)
        for part in annotation_parts(annotation) if annotation is not None else ():
            found = index.evaluate(part, func.module, None)
            if isinstance(found, ClassRef):
                return found.cls
        return _signal_sender(index, func) if name == DJANGO_SIGNAL_INSTANCE else None
    for bound in reversed(func.locals.get(name, [])):
        if isinstance(bound, cst.BaseExpression):
            return (_looked_up_row(index, func, bound) or _written_row(index, func, bound)
                    or (_returned_row(index, func, bound, depth + 1)
                        if depth < _MAX_ROW_DEPTH else None)
                    or _returned_class(index, func, name, bound))
    return None


def _returned_class(index: ProjectIndex, func: FunctionInfo, name: str,
                    expr: cst.BaseExpression) -> ClassInfo | None:
    """The project class `name = <call of a project function>` holds, for a method
    called on it (`jobclass = self.get_jobclass(); Thread(target=jobclass.run)`): the
    one class every return of the called function names, or else the project class
    `func` asserts it derives from (`assert issubclass(jobclass, Job)`: a base method
    its subclasses override, whose own body returns nothing useful). Only for a name
    bound once in `func`."""
    if len(func.locals.get(name, [])) != 1:
        return None
    call = strip_await(expr)[0]
    if not isinstance(call, cst.Call):
        return None
    with index.full_resolution():
        callee = index.evaluate(call.func, func.module, func)
        target = callee.func if isinstance(callee, FunctionRef) else (
            bound_method(index, func.module, func, call.func, _MAX_ROW_DEPTH)
            if callee is None else None)
    if target is None or target is func:
        return None
    found: ClassInfo | None = None
    for ret in target.returns:
        with index.full_resolution():
            value = index.evaluate(ret.value, target.module, target) \
                if ret.value is not None else None
        if not isinstance(value, ClassRef) or (found is not None and value.cls is not found):
            found = None
            break
        found = value.cls
    return found if found is not None else _asserted_base(index, func, name)


def _asserted_base(index: ProjectIndex, func: FunctionInfo, name: str) -> ClassInfo | None:
    """The project class of `assert issubclass(name, Cls)` in `func`'s own body."""
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.Assert):
            continue
        test = node.test
        if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Name)
                and test.func.value == "issubclass" and len(test.args) == 2
                and isinstance(test.args[0].value, cst.Name)
                and test.args[0].value.value == name):
            continue
        with index.full_resolution():
            base = index.evaluate(test.args[1].value, func.module, func)
        if isinstance(base, ClassRef):
            return base.cls
    return None


def _default_collaborator(index: ProjectIndex, func: FunctionInfo,
                          expr: cst.Attribute) -> ClassInfo | None:
    """The project class of `self.repo` in a method whose class sets it only as an
    injected collaborator with a default (`self.repo = repo or Repository()`, the
    parameter `None` unless a caller passes one): the default's class, whose method a
    call on the attribute runs when nothing is injected."""
    cls = func.cls
    params = func.node.params.params
    if cls is None or not (isinstance(expr.value, cst.Name) and params
                           and expr.value.value == params[0].name.value):
        return None
    found: ClassInfo | None = None
    for bound in cls.attributes.get(expr.attr.value, []):
        if not (isinstance(bound, cst.BooleanOperation) and isinstance(bound.operator, cst.Or)):
            return None
        default = bound.right
        while isinstance(default, cst.BooleanOperation) and isinstance(default.operator, cst.Or):
            default = default.right
        value = index.evaluate(default, func.module, None)
        if not isinstance(value, Instance) or (found is not None and value.cls is not found):
            return None
        found = value.cls
    return found


def _signal_sender(index: ProjectIndex, func: FunctionInfo) -> ClassInfo | None:
    """The model whose signal `func` receives (`@receiver(post_save, sender=Order)`,
    or `post_save.connect(func, sender=Order)` in its own module): Django passes the
    row as the `instance` keyword."""
    for deco in func.node.decorators:
        call = deco.decorator
        if not isinstance(call, cst.Call):
            continue
        callee = index.evaluate(call.func, func.module, func.parent)
        if isinstance(callee, External) and qual_match(callee.qualname,
                                                       DJANGO_RECEIVER) is not None:
            args = positional_args(call)
            signal = args[0] if args else keyword_arg(call, "signal")
            found = _sender_of(index, func.module, func.parent, call, signal)
            if found is not None:
                return found
    for call in iter_calls(func.module.tree):
        f = call.func
        args = positional_args(call)
        if not (isinstance(f, cst.Attribute) and f.attr.value == "connect" and args):
            continue
        handler = index.evaluate(args[0], func.module, None)
        if isinstance(handler, FunctionRef) and handler.func is func:
            found = _sender_of(index, func.module, None, call, f.value)
            if found is not None:
                return found
    return None


def _sender_of(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
               call: cst.Call, signal: cst.BaseExpression | None) -> ClassInfo | None:
    """The project model of `sender=` when `signal` is one of a model's signals (or a
    list of them)."""
    sender = keyword_arg(call, "sender")
    if signal is None or sender is None:
        return None
    signals = [e.value for e in signal.elements] if isinstance(signal, (cst.List, cst.Tuple)) \
        else [signal]
    for s in signals:
        value = index.evaluate(s, module, scope)
        if not (isinstance(value, External)
                and qual_match(value.qualname, DJANGO_MODEL_SIGNALS) is not None):
            return None
    model = index.evaluate(sender, module, scope)
    return model.cls if isinstance(model, ClassRef) else None


def called_command(index: ProjectIndex, callee: External,
                   call: cst.Call) -> FunctionInfo | None:
    """The `handle()` of the project command `call_command("name", ...)` runs in the
    calling thread: `class Command` of a module named `...management.commands.name`."""
    args = positional_args(call)
    if qual_match(callee.qualname, DJANGO_CALL_COMMAND) is None or not args \
            or not isinstance(args[0], cst.SimpleString):
        return None
    name = args[0].evaluated_value
    return project_command(index, name) if isinstance(name, str) else None


def database_command(callee: External, call: cst.Call) -> str | None:
    """The name of `call_command("dumpdata", ...)` when it names a command the project
    does not define that uses the database (Django's own, a backup package's)."""
    args = positional_args(call)
    if qual_match(callee.qualname, DJANGO_CALL_COMMAND) is None or not args \
            or not isinstance(args[0], cst.SimpleString):
        return None
    name = args[0].evaluated_value
    return name if isinstance(name, str) and name in DJANGO_DATABASE_COMMANDS else None


def project_command(index: ProjectIndex, name: str) -> FunctionInfo | None:
    """The `handle()` of the project's management command `name`: `class Command` of
    a module named `...management.commands.name`."""
    # by its module's name first: an index that parses on demand loads it even when
    # the prefilter left it out (a command with no database word of its own)
    named = index.by_name.get(f"commands.{name}", [])
    for module in [*named, *index.modules_mentioning([DJANGO_COMMAND_CLASS])]:
        if any(n.split(".")[-2:] == ["commands", name] for n in module.names):
            cls = module.classes.get(DJANGO_COMMAND_CLASS)
            if cls is not None and DJANGO_COMMAND_METHOD in cls.methods:
                return cls.methods[DJANGO_COMMAND_METHOD]
    return None


def _command_thread_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[ThreadGap]:
    """`Thread(target=call_command, args=["sync"])`, `executor.submit(call_command,
    "sync")`: the named project command's `handle()` runs on the new thread, and
    nothing of the project runs after it there to close. The name may be a parameter
    of the function that starts the thread: its callers' literal arguments. Reported
    at the call that starts the thread."""
    if "call_command" not in module.source:
        return
    for func in module.all_functions:
        for call in func.direct_calls:
            started = _thread_start(index, module, func, call)
            if started is None:
                continue
            target, how, first = started
            if first is None:
                continue
            value = index.evaluate(target, module, func)
            if not (isinstance(value, External)
                    and qual_match(value.qualname, DJANGO_CALL_COMMAND) is not None):
                continue
            for name in _command_names(index, func, first):
                with index.full_resolution():
                    handle = project_command(index, name)
                if handle is None or _closers(index, handle, handle.node.body, 0):
                    continue
                found = _db_use(index, handle, handle.node.body, 1)
                if found is not None:
                    yield ThreadGap(call, func, how, f"`call_command({name!r})`, whose "
                                    f"`handle()` uses {found[1]}", "command")
                    break


def _command_names(index: ProjectIndex, func: FunctionInfo,
                   expr: cst.BaseExpression) -> list[str]:
    """The command names `expr` stands for: a literal, or a parameter of `func` and
    the literals its project callers pass there."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return [value] if isinstance(value, str) else []
    if not isinstance(expr, cst.Name):
        return []
    params = [p.name.value for p in func.node.params.params]
    if expr.value not in params:
        return []
    position = params.index(expr.value) - (1 if func.cls is not None else 0)
    names: list[str] = []
    with index.full_resolution():
        sites = facts(index).callers(func)
    for site in sites:
        given = keyword_arg(site.call, expr.value)
        args = positional_args(site.call)
        if given is None and 0 <= position < len(args):
            given = args[position]
        if isinstance(given, cst.SimpleString) and isinstance(given.evaluated_value, str) \
                and given.evaluated_value not in names:
            names.append(given.evaluated_value)
    return names


def _looked_up_row(index: ProjectIndex, func: FunctionInfo,
                   expr: cst.BaseExpression) -> ClassInfo | None:
    """The model of `Order.objects.get(...)` / `Order.objects.filter(...).first()`:
    a manager chain ending in a method that returns one row."""
    expr = strip_await(expr)[0]
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in DJANGO_ROW_LOOKUPS):
        return None
    node: cst.BaseExpression = expr.func.value
    while not (isinstance(node, cst.Attribute) and node.attr.value in DJANGO_MANAGER_ATTRIBUTES):
        if isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            return None
    model = index.evaluate(node.value, func.module, func)
    return model.cls if isinstance(model, ClassRef) and _is_model(index, model) else None


def _written_row(index: ProjectIndex, func: FunctionInfo,
                 expr: cst.BaseExpression) -> ClassInfo | None:
    """The model of the row a `ModelForm`'s or a DRF model serializer's `save()`
    returns (`order = OrderForm(request.POST).save()`): its `Meta.model`, a project
    model. `save(commit=False)` builds the row without writing it, and returns it
    all the same."""
    expr = strip_await(expr)[0]
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == DJANGO_ROW_WRITER_SAVE):
        return None
    writer = index.evaluate(expr.func.value, func.module, func)
    if not isinstance(writer, Instance) or not _row_writer(index, ClassRef(writer.cls)):
        return None
    return _writer_model(index, writer.cls)


def _returned_row(index: ProjectIndex, func: FunctionInfo,
                  expr: cst.BaseExpression, depth: int) -> ClassInfo | None:
    """The model of the row a project function or method returns when every value it
    returns is one row of that model from a manager lookup (`def save(self): mail =
    Mail.objects.create(...); return mail`, then `mail = form.save()` in a view)."""
    expr = strip_await(expr)[0]
    if not isinstance(expr, cst.Call):
        return None
    with index.full_resolution():
        callee = index.evaluate(expr.func, func.module, func)
        target = callee.func if isinstance(callee, FunctionRef) else (
            bound_method(index, func.module, func, expr.func, depth)
            if callee is None else None)
    if target is None or target is func or not target.returns:
        return None
    found: ClassInfo | None = None
    for ret in target.returns:
        value = ret.value
        if value is None:
            return None
        if isinstance(value, cst.Name):
            bound = [v for v in target.locals.get(value.value, [])
                     if isinstance(v, cst.BaseExpression)]
            if len(bound) != 1:
                return None
            value = bound[0]
        row = _looked_up_row(index, target, value)
        if row is None or (found is not None and row is not found):
            return None
        found = row
    return found


def _row_writer(index: ProjectIndex, value: object, depth: int = 0) -> bool:
    """A project class deriving from a `ModelForm` or a DRF model serializer, whose
    `save()` writes a model row."""
    if isinstance(value, External):
        return qual_match(value.qualname, DJANGO_ROW_WRITERS) is not None
    if not isinstance(value, ClassRef) or depth > _MAX_BASES:
        return False
    with index.full_resolution():
        return any(_row_writer(index, index.evaluate(base.value, value.cls.module, None),
                               depth + 1) for base in value.cls.node.bases)


def _writer_model(index: ProjectIndex, cls: ClassInfo, depth: int = 0) -> ClassInfo | None:
    """The project model a form or serializer class names in its `Meta` (`class Meta:
    model = Order`), its own or a project base's."""
    for st in cls.node.body.body:
        if not (isinstance(st, cst.ClassDef) and st.name.value == DJANGO_WRITER_META):
            continue
        for line in st.body.body:
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for small in line.body:
                if isinstance(small, cst.Assign) and any(
                        isinstance(t.target, cst.Name) and t.target.value == DJANGO_WRITER_MODEL
                        for t in small.targets):
                    with index.full_resolution():
                        model = index.evaluate(small.value, cls.module, None)
                    return model.cls if isinstance(model, ClassRef) \
                        and _is_model(index, model) else None
    if depth < _MAX_BASES:
        for base in cls.node.bases:
            with index.full_resolution():
                value = index.evaluate(base.value, cls.module, None)
            if isinstance(value, ClassRef):
                found = _writer_model(index, value.cls, depth + 1)
                if found is not None:
                    return found
    return None


def _thread_class(index: ProjectIndex, value: object, depth: int = 0) -> tuple[str, str] | None:
    """`threading.Thread` / `threading.Timer`, or a project class deriving from one (a
    repeating timer): the (package, class) pair."""
    if isinstance(value, External):
        return qual_match(value.qualname, THREAD_CLASSES)
    if isinstance(value, ClassRef) and depth < _MAX_BASES:
        for base in value.cls.node.bases:
            found = _thread_class(index, index.evaluate(base.value, value.cls.module, None),
                                  depth + 1)
            if found is not None:
                return found
    return None


def _local_thread_class(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                        name: str) -> tuple[str, str] | None:
    """A class defined inside `func` (`class RepeatTimer(Timer)` next to its use)."""
    for node in _local_classes(index, func).get(name, ()):
        for base in node.bases:
            found = _thread_class(index, index.evaluate(base.value, module, func))
            if found is not None:
                return found
    return None


#: the attribute of an index that holds `_local_classes`' answers
_LOCAL_CLASSES = "_local_classes"


def _local_classes(index: ProjectIndex, func: FunctionInfo) -> dict[str, list[cst.ClassDef]]:
    """The classes defined inside `func`, by name, in the order of its body (one walk
    per function and index: asked for every call of an unresolved name, a walk per
    call made a long function's search quadratic). The entry keeps its node, so an
    id reused by a later tree is never taken for it."""
    memo: dict[int, tuple[cst.FunctionDef, dict[str, list[cst.ClassDef]]]] = \
        index.derived(_LOCAL_CLASSES, dict)
    entry = memo.get(id(func.node))
    if entry is None or entry[0] is not func.node:
        found: dict[str, list[cst.ClassDef]] = {}
        for node in iter_nodes(func.node.body):
            if isinstance(node, cst.ClassDef):
                found.setdefault(node.name.value, []).append(node)
        entry = memo[id(func.node)] = (func.node, found)
    classes: dict[str, list[cst.ClassDef]] = entry[1]
    return classes


def _is_executor(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                 expr: cst.BaseExpression) -> bool:
    """A `ThreadPoolExecutor`, also one bound by `with ThreadPoolExecutor() as pool:`
    (the index follows a `with` binding only to connections)."""
    if instance_type(index.evaluate(expr, module, func), EXECUTOR_TYPES):
        return True
    if not isinstance(expr, cst.Name):
        return False
    scope: cst.CSTNode = module.tree if func is None else func.node
    for node in iter_nodes(scope):
        if isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None and isinstance(item.asname.name, cst.Name) \
                        and item.asname.name.value == expr.value and instance_type(
                            index.evaluate(item.item, module, func), EXECUTOR_TYPES):
                    return True
    return False


def _unsafe_sync_to_async(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                          call: cst.Call) -> bool:
    sensitive = keyword_arg(call, "thread_sensitive")
    if not isinstance(sensitive, cst.Name) or is_true(sensitive):
        return False  # decided by the spelling: no call resolved (most calls of a module)
    callee = index.evaluate(call.func, module, func)
    return isinstance(callee, External) and qual_match(callee.qualname, SYNC_TO_ASYNC) \
        is not None


# -------------------------------------------------------------- the checks
def _entry_gap(index: ProjectIndex, func: FunctionInfo, how: str) -> ThreadGap | None:
    if _closing_decorator(index, func) or _base_closes_after_run(index, func):
        return None
    found = _db_use(index, func, func.node.body, 0)
    if found is None:
        found = _callback_use(index, func)
    if found is None:
        found = _relation_use(index, func)
    if found is None:
        return None
    node, use = found
    closes = _closers(index, func, func.node.body, 0)
    if not closes:
        return ThreadGap(node, func, how, use, "never")
    if how in ONE_SHOT_THREADS or how in (_DESCRIBED[n] for n in ONE_SHOT_THREADS) \
            or how.startswith(tuple(ANY_CLOSE_SUFFICES)) \
            or any(_in_finally(func, c) for c in closes):
        return None
    return ThreadGap(node, func, how, use, "exception")


_PASSED = "_django_thread_passed_arguments"
#: a thread start that passes a target these arguments: (the module and function
#: that start it, the target's parameter -> the expression passed)
_Passed = tuple[ModuleInfo, "FunctionInfo | None", dict[str, cst.BaseExpression]]


def _callback_use(index: ProjectIndex, func: FunctionInfo) -> tuple[cst.CSTNode, str] | None:
    """A target that calls what it is given: `Thread(target=every, args=[lambda:
    purge(), 5])` with `def every(job, delay): while True: job(); sleep(delay)`. The
    project function passed (by name, or the one a lambda's body calls) runs on the
    thread; its database work is reported at the call of the parameter, unless it
    closes the connection itself."""
    if func.cls is not None:
        return None
    sites = _passed_arguments(index).get(id(func.node))
    if not sites:
        return None
    params = func.node.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for call in iter_calls(func.node.body):
        if not (isinstance(call.func, cst.Name) and call.func.value in names):
            continue
        name = call.func.value
        if any(isinstance(v, cst.BaseExpression) for v in func.locals.get(name, [])):
            continue  # bound again in the target: not what the starter passed
        for module, starter, bound in sites:
            passed = bound.get(name)
            callee = None if passed is None else _passed_function(index, module, starter, passed)
            if callee is None or callee is func \
                    or _closers(index, callee, callee.node.body, 1):
                continue
            inner = _db_use(index, callee, callee.node.body, 1)
            if inner is not None:
                return call, f"`{name}()` (here `{callee.name}()`, which uses {inner[1]})"
    return None


def _relation_use(index: ProjectIndex, func: FunctionInfo) -> tuple[cst.CSTNode, str] | None:
    """A target its starter gives a model row (`Thread(target=mail_invoice,
    args=(invoice,))`, `invoice` a row of the project's `Invoice`) that reads one of
    the row's forward relations (`invoice.customer.email`, `customer` a `ForeignKey`
    or `OneToOneField` of `Invoice`): a related row not cached on the instance is
    loaded on the thread. Reported at the first such read."""
    if func.cls is not None:
        return None
    sites = _passed_arguments(index).get(id(func.node))
    if not sites:
        return None
    for module, starter, bound in sites:
        for name, passed in bound.items():
            if any(isinstance(v, cst.BaseExpression) for v in func.locals.get(name, [])):
                continue  # bound again in the target: not what the starter passed
            with index.full_resolution():
                cls = _object_class(index, module, starter, passed)
                if cls is None or not _is_model(index, ClassRef(cls)):
                    continue
                cached = _cached_relations(module, starter, passed)
                fields = frozenset() if "*" in cached \
                    else _forward_relations(index, cls) - cached
            for node in iter_nodes(func.node.body):
                if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
                        and node.value.value == name and node.attr.value in fields:
                    return node, (f"`{name}.{node.attr.value}` (a relation of the "
                                  f"`{cls.name}` row its starter passes, loaded from the "
                                  "database)")
                if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                        and isinstance(node.func.value, cst.Name) \
                        and node.func.value.value == name and instance_query(node):
                    # the row's own query (`receipt.save()`); a positional argument
                    # means another `save` (PIL's `image.save(path)`)
                    return node, (f"`{name}.{node.func.attr.value}()` (on the `{cls.name}` "
                                  "row its starter passes)")
    return None


def _cached_relations(module: ModuleInfo, starter: FunctionInfo | None,
                      passed: cst.BaseExpression) -> frozenset[str]:
    """The relations already loaded on the row a thread start passes (a name of the
    starter): those its lookup joins (`Receipt.objects.select_related("customer")`;
    with no names, every relation, as `"*"`), and those the starter reads itself
    (`receipt.customer`), which caches them on the instance."""
    if not isinstance(passed, cst.Name):
        return frozenset()
    name = passed.value
    scope = starter.node.body if starter is not None else module.tree
    out: set[str] = set()
    bound: list[object] = list(
        starter.locals.get(name, []) if starter is not None else module.assigns.get(name, []))
    for value in bound:
        if not isinstance(value, cst.BaseExpression):
            continue
        for link in chain_links(value):
            if isinstance(link, cst.Call) and isinstance(link.func, cst.Attribute) \
                    and link.func.attr.value == "select_related":
                named = [string_value(a.value) for a in link.args]
                if not named:
                    out.add("*")
                out.update(n.split("__", 1)[0] for n in named if n is not None)
    for node in iter_nodes(scope):
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
                and node.value.value == name:
            out.add(node.attr.value)
    return frozenset(out)


def _forward_relations(index: ProjectIndex, cls: ClassInfo) -> frozenset[str]:
    """The attributes a model class declares as a `ForeignKey` or `OneToOneField`
    (`customer = models.ForeignKey(Customer, ...)`): reading one on a row loads the
    related row unless it is cached."""
    names: set[str] = set()
    for st in cls.node.body.body:
        if not isinstance(st, cst.SimpleStatementLine):
            continue
        for small in st.body:
            if not (isinstance(small, cst.Assign) and isinstance(small.value, cst.Call)):
                continue
            field = index.evaluate(small.value.func, cls.module, None)
            if isinstance(field, External) \
                    and qual_match(field.qualname, DJANGO_FORWARD_RELATIONS) is not None:
                names.update(t.target.value for t in small.targets
                             if isinstance(t.target, cst.Name))
    return frozenset(names)


def _passed_function(index: ProjectIndex, module: ModuleInfo, starter: FunctionInfo | None,
                     expr: cst.BaseExpression) -> FunctionInfo | None:
    """The project function `expr` stands for where the thread is started: a name, or
    the function a lambda's body calls (`lambda: purge()`)."""
    if isinstance(expr, cst.Lambda):
        body = expr.body
        if not isinstance(body, cst.Call):
            return None
        expr = body.func
    with index.full_resolution():
        value = index.evaluate(expr, module, starter)
    return value.func if isinstance(value, FunctionRef) else None


def _passed_arguments(index: ProjectIndex) -> dict[int, list[_Passed]]:
    """id(target FunctionDef) -> the arguments each thread start passes it."""
    return index.derived(_PASSED, lambda: _find_passed_arguments(index))


def _find_passed_arguments(index: ProjectIndex) -> dict[int, list[_Passed]]:
    out: dict[int, list[_Passed]] = {}
    with index.full_resolution():
        for module in index.modules_mentioning(_ENTRY_WORDS):
            for starter, call in _scoped_calls(module):
                started = _thread_start(index, module, starter, call)
                if started is None:
                    continue
                target = _target_function(index, module, starter, started[0])
                if target is None or target.cls is not None:
                    continue
                bound = _bind(target, *_task_arguments(call))
                if bound:
                    out.setdefault(id(target.node), []).append((module, starter, bound))
    return out


def _scoped_calls(module: ModuleInfo) -> Iterator[tuple[FunctionInfo | None, cst.Call]]:
    """Every call of the module with the function it is directly in (None: the
    module's top level)."""
    for func in (None, *module.all_functions):
        for call in (iter_calls(module.tree) if func is None else func.direct_calls):
            yield func, call


def _task_arguments(call: cst.Call) -> tuple[list[cst.BaseExpression],
                                             dict[str, cst.BaseExpression]]:
    """The arguments a thread start gives its function: `args=[...]` / `args=(...)`
    and `kwargs={...}` (a `Thread`, a `Timer`, `add_job`), or the positional arguments
    after the function (`executor.submit(f, x)`, `loop.run_in_executor(None, f, x)`)."""
    f = call.func
    if isinstance(f, cst.Attribute) and f.attr.value in ("submit", "run_in_executor"):
        pos = EXECUTOR_METHODS[f.attr.value]
        return list(positional_args(call)[pos + 1:]), {}
    positional: list[cst.BaseExpression] = []
    given = keyword_arg(call, "args")
    if isinstance(given, (cst.List, cst.Tuple)):
        for element in given.elements:
            if not isinstance(element, cst.Element):
                break  # `*rest`: the positions after it are unknown
            positional.append(element.value)
    keywords: dict[str, cst.BaseExpression] = {}
    named = keyword_arg(call, "kwargs")
    if isinstance(named, cst.Dict):
        for item in named.elements:
            if isinstance(item, cst.DictElement) and isinstance(item.key, cst.SimpleString) \
                    and isinstance(item.key.evaluated_value, str):
                keywords[item.key.evaluated_value] = item.value
    return positional, keywords


def _bind(target: FunctionInfo, positional: list[cst.BaseExpression],
          keywords: dict[str, cst.BaseExpression]) -> dict[str, cst.BaseExpression]:
    params = target.node.params
    ordered = [p.name.value for p in (*params.posonly_params, *params.params)]
    bound = dict(zip(ordered, positional, strict=False))
    allowed = {*ordered, *(p.name.value for p in params.kwonly_params)}
    bound.update({k: v for k, v in keywords.items() if k in allowed})
    return bound


def _loop_gaps(index: ProjectIndex, func: FunctionInfo,
               how: str = "a loop of management command `handle()`") -> Iterator[ThreadGap]:
    """`while` loops in a management command's `handle()` (or in a function it calls)
    that use the database and close nothing between iterations."""
    if _closing_decorator(index, func) or _atomic_decorated(index, func):
        return
    in_atomic = _in_atomic_blocks(index, func)
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.While) or id(node) in in_atomic \
                or not long_running(node, func.node) or _claims_each_round(index, func, node) \
                or _atomic_rounds(index, func, node):
            continue
        found = _db_use(index, func, node.body, 0)
        if found is None or _closers(index, func, node.body, 0):
            continue
        yield ThreadGap(found[0], func, how, found[1], "loop")


#: the exceptions a dead connection raises in Django (`django.db`), and the bases
#: that catch them
_CONNECTION_ERRORS = frozenset({"OperationalError", "InterfaceError", "DatabaseError",
                                "Error", "Exception", "BaseException"})


def _atomic_rounds(index: ProjectIndex, func: FunctionInfo, loop: cst.While) -> bool:
    """A daemon whose every round's database work is in `with transaction.atomic():`
    blocks of the loop's body, each inside a `try` of that body whose handler
    catches a connection error (`except OperationalError:`, `DatabaseError`,
    `Exception`, a bare `except:`) and goes on without raising. One connection per
    process is the design, and a dead one is not kept: `atomic()`'s rollback of the
    failed block fails on it, Django then closes it (`Atomic.__exit__`), and the
    next round connects anew. Database work outside the blocks (an autocommit
    query, which would fail on the dead connection round after round), or blocks
    no such handler covers (the error ends the command), keep the loop reported."""
    blocks = [n for n in iter_nodes(loop.body) if isinstance(n, cst.With) and any(
        _is_atomic(index, item.item, func.module, func) for item in n.items)]
    if not blocks or _db_use(index, func, loop.body, 0,
                             frozenset(id(b) for b in blocks)) is not None:
        return False
    covered: set[int] = set()
    for node in iter_nodes(loop.body):
        if isinstance(node, cst.Try) and any(
                _catches_connection_error(h) for h in node.handlers):
            covered.update(id(n) for n in iter_nodes(node.body))
    return all(id(b) in covered for b in blocks)


def _catches_connection_error(handler: cst.ExceptHandler) -> bool:
    """`except OperationalError:` (or a base of it, or a bare `except:`) whose body
    raises nothing."""
    if any(isinstance(n, cst.Raise) for n in iter_nodes(handler.body)):
        return False
    kind = handler.type
    if kind is None:
        return True
    kinds = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    return any(isinstance(k, (cst.Name, cst.Attribute))
               and (dotted_name(k) or "").rsplit(".", 1)[-1] in _CONNECTION_ERRORS
               for k in kinds)


def _claims_each_round(index: ProjectIndex, func: FunctionInfo, loop: cst.While) -> bool:
    """A queue drain that waits for nothing and moves the row its test takes out of
    what the test selects (`django_claims.claims_rows`): it ends when no row is left."""
    if {call_name(c) for c in iter_calls(loop.body)} & _WAITING_CALLS:
        return False
    return claims_rows(index, func, loop)


def _is_atomic(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
               func: FunctionInfo | None) -> bool:
    """`transaction.atomic` / `transaction.atomic(using=...)` of `django.db`."""
    target = expr.func if isinstance(expr, cst.Call) else expr
    qual = external_name(index, target, module, func)
    return qual is not None and qual_match(qual, DJANGO_ATOMIC) is not None


def _atomic_decorated(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`@transaction.atomic def handle(...)`: the whole run is one transaction."""
    return any(_is_atomic(index, d.decorator, func.module, func.parent)
               for d in func.node.decorators)


def _in_atomic_blocks(index: ProjectIndex, func: FunctionInfo) -> frozenset[int]:
    """The nodes inside `with transaction.atomic():` blocks of `func`'s body. A loop
    there (or a call there of a function that loops) runs in one transaction, which
    holds one connection by design: `close_old_connections()` in it would close the
    connection under the open transaction and mark it for rollback."""
    out: set[int] = set()
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.With) and any(
                _is_atomic(index, item.item, func.module, func) for item in node.items):
            out.update(id(n) for n in iter_nodes(node.body))
    return frozenset(out)


#: calls that wait (for time, an event, a message): a loop that makes one polls
_WAITING_CALLS = frozenset({"sleep", "wait", "select", "poll", "get_message", "recv",
                            "listen", "consume", "notifies", "wait_for"})


def long_running(loop: cst.While, scope: cst.FunctionDef | None = None) -> bool:
    """A loop that keeps the command running (a scheduler, a queue consumer): it
    waits between rounds (`time.sleep()`, `event.wait()`), or it has no way out but
    its test and its test compares nothing (`while True:`, `while not
    self.stopped():`). A finite loop (`while done < total:`, a batch loop that
    `break`s when nothing is left, an interactive prompt until a valid answer) ends
    with the command's one run, and the process exit closes the connection. So does
    a paging or batch loop whose test reads a local name the body sets
    (`while has_more:` with `has_more = page.has_more`, `while current < last:` with
    `current = end + 1`), even when it sleeps between rounds to spare the server:
    the body, not a signal, decides when it ends. So does a batch drain that waits for
    nothing (`while Order.objects.filter(...).exists():` updating or deleting those
    rows a batch at a time: see `_drains_rows`), and a retry loop bounded by its
    counter (`while retries < MAX_RETRIES:`: see `_bounded_retry`)."""
    if _drains_worklist(loop):
        return False
    waits = {call_name(c) for c in iter_calls(loop.body)} & _WAITING_CALLS
    advanced = _advanced_by_body(loop) or _bounded_retry(loop)
    if waits and (waits - {"sleep"} or not advanced):
        return True
    if not waits and scope is not None and _drains_rows(loop, scope):
        return False
    if advanced or _leaves_loop(loop.body):
        return False
    return not any(isinstance(n, cst.Comparison) for n in iter_nodes(loop.test))


#: the methods that take an item off a list or deque, and those that put one on
_TAKE_METHODS = frozenset({"pop", "popleft"})
_PUT_METHODS = frozenset({"append", "appendleft", "extend", "extendleft", "insert", "add"})


def _drains_worklist(loop: cst.While) -> bool:
    """`while pending:` / `while options["command"]:` (or `while len(x):`, `while x
    and ...`) over a local name or a subscript of one, whose body takes items off it
    (`x.pop(0)`) and never puts one back (`append`, `extend`, `insert`, `+=`): a
    worklist, such as a command line's sub-commands, that the loop drains and then
    ends. An attribute (`while self.queue:`) may be filled by another thread: not
    counted."""
    test = loop.test
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        test = test.left
    if isinstance(test, cst.Call) and call_name(test) == "len" and len(test.args) == 1:
        test = test.args[0].value
    root: cst.BaseExpression = test
    while isinstance(root, cst.Subscript):
        root = root.value
    if not isinstance(root, cst.Name):
        return False
    shown = cst.Module([]).code_for_node(test)
    took = False
    for call in iter_calls(loop.body):
        f = call.func
        if not isinstance(f, cst.Attribute) \
                or cst.Module([]).code_for_node(f.value) != shown:
            continue
        if f.attr.value in _PUT_METHODS:
            return False
        took = took or f.attr.value in _TAKE_METHODS
    for node in iter_nodes(loop.body):
        if isinstance(node, (cst.Assign, cst.AugAssign)) and any(
                cst.Module([]).code_for_node(t) == shown
                for t in ([x.target for x in node.targets] if isinstance(node, cst.Assign)
                          else [node.target])):
            return False  # rebound or extended (`x += more`)
    return took


#: the queryset methods a loop's test asks "are rows left?" with, and the bulk writes
_ROWS_LEFT = frozenset({"exists", "count"})
_ROWS_WRITE = frozenset({"update", "delete"})


def _manager_root(expr: cst.BaseExpression) -> str | None:
    """The name at the root of a chain through a Django manager
    (`Order.objects.filter(...)[:500]` -> `Order`), or of a bare name (`stale`)."""
    through_manager = False
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Subscript):
            expr = expr.value
        elif isinstance(expr, cst.Attribute):
            through_manager = through_manager or expr.attr.value == "objects"
            expr = expr.value
        else:
            break
    if not isinstance(expr, cst.Name):
        return None
    return f"{expr.value}.objects" if through_manager else expr.value


def _queryset_model(expr: cst.BaseExpression, scope: cst.FunctionDef) -> str | None:
    """The model whose manager `expr` queries, also through a local the function binds
    (only) to one model's queryset (`stale = Order.objects.filter(...)`)."""
    root = _manager_root(expr)
    if root is None or root.endswith(".objects"):
        return root
    bound: set[str | None] = set()
    for node in iter_nodes(scope.body):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == root
                for t in node.targets):
            model = _manager_root(node.value)
            bound.add(model if model is not None and model.endswith(".objects") else None)
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr)) \
                and isinstance(node.target, cst.Name) and node.target.value == root:
            bound.add(None)
    if len(bound) != 1:
        return None
    return bound.pop()


def _drains_rows(loop: cst.While, scope: cst.FunctionDef) -> bool:
    """`while Order.objects.filter(paid=False).exists():` (or `.count()`, or a local
    queryset of one model: `stale = Order.objects.filter(...)`, `while stale.exists():`)
    whose body updates or deletes rows of that same model in bulk
    (`Order.objects.filter(pk__in=batch).update(paid=True)`, `.delete()`): a batch drain,
    which ends when no row is left (the caller has checked that it waits for nothing).
    A body that writes only another model, or only reads, may never empty what the
    test counts."""
    test = loop.test
    if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute)
            and test.func.attr.value in _ROWS_LEFT):
        return False
    model = _queryset_model(test.func.value, scope)
    if model is None:
        return False
    return any(
        isinstance(call.func, cst.Attribute) and call.func.attr.value in _ROWS_WRITE
        and _queryset_model(call.func.value, scope) == model
        for call in iter_calls(loop.body))


#: a counter's step towards the bound its test sets, by the comparison's direction
_TOWARDS_BOUND: dict[type[cst.BaseCompOp], type[cst.BaseAugOp]] = {
    cst.LessThan: cst.AddAssign, cst.LessThanEqual: cst.AddAssign,
    cst.GreaterThan: cst.SubtractAssign, cst.GreaterThanEqual: cst.SubtractAssign}
_MIRRORED: dict[type[cst.BaseCompOp], type[cst.BaseCompOp]] = {
    cst.LessThan: cst.GreaterThan, cst.LessThanEqual: cst.GreaterThanEqual,
    cst.GreaterThan: cst.LessThan, cst.GreaterThanEqual: cst.LessThanEqual}


def _retry_counter(test: cst.BaseExpression) -> tuple[str, type[cst.BaseAugOp]] | None:
    """The local counter a retry loop's test bounds and the step that moves it
    towards the bound: `while retries < MAX_RETRIES:` -> (`retries`, `+=`),
    `while tries > 0:` -> (`tries`, `-=`), also with the counter on the right."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return None
    op = type(test.comparisons[0].operator)
    left, right = test.left, test.comparisons[0].comparator
    if isinstance(right, cst.Name) and not isinstance(left, cst.Name) and op in _MIRRORED:
        left, op = right, _MIRRORED[op]
    if not isinstance(left, cst.Name) or op not in _TOWARDS_BOUND:
        return None
    return left.value, _TOWARDS_BOUND[op]


def _leaves_loop(stmts: cst.CSTNode) -> bool:
    """A `break` or `return` of the loop itself among `stmts` (not one of a nested
    loop or function: their `break` ends them, not this loop)."""
    stack: list[cst.CSTNode] = [stmts]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Break, cst.Return)):
            return True
        if isinstance(node, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef,
                             cst.Lambda)):
            continue
        stack.extend(node.children)
    return False


def _bounded_retry(loop: cst.While) -> bool:
    """A retry loop: `while retries < MAX_RETRIES:` around a `try` whose body leaves
    the loop when the work succeeds (`break`, `return`) and whose every handler
    either moves the counter towards its bound (`retries += 1`, `tries -= 1` for
    `while tries > 0:`) or leaves the loop itself (`break`, `return`, `raise`). It
    runs at most the bound's number of rounds, however long it sleeps between them.
    A loop that goes on after a success (a poller that only counts its errors), a
    handler that retries without counting, and a counter the body sets back
    (`retries = 0`) keep it open-ended."""
    found = _retry_counter(loop.test)
    if found is None:
        return False
    counter, step = found
    tries = [n for n in loop.body.body if isinstance(n, cst.Try)]
    if not tries:
        return False
    for node in iter_nodes(loop.body):
        if isinstance(node, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == counter
                for t in node.targets):
            return False  # set back: the bound may never be reached
    for attempt in tries:
        succeeded = [attempt.body] + ([attempt.orelse] if attempt.orelse else [])
        if not any(_leaves_loop(block) for block in succeeded):
            continue
        if all(_counts_or_leaves(handler, counter, step) for handler in attempt.handlers):
            return True
    return False


def _counts_or_leaves(handler: cst.ExceptHandler, counter: str,
                      step: type[cst.BaseAugOp]) -> bool:
    """The handler's own statements move `counter` by `step`, or it leaves the loop."""
    stmts = [s for line in handler.body.body if isinstance(line, cst.SimpleStatementLine)
             for s in line.body]
    if any(isinstance(s, cst.AugAssign) and isinstance(s.target, cst.Name)
           and s.target.value == counter and isinstance(s.operator, step) for s in stmts):
        return True
    last = handler.body.body[-1] if handler.body.body else None
    return isinstance(last, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Break, cst.Return, cst.Raise)) for s in last.body)


def _advanced_by_body(loop: cst.While) -> bool:
    """The loop's test reads a local name (not `True`, not an attribute such as
    `self.running`) that its body assigns: a page flag or a batch counter, also
    through a call (`while chunk.exists():` with `chunk = qs.filter(pk__gt=last)`,
    `while rows := fetch(last_id):` with `last_id = row.id`): the data running out
    ends it. A test whose names the body never assigns (`while not stop.is_set():`,
    `while item := queue.get():`) is not advanced by it. An
    assignment in an `except` handler does not count: a flag only an error clears
    (`while launched:` with `launched = False` under `except`) keeps the loop running
    until something fails. Each operand of an `or` test must read such a name: one
    that reads none (`while count is None or rounds < count:`, `count` an option
    defaulting to None) keeps the loop going for as long as it holds."""
    # the names the test reads as values: not an attribute's or a called function's
    # name, not `self`, not what a walrus in the test binds (`while rows :=
    # fetch(last_id):` reads `last_id`; `while chunk.exists():` reads `chunk`)
    walrus = {n.target.value for n in iter_nodes(loop.test)
              if isinstance(n, cst.NamedExpr) and isinstance(n.target, cst.Name)}
    assigned = _assigned_by_body(loop)
    return all(_tested_names(operand, walrus) & assigned
               for operand in _or_operands(loop.test))


def _or_operands(test: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The operands of an `or` test (`a or b or c`), or the test itself: the loop goes
    on while any of them holds."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or):
        return _or_operands(test.left) + _or_operands(test.right)
    return [test]


def _tested_names(test: cst.BaseExpression, walrus: set[str]) -> set[str]:
    """The local names `test` reads as values (`while True:`, `while self.running:`
    read none)."""
    skip = {id(n.attr) for n in iter_nodes(test) if isinstance(n, cst.Attribute)}
    skip |= {id(n.func) for n in iter_nodes(test)
             if isinstance(n, cst.Call) and isinstance(n.func, cst.Name)}
    return {n.value for n in iter_nodes(test) if isinstance(n, cst.Name)
            and id(n) not in skip and n.value not in walrus
            and n.value not in ("True", "False", "None", "not", "len", "self", "cls")}


def _assigned_by_body(loop: cst.While) -> set[str]:
    """The local names the loop's body assigns outside `except` handlers and nested
    scopes."""
    assigned: set[str] = set()
    handlers = {id(n) for h in iter_nodes(loop.body) if isinstance(h, cst.ExceptHandler)
                for n in iter_nodes(h.body)}
    for node in iter_nodes(loop.body):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) or id(node) in handlers:
            continue  # (an `except` that clears the flag ends the loop on an error only)
        if isinstance(node, cst.Assign):
            for t in node.targets:
                assigned |= {n.value for n in iter_nodes(t.target) if isinstance(n, cst.Name)}
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) \
                and isinstance(node.target, cst.Name):
            assigned.add(node.target.value)
    return assigned


def _closing_decorator(index: ProjectIndex, func: FunctionInfo) -> bool:
    for deco in func.node.decorators:
        target = decorator_target(deco)
        name = dotted_name(target)
        if name is not None and name.rsplit(".", 1)[-1] in CLOSING_DECORATOR_NAMES:
            return True
        value = index.evaluate(target, func.module, func.parent)
        if isinstance(value, FunctionRef) and _wrapper_closes(index, value.func):
            return True
    return False


def _base_closes_after_run(index: ProjectIndex, func: FunctionInfo) -> bool:
    """The `run()` of a thread class whose own or project base's override of the
    method that runs it closes the connection (`class Thread(threading.Thread): def
    _bootstrap_inner(self): super()._bootstrap_inner(); close_old_connections()`, a
    project's helper base): that close follows every `run()` of every subclass."""
    if func.cls is None or func.name != _THREAD_BODY:
        return False
    todo: list[ClassInfo] = [func.cls]
    seen: set[int] = set()
    with index.full_resolution():
        while todo and len(seen) <= _MAX_BASES:
            cls = todo.pop()
            if id(cls.node) in seen:
                continue
            seen.add(id(cls.node))
            for name in THREAD_RUN_WRAPPERS:
                wrapper = cls.methods.get(name)
                if wrapper is not None and _closers(index, wrapper, wrapper.node.body, 1):
                    return True
            for base in cls.node.bases:
                value = index.evaluate(base.value, cls.module, None)
                if isinstance(value, ClassRef):
                    todo.append(value.cls)
    return False


def _wrapper_closes(index: ProjectIndex, decorator: FunctionInfo) -> bool:
    """A project decorator whose wrapper (a function nested in it) closes: it runs
    around every call of the decorated function."""
    return any(isinstance(n, cst.FunctionDef) and n is not decorator.node
               and _closers(index, decorator, n.body, 1)
               for n in iter_nodes(decorator.node, into_functions=True))


def _closers(index: ProjectIndex, func: FunctionInfo, body: cst.CSTNode,
             depth: int) -> list[cst.Call]:
    """The calls in `body` that close Django's connections (or call a project
    function that does), in source order."""
    return [call for call in iter_calls(body) if _is_closer(index, func, call, depth)]


def _is_closer(index: ProjectIndex, func: FunctionInfo, call: cst.Call, depth: int) -> bool:
    wrapped = _thread_sensitive_wrapped(index, func, call)
    if wrapped is not None:
        return _closes_when_called(index, func, wrapped, depth)
    return _closes_when_called(index, func, call.func, depth)


def _closes_when_called(index: ProjectIndex, func: FunctionInfo,
                        callee: cst.BaseExpression, depth: int) -> bool:
    """Calling `callee` closes Django's connections: one of Django's closes, a close
    method of a connection, or a project function that calls one."""
    value = index.evaluate(callee, func.module, func)
    if isinstance(value, External) and qual_match(value.qualname, DJANGO_CLOSERS) is not None:
        return True
    if isinstance(callee, cst.Attribute) \
            and callee.attr.value in DJANGO_CONNECTION_CLOSE_METHODS:
        return _is_connection_object(index, func, callee.value) \
            or _each_connection(index, func, callee.value)
    if isinstance(value, External):
        return False
    return (isinstance(value, FunctionRef) and value.func is not func and depth < _DEPTH
            and bool(_closers(index, value.func, value.func.node.body, depth + 1)))


def _thread_sensitive_wrapped(index: ProjectIndex, func: FunctionInfo,
                              call: cst.Call) -> cst.BaseExpression | None:
    """`f` in `sync_to_async(f)()` (awaited in a coroutine): asgiref runs a
    thread-sensitive function (the default) on the one thread that also runs
    Django's async ORM, so a close wrapped that way closes the connection the
    coroutine's queries use. Not under `thread_sensitive=False` (a pool's thread)."""
    if not isinstance(call.func, cst.Call):
        return None
    wrapper = call.func
    callee = index.evaluate(wrapper.func, func.module, func)
    if not isinstance(callee, External) or qual_match(callee.qualname, SYNC_TO_ASYNC) is None:
        return None
    sensitive = keyword_arg(wrapper, "thread_sensitive")
    if sensitive is not None and not is_true(sensitive):
        return None
    args = positional_args(wrapper)
    return args[0] if args else None


def _is_connection_object(index: ProjectIndex, func: FunctionInfo,
                          expr: cst.BaseExpression) -> bool:
    """`connection`, `connections`, `connections["default"]`, `db.connection`."""
    if isinstance(expr, cst.Subscript):
        expr = expr.value
    value = index.evaluate(expr, func.module, func)
    return isinstance(value, External) and qual_match(value.qualname,
                                                      DJANGO_CONNECTION_OBJECTS) is not None


def _each_connection(index: ProjectIndex, func: FunctionInfo,
                     expr: cst.BaseExpression) -> bool:
    """`conn` in `for conn in connections.all(): conn.close()`: the loop's name,
    used inside its body, that walks every Django connection of the thread. The
    loop may sit in a function nested in `func` (a project decorator's wrapper,
    which `_wrapper_closes` reads with the decorator as `func`): `expr` itself must
    be in the loop's body."""
    if not isinstance(expr, cst.Name):
        return False
    for node in iter_nodes(func.node.body, into_functions=True):
        if isinstance(node, cst.For) and isinstance(node.target, cst.Name) \
                and node.target.value == expr.value \
                and isinstance(node.iter, cst.Call) and not node.iter.args \
                and isinstance(node.iter.func, cst.Attribute) \
                and node.iter.func.attr.value == "all" \
                and _is_connection_object(index, func, node.iter.func.value) \
                and any(n is expr for n in iter_nodes(node.body)):
            return True
    return False


def _in_finally(func: FunctionInfo, call: cst.Call) -> bool:
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Try) and node.finalbody is not None and any(
                n is call for n in iter_nodes(node.finalbody)):
            return True
    return False


def _db_use(index: ProjectIndex, func: FunctionInfo, body: cst.CSTNode,
            depth: int, skip: frozenset[int] = frozenset()) -> tuple[cst.CSTNode, str] | None:
    """The first Django database work in `body`, in source order: a model's manager
    (`Order.objects`), a cursor of `connection`, or a call of a project function
    that does either (followed `_DEPTH` deep); not in the nodes of `skip`."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if node is not body and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if id(node) in skip:
            continue
        use = _use_at(index, func, node, depth)
        if use is not None:
            return node, use
        stack.extend(reversed(children(node)))
    return None


def _shown(expr: cst.Attribute) -> str:
    """`Order.objects` as written; a manager reached through a call
    (`get_user_model().objects`) as written too when it is short and on one line,
    else only the attribute's name."""
    name = dotted_name(expr)
    if name is not None:
        return name
    code = cst.Module([]).code_for_node(expr)
    return code if len(code) <= 60 and "\n" not in code else expr.attr.value


def _use_at(index: ProjectIndex, func: FunctionInfo, node: cst.CSTNode,
            depth: int) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, (cst.Name, cst.Attribute)) \
            and _constance_in_database(index):
        owner = index.evaluate(node.value, func.module, func)
        if isinstance(owner, External) and owner.qualname in DJANGO_CONSTANCE_CONFIG:
            return (f"`{dotted_name(node) or node.attr.value}` (a django-constance setting, "
                    "read from the database)")
    if isinstance(node, cst.Attribute) and node.attr.value in DJANGO_MANAGER_ATTRIBUTES:
        with index.full_resolution():  # the models module holds no connection
            owner = index.evaluate(node.value, func.module, func)
        if _is_model(index, owner) or _user_model(index, func, node.value):
            return f"`{_shown(node)}`"
    elif isinstance(node, cst.Call):
        f = node.func
        if isinstance(f, cst.Attribute) and f.attr.value == "cursor" \
                and _is_connection_object(index, func, f.value):
            return f"`{dotted_name(f) or 'connection.cursor'}()`"
        if isinstance(f, cst.Attribute) and f.attr.value in DJANGO_TRANSACTION_CALLS:
            module = index.evaluate(f.value, func.module, func)
            if isinstance(module, External) and qual_match(
                    f"{module.qualname}.{f.attr.value}", DJANGO_TRANSACTION) is not None:
                return f"`{dotted_name(f) or f.attr.value}()`"
        if isinstance(f, cst.Attribute) and f.attr.value in DJANGO_RELATED_MANAGER_METHODS \
                and isinstance(f.value, cst.Attribute) \
                and f.value.attr.value in _related_managers(index):
            return f"`{dotted_name(f) or f.attr.value}()`"
        if isinstance(f, cst.Attribute) and instance_query(node):
            # a model instance's own query (`self.save()`, `order.delete()`); a
            # positional argument means another `save` (PIL's `image.save(path)`)
            with index.full_resolution():
                row = _object_class(index, func.module, func, f.value)
            if row is not None and _is_model(index, ClassRef(row)):
                return f"`{dotted_name(f) or f.attr.value}()`"
            if row is not None and f.attr.value == DJANGO_ROW_WRITER_SAVE \
                    and not _no_commit(node) and _row_writer(index, ClassRef(row)):
                # a `ModelForm`'s or a DRF model serializer's `save()` writes its model
                return f"`{dotted_name(f) or f.attr.value}()` (`{row.name}` writes its model)"
        if depth < _DEPTH:
            named = None  # the project command's name, for `call_command("name")`
            with index.full_resolution():  # a model's method, a helper module
                callee = index.evaluate(f, func.module, func)
                if callee is None and isinstance(f, cst.Name):
                    # a helper defined in the function itself (`def _claim(): ...
                    # Order.objects...` then `_claim()`), decorated or not
                    nested = _nested_function(func.module, func, f.value)
                    callee = FunctionRef(nested) if nested is not None else None
                method = bound_method(index, func.module, func, f) if callee is None else None
                if isinstance(callee, External):
                    method = called_command(index, callee, node)
                    library = database_command(callee, node) if method is None else None
                    if library is not None:
                        return f"`call_command({library!r})`"
                    if method is not None:
                        named = positional_args(node)[0]
            if method is not None:
                callee = FunctionRef(method)
            if isinstance(callee, FunctionRef) and callee.func is not func \
                    and not background_task(index, callee.func):
                # (a `background.task`'s call submits it to the package's pool: its
                # body runs there, and is an entry of its own)
                inner = _db_use(index, callee.func, callee.func.node.body, depth + 1)
                if inner is not None:
                    # `call_command("refresh")`, which uses ...: the command by its
                    # name, not by its `handle()` (every command has one)
                    if named is not None:
                        command = cst.Module([]).code_for_node(named)
                        return f"`call_command({command})`, which uses {inner[1].rstrip(',')},"
                    return used_through(callee.func.name, inner[1])
                passed = _model_argument_use(index, func, node, callee.func)
                if passed is not None:
                    return used_through(callee.func.name, passed)
    return None


def _no_commit(call: cst.Call) -> bool:
    """`form.save(commit=False)`: the row is built, not written."""
    value = keyword_arg(call, DJANGO_ROW_WRITER_NO_COMMIT)
    return isinstance(value, cst.Name) and value.value == "False"


def _model_argument_use(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                        callee: FunctionInfo) -> str | None:
    """A model class passed to a project function (not a method) that queries it
    through its parameter: `count_users(Profile)` with `def count_users(model):
    return model.objects.count()`; the parameter is not bound again in the callee."""
    if callee.cls is not None:
        return None
    params = callee.node.params
    names = [p.name.value for p in (*params.posonly_params, *params.params)]
    bound: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(call.args):
        if arg.star:
            break
        if arg.keyword is not None:
            bound[arg.keyword.value] = arg.value
        elif i < len(names):
            bound[names[i]] = arg.value
    models: set[str] = set()
    for name, value in bound.items():
        if any(isinstance(v, cst.BaseExpression) for v in callee.locals.get(name, [])):
            continue  # bound again in the callee
        with index.full_resolution():
            passed = index.evaluate(value, func.module, func)
        if _is_model(index, passed) or _user_model(index, func, value):
            models.add(name)
    if not models:
        return None
    for node in iter_nodes(callee.node.body):
        if isinstance(node, cst.Attribute) and node.attr.value in DJANGO_MANAGER_ATTRIBUTES \
                and isinstance(node.value, cst.Name) and node.value.value in models:
            return f"`{node.value.value}.{node.attr.value}`"
    return None


_CONSTANCE = "_django_constance_in_database"
_CONSTANCE_SETTING = word_pattern([DJANGO_CONSTANCE_BACKEND_SETTING])


def _constance_in_database(index: ProjectIndex) -> bool:
    """The project's settings choose django-constance's database backend
    (`CONSTANCE_BACKEND = "constance.backends.database.DatabaseBackend"`): reading a
    `constance.config` attribute is then a query (computed once per index)."""
    found = getattr(index, _CONSTANCE, None)
    if isinstance(found, bool):
        return found
    chosen = re.compile(re.escape(DJANGO_CONSTANCE_BACKEND_SETTING)
                        + r"""\s*=\s*['"]""" + re.escape(DJANGO_CONSTANCE_DATABASE_BACKEND))
    out = any(chosen.search(source) for _, source in index.files_matching(_CONSTANCE_SETTING))
    setattr(index, _CONSTANCE, out)
    return out


_RELATED = "_django_related_managers"


def _related_managers(index: ProjectIndex) -> frozenset[str]:
    """The names of the project's related managers: every `ManyToManyField` attribute
    of a model and every relation field's `related_name` (computed once per index)."""
    return index.derived(_RELATED, lambda: _find_related_managers(index))


def _find_related_managers(index: ProjectIndex) -> frozenset[str]:
    names: set[str] = set()
    with index.full_resolution():
        for module in index.modules_mentioning(DJANGO_RELATION_WORDS):
            for cls in module.classes.values():
                for st in cls.node.body.body:
                    if isinstance(st, cst.SimpleStatementLine):
                        names.update(_relation_names(index, module, st))
    return frozenset(names)


def _relation_names(index: ProjectIndex, module: ModuleInfo,
                    line: cst.SimpleStatementLine) -> Iterator[str]:
    for small in line.body:
        if not (isinstance(small, cst.Assign) and isinstance(small.value, cst.Call)):
            continue
        field = index.evaluate(small.value.func, module, None)
        if not (isinstance(field, External)
                and qual_match(field.qualname, DJANGO_RELATION_FIELDS) is not None):
            continue
        related = keyword_arg(small.value, DJANGO_RELATED_NAME)
        if isinstance(related, cst.SimpleString) and isinstance(related.evaluated_value, str) \
                and not related.evaluated_value.endswith("+"):
            yield related.evaluated_value
        if qual_match(field.qualname, DJANGO_MANY_TO_MANY) is not None:
            for target in small.targets:
                if isinstance(target.target, cst.Name):
                    yield target.target.value


def _user_model(index: ProjectIndex, func: FunctionInfo, expr: cst.BaseExpression,
                depth: int = 0) -> bool:
    """What Django's `get_user_model()` returns (the project's user model): the call
    itself, or a name bound only to it, in the function (or one enclosing it) or at the
    module's top level (`User = get_user_model()`, then `User.objects`)."""
    if depth > _MAX_BASES:
        return False
    if isinstance(expr, cst.Call):
        getter = index.evaluate(expr.func, func.module, func)
        return isinstance(getter, External) and qual_match(
            getter.qualname, DJANGO_USER_MODEL_GETTERS) is not None
    if not isinstance(expr, cst.Name):
        return False
    scope: FunctionInfo | None = func
    while scope is not None:
        if expr.value in scope.locals:
            bound = scope.locals[expr.value]
            return bool(bound) and all(
                isinstance(v, cst.Call) and _user_model(index, scope, v, depth + 1)
                for v in bound)
        scope = scope.parent
    values = func.module.assigns.get(expr.value, [])
    return bool(values) and all(
        isinstance(v, cst.Call) and _user_model(index, func, v, depth + 1) for v in values)


def is_django_model(index: ProjectIndex, value: object) -> bool:
    """A Django model class (`_is_model`): a project class deriving from a `django`
    class or a Django application's model base, or one of theirs."""
    return _is_model(index, value)


def _is_model(index: ProjectIndex, value: object, depth: int = 0) -> bool:
    """A Django model class: a project class deriving from a `django` class, one of
    Django's own (`User` from `django.contrib.auth.models`), or one of a third-party
    Django application's `models` module (`DjangoJobExecution` from
    `django_apscheduler.models`)."""
    if isinstance(value, External):
        return _app_model(value.qualname)
    if isinstance(value, ExternalInstance) or not isinstance(value, ClassRef):
        return False
    if depth > _MAX_BASES:
        return False
    with index.full_resolution():
        for base in value.cls.node.bases:
            base_value = index.evaluate(base.value, value.cls.module, None)
            if isinstance(base_value, External) and (
                    base_value.qualname.startswith(DJANGO_MODEL_ROOT + ".")
                    or _app_model(base_value.qualname)):
                # `models.Model`, or an abstract base of a Django application's
                # `models` module (`django_extensions.db.models.TimeStampedModel`,
                # `model_utils.models.TimeStampedModel`)
                return True
            if isinstance(base_value, ClassRef) and _is_model(index, base_value, depth + 1):
                return True
    return False


def _app_model(qualname: str) -> bool:
    """A class of the `models` module of Django or of a Django application
    (`django_apscheduler.models.DjangoJobExecution`, `django_extensions.db.models.
    TimeStampedModel`, `model_utils.models.TimeStampedModel`)."""
    root = qualname.split(".", 1)[0]
    return (root == DJANGO_MODEL_ROOT or root.startswith(DJANGO_APP_PREFIX)
            or root in DJANGO_MODEL_APPS) and ".models." in qualname

"""PS205 scoped-session-never-removed."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import iter_calls, iter_nodes
from poolsafe.analysis.flask_propagation import after_request_hooks, propagation_switch
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import ProjectFacts, facts, is_flask_db, is_test_module
from poolsafe.analysis.resolution import external_name, inventory, may_call, qual_match, resolve
from poolsafe.analysis.values import FunctionRef, LibraryObject
from poolsafe.core.model import RawFinding, Severity
from poolsafe.fix.fixers.ps205_teardown import fix_teardown
from poolsafe.fix.plan.api import FixOutcome
from poolsafe.knowledge import OBJECT_CONSTRUCTORS
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps205 import INVALID, VALID

_SCOPED_CTORS = frozenset(k for k, v in OBJECT_CONSTRUCTORS.items()
                          if v == "sqlalchemy.scoped_session")
_REMOVE = "remove"


class ScopedSessionNeverRemoved(Rule):
    """
    ## What it does
    Flags a SQLAlchemy `scoped_session(...)` in a project that uses Flask when no
    Flask teardown handler calls `.remove()` on it. Teardown handlers are
    functions decorated with (or passed to) `teardown_appcontext`,
    `teardown_request` or a blueprint's `teardown_app_request`, in any module of
    the project, including handlers registered on an `app` parameter
    (`def init_db(app): @app.teardown_appcontext ...`); a `.remove()` in a project
    function that the handler calls counts too. So does a `.remove()` in an
    `after_request` function: Flask runs those on the 500 response it builds for a
    view that raised (`Flask.handle_exception`), unless the project makes the app
    propagate errors (`app.run(debug=True)`, `app.testing = True`,
    `app.config["PROPAGATE_EXCEPTIONS"] = True`, outside test modules), which skips
    them for that request; then only a teardown handler counts.

    A function that builds a new registry on each call and returns it is fine
    when every call of it in the project binds the registry to a name that a
    `finally` of the same function removes (`session = get_session()` ...
    `finally: session.remove()`, as the wrappers of a project's session
    decorators do): no thread keeps a session past that call. One caller that
    does not remove it keeps the registry reported. A module registry that a
    project decorator removes around the view it wraps (its inner wrapper calls the
    view in a `try` whose `finally` calls `Session.remove()`, and the project
    applies the decorator) counts as removed: each wrapped request ends with the
    thread's session gone, as after a teardown handler. A view that uses the
    registry without the decorator is then not seen.
    So does a registry read only through project context managers: every
    mention of it in the project (`self._factory` on any object, or the module's
    `Session`) is an assignment, a `.remove()`, an `is None` test, or its binding to
    a local name in a `@contextmanager` (`@asynccontextmanager`) whose `yield` sits
    in a `try` whose `finally` removes that name (`registry = self._factory; try:
    yield registry finally: registry.remove()`, or `s = Session; try: yield s()
    finally: s.remove()`): each request's session is removed when its `with` block
    ends. One read outside such a context manager keeps the registry reported.

    A `.remove()` whose receiver cannot be resolved is taken to be this session;
    one that resolves to another `scoped_session` or to Flask-SQLAlchemy's
    `db.session` is not. Flask-SQLAlchemy's own `db.session` is removed by the
    extension and is never reported.

    A module that another program of the repository imports (a module that builds
    a `Celery(...)` app, a script with a `__main__` block) and that no module
    building a `Flask(...)` app imports, directly or through other modules, serves
    no Flask request: a worker's or a script's `scoped_session` is not reported.
    Every file of the project counts, including a script that touches no database
    itself (a socket or RPC server's `__main__` block importing the modules that
    do). Nor is a module registry that only background jobs read (a Celery task, an
    APScheduler job; directly or through project functions that only jobs call,
    two callers deep) reported when the Flask module imports it (one module building
    both apps): it lives on the worker's threads, where no request ends. Every
    mention of its name counts as a read by the function around it; one at a
    module's or a class's top level (`Base.query = Session.query_property()`), or one
    route or helper a route calls, keeps it reported.

    Nor is a registry a function builds and only uses itself (bound to a local
    name that is only called or configured: `Session = scoped_session(...);
    Session.configure(bind=engine); return Session()`): it goes when the function
    returns, and no thread finds its session there on the next request. One the
    function returns, stores (a global, an attribute) or hands to a closure is
    still judged.

    ## Tests, one-shot code and processes
    Test modules are not reported: an app a test module builds serves the test run.
    A registry that one function builds and uses only itself (a one-shot script,
    a helper) is not reported either: it goes when the function returns. Each
    worker process keeps its own registry, so the leak is per worker thread.

    ## Why is this bad?
    A `scoped_session` keeps one session per thread (or per scope). Flask reuses
    worker threads, so without `remove()` at the end of each request the session
    -- with its connection, its open transaction and its identity map -- lives on
    into the next request on that thread: connections stay checked out ("QueuePool
    limit ... reached"), transactions stay "idle in transaction", and requests see
    each other's stale objects.

    ## Example
    ```python
    db_session = scoped_session(sessionmaker(bind=engine))

    app = Flask(__name__)
    ```

    ## Use instead
    ```python
    db_session = scoped_session(sessionmaker(bind=engine))

    app = Flask(__name__)

    @app.teardown_appcontext
    def shutdown_session(exception=None):
        db_session.remove()
    ```

    ## Fix safety
    The fix adds a `teardown_appcontext` handler next to the Flask app when the
    app is a module-level object; it is safe (removing a session at the end of a
    context only closes what the request no longer uses), except where the app
    already registers a `teardown_appcontext` handler ahead of where the new one
    goes: Flask runs those handlers in reverse order, so that one would run on a
    session already removed (a commit there would store nothing), and the fix is
    unsafe; call `remove()` at the end of that handler instead. It is unsafe too when
    the project streams a response (a generator, or a call of a generator function of
    the project, imported, renamed or not, a lazy `map(...)` / `filter(...)`, or
    `iter(...)` / `itertools.chain(...)` of one of these, given to
    `Response(...)` or returned by a view, directly or through a name bound to it
    (`gen = rows(); return Response(gen)`) or a parameter of a helper handed it, of
    the module or of another one (imported, renamed, or through its module; read by
    the helper's name); a view that is a generator; Flask's
    `stream_template(...)`): Flask runs the body after the
    app context has ended, `stream_with_context` included (it keeps the request
    context), so after the new handler, and what the generator reads of the removed
    session's objects that is not loaded yet raises `DetachedInstanceError`. It is
    unsafe as well when a project function sets a mapped attribute (a column or a
    relationship some project model maps) of an object other than `self`, queues one
    otherwise (a session's `add` / `add_all` / `delete` / `merge`, on a receiver named
    for a session, a writing statement its `execute()` runs, `update(Post)...` or
    `text("UPDATE ...")`, a query's bulk `update()` / `delete()`, or a mapped collection
    changed in place, `post.tags.append(tag)`),
    and neither commits nor rolls back there (no `commit()` / `rollback()` / `remove()` /
    `close()`, nor a call named for a commit or rollback, `commit_data()`): a change
    a request leaves pending stays in the original's session, and the next request on
    the same thread flushes and commits it; the new handler's `remove()` discards it.
    """

    code = "PS205"
    name = "scoped-session-never-removed"
    summary = "a Flask app's scoped_session that no teardown handler removes"
    severity = Severity.WARNING
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        return fix_teardown(ctx, finding)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return  # a test module's app serves a test run, not production requests
        names = {tail for _, tail in _SCOPED_CTORS}
        project = facts(ctx.index)
        for call, func in inventory(ctx.module).calls:
            if not may_call(call, names, ctx.module, func) or not _is_scoped_ctor(
                    ctx.index, call, ctx.module, func):
                continue
            if not project.uses_flask():
                return
            if not project.served_by_flask(ctx.module):
                continue  # a worker's or a script's module: no Flask request ends there
            if _local_registry(call, func):
                continue  # dropped when its function returns: no thread's session lives on
            if any(_removes(ctx.index, call, b, m, f, 0) for b, m, f in project.teardowns()):
                continue
            if any(_removes(ctx.index, call, f.node.body, m, f, 0)
                   for m, f in after_request_hooks(ctx.index)) \
                    and propagation_switch(ctx.index) is None:
                continue  # after_request runs on the 500 of a view that raised too
            if func is not None and _every_caller_removes(project, call, func):
                continue  # a fresh registry per call, and each caller removes its own
            if func is None and _request_decorator_removes(ctx.index, call):
                continue  # removed after every view the project's decorator wraps
            if func is None and _only_jobs_read(project, ctx.module, call):
                continue  # a worker's registry: no Flask request reads it
            if _removed_after_every_use(ctx.index, call, ctx.module, func):
                continue  # read only through a context manager whose `finally` removes it
            yield self.finding(
                call,
                "this `scoped_session` is never removed at the end of a Flask request: "
                "its session and connection carry over to the next request on the thread; "
                "call `.remove()` in a `@app.teardown_appcontext` handler",
            )


#: how many callers up `_only_jobs_read` looks for the background job
_JOB_CALLER_DEPTH = 2


def _registry_name(call: cst.Call, module: ModuleInfo,
                   func: FunctionInfo | None) -> tuple[bool, str] | None:
    """(stored on an attribute, name) of the one place `call` is stored: `self.X =
    scoped_session(...)` in a method, or `X = scoped_session(...)` at the top level."""
    body: cst.CSTNode = func.node.body if func is not None else module.tree
    for node in iter_nodes(body):
        if isinstance(node, cst.Assign) and node.value is call and len(node.targets) == 1:
            target = node.targets[0].target
            if isinstance(target, cst.Attribute) and func is not None:
                return True, target.attr.value
            if isinstance(target, cst.Name) and func is None:
                return False, target.value
    return None


def _is_occurrence(node: cst.CSTNode | None, attr: bool, name: str) -> bool:
    if attr:
        return isinstance(node, cst.Attribute) and node.attr.value == name
    return isinstance(node, cst.Name) and node.value == name


def _removed_after_every_use(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                             func: FunctionInfo | None) -> bool:
    """Every mention of the registry in the project (`self.X` anywhere, or the
    module's `X`) is an assignment target, `.remove()` called on it, an `is (not) None`
    test, or its binding to a local name in a project `@contextmanager`
    (`@asynccontextmanager`) whose `yield` sits in a `try` whose `finally` removes that
    name (`session = self._factory; try: yield session finally: session.remove()`),
    and there is at least one such context manager: every session a request takes
    from it is removed when the request's `with` block ends."""
    found = _registry_name(call, module, func)
    if found is None:
        return False
    attr, name = found
    total = 0
    allowed: set[int] = set()
    managers = 0
    for m in index.modules_mentioning((name,)):
        nodes = list(iter_nodes(m.tree, into_functions=True))
        total += sum(1 for n in nodes if _is_occurrence(n, attr, name))
        for n in nodes:
            if isinstance(n, cst.Assign):
                allowed.update(id(t.target) for t in n.targets
                               if _is_occurrence(t.target, attr, name))
            elif isinstance(n, cst.Call) and not n.args and isinstance(n.func, cst.Attribute) \
                    and n.func.attr.value == _REMOVE and _is_occurrence(n.func.value, attr, name):
                allowed.add(id(n.func.value))
            elif isinstance(n, cst.Comparison) and _is_occurrence(n.left, attr, name) \
                    and len(n.comparisons) == 1 \
                    and isinstance(n.comparisons[0].operator, (cst.Is, cst.IsNot)) \
                    and isinstance(n.comparisons[0].comparator, cst.Name) \
                    and n.comparisons[0].comparator.value == "None":
                allowed.add(id(n.left))
        for f in m.all_functions:
            if not index.is_contextmanager(f):
                continue
            for n in iter_nodes(f.node.body):
                if isinstance(n, cst.Assign) and len(n.targets) == 1 \
                        and isinstance(n.targets[0].target, cst.Name) \
                        and _is_occurrence(n.value, attr, name) \
                        and _yields_then_removes(f, n.targets[0].target.value):
                    allowed.add(id(n.value))
                    managers += 1
    return managers > 0 and total == len(allowed)


def _yields_then_removes(func: FunctionInfo, local: str) -> bool:
    """A `try` of `func` yields (`yield local`, `yield local()`) and its `finally`
    calls `local.remove()`."""
    for t in func.tries:
        if t.finalbody is None or not any(
                isinstance(c.func, cst.Attribute) and c.func.attr.value == _REMOVE
                and isinstance(c.func.value, cst.Name) and c.func.value.value == local
                for c in iter_calls(t.finalbody)):
            continue
        for n in iter_nodes(t.body):
            if isinstance(n, cst.Yield) and isinstance(n.value, cst.BaseExpression):
                value = n.value.func if isinstance(n.value, cst.Call) else n.value
                if isinstance(value, cst.Name) and value.value == local:
                    return True
    return False


def _only_jobs_read(project: ProjectFacts, module: ModuleInfo, call: cst.Call) -> bool:
    """A module registry (`db_session = scoped_session(...)`) that only background jobs
    read (a Celery task, an APScheduler job: `project.jobs()`), directly or through
    functions only they call: no Flask request ends on the thread that holds its
    session, so a teardown would not remove it anyway. Every mention of the name in
    the project counts as a read by the function around it (another object of the
    same name included); one outside a function (a module or class body:
    `Base.query = db_session.query_property()`) keeps the registry judged."""
    name = next((n.targets[0].target.value for n, f in module.assign_nodes
                 if f is None and n.value is call and len(n.targets) == 1
                 and isinstance(n.targets[0].target, cst.Name)), None)
    if name is None:
        return False
    jobs = project.jobs()
    readers: list[FunctionInfo] = []
    for m in project.index.modules_mentioning((name,)):
        imported = {id(n) for imp in iter_nodes(m.tree, into_functions=True)
                    if isinstance(imp, (cst.Import, cst.ImportFrom))
                    for n in iter_nodes(imp) if isinstance(n, cst.Name)}
        total = sum(1 for n in iter_nodes(m.tree, into_functions=True)
                    if isinstance(n, cst.Name) and n.value == name and id(n) not in imported)
        inside = 0
        for f in m.all_functions:
            count = sum(1 for n in iter_nodes(f.node.body)
                        if isinstance(n, cst.Name) and n.value == name)
            if count:
                inside += count
                readers.append(f)
        if m is module:
            inside += 1  # the registry's own assignment target
        if inside != total:
            return False  # read at a module's or a class's top level
    return bool(readers) and all(_job_only(project, jobs, f, 0) for f in readers)


def _job_only(project: ProjectFacts, jobs: dict[int, str], func: FunctionInfo,
              depth: int) -> bool:
    """`func` is a background job, or every call of it is made by one (within
    `_JOB_CALLER_DEPTH` callers)."""
    if id(func.node) in jobs:
        return True
    if depth >= _JOB_CALLER_DEPTH:
        return False
    sites = project.callers(func)
    return bool(sites) and all(site.func is not None and _job_only(project, jobs, site.func,
                                                                    depth + 1)
                               for site in sites)


def _local_registry(call: cst.Call, func: FunctionInfo | None) -> bool:
    """A registry a function builds and only uses itself: bound to a local name
    that is only called (`Session()`) or asked a method (`Session.configure(...)`),
    never returned, stored or handed on, or called at once (`scoped_session(f)()`).
    It goes when the function returns, with the thread-local slot that PS205 is
    about; the sessions it made are whatever the function did with them."""
    if func is None:
        return False
    names: set[str] = set()
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Call) and node.func is call:
            return True
        if isinstance(node, cst.Assign) and node.value is call and len(node.targets) == 1:
            target = node.targets[0].target
            if isinstance(target, cst.Name):
                names.add(target.value)
    if len(names) != 1:
        return False
    (name,) = names
    if name in func.globals_declared:
        return False
    # a nested function or lambda that reads the name (`atexit.register(lambda:
    # Session.remove())`) keeps the registry beyond the call: seen, never allowed
    seen = sum(1 for node in iter_nodes(func.node.body, into_functions=True)
               if isinstance(node, cst.Name) and node.value == name)
    allowed = 0
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and node.value is call:
            allowed += 1  # its own target
        elif (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
              and node.func.value == name) or (
                isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                and node.value.value == name):
            allowed += 1  # `Session()`, `Session.configure(...)`
    return seen == allowed


def _every_caller_removes(project: ProjectFacts, call: cst.Call, func: FunctionInfo) -> bool:
    """`func` builds a new registry on each call and returns it (`return
    scoped_session(maker)`, or bound to a name first), and every call of `func` in
    the project binds it to a name that a `finally` of the same function removes
    (`session = get_session()` ... `finally: session.remove()`, as a session
    decorator's wrapper does): no thread keeps its session past that call."""
    names: set[str] = set()
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and node.value is call and len(node.targets) == 1 \
                and isinstance(node.targets[0].target, cst.Name):
            name = node.targets[0].target.value
            if name in func.globals_declared:
                return False
            names.add(name)
    if not any(isinstance(n, cst.Return) and n.value is not None and (
            n.value is call or (isinstance(n.value, cst.Name) and n.value.value in names))
            for n in iter_nodes(func.node.body)):
        return False
    sites = project.callers(func)
    return bool(sites) and all(_removed_in_finally(site.call, site.func) for site in sites)


def _removed_in_finally(call: cst.Call, func: FunctionInfo | None) -> bool:
    """`x = call` in `func`, and a `finally` of `func` calls `x.remove()`."""
    if func is None:
        return False
    name = next((n.targets[0].target.value for n in iter_nodes(func.node.body)
                 if isinstance(n, cst.Assign) and n.value is call and len(n.targets) == 1
                 and isinstance(n.targets[0].target, cst.Name)), None)
    if name is None:
        return False
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Try) and node.finalbody is not None:
            for c in iter_calls(node.finalbody):
                if isinstance(c.func, cst.Attribute) and c.func.attr.value == _REMOVE \
                        and isinstance(c.func.value, cst.Name) and c.func.value.value == name:
                    return True
    return False


def _request_decorator_removes(index: ProjectIndex, target: cst.Call) -> bool:
    """A project decorator removes the module's session around the function it wraps: its
    inner wrapper calls the decorated function inside a `try` whose `finally` calls
    `.remove()` on this registry (`def sql_session(view): def wrapper(*a, **kw): s =
    Session(); try: return view(s, *a, **kw) finally: Session.remove()`), and the
    project applies the decorator somewhere. Each call of a wrapped view ends with
    the thread's session removed, as a teardown handler would."""
    for module in index.modules_calling((_REMOVE,)):
        for wrapper in module.all_functions:
            outer = wrapper.parent
            if outer is None or len(outer.param_names()) != 1 or not any(
                    isinstance(r.value, cst.Name) and r.value.value == wrapper.name
                    for r in outer.returns):
                continue
            wrapped = outer.param_names()[0]
            for t in wrapper.tries:
                if t.finalbody is None or not any(
                        isinstance(c.func, cst.Name) and c.func.value == wrapped
                        for c in iter_calls(t.body)):
                    continue
                if _removes(index, target, t.finalbody, module, wrapper, 0) \
                        and _applied(index, outer):
                    return True
    return False


def _applied(index: ProjectIndex, decorator: FunctionInfo) -> bool:
    """Some function of the project wears `decorator` (`@decorator`, `@mod.decorator`)."""
    for module in index.modules_mentioning((decorator.name,)):
        for func in module.all_functions:
            for d in func.node.decorators:
                value = index.evaluate(d.decorator, module, func.parent)
                if isinstance(value, FunctionRef) and value.func is decorator:
                    return True
    return False


def _is_scoped_ctor(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                    func: FunctionInfo | None) -> bool:
    qual = external_name(index, call.func, module, func)
    return qual is not None and qual_match(qual, _SCOPED_CTORS) is not None


def _removes(index: ProjectIndex, target: cst.Call, body: cst.CSTNode, module: ModuleInfo,
             func: FunctionInfo | None, depth: int) -> bool:
    """Some call under `body` removes the scoped session built by `target`."""
    for call in iter_calls(body):
        f = call.func
        if isinstance(f, cst.Attribute) and f.attr.value == _REMOVE and not call.args:
            if _is_this_session(index, target, f.value, module, func):
                return True
            continue
        if depth < 2:
            callee = index.evaluate(f, module, func)
            if isinstance(callee, FunctionRef) and _removes(
                    index, target, callee.func.node.body, callee.func.module, callee.func,
                    depth + 1):
                return True
    return False


def _is_this_session(index: ProjectIndex, target: cst.Call, receiver: cst.BaseExpression,
                     module: ModuleInfo, func: FunctionInfo | None) -> bool:
    if isinstance(receiver, cst.Attribute) and is_flask_db(
            index.evaluate(receiver.value, module, func)):
        return False  # Flask-SQLAlchemy's db.session, removed by the extension anyway
    bound = resolve(index, receiver, module, func)
    if bound.expr is target:
        return True
    if isinstance(bound.expr, cst.Call) and _is_scoped_ctor(index, bound.expr, bound.module,
                                                            bound.func):
        return False  # another scoped_session
    value = index.evaluate(receiver, module, func)
    return value is None or (isinstance(value, LibraryObject) and value.type.is_scoped)

"""Run a module before and after `poolsafe fix` against the reference pool.

The module's `psycopg2` is a stand-in whose pools are one
`poolsafe.runtime.ConnectionPool` over SQLite, opened through a *recording*
connection: each statement is recorded (not run), `commit()` moves the
transaction's statements to the ledger of committed rows, `rollback()` drops them,
and, as PostgreSQL does, a statement that failed aborts the transaction (the next
ones raise `InFailedSqlTransaction` and `commit()` rolls back). Faults come from
the runtime (`pool.faults(statements=1, after=k)`, `commits=1`); fetches answer a
canned row, or None, to drive the early returns.

`run_module(source, scenario)` imports the module afresh and calls each of its
functions with each input; the observation (what each call returned or raised,
the committed rows, the connections each call left out) is what before and after
must share.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import gc
import importlib.abc
import importlib.util
import inspect
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType
from typing import Any

import proof_standins

from poolsafe.runtime import ConnectionPool

#: ` at 0x7f...` in an object's default repr: differs between two runs of one case
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: the inputs each function is called with (every parameter gets the same value)
ARGUMENTS: tuple[Any, ...] = (1, None, [1, 2])
#: ... and, in `run_module`, a string too (a name, a DSN, a table)
RUN_ARGUMENTS: tuple[Any, ...] = (*ARGUMENTS, "x")
#: what `fetchone()` answers (None drives `if row is None: return ...`)
FETCHES: tuple[Any, ...] = ((1, "a", 2), None)


class NotRunnable(Exception):
    """The module does not import under the stand-ins."""


class InFailedSqlTransaction(sqlite3.InternalError):
    """current transaction is aborted, commands ignored until end of transaction block"""


@dataclass
class Ledger:
    """What one run did: statements seen, commits, committed rows, connections."""

    fetch: Any = None
    statements: int = 0
    commits: int = 0
    committed: list[tuple[str, str]] = field(default_factory=list)
    #: faults fired so far (read from the armed FaultSet)
    fired: Callable[[], int] = lambda: 0
    direct: list[RecordingConnection] = field(default_factory=list)


LEDGER = Ledger()


class RecordingCursor(sqlite3.Cursor):
    def execute(self, sql: str, params: Any = ()) -> RecordingCursor:  # type: ignore[override]
        conn = self.connection
        assert isinstance(conn, RecordingConnection)
        conn.statement(sql, params)
        return self

    def executemany(self, sql: str, seq: Any) -> RecordingCursor:  # type: ignore[override]
        conn = self.connection
        assert isinstance(conn, RecordingConnection)
        conn.statement(sql, list(seq) if not isinstance(seq, int) else seq)
        return self

    def fetchone(self) -> Any:
        return LEDGER.fetch

    def fetchall(self) -> list[Any]:
        return [] if LEDGER.fetch is None else [LEDGER.fetch]

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self.fetchall()[:size]

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return iter(self.fetchall())

    def __enter__(self) -> RecordingCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingConnection(sqlite3.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: list[tuple[str, str]] = []
        self.aborted = False
        self.seen = LEDGER.fired()
        self.was_closed = False

    def cursor(self, factory: Any = RecordingCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def _sync(self) -> None:
        fired = LEDGER.fired()
        if fired > self.seen:  # a statement or commit of ours failed: aborted
            self.aborted = True
            self.seen = fired

    def statement(self, sql: str, params: Any) -> None:
        self._sync()
        LEDGER.statements += 1
        if self.aborted:
            raise InFailedSqlTransaction("current transaction is aborted")
        # an object among the parameters is compared by its class, not by its address
        self.pending.append((" ".join(str(sql).split()), _ADDRESS.sub("", repr(params))))

    def commit(self) -> None:
        self._sync()
        LEDGER.commits += 1
        if not self.aborted:
            LEDGER.committed.extend(self.pending)
        self.pending.clear()
        self.aborted = False

    def rollback(self) -> None:
        self.pending.clear()
        self.aborted = False
        self.seen = LEDGER.fired()

    def close(self) -> None:
        self.was_closed = True
        super().close()

    @property
    def in_transaction(self) -> bool:  # type: ignore[override]
        return bool(self.pending) or self.aborted


class _PoolFront:
    """`ThreadedConnectionPool(...)`: the shared reference pool under the module's name."""

    def __init__(self, shared: ConnectionPool) -> None:
        self._shared = shared

    def getconn(self, key: Any = None) -> Any:
        conn = self._shared.getconn()
        conn.seen = LEDGER.fired()
        return conn

    def putconn(self, conn: Any, key: Any = None, close: bool = False) -> None:
        self._shared.putconn(conn, close=close)

    def closeall(self) -> None:
        pass


def _errors_module() -> ModuleType:
    errors = ModuleType("psycopg2.errors")
    errors.InFailedSqlTransaction = InFailedSqlTransaction  # type: ignore[attr-defined]
    made: dict[str, type] = {}

    def getattr_(name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        base = sqlite3.IntegrityError if "Violation" in name else sqlite3.DatabaseError
        return made.setdefault(name, type(name, (base,), {}))

    errors.__getattr__ = getattr_  # type: ignore[attr-defined]
    return errors


def stand_in_psycopg2(shared: ConnectionPool) -> dict[str, ModuleType]:
    pg = ModuleType("psycopg2")
    for name in ("Error", "DatabaseError", "OperationalError", "IntegrityError",
                 "InterfaceError", "ProgrammingError", "DataError", "InternalError",
                 "NotSupportedError", "Warning"):
        setattr(pg, name, getattr(sqlite3, name))
    pool_module = ModuleType("psycopg2.pool")

    def make_pool(*args: Any, **kwargs: Any) -> _PoolFront:
        return _PoolFront(shared)

    pool_module.ThreadedConnectionPool = make_pool  # type: ignore[attr-defined]
    pool_module.SimpleConnectionPool = make_pool  # type: ignore[attr-defined]
    pool_module.PersistentConnectionPool = make_pool  # type: ignore[attr-defined]
    pool_module.AbstractConnectionPool = _PoolFront  # type: ignore[attr-defined]
    pool_module.PoolError = type("PoolError", (sqlite3.Error,), {})  # type: ignore[attr-defined]

    def connect(*args: Any, **kwargs: Any) -> Any:
        conn = shared.getconn()
        conn.seen = LEDGER.fired()
        LEDGER.direct.append(conn)
        return conn

    pg.connect = connect  # type: ignore[attr-defined]
    pg.pool = pool_module  # type: ignore[attr-defined]
    errors = _errors_module()
    pg.errors = errors  # type: ignore[attr-defined]
    extras = ModuleType("psycopg2.extras")
    extras.RealDictCursor = RecordingCursor  # type: ignore[attr-defined]
    extras.DictCursor = RecordingCursor  # type: ignore[attr-defined]
    pg.extras = extras  # type: ignore[attr-defined]
    # a case written against the reference pool itself gets the shared one
    runtime = ModuleType("poolsafe.runtime")
    runtime.ConnectionPool = make_pool  # type: ignore[attr-defined]
    runtime.ThreadedConnectionPool = make_pool  # type: ignore[attr-defined]
    return {"psycopg2": pg, "psycopg2.pool": pool_module, "psycopg2.errors": errors,
            "psycopg2.extras": extras, "poolsafe.runtime": runtime}


# ------------------------------------------------------------------- running
@dataclass(frozen=True)
class Scenario:
    """A fault (none, or the statement / commit after `after` others fails)."""

    kind: str = "none"  # "none" | "statement" | "commit"
    after: int = 0

    def __str__(self) -> str:
        return "no fault" if self.kind == "none" else f"{self.kind} #{self.after + 1} fails"


@dataclass
class Observation:
    #: (function, input) -> ("return", shape) or ("raise", exception class)
    outcomes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: (function, input) -> connections the call left out of the pool
    left_out: dict[tuple[str, str], int] = field(default_factory=dict)
    committed: list[tuple[str, str]] = field(default_factory=list)
    statements: int = 0
    commits: int = 0
    #: ("<module>", "") or (function, input) -> what the stand-ins saw happen to the
    #: libraries' configuration during it (`proof_standins.Hooks.events`), the
    #: teardowns' own events apart
    events: dict[tuple[str, str], list[tuple[str, ...]]] = field(default_factory=dict)
    #: (teardown, function, input) -> what the teardown run after that call returned
    #: or raised, and its events
    teardown_outcomes: dict[tuple[str, str, str],
                            tuple[tuple[str, str], tuple[tuple[str, ...], ...]]] = field(
        default_factory=dict)


def shape(value: Any) -> str:
    """A value as the caller sees it; objects by their class (a cursor is a cursor)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return type(value).__name__ + "(" + ", ".join(shape(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{shape(k)}: {shape(v)}" for k, v in value.items()) + "}"
    return f"<{type(value).__name__}>"


@contextmanager
def _patched(modules: dict[str, ModuleType]) -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


def functions_of(module: ModuleType) -> list[tuple[str, Callable[..., Any], type | None]]:
    """The module's functions, async ones included (each is run in an event loop), and
    the methods of its classes (`Class.method`, on an instance made for each call)."""
    out: list[tuple[str, Callable[..., Any], type | None]] = [
        (name, f, None) for name, f in vars(module).items()
        if inspect.isfunction(f) and f.__module__ == module.__name__]
    for cname, cls in list(vars(module).items()):
        if not inspect.isclass(cls) or cls.__module__ != module.__name__:
            continue
        for mname, m in vars(cls).items():
            if inspect.isfunction(m) and not mname.startswith("__"):
                out.append((f"{cname}.{mname}", m, cls))
    return out


def _parameters(f: Callable[..., Any], value: Any, in_async: bool
                ) -> tuple[list[Any], dict[str, Callable[..., Any]], list[Any]]:
    """The positional arguments for a call with `value`, the FastAPI dependencies to
    resolve (`db=Depends(get_db)`), and the stand-in sessions or connections among
    the arguments (a parameter that is one: `db: Session`, `conn`)."""
    args, given = [], []
    deps: dict[str, Callable[..., Any]] = {}
    for p in inspect.signature(f).parameters.values():
        dep = getattr(p.default, "_dependency", None) if isinstance(
            p.default, proof_standins.Thing) else None
        if callable(dep):
            deps[p.name] = dep
            continue
        if p.default is not inspect.Parameter.empty \
                or p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            continue
        annotation = p.annotation if isinstance(p.annotation, str) else getattr(
            p.annotation, "__name__", "") if p.annotation is not inspect.Parameter.empty else ""
        conn = proof_standins.connection_argument(str(annotation), p.name, in_async) \
            if STAND_INS_ACTIVE else None
        args.append(conn if conn is not None else value)
        if conn is not None:
            given.append(conn)
    return args, deps, given


def _as_dependency(f: Callable[..., Any]) -> Callable[..., Any]:
    """What the route sees of dependency `f` (FastAPI resolves it with the route's
    `_call` dependencies: called, a generator advanced to its `yield` and closed
    after the response)."""
    def route(value: Any) -> Any:
        return value
    return route


def _connected(instance: Any, in_async: bool) -> list[Any]:
    """Give an instance whose session, connection or pool attribute is unset
    (`self.conn = None`, `session: Optional[AsyncSession]`, `self.pool = None`) a
    stand-in one, as the application would have before calling the method; returns
    those given."""
    if not STAND_INS_ACTIVE:
        return []
    given = []
    names = set(getattr(type(instance), "__annotations__", {})) | set(vars(instance))
    for attr in sorted(names):
        # the pool a connection attribute came from is set too (`self.pool = None` in
        # `__init__`, set by `start()` before `self.conn`): a release through it works
        if (attr.lstrip("_") in proof_standins.CONNECTION_PARAMETERS or "pool" in attr) \
                and getattr(instance, attr, None) is None:
            conn = proof_standins.connection_argument("", attr.lstrip("_"), in_async)
            if conn is not None:
                setattr(instance, attr, conn)
                given.append(conn)
    return given


#: whether the module runs under the generic stand-ins (then parameters that are a
#: session, a connection or a pool get one)
STAND_INS_ACTIVE = False


def _call(f: Callable[..., Any], args: list[Any],
          deps: dict[str, Callable[..., Any]] | None = None) -> tuple[str, str]:
    """Call `f` as its caller would: FastAPI dependencies resolved first (a generator
    advanced to its `yield`, torn down after the response), an async function in an
    event loop; what it returned (a generator drained, a context manager entered)
    or raised."""
    loop: asyncio.AbstractEventLoop | None = None

    def run(awaitable: Any) -> Any:
        nonlocal loop
        if loop is None:
            loop = asyncio.new_event_loop()
        return loop.run_until_complete(awaitable)

    opened: list[Any] = []
    try:
        kwargs = {}
        for name, dep in (deps or {}).items():  # as FastAPI resolves them
            got = dep()
            if inspect.iscoroutine(got):
                got = run(got)
            if inspect.isgenerator(got):
                opened.append(got)
                got = next(got)
            elif inspect.isasyncgen(got):
                opened.append(got)
                got = run(got.__anext__())
            kwargs[name] = got
        if inspect.iscoroutinefunction(f) or inspect.isasyncgenfunction(f):
            result = run(_call_async(f, args, kwargs))
        else:
            result = f(*args, **kwargs)
        if inspect.isgenerator(result):
            result = list(result)
        elif hasattr(result, "__enter__") and hasattr(result, "__exit__") \
                and type(result).__name__ == "_GeneratorContextManager":
            with result as inner:
                result = inner
        return ("return", shape(result))
    except (Exception, SystemExit) as exc:  # `sys.exit(1)` in a handler is an outcome too
        return ("raise", type(exc).__name__)
    finally:
        for gen in reversed(opened):  # the dependency's teardown, after the response
            if inspect.isasyncgen(gen):
                run(gen.aclose())
            else:
                gen.close()
        if loop is not None:
            loop.close()


async def _call_async(f: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    if inspect.isasyncgenfunction(f):
        return [item async for item in f(*args, **kwargs)]
    result = await f(*args, **kwargs)
    if type(result).__name__ == "_AsyncGeneratorContextManager":
        async with result as inner:
            return inner
    return result


class _ProjectModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """The case's other files (`db.py`, `app/database.py`), importable by their
    module names for the run; their library imports get the stand-ins too."""

    def __init__(self, files: dict[str, str]) -> None:
        self.sources: dict[str, tuple[str, bool]] = {}
        for path, text in files.items():
            if not path.endswith(".py"):
                continue  # a case's pyproject.toml: configuration, not a module
            parts = path[:-3].split("/")
            package = parts[-1] == "__init__"
            if package:
                parts = parts[:-1]
            self.sources[".".join(parts)] = (text, package)
            for i in range(1, len(parts)):  # a folder without __init__.py
                self.sources.setdefault(".".join(parts[:i]), ("", True))

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self.sources:
            return None
        return importlib.util.spec_from_loader(fullname, self,
                                               is_package=self.sources[fullname][1])

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        text, _ = self.sources[module.__name__]
        for name in proof_standins.undefined_names(text):
            setattr(module, name, proof_standins.Thing("case", name))
        exec(compile(text, module.__name__, "exec"), module.__dict__)


def run_module(source: str, scenario: Scenario, fetch: Any,
               only: set[str] | None = None,
               files: dict[str, str] | None = None,
               dependencies: set[str] | None = None,
               teardowns: bool = False) -> Observation:
    """Import `source` afresh and call its functions (and methods) with every input;
    those in `dependencies`, and those the module names in `Depends(...)`, as FastAPI
    calls a dependency. With `teardowns`, the functions the module registers as
    teardowns (`@app.teardown_appcontext`) run after each call, as Flask runs them
    at the end of each request."""
    global LEDGER
    LEDGER = Ledger(fetch=fetch)
    shared = ConnectionPool(0, 20, ":memory:", connect=sqlite3.connect,
                            factory=RecordingConnection)
    obs = Observation()
    faults = (shared.faults(statements=1, after=scenario.after) if scenario.kind == "statement"
              else shared.faults(commits=1, after=scenario.after)
              if scenario.kind == "commit" else None)
    if faults is not None:
        LEDGER.fired = lambda: faults.fired
    global STAND_INS_ACTIVE
    project = _ProjectModules(files or {})
    imported = imported_modules(source)
    for text, _ in project.sources.values():
        imported |= imported_modules(text)
    others = proof_standins.stand_in_modules({
        m for m in imported if not any(m == p or m.startswith(p + ".")
                                       for p in project.sources)})
    STAND_INS_ACTIVE = bool(others)
    hooks = proof_standins.HOOKS
    hooks.fetch = fetch
    hooks.scoped_opened = 0
    hooks.dependencies = []
    hooks.events = []
    hooks.teardowns = []
    threads_before = set(threading.enumerate())

    def checkout() -> Any:
        conn = shared.getconn()
        conn.seen = LEDGER.fired()
        return conn

    hooks.getconn = checkout  # type: ignore[method-assign]
    hooks.putconn = shared.putconn  # type: ignore[assignment]
    try:
        with _patched({**stand_in_psycopg2(shared), **others}), _importable(project), \
                _executor_in_line():
            module = ModuleType("recorded_case")
            if STAND_INS_ACTIVE:
                for name in proof_standins.undefined_names(source):
                    setattr(module, name, proof_standins.Thing("case", name))
            try:
                exec(compile(source, "case.py", "exec"), module.__dict__)
            except Exception as exc:
                raise NotRunnable(f"{type(exc).__name__}: {exc}") from exc
            _join_threads(threads_before)
            proof_standins.config_objects(module.__dict__)
            obs.events[("<module>", "")] = hooks.events
            hooks.events = []
            for name, f, cls in functions_of(module):
                if only is not None and name not in only:
                    continue
                for pristine in RUN_ARGUMENTS:
                    key = (name, repr(pristine))
                    # a fresh copy per call: a function that appends to its argument
                    # (`registry.append(...)`) must not change what later calls, or
                    # the other version's run, are given and keyed by
                    value = copy.deepcopy(pristine)
                    # an earlier call's connection dropped in a reference cycle (a
                    # traceback's frames) is taken back when the collector runs: not
                    # in the middle of this call's count
                    gc.disable()
                    given: list[Any] = []
                    try:
                        in_async = inspect.iscoroutinefunction(f) or \
                            inspect.isasyncgenfunction(f)
                        target: Callable[..., Any] = f
                        if cls is not None:  # a method: on an instance made for the call
                            init_args, _, given = _parameters(cls, value, in_async)
                            try:
                                instance = cls(*init_args)
                                given += _connected(instance, in_async)
                                target = getattr(instance, name.split(".")[1])
                            except Exception as exc:
                                obs.outcomes[key] = ("raise", type(exc).__name__)
                                continue
                        args, deps, more = _parameters(target, value, in_async)
                        given += more
                        out_before, closed_before = shared.stats().in_use, _direct_closed()
                        scoped_before = hooks.scoped_opened
                        if any(target is d for d in hooks.dependencies) or (
                                dependencies is not None and name in dependencies):
                            # a FastAPI dependency: resolved, then torn down
                            obs.outcomes[key] = _call(_as_dependency(target), [],
                                                      {"value": partial(target, *args)})
                        else:
                            obs.outcomes[key] = _call(target, args, deps)
                        # a connection from `connect()` is released by closing it; a
                        # session the code never owns (`db.session`) is not its leak
                        _join_threads(threads_before)
                        obs.events[key] = hooks.events
                        hooks.events = []
                        if teardowns:
                            for t in list(hooks.teardowns):
                                outcome = _call(t, [None], {})
                                obs.teardown_outcomes[(t.__name__, *key)] = (
                                    outcome, tuple(hooks.events))
                                hooks.events = []
                        obs.left_out[key] = (shared.stats().in_use - out_before) - (
                            _direct_closed() - closed_before) - (
                            hooks.scoped_opened - scoped_before)
                    finally:
                        for conn in given:  # the caller's session, given back by it
                            if conn._conn is not None:
                                shared.putconn(conn._conn.raw)
                        gc.enable()
    finally:
        if faults is not None:
            faults.cancel()
        obs.committed = list(LEDGER.committed)
        obs.statements, obs.commits = LEDGER.statements, LEDGER.commits
        shared.closeall()
    return obs


@contextmanager
def _importable(project: _ProjectModules) -> Iterator[None]:
    if not project.sources:
        yield
        return
    saved = {name: sys.modules.pop(name) for name in list(sys.modules)
             if name in project.sources}
    sys.meta_path.insert(0, project)
    try:
        yield
    finally:
        sys.meta_path.remove(project)
        for name in project.sources:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def imported_modules(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@contextmanager
def _executor_in_line() -> Iterator[None]:
    """`ThreadPoolExecutor.submit(fn, ...)` runs `fn` at once, in the caller's thread
    (its result or exception kept in the future): the work a call hands to a pool is
    seen in that call, in the same order on every run."""
    from concurrent.futures import Future, ThreadPoolExecutor

    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # kept in the future, as the pool does
            future.set_exception(exc)
        return future

    saved = ThreadPoolExecutor.submit
    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]
    try:
        yield
    finally:
        ThreadPoolExecutor.submit = saved  # type: ignore[method-assign]


def _join_threads(before: set[threading.Thread]) -> None:
    """Let the threads the code started finish (`Thread(target=warm_cache).start()`),
    so what they do is seen where they were started; one that runs on (a loop) is
    waited for once, then left alone."""
    for t in threading.enumerate():
        if t not in before and t is not threading.current_thread() and \
                not t.name.startswith("ThreadPoolExecutor"):  # idle workers never end
            t.join(timeout=0.5)
            if t.is_alive():
                before.add(t)


def _direct_closed() -> int:
    return sum(1 for c in LEDGER.direct if c.was_closed)

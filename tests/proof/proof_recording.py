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

import gc
import inspect
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from poolsafe.runtime import ConnectionPool

#: the inputs each function is called with (every parameter gets the same value)
ARGUMENTS: tuple[Any, ...] = (1, None, [1, 2])
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
        self.pending.append((" ".join(str(sql).split()), repr(params)))

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
    return {"psycopg2": pg, "psycopg2.pool": pool_module, "psycopg2.errors": errors,
            "psycopg2.extras": extras}


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


def functions_of(module: ModuleType) -> list[tuple[str, Callable[..., Any]]]:
    return [(name, f) for name, f in vars(module).items()
            if inspect.isfunction(f) and f.__module__ == module.__name__
            and not inspect.iscoroutinefunction(f) and not inspect.isasyncgenfunction(f)]


def _call(f: Callable[..., Any], value: Any) -> tuple[str, str]:
    params = [p for p in inspect.signature(f).parameters.values()
              if p.default is inspect.Parameter.empty
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    args = [value for _ in params]
    try:
        result = f(*args)
        if inspect.isgenerator(result):
            result = list(result)
        elif hasattr(result, "__enter__") and hasattr(result, "__exit__") \
                and type(result).__name__ == "_GeneratorContextManager":
            with result as inner:
                result = inner
        return ("return", shape(result))
    except Exception as exc:
        return ("raise", type(exc).__name__)


def run_module(source: str, scenario: Scenario, fetch: Any,
               only: set[str] | None = None) -> Observation:
    """Import `source` afresh and call its functions with every input."""
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
    try:
        with _patched(stand_in_psycopg2(shared)):
            module = ModuleType("recorded_case")
            try:
                exec(compile(source, "case.py", "exec"), module.__dict__)
            except Exception as exc:
                raise NotRunnable(f"{type(exc).__name__}: {exc}") from exc
            for name, f in functions_of(module):
                if only is not None and name not in only:
                    continue
                for value in ARGUMENTS:
                    key = (name, repr(value))
                    # an earlier call's connection dropped in a reference cycle (a
                    # traceback's frames) is taken back when the collector runs: not
                    # in the middle of this call's count
                    gc.disable()
                    try:
                        out_before, closed_before = shared.stats().in_use, _direct_closed()
                        obs.outcomes[key] = _call(f, value)
                        # a connection from `connect()` is released by closing it
                        obs.left_out[key] = (shared.stats().in_use - out_before) - (
                            _direct_closed() - closed_before)
                    finally:
                        gc.enable()
    finally:
        if faults is not None:
            faults.cancel()
        obs.committed = list(LEDGER.committed)
        obs.statements, obs.commits = LEDGER.statements, LEDGER.commits
        shared.closeall()
    return obs


def _direct_closed() -> int:
    return sum(1 for c in LEDGER.direct if c.was_closed)

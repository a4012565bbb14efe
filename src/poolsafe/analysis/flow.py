"""Per-function flow analysis of connection checkouts, with exception edges.

The analysis interprets a function's statements over an abstract state: the set
of checkouts that may still be held (`Held`) and the connections that may sit in
an aborted transaction after an `except` swallowed a database error
(`Aborted`). Structured control flow is followed exactly: each statement returns
an `Outcome` holding the state on its normal exit and on every abrupt exit
(return, break, continue, exception), so `try`/`except`/`else`/`finally`, `with`,
loops and early returns compose without building an explicit graph.

Exception edges: every statement that calls, awaits or yields may raise; the
state it raises with is the one before its effect (an acquisition that raised did
not happen), minus what it released. A typed `except` passes on what it does
not catch. A `yield` is a point where the consumer can throw in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import libcst as cst

from poolsafe.analysis.cleanup_reraise import REUSED_BEFORE_RERAISE, cleanup_before_reraise
from poolsafe.analysis.closing_blocks import closed_by_own_with
from poolsafe.analysis.cstutil import (
    argument_for,
    body_statements,
    bound_names,
    bound_names_of,
    children,
    dotted_name,
    getattr_literal,
    is_true,
    iter_calls,
    iter_nodes,
    keyword_arg,
    name_leaves,
    names_in,
    positional_args,
    preorder_spans,
    string_value,
    strip_await,
)
from poolsafe.analysis.doubles import is_test_module
from poolsafe.analysis.falsy_leave import leaves_on_falsy_result
from poolsafe.analysis.fastapi_depends import depends_of
from poolsafe.analysis.helper_session_work import helper_session_work
from poolsafe.analysis.index import ProjectIndex, held, spelling
from poolsafe.analysis.keyed_checkout import same_keyed_checkout
from poolsafe.analysis.legacy_autorollback import rolls_back_itself
from poolsafe.analysis.local_holder import held_by_local_object
from poolsafe.analysis.local_lists import cannot_raise_on_own_list
from poolsafe.analysis.local_owner import dies_with_local_object, method_of
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo, WithBinding
from poolsafe.analysis.module_sessions import ended_at_request_end, long_lived_binding
from poolsafe.analysis.plain_callables import calls_plain_lambda
from poolsafe.analysis.project_facts import cli_command, facts, request_handler
from poolsafe.analysis.psycopg_transaction_block import in_psycopg_transaction_block
from poolsafe.analysis.request_end import done_with_database_after
from poolsafe.analysis.resolution import external_name, resolve
from poolsafe.analysis.resources import FunctionResources
from poolsafe.analysis.rolling_commit import (
    every_session_rolls_back_commit,
    holds_plain_session,
    only_queues_and_commits,
)
from poolsafe.analysis.session_handback import (
    decorator_sessions,
    every_caller_ends,
    plain_call_sites,
)
from poolsafe.analysis.session_reads import only_runs_statements, param_for, positional_param
from poolsafe.analysis.statement_errors import is_sqlalchemy_dialect, statement_level_only
from poolsafe.analysis.true_flags import true_flags_at
from poolsafe.analysis.unbound import certain_loads, unbound_candidates
from poolsafe.analysis.values import (
    ClassRef,
    Connection,
    External,
    FunctionRef,
    Instance,
    LibraryObject,
    ManagedContext,
)
from poolsafe.knowledge import (
    BROAD_EXCEPTIONS,
    CLIENT_REQUEST_ERROR_NAMES,
    CLIENT_RESULT_ERROR_NAMES,
    CLOSED_CONNECTION_MESSAGES,
    CONNECTION_KINDS,
    DB_ERROR_NAMES,
    DB_ERROR_ROOTS,
    FLUSHING_METHODS,
    NON_WORK_METHODS,
    SELF_RETURNING_METHODS,
    SESSION_QUEUE_METHODS,
    SYNC_SESSION_QUEUE_METHODS,
    TRANSACTION_CM_METHODS,
    ConnectionKind,
    match_qualname,
)
from poolsafe.knowledge.frameworks import (
    CURSOR_METHODS,
    PROCESS_ENDING_CALLS,
    RAISING_BUILTINS,
    RAISING_CALLS,
)
from poolsafe.knowledge.libraries import CURSOR_FACTORY_METHODS

#: connection kinds that say nothing of their server: whether a failed statement
#: aborts the transaction is the server's (the module's imports tell)
_SERVER_DECIDES_ABORT = frozenset({"sqlalchemy-connection", "sqlalchemy-async-connection"})
#: the methods that open a transaction block on a connection that commits each
#: statement on its own (the kinds' `transaction_block`: asyncpg, aiopg.sa)
_TRANSACTION_BLOCK_METHODS = frozenset({"transaction", "begin"})

#: kinds whose `invalidate()` discards the DBAPI connection, failed transaction and all
_INVALIDATE_ENDS = frozenset({"sqlalchemy-connection", "sqlalchemy-async-connection",
                              "session", "scoped-session", "async-session"})

@dataclass(frozen=True)
class Held:
    var: str
    site: int
    #: names (`Unbound`) not bound yet on the paths of this checkout: a read of one
    #: raises there (`finally: cur.close()` before `conn.close()`)
    unbound: frozenset[str] = frozenset()
    #: on these paths the connection's own liveness check failed (mysql.connector's
    #: `cursor()` raised): `is_connected()` answers False
    dead: bool = False
    #: local flags set to True after the checkout on its paths (`owned = True`): a
    #: later `if owned:` is true wherever this checkout is held
    flags: frozenset[str] = frozenset()
    #: a lazy checkout (`ConnectionKind.lazy`: a SQLAlchemy session connects on its
    #: first statement) that nothing has used yet on these paths: an exception here
    #: leaves nothing checked out
    idle: bool = False
    #: these paths went through an `except` that caught an exception raised while the
    #: checkout was held (PS102's direct-connection policy: a gap only such paths
    #: reach is an exception's gap, whether the handler re-raises or leaves)
    caught: bool = False
    #: a lazy checkout whose last statement on these paths was its own `commit()`
    #: (`session.commit()` alone on a line): a SQLAlchemy session gives its connection
    #: back when the commit ends its transaction, so rebinding the name here loses no
    #: connection (not counted as "overwritten"); any later mention of it clears this
    committed: bool = False
    #: `committed`, and nothing has run since that commit but a bare `return` (or one
    #: of a constant) or `pass`: on these paths the session's last act was a
    #: successful `commit()`, which gave its connection back, and no expired ORM
    #: object can have reloaded through it; leaving here unclosed holds nothing
    settled: bool = False


def _settles(kind: ConnectionKind) -> bool:
    """A checkout that a successful `commit()` leaves holding nothing once it is
    dropped: a lazy SQLAlchemy session (the commit gives its connection back), and a
    sync SQLAlchemy `Connection`, which the commit leaves with no transaction, so
    reference counting frees it, and its pool takes the connection back, as soon as
    the function drops it (benchmarks/policy88_normal_path.py: 0 of 10 held after
    return on SQLite, PostgreSQL and MariaDB; one dropped with its transaction open
    stays checked out until the garbage collector runs)."""
    return kind.lazy or kind.key == "sqlalchemy-connection"


@dataclass(frozen=True)
class Unbound:
    """`var` may not be bound yet (see `poolsafe.analysis.unbound`)."""

    var: str


@dataclass(frozen=True)
class Aborted:
    resource: str
    handler: int
    #: names the handler stored its exception in (`error = e`): a later
    #: `if error: raise error` re-raises wherever this transaction is aborted
    flags: frozenset[str] = frozenset()
    #: names set to a false constant after the error was caught (`row = None`): a
    #: later `if row is None: return` leaves wherever this transaction is aborted
    falsy: frozenset[str] = frozenset()
    #: the class a `raise Name(...)` carried this path out of a block with (its
    #: dotted name), until a handler takes it: an earlier handler of a `try` that
    #: names the class catches it, so no later handler of that `try` sees it
    raised_as: str | None = None


@dataclass(frozen=True)
class Released:
    """`var` was released or closed (PS106): a later use on this path is a use after
    release. `release` is the id of the releasing node (a call or a `with`)."""

    var: str
    release: int
    #: a SQLAlchemy session: usable again after close() (it reopens a connection)
    reusable: bool = False
    #: cursor names bound again since the release (`with other.cursor() as cur:`,
    #: `cur = ...`, `for cur in ...`, `(cur := ...)`): a use of one of them is no
    #: longer a use of this connection's old cursor
    rebound: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Returned:
    """`var` is being returned by the `return` whose id is `ret` (on the return path,
    through the `finally` blocks and `with` exits that run after it)."""

    var: str
    ret: int


@dataclass(frozen=True)
class Reopened:
    """A closed session used again (it opened a new connection) at node `use`; reported
    if no later close() ends it on the way out."""

    var: str
    use: int
    release: int


Fact = Held | Aborted | Released | Returned | Reopened | Unbound
State = frozenset[Fact]

#: methods that store their argument somewhere that outlives the call
_STORING_METHODS = frozenset(
    {"append", "appendleft", "add", "put", "put_nowait", "insert", "extend", "setdefault",
     "update", "push", "register", "enter_context", "callback", "push_async_callback",
     "enter_async_context", "set"}
)
_CLOSING = frozenset({"closing", "aclosing"})

#: a DB-API cursor's reads of the result its `execute()` brought over
_CLIENT_FETCHES = frozenset({"fetchall", "fetchone", "fetchmany"})
#: anyio's and trio's cancel scopes: building one (and entering it) only stores a
#: deadline and a shield flag, it does no I/O and raises nothing
_CANCEL_SCOPES = frozenset({"move_on_after", "move_on_at", "CancelScope"})
#: calls treated as not raising: logging, printing, and ending a transaction or a
#: cursor (a release placed after them in each `except` counts as a release)
_NON_RAISING_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log",
     "rollback", "close", "cursor", "begin",
     # mysql.connector answers False when the server is gone, asyncpg's `is_closed()`
     # True: neither raises
     "is_connected", "is_closed",
     # asyncpg's local callback registrations: they add to a set, no I/O
     # (`add_listener`, which sends LISTEN, is not one of them)
     "add_termination_listener", "remove_termination_listener", "add_log_listener",
     "remove_log_listener", "add_query_logger", "remove_query_logger",
     # `contextlib.suppress(...)`, `contextlib.closing(conn)`
     "suppress", "closing", "aclosing",
     # anyio's and trio's cancel scopes (`anyio.move_on_after(5, shield=True)`)
     *_CANCEL_SCOPES}
)
_NON_RAISING_FUNCTIONS = frozenset(
    {"print", "len", "str", "repr", "isinstance", "id", "bool", "type", "hasattr", "callable",
     "locals", "dir", "vars", "globals",
     # `contextlib.suppress(...)` only stores the exception types; `closing(conn)` only
     # stores the object it will close (`conn = engine.connect()` then `with
     # closing(conn):` leaves no gap)
     "suppress", "closing", "aclosing",
     # `with move_on_after(5, shield=True): await conn.close()` in a `finally`: building
     # and entering a cancel scope stores a deadline; the close in it still runs
     *_CANCEL_SCOPES}
)
_SCOPE_FUNCTIONS = frozenset({"locals", "dir", "vars", "globals"})
#: builtins that read an object itself (its identity, type, attributes' presence), never
#: its connection: a session passed to one does no work in a failed transaction
_OBJECT_ONLY_BUILTINS = frozenset({"id", "type", "isinstance", "hash", "callable", "hasattr"})


#: OpenTelemetry's span methods: the API must not raise (a span records, it does no
#: I/O; export happens later, in the span processor's thread); only on a receiver
#: named for a span (`span`, `self._span`, `trace.get_current_span()`)
_SPAN_METHODS = frozenset(
    {"set_attribute", "set_attributes", "add_event", "set_status", "record_exception",
     "update_name"}
)
#: local reads of a connection's state: asyncpg's `get_server_version()` and
#: `get_server_pid()` return what the handshake stored, no round trip
_LOCAL_READS = frozenset({"get_server_version", "get_server_pid",
                          # OpenTelemetry: the context's span, or the invalid span
                          "get_current_span"})


#: the `time` module's clocks: a timing around a checkout (`start = perf_counter()`,
#: `time.monotonic()`) reads a clock and cannot fail
_CLOCKS = frozenset({"perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns",
                     "process_time", "process_time_ns", "time_ns"})


#: asyncio's and threading's synchronization primitives: `asyncio.Event()` (no
#: arguments) builds an unset event in memory, no I/O, nothing to fail
_SYNC_PRIMITIVES = frozenset({"Event", "Lock", "RLock", "Condition"})


def _names_span(expr: cst.BaseExpression) -> bool:
    """`span`, `self._span`, `root_span`, `trace.get_current_span()`."""
    if isinstance(expr, cst.Call):
        f = expr.func
        name = f.attr.value if isinstance(f, cst.Attribute) else (
            f.value if isinstance(f, cst.Name) else "")
        return name == "get_current_span"
    if isinstance(expr, cst.Attribute):
        return expr.attr.value.lower().endswith("span")
    return isinstance(expr, cst.Name) and expr.value.lower().endswith("span")


def _may_raise(call: cst.Call) -> bool:
    f = call.func
    if isinstance(f, cst.Attribute):
        if f.attr.value in _SPAN_METHODS and _names_span(f.value):
            return False
        if f.attr.value in _LOCAL_READS and not call.args:
            return False
        if (isinstance(f.value, cst.Name) and f.value.value == "time" and not call.args
                and (f.attr.value in _CLOCKS or f.attr.value == "time")):
            return False
        if (isinstance(f.value, cst.Name) and f.value.value in ("asyncio", "threading")
                and f.attr.value in _SYNC_PRIMITIVES and not call.args):
            return False
        return f.attr.value not in _NON_RAISING_METHODS
    if isinstance(f, cst.Name):
        if (f.value == "get_current_span" or f.value in _CLOCKS) and not call.args:
            return False
        return f.value not in _NON_RAISING_FUNCTIONS
    return True


#: what `except X:` catches everything a function body can raise with
_CATCH_ALL = frozenset({"Exception", "BaseException"})


def _body_catches_everything(node: cst.FunctionDef) -> bool:
    """The body is a `try` whose handlers include a catch-all that raises nothing
    (none of them raises), with no `else`, and whose `finally` makes only calls that
    cannot raise; around it only assignments of constants or names and `return` of
    one."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    tries = [st for st in body if isinstance(st, cst.Try)]
    if len(tries) != 1:
        return False
    for st in body:
        if st is tries[0]:
            continue
        if not isinstance(st, cst.SimpleStatementLine):
            return False
        for small in st.body:
            if isinstance(small, cst.Expr) and isinstance(small.value, (
                    cst.SimpleString, cst.ConcatenatedString)):
                continue  # the docstring
            value = small.value if isinstance(small, (cst.Assign, cst.Return)) else False
            if value is False or (value is not None and not isinstance(value, (
                    cst.Name, cst.Integer, cst.SimpleString))):
                return False
            if isinstance(small, cst.Assign) and not all(
                    isinstance(t.target, cst.Name) for t in small.targets):
                return False
    t = tries[0]
    if t.orelse is not None:
        return False
    if any(isinstance(n, cst.Raise) for h in t.handlers for n in iter_nodes(h.body)):
        return False
    if not any(h.type is None or (isinstance(h.type, cst.Name) and h.type.value in _CATCH_ALL)
               for h in t.handlers):
        return False
    return t.finalbody is None or not any(_may_raise(c) for c in iter_calls(t.finalbody.body))


def call_may_raise(call: cst.Call) -> bool:
    """Whether the flow analysis lets this call raise (logging, close() and rollback()
    do not)."""
    return _may_raise(call)


def _join(a: State | None, b: State | None) -> State | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


@dataclass
class Outcome:
    normal: State | None = None
    ret: State | None = None
    brk: State | None = None
    cont: State | None = None
    exc: State | None = None

    def absorb_abrupt(self, other: Outcome) -> None:
        self.ret = _join(self.ret, other.ret)
        self.brk = _join(self.brk, other.brk)
        self.cont = _join(self.cont, other.cont)
        self.exc = _join(self.exc, other.exc)


@dataclass(frozen=True)
class _Shape:
    calls: tuple[cst.Call, ...]
    raises: bool
    lambda_names: frozenset[str]
    #: names yielded to the consumer that the function never releases itself
    yielded: frozenset[str]
    #: when the only calls that may raise are `cursor()` pings: their connections
    pings: frozenset[str] = frozenset()
    #: the names it reads each time it runs that may be unbound (`_unbound_candidates`)
    loads: frozenset[str] = frozenset()
    #: its assignment expressions (`(conn := pool.getconn())`), in evaluation order
    walrus: tuple[cst.NamedExpr, ...] = ()


@dataclass(frozen=True)
class AcquireSite:
    call: cst.Call
    var: str
    conn: Connection
    #: acquired as `with <call> as var:` (whose exit does not release it)
    in_with: bool = False
    #: every name of an unpacking target (`conn, cur = get_conn()`), for messages
    unpacked: tuple[str, ...] = ()


@dataclass(frozen=True)
class AfterRelease:
    """A connection or session used, returned or yielded after it was released."""

    node: cst.CSTNode
    var: str
    #: "used", "returned", "yielded"
    use: str
    #: the releasing call, or the `with` statement whose exit released it
    release: cst.CSTNode
    #: the release runs as the function returns it (a `finally`, a `with` exit)
    on_return: bool = False


@dataclass(frozen=True)
class RaisePoint:
    """A statement or expression that may raise while a checkout is held."""

    node: cst.CSTNode
    #: the first call in it (in evaluation order) that may raise, if any
    call: cst.Call | None
    #: inside a `try` or a `with`, whose handlers, `finally` or exit may release
    guarded: bool
    #: the statement it is in (what a step points at: a statement's position costs
    #: less to find than an expression's)
    statement: cst.CSTNode


@dataclass
class FlowResult:
    sites: list[AcquireSite] = field(default_factory=list)
    #: site index -> "path" (some normal path), "exception" (only exceptional
    #: paths) or "overwritten" (rebound while held)
    leaks: dict[int, str] = field(default_factory=dict)
    #: `with <checkout> as x:` whose exit does not give the connection back
    with_leaks: list[tuple[cst.Call, Connection]] = field(default_factory=list)
    #: a close() (or a closing `with`) on a connection whose close does not release it
    close_mistakes: list[tuple[cst.CSTNode, AcquireSite]] = field(default_factory=list)
    #: site index -> the first `conn.close()` whose coroutine is dropped unawaited
    #: (`ConnectionKind.close_is_coroutine`): it is no release, and the message says so
    unawaited_closes: dict[int, cst.Call] = field(default_factory=dict)
    handlers: list[cst.ExceptHandler | cst.ExceptStarHandler] = field(default_factory=list)
    #: handler index -> (resource, why)
    swallowing_handlers: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: handler index -> where the failed transaction is met again (the statement that
    #: reuses it, the `with` that commits it, the `return` that hands it back; None:
    #: the end of the function), for the path of a PS103 finding
    handler_exits: dict[int, cst.CSTNode | None] = field(default_factory=dict)
    #: handler index -> the first `return` a failed transaction of it is held at
    aborted_returns: dict[int, cst.CSTNode] = field(default_factory=dict)
    #: uses after a release (PS106), in the order found
    after_release: list[AfterRelease] = field(default_factory=list)
    #: site index -> (the statement, the names): a read of names not bound yet on some
    #: path of the checkout raises there (`finally: cur.close()` before the release)
    unbound_reads: dict[int, tuple[cst.CSTNode, frozenset[str]]] = field(default_factory=dict)
    #: site -> the statements and expressions that may raise while it is held, and the
    #: returns it is held at, in the order met; the sites held when the body's end is
    #: reached (what `poolsafe.analysis.witness` searches for a leak's path)
    raise_points: dict[int, list[RaisePoint]] = field(default_factory=dict)
    #: (the statement of the return, inside a `try` or `with`)
    return_points: dict[int, list[tuple[cst.CSTNode, bool]]] = field(default_factory=dict)
    held_at_end: frozenset[int] = frozenset()
    #: the "path" leaks of `leaks` whose every leaking normal path went through an
    #: `except` that caught an exception raised while the checkout was held (a handler
    #: that returns, or the function's last `try` whose handler falls off its end)
    caught_paths: set[int] = field(default_factory=set)


class FunctionFlow:
    def __init__(self, index: ProjectIndex, func: FunctionInfo) -> None:
        self.index = index
        self.func = func
        self.module = func.module
        self.result = FlowResult()
        self._site_of_call: dict[int, int] = {}
        self._handler_ids: dict[int, int] = {}
        self._shapes: dict[int, _Shape] = {}
        #: calls that are a whole expression statement (`conn.close()` on its own
        #: line): their value, a coroutine if the function is async, is dropped
        self._discarded_calls: set[int] = set()
        #: PS106: nodes by id (releases, returns, uses), uses per node, reported uses
        self._nodes: dict[int, cst.CSTNode] = {}
        self._uses: dict[int, tuple[tuple[str, cst.CSTNode, str, str | None], ...]] = {}
        self._holders_memo: dict[str, str] | None = None
        self._reported_uses: set[int] = set()
        self._released_memo: dict[int, set[str]] = {}
        self._catch_all_memo: dict[int, bool] = {}
        #: a witness run (poolsafe.analysis.witness): only the node with this id may
        #: raise (None: every node that may raise does)
        self.only_raising: int | None = None
        #: how many `try` and `with` statements enclose the statement analysed now, and
        #: the statements being analysed, innermost last
        self._guarded = 0
        self._statements: list[cst.BaseStatement] = []
        #: > 0 while a `finally` runs on the path of an exception that propagates: a
        #: handler that raised swallowed nothing, and the cleanup its error passes
        #: through is no reuse of the failed transaction (PS103 stays quiet there)
        self._propagating = 0
        #: (name, the `if` statement) for each enclosing branch of the statement
        #: analysed now where the name is None or false: the body of `if name is None:`
        #: (`if not name:`), the `else` of `if name is not None:` (`if name:`)
        self._known_false: list[tuple[str, cst.If]] = []
        self._true_flags_memo: dict[int, frozenset[str]] = {}

    # the facts below cost a walk each: computed only for functions that need them
    @cached_property
    def res(self) -> FunctionResources:
        return FunctionResources(self.index, self.func)

    @cached_property
    def _with_bound_calls(self) -> set[int]:
        """id() of the calls bound by `with <call> as name:` in this function."""
        out: set[int] = set()
        for values in self.func.locals.values():
            for v in values:
                if isinstance(v, WithBinding):
                    inner, _ = strip_await(v.item)
                    out.add(id(inner))
        return out

    @cached_property
    def _unbound_candidates(self) -> frozenset[str]:
        """Names a handler or `finally` may read before they are bound."""
        if not self.func.tries:
            return frozenset()
        return unbound_candidates(self.func.node, self.func.tries)

    @cached_property
    def _released_anywhere(self) -> set[str]:
        """Names some call of the function's own body releases (`direct_calls` are the
        calls `ProjectIndex.released_names` walks the body for)."""
        out: set[str] = set()
        for call in self.func.direct_calls:
            out |= self._released_by(call)
        return out

    @cached_property
    def _released_itself(self) -> set[str]:
        """`_released_anywhere` by a method call on the name itself (`session.close()`)
        in the function's own body, not by a project helper handed it."""
        out: set[str] = set()
        for call in self.func.direct_calls:
            f = call.func
            if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) \
                    and f.value.value in self._released_by(call):
                out.add(f.value.value)
        return out

    @cached_property
    def _released_outside_handlers(self) -> set[str]:
        """`_released_anywhere` less the releases made only in `except` handlers (the
        `except BaseException: pool.putconn(conn); raise` of a connection handed on on
        success): what the function gives back on a path that goes on normally."""
        in_handlers = {id(c) for node in iter_nodes(self.func.node.body)
                       if isinstance(node, cst.ExceptHandler) for c in iter_calls(node)}
        out: set[str] = set()
        for call in self.func.direct_calls:
            if id(call) not in in_handlers:
                out |= self._released_by(call)
        return out

    def _released_by(self, call: cst.Call) -> set[str]:
        """`ProjectIndex.released_by_call` for a call of this function, asked once per
        call (loops and `finally` blocks are interpreted more than once); a call of a
        local closer (`_local_closers`) releases what its body releases."""
        key = id(call)
        found = self._released_memo.get(key)
        if found is None:
            closer = self._local_closers.get(call.func.value) \
                if isinstance(call.func, cst.Name) and not call.args else None
            nested = self._nested_functions.get(call.func.value) \
                if isinstance(call.func, cst.Name) else None
            if closer is not None:
                found = self._released_by_closer(closer)
            elif nested is not None:
                # `def try_close(c): ... c.close()` nested in this function, called with
                # the connection: it releases what its parameter at that position holds
                positions = self.index.releaser_positions(nested)
                found = {a.value for i, a in enumerate(positional_args(call))
                         if i in positions and isinstance(a, cst.Name)}
            else:
                found = self.index.released_by_call(call, self.func) \
                    | self._closed_by_callee_with(call)
                f = call.func
                if self._carried_names and isinstance(f, cst.Attribute) \
                        and f.attr.value == "close" and isinstance(f.value, cst.Name) \
                        and f.value.value in self._carried_names:
                    # `cur.close()` on a helper's carried cursor closes the cursor,
                    # not the connection it carries (`cur.connection.close()` does)
                    found = found - {f.value.value}
                elif self._pool_carried_names and isinstance(f, cst.Attribute) \
                        and f.attr.value == "close" and isinstance(f.value, cst.Attribute) \
                        and isinstance(f.value.value, cst.Name) \
                        and f.value.value.value in self._pool_carried_names:
                    # `cur.connection.close()` on a pool's checkout carried by its
                    # cursor closes the socket; the pool still counts the slot as used
                    # (only `pool.release(cur.connection)` / `putconn` frees it)
                    found = found - {f.value.value.value}
            self._released_memo[key] = found
        return found

    def _closed_by_callee_with(self, call: cst.Call) -> set[str]:
        """The names this call hands to a project function whose body opens with
        `with param:` on it (`closed_by_own_with`), when their kind's `with x:` closes
        (a SQLAlchemy `Session`; a psycopg2 connection's only ends a transaction)."""
        names = [a for a in call.args if isinstance(a.value, cst.Name) and not a.star]
        if not names:
            return set()
        f = call.func
        name = f.value if isinstance(f, cst.Name) else \
            f.attr.value if isinstance(f, cst.Attribute) else None
        if name is None or not self.index.is_project_function_name(name):
            return set()
        callee = self.index.evaluate(f, self.module, self.func)
        if not isinstance(callee, FunctionRef):
            return set()
        out: set[str] = set()
        for arg in names:
            assert isinstance(arg.value, cst.Name)
            kind: ConnectionKind | None = self.res.kind(arg.value.value)
            if kind is None or not kind.with_var_closes:
                continue
            param = param_for(callee.func, call, arg)
            if param is not None and closed_by_own_with(callee.func, param):
                out.add(arg.value.value)
        return out

    @cached_property
    def _carried_names(self) -> frozenset[str]:
        """Local names every binding of which is a call of a project helper that
        returns a cursor of a connection it opened (`cur = await open_cursor()`:
        `_carried_cursor`), or a cursor of a direct connection opened in the same
        expression (`cur = get_connection().cursor()`: `_chained_cursor`)."""
        out: set[str] = set()
        for name, values in self.func.locals.items():
            calls = [strip_await(v)[0] for v in values if isinstance(v, cst.BaseExpression)]
            if calls and len(calls) == len(values) and all(
                    isinstance(c, cst.Call) and (self._carried_cursor(c) is not None
                                                 or self._chained_cursor(c) is not None)
                    for c in calls):
                out.add(name)
        return frozenset(out)

    @cached_property
    def _pool_carried_names(self) -> frozenset[str]:
        """The `_carried_names` whose cursor carries a pool's checkout (`conn = await
        pool.acquire(); return await conn.cursor()` in the helper)."""
        out: set[str] = set()
        for name in self._carried_names:
            for value in self.func.locals.get(name, ()):
                call = strip_await(value)[0] if isinstance(value, cst.BaseExpression) else None
                carried = self._carried_cursor(call) if isinstance(call, cst.Call) else None
                if carried is not None and carried.kind.close_is_mistake:
                    out.add(name)
        return frozenset(out)

    @cached_property
    def _local_closers(self) -> dict[str, cst.Lambda]:
        """Local names bound once to a lambda whose body is one call and that the
        function only ever calls with no argument (`closer = lambda c=conn: c.close()`
        then `closer()`, or `lambda: conn.close()`): the lambda takes nothing away from
        the function, and calling it runs its body here."""
        bound: dict[str, cst.Lambda] = {}
        targets: set[int] = set()
        called: set[int] = set()
        uses: dict[str, list[cst.Name]] = {}
        for node in iter_nodes(self.func.node.body, into_functions=True):
            if isinstance(node, cst.Assign):
                if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) \
                        and isinstance(node.value, cst.Lambda) \
                        and isinstance(node.value.body, cst.Call):
                    name = node.targets[0].target.value
                    bound[name] = node.value
                    targets.add(id(node.targets[0].target))
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name) \
                    and not node.args:
                called.add(id(node.func))
            elif isinstance(node, cst.Name):
                uses.setdefault(node.value, []).append(node)
        out: dict[str, cst.Lambda] = {}
        for name, lam in bound.items():
            names = uses.get(name, [])
            if all(id(n) in targets or id(n) in called for n in names) \
                    and sum(id(n) in targets for n in names) == 1:
                out[name] = lam
        return out

    @cached_property
    def _closer_lambdas(self) -> frozenset[int]:
        return frozenset(id(lam) for lam in self._local_closers.values())

    def _released_by_closer(self, lam: cst.Lambda) -> set[str]:
        """What calling `lam` releases: its body's releases, a parameter read as the
        name its default is (`c=conn`)."""
        assert isinstance(lam.body, cst.Call)
        defaults = {p.name.value: p.default.value for p in lam.params.params
                    if isinstance(p.default, cst.Name)}
        params = {p.name.value for p in lam.params.params}
        released = self.index.released_by_call(lam.body, self.func)
        return {defaults.get(n, n) for n in released
                if n in defaults or n not in params}

    @cached_property
    def _with_item_calls(self) -> frozenset[int]:
        """id() of the calls that are items of this function's `with` statements."""
        out: set[int] = set()
        for node in iter_nodes(self.func.node.body):
            if isinstance(node, cst.With):
                for item in node.items:
                    inner, _ = strip_await(item.item)
                    if isinstance(inner, cst.Call):
                        out.add(id(inner))
        return frozenset(out)

    def _exit_releases(self, call: cst.Call) -> bool:
        """`with session_guard(session):` where `session_guard` is a project
        `@contextmanager` (`@asynccontextmanager`) that releases its argument only
        after its `yield` (in a `finally`, or after the commit): the call hands the
        session to the block, and the release comes when the block ends."""
        if id(call) not in self._with_item_calls:
            return False
        value = self.index.evaluate(call.func, self.module, self.func)
        return isinstance(value, FunctionRef) and self.index.is_contextmanager(value.func) \
            and _releases_after_yield(self.index, value.func)

    @cached_property
    def _yield_throws(self) -> bool:
        """A consumer can throw into this generator at each `yield` (not a pytest fixture)."""
        return not is_pytest_fixture(self.index, self.func)

    def _dies_with_local_object(self, fact: Aborted) -> bool:
        """`fact.resource` is `obj.attr` on a local object whose `__init__` opened the
        connection or session it holds, and the object never leaves the function
        (`dies_with_local_object`): no caller gets the failed transaction back."""
        if not self.res.is_local(fact.resource.split(".")[0]):
            return False
        handler = self.result.handlers[fact.handler]
        try_stmt = next((t for t in self.func.tries
                         if any(h is handler for h in t.handlers)), None)
        return dies_with_local_object(self.index, self.func, fact.resource, try_stmt)

    @cached_property
    def _returns_to_handlers_only(self) -> bool:
        """Every call of this function in the project is a request handler's last act
        (`return ItemRepository(db).create(name)` in a route, also handed to a worker
        thread there: `return await loop.run_in_executor(None, create_tag, db, name)`):
        the framework ends the request's session (and its failed transaction) right
        after, and nothing uses it in between. Or the only use of a session that a
        `with` block opened and closes when the call returns (`with Session() as s:
        return helper(s)`)."""
        known = facts(self.index)
        sites = known.callers(self.func) + known.executor_callers(self.func)
        # a test's call (a test helper that makes a user through the repository) serves
        # no request; at least one call outside the tests must
        sites = [s for s in sites if not is_test_module(s.module)]
        if not sites:
            return False
        for site in sites:
            if site.func is None:
                return False
            if _ends_session_block(self.index, site.call, site.module, site.func,
                                   self._takes_session):
                continue
            if request_handler(self.index, site.func) is None:
                # a function that returns what this one gives back, as its own last
                # act, to a request handler that does the same (`return
                # save_token(token)` in `Auth.logout_user`, whose only caller is a
                # route's `return Auth.logout_user(data)`), a few frames up
                if _is_last_act(site.call, site.func) \
                        and _returned_to_handlers(self.index, site.func, 1):
                    continue
                return False
            if not (_is_last_act(site.call, site.func)
                    or (self._falsy_on_failure
                        and _passes_request_dependency(self.index, site.call, site.func)
                        and (_raises_when_falsy(site.call, site.func)
                             or leaves_on_falsy_result(site.call, site.func)))):
                return False
        return True

    def _callers_end_session(self, resource: str) -> bool:
        """`resource` is a parameter of this function, and every call of it in the
        project hands it a session that its caller uses no more after the call (in no
        loop) and that ends right after, up to three frames up: a `with` block of the
        caller closes it, a request's dependency does, a decorator that passes it in
        does, or the caller got it as a parameter and the same holds of every call of
        the caller (`every_caller_ends`). A plain function, or a `@staticmethod`
        (called as `Service.method(...)`, it is one: no instance carries the session
        elsewhere)."""
        return "." not in resource and resource in self.func.all_param_names() \
            and (self.func.cls is None or not self.func.is_method) \
            and every_caller_ends(self.index, self.func, resource, 0)

    def _callers_raise_on_failure(self, resource: str) -> bool:
        """`resource` is a parameter of this plain function, every `except` of which
        gives back a falsy value or raises (`_falsy_on_failure`), and every call of it
        in the project (tests aside; at least one) is the test of an `if not helper(conn):` whose
        body ends in `raise`, outside any `try` of the caller, and hands it a local
        the caller opened itself (not a parameter, not stored or returned): the
        failure leaves the caller at once with the connection, and nothing meets the
        failed transaction."""
        func = self.func
        if "." in resource or resource not in func.all_param_names() \
                or (func.cls is not None and func.is_method) or func.is_async \
                or func.is_generator or not self._falsy_on_failure:
            return False
        # a test calling the helper on its fixture's connection ends with the test
        sites = [s for s in plain_call_sites(self.index, func)
                 if not is_test_module(s.module)]
        if not sites:
            return False
        params = func.param_names()
        position = params.index(resource) if resource in params else None
        for site in sites:
            passed = argument_for(site.call, resource, position)
            caller = site.func
            if caller is None or not isinstance(passed, cst.Name) \
                    or passed.value not in caller.locals \
                    or caller.param(passed.value) is not None \
                    or _kept_beyond(caller, passed.value) \
                    or not _raises_when_false_test(site.call, caller):
                return False
        return True

    def _flask_extension_session(self, resource: str) -> bool:
        """`resource` is Flask-SQLAlchemy's `db.session` (`db = SQLAlchemy(app)`): the
        extension removes it when every request's app context ends."""
        owner, _, attr = resource.rpartition(".")
        if attr != "session" or not owner:
            return False
        value = self.index.evaluate_dotted(owner, self.module, self.func)
        return isinstance(value, LibraryObject) and value.type_key == "flask_sqlalchemy"

    @cached_property
    def _flask_callers_leave(self) -> bool:
        """A method (a model mixin's `delete()`) whose every `except` gives back a falsy
        value or raises, and every call of a method of that name in the project is in a
        Flask request handler that returns what it gives (`return item.delete()`) or
        tests it at once and leaves (`if not item.delete(): return ..., 500`; `ok =
        item.delete()` then `if not ok: return ...`): the swallowed failure takes the
        request out, and the extension's teardown removes the session. The calls are
        found by name (the receiver, a model instance from `Model.query.get(...)`, is
        not resolved), so one call of that name anywhere else keeps it reported."""
        func = self.func
        if func.cls is None or func.is_async or func.is_generator \
                or not self._falsy_on_failure:
            return False
        sites = facts(self.index).call_sites(func.name)
        if not sites:
            return False
        judged = 0  # calls that may be of this method: with none, no caller leaves
        for site in sites:
            callee = self.index.evaluate(site.call.func, site.module, site.func)
            if isinstance(callee, FunctionRef) and callee.func is not func:
                continue  # a call of another function of that name
            if callee is None and _on_query(self.index, site.call, site.module, site.func):
                continue  # `Model.query.filter_by(...).delete()`: a Query's bulk method
            if is_test_module(site.module):
                continue  # a test's client (`client.delete(url)`) serves no request here
            receiver = site.call.func.value if isinstance(site.call.func, cst.Attribute) \
                else None
            owner = None if callee is not None or receiver is None \
                else self.index.evaluate(receiver, site.module, site.func)
            if owner is not None and not isinstance(owner, Instance):
                continue  # a method of a session, connection or library object
            if callee is not None and not isinstance(callee, FunctionRef):
                return False
            if site.func is None or request_handler(self.index, site.func) != "flask":
                return False
            if not (_is_last_act(site.call, site.func)
                    or _raises_when_falsy(site.call, site.func)
                    or _leaves_when_falsy(site.call, site.func)
                    or leaves_on_falsy_result(site.call, site.func)):
                return False
            judged += 1
        # (a model's `delete()` whose only same-named call is its own
        # `db.session.delete(self)`, a session's method: no caller at all)
        return judged > 0

    @cached_property
    def _flask_handlers_done_after(self) -> bool:
        """A plain function (a readiness probe's `SELECT 1` under `except Exception:
        return False`) whose every `except` gives back a falsy value or raises, and
        every call of it in the project (at least one, each by name: no worker
        thread, no function handed on as a value) is in a Flask request handler that
        does no database work after the call (`done_with_database_after`): the
        extension's teardown removes the session before anything uses it again."""
        func = self.func
        if func.cls is not None or func.parent is not None or func.is_async \
                or func.is_generator or not self._falsy_on_failure:
            return False
        sites = plain_call_sites(self.index, func)
        return bool(sites) and all(
            site.func is not None and request_handler(self.index, site.func) == "flask"
            and done_with_database_after(self.index, site.call, site.module, site.func)
            for site in sites)

    @cached_property
    def _falsy_on_failure(self) -> bool:
        """Every `except` of this function ends by raising, or by returning nothing or a
        falsy literal (`return None`, `return False`, `return []`): what a caller gets
        back after a swallowed failure tests false."""
        handlers = [h for t in self.func.tries for h in t.handlers]
        if not handlers:
            return False
        top = body_statements(self.func.node.body)
        for t in self.func.tries:
            # a `try` that ends the function: a handler that ends without `return`
            # falls off the end, and the caller gets None
            falls_off = bool(top) and top[-1] is t and t.finalbody is None
            for h in t.handlers:
                stmts = body_statements(h.body)
                last = stmts[-1] if stmts else None
                end = last.body[-1] if isinstance(last, cst.SimpleStatementLine) \
                    and last.body else None
                if isinstance(end, cst.Raise):
                    continue
                if isinstance(end, cst.Return):
                    if _falsy_literal(end.value):
                        continue
                    return False
                if not (falls_off and isinstance(last, cst.SimpleStatementLine)):
                    return False
        return True

    @cached_property
    def _takes_session(self) -> bool:
        """A parameter of this function is a session (`session: Session`)."""
        return any((k := self.res.kind(p)) is not None and k.is_session
                   for p in self.func.all_param_names())

    @cached_property
    def _decorator_sessions(self) -> frozenset[str]:
        """Parameters a project decorator fills with a session of its own, which it
        ends right after the call (`decorator_sessions`)."""
        return decorator_sessions(self.index, self.func, self.res)

    @cached_property
    def _transactions(self) -> dict[str, str]:
        """Local names bound to a transaction object -> the connection or session it
        belongs to: `with conn.begin() as tx:`, `tx = session.begin_nested()`."""
        out: dict[str, str] = {}
        for name, values in self.func.locals.items():
            for v in values:
                item = v.item if isinstance(v, WithBinding) else v
                if not isinstance(item, cst.BaseExpression):
                    continue
                inner, _ = strip_await(item)
                if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
                        and inner.func.attr.value in TRANSACTION_CM_METHODS:
                    owner = dotted_name(inner.func.value)
                    if owner is not None:
                        out[name] = owner
        return out

    @cached_property
    def _hooks_before_reraise(self) -> frozenset[int]:
        """id() of the calls a handler makes, each a statement of its own, before the
        `raise` its body ends with (`except Exception as e: on_error(session, e)` then
        `raise`): what such a call is handed, it gets with the error on its way up to
        the caller, not a transaction the function goes on with."""
        out: set[int] = set()
        for t in self.func.tries:
            for h in t.handlers:
                stmts = body_statements(h.body)
                if not stmts or not (isinstance(stmts[-1], cst.SimpleStatementLine)
                                     and isinstance(stmts[-1].body[-1], cst.Raise)):
                    continue
                for st in stmts[:-1]:
                    if isinstance(st, cst.SimpleStatementLine):
                        for small in st.body:
                            if isinstance(small, cst.Expr):
                                call = strip_await(small.value)[0]
                                if isinstance(call, cst.Call):
                                    out.add(id(call))
        return frozenset(out)

    @cached_property
    def _exception_names(self) -> frozenset[str]:
        """The names the function's handlers bind (`except Exception as e`)."""
        return frozenset(
            h.name.name.value for t in self.func.tries for h in t.handlers
            if h.name is not None and isinstance(h.name.name, cst.Name))

    @cached_property
    def _framework_closes_session(self) -> bool:
        """The web framework closes the request's session (Flask teardown, FastAPI Depends):
        the function handles requests, by a route decorator or as the HTTP-method method
        of a class-based view (Flask's `MethodView`, Django's `View`). Or the function
        is a command-line command (click/typer, an argparse subcommand's handler, a
        Django command's `handle()`): its framework ends the process when it returns."""
        return request_handler(self.index, self.func) is not None \
            or cli_command(self.index, self.func)

    def _carried_cursor(self, call: cst.Call) -> Connection | None:
        """A call of a project helper that returns a cursor of a connection it opened
        (see `ProjectIndex.cursor_carrier_of`): the connection this call hands over,
        which only this flow (PS102's) sees."""
        callee = self.index.evaluate(call.func, self.module, self.func)
        carried = self.index.cursor_carrier_of(callee.func) \
            if isinstance(callee, FunctionRef) else None
        if carried is None:
            return None
        return Connection(carried.kind_key, carried.origin, via=carried.via,
                          autocommit=carried.autocommit, carrier=True)

    def _chained_cursor(self, call: cst.Call) -> Connection | None:
        """`cur = get_connection().cursor()` (or `psycopg2.connect(dsn).cursor()`): a
        direct connection opened in the same expression and never named, reached only
        through its cursor; the bound name holds it as a cursor carrier does."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in CURSOR_FACTORY_METHODS):
            return None
        opened = strip_await(func.value)[0]
        if not isinstance(opened, cst.Call):
            return None
        conn = self.index.evaluate(opened, self.module, self.func)
        if not isinstance(conn, Connection) or conn.packed is not None or conn.carrier \
                or not conn.kind.direct or not conn.kind.tracked:
            return None
        origin = f"{dotted_name(opened.func) or 'connect'}()"
        return Connection(conn.kind_key, origin, via=conn.via, autocommit=conn.autocommit,
                          carrier=True)

    def _shared_module_session(self, resource: str) -> tuple[ModuleInfo, str] | None:
        """The module and top-level name of the session or connection `resource`
        stands for when it is made once at a module's top level and shared by every
        request (`session = Session()` in `db.py`, named here or adopted through a
        helper), and no request-end hook of the project ends it."""
        bound = self.res.adopted.get(resource)
        if bound is None and resource not in self.func.locals \
                and resource not in self.func.all_param_names():
            bound = long_lived_binding(self.index, self.module, resource)
        if bound is None or ended_at_request_end(self.index, bound):
            return None
        return bound

    def relevant(self) -> bool:
        """Whether this function can hold a checkout or swallow a database error: some
        call in it produces a connection, or some `try` body in it works on one.
        Everything else (most functions of most files) has nothing to analyse."""
        for call in self.func.direct_calls:
            value = self.index.evaluate(call, self.module, self.func)
            # (a context that makes its own connection: PS106 follows its name)
            if isinstance(value, Connection) or (isinstance(value, ManagedContext)
                                                 and id(call) in self._with_bound_calls):
                return True
            if not isinstance(value, ManagedContext) and self._carried_cursor(call):
                return True
            if isinstance(value, LibraryObject) and value.type.is_scoped \
                    and self.index.builds_scoped_session(call, self.func):
                return True  # a registry it builds for itself (see `_acquisition`)
        return any(self._db_work_in(node.body) for node in self.func.tries)

    # ================================================================== driver
    def run(self) -> FlowResult:
        start: State = frozenset(Unbound(n) for n in self._unbound_candidates)
        out = self.block(body_statements(self.func.node.body), start)
        self.result.held_at_end = frozenset(f.site for f in out.normal or ()
                                            if isinstance(f, Held))
        normal_exit = _join(out.normal, out.ret)
        uncaught = {f.site for f in normal_exit or () if isinstance(f, Held) and not f.caught}
        for fact in normal_exit or ():
            if isinstance(fact, Held):
                if fact.idle and fact.var in self._released_anywhere and (
                        fact not in (out.normal or ()) or fact.var in self._released_itself):
                    # a SQLAlchemy session that nothing has used on this path (before an
                    # early `return`, or past a loop that ran zero times) holds no
                    # connection there, and the function closes it elsewhere (on the
                    # fall-through path: by a method of its own, `session.close()`; a
                    # release left to a helper's guard is judged by the guard's test)
                    continue
                if fact.settled:
                    # its last act on these paths was a successful `commit()`, which gave
                    # the connection back: nothing is held here (a failing commit is an
                    # exception's path, still counted)
                    continue
                self.result.leaks.setdefault(fact.site, "path")
                if fact.site not in uncaught:
                    self.result.caught_paths.add(fact.site)
            elif (isinstance(fact, Aborted) and not self.res.is_local(fact.resource)
                  and (request_handler(self.index, self.func) is not None
                       or self._returns_to_handlers_only)
                  and fact.resource not in self._decorator_sessions
                  and not self._dies_with_local_object(fact)
                  and not self._callers_end_session(fact.resource)
                  and self._shared_module_session(fact.resource) is not None):
                home, top = self._shared_module_session(fact.resource) or (self.module, "")
                self._report_handler(
                    fact, f"`{top}` is made once at the top level of `{home.path}`, and no "
                    "request ends it: every later request gets it in a failed transaction",
                    self._handed_back_at(fact, out.normal))
            elif (isinstance(fact, Aborted) and not self.res.is_local(fact.resource)
                  and not self._framework_closes_session
                  and fact.resource not in self._decorator_sessions
                  and not self._dies_with_local_object(fact)
                  and not self._returns_to_handlers_only
                  and not self._callers_end_session(fact.resource)
                  and not self._callers_raise_on_failure(fact.resource)
                  and not (self._flask_extension_session(fact.resource)
                           and (self._flask_callers_leave
                                or self._flask_handlers_done_after))):
                self._report_handler(fact, "the caller gets it back in a failed transaction",
                                     self._handed_back_at(fact, out.normal))
            elif isinstance(fact, Reopened) and self.res.is_local(fact.var):
                # a closed session of this function used again, and nothing closed it
                # after that (a caller's session is the caller's to close)
                self._after_release(fact.var, self._nodes[fact.use], "used", fact.release)
        for fact in out.exc or ():
            if isinstance(fact, Held) and not fact.idle:
                self.result.leaks.setdefault(fact.site, "exception")
        return self.result

    # =============================================================== blocks
    def block(self, stmts: list[cst.BaseStatement], state: State) -> Outcome:
        out = Outcome()
        cur: State | None = state
        for stmt in stmts:
            if cur is None:
                break
            o = self.statement(stmt, cur)
            out.absorb_abrupt(o)
            cur = o.normal
        out.normal = cur
        return out

    def statement(self, stmt: cst.BaseStatement, state: State) -> Outcome:
        self._statements.append(stmt)  # where a step of a leak's path points
        if any(type(f) is Held and f.idle for f in state):
            state = _wake(stmt, state, self._hands_on_unused, self._queued)
        if any(type(f) is Held and f.committed for f in state):
            state = _stirred(stmt, state)
        if any(type(f) is Held and f.settled for f in state) and not _inert(stmt):
            state = frozenset(replace(f, settled=False) if type(f) is Held and f.settled
                              else f for f in state)
        try:
            out = self._statement(stmt, state)
        finally:
            self._statements.pop()
        committed = _committed_alone(stmt)
        if committed is not None and out.normal is not None:
            out.normal = frozenset(
                replace(f, committed=True, settled=True) if type(f) is Held
                and f.var == committed and _settles(self.result.sites[f.site].conn.kind)
                else f for f in out.normal)
        return out

    def _statement(self, stmt: cst.BaseStatement, state: State) -> Outcome:
        # exact types first: `isinstance` on libcst's classes goes through
        # `ABCMeta.__instancecheck__` for every class a statement is not
        t = type(stmt)
        if t is cst.If:
            return self.if_(stmt, state)  # type: ignore[arg-type]  # exactly an If
        if t is cst.Try:
            return self.try_(stmt, state)  # type: ignore[arg-type]  # exactly a Try
        if t is cst.With:
            return self.with_(stmt, state)  # type: ignore[arg-type]  # exactly a With
        if isinstance(stmt, cst.SimpleStatementLine):  # (an exact match costs no ABC call)
            out = Outcome()
            cur: State | None = state
            for small in stmt.body:
                if cur is None:
                    break
                o = self.small(small, cur)
                out.absorb_abrupt(o)
                cur = o.normal
            out.normal = cur
            return out
        if isinstance(stmt, cst.If):
            return self.if_(stmt, state)
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            return self.try_(stmt, state)
        if isinstance(stmt, cst.With):
            return self.with_(stmt, state)
        if isinstance(stmt, cst.For):
            return self.for_(stmt, state)
        if isinstance(stmt, cst.While):
            return self.while_(stmt, state)
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            return Outcome(normal=self._escape_names(state, names_in(stmt)))
        if isinstance(stmt, cst.Match):
            return self.match_(stmt, state)
        return Outcome(normal=state)

    # ======================================================== simple statements
    def small(self, node: cst.BaseSmallStatement, state: State) -> Outcome:
        t = type(node)  # exact types first, as in `statement`
        if t is cst.Expr:
            if type(node.value) is cst.Call:  # type: ignore[attr-defined]  # an Expr
                self._discarded_calls.add(id(node.value))  # type: ignore[attr-defined]
            value = node.value  # type: ignore[attr-defined]  # an Expr
            if type(value) is cst.BooleanOperation:
                # `ok and conn.close()` / `keep or conn.close()` as a statement: the
                # right side runs only where the left lets it, as `if ok: conn.close()`
                after, exc = self._short_circuit(value, state)
                return Outcome(normal=after, exc=exc)
            after, exc = self.effects(node, state)
            ends = self._never_returns(node.value)  # type: ignore[attr-defined]  # an Expr
            if ends is None:
                return Outcome(normal=after, exc=exc)
            if self.only_raising is not None and self.only_raising != id(node):
                return Outcome()  # a witness run: another node is the one that raises
            # `sys.exit(1)` raises like a `raise`; `os._exit(1)` ends the process, and
            # what it held goes with it
            return Outcome(exc=_join(exc, after) if ends == "raises" else exc)
        if t is cst.Assign or t is cst.AnnAssign or t is cst.AugAssign:
            return self.assign(node, state)  # type: ignore[arg-type]  # one of the three
        if isinstance(node, cst.Pass):
            return Outcome(normal=state)
        if isinstance(node, cst.Break):
            return Outcome(brk=state)
        if isinstance(node, cst.Continue):
            return Outcome(cont=state)
        if isinstance(node, cst.Return):
            after, exc = self.effects(node, state)
            if node.value is not None:
                after = self._escape_names(
                    after, (escaping_names(node.value, through_calls=True)
                            - self._kept_by_temporaries(node.value))
                    | cursor_owners(node.value, self.res.holders))
                after = after | self._returned_facts(node, state)
            for f in after:
                if isinstance(f, Held):
                    self.result.return_points.setdefault(f.site, []).append(
                        (self._statements[-1] if self._statements else node,
                         self._guarded > 0))
                elif isinstance(f, Aborted):
                    self.result.aborted_returns.setdefault(
                        f.handler, self._statements[-1] if self._statements else node)
            return Outcome(ret=after, exc=exc)
        if isinstance(node, cst.Raise):
            after, _ = self.effects(node, state)
            if self.only_raising is not None and self.only_raising != id(node):
                return Outcome()  # a witness run: another node is the one that raises
            raised = _raised_class(node)
            if raised is not None:
                after = frozenset(replace(f, raised_as=raised) if type(f) is Aborted else f
                                  for f in after)
            return Outcome(exc=after)
        if isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            return self.assign(node, state)
        after, exc = self.effects(node, state)
        if isinstance(node, cst.Assert) and self.only_raising in (None, id(node)):
            exc = _join(exc, after)
        return Outcome(normal=after, exc=exc)

    def _never_returns(self, value: cst.BaseExpression) -> str | None:
        """'raises' when `value` is a call that never returns to the next statement
        (`sys.exit(...)`, Flask's `abort(...)`: it raises), 'ends' when it ends the
        process on the spot (`os._exit(...)`), else None."""
        if type(value) is not cst.Call:
            return None
        func = value.func
        target = self.index.evaluate(func, self.module, self.func)
        if isinstance(target, External):
            if match_qualname(target.qualname, RAISING_CALLS) is not None:
                return "raises"
            if match_qualname(target.qualname, PROCESS_ENDING_CALLS) is not None:
                return "ends"
            return None
        if target is None and isinstance(func, cst.Name) \
                and func.value in RAISING_BUILTINS and not self._binds_name(func.value):
            return "raises"  # the builtin `exit(...)`: nothing in the code rebinds it
        if target is None and isinstance(func, cst.Name) \
                and func.value in self.module.unbound_call_names \
                and _forgotten_raising_import(func.value, self.module):
            # `abort(404)` in a Flask module that never imports `abort`: NameError
            return "raises"
        if isinstance(target, FunctionRef) and always_raises(self.index, target.func):
            return "raises"  # a project helper that ends in `raise` on every path
        return None

    def _binds_name(self, name: str) -> bool:
        """Whether `name` is bound in this function, an enclosing one or the module."""
        module = self.module
        return (self.func.binds(name) or name in module.assigns or name in module.functions
                or name in module.classes or name in module.imports
                or bool(module.star_imports))

    def assign(self, node: cst.Assign | cst.AnnAssign | cst.AugAssign,
               state: State) -> Outcome:
        value = node.value
        targets: list[cst.BaseExpression]
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        else:
            targets = [node.target]
        after, exc = self.effects(node, state)
        if value is not None and _returns_itself(value, targets):
            # `conn = conn.execution_options(...)`: the same connection, still held
            return Outcome(normal=after, exc=exc)
        if not isinstance(node, cst.AugAssign):
            rebound: set[str] = set()
            for target in targets:
                rebound |= _target_names(target)
            after = _bind(_forget_release(after, rebound, self.res.cursors), rebound)
            # `self.conn = engine.connect()` in a handler: the attribute now names
            # another connection, and the failed transaction is no longer reached by it
            stored_on = {d for t in targets if isinstance(t, cst.Attribute)
                         and (d := dotted_name(t)) is not None}
            if stored_on:
                after = frozenset(f for f in after if not (
                    isinstance(f, Aborted) and f.resource in stored_on))
        if value is None:
            return Outcome(normal=after, exc=exc)
        acquired = self._acquisition(value) if not isinstance(node, cst.AugAssign) else None
        # a local closer's defaults (`closer = lambda c=conn: c.close()`) stay here
        escaping = set() if type(value) is cst.Lambda and id(value) in self._closer_lambdas \
            else escaping_names(value)
        if any(not isinstance(t, cst.Name) for t in targets):
            # `self.cur = conn.cursor()`: the stored cursor keeps its connection, which
            # moves on with it unless the function gives the connection back itself
            escaping = escaping | (cursor_owners(value, self.res.holders)
                                   - self._released_outside_handlers)
        # `self.conn = conn = pool.getconn()`: the object keeps the checkout; the local name
        # is only another handle on it (the attribute is the object's to release)
        stored = len(targets) > 1 and any(
            isinstance(t, (cst.Attribute, cst.Subscript)) for t in targets)
        for target in targets:
            if acquired is not None and acquired[1].packed is not None:
                # `conn, cur = get_conn()`: the checkout is one element of the target
                unpacked = _unpacked_name(target, acquired[1].packed)
                names = _target_names(target)
                after = frozenset(f for f in after if not (
                    (isinstance(f, Held) and f.var in names)
                    or (isinstance(f, Aborted) and f.resource in names)))
                if unpacked is not None and unpacked not in self.func.globals_declared:
                    call, conn = acquired
                    shown = tuple(dotted_name(e.value) or "_" for e in target.elements
                                  ) if isinstance(target, (cst.Tuple, cst.List)) else ()
                    site = self._site(call, unpacked, conn, unpacked=shown)
                    # (a session among a helper's results is as idle as one it returns
                    # alone: `session, base, engine = load_connection(url)`)
                    after = after | {Held(unpacked, site, _unbound_in(after),
                                          idle=conn.kind.lazy,
                                          flags=_owned_flag_name(target, conn))}
                continue
            if isinstance(target, cst.Name):
                var = target.value
                if acquired is not None and acquired[1].kind.key == "session" and any(
                        type(f) is Held and f.var == var and self._same_checkout(f, acquired)
                        for f in after):
                    continue  # the registry's session again: the same one, held from before
                # rebinding a name that still holds a checkout loses it
                if var not in escaping:
                    for fact in after:
                        if isinstance(fact, Held) and fact.var == var \
                                and not fact.committed \
                                and not self._same_checkout(fact, acquired):
                            self.result.leaks[fact.site] = "overwritten"
                after = frozenset(f for f in after if not (
                    (isinstance(f, Held) and f.var == var)
                    or (isinstance(f, Aborted) and f.resource == var)))
                if acquired is not None and var not in self.func.globals_declared \
                        and not stored:
                    # (a checkout bound to a `global`/`nonlocal` name is stored beyond the call)
                    call, conn = acquired
                    site = self._site(call, var, conn)
                    after = after | {Held(var, site, _unbound_in(after), idle=conn.kind.lazy)}
        # a checkout stored on an attribute, in a container or under another name moved on
        if acquired is None:
            after = self._escape_names(after, escaping)
        else:
            after = _drawn_session(after, acquired[0])
        if not isinstance(node, cst.AugAssign):
            after = _set_flags(after, targets, value, self._exception_names)
        return Outcome(normal=after, exc=exc)

    def _acquisition(self, value: cst.BaseExpression) -> tuple[cst.Call, Connection] | None:
        if isinstance(value, cst.IfExp):
            # `conn = pool.get_connection() if pool else MySQLConnection(**cfg)`: a
            # checkout on one branch is a checkout (a pool's before a direct connection)
            found = [a for a in (self._acquisition(value.body),
                                 self._acquisition(value.orelse)) if a is not None]
            found.sort(key=lambda a: a[1].kind.direct)
            return found[0] if found else None
        inner, _ = strip_await(value)
        if not isinstance(inner, cst.Call):
            return None
        result = self.index.evaluate(inner, self.module, self.func)
        if not isinstance(result, (Connection, ManagedContext)):
            carried = self._carried_cursor(inner) or self._chained_cursor(inner)
            if carried is not None:
                return inner, carried
        if isinstance(result, Connection) and result.kind.tracked:
            if self._borrows_callers_connection(inner):
                return None
            return inner, result
        if isinstance(result, LibraryObject) and result.type.is_scoped \
                and self.index.builds_scoped_session(inner, self.func):
            # a `scoped_session(...)` registry this function builds for itself: its
            # thread's session (and connection) lives until `remove()` / `close()`, so
            # it is held like a session; one returned or stored has moved on
            origin = f"{dotted_name(inner.func) or 'scoped_session'}(...)"
            return inner, Connection("scoped-session", origin)
        return None

    def _borrows_callers_connection(self, call: cst.Call) -> bool:
        """A method of a SQLAlchemy dialect class (a subclass of `DefaultDialect`, or
        of a dialect of SQLAlchemy's) that hands its own parameter to the call
        (`raw = self._raw_connection(connection)`): SQLAlchemy calls a dialect's
        reflection, execution and initialisation methods with a `Connection` it owns,
        and the call borrows that connection's DBAPI connection; the method checks
        nothing out of a pool of its own."""
        cls = self.func.cls
        if cls is None or not is_sqlalchemy_dialect(self.index, cls):
            return False
        params = self.func.all_param_names() - {"self", "cls"}
        return any(isinstance(a.value, cst.Name) and a.value.value in params
                   for a in call.args)

    def _same_checkout(self, fact: Held,
                       acquired: tuple[cst.Call, Connection] | None) -> bool:
        """Rebinding `fact`'s name to `acquired` gets the connection it holds back
        (`pool.getconn(get_ident())` again on a psycopg2 pool, `Session()` again on the
        same `scoped_session` registry: its thread's one session): nothing is lost."""
        if acquired is None:
            return False
        site = self.result.sites[fact.site]
        if acquired[1].kind.key == "session" and site.conn.kind.key == "session":
            drawn = self._registry_called(acquired[0])
            return drawn is not None and drawn == self._registry_called(site.call)
        if acquired[1].kind.key != "psycopg2-pool":
            return False
        return site.conn.kind.key == "psycopg2-pool" \
            and same_keyed_checkout(site.call, acquired[0])

    def _registry_called(self, call: cst.Call) -> str | None:
        """`Session` for `Session()` on a `scoped_session` registry (None otherwise)."""
        if not isinstance(call.func, cst.Name):
            return None
        value = self.index.evaluate(call.func, self.module, self.func)
        return call.func.value if isinstance(value, LibraryObject) \
            and value.type.is_scoped else None

    def _site(self, call: cst.Call, var: str, conn: Connection, in_with: bool = False,
              unpacked: tuple[str, ...] = ()) -> int:
        key = id(call)
        if key not in self._site_of_call:
            self._site_of_call[key] = len(self.result.sites)
            self.result.sites.append(AcquireSite(call, var, conn, in_with, unpacked))
        return self._site_of_call[key]

    # ============================================================ effects
    def _shape(self, node: cst.CSTNode) -> _Shape:
        """What a statement or expression contains, computed once per node (loops and
        `finally` blocks are interpreted more than once)."""
        key = id(node)
        shape = self._shapes.get(key)
        if shape is None:
            suspends = False
            lambda_names: set[str] = set()
            yielded: set[str] = set()
            # one walk for what `iter_nodes` and `iter_calls` would give: the nodes
            # outside nested scopes, and the calls in evaluation order (arguments first)
            calls: list[cst.Call] = []
            walrus: list[cst.NamedExpr] = []
            stack: list[tuple[cst.CSTNode, bool]] = [(node, False)]
            while stack:
                sub, done = stack.pop()
                if done:
                    calls.append(sub)  # type: ignore[arg-type]  # pushed done only when a Call
                    continue
                t = type(sub)  # exact types: isinstance on libcst's ABCs is slow here
                if t is cst.Lambda and id(sub) not in self._closer_lambdas:
                    lambda_names |= names_in(sub)
                if t in _SCOPE_NODE_TYPES and sub is not node:
                    continue
                if t is cst.Call:
                    stack.append((sub, True))
                elif t is cst.Await:
                    suspends = True
                elif t is cst.NamedExpr:
                    walrus.append(sub)  # type: ignore[arg-type]  # exactly a NamedExpr
                elif t is cst.Yield:
                    assert isinstance(sub, cst.Yield)
                    suspends = suspends or self._yield_throws
                    if isinstance(sub.value, cst.BaseExpression):
                        yielded |= escaping_names(sub.value)
                        if self.res.bound_sessions:
                            # a yielded session hands out the connection it runs on
                            yielded |= {self.res.bound_sessions[n] for n in
                                        _plain_names(sub.value)
                                        if n in self.res.bound_sessions}
                below = children(sub)
                below.reverse()
                stack.extend((child, False) for child in below)
            raising = [c for c in calls if self._call_may_raise(c)]
            throws = type(node) is cst.Raise or type(node) is cst.Assert
            raises = suspends or throws or bool(raising)
            pings: frozenset[str] = frozenset()
            if raising and not suspends and not throws \
                    and not any(_may_raise(c) for c in raising):
                pings = frozenset(o for c in raising if isinstance(c.func, cst.Attribute)
                                  and (o := self.res.owner(c.func.value)) is not None)
            loads: frozenset[str] = frozenset()
            if self._unbound_candidates:
                loads = certain_loads(node) & self._unbound_candidates
            shape = _Shape(tuple(calls), raises, frozenset(lambda_names),
                           frozenset(yielded - self._released_anywhere) if yielded
                           else frozenset(), pings, loads, tuple(walrus))
            self._shapes[key] = shape
        return shape

    def effects(self, node: cst.CSTNode, state: State) -> tuple[State, State | None]:
        """Apply the calls inside a statement or expression; return the state after
        it and the state an exception raised by it carries (None if it cannot raise)."""
        shape = self._shape(node)
        unbound_exc: State | None = None
        if shape.loads and any(isinstance(f, Unbound) for f in state):
            state, unbound_exc = self._read_unbound(node, shape.loads, state)
        if any(isinstance(f, (Released, Reopened)) for f in state):
            state = self._check_uses(node, state)
        cur = self._escape_names(state, set(shape.lambda_names | shape.yielded))
        released_before_raise: set[str] = set()
        for call in shape.calls:
            cur, released = self._call_effect(call, cur)
            released_before_raise |= released
        for named in shape.walrus:
            cur = self._walrus(named, cur)
        exc: State | None = None
        if self.only_raising is not None and self.only_raising != id(node):
            return cur, None
        if shape.raises:
            exc = frozenset(f for f in state if not (
                (isinstance(f, Held) and f.var in released_before_raise)
                or (isinstance(f, Aborted) and f.resource in released_before_raise)))
            if shape.pings:  # a failed ping: the connection is gone on that path
                exc = frozenset(replace(f, dead=True) if isinstance(f, Held)
                                and f.var in shape.pings else f for f in exc)
            exc = _busy(exc)
            self._note_raise(node, exc)
        if unbound_exc is not None:
            unbound_exc = _busy(unbound_exc)
        return cur, _join(exc, unbound_exc)

    def _walrus(self, named: cst.NamedExpr, state: State) -> State:
        """`(conn := pool.getconn())`: a checkout bound by an assignment expression is
        held from there, as `conn = pool.getconn()` would be (other assignment
        expressions are not followed)."""
        if isinstance(named.target, cst.Name) and named.target.value in self.res.cursors:
            state = _note_rebound(state, {named.target.value})
        acquired = self._acquisition(named.value)
        if acquired is None or not isinstance(named.target, cst.Name):
            return state
        var = named.target.value
        for fact in state:
            if isinstance(fact, Held) and fact.var == var and not fact.committed \
                    and not self._same_checkout(fact, acquired):
                self.result.leaks[fact.site] = "overwritten"
        state = frozenset(f for f in state if not (
            (isinstance(f, Held) and f.var == var)
            or (isinstance(f, Aborted) and f.resource == var)))
        if var in self.func.globals_declared:
            return state
        site = self._site(acquired[0], var, acquired[1])
        return state | {Held(var, site, _unbound_in(state), idle=acquired[1].kind.lazy)}

    def _note_raise(self, node: cst.CSTNode, state: State) -> None:
        """Remember `node` as a place where each held checkout may leave by an exception."""
        point: RaisePoint | None = None
        for f in state:
            if isinstance(f, Held):
                points = self.result.raise_points.setdefault(f.site, [])
                if any(p.node is node for p in points):
                    continue
                if point is None:
                    calls = [c for c in self._shape(node).calls if self._call_may_raise(c)]
                    point = RaisePoint(node, calls[0] if calls else None, self._guarded > 0,
                                       self._statements[-1] if self._statements else node)
                points.append(point)

    def _catches_everything(self, call: cst.Call) -> bool:
        """`read_pid(path)`, a project function (called by its plain name) whose whole
        work sits in a `try` with a bare `except:` (or `except Exception:` /
        `BaseException`) that raises nothing: the call cannot raise."""
        if not isinstance(call.func, cst.Name) or call.func.value in self.func.locals:
            return False
        key = id(call)
        found = self._catch_all_memo.get(key)
        if found is None:
            ref = self.index.evaluate(call.func, self.func.module, self.func)
            found = isinstance(ref, FunctionRef) and not ref.func.is_async \
                and not ref.func.is_generator and not ref.func.node.decorators \
                and _body_catches_everything(ref.func.node)
            self._catch_all_memo[key] = found
        return found

    def _call_may_raise(self, call: cst.Call) -> bool:
        """`_may_raise`, and a `cursor()` that talks to the server (mysql.connector's
        pings the connection first and raises when it is gone); `append` on the
        function's own list and a join of its strings do not raise (`local_lists`);
        nor does building a session bound to a connection (`Session(bind=conn)`
        talks to nobody)."""
        if _may_raise(call):
            return not self._catches_everything(call) \
                and not cannot_raise_on_own_list(self.func, call) \
                and id(call) not in self.res.bound_session_calls \
                and not calls_plain_lambda(self.index, self.func, call)
        f = call.func
        if isinstance(f, cst.Attribute) and f.attr.value == "cursor":
            owner = self.res.owner(f.value)
            kind = self.res.kind(owner) if owner is not None else None
            return kind is not None and kind.cursor_may_raise
        return False

    def _read_unbound(self, node: cst.CSTNode, loads: frozenset[str],
                      state: State) -> tuple[State, State | None]:
        """A read of a name that may not be bound raises `UnboundLocalError` on the paths
        where it is not: (the state that goes on, the state raised)."""
        unbound = {f.var for f in state if isinstance(f, Unbound)}
        missing = unbound & loads
        if not missing:
            return state, None
        raised = frozenset(f for f in state if isinstance(f, Unbound)
                           or (isinstance(f, Held) and f.unbound & missing))
        for f in raised:
            if isinstance(f, Held):
                self.result.unbound_reads.setdefault(f.site, (node, f.unbound & missing))
        # past the read, the names it read are bound
        return _bind(frozenset(f for f in state if not (
            isinstance(f, Held) and f.unbound & missing)), missing), raised

    def _call_effect(self, call: cst.Call, state: State) -> tuple[State, set[str]]:
        f = call.func
        # `getattr(conn, "rollback")()`: a rollback spelt through getattr (the lookup
        # itself does no work on the connection)
        looked_up = _getattr_method(call)
        if looked_up is not None and looked_up[1] == "rollback" \
                and self.res.owner_of(looked_up[0]) is not None:
            return state, set()
        looked_up = _getattr_method(f) if isinstance(f, cst.Call) else None
        if looked_up is not None and looked_up[1] == "rollback":
            owner = self.res.owner_of(looked_up[0])
            if owner is not None:
                return _drop_aborted(state, owner), set()
        held = {fact.var: fact for fact in state if isinstance(fact, Held)}
        released: set[str] = set()
        # releases: pool.putconn(conn), release_db_connection(conn), conn.close()
        # (not a `with` item's project context manager that releases after its
        # `yield`: its exit releases, when the block ends; see `_with`)
        for name in () if self._exit_releases(call) else self._released_by(call):
            is_close = (isinstance(f, cst.Attribute) and f.attr.value == "close"
                        and isinstance(f.value, cst.Name) and f.value.value == name)
            if name in held:
                site = self.result.sites[held[name].site]
                if is_close and site.conn.kind.close_is_coroutine \
                        and id(call) in self._discarded_calls:
                    # `conn.close()` without `await` on asyncpg & co.: the coroutine
                    # is dropped unrun, and the connection stays open
                    self.result.unawaited_closes.setdefault(held[name].site, call)
                    continue
                if is_close and site.conn.kind.close_is_mistake:
                    self.result.close_mistakes.append((call, site))
            released.add(name)
        if released:
            new: set[Fact] = set()
            for name in released:
                new |= self._release_facts(call, name, held, state, via_close=(
                    isinstance(f, cst.Attribute) and f.attr.value == "close"))
            state = frozenset(
                fact for fact in state
                if not (isinstance(fact, Held) and fact.var in released)
                and not (isinstance(fact, Aborted) and fact.resource in released)
                and not (isinstance(fact, (Released, Reopened)) and fact.var in released)
            ) | new
            return state, released
        method = f.attr.value if isinstance(f, cst.Attribute) else None
        # storing a checkout in a container or handing it to a constructor moves it on
        arg_names = {a.value.value for a in call.args if isinstance(a.value, cst.Name)}
        if (method in _STORING_METHODS or _is_constructor(f)) and not self._is_closing(f):
            passed: set[str] = set()
            for a in call.args:
                passed |= escaping_names(a.value, through_calls=True) | (
                    cursor_owners(a.value, self.res.holders)
                    - self._released_outside_handlers)
            moved = passed & set(held)
            if moved and _is_constructor(f):
                # `Session(bind=conn)`: the session runs on the connection and never
                # closes it; the connection stays this function's to close
                bind = self.index.session_bind(call, self.module, self.func)
                if isinstance(bind, cst.Name):
                    moved.discard(bind.value)
                if moved and self._statements:
                    # an object that dies with the function: the checkout stays ours
                    moved -= held_by_local_object(self.index, self.func, call,
                                                  self._statements[-1])
            if moved:
                state = self._escape_names(state, moved)
                released |= moved
        # `Base.__init__(self, conn)` / `super().__init__(conn)` in a constructor: the
        # base's `__init__` stores it on the instance, as `self.conn = conn` would
        moved = self._stored_by_base_init(call) & set(held)
        if moved:
            state = self._escape_names(state, moved)
            released |= moved
        # rollback clears an aborted transaction, also through its transaction object
        # (`with conn.begin() as tx: ... tx.rollback()`)
        if method == "rollback" and isinstance(f, cst.Attribute) \
                and isinstance(f.value, cst.Name) and f.value.value in self._transactions:
            state = _drop_aborted(state, f.value.value)
            return _drop_aborted(state, self._transactions[f.value.value]), released
        target = self.res.receiver(call)
        if target is not None:
            resource, m = target
            if m == "rollback" or (m in ("execute", "exec_driver_sql") and _is_rollback_sql(call)):
                return _drop_aborted(state, resource), released
            if m == "close" and isinstance(f, cst.Attribute) and dotted_name(f.value) == resource:
                # `self.conn.close()`: closing the connection (or session) itself ends its
                # failed transaction, as a local's close does (a cursor's close does not)
                return _drop_aborted(state, resource), released
            if m == "remove" and not call.args and self._is_scoped_registry(resource):
                # `scoped_session.remove()` closes the thread's session: a rollback
                return _drop_aborted(state, resource), released
            if m == "invalidate" and self._invalidates(resource):
                # SQLAlchemy discards the DBAPI connection: its failed transaction ends
                # with it, and the next use raises until rolled back, not silently reused
                return _drop_aborted(state, resource), released
            if m == "flush" and self._idle_flush(state, resource, call):
                pass  # nothing is pending after the failed flush: a no-op
            elif m == "commit" and self._commit_before_reraise(state, resource):
                # psycopg2: the server answers COMMIT of an aborted transaction with
                # ROLLBACK, and nothing raises; the handler then re-raises
                return _drop_aborted(state, resource), released
            elif m not in NON_WORK_METHODS and not self._only_queues(resource, m):
                state = self._db_work(state, resource)
        else:
            for resource in sorted(self._helper_work(call)):
                state = self._db_work(state, resource)
        # a connection passed to a function is used by it (or rolled back by it), and
        # so is one a nested function of this one reads from the enclosing scope; not
        # by a builtin that reads the object only (`id(session)` in a log message)
        if isinstance(f, cst.Name) and f.value in _OBJECT_ONLY_BUILTINS \
                and external_name(self.index, f, self.module, self.func) == f.value:
            arg_names = set()
        closure = self._closure_names(call)
        for name in sorted(arg_names | closure):
            owner = self.res.owner_of(name)
            if owner is None:
                continue
            if name in arg_names and self._rolls_back_argument(call, name):
                state = _drop_aborted(state, owner)
            elif name in arg_names and id(call) in self._hooks_before_reraise:
                continue  # handed to an error hook, then the error goes on up
            else:
                state = self._db_work(state, owner)
        return state, released

    @cached_property
    def _nested_functions(self) -> dict[str, FunctionInfo]:
        """The functions defined (once) directly in this one, by name, when nothing
        else binds that name here."""
        defs = [f for f in self.module.all_functions if f.parent is self.func]
        names = [f.name for f in defs]
        return {f.name: f for f in defs
                if names.count(f.name) == 1 and len(self.func.locals.get(f.name, [])) <= 1}

    @cached_property
    def _stable_test_calls(self) -> dict[int, frozenset[tuple[str, bool]]]:
        """id() of each call made only under a test of names the function never binds
        (`if isinstance(engine, Engine): conn = await engine.acquire()`) -> (the test's
        code, True) for a call in its body, (code, False) for one in its `else`. The
        test reads nothing that can change between two evaluations, so it gives the
        same answer again later in the function."""
        out: dict[int, set[tuple[str, bool]]] = {}
        for node in iter_nodes(self.func.node.body):
            if not isinstance(node, cst.If) or not self._stable_test(node.test):
                continue
            text = _code(node.test)
            for branch, taken in ((node.body, True), (node.orelse, False)):
                if branch is None:
                    continue
                for inner in iter_nodes(branch):
                    if isinstance(inner, cst.Call):
                        out.setdefault(id(inner), set()).add((text, taken))
        return {k: frozenset(v) for k, v in out.items()}

    def _stable_test(self, test: cst.BaseExpression) -> bool:
        """`test` is made of names the function never binds (parameters it keeps,
        module names), `isinstance` / `issubclass` of those against classes, `is (not)
        None`, `not`, `and` and `or`: it answers the same wherever it is evaluated."""
        if isinstance(test, cst.Name):
            return test.value not in self.func.locals and test.value not in (
                self.func.globals_declared)
        if isinstance(test, cst.UnaryOperation):
            return isinstance(test.operator, cst.Not) and self._stable_test(test.expression)
        if isinstance(test, cst.BooleanOperation):
            return self._stable_test(test.left) and self._stable_test(test.right)
        if isinstance(test, cst.Comparison):
            return (len(test.comparisons) == 1 and self._stable_test(test.left)
                    and isinstance(test.comparisons[0].operator, (cst.Is, cst.IsNot))
                    and isinstance(test.comparisons[0].comparator, cst.Name)
                    and test.comparisons[0].comparator.value == "None")
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) \
                and test.func.value in ("isinstance", "issubclass") \
                and test.func.value not in self.func.locals and len(test.args) == 2 \
                and all(a.keyword is None and a.star == "" for a in test.args):
            classes = test.args[1].value
            kinds = classes.elements if isinstance(classes, cst.Tuple) else [classes]
            return self._stable_test(test.args[0].value) and all(
                dotted_name(k.value if isinstance(k, cst.BaseElement) else k) is not None
                for k in kinds)
        return False

    def _refine_same_test(self, test: cst.BaseExpression, true_state: State,
                          false_state: State) -> tuple[State, State]:
        """`if isinstance(engine, Engine): engine.release(conn)` after `if
        isinstance(engine, Engine): conn = await engine.acquire()`: a checkout made
        only under a stable test is held only on the same side of that test again."""
        if not any(isinstance(f, Held) for f in true_state | false_state) \
                or not self._stable_test(test):
            return true_state, false_state
        text = _code(test)

        def under(f: object, taken: bool) -> bool:
            return isinstance(f, Held) and (text, taken) in self._stable_test_calls.get(
                id(self.result.sites[f.site].call), frozenset())
        return (frozenset(f for f in true_state if not under(f, False)),
                frozenset(f for f in false_state if not under(f, True)))

    def _drawn_from(self, var: str, state: State) -> State:
        """The checkouts held in `state` that were drawn from the pool named `var`
        (`conn = await pool.acquire()`) where `var` cannot have been bound again since:
        every binding of `var` comes before the checkout, and none shares a loop with
        it, and the method is the library pool's own. Wherever such a checkout is held,
        `var` is the pool it came from, not None (a library's pool object defines
        neither `__bool__` nor `__len__`)."""
        out = set()
        for f in state:
            if not isinstance(f, Held):
                continue
            site = self.result.sites[f.site]
            call = site.call
            # a library pool's own method (not a project class's, which might define
            # `__len__`)
            if site.conn.via is None and isinstance(call.func, cst.Attribute) \
                    and isinstance(call.func.value, cst.Name) \
                    and call.func.value.value == var and self._bound_only_before(var, call):
                out.add(f)
        return frozenset(out)

    def _bound_only_before(self, var: str, call: cst.Call) -> bool:
        if var in self.func.globals_declared:
            return False
        at = self._body_order.spans.get(id(call))
        if at is None:
            return False
        loops = [span for span in self._body_order.loops if span[0] <= at[0] < span[1]]
        return all(p < at[0] and not any(start <= p < end for start, end in loops)
                   for p in self._body_order.bindings.get(var, ()))

    @cached_property
    def _body_order(self) -> _BodyOrder:
        return _BodyOrder.of(self.func.node.body)

    @cached_property
    def _falsy_guarded_calls(self) -> dict[int, frozenset[str]]:
        """id() of each call that runs only where a parameter is false (`if conn:` ...
        `else: <call>`, `if conn is None: <call>`) -> those parameters; only parameters
        the function never binds again, whose truth cannot change during the call."""
        params = set(self.func.all_param_names()) - set(self.func.locals)
        out: dict[int, set[str]] = {}
        if not params:
            return {}
        for node in iter_nodes(self.func.node.body):
            if not isinstance(node, cst.If):
                continue
            var, truthy = _guard(node.test)
            if var not in params:
                continue
            branch = node.orelse if truthy else node.body
            if branch is None:
                continue
            for inner in iter_nodes(branch):
                if isinstance(inner, cst.Call):
                    out.setdefault(id(inner), set()).add(var)
        return {k: frozenset(v) for k, v in out.items()}

    def _closure_names(self, call: cst.Call) -> set[str]:
        """The names of this function's scope that a nested function called here
        reads (`async def again(): await add(slug, session)` ... `await again()`):
        the call works on them as if they were passed."""
        if not isinstance(call.func, cst.Name) or call.func.value in self.func.locals:
            return set()
        name = call.func.value
        inner = next((f for f in self.module.all_functions
                      if f.parent is self.func and f.name == name), None)
        if inner is None:
            return set()
        names = {n.value for n in iter_nodes(inner.node.body) if isinstance(n, cst.Name)}
        return names - set(inner.locals) - set(inner.all_param_names())

    def _rolls_back_argument(self, call: cst.Call, name: str) -> bool:
        from poolsafe.analysis.values import FunctionRef

        callee = self.index.evaluate(call.func, self.module, self.func)
        if not isinstance(callee, FunctionRef):
            return False
        positions = self.index.rollback_positions(callee.func)
        return any(i in positions and isinstance(a, cst.Name) and a.value == name
                   for i, a in enumerate(positional_args(call)))

    def _is_closing(self, func: cst.BaseExpression) -> bool:
        name = dotted_name(func)
        return name is not None and name.rsplit(".", 1)[-1] in _CLOSING

    def _commit_before_reraise(self, state: State, resource: str) -> bool:
        """`conn.commit()` on a raw psycopg2 or psycopg 3 connection, in a handler that
        ends in `raise`, outside any `try` of its own, for every failed transaction of
        `conn` that reaches it: the server answers COMMIT of a failed transaction with
        ROLLBACK, the driver raises nothing, and the error caught goes on up. Not inside
        a psycopg 3 transaction block (`with conn.transaction():`), where `commit()`
        raises `ProgrammingError` instead of the error caught."""
        kind = self.res.kind(resource)
        if kind is None or kind.is_session or kind.db_error is None \
                or kind.db_error[0] not in ("psycopg2", "psycopg"):
            return False
        hit = [f for f in state if isinstance(f, Aborted) and f.resource == resource]
        return bool(hit) and all(
            cleanup_before_reraise(self.result.handlers[f.handler], self._statements,
                                   self._catches) == "unguarded"
            and not in_psycopg_transaction_block(self.index, self.func,
                                                 self.result.handlers[f.handler], resource,
                                                 kind)
            for f in hit)

    def _db_work(self, state: State, resource: str) -> State:
        hit = [f for f in state if isinstance(f, Aborted) and f.resource == resource]
        used = []
        for fact in hit:
            cleanup = cleanup_before_reraise(self.result.handlers[fact.handler],
                                             self._statements, self._catches)
            if cleanup == "guarded":
                continue  # a best-effort clean-up, then the error caught goes on up
            self._report_handler(fact, REUSED_BEFORE_RERAISE if cleanup == "unguarded"
                                 else "it is used again before a rollback",
                                 self._statements[-1] if self._statements else None)
            used.append(fact)
        return state - frozenset(used) if used else state

    def _report_handler(self, fact: Aborted, why: str, where: cst.CSTNode | None) -> None:
        if self._propagating:
            return
        if fact.handler not in self.result.swallowing_handlers:
            self.result.swallowing_handlers[fact.handler] = (fact.resource, why)
            self.result.handler_exits[fact.handler] = where

    def _handed_back_at(self, fact: Aborted, normal: State | None) -> cst.CSTNode | None:
        """Where a failed transaction leaves the function: the first `return` it is
        held at, or (None) the end of the body."""
        if normal is not None and fact in normal:
            return None
        return self.result.aborted_returns.get(fact.handler)

    def _kept_by_temporaries(self, value: cst.BaseExpression) -> set[str]:
        """Names `value` (a `return`'s) hands only to objects built and dropped in it
        (`len(Report(day, session).rows())`: `held_by_local_object`): they do not
        leave with the result."""
        kept: set[str] = set()
        inside: set[int] = set()
        for node in iter_nodes(value):
            if isinstance(node, cst.Call) and _is_constructor(node.func) \
                    and any(isinstance(a.value, cst.Name) for a in node.args):
                found = held_by_local_object(self.index, self.func, node, value)
                if found:
                    kept |= found
                    inside.update(id(a.value) for a in node.args)
        if not kept:
            return kept
        # a name that also flows out another way (`return session, Report(session).n`)
        elsewhere = {n.value for n in iter_nodes(value)
                     if isinstance(n, cst.Name) and id(n) not in inside}
        return kept - elsewhere

    def _escape_names(self, state: State, names: set[str]) -> State:
        if not names:
            return state
        return frozenset(f for f in state if not (isinstance(f, Held) and f.var in names))

    # ================================================== use after release (PS106)
    def _tracks_release(self, name: str, held: dict[str, Held]) -> bool:
        """A release of `name` that PS106 follows: a name of this function holding one
        of its checkouts or a known connection or session."""
        if name not in self.func.locals and name not in self.func.param_names():
            return False
        return name in held or self.res.kind(name) is not None

    def _reusable(self, name: str, held: dict[str, Held]) -> bool:
        kind = (self.result.sites[held[name].site].conn.kind if name in held
                else self.res.kind(name))
        return kind is not None and kind.is_session

    def _release_facts(self, node: cst.CSTNode, name: str, held: dict[str, Held],
                       state: State, via_close: bool = False) -> set[Fact]:
        """The facts a release of `name` at `node` adds; a `return` of `name` that the
        release runs after (a `finally`, a `with` exit) is reported."""
        if not self._tracks_release(name, held):
            return set()
        self._nodes[id(node)] = node
        for fact in state:
            if isinstance(fact, Returned) and fact.var == name:
                self._after_release(name, self._nodes[fact.ret], "returned", id(node),
                                    on_return=True)
        return {Released(name, id(node), self._reusable(name, held))}

    def _returned_facts(self, node: cst.Return, state: State) -> set[Fact]:
        assert node.value is not None
        held = {f.var: f for f in state if isinstance(f, Held)}
        out: set[Fact] = set()
        for name in _plain_names(node.value):
            owner = self.res.cursors.get(name, name)
            if owner != name and not self._cursor_needs_connection(owner):
                continue
            if self._tracks_release(owner, held):
                self._nodes[id(node)] = node
                out.add(Returned(owner, id(node)))
        return out

    def _uses_in(self, node: cst.CSTNode
                 ) -> tuple[tuple[str, cst.CSTNode, str, str | None], ...]:
        """(name, node, how) for each use of a plain name in `node` that matters after a
        release: a method call on it (or on one of its cursors), an argument of a call
        that does something with it, a `return` or `yield` of it. "reopen" marks a
        reconnect."""
        key = id(node)
        found = self._uses.get(key)
        if found is not None:
            return found
        out: list[tuple[str, cst.CSTNode, str, str | None]] = []
        holders = self._holders()
        for sub in iter_nodes(node):
            if isinstance(sub, cst.Call):
                f = sub.func
                root = _chain_root(f) if holders else None
                if root is not None and root in holders:
                    # `repo.users.add(...)`: work through an object built around the
                    # connection or session (`repo = Repo(session)`) is work on it
                    out.append((holders[root], sub, "used", root))
                if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name):
                    method = f.attr.value
                    name = f.value.value
                    if method in _REOPENING or (method == "ping" and is_true(
                            keyword_arg(sub, "reconnect"))):
                        out.append((name, sub, "reopen", None))
                    elif method not in _NOT_A_USE:
                        out.append((name, sub, "used", None))
                        owner = self.res.cursors.get(name)
                        if owner is not None and self._cursor_needs_connection(owner):
                            out.append((owner, sub, "used", name))
                callee = dotted_name(f)
                last = callee.rsplit(".", 1)[-1] if callee else None
                if last is None or (last not in _NOT_AN_ARGUMENT_USE
                                    and last not in _STORING_METHODS):
                    for i, a in enumerate(sub.args):
                        if isinstance(a.value, cst.Name) and not self._reads_bind_only(sub, i):
                            out.append((a.value.value, sub, "used", None))
            elif isinstance(sub, cst.Yield) and isinstance(sub.value, cst.BaseExpression):
                out.extend((n, sub, "yielded", None) for n in _plain_names(sub.value))
            elif isinstance(sub, cst.Return) and sub.value is not None:
                out.extend((n, sub, "returned", None) for n in _plain_names(sub.value))
        found = self._uses[key] = tuple(out)
        return found

    def _holders(self) -> dict[str, str]:
        """Locals bound once, by a plain call, to an instance of a project class built
        around a connection or session of this function (`repo = Repo(session)`, the
        class's `__init__` storing that parameter on `self`), by the name they hold it
        under: holder -> connection."""
        if self._holders_memo is not None:
            return self._holders_memo
        out: dict[str, str] = {}
        for name, values in self.func.locals.items():
            if len(values) != 1 or not isinstance(values[0], cst.Call):
                continue
            call = values[0]
            ref = self.index.evaluate(call.func, self.func.module, self.func)
            if not isinstance(ref, ClassRef):
                continue
            init = ref.cls.methods.get("__init__")
            if init is not None:
                params = init.param_names()  # (without `self`)
                stored = {p for p in params if _stores_param(init, p)}
            elif _is_dataclass(ref.cls):
                params = list(ref.cls.annotations)  # the fields, in order
                stored = set(params)
            else:
                continue
            for arg in call.args:
                if arg.star or not isinstance(arg.value, cst.Name):
                    continue
                owner = arg.value.value
                if self.res.kind(owner) is None:
                    continue
                param = arg.keyword.value if arg.keyword is not None \
                    else positional_param(params, call, arg)
                if param in stored:
                    out[name] = owner
                    break
        self._holders_memo = out
        return out

    def _stored_by_base_init(self, call: cst.Call) -> set[str]:
        """In a class's `__init__`, the plain names handed to its base class's
        `__init__` (`Base.__init__(self, conn, name)` or `super().__init__(conn,
        name)`) whose parameter that `__init__` stores on the instance (`self.connection
        = connection`): the object keeps the connection, as if this `__init__` stored it
        itself. Not when the base's `__init__` only reads the parameter."""
        func, cls = self.func, self.func.cls
        f = call.func
        if cls is None or func.name != "__init__" or not isinstance(f, cst.Attribute) \
                or f.attr.value != "__init__":
            return set()
        own = func.node.params.params[0].name.value if func.node.params.params else None
        args = list(call.args)
        with self.index.full_resolution():  # (a base class in a module with no connection)
            init, args = self._base_init(f, own, args)
        if init is None:
            return set()
        params = init.param_names()  # (without `self`)
        out: set[str] = set()
        for position, arg in enumerate(args):
            if arg.star or not isinstance(arg.value, cst.Name):
                continue
            if arg.keyword is not None:
                param = arg.keyword.value
            elif position < len(params) and not any(a.keyword for a in args[:position]):
                param = params[position]
            else:
                continue
            if _stores_param(init, param):
                out.add(arg.value.value)
        return out

    def _base_init(self, f: cst.Attribute, own: str | None,
                   args: list[cst.Arg]) -> tuple[FunctionInfo | None, list[cst.Arg]]:
        """The base class's `__init__` that `call` (`super().__init__(...)` or
        `Base.__init__(self, ...)`) runs, and the arguments it hands on."""
        func, cls = self.func, self.func.cls
        assert cls is not None
        init: FunctionInfo | None = None
        if isinstance(f.value, cst.Call) and isinstance(f.value.func, cst.Name) \
                and f.value.func.value == "super" and not f.value.args:
            for base in cls.node.bases:
                if base.keyword is not None:
                    continue
                value = self.index.evaluate(base.value, cls.module, None)
                if isinstance(value, ClassRef) and value.cls is not cls:
                    init = method_of(self.index, value.cls, "__init__")
                    break  # the first base's: the one `super()` reaches first
        elif own is not None and args and not args[0].star and args[0].keyword is None \
                and isinstance(args[0].value, cst.Name) and args[0].value.value == own:
            value = self.index.evaluate(f.value, func.module, func)
            if isinstance(value, ClassRef) and value.cls is not cls:
                init = method_of(self.index, value.cls, "__init__")
            args = args[1:]
        return init, args

    def _reads_bind_only(self, call: cst.Call, position: int) -> bool:
        """The argument at `position` goes to a project function that only reads its
        `.bind` (`engine = bound_engine(registry)` to dispose it after `close()`): the
        engine is read, no statement runs on the session."""
        args = call.args
        if any(a.keyword is not None or a.star for a in args[:position + 1]):
            return False
        ref = self.index.evaluate(call.func, self.func.module, self.func)
        if not isinstance(ref, FunctionRef) or ref.func.is_method:
            return False
        params = ref.func.param_names()
        if position >= len(params):
            return False
        name = params[position]
        body = ref.func.node.body
        reads = [n for n in iter_nodes(body) if isinstance(n, cst.Name) and n.value == name]
        binds = [n for n in iter_nodes(body) if isinstance(n, cst.Attribute)
                 and n.attr.value == "bind" and isinstance(n.value, cst.Name)
                 and n.value.value == name]
        return bool(binds) and len(binds) == len(reads)

    def _cursor_needs_connection(self, conn: str) -> bool:
        """A cursor of `conn` stops working when `conn` is released: not PyMySQL's or
        MySQLdb's default cursors, which hold the whole result on the client."""
        kind = self.res.kind(conn)
        return kind is None or kind.key not in _BUFFERED_CURSOR_KINDS

    def _check_uses(self, node: cst.CSTNode, state: State) -> State:
        """Report the uses in `node` of what the state says is released; a closed
        session used again is remembered (it reopened a connection)."""
        released = {f.var: f for f in state if isinstance(f, (Released, Reopened))}
        for name, use, how, via in self._uses_in(node):
            fact = released.get(name)
            if fact is None:
                continue
            if via is not None and all(via in f.rebound for f in state
                                       if isinstance(f, Released) and f.var == name):
                # the cursor name was bound again after the release on every path:
                # it names another cursor now (`with other.cursor() as cur:`)
                continue
            if how == "reopen":
                state = state - {fact}
                del released[name]
                continue
            if isinstance(fact, Reopened):
                if how != "used":  # handed on, open again: the receiver owns it now
                    state = state - {fact}
                    del released[name]
                elif _ends_nothing(use, name):
                    # `session.commit()` / `rollback()` ends the transaction the reuse
                    # began, and the session gives its connection back to the pool:
                    # a released, reusable session again (a later use reopens it)
                    ended = Released(name, fact.release, reusable=True)
                    state = (state - {fact}) | {ended}
                    released[name] = ended
                continue
            if isinstance(use, cst.Call) and name in self._released_by(use):
                continue
            if fact.reusable and how == "used" and isinstance(fact, Released) \
                    and _ends_nothing(use, name):
                # `session.commit()` / `rollback()` of a closed session with nothing
                # queued since: it begins and ends an empty transaction, no connection
                continue
            if fact.reusable and how == "used":
                self._nodes[id(use)] = use
                reopened = Reopened(name, id(use), fact.release)
                state = (state - {fact}) | {reopened}
                released[name] = reopened
                continue
            self._after_release(name, use, how, fact.release)
            state = state - {fact}
            if isinstance(fact, Released):
                # the same release, told apart only by the names bound again since
                state = frozenset(f for f in state if not (
                    isinstance(f, Released) and f.var == name and f.release == fact.release))
            del released[name]
        return state

    def _with_use(self, name: cst.Name, state: State) -> State:
        """`with conn:` on a released connection uses it."""
        for fact in state:
            if isinstance(fact, Released) and fact.var == name.value and not fact.reusable:
                self._after_release(name.value, name, "used", fact.release)
                return state - {fact}
        return state

    def _after_release(self, var: str, node: cst.CSTNode, how: str, release: int,
                       on_return: bool = False) -> None:
        if id(node) in self._reported_uses:
            return
        self._reported_uses.add(id(node))
        self.result.after_release.append(
            AfterRelease(node, var, how, self._nodes[release], on_return))

    # ============================================================ compound
    def if_(self, node: cst.If, state: State) -> Outcome:
        after, exc = self.effects(node.test, state)
        true_state, false_state = self._refine(node.test, after)
        true_state, false_state = self._refine_same_test(node.test, true_state, false_state)
        guarded, held_when_true = _guard(node.test)
        if guarded is not None and any(isinstance(f, Held) and f.var == guarded
                                       for f in after):
            # `success = True` ... `if conn: ... else: success = False` ... `if success:
            # conn.close()`: where the guard keeps the checkout, the flags set `True`
            # before the `if` are still true, and mark it as `owned = True` would
            flags = self._true_flags(node)
            if flags:
                if held_when_true:
                    true_state = _flag_held(true_state, guarded, flags)
                else:
                    false_state = _flag_held(false_state, guarded, flags)
        out = Outcome(exc=exc)
        known, truthy = _guard(node.test) if _value_test(node.test) else (None, False)
        if known is not None and not truthy:
            self._known_false.append((known, node))
        try:
            body = self.block(body_statements(node.body), true_state)
        finally:
            if known is not None and not truthy:
                self._known_false.pop()
        flag = _branch_flag(node)
        if flag is not None:
            # `owns = session is None` ... `if owns: session = SessionLocal()`: a
            # checkout made in the branch is held only where the flag is true, as
            # after `owned = True` (a later `if owns: session.close()` releases it)
            body = _flag_new_checkouts(body, true_state, flag)
        out.absorb_abrupt(body)
        normal = body.normal
        if node.orelse is None:
            normal = _join(normal, false_state)
        elif isinstance(node.orelse, cst.If):
            o = self.if_(node.orelse, false_state)
            out.absorb_abrupt(o)
            normal = _join(normal, o.normal)
        else:
            if known is not None and truthy:
                self._known_false.append((known, node))
            try:
                o = self.block(body_statements(node.orelse.body), false_state)
            finally:
                if known is not None and truthy:
                    self._known_false.pop()
            out.absorb_abrupt(o)
            normal = _join(normal, o.normal)
        out.normal = normal
        return out

    def _true_flags(self, node: cst.If) -> frozenset[str]:
        """The names bound to `True` before `node` and still so where it starts
        (`true_flags_at`), when `node` is a statement of this function's body."""
        found = self._true_flags_memo.get(id(node))
        if found is None:
            found = true_flags_at(body_statements(self.func.node.body), node) or frozenset()
            self._true_flags_memo[id(node)] = found
        return found

    def _still_false(self, node: cst.Try | cst.TryStar) -> frozenset[str]:
        """The names known None (or false) where the `try` starts that stay so on
        every path where its body fails on the database: an enclosing `if name is
        None:` (or the `else` of `if name is not None:`) holds the `try`, nothing in
        that branch outside the `try` binds the name, and the `try` body binds it only
        after its last database statement (`row = cur.fetchone()` then `value =
        row[0]`). A later `if name is not None:` then never takes the failed
        transaction into its branch."""
        out: set[str] = set()
        for name, branch in self._known_false:
            outside = [n for n in iter_nodes(branch)
                       if n is not branch.test and name in bound_names_of(n)
                       and not any(n is m for m in iter_nodes(node.body))]
            if outside:
                continue
            order = {id(n): i for i, n in enumerate(iter_nodes(node.body))}
            work = [order[id(c)] for c in iter_nodes(node.body)
                    if isinstance(c, cst.Call) and self._worked_by(c, frozenset())]
            binds = [order[id(n)] for n in iter_nodes(node.body) if name in bound_names_of(n)]
            if not binds or (work and min(binds) > max(work)):
                out.add(name)
        return frozenset(out)

    def _short_circuit(self, expr: cst.BaseExpression,
                       state: State) -> tuple[State, State | None]:
        """The states after an `and` / `or` evaluated for its effects (an expression
        statement): the right operand runs only on the left's true (`and`) or false
        (`or`) side; the other side goes on with the left's effects alone."""
        if not isinstance(expr, cst.BooleanOperation):
            return self.effects(expr, state)
        after, exc = self._short_circuit(expr.left, state)
        true_state, false_state = self._refine(expr.left, after)
        runs, skips = (true_state, false_state) if isinstance(expr.operator, cst.And) \
            else (false_state, true_state)
        right, right_exc = self._short_circuit(expr.right, runs)
        return right | skips, _join(exc, right_exc)

    def _refine(self, test: cst.BaseExpression, state: State) -> tuple[State, State]:
        """Split the state on a guard like `if conn:` / `if conn is not None:`, or
        `if isinstance(exc, psycopg2.Error):` in a handler (no database error, no
        aborted transaction)."""
        if self._is_db_error_check(test):
            return state, frozenset(f for f in state if not isinstance(f, Aborted))
        negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
        if self._is_non_db_error_check(
                test.expression if isinstance(test, cst.UnaryOperation) and negated else test):
            # `if isinstance(error, ValueError):` in a handler of everything: where it
            # holds, the error caught is no database error (pandas' "table already
            # exists", raised before any statement), and the transaction is not aborted
            clean = frozenset(f for f in state if not isinstance(f, Aborted))
            return (state, clean) if negated else (clean, state)
        closed = _closed_connection_check(test, self._exception_names)
        if closed is not None:
            # `if str(error) != "connection already closed": raise`: where the text is
            # the driver's for a closed connection, there is no transaction to roll back
            clean = frozenset(f for f in state if not isinstance(f, Aborted))
            return (clean, state) if closed else (state, clean)
        invalidated = _invalidation_check(test)
        if invalidated is not None:
            # `if err.connection_invalidated:` (SQLAlchemy's disconnect): the connection
            # was invalidated, and its next use reconnects with no failed transaction
            clean = frozenset(f for f in state if not isinstance(f, Aborted))
            return (clean, state) if invalidated else (state, clean)
        if isinstance(test, cst.BooleanOperation):
            # `if c and c.is_connected():` is false where `c` is None or where it is not
            # connected; `or` is true where either side is
            left_true, left_false = self._refine(test.left, state)
            if isinstance(test.operator, cst.And):
                right_true, right_false = self._refine(test.right, left_true)
                return right_true, left_false | right_false
            right_true, right_false = self._refine(test.right, left_false)
            return left_true | right_true, right_false
        other = _identity_check(test)
        if other is not None and _not_an_alias(other[1], self.func):
            # `conn != self.conn`: a connection checked out here is never the one
            # the caller injected, so the test holds for it (false: not ours)
            name, ours_when_true = other[0], other[2]
            ours = frozenset(f for f in state if isinstance(f, Held) and f.var == name)
            return (state, state - ours) if ours_when_true else (state - ours, state)
        connected, positive = _connected_check(test)
        if connected is not None and any(
                isinstance(f, Released) and f.var == connected for f in state):
            # PS106: where the test says it is open, it was opened again
            reopened = frozenset(f for f in state if isinstance(f, Released)
                                 and f.var == connected)
            yes, no = state, state - reopened
            state_pos, state_neg = (no, yes) if positive else (yes, no)
            return self._refine_connected(connected, positive, state_pos, state_neg)
        if connected is not None:
            # `if conn.is_connected(): conn.close()`: a direct connection that is not
            # connected holds nothing on the server; a pooled one still holds its
            # slot (the pool gets it back only from close()), so it stays held
            gone = frozenset(f for f in state if isinstance(f, Held) and f.var == connected
                             and self.result.sites[f.site].conn.kind.direct)
            # where its cursor() ping failed, it is not connected either
            dead = frozenset(f for f in state if isinstance(f, Held) and f.var == connected
                             and f.dead)
            return (state - dead, state - gone) if positive else (state - gone, state - dead)
        var, truthy_when_held = _guard(test)
        if var is None:
            return _refine_attribute(test, state)
        # where `obj is None` holds, no `obj.session` can be in a failed transaction
        # (None has no attributes): PS103's fix guards `obj.session.rollback()` with
        # `if obj is not None:`, and the finding must not survive its own fix
        prefix = f"{var}." if _is_none_check(test) else None
        without = frozenset(f for f in state if not (
            (isinstance(f, Held) and f.var == var)
            or (isinstance(f, Aborted) and (
                f.resource == var
                or (prefix is not None and f.resource.startswith(prefix))))))
        # `if pool and conn: pool.release(conn)`: where `pool` is None, nothing drawn
        # from it is held
        without -= self._drawn_from(var, without)
        if _is_scope_check(test):
            # `if "cur" in locals():` is true exactly where `cur` is bound
            if truthy_when_held:
                return _bind(state, {var}), without
            return without, _bind(state, {var})
        # `if owned:` where `owned = True` followed the checkout: the checkout is held
        # only where the flag is set
        flagged = frozenset(f for f in state
                            if isinstance(f, (Held, Aborted)) and var in f.flags)
        # `if row is None: raise ...` where the handler set `row = None`: the
        # transaction it left aborted is on the branch where `row` is false only
        unset = frozenset(f for f in state if isinstance(f, Aborted) and var in f.falsy)
        # `if connection: conn = connection  else: conn = get_conn()` ... `if not
        # connection: close(conn)`: a checkout made only where a parameter is false is
        # not held where it is true (the parameter is never bound again)
        parked = frozenset(f for f in state if isinstance(f, Held) and var in
                           self._falsy_guarded_calls.get(id(self.result.sites[f.site].call), ()))
        if truthy_when_held:
            return state - unset - parked, without - flagged
        return without - flagged, state - unset - parked

    def _refine_connected(self, var: str, positive: bool, true_state: State,
                          false_state: State) -> tuple[State, State]:
        """The PS102 split of a connected check, over states PS106 already split."""
        def gone(state: State) -> State:
            return frozenset(f for f in state if isinstance(f, Held) and f.var == var
                             and self.result.sites[f.site].conn.kind.direct)

        def dead(state: State) -> State:
            return frozenset(f for f in state if isinstance(f, Held) and f.var == var
                             and f.dead)
        if positive:
            return true_state - dead(true_state), false_state - gone(false_state)
        return true_state - gone(true_state), false_state - dead(false_state)

    def while_(self, node: cst.While, state: State) -> Outcome:
        infinite = isinstance(node.test, (cst.Name, cst.Integer)) and (
            getattr(node.test, "value", None) in ("True", "1"))
        return self._loop(node.test, node.body, node.orelse, state, infinite)

    def for_(self, node: cst.For, state: State) -> Outcome:
        return self._loop(node.iter, node.body, node.orelse, state, False, iterates=True,
                          targets=_target_names(node.target))

    def _loop(self, head: cst.BaseExpression, body: cst.BaseSuite,
              orelse: cst.Else | None, state: State, infinite: bool,
              iterates: bool = False, targets: set[str] | None = None) -> Outcome:
        out = Outcome()
        entry = state
        body_out = Outcome()
        for _ in range(25):
            after_head, exc = self.effects(head, entry)
            if iterates:
                exc = _join(exc, entry)
            out.exc = _join(out.exc, exc)
            if targets:
                after_head = _forget_release(after_head, targets, self.res.cursors)
            body_out = self.block(body_statements(body), after_head)
            new_entry = entry | (body_out.normal or frozenset()) | (body_out.cont or frozenset())
            if new_entry == entry:
                break
            entry = new_entry
        out.ret = _join(out.ret, body_out.ret)
        out.exc = _join(out.exc, body_out.exc)
        exit_state: State | None = None if infinite else entry
        if orelse is not None and exit_state is not None:
            o = self.block(body_statements(orelse.body), exit_state)
            out.absorb_abrupt(o)
            exit_state = o.normal
        out.normal = _join(exit_state, body_out.brk)
        out.brk = None
        out.cont = None
        return out

    def match_(self, node: cst.Match, state: State) -> Outcome:
        after, exc = self.effects(node.subject, state)
        out = Outcome(exc=exc)
        normal: State | None = after
        for case in node.cases:
            o = self.block(body_statements(case.body), after)
            out.absorb_abrupt(o)
            normal = _join(normal, o.normal)
        out.normal = normal
        return out

    # ----------------------------------------------------------------- try
    def try_(self, node: cst.Try | cst.TryStar, state: State) -> Outcome:
        self._guarded += 1  # what raises in here may be caught or followed by `finally`
        try:
            return self._try(node, state)
        finally:
            self._guarded -= 1

    def _try(self, node: cst.Try | cst.TryStar, state: State) -> Outcome:
        body = self.block(body_statements(node.body), state)
        out = Outcome(ret=body.ret, brk=body.brk, cont=body.cont)
        raised = body.exc
        normal: State | None = None
        caught_all = False
        if raised is not None:
            ended = self._guarded_ends(node)
            if ended:
                # a rollback or release that raised: the connection broke under it,
                # and SQLAlchemy invalidates it; its transaction is gone either way
                raised = frozenset(f for f in raised
                                   if not (isinstance(f, Aborted) and f.resource in ended))
            worked = self._db_work_in(node.body)
            if worked:
                worked = {r for r in worked if not self._statement_level_here(node, r)
                          and not self._commit_rolls_back(node, r)}
            taken: set[str] = set()  # the classes an earlier handler names
            covered: set[str] = set()  # resources whose errors an earlier handler takes
            for handler in node.handlers:
                catches_db, catches_all = self._catches(handler, node)
                entry = frozenset(_entering(f) for f in raised if not _taken(f, taken))
                taken |= _class_names(handler)
                if catches_db:
                    hid = self._handler_id(handler)
                    still = self._still_false(node) if worked and self._known_false \
                        else frozenset()
                    entry = entry | {Aborted(r, hid, falsy=still) for r in worked
                                     if r not in covered}
                    covered |= {r for r in worked if self._takes_every_db_error(handler, r)}
                o = self.block(body_statements(handler.body), entry)
                if catches_db and o.exc is not None and _reraises(handler):
                    # the failure goes on up as it came: an enclosing handler that
                    # catches it is the one that swallows it, not this one
                    o.exc = frozenset(f for f in o.exc
                                      if not (type(f) is Aborted and f.handler == hid))
                out.absorb_abrupt(o)
                normal = _join(normal, o.normal)
                if catches_all:
                    caught_all = True
                    break
        if not caught_all:
            out.exc = _join(out.exc, raised if raised is None else frozenset(
                f for f in raised if not _taken(f, taken)))
        if node.orelse is not None and body.normal is not None:
            o = self.block(body_statements(node.orelse.body), body.normal)
            out.absorb_abrupt(o)
            normal = _join(normal, o.normal)
        else:
            normal = _join(normal, body.normal)
        out.normal = normal
        if node.finalbody is None:
            return out
        return self._finally(body_statements(node.finalbody.body), out)

    def _is_scoped_registry(self, resource: str) -> bool:
        """A session resource: of its kinds, only a `scoped_session` registry has a
        `remove()` (which closes the thread's session)."""
        kind: ConnectionKind | None = self.res.kind(resource)
        return kind is not None and kind.is_session

    def _guarded_ends(self, node: cst.Try | cst.TryStar) -> set[str]:
        """The resources a `try` body ends when it holds nothing but calls that roll
        back or release them (`try: db_session.remove()` / `except Exception: log`)."""
        out: set[str] = set()
        for stmt in body_statements(node.body):
            if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                    and isinstance(stmt.body[0], cst.Expr)
                    and isinstance(stmt.body[0].value, cst.Call)):
                return set()
            call = stmt.body[0].value
            ends = set(self._released_by(call))
            target = self.res.receiver(call)
            if target is not None and target[1] in _GUARDED_END_METHODS:
                ends.add(target[0])
            if not ends:
                return set()
            out |= ends
        return out

    def _finally(self, stmts: list[cst.BaseStatement], before: Outcome) -> Outcome:
        result = Outcome()
        for attr in ("normal", "ret", "brk", "cont", "exc"):
            st = getattr(before, attr)
            if st is None:
                continue
            if attr == "exc":
                self._propagating += 1
            try:
                o = self.block(stmts, st)
            finally:
                if attr == "exc":
                    self._propagating -= 1
            setattr(result, attr, _join(getattr(result, attr), o.normal))
            result.absorb_abrupt(o)
        return result

    def _is_db_error_check(self, test: cst.BaseExpression) -> bool:
        """`isinstance(<name>, <database error class or tuple>)`."""
        if not (isinstance(test, cst.Call) and dotted_name(test.func) == "isinstance"
                and len(test.args) == 2 and isinstance(test.args[0].value, cst.Name)):
            return False
        return all(is_db_error_type(self.index, t, self.module, self.func)
                   for t in exception_types(test.args[1].value))

    def _is_non_db_error_check(self, test: cst.BaseExpression) -> bool:
        """`isinstance(e, ValueError)` (a tuple of builtin errors that no database
        driver raises) on the name a handler bound its error to."""
        if not (isinstance(test, cst.Call) and dotted_name(test.func) == "isinstance"
                and len(test.args) == 2 and isinstance(test.args[0].value, cst.Name)
                and test.args[0].value.value in self._exception_names):
            return False
        types = exception_types(test.args[1].value)
        return bool(types) and all(
            isinstance(t, cst.Name) and t.value in NON_DATABASE_BUILTIN_ERRORS
            and self.index.evaluate(t, self.module, self.func) is None for t in types)

    def _handler_id(self, handler: cst.ExceptHandler | cst.ExceptStarHandler) -> int:
        key = id(handler)
        if key not in self._handler_ids:
            self._handler_ids[key] = len(self.result.handlers)
            self.result.handlers.append(handler)
        return self._handler_ids[key]

    def _catches(self, handler: cst.ExceptHandler | cst.ExceptStarHandler,
                 node: cst.Try | cst.TryStar) -> tuple[bool, bool]:
        """(may catch a database error, catches everything). SQLAlchemy's client-side
        request errors (`InvalidRequestError`, `MissingGreenlet`, ...) are raised
        before any statement reaches the server: they catch no database error unless
        the `try` also queues, flushes or commits objects."""
        if handler.type is None:
            return True, True
        db = False
        everything = False
        for t in exception_types(handler.type):
            if dotted_name(t) in BROAD_EXCEPTIONS:
                db = everything = True
            elif is_db_error_type(self.index, t, self.module, self.func):
                name = dotted_name(t) or ""
                if name.rsplit(".", 1)[-1] in CLIENT_REQUEST_ERROR_NAMES \
                        and not _flushes(node.body):
                    continue
                db = True
        return db, everything

    def _takes_every_db_error(self, handler: cst.ExceptHandler | cst.ExceptStarHandler,
                              resource: str) -> bool:
        """`handler` names the base class of every database error work on `resource`
        raises (`SQLAlchemyError` or `DBAPIError` for a session or a SQLAlchemy
        connection, the driver's own base such as `psycopg2.Error` for its
        connection): a later handler of the same `try` never sees one."""
        if handler.type is None:
            return True
        kind = self.res.kind(resource)
        if kind is None:
            return False
        if _names_sqlalchemy_base(handler) and self._failure_contained(resource, "sqlalchemy"):
            return True
        return kind.db_error is not None and any(
            dotted_name(t) == kind.db_error[2] for t in exception_types(handler.type))

    def _contains_db_failures(self, node: cst.Try | cst.TryStar) -> str:
        """What database failures of its body an inner `try` keeps from an enclosing
        one: "all" when a handler of it catches everything (bare, `Exception`,
        `BaseException`), "sqlalchemy" when one catches SQLAlchemy's base error
        (`SQLAlchemyError`, `DBAPIError`), and no handler that may catch a database
        error raises (a re-raise hands the failure on to the enclosing handler);
        else ""."""
        found = ""
        for handler in node.handlers:
            catches_db, catches_all = self._catches(handler, node)
            if not catches_db:
                continue
            if any(isinstance(n, cst.Raise) for n in iter_nodes(handler.body)):
                return ""
            if catches_all:
                found = "all"
            elif not found and _names_sqlalchemy_base(handler):
                found = "sqlalchemy"
        return found

    def _failure_contained(self, resource: str, contained: str) -> bool:
        """A failure of work on `resource` is caught by an inner handler that
        `_contains_db_failures` said `contained` of."""
        if contained == "all":
            return True
        kind = self.res.kind(resource)
        return kind is not None and kind.key in _SQLALCHEMY_WRAPPED_KINDS

    def _db_work_in(self, stmts: cst.BaseSuite) -> set[str]:
        """Resources a try body works on (outside transactions that roll back by
        themselves, and outside the `with` block that opened and closes them)."""
        found: set[str] = set()
        #: (node, names a `with` here closes, what an inner `try`'s handler contains)
        stack: list[tuple[cst.CSTNode, frozenset[str], str]] = [(stmts, frozenset(), "")]
        while stack:
            cur, closed_here, contained = stack.pop()
            t = type(cur)  # exact types: libcst's node classes are final
            if t in _SCOPE_NODE_TYPES:
                continue
            if t is cst.With:
                assert isinstance(cur, cst.With)
                if self._is_transactional_with(cur):
                    continue
                closed_here = closed_here | self._closed_by_with(cur)
            elif t is cst.Call:
                assert isinstance(cur, cst.Call)
                worked = self._worked_by(cur, closed_here)
                if contained:
                    worked = {r for r in worked if not self._failure_contained(r, contained)}
                found |= worked
            elif t is cst.Try or t is cst.TryStar:
                assert isinstance(cur, (cst.Try, cst.TryStar))
                inner = self._contains_db_failures(cur)
                if inner:
                    # what fails in the inner body stops at its handler: only the
                    # handlers, `else` and `finally` can raise out to this `try`
                    stack.append((cur.body, closed_here, max(contained, inner)))
                    stack.extend((child, closed_here, contained) for child in children(cur)
                                 if child is not cur.body)
                    continue
            stack.extend((child, closed_here, contained) for child in children(cur))
        inside = self._transaction_blocks.get(id(stmts), frozenset())
        return {r for r in found if self._can_abort(r) or (
            r in inside and self._aborts_in_transaction_block(r))}

    @cached_property
    def _transaction_blocks(self) -> dict[int, frozenset[str]]:
        """id() of each `try` body of the function -> the names whose transaction
        block (`async with conn.transaction():`, `async with conn.begin():`, or the
        statements after `trans = await conn.begin()` up to one that commits or rolls
        back) encloses that `try`."""
        out: dict[int, frozenset[str]] = {}
        stack: list[tuple[cst.CSTNode, frozenset[str]]] = [(self.func.node.body, frozenset())]
        while stack:
            cur, open_ = stack.pop()
            t = type(cur)
            if t in _SCOPE_NODE_TYPES:
                continue
            if t is cst.With:
                assert isinstance(cur, cst.With)
                for item in cur.items:
                    name = _block_opened(item.item)
                    if name is not None:
                        open_ = open_ | {name}
            elif t in (cst.Try, cst.TryStar) and open_:
                assert isinstance(cur, (cst.Try, cst.TryStar))
                out[id(cur.body)] = open_
            if t is cst.IndentedBlock or t is cst.Module:
                assert isinstance(cur, (cst.IndentedBlock, cst.Module))
                # `trans = await conn.begin()` opens the block for the statements after
                # it; a statement that commits or rolls back ends it
                running = open_
                for stmt in cur.body:
                    stack.append((stmt, running))
                    if isinstance(stmt, cst.SimpleStatementLine):
                        for small in stmt.body:
                            value = small.value if isinstance(small, cst.Assign | cst.Expr) \
                                else None
                            name = _block_opened(value) if isinstance(value, cst.Await) \
                                else None
                            if name is not None:
                                running = running | {name}
                        if running is not open_ and any(
                                isinstance(c.func, cst.Attribute)
                                and c.func.attr.value in ("commit", "rollback")
                                for c in iter_calls(stmt)):
                            running = open_
                continue
            stack.extend((child, open_) for child in children(cur))
        return out

    def _aborts_in_transaction_block(self, resource: str) -> bool:
        kind: ConnectionKind | None = self.res.kind(resource)
        return kind is not None and kind.transaction_block is not None \
            and resource not in self.res.autocommit

    def _worked_by(self, call: cst.Call, closed_here: frozenset[str]) -> set[str]:
        """The resources `call` works on (its receiver, a connection passed to it)."""
        found: set[str] = set()
        target = self.res.receiver(call)
        if target is not None and target[1] not in NON_WORK_METHODS \
                and not self._only_queues(*target) and target[0] not in closed_here \
                and not self._client_fetch(call, target[1]):
            found.add(target[0])
        for i, a in enumerate(call.args):
            if isinstance(a.value, cst.Name):
                owner = self.res.owner(a.value)
                # a helper that only reads the session's `.bind` runs its statements on
                # a connection of its own (`db.bind.connect()`), not in this transaction
                if owner is not None and owner not in closed_here \
                        and not self._released_by(call) and not self._reads_bind_only(call, i) \
                        and not self._stores_argument(call):
                    found.add(owner)
        for name in self._closure_names(call):
            owner = self.res.owner_of(name)
            if owner is not None and owner not in closed_here:
                found.add(owner)
        if not found:
            found = self._helper_work(call) - closed_here
        return found

    def _stores_argument(self, call: cst.Call) -> bool:
        """`self._all.append(conn)`, `seen.add(conn)`, `queue.put_nowait(conn)`: a
        container's store method keeps the connection and sends nothing on it, so no
        database error can come from it (not when the call is a project method of that
        name, which may work on what it is given)."""
        f = call.func
        if not isinstance(f, cst.Attribute) or f.attr.value not in _CONTAINER_STORES:
            return False
        with self.index.full_resolution():
            callee = self.index.evaluate(f, self.module, self.func)
        return not isinstance(callee, FunctionRef)

    def _helper_work(self, call: cst.Call) -> set[str]:
        """What a project helper called here does on a module-level session this
        function also uses (`item.save()` committing on `db.session`)."""
        return helper_session_work(self.index, self.module, self.func, self.res, call)

    def _client_fetch(self, call: cst.Call, method: str) -> bool:
        """`cur.fetchall()` (`fetchone`, `fetchmany`) on a client-side cursor: the
        rows came with `execute()`, and its error ("no results to fetch") is raised
        by the driver without a round trip: no statement fails on the server."""
        f = call.func
        return (method in _CLIENT_FETCHES and isinstance(f, cst.Attribute)
                and dotted_name(f.value) in self.res.client_cursors)

    def first_work_on(self, stmts: cst.BaseSuite, resource: str) -> cst.Call | None:
        """The first call of a `try` body, in source order, that works on `resource`
        (what `_db_work_in` found there): the step of a PS103 path where the error the
        handler swallows may come from."""
        stack: list[tuple[cst.CSTNode, frozenset[str]]] = [(stmts, frozenset())]
        while stack:
            cur, closed_here = stack.pop()
            t = type(cur)
            if t in _SCOPE_NODE_TYPES:
                continue
            if t is cst.With:
                assert isinstance(cur, cst.With)
                if self._is_transactional_with(cur):
                    continue
                closed_here = closed_here | self._closed_by_with(cur)
            elif t is cst.Call:
                assert isinstance(cur, cst.Call)
                if resource in self._worked_by(cur, closed_here):
                    return cur
            kids = list(children(cur))
            stack.extend((child, closed_here) for child in reversed(kids))
        return None

    def _closed_by_with(self, node: cst.With) -> frozenset[str]:
        """Names that a `with` opens and whose exit closes or releases them, error or
        not (`async with sessionmaker() as session:`): what failed inside is over
        when the block is, whatever an enclosing handler does."""
        out: set[str] = set()
        for item in node.items:
            if item.asname is None or not isinstance(item.asname.name, cst.Name):
                continue
            inner, _ = strip_await(item.item)
            if not isinstance(inner, cst.Call):
                continue
            value = self.index.evaluate(inner, self.module, self.func)
            if (isinstance(value, Connection)
                    and (value.kind.with_acquire_releases or value.kind.with_var_closes)) \
                    or (isinstance(value, ManagedContext) and not value.transactional):
                out.add(item.asname.name.value)
        return frozenset(out)

    def _invalidates(self, resource: str) -> bool:
        kind: ConnectionKind | None = self.res.kind(resource)
        return kind is not None and kind.key in _INVALIDATE_ENDS

    @cached_property
    def _queued(self) -> frozenset[str]:
        """The names on which this function queues, deletes or flushes objects
        (`add()`, `merge()`, `flush()`, ...): a `commit()` of any other session,
        still idle, has nothing to write and checks nothing out."""
        found: set[str] = set()
        for node in iter_nodes(self.func.node.body):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                    and node.func.attr.value in _QUEUE_METHODS:
                name = dotted_name(node.func.value)
                if name is not None:
                    found.add(name)
        return frozenset(found)

    def _hands_on_unused(self, call: cst.Call, index: int, arg: cst.Arg) -> bool:
        """`call` hands a session to a project function that does no work on it while
        it runs: its own body (not the functions nested in it) only stores the
        parameter on an attribute or in a container (`self.registry = db_session`),
        or leaves it to nested functions that the body does not call (a tween or a
        callback it registers), or to a library function that only registers it
        (`sqlalchemy.event.listen(session, "before_flush", hook)`, zope.sqlalchemy's
        `register(session)`). Nothing is checked out by the call."""
        if arg.star:
            return False
        value = self.index.evaluate(call.func, self.module, self.func)
        if isinstance(value, External):
            return value.qualname in _REGISTERS_ONLY
        if not isinstance(value, FunctionRef) or value.func.is_generator:
            return False
        callee = value.func
        if arg.keyword is not None:
            name = arg.keyword.value
            if name not in callee.all_param_names():
                return False
        else:
            params = callee.param_names()
            if index >= len(params):
                return False
            name = params[index]
        return _only_keeps(callee.node, name)

    def _statement_level_here(self, node: cst.Try | cst.TryStar, resource: str) -> bool:
        """The `try` runs only on a database that undoes just the failed statement,
        as the code's own test of the dialect says: it sits in the branch of
        `if <x>.dialect.name == "sqlite":` (or `in ("mysql", "mariadb")`), or every
        call of its function in the project does. A SQLAlchemy connection then keeps
        its transaction; so does a session whose `try` body only executes
        statements (a failed flush leaves a session pending rollback whatever the
        server, and so a body that queues or flushes objects is not concerned)."""
        kind: ConnectionKind | None = self.res.kind(resource)
        if kind is None:
            return False
        adopted = self.res.adopted.get(resource)
        if adopted is not None:
            # worked on only through a helper: the session's own module says which
            # database it talks to (the queued work is the helper's, out of sight)
            return statement_level_only(adopted[0], self.index)
        if kind.is_session and self._handed_session_only_reads(node, resource):
            return True
        if kind.key not in _SERVER_DECIDES_ABORT and not (
                kind.is_session and _only_executes(node.body, resource)):
            return False
        if _in_dialect_branch(self.func.node.body, node):
            return True
        if kind.is_session and not _queues_objects(self.func.node.body, resource) \
                and statement_level_only(self.module, self.index):
            # the module's imports name only a database that undoes just the failed
            # statement (a MySQL or SQLite storage class), and nothing in the function
            # queues objects that the execute's autoflush could fail to write
            return True
        return self._called_in_dialect_branches

    def _handed_session_only_reads(self, node: cst.Try | cst.TryStar, resource: str) -> bool:
        """A session the function is handed (a parameter: its module may name no
        database) in a project whose every engine is SQLite's (`builds_sqlite_only`),
        on which the `try` body, and every project function it hands the session on
        to, only runs statements (`only_runs_statements`), in a function that uses
        the session nowhere before the `try` (nothing it queued there waits for a
        flush) and not in a loop: a failed statement undoes only itself there."""
        if self.func.param(resource) is None or not facts(self.index).builds_sqlite_only():
            return False
        for stmt in body_statements(self.func.node.body):
            inside = any(n is node for n in iter_nodes(stmt))
            if inside:
                if any(isinstance(n, (cst.For, cst.While)) and any(
                        m is node for m in iter_nodes(n)) for n in iter_nodes(stmt)):
                    return False
                break
            if any(isinstance(n, cst.Name) and n.value == resource
                   for n in iter_nodes(stmt, into_functions=True)):
                return False
        else:
            return False
        return only_runs_statements(self.index, self.func, resource, _EXECUTE_METHODS,
                                    scope=node.body)

    def _failed_read_left(self, node: cst.With, fact: Aborted, ended: dict[str, bool]) -> bool:
        """The handler that caught the error returns at once, out of a `session.begin()`
        block whose session a `with` closes on the way out (`with Session() as s,
        s.begin():`, or an enclosing `with Session() as s:`): its `try` only executed
        statements, and nothing in the block queued objects. The exit's commit meets a
        transaction with no pending flush (PostgreSQL ends the aborted one with a
        rollback) and the session is closed right after; nothing goes on with it, as
        with a helper whose swallowed read is a block's last use of its session."""
        resource = fact.resource
        kind = self.res.kind(resource)
        if kind is None or not kind.is_session or _queues_objects(node.body, resource):
            return False
        if not ended.get(resource) and not self._closed_by_enclosing_with(node, resource):
            return False
        handler = self.result.handlers[fact.handler]
        attempt = next((t for t in iter_nodes(node.body) if isinstance(t, cst.Try)
                        and any(h is handler for h in t.handlers)), None)
        if attempt is None or not _only_executes(attempt.body, resource):
            return False
        statements = body_statements(handler.body)
        if not statements or not any(isinstance(n, cst.Return) for n in iter_nodes(statements[-1])):
            return False
        return not any(isinstance(n, (cst.Name, cst.Attribute)) and dotted_name(n) == resource
                       for st in statements for n in iter_nodes(st))

    def _closed_by_enclosing_with(self, node: cst.With, resource: str) -> bool:
        """An enclosing `with <session factory>(...) as resource:` of the function
        holds `node`: leaving `node` by `return` leaves it too, which closes the session."""
        for outer in iter_nodes(self.func.node.body):
            if isinstance(outer, cst.With) and outer is not node \
                    and any(n is node for n in iter_nodes(outer.body)):
                for item in outer.items:
                    if isinstance(item.asname, cst.AsName) \
                            and isinstance(item.asname.name, cst.Name) \
                            and item.asname.name.value == resource \
                            and isinstance(item.item, cst.Call) \
                            and not (isinstance(item.item.func, cst.Attribute)
                                     and item.item.func.attr.value in ("begin", "begin_nested")):
                        kind = self.res.kind(resource)
                        return kind is not None and kind.is_session
        return False

    def _commit_rolls_back(self, node: cst.Try | cst.TryStar, resource: str) -> bool:
        """The session's class rolls back a failed commit before re-raising it, and
        the `try` body only queues objects on it and commits them (itself or through
        project helpers): a failure there leaves nothing pending
        (`poolsafe.analysis.rolling_commit`)."""
        kind: ConnectionKind | None = self.res.kind(resource)
        if kind is None or kind.key not in ("session", "scoped-session"):
            return False
        return every_session_rolls_back_commit(self.index) \
            and not holds_plain_session(self.index, self.func, resource) \
            and only_queues_and_commits(self.index, node.body, resource, self.module, self.func)

    @cached_property
    def _called_in_dialect_branches(self) -> bool:
        sites = facts(self.index).callers(self.func)
        return bool(sites) and all(
            site.func is not None and _in_dialect_branch(site.func.node.body, site.call)
            for site in sites)

    def _can_abort(self, resource: str) -> bool:
        kind: ConnectionKind | None = self.res.kind(resource)
        if kind is None or not kind.aborts_on_error or resource in self.res.autocommit:
            return False
        # SQLAlchemy 1.x's legacy connection rolls a failed statement back itself
        if kind.key == "sqlalchemy-connection" and rolls_back_itself(self.func.node.body, resource):
            return False
        # a SQLAlchemy connection to a server that undoes only the failed statement
        adopted = self.res.adopted.get(resource)
        return not (kind.key in _SERVER_DECIDES_ABORT and statement_level_only(
            self.module if adopted is None else adopted[0], self.index))

    def _is_transactional_with(self, node: cst.With) -> bool:
        for item in node.items:
            value = self.index.evaluate(item.item, self.module, self.func)
            if isinstance(value, ManagedContext) and value.transactional:
                return True
            if isinstance(item.item, cst.Call) and isinstance(item.item.func, cst.Attribute) \
                    and item.item.func.attr.value in ("begin", "begin_nested", "transaction"):
                return True
            # psycopg2/psycopg `with conn:` rolls back on error
            if isinstance(item.item, cst.Name) and self.res.kind(item.item.value) is not None:
                return True
        return False

    # ---------------------------------------------------------------- with
    def with_(self, node: cst.With, state: State) -> Outcome:
        self._guarded += 1  # what raises in here passes through the exit
        try:
            return self._with(node, state)
        finally:
            self._guarded -= 1

    def _with(self, node: cst.With, state: State) -> Outcome:
        cur = state
        exc: State | None = None
        closes: set[str] = set()       # names the exit closes/releases
        managed: set[str] = set()      # resources whose exit rolls back or closes
        commits: set[str] = set()      # resources whose exit commits (a transaction)
        ended: dict[str, bool] = {}    # PS106: names the exit releases -> a session
        fresh = _fresh_begins(node, cur)  # idle sessions whose transaction this block is
        for item in node.items:
            expr = item.item
            cur, e = self.effects(expr, cur)
            entered, _ = strip_await(expr)
            if e is not None and isinstance(entered, cst.Call) and self._exit_releases(entered):
                # what the context manager raises before its `yield` leaves the block
                # with its argument released, as the call released it before (the
                # helper's `finally` around the `yield` runs)
                gone = set(self._released_by(entered))
                e = _through_exits(e, gone, gone)
            if e is not None:
                # `with a, b:` enters `a` before it evaluates `b`: what `b` raises
                # passes through a's exit
                e = _through_exits(e, closes, managed | closes | commits)
            exc = _join(exc, e)
            bound = item.asname.name.value if (
                item.asname is not None and isinstance(item.asname.name, cst.Name)) else None
            if bound is not None:
                cur = _forget_release(cur, {bound}, self.res.cursors)
            held = {f.var: f for f in cur if isinstance(f, Held)}
            inner, _ = strip_await(expr)
            if isinstance(inner, cst.Name) and any(
                    isinstance(f, Released) and f.var == inner.value for f in cur):
                cur = self._with_use(inner, cur)
            reused = _reopened_connection(inner, cur)
            if reused is not None:
                # `with session.connection() as c:` on a closed session used again: the
                # exit closes the connection it reopened, which goes back to the pool
                ended[reused] = True
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
                    and inner.func.attr.value in SELF_RETURNING_METHODS \
                    and isinstance(inner.func.value, cst.Name) \
                    and inner.func.value.value in held:
                # `with conn.execution_options(...) as conn:` enters the connection
                # itself (SQLAlchemy 2.0 returns the same Connection): its exit closes it
                inner = inner.func.value
            if isinstance(inner, cst.Name) and inner.value in held:
                site = self.result.sites[held[inner.value].site]
                kind = site.conn.kind
                if kind.with_var_closes or kind.entered_connection_closes:
                    if kind.close_is_mistake:
                        self.result.close_mistakes.append((inner, site))
                    closes.add(inner.value)
                    ended[inner.value] = kind.is_session
                else:
                    managed.add(inner.value)
                continue
            if isinstance(inner, cst.Name) and not strip_await(expr)[1]:
                handed = self.res.kind(inner.value)
                if handed is not None and handed.is_session and handed.with_var_closes:
                    # `with session:` on a SQLAlchemy session this function did not open
                    # (a parameter): `Session.__exit__` closes it, rolling a failed
                    # transaction back; the caller gets a closed session, usable again
                    # (round 44, fresh88)
                    managed.add(inner.value)
                    continue
            if isinstance(inner, cst.Call) and self._exit_releases(inner):
                for name in self._released_by(inner):
                    if name in held:
                        closes.add(name)
                    if self._tracks_release(name, held):
                        ended[name] = self._reusable(name, held)
                continue
            if isinstance(inner, cst.Call) and self._is_closing(inner.func):
                args = positional_args(inner)
                if args and isinstance(args[0], cst.Name) and args[0].value in held:
                    site = self.result.sites[held[args[0].value].site]
                    if site.conn.kind.close_is_mistake:
                        self.result.close_mistakes.append((inner, site))
                    closes.add(args[0].value)
                    ended[args[0].value] = site.conn.kind.is_session
                    continue
            value = self.index.evaluate(inner, self.module, self.func) if isinstance(
                inner, cst.Call) else None
            carried = self._chained_cursor(inner) if bound is not None and isinstance(
                inner, cst.Call) and not isinstance(value, (Connection, ManagedContext)) \
                else None
            if carried is not None and bound is not None:
                # `with get_connection().cursor() as cur:`: the exit closes the cursor
                # only; the direct connection opened in the expression is held through
                # `cur` (`cur.connection`) and nothing else can close it
                assert isinstance(inner, cst.Call)
                index = self._site(inner, bound, carried)
                cur = frozenset(f for f in cur if not (
                    isinstance(f, Held) and f.var == bound)) | {Held(bound, index)}
                continue
            if isinstance(value, Connection):
                assert isinstance(inner, cst.Call)
                cur = _drawn_session(cur, inner)  # (`with Session() as s:` on a registry)
                kind = value.kind
                if strip_await(expr)[1] and kind.entered_connection_closes:
                    # `async with await pool.acquire() as conn:` enters the checked-out
                    # connection itself, not the pool's acquire context: its exit
                    # closes the connection and the pool never gets it back
                    index = self._site(inner, bound or "conn", value, in_with=True)
                    if kind.close_is_mistake:
                        self.result.close_mistakes.append((expr, self.result.sites[index]))
                    if bound is not None:
                        closes.add(bound)
                        ended[bound] = kind.is_session
                    continue
                if kind.tracked and not kind.with_acquire_releases:
                    if bound is not None and not kind.with_var_closes:
                        # psycopg2: the block only ends a transaction; the checkout goes
                        # on, and a later release (say in an enclosing finally) counts
                        index = self._site(inner, bound, value, in_with=True)
                        cur = frozenset(f for f in cur if not (
                            isinstance(f, Held) and f.var == bound)) | {Held(bound, index)}
                        managed.add(bound)
                    elif bound is None or bound not in self._released_anywhere:
                        # psycopg_pool: the block closes the connection instead
                        self.result.with_leaks.append((inner, value))
                    if bound is not None and kind.with_var_closes:
                        ended[bound] = kind.is_session
                elif bound is not None:
                    managed.add(bound)
                    if kind.with_acquire_releases:
                        ended[bound] = kind.is_session
            elif value is None and isinstance(inner, cst.Call) \
                    and isinstance(inner.func, cst.Attribute) \
                    and inner.func.attr.value in TRANSACTION_CM_METHODS:
                # `with conn.transaction():` on a connection known by its parameter's
                # type (the index has no value for it): psycopg 3's exit ends a failed
                # transaction with a rollback (or raises, nested), never silently
                owner = dotted_name(inner.func.value)
                owner_kind = self.res.kind(owner) if owner is not None else None
                if owner is not None and owner_kind is not None \
                        and owner_kind.exit_commit_rolls_back_aborted:
                    managed.add(owner)
            elif isinstance(value, ManagedContext):
                if bound is not None:
                    managed.add(bound)
                    # a context of its own connection (not `conn.begin()`) ends it
                    if not value.transactional or self._owner_of_cm(inner) is None:
                        ended[bound] = CONNECTION_KINDS[value.kind_key].is_session
                quiet = CONNECTION_KINDS[value.kind_key].exit_commit_rolls_back_aborted
                if value.transactional and quiet:
                    # psycopg 3: the exit rolls the failed transaction back, no error
                    owner = self._owner_of_cm(inner)
                    if owner is not None:
                        managed.add(owner)
                elif value.transactional:
                    owner = self._owner_of_cm(inner)
                    if owner is not None:
                        commits.add(owner)
                    if bound is not None:
                        commits.add(bound)
        body = self.block(body_statements(node.body), cur)
        out = Outcome()
        for attr in ("normal", "ret", "brk", "cont", "exc"):
            st = getattr(body, attr)
            if st is None:
                continue
            if attr != "exc":
                for fact in st:
                    if isinstance(fact, Aborted) and fact.resource in commits:
                        if attr == "ret" and self._failed_read_left(node, fact, ended):
                            continue
                        self._report_handler(fact, "the transaction commits on exit", node)
            st = _through_exits(st, closes, managed | closes | commits)
            if attr == "exc" and fresh:
                # the block's exit rolls the transaction back and gives its connection
                # back to the pool: the session, unused before, holds nothing again
                st = frozenset(replace(f, idle=True) if type(f) is Held and f.var in fresh
                               else f for f in st)
            if ended:
                st = self._ended_by_with(node, ended, st, attr)
            setattr(out, attr, st)
        out.exc = _join(out.exc, exc)
        return out

    def _ended_by_with(self, node: cst.With, ended: dict[str, bool], state: State,
                       attr: str) -> State:
        """PS106: what leaves a `with` block whose exit released `ended`: a `return` of
        one of them is reported; after the block they are released."""
        self._nodes[id(node)] = node
        for fact in state:
            if isinstance(fact, Returned) and fact.var in ended:
                self._after_release(fact.var, self._nodes[fact.ret], "returned", id(node),
                                    on_return=True)
        if attr == "ret":
            return state
        state = _forget_release(state, set(ended))
        return state | {Released(var, id(node), reusable) for var, reusable in ended.items()}

    def _idle_flush(self, state: State, resource: str, call: cst.Call) -> bool:
        """`session.flush()` in the handler of a `try` whose commit or flush of the
        session failed, with no change queued in the handler before it: a failed flush
        leaves nothing pending (SQLAlchemy drops the flush's work and marks the session
        for rollback), so this flush sends no SQL and finds nothing to write. Every
        failed transaction of `resource` on this path must come from such a handler."""
        kind = self.res.kind(resource)
        if kind is None or not kind.is_session:
            return False
        facts = [f for f in state if isinstance(f, Aborted) and f.resource == resource]
        return bool(facts) and all(
            self._flush_after_failed_flush(self.result.handlers[f.handler], resource, call)
            for f in facts)

    def _flush_after_failed_flush(self, handler: cst.ExceptHandler | cst.ExceptStarHandler,
                                  resource: str, call: cst.Call) -> bool:
        try_stmt = next((n for n in iter_nodes(self.func.node.body)
                         if isinstance(n, (cst.Try, cst.TryStar))
                         and any(h is handler for h in n.handlers)), None)
        if try_stmt is None or not any(
                self.res.receiver(c) in ((resource, "commit"), (resource, "flush"))
                for c in iter_calls(try_stmt.body)):
            return False
        for c in iter_calls(handler.body):
            if c is call:
                return True
            target = self.res.receiver(c)
            if target is not None and target[0] == resource and target[1] not in (
                    "flush", "expunge", "expunge_all", "expire", "expire_all"):
                return False  # a change queued (or a statement run) before it
        return False

    def _only_queues(self, resource: str, method: str) -> bool:
        """`session.add(obj)`: the session queues the change and sends no SQL."""
        kind = self.res.kind(resource)
        if kind is None or not kind.is_session:
            return False
        return method in (SESSION_QUEUE_METHODS if kind.is_async else SYNC_SESSION_QUEUE_METHODS)

    def _owner_of_cm(self, call: cst.BaseExpression) -> str | None:
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
            return self.res.owner(call.func.value)
        return None


# ---------------------------------------------------------------- helpers
#: PS106: method calls on a released connection that do not use it
_NOT_A_USE = frozenset({"close", "aclose", "ensure_closed", "is_connected", "closed", "__exit__",
                        "__aexit__"})
#: connections whose default cursor buffers the result: fetching after close() works
_BUFFERED_CURSOR_KINDS = frozenset({"pymysql", "mysqldb"})
#: ... and that open it again
_REOPENING = frozenset({"reconnect", "connect"})
#: calls whose arguments are not used as connections (logging, printing, bookkeeping)
_NOT_AN_ARGUMENT_USE = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print",
     "len", "str", "repr", "isinstance", "id", "bool", "type", "hasattr", "callable", "getattr",
     "setattr", "delattr", "hash", "format", "remove", "discard", "pop", "index", "count", "get",
     "__contains__", "assertIs", "assertIsNone", "assertIsNotNone"})


#: a container's methods that store their argument and do nothing else with it
#: (`list.append`, `deque.appendleft`, `set.add`, `asyncio.Queue.put_nowait`)
_CONTAINER_STORES = frozenset({"append", "appendleft", "add", "put_nowait"})


def _raised_class(node: cst.Raise) -> str | None:
    """The dotted class name of `raise Name(...)` / `raise Name` (a capitalised
    name: `raise error` re-raises a value of unknown class), else None."""
    exc = node.exc
    if exc is None:
        return None
    if type(exc) is cst.Call:
        return dotted_name(exc.func)
    name = dotted_name(exc)
    if name is None or not name.rsplit(".", 1)[-1][:1].isupper():
        return None
    return name


def _names_sqlalchemy_base(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """The handler names SQLAlchemy's base error (`SQLAlchemyError`, `DBAPIError`)."""
    return handler.type is not None and any(
        (dotted_name(t) or "").rsplit(".", 1)[-1] in _SQLALCHEMY_BASE_ERRORS
        for t in exception_types(handler.type))


def _class_names(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> set[str]:
    """The dotted names of the classes an `except` clause names."""
    if handler.type is None:
        return set()
    return {n for n in map(dotted_name, exception_types(handler.type)) if n is not None}


def _reraises(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """The handler's body re-raises what it caught: a bare `raise`, or `raise e` of the
    name it binds (`except Exception as e`), outside nested scopes."""
    name = handler.name.name.value if handler.name is not None \
        and isinstance(handler.name.name, cst.Name) else None
    return any(isinstance(n, cst.Raise) and n.cause is None and (
        n.exc is None or (name is not None and isinstance(n.exc, cst.Name)
                          and n.exc.value == name))
        for n in iter_nodes(handler.body))


def _taken(fact: Fact, taken: set[str]) -> bool:
    """An aborted transaction on a path that raised a class an earlier handler of
    the same `try` names: that handler caught it, and it goes no further."""
    return type(fact) is Aborted and fact.raised_as is not None and fact.raised_as in taken


def _entering(fact: Fact) -> Fact:
    """A fact as a handler receives it: checkouts are caught, and an aborted
    transaction no longer travels with the class that was raised."""
    if type(fact) is Held and not fact.caught:
        return replace(fact, caught=True)
    if type(fact) is Aborted and fact.raised_as is not None:
        return replace(fact, raised_as=None)
    return fact


def _branch_flag(node: cst.If) -> str | None:
    """The plain name an `if` tests for truth (`if owns:`), when its body never binds
    it again (the flag is still true where the body's checkouts are held)."""
    test = node.test
    if not isinstance(test, cst.Name) or test.value in ("True", "False", "None"):
        return None
    if test.value in bound_names(node.body):
        return None
    return test.value


def _flag_held(state: State, var: str, flags: frozenset[str]) -> State:
    """`state` with `flags` added to the checkouts of `var` held on it."""
    return frozenset(replace(f, flags=f.flags | flags)
                     if isinstance(f, Held) and f.var == var else f for f in state)


def _flag_new_checkouts(body: Outcome, before: State, flag: str) -> Outcome:
    """`body` with the flag added to the checkouts held on its paths that were not
    held before it (made in the branch)."""
    old = {(f.var, f.site) for f in before if isinstance(f, Held)}

    def mark(state: State | None) -> State | None:
        if state is None:
            return None
        return frozenset(
            replace(f, flags=f.flags | {flag})
            if isinstance(f, Held) and (f.var, f.site) not in old else f
            for f in state)

    return Outcome(normal=mark(body.normal), ret=mark(body.ret), brk=mark(body.brk),
                   cont=mark(body.cont), exc=mark(body.exc))


def _set_flags(state: State, targets: list[cst.BaseExpression],
               value: cst.BaseExpression, exception_names: frozenset[str]) -> State:
    """`owned = True` marks the checkouts held on this path with the flag, and
    `error = e` (an `except ... as e` name) the transactions aborted on it; any other
    value bound to the name clears it."""
    names = {t.value for t in targets if isinstance(t, cst.Name)}
    if not names or not any(isinstance(f, (Held, Aborted)) for f in state):
        return state
    is_true_ = isinstance(value, cst.Name) and value.value == "True"
    is_error = isinstance(value, cst.Name) and value.value in exception_names
    is_false = _false_constant(value)
    out: set[Fact] = set()
    for f in state:
        if isinstance(f, (Held, Aborted)):
            setting = is_true_ if isinstance(f, Held) else is_error
            flags = f.flags | names if setting else f.flags - names
            if flags != f.flags:
                f = replace(f, flags=flags)
        if isinstance(f, Aborted):
            falsy = f.falsy | names if is_false else f.falsy - names
            if falsy != f.falsy:
                f = replace(f, falsy=falsy)
        out.add(f)
    return frozenset(out)


def _releases_after_yield(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A generator context manager that releases some of its parameters, and none of
    them before its first `yield` (in source order): `try: yield s` ... `finally:
    s.close()`. One that releases first (`pool.putconn(c); yield c`) hands its block
    a connection that is back in the pool already."""
    positions = index.releaser_positions(func)
    params = func.param_names()
    names = {params[i] for i in positions if i < len(params)}
    if not names:
        return False
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Yield):
            return True
        if isinstance(node, cst.Call) and names & index.released_by_call(node, func):
            return False
    return False


def _through_exits(state: State, closes: set[str], ended: set[str]) -> State:
    """`state` past the exits of `with` items that close or release `closes` and end
    the transactions of `ended` (roll back, close or commit)."""
    return frozenset(f for f in state
                     if not (isinstance(f, Held) and f.var in closes)
                     and not (isinstance(f, Aborted) and f.resource in ended))


def _value_test(test: cst.BaseExpression) -> bool:
    """`name`, `not name`, `name is None`, `name is not None`: a test of a name's
    value (not whether it is bound, as `"name" in locals()` tests)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _value_test(test.expression)
    return isinstance(test, cst.Name) or (_is_none_check(test) and isinstance(
        test, cst.Comparison) and isinstance(test.left, cst.Name))


def _false_constant(value: cst.BaseExpression) -> bool:
    """`None`, `False`, `0`, `""`, `[]`, `{}`, `()`: a value no test finds true."""
    if isinstance(value, cst.Name):
        return value.value in ("None", "False")
    if isinstance(value, cst.Integer):
        return value.value == "0"
    if isinstance(value, cst.SimpleString):
        return value.evaluated_value in ("", b"")
    if isinstance(value, (cst.List, cst.Tuple, cst.Dict, cst.Set)):
        return not value.elements
    return False


#: how many project helpers deep `always_raises` follows a helper's last call
_RAISING_HELPER_DEPTH = 3


def always_raises(index: ProjectIndex, func: FunctionInfo, depth: int = 0) -> bool:
    """A project function that never returns to its caller: a plain (not async, not
    generator, undecorated) function with no `return` of its own whose body ends in a
    `raise` (`def fail(e, msg): if isinstance(e, NotFound): raise NotFound(msg)` ...
    `raise ServerError(msg)`), or in a call that never returns: a library one (Flask's
    or Flask-RESTful's `abort(...)`, `sys.exit(...)`) or another such project function
    (a method `self.fail(...)` too), up to three helpers deep. Every path either raises
    earlier or reaches that last statement, so a call to it ends the caller's path as a
    `raise` does."""
    node = func.node
    if func.is_async or func.is_generator or func.returns or node.decorators:
        return False
    body = body_statements(node.body)
    last = body[-1] if body else None
    if not (isinstance(last, cst.SimpleStatementLine) and last.body):
        return False
    stmt = last.body[-1]
    if isinstance(stmt, cst.Raise):
        return True
    if not (isinstance(stmt, cst.Expr) and type(stmt.value) is cst.Call) \
            or depth >= _RAISING_HELPER_DEPTH:
        return False
    target = index.evaluate(stmt.value.func, func.module, func)
    if isinstance(target, External):
        return match_qualname(target.qualname, RAISING_CALLS) is not None
    return isinstance(target, FunctionRef) and target.func is not func \
        and always_raises(index, target.func, depth + 1)


def _forgotten_raising_import(name: str, module: ModuleInfo) -> bool:
    """`name` is the bare name of a call that never returns (`RAISING_CALLS`: Flask's
    `abort`, pytest's `fail`) from a library `module` imports something else of: the
    call meant that one, and with its import forgotten it raises `NameError` (the
    caller checked that the module binds `name` nowhere)."""
    roots = {q.split(".", 1)[0] for q in module.imports.values()}
    return any(tail == name and lib.split(".", 1)[0] in roots for lib, tail in RAISING_CALLS)


def _falsy_literal(value: cst.BaseExpression | None) -> bool:
    """`None` (or no value), `False`, `0`, `""` or an empty list, tuple, dict or set."""
    if value is None:
        return True
    if isinstance(value, cst.Name):
        return value.value in ("None", "False")
    if isinstance(value, cst.Integer):
        return value.value == "0"
    if isinstance(value, cst.SimpleString):
        return value.value in ('""', "''")
    if isinstance(value, (cst.List, cst.Tuple, cst.Dict, cst.Set)):
        return not value.elements
    return False


def _raises_when_falsy(call: cst.Call, func: FunctionInfo) -> bool:
    """`name = call(...)` (or `await call(...)`) whose next statement is `if not name:`
    (or `if name is None:`), with no `else`, ending in `raise` or `return`: a falsy
    result (a swallowed failure) leaves the handler at once, and the framework ends
    its session right after."""
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.IndentedBlock):
            continue
        stmts = list(node.body)
        for i, stmt in enumerate(stmts[:-1]):
            if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                    and isinstance(stmt.body[0], cst.Assign)):
                continue
            assign = stmt.body[0]
            value = strip_await(assign.value)[0]
            if value is not call or len(assign.targets) != 1 \
                    or not isinstance(assign.targets[0].target, cst.Name):
                continue
            name = assign.targets[0].target.value
            test = stmts[i + 1]
            if not isinstance(test, cst.If) or test.orelse is not None \
                    or not _tests_falsy(test.test, name):
                return False
            body = body_statements(test.body)
            end = body[-1] if body else None
            return isinstance(end, cst.SimpleStatementLine) and bool(end.body) \
                and isinstance(end.body[-1], (cst.Raise, cst.Return))
    return False


def _passes_request_dependency(index: ProjectIndex, call: cst.Call, func: FunctionInfo) -> bool:
    """`call` hands on a parameter of the handler `func` that a dependency fills
    (`db: Session = Depends(get_db)`), and no name from outside `func` (a module's
    long-lived session is no request's: nothing ends it when the route leaves). A
    dependency that `return`s its session, or the session factory itself, has no
    clean-up after the request either: FastAPI runs one only after a generator's
    `yield`."""
    depends = False
    args = list(call.args)
    # a repository method: `UserRepo(db).add(name)`, or `repo.add(name)` with `repo =
    # UserRepo(db)` bound once: what the object was built with is handed on too
    receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
    if isinstance(receiver, cst.Name):
        bound = func.locals.get(receiver.value, [])
        receiver = bound[0] if len(bound) == 1 and isinstance(bound[0], cst.Call) else None
    if isinstance(receiver, cst.Call):
        args += receiver.args
    for arg in args:
        if not isinstance(arg.value, cst.Name):
            continue
        name = arg.value.value
        if func.param(name) is None:
            if name not in func.locals:
                return False
            continue
        found = depends_of(index, func, name)
        if found is not None:
            default, where = found
            if default.args and _without_clean_up(index, default.args[0].value, where):
                return False
            depends = True
    return depends


def _without_clean_up(index: ProjectIndex, expr: cst.BaseExpression,
                      module: ModuleInfo) -> bool:
    """`expr` (what `Depends(...)` is given, read in `module`) is known and is no
    generator: a project function without `yield`, or a session factory itself
    (`Depends(SessionLocal)`). One from outside the project is taken to clean up."""
    value = index.evaluate(expr, module, None)
    if value is None or isinstance(value, External):
        return False
    return not (isinstance(value, FunctionRef) and value.func.is_generator)


def _raises_when_false_test(call: cst.Call, func: FunctionInfo) -> bool:
    """`call` is the operand of `not` in the test of an `if` of `func` with no `else`,
    whose body ends in `raise`, and no `try` of `func` holds that `if`."""
    for t in func.tries:
        if any(n is call for n in iter_nodes(t.body)):
            return False
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.If) and node.orelse is None \
                and isinstance(node.test, cst.UnaryOperation) \
                and isinstance(node.test.operator, cst.Not) \
                and strip_await(node.test.expression)[0] is call:
            body = body_statements(node.body)
            end = body[-1] if body else None
            return isinstance(end, cst.SimpleStatementLine) and bool(end.body) \
                and isinstance(end.body[-1], cst.Raise)
    return False


def _kept_beyond(func: FunctionInfo, local: str) -> bool:
    """The local `local` of `func` leaves it other than by a call's argument: returned,
    yielded, stored (`self.conn = conn`, `conns[k] = conn`) or declared `global`."""
    return any(isinstance(n, (cst.Global, cst.Nonlocal))
               and any(x.name.value == local for x in n.names)
               for n in iter_nodes(func.node.body)) or name_leaves(func.node.body, local)


def _tests_falsy(test: cst.BaseExpression, name: str) -> bool:
    """`not name`, `name is None` or `name == None`."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return isinstance(test.expression, cst.Name) and test.expression.value == name
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        return isinstance(test.left, cst.Name) and test.left.value == name \
            and isinstance(target.operator, (cst.Is, cst.Equal)) \
            and isinstance(target.comparator, cst.Name) and target.comparator.value == "None"
    return False


def _leaves_when_falsy(call: cst.Call, func: FunctionInfo) -> bool:
    """`if not call(...):` (the call itself is what the test negates), with no `else`,
    whose body ends in `return` or `raise`."""
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.If) or node.orelse is not None:
            continue
        # `if not call():`, also one operand of an `or` (`if not item or not item.delete():`)
        operands: list[cst.BaseExpression] = []
        test: cst.BaseExpression = node.test
        while isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or):
            operands.append(test.right)
            test = test.left
        operands.append(test)
        if not any(isinstance(t, cst.UnaryOperation) and isinstance(t.operator, cst.Not)
                   and strip_await(t.expression)[0] is call for t in operands):
            continue
        body = body_statements(node.body)
        end = body[-1] if body else None
        return isinstance(end, cst.SimpleStatementLine) and bool(end.body) \
            and isinstance(end.body[-1], (cst.Raise, cst.Return))
    return False


#: SQLAlchemy `Query` methods that give back another query (not a row)
_QUERY_BUILDERS = frozenset({
    "query", "filter", "filter_by", "order_by", "join", "outerjoin", "limit", "offset",
    "where", "group_by", "options", "distinct", "with_entities",
})


def _on_query(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
              func: FunctionInfo | None) -> bool:
    """The receiver of `call` (through a name) was built as a query: `X.query` or
    `db.session.query(...)` followed by query-building calls only (`tags_query =
    db.session.query(tags).filter_by(id_tag=i)` ... `tags_query.delete()`), not a row
    that `.first()` or `.get()` gave back."""
    if not isinstance(call.func, cst.Attribute):
        return False
    b = resolve(index, call.func.value, module, func)
    expr: cst.BaseExpression = b.expr
    while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
        if expr.func.attr.value not in _QUERY_BUILDERS:
            return False
        if expr.func.attr.value == "query":
            return True
        expr = expr.func.value
    return isinstance(expr, cst.Attribute) and expr.attr.value == "query"


def _returned_to_handlers(index: ProjectIndex, func: FunctionInfo, depth: int) -> bool:
    """Every call of `func` in the project (tests aside, at least one) is the last
    act of a request handler, or of a function of which the same holds, up to three
    frames up: what `func` gives back goes straight to the framework, which ends the
    request's session."""
    known = facts(index)
    sites = [s for s in known.callers(func) if not is_test_module(s.module)]
    if not sites:
        return False
    for site in sites:
        if site.func is None or not _is_last_act(site.call, site.func):
            return False
        if request_handler(index, site.func) is not None:
            continue
        if depth >= 3 or not _returned_to_handlers(index, site.func, depth + 1):
            return False
    return True


def _is_last_act(call: cst.Call, func: FunctionInfo) -> bool:
    """The call is in a `return` of `func` (outside nested scopes), or in its last
    top-level statement."""
    stmts = body_statements(func.node.body)
    if stmts and any(n is call for n in iter_nodes(stmts[-1])):
        return True
    return any(isinstance(n, cst.Return) and n.value is not None
               and any(m is call for m in iter_nodes(n.value))
               for n in iter_nodes(func.node.body))


def _ends_session_block(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                        func: FunctionInfo, takes_session: bool) -> bool:
    """`call` is the last statement of a `with` block that opened a session or
    connection (`with Session() as s:`, `async with factory() as s, s.begin():`),
    hands that session to the call, and uses it nowhere before: the block's exit
    closes it right after the call, and no earlier work of the block is lost. A
    factory the index cannot resolve (`self.Session()`, set in another method)
    counts when the callee takes a session: what it gets is one, and a session's
    `with` closes it."""
    inner: cst.With | None = None
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.With) and any(n is call for n in iter_nodes(node.body)):
            inner = node  # pre-order: the innermost comes last
    if inner is None:
        return False
    stmts = body_statements(inner.body)
    if not stmts or not any(n is call for n in iter_nodes(stmts[-1])):
        return False
    passed = {a.value.value for a in call.args if isinstance(a.value, cst.Name)}
    for item in inner.items:
        if item.asname is None or not isinstance(item.asname.name, cst.Name):
            continue
        name = item.asname.name.value
        if name not in passed:
            continue
        opened, _ = strip_await(item.item)
        value = index.evaluate(opened, module, func)
        # a session's `with` closes it (`Session.__exit__`), a scoped_session's too
        if value is None:
            if not (takes_session and isinstance(opened, cst.Call)):
                continue
        elif not (isinstance(value, Connection) and (value.kind.with_acquire_releases
                                                     or value.kind.is_session)):
            continue
        if any(isinstance(n, cst.Name) and n.value == name
               for st in stmts[:-1] for n in iter_nodes(st)):
            continue
        return True
    return False


def _closed_connection_check(test: cst.BaseExpression,
                             errors: frozenset[str]) -> bool | None:
    """A test of a caught error's text against a driver's text for a closed or lost
    connection (`CLOSED_CONNECTION_MESSAGES`): `str(e) == "connection already closed"`
    or `"connection already closed" in str(e)` -> True (true where the connection is
    closed), `!=` / `not in` / `not (...)` -> False; anything else -> None. `e` must be
    a name a handler binds its error to."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _closed_connection_check(test.expression, errors)
        return None if inner is None else not inner
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    left, right, op = test.left, target.comparator, target.operator
    if isinstance(op, (cst.Equal, cst.NotEqual)):
        if _error_text(right, errors):
            left, right = right, left
        if not _error_text(left, errors):
            return None
        text = string_value(right)
    elif isinstance(op, (cst.In, cst.NotIn)):
        if not _error_text(right, errors):
            return None
        text = string_value(left)
    else:
        return None
    if text is None or not any(m in text.lower() for m in CLOSED_CONNECTION_MESSAGES):
        return None
    return isinstance(op, (cst.Equal, cst.In))


def _error_text(node: cst.BaseExpression, errors: frozenset[str]) -> bool:
    """`str(e)` of a name a handler binds its error to."""
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value == "str" and len(node.args) == 1
            and isinstance(node.args[0].value, cst.Name)
            and node.args[0].value.value in errors)


def _invalidation_check(test: cst.BaseExpression) -> bool | None:
    """`err.connection_invalidated` -> True, `not err.connection_invalidated` -> False,
    anything else -> None."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _invalidation_check(test.expression)
        return None if inner is None else not inner
    if isinstance(test, cst.Attribute) and test.attr.value == "connection_invalidated":
        return True
    return None


def _returns_itself(value: cst.BaseExpression, targets: list[cst.BaseExpression]) -> bool:
    """`conn = conn.execution_options(...)`: a method that returns the object it is
    called on (SQLAlchemy 2.0's `Connection.execution_options`), bound to the same name."""
    inner, _ = strip_await(value)
    if len(targets) != 1 or not isinstance(targets[0], cst.Name) \
            or not isinstance(inner, cst.Call) or not isinstance(inner.func, cst.Attribute) \
            or inner.func.attr.value not in SELF_RETURNING_METHODS:
        return False
    receiver = inner.func.value
    return isinstance(receiver, cst.Name) and receiver.value == targets[0].value


#: methods of a SQLAlchemy session (or scoped_session registry) that send nothing to
#: the database: a session only these have touched still holds no connection
#: calls that end a transaction whatever happens to them: a rollback, a close, a
#: scoped session's `remove()` (they raise only when the connection broke)
_GUARDED_END_METHODS = frozenset({"rollback", "close", "remove"})

#: (`begin()` too: a SQLAlchemy session's transaction connects on its first statement)
#: what ends an idle session's (empty) transaction without connecting: a commit or
#: rollback of a session on which the function never queued anything
_EMPTY_END_METHODS = frozenset({"commit", "rollback"})

#: library functions that keep a session (a listener on it, a transaction manager's
#: hook) and send nothing on it while they run
_REGISTERS_ONLY = frozenset({
    "sqlalchemy.event.listen", "sqlalchemy.event.api.listen", "sqlalchemy.event.remove",
    "sqlalchemy.event.api.remove", "zope.sqlalchemy.register",
    "zope.sqlalchemy.datamanager.register"})

#: a scoped_session's store of its sessions (`Session.registry.has()`, `.clear()`): asking
#: it makes no session and does no work
_REGISTRY_ATTRIBUTE = "registry"

_LAZY_SAFE_METHODS = frozenset({"configure", "add", "add_all", "expunge", "expunge_all",
                                "begin",
                                # a scoped_session's `query_property()` builds a class
                                # descriptor; the registry makes no session for it
                                "query_property"})


def _header(stmt: cst.BaseStatement) -> list[cst.CSTNode]:
    """The parts of `stmt` that run before its body (all of a simple statement)."""
    if isinstance(stmt, cst.SimpleStatementLine):
        return [stmt]
    if isinstance(stmt, (cst.If, cst.While)):
        return [stmt.test]
    if isinstance(stmt, cst.For):
        return [stmt.iter]
    if isinstance(stmt, cst.With):
        return list(stmt.items)
    if isinstance(stmt, cst.Match):
        return [stmt.subject]
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return [stmt]
    return []


def _wake(stmt: cst.BaseStatement, state: State,
          hands_on_unused: Callable[[cst.Call, int, cst.Arg], bool] | None = None,
          queued: frozenset[str] | None = None) -> State:
    """An idle lazy checkout that `stmt` uses (anything but a method of
    `_LAZY_SAFE_METHODS`, calling a scoped_session registry for its session (with
    keywords for its factory or none), asking the registry's store
    (`Session.registry.has()`), a
    lambda that reads it, returning it (alone or in a tuple), storing on it
    (`db_session.ro_bind = engine`, `session.info["k"] = v`), or handing it to a
    function that does not work on it during the call: `hands_on_unused`) may hold
    a connection from this statement on: what raises here or later counts."""
    idle = {f.var for f in state if type(f) is Held and f.idle}
    used: set[str] = set()
    for part in _header(stmt):
        allowed: set[int] = set()
        names: list[cst.Name] = []
        if isinstance(part, cst.SimpleStatementLine):
            for small in part.body:
                if isinstance(small, cst.Assign):
                    allowed.update(id(b) for t in small.targets
                                   if (b := _stored_on(t.target)) is not None)
                elif isinstance(small, cst.Return) and small.value is not None:
                    # handed back, alone or among other results: no work
                    returned = small.value.elements if isinstance(
                        small.value, cst.Tuple) else [cst.Element(small.value)]
                    allowed.update(id(e.value) for e in returned
                                   if isinstance(e.value, cst.Name))
        for n in iter_nodes(part):  # (a lambda's body runs later, if ever)
            if isinstance(n, cst.Call):
                f = n.func
                if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) \
                        and (f.attr.value in _LAZY_SAFE_METHODS
                             or (f.attr.value in _EMPTY_END_METHODS and queued is not None
                                 and f.value.value not in queued)):
                    allowed.add(id(f.value))
                elif isinstance(f, cst.Name) and all(a.keyword is not None for a in n.args):
                    # a scoped_session registry called for its session, also with the
                    # factory's keywords (`Session(bind=engine)`): no connection yet
                    allowed.add(id(f))
                elif isinstance(f, cst.Attribute) and isinstance(f.value, cst.Attribute) \
                        and f.value.attr.value == _REGISTRY_ATTRIBUTE \
                        and isinstance(f.value.value, cst.Name):
                    # the registry's own store (`Session.registry.has()`): no session
                    allowed.add(id(f.value.value))
                if hands_on_unused is not None:
                    allowed.update(id(a.value) for i, a in enumerate(n.args)
                                   if isinstance(a.value, cst.Name) and a.value.value in idle
                                   and hands_on_unused(n, i, a))
            elif isinstance(n, cst.Name) and n.value in idle:
                names.append(n)
        used |= {n.value for n in names if id(n) not in allowed}
    if not used:
        return state
    return frozenset(replace(f, idle=False) if type(f) is Held and f.idle and f.var in used
                     else f for f in state)


def _committed_alone(stmt: cst.BaseStatement) -> str | None:
    """`session` of a line that is only `session.commit()` (or `await
    session.commit()`), else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 \
            or not isinstance(stmt.body[0], cst.Expr):
        return None
    call, _ = strip_await(stmt.body[0].value)
    if isinstance(call, cst.Call) and not call.args and isinstance(call.func, cst.Attribute) \
            and call.func.attr.value == "commit" and isinstance(call.func.value, cst.Name):
        return call.func.value.value
    return None


def _inert(stmt: cst.BaseStatement) -> bool:
    """`pass`, a bare `return` or one of a constant: runs nothing that could reach a
    session's expired objects."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        if isinstance(small, cst.Pass):
            continue
        if isinstance(small, cst.Return) and (
                small.value is None or isinstance(small.value, (
                    cst.Integer, cst.SimpleString, cst.Float))
                or (isinstance(small.value, cst.Name)
                    and small.value.value in ("None", "True", "False"))):
            continue
        return False
    return True


def _stirred(stmt: cst.BaseStatement, state: State) -> State:
    """`state` where the committed lazy checkouts that `stmt`'s header mentions,
    other than as a plain name it assigns to, may hold a connection again."""
    committed = {f.var for f in state if type(f) is Held and f.committed}
    targets: set[int] = set()
    mentioned: set[str] = set()
    for part in _header(stmt):
        if isinstance(part, cst.SimpleStatementLine):
            for small in part.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    bound = [t.target for t in small.targets] if isinstance(
                        small, cst.Assign) else [small.target]
                    targets.update(id(t) for t in bound if isinstance(t, cst.Name))
        mentioned.update(n.value for n in iter_nodes(part) if isinstance(n, cst.Name)
                         and n.value in committed and id(n) not in targets)
    if not mentioned:
        return state
    return frozenset(replace(f, committed=False) if type(f) is Held and f.committed
                     and f.var in mentioned else f for f in state)


def _drawn_session(state: State, call: cst.Call) -> State:
    """`session = Session()` on a `scoped_session` registry held here: the registry's
    thread session is followed under its new name from here (its `close()`, the
    registry's `remove()` or its `with` releases it), not under the registry's."""
    registry = call.func.value if isinstance(call.func, cst.Name) else None
    if registry is None or not any(type(f) is Held and f.var == registry for f in state):
        return state
    return frozenset(f for f in state if not (type(f) is Held and f.var == registry))


def _getattr_method(call: cst.Call) -> tuple[str, str] | None:
    """(`conn`, `"rollback"`) for `getattr(conn, "rollback")` (a default may follow)."""
    looked_up = getattr_literal(call)
    if looked_up is None or not isinstance(looked_up[0], cst.Name):
        return None
    return looked_up[0].value, looked_up[1]


def _stored_on(target: cst.BaseExpression) -> cst.Name | None:
    """The name an assignment stores into (`session` in `session.replica = x` or
    `session.info["label"] = x`), or None for a plain name."""
    if not isinstance(target, (cst.Attribute, cst.Subscript)):
        return None
    node: cst.BaseExpression = target
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node if isinstance(node, cst.Name) else None


def _only_keeps(func: cst.FunctionDef, param: str) -> bool:
    """`func`'s own body reads `param` only to store it (the value of an assignment to
    an attribute or a subscript) or not at all, and calls none of the functions nested
    in it (they read `param` later, when whatever keeps them calls them)."""
    nested = {n.name.value for n in iter_nodes(func.body)
              if isinstance(n, cst.FunctionDef)}
    kept: set[int] = set()
    stack: list[cst.CSTNode] = [func.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) \
                and all(isinstance(t.target, (cst.Attribute, cst.Subscript))
                        for t in node.targets):
            kept.add(id(node.value))
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Name) \
                and node.func.value in nested:
            return False  # a nested function run now reads the session now
        elif isinstance(node, cst.Name) and node.value == param and id(node) not in kept:
            return False
        stack.extend(children(node))
    return True


def _block_opened(expr: cst.BaseExpression | None) -> str | None:
    """`conn` of `conn.transaction()` / `conn.begin()` (awaited or not), else None."""
    if expr is None:
        return None
    inner, _ = strip_await(expr)
    if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
            and inner.func.attr.value in _TRANSACTION_BLOCK_METHODS \
            and isinstance(inner.func.value, cst.Name):
        return inner.func.value.value
    return None


def _fresh_begins(node: cst.With, state: State) -> frozenset[str]:
    """The idle lazy checkouts (a SQLAlchemy session nothing has used yet) whose
    transaction `node` is: `with session.begin():`, `async with session.begin():`.
    The block's exit ends the transaction (commit, or rollback on an exception) and
    the session gives its connection back, so an exception out of the block leaves
    nothing checked out."""
    idle = {f.var for f in state if type(f) is Held and f.idle}
    if not idle:
        return frozenset()
    found: set[str] = set()
    for item in node.items:
        inner, _ = strip_await(item.item)
        if isinstance(inner, cst.Call) and not inner.args \
                and isinstance(inner.func, cst.Attribute) \
                and inner.func.attr.value == "begin" \
                and isinstance(inner.func.value, cst.Name) and inner.func.value.value in idle:
            found.add(inner.func.value.value)
    return frozenset(found)


def _busy(state: State) -> State:
    """`state` without the idle lazy checkouts (an exception there leaks nothing)."""
    if not any(type(f) is Held and f.idle for f in state):
        return state
    return frozenset(f for f in state if not (type(f) is Held and f.idle))


def _bind(state: State, names: set[str] | frozenset[str]) -> State:
    """`names` are bound from here on: no longer `Unbound`, for any checkout either."""
    if not names or not any(isinstance(f, Unbound) for f in state):
        return state
    return frozenset(
        replace(f, unbound=f.unbound - names) if isinstance(f, Held) and f.unbound & names
        else f for f in state if not (isinstance(f, Unbound) and f.var in names))


def _unbound_in(state: State) -> frozenset[str]:
    return frozenset(f.var for f in state if isinstance(f, Unbound))


def _forget_release(state: State, names: set[str],
                    cursors: Collection[str] = ()) -> State:
    """`names` are bound again: what PS106 knew about them is over. Those of them that
    are cursor names (`cursors`) no longer name a released connection's old cursor."""
    if not names:
        return state
    kept = frozenset(f for f in state if not (
        isinstance(f, (Released, Returned, Reopened)) and f.var in names))
    return _note_rebound(kept, {n for n in names if n in cursors})


def _note_rebound(state: State, names: set[str]) -> State:
    """Each `Released` fact of `state` learns that `names` were bound again after it."""
    if not names or not any(isinstance(f, Released) and not names <= f.rebound
                            for f in state):
        return state
    return frozenset(replace(f, rebound=f.rebound | names) if isinstance(f, Released)
                     else f for f in state)


def _chain_root(func: cst.BaseExpression) -> str | None:
    """The name an attribute chain of a call starts from (`repo.users.add` -> `repo`);
    None for a plain name or anything else."""
    if not isinstance(func, cst.Attribute):
        return None
    node: cst.BaseExpression = func
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _is_dataclass(cls: ClassInfo) -> bool:
    """`@dataclass` / `@dataclasses.dataclass(...)` on the class: its `__init__` takes
    the annotated fields and stores each on the instance."""
    for deco in cls.node.decorators:
        target = deco.decorator.func if isinstance(deco.decorator, cst.Call) \
            else deco.decorator
        name = dotted_name(target)
        if name is not None and name.rsplit(".", 1)[-1] == "dataclass":
            return True
    return False


def _stores_param(init: FunctionInfo, param: str) -> bool:
    """`__init__` stores its parameter `param` on the instance (`self.session =
    session`)."""
    positional = init.node.params.params
    if not positional:
        return False
    own = positional[0].name.value
    for node in iter_nodes(init.node.body):
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) \
                and node.value.value == param:
            for t in node.targets:
                if isinstance(t.target, cst.Attribute) and isinstance(t.target.value, cst.Name) \
                        and t.target.value.value == own:
                    return True
    return False


def _plain_names(expr: cst.BaseExpression) -> list[str]:
    """`conn` -> [conn]; `(conn, cur)` -> [conn, cur]; anything else -> []."""
    inner, _ = strip_await(expr)
    if isinstance(inner, cst.Name):
        return [inner.value]
    if isinstance(inner, (cst.Tuple, cst.List)):
        return [e.value.value for e in inner.elements if isinstance(e.value, cst.Name)]
    return []


def _drop_aborted(state: State, resource: str) -> State:
    return frozenset(f for f in state if not (isinstance(f, Aborted) and f.resource == resource))


def _is_constructor(func: cst.BaseExpression) -> bool:
    """A dotted name whose last part is capitalised: `Thing(...)`, `mod.Thing(...)`."""
    if type(func) is cst.Attribute:
        assert isinstance(func, cst.Attribute)
        last = func.attr.value
    elif type(func) is cst.Name:
        assert isinstance(func, cst.Name)
        last = func.value
    else:
        return False
    return last[:1].isupper() and dotted_name(func) is not None


def _is_rollback_sql(call: cst.Call) -> bool:
    args = positional_args(call)
    if not args:
        return False
    text = _sql_text(args[0])
    if text is None and isinstance(args[0], cst.Call) and positional_args(args[0]):
        text = _sql_text(positional_args(args[0])[0])  # text("ROLLBACK")
    return text is not None and text.strip().upper().startswith("ROLLBACK")


def _sql_text(node: cst.BaseExpression) -> str | None:
    """`string_value`, except for a literal that cannot read "rollback": one spelt in
    ASCII without escapes, and without that word (evaluating each SQL literal of a
    function costs more than the rest of its analysis)."""
    if type(node) is cst.SimpleString:
        assert isinstance(node, cst.SimpleString)
        raw = node.value
        if raw.isascii() and "\\" not in raw and "rollback" not in raw.lower():
            return ""
    return string_value(node)


def _reopened_connection(expr: cst.BaseExpression, state: State) -> str | None:
    """`session.connection()` (no arguments) of a closed session that the state says
    was used again (`Reopened`): the session's name, else None."""
    if isinstance(expr, cst.Call) and not expr.args \
            and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "connection" \
            and isinstance(expr.func.value, cst.Name):
        name = expr.func.value.value
        if any(isinstance(f, Reopened) and f.var == name for f in state):
            return name
    return None


def _ends_nothing(use: cst.CSTNode, name: str) -> bool:
    """`name.commit()` or `name.rollback()`, with no arguments."""
    return isinstance(use, cst.Call) and not use.args \
        and isinstance(use.func, cst.Attribute) \
        and use.func.attr.value in ("commit", "rollback") \
        and isinstance(use.func.value, cst.Name) and use.func.value.value == name


def cursor_owners(expr: cst.BaseExpression, cursors: Mapping[str, str]) -> set[str]:
    """The connections whose cursor `expr` hands on when it is returned, stored or
    passed to a constructor: `conn.cursor()`, a name `cursors` maps to its connection
    (`cur = conn.cursor()`), or one of those inside a tuple or list. The cursor holds
    its connection (`cursor.connection`), through which its new owner uses and closes
    it, so the connection leaves with it."""
    parts = [expr]
    if isinstance(expr, (cst.Tuple, cst.List)):
        parts.extend(e.value for e in expr.elements)
    out: set[str] = set()
    for part in parts:
        part = strip_await(part)[0]
        if isinstance(part, cst.Call) and isinstance(part.func, cst.Attribute) \
                and part.func.attr.value in CURSOR_METHODS \
                and isinstance(part.func.value, cst.Name):
            out.add(part.func.value.value)
        elif isinstance(part, cst.Name) and part.value in cursors:
            out.add(cursors[part.value])
    return out


def escaping_names(expr: cst.BaseExpression, *, through_calls: bool = False) -> set[str]:
    """Names whose object itself flows out of `expr` (not just a method call on it).

    Arguments of calls count only with `through_calls` (what a returned call
    builds may carry the connection out; an assigned call's result is a use)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [expr]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Name):
            out.add(cur.value)
            continue
        if isinstance(cur, cst.Attribute):
            # `conn.cursor()` uses conn; `conn` itself does not flow out
            if not isinstance(cur.value, cst.Name):
                stack.append(cur.value)
            continue
        if isinstance(cur, cst.Call):
            stack.append(cur.func)
            if through_calls:
                stack.extend(a.value for a in cur.args)
            continue
        stack.extend(children(cur))
    return out


def _connected_check(test: cst.BaseExpression) -> tuple[str | None, bool]:
    """`conn.is_connected()` (mysql.connector), `conn.open` (pymysql), `not
    conn.closed` (psycopg), `not conn.is_closed()` (asyncpg) -> (conn, True); their
    negations -> (conn, False)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        var, positive = _connected_check(test.expression)
        return var, not positive
    if isinstance(test, cst.Call) and not test.args and isinstance(test.func, cst.Attribute) \
            and test.func.attr.value in ("is_connected", "is_closed") \
            and isinstance(test.func.value, cst.Name):
        return test.func.value.value, test.func.attr.value == "is_connected"
    if isinstance(test, cst.Attribute) and isinstance(test.value, cst.Name):
        if test.attr.value == "open":
            return test.value.value, True
        if test.attr.value == "closed":
            return test.value.value, False
    return None, True


def _is_scope_check(test: cst.BaseExpression) -> bool:
    """`"name" in locals()` (or `dir()`, `vars()`, `globals()`), negated or not."""
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test = test.expression
    return (isinstance(test, cst.Comparison) and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].comparator, cst.Call)
            and dotted_name(test.comparisons[0].comparator.func) in _SCOPE_FUNCTIONS)


def holds_for_checkout(test: cst.BaseExpression, var: str, func: FunctionInfo) -> bool:
    """Whether `test` is true wherever `var` holds a connection checked out in `func`:
    `var`, `var is not None`, `var != self.conn` (a test of which connection it is),
    or an `and` of those; a guard like this never skips the release of our own
    checkout."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return holds_for_checkout(test.left, var, func) and \
            holds_for_checkout(test.right, var, func)
    name, truthy = _guard(test)
    if name is not None:
        return name == var and truthy and not _is_scope_check(test)
    other = _identity_check(test)
    return other is not None and other[0] == var and other[2] and _not_an_alias(other[1], func)


def _not_an_alias(other: cst.BaseExpression, func: FunctionInfo) -> bool:
    """`other` cannot hold a connection checked out in `func`: an attribute
    (`self.conn`: storing the checkout there hands it on) or a parameter."""
    if isinstance(other, cst.Attribute):
        return dotted_name(other) is not None
    return isinstance(other, cst.Name) and other.value in func.all_param_names() \
        and other.value not in func.locals


def _identity_check(test: cst.BaseExpression) -> tuple[str, cst.BaseExpression, bool] | None:
    """`conn != other` / `conn is not other` -> (conn, other, True); `==` / `is` ->
    (conn, other, False): a test of *which* connection `conn` is (not of None)."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return None
    comp = test.comparisons[0]
    left, right = test.left, comp.comparator
    if not isinstance(left, cst.Name):
        left, right = right, left
    if not isinstance(left, cst.Name) or left.value == "None" or (
            isinstance(right, cst.Name) and right.value in ("None", left.value)):
        return None
    if isinstance(comp.operator, (cst.NotEqual, cst.IsNot)):
        return left.value, right, True
    if isinstance(comp.operator, (cst.Equal, cst.Is)):
        return left.value, right, False
    return None


def _is_none_check(test: cst.BaseExpression) -> bool:
    """`x is None` / `x is not None`, `not` around either."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _is_none_check(test.expression)
    return (isinstance(test, cst.Comparison) and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, (cst.Is, cst.IsNot))
            and isinstance(test.comparisons[0].comparator, cst.Name)
            and test.comparisons[0].comparator.value == "None")


def _refine_attribute(test: cst.BaseExpression, state: State) -> tuple[State, State]:
    """Split the state on `if self.conn is not None:` / `if self.conn:` (and their
    negations): where the attribute is None, no transaction of it can be aborted
    (`finally: if self.conn is not None: self.conn.close()` closes it on the other
    branch). Other tests split nothing."""
    attr, truthy = _attribute_guard(test)
    if attr is None:
        return state, state
    gone = frozenset(f for f in state if isinstance(f, Aborted) and (
        f.resource == attr or f.resource.startswith(f"{attr}.")))
    return (state, state - gone) if truthy else (state - gone, state)


def _attribute_guard(test: cst.BaseExpression) -> tuple[str | None, bool]:
    """`self.conn` / `self.conn is not None` -> ("self.conn", True); `not self.conn` /
    `self.conn is None` -> ("self.conn", False); anything else -> (None, True)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        attr, truthy = _attribute_guard(test.expression)
        return attr, not truthy
    if isinstance(test, cst.Attribute):
        return dotted_name(test), True
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
            and isinstance(test.left, cst.Attribute):
        comp = test.comparisons[0]
        if isinstance(comp.comparator, cst.Name) and comp.comparator.value == "None" \
                and isinstance(comp.operator, (cst.Is, cst.IsNot)):
            return dotted_name(test.left), isinstance(comp.operator, cst.IsNot)
    return None, True


def _guard(test: cst.BaseExpression) -> tuple[str | None, bool]:
    """`conn` / `conn is not None` -> (conn, True); `not conn` / `conn is None` -> (conn, False)."""
    if isinstance(test, cst.Name):
        return test.value, True
    if isinstance(test, cst.NamedExpr):  # `if conn := pool.getconn():`
        return _guard(test.target)
    if (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, (cst.In, cst.NotIn))
        and isinstance(test.comparisons[0].comparator, cst.Call)
        and dotted_name(test.comparisons[0].comparator.func) in _SCOPE_FUNCTIONS
    ):
        # `if "conn" in locals():` is true exactly when `conn` was bound
        name = string_value(test.left)
        if name is not None and name.isidentifier():
            return name, isinstance(test.comparisons[0].operator, cst.In)
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        var, truthy = _guard(test.expression)
        return var, not truthy
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left = test.left
        if isinstance(left, cst.NamedExpr):  # `(conn := pool.getconn()) is not None`
            left = left.target
        comp = test.comparisons[0]
        if not isinstance(left, cst.Name):
            return None, True
        if isinstance(comp.comparator, cst.Name) and comp.comparator.value == "None":
            if isinstance(comp.operator, cst.IsNot):
                return left.value, True
            if isinstance(comp.operator, cst.Is):
                return left.value, False
    return None, True


def exception_types(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The classes an `except` clause or an `isinstance` check names: `(A, B)` -> A, B."""
    if isinstance(expr, cst.Tuple):
        return [e.value for e in expr.elements]
    return [expr]


def _flushes(body: cst.BaseSuite) -> bool:
    """A `try` body calls a method that queues, flushes or commits objects (outside
    nested functions): a flush that fails leaves the session pending rollback."""
    return any(isinstance(c.func, cst.Attribute) and c.func.attr.value in FLUSHING_METHODS
               for c in iter_calls(body))


#: builtin exceptions no database driver raises for a failed statement (their DB-API
#: errors derive from `Exception` through the driver's own `Error`)
NON_DATABASE_BUILTIN_ERRORS = frozenset({
    "ValueError", "TypeError", "KeyError", "IndexError", "LookupError", "AttributeError",
    "UnicodeError", "UnicodeDecodeError", "UnicodeEncodeError", "NotImplementedError",
    "ZeroDivisionError", "FileNotFoundError", "FileExistsError",
})


def is_db_error_type(index: ProjectIndex, node: cst.BaseExpression, module: ModuleInfo,
                     func: FunctionInfo | None) -> bool:
    """Whether an exception class is a database error: a class of a database package
    (`psycopg2.Error`, `sqlalchemy.exc.IntegrityError`) or a DB-API error name."""
    value = index.evaluate(node, module, func)
    qual = value.qualname if isinstance(value, External) else (dotted_name(node) or "")
    last = qual.rsplit(".", 1)[-1]
    if isinstance(value, External) and qual.split(".")[0] not in DB_ERROR_ROOTS \
            and last not in DB_ERROR_NAMES and last \
            and index.unread_files_match(_class_def_pattern(last)):
        # a project exception class in a module the prefilter left unread (it
        # touches no database): read it to know what the class is
        with index.full_resolution():
            value = index.evaluate(node, module, func)
    if isinstance(value, ClassRef):
        with index.full_resolution():
            return translated_db_error(index, value.cls)
    if last in CLIENT_RESULT_ERROR_NAMES:
        return False
    return ((isinstance(value, External) and qual.split(".")[0] in DB_ERROR_ROOTS)
            or last in DB_ERROR_NAMES)


def _class_def_pattern(name: str) -> re.Pattern[bytes]:
    return spelling(rb"\bclass\s+" + re.escape(name.encode()) + rb"\b", [name])


class _RaiseSites(cst.CSTVisitor):
    """Every `raise X` / `raise X(...)` of a module, with the innermost `except`
    clause it sits in (None outside any, or when a function or class lies between)
    and the function it is in."""

    def __init__(self) -> None:
        self.handlers: list[cst.ExceptHandler | None] = []
        self.defs: list[cst.FunctionDef] = []
        self.sites: list[tuple[cst.Raise, cst.ExceptHandler | None,
                               cst.FunctionDef | None]] = []

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.handlers.append(node)

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self.handlers.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.defs.append(node)
        self.handlers.append(None)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.defs.pop()
        self.handlers.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.handlers.append(None)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.handlers.pop()

    def visit_Raise(self, node: cst.Raise) -> None:
        self.sites.append((node, self.handlers[-1] if self.handlers else None,
                           self.defs[-1] if self.defs else None))


def translated_db_error(index: ProjectIndex, cls: ClassInfo) -> bool:
    """A project exception class that the project raises only while handling a
    database error (`except IntegrityError: raise SlugTaken`): catching it catches
    that database error under another name, with the transaction still failed. At
    least one `raise` of it, and every one inside an `except` whose classes are all
    database errors and that neither rolls back, closes nor removes anything first
    (`except IntegrityError: db.rollback(); raise SlugTaken` ends the transaction)."""
    memo: dict[int, tuple[cst.ClassDef, bool]] = index.derived(_TRANSLATED_KEY, dict)
    key = id(cls.node)
    known = held(memo, key, cls.node)
    if known is not None:
        return known[1]
    # while it is worked out (an except naming the class itself)
    memo[key] = (cls.node, False)
    pattern = spelling(rb"raise\s+[\w.]*\b" + re.escape(cls.name.encode()) + rb"\b", [cls.name])
    found = False
    for m in index.modules_matching(pattern):
        visitor = _RaiseSites()
        m.tree.visit(visitor)
        for raise_node, handler, def_node in visitor.sites:
            exc = raise_node.exc
            if exc is None:
                continue
            target = exc.func if isinstance(exc, cst.Call) else exc
            func = None if def_node is None else m.by_node.get(id(def_node))
            value = index.evaluate(target, m, func)
            if not isinstance(value, ClassRef) or value.cls is not cls:
                continue
            if handler is None or handler.type is None or not all(
                    is_db_error_type(index, t, m, func)
                    for t in exception_types(handler.type)):
                return False  # memo stays False
            if any(isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                   and n.func.attr.value in ("rollback", "close", "remove")
                   for n in iter_nodes(handler.body)):
                return False  # the transaction ended before the new error was raised
            found = True
    memo[key] = (cls.node, found)
    return found


#: `ProjectIndex.derived` key of `translated_db_error`'s memo
_TRANSLATED_KEY = "flow.translated_db_error"


def is_pytest_fixture(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` is decorated with `@pytest.fixture` (or pytest-asyncio's)."""
    for deco in func.node.decorators:
        expr = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
        value = index.evaluate(expr, func.module, None)
        if isinstance(value, External) and value.qualname.split(".")[0] in (
                "pytest", "pytest_asyncio") and value.qualname.endswith(".fixture"):
            return True
    return False


#: nested scopes, by exact type (`_shape` and `_db_work_in` do not enter them)
_SCOPE_NODE_TYPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})

#: SQLAlchemy's error classes (last part of the name) that every error a statement of a
#: SQLAlchemy connection or session raises derives from
_SQLALCHEMY_BASE_ERRORS = frozenset({"SQLAlchemyError", "DBAPIError"})
#: connection kinds whose statements' errors SQLAlchemy wraps in those classes (not a
#: raw DB-API connection: `engine.raw_connection()`, a pool's checkout)
_SQLALCHEMY_WRAPPED_KINDS = frozenset({
    "sqlalchemy-connection", "sqlalchemy-async-connection", "session", "scoped-session",
    "async-session"})


def analyse_function(index: ProjectIndex, func: FunctionInfo) -> FlowResult:
    flow = FunctionFlow(index, func)
    return flow.run() if flow.relevant() else FlowResult()


#: dialect names (SQLAlchemy's `dialect.name`) of databases that undo only the failed
#: statement and keep the transaction usable
_STATEMENT_LEVEL_DIALECTS = frozenset({"sqlite", "mysql", "mariadb", "mssql", "oracle",
                                       "clickhouse", "bigquery", "snowflake", "trino",
                                       "hive", "databricks", "db2", "ibm_db_sa"})

#: session methods that send a statement without flushing queued objects first
#: being their purpose (autoflush aside); `query(...)` builds a Query whose statement runs
#: when it is read, `get(...)` reads at once
_EXECUTE_METHODS = frozenset({"execute", "exec", "scalar", "scalars", "exec_driver_sql",
                              "query", "get"})


#: session methods that queue or write objects (a failed flush leaves the session
#: pending rollback whatever the database)
_QUEUE_METHODS = frozenset({"add", "add_all", "merge", "delete", "flush",
                            "bulk_save_objects", "bulk_insert_mappings",
                            "bulk_update_mappings"})


def _queues_objects(scope: cst.CSTNode, resource: str) -> bool:
    """Some call in `scope` queues, deletes or flushes objects on `resource`."""
    for node in iter_nodes(scope):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value in _QUEUE_METHODS \
                and dotted_name(node.func.value) == resource:
            return True
    return False


def _only_executes(body: cst.BaseSuite, resource: str) -> bool:
    """Every call on `resource` in `body` executes a statement (no add, flush or
    commit), and some does."""
    found = False
    for node in iter_nodes(body):
        if isinstance(node, cst.Call):
            f = node.func
            if isinstance(f, cst.Attribute) and dotted_name(f.value) == resource:
                if f.attr.value not in _EXECUTE_METHODS:
                    return False
                found = True
    return found


def _is_dialect_name(expr: cst.BaseExpression) -> bool:
    """`<x>.dialect.name`."""
    return isinstance(expr, cst.Attribute) and expr.attr.value == "name" \
        and isinstance(expr.value, cst.Attribute) and expr.value.attr.value == "dialect"


#: words of a variable's name that say it holds the kind of database
#: (`db_type`, `effective_db_type`, `self.dialect`, `backend`, `DB_VENDOR`)
_DATABASE_KIND_WORDS = frozenset({"db", "dialect", "backend", "database", "driver", "vendor",
                                  "rdbms", "dbms", "flavor", "flavour"})


def _names_database_kind(expr: cst.BaseExpression) -> bool:
    """A name or attribute whose own name says it holds the kind of database
    (`effective_db_type`, `self.db_type`, `dialect`): compared with a database's name,
    it is the code's own test of the database it talks to."""
    if isinstance(expr, cst.Attribute):
        word = expr.attr.value
    elif isinstance(expr, cst.Name):
        word = expr.value
    else:
        return False
    return bool(set(word.lower().split("_")) & _DATABASE_KIND_WORDS)


def _dialect_name_locals(scope: cst.CSTNode) -> frozenset[str]:
    """The plain names `scope` (not its nested functions) binds only to a dialect's
    name: `dialect_name = bind.dialect.name`, or
    `dialect_name = bind.dialect.name if bind is not None else None`."""
    good: set[str] = set()
    bad: set[str] = set()
    for node in iter_nodes(scope):
        if not isinstance(node, cst.Assign):
            continue
        value = node.value
        if isinstance(value, cst.IfExp):
            other = value.orelse if _is_dialect_name(value.body) else value.body
            ok = (_is_dialect_name(value.body) or _is_dialect_name(value.orelse)) \
                and isinstance(other, cst.Name) and other.value == "None"
        else:
            ok = _is_dialect_name(value)
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                (good if ok else bad).add(target.target.value)
    return frozenset(good - bad)


def _statement_level_test(test: cst.BaseExpression,
                          names: frozenset[str] = frozenset()) -> bool:
    """`<x>.dialect.name == "sqlite"`, or `<x>.dialect.name in ("mysql", "mariadb")`
    (also through a local that holds the dialect's name, `names`, and as one operand
    of an `and`): true only on databases that undo just the failed statement."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _statement_level_test(test.left, names) \
            or _statement_level_test(test.right, names)
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left = test.left
    if not (_is_dialect_name(left) or (isinstance(left, cst.Name) and left.value in names)
            or _names_database_kind(left)):
        return False
    target = test.comparisons[0]
    if isinstance(target.operator, cst.Equal):
        return string_value(target.comparator) in _STATEMENT_LEVEL_DIALECTS
    if isinstance(target.operator, cst.In) and isinstance(
            target.comparator, (cst.Tuple, cst.List, cst.Set)):
        names_in = [string_value(e.value) for e in target.comparator.elements]
        return bool(names_in) and all(n in _STATEMENT_LEVEL_DIALECTS for n in names_in)
    return False


def _in_dialect_branch(scope: cst.CSTNode, target: cst.CSTNode) -> bool:
    """`target` sits in the body of an `if` (in `scope`, not in nested functions)
    whose test is a statement-level dialect test."""
    names: frozenset[str] | None = None
    for node in iter_nodes(scope):
        if not isinstance(node, cst.If):
            continue
        if names is None:
            names = _dialect_name_locals(scope)
        if _statement_level_test(node.test, names) and any(
                n is target for n in iter_nodes(node.body)):
            return True
    return False


def _owned_flag_name(target: cst.BaseExpression, conn: Connection) -> frozenset[str]:
    """`conn, mine = helper(given)` where the helper returns `(fresh, True)`: `mine`
    is true wherever the checkout is held (`poolsafe.analysis.owner_flag`)."""
    if conn.owned_flag is None or conn.packed is None:
        return frozenset()
    name = _unpacked_name(target, (conn.owned_flag, conn.packed[1]))
    return frozenset() if name is None else frozenset({name})


def _unpacked_name(target: cst.BaseExpression, packed: tuple[int, int]) -> str | None:
    """The name an unpacking target binds at `packed`'s position, when the target is a
    tuple or list of exactly that many plain names (no starred element)."""
    if not isinstance(target, (cst.Tuple, cst.List)):
        return None
    index, size = packed
    items = target.elements
    if len(items) != size or any(isinstance(e, cst.StarredElement) for e in items):
        return None
    value = items[index].value
    return value.value if isinstance(value, cst.Name) else None


def _target_names(target: cst.BaseExpression) -> set[str]:
    """The plain names an assignment target (re)binds."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {n for e in target.elements for n in _target_names(e.value)}
    return set()


def _code(node: cst.CSTNode) -> str:
    """The source of an expression, as the comparison of two tests needs it."""
    return cst.Module(body=[]).code_for_node(node)


@dataclass(frozen=True)
class _BodyOrder:
    """A function body's nodes in pre-order (nested scopes not entered): each node's
    span of positions (its own subtree), the spans of its loops, and the positions
    where each name is bound or deleted."""
    spans: dict[int, tuple[int, int]]
    loops: list[tuple[int, int]]
    bindings: dict[str, list[int]]

    @classmethod
    def of(cls, body: cst.CSTNode) -> _BodyOrder:
        nodes, spans = preorder_spans(body)
        bindings: dict[str, list[int]] = {}
        for i, n in enumerate(nodes):
            names = bound_names_of(n)
            if isinstance(n, cst.Del):
                names |= {x.value for x in iter_nodes(n.target) if isinstance(x, cst.Name)}
            for name in names:
                bindings.setdefault(name, []).append(i)
        loops = [spans[id(n)] for n in nodes if isinstance(n, (cst.For, cst.While))]
        return cls(spans, loops, bindings)

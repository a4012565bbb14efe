"""PS201 connect-per-request."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.project_facts import (
    facts,
    is_test_module,
    request_handler,
    request_hook,
)
from poolsafe.analysis.resolution import inventory, may_call, resolve
from poolsafe.analysis.values import Connection, FunctionRef
from poolsafe.core.model import RawFinding, Severity
from poolsafe.knowledge import DIRECT_ACQUIRERS
from poolsafe.knowledge.frameworks import RAW_CONNECT_KINDS
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps201 import INVALID, VALID

#: final names of the driver functions whose call is a raw connection
_CONNECT_NAMES = frozenset(
    name for (_, name), acq in DIRECT_ACQUIRERS.items() if acq.kind in RAW_CONNECT_KINDS
) | {"connect"}

#: methods that open the server connection of an existing connection object again
_REOPEN_NAMES = frozenset({"reconnect", "ping"})

_LABELS = {"fastapi": "FastAPI route", "flask": "Flask view", "django": "Django view"}


class ConnectPerRequest(Rule):
    """
    ## What it does
    Flags a raw driver connection (`psycopg2.connect`, `psycopg.connect`,
    `pymysql.connect`, `mysql.connector.connect`, `asyncpg.connect`, and wrappers
    that call one each time, such as Flask-MySQL's `MySQL().connect()`) opened
    inside a request handler, or inside a function that only request handlers call.

    Request handlers are FastAPI and Flask routes (decorators of a `FastAPI`,
    `APIRouter`, `Flask` or `Blueprint` instance), the HTTP-method methods of a
    class deriving from Django's `View`, a DRF view or Flask's `MethodView` (also
    Flask-RESTful's, Flask-RESTX's and Flask-RESTPlus's `Resource`, which are
    `MethodView`s), and
    the functions of a Django `views` module that take `request` first (or carry
    a Django view decorator). A function counts as "only called by handlers"
    when it has callers and every one of them is a handler or such a function;
    the wrapper inside a decorator (`def staff_only(view): def check(...): ...;
    return check`) counts as a handler when the project applies that decorator only
    to handlers (or nowhere) and never calls it by hand: it runs in their requests.
    A decorator of the same name applied in a file whose import of it cannot be
    followed (a star import of a module that is not in the project) leaves that
    unknown, and the wrapper is not counted. Code that runs at the start of every
    request without being a route counts too: a FastAPI dependency (`Depends(get_db)`,
    also one a dependency class's `__init__` asks for), an HTTP middleware
    (`@app.middleware("http")`, a `BaseHTTPMiddleware`'s `dispatch`) and Flask's
    `@app.before_request` hooks. Calls are followed through `import pkg.module`
    (`pkg.module.get_conn()`), also when `pkg` has no `__init__.py`.

    Where it is reported: a wrapper that opens a fresh connection on every call
    (`def open_db(): return psycopg2.connect(DSN)`) and that only request code
    calls is reported once, at its `connect()`. When the wrapper also serves code
    that is not request code (a script's `main()`, a CLI command, a function
    nobody calls), its `connect()` is not reported, and each request handler (or
    helper only handlers call) that calls the wrapper is reported at that call:
    the handler still opens a new server connection per request. An accessor that
    caches its connection on `flask.g` (or another attribute) is no such wrapper:
    its callers are not reported, the accessor is when only request code uses it.

    A long-lived connection (a module's, or one an accessor caches on `flask.g`)
    that such a function closes after its query and opens again at the next call
    with `conn.reconnect()` or `conn.ping(reconnect=True)` is one new server
    connection per request too, and is reported at the reopening call.
    `ping(reconnect=True)` without the close only reconnects a connection that
    died, and is not reported.

    A `connect()` in a maintenance script, a CLI command or at module level runs
    once and is not reported; neither is `mysql.connector.connect(pool_name=...)`,
    which checks out of a pool.

    ## Tests, one-shot code and processes
    Test modules are not reported: a test server's handlers serve a test run, not
    production. Code that runs once per process (a script's `main()`, a CLI
    command, module level) is not reported either: only code that runs once per
    request opens a connection per request. Each worker process of a web server
    runs its handlers, so a connect per request is a connect per request in every
    worker.

    ## Why is this bad?
    Each request pays a TCP and TLS handshake and server-side authentication
    (for PostgreSQL, a new backend process), typically 5-50 ms. Under load the
    server runs out of connection slots ("remaining connection slots are
    reserved", "Too many connections") long before the application runs out of
    CPU, and any path that misses `close()` leaks a server connection.

    ## Example
    ```python
    @app.route("/users/<int:user_id>")
    def show_user(user_id):
        conn = psycopg2.connect(DSN)
        try:
            ...
        finally:
            conn.close()
    ```

    ## Use instead
    ```python
    pool = ThreadedConnectionPool(1, 10, DSN)   # once, at startup

    @app.route("/users/<int:user_id>")
    def show_user(user_id):
        conn = pool.getconn()
        try:
            ...
        finally:
            pool.putconn(conn)
    ```
    or a SQLAlchemy engine created once at module level.

    ## Fix safety
    No automatic fix: where the pool lives and how it is configured is the
    application's decision.
    """

    code = "PS201"
    name = "connect-per-request"
    summary = "a raw driver connect() inside a request handler"
    severity = Severity.WARNING
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return  # a test server's handlers serve a test run, not production
        handlers: dict[int, str | None] = {}
        for call, func in inventory(ctx.module).calls:
            if func is None or not (may_call(call, _CONNECT_NAMES, ctx.module, func)
                                    or _may_be_wrapper(call, ctx)):
                continue
            value = ctx.index.evaluate(call, ctx.module, func)
            if not (isinstance(value, Connection) and value.kind_key in RAW_CONNECT_KINDS):
                continue
            if value.via is not None and not _wrapper_unreported(ctx, call, func, handlers):
                continue  # the wrapper's own connect() is reported (or nothing is per request)
            handler = _handler(ctx, func, handlers)
            if handler is None:
                continue
            yield self.finding(
                call,
                f"{_where(handler, func)} opens a new {value.kind.label} with "
                f"`{value.origin}` on every request; create a pool (or engine) once at "
                "startup and check out of it",
            )
        yield from self._reopened(ctx, handlers)

    def _reopened(self, ctx: FileContext, handlers: dict[int, str | None]
                  ) -> Iterator[RawFinding]:
        """`conn.reconnect()` or `conn.ping(reconnect=True)` on a long-lived
        connection that the same function closes: every call finds it closed by the
        previous one and opens a new server connection."""
        for call, func in inventory(ctx.module).calls:
            f = call.func
            if func is None or not isinstance(f, cst.Attribute) \
                    or f.attr.value not in _REOPEN_NAMES:
                continue
            if f.attr.value == "ping" and not _reconnect_true(call):
                continue
            receiver = f.value
            if _assigned_in(receiver, func) or not _closes(receiver, func):
                continue
            value = _connection_of(ctx, receiver, func)
            if not (isinstance(value, Connection) and value.kind_key in RAW_CONNECT_KINDS):
                continue
            handler = _handler(ctx, func, handlers)
            if handler is None:
                continue
            yield self.finding(
                call,
                f"{_where(handler, func)} closes this {value.kind.label} and opens it "
                f"again with `{f.attr.value}`: a new server connection on every request; "
                "keep it open (or check out of a pool) instead of closing it after each "
                "query",
            )


def _wrapper_unreported(ctx: FileContext, call: cst.Call, func: FunctionInfo,
                        memo: dict[int, str | None]) -> bool:
    """`call` (in `func`) is a project wrapper that opens a fresh raw connection on
    every call (`def open_db(): return psycopg2.connect(DSN)`) and that is no request
    code itself: it also serves a script, a CLI command or a function nobody calls.
    Its own `connect()` is then not reported, so a request handler calling it is
    (the handler opens one connection per request). A wrapper that only request
    code reaches is reported inside, once, and not again at its callers."""
    if _handler(ctx, func, memo) is None:
        return False
    callee = ctx.index.evaluate(call.func, ctx.module, func)
    if not isinstance(callee, FunctionRef):
        return False
    return _handler(ctx, callee.func, memo) is None


def _may_be_wrapper(call: cst.Call, ctx: FileContext) -> bool:
    """A cheap pre-check for a call of a project wrapper that `may_call` does not
    see: a function of this module (`open_db()`), or a function of an imported
    project module (`db.open_db()`)."""
    f = call.func
    if isinstance(f, cst.Name):
        return f.value in ctx.module.functions
    return isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) \
        and f.value.value in ctx.module.imports


def _handler(ctx: FileContext, func: FunctionInfo, memo: dict[int, str | None]
             ) -> str | None:
    """What serves requests through `func` (a route's kind, "helper" for code only
    request handlers reach), or None; memoised per function for one file's check."""
    key = id(func.node)
    if key not in memo:
        handler = request_handler(ctx.index, func)
        if handler is None and request_hook(ctx.index, func):
            handler = "hook"
        elif handler is None and facts(ctx.index).request_only(func):
            handler = "dependency" if id(func.node) in ctx.index.dependency_functions() \
                else "helper"
        memo[key] = handler
    return memo[key]


def _connection_of(ctx: FileContext, receiver: cst.BaseExpression,
                   func: FunctionInfo) -> object:
    """What `receiver` is; also a module-level `db = get_db()` whose accessor
    caches the driver's connection on an attribute and returns it
    (`g.db = mysql.connector.connect(...)`; `return g.db`)."""
    value = ctx.index.evaluate(receiver, ctx.module, func)
    if value is not None:
        return value
    bound = resolve(ctx.index, receiver, ctx.module, func)
    if not isinstance(bound.expr, cst.Call):
        return None
    callee = ctx.index.evaluate(bound.expr.func, bound.module, bound.func)
    if not isinstance(callee, FunctionRef):
        return None
    accessor = callee.func
    for ret in accessor.returns:
        if not isinstance(ret.value, cst.Attribute):
            continue
        for node in _assignments(accessor.node.body):
            if any(_same(t.target, ret.value) for t in node.targets):
                found = ctx.index.evaluate(node.value, accessor.module, accessor)
                if isinstance(found, Connection):
                    return found
    return None


def _assignments(body: cst.CSTNode) -> Iterator[cst.Assign]:
    """The assignment statements under `body`, not in nested functions or classes."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Assign):
            yield node
            continue
        for child in node.children:
            if not isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                stack.append(child)


def _where(handler: str, func: FunctionInfo) -> str:
    if handler == "helper":
        return f"`{func.name}`, which only request handlers call,"
    if handler == "hook":
        return f"`{func.name}`, which runs at the start of every request,"
    if handler == "dependency":
        return f"FastAPI dependency `{func.name}`"
    return f"{_LABELS[handler]} `{func.name}`"


def _reconnect_true(call: cst.Call) -> bool:
    """`ping(reconnect=True)` or `ping(True)`."""
    for i, arg in enumerate(call.args):
        named = arg.keyword.value if arg.keyword is not None else None
        if named == "reconnect" or (named is None and i == 0):
            return isinstance(arg.value, cst.Name) and arg.value.value == "True"
    return False


def _same(a: cst.BaseExpression, b: cst.BaseExpression) -> bool:
    return a.deep_equals(b)


def _closes(receiver: cst.BaseExpression, func: FunctionInfo) -> bool:
    """The function calls `receiver.close()` itself."""
    return any(isinstance(c.func, cst.Attribute) and c.func.attr.value == "close"
               and not c.args and _same(c.func.value, receiver)
               for c in func.direct_calls)


def _assigned_in(receiver: cst.BaseExpression, func: FunctionInfo) -> bool:
    """A connection the function makes itself (a local name) is PS201's first case."""
    return isinstance(receiver, cst.Name) and receiver.value in func.locals

"""PS201 connect-per-request."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.project_facts import facts, is_test_module, request_handler
from poolsafe.analysis.resolution import inventory, may_call
from poolsafe.analysis.values import Connection
from poolsafe.core.model import RawFinding, Severity
from poolsafe.knowledge import DIRECT_ACQUIRERS
from poolsafe.knowledge.frameworks import RAW_CONNECT_KINDS
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps201 import INVALID, VALID

#: final names of the driver functions whose call is a raw connection
_CONNECT_NAMES = frozenset(
    name for (_, name), acq in DIRECT_ACQUIRERS.items() if acq.kind in RAW_CONNECT_KINDS
) | {"connect"}

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
    class deriving from Django's `View`, a DRF view or Flask's `MethodView`, and
    the functions of a Django `views` module that take `request` first (or carry
    a Django view decorator). A function counts as "only called by handlers"
    when it has callers and every one of them is a handler or such a function;
    the wrapper inside a decorator (`def staff_only(view): def check(...): ...;
    return check`) counts as a handler when the project applies that decorator only
    to handlers (or nowhere) and never calls it by hand: it runs in their requests.

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
            if func is None or not may_call(call, _CONNECT_NAMES, ctx.module, func):
                continue
            value = ctx.index.evaluate(call, ctx.module, func)
            if not (isinstance(value, Connection) and value.via is None
                    and value.kind_key in RAW_CONNECT_KINDS):
                continue
            key = id(func.node)
            if key not in handlers:
                handler = request_handler(ctx.index, func)
                if handler is None and facts(ctx.index).request_only(func):
                    handler = "helper"
                handlers[key] = handler
            handler = handlers[key]
            if handler is None:
                continue
            if handler == "helper":
                where = f"`{func.name}`, which only request handlers call,"
            else:
                where = f"{_LABELS[handler]} `{func.name}`"
            yield self.finding(
                call,
                f"{where} opens a new {value.kind.label} with `{value.origin}` on every "
                "request; create a pool (or engine) once at startup and check out of it",
            )

"""PS201 connect-per-request."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import argument_for, iter_nodes, strip_await
from poolsafe.analysis.index import (
    ProjectIndex,
    class_bases,
    connection_stores,
    held,
    keeps_connection,
)
from poolsafe.analysis.module import ClassInfo, FunctionInfo
from poolsafe.analysis.project_facts import (
    CallSite,
    facts,
    is_test_module,
    request_handler,
    request_hook,
    streamlit_aliases,
)
from poolsafe.analysis.resolution import inventory, may_call, resolve
from poolsafe.analysis.values import ClassRef, Connection, External, FunctionRef
from poolsafe.core.model import RawFinding, Severity, Step
from poolsafe.core.positions import spans
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
    `pymysql.connect`, `mysql.connector.connect`, `asyncpg.connect`,
    `aiomysql.connect`, `aiopg.connect`, and wrappers
    that call one each time, such as Flask-MySQL's `MySQL().connect()`) opened
    inside a request handler, or inside a function that only request handlers call.

    Request handlers are FastAPI and Flask routes (decorators of a `FastAPI`,
    `APIRouter`, `Flask` or `Blueprint` instance), the HTTP-method methods of a
    class deriving from Django's `View`, a DRF view or Flask's `MethodView` (also
    Flask-RESTful's, Flask-RESTX's and Flask-RESTPlus's `Resource` and
    flask-apispec's `MethodResource`, which are `MethodView`s), and
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
    `@app.before_request` hooks, also registered by a call in the hook's module
    (`app.before_request(open_db)` in an `init_app(app)`; `before_first_request`
    runs once and does not count). Calls are followed through `import pkg.module`
    (`pkg.module.get_conn()`), also when `pkg` has no `__init__.py`.

    Where it is reported: once per root cause. A function that opens a fresh
    connection on every call (a wrapper such as `def open_db(): return
    psycopg2.connect(DSN)`, a class whose `__init__` connects, also built through
    a subclass that defines no `__init__` of its own or whose own runs the base's
    (`super().__init__(...)`, `Base.__init__(self, ...)`), an accessor that
    caches the connection on `flask.g` for one request; not one that keeps it in a
    process-wide cache and connects only on a miss, `except KeyError:` or `if conn
    is None:`) and that request code
    calls is reported at its own `connect()`, and only there: the message names
    the request handlers (or the helpers only handlers call) that reach it, and
    the JSON and SARIF reports list their calls as related locations. This holds
    also when the wrapper serves other code besides (a script's `main()`, a CLI
    command, a console program): the requests still open one connection each,
    and the fix (a pool behind the wrapper) is made in one place. The handlers
    that call the wrapper are not reported one by one. A handler that calls
    `connect()` itself is reported at that call. Request code is followed up
    through helpers that are no request code themselves (a helper a script also
    calls), up to six calls deep; a decorator's inner function is followed only
    when the project applies that decorator to request handlers alone. A
    `connect()` that only a flag parameter's branch makes (`def __init__(self,
    long_query=False): if long_query: self.conn = psycopg2.connect(...)` with the
    pool's checkout in the `else`), the flag defaulting to `False` or `None`, is
    reached only by the calls that turn the flag on: a handler's `Client()` or
    `Client(long_query=False)` takes the other branch and does not count;
    `Client(long_query=True)`, `Client(True)` and `Client(**options)` do.

    A long-lived connection (a module's, or one an accessor caches on `flask.g`)
    that such a function closes after its query and opens again at the next call
    with `conn.reconnect()` or `conn.ping(reconnect=True)` is one new server
    connection per request too, and is reported at the reopening call.
    `ping(reconnect=True)` without the close only reconnects a connection that
    died, and is not reported. Nor is a wrapper's call whose result replaces a
    kept connection in an `except` handler (`except OperationalError:
    self.connection = self._connect()` after a probe on it failed): a reconnect,
    not a connection per request.

    A Streamlit script is the exception: Streamlit runs it again from the top at
    every interaction, so a raw `connect()` at its top level is reported (not one
    in a function cached with `@st.cache_resource` or `@st.experimental_singleton`,
    in the script or in a module it imports, which every rerun gets back from the
    cache, nor one kept in
    `st.session_state`, nor one in a module the script imports, which Python runs
    once per process).

    **LISTEN.** A connection a request opens to wait for a PostgreSQL notification
    is not reported: the request code binds it to a local, runs `LISTEN` on it (its
    own or a cursor's `execute("LISTEN channel")`, asyncpg's `add_listener`) and
    closes it in a `finally`, also when a helper opens it for the request code
    (`conn = raw_db_connection()`). PostgreSQL delivers a notification only to the
    session that listens, so the wait needs a session of its own: a pool would hold
    one of its slots for the same wait and hand the `LISTEN` (and autocommit) on to
    the next user if anything went wrong. It is a deliberate connection, closed on
    every path, not a leak. It stays reported when the request code only sends
    `NOTIFY` (any pooled connection can, inside your transaction) and when the
    listening connection is not closed in a `finally`.

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
            if value.via is not None and _project_wrapper(ctx, call, func):
                continue  # the wrapper's own connect() is the finding, once
            if _cache_miss_connect(func, call):
                continue  # a cached accessor: it connects only when its cache has none
            if _listens(func, call) or _listened_by_callers(ctx, func, call):
                continue  # a LISTEN needs a session of its own (see "LISTEN")
            handler = _handler(ctx, func, handlers)
            if handler is not None:
                yield self.finding(
                    call,
                    f"{_where(handler, func)} opens a new {value.kind.label} with "
                    f"`{value.origin}` on every request; create a pool (or engine) once "
                    "at startup and check out of it",
                )
                continue
            sites = _request_callers(ctx, func, handlers, flag=_flag_guard(func, call))
            if not sites:
                continue
            yield self.finding(
                call,
                f"`{func.qualname}` opens a new {value.kind.label} with `{value.origin}` "
                f"on every call, and request code calls it ({_names(sites)}): one new "
                "server connection per request; create a pool (or engine) once at "
                "startup and check out of it",
                _caller_steps(ctx, sites),
            )
        yield from self._reopened(ctx, handlers)
        yield from self._streamlit_reruns(ctx)

    def _streamlit_reruns(self, ctx: FileContext) -> Iterator[RawFinding]:
        """A Streamlit script runs again from the top at every interaction of every
        session: a raw `connect()` at its module level (not cached with
        `@st.cache_resource`, not kept in `st.session_state`) is one new server
        connection per interaction. Only the script Streamlit runs: a module that
        another project module imports runs once per process."""
        if not streamlit_aliases(ctx.module):
            return
        calls = [(call, func) for call, func in inventory(ctx.module).calls
                 if func is None and may_call(call, _CONNECT_NAMES, ctx.module, None)]
        if not calls or ctx.index.importers(ctx.module):
            return
        guarded = _session_state_guarded(ctx.module.tree)
        for call, _ in calls:
            if id(call) in guarded or _streamlit_cached(ctx, call):
                continue
            value = ctx.index.evaluate(call, ctx.module, None)
            if not (isinstance(value, Connection) and value.kind_key in RAW_CONNECT_KINDS):
                continue
            yield self.finding(
                call,
                f"this Streamlit script opens a new {value.kind.label} with "
                f"`{value.origin}` at its top level, and Streamlit runs the script again "
                "at every interaction: one new server connection each time; open it in a "
                "function decorated with `@st.cache_resource` (or use `st.connection`)",
            )

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


def _project_wrapper(ctx: FileContext, call: cst.Call, func: FunctionInfo) -> bool:
    """`call` (in `func`) calls a project function that returns a fresh raw
    connection (`def open_db(): return psycopg2.connect(DSN)`): the connect() inside
    it is reported (once, naming the request code that calls it), not each call."""
    callee = ctx.index.evaluate(call.func, ctx.module, func)
    return isinstance(callee, FunctionRef) and ctx.index.acquirer_of(callee.func) is not None


#: how far up the callers `_request_callers` looks for request code
_CALLER_DEPTH = 6


#: the defaults that leave a flag parameter off (`def __init__(self, long_query=False)`)
_OFF_DEFAULTS = frozenset({"False", "None"})


def _flag_guard(func: FunctionInfo, call: cst.Call) -> str | None:
    """The parameter whose truth alone guards `call` (`if long_query: self.conn =
    psycopg2.connect(...)`, also an `elif`), when it defaults to `False` or `None` and
    the function never binds it again: a caller that leaves it off, or passes `False`
    or `None`, does not open this connection (it takes the pool's branch)."""
    for node in iter_nodes(func.node.body):
        if not (isinstance(node, cst.If) and isinstance(node.test, cst.Name)
                and any(n is call for n in iter_nodes(node.body))):
            continue
        param = func.param(node.test.value)
        if param is None or not (isinstance(param.default, cst.Name)
                                 and param.default.value in _OFF_DEFAULTS):
            return None
        if node.test.value in func.locals:
            return None  # bound again in the body (`long_query = long_query or ...`)
        return node.test.value
    return None


def _raises_flag(site: CallSite, func: FunctionInfo, flag: str) -> bool:
    """The call `site` may turn `flag` on: it passes something other than a literal
    `False`/`None` for it (by name, by position, or behind `*args`/`**kwargs`)."""
    if any(arg.star for arg in site.call.args):
        return True
    positional = [p.name.value for p in (*func.node.params.posonly_params,
                                         *func.node.params.params)]
    if func.cls is not None and positional and positional[0] in ("self", "cls"):
        positional = positional[1:]
    value = argument_for(site.call, flag, positional.index(flag) if flag in positional else None)
    return value is not None and not (isinstance(value, cst.Name)
                                      and value.value in _OFF_DEFAULTS)


def _callers(ctx: FileContext, func: FunctionInfo) -> list[CallSite]:
    """The calls of `func`; for a class's `__init__`, the calls of the class
    (`Connection()` runs `Connection.__init__`)."""
    fx = facts(ctx.index)
    sites = list(fx.callers(func))
    cls = func.cls
    if func.name == "__init__" and cls is not None and func.parent is None:
        for built_cls in [cls, *_inheriting(ctx.index, cls)]:
            for site in fx.call_sites(built_cls.name):
                built = ctx.index.evaluate(site.call.func, site.module, site.func)
                if isinstance(built, ClassRef) and built.cls is built_cls:
                    sites.append(site)
    return sites


#: how many generations of subclasses `_inheriting` follows
_SUBCLASS_DEPTH = 3


def _inheriting(index: ProjectIndex, cls: ClassInfo, depth: int = 0) -> list[ClassInfo]:
    """The project's subclasses of `cls` whose building runs `cls.__init__` (and
    theirs, `_SUBCLASS_DEPTH` generations): one that defines no `__init__` of its own
    (`AuthModel(config)`), or whose own `__init__` calls the base's
    (`super().__init__(...)`, `Store.__init__(self, ...)`). Memoised per index."""
    memo: dict[tuple[int, int], tuple[cst.ClassDef, list[ClassInfo]]] = index.derived(
        _INHERITING, dict)
    key = (id(cls.node), depth)
    known = held(memo, key, cls.node)
    if known is None:
        known = memo[key] = (cls.node, _find_inheriting(index, cls, depth))
    return known[1]


#: the index fact that memoises `_inheriting`
_INHERITING = "ps201_inheriting"


def _find_inheriting(index: ProjectIndex, cls: ClassInfo, depth: int) -> list[ClassInfo]:
    if depth >= _SUBCLASS_DEPTH:
        return []
    out: list[ClassInfo] = []
    for module in index.modules_mentioning([cls.name]):
        for sub in module.classes.values():
            if sub is cls:
                continue
            if any(isinstance(value, ClassRef) and value.cls is cls
                   for _, value in class_bases(index, sub)) \
                    and _runs_base_init(index, sub, cls):
                out.append(sub)
                out.extend(_inheriting(index, sub, depth + 1))
    return out


def _runs_base_init(index: ProjectIndex, sub: ClassInfo, base: ClassInfo) -> bool:
    """Building `sub` runs `base.__init__`: `sub` has no `__init__`, or its own calls
    `super().__init__(...)` / `super(Sub, self).__init__(...)` or
    `Base.__init__(self, ...)` in its body (not in a nested function)."""
    init = sub.methods.get("__init__")
    if init is None:
        return True
    for node in iter_nodes(init.node.body):
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "__init__"):
            continue
        owner = node.func.value
        if isinstance(owner, cst.Call) and isinstance(owner.func, cst.Name) \
                and owner.func.value == "super":
            return True
        value = index.evaluate(owner, sub.module, init)
        if isinstance(value, ClassRef) and value.cls is base:
            return True
    return False


def _request_callers(ctx: FileContext, func: FunctionInfo, memo: dict[int, str | None],
                     depth: int = 0, seen: set[int] | None = None,
                     flag: str | None = None) -> list[CallSite]:
    """The calls, in request code (a handler, a hook, a dependency, a helper only
    request code calls), that reach `func` directly or through functions that are no
    request code themselves (a helper a script also calls). Test modules do not
    count, nor (with `flag`, `_flag_guard`) a direct call that leaves the flag off."""
    seen = set() if seen is None else seen
    if id(func.node) in seen or depth > _CALLER_DEPTH:
        return []
    seen.add(id(func.node))
    out: list[CallSite] = []
    for site in _callers(ctx, func):
        if site.func is None or is_test_module(site.module):
            continue
        if _replaces_in_handler(site):
            continue  # a reconnect after a failure, not a connection per request
        if depth == 0 and _listens(site.func, site.call):
            continue  # the caller LISTENs on the connection it gets (see "LISTEN")
        if flag is not None and not _raises_flag(site, func, flag):
            continue  # it takes the other branch (`Client()`, not `Client(long=True)`)
        if _handler(ctx, site.func, memo) is not None:
            out.append(site)
        else:
            out.extend(_request_callers(ctx, site.func, memo, depth + 1, seen))
    return out


#: the PostgreSQL statement that subscribes the session to a channel
_LISTEN = re.compile(r"\s*listen\b", re.I)


def _listens(func: FunctionInfo, call: cst.Call) -> bool:
    """`call`'s connection, bound to a local of `func` (`conn = connect()`), runs
    `LISTEN` (its own or a cursor's `execute("LISTEN ch")`, asyncpg's
    `add_listener`) and is closed in a `finally`:
    PostgreSQL delivers a notification to the session that listens, so waiting for one
    needs a connection of its own, which this code opens and closes."""
    local: str | None = None
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and strip_await(node.value)[0] is call \
                and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            local = node.targets[0].target.value
    if local is None:
        return False
    cursors = {local}
    for node in iter_nodes(func.node.body):
        value = None
        if isinstance(node, cst.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0].target, cst.Name):
            value, name = node.value, node.targets[0].target.value
        elif isinstance(node, cst.WithItem) and node.asname is not None \
                and isinstance(node.asname.name, cst.Name):
            value, name = node.item, node.asname.name.value
        if value is not None:
            inner, _ = strip_await(value)
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
                    and inner.func.attr.value == "cursor" \
                    and isinstance(inner.func.value, cst.Name) \
                    and inner.func.value.value == local:
                cursors.add(name)
    listens = closed = False
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Try) and node.finalbody is not None and any(
                isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                and n.func.attr.value == "close" and isinstance(n.func.value, cst.Name)
                and n.func.value.value == local for n in iter_nodes(node.finalbody)):
            closed = True
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and isinstance(node.func.value, cst.Name) and node.func.value.value in cursors:
            method = node.func.attr.value
            if method == "add_listener" and node.func.value.value == local:
                listens = True
            elif method == "execute" and node.args:
                text = _leading_text(node.args[0].value)
                listens = listens or (text is not None and bool(_LISTEN.match(text)))
    return listens and closed


def _listened_by_callers(ctx: FileContext, func: FunctionInfo, call: cst.Call) -> bool:
    """`func` returns the connection `call` opens (`def raw_db_connection(): return
    psycopg2.connect(DSN)`), and every project call of it (tests aside; at least one)
    listens on what it gets (`_listens`)."""
    if not any(isinstance(n, cst.Return) and n.value is not None
               and strip_await(n.value)[0] is call for n in iter_nodes(func.node.body)):
        return False
    sites = [s for s in _callers(ctx, func) if not is_test_module(s.module)]
    return bool(sites) and all(s.func is not None and _listens(s.func, s.call)
                               for s in sites)


def _leading_text(expr: cst.BaseExpression) -> str | None:
    """The literal start of a SQL string: a literal, an f-string's first part."""
    if isinstance(expr, cst.SimpleString) and isinstance(expr.evaluated_value, str):
        return expr.evaluated_value
    if isinstance(expr, cst.FormattedString) and expr.parts \
            and isinstance(expr.parts[0], cst.FormattedStringText):
        return expr.parts[0].value
    if isinstance(expr, cst.ConcatenatedString):
        return _leading_text(expr.left)
    return None


def _replaces_in_handler(site: CallSite) -> bool:
    """The call is the value of an assignment to an attribute (`self.connection =
    self._connect()`, `local.conn = open_db()`) in an `except` handler of its
    function: the kept connection is replaced when the work on it failed (a probe
    that found it dead), not opened again on every call."""
    assert site.func is not None
    for node in iter_nodes(site.func.node.body):
        if not isinstance(node, cst.ExceptHandler):
            continue
        for assign in _assignments(node.body):
            if strip_await(assign.value)[0] is site.call and all(
                    isinstance(t.target, cst.Attribute) for t in assign.targets):
                return True
    return False


def _request_functions(sites: list[CallSite]) -> list[FunctionInfo]:
    """The request functions of `sites`, once each, in order."""
    seen: set[int] = set()
    out: list[FunctionInfo] = []
    for site in sites:
        if site.func is not None and id(site.func.node) not in seen:
            seen.add(id(site.func.node))
            out.append(site.func)
    return out


def _names(sites: list[CallSite]) -> str:
    funcs = _request_functions(sites)
    shown = ", ".join(f"`{f.qualname}`" for f in funcs[:3])
    return shown if len(funcs) <= 3 else f"{shown} and {len(funcs) - 3} more"


#: the callers a finding lists as related locations, at most
_MAX_STEPS = 20


def _caller_steps(ctx: FileContext, sites: list[CallSite]
                  ) -> tuple[tuple[cst.CSTNode, str] | Step, ...]:
    """The request code's calls, as the finding's related locations: a node of this
    module, or a resolved place in another one."""
    out: list[tuple[cst.CSTNode, str] | Step] = []
    done: set[int] = set()
    for site in sites:
        if site.func is None or id(site.func.node) in done:
            continue
        done.add(id(site.func.node))
        label = f"`{site.func.qualname}` calls it here, on every request"
        if site.module is ctx.module:
            out.append((site.call, label))
        else:
            span = spans(site.module.tree, [site.call]).get(id(site.call))
            if span is not None:
                out.append(Step(span.start_line, span.start_column + 1, label,
                                site.module.path))
        if len(out) >= _MAX_STEPS:
            break
    return tuple(out)


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


#: Streamlit's decorators that keep the object a function returns, one per process
#: (`st.cache_data` returns a copy of pickled data, and a connection is no data)
_STREAMLIT_RESOURCE_CACHES = frozenset({
    "streamlit.cache_resource", "streamlit.experimental_singleton",
})


def _streamlit_cached(ctx: FileContext, call: cst.Call) -> bool:
    """`call` calls a project function decorated with `@st.cache_resource` (or its
    old name `@st.experimental_singleton`, with or without arguments), in this
    module or one it imports: Streamlit runs it once per process and every rerun
    gets the connection it kept."""
    callee = ctx.index.evaluate(call.func, ctx.module, None)
    if not isinstance(callee, FunctionRef):
        return False
    for decorator in callee.func.node.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        value = ctx.index.evaluate(expr, callee.func.module, None)
        if isinstance(value, External) and value.qualname in _STREAMLIT_RESOURCE_CACHES:
            return True
    return False


def _cache_miss_connect(func: FunctionInfo, call: cst.Call) -> bool:
    """`call` connects only on a cache miss: it sits under an `if` or in an `except`
    (`except KeyError:` after `conn = _cache[key]`, `if _conn is None:`), and the
    function keeps the connection where its next call finds it
    (`index.keeps_connection`)."""
    name = next((t.target.value for n in iter_nodes(func.node.body)
                 if isinstance(n, cst.Assign) and strip_await(n.value)[0] is call
                 for t in n.targets if isinstance(t.target, cst.Name)), None)
    if name is None or not keeps_connection(func, name) or _kept_on_g(func, name):
        return False
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.If):
            branches: list[cst.CSTNode] = [node.body] + (
                [node.orelse] if node.orelse is not None else [])
        elif isinstance(node, cst.ExceptHandler):
            branches = [node.body]
        else:
            continue
        if any(n is call for b in branches for n in iter_nodes(b)):
            return True
    return False


def _kept_on_g(func: FunctionInfo, name: str) -> bool:
    """The connection is kept on Flask's `g` (`db = g._database = connect()`), which
    lives for one request (one application context): a cache per request."""
    for target in connection_stores(func, name):
        root: cst.BaseExpression = target
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        if isinstance(root, cst.Name) and func.module.imports.get(root.value) == "flask.g":
            return True
    return False


def _session_state_guarded(tree: cst.Module) -> set[int]:
    """The calls under a top-level `if` whose test reads `st.session_state` (the
    connection is made once per session and kept there)."""
    out: set[int] = set()
    for stmt in tree.body:
        if isinstance(stmt, cst.If) and any(
                isinstance(n, cst.Attribute) and n.attr.value == "session_state"
                for n in iter_nodes(stmt.test)):
            out.update(id(n) for n in iter_nodes(stmt) if isinstance(n, cst.Call))
    return out

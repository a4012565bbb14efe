"""PS207 io-in-transaction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from poolsafe.analysis.cstutil import (
    body_statements,
    call_name,
    dotted_name,
    iter_calls,
    strip_await,
)
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, WithBinding
from poolsafe.analysis.project_facts import is_flask_db, is_model_class
from poolsafe.analysis.resolution import external_name, inventory, qual_match
from poolsafe.analysis.values import (
    ClassRef,
    Connection,
    ExternalInstance,
    LibraryObject,
    Value,
)
from poolsafe.knowledge import NON_WORK_METHODS, TRANSACTION_CM_METHODS
from poolsafe.knowledge.frameworks import (
    CURSOR_METHODS,
    FLASK_MODEL_QUERY_ATTRIBUTES,
    HANDLE_ANNOTATIONS,
    NETWORK_CLIENT_METHODS,
    NETWORK_FUNCTIONS,
    TRANSACTION_END_METHODS,
)
from poolsafe.model import RawFinding, Severity
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps207 import INVALID, VALID

State = frozenset[str]
#: loops nested deeper than this are followed once (the repeat doubles the work)
_LOOP_REPEAT_DEPTH = 4
#: final names of every network function and client method, for a cheap pre-check
_NET_NAMES = frozenset({tail.rsplit(".", 1)[-1] for _, tail in NETWORK_FUNCTIONS}
                       | {m for ms in NETWORK_CLIENT_METHODS.values() for m in ms})
#: the handle key shared by Flask-SQLAlchemy's `db.session` and `Model.query`
_FLASK_SESSION = "db.session"


class IoInTransaction(Rule):
    """
    ## What it does
    Flags a network call -- `requests.*`, `httpx.*` (and the methods of
    `requests.Session`, `httpx.Client`/`AsyncClient`, `aiohttp.ClientSession`,
    `urllib3.PoolManager` instances), `urllib.request.urlopen` -- made while a
    transaction is open on a connection or session of the same function: after
    the first statement on it and before its `commit()`, `rollback()` or
    `close()`, or before the end of `with engine.begin()`, `with
    session.begin()`, `with conn.transaction()`, `with SessionLocal() as s` or
    `with conn:`. Reported at the network call.

    Connections and sessions are recognised by where they come from (an engine,
    a pool, a sessionmaker, a driver `connect()`, a `Depends` parameter annotated
    `Session`/`AsyncSession`, Flask-SQLAlchemy's `db.session` and `Model.query`);
    a cursor shares its connection's transaction. A connection with
    `conn.autocommit = True` has no open transaction. Loops are followed twice,
    so a call at the top of a loop body that writes below it is found; an
    `if` keeps a transaction open if any branch leaves it open. Network calls
    inside project functions called from the transaction are not followed.

    ## Why is this bad?
    While the request is in flight the connection sits "idle in transaction": it
    holds its row locks and its snapshot (blocking vacuum), and it keeps a pool
    slot. A slow or hanging remote service then stalls every transaction waiting
    on those locks and drains the pool ("QueuePool limit ... reached"), and
    `idle_in_transaction_session_timeout` may kill the connection mid-request.

    ## Example
    ```python
    def place_order(session, order):
        session.add(order)
        requests.post(PAYMENT_URL, json=order.payload(), timeout=10)
        session.commit()
    ```

    ## Use instead
    ```python
    def place_order(session, order):
        requests.post(PAYMENT_URL, json=order.payload(), timeout=10)
        session.add(order)
        session.commit()
    ```
    or commit first and record the remote result in a second, short transaction.

    ## Fix safety
    No automatic fix: moving the call changes what happens when either side
    fails.
    """

    code = "PS207"
    name = "io-in-transaction"
    summary = "a network call while a transaction is open"
    severity = Severity.WARNING
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        candidates: dict[int, FunctionInfo] = {}
        for call, func in inventory(ctx.module).calls:
            if func is None or id(func.node) in candidates or call_name(call) not in _NET_NAMES:
                continue
            if _Walker(ctx.index, func).network(call) is not None:
                candidates[id(func.node)] = func
        for func in ctx.module.all_functions:
            if id(func.node) not in candidates:
                continue  # no network call: nothing to report
            walker = _Walker(ctx.index, func)
            walker.block(body_statements(func.node.body), frozenset())
            for call, what, keys in walker.found:
                held = ", ".join(f"`{k}`" for k in sorted(keys))
                yield self.finding(
                    call,
                    f"`{what}` is called while a transaction is open on {held}: the connection "
                    "sits idle in transaction (holding locks and a pool slot) until the remote "
                    "side answers; make the call before the first statement or after commit",
                )


class _Walker:
    def __init__(self, index: ProjectIndex, func: FunctionInfo) -> None:
        self.index = index
        self.func = func
        self.module = func.module
        self.aliases: dict[str, str] = {}
        self.autocommit: set[str] = set()
        self.found: list[tuple[cst.Call, str, State]] = []
        self._seen: set[int] = set()
        self.loop_depth = 0

    # ------------------------------------------------------------ statements
    def block(self, stmts: Sequence[cst.CSTNode], state: State) -> State:
        for st in stmts:
            state = self.stmt(st, state)
        return state

    def suite(self, suite: cst.BaseSuite | None, state: State) -> State:
        return state if suite is None else self.block(body_statements(suite), state)

    def stmt(self, st: cst.CSTNode, state: State) -> State:
        if isinstance(st, cst.SimpleStatementLine):
            for small in st.body:
                state = self.small(small, state)
            return state
        if isinstance(st, cst.If):
            state = self.calls(st.test, state)
            then = self.suite(st.body, state)
            other = state
            if isinstance(st.orelse, cst.If):
                other = self.stmt(st.orelse, state)
            elif isinstance(st.orelse, cst.Else):
                other = self.suite(st.orelse.body, state)
            return then | other
        if isinstance(st, (cst.For, cst.While)):
            state = self.calls(st.iter if isinstance(st, cst.For) else st.test, state)
            self.loop_depth += 1
            first = self.suite(st.body, state)
            out = state | first
            if self.loop_depth <= _LOOP_REPEAT_DEPTH and first != state:
                # the next iteration starts with what the first one left open
                out = out | self.suite(st.body, out)
            self.loop_depth -= 1
            if st.orelse is not None:
                out = self.suite(st.orelse.body, out)
            return out
        if isinstance(st, (cst.Try, cst.TryStar)):
            body = self.suite(st.body, state)
            out = body
            for h in st.handlers:
                out = out | self.suite(h.body, state | body)
            if st.orelse is not None:
                out = out | self.suite(st.orelse.body, body)
            if st.finalbody is not None:
                out = self.suite(st.finalbody.body, out)
            return out
        if isinstance(st, cst.With):
            return self.with_stmt(st, state)
        if isinstance(st, cst.Match):
            state = self.calls(st.subject, state)
            out = state
            for case in st.cases:
                out = out | self.suite(case.body, state)
            return out
        return state  # nested def/class: their own functions

    def small(self, small: cst.BaseSmallStatement, state: State) -> State:
        if isinstance(small, cst.Assign):
            for t in small.targets:
                self.note_assign(t.target, small.value)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.note_assign(small.target, small.value)
        return self.calls(small, state)

    def note_assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        # `conn.autocommit = True`
        if (isinstance(target, cst.Attribute) and target.attr.value == "autocommit"
                and isinstance(value, cst.Name) and value.value == "True"):
            key = self.key_of(target.value)
            if key is not None:
                self.autocommit.add(key)
            return
        # `cur = conn.cursor()`, `trans = conn.begin()`: share the connection's transaction
        value = strip_await(value)[0]
        if isinstance(target, cst.Name) and isinstance(value, cst.Call) and isinstance(
                value.func, cst.Attribute) and (
                value.func.attr.value in CURSOR_METHODS
                or value.func.attr.value in TRANSACTION_CM_METHODS):
            key = self.key_of(value.func.value)
            if key is not None:
                self.aliases[target.value] = key

    def with_stmt(self, w: cst.With, state: State) -> State:
        ends: set[str] = set()
        for item in w.items:
            state = self.calls(item.item, state)
            expr = strip_await(item.item)[0]
            target = item.asname.name if item.asname is not None else None
            name_node = target if isinstance(target, cst.Name) else None
            name = name_node.value if name_node is not None else None
            if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
                method = expr.func.attr.value
                base_key = self.key_of(expr.func.value)
                if method in CURSOR_METHODS and base_key is not None and name is not None:
                    self.aliases[name] = base_key
                    continue
                if method in TRANSACTION_CM_METHODS:
                    key = base_key or name
                    if key is not None:
                        if name is not None and base_key is not None:
                            self.aliases[name] = base_key
                        ends.add(key)
                    continue
            if name_node is not None and self.key_of(name_node) is not None:
                ends.add(name_node.value)
            else:
                key = self.key_of(expr)
                if key is not None:
                    ends.add(key)  # `with conn:` commits or rolls back at the end
        state = self.suite(w.body, state)
        return state - ends

    # ---------------------------------------------------------------- calls
    def calls(self, node: cst.CSTNode, state: State) -> State:
        for call in iter_calls(node):
            state = self.call(call, state)
        return state

    def call(self, call: cst.Call, state: State) -> State:
        what = self.network(call)
        if what is not None:
            if state and id(call) not in self._seen:
                self._seen.add(id(call))
                self.found.append((call, what, state))
            return state
        f = call.func
        if not isinstance(f, cst.Attribute):
            return state
        method = f.attr.value
        key = self.key_of(f.value)
        if key is None:
            key = self.model_query(f.value)
        if key is None:
            return state
        if method in TRANSACTION_END_METHODS:
            return state - {key}
        if method in NON_WORK_METHODS or method in CURSOR_METHODS or key in self.autocommit:
            return state
        return state | {key}

    # -------------------------------------------------------------- handles
    def key_of(self, expr: cst.BaseExpression) -> str | None:
        """A name for the connection or session `expr` stands for, or None."""
        expr = strip_await(expr)[0]
        d = dotted_name(expr)
        if d is None:
            return None
        if d in self.aliases:
            return self.aliases[d]
        if isinstance(expr, cst.Attribute) and expr.attr.value == "session" and is_flask_db(
                self.index.evaluate(expr.value, self.module, self.func)):
            return _FLASK_SESSION
        value = self.index.evaluate(expr, self.module, self.func)
        if isinstance(value, Connection):
            return d
        if isinstance(value, LibraryObject) and value.type.is_scoped:
            return d
        if value is None and isinstance(expr, cst.Name) and self.annotated_handle(expr.value):
            return d
        return None

    def annotated_handle(self, name: str) -> bool:
        """A parameter annotated as a session or connection (`db: Session`)."""
        p = self.func.node.params
        for param in (*p.posonly_params, *p.params, *p.kwonly_params):
            if param.name.value != name or param.annotation is None:
                continue
            qual = external_name(self.index, param.annotation.annotation, self.module,
                                 self.func.parent)
            return qual is not None and qual_match(qual, HANDLE_ANNOTATIONS) is not None
        return False

    def model_query(self, expr: cst.BaseExpression) -> str | None:
        """`User.query.filter_by(...)`: Flask-SQLAlchemy's session."""
        while True:
            if isinstance(expr, cst.Call):
                expr = expr.func
            elif isinstance(expr, cst.Attribute):
                if expr.attr.value in FLASK_MODEL_QUERY_ATTRIBUTES:
                    owner = self.index.evaluate(expr.value, self.module, self.func)
                    if isinstance(owner, ClassRef) and is_model_class(self.index, owner.cls):
                        return _FLASK_SESSION
                expr = expr.value
            else:
                return None

    # --------------------------------------------------------------- network
    def network(self, call: cst.Call) -> str | None:
        qual = external_name(self.index, call.func, self.module, self.func)
        if qual is not None:
            return qual if qual_match(qual, NETWORK_FUNCTIONS) else None
        f = call.func
        if not isinstance(f, cst.Attribute):
            return None
        owner = self.client(f.value)
        if isinstance(owner, ExternalInstance):
            pair = qual_match(owner.qualname, NETWORK_CLIENT_METHODS)
            if pair is not None and f.attr.value in NETWORK_CLIENT_METHODS[pair]:
                return f"{owner.qualname.rsplit('.', 1)[-1]}.{f.attr.value}"
        return None

    def client(self, expr: cst.BaseExpression) -> Value | None:
        value = self.index.evaluate(expr, self.module, self.func)
        if value is not None or not isinstance(expr, cst.Name):
            return value
        scope: FunctionInfo | None = self.func
        while scope is not None:
            if expr.value in scope.locals:
                for v in reversed(scope.locals[expr.value]):
                    if isinstance(v, WithBinding):
                        return self.index.evaluate(v.item, self.module, scope)
                return None
            for param in (*scope.node.params.params, *scope.node.params.kwonly_params):
                if param.name.value == expr.value and param.annotation is not None:
                    qual = external_name(self.index, param.annotation.annotation, self.module,
                                         scope.parent)
                    return ExternalInstance(qual) if qual is not None else None
            scope = scope.parent
        return None

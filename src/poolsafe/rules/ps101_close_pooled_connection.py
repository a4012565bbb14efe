"""PS101 close-pooled-connection."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, statements_after, strip_await
from poolsafe.analysis.flow import AcquireSite
from poolsafe.analysis.module import FunctionInfo
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.edits import (
    RELEASED_BEFORE,
    as_block,
    body_statements_of,
    enclosing_function,
    fix_site,
    given_back_before,
    in_finally,
    parent_map,
    parse_line,
    release_for_site,
    release_hint,
    statement_line,
    used_after,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases import aio_libs
from poolsafe.rules.cases.ps101 import INVALID, VALID


class ClosePooledConnection(Rule):
    """
    ## What it does
    Flags `conn.close()` (and `with conn:` / `closing(conn)` where they close) on a
    connection taken from a pool whose `close()` does not give it back:
    psycopg2's `SimpleConnectionPool`/`ThreadedConnectionPool`/`PersistentConnectionPool`
    (`getconn()`), psycopg_pool's `getconn()` (unless the pool was built with
    `close_returns=True`), poolsafe's own reference pool
    (`poolsafe.runtime.ConnectionPool` and its psycopg2-named aliases, whose
    `getconn()`/`putconn()` are psycopg2's), aiopg's and aiomysql's pools
    (`await pool.acquire()`, whose slot only `pool.release(conn)` frees), and any
    project function that wraps one of them. aiopg's and aiomysql's connections are
    async context managers of their own whose exit closes them: `async with conn:` on
    such a checkout, and `async with await pool.acquire() as conn:` (the awaited
    connection entered instead of the pool's acquire context, whose exit releases),
    lose the slot the same way; the fix drops the `await`. A pool the analysis cannot
    type (`app.state.pool`, `request.app["db"]`, an unannotated parameter) is taken for
    aiopg's or aiomysql's raw pool in a project that builds that library's raw pools
    (`create_pool`) and never its `.sa` engines, whose `SAConnection` exit gives the
    connection back. A `close()` of a broken connection
    that is then given back to its pool on the way out of the block (`if not
    conn.closed: conn.close()` in an `except`, then `pool.putconn(conn)` after the
    `try`) is fine: the pool discards a closed connection and frees its slot.

    ## Tests, one-shot code and processes
    Reported everywhere, tests and scripts included: a pool's slot lost by
    `close()` is lost for the rest of the process, so a test suite that shares a
    pool hangs the tests after it, and a script that closes more checkouts than
    the pool holds waits forever. A checkout from a pool the test replaced (a
    `Mock()`, `@patch`, `monkeypatch.setattr`) is a double, not a connection, and
    is not reported.

    ## Why is this bad?
    The pool still counts the connection as checked out. Each call loses one slot
    for good, and after `maxconn` calls every request fails with
    `connection pool exhausted` (psycopg2) or times out waiting (psycopg_pool).
    For SQLAlchemy connections and sessions (SQLModel's `Session` too), aiopg.sa and
    aiomysql.sa connections (`engine.acquire()`) and mysql.connector pooled
    connections, `close()` *is* the release: those are not flagged.

    ## Example
    ```python
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
    finally:
        conn.close()
    ```

    ## Use instead
    ```python
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
    finally:
        pool.putconn(conn)
    ```

    ## Fix safety
    The fix replaces the `close()` with the pool's release: `pool.putconn(conn)`
    for the pool the connection came from, or the project's release wrapper (found
    beside the acquire wrapper, imported when needed). A `close()` in a `finally`
    is replaced in place; elsewhere the code after the checkout is wrapped in
    `try`/`finally` as for PS102 (or, when that is not possible, the call is
    replaced where it is). `with closing(conn):` becomes `try`/`finally`;
    `async with await pool.acquire() as conn:` becomes `async with pool.acquire() as
    conn:`. These are safe. psycopg 3's `with conn:` also commits (or rolls back) on exit, which the
    pool's release does not do, so that fix is unsafe. So is a release made where the
    `close()` stood when the code before it may already give the connection back in a
    form the check does not read (`for cb in [pool.putconn]: cb(conn)` in a handler
    that raises again): a second `close()` was harmless, a second release raises
    `PoolError`; and when the connection is read after the `close()` (`conn.closed`),
    where it is now an open, pooled connection.
    """

    code = "PS101"
    name = "close-pooled-connection"
    summary = "close() on a pooled connection whose close does not return it to the pool"
    fixable = True
    VALID = VALID + aio_libs.PS101_VALID
    INVALID = INVALID + aio_libs.PS101_INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        for func, flow in ctx.flows():
            for node, site in flow.close_mistakes:
                if _given_back_after(func, node, site):
                    continue
                if isinstance(node, cst.Await):
                    yield self.finding(
                        node,
                        f"`async with await ...` enters the {site.conn.kind.label} from "
                        f"`{site.conn.origin}` itself, and its exit closes it instead of "
                        "returning it to the pool (the slot is lost); enter the pool's "
                        "acquire context instead: drop the `await` "
                        f"(`{_unawaited(node)}`)",
                    )
                    continue
                yield self.finding(
                    node,
                    f"`close()` on a {site.conn.kind.label} from `{site.conn.origin}` does not "
                    "return it to the pool (the slot is lost); "
                    f"use {release_hint(site, ctx.index, func)}",
                )

    # ------------------------------------------------------------------ fix
    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:

        node = finding.node
        parents = parent_map(ctx.module.tree)
        func = enclosing_function(node, parents, ctx.module)
        if func is None:
            return Unfixable(self.code, "not inside a function")
        site = next((s for n, s in ctx.flow(func).close_mistakes if n is node), None)
        if site is None:
            return Unfixable(self.code, "the close() was not found")
        module = ctx.module.tree
        if isinstance(node, cst.Await) and isinstance(parents.get(id(node)), cst.WithItem):
            # `async with await pool.acquire() as conn:` -> `async with pool.acquire()
            # as conn:`: the pool's acquire context releases on exit, on every path
            entered = FixPlan(self.code, "enter the pool's acquire context (drop the `await`)")
            entered.replace(node, node.expression.with_changes(lpar=node.lpar, rpar=node.rpar))
            return entered
        plan = FixPlan(self.code, "return the connection to its pool")
        release = release_for_site(plan, ctx.index, ctx.module, func, site)
        if isinstance(release, Unfixable):
            return release
        plan.description = f"use {release.description} instead of close()"
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "close":
            line = statement_line(node, parents)
            if line is None or not isinstance(line.body[0], cst.Expr):
                return Unfixable(self.code, "the close() is not a statement of its own")
            if not in_finally(line, parents):
                wrapped = fix_site(ctx, func, parents, site, self.code, extra=line)
                if isinstance(wrapped, FixPlan):
                    wrapped.description = plan.description + " in `finally`"
                    return wrapped
            new_small = parse_line(module, release.code(site.var)).body[0]
            plan.replace(line.body[0], new_small)
            _unsafe_if_given_back(ctx, func, plan, _before_finally(line, parents), site.var)
            if used_after(func, parents, line, site.var) is not None:
                plan.mark_unsafe(
                    f"`{site.var}` is used after the close(): the original read a closed "
                    "connection there (`closed` set, every query raising); the fix reads "
                    "one given back to the pool, open, which another caller may hold")
            return plan
        item = parents.get(id(node))
        stmt = parents.get(id(item))
        if not isinstance(item, cst.WithItem) or not isinstance(stmt, cst.With) \
                or len(stmt.items) != 1 or stmt.asynchronous is not None:
            return Unfixable(self.code, "a `with` statement the fix cannot rewrite")
        new = cst.Try(body=as_block(stmt.body),
                      finalbody=cst.Finally(cst.IndentedBlock(
                          [parse_line(module, release.code(site.var))])),
                      leading_lines=stmt.leading_lines)
        _unsafe_if_given_back(ctx, func, plan, body_statements_of(stmt.body), site.var)
        if isinstance(node, cst.Name):
            plan.mark_unsafe("`with conn:` also committed or rolled back the transaction; "
                             "the pool's release rolls back uncommitted work")
        plan.replace(stmt, new)
        return plan


def _before_finally(line: cst.CSTNode, parents: dict[int, cst.CSTNode]
                    ) -> list[cst.BaseStatement]:
    """The statements of the `try` whose `finally` holds `line` that run before it: its
    body, its handlers and its `else`."""
    node: cst.CSTNode | None = line
    while node is not None and not isinstance(node, cst.Finally):
        node = parents.get(id(node))
    owner = parents.get(id(node)) if node is not None else None
    if not isinstance(owner, (cst.Try, cst.TryStar)):
        return []
    stmts = body_statements_of(owner.body)
    for handler in owner.handlers:
        stmts += body_statements_of(handler.body)
    if owner.orelse is not None:
        stmts += body_statements_of(owner.orelse.body)
    return stmts


def _unsafe_if_given_back(ctx: FileContext, func: FunctionInfo, plan: FixPlan,
                          before: list[cst.BaseStatement], var: str) -> None:
    """The `close()` becomes the pool's release where it stands; a call before it that
    may give `var` back already (`for cb in [pool.putconn]: cb(conn)`, `map(pool.putconn,
    [conn])` in a handler that raises again) made the `close()` a harmless second close,
    but makes the release a second one: psycopg2's `PoolError` ("trying to put unkeyed
    connection") in place of the result or of the original exception."""
    closes = [small for stmt in before for node in iter_nodes(stmt)
              if isinstance(node, cst.SimpleStatementLine)
              for small in node.body if isinstance(small, cst.Expr) and _closes(small, var)]
    # (a `close()` of the same connection gives nothing back: the release still finds it
    # checked out, and takes a closed connection as psycopg2's `putconn` does)
    again = given_back_before(ctx.index, func, before, var, closes)
    if again is not None:
        plan.mark_unsafe(RELEASED_BEFORE.format(
            var=var, call=cst.Module([]).code_for_node(again.func)))


def _closes(small: cst.Expr, var: str) -> bool:
    """`var.close()` as a statement."""
    call = strip_await(small.value)[0]
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
        and call.func.attr.value == "close" and isinstance(call.func.value, cst.Name) \
        and call.func.value.value == var and not call.args


def _unawaited(node: cst.Await) -> str:
    """The source of what `node` awaits (`pool.acquire()`)."""
    return cst.Module([]).code_for_node(node.expression)


def _given_back_after(func: FunctionInfo, close: cst.CSTNode, site: AcquireSite) -> bool:
    """`conn.close()` on a broken connection followed, on the way out of its block,
    by the pool's release of the same connection (`if not conn.closed: conn.close()`
    in an `except`, then `pool.putconn(conn)` after the `try`): the pool discards a
    closed connection it is given back and frees its slot, so nothing is lost. Not
    when a `return`, `raise`, `break` or `continue` comes first."""
    release = site.conn.kind.pool_release
    if release is None or not isinstance(close, cst.Call) \
            or not isinstance(close.func, cst.Attribute) \
            or not isinstance(close.func.value, cst.Name):
        return False
    var = close.func.value.value
    for st in statements_after(close, func.node, parent_map(func.node),
                               (cst.For, cst.While, cst.FunctionDef, cst.Lambda, cst.ClassDef)):
        if _releases(st, var, release):
            return True
        if any(isinstance(n, (cst.Return, cst.Raise, cst.Break, cst.Continue))
               for n in iter_nodes(st)):
            return False
    return False


def _releases(statement: cst.CSTNode, var: str, release: str) -> bool:
    """`pool.<release>(var)` as a statement of its own."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Expr):
            call = strip_await(small.value)[0]
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
                    and call.func.attr.value == release and call.args \
                    and isinstance(call.args[0].value, cst.Name) \
                    and call.args[0].value.value == var:
                return True
    return False

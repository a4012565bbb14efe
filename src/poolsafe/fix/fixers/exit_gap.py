"""PS102's fix for a class that gives its connection back in `__exit__` (or
`__aexit__`, `close()`, `release()`) after a call that may raise: the statements
before the release go in `try:`, the release in `finally:`.

    def __exit__(self, exc_type, exc, tb):
        try:
            self.conn.commit()
        finally:
            pool.putconn(self.conn)

Offered where the release is a statement of the method's own body and the
statements before it neither leave the method (`return`, `yield`) nor release the
connection themselves: then the only difference is the release on the way out by
an exception, which goes on unchanged. A release behind a test of the connection's
state (`if not self.conn.closed:`) is left to a hand fix, as before. The equivalence
check proves each plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import libcst as cst

from poolsafe.analysis.cstutil import iter_calls, iter_nodes, strip_await
from poolsafe.analysis.exit_release import ExitGap, releases_attribute
from poolsafe.analysis.values import FunctionRef
from poolsafe.fix.fixers.edits import (
    RELEASED_BEFORE,
    given_back_before,
    lift_blank_lines,
    note_release,
    release_work,
    release_work_reason,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable

if TYPE_CHECKING:  # the fixers' context; no import at run time
    from poolsafe.rules.base import FileContext

_LEAVES = (cst.Return, cst.Yield, cst.Break, cst.Continue, cst.FunctionDef, cst.ClassDef,
           cst.Lambda)


def release_in_exit_finally(ctx: FileContext, gap: ExitGap, code: str,
                            by_hand: str) -> FixOutcome:
    """The plan for `gap`, or `Unfixable(code, by_hand)` when its shape is not the one
    above."""
    left = Unfixable(code, by_hand)
    body = gap.method.node.body
    if gap.guarded or not isinstance(body, cst.IndentedBlock) \
            or gap.method.module is not ctx.module:
        return left
    module = ctx.module.tree
    stmts = list(body.body)
    at = next((i for i, s in enumerate(stmts) if _is_release(module, s, gap.release)), None)
    start = 1 if stmts and _is_docstring(stmts[0]) else 0
    if at is None or at <= start:
        return left
    wrapped = stmts[start:at]
    if any(isinstance(n, _LEAVES) for s in wrapped for n in iter_nodes(s, into_functions=True)):
        return left
    if any(module.code_for_node(c) == gap.release for s in wrapped
           for c in iter_nodes(s) if isinstance(c, cst.Call)):
        return left
    plan = FixPlan(code, f"give `{gap.attr}` back in a `finally` of "
                         f"`{gap.cls.name}.{gap.method.name}`, after what runs before it")
    note_release(plan, gap.release)
    again = _released_before(ctx, gap, wrapped)
    if again is not None:
        plan.mark_unsafe(RELEASED_BEFORE.format(var=gap.attr, call=again))
    released = stmts[at]
    assert isinstance(released, cst.SimpleStatementLine)
    call, _ = strip_await(cast(cst.Expr, released.body[0]).value)
    ref = ctx.index.evaluate(cast(cst.Call, call).func, ctx.module, gap.method)
    if isinstance(ref, FunctionRef) and (work := release_work(ref.func, ctx.index)) is not None:
        plan.mark_unsafe(release_work_reason(ref.func.name, work))
    if plan.check_only:
        return plan
    release = stmts[at]
    assert isinstance(release, cst.SimpleStatementLine)
    # blank lines above the first statement move above the `try`; comments stay
    leading, wrapped = lift_blank_lines(wrapped)
    # (its comments go with it, not the blank lines above it)
    release = release.with_changes(
        leading_lines=[e for e in release.leading_lines if e.comment is not None])
    new = cst.Try(body=cst.IndentedBlock(wrapped),
                  finalbody=cst.Finally(cst.IndentedBlock([release])),
                  leading_lines=leading)
    plan.replace(stmts[start], new)
    for stmt in stmts[start + 1:at + 1]:
        plan.remove(stmt)
    return plan


def _released_before(ctx: FileContext, gap: ExitGap,
                     wrapped: list[cst.BaseStatement]) -> str | None:
    """A call among the statements the `try` wraps that gives `gap.attr` back
    itself (`pool.putconn(self.conn, close=True)` in a handler that raises again, a
    method of the class that does: `releases_attribute`) or may (`given_back_before`:
    a project function handed it that does on some path, a function passed in): on
    the path where it did and an exception followed, the `finally` would give the
    connection back a second time."""
    call = given_back_before(ctx.index, gap.method, wrapped, gap.attr) or next(
        (c for s in wrapped for c in iter_calls(s) if releases_attribute(
            ctx.index, c, gap.method, gap.attr, gap.conn.kind.close_releases)), None)
    return None if call is None else ctx.module.tree.code_for_node(call.func)


def _is_release(module: cst.Module, stmt: cst.BaseStatement, release: str) -> bool:
    """`stmt` is the release line alone (`pool.putconn(self.conn)`, awaited or not)."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 \
            or not isinstance(stmt.body[0], cst.Expr):
        return False
    call, _ = strip_await(stmt.body[0].value)
    return isinstance(call, cst.Call) and module.code_for_node(call) == release


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 \
        and isinstance(stmt.body[0], cst.Expr) \
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))

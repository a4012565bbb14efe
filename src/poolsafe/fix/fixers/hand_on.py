"""PS102's fix for a checkout that the function hands on when it succeeds (`return
conn`, `self.conn = conn`) and leaks when a statement between the checkout and the
hand-off raises: give it back on failure, hand it on on success.

    conn = pool.getconn()
    try:
        <the statements between>
    except BaseException:
        pool.putconn(conn)
        raise
    return conn

A `finally` would give back what the caller or the object goes on using; the handler
runs only on the way out by an exception, which it re-raises unchanged. Offered only
where nothing else can see the connection on that way out: the checkout is a
statement of the function's own body (no enclosing `try`, loop or `with` whose code
could still use it), the statements between neither hand it on, release it nor yield,
and the hand-off is a plain `return` of the name (alone or in a tuple) or a store of
the name into an attribute or an item. Where the project wrapper the checkout came
through may hand back None (it returns None when it cannot connect), the release
goes under `if conn is not None:`: on that path the statements between raised, and
the handler re-raises that error unchanged. The equivalence check proves each plan
(`poolsafe.fix.equivalence.paths.release_and_reraise`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from poolsafe.analysis.cstutil import iter_calls, iter_nodes
from poolsafe.analysis.flow import AcquireSite
from poolsafe.analysis.module import FunctionInfo
from poolsafe.fix.fixers.edits import (
    LITERAL_RELEASE,
    RELEASED_BEFORE,
    Release,
    _returned_by_callee,
    _wrapper_may_give_none,
    acquire_statement,
    check_line,
    cursor_names,
    escape_reason,
    given_back_before,
    lift_blank_lines,
    none_guarded,
    parse_line,
    release_for_site,
    wrapper_may_give_literal,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable

if TYPE_CHECKING:  # the fixers' context; no import at run time
    from poolsafe.rules.base import FileContext


def release_on_failure(ctx: FileContext, func: FunctionInfo,
                       parents: dict[int, cst.CSTNode], site: AcquireSite,
                       code: str) -> FixOutcome | None:
    """The plan for `site`, or None when its shape is not the one above."""
    after = _after_checkout(parents, func, site)
    if after is None or any(isinstance(n, cst.Yield) for n in iter_nodes(func.node.body)):
        return None
    var, rest, cursors = after
    hand_off = next((i for i, s in enumerate(rest) if _hands_on(s, var, cursors)), None)
    if not hand_off:  # none, or nothing between the checkout and the hand-off
        return None
    region = rest[:hand_off]
    if escape_reason(region, var) is not None \
            or _returned_by_callee(ctx.index, func, region, var) is not None or any(
            isinstance(n, (cst.Return, cst.Break, cst.Continue))
            for s in region for n in iter_nodes(s)) or any(
            var in ctx.index.released_by_call(c, func) for s in region for c in iter_calls(s)):
        return None  # (a `return` in between leaks on a way the handler does not see)
    plan = FixPlan(code, "", on_failure_only=True)
    release = release_for_site(plan, ctx.index, ctx.module, func, site)
    if isinstance(release, Unfixable):
        return release
    assert isinstance(release, Release)
    text = release.code(var)
    plan.description = (f"give `{var}` back with {release.description} when a statement "
                        f"before it is handed on raises (`except BaseException:` ... "
                        f"`raise`), and hand it on as before")
    again = given_back_before(ctx.index, func, region, var)
    if again is not None:
        # `prepare(conn)` gives it back in a handler and raises again: the handler the
        # fix adds would give it back a second time on that path
        plan.mark_unsafe(RELEASED_BEFORE.format(
            var=var, call=ctx.module.tree.code_for_node(again.func)))
    if wrapper_may_give_literal(ctx.index, ctx.module, func, site):
        # `return False` in the wrapper: the statements between raised on it, and the
        # handler's `False.close()` would raise another error in its place
        plan.mark_unsafe(LITERAL_RELEASE.format(var=var))
    module = ctx.module.tree
    if plan.check_only:
        check_line(module, text)
        return plan
    # blank lines above the first statement move above the `try`; comments stay
    leading, region = lift_blank_lines(region)
    line = parse_line(module, text)
    give_back: cst.BaseStatement = line
    if _wrapper_may_give_none(ctx.index, ctx.module, func, site):
        # the wrapper hands back None when it cannot connect: the statements between
        # raised on it, and an unguarded release would raise another error in its place
        give_back = none_guarded(module, var, line)
    handler = cst.ExceptHandler(
        body=cst.IndentedBlock([give_back, parse_line(module, "raise")]),
        type=cst.Name("BaseException"))
    new = cst.Try(body=cst.IndentedBlock(region), handlers=[handler], leading_lines=leading)
    plan.replace(rest[0], new)
    for stmt in rest[1:hand_off]:
        plan.remove(stmt)
    return plan


def handed_on_later(parents: dict[int, cst.CSTNode], func: FunctionInfo,
                    site: AcquireSite) -> bool:
    """`site`'s checkout is a statement of `func`'s own body that a later statement of
    that body hands on (`return conn`, `self.conn = conn`): the shape whose release
    belongs in `except BaseException:` ... `raise`, never in a `finally`, which would
    give back what the caller goes on using."""
    after = _after_checkout(parents, func, site)
    if after is None:
        return False
    var, rest, cursors = after
    return any(_hands_on(s, var, cursors) for s in rest)


def _after_checkout(parents: dict[int, cst.CSTNode], func: FunctionInfo, site: AcquireSite
                    ) -> tuple[str, list[cst.BaseStatement], frozenset[str]] | None:
    """When `site`'s checkout is a statement of `func`'s own body: the name it binds, the
    statements of that body after it, and the names of that name's cursors among them."""
    found = acquire_statement(site.call, parents, site.var)
    if found is None:
        return None
    line, var = found
    block = parents.get(id(line))
    if not isinstance(block, cst.IndentedBlock) or parents.get(id(block)) is not func.node:
        return None
    body = list(block.body)
    rest = body[body.index(line) + 1:]
    return var, rest, frozenset(cursor_names(rest, var))


def _hands_on(stmt: cst.BaseStatement, var: str, cursors: frozenset[str]) -> bool:
    """`return var` / `return var, other` / `self.attr = var` / `box[key] = var`, or the
    same of a cursor of `var` (a name in `cursors`), which takes `var` with it."""
    if cursors and any(_hands_on(stmt, cur, frozenset()) for cur in cursors):
        return True
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if isinstance(small, cst.Return):
        value = small.value
        if isinstance(value, cst.Tuple):
            return any(_is(e.value, var) for e in value.elements) and all(
                isinstance(e.value, cst.Name) for e in value.elements)
        return value is not None and _is(value, var)
    if isinstance(small, cst.Assign):
        return _is(small.value, var) and all(
            isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in small.targets)
    return False


def _is(expr: cst.BaseExpression, var: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == var

"""Release a checkout in the `finally` of the `try` that already holds it.

A checkout taken inside a `try` whose `except` (or `finally`, or `else`) still uses
the connection cannot get a `finally` of its own around the statements after it:
that would give it back before the handler's `rollback()`. The `try` that holds it
is at the right level, so its `finally` (added when missing) gets the release,
after what is there, guarded by `is not None` since the checkout may not have
happened when an earlier statement raised; the name is set to `None` before the
`try`. The releases the code writes on the happy path and in the handlers move
there, so each path gives the connection back exactly once, after its last use:

    try:                                   conn = None
        conn = pool.getconn()              try:
        ...                                    conn = pool.getconn()
        pool.putconn(conn)          ->         ...
    except psycopg2.Error:                 except psycopg2.Error:
        conn.rollback()                        conn.rollback()
                                           finally:
                                               if conn is not None:
                                                   pool.putconn(conn)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from poolsafe.analysis.cstutil import iter_calls, iter_nodes, strip_await
from poolsafe.analysis.flow import AcquireSite, call_may_raise
from poolsafe.analysis.module import FunctionInfo
from poolsafe.fix.fixers.edits import (
    CAUGHT_RELEASE,
    LITERAL_RELEASE,
    MOVED_RELEASE,
    WITH_EXIT,
    Region,
    _moved_releases_skip_none,
    _wrapper_may_give_none,
    as_written,
    body_statements_of,
    catches_release_error,
    check_line,
    is_removable_release,
    note_release,
    only_pass,
    parse_line,
    project_generator_call,
    release_error_caught,
    release_for_site,
    release_inside_with,
    release_written,
    rewrite,
    slot_held_reason,
    small_of,
    statement_line,
    used_after,
    wrap_refusal,
    wrapper_may_give_literal,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable

if TYPE_CHECKING:
    from poolsafe.rules.base import FileContext


def holding_try(line: cst.SimpleStatementLine,
                parents: dict[int, cst.CSTNode]) -> cst.Try | None:
    """The `try` whose body has the checkout's line among its own statements."""
    block = parents.get(id(line))
    try_stmt = parents.get(id(block)) if block is not None else None
    if isinstance(try_stmt, cst.Try) and try_stmt.body is block:
        return try_stmt
    return None


def release_in_holding_try(ctx: FileContext, func: FunctionInfo,
                           parents: dict[int, cst.CSTNode], site: AcquireSite,
                           line: cst.SimpleStatementLine, code: str) -> FixOutcome | None:
    """The plan, an `Unfixable` saying why not, or None when the checkout is not on
    a line of a `try` body, or that `try`'s `finally` releases it already."""
    var = site.var
    try_stmt = holding_try(line, parents)
    if try_stmt is None or not isinstance(try_stmt.body, cst.IndentedBlock):
        return None
    final = try_stmt.finalbody
    if final is not None and any(var in ctx.index.released_by_call(c, func)
                                 for c in iter_calls(final)):
        return None  # given back there already: the gap is elsewhere
    preset = _preset_none(try_stmt, parents, var)
    if len(func.locals.get(var, [])) != 1 + (preset is not None) \
            or var in func.all_param_names() or var in func.globals_declared:
        return Unfixable(code, f"`{var}` is bound elsewhere in the function too: a "
                               "`finally` could not tell this checkout from the other")
    stmts = [s for s in try_stmt.body.body if s is not line]
    for part in (*try_stmt.handlers, try_stmt.orelse, final):
        if part is not None and isinstance(part.body, cst.IndentedBlock):
            stmts.extend(part.body.body)
    lazy = project_generator_call(ctx.index, func)
    reason = wrap_refusal(ctx.index, func, stmts, var, lazy) \
        or used_after(func, parents, try_stmt, var)
    if reason is not None:
        return Unfixable(code, reason)
    region = Region(try_stmt.body, 0, [])
    for call in iter_calls(try_stmt):
        if var not in ctx.index.released_by_call(call, func):
            continue
        small = small_of(call, parents)
        if small is None or not is_removable_release(call, var) \
                or statement_line(call, parents) is None:
            return Unfixable(code, f"a release of `{var}` the fix cannot move into `finally`")
        if _in_loop(call, try_stmt, parents):
            return Unfixable(code, f"`{var}` is released inside a loop")
        region.removals.add(id(small))
        region.removed.append(small)
    existing = list(final.body.body) if final is not None and isinstance(
        final.body, cst.IndentedBlock) else []
    if any(isinstance(s, cst.BaseCompoundStatement) for s in existing) or any(
            call_may_raise(c) for s in existing for c in iter_calls(s)):
        return Unfixable(code, f"the `finally` of the `try` that holds `{var}` may raise "
                               "before a release added at its end")
    module = ctx.module.tree
    plan = FixPlan(code, "")
    held = slot_held_reason(ctx.index, func, site, [try_stmt], region.removed)
    if held is not None:
        plan.mark_unsafe(held)
    if release_error_caught(parents, try_stmt, region.removed):
        plan.mark_unsafe(CAUGHT_RELEASE)
    block_exit = release_inside_with(parents, try_stmt, region.removed)
    if block_exit is not None:
        plan.mark_unsafe(WITH_EXIT.format(var=var, item=block_exit))
    release = release_written(module, region, var) or release_for_site(
        plan, ctx.index, ctx.module, func, site)
    if isinstance(release, Unfixable):
        return release
    release = as_written(module, region, release, var,
                         isinstance(parents.get(id(site.call)), cst.Await))
    plan.description = (f"release `{var}` with {release.description} in the `finally` "
                        "of the `try` that holds it")
    note_release(plan, release.code(var))
    in_body = any(any(n is small for n in iter_nodes(try_stmt.body)) for small in region.removed)
    if in_body and _release_may_raise(module, release.code(var)) and any(
            catches_release_error(h) for h in try_stmt.handlers):
        plan.mark_unsafe(
            "an error the release itself raises (a closed pool) reached the `try`'s "
            "`except` before; from the `finally` it escapes to the caller")
    if wrapper_may_give_literal(ctx.index, ctx.module, func, site):
        # `False is not None`: the guarded release calls `False.close()`
        plan.mark_unsafe(LITERAL_RELEASE.format(var=var))
    elif _wrapper_may_give_none(ctx.index, ctx.module, func, site) \
            and not all(_moved_releases_skip_none(block, region.removals, var)
                        for block in _after_checkout(try_stmt, line)):
        # `conn = get_db()` gave None and the original's own `conn.close()` (in the
        # `try` after it, its `else`, or a handler reached by the error of a first use)
        # raised AttributeError there; moved behind `if conn is not None:` it would not
        plan.mark_unsafe(MOVED_RELEASE.format(var=var))
    if preset is None and _reads(try_stmt, var):
        plan.mark_unsafe(
            f"where the checkout itself raised, an `except` or `finally` that reads "
            f"`{var}` now meets `None` (set before the `try`) instead of an unbound name "
            f"(UnboundLocalError); set `{var} = None` before the `try` yourself to keep "
            f"the fix safe")
    if plan.check_only:
        check_line(module, release.code(var))
        return plan
    nl, indent = module.default_newline, module.default_indent
    guarded = cst.parse_statement(f"if {var} is not None:{nl}{indent}{release.code(var)}{nl}",
                                  config=module.config_for_parsing)
    new = rewrite([try_stmt], region.removals)
    rewritten = new[0] if len(new) == 1 else None
    if not isinstance(rewritten, cst.Try):
        return Unfixable(code, "the `try` that holds the checkout did not survive the edit")
    kept = [s for s in existing if not only_pass(cst.IndentedBlock([s]))]
    new_try = rewritten.with_changes(
        finalbody=cst.Finally(body=cst.IndentedBlock(body=[*kept, guarded])),
        leading_lines=[])
    if preset is not None:
        plan.replace(try_stmt, new_try.with_changes(leading_lines=try_stmt.leading_lines))
        return plan
    init = parse_line(module, f"{var} = None").with_changes(
        leading_lines=try_stmt.leading_lines)
    plan.replace(try_stmt, cst.FlattenSentinel([init, new_try]))
    return plan


def _after_checkout(try_stmt: cst.Try,
                    line: cst.SimpleStatementLine) -> list[list[cst.BaseStatement]]:
    """What may run after the checkout when it gave None: the rest of the `try` body and
    its `else` in a row, then each handler as a block of its own (the first use that
    raised may be what it caught)."""
    body = list(try_stmt.body.body) if isinstance(try_stmt.body, cst.IndentedBlock) else []
    at = next((i for i, s in enumerate(body) if s is line), -1)
    first = body[at + 1:]
    if try_stmt.orelse is not None:
        first.extend(body_statements_of(try_stmt.orelse.body))
    return [first, *(list(body_statements_of(h.body)) for h in try_stmt.handlers)]


def _release_may_raise(module: cst.Module, code: str) -> bool:
    expr = cst.parse_expression(code, config=module.config_for_parsing)
    call, _ = strip_await(expr)
    return not isinstance(call, cst.Call) or call_may_raise(call)


def _preset_none(try_stmt: cst.Try, parents: dict[int, cst.CSTNode],
                 var: str) -> cst.SimpleStatementLine | None:
    """`var = None` as an earlier statement of the block the `try` is in."""
    block = parents.get(id(try_stmt))
    if not isinstance(block, cst.IndentedBlock):
        return None
    for stmt in block.body:
        if stmt is try_stmt:
            return None
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                    and isinstance(small.targets[0].target, cst.Name) \
                    and small.targets[0].target.value == var \
                    and isinstance(small.value, cst.Name) and small.value.value == "None":
                return stmt
    return None


def _reads(try_stmt: cst.Try, var: str) -> bool:
    """An `except` or the `finally` (which run when the checkout raised) reads `var`."""
    parts: list[cst.CSTNode] = [*try_stmt.handlers]
    if try_stmt.finalbody is not None:
        parts.append(try_stmt.finalbody)
    return any(isinstance(n, cst.Name) and n.value == var
               for part in parts for n in iter_nodes(part))


def _in_loop(node: cst.CSTNode, top: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> bool:
    cur = parents.get(id(node))
    while cur is not None and cur is not top:
        if isinstance(cur, (cst.For, cst.While)):
            return True
        cur = parents.get(id(cur))
    return False

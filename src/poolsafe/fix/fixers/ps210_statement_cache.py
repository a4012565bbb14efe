"""PS210 fix: turn the prepared-statement cache off where the connection is made.

- a keyword of the call (`asyncpg.create_pool(..., statement_cache_size=0)`,
  `psycopg.connect(..., prepare_threshold=None)`): appended in the call's layout;
- an entry of the dict that holds connection arguments (`connect_args={...}` of
  SQLAlchemy, `kwargs={...}` of psycopg_pool): appended to the dict literal (in
  the call or a constant of the module), or a new `connect_args={...}` keyword
  when there is none;
- a different value given explicitly: replaced, unsafe (someone chose it).
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, string_value
from poolsafe.analysis.prepared_statements import CachingCall, caching_calls
from poolsafe.analysis.resolution import resolve
from poolsafe.core.model import RawFinding
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.fix.plan.layout import append_entry, append_keyword
from poolsafe.rules.base import FileContext

CODE = "PS210"


def _value(text: str) -> cst.BaseExpression:
    return cst.Name("None") if text == "None" else cst.Integer(text)


def fix_statement_cache(ctx: FileContext, finding: RawFinding) -> FixOutcome:
    found = next((c for c in caching_calls(ctx.index, ctx.module) if c.call is finding.node),
                 None)
    if found is None:
        return Unfixable(CODE, "the connection call was not found")
    plan = FixPlan(CODE, f"disable the statement cache ({found.key}={found.value})")
    call = found.call
    if found.holder is None:
        return _keyword(plan, call, found)
    holder = next((a for a in call.args if a.keyword is not None
                   and a.keyword.value == found.holder), None)
    if holder is None:
        if any(a.star == "**" for a in call.args):
            return Unfixable(CODE, f"`{found.holder}` may come from `**kwargs`")
        entry = cst.Dict([cst.DictElement(cst.SimpleString(f'"{found.key}"'),
                                          _value(found.value))])
        plan.replace(call, append_keyword(call, found.holder, entry))
        return plan
    target = resolve(ctx.index, holder.value, ctx.module, found.func)
    if target.module is not ctx.module or not isinstance(target.expr, cst.Dict):
        return Unfixable(CODE, f"`{found.holder}` is not a dict literal of this module")
    for el in target.expr.elements:
        if isinstance(el, cst.DictElement) and string_value(el.key) == found.key:
            plan.replace(el.value, _value(found.value))
            plan.mark_unsafe(f"overrides an explicit `{found.key}`")
            return plan
    plan.replace(target.expr, append_entry(target.expr, cst.SimpleString(f'"{found.key}"'),
                                           _value(found.value)))
    if isinstance(holder.value, cst.Name):
        shared = _shared_elsewhere(ctx, holder.value.value, holder.value)
        if shared is not None:
            name = holder.value.value
            plan.mark_unsafe(f"the dict `{name}` is also used {shared}: the entry reaches "
                             f"that use too (`asyncpg.connect(**{name})` has no "
                             f"`{found.key}`, another engine may not be behind PgBouncer)")
    return plan


def _shared_elsewhere(ctx: FileContext, name: str, use: cst.Name) -> str | None:
    """Where else the module constant `name` (read at `use`) is read: another use in
    its module, or another module of the project that names it."""
    reads = [n for n in iter_nodes(ctx.module.tree, into_functions=True)
             if isinstance(n, cst.Name) and n.value == name and n is not use]
    # the assignment's own target is one of them
    if len(reads) > 1:
        return "elsewhere in its module"
    for module in ctx.index.modules_mentioning([name]):
        if module is not ctx.module and module.path != ctx.module.path:
            return f"in `{module.path}`"
    return None


def _keyword(plan: FixPlan, call: cst.Call, found: CachingCall) -> FixOutcome:
    own = next((a for a in call.args if a.keyword is not None
                and a.keyword.value == found.key), None)
    if own is not None:
        plan.replace(own.value, _value(found.value))
        plan.mark_unsafe(f"overrides an explicit `{found.key}`")
        return plan
    if any(a.star == "**" for a in call.args):
        return Unfixable(CODE, f"`{found.key}` may come from `**kwargs`")
    plan.replace(call, append_keyword(call, found.key, _value(found.value)))
    return plan

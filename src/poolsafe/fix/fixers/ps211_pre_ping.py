"""PS211 fix: make a MySQL engine survive `wait_timeout` with `pool_pre_ping=True`.

Pre-ping rather than `pool_recycle`: it also covers what PS203 asks for (a server
restart or a failover), so fixing PS211 never makes PS203 appear on the same
engine, and it leaves an explicit `pool_recycle` as it was.

- no `pool_pre_ping`: a `pool_pre_ping=True` keyword after the last argument, in
  the call's layout; safe (one round trip per checkout, no change in results);
- `pool_pre_ping=False` in the call: turned into `True`, unsafe (someone chose it);
- `pool_pre_ping` in a `**mapping`: not fixed (a keyword too would be given twice);
- SQLAlchemy pinned below 1.2 (no `pool_pre_ping`: TypeError): not fixed.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.engines import engine_sites
from poolsafe.analysis.mysql_recycle import unprotected_mysql
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.edits import (
    WRITTEN_ELSEWHERE,
    enclosing_function,
    mapping_written_elsewhere,
    parent_map,
)
from poolsafe.fix.fixers.ps203_pre_ping import pre_ping_unknown
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.fix.plan.layout import append_keyword
from poolsafe.rules.base import FileContext

CODE = "PS211"
KEY = "pool_pre_ping"


def fix_mysql_pre_ping(ctx: FileContext, finding: RawFinding) -> FixOutcome:
    site = next((s for s in engine_sites(ctx.index, ctx.module) if s.anchor is finding.node),
                None)
    if site is None or not isinstance(finding.node, cst.Call):
        return Unfixable(CODE, "the engine call was not found")
    if unprotected_mysql(ctx.index, ctx.module, site) is None:
        return Unfixable(CODE, "the engine is protected already")
    if site.built_by is not None:
        return Unfixable(CODE, f"`{site.built_by}` builds the engine: add `pool_pre_ping: True` "
                         "to the engine_args mapping it is given")
    too_old = pre_ping_unknown(ctx)
    if too_old is not None:
        return Unfixable(CODE, too_old)
    call = finding.node
    plan = FixPlan(CODE, "add pool_pre_ping=True")
    own = next((a for a in call.args if a.keyword is not None and a.keyword.value == KEY), None)
    if own is not None:
        plan.replace(own.value, cst.Name("True"))
        plan.description = "set pool_pre_ping=True"
        plan.mark_unsafe("overrides an explicit `pool_pre_ping=False`")
        return plan
    if site.options is not None and KEY in site.options.values:
        return Unfixable(CODE, "`pool_pre_ping` is set in a `**mapping` the fix cannot edit")
    func = enclosing_function(call, parent_map(ctx.module.tree), ctx.module)
    elsewhere = mapping_written_elsewhere(ctx.index, call, ctx.module, func, KEY)
    if elsewhere is not None:
        plan.mark_unsafe(WRITTEN_ELSEWHERE.format(mapping=elsewhere, key=KEY))
    plan.replace(call, append_keyword(call, KEY, cst.Name("True")))
    return plan

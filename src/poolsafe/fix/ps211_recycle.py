"""PS211 fix: recycle MySQL connections before the server closes them.

- `create_engine(...)` without `pool_recycle`: a `pool_recycle=3600` keyword (below
  the default `wait_timeout` of 28800 s; half the repository's `wait_timeout` when
  that is 3600 s or less), in the call's layout. Safe: it changes only when idle
  connections are replaced.
- an explicit `pool_recycle` that is too high or disables recycling: replaced, but
  someone chose it, so the fix is unsafe.
- `pool_recycle` hidden in a `**mapping`: not fixed (a keyword too would be given
  twice).
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.engines import engine_sites
from poolsafe.analysis.mysql_recycle import unprotected_mysql
from poolsafe.fix.api import FixOutcome, FixPlan, Unfixable
from poolsafe.fix.layout import append_keyword
from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext

CODE = "PS211"
KEY = "pool_recycle"
RECYCLE_SECONDS = 3600


def recycle_seconds(wait_timeout: int) -> int:
    return RECYCLE_SECONDS if wait_timeout > RECYCLE_SECONDS else max(1, wait_timeout // 2)


def fix_recycle(ctx: FileContext, finding: RawFinding) -> FixOutcome:
    site = next((s for s in engine_sites(ctx.index, ctx.module) if s.anchor is finding.node),
                None)
    if site is None or not isinstance(finding.node, cst.Call):
        return Unfixable(CODE, "the engine call was not found")
    problem = unprotected_mysql(ctx.index, ctx.module, site)
    if problem is None:
        return Unfixable(CODE, "the engine is protected already")
    call = finding.node
    seconds = recycle_seconds(problem.wait_timeout)
    plan = FixPlan(CODE, f"add pool_recycle={seconds}")
    own = next((a for a in call.args if a.keyword is not None and a.keyword.value == KEY), None)
    if own is not None:
        plan.replace(own.value, cst.Integer(str(seconds)))
        plan.description = f"set pool_recycle={seconds}"
        plan.mark_unsafe("overrides an explicit `pool_recycle`")
        return plan
    if problem.recycle_given:
        return Unfixable(CODE, "`pool_recycle` is set in a `**mapping` the fix cannot edit")
    plan.replace(call, append_keyword(call, KEY, cst.Integer(str(seconds))))
    return plan

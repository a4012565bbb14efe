"""Proving one fix plan: the equivalence check on the plan applied alone.

`fix` runs it before it writes a plan, and `check` runs it for the `[*]` it shows
(`Rule.fix_safety`), so that the two agree on which findings a safe fix resolves.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from poolsafe.fix.equivalence import check_fix
from poolsafe.fix.equivalence.releases import configured_releases
from poolsafe.fix.plan.api import FixPlan
from poolsafe.fix.plan.applying import apply_plans


def prove_plan(tree: cst.Module, plan: FixPlan,
               releases: Iterable[str] = ()) -> str | None:
    """Run the equivalence check on `plan` applied alone (poolsafe.fix.equivalence):
    a plan that changes behaviour is marked unsafe with how; the reason it must not
    be offered at all (it always fails, or loses data) is returned. `releases`: the
    release functions the project's configuration names; the project release functions
    the plan itself writes as the release (`plan.releases`) count as well."""
    try:
        with configured_releases([*releases, *plan.releases]):
            verdict = check_fix(tree, apply_plans(tree, [plan]), plan.code)
    except Exception as exc:  # an unproved fix is not a safe one
        plan.mark_unsafe(f"the equivalence check could not run ({type(exc).__name__})")
        return None
    if verdict.drop:
        return "the fix would change behaviour beyond the release: " + "; ".join(
            verdict.problems)
    for problem in verdict.problems:
        plan.mark_unsafe(f"the equivalence check found {problem}")
    return None

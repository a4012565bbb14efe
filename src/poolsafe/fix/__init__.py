"""`poolsafe fix`: libcst codemods that rewrite findings into the safe pattern."""

from poolsafe.fix.api import FixOutcome, FixPlan, ImportRequest, Unfixable

__all__ = ["FixOutcome", "FixPlan", "ImportRequest", "Unfixable"]

"""Fixers for the PS20x rules (pool settings and lifecycles), kept apart from the
rule modules, which another part of the project owns."""

from __future__ import annotations

from collections.abc import Callable

from poolsafe.fix.api import FixOutcome
from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext

FixFunction = Callable[[FileContext, RawFinding], FixOutcome]


def fixers() -> dict[str, FixFunction]:
    """Code -> fixer, for the PS20x rules that exist in this build."""
    return {}

"""Fixers for the PS20x rules (pool settings and lifecycles), kept apart from the
rule modules, which another part of the project owns.

- PS203 (`ps203_pre_ping`): `pool_pre_ping=True` where the engine is configured.
- PS205 (`ps205_teardown`): a `teardown_appcontext` handler that removes the
  scoped session, beside the Flask app (possibly in another module).
- PS206 (`ps206_app_context`): the job's work inside `with app.app_context():`.
"""

from __future__ import annotations

from collections.abc import Callable

from poolsafe.fix.api import FixOutcome
from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext

FixFunction = Callable[[FileContext, RawFinding], FixOutcome]


def fixers() -> dict[str, FixFunction]:
    """Code -> fixer, for the PS20x rules that exist in this build."""
    from poolsafe.fix.ps203_pre_ping import fix_pre_ping
    from poolsafe.fix.ps205_teardown import fix_teardown
    from poolsafe.fix.ps206_app_context import fix_app_context

    return {"PS203": fix_pre_ping, "PS205": fix_teardown, "PS206": fix_app_context}

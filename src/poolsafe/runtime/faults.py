"""Fault injection: make the next statements, commits or connects fail."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

KINDS = ("statement", "commit", "connect")


@dataclass
class FaultPlan:
    """Fail ``count`` operations of ``kind`` after letting ``after`` of them pass."""

    kind: str
    count: int
    after: int = 0
    match: str | None = None
    passed: int = 0
    fired: int = 0

    @property
    def remaining(self) -> int:
        return self.count - self.fired

    def applies_to(self, sql: str | None) -> bool:
        if self.match is None:
            return True
        return sql is not None and self.match.lower() in sql.lower()


class FaultSet:
    """The plans added by one ``pool.faults(...)`` call; a context manager that
    cancels whatever has not fired yet on exit."""

    def __init__(self, injector: FaultInjector, plans: list[FaultPlan]) -> None:
        self._injector = injector
        self.plans = plans

    @property
    def fired(self) -> int:
        return sum(p.fired for p in self.plans)

    @property
    def remaining(self) -> int:
        return sum(p.remaining for p in self.plans)

    def cancel(self) -> None:
        self._injector.remove(self.plans)

    def __enter__(self) -> FaultSet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    def __repr__(self) -> str:
        return f"<FaultSet fired={self.fired} remaining={self.remaining}>"


class FaultInjector:
    """Per-pool list of fault plans. ``active`` is checked on the hot paths."""

    def __init__(self, make_error: Callable[[str], Exception]) -> None:
        self._make_error = make_error
        self._plans: list[FaultPlan] = []
        self._lock = threading.Lock()
        self.active = False
        self.history: list[str] = []

    def __call__(
        self,
        *,
        statements: int = 0,
        commits: int = 0,
        connects: int = 0,
        after: int = 0,
        match: str | None = None,
    ) -> FaultSet:
        """Fail the next ``statements``/``commits``/``connects`` operations.

        ``after`` lets that many matching operations succeed first; ``match`` limits
        statement faults to SQL containing the substring (case-insensitive).
        """
        if min(statements, commits, connects, after) < 0:
            raise ValueError("fault counts must not be negative")
        plans = [
            FaultPlan(kind, count, after, match if kind == "statement" else None)
            for kind, count in zip(KINDS, (statements, commits, connects), strict=True)
            if count
        ]
        with self._lock:
            self._plans.extend(plans)
            self.active = bool(self._plans)
        return FaultSet(self, plans)

    def remove(self, plans: list[FaultPlan]) -> None:
        with self._lock:
            self._plans = [p for p in self._plans if all(p is not q for q in plans)]
            self.active = bool(self._plans)

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()
            self.active = False

    def check(self, kind: str, sql: str | None = None) -> None:
        """Raise the driver's error if a plan says this operation must fail."""
        with self._lock:
            for plan in self._plans:
                if plan.kind != kind or not plan.applies_to(sql):
                    continue
                if plan.passed < plan.after:
                    plan.passed += 1
                    return
                plan.fired += 1
                if plan.remaining <= 0:
                    self._plans.remove(plan)
                    self.active = bool(self._plans)
                break
            else:
                return
        what = f"{kind} {sql!r}" if sql is not None else kind
        message = f"poolsafe injected fault: {what} failed ({plan.fired} of {plan.count})"
        self.history.append(message)
        raise self._make_error(message)

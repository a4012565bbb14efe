"""The rule registry: one module per rule, each with its documentation and cases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from poolsafe.rules.base import Case, FileContext, Rule

if TYPE_CHECKING:
    #: every analysis rule, in code order (loaded on first use: the rule modules
    #: load the analysis, which reading a cached result does not need)
    ALL_RULES: tuple[type[Rule], ...]
    RULES_BY_CODE: dict[str, type[Rule]]


def _load() -> tuple[type[Rule], ...]:
    from poolsafe.rules.ps101_close_pooled_connection import ClosePooledConnection
    from poolsafe.rules.ps102_unreleased_connection import UnreleasedConnection
    from poolsafe.rules.ps103_except_without_rollback import ExceptWithoutRollback
    from poolsafe.rules.ps104_session_dependency_returns import SessionDependencyReturns
    from poolsafe.rules.ps105_session_in_route import SessionInRoute
    from poolsafe.rules.ps106_use_after_release import UseAfterRelease
    from poolsafe.rules.ps107_django_connection_outside_request import (
        DjangoConnectionOutsideRequest,
    )
    from poolsafe.rules.ps201_connect_per_request import ConnectPerRequest
    from poolsafe.rules.ps202_engine_per_call import EnginePerCall
    from poolsafe.rules.ps203_pool_without_pre_ping import PoolWithoutPrePing
    from poolsafe.rules.ps204_overflow_too_large import OverflowTooLarge
    from poolsafe.rules.ps205_scoped_session_never_removed import ScopedSessionNeverRemoved
    from poolsafe.rules.ps206_job_without_app_context import JobWithoutAppContext
    from poolsafe.rules.ps207_io_in_transaction import IoInTransaction
    from poolsafe.rules.ps208_pool_capacity_exceeds_server import PoolCapacityExceedsServer
    from poolsafe.rules.ps209_missing_timeouts import MissingTimeouts
    from poolsafe.rules.ps210_prepared_statements_behind_pgbouncer import (
        PreparedStatementsBehindPgbouncer,
    )
    from poolsafe.rules.ps211_mysql_without_recycle import MysqlWithoutRecycle

    return (
        ClosePooledConnection,
        UnreleasedConnection,
        ExceptWithoutRollback,
        SessionDependencyReturns,
        SessionInRoute,
        UseAfterRelease,
        DjangoConnectionOutsideRequest,
        ConnectPerRequest,
        EnginePerCall,
        PoolWithoutPrePing,
        OverflowTooLarge,
        ScopedSessionNeverRemoved,
        JobWithoutAppContext,
        IoInTransaction,
        PoolCapacityExceedsServer,
        MissingTimeouts,
        PreparedStatementsBehindPgbouncer,
        MysqlWithoutRecycle,
    )


def __getattr__(name: str) -> Any:
    """`ALL_RULES` and `RULES_BY_CODE`, built the first time they are asked for."""
    if name == "ALL_RULES":
        value: Any = _load()
    elif name == "RULES_BY_CODE":
        value = {r.code: r for r in __getattr__("ALL_RULES")}
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def rule_by_code_or_name(key: str) -> type[Rule] | None:
    rules: tuple[type[Rule], ...] = __getattr__("ALL_RULES")
    for r in rules:
        if key.upper() == r.code or key == r.name:
            return r
    return None


__all__ = ["ALL_RULES", "RULES_BY_CODE", "Case", "FileContext", "Rule", "rule_by_code_or_name"]

"""Which statements take an explicit lock their transaction holds until it ends (PS207).

`session.query(Job).with_for_update().filter(...).one()`, `session.execute(select(Job)
.with_for_update(skip_locked=True))`, `cur.execute("SELECT ... FOR UPDATE")`,
`conn.fetchrow("SELECT ... FOR NO KEY UPDATE NOWAIT")`, `SELECT pg_advisory_xact_lock(:k)`
(also `func.pg_advisory_xact_lock(k)`): the forms are data in `knowledge/locks.py`.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, string_value, strip_await
from poolsafe.analysis.read_only import Resolver, chain_methods, sql_words
from poolsafe.knowledge.locks import (
    ADVISORY_XACT_LOCK_FUNCTIONS,
    LOCK_CHAIN_METHODS,
    LOCK_STATEMENT_METHODS,
    SQL_ROW_LOCK_CLAUSES,
)


def locking_sql(sql: str) -> bool:
    """SQL text that is a SELECT locking its rows, or one taking an advisory xact lock."""
    text = sql_words(sql).replace(" (", "(")
    if any(fn + "(" in text for fn in ADVISORY_XACT_LOCK_FUNCTIONS) and (
            text.startswith("select ") or text.startswith("perform ")):
        return True
    return (text.startswith("select ") or text.startswith("with ")) and any(
        " " + clause in text for clause in SQL_ROW_LOCK_CLAUSES)


def locking_statement(expr: cst.BaseExpression, resolver: Resolver, depth: int = 0) -> bool:
    """`expr` is a statement that takes a lock: SQL text, `text(...)`, a `select(...)`
    chain with `with_for_update()`, `select(func.pg_advisory_xact_lock(k))`, or a
    local name bound once to one of those."""
    expr = strip_await(expr)[0]
    sql = string_value(expr)
    if sql is not None:
        return locking_sql(sql)
    if isinstance(expr, cst.Name):
        if depth >= 2:
            return False
        bound = resolver(expr)
        return bound is not None and bound is not expr and locking_statement(
            bound, resolver, depth + 1)
    if not isinstance(expr, cst.Call):
        return False
    for node in iter_nodes(expr):
        if isinstance(node, cst.Attribute) and (
                node.attr.value in LOCK_CHAIN_METHODS
                or node.attr.value in ADVISORY_XACT_LOCK_FUNCTIONS):
            return True
        if isinstance(node, cst.Name) and node.value in ADVISORY_XACT_LOCK_FUNCTIONS:
            return True
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            text = string_value(node)
            if text is not None and locking_sql(text):
                return True
    return False


def takes_lock(call: cst.Call, resolver: Resolver) -> bool:
    """`call` (a method on a connection, session, cursor or a query chain rooted at
    one) takes a lock its transaction holds: the chain has `with_for_update()`, or
    the statement it runs locks."""
    if not isinstance(call.func, cst.Attribute):
        return False
    methods, _ = chain_methods(call.func)
    if any(m in LOCK_CHAIN_METHODS for m in methods):
        return True
    return call.func.attr.value in LOCK_STATEMENT_METHODS and bool(call.args) \
        and locking_statement(call.args[0].value, resolver)

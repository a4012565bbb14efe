"""Whether a SQLAlchemy `Connection` is SQLAlchemy 1.x's legacy connection running
each statement on its own, read from the function's own code.

A 1.x (non-future) `Connection` with no transaction of its own (no `begin()`) is in
"autocommit" mode: when a statement fails, the connection calls `_autorollback()`
before the error leaves `execute()`, so the next statement does not run in an aborted
transaction. Executing a plain SQL string (`conn.execute("CREATE DATABASE x")`) is
what says 1.x: 2.0 (and 1.4's future mode) refuse strings. A `begin()`,
`begin_nested()` or `begin_twophase()` on the connection anywhere in the function
opens a transaction that the error leaves to the code, as 2.0 does.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_nodes

_BEGINS = frozenset({"begin", "begin_nested", "begin_twophase"})


def rolls_back_itself(body: cst.CSTNode, conn: str) -> bool:
    """`conn` executes a plain SQL string in `body` and opens no transaction there."""
    executes_string = False
    for node in iter_nodes(body):
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            continue
        if dotted_name(node.func.value) != conn:
            continue
        method = node.func.attr.value
        if method in _BEGINS:
            return False
        if method == "execute" and node.args and _plain_sql(node.args[0].value):
            executes_string = True
    return executes_string


def _plain_sql(node: cst.BaseExpression) -> bool:
    """A string literal, an f-string, or a literal's `.format(...)` / `%` result."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return True
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
            and node.func.attr.value == "format":
        return isinstance(node.func.value, (cst.SimpleString, cst.ConcatenatedString))
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        return isinstance(node.left, (cst.SimpleString, cst.ConcatenatedString))
    return False

"""A psycopg 3 transaction block around a handler: there `rollback()` is refused.

    async with pool.connection() as conn:
        async with conn.transaction():
            try:
                await conn.execute(...)
            except Exception:
                ...                      # `await conn.rollback()` raises here

psycopg 3 refuses an explicit `commit()` or `rollback()` inside `conn.transaction()`
(`ProgrammingError: Explicit rollback() forbidden within a Transaction context`): the
block ends the transaction itself, and a savepoint (a nested `conn.transaction()`)
undoes the failed statement alone. The block is found around the handler in its own
function, or in a project context manager that yields the connection from inside one
(`async with transaction() as conn:` where `transaction()` does `async with
pool.connection() as conn: async with conn.transaction(): yield conn`).
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.values import FunctionRef
from poolsafe.knowledge import ConnectionKind


def psycopg_transaction_block(index: ProjectIndex, func: FunctionInfo,
                              handler: cst.CSTNode, resource: str, kind: ConnectionKind | None,
                              parents: dict[int, cst.CSTNode]) -> str | None:
    """The source of the `with` item that opens a psycopg 3 transaction block of
    `resource` around `handler` (`conn.transaction()`, or the project context manager
    that yields `resource` from inside one), else None."""
    if kind is None or kind.db_error is None or kind.db_error[0] != "psycopg":
        return None
    node = parents.get(id(handler))
    while node is not None and node is not func.node:
        if isinstance(node, cst.With):
            for item in node.items:
                entered, _ = strip_await(item.item)
                if not isinstance(entered, cst.Call):
                    continue
                if _transaction_of(entered) == resource:
                    return func.module.tree.code_for_node(entered)
                target = item.asname.name if item.asname is not None else None
                if isinstance(target, cst.Name) and target.value == resource:
                    ref = index.evaluate(entered.func, func.module, func)
                    if isinstance(ref, FunctionRef) and _yields_in_block(ref.func):
                        return func.module.tree.code_for_node(entered)
        node = parents.get(id(node))
    return None


def in_psycopg_transaction_block(index: ProjectIndex, func: FunctionInfo,
                                 handler: cst.CSTNode, resource: str,
                                 kind: ConnectionKind | None) -> bool:
    """`psycopg_transaction_block` for a handler of `func`, with the parents of the
    function's own nodes."""
    if kind is None or kind.db_error is None or kind.db_error[0] != "psycopg":
        return False
    parents: dict[int, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [func.node]
    while stack:
        node = stack.pop()
        for child in node.children:
            parents[id(child)] = node
            stack.append(child)
    return psycopg_transaction_block(index, func, handler, resource, kind, parents) is not None


def _transaction_of(call: cst.Call) -> str | None:
    """`conn` for `conn.transaction()` (a plain name), else None."""
    f = call.func
    if isinstance(f, cst.Attribute) and f.attr.value == "transaction" \
            and isinstance(f.value, cst.Name):
        return f.value.value
    return None


def _yields_in_block(cm: FunctionInfo) -> bool:
    """A generator (a project `@contextmanager`) that yields a name from inside that
    name's `transaction()` block."""
    if not cm.is_generator:
        return False
    for node in iter_nodes(cm.node.body):
        if not isinstance(node, cst.With):
            continue
        for item in node.items:
            entered, _ = strip_await(item.item)
            name = _transaction_of(entered) if isinstance(entered, cst.Call) else None
            if name is not None and any(
                    isinstance(y, cst.Yield) and isinstance(y.value, cst.Name)
                    and y.value.value == name for y in iter_nodes(node.body)):
                return True
    return False

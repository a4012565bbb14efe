"""A helper's ownership flag handed out beside its checkout.

`return conn, True` (or `opened = True` right before `return conn, opened`) beside a
fresh checkout, `return given, False` beside a connection the caller lent: the
caller's `conn, mine = helper(given)` ... `finally: if mine: conn.close()` releases
exactly what the helper checked out, since the flag is true wherever the checkout
is held.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import bound_names, is_true, iter_nodes


def owner_flag_at(ret: cst.Return, body: cst.BaseSuite, packed_at: int) -> int | None:
    """The position, in the tuple `ret` returns with a checkout at `packed_at`, of the
    one other element that is True there (the literal, or a local name set to True
    by the statement before it in the same block); None when there is none or more."""
    value = ret.value
    if not isinstance(value, (cst.Tuple, cst.List)):
        return None
    found = [j for j, element in enumerate(value.elements)
             if j != packed_at and _true_at(element.value, ret, body)]
    return found[0] if len(found) == 1 else None


def _true_at(expr: cst.BaseExpression, ret: cst.Return, body: cst.BaseSuite) -> bool:
    if is_true(expr):
        return True
    return isinstance(expr, cst.Name) and _set_true_before(ret, expr.value, body)


def _set_true_before(ret: cst.Return, name: str, body: cst.BaseSuite) -> bool:
    """The last statement before `ret`'s in its block that binds `name` is `name = True`
    (nothing further back is looked at: a block start means unknown)."""
    held = _block_of(ret, body)
    if held is None:
        return False
    statements, index = held
    for statement in reversed(statements[:index]):
        if name in bound_names(statement):
            return _assigns_true(statement, name)
    return False


def _block_of(ret: cst.Return, body: cst.BaseSuite
              ) -> tuple[list[cst.BaseStatement], int] | None:
    """The statements of the block holding `ret`'s line, and that line's index."""
    for node in iter_nodes(body):
        if not isinstance(node, cst.IndentedBlock):
            continue
        statements = list(node.body)
        for index, statement in enumerate(statements):
            if isinstance(statement, cst.SimpleStatementLine) \
                    and any(small is ret for small in statement.body):
                return statements, index
    return None


def _assigns_true(statement: cst.BaseStatement, name: str) -> bool:
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    small = statement.body[0]
    return isinstance(small, cst.Assign) and len(small.targets) == 1 \
        and isinstance(small.targets[0].target, cst.Name) \
        and small.targets[0].target.value == name and is_true(small.value)

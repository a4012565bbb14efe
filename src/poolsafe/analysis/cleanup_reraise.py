"""A handler that uses the connection for a clean-up, then re-raises.

    except Exception:
        await conn.execute("DROP TABLE tmp")     # runs in the aborted transaction
        raise

Such a handler swallows nothing: the error goes on to the caller. What it does wrong
is narrower: on a database that aborts the transaction on an error (PostgreSQL), the
clean-up statement runs in the failed transaction and fails too ("current transaction
is aborted"), so the clean-up is not done and its error is what the caller gets (the
one caught is only its `__context__`). A clean-up in a `try` of its own whose handler
takes that failure (best effort: `try: drop(conn)` / `except Exception: log(...)`)
changes nothing the caller sees: the `raise` after it re-raises the error caught.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst

from poolsafe.analysis.cstutil import body_statements

Catches = Callable[[cst.ExceptHandler | cst.ExceptStarHandler, cst.Try | cst.TryStar],
                   tuple[bool, bool]]

#: the `why` of a PS103 finding whose handler re-raises after an unguarded clean-up
REUSED_BEFORE_RERAISE = "it re-raises, but first uses it again in the aborted transaction"


def ends_in_raise(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """The handler's last statement is a `raise` (bare, of what it caught, or a new
    error): every path through it that reaches its end raises."""
    stmts = body_statements(handler.body)
    return bool(stmts) and isinstance(stmts[-1], cst.SimpleStatementLine) \
        and isinstance(stmts[-1].body[-1], cst.Raise)


def cleanup_before_reraise(handler: cst.ExceptHandler | cst.ExceptStarHandler,
                           stack: Sequence[cst.BaseStatement],
                           catches: Catches) -> str | None:
    """For the statement at the top of `stack` (the statements that enclose it, outermost
    first): "guarded" when it lies in `handler`, which ends in `raise`, inside a `try` of
    the handler's own whose handler may catch a database error; "unguarded" when it lies
    in such a handler outside any such `try`; None when it is not in a handler that ends
    in `raise`."""
    if not ends_in_raise(handler):
        return None
    own = {id(s) for s in body_statements(handler.body)}
    start = next((i for i, s in enumerate(stack) if id(s) in own), None)
    if start is None:
        return None
    for i in range(start, len(stack) - 1):
        stmt = stack[i]
        if isinstance(stmt, (cst.Try, cst.TryStar)) \
                and any(s is stack[i + 1] for s in body_statements(stmt.body)) \
                and any(catches(h, stmt)[0] for h in stmt.handlers):
            return "guarded"
    return "unguarded"

"""Flags known true where a statement starts (PS102's `if conn:` guard).

`success = True` ... `conn = get_connection()` (which returns the connection, or
`False` when it fails) ... `if conn: ... else: success = False` ... `if success:
conn.close()`: where `conn` is true, `success` is still the `True` it was set to
before, so the checkout `if conn:` keeps is held only where `success` is true, and
`if success:` releases it on every path that holds it (round 44, fresh88).

`true_flags_at(body, node)` reads that from the code's shape: the names bound to the
literal `True` by an earlier statement that every way to `node` passes through, with
no statement in between that may bind them again. A loop around `node` may bind a
name again in a later turn, and a `try`'s handlers, `else` and `finally` may start
after any part of its body: names bound there are left out."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from poolsafe.analysis.cstutil import bound_names, iter_nodes


def _binds_true(st: cst.BaseStatement) -> set[str]:
    """`a = True` / `a = b = True`: the names a simple statement binds to `True`."""
    if not isinstance(st, cst.SimpleStatementLine) or len(st.body) != 1:
        return set()
    small = st.body[0]
    if not isinstance(small, cst.Assign) or not isinstance(small.value, cst.Name) \
            or small.value.value != "True":
        return set()
    if not all(isinstance(t.target, cst.Name) for t in small.targets):
        return set()
    return {t.target.value for t in small.targets if isinstance(t.target, cst.Name)}


def _contains(st: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(n is node for n in iter_nodes(st))


def _stmts(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    """The statements of a block; a one-line suite (`if ok: x = 1`) holds no
    compound statement, so it is read as the simple line it is."""
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    assert isinstance(suite, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=suite.body)]


def true_flags_at(body: Sequence[cst.BaseStatement], node: cst.BaseStatement,
                  known: frozenset[str] = frozenset()) -> frozenset[str] | None:
    """The names known `True` where `node` (a statement under `body`) starts, or
    None when `node` is not under `body` (or sits where this reading stops: a nested
    function or class, a `match`)."""
    for st in body:
        if st is node:
            return known
        if not _contains(st, node):
            known = (known - bound_names(st)) | _binds_true(st)
            continue
        if isinstance(st, cst.If):
            start = known - bound_names(st.test)
            found = true_flags_at(_stmts(st.body), node, start)
            if found is None and st.orelse is not None:
                found = true_flags_at(
                    [st.orelse] if isinstance(st.orelse, cst.If)
                    else _stmts(st.orelse.body), node, start)
            return found
        if isinstance(st, (cst.For, cst.While)):
            start = known - bound_names(st)
            found = true_flags_at(_stmts(st.body), node, start)
            if found is None and st.orelse is not None:
                found = true_flags_at(_stmts(st.orelse.body), node, start)
            return found
        if isinstance(st, cst.With):
            return true_flags_at(_stmts(st.body), node,
                                 known - set().union(*(bound_names(i) for i in st.items)))
        if isinstance(st, (cst.Try, cst.TryStar)):
            found = true_flags_at(_stmts(st.body), node, known)
            if found is not None:
                return found
            after_any = known - bound_names(st.body)
            for handler in st.handlers:
                found = true_flags_at(_stmts(handler.body), node,
                                      after_any - bound_names(handler))
                if found is not None:
                    return found
            for part in (st.orelse, st.finalbody):
                if part is not None:
                    found = true_flags_at(_stmts(part.body), node, frozenset())
                    if found is not None:
                        return found
            return None
        return None
    return None

"""Statements that set session state a rollback would undo.

PostgreSQL keeps `SET search_path`, `SET ROLE`, `SET ... ` (session or `LOCAL`),
`set_config(name, value, false)` and temporary tables inside the transaction
that ran them: a `ROLLBACK` reverts them. Code that swallows an error and then
carries on was broken before (the aborted transaction refuses every statement),
but once a rollback is added, the statements after it *succeed* in the default
schema, as the default role, without the temporary table. PS103's fix must not
turn a loud failure into silently wrong writes, so it looks for such statements
in the function first, and in the project's acquire wrappers the connection came
from (a `get_connection()` that sets the schema before handing it out).

The SQL is read where its text is visible: a string literal, the literal start of
an f-string or concatenation, a module constant, and the same wrapped in
SQLAlchemy's `text(...)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.resolution import string_prefix
from poolsafe.analysis.values import FunctionRef

#: the methods that send SQL text, on connections, cursors and sessions
_SQL_METHODS = frozenset({"execute", "executemany", "exec_driver_sql", "fetch", "fetchrow",
                          "fetchval", "executescript"})

_HAZARDS = (
    (re.compile(r"^\s*set\s+transaction\b", re.I), "SET TRANSACTION"),
    (re.compile(r"^\s*set\s+", re.I), "SET"),
    (re.compile(r"\bset_config\s*\(", re.I), "set_config()"),
    (re.compile(r"^\s*create\s+(?:global\s+|local\s+)?temp(?:orary)?\s", re.I),
     "a temporary table"),
)


@dataclass(frozen=True)
class SessionState:
    #: the statement as written, shortened: `SET search_path TO tenant_1`
    sql: str
    #: what kind of state it sets (`SET`, `set_config()`, `a temporary table`)
    what: str
    #: the call that runs it
    call: cst.Call
    #: the acquire wrapper that ran it before handing the connection out
    #: (`get_connection`), or "" for the function itself
    where: str = ""


def session_state_statements(index: ProjectIndex, func: FunctionInfo) -> list[SessionState]:
    """Every statement of `func`'s own body that sets state a rollback undoes."""
    out: list[SessionState] = []
    for call in func.direct_calls:
        f = call.func
        if not isinstance(f, cst.Attribute) or f.attr.value not in _SQL_METHODS or not call.args:
            continue
        text = _sql_text(index, func, call.args[0].value)
        if text is None:
            continue
        for pattern, what in _HAZARDS:
            if pattern.search(text):
                shown = " ".join(text.split())
                out.append(SessionState(shown if len(shown) <= 60 else shown[:57] + "...",
                                        what, call))
                break
    return out


def acquire_history(index: ProjectIndex, func: FunctionInfo, name: str,
                    depth: int = 0) -> list[SessionState]:
    """The statements that set session state inside the project functions `name`'s
    connection came from (`conn = get_connection()`, where `get_connection()` runs
    `SET search_path` before returning it), in any module, through wrappers of
    wrappers."""
    if depth > 3:
        return []
    out: list[SessionState] = []
    for value in func.locals.get(name, []):
        if not isinstance(value, cst.BaseExpression):
            continue
        call, _ = strip_await(value)
        if not isinstance(call, cst.Call):
            continue
        callee = index.evaluate(call.func, func.module, func)
        if not isinstance(callee, FunctionRef) or callee.func is func:
            continue
        wrapper = callee.func
        out += [replace(st, where=wrapper.name)
                for st in session_state_statements(index, wrapper)]
        for ret in wrapper.returns:
            inner, _ = strip_await(ret.value) if ret.value is not None else (None, False)
            if isinstance(inner, cst.Name):
                out += [replace(st, where=st.where or wrapper.name) for st in
                        acquire_history(index, wrapper, inner.value, depth + 1)]
    return out


def within(state: SessionState, node: cst.CSTNode) -> bool:
    """The statement runs inside `node` (a `try` body, say)."""
    return any(n is state.call for n in iter_nodes(node))


def _sql_text(index: ProjectIndex, func: FunctionInfo, expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Call) and expr.args:
        name = expr.func.attr.value if isinstance(expr.func, cst.Attribute) else (
            expr.func.value if isinstance(expr.func, cst.Name) else None)
        if name in {"text", "SQL"}:  # sqlalchemy.text(...), psycopg's sql.SQL(...)
            expr = expr.args[0].value
    return string_prefix(index, expr, func.module, func)

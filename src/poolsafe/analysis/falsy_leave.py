"""A request handler that leaves when a helper's result tests false, in the forms
`_raises_when_falsy` / `_leaves_when_falsy` (flow.py) do not spell: the positive test
with the falsy path in its `else` or in the statement right after it, and log lines
between the call and its test.

    user = create_user(db, data)
    log.info("created? %s", bool(user))        # a log line: no database work
    if user:
        log.info("user %s", user.email)
    else:
        raise HTTPException(400)                # the falsy path leaves here

    if task.save():
        return response(task)
    return bad_request()                        # ... or here

Issue 31, item 7 (small66, corpus30's tune half): a repository function or a model's
`save()` that swallows a failed commit and gives back a falsy value, called only by
routes that leave on that value; the framework then ends the request's session."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import body_statements, iter_nodes, strip_await
from poolsafe.analysis.module import FunctionInfo

#: methods of a logger (`log.info(...)`), and `print`: a line that only reports
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception",
                          "critical", "log"})


def leaves_on_falsy_result(call: cst.Call, func: FunctionInfo) -> bool:
    """`call`'s result, bound to a name (`user = call(...)`) and tested after nothing
    but log lines, or tested itself (`if call(...):`), leaves `func` when it is false:
    `if user: ... else: <return|raise>`, or `if user: ... <return|raise>` followed by a
    `return`/`raise` statement. A test whose falsy path goes on keeps it false."""
    for block in _blocks(func.node.body):
        stmts = list(block)
        for i, stmt in enumerate(stmts):
            name = _bound_name(stmt, call)
            if name is not None:
                j = i + 1
                while j < len(stmts) and _log_line(stmts[j]):
                    j += 1
                return j < len(stmts) and _positive_test_leaves(stmts, j, name, None)
            if isinstance(stmt, cst.If) and strip_await(stmt.test)[0] is call:
                return _positive_test_leaves(stmts, i, None, call)
    return False


def _blocks(node: cst.CSTNode) -> list[tuple[cst.BaseStatement, ...]]:
    """The statement sequences of a function's body, nested blocks included (not the
    bodies of nested functions or classes)."""
    found: list[tuple[cst.BaseStatement, ...]] = []
    for n in iter_nodes(node):
        if isinstance(n, cst.IndentedBlock):
            found.append(tuple(n.body))
    return found


def _bound_name(stmt: cst.BaseStatement, call: cst.Call) -> str | None:
    """`name = call(...)` (or `name = await call(...)`): the name."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Assign)):
        return None
    assign = stmt.body[0]
    if strip_await(assign.value)[0] is not call or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    return target.value if isinstance(target, cst.Name) else None


def _log_line(stmt: cst.BaseStatement) -> bool:
    """`log.info(...)` / `print(...)` as a statement, with no other call or `await` in
    its arguments (an f-string or a conditional on the result is fine; `db.execute(...)`
    inside is work on the session)."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)):
        return False
    value = stmt.body[0].value
    if not isinstance(value, cst.Call):
        return False
    f = value.func
    if not ((isinstance(f, cst.Name) and f.value == "print")
            or (isinstance(f, cst.Attribute) and f.attr.value in _LOG_METHODS)):
        return False
    return not any(isinstance(n, (cst.Call, cst.Await))
                   for arg in value.args for n in iter_nodes(arg.value))


def _positive_test_leaves(stmts: list[cst.BaseStatement], i: int, name: str | None,
                          call: cst.Call | None) -> bool:
    """`stmts[i]` is `if name:` (or `if call(...):`) whose falsy path leaves: its `else`
    ends in `return`/`raise`, or it has no `else`, its body leaves, and the statement
    after it is a `return`/`raise`."""
    test = stmts[i]
    if not isinstance(test, cst.If):
        return False
    expr = strip_await(test.test)[0]
    if name is not None and not (isinstance(expr, cst.Name) and expr.value == name):
        return False
    if call is not None and expr is not call:
        return False
    if test.orelse is not None:
        return isinstance(test.orelse, cst.Else) and _ends_leaving(test.orelse.body)
    return _ends_leaving(test.body) and i + 1 < len(stmts) \
        and _leaving_statement(stmts[i + 1])


def _ends_leaving(block: cst.BaseSuite) -> bool:
    body = body_statements(block)
    return bool(body) and _leaving_statement(body[-1])


def _leaving_statement(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and bool(stmt.body) \
        and isinstance(stmt.body[-1], (cst.Raise, cst.Return))

"""A savepoint per loop iteration in SQL, for drivers without a savepoint context
manager (psycopg2).

Inside a loop, a rollback in a handler would also discard what earlier iterations
did, and a `commit()` after the loop would then store only the later ones. A
savepoint taken at the top of the `try` body, rolled back to in the handler and
released at the end of the body, undoes only the failed iteration:

    for row in rows:                   for row in rows:
        try:                               try:
            cur.execute(INSERT, row)  ->       conn.cursor().execute("SAVEPOINT sp")
        except IntegrityError:                 cur.execute(INSERT, row)
            log(row)                           conn.cursor().execute("RELEASE SAVEPOINT sp")
                                           except IntegrityError:
                                               conn.cursor().execute("ROLLBACK TO SAVEPOINT sp")
                                               log(row)

(`sp` is `poolsafe_iteration` in the code written.)
A cursor of its own runs each statement (psycopg2 builds it in memory), so no
cursor of the code is touched. The release is left out when the body ends by
leaving the iteration (`return`, `continue`, `raise`): the savepoint then lives
until the transaction ends, which is harmless.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import JUMP_STATEMENTS
from poolsafe.fix.fixers.edits import parse_line
from poolsafe.fix.plan.api import FixPlan

#: connection kinds whose savepoints are written in SQL
SQL_SAVEPOINT_KINDS = frozenset({"psycopg2", "psycopg2-pool"})

SAVEPOINT = "poolsafe_iteration"


def sql_savepoint_plan(plan: FixPlan, module: cst.Module, try_stmt: cst.Try,
                       handler: cst.ExceptHandler, resource: str) -> FixPlan:
    """`plan` with the savepoint statements added around `try_stmt`'s body and at the
    top of `handler` (a lone `pass` there is replaced)."""
    def line(sql: str) -> cst.SimpleStatementLine:
        return parse_line(module, f'{resource}.cursor().execute("{sql}")')

    assert isinstance(try_stmt.body, cst.IndentedBlock)
    body = list(try_stmt.body.body)
    body.insert(0, line(f"SAVEPOINT {SAVEPOINT}"))
    last = body[-1]
    if not (isinstance(last, cst.SimpleStatementLine) and isinstance(
            last.body[-1], JUMP_STATEMENTS)):
        body.append(line(f"RELEASE SAVEPOINT {SAVEPOINT}"))
    suite = handler.body
    old: list[cst.BaseStatement]
    if isinstance(suite, cst.IndentedBlock):
        old, header = list(suite.body), suite.header
    else:
        assert isinstance(suite, cst.SimpleStatementSuite)
        old, header = [cst.SimpleStatementLine(list(suite.body))], suite.trailing_whitespace
    if len(old) == 1 and isinstance(old[0], cst.SimpleStatementLine) \
            and all(isinstance(s, cst.Pass) for s in old[0].body) \
            and not old[0].leading_lines and old[0].trailing_whitespace.comment is None:
        old = []
    new_handler = handler.with_changes(body=cst.IndentedBlock(
        body=[line(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}"), *old], header=header))
    handlers = [new_handler if h is handler else h for h in try_stmt.handlers]
    plan.replace(try_stmt, try_stmt.with_changes(
        body=try_stmt.body.with_changes(body=body), handlers=handlers))
    return plan

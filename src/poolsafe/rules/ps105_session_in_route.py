"""PS105 session-in-route."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, strip_await
from poolsafe.analysis.frameworks import route_framework
from poolsafe.analysis.values import Connection
from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps105 import INVALID, VALID


class SessionInRoute(Rule):
    """
    ## What it does
    Flags a SQLAlchemy session made by hand (`SessionLocal()`, `Session(engine)`,
    `async_session()`) inside a FastAPI route handler, outside a `with` block.

    ## Why is this bad?
    Every route then owns a session's whole lifecycle: one missed `close()` (an
    early return, an exception) leaks a pooled connection, tests cannot swap the
    database, and sessions are built however each author remembers. FastAPI's
    dependency injection (`db: Session = Depends(get_db)`) closes the session
    after the response, on every path.

    ## Example
    ```python
    @app.get("/users/{user_id}")
    def read_user(user_id: int):
        db = SessionLocal()
        user = db.get(User, user_id)
        db.close()
        return user
    ```

    ## Use instead
    ```python
    @app.get("/users/{user_id}")
    def read_user(user_id: int, db: Session = Depends(get_db)):
        return db.get(User, user_id)
    ```

    ## Fix safety
    The fix adds the parameter (creating `get_db` if the project has none) and
    removes the manual session and its `close()`; it is unsafe when the route
    commits or configures the session in ways a shared dependency would not.
    """

    code = "PS105"
    name = "session-in-route"
    summary = "a session built by hand inside a FastAPI route"
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        for func in ctx.module.all_functions:
            if route_framework(ctx.index, func) != "fastapi":
                continue
            in_with: set[int] = set()
            for node in iter_nodes(func.node.body):
                if isinstance(node, cst.With):
                    for item in node.items:
                        in_with.add(id(strip_await(item.item)[0]))
            for node in iter_nodes(func.node.body):
                if not isinstance(node, cst.Call) or id(node) in in_with:
                    continue
                value = ctx.index.evaluate(node, ctx.module, func)
                if isinstance(value, Connection) and value.kind.is_session and value.via is None:
                    yield self.finding(
                        node,
                        f"route `{func.name}` builds a {value.kind.label} by hand with "
                        f"`{value.origin}`; take it as a parameter: "
                        "`db: Session = Depends(get_db)`",
                    )

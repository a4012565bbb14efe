"""PS104 session-dependency-returns."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.values import Connection
from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps104 import INVALID, VALID


class SessionDependencyReturns(Rule):
    """
    ## What it does
    Flags a FastAPI dependency (a function used in `Depends(...)` anywhere in the
    project, or named in `session-dependencies` in the configuration) that
    `return`s a session or connection instead of `yield`ing it.

    ## Why is this bad?
    FastAPI runs the code after a `yield` once the response is sent; a returned
    session has no such hook. Either nothing ever closes it (one pool slot lost per
    request until `QueuePool limit ... reached`), or a `finally: db.close()`
    around the `return` closes it before the route has used it.

    ## Example
    ```python
    def get_db():
        db = SessionLocal()
        try:
            return db
        finally:
            db.close()
    ```

    ## Use instead
    ```python
    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()
    ```

    ## Fix safety
    Turning the function into a generator is safe for FastAPI dependencies; it is
    marked unsafe when the function is also called directly elsewhere.
    """

    code = "PS104"
    name = "session-dependency-returns"
    summary = "a Depends() dependency that returns a session instead of yielding it"
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        deps = ctx.index.dependency_functions()
        for func in ctx.module.all_functions:
            if id(func.node) not in deps or func.is_generator:
                continue
            for node in iter_nodes(func.node.body):
                if not isinstance(node, cst.Return) or node.value is None:
                    continue
                value = ctx.index.evaluate(node.value, ctx.module, func)
                if isinstance(value, Connection):
                    yield self.finding(
                        node,
                        f"dependency `{func.name}` returns a {value.kind.label}; FastAPI cannot "
                        "close it after the request: `yield` it inside try/finally instead",
                    )

"""PS106 use-after-release."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.flow import AfterRelease
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.resources import FunctionResources
from poolsafe.model import RawFinding
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps106 import INVALID, VALID


class UseAfterRelease(Rule):
    """
    ## What it does
    Flags a connection or session that is used, returned or yielded after it was
    released or closed on that path: `conn.cursor()` after `pool.putconn(conn)`, a
    cursor of it used after the release, a helper that returns the connection from a
    `try` whose `finally` gives it back (`try: return db finally: db.close()`), a
    `with engine.connect() as conn:` block that returns `conn` or is followed by a use
    of it. The path is followed as PS102 follows it: a release in one branch and a use
    in the other, a name bound to a new checkout after the release, a loop variable,
    and a reconnect (`conn.ping(reconnect=True)`) are not reported.

    A SQLAlchemy session can be used again after `close()`: it opens a new connection.
    Such a use is reported only when nothing closes the session again before the
    function ends (a worker that closes its session after each unit of work is fine).
    A FastAPI dependency that returns a session is PS104, not PS106.

    ## Why is this bad?
    A connection given back to a psycopg2 or asyncpg pool belongs to the pool: the
    next `getconn()`, possibly in another thread, gets the same connection, and two
    requests interleave statements in one transaction. A closed psycopg or SQLAlchemy
    connection raises on use. A closed SQLAlchemy session silently checks out a new
    connection on its next query, and nobody closes that one, so the pool drains
    (`QueuePool limit of size 5 overflow 10 reached`).

    ## Example
    ```python
    def get_db():
        db = SessionLocal()
        try:
            return db          # closed by the finally before the caller uses it
        finally:
            db.close()

    def count():
        conn = pool.getconn()
        pool.putconn(conn)
        cur = conn.cursor()    # another thread may own this connection now
    ```

    ## Use instead
    ```python
    @contextmanager
    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()

    def users():
        with get_db() as db:
            return db.query(User).all()
    ```
    and release a connection only after its last use.

    ## Fix safety
    No automatic fix yet: turning a helper into a context manager changes every
    caller (`db = get_db()` becomes `with get_db() as db:`), and where the callers
    keep the object past that block the right end of its life is a decision for a
    person.
    """

    code = "PS106"
    name = "use-after-release"
    summary = "a connection or session used, returned or yielded after it was released"
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        deps: set[int] | None = None
        for func, flow in ctx.flows():
            if not flow.after_release:
                continue
            res = FunctionResources(ctx.index, func)
            for item in flow.after_release:
                if item.on_return:
                    if deps is None:
                        deps = ctx.index.dependency_functions()
                    if id(func.node) in deps:
                        continue  # a FastAPI dependency that returns: PS104
                yield self.finding(item.node, _message(ctx, func, res, item))


def _message(ctx: FileContext, func: FunctionInfo, res: FunctionResources,
             item: AfterRelease) -> str:
    kind = res.kind(item.var)
    label = kind.label if kind is not None else "connection"
    release = _release_text(ctx, item)
    pooled = kind is not None and kind.pool_release is not None and not kind.close_releases
    if item.on_return:
        after = ("the caller gets a connection the pool may hand to another thread"
                 if pooled else
                 "the caller's queries open a new connection that nothing closes"
                 if kind is not None and kind.is_session else
                 "the caller gets a closed connection")
        return (f"`{func.name}` returns {label} `{item.var}`, but {release} releases it "
                f"as the function returns: {after}; make `{func.name}` a "
                f"`@contextmanager` (or a yield dependency) that yields it")
    why = ("another thread may hold it now" if pooled else
           "it opens a new connection that nothing closes"
           if kind is not None and kind.is_session else "it is closed")
    return f"{label} `{item.var}` is {item.use} after {release} released it: {why}"


def _release_text(ctx: FileContext, item: AfterRelease) -> str:
    node = item.release
    if isinstance(node, cst.With):
        return "the exit of its `with` block"
    code = ctx.module.tree.code_for_node(node).strip()
    if len(code) > 60 or "\n" in code:
        code = code.split("(", 1)[0] + "(...)"
    return f"`{code}`"

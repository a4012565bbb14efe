"""PS202 engine-per-call."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import iter_calls, iter_nodes, strip_await
from poolsafe.analysis.engines import engine_calls
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import is_cli_entry
from poolsafe.analysis.resolution import decorator_target, external_name, qual_match
from poolsafe.analysis.values import Connection, ExternalInstance, Instance, LibraryObject
from poolsafe.knowledge.frameworks import CACHING_DECORATORS, STORE_METHODS
from poolsafe.model import RawFinding, Severity
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps202 import INVALID, VALID


class EnginePerCall(Rule):
    """
    ## What it does
    Flags `create_engine(...)` / `create_async_engine(...)` inside a function
    whose engine does not outlive the call: it is neither returned or yielded,
    stored on a global (`global engine`), an attribute (`self.engine = ...`,
    `app.engine = ...`) or a container that outlives the function, nor kept by a
    caching decorator (`functools.lru_cache`, `functools.cache`,
    `cached_property`). Names derived from the engine (`Session =
    sessionmaker(bind=engine)`) carry it: returning the sessionmaker keeps the
    engine alive.

    Functions that run once per process are not reported: a click/typer
    command, or a function called only from module-level code (`main()` under
    `if __name__ == "__main__":`, Alembic's `run_migrations_online()`).
    Generator functions (a FastAPI lifespan, a pytest fixture) keep the engine
    across their `yield` and are not reported either.

    ## Why is this bad?
    An engine owns a connection pool. Building one per call opens a new server
    connection every time (the pool starts empty), throws the pool away
    afterwards, and leaves its connections open until garbage collection, unless
    `dispose()` is called on every path. Under load the database runs out of
    connection slots.

    ## Example
    ```python
    def count_users():
        engine = create_engine(DATABASE_URL)
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM users")).scalar()
    ```

    ## Use instead
    ```python
    engine = create_engine(DATABASE_URL, pool_pre_ping=True)

    def count_users():
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM users")).scalar()
    ```

    ## Fix safety
    No automatic fix: where the engine should live (module, app factory,
    dependency) is the application's decision.
    """

    code = "PS202"
    name = "engine-per-call"
    summary = "create_engine() in a function whose engine does not outlive the call"
    severity = Severity.WARNING
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        verdicts: dict[int, bool] = {}
        for ec in engine_calls(ctx.index, ctx.module):
            func = ec.func
            if func is None:
                continue
            key = id(func.node)
            if key not in verdicts:
                verdicts[key] = _runs_once_or_keeps(ctx.index, func)
            if verdicts[key] or _escapes(ctx.index, ctx.module, func, ec.call):
                continue
            short = ec.qualname.rsplit(".", 1)[-1]
            yield self.finding(
                ec.call,
                f"`{short}()` in `{func.name}` builds a new engine (and connection pool) on "
                "every call and drops it at the end; create the engine once (module level, "
                "app factory or a cached factory) and reuse it",
            )


def _runs_once_or_keeps(index: ProjectIndex, func: FunctionInfo) -> bool:
    if func.is_generator:
        return True
    for deco in func.node.decorators:
        qual = external_name(index, decorator_target(deco), func.module, func.parent)
        if qual is not None and qual_match(qual, CACHING_DECORATORS):
            return True
    return is_cli_entry(index, func)


def _escapes(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
             call: cst.Call) -> bool:
    """The engine made by `call`, or a value that keeps it (a sessionmaker bound to
    it, an object built around it), leaves the function."""
    carriers: set[str] = set()
    statements = [n for n in iter_nodes(func.node.body)
                  if isinstance(n, (cst.Assign, cst.AnnAssign, cst.Return, cst.Expr,
                                    cst.Yield, cst.NamedExpr))]

    def holds(expr: cst.BaseExpression | None) -> bool:
        if expr is None:
            return False
        expr = strip_await(expr)[0]
        if expr is call:
            return True
        if isinstance(expr, cst.Name):
            return expr.value in carriers
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return any(holds(el.value) for el in expr.elements)
        if isinstance(expr, cst.Dict):
            return any(isinstance(el, cst.DictElement) and holds(el.value)
                       for el in expr.elements)
        if isinstance(expr, cst.Call):
            f = expr.func
            if any(holds(a.value) for a in expr.args) or (
                    isinstance(f, cst.Attribute) and holds(f.value)):
                kept = index.evaluate(expr, module, func)
                return isinstance(kept, (LibraryObject, Instance, Connection, ExternalInstance))
        return False

    def targets_of(st: cst.CSTNode) -> list[cst.BaseExpression]:
        if isinstance(st, cst.Assign):
            return [t.target for t in st.targets]
        if isinstance(st, (cst.AnnAssign, cst.NamedExpr)):
            return [st.target]
        return []

    changed = True
    while changed:
        changed = False
        for st in statements:
            value = getattr(st, "value", None)
            if not targets_of(st) or not holds(value):
                continue
            for t in targets_of(st):
                names = [t] if isinstance(t, cst.Name) else [
                    el.value for el in t.elements] if isinstance(t, (cst.Tuple, cst.List)) else []
                for n in names:
                    if isinstance(n, cst.Name) and n.value not in carriers:
                        carriers.add(n.value)
                        changed = True
    if carriers & func.globals_declared:
        return True
    for st in statements:
        if isinstance(st, cst.Return) and holds(st.value):
            return True
        if isinstance(st, cst.Yield) and isinstance(st.value, cst.BaseExpression) and holds(
                st.value):
            return True
        value = getattr(st, "value", None)
        if any(isinstance(t, (cst.Attribute, cst.Subscript)) for t in targets_of(st)) and holds(
                value):
            return True
    for c in iter_calls(func.node.body):
        f = c.func
        if (isinstance(f, cst.Attribute) and f.attr.value in STORE_METHODS
                and any(holds(a.value) for a in c.args)):
            return True
    return False

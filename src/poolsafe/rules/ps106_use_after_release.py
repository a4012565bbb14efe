"""PS106 use-after-release."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import iter_calls, iter_nodes
from poolsafe.analysis.flow import AcquireSite, AfterRelease, FlowResult, analyse_function
from poolsafe.analysis.module import FunctionInfo, top_level_function
from poolsafe.analysis.project_facts import streamlit_page
from poolsafe.analysis.resources import FunctionResources
from poolsafe.analysis.witness import after_release_path
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.callers import uses_of_function
from poolsafe.fix.fixers.edits import (
    acquire_statement,
    enclosing_function,
    escape_reason,
    parent_map,
    parse_expr,
    slot_held_in_block,
    yield_holds_open,
    yield_is_last_act,
    yield_may_be_skipped,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases import aio_libs, sqlmodel_cases
from poolsafe.rules.cases.ps106 import (
    INVALID,
    REBOUND_INVALID,
    REBOUND_VALID,
    STREAMLIT_INVALID,
    STREAMLIT_VALID,
    VALID,
)


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
    and a reconnect (`conn.ping(reconnect=True)`) are not reported, nor is code after
    a call that never returns (`sys.exit()`, Flask's `abort(404)`, also an `abort(404)`
    in a module that imports Flask but not `abort` and binds that name nowhere: it
    raises `NameError`). A cursor name
    bound again after the release (`with other.cursor() as cur:`, also on one line,
    `cur = ...`, `for cur in ...`, `(cur := ...)`) on every path names another cursor:
    its uses are not the released connection's. A project helper
    counts as releasing its argument only where it can return: one that closes the
    connection only on the path where it then raises (`except Error: conn.close();
    raise Broken()`) hands it back alive whenever its caller goes on; nor does one
    that closes only a connection it opened itself (given a path, it rebinds the
    parameter, `conn = sqlite3.connect(conn)`, sets a flag there, and closes under
    `if owned:`): the connection its caller passed in stays open. A project
    `@contextmanager` (`@asynccontextmanager`) that releases its argument after its
    `yield` (`try: yield session` ... `finally: session.close()`) releases it when
    the `with` block ends, not where `with session_guard(session):` calls it: uses
    inside the block are not reported, uses after it are.

    A SQLAlchemy session can be used again after `close()`: it opens a new connection.
    Such a use is reported only when nothing closes the session again before the
    function ends (a worker that closes its session after each unit of work is fine);
    a call through an object built around the connection or session (a local bound
    once to a project class given it, `repo = Repo(session)`, whose `__init__` stores
    that parameter on `self`, or a `@dataclass` with it as a field), `await
    repo.users.add(...)`, is a use of it; an object whose constructor only reads it
    (`self.total = session.execute(...).scalar()`) keeps nothing of it;
    a `with session.connection() as c:` block ends it too: its exit closes the
    connection the session opened again, which goes back to the pool; and so do
    `commit()` and `rollback()`: they end the transaction the reuse began, and the
    session gives its connection back to the pool (it holds none between
    transactions), so `session.close()` ... `session.execute(stmt); session.commit();
    return` is fine, while a use after that commit, or a path that reaches neither,
    is reported. As for a reuse that ends in `close()`, an exception raised between
    the reuse and its end is not reported (PS102 reports a session whose first
    checkout is not closed when something raises). A DB-API connection used after
    `close()` is reported whatever follows: it raises.
    A plain `commit()` or `rollback()` of the closed session with nothing queued since
    the close is no use: it begins and ends an empty transaction without a connection.
    Reading a closed session's engine is not a use either: `session.bind`, also
    through a project helper that only reads its argument's `.bind` (`bound_engine(
    registry).dispose()` after `registry.close()`) runs no statement.
    A FastAPI dependency that returns a session is PS104, not PS106.

    A Streamlit page's top level (a module that calls `st.` functions outside any
    function) is judged as a function's body: Streamlit runs it again at every
    interaction, so `conn.close()` in a submit branch followed by `pd.read_sql(...,
    conn)` fails that run. Other modules' top-level code is not followed.

    ## Tests, one-shot code and processes
    Reported everywhere, tests and scripts included: a connection used after it
    went back to its pool may be another thread's or another test's by then,
    and one used after `close()` raises. Nothing about the code running once
    makes it safe.

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
    A helper that returns the connection its own `finally` (or `with` exit) releases
    becomes a `@contextmanager` (`@asynccontextmanager`) that yields it, and each of its
    callers, `db = get_db()` as a statement of the calling function's body, becomes
    `with get_db() as db:` around the rest of that body, in every module of the
    project (the edits to all of them are applied together, or not at all; each module
    must be among the files being fixed). The fix is safe when every caller has that
    form and none hands the object on or releases it itself: the callers then use a
    live connection until their block ends, and the helper releases it there.
    With no caller in the project (outside callers would get a context manager) the fix
    is unsafe; so it is when a caller's block takes another slot of the same pool (a
    checkout, a call that checks out, the caller again) or yields: the connection the
    helper gave back at once is held there, and at the pool's capacity the block fails
    where the original had room. A caller that calls the helper more than once is not
    rewritten (no fix). With a caller of another shape in the project, or the helper used as a
    value, no fix is offered, not even an unsafe one: the callers it cannot rewrite
    would get a context manager where they expect a connection. Nor is one offered
    for a decorated helper (a `@retry` would wrap the context manager's creation, not
    the checkout it wraps now), nor when code could run after the `return` once it is
    a `yield` (statements after it, the rest of a loop, a `try`'s `else`): the
    generator resumes there when the caller's block ends; nor when a way through the
    helper ends without reaching the `return` (a bare `return`, an `if` with no `else`
    that raises, a loop, a `match` or a handler around it): as a generator it would
    yield nothing there, `RuntimeError("generator didn't yield")` where the caller got
    None; nor when a `finally`
    releases inside a `with` block (its entry may raise, and the generator's checker
    then sees a path that leaves the connection out), nor when the `return` is inside
    a `with` block (the block would stay entered, a lock held, while the caller's
    block runs) or inside a `try` with handlers (they would catch the caller's
    exceptions, thrown in at the `yield`). Uses after a release are
    not fixed: where the release belongs is a decision for a person.
    """

    code = "PS106"
    name = "use-after-release"
    summary = "a connection or session used, returned or yielded after it was released"
    fixable = True
    VALID = (VALID + aio_libs.PS106_VALID + sqlmodel_cases.PS106_VALID
             + aio_libs.PS106_CARRIER_VALID + STREAMLIT_VALID + REBOUND_VALID)
    INVALID = (INVALID + aio_libs.PS106_INVALID + sqlmodel_cases.PS106_INVALID
               + STREAMLIT_INVALID + REBOUND_INVALID)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        deps: set[int] | None = None
        for func, flow in (*ctx.flows(), *_page_flow(ctx)):
            if not flow.after_release:
                continue
            res = FunctionResources(ctx.index, func)
            # a cursor that carries its helper's connection (`cur.connection.close()`):
            # its rows may already be in memory (a buffered cursor reads after its
            # connection closed), so a use after that is not judged
            carried = {site.var for site in flow.sites if site.conn.carrier}
            for item in flow.after_release:
                if item.var in carried:
                    continue
                if item.on_return:
                    if deps is None:
                        deps = ctx.index.dependency_functions()
                    if id(func.node) in deps:
                        continue  # a FastAPI dependency that returns: PS104
                yield self.finding(item.node, _message(ctx, func, res, item),
                                   after_release_path(item, ctx.index, func))


    # ------------------------------------------------------------------ fix
    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        ret = finding.node
        if not isinstance(ret, cst.Return) or ret.value is None:
            return Unfixable(self.code, "a use after the release: move the release after it")
        parents = parent_map(ctx.module.tree)
        func = enclosing_function(ret, parents, ctx.module)
        if func is None or func.cls is not None or func.parent is not None:
            return Unfixable(self.code, "not a module-level function")
        if any(r is not ret and r.value is not None for r in func.returns):
            return Unfixable(self.code, "the function returns other values too")
        if func.is_generator:
            return Unfixable(self.code, "the function is a generator already")
        if _release_under_with(func.node):
            return Unfixable(self.code, "a `finally` releases inside a `with` block, whose "
                                        "entry may raise: as a generator, that path would "
                                        "leave the connection checked out")
        if not yield_is_last_act(ret, parents, func.node):
            return Unfixable(self.code, "code can run after the `return` once it is a "
                                        "`yield` (a loop, a `try`'s `else`, statements "
                                        "after it): the caller's block would run it")
        skipped = yield_may_be_skipped(ret, parents, func.node)
        if skipped is not None:
            return Unfixable(self.code, skipped)
        returned = ret.value
        around = yield_holds_open(ret, parents, func.node,
                                  returned.value if isinstance(returned, cst.Name) else None)
        if around is not None:
            return Unfixable(self.code, around)
        return _to_context_manager(ctx, func, ret, parents)


def _page_flow(ctx: FileContext) -> list[tuple[FunctionInfo, FlowResult]]:
    """A Streamlit page's top level, judged as a function's body: Streamlit runs it
    again at every interaction, so a connection it opens and closes there is one run's,
    and a use after the close fails that run."""
    if not streamlit_page(ctx.module):
        return []
    func = top_level_function(ctx.module)
    if func is None:
        return []
    return [(func, analyse_function(ctx.index, func))]


def _release_under_with(func_node: cst.FunctionDef) -> bool:
    """A `finally` of the function holds a `with` statement (around its release)."""
    return any(isinstance(inner, cst.With)
               for node in iter_nodes(func_node.body) if isinstance(node, cst.Finally)
               for inner in iter_nodes(node.body))


def _to_context_manager(ctx: FileContext, func: FunctionInfo, ret: cst.Return,
                        parents: dict[int, cst.CSTNode]) -> FixOutcome:
    code = UseAfterRelease.code
    module = ctx.module.tree
    deco = "asynccontextmanager" if func.is_async else "contextmanager"
    wrapper = "AsyncIterator" if func.is_async else "Iterator"
    if func.node.decorators:
        first = ctx.module.tree.code_for_node(func.node.decorators[0].decorator)
        return Unfixable(code, f"`@{first}` wraps `{func.name}`: it would wrap the context "
                               "manager instead of the function it wraps now")
    plan = FixPlan(code, f"make `{func.name}` a @{deco} that yields the connection and "
                         f"call it in `with`")
    bound = ctx.module.imports.get(deco)
    if bound is None:
        if deco in ctx.module.assigns or deco in ctx.module.functions:
            return Unfixable(code, f"`{deco}` means something else here")
        plan.add_import("contextlib", deco)
    elif bound != f"contextlib.{deco}":
        return Unfixable(code, f"`{deco}` means something else here")
    assert ret.value is not None
    node = func.node
    returns = node.returns
    if returns is not None:
        bound_wrapper = ctx.module.imports.get(wrapper)
        if bound_wrapper is None and wrapper not in ctx.module.assigns:
            plan.add_import("collections.abc", wrapper)
        elif bound_wrapper is None or bound_wrapper.rsplit(".", 1)[-1] != wrapper:
            return Unfixable(code, f"`{wrapper}` means something else here")
        text = module.code_for_node(returns.annotation)
        returns = returns.with_changes(annotation=parse_expr(module, f"{wrapper}[{text}]"))
    body = node.body.visit(_Swap(ret, cst.Expr(cst.Yield(ret.value))))
    assert isinstance(body, cst.BaseSuite)
    plan.replace(node, node.with_changes(
        decorators=[*node.decorators, cst.Decorator(cst.Name(deco))], returns=returns,
        body=body))
    returned = ret.value.value if isinstance(ret.value, cst.Name) else None
    site = next((s for s in ctx.flow(func).sites if s.var == returned), None)
    held: list[str] = []
    problems, callers = _rewrite_callers(ctx, func, plan, site, held)
    if problems and callers:
        # a caller in the project the fix cannot rewrite would get a context manager
        # where it expects a connection: no user wants that, even as an unsafe fix
        return Unfixable(code, f"{problems[0]}; its callers would get a context manager")
    for reason in problems + held[:1]:
        plan.mark_unsafe(reason)
    return plan


class _Swap(cst.CSTTransformer):
    def __init__(self, old: cst.CSTNode, new: cst.CSTNode) -> None:
        self.old = old
        self.new = new

    def on_leave(  # type: ignore[override]
            self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        return self.new if original_node is self.old else updated_node


def _rewrite_callers(ctx: FileContext, func: FunctionInfo, plan: FixPlan,
                     site: AcquireSite | None = None, held: list[str] | None = None
                     ) -> tuple[list[str], int]:
    """Rewrite the `var = func(...)` callers into `with func(...) as var:` (in other
    modules through companion plans, applied together with this one); the reasons the
    fix cannot be safe (callers it cannot update, or none in the project), and how
    many uses of `func` the project has."""
    problems: list[str] = []
    found = 0
    companions: dict[str, FixPlan] = {}
    seen: set[int] = set()
    for use in uses_of_function(ctx.index, func):
        found += 1
        if use.caller is not None and use.call is not None:
            if id(use.caller.node) in seen:
                # each call's rewrite wraps the rest of the same body: they would
                # overlap (the second call left a context manager, the body doubled)
                problems.append(f"`{use.caller.name}` calls `{func.name}` more than once")
                continue
            seen.add(id(use.caller.node))
        if use.call is None:
            problems.append(f"`{func.name}` is used as a value; its users would get a "
                            "context manager")
            continue
        target = plan
        if use.module is not ctx.module:
            target = companions.setdefault(use.module.path, FixPlan(
                plan.code, f"call `{func.name}` in `with`", path=use.module.path))
        reason = _rewrite_call(ctx, func, use.caller, use.call, use.parents, target, site,
                               held)
        if reason is not None:
            problems.append(reason)
    plan.companions = [c for c in companions.values() if c.replacements]
    if not found:
        problems.append(f"`{func.name}` has no caller in the project; callers elsewhere "
                        "would get a context manager")
    return problems, found


def _rewrite_call(ctx: FileContext, func: FunctionInfo, caller: FunctionInfo | None,
                  call: cst.Call, parents: dict[int, cst.CSTNode], plan: FixPlan,
                  site: AcquireSite | None = None, held: list[str] | None = None
                  ) -> str | None:
    """`var = func(...)` + the rest of the caller's body -> `with func(...) as var:` around
    it; the reason when the call has another form. Why the rewritten caller holds the
    pool slot where the original had given it back (`slot_held_in_block`) is added to
    `held`: the fix is then unsafe."""
    awaited = isinstance(parents.get(id(call)), cst.Await)
    found = acquire_statement(call, parents)
    if caller is None or found is None or caller is func:
        return f"a call of `{func.name}` that is not `name = {func.name}(...)` in a function"
    line, var = found
    block = parents.get(id(line))
    if block is not caller.node.body or not isinstance(block, cst.IndentedBlock):
        return f"`{var} = {func.name}()` is not in the calling function's own body"
    body = list(block.body)
    rest = body[body.index(line) + 1:]
    if not rest:
        return f"nothing uses `{var}` after `{var} = {func.name}()`"
    reason = escape_reason(rest, var)
    if reason is not None:
        return f"in `{caller.name}`, {reason}"
    if any(var in ctx.index.released_by_call(c, caller) for s in rest for c in iter_calls(s)):
        return f"`{caller.name}` releases `{var}` itself"
    if func.is_async and not (caller.is_async and awaited):
        return f"`{caller.name}` calls `{func.name}` in a way `async with` cannot replace"
    if site is not None and held is not None:
        reason = slot_held_in_block(ctx.index, func, site, caller, rest)
        if reason is not None:
            held.append(reason)
    new = cst.With(
        items=[cst.WithItem(item=call, asname=cst.AsName(name=cst.Name(var)))],
        body=cst.IndentedBlock(body=rest, header=line.trailing_whitespace),
        asynchronous=cst.Asynchronous() if func.is_async else None,
        leading_lines=line.leading_lines)
    plan.replace(line, new)
    for stmt in rest:
        plan.remove(stmt)
    return None


def _message(ctx: FileContext, func: FunctionInfo, res: FunctionResources,
             item: AfterRelease) -> str:
    kind = res.kind(item.var)
    label = kind.label if kind is not None else "connection"
    release = _release_text(ctx, item)
    pooled = kind is not None and kind.pool_release is not None
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

"""PS104 session-dependency-returns."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import call_name, iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex, call_pattern
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.values import Connection, FunctionRef
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.callers import uses_of_function
from poolsafe.fix.fixers.edits import (
    ancestors,
    enclosing_function,
    find_region,
    free_name,
    parent_map,
    parse_expr,
    parse_line,
    statement_line,
    wrap_try,
    yield_holds_open,
    yield_is_last_act,
    yield_may_be_skipped,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases import sqlmodel_cases
from poolsafe.rules.cases.ps104 import INVALID, INVALID_ROUND37, VALID, VALID_ROUND37


class SessionDependencyReturns(Rule):
    """
    ## What it does
    Flags a FastAPI dependency (a function used in `Depends(...)` anywhere in the
    project, or named in `session-dependencies` in the configuration) that
    `return`s a session or connection instead of `yield`ing it.

    Not reported: a dependency that returns a live session (made at the `return`, no
    `with` or `finally` of its own closing it first) when every `Depends(...)` of it
    in the project is a parameter of a function that closes the session it receives:
    every use of the parameter sits inside `with session:` (`async with`, `as` any
    name; a session's `with` closes it on exit), or hands it to a project function
    whose parameter is closed the same way. A session checks a connection out only
    when it is used, so one used only inside that `with` holds nothing outside it.
    A module-level alias `SessionDep = Annotated[Session, Depends(dep)]` is followed
    to its users: every parameter annotated `SessionDep` (in the alias's module, or
    under a `from ... import` of it) must close its session the same way. One route
    that uses it outside a `with`, a `Depends()` in a router's `dependencies=[...]`,
    an alias whose name appears anywhere else (inside another annotation such as
    `Optional[SessionDep]`, as `db.SessionDep`, bound twice), or a configured
    `session-dependencies` name, keeps the finding. Returned
    connections are always reported (a connection is checked out when it is made).

    ## Tests, one-shot code and processes
    Reported wherever the dependency is defined, test modules included: a test
    application's dependency runs once per request like a production one, and its
    returned session is lost the same way. Code that runs once per process has no
    request dependencies to judge.

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
    `return db` inside a `try` whose `finally` closes it becomes `yield db`;
    `return SessionLocal()` becomes `db = SessionLocal()` and
    `try: yield db finally: db.close()`; `db = SessionLocal(); ...; return db`
    wraps the code after the checkout the same way. A return annotation `T`
    becomes `Iterator[T]` (`AsyncIterator[T]`). Turning the function into a
    generator is safe for FastAPI dependencies; it is marked unsafe when the
    function is also called directly elsewhere in the project (those callers
    would get a generator), when it is also used as a value outside `Depends(...)`
    (`factory = get_db`: whoever calls it gets a generator), and when it is
    decorated (the wrapper may call it as a plain function, or cache it: under
    `@lru_cache` every request after the first gets the same spent generator), and
    not offered when it returns other values too, nor when code could run after the
    `return` once it is a `yield` (statements after it or after the `if` around it,
    the rest of a loop: they would run after every request), nor when a way through
    the function ends without reaching the `return` (a bare `return`, an `if` with no
    `else` that raises, a `match` or a handler around it: the generator would yield
    nothing, and FastAPI answer 500 where the route got None), nor
    when the `return` is inside a `with` other than the session's own (a lock would
    be held for the whole request) or inside a `try` with handlers (FastAPI throws
    the route's exceptions in at the `yield`, and they would catch them).
    """

    code = "PS104"
    name = "session-dependency-returns"
    summary = "a Depends() dependency that returns a session instead of yielding it"
    fixable = True
    VALID = VALID + sqlmodel_cases.PS104_VALID + VALID_ROUND37
    INVALID = INVALID + sqlmodel_cases.PS104_INVALID + INVALID_ROUND37

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        # the returns of a connection come first: the project's dependencies (every
        # module that calls `Depends`, parsed) are read only for a module that has
        # one, not for every module checked
        returns = [(func, node, value) for func in ctx.module.all_functions
                   if not func.is_generator
                   for node, value in _connection_returns(ctx, func)]
        if not returns:
            return
        deps = ctx.index.dependency_functions()
        for func, node, value in returns:
            if id(func.node) in deps and not _closed_by_every_consumer(
                    ctx.index, func, node, value):
                yield self.finding(
                    node,
                    f"dependency `{func.name}` returns a {value.kind.label}; FastAPI cannot "
                    "close it after the request: `yield` it inside try/finally instead",
                )

    # ------------------------------------------------------------------ fix
    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        ret = finding.node
        if not isinstance(ret, cst.Return) or ret.value is None:
            return Unfixable(self.code, "not a return statement")
        parents = parent_map(ctx.module.tree)
        func = enclosing_function(ret, parents, ctx.module)
        line = statement_line(ret, parents)
        if func is None or line is None:
            return Unfixable(self.code, "the return is not a statement of its own")
        others = [n for n in iter_nodes(func.node.body)
                  if isinstance(n, cst.Return) and n is not ret and n.value is not None]
        if others:
            return Unfixable(self.code, "the function returns other values too")
        value = ctx.index.evaluate(ret.value, ctx.module, func)
        if not isinstance(value, Connection):
            return Unfixable(self.code, "the returned value is not a checkout")
        if not yield_is_last_act(ret, parents, func.node):
            return Unfixable(self.code, "code can run after the `return` once it is a "
                                        "`yield` (a loop, a `try`'s `else`, statements "
                                        "after it): it would run after every request")
        skipped = yield_may_be_skipped(ret, parents, func.node)
        if skipped is not None:
            return Unfixable(self.code, skipped)
        returned, _ = strip_await(ret.value)
        around = yield_holds_open(ret, parents, func.node, returned.value
                                  if isinstance(returned, cst.Name) else None)
        if around is not None:
            return Unfixable(self.code, around)
        module = ctx.module.tree
        is_async = value.kind.is_async and func.is_async
        close = f"{'await ' if is_async else ''}{{var}}.close()"
        plan = FixPlan(self.code, "yield the session inside try/finally")
        inner, _ = strip_await(ret.value)
        if isinstance(inner, cst.Name):
            var = inner.value
            yield_small = cst.Expr(cst.Yield(cst.Name(var)))
            # already inside a try whose finally closes it, or a `with` that made it
            # and closes it on exit: just yield
            for anc in ancestors(ret, parents):
                if isinstance(anc, cst.FunctionDef):
                    break
                if isinstance(anc, cst.With) and _with_binds(anc, var) \
                        and value.kind.with_acquire_releases:
                    plan.replace(ret, yield_small)
                    return self._finish(ctx, func, plan)
                if isinstance(anc, cst.Try) and anc.finalbody is not None and any(
                        var in ctx.index.released_by_call(c, func)
                        for c in iter_nodes(anc.finalbody) if isinstance(c, cst.Call)):
                    plan.replace(ret, yield_small)
                    return self._finish(ctx, func, plan)
            acquire = _acquire_line(func, var, line, parents)
            if acquire is None:
                return Unfixable(self.code, f"`{var}` is not made in the returning block")
            region = find_region(ctx.index, func, parents, acquire, var, self.code,
                                 end_at=line, skip=frozenset({id(ret)}))
            if isinstance(region, Unfixable):
                return region
            wrap_try(module, plan, region, close.format(var=var), {id(ret): yield_small})
            return self._finish(ctx, func, plan)
        var = free_name(func, ["db"] if value.kind.is_session else ["conn"])
        assign = parse_line(module, f"{var} = {module.code_for_node(ret.value)}").with_changes(
            leading_lines=line.leading_lines, trailing_whitespace=line.trailing_whitespace)
        try_stmt = cst.parse_statement(
            f"try:{module.default_newline}{module.default_indent}yield {var}"
            f"{module.default_newline}finally:{module.default_newline}"
            f"{module.default_indent}{close.format(var=var)}{module.default_newline}",
            config=module.config_for_parsing)
        plan.replace(line, cst.FlattenSentinel([assign, try_stmt]))
        return self._finish(ctx, func, plan)

    def _finish(self, ctx: FileContext, func: FunctionInfo, plan: FixPlan) -> FixPlan:
        returns = func.node.returns
        if returns is not None:
            module = ctx.module.tree
            wrapper = "AsyncIterator" if func.is_async else "Iterator"
            bound = ctx.module.imports.get(wrapper)
            if bound is None and wrapper not in ctx.module.assigns:
                plan.add_import("collections.abc", wrapper)
            elif bound is not None and bound.rsplit(".", 1)[-1] != wrapper:
                return plan  # the name means something else here: leave the annotation
            text = module.code_for_node(returns.annotation)
            plan.replace(returns.annotation, parse_expr(module, f"{wrapper}[{text}]"))
        if _called_directly(ctx.index, func):
            plan.mark_unsafe(f"`{func.name}` is also called directly; its callers would get "
                             "a generator")
        if func.node.decorators:
            plan.mark_unsafe(f"`{func.name}` is decorated: the wrapper may call it as a plain "
                             "function or cache what it returns (`@lru_cache` would hand every "
                             "request the same, spent generator)")
        if _used_as_value(ctx.index, func):
            plan.mark_unsafe(f"`{func.name}` is also used as a value outside `Depends(...)` "
                             "(`factory = get_db`, `{...: get_db}`); whoever calls it there "
                             "would get a generator")
        return plan


def _with_binds(node: cst.With, var: str) -> bool:
    """`with <factory>() as var:` / `async with ...`: the block made `var` and its exit
    closes it (the detection only reports a session the function made)."""
    return any(item.asname is not None and isinstance(item.asname.name, cst.Name)
               and item.asname.name.value == var and isinstance(
                   item.item.expression if isinstance(item.item, cst.Await) else item.item,
                   cst.Call)
               for item in node.items)


def _acquire_line(func: FunctionInfo, var: str, ret_line: cst.SimpleStatementLine,
                  parents: dict[int, cst.CSTNode]) -> cst.SimpleStatementLine | None:
    block = parents.get(id(ret_line))
    if not isinstance(block, cst.IndentedBlock):
        return None
    found = None
    for stmt in block.body:
        if stmt is ret_line:
            return found
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            small = stmt.body[0]
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(
                    small.targets[0].target, cst.Name) and small.targets[0].target.value == var:
                found = stmt
    return None


def _called_directly(index: ProjectIndex, func: FunctionInfo) -> bool:
    for m in index.modules_mentioning([func.name]):
        for node in iter_nodes(m.tree, into_functions=True):
            if isinstance(node, cst.Call) and call_name(node) == func.name:
                callee = index.evaluate(node.func, m, None)
                if isinstance(callee, FunctionRef) and callee.func is func:
                    return True
    return False


#: calls whose arguments name a dependency without calling it
_DEPENDENCY_MARKERS = frozenset({"Depends", "Security"})


def _used_as_value(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` is named as a value somewhere in the project other than as an argument of
    `Depends(...)` / `Security(...)` or a key of `app.dependency_overrides[...]`:
    `factory = get_db`, `[get_db]` (its calls are `_called_directly`'s)."""
    for use in uses_of_function(index, func):
        if use.call is not None:
            continue
        parent = use.parent
        if isinstance(parent, cst.Arg):
            call = use.parents.get(id(parent))
            if isinstance(call, cst.Call) \
                    and (call_name(call) or "").rsplit(".", 1)[-1] in _DEPENDENCY_MARKERS:
                continue
        if isinstance(parent, cst.Index):
            sub = use.parents.get(id(use.parents.get(id(parent))))
            if isinstance(sub, cst.Subscript) and isinstance(sub.value, cst.Attribute) \
                    and sub.value.attr.value == "dependency_overrides":
                continue
        return True
    return False


def _connection_returns(ctx: FileContext, func: FunctionInfo
                        ) -> Iterator[tuple[cst.Return, Connection]]:
    """The `return` statements of `func` whose value is a connection or session."""
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.Return) or node.value is None:
            continue
        value = ctx.index.evaluate(node.value, ctx.module, func)
        if isinstance(value, Connection):
            yield node, value


#: how far a session handed on from the route to project functions is followed
_MAX_HAND_ON = 3


def _closed_by_every_consumer(index: ProjectIndex, func: FunctionInfo, ret: cst.Return,
                              value: Connection) -> bool:
    """`ret` returns a live session (no `with` or `try` of `func` around the `return`
    closes it first), and every `Depends(func)` / `Security(func)` in the project is a
    parameter of a function that closes the session it receives (`_closes_param`): the
    routes release what the dependency hands them. A session checks a connection out
    only when it is used, so one used only inside `with session:` holds nothing
    outside it."""
    if not value.kind.is_session or not value.kind.with_acquire_releases:
        return False
    parents = parent_map(func.node)
    if any(isinstance(a, (cst.With, cst.Try, cst.TryStar))
           for a in ancestors(ret, parents) if a is not func.node):
        return False
    consumers = _depends_consumers(index, func)
    return consumers is not None and bool(consumers) and all(
        _closes_param(index, consumer, param, _MAX_HAND_ON)
        for consumer, param in consumers)


def _depends_consumers(index: ProjectIndex, func: FunctionInfo
                       ) -> list[tuple[FunctionInfo, str]] | None:
    """(function, parameter) for each `Depends(func)` in the project that is a
    parameter's default or in its annotation, or each parameter annotated with a
    module-level `Annotated[..., Depends(func)]` alias; None when one is anywhere else
    (a router's `dependencies=[...]`, an alias used otherwise) or `func` is a
    configured dependency."""
    if func.name in index.config.session_dependencies:
        return None
    found: list[tuple[FunctionInfo, str]] = []
    for m in index.modules_matching(call_pattern(["Depends", "Security"])):
        parents = parent_map(m.tree)
        defs = {id(f.node): f for f in m.all_functions}
        for node in iter_nodes(m.tree, into_functions=True):
            if not isinstance(node, cst.Call) or not node.args \
                    or not index.is_depends_call(node, m):
                continue
            target = index.evaluate(node.args[0].value, m, None)
            if not (isinstance(target, FunctionRef) and target.func is func):
                continue
            consumer = _param_of(node, parents, defs)
            if consumer is None:
                alias = _annotated_alias(node, parents)
                users = _alias_users(index, m, alias) if alias is not None else None
                if users is None:
                    return None
                found.extend(users)
                continue
            found.append(consumer)
    return found


def _annotated_alias(call: cst.Call, parents: dict[int, cst.CSTNode]) -> str | None:
    """`SessionDep = Annotated[Session, Depends(dep)]` (or `SessionDep: TypeAlias =
    ...`) at a module's top level, `call` its `Depends(dep)`: the alias's name."""
    element = parents.get(id(parents.get(id(call))))
    sub = parents.get(id(element))
    if not (isinstance(element, cst.SubscriptElement) and isinstance(sub, cst.Subscript)):
        return None
    base = sub.value
    if not ((isinstance(base, cst.Name) and base.value == "Annotated")
            or (isinstance(base, cst.Attribute) and base.attr.value == "Annotated")):
        return None
    stmt = parents.get(id(sub))
    line = parents.get(id(stmt))
    if not (isinstance(line, cst.SimpleStatementLine)
            and isinstance(parents.get(id(line)), cst.Module)):
        return None
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0].target, cst.Name):
        return stmt.targets[0].target.value
    if isinstance(stmt, cst.AnnAssign) and isinstance(stmt.target, cst.Name):
        return stmt.target.value
    return None


def _alias_users(index: ProjectIndex, home: ModuleInfo, alias: str
                 ) -> list[tuple[FunctionInfo, str]] | None:
    """(function, parameter) for each parameter annotated with the alias, in its own
    module or under a `from ... import` of it; None when the alias is bound more than
    once, or its name appears anywhere else (in another annotation, an attribute, a
    module that reaches it another way): those users are not followed."""
    if len(home.assigns.get(alias, [])) != 1:
        return None
    homes = {n.rsplit(".", 1)[-1] for n in home.names}
    importers = {id(m) for m in index.importers(home)}
    found: list[tuple[FunctionInfo, str]] = []
    for m in index.modules_mentioning([alias]):
        if m is home:
            local = {alias}
        elif id(m) in importers:
            local = {k for k, q in m.imports.items() if "." in q
                     and q.rsplit(".", 1)[1] == alias
                     and q.rsplit(".", 1)[0].rsplit(".", 1)[-1] in homes}
        else:
            return None
        parents = parent_map(m.tree)
        for node in iter_nodes(m.tree, into_functions=True):
            if isinstance(node, cst.Attribute) and node.attr.value == alias:
                return None
            if not isinstance(node, cst.Name) or node.value not in local | {alias}:
                continue
            up = parents.get(id(node))
            if isinstance(up, (cst.ImportAlias, cst.AsName, cst.AssignTarget)) or (
                    isinstance(up, cst.AnnAssign) and up.target is node):
                continue
            param = parents.get(id(up))
            if isinstance(up, cst.Annotation) and isinstance(param, cst.Param) \
                    and node.value in local:
                fdef = parents.get(id(parents.get(id(param))))
                info = m.by_node.get(id(fdef)) if fdef is not None else None
                if info is None:
                    return None
                found.append((info, param.name.value))
                continue
            return None
    return found


def _param_of(call: cst.Call, parents: dict[int, cst.CSTNode],
              defs: dict[int, FunctionInfo]) -> tuple[FunctionInfo, str] | None:
    """The function and parameter whose default (or annotation) `call` is in."""
    cur: cst.CSTNode = call
    while True:
        up = parents.get(id(cur))
        if up is None or isinstance(up, (cst.BaseStatement, cst.BaseSmallStatement)):
            return None
        if isinstance(up, cst.Param):
            fdef = parents.get(id(parents.get(id(up))))
            info = defs.get(id(fdef)) if fdef is not None else None
            return (info, up.name.value) if info is not None else None
        cur = up


def _closes_param(index: ProjectIndex, func: FunctionInfo, param: str, depth: int) -> bool:
    """Every use of the parameter `param` in `func` is inside a `with param:` (or
    `async with`, `as` any name) or hands it to a project function whose parameter is
    closed the same way (up to `depth` calls down); it is used at least once."""
    parents = parent_map(func.node)
    uses = [n for n in iter_nodes(func.node.body, into_functions=True)
            if isinstance(n, cst.Name) and n.value == param]
    return bool(uses) and all(
        _in_own_with(n, parents, param, func.node)
        or _handed_to_closer(index, func, n, parents, depth) for n in uses)


def _in_own_with(node: cst.Name, parents: dict[int, cst.CSTNode], param: str,
                 top: cst.CSTNode) -> bool:
    for anc in ancestors(node, parents):
        if anc is top or isinstance(anc, (cst.FunctionDef, cst.Lambda)):
            return False
        if isinstance(anc, cst.With) and any(
                isinstance(item.item, cst.Name) and item.item.value == param
                for item in anc.items):
            return True
    return False


def _handed_to_closer(index: ProjectIndex, func: FunctionInfo, node: cst.Name,
                      parents: dict[int, cst.CSTNode], depth: int) -> bool:
    arg = parents.get(id(node))
    call = parents.get(id(arg)) if isinstance(arg, cst.Arg) else None
    if depth <= 0 or not isinstance(arg, cst.Arg) or not isinstance(call, cst.Call) \
            or arg.star:
        return False
    callee = index.evaluate(call.func, func.module, func)
    if not isinstance(callee, FunctionRef) or callee.func is func:
        return False
    target = callee.func
    if arg.keyword is not None:
        name: str | None = arg.keyword.value
    else:
        positional = [a for a in call.args if a.keyword is None]
        names = target.param_names()
        at = next(i for i, a in enumerate(positional) if a is arg)
        name = names[at] if at < len(names) else None
    return name is not None and target.param(name) is not None \
        and _closes_param(index, target, name, depth - 1)

"""PS105 session-in-route."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.cstutil import (
    bound_names,
    call_name,
    children,
    dotted_name,
    iter_calls,
    iter_nodes,
    statements_after,
)
from poolsafe.analysis.frameworks import hand_built_route_sessions
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.values import Connection
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.edits import (
    acquire_statement,
    comments_of,
    enclosing_function,
    escape_reason,
    module_binding,
    parent_map,
    parse_expr,
    reference,
    statement_line,
    top_level_statement,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases import sqlmodel_cases
from poolsafe.rules.cases.ps105 import INVALID, VALID


class SessionInRoute(Rule):
    """
    ## What it does
    Flags a SQLAlchemy session made by hand (`SessionLocal()`, `Session(engine)`,
    `async_session()`) inside a FastAPI route handler, outside a `with` block.

    ## Tests, one-shot code and processes
    Reported wherever the route is defined, test modules included: a route runs
    once per request in every worker process, so a session it makes by hand is
    made per request. Scripts and startup code are no routes and are not judged
    here (PS102 follows their sessions).

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
    The fix adds a `db: Session = Depends(get_db)` parameter (named like the
    route's variable), using the project's dependency that yields a session from
    the same factory call (not one that enters it with the other `with`: `async
    with SessionLocal()` on a sync factory raises TypeError on every request; not
    one that commits, which would store what the route left uncommitted, nor one
    that does any other work of its own: a `SET` statement, a listener, a log line,
    an `except` that does not re-raise; it may only make, hand out, close and roll
    back the session), or
    creating `get_db` beside the route (once per module); it removes the
    manual session, its `close()` calls, and a `try`/`finally` that only closed
    it, and imports `Depends`/`Session` as needed. Commits stay where they are (the
    dependency hands out the same kind of session), so a route that commits is
    still safe. FastAPI hands every `Depends(get_db)` of one request the same session,
    so the fix is unsafe when the route already takes that dependency (itself, or
    through a dependency of its own, 3 levels), and when any route, router, app or
    `include_router(...)` of the project declares it with `dependencies=[Depends(...)]`
    (which of them holds the route is not read): the new parameter would share the
    session the route kept apart. The fix is unsafe when the route configures the session
    (assigns its attributes, `db.info[...] = ...`), when the route is also called
    directly (its signature changes), and when a comment on a removed line would
    be lost. It is not offered when the session is returned, stored or rebound,
    nor when a new `get_db` would call a factory that is not bound at module level
    (`SessionLocal = get_session_local()` inside the route: the new function would
    raise `NameError`); the comments above the route stay there, once.
    """

    code = "PS105"
    name = "session-in-route"
    summary = "a session built by hand inside a FastAPI route"
    fixable = True
    VALID = VALID + sqlmodel_cases.PS105_VALID
    INVALID = INVALID + sqlmodel_cases.PS105_INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        for func in ctx.module.all_functions:
            for node, value in hand_built_route_sessions(ctx.index, func):
                yield self.finding(
                    node,
                    f"route `{func.name}` builds a {value.kind.label} by hand with "
                    f"`{value.origin}`; take it as a parameter: "
                    "`db: Session = Depends(get_db)`",
                )

    # ------------------------------------------------------------------ fix
    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        call = finding.node
        if not isinstance(call, cst.Call):
            return Unfixable(self.code, "not a call")
        parents = parent_map(ctx.module.tree)
        func = enclosing_function(call, parents, ctx.module)
        if func is None or func.parent is not None:
            return Unfixable(self.code, "not a top-level route function")
        conn = ctx.index.evaluate(call, ctx.module, func)
        if not isinstance(conn, Connection):
            return Unfixable(self.code, "the session was not recognised")
        plan = FixPlan(self.code, "take the session from a Depends() dependency")
        found = acquire_statement(call, parents)
        body = list(iter_nodes(func.node.body))
        if found is not None:
            line, var = found
        else:
            line, var = None, "db"
        if var in func.all_param_names():
            return Unfixable(self.code, f"the route already has a parameter `{var}`")
        if found is None and var in func.locals:
            return Unfixable(self.code, f"`{var}` is already used in the route")
        dep_name = self._dependency(ctx, func, call, conn, plan, parents)
        if isinstance(dep_name, Unfixable):
            return dep_name
        # the session's statement and its close() calls go
        edits: dict[int, tuple[cst.CSTNode, cst.CSTNode | cst.RemovalSentinel
                               | cst.FlattenSentinel[cst.CSTNode]]] = {}
        if line is not None:
            stmts = [s for s in (func.node.body.body if isinstance(
                func.node.body, cst.IndentedBlock) else [])]
            reason = escape_reason([s for s in stmts if s is not line], var)
            if reason is not None:
                return Unfixable(self.code, reason)
            edits[id(line)] = (line, cst.RemovalSentinel.REMOVE)
            for node in body:
                close = _close_line(node, var, parents)
                if close is None:
                    continue
                if comments_of(close):
                    plan.mark_unsafe("a comment on a removed close() is dropped")
                used = _loaded_after(func, close, var, parents)
                if used is not None:
                    plan.mark_unsafe(
                        f"after `{var}.close()` the route hands on `{used}`, which the "
                        f"session loaded: with the dependency `{var}` stays open until the "
                        "response is sent, so the object is still attached to it (another "
                        "session's `add()` refuses it)")
                holder = parents.get(id(parents.get(id(close))))
                try_stmt = parents.get(id(holder))
                if isinstance(holder, cst.Finally) and isinstance(try_stmt, cst.Try) \
                        and isinstance(holder.body, cst.IndentedBlock) \
                        and len(holder.body.body) == 1:
                    if try_stmt.handlers:
                        edits[id(try_stmt)] = (try_stmt, try_stmt.with_changes(finalbody=None))
                    elif isinstance(try_stmt.body, cst.IndentedBlock):
                        inner = list(try_stmt.body.body)
                        first = inner[0]
                        if isinstance(first, (cst.SimpleStatementLine,
                                              cst.BaseCompoundStatement)):
                            inner[0] = first.with_changes(
                                leading_lines=[*try_stmt.leading_lines, *first.leading_lines])
                        edits[id(try_stmt)] = (try_stmt, cst.FlattenSentinel(inner))
                    continue
                edits[id(close)] = (close, cst.RemovalSentinel.REMOVE)
            for node in body:
                if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
                    targets = [t.target for t in node.targets] if isinstance(
                        node, cst.Assign) else [node.target]
                    if any(isinstance(t, (cst.Attribute, cst.Subscript))
                           and _root(t) == var for t in targets):
                        plan.mark_unsafe(f"the route configures `{var}`; the shared "
                                         "dependency does not")
        else:
            edits[id(call)] = (call, cst.Name(var))
        if line is not None and comments_of(line):
            self._keep_comments(line, edits, parents, plan)
        # a removed statement nested in an edited try: apply it inside the new try
        for key, (node, new) in list(edits.items()):
            if isinstance(new, cst.RemovalSentinel):
                for tnode, _new in edits.values():
                    if tnode is not node and any(a is tnode for a in _ancestors(node, parents)):
                        return Unfixable(self.code, "the session's statements are nested "
                                                    "in a way the fix cannot follow")
            plan.replacements[key] = (node, new)
        plan.replace(func.node.params, self._params(ctx, func, var, conn, dep_name, plan))
        shared = _shares_the_dependency(ctx, func, dep_name) \
            or _declared_shares(ctx, dep_name)
        if shared is not None:
            plan.mark_unsafe(
                f"{shared} already depends on `{dep_name}`: FastAPI hands every "
                f"`Depends({dep_name})` of one request the same session (its cache), so "
                f"`{var}` would share it, where the route made a session of its own (a "
                "commit of one would store the other's work)")
        if _route_called_directly(ctx.index, func):
            plan.mark_unsafe(f"`{func.name}` is also called directly; its signature changes")
        return plan

    def _keep_comments(self, line: cst.SimpleStatementLine,
                       edits: dict[int, tuple[cst.CSTNode, cst.CSTNode | cst.RemovalSentinel
                                              | cst.FlattenSentinel[cst.CSTNode]]],
                       parents: dict[int, cst.CSTNode], plan: FixPlan) -> None:
        """Move the comments of the removed session line onto the next statement."""
        comments = [e for e in line.leading_lines if e.comment is not None]
        if line.trailing_whitespace.comment is not None:
            comments.append(cst.EmptyLine(comment=line.trailing_whitespace.comment))
        block = parents.get(id(line))
        siblings = list(block.body) if isinstance(block, cst.IndentedBlock) else []
        pos = next((i for i, x in enumerate(siblings) if x is line), -1)
        nxt = siblings[pos + 1] if 0 <= pos < len(siblings) - 1 else None
        if nxt is None:
            plan.mark_unsafe("a comment on the removed session line is dropped")
            return
        if id(nxt) in edits:
            node, new = edits[id(nxt)]
            if isinstance(new, cst.FlattenSentinel) and new.nodes:
                first = new.nodes[0]
                if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                    nodes = [first.with_changes(leading_lines=[*comments,
                                                               *first.leading_lines]),
                             *new.nodes[1:]]
                    edits[id(nxt)] = (node, cst.FlattenSentinel(nodes))
                    return
            plan.mark_unsafe("a comment on the removed session line is dropped")
            return
        inside = any(any(a is nxt for a in _ancestors(n, parents)) for n, _ in edits.values())
        if inside or not isinstance(nxt, (cst.SimpleStatementLine,
                                          cst.BaseCompoundStatement)):
            plan.mark_unsafe("a comment on the removed session line is dropped")
            return
        edits[id(nxt)] = (nxt, nxt.with_changes(leading_lines=[*comments,
                                                               *nxt.leading_lines]))

    def _params(self, ctx: FileContext, func: FunctionInfo, var: str, conn: Connection,
                dep: str, plan: FixPlan) -> cst.Parameters:
        module = ctx.module.tree
        imports = ctx.module.imports
        cls, where = ("AsyncSession", "sqlalchemy.ext.asyncio") if conn.kind.is_async \
            else ("Session", "sqlalchemy.orm")
        annotation: str | None = cls
        if cls in imports:
            if imports[cls].rsplit(".", 1)[-1] != cls or not imports[cls].startswith(
                    "sqlalchemy"):
                annotation = None
        elif cls in ctx.module.assigns or cls in ctx.module.classes \
                or cls in ctx.module.functions:
            annotation = None
        else:
            plan.add_import(where, cls)
        depends = "Depends"
        if "Depends" in imports:
            if imports["Depends"] != "fastapi.Depends":
                depends = "fastapi.Depends" if imports.get("fastapi") == "fastapi" else ""
        elif imports.get("fastapi") == "fastapi":
            depends = "fastapi.Depends"
        else:
            plan.add_import("fastapi", "Depends")
        if not depends:
            return func.node.params
        spaced = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(" "),
                                 whitespace_after=cst.SimpleWhitespace(" "))
        param = cst.Param(
            name=cst.Name(var),
            annotation=cst.Annotation(parse_expr(module, annotation)) if annotation else None,
            default=parse_expr(module, f"{depends}({dep})"),
            equal=spaced if annotation else cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace("")))
        params = func.node.params
        if isinstance(params.star_arg, cst.Param) or params.kwonly_params:
            return params.with_changes(kwonly_params=[*params.kwonly_params, param])
        existing = list(params.params)
        last = existing[-1] if existing else None
        if last is not None and isinstance(last.comma, cst.Comma) \
                and isinstance(last.comma.whitespace_after, cst.ParenthesizedWhitespace):
            # one parameter a line and a trailing comma: the new one gets a line of its
            # own at the others' indentation, and the trailing comma
            before = existing[-2].comma if len(existing) > 1 else None
            indent = before.whitespace_after if isinstance(before, cst.Comma) \
                and isinstance(before.whitespace_after, cst.ParenthesizedWhitespace) \
                else func.node.whitespace_before_params if isinstance(
                    func.node.whitespace_before_params, cst.ParenthesizedWhitespace) \
                else None
            if indent is not None:
                existing[-1] = last.with_changes(comma=last.comma.with_changes(
                    whitespace_after=indent))
                param = param.with_changes(comma=last.comma)
        return params.with_changes(params=[*existing, param])

    def _dependency(self, ctx: FileContext, func: FunctionInfo, call: cst.Call,
                    conn: Connection, plan: FixPlan,
                    parents: dict[int, cst.CSTNode]) -> str | Unfixable:
        """The project's dependency yielding a session from the same factory call, or a
        new `get_db` beside the route (only from names bound at module level: a factory
        the route builds itself, `SessionLocal = get_session_local()`, is not there)."""
        module = ctx.module.tree
        call_code = module.code_for_node(call)
        key = _factory_key(ctx.index, ctx.module, call)
        deps = ctx.index.dependency_functions()
        candidates: list[FunctionInfo] = []
        # a module with the same call spells its callee's name
        callee = call_name(call)
        for m in (ctx.index.modules_mentioning([callee]) if callee else ctx.index.modules):
            for f in m.functions.values():
                # a generator dependency, or one that still returns the session (PS104
                # turns it into a generator in the same run)
                if f.cls is not None or not (f.is_generator or id(f.node) in deps):
                    continue
                if _does_more(f, call_code, m.tree):
                    # it commits (storing what the route left uncommitted, which the
                    # original's close discarded), runs statements or calls of its own,
                    # or swallows the route's exception: not the same session handling
                    continue
                broken = _entered_by_the_other_with(f, conn.kind.is_async)
                for node in iter_nodes(f.node.body):
                    if not isinstance(node, cst.Call) or m.tree.code_for_node(node) != call_code:
                        continue
                    if id(node) in broken:
                        # `async with SessionLocal()` on a sync factory (or `with` on an
                        # async one) raises TypeError on every request: the route
                        # would answer 500 where it worked; not this dependency
                        continue
                    value = ctx.index.evaluate(node, m, f)
                    if isinstance(value, Connection) and value.kind_key == conn.kind_key \
                            and _factory_key(ctx.index, m, node) == key and _hands_out(f):
                        candidates.append(f)
                        break
        # the ones the route's module already reaches first
        candidates.sort(key=lambda f: module_binding(ctx.index, ctx.module, f) is None)
        for f in candidates:
            ref = reference(plan, ctx.index, ctx.module, f)
            if ref is not None:
                plan.description = f"take the session from Depends({f.name})"
                return ref
        missing = _not_at_module_level(ctx.module, func, call)
        if missing is not None:
            return Unfixable(self.code, f"`{call_code}` reads `{missing}`, which is not bound "
                                        "at module level: a dependency beside the route could "
                                        "not build the session; write one by hand")
        taken = set(ctx.module.functions) | set(ctx.module.imports) | set(ctx.module.assigns)
        name = next((n for n in ("get_db", "get_session", "get_db_session") if n not in taken),
                    None)
        if name is None:
            return Unfixable(self.code, "no name for a dependency function")
        top = top_level_statement(func.node, parents, module)
        if top is None:
            return Unfixable(self.code, "not a top-level route function")
        nl, ind = module.default_newline, module.default_indent
        aw = "await " if conn.kind.is_async else ""
        code = (f"{'async ' if conn.kind.is_async else ''}def {name}():{nl}"
                f"{ind}db = {call_code}{nl}{ind}try:{nl}{ind}{ind}yield db{nl}"
                f"{ind}finally:{nl}{ind}{ind}{aw}db.close(){nl}")
        new = cst.parse_statement(code, config=module.config_for_parsing)
        new = new.with_changes(leading_lines=[])
        # the new function takes the route's blank lines, not its comments (a banner
        # above the route stays there, once)
        blank = [e for e in getattr(top, "leading_lines", []) if e.comment is None] or [
            cst.EmptyLine(), cst.EmptyLine()]
        plan.add_before(top, [new.with_changes(leading_lines=blank)])
        # the route keeps its own leading blank lines after the new function
        plan.description = f"take the session from a new Depends({name})"
        return name


def _not_at_module_level(module: ModuleInfo, func: FunctionInfo,
                         call: cst.Call) -> str | None:
    """A name the factory call reads that a module-level function could not: a local
    or parameter of the route, or a name the module does not bind."""
    for name in sorted(_loads(call)):
        if name in func.locals or name in func.all_param_names():
            return name
        if name in module.imports or name in module.functions or name in module.classes \
                or name in module.assigns or name in dir(builtins):
            continue
        return name
    return None


def _loads(node: cst.CSTNode) -> set[str]:
    """The names an expression reads (not attribute names, not keywords)."""
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, cst.Attribute):
        return _loads(node.value)
    if isinstance(node, cst.Arg):
        return _loads(node.value)
    out: set[str] = set()
    for child in children(node):
        out |= _loads(child)
    return out


def _loaded_after(func: FunctionInfo, close: cst.SimpleStatementLine, var: str,
                  parents: dict[int, cst.CSTNode]) -> str | None:
    """A name bound from the session (`user = db.get(User, 1)`) that a statement after
    `close` hands to a call (`copy_to_archive(user)`, `other.add(user)`): there the
    original passed a detached object, the fix an attached one. Reading its loaded
    attributes (`user.name`) or returning it reads the same values in both versions
    (a lazy attribute is not told apart: the same limit as PS105's `return`); None when
    there is none."""
    loaded: set[str] = set()
    for node in iter_nodes(func.node.body):
        if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None \
                and var in _loads(node.value):
            loaded |= bound_names(node)
    loaded.discard(var)
    if not loaded:
        return None
    barriers = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
    for st in statements_after(close, func.node, parents, barriers):
        hit = sorted(loaded & {a.value.value for c in iter_calls(st) for a in c.args
                               if isinstance(a.value, cst.Name)})
        if hit:
            return hit[0]
    return None


def _root(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _ancestors(node: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> list[cst.CSTNode]:
    out = []
    cur = parents.get(id(node))
    while cur is not None:
        out.append(cur)
        cur = parents.get(id(cur))
    return out


def _close_line(node: cst.CSTNode, var: str,
                parents: dict[int, cst.CSTNode]) -> cst.SimpleStatementLine | None:
    if not isinstance(node, cst.Call) or node.args:
        return None
    f = node.func
    if not (isinstance(f, cst.Attribute) and f.attr.value == "close"
            and isinstance(f.value, cst.Name) and f.value.value == var):
        return None
    line = statement_line(node, parents)
    if line is None or not isinstance(line.body[0], cst.Expr):
        return None
    return line


def _does_more(f: FunctionInfo, call_code: str, tree: cst.Module) -> bool:
    """`f` does more than make the session with the route's factory call, hand it
    out, close it and roll it back before re-raising: a call of anything else (a
    `commit()` or a `begin()` block, which would store what the route left
    uncommitted; a `SET` statement, a listener, a log line), or an `except` that
    does not re-raise (it would swallow the route's exception)."""
    for n in iter_nodes(f.node.body):
        if isinstance(n, cst.Call):
            if tree.code_for_node(n) == call_code:
                continue
            if isinstance(n.func, cst.Attribute) and not n.args \
                    and n.func.attr.value in ("close", "rollback"):
                continue
            return True
        if isinstance(n, cst.ExceptHandler):
            body = n.body.body if isinstance(n.body, cst.IndentedBlock) else []
            last = body[-1] if body else None
            if not (isinstance(last, cst.SimpleStatementLine)
                    and isinstance(last.body[-1], cst.Raise) and last.body[-1].exc is None):
                return True
    return False


def _entered_by_the_other_with(f: FunctionInfo, is_async: bool) -> set[int]:
    """The calls `f` enters with the `with` its session kind does not have: `async with`
    on a sync session (which has no `__aenter__`) or `with` on an async one (no
    `__enter__`). Such a dependency raises TypeError before the route runs."""
    out: set[int] = set()
    for node in iter_nodes(f.node.body):
        if isinstance(node, cst.With) and (node.asynchronous is not None) != is_async:
            out |= {id(item.item) for item in node.items}
    return out


def _hands_out(f: FunctionInfo) -> bool:
    return any(isinstance(n, (cst.Yield, cst.Return)) for n in iter_nodes(f.node.body))


def _factory_key(index: ProjectIndex, module: ModuleInfo, call: cst.Call) -> tuple[str, str]:
    """Where the factory's name is defined: (module path, name)."""
    root = _root(call.func) if isinstance(call.func, (cst.Attribute, cst.Name)) else None
    if root is None:
        return ("", "")
    if root in module.imports:
        qual = module.imports[root]
        mod, _, name = qual.rpartition(".")
        for m in index.by_name.get(mod, []):
            return (m.path, name)
        return (qual, "")
    return (module.path, root)


def _route_called_directly(index: ProjectIndex, func: FunctionInfo) -> bool:
    from poolsafe.analysis.values import FunctionRef

    for m in index.modules_mentioning([func.name]):
        for node in iter_nodes(m.tree, into_functions=True):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) \
                    and node.func.value == func.name:
                callee = index.evaluate(node.func, m, None)
                if isinstance(callee, FunctionRef) and callee.func is func:
                    return True
    return False


def _depends_on(default: cst.BaseExpression | None) -> str | None:
    """The dependency `Depends(X)` / `Security(X)` names (its last name), else None."""
    if not isinstance(default, cst.Call) or not default.args \
            or (dotted_name(default.func) or "").rsplit(".", 1)[-1] not in ("Depends",
                                                                            "Security"):
        return None
    return (dotted_name(default.args[0].value) or "").rsplit(".", 1)[-1] or None


def _param_dependencies(func: FunctionInfo) -> list[tuple[str, str]]:
    """(parameter, dependency) for each parameter taken from `Depends(...)`, as a default
    or inside `Annotated[..., Depends(...)]`."""
    found: list[tuple[str, str]] = []
    p = func.node.params
    for param in (*p.posonly_params, *p.params, *p.kwonly_params):
        dep = _depends_on(param.default)
        if dep is None and param.annotation is not None:
            for node in iter_nodes(param.annotation.annotation):
                if isinstance(node, cst.Call):
                    dep = _depends_on(node) or dep
        if dep is not None:
            found.append((param.name.value, dep))
    return found


def _shares_the_dependency(ctx: FileContext, func: FunctionInfo, dep: str,
                           depth: int = 0) -> str | None:
    """A parameter of `func` already taken from `Depends(dep)`, directly or through a
    project dependency that takes it (3 levels): FastAPI caches a dependency per
    request, so a new `Depends(dep)` would get that same session."""
    last = dep.rsplit(".", 1)[-1]
    for name, used in _param_dependencies(func):
        if used == last:
            return f"`{name}`" if depth == 0 else f"`{func.name}`"
        if depth >= 3:
            continue
        for inner in _project_functions(ctx, used):
            found = _shares_the_dependency(ctx, inner, dep, depth + 1)
            if found is not None:
                return f"`{name}` (through `{used}`)" if depth == 0 else found
    return None


#: a route, router or app that runs dependencies without taking their values
_DECLARED = re.compile(rb"\bdependencies\s*=")


def _declared_shares(ctx: FileContext, dep: str) -> str | None:
    """A `dependencies=[Depends(dep)]` (or of a project dependency that takes it, 3
    levels) on any route decorator, router, app or `include_router(...)` of the project
    (which of them holds the route is not read): FastAPI's per-request cache hands
    the route's new `Depends(dep)` that same session."""
    last = dep.rsplit(".", 1)[-1]
    for used in _declared_dependencies(ctx):
        shown = f"`dependencies=[Depends({used})]`"
        if used == last:
            return shown
        if any(_shares_the_dependency(ctx, inner, dep, 1) is not None
               for inner in _project_functions(ctx, used)):
            return f"{shown} (through `{used}`)"
    return None


def _declared_dependencies(ctx: FileContext) -> list[str]:
    """The dependencies named in a `dependencies=` keyword anywhere in the project."""
    found: list[str] = []
    for module in ctx.index.modules_matching(_DECLARED):
        for call in iter_nodes(module.tree, into_functions=True):
            if not isinstance(call, cst.Call):
                continue
            for arg in call.args:
                if arg.keyword is None or arg.keyword.value != "dependencies":
                    continue
                found += [name for node in iter_nodes(arg.value) if isinstance(node, cst.Call)
                          if (name := _depends_on(node)) is not None]
    return found


def _project_functions(ctx: FileContext, name: str) -> list[FunctionInfo]:
    """The project's module-level functions named `name`."""
    return [f for m in ctx.index.modules_defining([name])
            if (f := m.functions.get(name)) is not None]

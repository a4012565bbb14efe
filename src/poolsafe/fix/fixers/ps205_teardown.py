"""PS205 fix: a `teardown_appcontext` handler that removes the scoped session.

```python
@app.teardown_appcontext
def remove_db_session(exception=None):
    db_session.remove()
```

The handler goes beside the Flask app that serves the session:
- a module-level `app = Flask(...)`: at module level, after the app's creation (and
  after the session's, when both are in one module);
- an app factory (a function that builds `app = Flask(...)` and ends with
  `return app`): inside it, just before `return app`.

The app is the one in the session's own module, else the only one in the project;
when there is none, or several and the session's module has none, the finding is
not fixable. A session made inside the factory (`app.session = scoped_session(...)`)
is removed through the same expression. A session that lives in another module is
imported under its name: inside the factory (no import cycle at load time), or at
the top of the app's module (inside the handler when the session's module imports
the app's module). The fix may edit the app's module, not the finding's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import bound_names, dotted_name, iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import instance_type
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.edits import (
    enclosing_function,
    module_binding,
    parent_map,
    statement_line,
    top_level_statement,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.rules.base import FileContext

CODE = "PS205"
_FLASK = frozenset({("flask", "Flask")})


@dataclass
class AppSite:
    """Where a Flask app is built: `name = Flask(...)` at module level (`stmt`), or in
    a factory function that returns it (`ret`, the `return name` statement)."""

    module: ModuleInfo
    name: str
    stmt: cst.SimpleStatementLine
    factory: FunctionInfo | None = None
    ret: cst.SimpleStatementLine | None = None


def _flask_assign(index: ProjectIndex, stmt: cst.CSTNode, module: ModuleInfo,
                  func: FunctionInfo | None) -> str | None:
    """`name = Flask(...)` on a line of its own: the name."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    small = stmt.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(small.value, cst.Call)):
        return None
    if not instance_type(index.evaluate(small.value, module, func), _FLASK):
        return None
    return small.targets[0].target.value


def factory_app(index: ProjectIndex, func: FunctionInfo) -> AppSite | None:
    """The app a factory builds with `Flask(...)` and returns as its only return."""
    body = func.node.body
    if not isinstance(body, cst.IndentedBlock) or func.cls is not None:
        return None
    found: tuple[str, cst.SimpleStatementLine] | None = None
    for stmt in body.body:
        name = _flask_assign(index, stmt, func.module, func)
        if name is not None and isinstance(stmt, cst.SimpleStatementLine):
            found = (name, stmt)
    if found is None:
        return None
    returns = [n for n in iter_nodes(body) if isinstance(n, cst.Return)]
    last = body.body[-1]
    if len(returns) != 1 or not (isinstance(last, cst.SimpleStatementLine) and len(
            last.body) == 1 and last.body[0] is returns[0]):
        return None
    value = returns[0].value
    if not (isinstance(value, cst.Name) and value.value == found[0]):
        return None
    return AppSite(func.module, found[0], found[1], factory=func, ret=last)


def module_apps(index: ProjectIndex, module: ModuleInfo) -> list[AppSite]:
    out: list[AppSite] = []
    for stmt in module.tree.body:
        name = _flask_assign(index, stmt, module, None)
        if name is not None and isinstance(stmt, cst.SimpleStatementLine):
            out.append(AppSite(module, name, stmt))
    for func in module.functions.values():
        site = factory_app(index, func)
        if site is not None:
            out.append(site)
    return out


def locate_app(index: ProjectIndex, module: ModuleInfo) -> AppSite | Unfixable:
    own = module_apps(index, module)
    if len(own) == 1:
        return own[0]
    if len(own) > 1:
        return Unfixable(CODE, f"{len(own)} Flask apps in this module; which one serves the "
                               "session is not clear")
    found = [a for m in index.modules if m is not module for a in module_apps(index, m)]
    if len(found) == 1:
        return found[0]
    if not found:
        return Unfixable(CODE, "no Flask app (`app = Flask(...)` or an app factory) was found")
    return Unfixable(CODE, f"{len(found)} Flask apps in the project; which one serves the "
                           "session is not clear")


def _handler_name(ref: str, taken: set[str]) -> str:
    last = ref.rsplit(".", 1)[-1]
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", last).lower()
    base = f"remove_{snake}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def _module_names(module: ModuleInfo) -> set[str]:
    return {*module.assigns, *module.imports, *module.functions, *module.classes}


def _blank_lines_between_defs(module: cst.Module) -> int:
    """How many blank lines the module puts above a top-level `def` (2 by default)."""
    for i, stmt in enumerate(module.body):
        if i and isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            n = 0
            for line in stmt.leading_lines:
                if line.comment is not None:
                    break
                n += 1
            if n:
                return n
    return 2


def _blank(n: int) -> list[cst.EmptyLine]:
    return [cst.EmptyLine(indent=False) for _ in range(n)]


def _leading_blanks(stmt: cst.CSTNode) -> int:
    n = 0
    for line in getattr(stmt, "leading_lines", ()):
        if line.comment is not None:
            break
        n += 1
    return n


def fix_teardown(ctx: FileContext, finding: RawFinding) -> FixOutcome:
    call = finding.node
    if not isinstance(call, cst.Call):
        return Unfixable(CODE, "not a call")
    tree = ctx.module.tree
    parents = parent_map(tree)
    line = statement_line(call, parents)
    small = line.body[0] if line is not None else None
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and small.value is call:
        target: cst.BaseExpression = small.targets[0].target
    elif isinstance(small, cst.AnnAssign) and small.value is call:
        target = small.target
    else:
        return Unfixable(CODE, "the scoped_session is not assigned on a line of its own")
    func = enclosing_function(call, parents, ctx.module)
    if func is not None:
        return _in_factory(ctx, func, target)
    if not isinstance(target, cst.Name):
        return Unfixable(CODE, "the scoped_session is not assigned to a name")
    app = locate_app(ctx.index, ctx.module)
    if isinstance(app, Unfixable):
        return app
    return _beside_app(ctx, app, target.value, call, parents)


def _in_factory(ctx: FileContext, func: FunctionInfo, target: cst.BaseExpression) -> FixOutcome:
    """A session made inside the app factory: removed in a handler defined there."""
    app = factory_app(ctx.index, func)
    if app is None:
        return Unfixable(CODE, f"the scoped_session is made in `{func.name}()`, which is not "
                               "a Flask app factory")
    code = ctx.module.tree.code_for_node(target)
    if isinstance(target, cst.Name):
        if target.value in func.globals_declared:
            return Unfixable(CODE, f"`{target.value}` is global")
    elif not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
              and target.value.value == app.name):
        return Unfixable(CODE, "the scoped_session is stored where the handler cannot reach it")
    plan = FixPlan(CODE, f"add a teardown_appcontext handler that removes `{code}`")
    _insert_in_factory(ctx.module, plan, app, code, None)
    _unsafe_if_streamed(ctx.index, plan)
    _unsafe_if_left_pending(ctx.index, plan)
    return plan


def _beside_app(ctx: FileContext, app: AppSite, name: str, call: cst.Call,
                parents: dict[int, cst.CSTNode]) -> FixOutcome:
    session_module = ctx.module
    plan = FixPlan(CODE, f"add a teardown_appcontext handler that removes `{name}`")
    _unsafe_if_streamed(ctx.index, plan)
    _unsafe_if_left_pending(ctx.index, plan)
    if app.module is not session_module:
        plan.path = app.module.path
    ref = module_binding(ctx.index, app.module, (session_module, name))
    local_import: str | None = None
    if ref is None:
        taken = _module_names(app.module)
        if app.factory is not None:
            taken |= set(app.factory.locals) | app.factory.all_param_names()
        if name in taken:
            return Unfixable(CODE, f"`{name}` means something else where the app is built")
        if not session_module.names:
            return Unfixable(CODE, "the session's module cannot be imported by name")
        local_import = f"from {session_module.names[0]} import {name}"
        ref = name
    if app.factory is not None:
        _insert_in_factory(app.module, plan, app, ref, local_import)
        return plan
    # module level: after the app (and after the session, in the same module)
    tree = app.module.tree
    after: cst.CSTNode = app.stmt
    if app.module is session_module:
        top = top_level_statement(call, parents, tree)
        order = {id(s): i for i, s in enumerate(tree.body)}
        if top is not None and order.get(id(top), -1) > order[id(app.stmt)]:
            after = top
    tops: list[cst.CSTNode] = list(tree.body)
    _unsafe_after_earlier_teardown(plan, app.name, tops[:tops.index(after) + 1])
    in_handler = None
    if local_import is not None:
        if _imports_module(session_module, app.module):
            in_handler = local_import  # the session's module imports the app's: no cycle
        else:
            plan.add_import(session_module.names[0], name)
    handler = _handler(app.module, app.name, ref, in_handler, _module_names(app.module))
    blanks = _blank_lines_between_defs(tree)
    handler = handler.with_changes(leading_lines=_blank(blanks))
    body = list(tree.body)
    at = next(i for i, s in enumerate(body) if s is after)
    if at + 1 < len(body):
        nxt = body[at + 1]
        missing = blanks - _leading_blanks(nxt)
        if missing > 0:
            handler = _with_footer(handler, missing)
        plan.add_before(nxt, [handler])
    else:
        plan.replace(after, cst.FlattenSentinel([after, handler]))
    return plan


def _imports_module(importer: ModuleInfo, imported: ModuleInfo) -> bool:
    names = set(imported.names)
    return any(q in names or q.rpartition(".")[0] in names for q in importer.imports.values())


def _handler(module: ModuleInfo, app: str, ref: str, local_import: str | None,
             taken: set[str]) -> cst.FunctionDef:
    tree = module.tree
    nl, ind = tree.default_newline, tree.default_indent
    name = _handler_name(ref, taken)
    body = f"{ind}{ref}.remove(){nl}"
    if local_import is not None:
        body = f"{ind}{local_import}{nl}{nl}{body}"
    code = (f"@{app}.teardown_appcontext{nl}def {name}(exception=None):{nl}{body}")
    stmt = cst.parse_statement(code, config=tree.config_for_parsing)
    assert isinstance(stmt, cst.FunctionDef)
    return stmt


def _with_footer(handler: cst.FunctionDef, blanks: int) -> cst.FunctionDef:
    body = handler.body
    assert isinstance(body, cst.IndentedBlock)
    return handler.with_changes(body=body.with_changes(footer=_blank(blanks)))


def _insert_in_factory(module: ModuleInfo, plan: FixPlan, app: AppSite, ref: str,
                       local_import: str | None) -> None:
    """Before the factory's `return app`: [the import,] the handler, blank lines around."""
    assert app.factory is not None and app.ret is not None
    taken = _module_names(module) | set(app.factory.locals) | app.factory.all_param_names()
    for node in iter_nodes(app.factory.node.body, into_functions=True):
        if isinstance(node, cst.FunctionDef):
            taken.add(node.name.value)
    handler = _handler(module, app.name, ref, None, taken)
    stmts: list[cst.BaseStatement] = []
    if local_import is not None:
        imp = cst.parse_statement(local_import + module.tree.default_newline,
                                  config=module.tree.config_for_parsing)
        stmts.append(imp.with_changes(leading_lines=_blank(1)))
    handler = handler.with_changes(leading_lines=_blank(1))
    if _leading_blanks(app.ret) == 0:
        handler = _with_footer(handler, 1)
    stmts.append(handler)
    plan.add_before(app.ret, stmts)
    body = app.factory.node.body
    if isinstance(body, cst.IndentedBlock) and app.ret in body.body:
        stmts_in: list[cst.CSTNode] = list(body.body)
        _unsafe_after_earlier_teardown(plan, app.name, stmts_in[:stmts_in.index(app.ret)])


def _unsafe_after_earlier_teardown(plan: FixPlan, app: str,
                                   before: list[cst.CSTNode]) -> None:
    """Flask runs `teardown_appcontext` handlers in the reverse order of their
    registration: a handler the app registered before the new one (`before`: the
    statements ahead of where it goes) runs after it, on a session already removed.
    One that commits the session (`db_session.commit()` on a clean exit) would then
    commit a fresh, empty session: the request's work is rolled back and lost. So the
    fix is unsafe when such a handler exists; put `remove()` at the end of that
    handler instead."""
    key = f"{app}.teardown_appcontext"
    for stmt in before:
        for node in iter_nodes(stmt, into_functions=True):
            found = (isinstance(node, cst.Decorator) and dotted_name(
                node.decorator.func if isinstance(node.decorator, cst.Call)
                else node.decorator) == key) or (
                isinstance(node, cst.Call) and dotted_name(node.func) == key)
            if found:
                plan.mark_unsafe(
                    f"`{app}` already registers a teardown_appcontext handler, and Flask "
                    "runs them in the reverse order: that one would run after the new "
                    "handler has removed the session (a commit there would store nothing); "
                    "call remove() at the end of that handler instead")
                return


#: SQLAlchemy's calls that map an attribute of a model (a column, a relationship)
_MAPPED = frozenset({"Column", "mapped_column", "relationship", "relation", "dynamic_loader",
                     "column_property", "deferred", "synonym", "composite"})
#: session calls after which a change the function made is no longer pending for the
#: next request (stored or discarded by the function itself)
_SETTLES = frozenset({"commit", "rollback", "remove", "close", "expunge", "expunge_all"})


def _settles(name: str) -> bool:
    """A call named so ends what the function changed: the session's own
    (`commit`, `rollback`, `remove`, ...) or, by its name, a project helper's
    (`commit_data()`, `safe_rollback()`)."""
    return name in _SETTLES or "commit" in name or "rollback" in name


def _unsafe_if_left_pending(index: ProjectIndex, plan: FixPlan) -> None:
    """A project function that sets a mapped attribute of an object (`post.body =
    ...`, not `self`'s) and neither commits nor rolls back may leave that change
    pending in the session at the end of a request. The original's session outlives
    the request: the next request on the same thread flushes the change (autoflush,
    its commit) and stores it; the new handler's `remove()` discards it, so the later
    statements differ."""
    where = left_pending(index)
    if where is not None:
        plan.mark_unsafe(
            f"{where}: a change a request leaves pending stays in the original's session, "
            "whose next request on the same thread flushes and commits it; the new "
            "handler's `remove()` discards it at the end of the request")


#: collection methods that change a relationship's list or set in place
_COLLECTION_CHANGES = frozenset({"append", "extend", "insert", "add", "remove", "discard",
                                 "clear", "pop", "update"})
#: session methods that queue a change for the next flush
_QUEUES = frozenset({"add", "add_all", "delete", "merge"})


def _queued(node: cst.CSTNode, mapped: set[str],
            own: Sequence[cst.CSTNode] = ()) -> str | None:
    """A change queued in a session without an assignment: a session's `add` /
    `add_all` / `delete` / `merge` (a receiver whose name says session: `Session`,
    `db.session`, `db_session`), a statement that writes run by its `execute()` (left
    in the open transaction), a bulk `update()` / `delete()` of a query, or a collection
    change of a mapped attribute of an object other than `self` / `cls`
    (`post.tags.append(tag)`). `own`: the function's nodes, where a statement handed
    to `execute()` by a local name is looked up (`stmt = update(...)`). The call as
    written, or None."""
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return None
    method = node.func.attr.value
    receiver = node.func.value
    shown = dotted_name(receiver) or ""
    if method in _QUEUES and "session" in shown.rsplit(".", 1)[-1].lower():
        return f"{shown}.{method}()"
    if method in ("execute", "exec_driver_sql") and node.args \
            and "session" in shown.rsplit(".", 1)[-1].lower() \
            and _writes(_bound_in(node.args[0].value, own)):
        return f"{shown}.{method}(...)"
    if method in ("update", "delete") and _through_query(receiver):
        return f"{shown or 'query'}.{method}()"
    if method in _COLLECTION_CHANGES and isinstance(receiver, cst.Attribute) \
            and receiver.attr.value in mapped \
            and dotted_name(receiver.value) not in ("self", "cls"):
        return f"{shown or receiver.attr.value}.{method}()"
    return None


#: SQLAlchemy's constructs of a statement that writes (`update(Post).where(...)`)
_WRITE_CONSTRUCTS = frozenset({"update", "insert", "delete"})
#: what a literal SQL statement that writes begins with
_WRITE_SQL = re.compile(r"\s*(insert|update|delete|replace|merge|upsert|create|drop|alter|"
                        r"truncate)\b", re.IGNORECASE)


def _writes(expr: cst.BaseExpression) -> bool:
    """`expr`, a statement handed to `execute()`, writes: a chain from `update(...)` /
    `insert(...)` / `delete(...)`, or SQL (a string, `text("...")`) that begins with a
    writing keyword. A name bound elsewhere is not read."""
    node: cst.BaseExpression = expr
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Call):
            name = (dotted_name(node.func) or "").rsplit(".", 1)[-1]
            if name in _WRITE_CONSTRUCTS:
                return True
            if name == "text" and node.args:
                return _writes(node.args[0].value)
            node = node.func
            continue
        node = node.value
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return isinstance(value, str) and _WRITE_SQL.match(value) is not None
    return False


def _bound_in(expr: cst.BaseExpression, own: Sequence[cst.CSTNode]) -> cst.BaseExpression:
    """`expr`, or, for a name the function binds once by a plain assignment, its value."""
    if not isinstance(expr, cst.Name):
        return expr
    values = [n.value for n in own if isinstance(n, cst.Assign) and len(n.targets) == 1
              and isinstance(n.targets[0].target, cst.Name)
              and n.targets[0].target.value == expr.value]
    return values[0] if len(values) == 1 else expr


def _through_query(expr: cst.BaseExpression) -> bool:
    """`expr` is a chain through `.query` (`Session.query(Post).filter(...)`,
    `Post.query.filter_by(...)`): its `update()` / `delete()` runs a bulk statement."""
    node: cst.BaseExpression = expr
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Attribute) and node.attr.value == "query":
            return True
        node = node.func if isinstance(node, cst.Call) else node.value
    return False


def left_pending(index: ProjectIndex) -> str | None:
    """Where a project function sets a mapped attribute (the name of a column or a
    relationship some project model maps) of an object other than `self` / `cls`, or
    queues a change otherwise (`Session.add(obj)`, `post.tags.append(tag)`: `_queued`),
    with no `commit()` / `rollback()` / `remove()` / `close()` call of its own (nor a
    call whose name holds "commit" or "rollback", a project helper's); or None. By
    name: over-refuses a helper whose every caller commits."""
    def compute() -> str | None:
        mapped: set[str] = set()
        for module in index.modules_calling(_MAPPED):
            for node in iter_nodes(module.tree, into_functions=True):
                if isinstance(node, cst.ClassDef):
                    for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) \
                            else ():
                        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) \
                            and stmt.body else None
                        if isinstance(small, (cst.Assign, cst.AnnAssign)) \
                                and isinstance(small.value, cst.Call) \
                                and _last_name(small.value.func) in _MAPPED:
                            targets = [t.target for t in small.targets] \
                                if isinstance(small, cst.Assign) else [small.target]
                            mapped.update(t.value for t in targets if isinstance(t, cst.Name))
        if not mapped:
            return None
        for module in index.modules:
            for func in iter_nodes(module.tree, into_functions=True):
                if not isinstance(func, cst.FunctionDef):
                    continue
                own = list(iter_nodes(func.body))
                if any(isinstance(n, cst.Call) and _settles(_last_name(n.func)) for n in own):
                    continue
                for node in own:
                    if isinstance(node, (cst.Assign, cst.AugAssign)):
                        targets = [t.target for t in node.targets] \
                            if isinstance(node, cst.Assign) else [node.target]
                        for target in targets:
                            if isinstance(target, cst.Attribute) \
                                    and target.attr.value in mapped \
                                    and dotted_name(target.value) not in ("self", "cls"):
                                return (f"`{func.name.value}()` in {_file(module)} sets "
                                        f"`{module.tree.code_for_node(target)}` and "
                                        "neither commits nor rolls back")
                    queued = _queued(node, mapped, own)
                    if queued is not None:
                        return (f"`{func.name.value}()` in {_file(module)} calls "
                                f"`{queued}` and neither commits nor rolls back")
        return None
    return index.derived("ps205.left_pending", compute)


#: what makes a Flask response of a body (`Response(rows())`, `app.response_class(...)`)
_RESPONSES = frozenset({"Response", "response_class", "make_response"})
#: the views' decorators (`@app.route`, `@bp.get`)
_ROUTES = frozenset({"route", "get", "post", "put", "patch", "delete"})


def _unsafe_if_streamed(index: ProjectIndex, plan: FixPlan) -> None:
    """A streamed response (`streamed_response`) runs its generator after the app
    context has ended (with `stream_with_context` too: it pushes the request context
    again, not the app context, in Flask 3.1), so after the new handler: the removed
    session's objects are detached there, and what the generator reads of them that
    is not loaded yet (a lazy relationship, an attribute expired by a commit) raises
    `DetachedInstanceError` where the original, whose session lived on, loaded it."""
    where = streamed_response(index)
    if where is not None:
        plan.mark_unsafe(
            f"the project streams a response ({where}): its generator runs after the app "
            "context ends, past the new handler, and the removed session's objects are "
            "detached there (a lazy load raises DetachedInstanceError; Flask 3.1's "
            "`stream_with_context` keeps the request, not the app context); load what "
            "it reads before the view returns, or remove the session at its end")


def streamed_response(index: ProjectIndex) -> str | None:
    """Where the project hands Flask a body to stream: a generator expression, a call of
    a generator function of the project (by its name, imported under another or
    reached through its module), or Flask's `stream_template(...)` /
    `stream_template_string(...)` (in `stream_with_context(...)` or not), given to
    `Response(...)` / `make_response(...)` / `response_class(...)` or returned by a
    view (Flask streams an iterator a view returns), directly or through a name bound to
    one (`gen = rows(); return Response(gen)`); or a view that is a generator itself."""
    generators = {n.name.value for m in index.modules_mentioning(["yield"])
                  for n in iter_nodes(m.tree, into_functions=True)
                  if isinstance(n, cst.FunctionDef) and _yields(n)}
    handed = _handed_across_modules(index, generators)
    for module in index.modules_mentioning(["yield", *_RESPONSES, *_STREAM_TEMPLATES]):
        names = _imported_as(module, generators) | generators
        names |= _renamed(module, names)
        bound = _bound_to_streams(module, generators, names,
                                  frozenset(handed.get(id(module), set())))
        for node in iter_nodes(module.tree, into_functions=True):
            if isinstance(node, cst.Call) and _last_name(node.func) in _STREAM_TEMPLATES:
                return f"`{module.tree.code_for_node(node)}` in {_file(module)}"
            if isinstance(node, cst.Call) and _last_name(node.func) in _RESPONSES \
                    and node.args and node.args[0].keyword is None \
                    and _streams(node.args[0].value, generators, names, bound):
                return f"`{module.tree.code_for_node(node)}` in {_file(module)}"
            if isinstance(node, cst.FunctionDef) and _is_view(node):
                if _yields(node):
                    return f"the view `{node.name.value}` in {_file(module)}, a generator"
                for ret in iter_nodes(node.body):
                    if isinstance(ret, cst.Return) and ret.value is not None:
                        value = ret.value
                        if isinstance(value, cst.Tuple) and value.elements:
                            value = value.elements[0].value
                        if _streams(value, generators, names, bound):
                            return (f"the view `{node.name.value}` in {_file(module)} "
                                    "returns an iterator")
    return None


#: builtins whose iterator calls its function as it is iterated: Flask iterates a body
#: it streams after the teardown
_LAZY_BUILTINS = frozenset({"map", "filter", "starmap", "filterfalse"})
#: calls whose iterator draws on its arguments as it is iterated: lazy when one of
#: them is (`iter(rows())`, `itertools.chain(header, rows())`)
_LAZY_WRAPPERS = frozenset({"iter", "zip", "enumerate", "chain", "islice", "takewhile",
                            "dropwhile", "tee", "zip_longest", "compress", "accumulate"})


#: Flask's helpers that render a template as a stream
_STREAM_TEMPLATES = frozenset({"stream_template", "stream_template_string"})


def _last_name(expr: cst.BaseExpression) -> str:
    return (dotted_name(expr) or "").rsplit(".", 1)[-1]


def _is_view(func: cst.FunctionDef) -> bool:
    return any(_last_name(d.decorator.func if isinstance(d.decorator, cst.Call)
                          else d.decorator) in _ROUTES for d in func.decorators)


def _imported_as(module: ModuleInfo, generators: set[str]) -> set[str]:
    """The local names the module's imports (anywhere in it) give a project generator
    under another name: `from streams import rows as csv_rows` gives `csv_rows`."""
    return {a.asname.name.value for node in iter_nodes(module.tree, into_functions=True)
            if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar)
            for a in node.names
            if a.asname is not None and isinstance(a.asname.name, cst.Name)
            and _last_name(a.name) in generators}


def _renamed(module: ModuleInfo, names: set[str]) -> set[str]:
    """The names the module binds anywhere to a project generator function itself, not
    a call of it (`make = rows`), to a fixed point."""
    pairs = [(bound_names(node), node.value.value)
             for node in iter_nodes(module.tree, into_functions=True)
             if isinstance(node, (cst.Assign, cst.AnnAssign, cst.NamedExpr))
             and isinstance(node.value, cst.Name)]
    found: set[str] = set()
    grown = True
    while grown:
        grown = False
        for targets, value in pairs:
            if value in names | found and not targets <= found:
                found |= targets
                grown = True
    return found


def _handed_to_parameters(module: ModuleInfo) -> list[tuple[set[str], cst.BaseExpression]]:
    """Each argument a call in the module hands a function the module defines, with the
    parameter it binds (`csv_response(rows())` binds `body` of `def
    csv_response(body)`), by position or keyword."""
    params = {n.name.value: [p.name.value for p in (*n.params.posonly_params,
                                                      *n.params.params)]
              for n in iter_nodes(module.tree, into_functions=True)
              if isinstance(n, cst.FunctionDef)}
    out: list[tuple[set[str], cst.BaseExpression]] = []
    for call in iter_nodes(module.tree, into_functions=True):
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name) \
                or call.func.value not in params:
            continue
        names = params[call.func.value]
        for i, arg in enumerate(call.args):
            if arg.star:
                continue
            if arg.keyword is not None:
                out.append(({arg.keyword.value}, arg.value))
            elif i < len(names):
                out.append(({names[i]}, arg.value))
    return out


def _handed_across_modules(index: ProjectIndex,
                           generators: set[str]) -> dict[int, set[str]]:
    """The parameters (by module, `id(module)`) of functions a module defines that a
    call in another module hands a streamed body (`return csv_response(rows())` with
    `from views_util import csv_response`, renamed by its import or reached through its
    module): by the function's name, as `_streams` reads generators; to a fixed point
    over the project (a helper handing it on to another)."""
    defined: dict[str, list[tuple[ModuleInfo, list[str]]]] = {}
    for module in index.modules_mentioning(["def"]):
        for n in iter_nodes(module.tree, into_functions=True):
            if isinstance(n, cst.FunctionDef):
                defined.setdefault(n.name.value, []).append((module, [
                    p.name.value for p in (*n.params.posonly_params, *n.params.params)]))
    callers = index.modules_mentioning([*defined, *_imported_names(index, defined)])
    handed: dict[int, set[str]] = {}
    grown = True
    while grown:
        grown = False
        for caller in callers:
            names = _imported_as(caller, generators) | generators
            names |= _renamed(caller, names)
            bound = _bound_to_streams(caller, generators, names,
                                      frozenset(handed.get(id(caller), set())))
            aliases = _import_aliases(caller)
            for call in iter_nodes(caller.tree, into_functions=True):
                if not isinstance(call, cst.Call):
                    continue
                called = _last_name(call.func)
                for module, params in defined.get(aliases.get(called, called), []):
                    if module is caller:
                        continue  # the module's own calls: `_handed_to_parameters`
                    for i, arg in enumerate(call.args):
                        target = arg.keyword.value if arg.keyword is not None else (
                            params[i] if i < len(params) and not arg.star else None)
                        if target is None or target in handed.get(id(module), set()):
                            continue
                        if _streams(arg.value, generators, names, bound):
                            handed.setdefault(id(module), set()).add(target)
                            grown = True
    return handed


def _import_aliases(module: ModuleInfo) -> dict[str, str]:
    """The names the module's imports (anywhere in it) give under another name, to the
    imported name: `from views_util import csv_response as respond`."""
    return {a.asname.name.value: _last_name(a.name)
            for node in iter_nodes(module.tree, into_functions=True)
            if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar)
            for a in node.names
            if a.asname is not None and isinstance(a.asname.name, cst.Name)}


def _imported_names(index: ProjectIndex,
                    defined: dict[str, list[tuple[ModuleInfo, list[str]]]]) -> set[str]:
    """The other names imports give the functions in `defined`."""
    return {alias for module in index.modules_mentioning(["import"])
            for alias, name in _import_aliases(module).items() if name in defined}


def _bound_to_streams(module: ModuleInfo, generators: set[str],
                      names: set[str], seed: frozenset[str] = frozenset()) -> frozenset[str]:
    """The names the module binds anywhere (an assignment, a walrus, or a parameter of a
    function of the module that a call hands it, in any function) to a streamed body,
    or to another such name (`gen = rows(); body = gen`): read module-wide, so a name
    that streams in one function counts in every other."""
    binds = [(bound_names(node), node.value)
             for node in iter_nodes(module.tree, into_functions=True)
             if isinstance(node, (cst.Assign, cst.AnnAssign, cst.NamedExpr))
             and node.value is not None]
    binds += _handed_to_parameters(module)
    bound: set[str] = set(seed)
    grown = True
    while grown:
        grown = False
        for targets, value in binds:
            if not targets <= bound \
                    and _streams(value, generators, names, frozenset(bound)):
                bound.update(targets)
                grown = True
    return frozenset(bound)


def _streams(body: cst.BaseExpression, generators: set[str], names: set[str],
             bound: frozenset[str] = frozenset()) -> bool:
    """`body` is an iterator Flask would stream: a generator expression, a call of a
    project generator (`names`: by its name or one an import gave it; or through its
    module), a streamed template, a lazy `map(...)` / `filter(...)`, or a name bound to
    one of these (`bound`)."""
    if isinstance(body, cst.Call) and _last_name(body.func) == "stream_with_context" \
            and body.args:
        body = body.args[0].value
    if isinstance(body, cst.Name):
        return body.value in bound
    if isinstance(body, cst.GeneratorExp):
        return True
    if not isinstance(body, cst.Call):
        return False
    last = _last_name(body.func)
    if last in _STREAM_TEMPLATES:
        return True
    if last in _LAZY_WRAPPERS and any(_streams(a.value, generators, names, bound)
                                      for a in body.args):
        return True
    if isinstance(body.func, cst.Name):
        return last in names or last in _LAZY_BUILTINS
    return isinstance(body.func, cst.Attribute) and last in generators


def _file(module: ModuleInfo) -> str:
    return module.path.replace("\\", "/").rsplit("/", 1)[-1]


def _yields(func: cst.FunctionDef) -> bool:
    """`func` is a generator (a `yield` in its own body, not a nested function's)."""
    return any(isinstance(n, cst.Yield) for n in iter_nodes(func.body))

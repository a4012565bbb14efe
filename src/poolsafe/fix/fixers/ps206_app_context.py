"""PS206 fix: run a background job's work inside `with app.app_context():`.

The statements after `app = create_app()` in the job's body move, re-indented with
their comments, into a `with <app>.app_context():` block placed right after the
assignment. A `with <app>.app_context():` block already among them is merged into
the new one (its statements now share the job's context and session): unsafe,
since objects it loaded stay attached for the statements after it.

The new context runs the app's own application-context handlers when the job ends,
on the paths that never use the database too: unsafe when the project registers a
handler that does more than give back what the context opened (a
`teardown_appcontext` handler whose calls are all `.remove()` / `.close()` /
`.pop()`-style releases is such a giving back; an `appcontext_*` signal receiver,
or a handler the fixer cannot read, is not). Unsafe too when the project's task
class already runs every task inside an application context (a `__call__` that
enters `app_context()`): the work would move to the new app's context.

Not fixable when the app is not bound to a name, when the assignment is not
directly in the job's body, or when the database is used before the app is built.
"""

from __future__ import annotations

import re

import libcst as cst

from poolsafe.analysis.app_context import db_use_outside_context
from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.module import FunctionInfo
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.edits import (
    acquire_statement,
    enclosing_function,
    lift_blank_lines,
    parent_map,
    parse_expr,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.rules.base import FileContext

CODE = "PS206"
_MERGED = ("merges the existing `with {app}.app_context():` block into the new one; the "
           "objects it loaded stay attached to the job's session")


def fix_app_context(ctx: FileContext, finding: RawFinding) -> FixOutcome:
    call = finding.node
    if not isinstance(call, cst.Call):
        return Unfixable(CODE, "not a call")
    tree = ctx.module.tree
    parents = parent_map(tree)
    func = enclosing_function(call, parents, ctx.module)
    if func is None:
        return Unfixable(CODE, "not inside a function")
    got = acquire_statement(call, parents)
    if got is None:
        return Unfixable(CODE, "the app built by the factory is not bound to a name")
    line, app = got
    block = func.node.body
    if parents.get(id(line)) is not block or not isinstance(block, cst.IndentedBlock):
        return Unfixable(CODE, "the app is built inside a nested block of the job")
    body = list(block.body)
    at = next(i for i, s in enumerate(body) if s is line)
    before, rest = body[:at], body[at + 1:]
    if not rest:
        return Unfixable(CODE, "nothing follows the app's creation")
    if _uses_db(ctx, func, before, call):
        return Unfixable(CODE, "the job uses the database before it builds the app")
    plan = FixPlan(CODE, f"wrap the job's body in `with {app}.app_context():`")
    handler = _context_handler_beyond_release(ctx)
    if handler is not None:
        plan.mark_unsafe(_HANDLERS.format(app=app, where=handler))
    task_class = _task_class_with_context(ctx)
    if task_class is not None:
        plan.mark_unsafe(_TASK_CLASS.format(app=app, where=task_class))
    inner: list[cst.BaseStatement] = []
    for stmt in rest:
        merged = _own_context_block(stmt, app)
        if merged is None:
            inner.append(stmt)
            continue
        plan.mark_unsafe(_MERGED.format(app=app))
        inner.extend(_unwrap(merged))
    # blank lines above the first moved statement go above the `with`; comments stay
    leading, inner = lift_blank_lines(inner)
    new = cst.With(items=[cst.WithItem(item=parse_expr(tree, f"{app}.app_context()"))],
                   body=cst.IndentedBlock(body=inner), leading_lines=leading)
    plan.replace(rest[0], new)
    for stmt in rest[1:]:
        plan.remove(stmt)
    return plan


_HANDLER_WORDS = re.compile(
    rb"\b(?:teardown_appcontext|appcontext_pushed|appcontext_tearing_down|appcontext_popped)\b")
_SIGNALS = ("appcontext_pushed", "appcontext_tearing_down", "appcontext_popped")
#: the calls a teardown handler may make and still only give back what the context
#: opened (a scoped session's `remove()`, `g.pop("db")`, a connection's `close()`)
_RELEASE_CALLS = frozenset({"remove", "close", "pop", "get", "release", "putconn",
                            "rollback", "dispose"})
_HANDLERS = ("`{app}.app_context()` runs the project's own application-context handlers "
             "when the job ends, also on paths that never use the database ({where})")


_APP_CONTEXT = re.compile(rb"\bapp_context\b")
_TASK_CLASS = ("the project's task class {where} runs every task inside an application "
               "context already: the job's work would move from that app's context (its "
               "session, its engine) to `{app}`'s, another session and engine, and "
               "another configuration if `create_app()` reads one")


def _task_class_with_context(ctx: FileContext) -> str | None:
    """Where the project defines a class whose `__call__` enters or pushes an
    application context (Flask's documented Celery `FlaskTask`, a `ContextTask`):
    the tasks it runs have a context before the job builds its own app."""
    for path, source in ctx.index.files_matching(_APP_CONTEXT):
        try:
            tree = cst.parse_module(source)
        except cst.ParserSyntaxError:
            return f"in {path.name} (not parsed)"
        for cls in iter_nodes(tree, into_functions=True):
            if not isinstance(cls, cst.ClassDef):
                continue
            for method in iter_nodes(cls.body, into_functions=True):
                if isinstance(method, cst.FunctionDef) and method.name.value == "__call__" \
                        and any(isinstance(c, cst.Call) and isinstance(c.func, cst.Attribute)
                                and c.func.attr.value == "app_context"
                                for c in iter_nodes(method.body, into_functions=True)):
                    return f"`{cls.name.value}` ({path.name})"
    return None


def _context_handler_beyond_release(ctx: FileContext) -> str | None:
    """Where the project registers an application-context handler that does more than
    give back what the context opened, else None."""
    for path, source in ctx.index.files_matching(_HANDLER_WORDS):
        try:
            tree = cst.parse_module(source)
        except cst.ParserSyntaxError:
            return f"{path.name}: not parsed"
        found = _HandlerFinder()
        tree.visit(found)
        if found.signal:
            return f"{path.name}: an `appcontext_*` signal receiver"
        defs = {d.name.value: d for d in found.defs}
        for handler in found.handlers:
            if isinstance(handler, cst.Lambda):
                body: cst.CSTNode = handler.body
            elif isinstance(handler, cst.Name) and handler.value in defs:
                body = defs[handler.value].body
            elif isinstance(handler, cst.FunctionDef):
                body = handler.body
            else:
                return f"{path.name}: a `teardown_appcontext` handler defined elsewhere"
            if not _only_releases(body):
                return f"{path.name}: a `teardown_appcontext` handler that does more than release"
    return None


class _HandlerFinder(cst.CSTVisitor):
    """`@x.teardown_appcontext` defs, `x.teardown_appcontext(handler)` arguments, and
    any mention of an `appcontext_*` signal."""

    def __init__(self) -> None:
        self.defs: list[cst.FunctionDef] = []
        self.handlers: list[cst.CSTNode] = []
        self.signal = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.defs.append(node)
        if any(_is_teardown(d.decorator) for d in node.decorators):
            self.handlers.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        if _is_teardown(node.func) and node.args:
            self.handlers.append(node.args[0].value)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in _SIGNALS:
            self.signal = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in _SIGNALS:
            self.signal = True


def _is_teardown(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Attribute) and expr.attr.value == "teardown_appcontext"


def _only_releases(body: cst.CSTNode) -> bool:
    """Every call in `body` is a release-style method call (`x.remove()`, `g.pop(...)`)."""
    return all(isinstance(c.func, cst.Attribute) and c.func.attr.value in _RELEASE_CALLS
               for c in iter_nodes(body, into_functions=True) if isinstance(c, cst.Call))


def _uses_db(ctx: FileContext, func: FunctionInfo, stmts: list[cst.BaseStatement],
             skip: cst.Call) -> bool:
    """Some statement uses Flask-SQLAlchemy outside a context (the rule's own test)."""
    return any(db_use_outside_context(ctx.index, func, s, 0, skip) is not None
               for s in stmts)


def _own_context_block(stmt: cst.BaseStatement, app: str) -> cst.With | None:
    """`with <app>.app_context():` (no `as`, nothing else), else None."""
    if not isinstance(stmt, cst.With) or stmt.asynchronous is not None or len(stmt.items) != 1:
        return None
    item = stmt.items[0]
    value = item.item
    if item.asname is not None or not isinstance(value, cst.Call) or value.args:
        return None
    f = value.func
    if not (isinstance(f, cst.Attribute) and f.attr.value == "app_context"
            and isinstance(f.value, cst.Name) and f.value.value == app):
        return None
    return stmt


def _unwrap(block: cst.With) -> list[cst.BaseStatement]:
    """The statements of a `with` block, carrying its comments (above it, and after its
    colon) onto the first of them."""
    body = block.body
    stmts: list[cst.BaseStatement]
    if isinstance(body, cst.IndentedBlock):
        stmts = list(body.body)
        header = body.header
    else:
        assert isinstance(body, cst.SimpleStatementSuite)
        stmts = [cst.SimpleStatementLine(list(body.body))]
        header = body.trailing_whitespace
    carried = list(block.leading_lines)
    if header.comment is not None:
        carried.append(cst.EmptyLine(comment=header.comment))
    first = stmts[0]
    if carried and isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        stmts[0] = first.with_changes(leading_lines=[*carried, *first.leading_lines])
    return stmts

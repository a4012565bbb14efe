"""Which Django code only reads (PS207's policy for Django transactions).

Django keeps one connection per thread for the whole request (or task), with or
without a transaction, and gives it back only when the request ends: a transaction
adds no pool slot to what the thread holds anyway. What an `atomic()` block (or a
view under `ATOMIC_REQUESTS`) holds across slow work is then its locks: the rows it
wrote and those it read `FOR UPDATE`. A transaction that has only read holds a
snapshot and no row lock.

`only_reads` answers for a whole function: every query it runs is a read, no chain
locks rows, and every project function it calls (at most `_MAX_FUNCTIONS` of them) only
reads in turn. Anything it cannot show to be a read counts as a write: a model
instance's method it cannot resolve, a related manager's `create()`, a cursor's
`execute()` of SQL that is not a plain `SELECT`, Django's `login()` (it saves
`last_login`).

`reads_before` answers for the point of one call: every query that may run before it
in the function (the statements before it, a branch that returns or raises before it
aside, and the whole body of a loop around it, whose earlier rounds come first) is a
read, and so is every query of the project functions the call itself runs. A write
after the call takes its locks after the call returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import libcst as cst

from poolsafe.analysis.cstutil import (
    body_statements,
    chain_links,
    iter_calls,
    iter_nodes,
    string_value,
    strip_await,
)
from poolsafe.analysis.django_query_shapes import instance_query, through_manager
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.read_only import SQL_LOCK_CLAUSES, reads_statement, sql_words
from poolsafe.analysis.resolution import external_name
from poolsafe.analysis.values import FunctionRef
from poolsafe.knowledge.django import (
    DJANGO_CURSOR_QUERIES,
    DJANGO_QUERYSET_QUERIES,
)

#: queryset and instance queries that only read
_READ_QUERIES = frozenset({
    "get", "count", "exists", "first", "last", "aggregate", "in_bulk", "earliest",
    "latest", "contains", "refresh_from_db",
})
#: lazy queryset methods (and related managers' reads) that run nothing or only read
_QUERYSET_READS = frozenset({
    "all", "filter", "exclude", "order_by", "values", "values_list", "select_related",
    "prefetch_related", "annotate", "distinct", "only", "defer", "using", "none",
    "reverse", "iterator", "dates", "datetimes", "union", "intersection",
    "difference", "alias",
}) | _READ_QUERIES
#: methods that write whatever their receiver: a model instance's `save()` / `delete()`
#: (also `self.save()` inside a model method), a manager's upserts, `create_user()`
_WRITE_METHODS = frozenset({
    "save", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create",
    "create_user", "create_superuser",
})
#: Python's own methods of a field's value (a string, a date, a dict): called on an
#: attribute of an instance (`event.template.name.lower()`), they run no query
_VALUE_METHODS = frozenset({
    "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "count",
    "startswith", "endswith", "format", "replace", "join", "title", "capitalize",
    "isoformat", "strftime", "encode", "decode", "keys", "items",
})
#: Django's other manager and queryset methods that run nothing or only read
_MANAGER_READS = frozenset({"get_queryset", "raw", "explain", "get_by_natural_key"})
#: a method anywhere in a chain that locks the rows it reads
_LOCKS = frozenset({"select_for_update"})
#: SQL text that locks what it reads
_SQL_LOCK_WORDS = (*SQL_LOCK_CLAUSES, "lock table")
#: library functions that write through the thread's connection
_WRITING_FUNCTIONS = frozenset({
    "django.contrib.auth.login", "django.contrib.auth.logout",
    "django.contrib.auth.update_session_auth_hash", "django.core.management.call_command",
})
#: Django's own methods of a user model that only format what it holds; a project
#: that defines a method of the same name is judged by its own definitions
DJANGO_USER_FORMATTING_METHODS = frozenset({
    "get_full_name", "get_short_name", "get_username", "natural_key",
})
#: how many project definitions of one method name `_model_method_reads` reads at most
_MAX_METHOD_DEFINITIONS = 8
#: builtins a formatting method may call: they convert or measure a value
_FORMATTING_BUILTINS = frozenset({
    "str", "int", "float", "bool", "len", "round", "format", "min", "max", "sorted",
})
#: the index's memo (`ProjectIndex.derived`): method name -> whether it only formats
_FORMATTING_METHODS = "django_read_only.formatting_methods"
#: how many project functions one answer reads at most (past that, a call counts as
#: a write)
_MAX_FUNCTIONS = 40

#: what a call calls (`index.evaluate`, or a project manager's method)
Callee = Callable[[cst.Call, FunctionInfo], object]


def only_reads(index: ProjectIndex, func: FunctionInfo, callee: Callee,
               memo: dict[int, bool] | None = None) -> bool:
    """Every database call `func` makes (and the project functions it calls make) on
    Django's connection only reads."""
    memo = {} if memo is None else memo
    key = id(func.node)
    if key in memo:
        return memo[key]
    memo[key] = True  # a recursive call adds nothing the walk does not see
    memo[key] = found = _reads(index, func, callee, memo)
    return found


def locks_rows(index: ProjectIndex, func: FunctionInfo, callee: Callee,
               memo: set[int] | None = None) -> bool:
    """Some query `func` runs (or a project function it calls runs, at any depth)
    locks the rows it reads for other processes to wait on: `select_for_update()`
    anywhere in a chain, or a cursor's SQL text that says `FOR UPDATE` / `FOR SHARE`
    / `LOCK TABLE`. Past `_MAX_FUNCTIONS` functions it answers yes."""
    memo = set() if memo is None else memo
    if id(func.node) in memo:
        return False
    memo.add(id(func.node))
    for call in iter_calls(func.node):
        if _locks(call):
            return True
        target = callee(call, func)
        if isinstance(target, FunctionRef) and id(target.func.node) not in memo and (
                len(memo) >= _MAX_FUNCTIONS or locks_rows(index, target.func, callee, memo)):
            return True
    return False


def _locks(call: cst.Call) -> bool:
    f = call.func
    if not isinstance(f, cst.Attribute):
        return False
    if f.attr.value in _LOCKS or any(isinstance(link, cst.Attribute)
                                     and link.attr.value in _LOCKS
                                     for link in chain_links(f.value)):
        return True
    if f.attr.value in DJANGO_CURSOR_QUERIES and call.args:
        sql = string_value(call.args[0].value)
        text = sql_words(sql) if sql is not None else ""
        return any(w in text for w in _SQL_LOCK_WORDS)
    return False


def reads_before(index: ProjectIndex, func: FunctionInfo, calls: Sequence[cst.Call],
                 callee: Callee) -> bool:
    """Every database call that may run in `func` before any of `calls` (and in the
    project functions those calls and the calls before them run) only reads: when
    each of `calls` runs, the transaction has taken no row lock yet."""
    nodes: list[cst.CSTNode] = []
    for call in calls:
        before = _before(body_statements(func.node.body), call)
        if before is None:
            return False  # not found in the body: no answer
        nodes.extend(before)
        nodes.append(call)
    memo: dict[int, bool] = {}
    found: list[cst.Call] = []
    seen: set[int] = set()
    for node in nodes:
        for c in iter_calls(node):
            if id(c) not in seen:
                seen.add(id(c))
                found.append(c)
    return _calls_read(index, func, found, callee, memo)


def _before(body: Sequence[cst.BaseStatement], target: cst.CSTNode,
            ) -> list[cst.CSTNode] | None:
    """The nodes of `body` that may run before `target` (None when `target` is not in
    `body`): the statements before the one holding it, less the branches of an `if`
    that end in `return` or `raise`; inside a loop that holds it, the whole loop."""
    out: list[cst.CSTNode] = []
    for stmt in body:
        if _holds(stmt, target):
            return out + _inside(stmt, target)
        out.extend(_falls_through(stmt))
    return None


def _holds(node: cst.CSTNode, target: cst.CSTNode) -> bool:
    return any(n is target for n in iter_nodes(node))


def _falls_through(stmt: cst.BaseStatement) -> list[cst.CSTNode]:
    """What of `stmt` (not holding the target) may run before code after it: an `if`
    keeps its test and the branches that do not end in `return` / `raise`."""
    if not isinstance(stmt, cst.If):
        return [stmt]
    out: list[cst.CSTNode] = [stmt.test]
    if not _exits(stmt.body):
        out.append(stmt.body)
    if isinstance(stmt.orelse, cst.If):
        out.extend(_falls_through(stmt.orelse))
    elif isinstance(stmt.orelse, cst.Else) and not _exits(stmt.orelse.body):
        out.append(stmt.orelse.body)
    return out


def _exits(body: cst.BaseSuite) -> bool:
    stmts = body_statements(body)
    if not stmts or not isinstance(stmts[-1], cst.SimpleStatementLine):
        return False
    last = stmts[-1].body
    return bool(last) and isinstance(last[-1], (cst.Return, cst.Raise))


def _inside(stmt: cst.BaseStatement, target: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes of `stmt`, which holds `target`, that may run before it."""
    if isinstance(stmt, cst.If):
        if _holds(stmt.test, target):
            return [stmt.test]
        branch = _before(body_statements(stmt.body), target)
        if branch is not None:
            return [stmt.test, *branch]
        if isinstance(stmt.orelse, cst.If):
            return [stmt.test, *_inside(stmt.orelse, target)]
        if isinstance(stmt.orelse, cst.Else):
            inner = _before(body_statements(stmt.orelse.body), target)
            return [stmt.test, *(inner if inner is not None else [stmt])]
        return [stmt]
    if isinstance(stmt, (cst.For, cst.While)):
        return [stmt]  # a later round runs after the earlier rounds' whole body
    if isinstance(stmt, cst.With):
        inner = _before(body_statements(stmt.body), target)
        return [*stmt.items, *inner] if inner is not None else [stmt]
    if isinstance(stmt, cst.Try):
        inner = _before(body_statements(stmt.body), target)
        if inner is not None:
            return inner
        out: list[cst.CSTNode] = [stmt.body]
        for handler in stmt.handlers:
            inner = _before(body_statements(handler.body), target)
            if inner is not None:
                return [*out, *inner]
        out.extend(stmt.handlers)
        if stmt.orelse is not None:
            inner = _before(body_statements(stmt.orelse.body), target)
            if inner is not None:
                return [*out, *inner]
            out.append(stmt.orelse)
        if stmt.finalbody is not None:
            inner = _before(body_statements(stmt.finalbody.body), target)
            if inner is not None:
                return [*out, *inner]
        return [stmt]
    return [stmt]  # a simple statement, or a shape not followed: all of it


def _reads(index: ProjectIndex, func: FunctionInfo, callee: Callee,
           memo: dict[int, bool]) -> bool:
    return _calls_read(index, func, list(iter_calls(func.node)), callee, memo)


def _calls_read(index: ProjectIndex, func: FunctionInfo, calls: Sequence[cst.Call],
                callee: Callee, memo: dict[int, bool]) -> bool:
    # an object a project function handed back (`State.from_token(...)`, a
    # classmethod's lookup) may be a model instance: its methods nothing resolves may
    # save, as a queried instance's may
    made = {name for name, values in func.locals.items()
            if any(isinstance(v, cst.Call) and isinstance(callee(v, func), FunctionRef)
                   for v in values)}
    instances = _query_results(func) | made
    chained = _queryset_receivers(calls)
    for call in calls:
        verdict = _call_reads(call, instances)
        if verdict is False:
            return False
        if verdict is True:
            continue
        target = callee(call, func)
        if isinstance(target, FunctionRef):
            known = memo.get(id(target.func.node))  # done, or on the way (recursion)
            if known is not None:
                if not known:
                    return False
                continue
            if len(memo) >= _MAX_FUNCTIONS or not only_reads(
                    index, target.func, callee, memo):
                return False
            continue
        if _unknown_manager_method(call) and id(call) not in chained:
            return False  # `Group.objects.follow(...)`: a project manager method may write
        if _on_instance(call, instances):
            if _value_method(call):
                continue  # `event.template.name.lower()`: a field value's own method
            if _model_method_reads(index, call):
                continue  # `area.owner.get_full_name()`: every such method only formats
            return False  # a model's method nothing resolves: it may save
        qual = external_name(index, call.func, func.module, func)
        if qual is not None and qual in _WRITING_FUNCTIONS:
            return False
    return True


def _model_method_reads(index: ProjectIndex, call: cst.Call) -> bool:
    """`area.owner.get_full_name()`, a method nothing resolves on a looked-up instance
    (or a related one): a read when every method of that name the project's classes
    define only formats (`_formats_only`), or, when the project defines none, when it
    is one of Django's own methods that only format a user (`get_full_name()`)."""
    f = call.func
    if not isinstance(f, cst.Attribute) or f.attr.value.startswith("__"):
        return False
    method = f.attr.value
    memo: dict[str, bool] = index.derived(_FORMATTING_METHODS, dict)
    if method not in memo:
        memo[method] = _project_method_formats(index, method)
    return memo[method]


def _project_method_formats(index: ProjectIndex, method: str) -> bool:
    pattern = re.compile(rb"\bdef\s+" + re.escape(method.encode()) + rb"\s*\(")
    with index.full_resolution():  # a models module may hold no database word
        found = index.files_matching(pattern)
    defs: list[cst.FunctionDef] = []
    for _path, source in found:
        try:
            tree = cst.parse_module(source)
        except cst.ParserSyntaxError:
            return False
        for node in iter_nodes(tree, into_functions=True):
            if isinstance(node, cst.ClassDef):
                defs.extend(d for d in body_statements(node.body)
                            if isinstance(d, cst.FunctionDef) and d.name.value == method)
    if not defs:
        return method in DJANGO_USER_FORMATTING_METHODS
    return len(defs) <= _MAX_METHOD_DEFINITIONS and all(_formats_only(d) for d in defs)


def _formats_only(node: cst.FunctionDef) -> bool:
    """A method whose every call is one of Python's value methods on something other
    than the instance itself (`self.first_name.strip()`, `f"...".strip()`), a builtin
    that converts or measures (`str`, `len`), or Django's choice label
    (`self.get_kind_display()`): it formats what the instance holds and writes
    nothing. Any other call (`self.save()`, `self.visits.create()`, a helper) may
    write."""
    params = node.params.params
    if node.asynchronous is not None or node.decorators or not params:
        return False
    me = params[0].name.value
    for c in iter_calls(node.body):
        f = c.func
        if isinstance(f, cst.Name) and f.value in _FORMATTING_BUILTINS:
            continue
        if isinstance(f, cst.Attribute) and (f.attr.value in _VALUE_METHODS or _display(
                f.attr.value)) and not (isinstance(f.value, cst.Name)
                                        and f.value.value == me
                                        and not _display(f.attr.value)):
            continue
        return False
    return True


def _call_reads(call: cst.Call, instances: set[str]) -> bool | None:
    """True for a query that reads, False for one that writes or locks, None for a
    call that is no query by its shape."""
    f = call.func
    if not isinstance(f, cst.Attribute):
        return None
    method = f.attr.value
    if method in _WRITE_METHODS:
        return False
    links = list(chain_links(f.value))
    if method in _LOCKS or any(isinstance(link, cst.Attribute) and link.attr.value in _LOCKS
                               for link in links):
        return False
    if method in DJANGO_CURSOR_QUERIES:
        if method != "execute" or not call.args:
            return False
        return reads_statement(call.args[0].value, lambda _e: None)
    if (method in DJANGO_QUERYSET_QUERIES and through_manager(f.value)) \
            or instance_query(call):
        return method in _READ_QUERIES
    if _on_instance(call, instances):
        # a related manager (`order.items.create()`) or the instance itself
        return True if method in _QUERYSET_READS or _display(method) else None
    return None


def _queryset_receivers(calls: Sequence[cst.Call]) -> set[int]:
    """The calls whose result a queryset method is called on, in the same chain
    (`Order.objects.visible_to(user).select_related("shop").get(pk=pk)`: `visible_to`
    builds a queryset, a filter of the project's own)."""
    out: set[int] = set()
    for c in calls:
        f = c.func
        if not (isinstance(f, cst.Attribute) and (f.attr.value in _QUERYSET_READS
                                                  or f.attr.value in DJANGO_QUERYSET_QUERIES)):
            continue
        node: cst.BaseExpression = f.value
        while isinstance(node, (cst.Call, cst.Attribute)):
            if isinstance(node, cst.Call):
                out.add(id(node))
                node = node.func
            else:
                node = node.value
    return out


def _unknown_manager_method(call: cst.Call) -> bool:
    """`FollowUpGroup.objects.follow_beneficiary(...)`: a method called through a model's
    manager that is none of Django's queryset methods, and that the callee did not
    resolve (a manager built with `Manager.from_queryset(...)`): the project's own,
    which may write (`get_or_create()` inside). (The caller spares one whose result a
    queryset method is then called on: a filter of the project's.)"""
    f = call.func
    if not isinstance(f, cst.Attribute) or not through_manager(f.value):
        return False
    method = f.attr.value
    return method not in DJANGO_QUERYSET_QUERIES and method not in _QUERYSET_READS \
        and method not in _MANAGER_READS and not method.startswith("_")


def _value_method(call: cst.Call) -> bool:
    """`instance.field.lower()`: one of Python's value methods called on an attribute
    of an instance (not on the instance itself, whose class may define the name)."""
    f = call.func
    return (isinstance(f, cst.Attribute) and f.attr.value in _VALUE_METHODS
            and isinstance(f.value, cst.Attribute))


def _display(method: str) -> bool:
    """`get_status_display()`: Django's label of a choice field, read from memory."""
    return method.startswith("get_") and method.endswith("_display")


def _on_instance(call: cst.Call, instances: set[str]) -> bool:
    """`call` is a method of a model instance the function got from a query (or of
    one of its related managers)."""
    f = call.func
    if not isinstance(f, cst.Attribute):
        return False
    root: cst.BaseExpression = f.value
    while isinstance(root, cst.Attribute):
        root = root.value
    return isinstance(root, cst.Name) and root.value in instances


def _query_results(func: FunctionInfo) -> set[str]:
    """The names the function binds to model instances it got from a query:
    `Order.objects.get(...)` (any manager chain), `self.get_object()`,
    `get_object_or_404(...)`, and the target of a `for` over a manager chain."""
    out: set[str] = set()
    for name, values in func.locals.items():
        if any(isinstance(v, cst.BaseExpression) and _from_query(v) for v in values):
            out.add(name)
    for node in iter_nodes(func.node):
        if isinstance(node, (cst.For, cst.CompFor)) and _from_query(node.iter):
            out.update(n.value for n in iter_nodes(node.target) if isinstance(n, cst.Name))
    return out


def _from_query(expr: cst.BaseExpression) -> bool:
    expr = strip_await(expr)[0]
    if isinstance(expr, cst.Call):
        f = expr.func
        if isinstance(f, cst.Name) and f.value in _LOOKUPS:
            return True
        if isinstance(f, cst.Attribute) and f.attr.value in _LOOKUPS:
            return True
        expr = f
    return through_manager(expr)


#: Django's lookups that return model instances
_LOOKUPS = frozenset({"get_object", "get_object_or_404", "get_list_or_404"})

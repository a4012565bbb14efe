"""Whether an engine a function builds only provisions the database (PS202).

A set-up helper builds a throwaway engine (often on the server's maintenance database)
to create or drop a database, a role, a schema or tables, to grant rights, or to run
`metadata.create_all(engine)`: work done once when a deployment or a test suite is set
up, never per request. `provisions_only` reads the function's own code: every use of
the engine's name is a checkout (`connect()`, `begin()`), `dispose()`, or an argument
of `create_all` / `drop_all`; every statement run on it or on a connection it gave is a
provisioning statement (or `commit`, or a catalog check such as `SELECT 1 FROM
pg_database ...`), written as a string (a literal, an f-string, a literal's `.format()`
or `%`, `text()` of one, or a local name bound once to one); and at least one
provisioning act is there. Anything else (a query, an insert, a temporary table, the
engine or a connection handed to another function, returned or stored) says no.
"""

from __future__ import annotations

import re

import libcst as cst

from poolsafe.analysis.cstutil import call_name, iter_nodes, strip_await
from poolsafe.analysis.module import FunctionInfo

#: statements that provision: databases, roles, schemas, tables and the like
_PROVISIONS = re.compile(
    r"^(?:(?:CREATE|DROP|ALTER)\s+(?:DATABASE|USER|ROLE|SCHEMA|EXTENSION|TABLE|"
    r"(?:UNIQUE\s+)?INDEX|SEQUENCE|VIEW|TYPE)\b|(?:GRANT|REVOKE)\b)")
#: statements that only end the driver's implicit transaction (before CREATE DATABASE)
_ENDS_TRANSACTION = re.compile(r"^(?:COMMIT|END)\s*;?\s*$")
#: catalog checks before a CREATE (`SELECT 1 FROM pg_database WHERE datname = ...`)
_CATALOG_CHECK = re.compile(
    r"^SELECT\b.*\bFROM\s+(?:PG_DATABASE|PG_ROLES|PG_USER|PG_NAMESPACE|PG_CATALOG\.\w+|"
    r"INFORMATION_SCHEMA\.\w+|SYS\.DATABASES|MYSQL\.USER)\b", re.DOTALL)
#: an engine's methods that give a connection
_CHECKOUTS = frozenset({"connect", "begin"})
#: methods that run a statement
_RUNS = frozenset({"execute", "exec_driver_sql"})
#: a connection's (or engine's) methods that do no work of their own
_QUIET = frozenset({"commit", "close", "rollback", "dispose", "execution_options"})
#: functions that provision from an engine argument (`metadata.create_all(engine)`)
_SCHEMA_CALLS = frozenset({"create_all", "drop_all"})


def provisions_only(func: FunctionInfo, call: cst.Call) -> bool:
    """The engine `call` builds (bound to one name in `func`) only provisions."""
    engine = _bound_name(func, call)
    if engine is None:
        return False
    names = {engine}
    body = func.node.body
    for node in iter_nodes(body):
        checkout = _checkout_bound(node, engine)
        if checkout is not None:
            names.add(checkout)
    provisions = False
    for node in iter_nodes(body):
        if not isinstance(node, cst.Name) or node.value not in names:
            continue
        use = _use_of(func, node, names)
        if use is None:
            return False
        provisions = provisions or use
    return provisions


def _bound_name(func: FunctionInfo, call: cst.Call) -> str | None:
    """`engine` of `engine = create_engine(...)`, the only binding of that name."""
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and strip_await(node.value)[0] is call \
                and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            name = node.targets[0].target.value
            return name if len(func.locals.get(name, [])) == 1 else None
    return None


def _checkout_bound(node: cst.CSTNode, engine: str) -> str | None:
    """`conn` of `conn = engine.connect()` or `with engine.begin() as conn:`."""
    pairs: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        pairs.append((node.targets[0].target, node.value))
    elif isinstance(node, cst.With):
        pairs.extend((item.asname.name, item.item) for item in node.items
                     if item.asname is not None)
    for target, value in pairs:
        value = strip_await(value)[0]
        if isinstance(target, cst.Name) and isinstance(value, cst.Call) \
                and isinstance(value.func, cst.Attribute) \
                and isinstance(value.func.value, cst.Name) \
                and value.func.value.value == engine and value.func.attr.value in _CHECKOUTS:
            return target.value
    return None


def _use_of(func: FunctionInfo, name: cst.Name, names: set[str]) -> bool | None:
    """What a use of the engine or a connection does: True a provisioning act, False
    nothing (a checkout, a commit, a close, its own binding), None anything else."""
    parents = _parents(func)
    parent = parents.get(id(name))
    if isinstance(parent, cst.AssignTarget) or (
            isinstance(parent, cst.AsName) and parent.name is name):
        return False  # its binding
    if isinstance(parent, cst.Attribute) and parent.value is name:
        call = parents.get(id(parent))
        if not (isinstance(call, cst.Call) and call.func is parent):
            return None
        method = parent.attr.value
        if method in _CHECKOUTS or method in _QUIET:
            return False
        if method in _RUNS and call.args:
            return _statement(func, call.args[0].value)
        return None
    if isinstance(parent, cst.Arg) and parent.value is name:
        call = parents.get(id(parent))
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
                and call.func.attr.value in _SCHEMA_CALLS:
            return True
    if isinstance(parent, cst.WithItem) and parent.item is name:
        return False  # `with conn:`
    return None


def _statement(func: FunctionInfo, expr: cst.BaseExpression) -> bool | None:
    """True for a provisioning statement, False for `commit` or a catalog check, None
    for anything else or a statement not written as a string here."""
    text = _leading_text(func, expr)
    if text is None:
        return None
    sql = " ".join(text.split()).upper()
    if _PROVISIONS.match(sql):
        return True
    if _ENDS_TRANSACTION.match(sql) or _CATALOG_CHECK.match(sql):
        return False
    return None


def _leading_text(func: FunctionInfo, expr: cst.BaseExpression, depth: int = 2) -> str | None:
    """The literal text a statement begins with."""
    if isinstance(expr, cst.Call):
        name = call_name(expr) or ""
        if name.rsplit(".", 1)[-1] == "text" and expr.args:
            return _leading_text(func, expr.args[0].value, depth)
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "format":
            return _leading_text(func, expr.func.value, depth)
        return None
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
        return _leading_text(func, expr.left, depth)
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.ConcatenatedString):
        return _leading_text(func, expr.left, depth)
    if isinstance(expr, cst.FormattedString):
        return "".join(p.value if isinstance(p, cst.FormattedStringText) else " x "
                       for p in expr.parts)
    if isinstance(expr, cst.Name) and depth > 0:
        bound = func.locals.get(expr.value, [])
        if len(bound) == 1 and isinstance(bound[0], cst.BaseExpression):
            return _leading_text(func, bound[0], depth - 1)
    return None


_PARENTS: dict[int, tuple[cst.CSTNode, dict[int, cst.CSTNode]]] = {}


def _parents(func: FunctionInfo) -> dict[int, cst.CSTNode]:
    key = id(func.node)
    held = _PARENTS.get(key)
    if held is not None and held[0] is func.node:
        return held[1]
    parents: dict[int, cst.CSTNode] = {}
    for node in iter_nodes(func.node, into_functions=True):
        for child in node.children:
            parents[id(child)] = node
    if len(_PARENTS) > 64:
        _PARENTS.clear()
    _PARENTS[key] = (func.node, parents)
    return parents

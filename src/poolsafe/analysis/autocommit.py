"""Which names a function body puts in autocommit, read from the syntax alone:
`conn.autocommit = True`, `conn.set_session(autocommit=True)`,
`conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)` (or `0`), psycopg 3's
`conn.set_autocommit(True)` (`await conn.set_autocommit(True)` on an async
connection), pymysql's (and MySQLdb's) method `conn.autocommit(True)`, and
`conn.execution_options(isolation_level="AUTOCOMMIT")`.

Shared by the index (an acquire wrapper that returns such a connection hands out
an autocommit connection) and by the per-function resources."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import (
    dotted_name,
    is_true,
    iter_nodes,
    keyword_arg,
    string_value,
    subscript_key,
)


def autocommit_targets(body: cst.CSTNode) -> set[str]:
    """The dotted names `body` switches to autocommit."""
    out: set[str] = set()
    wanted = (cst.Assign, cst.Call)
    for node in iter_nodes(body):
        if type(node) not in wanted:
            continue
        if isinstance(node, cst.Assign):
            for t in node.targets:
                tgt = t.target
                if (isinstance(tgt, cst.Attribute) and tgt.attr.value == "autocommit"
                        and isinstance(node.value, cst.Name) and node.value.value == "True"):
                    base = dotted_name(tgt.value)
                    if base:
                        out.add(base)
        elif isinstance(node, cst.Call):
            if _sets_autocommit_level(node) or _sets_autocommit(node):
                owner = owner_of_call(node)
                if owner:
                    out.add(owner)
                continue
            ac = keyword_arg(node, "autocommit")
            iso = keyword_arg(node, "isolation_level")
            if (isinstance(ac, cst.Name) and ac.value == "True") or (
                    iso is not None and string_value(iso) == "AUTOCOMMIT"):
                owner = owner_of_call(node)
                if owner:
                    out.add(owner)
    return out


def owner_of_call(call: cst.Call) -> str | None:
    """`conn` for `conn.set_session(...)`."""
    f = call.func
    if isinstance(f, cst.Attribute):
        return dotted_name(f.value)
    return None


def _sets_autocommit(call: cst.Call) -> bool:
    """psycopg 3's `conn.set_autocommit(True)`, pymysql's `conn.autocommit(True)`."""
    func = call.func
    if not (isinstance(func, cst.Attribute)
            and func.attr.value in ("set_autocommit", "autocommit")):
        return False
    args = [a.value for a in call.args if a.keyword is None]
    value = args[0] if args else keyword_arg(call, "value")
    return isinstance(value, cst.Name) and value.value == "True"


def _sets_autocommit_level(call: cst.Call) -> bool:
    """psycopg2's `conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)` (or `0`)."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "set_isolation_level"):
        return False
    args = [a.value for a in call.args if a.keyword is None]
    if not args:
        return False
    level = args[0]
    if isinstance(level, cst.Integer):
        return level.value == "0"
    name = dotted_name(level)
    return name is not None and name.rsplit(".", 1)[-1] == "ISOLATION_LEVEL_AUTOCOMMIT"


def _dict_has_autocommit(node: cst.BaseExpression) -> bool:
    """`{"autocommit": True, ...}` (a dict literal)."""
    return isinstance(node, cst.Dict) and any(
        isinstance(el, cst.DictElement) and string_value(el.key) == "autocommit"
        and is_true(el.value) for el in node.elements)


def autocommit_dicts(body: cst.CSTNode) -> set[str]:
    """Names of dicts `body` sets `"autocommit": True` in (`args["autocommit"] = True`,
    `args = {"autocommit": True, ...}`, `args = dict(autocommit=True, ...)`,
    `args.update(autocommit=True)`)."""
    out: set[str] = set()
    for node in iter_nodes(body):
        if isinstance(node, cst.Assign) and is_true(node.value):
            for t in node.targets:
                tgt = t.target
                if isinstance(tgt, cst.Subscript) and isinstance(tgt.value, cst.Name) \
                        and subscript_key(tgt) == "autocommit":
                    out.add(tgt.value.value)
        elif isinstance(node, cst.Assign) and (
                _dict_has_autocommit(node.value)
                or (isinstance(node.value, cst.Call) and isinstance(node.value.func, cst.Name)
                    and node.value.func.value == "dict"
                    and is_true(keyword_arg(node.value, "autocommit")))):
            out.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "update" \
                and isinstance(node.func.value, cst.Name) \
                and is_true(keyword_arg(node, "autocommit")):
            out.add(node.func.value.value)
    return out


def opens_in_autocommit(call: cst.Call, dicts: set[str] | frozenset[str] = frozenset()) -> bool:
    """A call that passes autocommit on: `connect(dsn, autocommit=True)`,
    `connect(**{"autocommit": True, ...})`, or `connect(**args)` with `args` one of
    `dicts` (`autocommit_dicts` of the same function)."""
    if is_true(keyword_arg(call, "autocommit")):
        return True
    for a in call.args:
        if a.star != "**":
            continue
        if _dict_has_autocommit(a.value) or (
                isinstance(a.value, cst.Name) and a.value.value in dicts):
            return True
    return False


def stored_in_autocommit(body: cst.CSTNode) -> set[str]:
    """The attributes `body` stores a connection in autocommit in: acquired so
    (`self.conn = await AsyncConnection.connect(dsn, autocommit=True)`), or a local
    that is (`conn = pymysql.connect(..., autocommit=True)`, or `conn.autocommit(True)`
    / `conn.autocommit = True` on it) stored afterwards (`self.connection = conn`).
    A local also bound to a connection opened without it is left out."""
    dicts = autocommit_dicts(body)
    switched = {t for t in autocommit_targets(body) if "." not in t}
    opened: set[str] = set()
    plain: set[str] = set()
    stores: list[tuple[str, str]] = []
    out: set[str] = set()
    for node in iter_nodes(body):
        if not isinstance(node, cst.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0].target
        value = node.value.expression if isinstance(node.value, cst.Await) else node.value
        name = dotted_name(target)
        if name is None:
            continue
        if isinstance(value, cst.Call):
            if isinstance(target, cst.Attribute):
                if opens_in_autocommit(value, dicts):
                    out.add(name)
            elif isinstance(target, cst.Name):
                (opened if opens_in_autocommit(value, dicts) else plain).add(name)
        elif isinstance(target, cst.Attribute) and isinstance(value, cst.Name):
            stores.append((name, value.value))
    local = switched | (opened - plain)
    out.update(attr for attr, source in stores if source in local)
    return out

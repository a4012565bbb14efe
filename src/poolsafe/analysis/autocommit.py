"""Which names a function body puts in autocommit, read from the syntax alone:
`conn.autocommit = True`, `conn.set_session(autocommit=True)`,
`conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)` (or `0`), psycopg 3's
`conn.set_autocommit(True)` (`await conn.set_autocommit(True)` on an async
connection), and `conn.execution_options(isolation_level="AUTOCOMMIT")`.

Shared by the index (an acquire wrapper that returns such a connection hands out
an autocommit connection) and by the per-function resources."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_nodes, keyword_arg, string_value


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
    """psycopg 3's `conn.set_autocommit(True)`."""
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "set_autocommit"):
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

"""Calls on a function's own list that cannot raise.

A handler often opens its connection and then builds its query before the `try`:

    conn = db.connect()
    conditions, params = [], []
    if title:
        conditions.append("title LIKE %s")
        params.append(f"%{title}%")
    query += " AND ".join(conditions)
    try:
        ...
    finally:
        conn.close()

`list.append` cannot raise, and `"sep".join(parts)` raises only when an element is
not a string. This module answers, for one call, whether it is such a call on a list
the function itself made:
- `name.append(x)` where every binding of `name` in the function is a list display
  (`name = []`, `name = ["a"]`) and `name` is no parameter, global or nonlocal;
- `"sep".join(name)` on such a list whose every element is a string: the list
  displays hold only string literals or f-strings, every `append` on it adds one,
  and the list is handed to no other call (which could add anything) and has no
  other method called on it.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.module import FunctionInfo

_STRINGS = (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)
#: calls a list may be handed to without anything being added to it
_READING_FUNCTIONS = frozenset({"len", "bool", "tuple", "list", "sorted"})


def _own_list(func: FunctionInfo, name: str) -> bool:
    """Every binding of `name` in `func` is a list display."""
    if name in func.globals_declared:
        return False
    values = func.locals.get(name, [])
    return bool(values) and all(isinstance(v, cst.List) for v in values)


def _string_elements(values: list[object]) -> bool:
    return all(isinstance(v, cst.List) and all(
        isinstance(el, cst.Element) and isinstance(el.value, _STRINGS) for el in v.elements)
        for v in values)


def _appends_string(call: cst.Call) -> bool:
    f = call.func
    return isinstance(f, cst.Attribute) and f.attr.value == "append" \
        and len(call.args) == 1 and isinstance(call.args[0].value, _STRINGS)


def _holds_only_strings(func: FunctionInfo, name: str) -> bool:
    """The list `name` only ever holds strings: its displays, its appends, and no
    other call touches it."""
    if not _own_list(func, name) or not _string_elements(list(func.locals[name])):
        return False
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.Call):
            continue
        f = node.func
        on_list = isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) \
            and f.value.value == name
        if on_list and not _appends_string(node):
            return False
        for arg in node.args:
            if isinstance(arg.value, cst.Name) and arg.value.value == name:
                joined = isinstance(f, cst.Attribute) and f.attr.value == "join"
                read = isinstance(f, cst.Name) and f.value in _READING_FUNCTIONS
                if arg.star or not (joined or read):
                    return False
    return True


def cannot_raise_on_own_list(func: FunctionInfo, call: cst.Call) -> bool:
    """`call` is `name.append(x)` on a list `func` made itself, or `"sep".join(name)`
    on such a list that holds only strings."""
    f = call.func
    if not isinstance(f, cst.Attribute) or len(call.args) != 1 or call.args[0].star \
            or call.args[0].keyword is not None:
        return False
    if f.attr.value == "append" and isinstance(f.value, cst.Name):
        return f.value.value not in func.all_param_names() and _own_list(func, f.value.value)
    if f.attr.value == "join" and isinstance(f.value, _STRINGS):
        arg = call.args[0].value
        return isinstance(arg, cst.Name) and arg.value not in func.all_param_names() \
            and _holds_only_strings(func, arg.value)
    return False


"""A function that parses the process's command line: a program's entry.

    def main():
        parser = argparse.ArgumentParser()
        ...
        args = parser.parse_args()          # reads sys.argv

A program parses `sys.argv` once, in its entry (`main()`, a CLI class's `run()`), so
such a function runs once per process (`project_facts.is_cli_entry`, for PS202 /
PS203 / PS211's one-shot code). What counts, in the function's own body, outside
loops:

- `X.parse_args()` (or `parse_known_args()`, the intermixed forms) with no argument
  list or with `sys.argv[1:]` (`parse_args(sys.argv[1:])`, `args=sys.argv[1:]`), where
  `X` is an argparse parser: bound (in the function, at the module's top level, or as
  `self.X` in the class's methods) only to `ArgumentParser(...)`, a project subclass of
  it, or a project function that builds one (`parser = build_parser()`); an `X` the
  analysis cannot trace (a parameter) counts when the module imports argparse. An
  object bound to something else (a chat bot's own `CommandParser(text)` with a
  `parse_args()` of its own) does not, whatever the module imports;
- `getopt.getopt(sys.argv[1:], ...)` (or `gnu_getopt`);
- `docopt(__doc__)` with no `argv`.
Given another argument list (`parser.parse_args(words)`: a bot parsing each message)
it says nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from poolsafe.analysis.cstutil import argument_for, dotted_name, iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.resolution import external_name
from poolsafe.analysis.values import ClassRef, FunctionRef

#: argparse parser methods that read the process's command line (`sys.argv`) when
#: given no argument list
ARGV_PARSES = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args",
                         "parse_known_intermixed_args"})


def parses_process_argv(index: ProjectIndex, func: FunctionInfo,
                        in_loop: Callable[[cst.Call], bool]) -> bool:
    """`func`'s own body parses the process's command line outside loops."""
    return any(_parses_argv(index, func, call) and not in_loop(call)
               for call in func.direct_calls)


def _parses_argv(index: ProjectIndex, func: FunctionInfo, call: cst.Call) -> bool:
    f = call.func
    if isinstance(f, cst.Attribute) and f.attr.value in ARGV_PARSES:
        passed = argument_for(call, "args", 0)
        if call.args and not (passed is not None and _is_argv(index, func, passed)
                              and len(call.args) == 1):
            return False
        return _argument_parser(index, func, f.value)
    name = external_name(index, f, func.module, func) or ""
    if name in ("getopt.getopt", "getopt.gnu_getopt"):
        passed = argument_for(call, "args", 0)
        return passed is not None and _is_argv(index, func, passed)
    if name == "docopt.docopt":
        return argument_for(call, "argv", 1) is None
    return False


def _is_argv(index: ProjectIndex, func: FunctionInfo, expr: cst.BaseExpression) -> bool:
    """`sys.argv[1:]` (or `sys.argv` itself)."""
    if isinstance(expr, cst.Subscript):
        expr = expr.value
    return (external_name(index, expr, func.module, func) or dotted_name(expr)) == "sys.argv"


def _argument_parser(index: ProjectIndex, func: FunctionInfo,
                     receiver: cst.BaseExpression) -> bool:
    values: list[tuple[object, FunctionInfo]] = []
    if isinstance(receiver, cst.Name):
        name = receiver.value
        if name not in func.all_param_names():  # a parameter: not traced
            values = [(v, func) for v in func.locals.get(name, ())] or (
                [] if func.binds(name)
                else [(v, func) for v in func.module.assigns.get(name, ())])
    elif isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name) \
            and receiver.value.value == "self" and func.cls is not None:
        attr = receiver.attr.value
        values = list(zip(func.cls.attributes.get(attr, ()),
                          func.cls.attribute_scopes.get(attr, ()), strict=False))
    elif isinstance(receiver, cst.Call):
        values = [(receiver, func)]
    if not values:
        return any(q == "argparse" or q.startswith("argparse.")
                   for q in func.module.imports.values())
    for value, scope in values:
        if isinstance(value, cst.Name) and value.value not in scope.all_param_names():
            # `self._argparser = parser`, `parser` built in that method
            inner = scope.locals.get(value.value, [])
            if not inner or not all(isinstance(v, cst.Call) and _builds_parser(index, scope, v)
                                    for v in inner):
                return False
        elif not (isinstance(value, cst.Call) and _builds_parser(index, scope, value)):
            return False
    return True


def _builds_parser(index: ProjectIndex, func: FunctionInfo, call: cst.Call) -> bool:
    """`ArgumentParser(...)`, a project subclass of it, or a project function whose
    body makes one."""
    # a module that only builds the parser has no database code: the prefilter does
    # not select it, and it is still read
    with index.full_resolution():
        if _names_parser(external_name(index, call.func, func.module, func)):
            return True
        ref = index.evaluate(call.func, func.module, func)
    if isinstance(ref, ClassRef):
        with index.full_resolution():
            return any(_names_parser(external_name(index, b.value, ref.cls.module, None))
                       for b in ref.cls.node.bases)
    if isinstance(ref, FunctionRef):
        with index.full_resolution():
            return any(isinstance(n, cst.Call) and _names_parser(
                external_name(index, n.func, ref.func.module, ref.func))
                for n in iter_nodes(ref.func.node.body))
    return False


def _names_parser(name: str | None) -> bool:
    return name is not None and name.rsplit(".", 1)[-1] == "ArgumentParser"

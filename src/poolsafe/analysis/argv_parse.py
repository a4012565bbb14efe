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

A plain function (named in its module only by calls of it, with no decorator or only
decorators that run it once in place, see `_wraps_in_place`) also reads
the process's command line when its own body, outside loops, reads an argument of it
by position (`url = sys.argv[1]`, `sys.argv[2:]`; not `sys.argv[0]`, the program's
name, which any helper may log) or runs a click/typer command or group by hand over
it (`cli.main(obj=engine)`, `cli(standalone_mode=False)`, `app()` on a `typer.Typer()`,
with no `args` or with `args=sys.argv[1:]`; `cli.main(args=["sync"])` reads nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import libcst as cst

from poolsafe.analysis.cstutil import argument_for, children, dotted_name, iter_nodes
from poolsafe.analysis.index import EVERY_FILE, ProjectIndex, spelling
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.resolution import external_name
from poolsafe.analysis.values import ClassRef, ExternalInstance, FunctionRef

#: argparse parser methods that read the process's command line (`sys.argv`) when
#: given no argument list
ARGV_PARSES = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args",
                         "parse_known_intermixed_args"})

#: a name can resolve to `getopt.*` or `docopt.docopt` only through a file that spells
#: it (an import, a re-export): where none does, no call is resolved to find out
_ARGV_LIBRARIES = spelling(EVERY_FILE + rb"getopt|docopt", ["getopt", "docopt"])


def parses_process_argv(index: ProjectIndex, func: FunctionInfo,
                        in_loop: Callable[[cst.Call], bool],
                        is_command: Callable[[FunctionInfo], bool] | None = None) -> bool:
    """`func`'s own body parses the process's command line outside loops (also, for a
    plain function, by reading `sys.argv[1]` or running a click command over it;
    `is_command` says which project functions are click/typer commands)."""
    if any(_parses_argv(index, func, call) and not in_loop(call)
           for call in func.direct_calls):
        return True
    if not all(_wraps_in_place(index, func, d) for d in func.node.decorators):
        return False
    return (_reads_argv_item(index, func) or any(
        _runs_cli(index, func, call, is_command) and not in_loop(call)
        for call in func.direct_calls)) and _named_only_in_calls(func)


def _named_only_in_calls(func: FunctionInfo) -> bool:
    """Every mention of the function's name in its module is a call of it: it is not
    handed on (`app.add_url_rule("/", view_func=main)`, `Thread(target=main)`)."""
    name = func.name
    nodes = list(iter_nodes(func.module.tree, into_functions=True))
    # a call's callee, an attribute's name (`cli.main`), a keyword (`main=...`)
    skip = {id(func.node.name)}
    for n in nodes:
        if isinstance(n, cst.Call):
            skip.add(id(n.func))
        elif isinstance(n, cst.Attribute):
            skip.add(id(n.attr))
        elif isinstance(n, cst.Arg) and n.keyword is not None:
            skip.add(id(n.keyword))
    return all(id(n) in skip for n in nodes if isinstance(n, cst.Name) and n.value == name)


#: by exact type (libcst's node classes are final; `isinstance` against them goes
#: through `ABCMeta.__instancecheck__`)
_LOOPS = frozenset({cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp,
                    cst.GeneratorExp})
_NESTED = frozenset({cst.FunctionDef, cst.Lambda, cst.ClassDef})


def _reads_argv_item(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`sys.argv[1]` (an argument by its position, or a slice from one on) in the
    function's own body, outside loops and nested scopes. (The walk goes through
    `cstutil.children`, which leaves out whitespace and punctuation, none of them a
    subscript, a loop or a scope: libcst's `children` runs a visitor per node, most
    of this walk's time on a large function.)"""
    stack: list[tuple[cst.CSTNode, bool]] = [(func.node.body, False)]
    subscript = cst.Subscript
    while stack:
        node, looped = stack.pop()
        kind = type(node)
        if kind in _NESTED:
            continue
        if kind is subscript and not looped:
            item = cast(cst.Subscript, node)
            if _argument_index(item) and _is_argv(index, func, item.value):
                return True
        inner = looped or kind in _LOOPS
        stack.extend((child, inner) for child in children(node))
    return False


def _argument_index(node: cst.Subscript) -> bool:
    """`[1]`, `[2]`, `[1:]`: a position past the program's name."""
    if len(node.slice) != 1:
        return False
    item = node.slice[0].slice
    if isinstance(item, cst.Slice):
        lower = item.lower
        return isinstance(lower, cst.Integer) and int(lower.value) >= 1
    return isinstance(item, cst.Index) and isinstance(item.value, cst.Integer) \
        and int(item.value.value) >= 1


#: command-line libraries whose command or group objects, called (`cli()`) or run
#: (`cli.main()`), parse `sys.argv[1:]` when given no `args`
_CLI_ROOTS = ("click", "typer", "cyclopts")


def _runs_cli(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
              is_command: Callable[[FunctionInfo], bool] | None) -> bool:
    """`cli.main(...)` / `cli(...)` on a click/typer command or group, over the
    process's command line (no `args`, or `args=sys.argv[1:]`)."""
    target = call.func
    if isinstance(target, cst.Attribute) and target.attr.value == "main":
        target = target.value
    passed = argument_for(call, "args", 0)
    if passed is not None and not _is_argv(index, func, passed):
        return False
    with index.full_resolution():  # the group may live in a module with no database code
        value = index.evaluate(target, func.module, func)
    if isinstance(value, FunctionRef):
        return is_command is not None and is_command(value.func)
    return isinstance(value, ExternalInstance) and value.qualname.split(".", 1)[0] in _CLI_ROOTS


def _parses_argv(index: ProjectIndex, func: FunctionInfo, call: cst.Call) -> bool:
    f = call.func
    if isinstance(f, cst.Attribute) and f.attr.value in ARGV_PARSES:
        passed = argument_for(call, "args", 0)
        if call.args and not (passed is not None and _is_argv(index, func, passed)
                              and len(call.args) == 1):
            return False
        return _argument_parser(index, func, f.value)
    if not index.any_file_matches(_ARGV_LIBRARIES):
        return False
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


#: library decorators that call the function they wrap once, in place, where it is
#: called: logging every exception (loguru's `@logger.catch`), caching the result,
#: profiling or timing the call
WRAPS_IN_PLACE = frozenset({
    "loguru.logger.catch", "functools.lru_cache", "functools.cache",
    "memory_profiler.profile", "line_profiler.profile", "pyinstrument.profile",
    "codetiming.Timer", "logfire.instrument", "sentry_sdk.monitor",
})


def _wraps_in_place(index: ProjectIndex, func: FunctionInfo, deco: cst.Decorator) -> bool:
    """`deco` makes `func` no handler of a framework: calling the decorated function
    runs it once, then and there. A library decorator of `WRAPS_IN_PLACE`
    (`@logger.catch`, also `@logger.catch(reraise=True)`), or a project decorator of
    one parameter whose every `return` names one function nested in it (`wrapper`)
    that calls the parameter once, outside loops, and that names the parameter
    nowhere else but in `functools.wraps(f)` (a timing or logging wrapper); a project
    decorator that registers the function or hands it on is none of these."""
    expr = deco.decorator
    target = expr.func if isinstance(expr, cst.Call) else expr
    qual = external_name(index, target, func.module, func.parent)
    if qual is not None:
        return qual in WRAPS_IN_PLACE
    if isinstance(expr, cst.Call):
        return False  # a project decorator factory: not read
    value = index.evaluate(target, func.module, func.parent)
    return isinstance(value, FunctionRef) and _plain_wrapper(value.func)


def _plain_wrapper(deco: FunctionInfo) -> bool:
    params = deco.param_names()
    if deco.node.decorators or len(params) != 1 or deco.is_async:
        return False
    wrapped = params[0]
    names = {r.value.value for r in deco.returns if isinstance(r.value, cst.Name)}
    if len(names) != 1 or len(deco.returns) != 1:
        return False
    inner = [f for f in deco.module.all_functions if f.parent is deco and f.name in names]
    if len(inner) != 1:
        return False
    wrapper = inner[0]
    calls = 0
    # every mention of the parameter: the one call in the wrapper, `wraps(f)`
    allowed: set[int] = set()
    for node in iter_nodes(deco.node.body, into_functions=True):
        if not isinstance(node, cst.Call):
            continue
        callee = dotted_name(node.func)
        if callee in {"wraps", "functools.wraps"} and len(node.args) == 1 \
                and isinstance(node.args[0].value, cst.Name) \
                and node.args[0].value.value == wrapped:
            allowed.add(id(node.args[0].value))
    for node in wrapper.direct_calls:
        if isinstance(node.func, cst.Name) and node.func.value == wrapped:
            if _looped(wrapper, node):
                return False
            calls += 1
            allowed.add(id(node.func))
    if calls != 1:
        return False
    return all(id(node) in allowed for node in iter_nodes(deco.node.body, into_functions=True)
               if isinstance(node, cst.Name) and node.value == wrapped)


def _looped(func: FunctionInfo, call: cst.Call) -> bool:
    """`call` sits in a loop or a comprehension of `func`'s own body."""
    for node in iter_nodes(func.node.body):
        if isinstance(node, (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp,
                             cst.GeneratorExp)) \
                and any(n is call for n in iter_nodes(node)):
            return True
    return False

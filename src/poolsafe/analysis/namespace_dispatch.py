"""Scripts that run one of their own functions by the name given on the command line.

An old-style admin script (`cli.py`, `manage.py`) defines its commands as plain
module-level functions and ends with

    if __name__ == "__main__":
        _main(locals())

handing its own namespace to a dispatcher that looks the command up by name
(`namespace[sys.argv[1]]()`). No call site names the function, yet each command
runs once per process: one-shot code, like a function `__main__` calls directly.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.module import FunctionInfo, ModuleInfo

#: builtins whose result, called with no argument at a module's top level, is the
#: module's own namespace
NAMESPACE_BUILTINS: frozenset[str] = frozenset({"locals", "globals", "vars"})


def is_main_test(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"` (either way round)."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return False
    left, right = test.left, test.comparisons[0].comparator
    if not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    names = {left.value if isinstance(left, cst.Name) else None,
             right.value if isinstance(right, cst.Name) else None}
    strings = [x for x in (left, right) if isinstance(x, cst.SimpleString)]
    return "__name__" in names and len(strings) == 1 and strings[0].evaluated_value == "__main__"


def dispatched_by_name(func: FunctionInfo) -> bool:
    """`func` is an undecorated module-level function of a script whose `__main__`
    block hands the module's namespace (`locals()`, `globals()`, `vars()`) to a
    call, and the module names the function nowhere but in its `def` (no direct
    call, no registry, no alias). The caller checks that no other project module
    calls it."""
    if func.parent is not None or func.cls is not None or func.node.decorators:
        return False
    module = func.module
    if not _main_hands_namespace(module):
        return False
    mentions = sum(1 for node in iter_nodes(module.tree, into_functions=True)
                   if isinstance(node, cst.Name) and node.value == func.name)
    return mentions == 1  # the `def`'s own name


def _main_hands_namespace(module: ModuleInfo) -> bool:
    for st in module.tree.body:
        if not (isinstance(st, cst.If) and is_main_test(st.test)):
            continue
        for node in iter_nodes(st.body):
            if isinstance(node, cst.Call) and any(
                    _namespace_call(arg.value) for arg in node.args):
                return True
    return False


def _namespace_call(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Call) and not expr.args \
        and isinstance(expr.func, cst.Name) and expr.func.value in NAMESPACE_BUILTINS


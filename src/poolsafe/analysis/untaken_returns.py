"""Returns of a project factory that one call of it cannot reach.

`def connect(handle=None, url=None)` that returns `create_engine(url)` under `if url:`
and `sqlite3.connect(handle)` under `if isinstance(handle, str):` hands a caller that
passes only `url=` the engine or the untouched `None`, never the sqlite3 connection:
the parameter `handle` keeps its default, which fails the test guarding that return.
What the call is (a pool's checkout, an engine) is then read from the returns it can
reach.
"""

from __future__ import annotations

import weakref

import libcst as cst

from poolsafe.analysis.cstutil import argument_for, children, iter_nodes
from poolsafe.analysis.module import FunctionInfo


def may_leave_untaken(func: FunctionInfo, call: cst.Call) -> bool:
    """A cheap first test: `func` has a parameter with a falsy literal default, and
    `call` spreads no `*args` / `**kwargs`."""
    return not any(a.star for a in call.args) and any(
        p.default is not None and falsy_literal(p.default) for p in func.named_params())


def untaken_return(func: FunctionInfo, node: cst.CSTNode, call: cst.Call) -> bool:
    """`node` (a return, or the assignment a returned name gets its value from) lies in
    the body of an `if` of `func` whose test cannot hold for `call`: the test is `p`,
    `p is not None` or `isinstance(p, C)` (C a class or a tuple of classes, `object`
    aside) of a parameter `p` with a falsy literal default (`None`, `False`, `""`,
    `0`; only `None` for the other two tests) that `func` binds anew nowhere but
    inside that `if`'s body (`handle = sqlite3.connect(handle)` there), and `call`
    passes no value for it (or that same falsy literal), with no `*args` /
    `**kwargs` spread."""
    if any(a.star for a in call.args):
        return False
    defaults = {p.name.value: p.default for p in func.named_params()
                if p.default is not None and falsy_literal(p.default)}
    if not defaults:
        return False
    positional = func.param_names()
    for guard in _guarding_ifs(func, node):
        tested = _tested_param(guard.test, defaults)
        if tested is None or rebinds(func, tested, guard.body):
            continue
        passed = argument_for(call, tested,
                              positional.index(tested) if tested in positional else None)
        if passed is None or falsy_literal(passed):
            return True
    return False


#: per function, id(return or assignment in its own body) -> the `if` statements
#: whose own body (not `else`) holds it, from the outermost in (one walk per function)
_GUARDS: weakref.WeakKeyDictionary[FunctionInfo, dict[int, tuple[cst.If, ...]]] = (
    weakref.WeakKeyDictionary())


def _guarding_ifs(func: FunctionInfo, target: cst.CSTNode) -> tuple[cst.If, ...]:
    """The `if` statements of `func` whose own body (not `else`) holds `target` (a
    return or an assignment), from the outermost in; nested functions and classes are
    not entered."""
    guards = _GUARDS.get(func)
    if guards is None:
        guards = _GUARDS[func] = {}
        found = guards

        def walk(node: cst.CSTNode, path: tuple[cst.If, ...]) -> None:
            if isinstance(node, (cst.Return, cst.Assign)):
                found[id(node)] = path
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return
            if isinstance(node, cst.If):
                walk(node.body, (*path, node))
                if node.orelse is not None:
                    walk(node.orelse, path)
                return
            for child in children(node):
                walk(child, path)

        walk(func.node.body, ())
    return guards.get(id(target), ())


def _tested_param(test: cst.BaseExpression,
                  defaults: dict[str, cst.BaseExpression]) -> str | None:
    """The parameter `test` asks to be set: `p`, `p is not None`, `isinstance(p, C)`."""
    if isinstance(test, cst.Name):
        return test.value if test.value in defaults else None
    if isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) \
            and len(test.comparisons) == 1 \
            and isinstance(test.comparisons[0].operator, cst.IsNot) \
            and isinstance(test.comparisons[0].comparator, cst.Name) \
            and test.comparisons[0].comparator.value == "None":
        default = defaults.get(test.left.value)
        return test.left.value if isinstance(default, cst.Name) \
            and default.value == "None" else None
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) \
            and test.func.value == "isinstance" and len(test.args) == 2 \
            and not any(a.star or a.keyword is not None for a in test.args) \
            and isinstance(test.args[0].value, cst.Name):
        name = test.args[0].value.value
        default = defaults.get(name)
        if not (isinstance(default, cst.Name) and default.value == "None"):
            return None
        classes = test.args[1].value
        elements = [e.value for e in classes.elements] if isinstance(classes, cst.Tuple) \
            else [classes]
        if all(isinstance(e, (cst.Name, cst.Attribute)) for e in elements) and not any(
                isinstance(n, cst.Name) and n.value in ("object", "NoneType", "type")
                for e in elements for n in iter_nodes(e)):
            return name
    return None


def falsy_literal(expr: cst.BaseExpression) -> bool:
    """`None`, `False`, an empty string or `0` written as a literal."""
    if isinstance(expr, cst.Name):
        return expr.value in ("None", "False")
    if isinstance(expr, cst.SimpleString):
        return expr.value in ('""', "''")
    return isinstance(expr, cst.Integer) and expr.value == "0"


def rebinds(func: FunctionInfo, name: str, inside: cst.CSTNode | None = None) -> bool:
    """`func` (or a nested scope declaring it nonlocal) may bind `name` anew, outside
    `inside` when given (a guarded body, which runs only after its test has read it)."""
    skipped = {id(n) for n in iter_nodes(inside, into_functions=True)} \
        if inside is not None else set()
    for node in iter_nodes(func.node.body, into_functions=True):
        if id(node) in skipped:
            continue
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.For,
                               cst.CompFor)):
            targets = [node.target]
        elif isinstance(node, cst.AsName):
            targets = [node.name]
        elif isinstance(node, (cst.Nonlocal, cst.Global, cst.Del)):
            return True
        for target in targets:
            if any(isinstance(n, cst.Name) and n.value == name for n in iter_nodes(target)):
                return True
    return False

"""A lazy session used only inside the blocks of project context managers that close it.

`with read_only_transaction(session): ...` where `read_only_transaction` is a project
`@contextmanager` whose `try: ... yield ... finally: session.close()` closes its
argument: every statement that can check out a connection for the session runs inside
such a block, and the block's end closes it again. A SQLAlchemy `Session` checks out
nothing until its first statement (`ConnectionKind.lazy`), so on a path where no block
ran (a loop of no rounds) or after the last block, the session holds no connection:
there is nothing to release (PS102). A use of the session outside the blocks (a query
before or after them, a return, a store, a nested function) leaves it to the flow's
judgement.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.values import FunctionRef


def used_only_in_closing_blocks(index: ProjectIndex, module: ModuleInfo,
                                func: FunctionInfo, var: str, made: cst.Call) -> bool:
    """The local `var`, bound once in `func` to `made`, is used nowhere but inside the
    `with` statements whose item hands it to a project context manager that closes it
    in the `finally` around its `yield` (`_closes_in_finally`)."""
    if var in func.globals_declared or var in func.param_names():
        return False
    inside: set[int] = set()
    targets: list[cst.Name] = []
    blocks = 0
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and strip_await(node.value)[0] is made:
            if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
                return False
            targets.append(node.targets[0].target)
        if isinstance(node, cst.With) and any(
                _closing_item(index, module, func, item, var) for item in node.items):
            blocks += 1
            inside.update(id(n) for n in iter_nodes(node, into_functions=True))
    if len(targets) != 1 or not blocks:
        return False
    target = targets[0]
    for node in iter_nodes(func.node.body, into_functions=True):
        if isinstance(node, cst.Name) and node.value == var and node is not target \
                and id(node) not in inside:
            return False
    return True


def _closing_item(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                  item: cst.WithItem, var: str) -> bool:
    """`item` is `guard(var, ...)` (`var` positional) and `guard` closes that parameter
    in the `finally` around its `yield`."""
    call, _ = strip_await(item.item)
    if not isinstance(call, cst.Call):
        return False
    position = next((i for i, a in enumerate(call.args)
                     if a.keyword is None and not a.star and isinstance(a.value, cst.Name)
                     and a.value.value == var), None)
    if position is None or any(a.star for a in call.args[:position]):
        return False
    value = index.evaluate(call.func, module, func)
    if not (isinstance(value, FunctionRef) and index.is_contextmanager(value.func)):
        return False
    params = value.func.param_names()
    return position < len(params) and _closes_in_finally(index, value.func, params[position])


def _closes_in_finally(index: ProjectIndex, guard: FunctionInfo, param: str) -> bool:
    """The first statement of `guard`'s body that mentions `param` or yields is a `try`
    whose body holds the first `yield` and whose `finally` releases `param` in a
    statement of its own (`finally: session.close()`), not under a condition; nothing
    rebinds `param`."""
    for node in iter_nodes(guard.node.body, into_functions=True):
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)) and any(
                isinstance(n, cst.Name) and n.value == param
                for t in _targets(node) for n in iter_nodes(t)):
            return False
    for stmt in guard.node.body.body if isinstance(guard.node.body, cst.IndentedBlock) else ():
        mentions = any(isinstance(n, cst.Name) and n.value == param for n in iter_nodes(stmt))
        yields = any(isinstance(n, cst.Yield) for n in iter_nodes(stmt))
        if not (mentions or yields):
            continue
        if not isinstance(stmt, cst.Try) or stmt.finalbody is None or not any(
                isinstance(n, cst.Yield) for n in iter_nodes(stmt.body)):
            return False
        for final in stmt.finalbody.body.body:
            if isinstance(final, cst.SimpleStatementLine):
                for small in final.body:
                    if isinstance(small, cst.Expr):
                        inner, _ = strip_await(small.value)
                        if isinstance(inner, cst.Call) \
                                and param in index.released_by_call(inner, guard):
                            return True
        return False
    return False


def _targets(node: cst.Assign | cst.AugAssign | cst.AnnAssign) -> list[cst.BaseExpression]:
    if isinstance(node, cst.Assign):
        return [t.target for t in node.targets]
    return [node.target]


def closed_by_own_with(func: FunctionInfo, param: str) -> bool:
    """`func`'s body opens with `with param:` (or `async with param:`; a docstring may
    come first) and mentions `param` nowhere after that statement, nor rebinds it: on
    every path into `func` the block's exit ends what it was handed (a SQLAlchemy
    `Session.__exit__` closes it; whether a kind's `with x:` closes is the caller's
    question, `ConnectionKind.with_var_closes`)."""
    if param not in func.param_names():
        return False
    stmts = list(func.node.body.body) if isinstance(func.node.body, cst.IndentedBlock) else []
    if stmts and _is_docstring(stmts[0]):
        stmts = stmts[1:]
    if not stmts or not isinstance(stmts[0], cst.With) or not any(
            isinstance(item.item, cst.Name) and item.item.value == param
            and (item.asname is None or (isinstance(item.asname.name, cst.Name)
                                         and item.asname.name.value == param))
            for item in stmts[0].items):
        return False
    for node in iter_nodes(stmts[0], into_functions=True):
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)) and any(
                isinstance(n, cst.Name) and n.value == param
                for t in _targets(node) for n in iter_nodes(t)):
            return False
    return not any(isinstance(n, cst.Name) and n.value == param
                   for stmt in stmts[1:] for n in iter_nodes(stmt, into_functions=True))


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 \
        and isinstance(stmt.body[0], cst.Expr) \
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))

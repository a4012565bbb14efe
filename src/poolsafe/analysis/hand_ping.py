"""A hand-written liveness check that SQLAlchemy runs at every checkout: what
`pool_pre_ping=True` does, written before that flag existed (SQLAlchemy 1.2).

`pool_pre_ping` tests each connection when the pool hands it out and replaces a dead
one before the caller sees it. The documented recipes that did so by hand are as good,
because the library itself runs them at every checkout and retries on a dead
connection:

- a pool `checkout` listener (`@event.listens_for(engine, "checkout")`, or
  `event.listen(Pool, "checkout", fn)` for every pool of the process) that executes
  a statement on the connection inside a `try` whose handler raises
  `sqlalchemy.exc.DisconnectionError`: on that exception the pool discards the
  connection and checks out a fresh one (up to three times), so a dead connection
  never reaches the caller;
- an `engine_connect` listener (SQLAlchemy 1.x's "pessimistic disconnect handling"
  recipe, on the engine or on the `Engine` class) that executes a statement inside a
  `try` whose handler executes it again: the failed statement invalidated the
  connection, and the second one runs on a fresh connection.

A listener that only logs the failure, re-raises another error, or runs on another
engine checks nothing for this one. A liveness method the project calls before its
uses (`self.ping()` at the start of a message callback) is not read here: that every
use of the engine's sessions comes after it cannot be shown from one class (handlers
are also stored in tables and called later), so such engines stay reported.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_nodes, positional_args, string_value
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import is_test_module

#: SQLAlchemy's event registration functions
_LISTEN = frozenset({"sqlalchemy.event.listen", "sqlalchemy.event.api.listen"})
_LISTENS_FOR = frozenset({"sqlalchemy.event.listens_for", "sqlalchemy.event.api.listens_for"})
#: classes whose listeners reach every pool (`checkout`) of a server engine
_POOL_CLASSES = frozenset({
    "sqlalchemy.pool.Pool", "sqlalchemy.pool.QueuePool", "sqlalchemy.pool.base.Pool",
    "sqlalchemy.pool.impl.QueuePool", "sqlalchemy.engine.Engine", "sqlalchemy.Engine",
    "sqlalchemy.engine.base.Engine",
})
_ENGINE_CLASSES = frozenset({
    "sqlalchemy.engine.Engine", "sqlalchemy.Engine", "sqlalchemy.engine.base.Engine",
})
#: calls that send a statement to the server
_STATEMENT_CALLS = frozenset({"execute", "scalar", "exec_driver_sql", "ping"})


def pinged_at_checkout(index: ProjectIndex, module: ModuleInfo,
                       call: cst.Call | None) -> str | None:
    """Why every checkout of the engine `call` builds (None: a Flask-SQLAlchemy
    configuration's engine) is already tested by a listener of the project, or None."""
    name, scope, func = _engine_name(module, call)
    for m in index.modules_mentioning(["checkout", "engine_connect"]):
        if is_test_module(m):
            continue
        for target, event, listener in _registrations(m):
            qual = _qualname(m, target)
            everyone = qual in (_POOL_CLASSES if event == "checkout" else _ENGINE_CLASSES)
            mine = not everyone and name is not None and m is module and _names_engine(
                target, name, scope, func, listener)
            if not (everyone or mine) or listener is None:
                continue
            if event == "checkout" and _raises_disconnection(m, listener):
                return ("a `checkout` listener tests each connection and raises "
                        "`DisconnectionError` on a dead one: the pool replaces it")
            if event == "engine_connect" and _retries_statement(listener):
                return ("an `engine_connect` listener tests each connection and runs its "
                        "statement again on a fresh one after a failure")
    return None


def _engine_name(module: ModuleInfo, call: cst.Call | None
                 ) -> tuple[str | None, cst.CSTNode, FunctionInfo | None]:
    if call is None:
        return None, module.tree, None
    func = next((f for c, f in module.calls if c is call), None)
    scope: cst.CSTNode = func.node.body if func is not None else module.tree
    for node, f in module.assign_nodes:
        if node.value is call and len(node.targets) == 1:
            return dotted_name(node.targets[0].target), scope, f
    return None, scope, func


def _names_engine(target: cst.BaseExpression, name: str, scope: cst.CSTNode,
                  func: FunctionInfo | None, listener: cst.FunctionDef | None) -> bool:
    """`target` (`engine`, `engine.pool`, `self.engine`) is the engine bound to `name`
    where the registration is: in the function that built a local, in the class of an
    attribute (`self.engine`), at a module global's top level."""
    text = dotted_name(target)
    if text not in (name, f"{name}.pool"):
        return False
    if "." in name:  # `self.engine`: a registration in a method of the same class
        return func is not None and func.cls is not None and any(
            target is n for m in func.cls.methods.values() for n in iter_nodes(m.node))
    if func is not None:  # a local: registered in the function that built it
        return any(target is n for n in iter_nodes(scope, into_functions=True))
    return True  # a module global, registered in its module


def _registrations(module: ModuleInfo
                   ) -> list[tuple[cst.BaseExpression, str, cst.FunctionDef | None]]:
    """(target, event, listener) for each `event.listens_for` decorator and each
    `event.listen(target, event, fn)` call of the module."""
    found: list[tuple[cst.BaseExpression, str, cst.FunctionDef | None]] = []
    defs: dict[str, list[cst.FunctionDef]] = {}
    for node in iter_nodes(module.tree, into_functions=True):
        if isinstance(node, cst.FunctionDef):
            defs.setdefault(node.name.value, []).append(node)
    for node in iter_nodes(module.tree, into_functions=True):
        if isinstance(node, cst.FunctionDef):
            for deco in node.decorators:
                d = deco.decorator
                if isinstance(d, cst.Call) and _qualname(module, d.func) in _LISTENS_FOR:
                    args = positional_args(d)
                    if len(args) >= 2 and string_value(args[1]) in ("checkout", "engine_connect"):
                        found.append((args[0], str(string_value(args[1])), node))
        elif isinstance(node, cst.Call) and _qualname(module, node.func) in _LISTEN:
            args = positional_args(node)
            if len(args) >= 3 and string_value(args[1]) in ("checkout", "engine_connect"):
                fn = args[2]
                same = defs.get(fn.value, []) if isinstance(fn, cst.Name) else []
                found.append((args[0], str(string_value(args[1])),
                              same[0] if len(same) == 1 else None))
    return found


def _qualname(module: ModuleInfo, expr: cst.BaseExpression) -> str | None:
    text = dotted_name(expr)
    if text is None:
        return None
    head, _, rest = text.partition(".")
    full = module.imports.get(head)
    if full is None:
        return None
    return f"{full}.{rest}" if rest else full


def _statement_tries(listener: cst.FunctionDef) -> list[cst.Try]:
    """The `try` statements of the listener whose body sends a statement."""
    return [node for node in iter_nodes(listener.body) if isinstance(node, cst.Try) and any(
        isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
        and n.func.attr.value in _STATEMENT_CALLS for n in iter_nodes(node.body))]


def _raises_disconnection(module: ModuleInfo, listener: cst.FunctionDef) -> bool:
    for node in _statement_tries(listener):
        for handler in node.handlers:  # raised by the handler itself, not under a test
            for n in _own_statements(handler.body):
                if isinstance(n, cst.Raise) and n.exc is not None:
                    exc = n.exc.func if isinstance(n.exc, cst.Call) else n.exc
                    text = dotted_name(exc) or ""
                    if text.rsplit(".", 1)[-1] == "DisconnectionError":
                        return True
    return False


def _own_statements(body: cst.BaseSuite) -> list[cst.BaseSmallStatement]:
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    return [small for st in body.body if isinstance(st, cst.SimpleStatementLine)
            for small in st.body]


def _retries_statement(listener: cst.FunctionDef) -> bool:
    for node in _statement_tries(listener):
        for handler in node.handlers:
            if any(isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                   and n.func.attr.value in _STATEMENT_CALLS for n in iter_nodes(handler.body)):
                return True
    return False

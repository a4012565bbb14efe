"""Engines whose connections never sit idle in a pool: what PS203 (pre-ping) and
PS211 (recycle) need not ask for.

Pre-ping and recycling protect a connection that waited in the pool while the server
restarted or closed it. An engine that is used and thrown away at once has no such
connection:

- a bootstrap engine rebound to another engine in the same scope
  (`engine = create_engine(server_url)`, `CREATE DATABASE`, then
  `engine = create_engine(db_url, ...)`);
- an engine disposed in the scope that built it (`engine.dispose()`);
- an engine built in code that runs once per process (a maintenance script's
  `main()`, a click command) and that never leaves it (not returned, stored or made
  global), in a function with no `while` loop (a worker loop keeps it for hours);
- an engine at the top level of a flat script: a module with no function or class
  that does its database work at import time (`with engine.connect() as conn:`).
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import is_cli_entry


def short_lived_engine(index: ProjectIndex, module: ModuleInfo,
                       call: cst.Call) -> str | None:
    """Why the engine `call` builds never keeps an idle connection, or None."""
    func = next((f for c, f in module.calls if c is call), None)
    scope: cst.CSTNode = func.node.body if func is not None else module.tree
    name = _assigned_name(scope, call)
    if name is None:
        return None
    statements = [n for n in iter_nodes(scope) if isinstance(n, cst.Assign)]
    built = next((i for i, st in enumerate(statements)
                  if strip_await(st.value)[0] is call), None)
    for st in statements[(built or 0) + 1:]:
        if any(isinstance(t.target, cst.Name) and t.target.value == name
               for t in st.targets) and isinstance(strip_await(st.value)[0], cst.Call):
            return "a bootstrap engine, rebound to another one in the same scope"
    for node in iter_nodes(scope):
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "dispose"
                and isinstance(node.func.value, cst.Name) and node.func.value.value == name):
            return "disposed in the scope that built it"
    if func is not None and _one_shot_local(index, func, scope, name):
        return "built and used once, in code that runs once per process"
    if func is None and _flat_script(module):
        return "a script's top level: it does its database work once and ends"
    return None


#: methods whose call at a module's top level is database work done at import time
_WORK_METHODS = frozenset({"connect", "begin", "execute", "commit", "add", "create_all",
                           "raw_connection", "exec_driver_sql"})


def _flat_script(module: ModuleInfo) -> bool:
    """A module with no function or class that does database work at its top level
    (`with engine.connect() as conn: ...`, `db.commit()`): a script, run once."""
    if module.all_functions or module.classes:
        return False
    return any(isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
               and node.func.attr.value in _WORK_METHODS
               for node in iter_nodes(module.tree))


def _assigned_name(scope: cst.CSTNode, call: cst.Call) -> str | None:
    for node in iter_nodes(scope):
        if isinstance(node, cst.Assign) and strip_await(node.value)[0] is call:
            names = [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
            return names[0] if len(names) == 1 and len(node.targets) == 1 else None
    return None


def _one_shot_local(index: ProjectIndex, func: FunctionInfo, scope: cst.CSTNode,
                    name: str) -> bool:
    if name in func.globals_declared or func.is_generator:
        return False
    for node in iter_nodes(scope):
        if isinstance(node, cst.While):
            return False
        if isinstance(node, cst.Return) and node.value is not None and any(
                isinstance(n, cst.Name) and n.value == name for n in iter_nodes(node.value)):
            return False
        if isinstance(node, cst.Assign) and any(
                isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in node.targets) and (
                isinstance(node.value, cst.Name) and node.value.value == name):
            return False
    return is_cli_entry(index, func)

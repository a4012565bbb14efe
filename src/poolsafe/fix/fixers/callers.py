"""The uses of a project function across the project, for fixes that must see their
callers: a fix that changes what a function hands back rewrites each call, and a
rollback is safe in a helper only when every caller hands it a fresh transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.values import FunctionRef
from poolsafe.fix.fixers.edits import enclosing_function, parent_map


@dataclass(frozen=True)
class FunctionUse:
    """One place that names `func`: `ref` (its name, or `module.func`) under `parent`."""

    module: ModuleInfo
    ref: cst.BaseExpression
    parent: cst.CSTNode | None
    caller: FunctionInfo | None
    parents: dict[int, cst.CSTNode]

    @property
    def call(self) -> cst.Call | None:
        """The call when the use calls `func` (`func(...)`), else None (a use as a value)."""
        p = self.parent
        return p if isinstance(p, cst.Call) and p.func is self.ref else None


def uses_of_function(index: ProjectIndex, func: FunctionInfo) -> Iterator[FunctionUse]:
    """Every use of `func` in the project's modules that mention its name, by its own
    name, an import alias or an attribute of its module; not its definition nor an
    import of it."""
    for m in index.modules_mentioning([func.name]):
        parents = parent_map(m.tree)
        names = {func.name} | {
            local for local in m.imports
            if isinstance(v := index.lookup_module_name(m, local, 0), FunctionRef)
            and v.func is func}
        for node in iter_nodes(m.tree, into_functions=True):
            if not isinstance(node, cst.Name) or node.value not in names:
                continue
            parent = parents.get(id(node))
            if isinstance(parent, (cst.FunctionDef, cst.ImportAlias, cst.AsName)):
                continue  # its own name, an import
            ref: cst.BaseExpression = node
            if isinstance(parent, cst.Attribute):
                if parent.attr is not node:
                    continue
                ref, parent = parent, parents.get(id(parent))  # `services.get_db`
            caller = enclosing_function(node, parents, m)
            value = index.evaluate(ref, m, caller)
            if isinstance(value, FunctionRef) and value.func is func:
                yield FunctionUse(m, ref, parent, caller, parents)

"""Names the fixed code reads that nothing binds where it runs.

libcst's scope analysis resolves every name a function reads to an assignment:
its own locals and parameters, an enclosing function's, the module's, the
builtins. A read it cannot resolve raises `NameError` when it runs (a new
`get_db()` calling `SessionLocal()`, which only existed inside the route). The
names the original already could not resolve (set by `globals()`, a star import)
are not the fix's doing and are left out.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import FunctionScope, MetadataWrapper, ScopeProvider


def unresolved(module: cst.Module) -> set[tuple[str, str]]:
    """(function's qualified name, name) for each name read in a function that no
    scope binds. Empty for a module with a star import (anything may be bound)."""
    if _has_star_import(module):
        return set()
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    qualnames = _qualnames(module)
    out: set[tuple[str, str]] = set()
    for scope in {s for s in scopes.values() if s is not None}:
        for access in scope.accesses:
            if access.referents or not isinstance(access.node, cst.Name):
                continue
            owner = _function_of(access.scope)
            if owner is None:
                continue
            out.add((qualnames.get(id(owner), "?"), access.node.value))
    return out


def _function_of(scope: object) -> cst.CSTNode | None:
    cur = scope
    while cur is not None:
        if isinstance(cur, FunctionScope):
            return cur.node
        parent = getattr(cur, "parent", None)
        cur = None if parent is cur else parent
    return None


def _qualnames(module: cst.Module) -> dict[int, str]:
    out: dict[int, str] = {}

    def walk(node: cst.CSTNode, prefix: str) -> None:
        for child in node.children:
            if isinstance(child, cst.FunctionDef | cst.ClassDef):
                name = f"{prefix}{child.name.value}"
                if isinstance(child, cst.FunctionDef):
                    out[id(child)] = name
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(module, "")
    return out


def functions(module: cst.Module) -> dict[str, cst.FunctionDef]:
    """Every function of the module by qualified name (the first of a name)."""
    found: dict[str, cst.FunctionDef] = {}
    names = _qualnames(module)

    def walk(node: cst.CSTNode) -> None:
        for child in node.children:
            if isinstance(child, cst.FunctionDef):
                found.setdefault(names[id(child)], child)
            walk(child)

    walk(module)
    return found


def _has_star_import(module: cst.Module) -> bool:
    return any(isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar)
               for stmt in module.body if isinstance(stmt, cst.SimpleStatementLine)
               for small in stmt.body)

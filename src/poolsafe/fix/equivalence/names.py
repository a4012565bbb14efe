"""Names the fixed code reads that nothing binds where it runs.

libcst's scope analysis resolves every name a function reads to an assignment:
its own locals and parameters, an enclosing function's, the module's, the
builtins. A read it cannot resolve raises `NameError` when it runs (a new
`get_db()` calling `SessionLocal()`, which only existed inside the route). The
names the original already could not resolve (set by `globals()`, a star import)
are not the fix's doing and are left out.

The scope analysis is the costly part of proving a fix on a large module (it
visits every node), so it runs on the module reduced to what the functions in
question can see: the statements that hold them, as written, and every other
function and class of the module or of a class that holds one as an empty stub of
the same name (the names they bind are all a function elsewhere can read of
them). A function with a `global` statement binds module names from inside and is
kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

import libcst as cst
from libcst.metadata import FunctionScope, MetadataWrapper, ScopeProvider

from poolsafe.analysis.cstutil import children, iter_nodes

#: nodes that may hold a `def` or `class` statement somewhere below them
_HOLDERS: frozenset[type[cst.CSTNode]] = frozenset({
    cst.Module, cst.IndentedBlock, cst.If, cst.Else, cst.For, cst.While, cst.Try,
    cst.TryStar, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.With,
    cst.Match, cst.MatchCase, cst.FunctionDef, cst.ClassDef,
})
_PASS_BODY = cst.IndentedBlock([cst.SimpleStatementLine([cst.Pass()])])


def unresolved(module: cst.Module, only: Collection[str] | None = None
               ) -> set[tuple[str, str]]:
    """(function's qualified name, name) for each name read in a function that no
    scope binds. Empty for a module with a star import (anything may be bound).
    With `only`, the functions of those qualified names alone (the rest of the
    module is reduced away first, see the module's docstring)."""
    return unresolved_in(reduced(module, only), only)


def reduced(module: cst.Module, only: Collection[str] | None = None) -> cst.Module | None:
    """What `unresolved(module, only)` analyses: the module reduced to what the
    functions `only` can see, None for a module with a star import. The answer is
    `unresolved_in` of it: it depends on this module's code alone."""
    if _has_star_import(module):
        return None
    return module if only is None else _reduced(module, set(only))


def unresolved_in(target: cst.Module | None, only: Collection[str] | None = None
                  ) -> set[tuple[str, str]]:
    """`unresolved` of a module `reduced` made."""
    if target is None:
        return set()
    wrapper = MetadataWrapper(target, unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    qualnames = _qualnames(target)
    out: set[tuple[str, str]] = set()
    for scope in {s for s in scopes.values() if s is not None}:
        for access in scope.accesses:
            if access.referents or not isinstance(access.node, cst.Name):
                continue
            owner = _function_of(access.scope)
            if owner is None:
                continue
            qualname = qualnames.get(id(owner), "?")
            if only is None or qualname in only:
                out.add((qualname, access.node.value))
    return out


def _reduced(module: cst.Module, only: set[str]) -> cst.Module:
    return module.with_changes(
        body=_reduced_body(module.body, "", only, _words_read(module, only)))


def _reduced_body(body: Sequence[cst.BaseStatement], prefix: str, only: set[str],
                  read: set[str]) -> list[cst.BaseStatement]:
    """`body` with each `def` and `class` that holds none of `only` as a stub (a
    class that holds one keeps its other members as stubs too: a method sees its
    class's names only through `self` or the class's own name), and without the
    stubs of names the functions `only` never spell (`read`): the one name a stub
    binds is then read by none of the accesses the answer is made of, so the
    answer is the same, and it stays the same when a function is added elsewhere
    in the file (the kept name checks of `check`, issue 32)."""
    out: list[cst.BaseStatement] = []
    for stmt in body:
        if not isinstance(stmt, cst.FunctionDef | cst.ClassDef) or _binds_globals(stmt):
            out.append(stmt)
            continue
        name = prefix + stmt.name.value
        if not only.intersection(_names_in(stmt, name)):
            if stmt.name.value in read:
                out.append(_stub(stmt))
        elif isinstance(stmt, cst.ClassDef) and name not in only \
                and isinstance(stmt.body, cst.IndentedBlock):
            out.append(stmt.with_changes(body=stmt.body.with_changes(
                body=_reduced_body(stmt.body.body, name + ".", only, read))))
        else:
            out.append(stmt)
    return out


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _words_read(module: cst.Module, only: set[str]) -> set[str]:
    """Every name the functions `only` spell (every definition of each), in code or
    in a string (a string annotation is read as code by the scope analysis): a
    superset of the names they read."""
    out: set[str] = set()

    def visit(node: cst.FunctionDef | cst.ClassDef, name: str) -> None:
        if name not in only:
            return
        for inner in iter_nodes(node, into_functions=True):
            if isinstance(inner, cst.Name):
                out.add(inner.value)
            elif isinstance(inner, cst.SimpleString | cst.FormattedStringText):
                out.update(_WORD.findall(inner.value))

    _walk_defs(module, "", visit)
    return out


def _names_in(stmt: cst.FunctionDef | cst.ClassDef, name: str) -> list[str]:
    names = [name]
    _walk_defs(stmt, name + ".", lambda _node, inner: names.append(inner))
    return names


def _stub(stmt: cst.FunctionDef | cst.ClassDef) -> cst.BaseStatement:
    if isinstance(stmt, cst.FunctionDef):
        return stmt.with_changes(body=_PASS_BODY, decorators=(), params=cst.Parameters(),
                                 returns=None)
    return stmt.with_changes(body=_PASS_BODY, decorators=(), bases=(), keywords=(),
                             type_parameters=None)


def _binds_globals(node: cst.CSTNode) -> bool:
    for child in children(node):
        if isinstance(child, cst.SimpleStatementLine):
            if any(isinstance(small, cst.Global) for small in child.body):
                return True
        elif type(child) in _HOLDERS and _binds_globals(child):
            return True
    return False


def _function_of(scope: object) -> cst.CSTNode | None:
    cur = scope
    while cur is not None:
        if isinstance(cur, FunctionScope):
            return cur.node
        parent = getattr(cur, "parent", None)
        cur = None if parent is cur else parent
    return None


def _walk_defs(node: cst.CSTNode, prefix: str,
               visit: Callable[[cst.FunctionDef | cst.ClassDef, str], None]) -> None:
    """Each `def` and `class` below `node`, in source order, with its qualified
    name (statements only: a definition is never inside an expression)."""
    for child in children(node):
        if isinstance(child, cst.FunctionDef | cst.ClassDef):
            name = f"{prefix}{child.name.value}"
            visit(child, name)
            _walk_defs(child, name + ".", visit)
        elif type(child) in _HOLDERS:
            _walk_defs(child, prefix, visit)


def _qualnames(module: cst.Module) -> dict[int, str]:
    out: dict[int, str] = {}

    def visit(node: cst.FunctionDef | cst.ClassDef, name: str) -> None:
        if isinstance(node, cst.FunctionDef):
            out[id(node)] = name

    _walk_defs(module, "", visit)
    return out


def functions(module: cst.Module) -> dict[str, cst.FunctionDef]:
    """Every function of the module by qualified name (the first of a name)."""
    found: dict[str, cst.FunctionDef] = {}

    def visit(node: cst.FunctionDef | cst.ClassDef, name: str) -> None:
        if isinstance(node, cst.FunctionDef):
            found.setdefault(name, node)

    _walk_defs(module, "", visit)
    return found


def _has_star_import(module: cst.Module) -> bool:
    return any(isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar)
               for stmt in module.body if isinstance(stmt, cst.SimpleStatementLine)
               for small in stmt.body)

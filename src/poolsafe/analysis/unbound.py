"""Names a `finally` or `except` may read before the `try` bound them.

    try:
        conn = pool.get_connection()
        cur = conn.cursor()          # raises: `cur` is never bound
        ...
    finally:
        cur.close()                  # UnboundLocalError: the next line never runs
        conn.close()

The flow analysis follows such names (`Unbound` facts) so that a read of one in a
handler or a `finally` raises on the paths where it was not bound yet. Only names
that every binding in the function binds by a plain assignment are followed (a
`for`, `with`, `import`, `except ... as`, walrus, `del`, `global` or `nonlocal`
binding takes the name out): for those the analysis knows exactly where they become
bound.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import children

_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.ListComp, cst.SetComp,
           cst.DictComp, cst.GeneratorExp)
#: statements that read no name (or are not followed: `del`)
_NOT_READ = (*_SCOPES, cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal, cst.Del)
# the walks below test exact types: libcst's nodes are final classes, and an
# `isinstance` against them goes through `ABCMeta` (slow, once per node and class)
_SCOPE_TYPES: frozenset[type] = frozenset(_SCOPES)
_NOT_READ_TYPES: frozenset[type] = frozenset(_NOT_READ)
_DEFS = frozenset({cst.FunctionDef, cst.ClassDef})
_TARGETED = frozenset({cst.For, cst.CompFor, cst.AugAssign, cst.NamedExpr})
_OTHER_BINDERS = frozenset({cst.AsName, cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal,
                            cst.Del, cst.MatchAs, cst.MatchStar, cst.MatchMapping})


def unbound_candidates(func: cst.FunctionDef,
                       tries: list[cst.Try | cst.TryStar]) -> frozenset[str]:
    """The names some `try` of `func` assigns in its body and reads in one of its
    handlers or its `finally`, bound only by plain assignments, not parameters."""
    wanted: set[str] = set()
    for node in tries:
        after = [h.body for h in node.handlers]
        if node.finalbody is not None:
            after.append(node.finalbody.body)
        if not after:
            continue
        read: set[str] = set()
        for suite in after:
            read |= _reads(suite)
        if read:
            wanted |= read & _assigned(node.body)
    if not wanted:
        return frozenset()
    params = func.params
    wanted -= {p.name.value for p in (*params.posonly_params, *params.params,
                                      *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            wanted.discard(star.name.value)
    return frozenset(wanted - _other_bindings(func.body))


def certain_loads(node: cst.CSTNode) -> frozenset[str]:
    """The plain names `node` (a simple statement or an expression) reads each time it
    runs: not inside a nested scope, not on the right of `and`/`or`, not in one branch
    of a conditional expression, not an assignment's target."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        cur = stack.pop()
        t = type(cur)
        if t is cst.Name:
            out.add(cur.value)  # type: ignore[attr-defined]
        elif t in _NOT_READ_TYPES:
            continue
        elif t is cst.Attribute or t is cst.Arg:
            stack.append(cur.value)  # type: ignore[attr-defined]
        elif t is cst.BooleanOperation:
            stack.append(cur.left)  # type: ignore[attr-defined]
        elif t is cst.IfExp:
            stack.append(cur.test)  # type: ignore[attr-defined]
        elif t is cst.Assign:
            assert isinstance(cur, cst.Assign)
            stack.append(cur.value)
            for target in cur.targets:
                _push_target_reads(target.target, stack)
        elif t is cst.AnnAssign:
            assert isinstance(cur, cst.AnnAssign)
            if cur.value is not None:
                stack.append(cur.value)
            _push_target_reads(cur.target, stack)
        elif t is cst.AugAssign:
            assert isinstance(cur, cst.AugAssign)
            stack.append(cur.value)
            stack.append(cur.target)  # `x += 1` reads x
        elif t is cst.NamedExpr:
            stack.append(cur.value)  # type: ignore[attr-defined]
        elif t is cst.Assert:
            stack.append(cur.test)  # type: ignore[attr-defined]  # (the message only when it fails)
        else:
            stack.extend(children(cur))
    return frozenset(out)


def _push_target_reads(target: cst.BaseExpression, stack: list[cst.CSTNode]) -> None:
    """What an assignment target reads: `a.b = ...` reads a, `a[i] = ...` reads a and
    i, `x = ...` reads nothing."""
    if isinstance(target, cst.Attribute):
        stack.append(target.value)
    elif isinstance(target, cst.Subscript):
        stack.append(target)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for e in target.elements:
            _push_target_reads(e.value, stack)
    elif isinstance(target, cst.StarredElement):
        _push_target_reads(target.value, stack)


def _reads(suite: cst.CSTNode) -> set[str]:
    """Names read by the statements of a suite (nested scopes excluded)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [suite]
    while stack:
        cur = stack.pop()
        t = type(cur)
        if t in _SCOPE_TYPES:
            continue
        if t is cst.Name:
            out.add(cur.value)  # type: ignore[attr-defined]
        elif t is cst.Attribute:
            stack.append(cur.value)  # type: ignore[attr-defined]
        else:
            stack.extend(children(cur))
    return out


def _assigned(suite: cst.CSTNode) -> set[str]:
    """Names a plain assignment in the suite binds (nested scopes excluded)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [suite]
    while stack:
        cur = stack.pop()
        t = type(cur)
        if t in _SCOPE_TYPES:
            continue
        if t is cst.Assign:
            for target in cur.targets:  # type: ignore[attr-defined]
                out |= _plain_targets(target.target)
        elif t is cst.AnnAssign and cur.value is not None:  # type: ignore[attr-defined]
            out |= _plain_targets(cur.target)  # type: ignore[attr-defined]
        stack.extend(children(cur))
    return out


def _plain_targets(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {n for e in target.elements for n in _plain_targets(e.value)}
    if isinstance(target, cst.StarredElement):
        return _plain_targets(target.value)
    return set()


def _other_bindings(body: cst.CSTNode) -> set[str]:
    """Names bound in the function's own scope other than by a plain assignment."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [body]
    while stack:
        cur = stack.pop()
        t = type(cur)
        if t in _DEFS:
            out.add(cur.name.value)  # type: ignore[attr-defined]
            continue
        if t in _SCOPE_TYPES:
            continue
        if t in _TARGETED:
            out |= _plain_targets(cur.target)  # type: ignore[attr-defined]
        elif t not in _OTHER_BINDERS:
            pass  # most nodes: none of the isinstance tests below
        elif isinstance(cur, cst.AsName):
            out |= _plain_targets(cur.name)
        elif isinstance(cur, (cst.Import, cst.ImportFrom)):
            if not isinstance(cur.names, cst.ImportStar):
                for alias in cur.names:
                    name: cst.BaseExpression = (
                        alias.asname.name if alias.asname is not None else alias.name)
                    while isinstance(name, cst.Attribute):
                        name = name.value
                    if isinstance(name, cst.Name):
                        out.add(name.value)
        elif isinstance(cur, (cst.Global, cst.Nonlocal)):
            out |= {n.name.value for n in cur.names}
        elif isinstance(cur, cst.Del):
            out |= {n.value for n in _names_under(cur.target)}
        elif isinstance(cur, (cst.MatchAs, cst.MatchStar)) and cur.name is not None:
            out.add(cur.name.value)
        elif isinstance(cur, cst.MatchMapping) and cur.rest is not None:
            out.add(cur.rest.value)
        stack.extend(children(cur))
    return out


def _names_under(node: cst.CSTNode) -> list[cst.Name]:
    out: list[cst.Name] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Name):
            out.append(cur)
        stack.extend(children(cur))
    return out

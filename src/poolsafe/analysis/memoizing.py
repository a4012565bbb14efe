"""Project-written memoizing decorators: a decorator the project defines that keeps
the decorated function's result and hands the kept value to every later call.

`functools.cache`, `lru_cache`, `cached_property` and `cachetools.cached` are known
by name (`knowledge.frameworks.CACHING_DECORATORS`). Projects also write their own,
often for coroutines, which `functools` does not cache:

    def cache_async_def(func):
        name = f"_cache_{func.__name__}"
        async def wrapper(self, *args, **kwargs):
            if not hasattr(self, name):
                setattr(self, name, await func(self, *args, **kwargs))
            return getattr(self, name)
        return wrapper

A decorator memoizes when it takes the function as its first parameter, defines a
nested wrapper that it returns by name, and that wrapper

- stores a call of the decorated function, under a test (`if not hasattr(...)`,
  `if key not in cache`, `if self._x is None`), in one place: `setattr(obj, key,
  value)`, `store[key] = value` or `obj.attr = value`, the value being the call
  itself (awaited or not) or a name bound to it just before;
- and every `return` of the wrapper returns a read of that same place
  (`getattr(obj, key)`, `store[key]`, `obj.attr`), never the call's result directly.

A wrapper that also returns the call's result on some path (a cache that can be
bypassed), or stores it without a test (it recomputes on every call), does not
memoize. A decorator factory (`@cached(ttl=60)`, a call) is not read.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import strip_await


def memoizes(deco: cst.FunctionDef) -> bool:
    """`deco` is a project decorator that keeps its function's result (see module doc)."""
    params = deco.params.params or deco.params.posonly_params
    if not params:
        return False
    wrapped = params[0].name.value
    body = deco.body.body if isinstance(deco.body, cst.IndentedBlock) else ()
    wrappers = {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}
    returned: list[cst.FunctionDef] = []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Return) and isinstance(small.value, cst.Name) \
                        and small.value.value in wrappers:
                    returned.append(wrappers[small.value.value])
    return len(returned) == 1 and _wrapper_memoizes(returned[0], wrapped)


def _wrapper_memoizes(wrapper: cst.FunctionDef, wrapped: str) -> bool:
    places: list[cst.BaseExpression] = []
    returns: list[cst.Return] = []
    for node, guarded in _walk(wrapper.body, False):
        if isinstance(node, cst.Return):
            returns.append(node)
            continue
        place = _stored_call(node, wrapped, wrapper)
        if place is not None:
            if not guarded:
                return False
            places.append(place)
    if not places or not returns:
        return False
    place = places[0]
    if any(not p.deep_equals(place) for p in places[1:]):
        return False
    return all(r.value is not None and _reads(r.value, place) for r in returns)


def _walk(node: cst.CSTNode, guarded: bool) -> list[tuple[cst.CSTNode, bool]]:
    """The statements and small statements of a wrapper's body, each with whether it
    sits under an `if` (not descending into nested functions or classes)."""
    found: list[tuple[cst.CSTNode, bool]] = []
    for child in node.children:
        if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(child, (cst.BaseSmallStatement,)):
            found.append((child, guarded))
            continue
        found.extend(_walk(child, guarded or isinstance(node, cst.If)))
    return found


def _calls_wrapped(value: cst.BaseExpression, wrapped: str) -> bool:
    inner = strip_await(value)[0]
    return isinstance(inner, cst.Call) and isinstance(inner.func, cst.Name) \
        and inner.func.value == wrapped


def _stored_call(stmt: cst.CSTNode, wrapped: str,
                 wrapper: cst.FunctionDef) -> cst.BaseExpression | None:
    """The place `stmt` stores a call of the wrapped function into, normalised to the
    expression that reads it back (`setattr(o, k, v)` reads as `getattr(o, k)`)."""
    if isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
        call = stmt.value
        if isinstance(call.func, cst.Name) and call.func.value == "setattr" \
                and len(call.args) == 3 and _value_is_call(call.args[2].value, wrapped, wrapper):
            return cst.Call(func=cst.Name("getattr"),
                            args=[cst.Arg(call.args[0].value), cst.Arg(call.args[1].value)])
        return None
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0].target, (cst.Subscript, cst.Attribute)) \
            and _value_is_call(stmt.value, wrapped, wrapper):
        return stmt.targets[0].target
    return None


def _value_is_call(value: cst.BaseExpression, wrapped: str,
                   wrapper: cst.FunctionDef) -> bool:
    """`value` is a call of the wrapped function, or a name bound once in the wrapper
    to one (`result = await func(*args)`, then `cache[key] = result`)."""
    if _calls_wrapped(value, wrapped):
        return True
    if not isinstance(value, cst.Name):
        return False
    bound = [small.value for small, _ in _walk(wrapper.body, False)
             if isinstance(small, cst.Assign) and len(small.targets) == 1
             and isinstance(small.targets[0].target, cst.Name)
             and small.targets[0].target.value == value.value]
    return len(bound) == 1 and _calls_wrapped(bound[0], wrapped)


def _reads(value: cst.BaseExpression, place: cst.BaseExpression) -> bool:
    if isinstance(place, cst.Call):  # getattr(o, k)
        return isinstance(value, cst.Call) and isinstance(value.func, cst.Name) \
            and value.func.value == "getattr" and len(value.args) == 2 \
            and all(a.value.deep_equals(b.value)
                    for a, b in zip(value.args, place.args, strict=True))
    return value.deep_equals(place)

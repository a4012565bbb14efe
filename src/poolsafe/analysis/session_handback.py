"""A session handed back after a swallowed failure to callers that end it at once
(PS103): the project decorator that fills the parameter and ends the session right
after the call, the caller's own `with` that opened it, a route's dependency, or a
caller that hands it on the same way, up to `_CALLER_DEPTH` frames up. The caller
uses it no more after the call, calls it in no loop, and where what ends it commits,
did no work on it before."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import argument_for, children, iter_nodes, strip_await
from poolsafe.analysis.fastapi_depends import depends_of
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo, WithBinding
from poolsafe.analysis.project_facts import CallSite, facts, request_handler
from poolsafe.analysis.resources import FunctionResources
from poolsafe.analysis.values import Connection, FunctionRef


def decorator_sessions(index: ProjectIndex, func: FunctionInfo,
                       res: FunctionResources) -> frozenset[str]:
    """Parameters a project decorator fills with a session of its own, which it
    ends right after the call (`@provide_session`: `with create_session() as s:
    return func(*args, session=s, **kwargs)`): the decorator is the caller."""
    out: set[str] = set()
    for deco in func.node.decorators:
        target = deco.decorator
        if isinstance(target, cst.Call):
            target = target.func
        ref = index.evaluate(target, func.module, func.parent)
        if not isinstance(ref, FunctionRef):
            continue
        dec = ref.func
        for call, scope in dec.module.calls:
            inside = scope
            wrapped: set[str] = set()  # the decorated function's names there
            while inside is not None and inside is not dec:
                wrapped |= set(inside.param_names())
                inside = inside.parent
            if inside is None:
                continue
            wrapped |= set(dec.param_names())
            # `f(session, *args, **kwargs)`: the decorated function, called with the
            # session in a leading position (`managed_tx_function`-style); a method's
            # decorator calls the plain function, `self` first (`f(self, session,
            # *args)`), so every positional parameter counts, `self` included
            positional = [p.name.value for p in (*func.node.params.posonly_params,
                                                 *func.node.params.params)] \
                if isinstance(call.func, cst.Name) and call.func.value in wrapped else []
            for i, arg in enumerate(call.args):
                if arg.keyword is None:
                    if arg.star or i >= len(positional):
                        positional = []
                        continue
                    name = positional[i]
                elif arg.keyword.value in func.all_param_names():
                    name = arg.keyword.value
                else:
                    continue
                value = index.evaluate(arg.value, dec.module, scope)
                if isinstance(value, Connection) and value.kind.is_session:
                    out.add(name)
                elif value is None and _with_bound(arg.value, scope) \
                        and (k := res.kind(name)) is not None and k.is_session:
                    # `with session_factory() as session:` on a factory the index
                    # cannot follow (a parameter's default), for a parameter typed
                    # as a session: what the `with` enters is one, and it closes it
                    out.add(name)
    return frozenset(out)


#: how many frames up a session handed back after a swallowed failure is followed to
#: the code that ends it
_CALLER_DEPTH = 3

#: what a caller may still do with the session after the call: end it
_ENDING_METHODS = frozenset({"close", "rollback", "remove"})

_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


def every_caller_ends(index: ProjectIndex, func: FunctionInfo, param: str,
                      depth: int) -> bool:
    """Every call of `func` in the project (at least one, each a plain call by name:
    no worker-thread hand-off, no function handed on as a value) passes for `param` a
    name of its caller that `_ends_after_call` holds of: the session is used no more
    and ends right after the call, so the failed transaction is never reused."""
    if depth >= _CALLER_DEPTH or func.parent is not None:
        return False
    sites = plain_call_sites(index, func)
    if not sites:
        return False
    params = func.param_names()
    position = params.index(param) if param in params else None
    for site in sites:
        passed = argument_for(site.call, param, position)
        if site.func is None or not isinstance(passed, cst.Name) \
                or not _ends_after_call(index, site.call, site.module, site.func,
                                        passed.value, depth):
            return False
    return True


def plain_call_sites(index: ProjectIndex, func: FunctionInfo) -> list[CallSite]:
    """The calls of `func` in the project, when each runs it by name: none when it is
    handed to a worker thread, handed on as a value, or its name is read other than as
    a callee (`named_not_called`: a caller the call sites do not show may run it)."""
    known = facts(index)
    if known.executor_callers(func) or known.handed_callers(func) \
            or named_not_called(index, func):
        return []
    return known.callers(func)


def named_not_called(index: ProjectIndex, func: FunctionInfo) -> bool:
    """Somewhere in the project the name of `func` is read other than as the callee of
    a call (a callback handed on, a table of functions, `obj.attr` read): a caller the
    call sites do not show may run it. By name, so another function of that name
    counts too."""
    for m in index.modules_mentioning([func.name]):
        skip: set[int] = set()
        for node in iter_nodes(m.tree, into_functions=True):
            if isinstance(node, cst.Call):
                skip.add(id(node.func.attr if isinstance(node.func, cst.Attribute)
                            else node.func))
            elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                skip.add(id(node.name))
            elif isinstance(node, (cst.Param, cst.ImportAlias)):
                skip.update(id(n) for n in iter_nodes(node))
            elif isinstance(node, cst.Arg) and node.keyword is not None:
                skip.add(id(node.keyword))
            elif isinstance(node, cst.Name) and node.value == func.name \
                    and id(node) not in skip:
                return True
    return False


def _ends_after_call(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                     caller: FunctionInfo, name: str, depth: int) -> bool:
    """`caller` hands its session `name` to `call`, in no loop, uses it no more after
    the call (closing or rolling it back aside), and the session ends right after:
    - `name` is bound by the `with` block around the call, which opened it (a session,
      a connection whose `with` releases it, a project context manager yielding one:
      `async with get_db_context() as db:`); the block's exit ends it;
    - `name` is a request handler's parameter that a dependency generator fills
      (`db: Session = Depends(get_db)`): the framework ends it after the request,
      unless the handler uses another dependency after the call (FastAPI caches a
      dependency per request: a service built with `Depends(get_db)` shares it);
    - `name` is a parameter that the caller's project decorator fills
      (`decorator_sessions`);
    - `name` is another parameter of the caller, and every call of the caller hands
      it on the same way (`every_caller_ends`, one frame further up).
    Where the caller worked on the session before the call and what ends it commits
    (`session.begin()`, a context manager or dependency that commits, a decorator),
    that earlier work meets the failed transaction: not ended cleanly."""
    block = _opening_with(index, call, module, caller, name)
    if block is not None:
        with_node, commits = block
        around = _uses_around(with_node.body, call, name)
        return around is not None and not around[1] and not around[2] \
            and not (around[0] and commits)
    if caller.param(name) is None or name in caller.locals:
        return False
    around = _uses_around(caller.node.body, call, name)
    if around is None or around[1] or around[2]:
        return False
    before = around[0]
    if request_handler(index, caller) is not None:
        found = depends_of(index, caller, name)
        if found is None or not found[0].args:
            return False
        dep = index.evaluate(found[0].args[0].value, found[1], None)
        if not isinstance(dep, FunctionRef) or not dep.func.is_generator:
            return False
        if any(other != name and depends_of(index, caller, other) is not None
               and (_uses_around(caller.node.body, call, other) or (False, False))[1]
               for other in caller.param_names()):
            # FastAPI hands one request the same value of a dependency wherever it is
            # asked for: another dependency used after the call (a service class
            # whose `__init__` takes `Depends(get_db)`) may hold this very session
            return False
        return not (before and _calls_commit(dep.func.node))
    if name in decorator_sessions(index, caller, FunctionResources(index, caller)):
        return not before
    filled = aiogram_middleware_session(index, caller, name)
    if filled is not None:
        return not (before and filled)
    return every_caller_ends(index, caller, name, depth + 1)


#: the observers of an aiogram `Router`/`Dispatcher` a handler is registered on with a
#: decorator (`@router.message(...)`, `@dp.callback_query(...)`)
_AIOGRAM_OBSERVERS = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_message",
    "edited_business_message", "callback_query", "inline_query", "chosen_inline_result",
    "shipping_query", "pre_checkout_query", "poll", "poll_answer", "my_chat_member",
    "chat_member", "chat_join_request", "message_reaction", "chat_boost",
})


def aiogram_middleware_session(index: ProjectIndex, caller: FunctionInfo,
                               name: str) -> bool | None:
    """`caller` is an aiogram handler (decorated `@router.message(...)` in a module
    that imports aiogram) and its parameter `name` is filled by the project's aiogram
    middlewares: aiogram calls a handler with the keys of the middleware's `data` that
    its signature names, and every project `BaseMiddleware` whose `__call__` sets
    `data["<name>"]` does so inside an `async with` that opens the session
    (`async with session_maker() as session:`, or a project context manager that
    yields one) and runs `await handler(event, data)` in the same block, so the block's
    exit ends the session right after the handler returns. Whether some such exit
    commits (as `_opening_with`); None when the parameter is not filled that way (no
    such middleware, or one that sets the key outside such a block)."""
    if not any(q == "aiogram" or q.startswith("aiogram.")
               for q in caller.module.imports.values()):
        return None
    if not any(isinstance(d.decorator, cst.Call) and isinstance(d.decorator.func, cst.Attribute)
               and d.decorator.func.attr.value in _AIOGRAM_OBSERVERS
               for d in caller.node.decorators):
        return None
    found = False
    commits = False
    for module in index.modules_mentioning(["BaseMiddleware"]):
        for cls in module.classes.values():
            if not any(dotted_tail(b.value) == "BaseMiddleware" for b in cls.node.bases):
                continue
            method = cls.methods.get("__call__")
            if method is None:
                continue
            params = method.param_names()
            if len(params) < 3:
                continue
            handler, data = params[0], params[2]
            for node in iter_nodes(method.node.body):
                if not isinstance(node, cst.Assign) or len(node.targets) != 1:
                    continue
                key = _data_key(node.targets[0].target, data)
                if key != name:
                    continue
                ends = _ending_block(index, method, node, node.value, handler)
                if ends is None:
                    return None
                found = True
                commits = commits or ends
    return commits if found else None


def dotted_tail(node: cst.BaseExpression) -> str | None:
    """The last name of `X` or `a.b.X`."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _data_key(target: cst.BaseExpression, data: str) -> str | None:
    """The string key of `data["key"]`."""
    if not isinstance(target, cst.Subscript) or not isinstance(target.value, cst.Name) \
            or target.value.value != data or len(target.slice) != 1:
        return None
    index = target.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
        text = index.value.evaluated_value
        return text if isinstance(text, str) else None
    return None


def _ending_block(index: ProjectIndex, method: FunctionInfo, assign: cst.Assign,
                  value: cst.BaseExpression, handler: str) -> bool | None:
    """The `with` of `method` around `assign` that binds `value` (a name) to a session
    it opens and ends, and that runs `handler(...)` after `assign`: whether its exit
    commits; None when there is none."""
    if not isinstance(value, cst.Name):
        return None
    for node in iter_nodes(method.node.body):
        if not isinstance(node, cst.With) or not any(n is assign for n in iter_nodes(node.body)):
            continue
        for call in iter_nodes(node.body):
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) \
                    and call.func.value == handler:
                block = _opening_with(index, call, method.module, method, value.value)
                if block is not None and block[0] is node:
                    return block[1]
    return None


def _opening_with(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                  caller: FunctionInfo, name: str) -> tuple[cst.With, bool] | None:
    """The innermost `with` of `caller` around `call` that binds `name` to a session
    or connection it opens and ends on exit, and whether that exit commits
    (`session.begin()` among its items, or a project context manager that commits)."""
    found: tuple[cst.With, bool] | None = None
    for node in iter_nodes(caller.node.body):
        if not isinstance(node, cst.With) or not any(n is call for n in iter_nodes(node.body)):
            continue
        for item in node.items:
            if item.asname is None or not isinstance(item.asname.name, cst.Name) \
                    or item.asname.name.value != name:
                continue
            opened, _ = strip_await(item.item)
            if not isinstance(opened, cst.Call):
                continue
            commits = any(isinstance(i.item, cst.Call) and isinstance(i.item.func, cst.Attribute)
                          and i.item.func.attr.value in ("begin", "begin_nested")
                          for i in node.items)
            value = index.evaluate(opened, module, caller)
            if isinstance(value, Connection) and (value.kind.with_acquire_releases
                                                  or value.kind.is_session):
                found = (node, commits)
                continue
            maker = index.evaluate(opened.func, module, caller)
            if isinstance(maker, FunctionRef) and maker.func.is_generator \
                    and _yields_connection(index, maker.func):
                # a project `@contextmanager` that opens a session and yields it
                found = (node, commits or _calls_commit(maker.func.node))
    return found


def _yields_connection(index: ProjectIndex, func: FunctionInfo) -> bool:
    """Every `yield` of `func` gives a session or connection it made."""
    yielded = [n.value for n in iter_nodes(func.node.body)
               if isinstance(n, cst.Yield) and isinstance(n.value, cst.BaseExpression)]
    return bool(yielded) and all(
        isinstance(index.evaluate(y, func.module, func), Connection) for y in yielded)


def _calls_commit(node: cst.CSTNode) -> bool:
    """Some call in `node` is a `.commit()`."""
    return any(isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
               and n.func.attr.value == "commit" for n in iter_nodes(node))


def _uses_around(region: cst.CSTNode, call: cst.Call,
                 name: str) -> tuple[bool, bool, bool] | None:
    """Whether `name` is used in `region` before `call` (source order), after it
    (ending it with `name.close()`, `rollback()` or `remove()` aside), and whether
    `call` sits in a loop there; None when `call` is not in `region`."""
    seen = False
    before = after = in_loop = False

    def walk(node: cst.CSTNode, loops: int) -> None:
        nonlocal seen, before, after, in_loop
        if node is call:
            seen, in_loop = True, loops > 0
            return
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and isinstance(node.func.value, cst.Name) and node.func.value.value == name \
                and node.func.attr.value in _ENDING_METHODS and seen:
            return
        if isinstance(node, cst.Name) and node.value == name:
            if seen:
                after = True
            else:
                before = True
        inner = loops + isinstance(node, _LOOPS)
        for child in children(node):
            walk(child, inner)

    walk(region, 0)
    return (before, after, in_loop) if seen else None


def _with_bound(expr: cst.BaseExpression, scope: FunctionInfo | None) -> bool:
    """`expr` is a name that `scope` binds only by `with ... as name` items."""
    if scope is None or not isinstance(expr, cst.Name):
        return False
    values = scope.locals.get(expr.value, [])
    return bool(values) and all(isinstance(v, WithBinding) for v in values)

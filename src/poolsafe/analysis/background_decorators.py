"""Project decorators that run the decorated function on a new thread and return.

    def run_async(f):
        @wraps(f)
        def wrapper(*args, **kwargs):
            Thread(target=f, args=args, kwargs=kwargs).start()
        return wrapper

A call of a function so decorated starts a thread (or submits a task to an executor,
`executor.submit(f, *args)`) and returns at once: the caller does not wait for the
body, so slow work in it is not slow work the caller's transaction waits on (PS207).

The decorator takes one parameter (the function), returns a function nested in it
(the wrapper), and the wrapper hands the function, or a function nested in the
decorator or the wrapper that calls it (`def run(): with app.app_context(): f(*a)`),
to `Thread(target=...)`, `Timer(seconds, ...)` or `.submit(...)`. Not such a
decorator, so the call still counts as running the body:

- the wrapper also calls the function (or such a runner) itself;
- the wrapper waits: it joins the thread, calls `.result()`, `.join()`,
  `wait(...)` or `as_completed(...)`, or submits in a `with ThreadPoolExecutor()`
  block (its exit waits for the task) (`joined_threads.joined_before_return`);
- the wrapper returns a value other than the thread or future it started; when it
  returns that (`return thr`), only a caller that drops the result (a call made as a
  statement) does not wait: one that keeps it may join it;

A decorator factory (`@run_in_thread(daemon=True)`, a function whose every `return`
names the one decorator nested in it) is read as the decorator it returns, by the
same tests; whatever the arguments, a wrapper that may join or wait is not taken.
So is a factory usable bare too (`@run_in_thread` as well as
`@run_in_thread(daemon=True)`): its first parameter takes the function when there are
no parentheses, and it returns that one decorator, either as it is or applied to that
parameter (`if callable(func): return decorator(func)`; `return decorator`), or
one whose wrapper is nested in it directly and which, given no function, returns
itself with the arguments bound (`if func is None: return
functools.partial(run_in_thread, daemon=daemon)`): it is read as a plain decorator
either way.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, keyword_arg, positional_args
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.joined_threads import joined_before_return
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.values import FunctionRef

#: calls in the wrapper that wait for a thread or a task
_WAIT_METHODS = frozenset({"join", "result", "wait", "as_completed"})


def runs_in_background(index: ProjectIndex, func: FunctionInfo,
                       discarded: Callable[[], bool]) -> bool:
    """A project decorator of `func` runs it on a new thread (or an executor's) and
    returns without waiting for it. `discarded()`: the caller drops what the call
    returns (a wrapper that returns the thread or the future lets a caller that keeps
    it join or wait); asked only of such a wrapper."""
    for deco in func.node.decorators:
        expr = deco.decorator
        factory = isinstance(expr, cst.Call)
        if isinstance(expr, cst.Call):
            expr = expr.func
        # a module of decorators has neither database code nor slow work of its own
        # (it imports `threading`): the prefilter does not select it
        with index.full_resolution():
            ref = index.evaluate(expr, func.module, func.parent)
        if not isinstance(ref, FunctionRef):
            continue
        decorator = _made_by(ref.func) if factory else ref.func
        if decorator is None and _partial_of_itself(ref.func):
            # `@run_in_thread(daemon=True)` returns `partial(run_in_thread, daemon=True)`,
            # which the function then goes through as it does bare
            decorator = ref.func
        how = _hands_off(decorator) if decorator is not None else None
        if how is None and not factory:
            # `@run_in_thread` bare, on a factory that also takes the function
            # (`return decorator(func)` when it is given one)
            decorator = _made_by(ref.func, bare=True)
            how = _hands_off(decorator) if decorator is not None else None
        if how == _ALWAYS or (how == _IF_DROPPED and discarded()):
            return True
    return False


def _made_by(factory: FunctionInfo, bare: bool = False) -> FunctionInfo | None:
    """The decorator a decorator factory returns (`def run_in_thread(daemon=False):`
    ... `def decorator(f):` ... `return decorator`): the one function nested in it
    that every `return` of it names. A factory usable bare too (`def
    run_in_thread(func=None, *, daemon=False)`, `if callable(func): return
    decorator(func)`) may also return that decorator applied to its first parameter;
    `bare`: it must (the factory is used without parentheses, `@run_in_thread`)."""
    params = factory.param_names()
    first = params[0] if params else None
    returned: set[str | None] = set()
    applied = False
    for r in factory.returns:
        value = r.value
        if isinstance(value, cst.Name):
            returned.add(value.value)
        elif isinstance(value, cst.Call) and isinstance(value.func, cst.Name) \
                and len(value.args) == 1 and value.args[0].keyword is None \
                and not value.args[0].star and isinstance(value.args[0].value, cst.Name) \
                and value.args[0].value.value == first:
            returned.add(value.func.value)
            applied = True
        else:
            returned.add(None)
    if len(returned) != 1 or None in returned or (bare and not applied):
        return None
    made = [f for f in factory.module.all_functions
            if f.parent is factory and f.name in returned]
    return made[0] if len(made) == 1 else None


def _partial_of_itself(factory: FunctionInfo) -> bool:
    """A `return functools.partial(run_in_thread, daemon=daemon)` of the function
    itself: called with arguments only, it hands back itself with them bound."""
    for r in factory.returns:
        value = r.value
        if isinstance(value, cst.Call) \
                and (dotted_name(value.func) or "").rsplit(".", 1)[-1] == "partial":
            args = positional_args(value)
            if args and isinstance(args[0], cst.Name) and args[0].value == factory.name:
                return True
    return False


#: how a decorator hands the function off: whatever the caller does, or only when the
#: caller drops the thread or future the wrapper returns
_ALWAYS = "always"
_IF_DROPPED = "if dropped"


def _hands_off(outer: FunctionInfo) -> str | None:
    params = outer.param_names()
    if len(params) != 1 or isinstance(outer.node.params.star_arg, cst.Param) \
            or outer.node.params.star_kwarg is not None:
        return None
    returned = {r.value.value for r in outer.returns if isinstance(r.value, cst.Name)}
    wrappers = [f for f in outer.module.all_functions
                if f.parent is outer and f.name in returned]
    return _wrapper_hands_off(outer, wrappers[0], params[0]) if len(wrappers) == 1 else None


def _wrapper_hands_off(outer: FunctionInfo, wrapper: FunctionInfo,
                       wrapped: str) -> str | None:
    runners = {wrapped} | {
        f.name for f in outer.module.all_functions
        if f.parent in (outer, wrapper) and f is not wrapper and any(
            isinstance(c.func, cst.Name) and c.func.value == wrapped for c in f.direct_calls)}
    handles: set[int] = set()  # the handed calls, and the names bound to them
    handle_names: set[str] = set()
    for call in wrapper.direct_calls:
        f = call.func
        if isinstance(f, cst.Name) and f.value in runners:
            return None  # the wrapper runs it on the caller's thread too
        last = f.attr.value if isinstance(f, cst.Attribute) else \
            f.value if isinstance(f, cst.Name) else ""
        if last in _WAIT_METHODS:
            return None
        target = _handed_callable(call)
        if isinstance(target, cst.Name) and target.value in runners:
            if joined_before_return(wrapper.node.body, call):
                return None
            handles.add(id(call))
            handle_names.update(name for name, values in wrapper.locals.items()
                                if any(v is call for v in values))
    if not handles:
        return None
    how = _ALWAYS
    for r in wrapper.returns:
        if r.value is None or (isinstance(r.value, cst.Name) and r.value.value == "None"):
            continue
        if id(r.value) in handles or (
                isinstance(r.value, cst.Name) and r.value.value in handle_names):
            how = _IF_DROPPED  # `return thr`: a caller that keeps it may join it
            continue
        return None
    return how


def _handed_callable(call: cst.Call) -> cst.BaseExpression | None:
    """The callable `Thread(target=f)`, `Timer(s, f)` or `pool.submit(f, ...)` runs."""
    f = call.func
    if isinstance(f, cst.Attribute) and f.attr.value == "submit":
        args = positional_args(call)
        return args[0] if args else None
    name = (dotted_name(f) or "").rsplit(".", 1)[-1]
    if name == "Thread":
        return keyword_arg(call, "target")
    if name == "Timer":
        args = positional_args(call)
        return args[1] if len(args) > 1 else keyword_arg(call, "function")
    return None

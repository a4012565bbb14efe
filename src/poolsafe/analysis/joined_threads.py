"""Threads and thread-pool tasks that a function waits for before it returns.

A function that starts threads and joins them, or submits tasks to a thread pool it
shuts down (`with ThreadPoolExecutor() as pool:`), leaves no worker thread behind:
each thread has ended, and what it held on its own (a Django connection kept in the
thread's storage) goes with it. Read by PS107 for one-shot code (a management
command's `handle()` that does not loop for ever): there the threads' connections
last no longer than the command's process.

The shapes:

- `t = Thread(target=f)` with `t.join()` in the same function;
- `t = Thread(...)` appended to a list (`threads.append(t)`), or a list built of
  threads (`threads = [Thread(target=f, args=(x,)) for x in xs]`), joined in a loop
  over that list (`for t in threads: t.join()`, `[t.join() for t in threads]`);
- `pool.submit(f, ...)` / `pool.map(f, ...)` inside `with ThreadPoolExecutor(...) as
  pool:` (its exit waits for the tasks and ends the workers), or on an executor the
  function shuts down (`pool.shutdown()`, not `wait=False`).

A join with a timeout (`t.join(5)`) waits at most that long: the thread may go on.
A join in a nested function or class body is not the starter's.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, keyword_arg, positional_args

#: executor methods that hand a task to the pool's worker threads
_TASK_METHODS = frozenset({"submit", "map"})


def joined_before_return(body: cst.CSTNode, call: cst.Call) -> bool:
    """Whether the thread `call` builds (`Thread(...)`, `Timer(...)`) or the task it
    submits (`pool.submit(f)`, `pool.map(f, xs)`) has ended when the function whose
    body is `body` returns."""
    f = call.func
    if isinstance(f, cst.Attribute) and f.attr.value in _TASK_METHODS:
        return _pool_closed(body, call, f.value)
    return _thread_joined(body, call)


def _pool_closed(body: cst.CSTNode, call: cst.Call, pool: cst.BaseExpression) -> bool:
    if not isinstance(pool, cst.Name):
        return False
    name = pool.value
    for node in iter_nodes(body):
        if isinstance(node, cst.With) and any(
                isinstance(item.asname, cst.AsName) and isinstance(item.asname.name, cst.Name)
                and item.asname.name.value == name for item in node.items) \
                and any(n is call for n in iter_nodes(node.body)):
            return True
        if isinstance(node, cst.Call) and _method_on(node, name, "shutdown"):
            wait = keyword_arg(node, "wait")
            given = positional_args(node)
            flag = wait if wait is not None else (given[0] if given else None)
            if not (isinstance(flag, cst.Name) and flag.value == "False"):
                return True
    return False


def _thread_joined(body: cst.CSTNode, call: cst.Call) -> bool:
    bound: str | None = None  # `t = Thread(...)`
    listed: str | None = None  # `threads = [Thread(...) for ...]`
    for node in iter_nodes(body):
        if isinstance(node, cst.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0].target, cst.Name):
            target = node.targets[0].target.value
            if node.value is call:
                bound = target
            elif isinstance(node.value, cst.ListComp) and node.value.elt is call:
                listed = target
    if bound is None and listed is None:
        return False
    joined, joined_lists, appended = _joins(body)
    if bound is not None:
        # a thread bound in a loop is joined by name only in that loop's rounds
        # (`for x in xs: t = Thread(...); t.start(); t.join()`); after the loop, the
        # name is the last round's thread alone
        loop = _innermost_loop(body, call)
        if bound in (joined if loop is None else _joins(loop)[0]):
            return True
        if any(bound in names and lst in joined_lists for lst, names in appended.items()):
            return True
    return listed is not None and listed in joined_lists


def _innermost_loop(body: cst.CSTNode, call: cst.Call) -> cst.CSTNode | None:
    """The body of the innermost `for` / `while` loop of `body` holding `call`."""
    found: cst.CSTNode | None = None
    for node in iter_nodes(body):
        if isinstance(node, (cst.For, cst.While)) \
                and any(n is call for n in iter_nodes(node.body)):
            found = node.body  # pre-order: a nested loop comes after its parent
    return found


def _joins(body: cst.CSTNode) -> tuple[set[str], set[str], dict[str, set[str]]]:
    """The names joined (`t.join()`), the lists whose every element is joined (`for t
    in threads: t.join()`), and what each list has appended to it."""
    joined: set[str] = set()
    joined_lists: set[str] = set()
    appended: dict[str, set[str]] = {}
    for node in iter_nodes(body):
        if isinstance(node, cst.Call):
            f = node.func
            if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name):
                if f.attr.value == "join" and not node.args:
                    joined.add(f.value.value)
                elif f.attr.value == "append" and len(node.args) == 1 \
                        and isinstance(node.args[0].value, cst.Name):
                    appended.setdefault(f.value.value, set()).add(node.args[0].value.value)
        elif isinstance(node, cst.For) and isinstance(node.target, cst.Name) \
                and isinstance(node.iter, cst.Name) \
                and _joins_name(node.body, node.target.value):
            joined_lists.add(node.iter.value)
        elif isinstance(node, cst.ListComp) and len(_comp_fors(node.for_in)) == 1 \
                and isinstance(node.for_in.target, cst.Name) \
                and isinstance(node.for_in.iter, cst.Name) \
                and isinstance(node.elt, cst.Call) \
                and _method_on(node.elt, node.for_in.target.value, "join") \
                and not node.elt.args:
            joined_lists.add(node.for_in.iter.value)
    return joined, joined_lists, appended


def _joins_name(body: cst.CSTNode, name: str) -> bool:
    return any(isinstance(n, cst.Call) and _method_on(n, name, "join") and not n.args
               for n in iter_nodes(body))


def _method_on(call: cst.Call, name: str, method: str) -> bool:
    f = call.func
    return isinstance(f, cst.Attribute) and f.attr.value == method \
        and isinstance(f.value, cst.Name) and f.value.value == name


def _comp_fors(for_in: cst.CompFor) -> list[cst.CompFor]:
    out = [for_in]
    while out[-1].inner_for_in is not None:
        inner = out[-1].inner_for_in
        assert inner is not None
        out.append(inner)
    return out

"""Whether a direct synchronous driver connection ends with its function's frame.

PS102's direct-connection policy (issue 31): a connection of its own from a
synchronous driver (`psycopg2.connect()`, `pymysql.connect()`, ...), held only in a
local variable, closed on the normal path and missed only where an exception leaves
the function, is closed by CPython's reference counting when the exception unwinds
the frame: it holds no pool slot, and its server slot lives only until the
traceback is released. It cannot outlive the call when nothing keeps another
reference to it: it is not returned or yielded (nor is the function a generator,
which a consumer may keep suspended), not stored on an attribute, in a container or
a global, not captured by a nested function or a lambda, not handed to a thread, an
executor or a callback registration, nor to a project function or class that may
keep it (the rows its cursor fetches are values: handing them on hands on nothing);
and the function does not catch an exception and go on holding it (an
`except` that neither re-raises, returns, drops nor closes the connection, such as
a retry loop that sleeps and tries again: the dead-but-open connection stays open
for that time; the handler of the function's last `try` leaves the function when it
completes, as a `return` does). Where the analysis cannot tell, the connection is taken to outlive
the call.
"""

from __future__ import annotations

import weakref

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.values import ClassRef, FunctionRef

_STRICT_MEMO: weakref.WeakKeyDictionary[ProjectIndex, dict[str, bool]] = (
    weakref.WeakKeyDictionary())


def strict_direct_connections(index: ProjectIndex, module: ModuleInfo) -> bool:
    """`direct-connections = "strict"`: in the configuration the scan read
    (`ProjectConfig`), or in the `[tool.poolsafe]` table of the project's own
    pyproject.toml (as `pgbouncer = true` is read for PS210: an in-memory project,
    such as a rule case, has no configuration of its own but that file)."""
    if index.config.direct_connections == "strict":
        return True
    from poolsafe.analysis.deploy_files import project_files

    files = project_files(index, module)
    memo = _STRICT_MEMO.setdefault(index, {})
    key = str(files.root)
    if key not in memo:
        memo[key] = files.poolsafe_settings().get("direct-connections") == "strict"
    return memo[key]


#: the last name of a callee that keeps what it is given past the call: threads,
#: executors, event loops, callback and finalizer registrations, containers
_KEEPING_CALLS = frozenset({
    "Thread", "Timer", "Process", "start_new_thread", "submit", "map", "imap",
    "imap_unordered", "starmap", "apply_async", "map_async", "run_in_executor",
    "to_thread", "create_task", "ensure_future", "call_soon", "call_soon_threadsafe",
    "call_later", "call_at", "add_done_callback", "register", "connect", "finalize",
    "partial", "ref", "proxy", "setattr", "setdefault", "append", "appendleft", "add",
    "put", "put_nowait", "insert", "extend", "update", "push", "enter_context",
    "callback", "set", "add_job", "schedule", "delay", "apply", "send",
})

#: methods whose result keeps a reference to the connection (a cursor does)
_HOLDING_METHODS = frozenset({"cursor"})

#: attributes of the DB-API drivers' connections (and of psycopg 3's `conn.info`)
#: whose value is a plain string, number or flag, never an object that keeps the
#: connection: `self.isolation_level = conn.isolation_level` stores the value only
_VALUE_ATTRIBUTES = frozenset({
    "isolation_level", "autocommit", "encoding", "server_version", "protocol_version",
    "status", "closed", "dsn", "readonly", "deferrable", "in_transaction",
    "total_changes", "backend_pid", "transaction_status", "connection_id", "charset",
    "collation",
})


def dies_with_frame(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                    var: str, *, retries_only: bool = False,
                    handed_on: bool = False, handlers: bool = True) -> bool:
    """The connection `call` returns, bound to the local `var` of `func`, cannot
    outlive the call, and no `except` of `func` goes on holding it (that last question
    is skipped with `handlers=False`: code that runs once per process, where a
    connection a handler goes on holding is dropped by the next turn's, or by the
    process exit, at worst). With
    `retries_only` (every normal path of the function releases it, so a handler that
    goes on leads to that release), only a handler in a loop with the checkout (a
    retry that sleeps and tries again) counts as going on holding it. With
    `handed_on` (the question is only the way out by an exception), a `return` of it
    that is the last statement of the function's own body (a factory's `return conn`)
    is no escape: an exception before it leaves the connection in the frame alone."""
    if "." in var or (_is_generator(func) and not _yields_under_close(func, var)):
        return False
    body = func.node.body
    for node in iter_nodes(body):
        if isinstance(node, (cst.Global, cst.Nonlocal)) and any(
                n.name.value == var for n in node.names):
            return False
    aliases = _aliases(index, func, var)
    final = body.body[-1] if handed_on and isinstance(body, cst.IndentedBlock) \
        and body.body else None
    hand_off = final.body[0] if isinstance(final, cst.SimpleStatementLine) \
        and len(final.body) == 1 and isinstance(final.body[0], cst.Return) else None
    if _escapes(index, func, aliases, 0, hand_off):
        return False
    return not handlers or not _caught_while_held(index, func, call, aliases, retries_only)


def _is_generator(func: FunctionInfo) -> bool:
    return any(isinstance(n, cst.Yield) for n in iter_nodes(func.node.body))


def _yields_under_close(func: FunctionInfo, var: str) -> bool:
    """Every `yield` of the generator `func` lies in the body of a `try` whose `finally`
    closes `var` (`conn = connect()` ... `try:` ... `yield rows` ... `finally:
    conn.close()`): wherever a consumer leaves the generator suspended, closing or
    collecting it runs that `finally`; an exception before the `try` comes before the
    first `yield`, when nothing can hold the generator suspended, and ends it as it
    would end a function."""
    covered: set[int] = set()
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Try) and node.finalbody is not None \
                and _closes_first(node.finalbody, var):
            covered.update(id(n) for n in iter_nodes(node.body) if isinstance(n, cst.Yield))
    return all(id(n) in covered for n in iter_nodes(func.node.body) if isinstance(n, cst.Yield))


def _closes_first(final: cst.Finally, var: str) -> bool:
    """The `finally` block reaches `var.close()` with nothing before it but other
    `close()` calls (`cursor.close()`): a `commit()` before the close may raise and
    skip it, and that gap stays the generator's."""
    for stmt in final.body.body:
        calls = [n for n in iter_nodes(stmt) if isinstance(n, cst.Call)]
        if any(isinstance(c.func, cst.Attribute) and c.func.attr.value == "close"
               and isinstance(c.func.value, cst.Name) and c.func.value.value == var
               for c in calls):
            return True
        if not isinstance(stmt, cst.SimpleStatementLine) or not calls or any(
                not (isinstance(c.func, cst.Attribute) and c.func.attr.value == "close")
                for c in calls):
            return False
    return False


def _mentions(node: cst.CSTNode, names: set[str]) -> bool:
    """A plain name of `names` read anywhere under `node`, nested scopes included."""
    return any(isinstance(n, cst.Name) and n.value in names
               for n in iter_nodes(node, into_functions=True))


def _carries(index: ProjectIndex, func: FunctionInfo, value: cst.BaseExpression,
             names: set[str]) -> bool:
    """`value` may evaluate to one of `names`, something holding it (a tuple, a list, a
    cursor), or what a project function or class made of it."""
    if isinstance(value, cst.Name):
        return value.value in names
    if isinstance(value, cst.Await):
        return _carries(index, func, value.expression, names)
    if isinstance(value, cst.Call):
        f = value.func
        if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) \
                and f.value.value in names:
            return f.attr.value in _HOLDING_METHODS
        if any(_hands_on(a.value, names) for a in value.args):
            return _callee_keeps(index, func, value, 0) or _looks_like_class(f)
        return False
    if isinstance(value, (cst.Tuple, cst.List, cst.Set, cst.Dict, cst.IfExp,
                          cst.BooleanOperation, cst.NamedExpr)):
        return _mentions(value, names)
    return False


def _looks_like_class(f: cst.BaseExpression) -> bool:
    name = dotted_name(f)
    return name is not None and name.rsplit(".", 1)[-1][:1].isupper()


def _local_target(target: cst.BaseExpression) -> bool:
    """A plain local name, or an unpacking into plain local names."""
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(_local_target(e.value) for e in target.elements)
    return False


def _callee_keeps(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                  depth: int) -> bool:
    """A project callee that may keep or return what it is given: a class (its object
    may keep it), a generator, or a function whose parameters escape it (looked into
    two calls deep; further down, assumed to)."""
    target = index.evaluate(call.func, func.module, func)
    if isinstance(target, ClassRef):
        return True
    if not isinstance(target, FunctionRef):
        return False
    callee = target.func
    if depth >= 2 or callee.node is func.node or _is_generator(callee):
        return True
    params = set(callee.all_param_names()) - {"self", "cls"}
    return _escapes(index, callee, params, depth + 1)


def _targets(node: cst.CSTNode) -> list[cst.BaseExpression]:
    if isinstance(node, cst.Assign):
        return [t.target for t in node.targets]
    if isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        return [node.target]
    if isinstance(node, cst.WithItem) and node.asname is not None:
        return [node.asname.name]
    if isinstance(node, cst.NamedExpr):
        return [node.target]
    return []


def _value(node: cst.CSTNode) -> cst.BaseExpression | None:
    if isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
        return node.value
    if isinstance(node, cst.WithItem):
        return node.item
    if isinstance(node, cst.NamedExpr):
        return node.value
    return None


def _aliases(index: ProjectIndex, func: FunctionInfo, var: str) -> set[str]:
    """`var` and the locals that may hold it or something that holds it."""
    names = {var}
    bindings = [n for n in iter_nodes(func.node.body) if _targets(n)]
    changed = True
    while changed:
        changed = False
        for node in bindings:
            value = _value(node)
            if value is None or not _carries(index, func, value, names):
                continue
            for target in _targets(node):
                for n in iter_nodes(target):
                    if isinstance(n, cst.Name) and n.value not in names:
                        names.add(n.value)
                        changed = True
    return names


def _escapes(index: ProjectIndex, func: FunctionInfo, names: set[str], depth: int,
             hand_off: cst.Return | None = None) -> bool:
    """One of `names` leaves the call: returned, stored somewhere else than a plain
    local, captured by a nested scope, or handed to a call that may keep it
    (`hand_off`, the function's last `return`, aside)."""
    for node in iter_nodes(func.node.body):
        if node is hand_off:
            continue
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)) \
                and node is not func.node and _captures(func.module, node, names):
            return True  # captured (or rebound) in a nested scope
        if isinstance(node, cst.Return) and node.value is not None \
                and _carries_out(node.value, names):
            return True
        value = _value(node)
        if value is not None and _mentions(value, names) and any(
                not _local_target(t) for t in _targets(node)) and _carries_out(value, names):
            return True  # `self.conn = conn`, `cache[key] = conn`, `a.b, c = conn, cur`
        if isinstance(node, cst.Call) and any(_hands_on(a.value, names) for a in node.args):
            name = dotted_name(node.func) or ""
            last = name.rsplit(".", 1)[-1]
            if last in _KEEPING_CALLS:
                return True
            if _callee_keeps(index, func, node, depth):
                return True  # a project function or class may keep it
    return False


#: cursor methods that return fetched rows: plain values (tuples, dicts, a row factory's
#: objects) that keep no reference to the cursor or its connection
_FETCH_METHODS = frozenset({"fetchone", "fetchall", "fetchmany"})


def _hands_on(value: cst.BaseExpression, names: set[str]) -> bool:
    """An argument that may carry one of `names`: it mentions one other than as the
    receiver of a fetch (`cur.fetchone()[0].split(".")`, `cur.fetchall()` are rows,
    not the cursor; `cur`, `cur.execute`, `lambda: cur.execute(q)` are not)."""
    stack: list[cst.CSTNode] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and isinstance(node.func.value, cst.Name) and node.func.value.value in names \
                and node.func.attr.value in _FETCH_METHODS:
            stack.extend(a.value for a in node.args)
            continue
        if isinstance(node, cst.Name) and node.value in names:
            return True
        stack.extend(node.children)
    return False


def _captures(module: ModuleInfo, node: cst.CSTNode, names: set[str]) -> bool:
    """The nested scope `node` reads one of `names` from the enclosing function: a
    lambda or class that mentions it, or a nested `def` that mentions it without
    binding a name of its own by that spelling (`conn = get_connection()` inside a
    nested `def show_graph():` is the nested function's own connection, not the
    enclosing one's), in its own body or in a `def` nested in it; its decorators and
    defaults, and a `nonlocal`/`global` of the name, always count."""
    info = module.by_node.get(id(node)) if isinstance(node, cst.FunctionDef) else None
    if info is None:
        return _mentions(node, names)
    assert isinstance(node, cst.FunctionDef)
    if any(_mentions(d, names) for d in node.decorators) or _mentions(node.params, names):
        return True
    for n in iter_nodes(node.body, into_functions=True):
        if isinstance(n, (cst.Nonlocal, cst.Global)) \
                and any(item.name.value in names for item in n.names):
            return True
    free = {n for n in names if n not in info.locals and n not in info.all_param_names()}
    if not free:
        return False
    for n in iter_nodes(node.body):
        if isinstance(n, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            if _captures(module, n, free):
                return True
        elif isinstance(n, cst.Name) and n.value in free:
            return True
    return False


def _carries_out(value: cst.BaseExpression, names: set[str]) -> bool:
    """`value` may be (or contain) one of `names` itself, or a bound method of it
    (`conn.close`), not only what a call on it returns (`cur.fetchall()`)."""
    stack: list[cst.CSTNode] = [value]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Name):
            if cur.value in names:
                return True
            continue
        if isinstance(cur, cst.Call):
            f = cur.func
            # `conn.cursor()` and `Wrapper(conn)` hold it; `cur.fetchall()`,
            # `len(rows)` do not
            if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) \
                    and f.value.value in names and f.attr.value in _HOLDING_METHODS:
                return True
            if _looks_like_class(f) and any(_mentions(a.value, names) for a in cur.args):
                return True
            stack.extend(a.value for a in cur.args if not isinstance(a.value, cst.Name))
            continue
        if isinstance(cur, cst.Attribute):
            if cur.attr.value in _VALUE_ATTRIBUTES:
                continue  # `conn.isolation_level`, `conn.info.backend_pid`: a plain value
            if isinstance(cur.value, cst.Name) and cur.value.value in names:
                return True  # `conn.close`, `conn.info`: the bound object keeps it
            stack.append(cur.value)
            continue
        if isinstance(cur, (cst.Lambda, cst.FunctionDef)):
            if _mentions(cur, names):
                return True
            continue
        stack.extend(cur.children)
    return False


def _caught_while_held(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                       names: set[str], retries_only: bool = False) -> bool:
    """An `except` of `func` that may run while the connection is bound (its `try`
    ends after the checkout, or shares a loop with it), is not part of a release,
    and neither re-raises, returns, closes nor drops the connection: the function
    goes on holding a connection that an error may have left dead but open."""
    order: dict[int, int] = {}
    for i, node in enumerate(iter_nodes(func.node.body)):
        order[id(node)] = i
    at = order.get(id(call))
    if at is None:
        return True  # (not in the function's own body: cannot tell)
    loops_with_call: list[tuple[int, int]] = []
    loops: list[tuple[int, int]] = []
    for node in iter_nodes(func.node.body):
        if isinstance(node, (cst.For, cst.While)):
            start, end = _span(node, order)
            loops.append((start, end))
            if start < at <= end:
                loops_with_call.append((start, end))
    for t in func.tries:
        if id(t) not in order:
            continue
        start, end = _span(t, order)
        in_loop = any(ls < start <= le for ls, le in loops_with_call)
        if end <= at and not in_loop:
            continue  # over before the checkout
        if retries_only and not any(ls < start <= le for ls, le in loops):
            continue  # a handler that goes on, on its way to the release
        if not _mentions(t.body, names) or _only_releases(index, func, t.body, names):
            # an error of work that does not touch the connection leaves it alive;
            # `try: conn.close()` / `except Exception: pass` is part of a release
            continue
        last = t is _last_statement(func)
        for handler in t.handlers:
            if not last and not _lets_go(index, func, handler.body, names):
                return True
    return False


def _last_statement(func: FunctionInfo) -> cst.CSTNode | None:
    """The last statement of the function's own body: a handler of a `try` there that
    completes falls off the end of the function, which returns (nothing is held after
    it but by the frame)."""
    body = func.node.body
    if isinstance(body, cst.IndentedBlock) and body.body:
        return body.body[-1]
    return None


def _span(node: cst.CSTNode, order: dict[int, int]) -> tuple[int, int]:
    start = order[id(node)]
    end = start
    for sub in iter_nodes(node):
        end = max(end, order.get(id(sub), end))
    return start, end


def _released(index: ProjectIndex, func: FunctionInfo, node: cst.CSTNode,
              names: set[str]) -> bool:
    return bool(index.released_names(node, func) & names)


def _only_releases(index: ProjectIndex, func: FunctionInfo, body: cst.BaseSuite,
                   names: set[str]) -> bool:
    """Every statement of the block releases the connection (or is `pass`)."""
    stmts = body.body if isinstance(body, cst.IndentedBlock) else [body]
    seen = False
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine) and all(
                isinstance(s, cst.Pass) for s in stmt.body):
            continue
        if not isinstance(stmt, cst.CSTNode) or not _released(index, func, stmt, names):
            return False
        seen = True
    return seen


def _lets_go(index: ProjectIndex, func: FunctionInfo, body: cst.BaseSuite,
             names: set[str]) -> bool:
    """The handler ends by leaving the function (`raise`, `return`), or closes or
    drops the connection (`conn.close()`, `conn = None`, `del conn`)."""
    stmts = list(body.body) if isinstance(body, cst.IndentedBlock) else [body]
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, cst.SimpleStatementLine) and isinstance(
            last.body[-1], (cst.Raise, cst.Return)):
        return True
    for stmt in stmts:
        if not isinstance(stmt, cst.CSTNode):
            continue
        if _released(index, func, stmt, names):
            return True
        for node in iter_nodes(stmt):
            if isinstance(node, cst.Del) and _mentions(node, names):
                return True
            if isinstance(node, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value in names
                    for t in node.targets):
                return True
    return False


def objects_die_with_frame(index: ProjectIndex, cls: ClassInfo) -> bool:
    """Every object of `cls` the project makes is made as the context expression of a
    `with` item (`with Db(dsn) as db:`, `async with`), bound to a plain local or to
    nothing, and no project class derives from `cls`: the object lives in the frame
    of the function that holds the `with`, and when its `__enter__` / `__exit__`
    raises before closing a direct connection kept on `self`, the exception unwinds
    that frame and reference counting frees the object and closes the connection
    (measured by benchmarks/policy88_normal_path.py: 0 server connections left once
    the caller's `except` is done). At least one such construction is needed."""
    from poolsafe.analysis.cstutil import children
    from poolsafe.analysis.project_facts import facts

    for module in index.modules_mentioning([cls.name]):
        for other in module.classes.values():
            if any(isinstance(b, ClassRef) and b.cls is cls
                   for b in (index.evaluate(base.value, module, None)
                             for base in other.node.bases)):
                return False
    found = False
    for site in facts(index).call_sites(cls.name):
        callee = index.evaluate(site.call.func, site.module, site.func)
        if not isinstance(callee, ClassRef) or callee.cls is not cls:
            continue
        top: cst.CSTNode = site.func.node if site.func is not None else site.module.tree
        item: cst.WithItem | None = None
        for node in iter_nodes(top):
            if isinstance(node, cst.WithItem) and node.item is site.call:
                item = node
                break
            if any(child is site.call for child in children(node)):
                return False  # made anywhere else: the object may be kept
        if item is None:
            return False
        if item.asname is not None and not isinstance(item.asname.name, cst.Name):
            return False
        found = True
    return found

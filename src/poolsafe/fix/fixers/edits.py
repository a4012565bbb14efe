"""Building blocks the rule fixers share: locating nodes, building statements, naming
the release of a checkout, and wrapping a checkout's region in `try`/`finally` (or a
`with` block) while moving the happy-path releases into it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from poolsafe.analysis.cstutil import (
    JUMP_STATEMENTS,
    bound_names,
    call_name,
    children,
    dotted_name,
    iter_calls,
    iter_nodes,
    strip_await,
    subscript_key,
)
from poolsafe.analysis.declared_drivers import declared_requirements
from poolsafe.analysis.flow import (
    AcquireSite,
    call_may_raise,
    cursor_owners,
    escaping_names,
    holds_for_checkout,
    is_pytest_fixture,
)
from poolsafe.analysis.index import ProjectIndex, method_alias
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.module import enclosing_function as enclosing_function  # re-exported
from poolsafe.analysis.resolution import inventory, resolve
from poolsafe.analysis.values import (
    ClassRef,
    Connection,
    FunctionRef,
    LibraryObject,
    ManagedContext,
)
from poolsafe.analysis.version_caps import caps_below
from poolsafe.fix.equivalence.releases import unrecognised_release
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.knowledge import (
    ACQUIRE_METHOD_NAMES,
    CLOSE_METHODS,
    CONNECTION_KINDS,
    POOL_RELEASE_METHODS,
)

if TYPE_CHECKING:  # the fixers' context; no import at run time
    from poolsafe.rules.base import FileContext

#: connection kinds whose acquiring call is also a context manager that does
#: exactly what `close()` does on exit (no commit): the fix prefers `with` for them
WITH_PREFERRED = frozenset(
    {"sqlalchemy-connection", "sqlalchemy-async-connection", "session", "async-session",
     "asyncpg-pool"})

_STORING = frozenset(
    {"append", "appendleft", "add", "put", "put_nowait", "insert", "extend", "setdefault",
     "update", "push", "register", "enter_context", "callback", "push_async_callback",
     "enter_async_context", "set",
     # stored under a key or attribute by hand (`cache.__setitem__(k, conn)`)
     "__setitem__", "__setattr__",
     # scheduled to run later, in a thread or a task that may outlive the call
     # (`executor.submit(work, conn)`, `asyncio.create_task(work(conn))`): a `finally`
     # would close what that work is still to use
     "submit", "create_task", "ensure_future", "run_in_executor", "start_new_thread",
     "apply_async", "call_soon", "call_soon_threadsafe", "call_later", "call_at",
     "run_coroutine_threadsafe", "add_task", "spawn"})
#: builtins that store their argument on another object (`setattr(box, "conn", conn)`)
_STORING_BUILTINS = frozenset({"setattr"})

_LOOPS = (cst.For, cst.While)
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


# ------------------------------------------------------------------ locating
_PARENTS: dict[int, tuple[cst.CSTNode, dict[int, cst.CSTNode]]] = {}


def parent_map(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    """id(node) -> parent for every node under `root` (the last few trees are cached)."""
    cached = _PARENTS.get(id(root))
    if cached is not None and cached[0] is root:
        return cached[1]
    parents = _build_parents(root)
    remember_parents(root, parents)
    return parents


def remember_parents(root: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> None:
    """Make `parents` (complete for `root`, as `_build_parents` gives it) the answer
    of `parent_map(root)`, e.g. one recorded by the walk that collected the module."""
    if len(_PARENTS) > 16:
        _PARENTS.clear()
    _PARENTS[id(root)] = (root, parents)


def _build_parents(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    parents: dict[int, cst.CSTNode] = {}
    stack = [root]
    while stack:
        cur = stack.pop()
        for child in children(cur):
            parents[id(child)] = cur
            stack.append(child)
    return parents


def ancestors(node: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> Iterator[cst.CSTNode]:
    cur = parents.get(id(node))
    while cur is not None:
        yield cur
        cur = parents.get(id(cur))


def statement_line(node: cst.CSTNode,
                   parents: dict[int, cst.CSTNode]) -> cst.SimpleStatementLine | None:
    """The `SimpleStatementLine` holding `node` when it is its only small statement."""
    small: cst.CSTNode | None = None
    for anc in (node, *ancestors(node, parents)):
        if isinstance(anc, cst.BaseSmallStatement) and small is None:
            small = anc
        if isinstance(anc, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            if isinstance(anc, cst.SimpleStatementLine) and len(anc.body) == 1:
                return anc
            return None
        if isinstance(anc, cst.BaseCompoundStatement):
            return None
    return None


def top_level_statement(node: cst.CSTNode, parents: dict[int, cst.CSTNode],
                        module: cst.Module) -> cst.CSTNode | None:
    prev: cst.CSTNode = node
    for anc in ancestors(node, parents):
        if anc is module:
            return prev
        prev = anc
    return None


def in_finally(node: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> bool:
    for anc in ancestors(node, parents):
        if isinstance(anc, cst.Finally):
            return True
        if isinstance(anc, _SCOPES):
            return False
    return False


# ------------------------------------------------------------------ building
def lift_blank_lines(stmts: list[cst.BaseStatement]
                     ) -> tuple[list[cst.EmptyLine], list[cst.BaseStatement]]:
    """The blank lines above the first of `stmts` (those before its first comment),
    and `stmts` with them taken off: a new block around the statements starts with
    its first statement, the blank lines go above the block, and a comment stays with
    the statement it is written above."""
    out = list(stmts)
    first = out[0] if out else None
    if not isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return [], out
    lines = list(first.leading_lines)
    blanks: list[cst.EmptyLine] = []
    while lines and lines[0].comment is None:
        blanks.append(lines.pop(0))
    out[0] = first.with_changes(leading_lines=lines)
    return blanks, out


def parse_line(module: cst.Module, code: str) -> cst.SimpleStatementLine:
    stmt = cst.parse_statement(code + module.default_newline, config=module.config_for_parsing)
    assert isinstance(stmt, cst.SimpleStatementLine)
    return stmt


#: (code, encoding, indent, newline) -> whether `parse_line` accepts it
_LINE_PARSES: dict[tuple[str, str, str, str], bool] = {}


def check_line(module: cst.Module, code: str) -> None:
    """Raise where `parse_line(module, code)` would (a plan made `check_only` builds no
    statement, but fails as the full plan does); remembered per text."""
    key = (code, module.encoding, module.default_indent, module.default_newline)
    ok = _LINE_PARSES.get(key)
    if ok is None:
        try:
            parse_line(module, code)
            ok = True
        except Exception:
            ok = False
        if len(_LINE_PARSES) > 4096:
            _LINE_PARSES.clear()
        _LINE_PARSES[key] = ok
    if not ok:
        raise ValueError(f"not a statement: {code!r}")


def parse_expr(module: cst.Module, code: str) -> cst.BaseExpression:
    return cst.parse_expression(code, config=module.config_for_parsing)


def as_block(suite: cst.BaseSuite) -> cst.IndentedBlock:
    if isinstance(suite, cst.IndentedBlock):
        return suite
    assert isinstance(suite, cst.SimpleStatementSuite)
    return cst.IndentedBlock(body=[cst.SimpleStatementLine(list(suite.body))],
                             header=suite.trailing_whitespace)


def comments_of(line: cst.SimpleStatementLine) -> list[str]:
    out = [e.comment.value for e in line.leading_lines if e.comment is not None]
    if line.trailing_whitespace.comment is not None:
        out.append(line.trailing_whitespace.comment.value)
    return out


def non_empty(stmts: list[cst.BaseStatement], module: cst.Module) -> list[cst.BaseStatement]:
    return stmts or [parse_line(module, "pass")]


def free_name(func: FunctionInfo, preferred: list[str]) -> str:
    taken = set(func.locals) | func.all_param_names() | set(func.module.imports) | set(
        func.module.functions) | set(func.module.assigns)
    for name in preferred:
        if name not in taken:
            return name
    base = preferred[0]
    i = 2
    while f"{base}{i}" in taken:
        i += 1
    return f"{base}{i}"


# ------------------------------------------------------------------- imports
def module_binding(index: ProjectIndex, module: ModuleInfo,
                   target: FunctionInfo | tuple[ModuleInfo, str]) -> str | None:
    """The name under which `target` (a project function or a module-level name) is
    already reachable at the top level of `module`."""
    if isinstance(target, FunctionInfo):
        if target.module is module and target.cls is None and target.parent is None:
            return target.name
        for local in module.imports:
            value = index.lookup_module_name(module, local, 0)
            if isinstance(value, FunctionRef) and value.func is target:
                return local
        return None
    tmod, tname = target
    if tmod is module:
        return tname
    for local, qual in module.imports.items():
        if any(qual == f"{name}.{tname}" for name in tmod.names):
            return local
    return None


def import_path(module: ModuleInfo, target: ModuleInfo) -> str | None:
    """The dotted name `module` already imports `target` under (`infrastructure.db`
    where the file says `from infrastructure.db import get_connection`), else the
    longest name `target` may be imported as. A second path for the same file is a
    second module object: a second pool."""
    used = {qual.rsplit(".", 1)[0] for qual in module.imports.values() if "." in qual}
    used |= set(module.imports.values())
    for name in target.names:
        if name in used:
            return name
    return target.names[0] if target.names else None


def reference(plan: FixPlan, index: ProjectIndex, module: ModuleInfo,
              target: FunctionInfo | tuple[ModuleInfo, str]) -> str | None:
    """A name for `target` usable in `module`, adding an import to the plan if needed."""
    found = module_binding(index, module, target)
    if found is not None:
        return found
    if isinstance(target, FunctionInfo):
        tmod, tname = target.module, target.name
        if target.cls is not None or target.parent is not None:
            return None
    else:
        tmod, tname = target
    path = import_path(module, tmod)
    if path is None or tname in module.imports or tname in module.functions \
            or tname in module.classes or tname in module.assigns:
        return None
    plan.add_import(path, tname)
    return tname


# ------------------------------------------------------------------ releases
def note_release(plan: FixPlan, text: str) -> None:
    """Record in `plan` that `text`, the release it writes or moves, is one (the
    project's own release function, found by what its body does: `db.desconectar(conn)`)
    when the equivalence check would not take it for one by its syntax."""
    try:
        expr = cst.parse_expression(text.removeprefix("await "))
    except cst.ParserSyntaxError:
        return
    name = unrecognised_release(expr) if isinstance(expr, cst.Call) else None
    if name is not None:
        plan.releases.add(name)


@dataclass
class Release:
    """How a checkout is given back: a statement template over the variable."""

    template: str  # e.g. "pool.putconn({var})"
    is_async: bool = False
    description: str = ""

    def code(self, var: str) -> str:
        text = self.template.format(var=var)
        return f"await {text}" if self.is_async else text


def _single_module_assignment(module: ModuleInfo, name: str) -> bool:
    if len(module.assigns.get(name, [])) != 1:
        return False
    return all(name not in f.globals_declared for f in module.all_functions)


def _underlying_pool(index: ProjectIndex, func: FunctionInfo,
                     depth: int = 0) -> tuple[ModuleInfo, str] | None:
    """The module-level pool a project acquire wrapper takes its connections from."""
    if depth > 5:
        return None
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.Return) or node.value is None:
            continue
        value, _ = strip_await(node.value)
        if isinstance(value, cst.Name) and value.value in func.locals:
            bound = [v for v in func.locals[value.value] if isinstance(v, cst.BaseExpression)]
            if len(bound) != 1:
                return None
            value, _ = strip_await(bound[0])
        if not isinstance(value, cst.Call):
            continue
        f = value.func
        if isinstance(f, cst.Attribute) and f.attr.value == "getconn" \
                and isinstance(f.value, cst.Name):
            name = f.value.value
            if name in func.module.assigns and isinstance(
                    index.lookup_module_name(func.module, name, 0), LibraryObject):
                return (func.module, name)
            return None
        callee = index.evaluate(f, func.module, func)
        if isinstance(callee, FunctionRef):
            return _underlying_pool(index, callee.func, depth + 1)
    return None


def plain_pool_wrapper(index: ProjectIndex,
                       func: FunctionInfo) -> tuple[ModuleInfo, str] | None:
    """The module-level pool of an acquire wrapper that does nothing but take a
    connection from it (`return pool.getconn()`, or `conn = pool.getconn()` then
    `return conn`; a docstring aside): calling the pool directly is the same."""
    body = list(func.node.body.body) if isinstance(func.node.body, cst.IndentedBlock) else []
    params = func.node.params
    if params.params or params.posonly_params or params.kwonly_params \
            or isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None \
            or func.cls is not None:
        return None
    for i, stmt in enumerate(body):
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) \
            and len(stmt.body) == 1 else None
        if i == 0 and isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
            continue  # a docstring
        if isinstance(small, (cst.Return, cst.Assign)):
            continue
        return None
    if sum(isinstance(s, cst.SimpleStatementLine) and isinstance(s.body[0], cst.Assign)
           for s in body) > 1:
        return None
    return _underlying_pool(index, func)


def release_wrapper(index: ProjectIndex, acquirer: FunctionInfo,
                    unpacked: tuple[str, ...] = (), direct: bool = False
                    ) -> FunctionInfo | None:
    """A project function that releases its first argument, defined beside the acquire
    wrapper or imported into its module; with `unpacked` (`conn, cur = get_conn()`),
    also one that takes exactly those names (`close_conn(conn, cur)`). For a
    connection of its own (`direct`: the wrapper returns `psycopg2.connect()`), not
    one that hands it to a pool, which would refuse it (`PoolError`)."""
    module = acquirer.module
    candidates: list[FunctionInfo] = [f for f in module.functions.values() if f is not acquirer]
    if acquirer.cls is not None:
        candidates += [f for f in acquirer.cls.methods.values() if f is not acquirer]
    for local in module.imports:
        value = index.lookup_module_name(module, local, 0)
        if isinstance(value, FunctionRef):
            candidates.append(value.func)
    good = []
    for f in candidates:
        positions = index.releaser_positions(f)
        if not positions or f.is_generator or (direct and index.gives_back_to_a_pool(f)):
            continue
        if f.node.params.kwonly_params and any(
                p.default is None for p in f.node.params.kwonly_params):
            continue
        params = [*f.node.params.posonly_params, *f.node.params.params]
        required = [p for p in params[1:] if p.default is None]
        if 0 in positions and not required:
            good.append(f)
        elif unpacked and len(params) == len(unpacked) \
                and not isinstance(f.node.params.star_arg, cst.Param):
            good.append(f)  # called with the unpacked names, as `_release_arguments` does

    def score(f: FunctionInfo) -> int:
        n = f.name.lower()
        return -sum(w in n for w in ("release", "put", "return", "give", "close"))

    good.sort(key=score)
    return good[0] if good else None


def checkout_method(call: cst.Call, func: FunctionInfo | None) -> cst.Attribute | None:
    """`pool.getconn` in `pool.getconn()`, and in `get()` after `get = pool.getconn`
    (poolsafe.analysis.index.method_alias) when the pool's name is not bound in the
    function (then `pool` at the release could be another pool than the alias's)."""
    if isinstance(call.func, cst.Attribute):
        return call.func
    method = method_alias(call.func, func)
    if method is None or func is None:
        return None
    base = dotted_name(method.value)
    if base is None or base.split(".")[0] in func.locals:
        return None
    return method


#: driver methods that run a statement on the connection
_STATEMENT_METHODS = frozenset({"execute", "executemany", "executescript", "callproc",
                                "copy_expert", "copy_from", "copy_to"})


def release_work(wrapper: FunctionInfo, index: ProjectIndex | None = None,
                 depth: int = 0) -> str | None:
    """What the project's release function does besides giving the connection back,
    which the equivalence check cannot see (it sets a release apart) and which runs on
    new paths where the fix puts the release (a `finally`): "commits" (`conn.commit()`
    then `pool.putconn(conn)`), "runs `execute()`" (an audit statement), directly or
    through a project function it calls (with `index`), or "may raise" (a `raise` or
    `assert` of its own: in a `finally` its error replaces the one the original
    raised). None when it does none of these."""
    for node in iter_nodes(wrapper.node.body):
        if isinstance(node, (cst.Raise, cst.Assert)) and depth == 0:
            return "may raise"
        if not isinstance(node, cst.Call):
            continue
        if isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "commit":
                return "commits"
            if node.func.attr.value in _STATEMENT_METHODS:
                return f"runs `{node.func.attr.value}()`"
        if index is not None and depth < 3:
            callee = index.evaluate(node.func, wrapper.module, wrapper)
            if isinstance(callee, FunctionRef) and callee.func is not wrapper:
                found = release_work(callee.func, index, depth + 1)
                if found is not None and found != "may raise":
                    return found
    return None


def release_work_reason(name: str, work: str = "commits") -> str:
    """Why a fix that moves the release function `name` into a `finally` is unsafe:
    the `work` `release_work` found it doing."""
    if work == "may raise":
        return (f"the release function `{name}()` may raise (a `raise` or `assert` of its "
                "own): in the `finally` the fix writes, its error would replace the one "
                "the original raised")
    if work != "commits":
        return (f"the release function `{name}()` also {work}: where the fix runs it (a "
                "`finally`) it runs that statement on paths where the original never "
                "reached it, after one that failed among them")
    return (f"the release function `{name}()` also commits: where the fix runs it (a "
            "`finally`, in place of a `close()`) it commits what the original left "
            "uncommitted, the statements before one that failed among them")


def release_for_site(plan: FixPlan, index: ProjectIndex, module: ModuleInfo,
                     func: FunctionInfo, site: AcquireSite) -> Release | Unfixable:
    """The statement that gives `site`'s checkout back, from the code that acquired it."""
    kind = site.conn.kind
    call = site.call
    is_async = kind.is_async and func.is_async
    if site.conn.via is not None:
        callee = index.evaluate(call.func, module, func)
        if isinstance(callee, FunctionRef):
            wrapper = release_wrapper(index, callee.func, site.unpacked, kind.direct)
            if wrapper is not None:
                ref = reference(plan, index, module, wrapper)
                if ref is None and wrapper.cls is not None \
                        and wrapper.cls is callee.func.cls \
                        and isinstance(call.func, cst.Attribute):
                    # a method beside the acquiring one, reached the same way
                    owner = dotted_name(call.func.value)
                    ref = f"{owner}.{wrapper.name}" if owner else None
                if ref is not None:
                    work = release_work(wrapper, index)
                    if work is not None:
                        plan.mark_unsafe(release_work_reason(wrapper.name, work))
                    # with its real signature: `close_conn(conn, cur)`
                    args = ", ".join("{var}" if a == site.var else a.replace("{", "{{")
                                     for a in _release_arguments(site, wrapper, index))
                    found = Release(f"{ref}({args})", is_async=wrapper.node.asynchronous
                                    is not None, description=f"{wrapper.name}()")
                    note_release(plan, found.code(site.var))
                    return found
            if kind.close_releases:
                return Release("{var}.close()", is_async=is_async and not kind.sync_close,
                               description="close()")
            pool = _underlying_pool(index, callee.func)
            if pool is not None and kind.pool_release and not pool[1].startswith("_") \
                    and _single_module_assignment(*pool):
                ref = reference(plan, index, module, pool)
                if ref is not None:
                    return Release(f"{ref}.{kind.pool_release}({{var}})", is_async=is_async,
                                   description=f"{ref}.{kind.pool_release}()")
            wrapped = _wrapped_pool(site, index, func)  # `Db.pool`, as the finding names it
            if wrapped is not None and kind.pool_release:
                return Release(f"{wrapped}.{kind.pool_release}({{var}})", is_async=is_async,
                               description=f"{wrapped}.{kind.pool_release}()")
        return Unfixable(plan.code, f"no release function found for `{site.conn.via}()`")
    method = checkout_method(call, func)
    if kind.pool_release and method is not None:
        # (a pool whose close() also returns still gets the release the finding named)
        pool_name = dotted_name(method.value)
        if pool_name is None:
            return Unfixable(plan.code, "the pool is not a plain name")
        return Release(f"{pool_name}.{kind.pool_release}({{var}})", is_async=is_async,
                       description=f"{pool_name}.{kind.pool_release}()")
    if kind.self_release_fix:
        # Gino's `await conn.release()`
        return Release(kind.self_release_fix, is_async=is_async,
                       description=kind.self_release_fix.replace("{var}.", ""))
    if kind.close_releases:
        return Release("{var}.close()", is_async=is_async and not kind.sync_close,
                       description="close()")
    return Unfixable(plan.code, f"no known release for a {kind.label}")


def release_written(module: cst.Module, region: Region, var: str) -> Release | None:
    """The release the code already writes, when the statements the fix moves into
    `finally` all read the same and hand `var` to a call (`await Db._pool.release(conn)`,
    `release_db_connection(conn)`, a scoped_session's `session.remove()`): the user's
    own release, which keeps what it does (returning to the pool, not closing;
    discarding the registry's session) and names the pool as the caller can."""
    texts: set[str] = set()
    for node in region.removed:  # (each in `region.stmts`, outside nested scopes)
        call, _ = strip_await(node.value)
        own = isinstance(call, cst.Call) and not call.args \
            and isinstance(call.func, cst.Attribute) and call.func.attr.value == "remove" \
            and isinstance(call.func.value, cst.Name) and call.func.value.value == var
        if not own and (not isinstance(call, cst.Call) or not any(
                isinstance(a.value, cst.Name) and a.value.value == var for a in call.args)):
            return None
        texts.add(module.code_for_node(node.value))
    if len(texts) != 1:
        return None
    text = texts.pop()
    return Release(text.replace("{", "{{").replace("}", "}}"), description=f"`{text}`")


def as_written(module: cst.Module, region: Region, release: Release, var: str,
               acquire_awaited: bool) -> Release:
    """`release`, or the user's own text of it when the statements the fix moves into
    `finally` all await that same call (`await conn.close()` where the project's
    wrapper is taken to hand out a synchronous connection) and the checkout is
    awaited too (`conn = await get_conn()`): the release is kept exactly as the
    original wrote it, never rewritten into a call the original does not make. That
    is what keeps behaviour either way: if the connection is asynchronous, the
    `await` is needed; if it is not, the awaited checkout raises before the `try`,
    so the release is never reached on a path it was not reached on before. An
    awaited release of a checkout that is not awaited keeps `release` (the
    equivalence check then refuses the fix as safe: the original's own `await`
    raises after the close, and the `finally` would raise it on the failure paths
    too). Any other difference keeps `release`."""
    texts: set[str] = set()
    for node in region.removed:
        if not isinstance(node.value, cst.Await):
            return release
        texts.add(module.code_for_node(node.value))
    if len(texts) != 1 or release.is_async or not acquire_awaited:
        return release
    text = texts.pop()
    call, _ = strip_await(cst.parse_expression(text))
    if cst.parse_expression(release.template.format(var=var)).deep_equals(call):
        return Release(text.replace("{", "{{").replace("}", "}}"),
                       description=f"`{text}`, as written")
    return release


# ------------------------------------------------------------- escape checks


def _target_names(target: cst.CSTNode) -> set[str]:
    return {n.value for n in iter_nodes(target) if isinstance(n, cst.Name)} if not isinstance(
        target, cst.Attribute | cst.Subscript) else set()


#: the node types `escape_reason` looks at
_ESCAPE_TYPES = frozenset({
    cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.Return, cst.Global, cst.Nonlocal, cst.Del,
    cst.Assign, cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.For, cst.CompFor, cst.AsName,
    cst.Call, cst.With})


#: builtins that consume their arguments before they return: nothing they give back
#: reads a cursor afterwards
_EAGER = frozenset({"list", "tuple", "set", "frozenset", "dict", "sorted", "sum", "len", "min",
                    "max", "any", "all", "str", "repr", "int", "float", "bool", "print"})
#: driver methods that, returned uncalled, use the connection when called later
_BOUND = frozenset({"fetchone", "fetchall", "fetchmany", "execute", "executemany", "callproc",
                    "scroll", "cursor", "commit", "rollback", "__iter__", "__next__"})
#: callables whose result reads their arguments later, when it is iterated or called
_LAZY = frozenset({"iter", "map", "filter", "zip", "enumerate", "reversed", "partial",
                   "getattr"})
#: attributes of a connection or cursor that are the connection itself
_OWNER_ATTRIBUTES = frozenset({"connection"})


def _returns_lazily(expr: cst.BaseExpression, names: set[str],
                    lazy_call: Callable[[cst.Call], bool] | None = None) -> bool:
    """Whether a returned `expr` reads the connection or one of its cursors (`names`)
    after the function has returned, where a `finally` would already have closed it:
    a lambda or generator expression that uses them (`(r for r in cur)`), a bound
    method (`cur.fetchone`, `getattr(cur, "fetchall")`), a lazy wrapper of them
    (`map(tuple, cur)`, `iter(cur)`, `partial(cur.execute, sql)`), a call `lazy_call`
    says reads its arguments later (the project's own generator function, `rows(cur)`),
    or the connection through a cursor (`cur.connection`). What an eager builtin
    builds from them (`list(cur)`, `[r for r in cur]`) holds no cursor."""
    def uses(node: cst.CSTNode) -> bool:
        return any(isinstance(n, cst.Name) and n.value in names
                   for n in iter_nodes(node, into_functions=True))
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Lambda, cst.GeneratorExp)):
            if uses(node):
                return True
            continue
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value in names \
                    and node.attr.value in _BOUND | _OWNER_ATTRIBUTES:
                return True  # not called: a bound method (`cur.rowcount` is a value)
            stack.append(node.value)
            continue
        if isinstance(node, cst.Call):
            name = dotted_name(node.func)
            last = name.rsplit(".", 1)[-1] if name else None
            if last in _EAGER and name == last:
                continue
            if isinstance(node.func, cst.Attribute):
                stack.append(node.func.value)  # `cur.fetchone()` is a call, not a method
            else:
                stack.append(node.func)
            if (last in _LAZY or (name or "").startswith("itertools.")
                    or (lazy_call is not None and lazy_call(node))) \
                    and any(uses(a.value) for a in node.args):
                return True
            stack.extend(a.value for a in node.args)
            continue
        stack.extend(children(node))
    return False


def holder_names(stmts: list[cst.BaseStatement], var: str,
                 lazy_call: Callable[[cst.Call], bool] | None = None) -> dict[str, str]:
    """`cursor_names`, and the local names bound by a plain `name = value` to what
    carries the connection out when it is returned, yielded or stored later: a list or
    tuple of its cursors (`res = [cur]`), or a reader of them that runs later
    (`g = (r for r in cur)`, `fetch = cur.fetchone`, `f = partial(work, conn)`), each
    mapped to `var`; followed through further names (`h = g`)."""
    held = cursor_names(stmts, var)
    changed = True
    while changed:
        changed = False
        for stmt in stmts:
            for node in iter_nodes(stmt):
                if isinstance(node, cst.Assign) and len(node.targets) == 1:
                    target: cst.CSTNode = node.targets[0].target
                    value: cst.BaseExpression | None = node.value
                elif isinstance(node, (cst.AnnAssign, cst.NamedExpr)):
                    target, value = node.target, node.value
                else:
                    continue
                if isinstance(target, (cst.Tuple, cst.List)) \
                        and isinstance(value, (cst.Tuple, cst.List)) \
                        and len(target.elements) == len(value.elements) \
                        and not any(isinstance(e, cst.StarredElement)
                                    for e in (*target.elements, *value.elements)):
                    # `a, cur = 1, conn.cursor()`: each name with its own value
                    for t_el, v_el in zip(target.elements, value.elements, strict=True):
                        name = t_el.value
                        if isinstance(name, cst.Name) and name.value not in held \
                                and name.value != var and (
                                    var in cursor_owners(v_el.value, held)
                                    or _returns_lazily(v_el.value, {var, *held}, lazy_call)):
                            held[name.value] = var
                            changed = True
                    continue
                if not isinstance(target, cst.Name) or value is None \
                        or target.value in held or target.value == var:
                    continue
                if var in cursor_owners(value, held) \
                        or _returns_lazily(value, {var, *held}, lazy_call):
                    held[target.value] = var
                    changed = True
    return held


def escape_reason(stmts: list[cst.BaseStatement], var: str,
                  skip: frozenset[int] = frozenset(),
                  lazy_call: Callable[[cst.Call], bool] | None = None,
                  held: dict[str, str] | None = None) -> str | None:
    """Why the checkout in `var` cannot be wrapped here: it is returned, stored, rebound
    or captured inside `stmts` (None when it stays local). A cursor of `var` returned,
    stored or handed on takes `var` with it (`cursor.connection`), and so does what a
    local name holds of them (`holder_names`)."""
    # (a cursor stored or handed on moves the connection only when these statements
    # do not give it back themselves)
    cursors = holder_names(stmts, var, lazy_call) if held is None else held
    stays = any(is_removable_release(c, var) for s in stmts for c in iter_calls(s))
    for stmt in stmts:
        for node in iter_nodes(stmt, into_functions=True):
            if type(node) not in _ESCAPE_TYPES:  # (exact types: libcst's are final)
                continue
            if isinstance(node, _SCOPES) and node is not stmt and any(
                    isinstance(n, cst.Name) and n.value == var
                    for n in iter_nodes(node, into_functions=True)):
                return f"`{var}` is used by a nested function"
            if isinstance(node, cst.FunctionDef) and node is stmt:
                return f"`{var}` is used by a nested function"
            if isinstance(node, cst.Return) and node.value is not None and id(node) not in skip \
                    and _hands_out(node.value, var, cursors, lazy_call):
                return f"`{var}` is returned"
            if isinstance(node, cst.With):
                for item in node.items:
                    alias = item.asname.name if item.asname is not None else None
                    if isinstance(item.item, cst.Name) and item.item.value == var \
                            and alias is not None and not (
                                isinstance(alias, cst.Name) and alias.value == var):
                        # `with conn as c:` ... `pool.putconn(c)`: a release through
                        # the other name is one the fix cannot see, and would double
                        return (f"`{var}` is aliased as "
                                f"`{cst.Module([]).code_for_node(alias)}`")
            if isinstance(node, (cst.Global, cst.Nonlocal)) and any(
                    n.name.value == var for n in node.names):
                return f"`{var}` is global"
            if isinstance(node, cst.Del) and var in _target_names(node.target):
                return f"`{var}` is deleted"
            if isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
                targets: list[cst.CSTNode]
                if isinstance(node, cst.Assign):
                    targets = [t.target for t in node.targets]
                else:
                    targets = [node.target]
                if any(var in _target_names(t) for t in targets):
                    return f"`{var}` is rebound"
                if node.value is not None and var in escaping_names(node.value,
                                                                    through_calls=False):
                    return f"`{var}` is stored"
                if node.value is not None and not all(isinstance(t, cst.Name) for t in targets) \
                        and ((not stays and var in cursor_owners(node.value, cursors))
                             or _returns_lazily(node.value, {var, *cursors}, lazy_call)):
                    return f"`{var}` is stored"
            if isinstance(node, (cst.For, cst.CompFor)) and var in _target_names(node.target):
                return f"`{var}` is rebound"
            if isinstance(node, cst.AsName) and var in _target_names(node.name):
                return f"`{var}` is rebound"
            if isinstance(node, cst.Call):
                f = node.func
                method = f.attr.value if isinstance(f, cst.Attribute) else None
                name = dotted_name(f)
                ctor = name is not None and name.rsplit(".", 1)[-1][:1].isupper()
                if method in _STORING or ctor or name in _STORING_BUILTINS:
                    for a in node.args:
                        if var in escaping_names(a.value, through_calls=True) \
                                or (not stays and var in cursor_owners(a.value, cursors)):
                            return f"`{var}` is handed to `{name or method}`"
    return None


def wrap_refusal(index: ProjectIndex, func: FunctionInfo, stmts: list[cst.BaseStatement],
                 var: str, lazy_call: Callable[[cst.Call], bool] | None,
                 skip: frozenset[int] = frozenset()) -> str | None:
    """Why `stmts` cannot be wrapped in a `try` that releases `var` in its `finally`:
    `escape_reason`, then `yielded_away`, over one `holder_names`."""
    held = holder_names(stmts, var, lazy_call)
    return escape_reason(stmts, var, skip, lazy_call, held) \
        or yielded_away(index, func, stmts, var, lazy_call, held)


def _hands_out(value: cst.BaseExpression, var: str, held: dict[str, str],
               lazy_call: Callable[[cst.Call], bool] | None) -> bool:
    """`value` (a returned or yielded expression) gives its receiver `var`: itself, a
    cursor of it, or a reader of them that runs later (`held`: the local names holding
    one, see `holder_names`)."""
    return var in escaping_names(value, through_calls=True) \
        or var in cursor_owners(value, held) \
        or _returns_lazily(value, {var, *held}, lazy_call)


def yielded_away(index: ProjectIndex, func: FunctionInfo, region: list[cst.BaseStatement],
                 var: str, lazy_call: Callable[[cst.Call], bool] | None = None,
                 held: dict[str, str] | None = None) -> str | None:
    """Why a generator's checkout cannot be released in a `finally`: it yields `var`
    (or a cursor of it, or a reader of them that runs later: `map(tuple, cur)`,
    `cur.fetchone`, a name holding one) to a caller that may keep it after the
    generator resumes (`[conn] = list(gen())`), where the original left it open. A
    `@contextmanager`, a FastAPI dependency and a pytest fixture hand it to a block
    that ends before the generator resumes: there the `finally` is the fix."""
    if not func.is_generator:
        return None
    if held is None:
        held = holder_names(region, var, lazy_call)
    if not any(isinstance(n, cst.Yield) and isinstance(n.value, cst.BaseExpression)
               and _yield_hands_out(n.value, var, held, lazy_call)
               for s in region for n in iter_nodes(s)):
        return None
    if index.is_contextmanager(func) or id(func.node) in index.dependency_functions() \
            or is_pytest_fixture(index, func):
        return None
    return f"`{var}` is yielded to a caller that may keep it after the generator resumes"


#: the attributes by which a cursor (or a wrapper) hands back its connection
_CONNECTION_ATTRIBUTES = frozenset({"connection", "conn", "_connection", "raw_connection"})


def _yield_hands_out(value: cst.BaseExpression, var: str, held: dict[str, str],
                     lazy_call: Callable[[cst.Call], bool] | None) -> bool:
    """`_hands_out`, and a yielded value that carries `var` in a container (`yield
    {"cur": cur}`), through a walrus (`yield (cur := conn.cursor())`), or as a
    cursor's connection (`yield conn.cursor().connection`)."""
    if isinstance(value, cst.NamedExpr):
        return _yield_hands_out(value.value, var, held, lazy_call)
    if _hands_out(value, var, held, lazy_call):
        return True
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        return any(_yield_hands_out(e.value, var, held, lazy_call) for e in value.elements)
    if isinstance(value, cst.Dict):
        return any(_yield_hands_out(e.value, var, held, lazy_call) for e in value.elements)
    if isinstance(value, cst.Attribute) and value.attr.value in _CONNECTION_ATTRIBUTES:
        return _mentions([value.value], var) or any(_mentions([value.value], h) for h in held)
    return False


def cursor_names(stmts: list[cst.BaseStatement], var: str) -> dict[str, str]:
    """The names bound to a cursor of `var` in `stmts` (`cur = var.cursor()`), each
    mapped to `var`."""
    return {t.target.value: var for stmt in stmts for node in iter_nodes(stmt)
            if isinstance(node, cst.Assign) and var in cursor_owners(node.value, {})
            for t in node.targets if isinstance(t.target, cst.Name)}


# ------------------------------------------------------------------- regions
def is_removable_release(call: cst.Call, var: str) -> bool:
    """A release the fix may move into `finally`: `var.close()`, `pool.putconn(var)`,
    or a release function called with `var` among plain arguments
    (`close_conn(conn, cur)`, `unlease(name, conn)`; see `_release_arguments_bound`)."""
    f = call.func
    if isinstance(f, cst.Attribute) and f.attr.value in ("close", "release", "remove") \
            and isinstance(f.value, cst.Name) and f.value.value == var:
        # `var.close()`; Gino's `var.release()` (the index counts it as a release only
        # for a kind whose `self_release` names it)
        return not call.args
    if any(a.star for a in call.args):
        return False
    if not any(a.keyword is None and isinstance(a.value, cst.Name) and a.value.value == var
               for a in call.args):
        return False
    if isinstance(f, cst.Attribute) and f.attr.value in POOL_RELEASE_METHODS:
        return len(call.args) == 1
    if len(call.args) > 1 and not all(_plain(a.value) for a in call.args):
        return False
    return isinstance(f, (cst.Name, cst.Attribute))


def _plain(expr: cst.BaseExpression) -> bool:
    """A name, a dotted name or a constant: evaluating it in `finally` has no effect."""
    return dotted_name(expr) is not None or isinstance(
        expr, (cst.SimpleString, cst.Integer, cst.Float)) or (
        isinstance(expr, cst.Name) and expr.value in {"None", "True", "False"})


def _release_arguments_bound(call: cst.Call, var: str, region: list[cst.BaseStatement]) -> bool:
    """The release's other arguments are bound before the `try` (not by a statement the
    fix wraps), so `finally` never meets them unbound."""
    names = {dotted_name(a.value).split(".")[0]  # type: ignore[union-attr]
             for a in call.args if dotted_name(a.value) is not None} - {var}
    return not any(names & bound_names(stmt) for stmt in region)


def _binding_prefix(index: ProjectIndex, func: FunctionInfo, rest: list[cst.BaseStatement],
                    var: str, cursor_may_raise: bool) -> int:
    """How many statements at the start of `rest` bind what a release of `var` later in
    `rest` also takes (`cur = conn.cursor()` before `close_both(conn, cur)`), when each
    is a plain assignment none of whose calls can raise: they may stay before the
    `try`. 0 when there are none, or when they do not bind all of those names."""
    needed: set[str] = set()
    for stmt in rest:
        for call in iter_calls(stmt):
            if var in index.released_by_call(call, func):
                needed |= {dotted_name(a.value).split(".")[0]  # type: ignore[union-attr]
                           for a in call.args if dotted_name(a.value) is not None} - {var}
    needed &= set().union(*(bound_names(stmt) for stmt in rest))
    if not needed:
        return 0
    count = 0
    for stmt in rest:
        if not needed:
            return count
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                and isinstance(stmt.body[0], cst.Assign)):
            return 0
        calls = list(iter_calls(stmt))
        if any(call_may_raise(c) or (cursor_may_raise and isinstance(c.func, cst.Attribute)
                                     and c.func.attr.value == "cursor") for c in calls) \
                or any(index.released_by_call(c, func) for c in calls):
            return 0
        needed -= bound_names(stmt)
        count += 1
    return count if not needed else 0


@dataclass
class Region:
    block: cst.IndentedBlock
    start: int  # index of the acquiring statement in block.body
    stmts: list[cst.BaseStatement]  # the statements wrapped (original nodes)
    removals: set[int] = field(default_factory=set)  # id() of small statements to drop
    removed: list[cst.Expr] = field(default_factory=list)  # ... and the statements
    moved_comments: list[cst.SimpleStatementLine] = field(default_factory=list)
    #: guards right after the checkout that leave when it is None (`if not conn:
    #: return`): they stay before the `try`, whose `finally` must not see a None
    guards: int = 0
    #: a release that moves with its guard (`if conn and conn != self.conn:
    #: conn.close()`): the guard holds for our checkout, so it stays as written
    guarded: cst.If | None = None
    #: the checkout's name when the wrapper it came through may hand back None (it
    #: returns None when it cannot connect): the release in `finally` goes under
    #: `if name is not None:`, so the None path raises (or returns) as it did
    none_guard: str | None = None


class _Rewriter(cst.CSTTransformer):
    """Drops the given small statements (emptied blocks get `pass`) and swaps others."""

    def __init__(self, removals: set[int], swaps: dict[int, cst.BaseSmallStatement]) -> None:
        self.removals = removals
        self.swaps = swaps

    def on_leave(  # type: ignore[override]
            self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.BaseStatement]:
        if id(original_node) in self.removals:
            return cst.RemovalSentinel.REMOVE
        if id(original_node) in self.swaps:
            return self.swaps[id(original_node)]
        if isinstance(updated_node, cst.SimpleStatementLine) and not updated_node.body:
            return cst.RemovalSentinel.REMOVE
        if isinstance(updated_node, cst.SimpleStatementSuite) and not updated_node.body:
            return updated_node.with_changes(body=[cst.Pass()])
        if isinstance(updated_node, cst.IndentedBlock) and not updated_node.body:
            return updated_node.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        if isinstance(original_node, cst.Try) and isinstance(updated_node, cst.Try):
            return _drop_emptied_finally(original_node, updated_node)
        return updated_node


def only_pass(block: cst.BaseSuite) -> bool:
    stmts = body_statements_of(block)
    return bool(stmts) and all(
        isinstance(s, cst.SimpleStatementLine) and all(isinstance(x, cst.Pass) for x in s.body)
        for s in stmts)


def body_statements_of(block: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(block, cst.IndentedBlock):
        return list(block.body)
    if isinstance(block, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(list(block.body))]
    return []


def _drop_emptied_finally(original: cst.Try, updated: cst.Try
                          ) -> cst.Try | cst.FlattenSentinel[cst.BaseStatement]:
    """A `finally` whose only statement (the release) moved out is dropped, never left
    as `finally: pass`; a `try` left with neither handler nor `finally` becomes its body."""
    if original.finalbody is None or updated.finalbody is None \
            or only_pass(original.finalbody.body) or not only_pass(updated.finalbody.body):
        return updated
    if updated.handlers:
        return updated.with_changes(finalbody=None)
    stmts = body_statements_of(updated.body)
    if updated.orelse is not None:
        return updated
    if stmts:
        first = stmts[0]
        if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            stmts[0] = first.with_changes(
                leading_lines=[*updated.leading_lines, *first.leading_lines])
    return cst.FlattenSentinel(stmts)


def rewrite(stmts: list[cst.BaseStatement], removals: set[int],
            swaps: dict[int, cst.BaseSmallStatement] | None = None) -> list[cst.BaseStatement]:
    out: list[cst.BaseStatement] = []
    rw = _Rewriter(removals, swaps or {})
    touched = removals | set(swaps or ())
    for s in stmts:
        if not any(id(n) in touched for n in iter_nodes(s, into_functions=True)):
            out.append(s)  # nothing to drop or swap: the transformer would rebuild it as is
            continue
        new = s.visit(rw)
        if isinstance(new, cst.BaseStatement):
            out.append(new)
        elif isinstance(new, cst.FlattenSentinel):
            out.extend(n for n in new.nodes if isinstance(n, cst.BaseStatement))
    return out


def find_region(index: ProjectIndex, func: FunctionInfo, parents: dict[int, cst.CSTNode],
                acquire: cst.BaseStatement, var: str, code: str,
                end_at: cst.BaseStatement | None = None,
                skip: frozenset[int] = frozenset(),
                cursor_may_raise: bool = False) -> Region | Unfixable:
    """The statements after `acquire` in its block that hold the checkout: up to the last
    release at the same level when nothing after it uses `var`, else to the block's end.
    Every release inside must be a plain statement the fix can move into `finally`.
    A release that also takes what the statements right after the checkout bind
    (`self.close(conn, cur)` after `cur = conn.cursor()`) starts the region after them
    when none of their calls can raise (the checkout cannot leak there)."""
    block = parents.get(id(acquire))
    if not isinstance(block, cst.IndentedBlock):
        return Unfixable(code, "the checkout is not on a line of its own")
    body = list(block.body)
    start = next(i for i, s in enumerate(body) if s is acquire)
    guards = 0
    while start + 1 + guards < len(body) and _leaves_when_none(body[start + 1 + guards], var):
        guards += 1
    rest = body[start + 1 + guards:]
    binding = _binding_prefix(index, func, rest, var, cursor_may_raise)
    guards += binding
    rest = rest[binding:]
    if not rest:
        return Unfixable(code, f"nothing uses `{var}` after the checkout")
    releases: list[tuple[cst.Call, cst.SimpleStatementLine | None, int]] = []
    for pos, stmt in enumerate(rest):
        for call in iter_calls(stmt):
            if var in index.released_by_call(call, func):
                releases.append((call, statement_line(call, parents), pos))
    end = len(rest)
    if end_at is not None:
        end = next(i for i, s in enumerate(rest) if s is end_at) + 1
    else:
        # the last top-level statement that releases (or holds a release) before the
        # name is bound to something else (`db = Session()` again: a new checkout)
        rebound = next((i for i, s in enumerate(rest) if _rebinds(s, var)), len(rest))
        top = [pos for _, _line, pos in releases if pos < rebound]
        if top:
            last = max(top)
            after = rest[last + 1:rebound]
            if not any(isinstance(n, cst.Name) and n.value == var
                       for s in after for n in iter_nodes(s, into_functions=True)):
                end = last + 1
    region = rest[:end]
    lazy = project_generator_call(index, func)
    reason = wrap_refusal(index, func, region, var, lazy, skip)
    if reason is None:
        reason = _returned_by_callee(index, func, region, var)
    if reason is None:
        reason = used_after(func, parents, block, var)
    if reason is not None:
        return Unfixable(code, reason)
    result = Region(block, start, region, guards=guards)
    for call, _line, pos in releases:
        if pos >= end:
            continue
        small = small_of(call, parents)
        if small is None or not is_removable_release(call, var):
            return Unfixable(code, f"a release of `{var}` the fix cannot move into `finally`")
        if not _release_arguments_bound(call, var, region):
            return Unfixable(code, f"the release of `{var}` takes an argument bound after "
                             "the checkout, which `finally` could meet unbound")
        for anc in ancestors(call, parents):
            if anc is block:
                break
            if isinstance(anc, _LOOPS):
                return Unfixable(code, f"`{var}` is released inside a loop")
        guard, about_it = _release_guard(call, parents)
        if guard is not None and not about_it:
            # `if verbose: pool.putconn(conn)`: the release the finding asks for is
            # unconditional; the `if` goes whole (never left as `if ...: pass`) when
            # its test calls nothing
            if any(isinstance(n, cst.Call) for n in iter_nodes(guard.test)):
                test = func.module.tree.code_for_node(guard.test)
                return Unfixable(code, f"the release of `{var}` runs only `if {test}`, "
                                       "whose call would be left behind an empty `if`; "
                                       "decide by hand")
            result.removals.add(id(guard))
            result.removed.append(small)
            continue
        if guard is not None and not holds_for_checkout(guard.test, var, func):
            test = func.module.tree.code_for_node(guard.test)
            return Unfixable(code, f"the release of `{var}` runs only `if {test}`: "
                                   "the fix would have to drop that guard; decide by hand")
        if guard is not None:
            if result.guarded is not None and result.guarded is not guard:
                return Unfixable(code, f"`{var}` is released under two guards")
            result.guarded = guard
            result.removals.add(id(guard))
            result.removed.append(small)
            continue
        if id(small) not in result.removals:
            result.removals.add(id(small))
            result.removed.append(small)
        line = statement_line(call, parents)
        if line is not None and comments_of(line):
            result.moved_comments.append(line)
    return result


def project_generator_call(index: ProjectIndex,
                           func: FunctionInfo) -> Callable[[cst.Call], bool]:
    """Whether a call in `func` calls one of the project's own generator functions:
    what it returns reads its arguments only when iterated (`return rows(cur)`)."""
    def lazy(call: cst.Call) -> bool:
        callee = index.evaluate(call.func, func.module, func)
        return isinstance(callee, FunctionRef) and callee.func.is_generator
    return lazy


def _leaving_try(line: cst.SimpleStatementLine,
                 parents: dict[int, cst.CSTNode]) -> cst.Try | None:
    """The `try` whose body ends with the checkout `line` when each of its handlers
    leaves (ends with `return`, `raise`, `break` or `continue`) and it has no `else`
    or `finally`: after it, the checkout is held on every path that goes on."""
    block = parents.get(id(line))
    stmt = parents.get(id(block)) if isinstance(block, cst.IndentedBlock) else None
    if not isinstance(stmt, cst.Try) or stmt.body is not block or not stmt.handlers \
            or stmt.orelse is not None or stmt.finalbody is not None \
            or block.body[-1] is not line:
        return None
    for handler in stmt.handlers:
        body = body_statements_of(handler.body)
        last = body[-1] if body else None
        if not isinstance(last, cst.SimpleStatementLine) or not isinstance(
                last.body[-1], JUMP_STATEMENTS):
            return None
    return stmt if isinstance(parents.get(id(stmt)), cst.IndentedBlock) else None


def _returned_by_callee(index: ProjectIndex, func: FunctionInfo,
                        stmts: list[cst.BaseStatement], var: str) -> str | None:
    """`desc = make_desc(conn=conn)` where the project's `make_desc` returns the
    connection inside its result (`return {"conn": conn}`): the result holds it on
    after the call, so a `finally` here would close what the caller keeps."""
    for stmt in stmts:
        for call in iter_calls(stmt):
            for i, arg in enumerate(call.args):
                if not (isinstance(arg.value, cst.Name) and arg.value.value == var):
                    continue
                callee = index.evaluate(call.func, func.module, func)
                if not isinstance(callee, FunctionRef):
                    continue
                target = callee.func
                if arg.keyword is not None:
                    param = arg.keyword.value
                elif arg.star == "" and i < len(target.param_names()):
                    param = target.param_names()[i]
                else:
                    continue
                for node in iter_nodes(target.node.body):
                    if isinstance(node, cst.Return) and node.value is not None \
                            and param in escaping_names(node.value, through_calls=False):
                        return (f"`{var}` is handed to `{target.name}`, which returns it "
                                "inside its result")
    return None


def _release_guard(call: cst.Call,
                   parents: dict[int, cst.CSTNode]) -> tuple[cst.If | None, bool]:
    """The `if` (no `else`) whose body is just the release line `call` is on, and
    whether its test reads a name the release reads (`if conn and conn !=
    self.conn: conn.close()`, a test about the connection): the fix moves or drops
    it whole instead of leaving `if ...: pass` behind."""
    line = statement_line(call, parents)
    stmt = parents.get(id(line)) if line is not None else None
    guard = parents.get(id(stmt)) if isinstance(stmt, cst.IndentedBlock) else None
    if not isinstance(guard, cst.If) or guard.orelse is not None \
            or not isinstance(guard.body, cst.IndentedBlock) or len(guard.body.body) != 1:
        return None, False
    names = {n.value for n in iter_nodes(guard.test) if isinstance(n, cst.Name)}
    var_names = {a.value.value for a in call.args if isinstance(a.value, cst.Name)}
    if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name):
        var_names.add(call.func.value.value)
    return guard, bool(names & var_names)


#: the words `used_after` starts its reason with (PS102 then tries the `try` that
#: holds the checkout)
USED_AFTER = "is used after the statements that hold it"


def used_after(func: FunctionInfo, parents: dict[int, cst.CSTNode],
               block: cst.CSTNode, var: str) -> str | None:
    """Why a `finally` around statements of `block` would release `var` too early: the
    code that runs after the block (an `except`/`else`/`finally` of an enclosing `try`,
    statements after an enclosing compound statement) uses it before rebinding it.
    The original code used it there still checked out; the fix would give it back
    first (a rollback on a connection another request may hold now)."""
    reason = _used_after(func, parents, block, var)
    owner = parents.get(id(block))
    if reason is not None and isinstance(owner, cst.If) and owner.body is block \
            and var in func.param_names() and _none_test(owner.test, var):
        # `if connection is None: connection = connect()`: the code after serves the
        # caller's connection too, which a release there must leave open
        test = func.module.tree.code_for_node(owner.test)
        return (reason.rsplit(": a `finally`", 1)[0] + f", and it is checked out here "
                f"only when the caller passed none (`if {test}:`): a release after that "
                "use must skip the caller's connection; give it back by hand")
    return reason


def _none_test(test: cst.BaseExpression, var: str) -> bool:
    """`var is None` / `not var`."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return isinstance(test.expression, cst.Name) and test.expression.value == var
    return (isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name)
            and test.left.value == var and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.Is)
            and isinstance(test.comparisons[0].comparator, cst.Name)
            and test.comparisons[0].comparator.value == "None")


def _used_after(func: FunctionInfo, parents: dict[int, cst.CSTNode],
                block: cst.CSTNode, var: str) -> str | None:
    child: cst.CSTNode = block
    parent = parents.get(id(child))
    while parent is not None and parent is not func.node:
        later: list[cst.CSTNode] = []
        where = "later in the function"
        if isinstance(parent, (cst.Try, cst.TryStar)) and child is parent.body:
            later = [*parent.handlers, *(p for p in (parent.orelse, parent.finalbody) if p)]
            where = "in an `except` or `finally` of the enclosing `try`"
            if _mentions(later, var):
                return (f"`{var}` is used after the statements that hold it ({where}): a "
                        "`finally` around them would release it before that use; give it "
                        "back after its last use by hand")
        elif isinstance(parent, cst.IndentedBlock):
            after = list(parent.body)
            after = after[next(i for i, s in enumerate(after) if s is child) + 1:]
            for stmt in after:
                if _rebinds(stmt, var):
                    break
                if _mentions([stmt], var):
                    return (f"`{var}` is used after the statements that hold it ({where}): "
                            "a `finally` around them would release it before that use; "
                            "give it back after its last use by hand")
        if isinstance(parent, _LOOPS):
            return None  # the next iteration is a new checkout
        child, parent = parent, parents.get(id(parent))
    return None


def _mentions(nodes: list[cst.CSTNode], var: str) -> bool:
    return any(isinstance(n, cst.Name) and n.value == var
               for node in nodes for n in iter_nodes(node, into_functions=True))


def _leaves_when_none(stmt: cst.BaseStatement, var: str) -> bool:
    """`if not var: return` / `if var is None: raise ...` (no else): a guard that leaves
    the block when the checkout failed."""
    if not isinstance(stmt, cst.If) or stmt.orelse is not None:
        return False
    test = stmt.test
    falsy = (isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
             and isinstance(test.expression, cst.Name) and test.expression.value == var)
    is_none = (isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name)
               and test.left.value == var and len(test.comparisons) == 1
               and isinstance(test.comparisons[0].operator, cst.Is)
               and isinstance(test.comparisons[0].comparator, cst.Name)
               and test.comparisons[0].comparator.value == "None")
    if not (falsy or is_none) or not isinstance(stmt.body, cst.IndentedBlock):
        return False
    last = stmt.body.body[-1] if stmt.body.body else None
    return isinstance(last, cst.SimpleStatementLine) and isinstance(
        last.body[-1], JUMP_STATEMENTS)


def _tested_for_none(stmts: list[cst.BaseStatement], var: str) -> bool:
    """An `if`/`while` in `stmts` tests whether `var` is set: `var`, `not var`, `var is
    None`, `var is not None` (alone or in an `and`/`or`)."""
    def tests(test: cst.BaseExpression) -> bool:
        if isinstance(test, cst.Name):
            return test.value == var
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return tests(test.expression)
        if isinstance(test, cst.BooleanOperation):
            return tests(test.left) or tests(test.right)
        return isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) \
            and test.left.value == var and len(test.comparisons) == 1 \
            and isinstance(test.comparisons[0].operator, (cst.Is, cst.IsNot)) \
            and isinstance(test.comparisons[0].comparator, cst.Name) \
            and test.comparisons[0].comparator.value == "None"
    return any(isinstance(n, (cst.If, cst.While)) and tests(n.test)
               for stmt in stmts for n in iter_nodes(stmt))


def _rebinds(stmt: cst.BaseStatement, var: str) -> bool:
    """`var = ...` as a statement of its own (not inside a nested block)."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        if isinstance(small, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == var for t in small.targets):
            return True
        if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) \
                and small.target.value == var and small.value is not None:
            return True
    return False


def small_of(call: cst.Call, parents: dict[int, cst.CSTNode]) -> cst.Expr | None:
    parent = parents.get(id(call))
    if isinstance(parent, cst.Await):
        parent = parents.get(id(parent))
    return parent if isinstance(parent, cst.Expr) else None


_COMMENTS_DROPPED = "the comments on all but one moved release are dropped"


def release_line(module: cst.Module, release_code: str, region: Region,
                 plan: FixPlan) -> cst.BaseStatement:
    """The `finally` statement, carrying the comments of the release it replaces (a
    guarded release moves with its guard, as written)."""
    if region.guarded is not None:
        return region.guarded.with_changes(leading_lines=[
            e for e in region.guarded.leading_lines if e.comment is not None])
    line = parse_line(module, release_code)
    if region.moved_comments:
        first = region.moved_comments[0]
        line = line.with_changes(
            leading_lines=[e for e in first.leading_lines if e.comment is not None],
            trailing_whitespace=first.trailing_whitespace)
        if len(region.moved_comments) > 1:
            plan.mark_unsafe(_COMMENTS_DROPPED)
    if region.none_guard is not None:
        return none_guarded(module, region.none_guard, line)
    return line


def none_guarded(module: cst.Module, var: str, line: cst.SimpleStatementLine) -> cst.If:
    """`line` under `if var is not None:` (its blank lines above the `if`)."""
    nl = module.default_newline
    guard = cst.parse_statement(f"if {var} is not None:{nl}{module.default_indent}pass{nl}",
                                config=module.config_for_parsing)
    assert isinstance(guard, cst.If)
    return guard.with_changes(body=guard.body.with_changes(body=[
        line.with_changes(leading_lines=[])]), leading_lines=line.leading_lines)


def wrap_try(module: cst.Module, plan: FixPlan, region: Region, release_code: str,
             swaps: dict[int, cst.BaseSmallStatement] | None = None) -> None:
    """`try: <region> finally: <release>`; a region that is a single `try` without a
    `finally` gets the `finally` added instead of a second `try`."""
    if plan.check_only:  # what `release_line` decides; nothing is built
        check_line(module, release_code)
        if len(region.moved_comments) > 1:
            plan.mark_unsafe(_COMMENTS_DROPPED)
        return
    final = release_line(module, release_code, region, plan)
    finally_ = cst.Finally(body=cst.IndentedBlock(body=[final]))
    stmts = region.stmts
    body = rewrite(stmts, region.removals, swaps)
    if len(body) == 1 and isinstance(body[0], cst.Try) and stmts and stmts[0] is not None \
            and isinstance(stmts[0], cst.Try):
        # the region is one `try` (its releases moved out): the release joins its
        # `finally` (after what is there, which must not raise), or becomes one
        new_try = body[0]
        if new_try.finalbody is None:
            _replace_region(plan, region, new_try.with_changes(finalbody=finally_))
            return
        existing = [s for s in body_statements_of(new_try.finalbody.body)
                    if not only_pass(cst.IndentedBlock([s]))]
        if not any(call_may_raise(c) for s in existing for c in iter_calls(s)) \
                and not any(isinstance(s, cst.BaseCompoundStatement) for s in existing) \
                and not any(_leaves(s) for s in existing):
            _replace_region(plan, region, new_try.with_changes(
                finalbody=new_try.finalbody.with_changes(body=cst.IndentedBlock(
                    body=[*existing, final]))))
            return
    # blank lines above the first wrapped statement move above the `try`
    first_leading, body = lift_blank_lines(non_empty(body, module))
    new = cst.Try(body=cst.IndentedBlock(body=body), finalbody=finally_,
                  leading_lines=first_leading)
    _replace_region(plan, region, new)


def _leaves(stmt: cst.BaseStatement) -> bool:
    """A `finally` statement that leaves it (`return 7`, `raise`, `break`,
    `continue`): a release written after it would never run; the release goes into
    a `try` of its own around the whole statement instead."""
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(small, JUMP_STATEMENTS)
        for small in stmt.body)


_COMMENT_DROPPED = "a comment on a removed release is dropped"


def wrap_with(module: cst.Module, plan: FixPlan, region: Region, acquire: cst.SimpleStatementLine,
              var: str, call: cst.Call, is_async: bool,
              swaps: dict[int, cst.BaseSmallStatement] | None = None) -> None:
    """`with <call> as var: <region>` in place of the acquiring statement."""
    if plan.check_only:  # the decision below; nothing is built
        if region.moved_comments:
            plan.mark_unsafe(_COMMENT_DROPPED)
        return
    if region.moved_comments:
        plan.mark_unsafe(_COMMENT_DROPPED)
    # the new block starts with its first statement, not a blank line (the `with`
    # keeps the acquiring statement's lines above it)
    _, body = lift_blank_lines(non_empty(rewrite(region.stmts, region.removals, swaps),
                                         module))
    new = cst.With(
        items=[cst.WithItem(item=call, asname=cst.AsName(name=cst.Name(var)))],
        body=cst.IndentedBlock(body=body, header=acquire.trailing_whitespace),
        asynchronous=cst.Asynchronous() if is_async else None,
        leading_lines=acquire.leading_lines,
    )
    plan.replace(acquire, new)
    for s in region.stmts:
        plan.remove(s)


def _replace_region(plan: FixPlan, region: Region, new: cst.BaseStatement) -> None:
    if not region.stmts:
        acquire = region.block.body[region.start]
        plan.replace(acquire, cst.FlattenSentinel([acquire, new]))
        return
    plan.replace(region.stmts[0], new)
    for s in region.stmts[1:]:
        plan.remove(s)


def acquire_statement(call: cst.CSTNode, parents: dict[int, cst.CSTNode],
                      var: str | None = None) -> tuple[cst.SimpleStatementLine, str] | None:
    """`var = <call>` / `var = await <call>` / `var: T = <call>` on a line of its own;
    with `var`, also `var, cur = <call>` (a wrapper that hands out a tuple)."""
    line = statement_line(call, parents)
    if line is None:
        return None
    small = line.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        value = small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
    else:
        return None
    if strip_await(value)[0] is not call:
        return None
    if isinstance(target, (cst.Tuple, cst.List)) and var is not None and all(
            isinstance(e.value, cst.Name) for e in target.elements) and any(
            isinstance(e.value, cst.Name) and e.value.value == var for e in target.elements):
        return line, var
    if not isinstance(target, cst.Name):
        return None
    return line, target.value


def release_hint(site: AcquireSite, index: ProjectIndex,
                 func: FunctionInfo | None = None) -> str:
    """How this checkout is given back: `pool.putconn(conn)`, the project's release
    wrapper, or the release of the pool the acquire wrapper takes it from (`func`,
    the function the checkout is in, lets the wrapper be looked up)."""
    call = site.call
    var = site.var
    kind = site.conn.kind
    method = checkout_method(call, func)
    if site.conn.via is None and method is not None:
        pool = dotted_name(method.value)
        if pool and kind.pool_release:
            prefix = "await " if kind.is_async else ""
            return f"{prefix}{pool}.{kind.pool_release}({var})"
        written = _release_written_in(site, func) if kind.pool_release else None
        if written is not None:  # `shared_pool().putconn(conn)`, as the fix moves it
            return written
    if site.conn.via is not None:
        wrapper = index.release_wrapper_for(site.conn.via)
        if wrapper is not None and kind.direct and index.gives_back_to_a_pool(wrapper):
            wrapper = None  # (a pool's release, for a connection of its own)
        if wrapper is not None and kind.direct and kind.close_releases and not site.unpacked \
                and len(_release_arguments(site, wrapper, index)) > 1:
            # `close(cursor, conn)` wants names the checkout does not give; a connection
            # of its own closes itself, as the fix writes it
            wrapper = None
        if wrapper is not None:
            args = _release_arguments(site, wrapper, index)
            name = wrapper.name
            if wrapper.cls is not None:  # `Database.put_connection(conn)`
                owner = (dotted_name(call.func.value) if isinstance(call.func, cst.Attribute)
                         else None)
                name = f"{owner or wrapper.cls.name}.{name}"
            return f"{'await ' if wrapper.is_async else ''}{name}({', '.join(args)})"
        pool = _wrapped_pool(site, index, func)
        if pool is not None and kind.pool_release:
            prefix = "await " if kind.is_async else ""
            return f"{prefix}{pool}.{kind.pool_release}({var})"
        configured = _configured_release(site, index, func)
        if configured is not None:
            return configured
        if kind.close_releases:
            return f"{'await ' if kind.is_async and not kind.sync_close else ''}{var}.close()"
        return f"the pool's release for `{site.conn.via}()`"
    if kind.direct and kind.close_releases:  # a connection of its own: no pool to give it to
        return f"{'await ' if kind.is_async and not kind.sync_close else ''}{var}.close()"
    return f"the pool's {kind.pool_release or 'release'}()"


def _release_written_in(site: AcquireSite, func: FunctionInfo | None) -> str | None:
    """The pool release `func` already writes for the checkout (`shared_pool().putconn(conn)`)
    when the pool is no plain name the advice could write itself."""
    if func is None:
        return None
    release = site.conn.kind.pool_release
    for call in func.direct_calls:
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == release \
                and len(call.args) == 1 and isinstance(call.args[0].value, cst.Name) \
                and call.args[0].value.value == site.var:
            prefix = "await " if site.conn.kind.is_async else ""  # as for a named pool
            return prefix + func.module.tree.code_for_node(call)
    return None


def safe_form_at(site: AcquireSite) -> str:
    """How this checkout reads in its safe form, with the project's own names: `with
    Session() as s` where the session factory is called `Session`."""
    kind = site.conn.kind
    origin = site.conn.origin
    if origin.startswith("anext("):
        # a session drawn from an async generator: `anext(...)` is an awaitable, not
        # the session, so no `async with` can stand in its place
        return f"try/finally: await {site.var}.close()"
    if (kind.safe_form.startswith(("with ", "async with ")) and kind.with_acquire_releases
            and site.conn.via is None and origin.endswith(")") and len(origin) <= 60
            and "\n" not in origin):
        if site.call.args and origin.endswith("()"):
            origin = origin[:-2] + "(...)"
        prefix = "async with" if kind.safe_form.startswith("async ") else "with"
        return f"{prefix} {origin} as {site.var}"
    return kind.safe_form_for(site.var)


def _configured_release(site: AcquireSite, index: ProjectIndex,
                        func: FunctionInfo | None) -> str | None:
    """A configured release (`release = ["corp_db.unlease"]`) for a configured acquire
    from outside the project: the call the function already writes
    (`unlease(name, conn)`), else the one configured beside the acquire function."""
    releases = index.config.release
    if not releases:
        return None
    if func is not None:
        for call in func.direct_calls:
            name = call_name(call)
            if name is not None and any(e.rsplit(".", 1)[-1] == name for e in releases) \
                    and any(isinstance(a.value, cst.Name) and a.value.value == site.var
                            for a in call.args):
                return func.module.tree.code_for_node(call)
    acquired = dotted_name(site.call.func) or ""
    prefix = acquired.rsplit(".", 1)[0] if "." in acquired else ""
    chosen = sorted(e for e in releases if prefix and e.startswith(prefix + "."))
    if not chosen and len(releases) == 1:
        chosen = list(releases)
    if not chosen:
        return None
    name = chosen[0] if prefix else chosen[0].rsplit(".", 1)[-1]
    return f"{name}({site.var})"


def _wrapped_pool(site: AcquireSite, index: ProjectIndex,
                  func: FunctionInfo | None) -> str | None:
    """`Db.pool` when the acquire wrapper the checkout came through returns
    `Db.pool.acquire()` (or `getconn()`, ...) of a pool named by a dotted name."""
    if func is None:
        return None
    callee = index.evaluate(site.call.func, func.module, func)
    if not isinstance(callee, FunctionRef):
        return None
    for ret in callee.func.returns:
        if ret.value is None:
            continue
        value, _ = strip_await(ret.value)
        if isinstance(value, cst.Name):
            # `conn = await cls._pool.acquire(); return conn`
            bound = [v for v in callee.func.locals.get(value.value, [])
                     if isinstance(v, cst.BaseExpression)]
            if len(bound) == 1:
                value, _ = strip_await(bound[0])
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) \
                and value.func.attr.value in ACQUIRE_METHOD_NAMES:
            if callee.func.cls is None and callee.func.module is not func.module:
                return None  # a module global of another module: not a name here
            return _as_caller_sees(dotted_name(value.func.value), callee.func, site.call)
    return None


def _as_caller_sees(pool: str | None, wrapper: FunctionInfo, call: cst.Call) -> str | None:
    """`cls._pool` inside `Db.get_pool()` is `Db._pool` where `Db.get_pool()` is
    called; None when the caller has no name for it."""
    if pool is None or wrapper.cls is None:
        return pool
    params = wrapper.node.params.params
    receiver = params[0].name.value if params else None
    head, _, rest = pool.partition(".")
    if receiver is None or head != receiver:
        return pool
    owner = dotted_name(call.func.value) if isinstance(call.func, cst.Attribute) else None
    return f"{owner}.{rest}" if owner and rest else None


def _release_arguments(site: AcquireSite, wrapper: FunctionInfo,
                       index: ProjectIndex) -> list[str]:
    """The arguments a release wrapper is called with, as its signature reads:
    `close_conn(conn, cur)` for `conn, cur = get_conn()`, `unlease(name, conn)` with
    the connection where the wrapper releases it."""
    params = wrapper.param_names()
    if len(params) <= 1:
        return [site.var]
    if len(site.unpacked) == len(params):
        return list(site.unpacked)
    released = sorted(index.releaser_positions(wrapper))
    # `close(cursor, conn)` releases both: the connection goes where its own name is
    # (or, failing that, a parameter not named as a cursor), never into `cursor`
    named = [i for i in released if params[i] == site.var] or [
        i for i in released if not _cursor_like(params[i])]
    at = (named or released or [0])[0]
    return [site.var if i == at else p for i, p in enumerate(params)]


def _cursor_like(name: str) -> bool:
    """A parameter named as a cursor (`cursor`, `cur`, `db_cursor`)."""
    lowered = name.lower()
    return lowered in {"cur", "csr"} or "cursor" in lowered or lowered.endswith("_cur")


#: the SQLAlchemy release whose `Session` became a context manager
_SESSION_CM_SINCE = (1, 4)


def session_cm_unavailable(ctx: FileContext, kind_key: str) -> bool:
    """A `with SessionLocal() as db:` would raise (AttributeError: __enter__) on every
    SQLAlchemy the project allows: its dependency files pin SQLAlchemy below 1.4
    (`SQLAlchemy==1.3.24`, `sqlalchemy<1.4`). Then the fix writes `try`/`finally` with
    `close()`, which every version has. With no pin (or none this can read) the `with`
    stays: an unpinned project installs a current SQLAlchemy."""
    if kind_key != "session":
        return False
    return any(name == "sqlalchemy" and caps_below(written, _SESSION_CM_SINCE)
               for name, written, _ in declared_requirements(ctx.module.abspath,
                                                             ctx.index.text_files))


def fix_site(ctx: FileContext, func: FunctionInfo, parents: dict[int, cst.CSTNode],
             site: AcquireSite, code: str,
             extra: cst.SimpleStatementLine | None = None) -> FixOutcome:
    """Wrap the region of a `var = <checkout>` statement in try/finally (or `with`).
    `extra`, when given, must be among the releases the region moves."""
    found = acquire_statement(site.call, parents, site.var)
    if found is None:
        return Unfixable(code, "the checkout is not a plain `name = ...` statement")
    line, var = found
    kind = site.conn.kind
    module = ctx.module.tree
    plan = FixPlan(code, f"release `{var}` in `finally`")
    region = find_region(ctx.index, func, parents, line, var, code,
                         cursor_may_raise=kind.cursor_may_raise)
    guarded_by = _leaving_try(line, parents) if isinstance(region, Unfixable) else None
    if guarded_by is not None:
        # `try: conn = connect() / except E: return` (every handler leaves): past the
        # `try`, the checkout is held as if it were made there
        region = find_region(ctx.index, func, parents, guarded_by, var, code,
                             cursor_may_raise=kind.cursor_may_raise)
    if isinstance(region, Unfixable):
        return region
    if extra is not None and not any(id(s) in region.removals for s in extra.body):
        return Unfixable(code, "the close() is not in the checkout's region")
    held = slot_held_reason(ctx.index, func, site, region.stmts, region.removed)
    if held is not None:
        plan.mark_unsafe(held)
    again = given_back_before(ctx.index, func, region.stmts, var, region.removed)
    if again is not None:
        plan.mark_unsafe(RELEASED_BEFORE.format(var=var, call=module.code_for_node(again.func)))
    if release_error_caught(parents, region.block, region.removed):
        plan.mark_unsafe(CAUGHT_RELEASE)
    block_exit = release_inside_with(parents, region.block, region.removed)
    if block_exit is not None:
        plan.mark_unsafe(WITH_EXIT.format(var=var, item=block_exit))
    if kind.key in WITH_PREFERRED and site.conn.via is None and not region.guards \
            and guarded_by is None and (not kind.is_async or func.is_async) \
            and not session_cm_unavailable(ctx, kind.key):
        plan.description = f"use {safe_form_at(site)}"
        wrap_with(module, plan, region, line, var, site.call, kind.is_async)
        return plan
    release = release_written(module, region, var) or release_for_site(
        plan, ctx.index, ctx.module, func, site)
    if isinstance(release, Unfixable):
        return release
    release = as_written(module, region, release, var,
                         isinstance(parents.get(id(site.call)), cst.Await))
    plan.description = f"release `{var}` with {release.description} in `finally`"
    if region.guarded is None and _tested_for_none(region.stmts, var):
        # `if conn:` around the work: the checkout may be None (a wrapper that returns
        # None when it cannot connect), and an unguarded release in `finally` raises
        # AttributeError on that path, where the original returned. When the checkout
        # is the connection or None and nothing else (no wrapper return of False, 0 or
        # a string), the release goes under `if conn is not None:`: the None path runs
        # the same statements and releases nothing, as the original did
        if _connection_or_none(ctx.index, ctx.module, func, site):
            region.none_guard = var
        else:
            plan.mark_unsafe(f"`{var}` may be None (the code tests it), and the release in "
                             "`finally` would raise on that path")
    if region.guarded is None and not region.guards \
            and _wrapper_may_give_none(ctx.index, ctx.module, func, site):
        # `get_db()` prints and returns None when it cannot connect: an unguarded
        # release in `finally` raised AttributeError on that path, in place of the
        # original's exception (or of its return, where nothing used the checkout);
        # a guard that leaves on None before the `try` (`if not conn: return`) needs none
        region.none_guard = var
    if not plan.unsafe_reasons and not _leaves_when_falsy(region, var) \
            and wrapper_may_give_literal(ctx.index, ctx.module, func, site):
        # `except Error: return False` in the wrapper: `False.close()` in the `finally`
        # would raise in place of the original's own error on that path (or where it
        # returned), and `is not None` does not keep False out
        plan.mark_unsafe(LITERAL_RELEASE.format(var=var))
    if region.none_guard is not None and not _moved_releases_skip_none(
            region.stmts, region.removals, var):
        # `conn = get_db(); if cached: return cached; conn.close()`: on the None path
        # the original's own close raised AttributeError; moved behind the guard it
        # would not, and the function would return instead
        plan.mark_unsafe(MOVED_RELEASE.format(var=var))
    note_release(plan, release.code(var))
    wrap_try(module, plan, region, release.code(var))
    return plan


CAUGHT_RELEASE = ("an error the release itself raises (a closed pool) was caught by the "
                  "`try` around it; from the `finally` it escapes to the caller")
WITH_EXIT = ("a release of `{var}` ran inside `{item}`, before its exit; moved into "
             "`finally`, that exit (a commit, a lock's release) runs first, on a connection "
             "still held")
MOVED_RELEASE = ("a release of `{var}` the fix moves into the `finally` ran on the path "
                 "where `{var}` is None (and raised there); behind `if {var} is not "
                 "None:` it would not")
RELEASED_BEFORE = ("`{call}(...)` may give `{var}` back before the release, on a path that "
                   "then raises; the release the fix adds would run a second time there, "
                   "and its error (an unkeyed or closed connection) would replace the "
                   "original exception")
WRITTEN_ELSEWHERE = ("`**{mapping}` is written item by item where the options are not read "
                     "(another module or function): a `{key}` written there would make the "
                     "added keyword a second one, and the engine call would raise TypeError")
LITERAL_RELEASE = ("the wrapper `{var}` comes from may hand back `False`, `0`, a string or a "
                  "literal container, and the release would raise on that value in place "
                  "of the original's own error (or return)")


def _leaves_when_falsy(region: Region, var: str) -> bool:
    """A guard right after the checkout leaves when it is falsy (`if not conn: return`):
    the release never meets the wrapper's `False` or `0`."""
    block = region.block
    body = list(block.body) if isinstance(block, cst.IndentedBlock) else []
    after = body[region.start + 1:region.start + 1 + region.guards]
    return any(isinstance(s, cst.If) and _leaves_when_none(s, var)
               and isinstance(s.test, cst.UnaryOperation) for s in after)


def _moved_releases_skip_none(stmts: list[cst.BaseStatement], removals: set[int],
                              var: str) -> bool:
    """On the path where `var` is None, the original reaches none of the releases the fix
    moves (`removals`): each is under a test that `var` is set (`if conn:`, `if conn is
    not None:`, the `else` of `if not conn:`), or after a statement of the same block that
    already looked up an attribute of `var` first thing (`cur = conn.cursor()`, `with
    conn.cursor() as cur:`), which raised AttributeError there before it."""
    def attr_first(expr: cst.BaseExpression | None) -> bool:
        # `var.attr(...)` or `var.attr`: the lookup on `var` is the first thing evaluated
        while isinstance(expr, (cst.Call, cst.Await)):
            expr = expr.func if isinstance(expr, cst.Call) else expr.expression
        return isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) \
            and expr.value.value == var

    def uses_first(stmt: cst.BaseStatement) -> bool:
        if isinstance(stmt, cst.SimpleStatementLine) and stmt.body:
            small = stmt.body[0]
            if isinstance(small, (cst.Assign, cst.Expr)):
                return attr_first(small.value)
            return isinstance(small, cst.AnnAssign) and attr_first(small.value)
        if isinstance(stmt, cst.With) and stmt.items:
            return attr_first(stmt.items[0].item)
        return False

    def sets(test: cst.BaseExpression, negated: bool = False) -> bool:
        # whether `test` being true (false, when `negated`) means `var` is set
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return sets(test.expression, not negated)
        if isinstance(test, cst.Name):
            return test.value == var
        if isinstance(test, cst.BooleanOperation):
            if isinstance(test.operator, cst.And) != negated:
                return sets(test.left, negated) or sets(test.right, negated)
            return sets(test.left, negated) and sets(test.right, negated)
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
                and isinstance(test.left, cst.Name) and test.left.value == var \
                and isinstance(test.comparisons[0].comparator, cst.Name) \
                and test.comparisons[0].comparator.value == "None":
            op = test.comparisons[0].operator
            return isinstance(op, cst.IsNot) if not negated else isinstance(op, cst.Is)
        return False

    def walk(block: list[cst.BaseStatement], safe: bool) -> bool:
        for stmt in block:
            if isinstance(stmt, cst.SimpleStatementLine):
                if not safe and any(id(s) in removals for s in stmt.body):
                    return False
            elif isinstance(stmt, cst.If):
                orelse = stmt.orelse
                rest: list[cst.BaseStatement] = [] if orelse is None else [orelse] \
                    if isinstance(orelse, cst.If) else list(body_statements_of(orelse.body))
                if not walk(list(body_statements_of(stmt.body)), safe or sets(stmt.test)) \
                        or not walk(rest, safe or sets(stmt.test, negated=True)):
                    return False
            else:
                inner = safe or (isinstance(stmt, cst.With) and uses_first(stmt))
                if not all(walk(body_statements_of(suite), inner) for suite in _suites(stmt)):
                    return False
            safe = safe or uses_first(stmt)
        return True

    return walk(stmts, False)


def _suites(stmt: cst.BaseStatement) -> list[cst.BaseSuite]:
    """The blocks directly under a compound statement other than `if` (every nested
    block, for one not listed)."""
    if isinstance(stmt, (cst.For, cst.While)):
        return [stmt.body] + ([stmt.orelse.body] if stmt.orelse is not None else [])
    if isinstance(stmt, cst.With):
        return [stmt.body]
    if isinstance(stmt, (cst.Try, cst.TryStar)):
        return [stmt.body, *(h.body for h in stmt.handlers),
                *([stmt.orelse.body] if stmt.orelse is not None else []),
                *([stmt.finalbody.body] if stmt.finalbody is not None else [])]
    return [n for n in iter_nodes(stmt) if n is not stmt and isinstance(n, cst.BaseSuite)]


#: what a project wrapper may hand back besides the connection: None, or a literal that
#: is no connection (`False`, `0`, a string, a literal container)
GIVES_NONE = "none"
GIVES_LITERAL = "literal"
#: anything not proven (a project function's result, a parameter, a name bound otherwise)
GIVES_UNKNOWN = "unknown"

_LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString,
             cst.FormattedString, cst.List, cst.Tuple, cst.Dict, cst.Set, cst.ListComp,
             cst.SetComp, cst.DictComp)


def wrapper_gives(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                  site: AcquireSite) -> frozenset[str] | None:
    """What `site`'s checkout may be besides the connection, when it came through a
    project wrapper (None for the driver's own call, a packed return, or a callee not
    found): `GIVES_NONE` for a bare `return`, `return None`, an end of the body that is
    reached, a name the wrapper binds to None (`conn = None` ... `return conn`) or a
    conditional expression with such a branch; `GIVES_LITERAL` for `False`, `0`, a string
    or a literal container, the same ways; `GIVES_UNKNOWN` for anything else but a call
    that is not a project function's or class's (taken as the driver's connection). Only
    plain `name = value` bindings of the wrapper are followed, three deep."""
    if site.conn.via is None or site.conn.packed is not None:
        return None
    callee = index.evaluate(site.call.func, module, func)
    if not isinstance(callee, FunctionRef):
        return None
    wrapper = callee.func.node
    body = wrapper.body
    params = {p.name.value for p in (*wrapper.params.posonly_params, *wrapper.params.params,
                                     *wrapper.params.kwonly_params)}
    other = cst.Name("__poolsafe_bound_otherwise__")
    bound: dict[str, list[cst.BaseExpression]] = {}
    for node in iter_nodes(body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    bound.setdefault(target.target.value, []).append(node.value)
                else:
                    # `conn, cur = ...`: not followed
                    for n in iter_nodes(target.target):
                        if isinstance(n, cst.Name):
                            bound.setdefault(n.value, []).append(other)
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For,
                               cst.WithItem, cst.ExceptHandler, cst.Global, cst.Nonlocal,
                               cst.ImportAlias, cst.FunctionDef, cst.ClassDef)):
            # bound another way: only plain `name = value` statements are followed
            for name in _bound_names(node):
                bound.setdefault(name, []).append(other)

    def gives(value: cst.BaseExpression | None, depth: int) -> set[str]:
        if value is None or (isinstance(value, cst.Name) and value.value == "None"):
            return {GIVES_NONE}
        if isinstance(value, cst.Await):
            return gives(value.expression, depth)
        if isinstance(value, cst.IfExp):
            # the value is one of the two branches, whatever the test
            return gives(value.body, depth) | gives(value.orelse, depth)
        if isinstance(value, cst.Call):
            # a driver's or library's call; a project function or class is not followed
            project = isinstance(index.evaluate(value.func, callee.func.module, callee.func),
                                 (FunctionRef, ClassRef))
            return {GIVES_UNKNOWN} if project else set()
        if isinstance(value, _LITERALS) or (
                isinstance(value, cst.Name) and value.value in ("False", "True")):
            return {GIVES_LITERAL}
        if isinstance(value, cst.Name) and depth < 3 and value.value not in params \
                and value.value in bound:
            return {g for v in bound[value.value] for g in gives(v, depth + 1)}
        return {GIVES_UNKNOWN}

    found = {g for n in callee.func.returns for g in gives(n.value, 0)}
    if _end_reached(body_statements_of(body)):
        found.add(GIVES_NONE)
    return frozenset(found)


def _connection_or_none(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                        site: AcquireSite) -> bool:
    """`site`'s checkout is the connection or None, nothing else: the driver's own call, or a
    project wrapper each of whose returns is None, a call that is not a project function's, or
    a name bound in the wrapper only to such values (`conn = None` ... `return conn`), or a
    conditional expression of those. A `return False`, `return 0`, a string or a literal
    container, a project function's call (not followed) or a parameter returned leave it
    unproven."""
    if site.conn.packed is not None:
        return False
    if site.conn.via is None:
        return True
    found = wrapper_gives(index, module, func, site)
    return found is not None and found <= {GIVES_NONE}


def _bound_names(node: cst.CSTNode) -> list[str]:
    """The plain names a binding other than `name = value` binds."""
    targets: list[cst.CSTNode] = []
    if isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For)):
        targets = [node.target]
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        targets = [node.asname.name]
    elif isinstance(node, cst.ExceptHandler) and node.name is not None:
        targets = [node.name.name]
    elif isinstance(node, (cst.Global, cst.Nonlocal)):
        return [n.name.value for n in node.names]
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        targets = [node.name]
    elif isinstance(node, cst.ImportAlias):
        targets = [node.asname.name] if node.asname is not None else [node.name]
    return [n.value for t in targets for n in iter_nodes(t) if isinstance(n, cst.Name)]


def _wrapper_may_give_none(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                           site: AcquireSite) -> bool:
    """The project wrapper `site`'s checkout came through can hand back None (see
    `wrapper_gives`): a bare `return` or `return None` in it (nested functions aside), a
    name it binds to None and returns, a conditional expression with a None branch, or
    an end of its body that is reached (a handler that only logs the failed connect,
    last in the function)."""
    found = wrapper_gives(index, module, func, site)
    return found is not None and GIVES_NONE in found


def wrapper_may_give_literal(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                             site: AcquireSite) -> bool:
    """The project wrapper can hand back `False`, `0`, a string or a literal container
    when it cannot connect: a release on that value raises AttributeError (`'bool'
    object has no attribute 'close'`) where the original raised at its own first use of
    the checkout, or returned; no guard on None keeps that path."""
    found = wrapper_gives(index, module, func, site)
    return found is not None and GIVES_LITERAL in found


def _end_reached(stmts: list[cst.BaseStatement]) -> bool:
    """Whether running `stmts` may reach their end (no `return` or `raise` on some
    path); loops other than `while True:` count as reaching it."""
    if not stmts:
        return True
    last = stmts[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return not any(isinstance(s, (cst.Return, cst.Raise)) for s in last.body)
    if isinstance(last, cst.If):
        orelse = last.orelse
        rest = True if orelse is None else _end_reached(
            [orelse] if isinstance(orelse, cst.If) else body_statements_of(orelse.body))
        return rest or _end_reached(body_statements_of(last.body))
    if isinstance(last, cst.Try):
        ends = body_statements_of(last.orelse.body) if last.orelse is not None \
            else body_statements_of(last.body)
        return _end_reached(ends) or any(_end_reached(body_statements_of(h.body))
                                         for h in last.handlers)
    if isinstance(last, cst.With):
        return _end_reached(body_statements_of(last.body))
    if isinstance(last, cst.While) and isinstance(last.test, cst.Name) \
            and last.test.value == "True":
        return any(isinstance(n, cst.Break) for n in iter_nodes(last.body))
    return True


# ------------------------------------------------- a pool slot held past a call
#: connection kinds that share one SQLAlchemy engine's pool, whatever made them
_ENGINE_POOLED = frozenset(
    {"session", "scoped-session", "async-session", "sqlalchemy-connection",
     "sqlalchemy-async-connection", "sqlalchemy-raw", "sqlalchemy-pool"})


@dataclass(frozen=True)
class _Slot:
    """Which pool a checkout takes a slot of: the pool's qualified names when it is a
    module-level object (None when unknown), and its kind's family."""

    names: frozenset[str] | None
    family: str

    def same_pool(self, other: _Slot) -> bool:
        if self.names is not None and other.names is not None:
            return bool(self.names & other.names)
        return self.family == other.family


def _qualified(index: ProjectIndex, func: FunctionInfo,
               expr: cst.BaseExpression) -> frozenset[str] | None:
    """The module-level names `expr` (`POOL`, `db.POOL`) may stand for; None for
    anything else (a local, `self.pool`, a call)."""
    if isinstance(expr, cst.Attribute):
        base = _qualified(index, func, expr.value)
        return None if base is None else frozenset(f"{b}.{expr.attr.value}" for b in base)
    if not isinstance(expr, cst.Name):
        return None
    name, module = expr.value, func.module
    if name in func.all_param_names() or (
            name in func.locals and name not in func.globals_declared):
        return None
    if name in module.assigns:
        return frozenset(f"{m}.{name}" for m in module.names) or None
    if name in module.imports:
        return frozenset({module.imports[name]})
    return None


def _slot(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
          conn: Connection | ManagedContext) -> _Slot | None:
    """The pool slot `call` (a checkout of `conn`) takes, or None when it takes none
    (a direct connection of its own)."""
    kind = CONNECTION_KINDS.get(conn.kind_key)
    if kind is None or kind.direct or not kind.tracked:
        return None
    family = "sqlalchemy" if kind.key in _ENGINE_POOLED else kind.key
    names: frozenset[str] | None = None
    f, _ = strip_await(call.func)
    if isinstance(f, cst.Attribute):
        names = _qualified(index, func, f.value)
    if names is None:
        callee = index.evaluate(f, func.module, func)
        if isinstance(callee, FunctionRef):
            pool = _underlying_pool(index, callee.func)
            if pool is not None:
                names = frozenset(f"{m}.{pool[1]}" for m in pool[0].names) or None
    return _Slot(names, family)


def _checks_out(index: ProjectIndex, func: FunctionInfo, call: cst.Call, held: _Slot,
                owner: FunctionInfo, depth: int = 0) -> str | None:
    """How `call` (in `func`) may take a slot of the pool `held` is from: itself, a
    project function it calls (3 levels) or `owner` again (recursion); else None."""
    value = index.evaluate(call, func.module, func)
    if isinstance(value, (Connection, ManagedContext)):
        slot = _slot(index, func, call, value)
        return "checks out" if slot is not None and slot.same_pool(held) else None
    callee = index.evaluate(strip_await(call.func)[0], func.module, func)
    if not isinstance(callee, FunctionRef):
        return None
    if callee.func is owner:
        return "calls this function again"
    if depth >= 3:
        return None
    for inner in callee.func.direct_calls:
        if _checks_out(index, callee.func, inner, held, owner, depth + 1) is not None:
            return "checks out"
    return None


def may_give_back(index: ProjectIndex, func: FunctionInfo, call: cst.Call, var: str,
                  depth: int = 0) -> bool:
    """`call` (in `func`) may give `var` (a name, or `self.conn`) back on some path: a
    release of it in any spelling (`pool.putconn(conn, close=True)`), or a project
    function handed it that releases that parameter on some path, a handler that
    raises again included (3 levels), or a function passed in that is handed it.
    (`index.releaser_positions` leaves the handler out: it asks whether a helper
    releases on the way it returns.)"""
    if "." not in var and var in index.released_by_call(call, func):
        return True
    handed_it = any(dotted_name(a.value) == var for a in call.args)
    if isinstance(call.func, cst.Name) and call.func.value in func.all_param_names() \
            and handed_it:
        return True  # a function passed in, handed the connection: it may
    if handed_it and not isinstance(strip_await(call.func)[0], (cst.Name, cst.Attribute)):
        # a callee computed at run time, handed the connection: `getattr(pool,
        # "putconn")(conn)`, `RELEASERS[kind](conn)`
        return True
    mentioned = handed_it or any(_holds_value(a.value, var) for a in call.args)
    if mentioned and _bound_at_run_time(index, func, strip_await(call.func)[0]):
        # a callee the code binds to a value, handed the connection: `for cb in
        # [pool.putconn]: cb(conn)`, `put = lambda c: pool.putconn(c)`, `release =
        # getattr(pool, name)`; what it calls is not read, and may be the release
        return True
    if any(_release_as_value(a.value, var, mentioned) for a in call.args):
        # a release handed on as a value, to run later: `functools.partial(pool.putconn,
        # conn)`, `atexit.register(conn.close)`, `stack.callback(pool.putconn, conn)`,
        # `map(pool.putconn, [conn])`
        return True
    if _unread_release(call, var, mentioned):
        return True
    callee = index.evaluate(strip_await(call.func)[0], func.module, func)
    if depth >= 3 or not isinstance(callee, FunctionRef) or callee.func is func:
        return False
    params = callee.func.param_names()
    named = callee.func.all_param_names()
    handed = [params[i] for i, a in enumerate(
        [a for a in call.args if a.keyword is None and not a.star][:len(params)])
        if dotted_name(a.value) == var]
    handed += [a.keyword.value for a in call.args
               if a.keyword is not None and a.keyword.value in named
               and dotted_name(a.value) == var]
    body = callee.func.node.body
    stmts = list(body.body) if isinstance(body, cst.IndentedBlock) else []
    return any(may_give_back(index, callee.func, inner, name, depth + 1)
               for param in handed for name in _aliases(stmts, param)
               for inner in iter_calls(body))


def yield_holds_open(ret: cst.Return, parents: dict[int, cst.CSTNode],
                     func_node: cst.FunctionDef, var: str | None) -> str | None:
    """Why `ret`, made a `yield` (PS104's dependency, PS106's context manager), would
    run the caller's block inside something the original left at once: a `with`
    around it (other than the one that made `var`, `with Session() as db:`) stays
    entered, a lock held or a transaction open, for the whole block; a `try` with
    handlers around it would catch the caller's exceptions, which FastAPI and
    `@contextmanager` throw in at the `yield` (a handler that logs and raises again
    runs where it never ran, one that returns swallows the caller's error)."""
    node: cst.CSTNode = ret
    while True:
        parent = parents.get(id(node))
        if parent is None or parent is func_node:
            return None
        if isinstance(parent, cst.With) and not (var is not None and all(
                item.asname is not None and isinstance(item.asname.name, cst.Name)
                and item.asname.name.value == var for item in parent.items)):
            return ("the `return` is inside a `with` block: made a `yield`, the block "
                    "would stay entered (a lock held, a transaction open) while the "
                    "caller's block runs")
        if isinstance(parent, (cst.Try, cst.TryStar)) and node is parent.body \
                and parent.handlers:
            return ("the `return` is inside a `try` with handlers: made a `yield`, they "
                    "would catch the exceptions of the caller's block")
        node = parent



def _runs_on_after(parent: cst.CSTNode, node: cst.CSTNode) -> bool:
    """`node` is a loop's body (the loop goes on) or the body of a `try` with an
    `else` (which runs after it)."""
    if isinstance(parent, (cst.For, cst.While)):
        return node is parent.body
    if isinstance(parent, (cst.Try, cst.TryStar)):
        return node is parent.body and parent.orelse is not None
    return False


def yield_is_last_act(ret: cst.Return, parents: dict[int, cst.CSTNode],
                      func_node: cst.FunctionDef) -> bool:
    """Nothing of the function runs after `ret` but `finally` blocks and `with` exits:
    made a `yield`, the generator resumes there when the caller's block ends, and
    any statement after it (in its block or a block around it), the rest of a loop, or
    a `try`'s `else` would then run where `return` ran none of them."""
    node: cst.CSTNode = ret
    while True:
        parent = parents.get(id(node))
        if parent is None:
            return False
        if parent is func_node:
            return True
        if isinstance(parent, (cst.SimpleStatementLine, cst.SimpleStatementSuite,
                               cst.IndentedBlock)):
            if not parent.body or parent.body[-1] is not node:
                return False
        elif _runs_on_after(parent, node):
            return False
        node = parent


def _ends_in_raise(block: cst.BaseSuite | cst.Else | cst.If) -> bool:
    """Every way out of `block` (an `if`'s branch, or an `elif` chain) is a `raise` as
    its last statement."""
    if isinstance(block, cst.If):
        return _ends_in_raise(block.body) and block.orelse is not None \
            and _ends_in_raise(block.orelse)
    if isinstance(block, cst.Else):
        return _ends_in_raise(block.body)
    body = block.body
    last = body[-1] if body else None
    if isinstance(last, cst.SimpleStatementLine):
        last_small: cst.CSTNode | None = last.body[-1] if last.body else None
    else:
        last_small = last
    return isinstance(last_small, cst.Raise)


def yield_may_be_skipped(ret: cst.Return, parents: dict[int, cst.CSTNode],
                         func_node: cst.FunctionDef) -> str | None:
    """Why a way through the function may end without reaching `ret` and without
    raising (a bare `return`, or the end of the function past an `if` without a
    raising `else`, a loop, a `match` or a handler around `ret`), else None. The
    original returned None there; made a generator with `ret` its only `yield`, it
    yields nothing, and FastAPI / `@contextmanager` raise `RuntimeError("generator
    didn't yield")` in place of handing the caller None."""
    if any(isinstance(n, cst.Return) and n.value is None for n in iter_nodes(func_node.body)):
        return ("the function also ends with a bare `return`: made a generator, that way "
                "yields nothing and its caller gets `RuntimeError` in place of None")
    node: cst.CSTNode = ret
    while True:
        parent = parents.get(id(node))
        if parent is None or parent is func_node:
            return None
        if isinstance(parent, cst.If):
            other = parent.orelse if node is parent.body else parent.body
            if other is None or not _ends_in_raise(other):
                return ("the `return` is under an `if` whose other way goes on to the end "
                        "of the function: made a generator, that way yields nothing and its "
                        "caller gets `RuntimeError` in place of None")
        elif isinstance(parent, (cst.For, cst.While, cst.Match, cst.ExceptHandler,
                                 cst.ExceptStarHandler)) or (
                isinstance(parent, (cst.Try, cst.TryStar)) and node is parent.finalbody):
            return ("the `return` is inside a loop, a `match` or a handler: made a "
                    "generator, a way past it yields nothing (or the loop yields again)")
        node = parent

#: the last names of a release, handed on as a value (`partial(pool.putconn, conn)`)
_RELEASES_AS_VALUES = POOL_RELEASE_METHODS | CLOSE_METHODS | frozenset(
    {"putconn", "release", "close", "aclose"})


def _release_as_value(expr: cst.BaseExpression, var: str, handed_it: bool) -> bool:
    """`expr` (an argument) is a release method, not called: `conn.close` (of `var`), or
    a pool's `putconn` / `release` beside `var` handed in the same call."""
    if not isinstance(expr, cst.Attribute) or expr.attr.value not in _RELEASES_AS_VALUES:
        return False
    return handed_it or dotted_name(expr.value) == var


def _bound_at_run_time(index: ProjectIndex, func: FunctionInfo,
                       callee: cst.BaseExpression) -> bool:
    """`callee` is a plain name that may hold a pool's release, bound at run time: a
    loop's, a comprehension's, a `with ... as` or a walrus target in `func`, or an
    assignment (in `func` or at its module's top level) of a method or attribute taken
    off a value, a lambda, an item, another name, or `getattr(...)` / `partial(...)`
    (`put = pool.putconn`, `put = lambda c: pool.putconn(c)`). Not a `def`, a `class`,
    an import, or a name assigned what another call made (`Session = sessionmaker()`)."""
    if not isinstance(callee, cst.Name):
        return False
    name = callee.value

    def held(value: cst.BaseExpression) -> bool:
        return _may_hold_a_method(func.module, value) \
            or _made_by_a_factory(index, func.module, func, value)

    if any(held(v) for v in func.module.assigns.get(name, [])):
        return True
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign):
            if any(name in _target_names(t.target) for t in node.targets) \
                    and held(node.value):
                return True
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            if name in _target_names(node.target) and node.value is not None \
                    and held(node.value):
                return True
        elif isinstance(node, (cst.NamedExpr, cst.For, cst.CompFor)):
            if name in _target_names(node.target):
                return True
        elif isinstance(node, cst.AsName) and name in _target_names(node.name):
            return True
    return False


#: calls that hand back a method or a wrapper of one
_METHOD_GETTERS = frozenset({"getattr", "partial", "functools.partial",
                             "operator.attrgetter", "attrgetter"})


#: a mapping's lookups: `RELEASERS.get("pg")` hands back what the mapping holds
_ITEM_GETTERS = frozenset({"get", "pop", "setdefault"})


def _made_by_a_factory(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                       value: cst.BaseExpression, depth: int = 0) -> bool:
    """`value` is a call that may hand back a release method: a mapping's lookup
    (`RELEASERS.get("pg")`), or a call of a project function (of any module, imported,
    renamed, through its module or its class) whose `return` hands back a method, a
    lambda, an item, a name, or what another such factory makes (`make_releaser()`
    returning `pool.putconn`, `partial(pool.putconn)`, or a function it defines; 3
    levels)."""
    value = strip_await(value)[0]
    if not isinstance(value, cst.Call):
        return False
    if isinstance(value.func, cst.Attribute) and value.func.attr.value in _ITEM_GETTERS:
        return True
    if not isinstance(value.func, (cst.Name, cst.Attribute)) \
            and _may_hold_a_method(module, value.func):
        # a factory reached at run time: `getattr(rel, "make")(pool)`, `MAKERS["pg"](pool)`
        return True
    made = index.evaluate(value.func, module, func)
    if isinstance(made, ClassRef):
        return _calls_release(index, made.cls)
    if not isinstance(made, FunctionRef):
        local = module.functions.get(value.func.value) \
            if isinstance(value.func, cst.Name) else None
        if local is None:
            return False
        made = FunctionRef(local)
    maker = made.func
    return any(
        r.value is not None and (
            _may_hold_a_method(maker.module, r.value)
            or (depth < 3 and _made_by_a_factory(index, maker.module, maker, r.value,
                                                 depth + 1)))
        for r in maker.returns)


def _calls_release(index: ProjectIndex, cls: ClassInfo) -> bool:
    """An instance of `cls` (a project class) is callable (its own or a project base's
    `__call__`) and that call may give back what it is handed (`self.pool.putconn(c)`,
    3 levels of project calls): `release = Releaser(pool); release(conn)`."""
    method = cls.methods.get("__call__")
    if method is None:
        method = index._inherited_method(cls, "__call__", 0)
    if method is None:
        return False
    params = method.param_names()
    return any(may_give_back(index, method, inner, name)
               for name in params for inner in iter_calls(method.node.body))


def _may_hold_a_method(module: ModuleInfo, value: cst.BaseExpression) -> bool:
    value = strip_await(value)[0]
    if isinstance(value, (cst.Attribute, cst.Lambda, cst.Subscript, cst.Name,
                          cst.IfExp, cst.BooleanOperation)):
        return True
    if not isinstance(value, cst.Call):
        return False
    name = dotted_name(value.func) or ""
    first, _, rest = name.partition(".")
    # `from functools import partial as bind`: the name the module imported
    qualified = module.imports.get(first, first) + (f".{rest}" if rest else "")
    return name in _METHOD_GETTERS or qualified in _METHOD_GETTERS


def _holds_value(expr: cst.BaseExpression, var: str) -> bool:
    """`var` (a name or `self.conn`) is a value somewhere inside `expr`, not only the
    object of an attribute (`conn.dsn`): `[conn]`, `(conn, 1)`, `*[conn]`, `{"c": conn}`."""
    skip: set[int] = set()
    for node in iter_nodes(expr):
        if id(node) in skip:
            continue
        if isinstance(node, cst.Attribute):
            skip.add(id(node.value))
            if dotted_name(node) == var:
                return True
        elif isinstance(node, cst.Name) and node.value == var:
            return True
    return False


#: calls whose effect the analysis cannot read: they may run a release written as text
#: (`exec("pool.putconn(conn)")`) or reach the connection by its name (`locals()["conn"]`)
_OPAQUE_CALLS = frozenset({"exec", "eval", "locals", "vars", "globals"})
#: a pool closed with its connections out: psycopg2's `putconn` then raises
#: `PoolError("connection pool is closed")`
_POOL_CLOSERS = frozenset({"closeall"})


def _unread_release(call: cst.Call, var: str, mentioned: bool) -> bool:
    """A release of `var` spelled in a way `index.released_by_call` does not read:
    `pool.putconn(*[conn])`, `pool.putconn.__call__(conn)`, `type(pool).putconn(pool,
    conn)`, `operator.methodcaller("putconn", conn)`; a call whose effect cannot be read
    (`exec`, `eval`, `locals()`); or the pool closed under the connection
    (`pool.closeall()`), after which the release the fix adds raises."""
    func = strip_await(call.func)[0]
    if isinstance(func, cst.Name) and func.value in _OPAQUE_CALLS:
        return True
    chain: list[str] = []
    node: cst.BaseExpression = func
    while isinstance(node, cst.Attribute):
        chain.append(node.attr.value)
        node = node.value
    if chain and chain[0] in _POOL_CLOSERS:
        return True
    if not mentioned:
        return False
    if any(name in _RELEASES_AS_VALUES for name in chain):
        return True
    return any(isinstance(a.value, cst.SimpleString)
               and a.value.evaluated_value in _RELEASES_AS_VALUES for a in call.args)


def _aliases(stmts: Sequence[cst.BaseStatement], var: str) -> list[str]:
    """`var` and the names a loop or a comprehension binds from an iterable that holds
    it (`for c in [conn]:`, `[pool.putconn(c) for c in (conn,)]`)."""
    names = [var]
    for stmt in stmts:
        for node in iter_nodes(stmt):
            if isinstance(node, (cst.For, cst.CompFor)) and _holds_value(node.iter, var):
                names += sorted(_target_names(node.target) - set(names))
    return names


def given_back_before(index: ProjectIndex, func: FunctionInfo,
                      stmts: list[cst.BaseStatement], var: str,
                      moved: Sequence[cst.Expr] = ()) -> cst.Call | None:
    """The first call in `stmts` (outside the releases the fix moves, `moved`) that may
    give `var` (or a loop's name for it, `_aliases`) back on some path
    (`may_give_back`): where it did and an exception followed, or where the analysis
    did not read it as a release at all, the release the fix adds would run a second
    time."""
    inside = {id(n) for small in moved for n in iter_nodes(small)}
    names = _aliases(stmts, var)
    for stmt in stmts:
        for call in iter_calls(stmt):
            if id(call) not in inside and any(may_give_back(index, func, call, name)
                                              for name in names):
                return call
    return None


def catches_release_error(handler: cst.ExceptHandler) -> bool:
    """A bare `except`, `Exception`, or a driver's base `Error` (psycopg2's `PoolError`
    is a `psycopg2.Error`): it would catch what a release raises."""
    if handler.type is None:
        return True
    types = handler.type.elements if isinstance(handler.type, cst.Tuple) else None
    exprs = [e.value for e in types] if types is not None else [handler.type]
    for expr in exprs:
        name = (dotted_name(expr) or "").rsplit(".", 1)[-1]
        if name in ("Exception", "BaseException", "Error", "DatabaseError", "PoolError"):
            return True
    return False


def _around_a_release(parents: dict[int, cst.CSTNode], top: cst.CSTNode,
                      removed: list[cst.Expr]) -> Iterator[tuple[cst.CSTNode, cst.Expr]]:
    """The statements between each release the fix moves and `top`, innermost first."""
    for small in removed:
        for anc in ancestors(small, parents):
            if anc is top:
                break
            yield anc, small


def release_error_caught(parents: dict[int, cst.CSTNode], top: cst.CSTNode,
                         removed: list[cst.Expr]) -> bool:
    """A release the fix moves sat in the body of a `try` (inside `top`) whose
    handler caught what the release raises and did not raise it again (`try:
    pool.putconn(conn) / except Exception: pass`): from the `finally` that error
    would escape instead."""
    return any(isinstance(anc, cst.Try) and any(n is small for n in iter_nodes(anc.body))
               and any(catches_release_error(h) and not _reraises(h) for h in anc.handlers)
               for anc, small in _around_a_release(parents, top, removed))


def _reraises(handler: cst.ExceptHandler) -> bool:
    """The handler ends in a bare `raise`: the release's error reached the caller
    before too (the statements before that `raise` are left, as in fix66)."""
    body = body_statements_of(handler.body)
    last = body[-1] if body else None
    return isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Raise) \
        and last.body[-1].exc is None


def release_inside_with(parents: dict[int, cst.CSTNode], top: cst.CSTNode,
                        removed: list[cst.Expr]) -> str | None:
    """The header of a `with` (inside `top`) whose block held a release the fix moves:
    the release ran before that block's exit (a transaction's commit, a lock's
    release); moved after it, the exit runs on a connection still held (asyncpg's
    `async with conn.transaction():` commits what the release had rolled back)."""
    for anc, _small in _around_a_release(parents, top, removed):
        if isinstance(anc, cst.With):
            head = "async with" if anc.asynchronous is not None else "with"
            return f"{head} {cst.Module([]).code_for_node(anc.items[0].item)}"
    return None


def slot_held_reason(index: ProjectIndex, func: FunctionInfo, site: AcquireSite,
                     stmts: list[cst.BaseStatement], removed: list[cst.Expr]) -> str | None:
    """A release the fix moves into `finally` ran before a call that takes a slot of
    the same pool (directly, through a project function, or by recursion): moved, the
    checkout holds its slot during that call, which at the pool's capacity raises
    `PoolError` (or waits) where the original had room."""
    held = _slot(index, func, site.call, site.conn)
    if held is None or not removed:
        return None
    inside = {id(n) for small in removed for n in iter_nodes(small)}
    params = func.all_param_names()
    released = False
    for stmt in stmts:
        for node in iter_nodes(stmt):
            if id(node) in inside:
                released = True
                continue
            if not released:
                continue
            if isinstance(node, cst.Yield):
                # the caller runs while the generator is suspended, and may check out
                return (f"a release of `{site.var}` ran before a `yield`; moved into "
                        "`finally`, the checkout holds its pool slot while the caller "
                        "runs (and may check out from the same pool) until the generator "
                        "resumes or is closed")
            if not isinstance(node, cst.Call):
                continue
            how = _checks_out(index, func, node, held, func)
            if how is None and isinstance(node.func, cst.Name) and node.func.value in params:
                how = "may check out (a function passed in)"
            if how is not None:
                text = func.module.tree.code_for_node(node.func)
                return (f"a release of `{site.var}` ran before `{text}(...)`, which {how} "
                        "from the same pool; moved into `finally`, the checkout holds its "
                        "slot during that call, which at the pool's capacity fails (or "
                        "waits) where the original had room")
    return None


def slot_held_in_block(index: ProjectIndex, func: FunctionInfo, site: AcquireSite,
                       caller: FunctionInfo, block: list[cst.BaseStatement]) -> str | None:
    """PS106's fix: `func`'s checkout (`site`), given back as `func` returned, is now
    held through the caller's `with` block (`block`). A call there that takes a slot of
    the same pool (itself, a project function 3 levels down, the caller again) or a
    `yield` (the caller's own caller runs meanwhile, and may check out) holds that
    slot where the original had given it back: at the pool's capacity it fails (or
    waits) where the original had room."""
    held = _slot(index, func, site.call, site.conn)
    if held is None:
        return None
    for stmt in block:
        for node in iter_nodes(stmt):
            if isinstance(node, cst.Yield):
                return (f"`{caller.name}` yields inside the `with` block: the connection "
                        f"`{func.name}` gave back at once would hold its pool slot while "
                        "the caller's caller runs (and may check out from the same pool)")
            if isinstance(node, cst.Call):
                how = _checks_out(index, caller, node, held, caller)
                if how is not None:
                    text = caller.module.tree.code_for_node(node.func)
                    return (f"in `{caller.name}`, `{text}(...)` {how} (a slot of the same "
                            f"pool) inside the `with` block: the connection `{func.name}` gave "
                            "back at once would hold its slot during that call, which at "
                            "the pool's capacity fails (or waits) where the original had "
                            "room")
    return None


def mapping_written_elsewhere(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                              func: FunctionInfo | None, key: str) -> str | None:
    """A `**mapping` of `call` that another module defines, or that is written item by
    item somewhere the options reader does not look (another module, another
    function: `OPTS["pool_pre_ping"] = True`, `OPTS.update(...)`, `OPTS.setdefault(...)`
    in `settings.py`): the keyword `key` the fix adds might be given twice there
    (TypeError: "got multiple values for keyword argument"). Its text, or None."""
    for arg in call.args:
        if arg.star != "**":
            continue
        name = dotted_name(arg.value)
        text = module.tree.code_for_node(arg.value)
        if name is None:
            return text
        last = name.rsplit(".", 1)[-1]
        bound = resolve(index, arg.value, module, func)
        # the call's module, the mapping's, and any module that names it
        # (`settings.OPTS[...] = ...` in a third one), through a name it is also bound
        # to there (`ALIAS = OPTS; ALIAS[...] = ...`)
        places = {id(m): m for m in (module, bound.module, *index.modules_mentioning([last]))}
        for where in places.values():
            if any(_items_written(where, n, key) for n in _mapping_names(where, last)):
                return text
    return None


def _mapping_names(module: ModuleInfo, name: str) -> list[str]:
    """`name` and the plain names `module` binds to it (`ALIAS = OPTS`,
    `opts = settings.OPTS`), any scope."""
    names = [name]
    for assign, _ in inventory(module).assigns:
        if (dotted_name(assign.value) or "").rsplit(".", 1)[-1] == name:
            names += [t.target.value for t in assign.targets
                      if isinstance(t.target, cst.Name) and t.target.value not in names]
    return names


def _items_written(module: ModuleInfo, name: str, key: str) -> bool:
    """Somewhere in `module`, any scope, `key` (or a key that cannot be read) is written
    into a mapping whose name ends in `name`: `name[key] = ...`, `x.name.update(...)`,
    `name.setdefault(...)`, `name |= {...}`."""
    def named(expr: cst.BaseExpression) -> bool:
        return (dotted_name(expr) or "").rsplit(".", 1)[-1] == name

    inv = inventory(module)
    for assign, _ in inv.assigns:
        for t in assign.targets:
            if isinstance(t.target, cst.Subscript) and named(t.target.value):
                written = subscript_key(t.target)
                if written is None or written == key:
                    return True
    for call, _ in inv.calls:
        f = call.func
        if isinstance(f, cst.Attribute) and named(f.value) \
                and f.attr.value in ("update", "setdefault", "__setitem__"):
            return True
    return any(isinstance(node, cst.AugAssign) and named(node.target)
               for node in iter_nodes(module.tree, into_functions=True))

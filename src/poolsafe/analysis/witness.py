"""The path that shows a leak: the checkout, the statement that may raise (or the
`return` that leaves early), and how the function is left without the release.

A finding that says "is not returned to the pool if an exception is raised" leaves the
reader to find which call raises and which exit skips the release. The flow analysis
knows: it records, for each checkout, the statements that may raise while it is held
and the returns it is held at. For a reported leak this module asks the same analysis
which of them is a witness, one at a time: the function is analysed again with only
that statement raising (`FunctionFlow.only_raising`), and the first statement whose
exception alone still leaks the checkout is the one shown. So a step is never a guess
about a handler or a `finally`: it is a path the analysis itself follows.

A swallowed database error (PS103) has a path of its own: the call in the `try`
body whose error aborts the transaction, the `except` that swallows it, and where
the aborted transaction is met again (the statement that reuses it, the `with` that
commits it, the `return` or the end of the function that hands it to the caller),
which the flow analysis records as it reports the handler.

Only reported findings pay for this (a few re-runs of one function each).
"""

from __future__ import annotations

import re

import libcst as cst

from poolsafe.analysis.cleanup_reraise import REUSED_BEFORE_RERAISE
from poolsafe.analysis.flow import AfterRelease, FlowResult, FunctionFlow, RaisePoint
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.values import FunctionRef
from poolsafe.core.model import Step
from poolsafe.core.positions import Span, spans

#: one step of a path: the node it points at and what happens there (or, in another
#: module, a resolved `Step` with its file)
Steps = tuple[tuple[cst.CSTNode, str] | Step, ...]

#: at most this many statements are tried as the one that raises
MAX_TRIES = 24


def leak_path(index: ProjectIndex, func: FunctionInfo, flow: FlowResult, site_index: int,
              how: str, release: str) -> Steps:
    """The steps of a PS102 leak (`how`: "exception", "path" or "overwritten"), or ()
    when no step beyond the checkout can be shown. `release` names what is missing
    (`release_db_connection(conn)`)."""
    site = flow.sites[site_index]
    steps: list[tuple[cst.CSTNode, str] | Step] = [(site.call, f"`{site.var}` checked out here")]
    acquirer = _wrapper_elsewhere(index, func, site.call)
    if acquirer is not None:
        taken = ("opens the connection" if site.conn.kind.direct
                 else "takes the connection from the pool")
        steps.append(definition_step(acquirer, f"`{acquirer.name}()` is defined here: it "
                                               f"{taken} and hands it out"))
    where = f"`{func.name}()`"
    if how == "exception":
        raiser = _raising(index, func, flow, site_index)
        if raiser is not None:
            steps.append((raiser.statement, f"{_describe(func, raiser)} may raise: the exception "
                                       f"leaves {where} without {release}"))
    elif how == "path":
        exit_step = _exit(func, flow, site_index, release)
        if exit_step is not None:
            steps.append(exit_step)
    if len(steps) == (1 if acquirer is None else 2):
        return ()
    releaser = index.release_wrapper_for(site.conn.via) if site.conn.via else None
    if releaser is not None and releaser.module is not func.module \
            and f"{releaser.name}(" in release and f"{site.var}.{releaser.name}(" not in release:
        steps.append(definition_step(releaser, f"`{releaser.name}()` is defined here: the "
                                               "release the checkout needs"))
    return tuple(steps)


#: id(def node) -> (the node, its name's span): a wrapper used by many findings is
#: looked up once (the node is kept so that a reused id is not mistaken for it)
_DEFINITIONS: dict[int, tuple[cst.CSTNode, Span]] = {}


def definition_step(func: FunctionInfo, label: str) -> Step:
    """A step at the `def` of a function in another module (its name's line)."""
    known = _DEFINITIONS.get(id(func.node))
    if known is None or known[0] is not func.node:
        if len(_DEFINITIONS) > 512:
            _DEFINITIONS.clear()
        span = spans(func.module.tree, [func.node.name]).get(id(func.node.name))
        if span is None:  # pragma: no cover - a node of the module has a span
            span = Span(1, 0, 1, 0)
        known = _DEFINITIONS[id(func.node)] = (func.node, span)
    span = known[1]
    return Step(span.start_line, span.start_column + 1, label, func.module.path)


def _wrapper_elsewhere(index: ProjectIndex, func: FunctionInfo,
                       call: cst.CSTNode) -> FunctionInfo | None:
    """The project function `call` calls when it is defined in another module."""
    if not isinstance(call, cst.Call):
        return None
    value = index.evaluate(call.func, func.module, func)
    if isinstance(value, FunctionRef) and value.func.module is not func.module:
        return value.func
    return None


_CODE = re.compile(r"(?:await )?[\w.]+\([\w., ]*\)")


def as_code(text: str) -> str:
    """A release as a step names it: code in backticks (`pool.putconn(conn)`), prose
    (the pool's release for `get_conn()`) as it is."""
    return f"`{text}`" if _CODE.fullmatch(text) else text


def after_release_path(item: AfterRelease, index: ProjectIndex | None = None,
                       func: FunctionInfo | None = None) -> Steps:
    """The steps of a use after release (PS106): where it was released, where it is
    used. A release that runs as the function returns (a `finally`, a `with` exit) comes
    after the `return` it follows in the source, so the use is shown first. A release
    through a project function of another module (`release_db_connection(conn)` from
    `db.py`) adds a step at its definition."""
    releaser = (_wrapper_elsewhere(index, func, item.release)
                if index is not None and func is not None else None)
    defined: tuple[Step, ...] = () if releaser is None else (definition_step(
        releaser, f"`{releaser.name}()` is defined here: it gives the connection back"),)
    if item.on_return:
        return ((item.node, f"`{item.var}` {item.use} here"),
                (item.release, f"`{item.var}` released here as the function returns: the "
                               "caller gets it released"), *defined)
    return ((item.release, f"`{item.var}` released here"), *defined,
            (item.node, f"`{item.var}` {item.use} here, after the release"))


def _raising(index: ProjectIndex, func: FunctionInfo, flow: FlowResult,
             site_index: int) -> RaisePoint | None:
    """The first statement whose exception, with no other statement raising, leaves
    the function with the checkout held."""
    call = flow.sites[site_index].call
    for point in flow.raise_points.get(site_index, [])[:MAX_TRIES]:
        if not point.guarded:
            # no `try` and no `with` around it: its exception leaves the function
            # with the checkout held, as the analysis recorded it
            return point
        trial = FunctionFlow(index, func)
        trial.only_raising = id(point.node)
        result = trial.run()
        for i, site in enumerate(result.sites):
            if site.call is call and result.leaks.get(i) == "exception":
                return point
    return None


def _exit(func: FunctionInfo, flow: FlowResult, site_index: int,
          release: str) -> tuple[cst.CSTNode, str] | None:
    """Where a normal path leaves with the checkout held: a `return` that no `finally`
    or `with` follows, else the end of the body, else the first such `return`."""
    var = flow.sites[site_index].var
    returns = flow.return_points.get(site_index, [])
    for ret, guarded in returns:
        if not guarded:
            return ret, f"returns with `{var}` still checked out, without {release}"
    body = func.node.body
    if site_index in flow.held_at_end and isinstance(body, cst.IndentedBlock) and body.body:
        return body.body[-1], (f"the end of `{func.name}()` is reached with `{var}` still "
                               f"checked out, without {release}")
    if returns:
        return returns[0][0], f"returns with `{var}` still checked out, without {release}"
    return None


def _describe(func: FunctionInfo, point: RaisePoint) -> str:
    """How a step names what raises: the first call in it that may raise."""
    if isinstance(point.node, cst.Raise):
        return "`raise`"
    if isinstance(point.node, cst.Assert):
        return "`assert`"
    if point.call is not None:
        text = " ".join(func.module.tree.code_for_node(point.call.func).split())
        if len(text) > 40:
            text = text[:37] + "..."
        return f"`{text}(...)`"
    return "this line"


def swallow_path(index: ProjectIndex, func: FunctionInfo, flow: FlowResult,
                 handler_index: int) -> Steps:
    """The steps of a PS103 finding: the work that may fail, the `except` that swallows
    its error, and where the failed transaction is met again."""
    handler = flow.handlers[handler_index]
    resource, why = flow.swallowing_handlers[handler_index]
    steps: list[tuple[cst.CSTNode, str]] = []
    owner = next((t for t in func.tries if any(h is handler for h in t.handlers)), None)
    if owner is not None:
        work = FunctionFlow(index, func).first_work_on(owner.body, resource)
        if work is not None:
            text = _short(func.module.tree.code_for_node(work.func))
            steps.append((work, f"`{text}(...)` works on `{resource}`: a database error "
                                "here aborts its transaction"))
    caught = ("a bare `except`" if handler.type is None else
              f"`except {_short(func.module.tree.code_for_node(handler.type))}`")
    where = flow.handler_exits.get(handler_index)
    if why == REUSED_BEFORE_RERAISE:
        steps.append((handler, f"{caught} catches the error and ends in `raise`, without "
                               f"`{resource}.rollback()` before it"))
        if where is not None:
            steps.append((where, f"`{resource}` is used here, in the aborted transaction: "
                                 "this fails, and its error is the one raised"))
        return tuple(steps)
    steps.append((handler, f"{caught} swallows the error without `{resource}.rollback()`"))
    if why.startswith("it is used again") and where is not None:
        steps.append((where, f"`{resource}` is used again here, in the aborted transaction"))
    elif why.startswith("the transaction commits") and where is not None:
        steps.append((where, f"this `with` block commits `{resource}`'s aborted "
                             "transaction as it ends"))
    elif where is not None:
        steps.append((where, f"returns with `{resource}` in the aborted transaction: the "
                             "caller gets it back that way"))
    else:
        body = func.node.body
        if isinstance(body, cst.IndentedBlock) and body.body:
            steps.append((_last_statement(body.body[-1]),
                          f"the end of `{func.name}()` is reached with `{resource}` in the "
                          "aborted transaction: the caller gets it back that way"))
    return tuple(steps)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _last_statement(stmt: cst.BaseStatement) -> cst.BaseStatement:
    """The statement on the last line of `stmt` (of a `try`, the last of its `finally`,
    `else` or last handler): where the end of the function is reached."""
    while True:
        block: cst.BaseSuite | None = None
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            block = (stmt.finalbody.body if stmt.finalbody is not None else
                     stmt.orelse.body if stmt.orelse is not None else
                     stmt.handlers[-1].body if stmt.handlers else stmt.body)
        elif isinstance(stmt, (cst.If, cst.For, cst.While)):
            tail = stmt.orelse
            while isinstance(tail, cst.If):
                tail = tail.orelse
            block = tail.body if tail is not None else stmt.body
        elif isinstance(stmt, cst.With):
            block = stmt.body
        if not isinstance(block, cst.IndentedBlock) or not block.body:
            return stmt
        stmt = block.body[-1]

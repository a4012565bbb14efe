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

Only reported findings pay for this (a few re-runs of one function each).
"""

from __future__ import annotations

import re

import libcst as cst

from poolsafe.analysis.flow import AfterRelease, FlowResult, FunctionFlow, RaisePoint
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo

#: one step of a path: the node it points at and what happens there
Steps = tuple[tuple[cst.CSTNode, str], ...]

#: at most this many statements are tried as the one that raises
MAX_TRIES = 24


def leak_path(index: ProjectIndex, func: FunctionInfo, flow: FlowResult, site_index: int,
              how: str, release: str) -> Steps:
    """The steps of a PS102 leak (`how`: "exception", "path" or "overwritten"), or ()
    when no step beyond the checkout can be shown. `release` names what is missing
    (`release_db_connection(conn)`)."""
    site = flow.sites[site_index]
    steps: list[tuple[cst.CSTNode, str]] = [(site.call, f"`{site.var}` checked out here")]
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
    return tuple(steps) if len(steps) > 1 else ()


_CODE = re.compile(r"(?:await )?[\w.]+\([\w., ]*\)")


def as_code(text: str) -> str:
    """A release as a step names it: code in backticks (`pool.putconn(conn)`), prose
    (the pool's release for `get_conn()`) as it is."""
    return f"`{text}`" if _CODE.fullmatch(text) else text


def after_release_path(item: AfterRelease) -> Steps:
    """The steps of a use after release (PS106): where it was released, where it is
    used. A release that runs as the function returns (a `finally`, a `with` exit) comes
    after the `return` it follows in the source, so the use is shown first."""
    if item.on_return:
        return ((item.node, f"`{item.var}` {item.use} here"),
                (item.release, f"`{item.var}` released here as the function returns: the "
                               "caller gets it released"))
    return ((item.release, f"`{item.var}` released here"),
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

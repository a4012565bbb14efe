"""The dialect of an engine's URL when the URL is a parameter of the function that
builds the engine: what every project caller passes for it (`reference_engine(
"sqlite://")`), or the parameter's default."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.project_facts import facts
from poolsafe.analysis.resolution import dialect_of, string_prefix
from poolsafe.analysis.session_reads import param_for


def callers_dialect(index: ProjectIndex, url: cst.BaseExpression,
                    func: FunctionInfo | None) -> str | None:
    """The dialect of the URL a parameter of `func` holds, when `url` is that
    parameter (never rebound) and every call of `func` in the project outside the
    tests (at least one) passes a URL of that one dialect, or leaves the parameter
    to a default of it (`reference_engine("sqlite://")`); else None."""
    if func is None or not isinstance(url, cst.Name) or url.value in func.locals:
        return None
    param = func.param(url.value)
    if param is None:
        return None
    sites = facts(index).project_callers(func)
    found: set[str] = set()
    for site in sites:
        if any(a.star for a in site.call.args):
            return None
        arg = next((a for a in site.call.args
                    if param_for(func, site.call, a) == url.value), None)
        if arg is not None:
            given = dialect_of(string_prefix(index, arg.value, site.module, site.func))
        elif param.default is not None:
            given = dialect_of(string_prefix(index, param.default, func.module, None))
        else:
            return None
        if given is None:
            return None
        found.add(given)
    return found.pop() if len(found) == 1 else None

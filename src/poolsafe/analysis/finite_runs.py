"""Code that runs only inside one run of a one-shot process, a finite number of times.

`project_facts.is_cli_entry` says a function runs once per process; a helper that a
management command's `handle()` calls once per row of a queryset
(`for semester in Semester.objects.all(): JSONImporter(semester).import_json(data)`)
runs more than once, but still only inside that one run, which ends when the rows do.
For a rule whose concern is what the process holds while it runs (PS207's Django
transactions: the command's one connection is its own), that helper is one run's code
too. A caller inside a `while` loop, or a `for` loop over anything but a known finite
collection (a `for message in consumer:` may never end), is not.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import call_name, children, iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.project_facts import facts, is_cli_entry

_DEPTH = 4
#: calls that build a finite collection (they return only once they have it all), or a
#: view of a dict or sequence
_FINITE_CALLS = frozenset({"range", "sorted", "reversed", "list", "tuple", "set", "dict",
                           "items", "keys", "values"})
#: lazy wrappers: finite when what they wrap is
_WRAPPERS = frozenset({"enumerate", "zip"})
#: Django queryset and manager methods that return a queryset (rows of one query)
_QUERYSET_METHODS = frozenset({"all", "filter", "exclude", "order_by", "select_related",
                               "prefetch_related", "only", "defer", "distinct",
                               "values", "values_list", "iterator", "using", "annotate"})


def runs_in_one_run(index: ProjectIndex, func: FunctionInfo, depth: int = 0,
                    top_level: bool = False) -> bool:
    """`func` is one-shot code (`is_cli_entry`), or every call of it in the project
    (tests aside; at least one) is in such code, outside `while` loops and inside only
    `for` loops over a finite collection (a queryset, a literal, `range()`, a view of a
    collection). With `top_level`, a call in a module's top-level code (a script's
    `if __name__ == "__main__":` block, `for part in range(32): copy(part)`), which
    runs once per process, counts under the same loop conditions."""
    if is_cli_entry(index, func):
        return True
    if depth >= _DEPTH:
        return False
    sites = facts(index).project_callers(func)
    if not sites:
        return False
    for site in sites:
        if site.func is func or (site.func is None and not top_level):
            return False
        scope: cst.CSTNode = site.func.node if site.func is not None else site.module.tree
        parents = {id(c): n for n in iter_nodes(scope) for c in children(n)}
        node: cst.CSTNode | None = parents.get(id(site.call))
        while node is not None and node is not scope:
            if isinstance(node, (cst.While, cst.CompFor)) or (
                    site.func is None and isinstance(node, (cst.Lambda, cst.ClassDef))):
                return False
            if isinstance(node, cst.For) and not _finite(node.iter):
                return False
            node = parents.get(id(node))
        if site.func is not None and not runs_in_one_run(index, site.func, depth + 1,
                                                         top_level):
            return False
    return True


def _finite(expr: cst.BaseExpression) -> bool:
    """A literal collection, `range(...)` and the like over one, a Django manager
    chain (`Semester.objects.exclude(...)`), or a command's parsed argument."""
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return True
    if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Name) \
            and expr.value.value == "options":
        return True  # a management command's parsed arguments (`options["urls"]`)
    if not isinstance(expr, cst.Call):
        return False
    name = call_name(expr)
    if name in _FINITE_CALLS:
        return True
    if name in _WRAPPERS:
        args = [a.value for a in expr.args if a.keyword is None and not a.star]
        return bool(args) and all(_finite(a) for a in args)
    if name in _QUERYSET_METHODS and isinstance(expr.func, cst.Attribute):
        root: cst.BaseExpression = expr.func.value
        while isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute) \
                and root.func.attr.value in _QUERYSET_METHODS:
            root = root.func.value
        return isinstance(root, cst.Attribute) and root.attr.value == "objects"
    return False

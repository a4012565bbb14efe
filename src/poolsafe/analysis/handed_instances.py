"""A library object a project function is handed as an argument (PS107's job
registrations).

A project often builds its scheduler where it starts it and keeps the job list in a
helper:

    def register_jobs(scheduler):
        scheduler.add_job(sync_orders, "interval", minutes=5)
        scheduler.start()

    class Command(BaseCommand):
        def handle(self, *args, **options):
            register_jobs(BlockingScheduler())

`scheduler` is a parameter; the index does not type it. This module answers whether
it is an instance of the given library classes: `expr` is a plain parameter of `func`
(not rebound in it) and every call of `func` the project makes (at least one, none
that leaves the parameter out or passes it through `*args`/`**kwargs`) passes such an
instance, read at the caller (`BlockingScheduler()`, a local bound to one, a project
factory that returns one), or the caller's own parameter handed on the same way (a few
calls deep).
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import argument_for
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import facts, instance_value
from poolsafe.analysis.resolution import Pairs, instance_type

#: how many callers up a parameter is followed
_MAX_HOPS = 3


def handed_instance(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                    func: FunctionInfo | None, pairs: Pairs, hops: int = 0) -> bool:
    """`expr` is a parameter of `func` every project call of which passes an instance
    of one of `pairs` (see the module docstring)."""
    if func is None or hops > _MAX_HOPS or not isinstance(expr, cst.Name):
        return False
    name = expr.value
    if name in func.locals or name in func.globals_declared:
        return False  # rebound in the function
    params = func.param_names()
    if name not in params:
        return False
    position = params.index(name)
    sites = facts(index).project_callers(func)
    if not sites:
        return False
    for site in sites:
        arg = argument_for(site.call, name, position)
        if arg is None:
            return False
        if instance_type(instance_value(index, arg, site.module, site.func), pairs):
            continue
        if not handed_instance(index, arg, site.module, site.func, pairs, hops + 1):
            return False
    return True

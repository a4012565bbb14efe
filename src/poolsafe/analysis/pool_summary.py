"""What a module tells the project's capacity about itself, as plain data (issue 32).

PS208 adds up every pool of the project, so a check of one file used to parse every
module that spells a pool word (`pool_sites.POOL_WORDS`) to find out whether it
holds a pool: in superset 168 modules, of which a handful do. A `PoolSummary` is
what `pool_sites.module_pools` needs to know about a module to say that it holds
no pool, read from the module alone (so it is keyed by the module's bytes and path,
`poolsafe.scan.summaries`):

- `direct`: the module may hold a pool whatever the rest of the project is: it
  assigns a Flask-SQLAlchemy configuration key or `DATABASES` (`_configures`), it
  calls an attribute named as a constructor (`x.create_pool(...)`), or it calls a
  name assigned in a function or at its top level (which only an evaluation can
  follow);
- `imported`: the qualified names of the imports it calls by their bound name
  (`from sqlalchemy import create_engine`, `from app.db import make`, then
  `make(...)`; at the top level or in a function): whether one of them is a pool
  constructor depends on the module that name comes from;
- `defined`: the names its top level defines with `def` or `class` (what an
  import of them from another module resolves to: a function or a class, never
  a library's constructor); `bound`: the other names its top level binds
  (assignments, imports); `star`: it has a `from x import *`; `first_name`: the
  first of the dotted names it may be imported as (`ModuleInfo.names`), where
  resolution looks for a submodule of it.

`may_hold_pools` decides from a summary and the project's resolution of each
imported name (`ImportKind`): it answers False only where `module_pools` finds no
pool, because every call that `module_pools` evaluates (`resolution.may_call`) is
then a project function or class, a module, or a library name that is no pool
constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import libcst as cst

from poolsafe.analysis.cstutil import call_name, subscript_key
from poolsafe.analysis.module import ImportBinding, ModuleInfo, Opaque, WithBinding
from poolsafe.analysis.resolution import class_body_assigns, may_call, qual_match
from poolsafe.knowledge.capacity import POOL_CONSTRUCTORS
from poolsafe.knowledge.frameworks import (
    ENGINE_CONSTRUCTORS,
    FLASK_CONFIG_UPDATE_METHODS,
    FLASK_SQLALCHEMY_OPTIONS_KEY,
    FLASK_SQLALCHEMY_URI_KEY,
    MIDDLEWARE_URL_KEYWORD,
)

#: the names `module_pools` evaluates a call for (`engines.engine_calls` and its own
#: pool constructors)
CALL_NAMES = frozenset({tail for _, tail in ENGINE_CONSTRUCTORS}
                       | {c.tail.rsplit(".", 1)[-1] for c in POOL_CONSTRUCTORS})
#: the (root, tail) pairs a constructor's qualified name matches
CONSTRUCTOR_PAIRS = (tuple(ENGINE_CONSTRUCTORS)
                     + tuple((c.root, c.tail) for c in POOL_CONSTRUCTORS))


@dataclass(frozen=True)
class PoolSummary:
    direct: bool
    imported: tuple[str, ...]
    defined: frozenset[str]
    bound: frozenset[str]
    star: bool
    first_name: str

    def to_json(self) -> dict[str, Any]:
        return {"direct": self.direct, "imported": list(self.imported),
                "defined": sorted(self.defined), "bound": sorted(self.bound),
                "star": self.star, "first_name": self.first_name}

    @classmethod
    def from_json(cls, data: object) -> PoolSummary | None:
        """The summary `data` holds, or None when it is not one (a damaged file)."""
        if not isinstance(data, dict):
            return None
        direct, star, first = data.get("direct"), data.get("star"), data.get("first_name")
        lists = [data.get(k) for k in ("imported", "defined", "bound")]
        if not isinstance(direct, bool) or not isinstance(star, bool) \
                or not isinstance(first, str) \
                or not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                           for v in lists):
            return None
        imported, defined, bound = (v if isinstance(v, list) else [] for v in lists)
        return cls(direct, tuple(imported), frozenset(defined), frozenset(bound), star,
                   first)


def summarize(module: ModuleInfo) -> PoolSummary:
    defined = frozenset(module.functions) | frozenset(module.classes)
    bound = (frozenset(module.assigns) | frozenset(module.imports)) - defined
    star = bool(module.star_imports)
    first = module.names[0] if module.names else ""

    def direct() -> PoolSummary:
        return PoolSummary(True, (), defined, bound, star, first)

    if _configures(module):
        return direct()
    imported: list[str] = []
    for call, func in module.calls:
        if not may_call(call, CALL_NAMES, module, func):
            continue
        name = call_name(call)
        if not isinstance(call.func, cst.Name) or name is None:
            return direct()  # `x.create_engine(...)`
        # `ProjectIndex._name`'s order: the enclosing functions' locals or parameters
        scope = func
        while scope is not None and name not in scope.locals \
                and name not in scope.all_param_names():
            scope = scope.parent
        if scope is not None:
            if name not in scope.locals:
                continue  # a parameter: an instance, a pool type or nothing (`_name`)
            # `_local`: an import is resolved, a `with` target is a connection or
            # nothing, a loop target nothing; an assigned value must be evaluated
            for value in scope.locals[name]:
                if isinstance(value, ImportBinding):
                    if value.qualname not in imported:
                        imported.append(value.qualname)
                elif not isinstance(value, (Opaque, WithBinding)):
                    return direct()
            continue
        # `lookup_module_name`'s order: a function or class of the module is what the
        # name means (not a library's), then an assignment, then an import
        if name in module.functions or name in module.classes:
            continue
        if name in module.assigns or name not in module.imports:
            return direct()  # (a builtin, a star import: evaluated, so kept)
        qualname = module.imports[name]
        if qualname not in imported:
            imported.append(qualname)
    return PoolSummary(False, tuple(imported), defined, bound, star, first)


def _configures(module: ModuleInfo) -> bool:
    """The module may configure a pool without a call `module_pools` evaluates: a
    call given a middleware's `db_url=` (fastapi-sqlalchemy's `DBSessionMiddleware`
    builds its engine from it: `engines.middleware_engine_calls`), a
    Flask-SQLAlchemy key assigned in a class body, at its top level, as
    `x.config["KEY"] = ...` or by `x.config.update(KEY=...)`
    (`engines.flask_config_units`), or Django's `DATABASES` at its top level
    (`pool_sites.django_pools`)."""
    keys = (FLASK_SQLALCHEMY_URI_KEY, FLASK_SQLALCHEMY_OPTIONS_KEY)
    if any(k in module.assigns for k in (*keys, "DATABASES")):
        return True
    if any(k in class_body_assigns(cls) for cls in module.classes.values() for k in keys):
        return True
    for assign, _ in module.assign_nodes:
        for t in assign.targets:
            if isinstance(t.target, cst.Subscript) and subscript_key(t.target) in keys:
                return True
    for call, _ in module.calls:
        if any(a.keyword is not None and a.keyword.value == MIDDLEWARE_URL_KEYWORD
               for a in call.args):
            return True  # a middleware that builds the engine (`middleware_engine_calls`)
        f = call.func
        if isinstance(f, cst.Attribute) and f.attr.value in FLASK_CONFIG_UPDATE_METHODS \
                and any(a.keyword is not None and a.keyword.value in keys for a in call.args):
            return True
    for stmt in module.tree.body:  # `DATABASES = {...}` (the only way `django_pools` reads)
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and any(
                        isinstance(t.target, cst.Name) and t.target.value == "DATABASES"
                        for t in small.targets):
                    return True
    return False


class ImportKind(Enum):
    """What resolution makes of an imported qualified name (`resolve_qualname`)."""

    #: a project module, or a function or class a project module defines
    PROJECT = "project"
    #: no project module answers any prefix of it: the library name itself
    EXTERNAL = "external"
    #: anything else (a re-export, an assignment): only an evaluation can tell
    UNKNOWN = "unknown"


def may_hold_pools(summary: PoolSummary, kind: Callable[[str], ImportKind]) -> bool:
    if summary.direct:
        return True
    for qualname in summary.imported:
        found = kind(qualname)
        if found is ImportKind.PROJECT:
            continue
        if found is ImportKind.EXTERNAL and qual_match(qualname, CONSTRUCTOR_PAIRS) is None:
            continue
        return True
    return False

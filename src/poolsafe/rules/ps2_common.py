"""Shared analysis for the PS2xx rules (pool settings and connection lifecycles).

Everything here resolves names through the project index; the library facts it
uses live in `poolsafe.knowledge.frameworks`. Project-wide facts (who calls whom,
which functions are background jobs or Flask teardown handlers) are computed once
per index, on first use, and cached.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import libcst as cst

from poolsafe.analysis.cstutil import (
    call_name,
    dotted_name,
    keyword_arg,
    positional_args,
    string_value,
    strip_await,
)
from poolsafe.analysis.frameworks import route_framework
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ImportBinding, ModuleInfo
from poolsafe.analysis.values import (
    ClassRef,
    External,
    ExternalInstance,
    FunctionRef,
    Instance,
    LibraryObject,
    ModuleRef,
    Value,
)
from poolsafe.knowledge.frameworks import (
    CLI_DECORATORS,
    DJANGO_ROOTS,
    DJANGO_VIEW_DECORATORS,
    DJANGO_VIEW_MODULES,
    ENGINE_CONSTRUCTORS,
    ENGINE_URL_KEYWORD,
    ENV_LOOKUPS,
    FLASK_APP_TYPES,
    FLASK_MODEL_BASE_ATTRIBUTE,
    FLASK_SQLALCHEMY_OPTIONS_KEYWORD,
    FLASK_TEARDOWN_METHODS,
    JOB_REGISTRARS,
    NON_POOLING_CLASSES,
    URL_BUILDERS,
    URL_DRIVER_KEYWORD,
    URL_PASSTHROUGH,
    VIEW_BASE_ROOTS,
    VIEW_HANDLER_METHODS,
)
from poolsafe.knowledge.libraries import root_matches

Pairs = Iterable[tuple[str, str]]
_MAX = 12


# ------------------------------------------------------------------ qualnames
def qual_match(qualname: str, pairs: Pairs) -> tuple[str, str] | None:
    """The (root, tail) pair that `qualname` stands for: the root package matches
    and the qualified name ends with the tail (`sqlalchemy.engine.URL.create` is
    `("sqlalchemy", "URL.create")`)."""
    for root, tail in pairs:
        if root_matches(qualname, root) and (qualname == f"{root}.{tail}" or qualname.endswith(
                "." + tail)):
            return (root, tail)
        if root == "builtins" and qualname == tail:
            return (root, tail)
    return None


def external_name(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                  func: FunctionInfo | None) -> str | None:
    value = index.evaluate(expr, module, func)
    if isinstance(value, External):
        return value.qualname
    if value is None and isinstance(expr, cst.Name) and _unbound(expr.value, module, func):
        return expr.value  # a builtin such as `str` or `int`
    return None


def _unbound(name: str, module: ModuleInfo, func: FunctionInfo | None) -> bool:
    scope = func
    while scope is not None:
        if name in scope.locals or name in scope.all_param_names():
            return False
        scope = scope.parent
    return not (name in module.assigns or name in module.imports or name in module.functions
                or name in module.classes)


def instance_type(value: Value | None, pairs: Pairs) -> bool:
    return isinstance(value, ExternalInstance) and qual_match(value.qualname, pairs) is not None


def may_call(call: cst.Call, names: set[str] | frozenset[str], module: ModuleInfo,
             func: FunctionInfo | None) -> bool:
    """A cheap pre-check: the call's last name is one of `names`, or the callee is an
    imported alias (`from sqlalchemy import create_engine as ce`)."""
    name = call_name(call)
    if name in names:
        return True
    if isinstance(call.func, cst.Name):
        if name in module.imports:
            return True
        scope = func
        while scope is not None:
            if name in scope.locals:
                return True
            scope = scope.parent
    return False


def decorator_target(deco: cst.Decorator) -> cst.BaseExpression:
    expr = deco.decorator
    return expr.func if isinstance(expr, cst.Call) else expr


# --------------------------------------------------------- following bindings
@dataclass(frozen=True)
class Bound:
    """An expression with the scope it is evaluated in."""

    expr: cst.BaseExpression
    module: ModuleInfo
    func: FunctionInfo | None


def class_body_assigns(cls: ClassInfo) -> dict[str, cst.BaseExpression]:
    """`NAME = value` and `name: T = value` directly in a class body."""
    out: dict[str, cst.BaseExpression] = {}
    body = cls.node.body
    if not isinstance(body, cst.IndentedBlock):
        return out
    for stmt in body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for t in small.targets:
                    if isinstance(t.target, cst.Name):
                        out[t.target.value] = small.value
            elif (isinstance(small, cst.AnnAssign) and small.value is not None
                  and isinstance(small.target, cst.Name)):
                out[small.target.value] = small.value
    return out


def class_bases(index: ProjectIndex, cls: ClassInfo) -> Iterator[Value | None]:
    """What each base class is (a base of a base may live in any module)."""
    for base in cls.node.bases:
        if base.keyword is None:
            with index.full_resolution():
                value = index.evaluate(base.value, cls.module, None)
            yield value


def class_attribute(index: ProjectIndex, cls: ClassInfo, name: str,
                    depth: int = 0) -> tuple[cst.BaseExpression, ClassInfo] | None:
    """A class-level attribute, looked up through project base classes."""
    own = class_body_assigns(cls)
    if name in own:
        return own[name], cls
    if depth > _MAX:
        return None
    for base in class_bases(index, cls):
        if isinstance(base, ClassRef):
            found = class_attribute(index, base.cls, name, depth + 1)
            if found is not None:
                return found
    return None


def resolve(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
            func: FunctionInfo | None) -> Bound:
    """Follow names and attributes to the expression they were last assigned from:
    locals, module constants, imports of another module's constants, class
    attributes. Stops at anything it cannot follow (a parameter, a call). Constants
    live anywhere, so this reads every module."""
    with index.full_resolution():
        for _ in range(_MAX):
            nxt = _step(index, expr, module, func)
            if nxt is None:
                break
            expr, module, func = nxt.expr, nxt.module, nxt.func
    return Bound(expr, module, func)


def _step(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
          func: FunctionInfo | None) -> Bound | None:
    if isinstance(expr, cst.Name):
        name = expr.value
        scope = func
        while scope is not None:
            if name in scope.all_param_names():
                return None
            if name in scope.locals:
                last = scope.locals[name][-1]
                if isinstance(last, ImportBinding):
                    return _imported(index, last.qualname, module)
                values = [v for v in scope.locals[name] if isinstance(v, cst.BaseExpression)]
                return Bound(values[-1], module, scope) if values else None
            scope = scope.parent
        if name in module.assigns:
            return Bound(module.assigns[name][-1], module, None)
        if name in module.imports:
            return _imported(index, module.imports[name], module)
        return None
    if isinstance(expr, cst.Attribute):
        base = index.evaluate(expr.value, module, func)
        attr = expr.attr.value
        if isinstance(base, ModuleRef):
            target = base.module
            if attr in target.assigns:
                return Bound(target.assigns[attr][-1], target, None)
            if attr in target.imports:
                return _imported(index, target.imports[attr], target)
            return None
        if isinstance(base, (ClassRef, Instance)):
            found = class_attribute(index, base.cls, attr)
            if found is not None:
                return Bound(found[0], found[1].module, None)
            if attr in base.cls.attributes:
                method = next(iter(base.cls.methods.values()), None)
                return Bound(base.cls.attributes[attr][-1], base.cls.module, method)
    return None


def _imported(index: ProjectIndex, qualname: str, near: ModuleInfo) -> Bound | None:
    modname, _, attr = qualname.rpartition(".")
    candidates = index.by_name.get(modname)
    if not candidates or not attr:
        return None
    here = str(near.abspath)
    target = max(candidates, key=lambda m: len(os.path.commonpath([here, str(m.abspath)])))
    if attr in target.assigns:
        return Bound(target.assigns[attr][-1], target, None)
    if attr in target.imports:
        return _imported(index, target.imports[attr], target)
    return None


# --------------------------------------------------------------- constant values
def string_prefix(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                  func: FunctionInfo | None, depth: int = 0) -> str | None:
    """The known beginning of a string value (all of it for a literal)."""
    if depth > _MAX:
        return None
    b = resolve(index, expr, module, func)
    node = b.expr
    text = string_value(node)
    if text is not None:
        return text
    if isinstance(node, cst.FormattedString):
        out = ""
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out += part.value
            else:
                break
        return out or None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return string_prefix(index, node.left, b.module, b.func, depth + 1)
    if isinstance(node, cst.Call):
        f = node.func
        if isinstance(f, cst.Attribute) and f.attr.value == "format":
            return string_prefix(index, f.value, b.module, b.func, depth + 1)
        qual = external_name(index, f, b.module, b.func)
        if qual is None:
            return None
        args = positional_args(node)
        if qual_match(qual, ENV_LOOKUPS):
            default = args[1] if len(args) > 1 else keyword_arg(node, "default")
            if default is None:
                return None
            return string_prefix(index, default, b.module, b.func, depth + 1)
        if qual_match(qual, URL_BUILDERS):
            driver = args[0] if args else keyword_arg(node, URL_DRIVER_KEYWORD)
            if driver is None:
                return None
            name = string_prefix(index, driver, b.module, b.func, depth + 1)
            return None if name is None else name + "://"
        if qual_match(qual, URL_PASSTHROUGH) and args:
            return string_prefix(index, args[0], b.module, b.func, depth + 1)
    return None


def dialect_of(prefix: str | None) -> str | None:
    """`postgresql` for `postgresql+psycopg2://...`; None when the scheme is not known."""
    if prefix is None or "://" not in prefix:
        return None
    scheme = prefix.split("://", 1)[0].strip()
    if not scheme or not all(c.isalnum() or c in "+_-." for c in scheme):
        return None
    return scheme.split("+", 1)[0].lower()


def int_value(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
              func: FunctionInfo | None) -> int | None:
    b = resolve(index, expr, module, func)
    node = b.expr
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = int_value(index, node.expression, b.module, b.func)
        return None if inner is None else -inner
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "int":
        args = positional_args(node)
        if args:
            text = string_prefix(index, args[0], b.module, b.func)
            if text is not None and text.strip().lstrip("-").isdigit():
                return int(text)
            return int_value(index, args[0], b.module, b.func)
    return None


def is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


# -------------------------------------------------------------- option mappings
@dataclass
class Options:
    """Engine keyword arguments as known: name -> value expression (in `where`)."""

    values: dict[str, Bound] = field(default_factory=dict)
    #: something (`**kwargs`, a call) may add keywords we cannot see
    open: bool = False


def mapping_options(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                    func: FunctionInfo | None, depth: int = 0) -> Options | None:
    """The keys of a dict literal or `dict(k=v)` call, following names."""
    b = resolve(index, expr, module, func)
    node = b.expr
    out = Options()
    if isinstance(node, cst.Dict):
        for el in node.elements:
            if isinstance(el, cst.DictElement):
                key = string_value(el.key)
                if key is None:
                    out.open = True
                else:
                    out.values[key] = Bound(el.value, b.module, b.func)
            elif isinstance(el, cst.StarredDictElement):
                _merge(out, index, el.value, b, depth)
        return out
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict":
        for arg in node.args:
            if arg.keyword is not None:
                out.values[arg.keyword.value] = Bound(arg.value, b.module, b.func)
            elif arg.star == "**" or not arg.star:
                _merge(out, index, arg.value, b, depth)
            else:
                out.open = True
        return out
    return None


def _merge(out: Options, index: ProjectIndex, expr: cst.BaseExpression, where: Bound,
           depth: int) -> None:
    inner = mapping_options(index, expr, where.module, where.func, depth + 1) if (
        depth < _MAX) else None
    if inner is None:
        out.open = True
    else:
        out.values.update(inner.values)
        out.open = out.open or inner.open


def call_options(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                 func: FunctionInfo | None) -> Options:
    out = Options()
    for arg in call.args:
        if arg.keyword is not None:
            out.values[arg.keyword.value] = Bound(arg.value, module, func)
        elif arg.star == "**":
            _merge(out, index, arg.value, Bound(arg.value, module, func), 0)
        elif arg.star == "*":
            out.open = True
    return out


# ------------------------------------------------------------ module inventory
@dataclass
class Inventory:
    """Every call and assignment of a module with its enclosing function, collected
    by the module walk (`collect_module`) and shared by all PS2xx rules (and the
    project-wide call index)."""

    calls: list[tuple[cst.Call, FunctionInfo | None]] = field(default_factory=list)
    assigns: list[tuple[cst.Assign, FunctionInfo | None]] = field(default_factory=list)


def inventory(module: ModuleInfo) -> Inventory:
    return Inventory(module.calls, module.assign_nodes)


# ----------------------------------------------------------------- engines
@dataclass(frozen=True)
class EngineCall:
    call: cst.Call
    qualname: str
    module: ModuleInfo
    func: FunctionInfo | None


def engine_calls(index: ProjectIndex, module: ModuleInfo) -> Iterator[EngineCall]:
    """Every `create_engine(...)` / `create_async_engine(...)` call in the module."""
    names = {tail for _, tail in ENGINE_CONSTRUCTORS}
    for call, func in inventory(module).calls:
        if not may_call(call, names, module, func):
            continue
        qual = external_name(index, call.func, module, func)
        if qual is not None and qual_match(qual, ENGINE_CONSTRUCTORS):
            yield EngineCall(call, qual, module, func)


def engine_url(call: cst.Call) -> cst.BaseExpression | None:
    args = positional_args(call)
    return args[0] if args else keyword_arg(call, ENGINE_URL_KEYWORD)


def is_non_pooling(index: ProjectIndex, opts: Options) -> bool:
    pc = opts.values.get("poolclass")
    if pc is None:
        return False
    qual = external_name(index, pc.expr, pc.module, pc.func)
    return qual is not None and qual_match(qual, NON_POOLING_CLASSES) is not None


# ---------------------------------------------------------- Flask configuration
@dataclass
class FlaskConfigUnit:
    """One place that configures Flask-SQLAlchemy: a config class, a config module,
    or the `app.config[...]` assignments of one function."""

    label: str
    uri: Bound | None = None
    options: Bound | None = None
    #: the URI and options are written here (not inherited)
    own_uri: bool = False
    own_options: bool = False


def flask_config_units(index: ProjectIndex, module: ModuleInfo) -> list[FlaskConfigUnit]:
    from poolsafe.knowledge.frameworks import (
        FLASK_CONFIG_UPDATE_METHODS,
        FLASK_SQLALCHEMY_OPTIONS_KEY,
        FLASK_SQLALCHEMY_URI_KEY,
    )

    keys = (FLASK_SQLALCHEMY_URI_KEY, FLASK_SQLALCHEMY_OPTIONS_KEY)
    units: list[FlaskConfigUnit] = []
    # config classes, inherited keys included
    for cls in _all_classes(module):
        own = class_body_assigns(cls)
        if not any(k in own for k in keys):
            continue
        unit = FlaskConfigUnit(f"config class `{cls.name}`")
        uri = class_attribute(index, cls, FLASK_SQLALCHEMY_URI_KEY)
        opts = class_attribute(index, cls, FLASK_SQLALCHEMY_OPTIONS_KEY)
        if uri is not None:
            unit.uri = Bound(uri[0], uri[1].module, None)
            unit.own_uri = uri[1] is cls
        if opts is not None:
            unit.options = Bound(opts[0], opts[1].module, None)
            unit.own_options = opts[1] is cls
        units.append(unit)
    # a config module (`app.config.from_pyfile` / `from_object("settings")`)
    if any(k in module.assigns for k in keys):
        unit = FlaskConfigUnit(f"config module `{module.path}`")
        if FLASK_SQLALCHEMY_URI_KEY in module.assigns:
            unit.uri = Bound(module.assigns[FLASK_SQLALCHEMY_URI_KEY][-1], module, None)
            unit.own_uri = True
        if FLASK_SQLALCHEMY_OPTIONS_KEY in module.assigns:
            unit.options = Bound(module.assigns[FLASK_SQLALCHEMY_OPTIONS_KEY][-1], module, None)
            unit.own_options = True
        units.append(unit)
    # app.config["KEY"] = value and app.config.update(KEY=value), per function
    per_scope: dict[int, FlaskConfigUnit] = {}
    inv = inventory(module)
    for assign, func in inv.assigns:
        for t in assign.targets:
            target = t.target
            if (isinstance(target, cst.Subscript) and _subscript_key(target) in keys
                    and _is_app_config(index, target.value, module, func)):
                unit = per_scope.setdefault(id(func), FlaskConfigUnit("`app.config`"))
                _set_unit(unit, _subscript_key(target), Bound(assign.value, module, func))
    for call, func in inv.calls:
        f = call.func
        if (isinstance(f, cst.Attribute) and f.attr.value in FLASK_CONFIG_UPDATE_METHODS
                and any(a.keyword is not None and a.keyword.value in keys for a in call.args)
                and _is_app_config(index, f.value, module, func)):
            unit = per_scope.setdefault(id(func), FlaskConfigUnit("`app.config`"))
            for arg in call.args:
                if arg.keyword is not None:
                    _set_unit(unit, arg.keyword.value, Bound(arg.value, module, func))
    units.extend(per_scope.values())
    return units


def _set_unit(unit: FlaskConfigUnit, key: str | None, value: Bound) -> None:
    from poolsafe.knowledge.frameworks import (
        FLASK_SQLALCHEMY_OPTIONS_KEY,
        FLASK_SQLALCHEMY_URI_KEY,
    )

    if key == FLASK_SQLALCHEMY_URI_KEY:
        unit.uri, unit.own_uri = value, True
    elif key == FLASK_SQLALCHEMY_OPTIONS_KEY:
        unit.options, unit.own_options = value, True


def _all_classes(module: ModuleInfo) -> list[ClassInfo]:
    return list(module.classes.values())


def _subscript_key(target: cst.Subscript) -> str | None:
    if len(target.slice) != 1:
        return None
    sl = target.slice[0].slice
    return string_value(sl.value) if isinstance(sl, cst.Index) else None


def _is_app_config(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                   func: FunctionInfo | None) -> bool:
    """`app.config` for a Flask app (or for an app passed in as a parameter)."""
    if not isinstance(expr, cst.Attribute) or expr.attr.value != "config":
        return False
    owner = index.evaluate(expr.value, module, func)
    if owner is None:
        # `def init(app): app.config[...]`: a parameter; the key names are Flask's
        return True
    return instance_type(owner, FLASK_APP_TYPES)


def flask_sqlalchemy_constructors(index: ProjectIndex,
                                  module: ModuleInfo) -> Iterator[tuple[cst.Call, Bound]]:
    """`SQLAlchemy(engine_options={...})` calls in the module, with the options."""
    for call, func in inventory(module).calls:
        opts = keyword_arg(call, FLASK_SQLALCHEMY_OPTIONS_KEYWORD)
        if opts is None:
            continue
        value = index.evaluate(call, module, func)
        if isinstance(value, LibraryObject) and value.type_key == "flask_sqlalchemy":
            yield call, Bound(opts, module, func)


# ------------------------------------------------------ project-wide facts
#: a module that registers a job with a decorator spells one of these
_JOB_DECORATOR_WORDS = frozenset(
    {reg.name for reg in JOB_REGISTRARS if reg.decorator}
    | {tail.rsplit(".", 1)[-1] for reg in JOB_REGISTRARS if reg.decorator
       for _root, tail in reg.callee})


@dataclass(frozen=True)
class CallSite:
    call: cst.Call
    module: ModuleInfo
    #: None for module-level code
    func: FunctionInfo | None


@dataclass
class ProjectFacts:
    index: ProjectIndex
    #: call sites by callee name, computed per name over the modules that spell it
    _sites: dict[str, list[CallSite]] = field(default_factory=dict)
    _jobs: dict[int, str] | None = None
    _teardowns: list[tuple[cst.CSTNode, ModuleInfo, FunctionInfo | None]] | None = None
    _flask: bool | None = None
    _request_only: dict[int, bool] = field(default_factory=dict)
    _global_pre_ping: bool | None = None

    def call_sites(self, name: str) -> list[CallSite]:
        """Every call in the project whose callee's last name is `name`."""
        if name not in self._sites:
            self._sites[name] = [CallSite(call, m, func)
                                 for m in self.index.modules_mentioning([name])
                                 for call, func in inventory(m).calls
                                 if call_name(call) == name]
        return self._sites[name]

    def callers(self, func: FunctionInfo) -> list[CallSite]:
        out = []
        for site in self.call_sites(func.name):
            callee = self.index.evaluate(site.call.func, site.module, site.func)
            if isinstance(callee, FunctionRef) and callee.func is func:
                out.append(site)
        return out

    # background jobs ------------------------------------------------------
    def jobs(self) -> dict[int, str]:
        """id(FunctionDef) -> how it is registered, for every background job."""
        if self._jobs is None:
            self._jobs = {}
            for m in self.index.modules_mentioning(_JOB_DECORATOR_WORDS):
                for f in m.all_functions:
                    how = self._decorated_job(f)
                    if how is not None:
                        self._jobs[id(f.node)] = how
            for reg in JOB_REGISTRARS:
                if reg.decorator:
                    continue
                for site in self.call_sites(reg.name):
                    target = self._registered(reg, site)
                    if target is not None:
                        self._jobs.setdefault(id(target.node), reg.name)
        return self._jobs

    def _decorated_job(self, f: FunctionInfo) -> str | None:
        for deco in f.node.decorators:
            target = decorator_target(deco)
            for reg in JOB_REGISTRARS:
                if not reg.decorator:
                    continue
                if reg.owner_types and isinstance(target, cst.Attribute) and (
                        target.attr.value == reg.name):
                    owner = instance_value(self.index, target.value, f.module, f.parent)
                    if instance_type(owner, reg.owner_types):
                        return f"@{dotted_name(target) or reg.name}"
                if reg.callee:
                    qual = external_name(self.index, target, f.module, f.parent)
                    if qual is not None and qual_match(qual, reg.callee):
                        return f"@{reg.name}"
        return None

    def _registered(self, reg: object, site: CallSite) -> FunctionInfo | None:
        from poolsafe.knowledge.frameworks import JobRegistrar

        assert isinstance(reg, JobRegistrar)
        call = site.call
        if reg.owner_types:
            if not isinstance(call.func, cst.Attribute):
                return None
            owner = instance_value(self.index, call.func.value, site.module, site.func)
            if not instance_type(owner, reg.owner_types):
                return None
        else:
            qual = external_name(self.index, call.func, site.module, site.func)
            if qual is None or not qual_match(qual, reg.callee):
                return None
        arg = keyword_arg(call, reg.keyword) if reg.keyword else None
        if arg is None and reg.position is not None:
            args = positional_args(call)
            arg = args[reg.position] if len(args) > reg.position else None
        if arg is None:
            return None
        value = self.index.evaluate(arg, site.module, site.func)
        return value.func if isinstance(value, FunctionRef) else None

    # Flask ----------------------------------------------------------------
    def uses_flask(self) -> bool:
        if self._flask is None:
            self._flask = any(
                root_matches(q, "flask")
                for m in self.index.modules_mentioning(["flask"])
                for q in [*m.imports.values(), *(
                    v.qualname for f in m.all_functions for vs in f.locals.values()
                    for v in vs if isinstance(v, ImportBinding))]
            )
        return self._flask

    def teardowns(self) -> list[tuple[cst.CSTNode, ModuleInfo, FunctionInfo | None]]:
        """Bodies of the functions Flask runs at the end of a request or app context."""
        if self._teardowns is None:
            found: list[tuple[cst.CSTNode, ModuleInfo, FunctionInfo | None]] = []
            for m in self.index.modules_mentioning(FLASK_TEARDOWN_METHODS):
                for f in m.all_functions:
                    for deco in f.node.decorators:
                        target = decorator_target(deco)
                        if (isinstance(target, cst.Attribute)
                                and target.attr.value in FLASK_TEARDOWN_METHODS
                                and _flask_or_unknown(self.index, target.value, m, f.parent)):
                            found.append((f.node.body, m, f))
            for method in FLASK_TEARDOWN_METHODS:
                for site in self.call_sites(method):
                    callee = site.call.func
                    args = positional_args(site.call)
                    if not (isinstance(callee, cst.Attribute) and args and _flask_or_unknown(
                            self.index, callee.value, site.module, site.func)):
                        continue
                    handler = args[0]
                    if isinstance(handler, cst.Lambda):
                        found.append((handler.body, site.module, site.func))
                        continue
                    value = self.index.evaluate(handler, site.module, site.func)
                    if isinstance(value, FunctionRef):
                        found.append((value.func.node.body, value.func.module, value.func))
            self._teardowns = found
        return self._teardowns

    def global_pre_ping(self) -> bool:
        """Some `SQLAlchemy(engine_options=...)` in the project turns pre-ping on."""
        if self._global_pre_ping is None:
            self._global_pre_ping = False
            for m in self.index.modules_mentioning([FLASK_SQLALCHEMY_OPTIONS_KEYWORD]):
                for _call, opts in flask_sqlalchemy_constructors(self.index, m):
                    o = mapping_options(self.index, opts.expr, opts.module, opts.func)
                    pp = o.values.get("pool_pre_ping") if o else None
                    if pp is not None and not is_false(pp.expr):
                        self._global_pre_ping = True
        return self._global_pre_ping

    # request handlers -----------------------------------------------------
    def request_only(self, func: FunctionInfo, depth: int = 0) -> bool:
        """Every call of `func` in the project is in a request handler, or in a
        function that only request handlers call."""
        key = id(func.node)
        if key in self._request_only:
            return self._request_only[key]
        self._request_only[key] = False  # cycles and depth: not known to be request-only
        if depth > 6:
            return False
        sites = self.callers(func)
        result = bool(sites) and all(
            s.func is not None and (request_handler(self.index, s.func) is not None
                                    or self.request_only(s.func, depth + 1))
            for s in sites
        )
        self._request_only[key] = result
        return result


_FACTS: weakref.WeakKeyDictionary[ProjectIndex, ProjectFacts] = weakref.WeakKeyDictionary()


def facts(index: ProjectIndex) -> ProjectFacts:
    found = _FACTS.get(index)
    if found is None:
        found = ProjectFacts(index)
        _FACTS[index] = found
    return found


def _flask_or_unknown(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                      func: FunctionInfo | None) -> bool:
    value = instance_value(index, expr, module, func)
    return value is None or instance_type(value, FLASK_APP_TYPES)


def instance_value(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                   func: FunctionInfo | None) -> Value | None:
    """What `expr` is, also through a project factory that returns a library instance
    (`app = create_app()`, `celery = make_celery(app)`)."""
    value = index.evaluate(expr, module, func)
    if value is not None:
        return value
    b = resolve(index, strip_await(expr)[0], module, func)
    node = strip_await(b.expr)[0]
    if isinstance(node, cst.Call):
        callee = index.evaluate(node.func, b.module, b.func)
        if isinstance(callee, FunctionRef):
            return returned_instance(index, callee.func)
    return None


def returned_instance(index: ProjectIndex, func: FunctionInfo) -> ExternalInstance | None:
    """The library instance a project function returns (`create_app()` -> Flask)."""
    from poolsafe.analysis.cstutil import iter_nodes

    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Return) and node.value is not None:
            value = index.evaluate(node.value, func.module, func)
            if isinstance(value, ExternalInstance):
                return value
    return None


# ------------------------------------------------------------ request handlers
def request_handler(index: ProjectIndex, func: FunctionInfo) -> str | None:
    """'fastapi', 'flask' or 'django' when `func` handles HTTP requests."""
    fw = route_framework(index, func)
    if fw is not None:
        return fw
    if func.parent is not None:
        return None
    if func.cls is not None:
        if func.name in VIEW_HANDLER_METHODS:
            return view_class_framework(index, func.cls)
        return None
    if _django_decorated(index, func):
        return "django"
    params = func.param_names()
    if not params or params[0] != "request":
        return None
    m = func.module
    if not m.names:
        return None
    parts = m.names[0].split(".")
    in_views = parts[-1] in DJANGO_VIEW_MODULES or (
        m.is_package is False and len(parts) > 1 and parts[-2] in DJANGO_VIEW_MODULES)
    if in_views and any(root_matches(q, r) for q in m.imports.values() for r in DJANGO_ROOTS):
        return "django"
    return None


def _django_decorated(index: ProjectIndex, func: FunctionInfo) -> bool:
    for deco in func.node.decorators:
        qual = external_name(index, decorator_target(deco), func.module, None)
        if qual is not None and qual_match(qual, DJANGO_VIEW_DECORATORS):
            return True
    return False


def view_class_framework(index: ProjectIndex, cls: ClassInfo, depth: int = 0) -> str | None:
    if depth > _MAX:
        return None
    for base in class_bases(index, cls):
        if isinstance(base, External):
            for root in VIEW_BASE_ROOTS:
                if root_matches(base.qualname, root):
                    return "flask" if root.startswith("flask") else "django"
        elif isinstance(base, ClassRef):
            found = view_class_framework(index, base.cls, depth + 1)
            if found is not None:
                return found
    return None


def is_cli_entry(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A click/typer command, or a function called only from module-level code
    (`if __name__ == "__main__": main()`): it runs once per process."""
    for deco in func.node.decorators:
        target = decorator_target(deco)
        qual = external_name(index, target, func.module, None)
        if qual is not None and qual_match(qual, CLI_DECORATORS):
            return True
        if isinstance(target, cst.Attribute) and target.attr.value in {"command", "group"}:
            owner = instance_value(index, target.value, func.module, None)
            if isinstance(owner, FunctionRef) or (
                    isinstance(owner, ExternalInstance)
                    and any(root_matches(owner.qualname, r) for r, _ in CLI_DECORATORS)):
                return True
    if func.parent is not None or func.cls is not None:
        return False
    sites = facts(index).callers(func)
    return bool(sites) and all(s.func is None for s in sites)


# ---------------------------------------------------------------- Flask models
def is_flask_db(value: Value | None) -> bool:
    return isinstance(value, LibraryObject) and value.type_key == "flask_sqlalchemy"


def is_model_class(index: ProjectIndex, cls: ClassInfo, depth: int = 0) -> bool:
    """A Flask-SQLAlchemy model: derives (perhaps indirectly) from `db.Model`."""
    if depth > _MAX:
        return False
    for base in cls.node.bases:
        expr = base.value
        if (isinstance(expr, cst.Attribute) and expr.attr.value == FLASK_MODEL_BASE_ATTRIBUTE
                and is_flask_db(index.evaluate(expr.value, cls.module, None))):
            return True
        value = index.evaluate(expr, cls.module, None)
        if isinstance(value, ClassRef) and is_model_class(index, value.cls, depth + 1):
            return True
    return False


# ----------------------------------------------------- engine settings (PS203/4)
@dataclass
class EngineSite:
    """A place that configures an engine: a `create_engine()` call, or one
    Flask-SQLAlchemy configuration (`SQLALCHEMY_DATABASE_URI` with
    `SQLALCHEMY_ENGINE_OPTIONS`, or `SQLAlchemy(engine_options=...)`)."""

    label: str
    #: the dialect of the URL when its scheme is visible (`postgresql`), else None
    dialect: str | None
    #: the keyword arguments / engine options; None when they cannot be read
    options: Options | None
    #: where a missing setting is reported
    anchor: cst.CSTNode | None
    call: cst.Call | None = None
    from_config: bool = False


_SITES: weakref.WeakKeyDictionary[ModuleInfo, list[EngineSite]] = weakref.WeakKeyDictionary()


def engine_sites(index: ProjectIndex, module: ModuleInfo) -> list[EngineSite]:
    """The module's engine configurations, computed once for PS203 and PS204."""
    found = _SITES.get(module)
    if found is None:
        found = list(_engine_sites(index, module))
        _SITES[module] = found
    return found


def _engine_sites(index: ProjectIndex, module: ModuleInfo) -> Iterator[EngineSite]:
    for ec in engine_calls(index, module):
        url = engine_url(ec.call)
        dialect = None if url is None else dialect_of(
            string_prefix(index, url, module, ec.func))
        short = ec.qualname.rsplit(".", 1)[-1]
        yield EngineSite(f"`{short}()`", dialect, call_options(index, ec.call, module, ec.func),
                         ec.call, call=ec.call)
    for unit in flask_config_units(index, module):
        dialect = None
        if unit.uri is not None:
            dialect = dialect_of(string_prefix(index, unit.uri.expr, unit.uri.module,
                                               unit.uri.func))
        options: Options | None = Options()
        if unit.options is not None:
            options = mapping_options(index, unit.options.expr, unit.options.module,
                                      unit.options.func)
        anchor: cst.CSTNode | None = None
        if unit.own_options and unit.options is not None:
            anchor = unit.options.expr
        elif unit.own_uri and unit.uri is not None:
            anchor = unit.uri.expr
        yield EngineSite(unit.label, dialect, options, anchor, from_config=True)
    for call, opts in flask_sqlalchemy_constructors(index, module):
        yield EngineSite("`SQLAlchemy(engine_options=...)`", None,
                         mapping_options(index, opts.expr, opts.module, opts.func), opts.expr,
                         call=call, from_config=True)


def is_embedded(dialect: str | None) -> bool:
    from poolsafe.knowledge.frameworks import EMBEDDED_DIALECTS

    return dialect is not None and dialect in EMBEDDED_DIALECTS

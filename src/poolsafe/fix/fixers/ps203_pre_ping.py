"""PS203 fix: turn `pool_pre_ping` on where the engine is configured.

- `create_engine(...)` / `create_async_engine(...)`: a `pool_pre_ping=True` keyword
  after the last argument, in the call's layout (`fix.plan.layout`).
- `SQLALCHEMY_ENGINE_OPTIONS = {...}` (config class, config module, `app.config[...]`,
  `app.config.update(...)`): a `"pool_pre_ping": True` entry (a keyword for `dict(...)`).
- A finding on `SQLALCHEMY_DATABASE_URI` (no options written there): an options
  assignment right after the URI, merged with what would otherwise apply so no
  option is lost: `{**Base.SQLALCHEMY_ENGINE_OPTIONS, "pool_pre_ping": True}` in a
  config class that inherits options, `{**app.config.get("SQLALCHEMY_ENGINE_OPTIONS",
  {}), ...}` when the app's configuration may already hold some (a call on
  `app.config`, the app handed to a project helper or `app.config |= {...}` before
  the URI, a project subclass of `Flask`).
- An explicit `pool_pre_ping=False` becomes `True`: unsafe (someone chose it).
- No Flask-SQLAlchemy configuration fix where a project subclass of `SQLAlchemy`
  writes `pool_pre_ping` in its option hook (`options["pool_pre_ping"] = False`):
  the hook runs after the configuration is read, so the entry would change nothing.
- No Flask-SQLAlchemy fix where the project pins Flask-SQLAlchemy below 2.4: those
  versions ignore `SQLALCHEMY_ENGINE_OPTIONS`, so the entry would end the finding and
  change nothing.
- No fix at all where the project pins SQLAlchemy below 1.2, which has no
  `pool_pre_ping`: `create_engine(..., pool_pre_ping=True)` (also through
  Flask-SQLAlchemy's options) raises TypeError where the original started.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_calls, iter_nodes, string_value
from poolsafe.analysis.declared_drivers import declared_requirements
from poolsafe.analysis.engines import EngineSite, engine_sites, flask_sqlalchemy_hook_sets
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import Bound, instance_type, resolve
from poolsafe.analysis.values import ClassRef
from poolsafe.analysis.version_caps import caps_below
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.edits import (
    WRITTEN_ELSEWHERE,
    enclosing_function,
    mapping_written_elsewhere,
    parent_map,
    parse_expr,
    parse_line,
)
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.fix.plan.layout import append_entry, append_keyword
from poolsafe.knowledge.frameworks import (
    FLASK_SQLALCHEMY_OPTION_HOOKS,
    FLASK_SQLALCHEMY_OPTIONS_KEY,
    FLASK_SQLALCHEMY_URI_KEY,
)
from poolsafe.rules.base import FileContext

CODE = "PS203"
KEY = "pool_pre_ping"
_FLASK = frozenset({("flask", "Flask")})
_ENGINE_OPTIONS_SINCE = (2, 4)
_PRE_PING_SINCE = (1, 2)
_EXPLICIT_FALSE = "overrides an explicit `pool_pre_ping=False`"


def fix_pre_ping(ctx: FileContext, finding: RawFinding) -> FixOutcome:
    node = finding.node
    site = next((s for s in engine_sites(ctx.index, ctx.module) if s.anchor is node), None)
    if site is None:
        return Unfixable(CODE, "the engine configuration was not found")
    if site.built_by is not None:
        return Unfixable(CODE, f"`{site.built_by}` builds the engine: add `pool_pre_ping: True` "
                         "to the engine_args mapping it is given")
    too_old = pre_ping_unknown(ctx)
    if too_old is not None:
        return Unfixable(CODE, too_old)
    plan = FixPlan(CODE, "add pool_pre_ping=True")
    if not site.from_config:
        if not isinstance(node, cst.Call):
            return Unfixable(CODE, "not an engine call")
        return _fix_call(ctx, plan, node, site)
    too_old = _options_unknown_to_flask_sqlalchemy(ctx)
    if too_old is not None:
        return Unfixable(CODE, too_old)
    if any(flask_sqlalchemy_hook_sets(ctx.index, m, "pool_pre_ping", off_too=True)
           for m in ctx.index.modules_mentioning(FLASK_SQLALCHEMY_OPTION_HOOKS)):
        # the hook writes the option after the configuration is read: an entry here
        # would end the finding and change nothing
        return Unfixable(CODE, "a project subclass of `SQLAlchemy` sets `pool_pre_ping` in "
                         "its option hook, over the configuration: set it there")
    parents = parent_map(ctx.module.tree)
    key = _config_key(node, parents)
    if key == FLASK_SQLALCHEMY_OPTIONS_KEY:
        return _fix_mapping(ctx, plan, node, site)
    if key == FLASK_SQLALCHEMY_URI_KEY:
        return _options_beside(ctx, plan, node, parents)
    return Unfixable(CODE, "the engine options are not written where the fix can edit them")


def _options_unknown_to_flask_sqlalchemy(ctx: FileContext) -> str | None:
    """Why an options entry would do nothing: the project pins Flask-SQLAlchemy below
    2.4, which added `SQLALCHEMY_ENGINE_OPTIONS` (older versions ignore the key, so the
    fix would silence the finding and change nothing)."""
    for name, written, where in declared_requirements(ctx.module.abspath, ctx.index.text_files):
        if name == "flask-sqlalchemy" and caps_below(written, _ENGINE_OPTIONS_SINCE):
            return (f"`{written.strip()}` in {where} predates `{FLASK_SQLALCHEMY_OPTIONS_KEY}` "
                    "(Flask-SQLAlchemy 2.4): upgrade it, then set pool_pre_ping there")
    return None


def pre_ping_unknown(ctx: FileContext) -> str | None:
    """Why `pool_pre_ping` would break the engine: the project pins SQLAlchemy below
    1.2, whose `create_engine` rejects the unknown keyword with TypeError."""
    for name, written, where in declared_requirements(ctx.module.abspath, ctx.index.text_files):
        if name == "sqlalchemy" and caps_below(written, _PRE_PING_SINCE):
            return (f"`{written.strip()}` in {where} predates `pool_pre_ping` (SQLAlchemy "
                    "1.2): `create_engine` would raise TypeError; upgrade it first")
    return None


# ------------------------------------------------------------------- values
def _quote(ctx: FileContext) -> str:
    """The quote the module uses for its strings (double unless single dominates)."""
    src = ctx.module.source
    return "'" if src.count("'") > 2 * src.count('"') else '"'


def _true(plan: FixPlan, value: cst.BaseExpression) -> FixPlan:
    """An explicit `False` (or other value) becomes `True`."""
    plan.replace(value, cst.Name("True"))
    plan.mark_unsafe(_EXPLICIT_FALSE)
    return plan


def _true_at(ctx: FileContext, plan: FixPlan, ping: Bound) -> FixOutcome:
    """`pool_pre_ping: False` read through a `**mapping`: set it where it is written."""
    if not isinstance(ping.expr, cst.Name):
        return Unfixable(CODE, "`pool_pre_ping` is set from an expression the fix cannot edit")
    if ping.module is not ctx.module:
        plan.path = ping.module.path
    return _true(plan, ping.expr)


# -------------------------------------------------------------- engine calls
def _fix_call(ctx: FileContext, plan: FixPlan, call: cst.Call, site: EngineSite) -> FixOutcome:
    own = next((a for a in call.args if a.keyword is not None and a.keyword.value == KEY), None)
    if own is not None:
        return _true(plan, own.value)
    ping = site.options.values.get(KEY) if site.options is not None else None
    if ping is not None:  # in a `**mapping`: a keyword too would be given twice
        return _true_at(ctx, plan, ping)
    func = enclosing_function(call, parent_map(ctx.module.tree), ctx.module)
    elsewhere = mapping_written_elsewhere(ctx.index, call, ctx.module, func, KEY)
    if elsewhere is not None:
        plan.mark_unsafe(WRITTEN_ELSEWHERE.format(mapping=elsewhere, key=KEY))
    plan.replace(call, append_keyword(call, KEY, cst.Name("True")))
    return plan


# -------------------------------------------------------- options mappings
def _fix_mapping(ctx: FileContext, plan: FixPlan, node: cst.CSTNode,
                 site: EngineSite) -> FixOutcome:
    if not isinstance(node, cst.BaseExpression):
        return Unfixable(CODE, "not an expression")
    func = enclosing_function(node, parent_map(ctx.module.tree), ctx.module)
    bound = resolve(ctx.index, node, ctx.module, func)
    target = bound.expr
    if bound.module is not ctx.module:
        plan.path = bound.module.path
    if isinstance(target, cst.Dict):
        for el in target.elements:
            if isinstance(el, cst.DictElement) and string_value(el.key) == KEY:
                return _true(plan, el.value)
        # appended last, the entry also wins over a `**base` that turns it off
        if site.options is not None and KEY in site.options.values:
            plan.mark_unsafe(_EXPLICIT_FALSE)
        key = cst.SimpleString(f"{_quote(ctx)}{KEY}{_quote(ctx)}")
        plan.replace(target, append_entry(target, key, cst.Name("True")))
        return plan
    if isinstance(target, cst.Call) and isinstance(target.func, cst.Name) \
            and target.func.value == "dict":
        own = next((a for a in target.args if a.keyword is not None and a.keyword.value == KEY),
                   None)
        if own is not None:
            return _true(plan, own.value)
        ping = site.options.values.get(KEY) if site.options is not None else None
        if ping is not None:
            return _true_at(ctx, plan, ping)
        plan.replace(target, append_keyword(target, KEY, cst.Name("True")))
        return plan
    return Unfixable(CODE, "`SQLALCHEMY_ENGINE_OPTIONS` is not a dict the fix can edit")


def _config_key(node: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> str | None:
    """The configuration key `node` is the value of: `KEY = node`, `x.config["KEY"] =
    node`, `x.config.update(KEY=node)`."""
    parent = parents.get(id(node))
    if isinstance(parent, cst.Arg) and parent.value is node and parent.keyword is not None:
        return parent.keyword.value
    if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is node:
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [
            parent.target]
        for t in targets:
            if isinstance(t, cst.Name):
                return t.value
            if isinstance(t, cst.Subscript) and len(t.slice) == 1 and isinstance(
                    t.slice[0].slice, cst.Index):
                return string_value(t.slice[0].slice.value)
    return None


# ------------------------------------------------ options beside the URI
def _options_beside(ctx: FileContext, plan: FixPlan, node: cst.CSTNode,
                    parents: dict[int, cst.CSTNode]) -> FixOutcome:
    tree = ctx.module.tree
    q = _quote(ctx)
    entry = f"{q}{KEY}{q}: True"
    parent = parents.get(id(node))
    if isinstance(parent, cst.Arg):  # x.config.update(SQLALCHEMY_DATABASE_URI=...)
        call = parents.get(id(parent))
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                and isinstance(call.func.value, cst.Attribute)):
            return Unfixable(CODE, "the URI is not set through `app.config.update(...)`")
        owner = call.func.value.value
        func = enclosing_function(call, parents, ctx.module)
        value = _app_options_value(ctx, owner, func, call, entry, q, call)
        plan.replace(call, append_keyword(call, FLASK_SQLALCHEMY_OPTIONS_KEY,
                                          parse_expr(tree, value)))
        plan.description = "add SQLALCHEMY_ENGINE_OPTIONS with pool_pre_ping=True"
        return plan
    line = parents.get(id(parent)) if parent is not None else None
    if not (isinstance(parent, (cst.Assign, cst.AnnAssign)) and isinstance(
            line, cst.SimpleStatementLine) and len(line.body) == 1):
        return Unfixable(CODE, "the URI is not set on a line of its own")
    targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [
        parent.target]
    target = targets[0]
    if isinstance(target, cst.Subscript):  # x.config["SQLALCHEMY_DATABASE_URI"] = ...
        if not isinstance(target.value, cst.Attribute):
            return Unfixable(CODE, "the URI is not set on `app.config`")
        owner = target.value.value
        func = enclosing_function(line, parents, ctx.module)
        value = _app_options_value(ctx, owner, func, None, entry, q, line)
        config = tree.code_for_node(target.value)
        code = f"{config}[{q}{FLASK_SQLALCHEMY_OPTIONS_KEY}{q}] = {value}"
    else:
        block = parents.get(id(line))
        holder = parents.get(id(block)) if block is not None else None
        value = "{" + entry + "}"
        annotation = ""
        if isinstance(holder, cst.ClassDef):
            if _derives_from(ctx, holder.bases, ctx.module, _ENUM_BASES):
                # `SQLALCHEMY_ENGINE_OPTIONS = {...}` would be a new member of the enum
                # (listed by iteration, its value no dict where the options are read)
                return Unfixable(CODE, "the URI is set in an enum class, where the entry "
                                       "would be a new member, not a dict")
            base = _inherited_from(ctx, holder)
            if isinstance(base, Unfixable):
                return base
            if _pydantic_model(ctx, holder.bases, ctx.module):
                # pydantic 2 refuses a field without an annotation (PydanticUserError at
                # import); 1 infers `dict` from the value, the same field. Its fields are
                # no class attributes, so inherited options cannot be read off the base
                if base is not None:
                    return Unfixable(CODE, "a pydantic settings class inherits the engine "
                                           "options, and its fields are not class attributes")
                annotation = ": dict"
            elif base is not None:
                value = "{**" + f"{base}.{FLASK_SQLALCHEMY_OPTIONS_KEY}, {entry}" + "}"
        elif block is not tree and not _module_level(block, parents, tree):
            return Unfixable(CODE, "the URI is not set in a config class or module")
        code = f"{FLASK_SQLALCHEMY_OPTIONS_KEY}{annotation} = {value}"
    plan.replace(line, cst.FlattenSentinel([line, parse_line(tree, code)]))
    plan.description = "add SQLALCHEMY_ENGINE_OPTIONS with pool_pre_ping=True"
    return plan


def _module_level(block: cst.CSTNode | None, parents: dict[int, cst.CSTNode],
                  tree: cst.Module) -> bool:
    """`block` is a branch of the module's own top level (`if`/`else`, `try`): an
    assignment there sets a module constant, as one at the top does."""
    node: cst.CSTNode | None = block
    while node is not None and node is not tree:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            return False
        node = parents.get(id(node))
    return node is tree


def _inherited_from(ctx: FileContext, cls_node: cst.ClassDef) -> str | Unfixable | None:
    """The base class expression (code) through which `cls_node` inherits
    `SQLALCHEMY_ENGINE_OPTIONS`, None when it inherits none."""
    from poolsafe.analysis.resolution import class_attribute

    cls = next((c for c in _classes(ctx) if c.node is cls_node), None)
    if cls is None:
        return Unfixable(CODE, "the config class was not found")
    if class_attribute(ctx.index, cls, FLASK_SQLALCHEMY_OPTIONS_KEY) is None:
        return None
    for base in cls_node.bases:
        if base.keyword is not None:
            continue
        value = ctx.index.evaluate(base.value, ctx.module, None)
        if isinstance(value, ClassRef) and class_attribute(
                ctx.index, value.cls, FLASK_SQLALCHEMY_OPTIONS_KEY) is not None:
            return ctx.module.tree.code_for_node(base.value)
    return Unfixable(CODE, "the inherited engine options were not found")


#: the pydantic classes a settings class derives from (`pydantic`, `pydantic_settings`)
_PYDANTIC_BASES = frozenset({"BaseSettings", "BaseModel"})


#: the enum classes: a plain assignment in their body makes a member, not an attribute
_ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "ReprEnum"})


def _pydantic_model(ctx: FileContext, bases: Sequence[cst.Arg], module: ModuleInfo) -> bool:
    """A class with these `bases` (in `module`) is a pydantic model: a base named
    `BaseSettings` / `BaseModel`, or a project class that is one (5 levels)."""
    return _derives_from(ctx, bases, module, _PYDANTIC_BASES)


def _derives_from(ctx: FileContext, bases: Sequence[cst.Arg], module: ModuleInfo,
                  names: frozenset[str], depth: int = 0) -> bool:
    """A class with these `bases` (in `module`) has a base whose last name is one of
    `names`, itself or through a project class (5 levels)."""
    for base in bases:
        if base.keyword is not None:
            continue
        name = dotted_name(base.value)
        if name is not None and name.rsplit(".", 1)[-1] in names:
            return True
        value = ctx.index.evaluate(base.value, module, None)
        if depth < 5 and isinstance(value, ClassRef) and _derives_from(
                ctx, value.cls.node.bases, value.cls.module, names, depth + 1):
            return True
    return False


def _classes(ctx: FileContext) -> list[ClassInfo]:
    out = list(ctx.module.classes.values())
    for f in ctx.module.all_functions:
        if f.cls is not None and f.cls not in out:
            out.append(f.cls)
    return out


def _app_options_value(ctx: FileContext, owner: cst.BaseExpression, func: FunctionInfo | None,
                       skip: cst.Call | None, entry: str, q: str,
                       anchor: cst.CSTNode) -> str:
    """`{"pool_pre_ping": True}` when the app is built in this function from `Flask()`
    and nothing else fills its configuration first; else merged with what is there.
    Before `anchor` (the URI's statement, where the entry goes), the app handed to a
    call (`configure(app)`), its `config` used otherwise than by a literal key
    (`app.config |= {...}`, `cfg = app.config`, `app.config[key] = value`), or a
    project subclass of `Flask` may fill the options: merged."""
    code = ctx.module.tree.code_for_node(owner)
    fresh = "{" + entry + "}"
    merged = ("{**" + f"{code}.config.get({q}{FLASK_SQLALCHEMY_OPTIONS_KEY}{q}, {{}}), {entry}"
              + "}")
    if func is None or not isinstance(owner, cst.Name):
        return merged
    if not instance_type(ctx.index.evaluate(owner, ctx.module, func), _FLASK):
        return merged
    bound = resolve(ctx.index, owner, ctx.module, func)
    if not (isinstance(bound.expr, cst.Call) and bound.func is func):
        return merged  # the app comes from elsewhere, configured or not
    for call in iter_calls(func.node.body):
        f = call.func
        if call is not skip and isinstance(f, cst.Attribute) and isinstance(
                f.value, cst.Attribute) and f.value.attr.value == "config" and isinstance(
                f.value.value, cst.Name) and f.value.value.value == owner.value:
            return merged  # from_object / from_pyfile / update / ... may set options
    if _options_filled_before(ctx, owner.value, func, bound.expr, anchor):
        return merged
    return fresh


def _options_filled_before(ctx: FileContext, name: str, func: FunctionInfo,
                           made: cst.Call, anchor: cst.CSTNode) -> bool:
    """Something before `anchor` in `func` may fill the configuration of the app `name`
    (made by `made`) in another way than `app.config[<literal key>] = ...` of another
    key, or an attribute of the app other than `config` (`app.register_blueprint`)."""
    if isinstance(ctx.index.evaluate(made.func, ctx.module, func), ClassRef):
        return True  # `MyFlask(__name__)`: its own `__init__` may set options
    parents = parent_map(func.node)
    for node in iter_nodes(func.node.body):
        if node is anchor:
            return False
        if not (isinstance(node, cst.Name) and node.value == name):
            continue
        parent = parents.get(id(node))
        if isinstance(parent, cst.AssignTarget) or (
                isinstance(parent, cst.Attribute) and parent.value is node
                and parent.attr.value != "config"):
            continue  # the binding; `app.route`, `app.register_blueprint`, ...
        if isinstance(parent, cst.Attribute) and parent.value is node:
            element = parents.get(id(parent))
            if isinstance(element, cst.Subscript) and element.value is parent \
                    and len(element.slice) == 1 \
                    and isinstance(element.slice[0].slice, cst.Index):
                key = string_value(element.slice[0].slice.value)
                if key is not None and key != FLASK_SQLALCHEMY_OPTIONS_KEY:
                    continue  # `app.config["SECRET_KEY"] = ...` (or read)
        return True
    return False

"""Value resolution for the pool-settings and lifecycle analysis: qualified names
of library objects, following bindings through assignments, class attributes and
imports, constant strings and integers, option mappings (`create_engine(**opts)`,
dict literals and `dict(...)`), and each module's call/assignment inventory.

Everything resolves names through the project index; the library facts it uses
live in `poolsafe.knowledge.frameworks`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import libcst as cst

from poolsafe.analysis.cstutil import (
    call_name,
    children,
    final_name,
    keyword_arg,
    positional_args,
    string_value,
    subscript_key,
)
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import (
    ClassInfo,
    FunctionInfo,
    ImportBinding,
    LocalValue,
    ModuleInfo,
)
from poolsafe.analysis.values import (
    ClassRef,
    External,
    ExternalInstance,
    FunctionRef,
    Instance,
    ModuleRef,
    Value,
)
from poolsafe.knowledge.frameworks import (
    ENV_LOOKUPS,
    SERVER_DIALECTS,
    URL_BUILDERS,
    URL_DRIVER_KEYWORD,
    URL_PASSTHROUGH,
)
from poolsafe.knowledge.libraries import root_matches

Pairs = Iterable[tuple[str, str]]
MAX_RESOLUTION_DEPTH = 12


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
    if func is not None and func.binds(name):
        return False
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
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                value = _field_default(small.value) if small.value is not None \
                    else _annotated_default(small.annotation.annotation)
                if value is not None:
                    out[small.target.value] = value
    return out


def _field_default(value: cst.BaseExpression) -> cst.BaseExpression:
    """A pydantic field's default: `Field(default=20)` or `Field(20)` -> 20; any
    other value is itself."""
    if isinstance(value, cst.Call) and call_name(value) == "Field":
        found = keyword_arg(value, "default")
        if found is not None:
            return found
        args = positional_args(value)
        if args and not (isinstance(args[0], cst.Name) and args[0].value == "Ellipsis") \
                and not isinstance(args[0], cst.Ellipsis):
            return args[0]
    return value


def _annotated_default(annotation: cst.BaseExpression) -> cst.BaseExpression | None:
    """`Annotated[int, Field(default=20)]` (no value after it) -> 20."""
    if not (isinstance(annotation, cst.Subscript) and final_name(annotation.value)
            == "Annotated"):
        return None
    for element in annotation.slice[1:]:
        meta = element.slice
        if isinstance(meta, cst.Index) and isinstance(meta.value, cst.Call) \
                and call_name(meta.value) == "Field":
            default = _field_default(meta.value)
            if default is not meta.value:
                return default
    return None



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
    if depth > MAX_RESOLUTION_DEPTH:
        return None
    for base in class_bases(index, cls):
        if isinstance(base, ClassRef):
            found = class_attribute(index, base.cls, name, depth + 1)
            if found is not None:
                return found
    return None


def inherited_method(index: ProjectIndex, cls: ClassInfo, name: str,
                     limit: int = MAX_RESOLUTION_DEPTH, depth: int = 0) -> FunctionInfo | None:
    """The method `name` of `cls`, its own or a project base's (at most `limit` bases
    deep)."""
    if name in cls.methods:
        return cls.methods[name]
    if depth >= limit:
        return None
    for base in cls.node.bases:
        value = index.evaluate(base.value, cls.module, None)
        if isinstance(value, ClassRef):
            found = inherited_method(index, value.cls, name, limit, depth + 1)
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
        for _ in range(MAX_RESOLUTION_DEPTH):
            nxt = _step(index, expr, module, func)
            if nxt is None:
                break
            expr, module, func = nxt.expr, nxt.module, nxt.func
    return Bound(expr, module, func)




def _reaching_value(func: FunctionInfo, use: cst.Name,
                    values: list[cst.BaseExpression]) -> cst.BaseExpression | None:
    """Of the values the local `use` names is assigned in `func`, the last one
    assigned before `use` that is not in another branch of an `if` (or `elif`/
    `else`) than `use`: one branch's assignment does not reach a use in the other
    (`url = "sqlite://"` ... `return create_engine(url)` in the development
    branch, `url = f"postgresql://..."` in the other). Other blocks (`try`,
    `with`, loops) do not exclude. None when `use` is not found in the body (then
    the last assignment stands, as before)."""
    wanted = {id(v) for v in values}
    found: list[tuple[cst.BaseExpression, tuple[int, ...]]] = []
    use_path: list[tuple[int, ...]] = []

    def walk(node: cst.CSTNode, path: tuple[int, ...]) -> None:
        if use_path:
            return
        if node is use:
            use_path.append(path)
            return
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) and node is not func.node:
            return
        for child in children(node):
            # the branches of an `if` are alternatives: each is a step of the path
            branch = isinstance(node, (cst.If, cst.Else)) and child is not getattr(
                node, "test", None) and child is not getattr(node, "orelse", None)
            walk(child, (*path, id(child)) if branch else path)
        if not use_path and id(node) in wanted and isinstance(node, cst.BaseExpression):
            found.append((node, path))  # after its own children: `x = f(x)` reads the old x

    try:
        walk(func.node.body, ())
    except RecursionError:
        return None
    if not use_path:
        return None
    u = use_path[0]
    # one encloses the other (an assignment before the `if`, or one in a branch the
    # use follows); paths that part inside an `if` are alternatives
    reaching = [v for v, p in found if u[:len(p)] == p or p[:len(u)] == u]
    return reaching[-1] if reaching else None


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
                if len(values) > 1 and scope is func:
                    reaching = _reaching_value(scope, expr, values)
                    if reaching is not None:
                        return Bound(reaching, module, scope)
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
    """What `qualname` was assigned in the project module that defines it, through
    re-exports; None past MAX_RESOLUTION_DEPTH hops (modules that import a name from
    each other, or a package `__init__` that imports it from itself)."""
    for _ in range(MAX_RESOLUTION_DEPTH):
        modname, _, attr = qualname.rpartition(".")
        candidates = index.by_name.get(modname)
        if not candidates or not attr:
            return None
        here = str(near.abspath)
        target = max(candidates, key=lambda m: len(os.path.commonpath([here, str(m.abspath)])))
        if attr in target.assigns:
            return Bound(target.assigns[attr][-1], target, None)
        if attr not in target.imports:
            return None
        qualname, near = target.imports[attr], target
    return None


# --------------------------------------------------------------- constant values
def string_prefix(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                  func: FunctionInfo | None, depth: int = 0) -> str | None:
    """The known beginning of a string value (all of it for a literal)."""
    if depth > MAX_RESOLUTION_DEPTH:
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
                continue
            # `f"{DIALECT}:///{path}"` with `DIALECT = "sqlite"`: a constant's whole value
            inner = resolve(index, part.expression, b.module, b.func).expr if (
                isinstance(part, cst.FormattedStringExpression)
                and part.format_spec is None and part.conversion is None) else None
            whole = string_value(inner) if inner is not None else None
            if whole is None:
                break
            out += whole
        return out or None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return string_prefix(index, node.left, b.module, b.func, depth + 1)
    if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
        # `os.environ.get("DATABASE_URL") or "postgresql://localhost/app"`: the
        # environment's value when it shows one, else a server's fallback, as the
        # default of `os.environ.get(name, default)` is read. A file database's fallback
        # (`... or "sqlite:///dev.db"`) is the local run's: the deployment that sets
        # the variable is left unknown (the declared drivers judge it)
        left = string_prefix(index, node.left, b.module, b.func, depth + 1)
        if left is not None:
            return left
        right = string_prefix(index, node.right, b.module, b.func, depth + 1)
        return right if dialect_of(right) in SERVER_DIALECTS else None
    if isinstance(node, cst.ConcatenatedString):  # `f"postgresql://" f"{user}@..."`
        return string_prefix(index, node.left, b.module, b.func, depth + 1)
    if isinstance(node, cst.Call):
        f = node.func
        if isinstance(f, cst.Attribute) and f.attr.value == "format":
            template = string_prefix(index, f.value, b.module, b.func, depth + 1)
            if template is None or "{" not in template:
                return template
            return _formatted_prefix(index, template, node, b.module, b.func, depth + 1)
        with index.full_resolution():  # a settings helper spells no database word
            helper = index.evaluate(f, b.module, b.func)
            if isinstance(helper, FunctionRef):
                return _returned_prefix(index, helper.func, depth + 1)
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
    if isinstance(node, cst.Attribute):
        # `settings.DB_URL`, a `@property` of the project's settings class that
        # returns `f"postgresql+asyncpg://{self.DB_USER}@..."`
        with index.full_resolution():  # a settings module spells no database word
            owner = index.evaluate(node.value, b.module, b.func)
            method = inherited_method(index, owner.cls, node.attr.value) \
                if isinstance(owner, Instance) else None
            if method is not None and _is_property(method):
                return _returned_prefix(index, method, depth + 1)
    return None


#: decorators that make a method read as an attribute
_PROPERTY_DECORATORS = frozenset({"property", "cached_property"})


def _is_property(method: FunctionInfo) -> bool:
    """`method` is read as an attribute: decorated `@property` or `@cached_property`
    (`functools.cached_property`; pydantic's `@computed_field` sits above one)."""
    return any(final_name(d.decorator) in _PROPERTY_DECORATORS
               for d in method.node.decorators)


def _formatted_prefix(index: ProjectIndex, template: str, call: cst.Call, module: ModuleInfo,
                      func: FunctionInfo | None, depth: int) -> str | None:
    """The known beginning of `template.format(...)`: its text up to the first field
    whose argument is not a known string (`"{}://{}@{}/{}".format(DRIVER, ...)` with
    `DRIVER = "postgresql"` a constant, as a URL helper builds it from a settings
    module)."""
    import string

    out = ""
    args = positional_args(call)
    auto = 0
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:  # a malformed template (or one cut where the text stops being known)
        fields = []
    for literal, name, spec, conversion in fields:
        out += literal
        if name is None:
            continue
        if spec or conversion or "." in name or "[" in name:
            break
        if name == "":
            arg = args[auto] if auto < len(args) else None
            auto += 1
        elif name.isdigit():
            arg = args[int(name)] if int(name) < len(args) else None
        else:
            arg = keyword_arg(call, name)
        if arg is None:
            break
        whole = string_value(resolve(index, arg, module, func).expr)
        if whole is None:
            part = string_prefix(index, arg, module, func, depth + 1)
            out += part or ""
            break
        out += whole
    return out or None


def _returned_prefix(index: ProjectIndex, func: FunctionInfo, depth: int) -> str | None:
    """The known beginning of what a project helper returns (`def database_url():
    return f"postgresql://{user}@..."`), when every `return` agrees on the scheme."""
    from poolsafe.analysis.cstutil import iter_nodes

    prefixes = [string_prefix(index, node.value, func.module, func, depth)
                for node in iter_nodes(func.node.body)
                if isinstance(node, cst.Return) and node.value is not None]
    if not prefixes or any(p is None for p in prefixes):
        return None
    schemes = {dialect_of(p) for p in prefixes}
    return prefixes[0] if len(schemes) == 1 and None not in schemes else None


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
            default = _env_default(index, args[0], b.module, b.func)
            if default is not None:
                # `int(os.getenv("POOL_SIZE", 10))`: an integer default, as a string one
                return int_value(index, default.expr, default.module, default.func)
            return int_value(index, args[0], b.module, b.func)
    return None


def _env_default(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                 func: FunctionInfo | None) -> Bound | None:
    """The default of `os.getenv(name, default)` / `os.environ.get(name, default)`
    that `expr` is (through names), or None."""
    b = resolve(index, expr, module, func)
    node = b.expr
    if not isinstance(node, cst.Call):
        return None
    qual = external_name(index, node.func, b.module, b.func)
    if qual is None or not qual_match(qual, ENV_LOOKUPS):
        return None
    args = positional_args(node)
    default = args[1] if len(args) > 1 else keyword_arg(node, "default")
    return None if default is None else Bound(default, b.module, b.func)


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
        depth < MAX_RESOLUTION_DEPTH) else None
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
            if isinstance(arg.value, cst.Name):
                # `engine_args["pool_pre_ping"] = True` before `create_engine(url,
                # **engine_args)`
                written = item_writes(module, func, _same_name(arg.value.value))
                out.values.update(written.values)
                out.open = out.open or written.open
        elif arg.star == "*":
            out.open = True
    return out


def _same_name(name: str) -> Callable[[cst.BaseExpression], bool]:
    """A test for the plain name `name`."""
    def test(expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Name) and expr.value == name
    return test


def item_writes(module: ModuleInfo, func: FunctionInfo | None,
                is_dict: Callable[[cst.BaseExpression], bool]) -> Options:
    """The items written one by one, in `func` (None: the module's top level), into a
    dict the expressions `is_dict` accepts stand for: `d["pool_pre_ping"] = True`,
    `d.update(pool_size=5)`, `d.setdefault("echo", False)`. A key that cannot be read
    leaves the options open."""
    out = Options()
    inv = inventory(module)
    for assign, where in inv.assigns:
        if where is not func:
            continue
        for t in assign.targets:
            target = t.target
            if isinstance(target, cst.Subscript) and is_dict(target.value):
                key = subscript_key(target)
                if key is None:
                    out.open = True
                else:
                    out.values[key] = Bound(assign.value, module, func)
    for call, where in inv.calls:
        f = call.func
        if where is not func or not isinstance(f, cst.Attribute) \
                or f.attr.value not in ("update", "setdefault") or not is_dict(f.value):
            continue
        if f.attr.value == "setdefault":
            key = string_value(call.args[0].value) if len(call.args) == 2 \
                and call.args[0].keyword is None else None
            if key is None:
                out.open = True
            else:
                out.values.setdefault(key, Bound(call.args[1].value, module, func))
            continue
        for a in call.args:
            if a.keyword is not None:
                out.values[a.keyword.value] = Bound(a.value, module, func)
            else:
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


def agreed_class(values: Iterable[LocalValue],
                 read: Callable[[cst.BaseExpression], ClassInfo | None]) -> ClassInfo | None:
    """The one project class every binding in `values` reads as (`read`: a model a row
    belongs to, say), or None when there is no binding, one reads as none, or two differ."""
    found = [read(v) if isinstance(v, cst.BaseExpression) else None for v in values]
    if not found or any(c is None for c in found) or len({id(c) for c in found}) != 1:
        return None
    return found[0]

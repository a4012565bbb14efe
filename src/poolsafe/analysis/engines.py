"""Where engines and pools are configured: `create_engine(...)` calls and their
options, Flask configuration (`SQLALCHEMY_ENGINE_OPTIONS` in config classes, dicts
and `app.config[...]`), Flask-SQLAlchemy constructors, and the engine sites the
pool-settings rules read (PS203, PS204).
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst

from poolsafe.analysis.cstutil import (
    argument_for,
    is_true,
    iter_nodes,
    keyword_arg,
    positional_args,
    string_value,
    subscript_key,
)
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import (
    Bound,
    Options,
    call_options,
    class_attribute,
    class_bases,
    class_body_assigns,
    dialect_of,
    external_name,
    instance_type,
    inventory,
    is_false,
    item_writes,
    mapping_options,
    may_call,
    qual_match,
    resolve,
    string_prefix,
)
from poolsafe.analysis.values import (
    ClassRef,
    External,
    LibraryObject,
)
from poolsafe.knowledge.frameworks import (
    DIALECT_URL_BUILDERS,
    ENGINE_CONSTRUCTORS,
    ENGINE_URL_KEYWORD,
    FLASK_APP_TYPES,
    FLASK_SQLALCHEMY_OPTION_HOOKS,
    FLASK_SQLALCHEMY_OPTIONS_KEYWORD,
    MIDDLEWARE_ENGINES,
    MIDDLEWARE_OPTIONS_KEYWORD,
    MIDDLEWARE_URL_KEYWORD,
    NON_POOLING_CLASSES,
)
from poolsafe.knowledge.libraries import root_matches


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
        if qual is not None and qual_match(qual, ENGINE_CONSTRUCTORS) and not _mock(call):
            yield EngineCall(call, qual, module, func)


def _mock(call: cst.Call) -> bool:
    """`create_engine(url, strategy="mock", executor=dump)` (SQLAlchemy before 1.4):
    a mock connection that hands each statement to `executor` (to render DDL for a
    dialect); it has no pool and never connects."""
    strategy = keyword_arg(call, "strategy")
    return strategy is not None and string_value(strategy) == "mock"


def pool_constructor_calls(index: ProjectIndex, module: ModuleInfo) -> Iterator[EngineCall]:
    """Every call of a pool constructor other than SQLAlchemy's (`asyncpg.create_pool`,
    psycopg2's `ThreadedConnectionPool`, `psycopg_pool.ConnectionPool`, ...) that opens
    its connections when it is built, or on use (DBUtils' `PooledDB`); and Gino's
    `db.set_bind(url)` from a URL, which builds an engine and its pool."""
    from poolsafe.knowledge.capacity import PER_CALL_ONLY_POOLS, POOL_CONSTRUCTORS

    specs = [(c.root, c.tail) for c in POOL_CONSTRUCTORS if c.opens_when_built]
    specs += PER_CALL_ONLY_POOLS
    # encode/databases' `Database(url)` opens its pool at `await database.connect()`:
    # built and connected in one function, it is a pool per call too
    on_connect = [(c.root, c.tail) for c in POOL_CONSTRUCTORS if not c.opens_when_built]
    names = {tail.rsplit(".", 1)[-1] for _, tail in [*specs, *on_connect]}
    for call, func in inventory(module).calls:
        if not may_call(call, names, module, func):
            continue
        qual = external_name(index, call.func, module, func)
        if qual is None:
            continue
        if qual_match(qual, specs) or (
                func is not None and qual_match(qual, on_connect)
                and _connected_in(func, call)):
            yield EngineCall(call, qual, module, func)
    yield from _gino_binds(index, module)


#: the qualified name a Gino bind from a URL is reported under
GINO_BIND_QUALNAME = "gino.Gino.set_bind"


def _gino_binds(index: ProjectIndex, module: ModuleInfo) -> Iterator[EngineCall]:
    """Every `await db.set_bind(url)` on a Gino `db` given a URL (a string, an
    f-string, a name or attribute whose words say URL/URI/DSN, or a call that makes
    one): each builds a new engine and pool (`GINO_BIND_METHOD`). One given an
    engine, or anything else, binds what exists and is not yielded."""
    from poolsafe.knowledge.libraries import GINO_BIND_METHOD, GINO_BIND_TYPES

    for call, func in inventory(module).calls:
        f = call.func
        if not (isinstance(f, cst.Attribute) and f.attr.value == GINO_BIND_METHOD):
            continue
        args = positional_args(call)
        bind = keyword_arg(call, "bind") or (args[0] if args else None)
        if bind is None or not _names_url(bind):
            continue
        value = index.evaluate(f.value, module, func)
        if isinstance(value, LibraryObject) and value.type_key in GINO_BIND_TYPES:
            yield EngineCall(call, GINO_BIND_QUALNAME, module, func)


def _names_url(expr: cst.BaseExpression) -> bool:
    """`expr` spells a database URL: a string, an f-string or a concatenation of
    them, a name or attribute whose last word says URL/URI/DSN (`Config.DATABASE_URI`,
    `settings.db_url`), or a call of a function or method whose name does
    (`make_url(...)`, `"...".format(...)`, `str(url)`)."""
    from poolsafe.knowledge.libraries import GINO_URL_WORDS

    if isinstance(expr, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
        return True
    if isinstance(expr, cst.BinaryOperation):
        return _names_url(expr.left) or _names_url(expr.right)
    if isinstance(expr, cst.Call):
        f = expr.func
        name = f.attr.value if isinstance(f, cst.Attribute) else \
            f.value if isinstance(f, cst.Name) else ""
        if name in ("format", "str"):
            return True
        return any(w in name.lower() for w in GINO_URL_WORDS)
    last = expr.attr.value if isinstance(expr, cst.Attribute) else \
        expr.value if isinstance(expr, cst.Name) else ""
    return any(w in last.lower() for w in GINO_URL_WORDS)


def _connected_in(func: FunctionInfo, call: cst.Call) -> bool:
    """`call` is bound to a local name of `func` (`database = Database(url)`) whose
    `connect()` the function calls (`await database.connect()`)."""
    names = {t.target.value for n in iter_nodes(func.node.body) if isinstance(n, cst.Assign)
             and n.value is call for t in n.targets if isinstance(t.target, cst.Name)}
    return bool(names) and any(
        isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
        and n.func.attr.value == "connect" and isinstance(n.func.value, cst.Name)
        and n.func.value.value in names
        for n in iter_nodes(func.node.body))


def middleware_engine_calls(index: ProjectIndex, module: ModuleInfo) -> Iterator[EngineCall]:
    """Every call that has a middleware build the application's engine from its
    keyword arguments (`MIDDLEWARE_ENGINES`): `app.add_middleware(DBSessionMiddleware,
    db_url=..., engine_args=...)`, or the class called with the app itself. `qualname`
    is the middleware's."""
    for call, func in inventory(module).calls:
        if keyword_arg(call, MIDDLEWARE_URL_KEYWORD) is None:
            continue  # `custom_engine=`: the project's engine, judged where it is built
        target: cst.BaseExpression = call.func
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_middleware":
            args = positional_args(call)
            if not args:
                continue
            target = args[0]
        qual = external_name(index, target, module, func)
        if qual is not None and qual_match(qual, MIDDLEWARE_ENGINES):
            yield EngineCall(call, qual, module, func)


def engine_url(call: cst.Call) -> cst.BaseExpression | None:
    args = positional_args(call)
    return args[0] if args else keyword_arg(call, ENGINE_URL_KEYWORD)


def is_non_pooling(index: ProjectIndex, opts: Options) -> bool:
    """The engine keeps no pool of server connections of its own: a `poolclass` that
    pools nothing (`NullPool`, `StaticPool`), or a `creator` that hands back a
    connection the code already holds (`gives_held_connection`)."""
    creator = opts.values.get("creator")
    if creator is not None and gives_held_connection(creator.expr):
        return True
    pc = opts.values.get("poolclass")
    if pc is None:
        return False
    qual = external_name(index, pc.expr, pc.module, pc.func)
    return qual is not None and qual_match(qual, NON_POOLING_CLASSES) is not None


def gives_held_connection(creator: cst.BaseExpression) -> bool:
    """`creator=lambda: conn` (or `lambda: conn.connection`): the engine's pool hands
    out a connection the code opened before and owns, and opens none itself; a
    creator that calls anything (`lambda: psycopg2.connect(dsn)`) may connect."""
    if not isinstance(creator, cst.Lambda) or creator.params.params \
            or isinstance(creator.params.star_arg, cst.Param):
        return False
    body: cst.BaseExpression = creator.body
    while isinstance(body, cst.Attribute):
        body = body.value
    return isinstance(body, cst.Name) and body.value not in ("None", "True", "False")


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
    #: every URI write that can be the one in force: writes in alternative branches
    #: (`if on_server: ... = os.environ[...]` / `else: ... = "sqlite://"`); empty when
    #: there is one (`uri`)
    uri_alternatives: list[Bound] = field(default_factory=list)
    #: a config class or module: it configures an app only when a loader
    #: (`app.config.from_object(...)`, `from_pyfile`, ...) reads it
    config_object: bool = False
    #: a config class (not a module): only a loader reads it, never an import by path
    config_class: bool = False
    #: options written one by one into the options dict after it is set
    #: (`app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] = True`,
    #: `app.config["SQLALCHEMY_ENGINE_OPTIONS"].update(pool_size=10)`)
    option_writes: dict[str, Bound] = field(default_factory=dict)
    #: such a write whose key cannot be read (`...[name] = value`, `.update(opts)`)
    option_writes_open: bool = False
    #: a config class or module that sets Flask's `TESTING = True`: the configuration
    #: of the test runs
    testing: bool = False


_TEST_WORDS = frozenset({"test", "tests", "testing"})


def _names_test_runs(name: str) -> bool:
    """A class name with the word `Test`/`Testing` in it, read as camel-case (or
    snake-case) words: `TestConfig`, `UnitTestConfig`, `testing_config`; not `LatestConfig`."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)
    return any(w.lower() in _TEST_WORDS for w in words)


def flask_config_units(index: ProjectIndex, module: ModuleInfo) -> list[FlaskConfigUnit]:
    from poolsafe.knowledge.frameworks import (
        FLASK_CONFIG_LOAD_METHODS,
        FLASK_CONFIG_UPDATE_METHODS,
        FLASK_SQLALCHEMY_OPTIONS_KEY,
        FLASK_SQLALCHEMY_URI_KEY,
        FLASK_TESTING_KEY,
    )

    keys = (FLASK_SQLALCHEMY_URI_KEY, FLASK_SQLALCHEMY_OPTIONS_KEY)
    units: list[FlaskConfigUnit] = []
    # config classes, inherited keys included
    for cls in _all_classes(module):
        own = class_body_assigns(cls)
        if not any(k in own for k in keys):
            continue
        unit = FlaskConfigUnit(f"config class `{cls.name}`", config_object=True,
                               config_class=True)
        flag = class_attribute(index, cls, FLASK_TESTING_KEY)
        if flag is not None:
            unit.testing = is_true(flag[0])
        else:  # `TestConfig`, `TestingConfig`: named for the test runs
            unit.testing = _names_test_runs(cls.name)
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
        unit = FlaskConfigUnit(f"config module `{module.path}`", config_object=True)
        unit.testing = bool(module.assigns.get(FLASK_TESTING_KEY)) and is_true(
            module.assigns[FLASK_TESTING_KEY][-1])
        if FLASK_SQLALCHEMY_URI_KEY in module.assigns:
            unit.uri = Bound(module.assigns[FLASK_SQLALCHEMY_URI_KEY][-1], module, None)
            unit.own_uri = True
            if len(module.assigns[FLASK_SQLALCHEMY_URI_KEY]) > 1:
                writes = {id(a): Bound(a.value, module, None)
                          for a in _top_level_assigns(module.tree.body)
                          if any(isinstance(t.target, cst.Name)
                                 and t.target.value == FLASK_SQLALCHEMY_URI_KEY
                                 for t in a.targets)}
                unit.uri_alternatives = _live_writes(module.tree.body, writes)
        if FLASK_SQLALCHEMY_OPTIONS_KEY in module.assigns:
            unit.options = Bound(module.assigns[FLASK_SQLALCHEMY_OPTIONS_KEY][-1], module, None)
            unit.own_options = True
        units.append(unit)
    # app.config["KEY"] = value and app.config.update(KEY=value), per function
    per_scope: dict[int, FlaskConfigUnit] = {}
    #: the functions of `per_scope`'s keys (a function that only adds options one by
    #: one configures no engine: it gets no unit)
    functions: dict[int, FunctionInfo | None] = {}
    uri_writes: dict[int, dict[int, Bound]] = {}
    scopes: dict[int, FunctionInfo | None] = {}
    inv = inventory(module)
    for assign, func in inv.assigns:
        for t in assign.targets:
            target = t.target
            if (isinstance(target, cst.Subscript) and subscript_key(target) in keys
                    and _is_app_config(index, target.value, module, func)):
                unit = per_scope.setdefault(id(func), FlaskConfigUnit("`app.config`"))
                functions[id(func)] = func
                bound = Bound(assign.value, module, func)
                _set_unit(unit, subscript_key(target), bound)
                if subscript_key(target) == FLASK_SQLALCHEMY_URI_KEY:
                    uri_writes.setdefault(id(func), {})[id(assign)] = bound
                    scopes[id(func)] = func
    #: functions that load a config object into an app (`app.config.from_object(...)`)
    loading: set[int] = set()
    for call, func in inv.calls:
        f = call.func
        if isinstance(f, cst.Attribute) and f.attr.value in FLASK_CONFIG_LOAD_METHODS \
                and _is_app_config(index, f.value, module, func) \
                and _loads_engine_options(index, call, module, func):
            loading.add(id(func))
        if (isinstance(f, cst.Attribute) and f.attr.value in FLASK_CONFIG_UPDATE_METHODS
                and any(a.keyword is not None and a.keyword.value in keys for a in call.args)
                and _is_app_config(index, f.value, module, func)):
            unit = per_scope.setdefault(id(func), FlaskConfigUnit("`app.config`"))
            functions[id(func)] = func
            for arg in call.args:
                if arg.keyword is not None:
                    _set_unit(unit, arg.keyword.value, Bound(arg.value, module, func))
    for key, writes in uri_writes.items():
        if len(writes) > 1:
            func = scopes[key]
            body = module.tree.body if func is None else _block_body(func.node.body)
            per_scope[key].uri_alternatives = _live_writes(body, writes)
    for scope, unit in per_scope.items():
        # options written one by one into the dict this function sets
        # (`app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] = True`)
        func = functions[scope]
        written = item_writes(module, func, functools.partial(_options_dict, index,
                                                              module=module, func=func))
        unit.option_writes, unit.option_writes_open = written.values, written.open
        if scope in loading and unit.options is None:
            # the function loads a config object too (`app.config.from_object("pkg.%sConfig"
            # % env)`) and writes no options of its own: the ones in force are the
            # object's, judged where it sets them
            unit.option_writes_open = True
    units.extend(per_scope.values())
    return units


def _loads_engine_options(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                          func: FunctionInfo | None) -> bool:
    """`app.config.from_object(...)` loads a project config class, or a class of a project
    module named by the known start of a computed name (`"pkg.settings.%sConfig" %
    env`), that sets `SQLALCHEMY_ENGINE_OPTIONS` (itself or through its bases)."""
    from poolsafe.knowledge.frameworks import FLASK_SQLALCHEMY_OPTIONS_KEY as key

    args = [a.value for a in call.args if a.keyword is None and not a.star]
    if len(args) != 1:
        return False
    value = index.evaluate(args[0], module, func)
    if isinstance(value, ClassRef):
        return class_attribute(index, value.cls, key) is not None
    node = resolve(index, args[0], module, func).expr
    text: str | None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        text = string_value(node.left)
        text = None if text is None else text.split("%", 1)[0]
    elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
            and node.func.attr.value == "format":
        text = string_value(node.func.value)
        text = None if text is None else text.split("{", 1)[0]
    else:
        text = string_prefix(index, args[0], module, func)
    if not text or "." not in text or "/" in text:
        return False
    names = [text.rstrip(".")] if text.endswith(".") else [text, text.rsplit(".", 1)[0]]
    for name in names:
        for target in index.by_name.get(name, []):
            if key in target.assigns or any(class_attribute(index, cls, key) is not None
                                             for cls in target.classes.values()):
                return True
    return False


def _top_level_assigns(stmts: Sequence[cst.BaseStatement]) -> Iterator[cst.Assign]:
    """The assignments of a module's top level, also those inside its `if`/`try`
    blocks (not inside functions or classes)."""
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from (small for small in stmt.body if isinstance(small, cst.Assign))
            continue
        for suite in _suites(stmt):
            yield from _top_level_assigns(_block_body(suite))


def _block_body(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return list(block.body) if isinstance(block, cst.IndentedBlock) else []


def _live_writes(stmts: Sequence[cst.BaseStatement],
                 writes: dict[int, Bound]) -> list[Bound]:
    """The writes among `writes` (keyed by the id of their `cst.Assign`) that can
    still be in force after `stmts` run: a write replaces every earlier one of its
    own block, and the writes of an `if`/`else`, `try` or loop body are alternatives
    that add to what was in force before the statement."""
    live: list[Bound] = []
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if id(small) in writes:
                    live = [writes[id(small)]]
            continue
        for suite in _suites(stmt):
            for found in _live_writes(_block_body(suite), writes):
                if all(found is not b for b in live):
                    live.append(found)
    return live


def _suites(stmt: cst.BaseStatement) -> Iterator[cst.BaseSuite]:
    """The blocks of a compound statement (`if`/`elif`/`else`, `try` and its
    handlers, loops, `with`); not those of nested functions or classes."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.BaseSuite):
        yield body
    for handler in getattr(stmt, "handlers", ()) or ():
        yield handler.body
    orelse = getattr(stmt, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):
            yield orelse.body
            orelse = orelse.orelse
        else:
            yield orelse.body
            orelse = None
    final = getattr(stmt, "finalbody", None)
    if final is not None:
        yield final.body


def _set_unit(unit: FlaskConfigUnit, key: str | None, value: Bound) -> None:
    from poolsafe.knowledge.frameworks import (
        FLASK_SQLALCHEMY_OPTIONS_KEY,
        FLASK_SQLALCHEMY_URI_KEY,
    )

    if key == FLASK_SQLALCHEMY_URI_KEY:
        unit.uri, unit.own_uri = value, True
    elif key == FLASK_SQLALCHEMY_OPTIONS_KEY:
        unit.options, unit.own_options = value, True


def _options_dict(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                  func: FunctionInfo | None) -> bool:
    """`app.config["SQLALCHEMY_ENGINE_OPTIONS"]` of a Flask app."""
    from poolsafe.knowledge.frameworks import FLASK_SQLALCHEMY_OPTIONS_KEY

    return isinstance(expr, cst.Subscript) \
        and subscript_key(expr) == FLASK_SQLALCHEMY_OPTIONS_KEY \
        and _is_app_config(index, expr.value, module, func)


def _all_classes(module: ModuleInfo) -> list[ClassInfo]:
    return list(module.classes.values())


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


def flask_sqlalchemy_hook_sets(index: ProjectIndex, module: ModuleInfo, key: str,
                               off_too: bool = False) -> bool:
    """A project subclass of Flask-SQLAlchemy's `SQLAlchemy` in the module (a direct
    one) whose option hook (`FLASK_SQLALCHEMY_OPTION_HOOKS`: 2.x's
    `apply_pool_defaults`, ...) turns engine option `key` on for every engine it
    builds: `options[key] = value`, `options.setdefault(key, value)`,
    `options.update(key=value)` or `options.update({key: value})`, with a value
    other than `False` (with `off_too`, any value: the hook decides the option,
    whatever the configuration says)."""
    for cls in module.classes.values():
        hooks = [f for name, f in cls.methods.items() if name in FLASK_SQLALCHEMY_OPTION_HOOKS]
        if not hooks or not any(
                isinstance(base, External) and root_matches(base.qualname, "flask_sqlalchemy")
                and base.qualname.rsplit(".", 1)[-1] == "SQLAlchemy"
                for base in class_bases(index, cls)):
            continue
        if any(_sets_option(f.node, key, off_too, cls.methods) for f in hooks):
            return True
    return False


def _sets_option(func: cst.FunctionDef, key: str, off_too: bool,
                 methods: Mapping[str, FunctionInfo], depth: int = 0,
                 receivers: frozenset[str] | None = None) -> bool:
    """`func` sets engine option `key` on the options it is given, itself or in a
    method of its class that it hands one of its parameters to
    (`self.__set_pool(app, options)`, a private helper the hook calls; two deep).
    In such a helper (`receivers`) only a write to the parameters it was handed
    counts."""
    def on(value: cst.BaseExpression) -> bool:
        return off_too or not is_false(value)

    def written(receiver: cst.BaseExpression) -> bool:
        return receivers is None or (isinstance(receiver, cst.Name)
                                     and receiver.value in receivers)

    positional = [p.name.value for p in (*func.params.posonly_params, *func.params.params)]
    params = set(receivers) if receivers is not None else {
        *positional[1:], *(p.name.value for p in func.params.kwonly_params)}
    # the receiver of a call of the class's own method: `self` or `cls`
    owners = {"self", "cls", *positional[:1]}
    for node in iter_nodes(func.body):
        if depth < 2 and isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and isinstance(node.func.value, cst.Name) and node.func.value.value in owners:
            helper = methods.get(node.func.attr.value)
            handed = _handed_params(node, helper.node, params) if helper is not None \
                and helper.node is not func else frozenset()
            if helper is not None and handed and _sets_option(
                    helper.node, key, off_too, methods, depth + 1, handed):
                return True
        if isinstance(node, cst.Assign):
            for target in node.targets:
                t = target.target
                if (isinstance(t, cst.Subscript) and subscript_key(t) == key
                        and written(t.value) and on(node.value)):
                    return True
        elif (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
              and node.func.attr.value in ("setdefault", "update")
              and written(node.func.value)):
            args = list(node.args)
            if node.func.attr.value == "setdefault":
                if (len(args) == 2 and args[0].keyword is None
                        and string_value(args[0].value) == key
                        and on(args[1].value)):
                    return True
                continue
            for arg in args:
                if arg.keyword is not None and arg.keyword.value == key \
                        and on(arg.value):
                    return True
                if arg.keyword is None and isinstance(arg.value, cst.Dict) and any(
                        isinstance(el, cst.DictElement) and string_value(el.key) == key
                        and on(el.value) for el in arg.value.elements):
                    return True
    return False


def _handed_params(call: cst.Call, helper: cst.FunctionDef,
                   names: set[str]) -> frozenset[str]:
    """The parameters of method `helper` that `call` (`self.helper(...)`) passes one of
    `names` to, by position or keyword (a `@staticmethod` takes no `self`)."""
    static = any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                 for d in helper.decorators)
    positional = [p.name.value for p in (*helper.params.posonly_params, *helper.params.params)]
    if not static:
        positional = positional[1:]
    everyone = [*positional, *(p.name.value for p in helper.params.kwonly_params)]
    out = set()
    for i, name in enumerate(everyone):
        arg = argument_for(call, name, i if i < len(positional) else None)
        if isinstance(arg, cst.Name) and arg.value in names:
            out.add(name)
    return frozenset(out)


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
    #: when the dialect comes from the project's declared drivers, not the URL:
    #: `psycopg2-binary in requirements.txt`
    dialect_evidence: str | None = None
    #: a config class or module (read by `app.config.from_object(...)` & co.)
    config_object: bool = False
    #: a config class (a pydantic `BaseSettings`, a plain class), not a module
    config_class: bool = False
    #: the function a configuration's reported setting is written in (None: a
    #: module's or a class's top level)
    func: FunctionInfo | None = None
    #: the library class that builds the engine from this call's keyword arguments
    #: (`DBSessionMiddleware`); None for an engine call or a Flask-SQLAlchemy config
    built_by: str | None = None
    #: a Flask config class or module of the test runs (`TESTING = True`)
    testing_config: bool = False


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
        dialect, evidence = _url_dialect(index, module, ec.func, engine_url(ec.call))
        short = ec.qualname.rsplit(".", 1)[-1]
        yield EngineSite(f"`{short}()`", dialect, call_options(index, ec.call, module, ec.func),
                         ec.call, call=ec.call, dialect_evidence=evidence)
    for ec in middleware_engine_calls(index, module):
        dialect, evidence = _url_dialect(index, module, ec.func,
                                         keyword_arg(ec.call, MIDDLEWARE_URL_KEYWORD))
        short = ec.qualname.rsplit(".", 1)[-1]
        given = keyword_arg(ec.call, MIDDLEWARE_OPTIONS_KEYWORD)
        args = Options() if given is None else mapping_options(index, given, module, ec.func)
        yield EngineSite(f"`{short}`'s engine (`{MIDDLEWARE_OPTIONS_KEYWORD}=`)", dialect,
                         args, ec.call, call=ec.call, dialect_evidence=evidence,
                         built_by=short)
    for unit in flask_config_units(index, module):
        dialect = None
        evidence = None
        uri = unit.uri
        if uri is not None:
            dialect, evidence = _config_dialect(index, module, uri)
            # of URIs written in alternative branches, a server's is the one to judge:
            # the deployment that takes that branch runs a pool of server connections
            for alt in unit.uri_alternatives:
                alt_dialect, alt_evidence = _config_dialect(index, module, alt)
                if alt_dialect is not None and not holds_no_server_slot(alt_dialect):
                    uri, dialect, evidence = alt, alt_dialect, alt_evidence
                    break
        options: Options | None = Options()
        if unit.options is not None:
            options = mapping_options(index, unit.options.expr, unit.options.module,
                                      unit.options.func)
        if options is not None and (unit.option_writes or unit.option_writes_open):
            options = Options({**options.values, **unit.option_writes},
                              options.open or unit.option_writes_open)
        anchor: cst.CSTNode | None = None
        written: Bound | None = None
        if unit.own_options and unit.options is not None:
            written = unit.options
        elif unit.own_uri and uri is not None:
            written = uri
        if written is not None:
            anchor = written.expr
        yield EngineSite(unit.label, dialect, options, anchor, from_config=True,
                         dialect_evidence=evidence, config_object=unit.config_object,
                         config_class=unit.config_class,
                         func=written.func if written is not None else None,
                         testing_config=unit.testing)
    for call, opts in flask_sqlalchemy_constructors(index, module):
        yield EngineSite("`SQLAlchemy(engine_options=...)`", None,
                         mapping_options(index, opts.expr, opts.module, opts.func), opts.expr,
                         call=call, from_config=True)


def _url_dialect(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                 url: cst.BaseExpression | None) -> tuple[str | None, str | None]:
    """The dialect of an engine's URL expression, and the evidence when it comes
    from the environment's files or the declared drivers rather than the text."""
    dialect = None if url is None else dialect_of(string_prefix(index, url, module, func))
    evidence = None
    if dialect is None and url is not None:
        dialect = _built_dialect(index, url, module, func)
    if dialect is None and url is not None and not _placeholder(index, url, module, func):
        from poolsafe.analysis.env_urls import environment_dialect

        from_env = environment_dialect(index, url, module, func)
        if from_env is None:
            from poolsafe.analysis.dsn_fields import dsn_field_dialect

            from_env = dsn_field_dialect(index, url, module, func)
        dialect, evidence = from_env if from_env is not None else _declared(index, module)
    return dialect, evidence


def declared_sqlite_engine(index: ProjectIndex, module: ModuleInfo, ec: EngineCall) -> bool:
    """`create_async_engine(url)` whose URL shows no dialect, in text, in the
    repository's `.env` files or in a settings field's DSN type, in a project whose
    dependency files declare SQLite's async driver and no server driver
    (`declared_async_sqlite`): an async engine needs an async driver, and the only
    one declared is SQLite's."""
    from poolsafe.analysis.declared_drivers import declared_async_sqlite

    url = engine_url(ec.call)
    if (ec.qualname.rsplit(".", 1)[-1] != "create_async_engine" or url is None
            or _placeholder(index, url, module, ec.func)):
        return False
    if _url_dialect(index, module, ec.func, url)[0] is not None:
        return False
    return declared_async_sqlite(module.abspath, index.text_files) is not None


def _built_dialect(index: ProjectIndex, url: cst.BaseExpression, module: ModuleInfo,
                   func: FunctionInfo | None) -> str | None:
    """The dialect of a URL a dialect package's own builder makes
    (`trino.sqlalchemy.URL(host=...)`, also bound to a name first); None for any
    other expression."""
    b = resolve(index, url, module, func)
    if not isinstance(b.expr, cst.Call):
        return None
    qual = external_name(index, b.expr.func, b.module, b.func)
    if qual is None:
        return None
    owner, _, name = qual.rpartition(".")
    return DIALECT_URL_BUILDERS.get((owner, name))


def _config_dialect(index: ProjectIndex, module: ModuleInfo,
                    uri: Bound) -> tuple[str | None, str | None]:
    """The dialect of a configured `SQLALCHEMY_DATABASE_URI` value, and the declared
    driver it comes from when the value does not show its scheme."""
    dialect = dialect_of(string_prefix(index, uri.expr, uri.module, uri.func))
    if dialect is None and _placeholder(index, uri.expr, uri.module, uri.func):
        return (None, None)
    return (dialect, None) if dialect is not None else _declared(index, module)


def _placeholder(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                 func: FunctionInfo | None) -> bool:
    """The URL is a whole, non-empty literal that names no scheme
    (`"your_database_url"`): a placeholder no engine can be built from, so the
    drivers the project declares say nothing of its database. (An empty default,
    `database_url: str = ""` of a settings class, is the environment's to fill.)"""
    text = string_value(resolve(index, expr, module, func).expr)
    return bool(text) and "://" not in (text or "")


def _declared(index: ProjectIndex, module: ModuleInfo) -> tuple[str | None, str | None]:
    """The dialect the project's declared drivers name, and the evidence; none when
    the module imports SQLAlchemy dialects and not that one (`from sqlalchemy.dialects
    import mysql` in a PostgreSQL project's MySQL output: its engine's database is
    not known)."""
    from poolsafe.analysis.declared_drivers import declared_driver

    found = declared_driver(module.abspath, index.text_files)
    if found is None:
        return (None, None)
    own = imported_dialects(module)
    if own and not own & set(found.dialect.split(" or ")):
        return (None, None)
    return (found.dialect, found.evidence)


def imported_dialects(module: ModuleInfo) -> set[str]:
    """The SQLAlchemy dialects the module imports at its top level
    (`from sqlalchemy.dialects import mysql`, `from sqlalchemy.dialects.postgresql
    import insert`), MariaDB's as MySQL's."""
    found: set[str] = set()
    for qualname in module.imports.values():
        parts = qualname.split(".")
        if len(parts) >= 3 and parts[:2] == ["sqlalchemy", "dialects"]:
            found.add("mysql" if parts[2] == "mariadb" else parts[2])
    return found


def holds_no_server_slot(dialect: str | None) -> bool:
    """The dialect is known and is not a database server's (`sqlite`, `duckdb`, an
    HTTP-API adapter such as `gsheets` or `bigquery`): its engine's connections use no
    server connection slot. An unknown dialect (None, or `postgresql or mysql`) may."""
    from poolsafe.knowledge.frameworks import SERVER_DIALECTS

    return dialect is not None and " or " not in dialect and dialect not in SERVER_DIALECTS

"""peewee's `db.connect()` without `db.close()` on every path (PS102).

A peewee database object holds one connection per thread. `db.connect()` opens it
(for playhouse.pool's `PooledPostgresqlDatabase` / `PooledMySQLDatabase` it takes a
slot of the pool) and only `db.close()` gives it back; `with db.connection_context():`
does both. Nothing is bound to a name, so the flow analysis of checkouts does not
see it: this module reads the function around each `db.connect()` statement.

- `db.close()` in the `finally` of a `try` that follows the connect (or holds it)
  is the release; so is a `with db.connection_context()` around the work.
- A close that an exception (a call between the connect and the close) or an
  early `return` skips is reported, and so is a connect followed by database work
  with no close at all.
- A Flask `before_request` hook that connects is fine when a teardown handler
  (`teardown_request`, `teardown_appcontext`) closes the database; without one
  every request leaves its thread's connection open. A teardown handler closes the
  database also through a project function whose body closes it (`close_db_connection()`).
  A Bottle `before_request` hook (`@app.hook("before_request")`, `app.add_hook(...)`:
  `analysis.bottle_hooks`) is fine when a Bottle `after_request` hook closes the
  database (Bottle runs those after every request, also when the route raised);
  without one it is reported.
  A function every call of which is made by such hooks (outside loops, to
  `_MAX_HOOK_DEPTH` levels of callers: `@bp.before_request def before(): initialize_db()`
  where `initialize_db` connects and creates the tables), and never named as a value
  outside tests (`Thread(target=initialize_db)`), is judged as the hook is.
  An `after_request` close runs on the 500 response of a view that raised too,
  unless the project makes the app propagate errors (`app.run(debug=True)`,
  testing, `PROPAGATE_EXCEPTIONS`: `flask_propagation`); then every request whose
  view raises keeps its connection.
- Code that runs once per process (a startup hook, a script's `main()`) and a
  function that only connects (a helper someone else closes after) are left alone.
  So is a module-level function no project code calls (tests aside) in a module that
  only scripts import (`one_shot.scripts_only_module`: a maintenance script's action
  whose call the script has commented out, or that is run by hand): whatever runs it
  is one run of such a script, which an exception ends with its connection.
  SQLite databases are files and are not tracked.
- A name bound in several places (`if url.startswith("sqlite"): db = SqliteDatabase(...)
  else: db = PooledMySQLDatabase(...)`), or to a conditional expression
  (`db = PooledPostgresqlDatabase(...) if PG else SqliteDatabase(...)`), is tracked when
  any of its bindings or branches is a server database: the configuration may pick
  that one. So is a database built from a class chosen from configuration:
  `getattr(peewee, cfg["engine"])(...)` (any module that holds peewee's server
  databases, or a literal naming one), `BACKENDS[cfg["engine"]](...)` /
  `BACKENDS.get(name)(...)` over a dict literal of peewee database classes with a
  server one among them, or a name bound to either (`db_class = ...; db = db_class(...)`).
- playhouse's `FlaskDB`: `fdb.connect_db()` and `fdb.close_db(exc)` (its request hooks,
  also called by hand in threads) connect and close the database it was given
  (`FlaskDB(app, db)`, `fdb._load_database(app, db)`, `fdb.database = db`); they are
  tracked when some FlaskDB of the project is given a server database.
- A project's own wrappers (`def connect(): _db.connect()` / `def close(): _db.close()`,
  module functions that return nothing): a call of the connect wrapper is a connect of
  its database where it is called, and a call of the close wrapper its close, so the
  caller (in any module) is judged as if it had written `_db.connect()` itself. A
  connect wrapper only connects (nothing after the connect but checks of the
  connection); a function that connects and closes the database itself is no wrapper.
  A function that only calls a wrapper so (`def open_session(): connect()`) is a
  wrapper of the same database too, to `_MAX_WRAPPER_DEPTH` levels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from poolsafe.analysis.bottle_hooks import bottle_hooks, is_bottle_hook
from poolsafe.analysis.cstutil import dotted_name, iter_nodes
from poolsafe.analysis.doubles import is_test_module
from poolsafe.analysis.flask_propagation import after_request_hooks, propagation_switch
from poolsafe.analysis.flow import call_may_raise
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.one_shot import scripts_only_module
from poolsafe.analysis.project_facts import facts, in_loop, is_cli_entry
from poolsafe.analysis.resolution import decorator_target
from poolsafe.analysis.values import External, ExternalInstance, FunctionRef, LibraryObject
from poolsafe.knowledge.frameworks import BOTTLE_REQUEST_END_HOOKS, BOTTLE_REQUEST_START_HOOKS
from poolsafe.knowledge.libraries import (
    OBJECT_CONSTRUCTORS,
    PEEWEE_FLASK_DB,
    PEEWEE_FLASK_DB_METHODS,
    match_qualname,
)

#: the database object type whose connect() takes a connection that must be closed
_TRACKED = "peewee.database"
#: Flask hooks that run before each request
_BEFORE_REQUEST = frozenset({"before_request", "before_app_request"})
#: what gives a FlaskDB its database: the constructor's second argument (or
#: `database=`), `_load_database(app, db)`'s second, `fdb.database = db`
_FLASK_DB_LOADERS = frozenset({"_load_database"})
#: `ProjectIndex.derived` key of the project's connect/close wrappers
_WRAPPERS_KEY = "peewee_connect.wrappers"
#: `ProjectIndex.derived` key of whether some FlaskDB is given a server database
_FLASK_DB_ON_SERVER_KEY = "peewee_connect.flask_db_on_server"
#: how many levels of wrappers of wrappers are followed (`def open_db(): connect()`)
_MAX_WRAPPER_DEPTH = 4
#: how many levels of callers up to a `before_request` hook are followed
_MAX_HOOK_DEPTH = 3
#: how many names deep a database class chosen from configuration is followed
#: (`db_class = getattr(peewee, name)`, `cls = db_class`)
_MAX_CLASS_DEPTH = 3
#: the peewee database types (a class table holds only these)
_DATABASE_KINDS = frozenset({_TRACKED, "peewee.sqlite"})
#: words without which a project has no peewee database to wrap
_PEEWEE_WORDS = ("peewee", "playhouse")


@dataclass(frozen=True)
class PeeweeGap:
    #: the `db.connect()` call
    call: cst.Call
    #: the database as written (`db`, `self.db`)
    db: str
    #: "exception", "path", "never", "teardown", "after_request" or "bottle"
    how: str
    #: the project's connect wrapper `call` calls (None: `call` is the connect itself)
    wrapper: FunctionInfo | None = None
    #: the project's close wrapper of the same database, if there is one
    closer: FunctionInfo | None = None
    #: the connect is a FlaskDB's `connect_db()` (directly or in the wrapper)
    flask_db: bool = False


@dataclass(frozen=True)
class _Wrapper:
    func: FunctionInfo
    #: "connect" or "close"
    method: str
    #: the database as the wrapper writes it
    db: str
    #: it calls a FlaskDB's `connect_db()` / `close_db()`
    flask_db: bool


@dataclass
class _Wrappers:
    """The project's connect and close wrappers of tracked peewee databases."""

    #: id(FunctionDef) -> the wrapper
    by_node: dict[int, _Wrapper] = field(default_factory=dict)
    #: the wrappers' names (a call of another name calls none of them)
    names: set[str] = field(default_factory=set)
    #: the connect wrappers' names
    connect_names: set[str] = field(default_factory=set)


def peewee_connect_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[PeeweeGap]:
    if ".connect(" not in module.source and ".connect_db(" not in module.source \
            and not _calls_a_wrapper(index, module):
        return
    for func in module.all_functions:
        for call in func.direct_calls:
            db = _database_call(index, module, func, call, "connect")
            if db is None:
                continue
            how = _gap(index, func, call, db)
            if how is None:
                continue
            wrapper = _wrapper_called(index, module, func, call, "connect")
            if wrapper is None:
                yield PeeweeGap(call, db, how, flask_db=_spells_flask_db(call))
            else:
                yield PeeweeGap(call, db, how, wrapper.func, _closer(index, db),
                                wrapper.flask_db)


def _spells_flask_db(call: cst.Call) -> bool:
    f = call.func
    return isinstance(f, cst.Attribute) and f.attr.value in PEEWEE_FLASK_DB_METHODS.values()


def _database_call(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                   call: cst.Call, method: str) -> str | None:
    """The database `call` connects or closes (`method`): `db.<method>()` itself, a
    FlaskDB's, or a call of the project's wrapper of it."""
    db = _peewee_receiver(index, module, func, call, method)
    if db is not None:
        return db
    wrapper = _wrapper_called(index, module, func, call, method)
    return None if wrapper is None else wrapper.db


def _calls_a_wrapper(index: ProjectIndex, module: ModuleInfo) -> bool:
    """Whether `module` may call a connect wrapper (a test of its source)."""
    return any(f"{name}(" in module.source for name in _wrappers(index).connect_names)


def _wrapper_called(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                    call: cst.Call, method: str) -> _Wrapper | None:
    """The project's `method` wrapper that `call` calls (`connect()`, `models.close()`)."""
    return _called_in(index, module, func, call, method, _wrappers(index))


def _called_in(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
               call: cst.Call, method: str, found: _Wrappers) -> _Wrapper | None:
    """The `method` wrapper of `found` that `call` calls."""
    name = _callee_name(call)
    if name is None or name not in found.names:
        return None
    callee = index.evaluate(call.func, module, func)
    if not isinstance(callee, FunctionRef):
        return None
    entry = found.by_node.get(id(callee.func.node))
    return entry if entry is not None and entry.method == method else None


def _callee_name(call: cst.Call) -> str | None:
    """`connect` of `connect()` and of `models.connect()`."""
    f = call.func
    return f.value if isinstance(f, cst.Name) else (
        f.attr.value if isinstance(f, cst.Attribute) else None)


def _closer(index: ProjectIndex, db: str) -> FunctionInfo | None:
    """A close wrapper of the database written `db`."""
    return next((w.func for w in _wrappers(index).by_node.values()
                 if w.method == "close" and w.db == db), None)


def _wrappers(index: ProjectIndex) -> _Wrappers:
    """The project's connect/close wrappers, found once per index and resolution level
    (a lazy index that may parse more of the project later finds them again)."""
    return index.derived(f"{_WRAPPERS_KEY}:{index.resolution_level}",
                         lambda: _find_wrappers(index))


def _find_wrappers(index: ProjectIndex) -> _Wrappers:
    found = _Wrappers()
    if not index.modules_mentioning(_PEEWEE_WORDS):
        return found
    for module in index.modules_calling(["connect", "connect_db"]):
        if ".connect(" not in module.source and ".connect_db(" not in module.source:
            continue
        for func in module.all_functions:
            wrapper = _wrapped(index, func, "connect", found)
            if wrapper is not None:
                found.by_node[id(func.node)] = wrapper
    databases = {w.db for w in found.by_node.values()}
    if not databases:
        return found
    for module in index.modules_mentioning([d.split(".", 1)[0] for d in databases]):
        if ".close(" not in module.source and ".close_db(" not in module.source:
            continue
        for func in module.all_functions:
            wrapper = _wrapped(index, func, "close", found)
            if wrapper is not None and wrapper.db in databases:
                found.by_node[id(func.node)] = wrapper
    _name(found)
    _wrappers_of_wrappers(index, found)
    return found


def _name(found: _Wrappers) -> None:
    found.names = {w.func.name for w in found.by_node.values()}
    found.connect_names = {w.func.name for w in found.by_node.values() if w.method == "connect"}


def _wrappers_of_wrappers(index: ProjectIndex, found: _Wrappers) -> None:
    """A project function that only calls a connect (close) wrapper (`def open_db():
    connect()` over `def connect(): _db.connect()`) is one too, to
    `_MAX_WRAPPER_DEPTH` levels: added to `found` level by level (each level is read
    from the one before; the direct wrappers are level one)."""
    for _ in range(_MAX_WRAPPER_DEPTH):
        level: dict[int, _Wrapper] = {}
        for module in index.modules_calling(sorted(found.names)):
            for func in module.all_functions:
                if id(func.node) in found.by_node:
                    continue
                for method in ("connect", "close"):
                    wrapper = _wrapped(index, func, method, found)
                    if wrapper is not None:
                        level[id(func.node)] = wrapper
                        break
        if not level:
            return
        found.by_node.update(level)
        _name(found)


def _wrapped(index: ProjectIndex, func: FunctionInfo, method: str,
             found: _Wrappers) -> _Wrapper | None:
    """`func` as a wrapper of the `method` of a database: a plain function (not nested, not
    decorated, no generator) that calls `db.<method>()` of one tracked database kept
    outside it (not a parameter: `self.db`), or a `method` wrapper of `found` of it,
    returns nothing, and does not call the other of connect/close on it; a connect
    wrapper does nothing after its connect but check the connection (what `_gap`
    leaves alone)."""
    spelled = {method, PEEWEE_FLASK_DB_METHODS[method]}
    if not any((isinstance(c.func, cst.Attribute) and c.func.attr.value in spelled)
               or _callee_name(c) in found.names for c in func.direct_calls):
        return None
    if func.parent is not None or func.is_generator or func.node.decorators \
            or any(r.value is not None for r in func.returns):
        return None
    module = func.module

    def database(call: cst.Call, how: str) -> tuple[str | None, bool]:
        """(the database `call` does `how` to, whether through a FlaskDB)."""
        db = _peewee_receiver(index, module, func, call, how)
        if db is not None:
            return db, _spells_flask_db(call)
        inner = _called_in(index, module, func, call, how, found)
        return (None, False) if inner is None else (inner.db, inner.flask_db)

    calls = [(c, database(c, method)) for c in func.direct_calls]
    dbs = {db for _, (db, _) in calls if db is not None}
    if len(dbs) != 1:
        return None
    db = dbs.pop()
    if db.split(".", 1)[0] in func.all_param_names():
        return None
    other = "close" if method == "connect" else "connect"
    if any(database(c, other)[0] == db for c in func.direct_calls):
        return None
    if method == "connect":
        last = max(i for i, (_, (d, _)) in enumerate(calls) if d == db)
        if any(not _only_inspects(c, db) for c, _ in calls[last + 1:]):
            return None
    return _Wrapper(func, method, db, any(flask for _, (d, flask) in calls if d == db))


def _peewee_receiver(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                     call: cst.Call, method: str) -> str | None:
    """`db` for `db.<method>()` on a tracked peewee database (`fdb` for a FlaskDB's
    `fdb.connect_db()` / `fdb.close_db(exc)`)."""
    f = call.func
    if not isinstance(f, cst.Attribute):
        return None
    name = dotted_name(f.value)
    if name is None:
        return None
    if f.attr.value == method:
        if _server_database(index, module, func, f.value):
            return name
        if isinstance(f.value, cst.Attribute) and f.value.attr.value == "database" \
                and _is_flask_db(index, module, func, f.value.value):
            return name  # `fdb.database.connect()`
        return None
    if f.attr.value == PEEWEE_FLASK_DB_METHODS.get(method) \
            and _is_flask_db(index, module, func, f.value):
        return name
    return None


def _server_database(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                     expr: cst.BaseExpression) -> bool:
    """`expr` is a peewee server database, or a name one of whose bindings is."""
    value = index.evaluate(expr, module, func)
    if isinstance(value, LibraryObject) and value.type_key == _TRACKED:
        return True
    if not isinstance(expr, cst.Name):
        return False
    bindings, where = _bindings(module, func, expr.value)
    choices = [c for b in bindings for c in _alternatives(b)]
    if any(isinstance(c, cst.Call) and _configured_class(index, module, where, c.func, 0)
           for c in choices):
        return True
    if len(choices) < 2:
        return False
    return any(isinstance(v, LibraryObject) and v.type_key == _TRACKED
               for v in (index.evaluate(c, module, where) for c in choices))


def _bindings(module: ModuleInfo, func: FunctionInfo | None,
              name: str) -> tuple[list[cst.BaseExpression], FunctionInfo | None]:
    """The expressions `name` is bound to where `func` reads it (its own scope, an
    enclosing function's, else the module's), and the scope they are in."""
    scope = func
    while scope is not None and name not in scope.locals:
        scope = scope.parent
    if scope is not None:
        return [v for v in scope.locals[name] if isinstance(v, cst.BaseExpression)], scope
    return list(module.assigns.get(name, [])), None


def _configured_class(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                      expr: cst.BaseExpression, depth: int) -> bool:
    """`expr` is a peewee database class chosen from configuration, one of whose
    choices is a server database: `getattr(peewee, cfg["engine"])` (a name of a module
    that holds peewee's server databases, or a literal naming one), a subscript or
    `.get()` of a dict literal of peewee database classes with a server one among them
    (`BACKENDS[cfg["engine"]]`), or a name bound to either. Calling it builds a
    database the configuration may make a server one, as a name bound in several
    places is tracked when one of its bindings is."""
    if depth > _MAX_CLASS_DEPTH:
        return False
    if isinstance(expr, cst.Name):
        bindings, where = _bindings(module, func, expr.value)
        return any(_configured_class(index, module, where, choice, depth + 1)
                   for b in bindings for choice in _alternatives(b))
    if isinstance(expr, cst.Subscript):
        return _class_table(index, module, func, expr.value)
    if not isinstance(expr, cst.Call):
        return False
    f = expr.func
    if isinstance(f, cst.Attribute) and f.attr.value == "get" and expr.args:
        return _class_table(index, module, func, f.value)
    if isinstance(f, cst.Name) and f.value == "getattr" and len(expr.args) >= 2 \
            and index.evaluate(f, module, func) is None:
        home = index.evaluate(expr.args[0].value, module, func)
        if not isinstance(home, External):
            return False
        attr = expr.args[1].value
        if isinstance(attr, cst.SimpleString):
            named = match_qualname(f"{home.qualname}.{attr.evaluated_value!s}",
                                   OBJECT_CONSTRUCTORS)
            return named is not None and OBJECT_CONSTRUCTORS[named] == _TRACKED
        return any(kind == _TRACKED and root == home.qualname
                   for (root, _), kind in OBJECT_CONSTRUCTORS.items())
    return False


def _class_table(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                 expr: cst.BaseExpression) -> bool:
    """`expr` names a dict literal whose values are all peewee database classes, a
    server one among them."""
    if not isinstance(expr, cst.Name):
        return False
    bindings, where = _bindings(module, func, expr.value)
    if len(bindings) != 1 or not isinstance(bindings[0], cst.Dict) or not bindings[0].elements:
        return False
    kinds: list[str | None] = []
    for element in bindings[0].elements:
        if not isinstance(element, cst.DictElement):
            return False
        value = index.evaluate(element.value, module, where)
        named = match_qualname(value.qualname, OBJECT_CONSTRUCTORS) \
            if isinstance(value, External) else None
        kinds.append(None if named is None else OBJECT_CONSTRUCTORS[named])
    return all(k in _DATABASE_KINDS for k in kinds) and _TRACKED in kinds


def _alternatives(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The values a binding may give: both branches of a conditional expression
    (`PooledPostgresqlDatabase(...) if PG else SqliteDatabase(...)`), nested ones
    too; `expr` itself otherwise."""
    if isinstance(expr, cst.IfExp):
        yield from _alternatives(expr.body)
        yield from _alternatives(expr.orelse)
    else:
        yield expr


def _is_flask_db(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                 expr: cst.BaseExpression) -> bool:
    """`expr` is a playhouse FlaskDB and some FlaskDB of the project is given a
    server database."""
    return _is_flask_db_object(index, module, func, expr) and _flask_db_on_server(index)


def _names_flask_db(qualname: str) -> bool:
    root, _, last = qualname.rpartition(".")
    return last == PEEWEE_FLASK_DB[1] and root.split(".", 1)[0] == PEEWEE_FLASK_DB[0]


def _flask_db_on_server(index: ProjectIndex) -> bool:
    """Some FlaskDB of the project is given a server database (asked for every
    `connect_db()` / `close_db()` call: found once per index)."""
    return index.derived(f"{_FLASK_DB_ON_SERVER_KEY}:{index.resolution_level}",
                         lambda: _find_flask_db_on_server(index))


def _find_flask_db_on_server(index: ProjectIndex) -> bool:
    for module in index.modules_mentioning([PEEWEE_FLASK_DB[1], *_FLASK_DB_LOADERS]):
        scopes: list[FunctionInfo | None] = [None, *module.all_functions]
        for func in scopes:
            body = module.tree if func is None else func.node
            for node in iter_nodes(body):
                given = _database_given(index, module, func, node)
                if given is not None and _server_database(index, module, func, given):
                    return True
    return False


def _database_given(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                    node: cst.CSTNode) -> cst.BaseExpression | None:
    """The database `node` gives a FlaskDB, if it gives one."""
    if isinstance(node, cst.Call):
        f = node.func
        if isinstance(f, cst.Attribute) and f.attr.value in _FLASK_DB_LOADERS:
            if len(node.args) >= 2 and _is_flask_db_object(index, module, func, f.value):
                return node.args[1].value
            return None
        callee = index.evaluate(f, module, func)
        if isinstance(callee, External) and _names_flask_db(callee.qualname):
            keyed = next((a.value for a in node.args if a.keyword is not None
                          and a.keyword.value == "database"), None)
            positional = [a.value for a in node.args if a.keyword is None]
            return keyed if keyed is not None else (
                positional[1] if len(positional) >= 2 else None)
        return None
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        target = node.targets[0].target
        if isinstance(target, cst.Attribute) and target.attr.value == "database" \
                and _is_flask_db_object(index, module, func, target.value):
            return node.value
    return None


def _is_flask_db_object(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                        expr: cst.BaseExpression) -> bool:
    value = index.evaluate(expr, module, func)
    return isinstance(value, ExternalInstance) and _names_flask_db(value.qualname)


def _gap(index: ProjectIndex, func: FunctionInfo, connect: cst.Call, db: str) -> str | None:
    if _is_hook(func, _BEFORE_REQUEST):
        return _hook_gap(index)
    if is_bottle_hook(index, func, BOTTLE_REQUEST_START_HOOKS):
        return None if _bottle_end_closes(index) else "bottle"
    if _hook_gap(index) is None and _called_only_by_hooks(index, func, _MAX_HOOK_DEPTH):
        return None  # the request's connect: the teardown closes it
    if is_cli_entry(index, func) or _uncalled_script_action(index, func):
        return None
    order = {id(n): i for i, n in enumerate(iter_nodes(func.node.body))}
    start = order.get(id(connect))
    if start is None:
        return None
    closes = [c for c in func.direct_calls
              if (_database_call(index, func.module, func, c, "close") == db
                  or _holder_method_closes(index, func, c, db))
              and order.get(id(c), -1) > start]
    if not closes:
        later = [c for c in func.direct_calls if order.get(id(c), -1) > start
                 and not _only_inspects(c, db)]
        return "never" if later else None
    if any(_protected(func, connect, c) for c in closes):
        return None
    first = min(order[id(c)] for c in closes)
    between = [n for n in iter_nodes(func.node.body) if start < order[id(n)] < first]
    if any(isinstance(n, cst.Return) and not _holds_close(n, closes) for n in between):
        return "path"
    if any(isinstance(n, cst.Call) and n is not connect and call_may_raise(n)
           and not _only_inspects(n, db) for n in between):
        return "exception"
    return None


def _holds_close(stmt: cst.Return, closes: list[cst.Call]) -> bool:
    """`return gateway.done(key)`: the return's value is the close itself."""
    return any(n is c for n in iter_nodes(stmt) for c in closes)


def _holder_method_closes(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                          db: str) -> bool:
    """`call` is a method of the object that holds the database, and the method
    closes that attribute: `store.finish()` for `store.database`, where `Store.finish`
    runs `self.database.close()` (a project wrapper with a close method, a
    middleware's `process_response()` called by hand)."""
    holder, _, attr = db.rpartition(".")
    f = call.func
    if not holder or not isinstance(f, cst.Attribute) or dotted_name(f.value) != holder:
        return False
    callee = index.evaluate(f, func.module, func)
    if not isinstance(callee, FunctionRef) or callee.func is func or callee.func.cls is None:
        return False
    method = callee.func
    return any(_database_call(index, method.module, method, c, "close") == f"self.{attr}"
               for c in method.direct_calls)


def _hook_gap(index: ProjectIndex) -> str | None:
    """What a `before_request` hook that connects leaves open: nothing when a teardown
    handler closes the database."""
    if _teardown_closes(index):
        return None
    if _after_request_closes(index):
        # Flask runs it on the 500 of a view that raised, unless the app
        # propagates errors (debug, testing): only then is a request missed
        return "after_request" if propagation_switch(index) is not None else None
    return "teardown"


def _called_only_by_hooks(index: ProjectIndex, func: FunctionInfo, depth: int) -> bool:
    """Every call of `func` in the project (tests aside) is made, outside loops, by a
    Flask `before_request` / `before_app_request` hook (an application's or a
    blueprint's), or by a function only such hooks call (to `depth` levels): `func`
    runs at the start of a request, as the hook does. It is called at least once."""
    if depth <= 0:
        return False
    project = facts(index)
    sites = [s for s in project.callers(func) + project.handed_callers(func)
             if not is_test_module(s.module)]
    return bool(sites) and not _used_as_value(index, func) and all(
        s.func is not None and s.func is not func and not in_loop(s)
        and (_is_hook(s.func, _BEFORE_REQUEST)
             or _called_only_by_hooks(index, s.func, depth - 1))
        for s in sites)


def _used_as_value(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` is named outside tests other than as the callee of a call, its own `def`
    or an import (`Thread(target=initialize_db)`): whoever holds it may run it anywhere."""
    for module in index.modules_mentioning([func.name]):
        if is_test_module(module):
            continue
        skip: set[int] = set()
        for node in iter_nodes(module.tree, into_functions=True):
            if isinstance(node, cst.Call):
                skip.add(id(node.func))
                if isinstance(node.func, cst.Attribute):
                    skip.add(id(node.func.attr))
            elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                skip.add(id(node.name))
            elif isinstance(node, (cst.Import, cst.ImportFrom)):
                skip.update(id(n) for n in iter_nodes(node))
            elif isinstance(node, cst.Name) and node.value == func.name \
                    and id(node) not in skip:
                value = index.evaluate(node, module, None)
                if isinstance(value, FunctionRef) and value.func is func:
                    return True
    return False


def _uncalled_script_action(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` is a module-level function that no project code calls or hands on
    (tests aside), in a module that only scripts import: an updater script's action
    whose call is commented out, or one run by hand. It runs once per run of a
    script, and an exception there ends the run (and its connection)."""
    if func.parent is not None or func.cls is not None:
        return False
    project = facts(index)
    if any(not is_test_module(s.module)
           for s in project.callers(func) + project.handed_callers(func)):
        return False
    return scripts_only_module(index, func.module)


def _only_inspects(call: cst.Call, db: str) -> bool:
    """`db.is_closed()`, logging and printing: no database work."""
    f = call.func
    if isinstance(f, cst.Attribute) and dotted_name(f.value) == db \
            and f.attr.value in {"is_closed", "is_connection_usable"}:
        return True
    return isinstance(f, cst.Name) and f.value == "print"


def _protected(func: FunctionInfo, connect: cst.Call, close: cst.Call) -> bool:
    """`close` is in the `finally` of a `try` that holds `connect` or comes after it."""
    for node in iter_nodes(func.node.body):
        if not (isinstance(node, cst.Try) and node.finalbody is not None):
            continue
        if not any(n is close for n in iter_nodes(node.finalbody)):
            continue
        if any(n is connect for n in iter_nodes(node.body)):
            return True
        return _precedes(func, connect, node)
    return False


def _precedes(func: FunctionInfo, connect: cst.Call, stmt: cst.CSTNode) -> bool:
    order = {id(n): i for i, n in enumerate(iter_nodes(func.node.body))}
    return order.get(id(connect), 1 << 30) < order.get(id(stmt), -1)


def _is_hook(func: FunctionInfo, methods: frozenset[str]) -> bool:
    for deco in func.node.decorators:
        target = decorator_target(deco)
        if isinstance(target, cst.Attribute) and target.attr.value in methods:
            return True
    return False


def _after_request_closes(index: ProjectIndex) -> bool:
    """Some `after_request` hook closes a peewee database (`flask_propagation`: Flask
    skips it for a view that raised only where the app propagates errors)."""
    return any(_database_call(index, module, f, c, "close") is not None
               for module, f in after_request_hooks(index) for c in f.direct_calls)


def _bottle_end_closes(index: ProjectIndex) -> bool:
    """Some Bottle `after_request` hook of the project closes a peewee database (Bottle
    runs it after every request, also one whose route raised)."""
    return any(_closes_database(index, f.module, f, c, _MAX_HOOK_DEPTH)
               for f in bottle_hooks(index, BOTTLE_REQUEST_END_HOOKS) for c in f.direct_calls)


def _teardown_closes(index: ProjectIndex) -> bool:
    """Some Flask teardown handler of the project closes a peewee database."""
    for body, module, owner in facts(index).teardowns():
        for node in iter_nodes(body):
            if isinstance(node, cst.Call) and _closes_database(index, module, owner, node,
                                                               _MAX_HOOK_DEPTH):
                return True
    return False


def _closes_database(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                     call: cst.Call, depth: int) -> bool:
    """`call` closes a peewee database: `db.close()`, a close wrapper's call, or a call
    of a project function (not a method) whose own body closes one (`close_db_connection()`
    whose body is `if not db.is_closed(): db.close()`, a helper the analysis does not
    take for a wrapper when the project has no connect wrapper), to `depth` levels."""
    if _database_call(index, module, func, call, "close") is not None:
        return True
    if depth <= 0:
        return False
    callee = index.evaluate(call.func, module, func)
    if not isinstance(callee, FunctionRef) or callee.func is func \
            or callee.func.cls is not None:
        return False
    inner = callee.func
    return any(_closes_database(index, inner.module, inner, c, depth - 1)
               for c in inner.direct_calls)

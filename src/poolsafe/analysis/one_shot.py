"""Engines whose connections never sit idle in a pool: what PS203 (pre-ping) and
PS211 (recycle) need not ask for.

Pre-ping and recycling protect a connection that waited in the pool while the server
restarted or closed it. An engine that is used and thrown away at once has no such
connection:

- a bootstrap engine rebound to another engine in the same scope
  (`engine = create_engine(server_url)`, `CREATE DATABASE`, then
  `engine = create_engine(db_url, ...)`);
- an engine disposed in the scope that built it (`engine.dispose()`);
- an engine built in code that runs once per process (a maintenance script's
  `main()`, a click command) and that never leaves it (not returned, stored or made
  global), in a function with no `while` loop (a worker loop keeps it for hours);
- an engine at the top level of an Alembic environment (`env.py`) or of an Alembic
  revision script (imports `alembic.op`, assigns `revision` and `down_revision`)
  that no project module imports: one migration command loads it and ends;
- an engine at the top level of a flat script: a module with no function or class
  that does its database work at import time (`with engine.connect() as conn:`) and
  that no web application, worker or bot of the project imports (a package's
  `__init__` the app imports is no script; a module other scripts import still is).
- an engine built in a script's `if __name__ == "__main__":` block (no `while`, no
  server started there) that no function reads as a global and that the block only
  uses or passes to helpers keeping it local (`create_tables(engine)`);
- a module-level engine that nothing reads: no statement of its module uses it (or
  what is made from it at the top level: `Session = sessionmaker(bind=engine)`,
  `session = Session()`) beyond making those, and the project's modules that import
  the module import other names from it (a Flask blueprint), none of those, nor the
  module object itself, nor `*`. Its pool never connects. (A module nobody imports
  is not judged: it may be an entry point, or a library's module its users read;
  unless it is a loose file in a sub-folder that is no package, a snippet that no
  one imports for its names.)
- a module-level engine of a module that only scripts import, directly or through
  other modules: every module on the way starts no server, consumer or scheduler
  and has no loop that waits, and each one at the top runs as a script (`__main__`,
  a top-level call, an Alembic script).
- a module-level engine of a script that nothing imports (`__main__`, or a top-level
  call of a project function or of database work), which starts no server and has
  no loop that waits;
- an engine a class builds in `__init__` (`self.engine = create_engine(url)`) when
  every construction of the class in the project is in a script's `__main__` block,
  outside loops, with no `while` loop or server there nor in the class's methods;
- an engine a factory returns, when every call of the factory in the project (at
  least one) is one-shot code keeping it local, or a script's top level as above;
- the engine of a Flask application a request handler builds for itself
  (`app = Flask(__name__)`, its `SQLALCHEMY_DATABASE_URI` and `SQLAlchemy(app)` inside
  the route): it serves that one request and is dropped (PS202's class: one engine per
  request), so no connection of it ever waits idle.

Which code runs once per process is `project_facts.is_cli_entry`'s call graph (the
one notion every rule asks): script entry points, CLI and management commands,
Airflow task callables, and what only they call.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import (
    body_statements,
    children,
    dropped_calls,
    iter_nodes,
    keyword_arg,
    name_leaves,
    positional_args,
    strip_await,
)
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo, enclosing_function
from poolsafe.analysis.namespace_dispatch import is_main_test
from poolsafe.analysis.project_facts import (
    facts,
    in_loop,
    is_cli_entry,
    is_test_module,
    request_handler,
)
from poolsafe.analysis.values import ClassRef, External, FunctionRef, Instance, LibraryObject
from poolsafe.knowledge.frameworks import ENGINE_OFFLINE_ATTRIBUTES
from poolsafe.knowledge.libraries import root_matches


def per_request_app(index: ProjectIndex, func: FunctionInfo | None) -> bool:
    """`func` (where a Flask-SQLAlchemy configuration is written, or `SQLAlchemy(app)`
    called) is a request handler that builds its own Flask application (`app =
    Flask(...)` in its body): that app's engine serves one request and is dropped."""
    if func is None:
        return False
    return any(isinstance(n, cst.Assign) and isinstance(n.value, cst.Call)
               and _is_flask_class(index.evaluate(n.value.func, func.module, func))
               for n in iter_nodes(func.node.body)) \
        and request_handler(index, func) is not None


def _is_flask_class(value: object) -> bool:
    return isinstance(value, External) and value.qualname == "flask.Flask"


def short_lived_engine(index: ProjectIndex, module: ModuleInfo,
                       call: cst.Call) -> str | None:
    """Why the engine `call` builds never keeps an idle connection, or None."""
    func = next((f for c, f in module.calls if c is call), None)
    scope: cst.CSTNode = func.node.body if func is not None else module.tree
    call = _async_engine_wrapper(index, module, func, scope, call) or call
    if discarded_engine(scope, call):
        return "its value is discarded (a driver or dialect probe): it never connects"
    name = _assigned_name(scope, call)
    if func is None and _alembic_environment(index, module):
        return "the top level of an Alembic environment: one migration run uses it and ends"
    # (Alembic runs the script directory's `env.py` and no other name: asking the file's
    # name keeps a module of the application's own, imported from a file the prefilter
    # left unread, from passing for one)
    if func is not None and module.abspath.name == "env.py" \
            and _alembic_environment(index, module) and _runs_migrations(module):
        return ("built inside an Alembic environment's functions (run_migrations_online): "
                "one migration run uses it and ends")
    if func is None and _alembic_revision(index, module):
        return "the top level of an Alembic revision: one migration run uses it and ends"
    if func is not None and _returned_to_one_shot(index, func, call, name):
        return "built by a factory that only code running once per process calls, which drops it"
    if func is not None and _returned_to_disposers(index, func, call, name):
        return "built by a factory whose every caller disposes the engine it gets"
    if func is not None and _main_block_object_engine(index, func, call):
        return ("kept by an object that only a script's `__main__` block makes, "
                "for one run")
    if name is None:
        return None
    statements = [n for n in iter_nodes(scope) if isinstance(n, cst.Assign)]
    built = next((i for i, st in enumerate(statements)
                  if strip_await(st.value)[0] is call), None)
    for st in statements[(built or 0) + 1:]:
        if any(isinstance(t.target, cst.Name) and t.target.value == name
               for t in st.targets) and isinstance(strip_await(st.value)[0], cst.Call):
            return "a bootstrap engine, rebound to another one in the same scope"
    for node in iter_nodes(scope):
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "dispose"
                and isinstance(node.func.value, cst.Name) and node.func.value.value == name):
            return "disposed in the scope that built it"
    disposer = (_disposing_callee(index, func, scope, name)
                if func is not None and not _handed_on(func, name) else None)
    if disposer is not None:
        return f"handed to `{disposer}`, which disposes it"
    if func is not None and _one_shot_local(index, func, scope, name):
        return "built and used once, in code that runs once per process"
    if func is not None and _call_scoped(func, scope, name):
        return "local to one call, which only checks out from it: dropped when it returns"
    if func is None and _flat_script(module) and not _part_of_a_server(index, module):
        return "a script's top level: it does its database work once and ends"
    if func is None and _main_block_engine(index, module, call, name):
        return "built in a script's `__main__` block for one run, and kept by nothing"
    if func is None and _never_read(index, module, name):
        return "nothing in the project reads it: its pool never connects"
    if func is None and scripts_only_module(index, module):
        return "a module that only scripts import: each run uses it once and ends"
    if func is None and _standalone_script(index, module):
        return "a script's module that nothing imports: each run uses it once and ends"
    return None


#: SQLAlchemy's asyncio engine class, also re-exported by SQLModel: `AsyncEngine(
#: create_engine(url))` wraps a sync engine and is that engine (same pool)
_ASYNC_ENGINE_CLASSES = frozenset({
    "sqlalchemy.ext.asyncio.AsyncEngine", "sqlalchemy.ext.asyncio.engine.AsyncEngine",
    "sqlmodel.ext.asyncio.session.AsyncEngine",
})


def _async_engine_wrapper(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                          scope: cst.CSTNode, call: cst.Call) -> cst.Call | None:
    """The `AsyncEngine(...)` call whose only argument is the engine `call` builds
    (`connectable = AsyncEngine(create_engine(url))`, SQLModel's and the Alembic async
    recipes' form): the wrapper holds the same pool, so where it goes is where the
    engine goes (disposed, kept local, bound to a module name)."""
    for node in iter_nodes(scope):
        if isinstance(node, cst.Call) and len(node.args) == 1 \
                and node.args[0].keyword is None and not node.args[0].star \
                and node.args[0].value is call:
            value = index.evaluate(node.func, module, func)
            if isinstance(value, External) and value.qualname in _ASYNC_ENGINE_CLASSES:
                return node
            return None
    return None


def _returned_to_one_shot(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                          name: str | None) -> bool:
    """`func` returns the engine `call` builds (`return create_engine(url)`, or the
    local it is bound to), and every call of `func` in the project (tests aside; at
    least one) is in code that runs once per process and keeps what it got local
    (`engine = make_engine()` in an Airflow task callable or a CLI command, with the
    conditions of a one-shot local), or at the top level of a script nothing imports
    (`_standalone_script`), outside loops. A factory nobody calls is not judged: a
    library's users may call it per request."""
    if func.is_generator or not any(
            isinstance(n, cst.Return) and n.value is not None and (
                n.value is call or (name is not None and isinstance(n.value, cst.Name)
                                    and n.value.value == name)
                or _binds_only(index, func, n.value, call, name))
            for n in iter_nodes(func.node.body)):
        return False
    sites = facts(index).project_callers(func)
    if not sites:
        return False
    for site in sites:
        if in_loop(site):
            return False
        if site.func is None:
            if not _standalone_script(index, site.module):
                return False
            continue
        local = _assigned_name(site.func.node.body, site.call)
        if local is None:
            if not (_checked_out_in_place(site.func, site.call)
                    and is_cli_entry(index, site.func)):
                return False
            continue
        if not _one_shot_local(index, site.func, site.func.node.body, local):
            return False
    return True


def _checked_out_in_place(func: FunctionInfo, call: cst.Call) -> bool:
    """`call` (a factory's) is only the receiver of a checkout made at once
    (`with get_engine().begin() as conn:`, `get_engine().connect()`), in a function
    with no `while` loop: nothing keeps the engine past that statement."""
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.While):
            return False
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.value is call:
            return node.func.attr.value in _ENGINE_USES
    return False


def _binds_only(index: ProjectIndex, func: FunctionInfo, value: cst.BaseExpression,
                call: cst.Call, name: str | None) -> bool:
    """`value` is a session factory bound to the engine `call` builds, and the factory
    function keeps no other reference to it (`engine = create_engine(url)` then `return
    sessionmaker(bind=engine)`, or `return sessionmaker(bind=create_engine(url))`): the
    engine goes where the sessionmaker goes."""
    if not isinstance(value, cst.Call):
        return False
    made = index.evaluate(value, func.module, func)
    if not (isinstance(made, LibraryObject) and made.type.is_session_factory
            and not made.type.is_scoped):
        return False
    bind = keyword_arg(value, "bind")
    if bind is None:
        args = positional_args(value)
        bind = args[0] if args else None
    if bind is call:
        return True
    if name is None or name in func.globals_declared or not (
            isinstance(bind, cst.Name) and bind.value == name):
        return False
    # the assignment's target and the `bind=` argument are its only mentions
    return sum(1 for n in iter_nodes(func.node.body, into_functions=True)
               if isinstance(n, cst.Name) and n.value == name) == 2


def _returns_engine(func: FunctionInfo, call: cst.Call, name: str | None) -> bool:
    """`func` returns the engine `call` builds, or the local it is bound to."""
    return not func.is_generator and any(
        isinstance(n, cst.Return) and n.value is not None and (
            n.value is call or (name is not None and isinstance(n.value, cst.Name)
                                and n.value.value == name))
        for n in iter_nodes(func.node.body))


def _returned_to_disposers(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                           name: str | None) -> bool:
    """`func` returns the engine `call` builds, and every call of `func` in the project
    (tests aside; at least one) binds it to a local of a function that calls
    `dispose()` on that local (`engine = self.get_engine(db)` ... `finally:
    engine.dispose()`, chATLAS-Embed's `get_connection`): each engine is thrown away
    by the code that asked for it, its connections with it. A factory nobody calls is
    not judged (a library's users may keep what it returns)."""
    if not _returns_engine(func, call, name):
        return False
    sites = facts(index).project_callers(func)
    if not sites:
        return False
    for site in sites:
        if site.func is None:
            return False
        local = _assigned_name(site.func.node.body, site.call)
        if local is None or _handed_on(site.func, local) or not any(
                isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                and n.func.attr.value == "dispose" and not n.args
                and isinstance(n.func.value, cst.Name) and n.func.value.value == local
                for n in iter_nodes(site.func.node.body)):
            return False
    return True


def discarded_engine(scope: cst.CSTNode, call: cst.Call) -> bool:
    """`create_engine(url)` as a statement of its own, its value dropped (a probe that
    the dialect's driver imports: `try: create_engine("mysql+pymysql://")` ...
    `except NoSuchModuleError:`): SQLAlchemy connects only when a connection is asked
    for, and nothing can ask this engine for one. Only SQLAlchemy's engine builders: a
    dropped `SQLAlchemy(app)` registers itself on the application, which keeps it."""
    callee = call.func.attr.value if isinstance(call.func, cst.Attribute) else (
        call.func.value if isinstance(call.func, cst.Name) else None)
    return callee in _ENGINE_BUILDERS and id(call) in dropped_calls(scope)


_ENGINE_BUILDERS = frozenset({"create_engine", "create_async_engine", "engine_from_config",
                              "async_engine_from_config"})


def _disposing_callee(index: ProjectIndex, func: FunctionInfo, scope: cst.CSTNode,
                      name: str) -> str | None:
    """The project function the engine in `name` is handed to (a positional or
    keyword argument) that calls `dispose()` on the parameter receiving it (`return
    bool(_get_scalar(engine, sql))`, `_get_scalar` ending in `engine.dispose()`)."""
    for node in iter_nodes(scope):
        if not isinstance(node, cst.Call):
            continue
        for pos, arg in enumerate(node.args):
            if not (isinstance(arg.value, cst.Name) and arg.value.value == name) or arg.star:
                continue
            target = index.evaluate(node.func, func.module, func)
            if not isinstance(target, FunctionRef):
                break
            callee = target.func
            if arg.keyword is not None:
                param: str | None = arg.keyword.value
            else:
                params = callee.param_names()
                param = params[pos] if pos < len(params) else None
            if param is not None and any(
                    isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                    and n.func.attr.value == "dispose" and not n.args
                    and isinstance(n.func.value, cst.Name) and n.func.value.value == param
                    for n in iter_nodes(callee.node.body)):
                return callee.qualname
    return None


def _handed_on(func: FunctionInfo, local: str) -> bool:
    """The engine in `local` leaves `func` before its disposal may run: returned,
    yielded, or stored (`self.engine = engine`, `engines[k] = engine`)."""
    return name_leaves(func.node.body, local)


def _project_importers(index: ProjectIndex, module: ModuleInfo) -> list[ModuleInfo]:
    """The project modules outside the tests that import `module`."""
    return [i for i in index.importers(module) if not is_test_module(i)]


def _alembic_environment(index: ProjectIndex, module: ModuleInfo) -> bool:
    """An Alembic environment script (`env.py`): it imports `alembic.context`, which
    exists only while an Alembic command runs the script, and no project module imports
    it (tests aside). Alembic loads it by path for one migration command, so whatever it
    builds at its top level lives for that run."""
    if not any(root_matches(q, "alembic.context") for q in module.imports.values()):
        return False
    return not _project_importers(index, module)


def _runs_migrations(module: ModuleInfo) -> bool:
    """The module calls `context.run_migrations()` on Alembic's `alembic.context`
    (imported as a module, `from alembic import context`, or its name): what an
    environment script's `run_migrations_online()` does with the connection it opens."""
    for call, _func in module.calls:
        target = call.func
        if not (isinstance(target, cst.Attribute) and target.attr.value == "run_migrations"):
            continue
        base = target.value
        if isinstance(base, cst.Name) and root_matches(
                module.imports.get(base.value, ""), "alembic.context"):
            return True
        if (isinstance(base, cst.Attribute) and base.attr.value == "context"
                and isinstance(base.value, cst.Name)
                and module.imports.get(base.value.value, "") == "alembic"):
            return True
    return False


#: the module-level names Alembic reads from every revision script it loads
_REVISION_NAMES = frozenset({"revision", "down_revision"})


def _alembic_revision(index: ProjectIndex, module: ModuleInfo) -> bool:
    """An Alembic revision (migration) script: it imports `alembic.op`, which works
    only while an Alembic command runs the script, assigns `revision` and
    `down_revision` at its top level, and no project module imports it (tests
    aside). Alembic loads it by path for one migration command and calls its
    `upgrade()` or `downgrade()` once, so an engine it builds at its top level serves
    that run (`inspect(engine).has_table(...)` in `upgrade()`)."""
    if not any(root_matches(q, "alembic.op") for q in module.imports.values()):
        return False
    assigned = {t.target.value for st in module.tree.body
                if isinstance(st, cst.SimpleStatementLine)
                for small in st.body if isinstance(small, cst.Assign)
                for t in small.targets if isinstance(t.target, cst.Name)}
    return assigned >= _REVISION_NAMES and not _project_importers(index, module)


def _standalone_script(index: ProjectIndex, module: ModuleInfo) -> bool:
    """A module no project module imports (tests aside) that runs as a script: an
    `if __name__ == "__main__":` block, or a call statement at its top level of a
    project function (`q_pandas(Q[0])`; not an assignment from one, `engine =
    get_engine()`, which sets the module up) or database work (`df.to_sql(...)`,
    `conn = engine.connect()`, also in a top-level `try` block), and that
    starts no server, consumer or scheduler and has no loop that waits (see
    `scripts_only_module`). Its module-level engine serves one run, which ends. (A module
    that only calls what it imports at its top level, `load_dotenv()`, says nothing
    of how it runs; a bare call of a project function it imports does:
    `load_rows(engine)`.)"""
    if _project_importers(index, module):
        return False
    if is_test_module(module) or _long_lived(module):
        return False
    own = {f.name for f in module.all_functions if f.parent is None and f.cls is None}
    for st in _top_level_statements(module):
        if isinstance(st, cst.If) and is_main_test(st.test):
            return True
        if not isinstance(st, cst.SimpleStatementLine):
            continue
        for small in st.body:
            value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
            called = strip_await(value)[0] if value is not None else None
            if not isinstance(called, cst.Call):
                continue
            if isinstance(called.func, cst.Attribute) and called.func.attr.value in _WORK_METHODS:
                return True
            if not isinstance(small, cst.Expr):
                continue  # `engine = get_engine()`: a module's set-up, not a run's work
            if isinstance(called.func, cst.Name) and called.func.value in own:
                return True
            with index.full_resolution():  # the same answer whatever is parsed yet
                callee = index.evaluate(called.func, module, None)
            if isinstance(callee, FunctionRef):
                return True  # `insert_to_db(engine, df, "ratings")`: the project's work
    return False


def _top_level_statements(module: ModuleInfo) -> list[cst.BaseStatement]:
    """The module's top-level statements, with those of a top-level `try` block's body
    (`try: engine.connect() except OperationalError: sys.exit(1)`: a script's work
    guarded by its handlers runs at import as much as a bare statement does)."""
    out: list[cst.BaseStatement] = []
    stack: list[cst.BaseStatement] = list(reversed(module.tree.body))
    while stack:
        st = stack.pop()
        out.append(st)
        if isinstance(st, cst.Try) and isinstance(st.body, cst.IndentedBlock):
            stack.extend(reversed(st.body.body))
    return out


def _never_read(index: ProjectIndex, module: ModuleInfo, name: str) -> bool:
    """The module-level `name` (an engine), and every top-level name made from it
    (`Session = sessionmaker(bind=engine)`, `session = Session()`), is read nowhere but
    in making those: not in a function of the module (unless as the function's own
    local), not in another top-level statement; and the module is imported by other
    project modules, each of which imports only other names from it (not the module
    object, nor `*`)."""
    derived = {name}
    makers: list[cst.Assign] = []
    changed = True
    while changed:
        changed = False
        for node in iter_nodes(module.tree):
            if not isinstance(node, cst.Assign) or node in makers:
                continue
            targets = [t.target for t in node.targets]
            reads = {n.value for n in iter_nodes(node.value, into_functions=True)
                     if isinstance(n, cst.Name)}
            if not reads & derived:
                continue
            if not all(isinstance(t, cst.Name) for t in targets):
                return False  # stored somewhere else (`app.engine = engine`)
            makers.append(node)
            derived.update(t.value for t in targets if isinstance(t, cst.Name))
            changed = True
    if "__all__" in derived:
        return False
    parents: dict[int, cst.CSTNode] = {}
    for node in iter_nodes(module.tree, into_functions=True):
        for child in children(node):
            parents[id(child)] = node
    inside_makers = {id(n) for m in makers for n in iter_nodes(m, into_functions=True)}
    for node in iter_nodes(module.tree, into_functions=True):
        if not isinstance(node, cst.Name) or node.value not in derived \
                or id(node) in inside_makers:
            continue
        up = parents.get(id(node))
        if isinstance(up, cst.Attribute) and up.attr is node:
            continue  # `db.session`: another object's attribute
        if isinstance(up, cst.Arg) and up.keyword is node:
            continue  # `f(session=...)`: a keyword
        if isinstance(up, cst.AssignTarget):
            continue  # bound, not read (the engine's own assignment)
        if not _local_of_function(module, parents, node):
            return False
    for text in _all_exports(module):
        if text in derived:
            return False
    importers = index.importers(module)
    if not importers:
        # nothing shows what the module is for (an entry point, a library's), unless it
        # is a loose file in a folder that is no package: a snippet or a script, which
        # no one imports for its names
        return _loose_file(index, module)
    for importer in importers:
        specific = False
        for qualname in [*importer.imports.values(), *importer.star_imports]:
            if _names_module(qualname, module):
                return False  # the module object, or `*`: any of its names may be read
            head, _, last = qualname.rpartition(".")
            if head and _names_module(head, module):
                if last in derived:
                    return False
                specific = True
        if not specific:
            return False  # imported in a way not read here
    return True


def _loose_file(index: ProjectIndex, module: ModuleInfo) -> bool:
    """A module in a sub-folder of the project with no `__init__.py`: not a package's
    module a library's users import, nor a top-level module (`db.py` beside the
    project's packages) that may be one. A file whose name is no Python identifier
    (an Alembic revision `40355237ae7c_tag.py`) has no dotted name at all: only a
    loader that takes its path runs it, and no one imports it for its names."""
    if module.is_package:
        return False
    if not module.names:
        return True
    if "." not in module.names[0]:
        return False
    return str(module.abspath.parent) not in index.package_dirs()


def _names_module(qualname: str, module: ModuleInfo) -> bool:
    """`qualname` is one of the module's dotted names, also under the repository's
    own name (`repo.shop.reports`)."""
    return qualname in module.names or qualname.partition(".")[2] in module.names


def _local_of_function(module: ModuleInfo, parents: dict[int, cst.CSTNode],
                       node: cst.Name) -> bool:
    """`node` is in a function where its name is a local or a parameter (not declared
    `global`): it reads the function's own value, not the module's."""
    up = parents.get(id(node))
    while up is not None:
        if isinstance(up, cst.FunctionDef):
            func = module.by_node.get(id(up))
            return func is not None and node.value not in func.globals_declared and (
                node.value in func.locals or node.value in func.all_param_names())
        if isinstance(up, cst.Lambda):
            return False
        up = parents.get(id(up))
    return False


def _all_exports(module: ModuleInfo) -> list[str]:
    out: list[str] = []
    for node in iter_nodes(module.tree):
        if isinstance(node, cst.Assign | cst.AugAssign) and any(
                isinstance(t, cst.Name) and t.value == "__all__"
                for t in ([a.target for a in node.targets] if isinstance(node, cst.Assign)
                          else [node.target])):
            for n in iter_nodes(node.value):
                if isinstance(n, cst.SimpleString):
                    out.append(n.evaluated_value if isinstance(n.evaluated_value, str) else "")
    return out


#: calls that start a server or an event loop that serves: an engine the block hands
#: to one outlives the run's work
_SERVING_CALLS = frozenset({"run", "serve_forever", "run_app", "start_polling",
                            "run_polling", "serve", "run_forever", "infinity_polling"})


def _main_block_engine(index: ProjectIndex, module: ModuleInfo, call: cst.Call,
                       name: str) -> bool:
    """An engine built in the module's `if __name__ == "__main__":` block, with no
    `while` loop and no server started there, that no function reads as a global
    and that the block only calls methods on or passes to functions keeping it local
    (`create_tables(engine)`), or to a library call (`metadata.create_all(engine)`)."""
    block = next((st for st in module.tree.body if isinstance(st, cst.If)
                  and is_main_test(st.test)
                  and any(n is call for n in iter_nodes(st.body))), None)
    if block is None:
        return False
    for node in iter_nodes(block.body):
        if isinstance(node, cst.While):
            return False
        if isinstance(node, cst.Call) and _last_name(node.func) in _SERVING_CALLS \
                and not _is_asyncio_run(node.func):
            return False
    for f in module.all_functions:
        if name not in f.all_param_names() and name not in f.locals and any(
                isinstance(n, cst.Name) and n.value == name for n in iter_nodes(f.node.body)):
            return False  # a function of the module reads the engine as a global
    uses = sum(1 for n in iter_nodes(block.body) if isinstance(n, cst.Name) and n.value == name)
    allowed = 0
    for node in iter_nodes(block.body):
        if isinstance(node, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets):
            if isinstance(node.value, cst.Name) or len(node.targets) != 1:
                return False
            allowed += 1
        elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
                and node.value.value == name:
            allowed += 1
        elif isinstance(node, cst.Call):
            for i, arg in enumerate(node.args):
                if not (isinstance(arg.value, cst.Name) and arg.value.value == name):
                    continue
                callee = index.evaluate(node.func, module, None)
                if isinstance(callee, FunctionRef) and callee.func.module is module:
                    if not _keeps_local(callee.func, i, arg):
                        return False
                elif isinstance(callee, (FunctionRef, ClassRef, Instance)):
                    return False  # a project class or function elsewhere: it may keep it
                allowed += 1
    return uses == allowed


def _main_block_object_engine(index: ProjectIndex, func: FunctionInfo,
                              call: cst.Call) -> bool:
    """`call` is `self.<attr> = create_engine(...)` in the `__init__` of a class that
    only scripts' `if __name__ == "__main__":` blocks construct: every construction
    in the project (outside the tests; at least one) is a call of the class in such
    a block, outside any loop, in a block with no `while` loop and no server started
    (a `run()` of the class itself aside), and no method of the class has a `while`
    loop. The object, and its engine, live for one run of the script."""
    cls = func.cls
    if cls is None or func.name != "__init__" or func.parent is not None:
        return False
    if not any(isinstance(st, cst.Assign) and st.value is call and len(st.targets) == 1
               and isinstance(st.targets[0].target, cst.Attribute)
               and isinstance(st.targets[0].target.value, cst.Name)
               and st.targets[0].target.value.value == "self"
               for st in iter_nodes(func.node.body)):
        return False
    if any(isinstance(n, cst.While) for m in cls.methods.values()
           for n in iter_nodes(m.node.body, into_functions=True)):
        return False
    made = 0
    for m in index.modules_mentioning([cls.name]):
        if is_test_module(m):
            continue
        parents: dict[int, cst.CSTNode] = {}
        for node in iter_nodes(m.tree, into_functions=True):
            for child in children(node):
                parents[id(child)] = node
        block = next((st for st in m.tree.body
                      if isinstance(st, cst.If) and is_main_test(st.test)), None)
        inside = {id(n) for n in iter_nodes(block.body)} if block is not None else set()
        for node in iter_nodes(m.tree, into_functions=True):
            if not (isinstance(node, cst.Name) and node.value == cls.name):
                continue
            up = parents.get(id(node))
            if isinstance(up, (cst.ClassDef, cst.ImportAlias, cst.AsName)):
                continue
            value = index.evaluate(node, m, enclosing_function(node, parents, m))
            if not (isinstance(value, ClassRef) and value.cls is cls):
                continue
            if block is None or id(node) not in inside:
                return False  # made or named elsewhere: a function, a subclass, a table
            if not (isinstance(up, cst.Call) and up.func is node) \
                    or not _runs_once(block, node, set(cls.methods)):
                return False
            made += 1
    return made > 0


def _runs_once(block: cst.If, name: cst.Name, methods: set[str]) -> bool:
    """The `__main__` block `block` has no `while` loop and starts no server (other
    than a method of the class, `methods`, whose body was checked), and `name` is in
    no loop or comprehension of it."""
    for node in iter_nodes(block.body):
        if isinstance(node, cst.While):
            return False
        if isinstance(node, cst.Call) and _last_name(node.func) in _SERVING_CALLS \
                and not _is_asyncio_run(node.func) and _last_name(node.func) not in methods:
            return False
        if isinstance(node, (cst.For, cst.ListComp, cst.SetComp, cst.DictComp,
                             cst.GeneratorExp)) and any(n is name for n in iter_nodes(node)):
            return False
    return True


def _last_name(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def _is_asyncio_run(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) \
        and expr.value.value == "asyncio" and expr.attr.value == "run"


def _keeps_local(callee: FunctionInfo, position: int, arg: cst.Arg) -> bool:
    """The project function receiving the engine uses it and keeps nothing: not a
    generator, no `while` loop, the parameter neither returned nor stored nor made
    global, nor handed on to another call of the project."""
    params = [p.name.value for p in (*callee.node.params.posonly_params,
                                     *callee.node.params.params)]
    if arg.keyword is not None:
        param = arg.keyword.value
    elif position < len(params):
        param = params[position]
    else:
        return False
    if callee.is_generator or param in callee.globals_declared:
        return False
    for node in iter_nodes(callee.node.body):
        if isinstance(node, cst.While):
            return False
        if isinstance(node, cst.Return) and node.value is not None and any(
                isinstance(n, cst.Name) and n.value == param for n in iter_nodes(node.value)):
            return False
        if isinstance(node, cst.Assign) and (
                (isinstance(node.value, cst.Name) and node.value.value == param)
                or (any(isinstance(t.target, (cst.Attribute, cst.Subscript))
                       for t in node.targets)
                and any(isinstance(n, cst.Name) and n.value == param
                        for n in iter_nodes(node.value)))):
            return False  # another name for it, or kept on an object
    return True


#: the packages of long-running servers: a module they import (through the project's
#: modules) runs in the server's process, not as a script
_SERVER_ROOTS = frozenset({"flask", "fastapi", "starlette", "django", "aiohttp", "sanic",
                           "tornado", "falcon", "quart", "litestar", "bottle", "pyramid",
                           "celery", "aiogram", "discord", "telegram"})


def _part_of_a_server(index: ProjectIndex, module: ModuleInfo) -> bool:
    """A module that a module of a web application, worker or bot imports, directly
    or through other project modules (test modules aside): its top level runs in that
    long-lived process (a package `__init__` that builds the app's engine)."""
    way, _, _ = _importers_upwards(index, module)
    return any(q.split(".", 1)[0] in _SERVER_ROOTS
               for importer in way[1:] for q in importer.imports.values())


#: how many levels of importers `_importers_upwards` follows
_IMPORT_LEVELS = 6


def _importers_upwards(index: ProjectIndex, module: ModuleInfo
                       ) -> tuple[list[ModuleInfo], list[ModuleInfo], bool]:
    """The project modules that import `module`, directly or through other project
    modules (test modules aside), up to `_IMPORT_LEVELS` levels: (`module` and them,
    in the order found; the ones no project module imports, `module` aside; whether
    the walk ended before the last level)."""
    seen = {id(module)}
    frontier = [module]
    way = [module]
    tops: list[ModuleInfo] = []
    for _ in range(_IMPORT_LEVELS):
        nxt: list[ModuleInfo] = []
        for m in frontier:
            importers = _project_importers(index, m)
            if not importers and m is not module:
                tops.append(m)
            for importer in importers:
                if id(importer) not in seen:
                    seen.add(id(importer))
                    way.append(importer)
                    nxt.append(importer)
        frontier = nxt
    return way, tops, not frontier


#: packages whose import makes a process long-lived beyond the servers: a UI server
#: that keeps imported modules between reruns, schedulers, consumers and sockets
_LONG_LIVED_ROOTS = _SERVER_ROOTS | frozenset({
    "streamlit", "dash", "gradio", "panel", "uvicorn", "gunicorn", "hypercorn", "waitress",
    "schedule", "apscheduler", "rq", "dramatiq", "huey", "arq", "pika", "aio_pika", "kafka",
    "aiokafka", "confluent_kafka", "nats", "paho", "zmq", "websockets", "socketio", "grpc",
    "twisted", "telebot", "pyrogram", "telethon", "slack_bolt", "nicegui", "socketserver",
    "gevent", "eventlet",
    # desktop and terminal UI toolkits: their event loop keeps the window (and the
    # engine its handlers use) open until the user closes it
    "flet", "tkinter", "customtkinter", "PyQt5", "PyQt6", "PySide2", "PySide6", "kivy",
    "wx", "toga", "textual"})
#: standard-library servers, named by their module
_SERVER_MODULES = ("http.server", "xmlrpc.server", "wsgiref.simple_server")

#: calls that keep a process serving or polling
_FOREVER_CALLS = _SERVING_CALLS | frozenset({
    "loop_forever", "start_consuming", "run_until_disconnected", "polling", "idle",
    "run_server"})


def scripts_only_module(index: ProjectIndex, module: ModuleInfo) -> bool:
    """The module is imported, directly or through other project modules (tests
    aside), only by scripts: every module on the way starts no server, consumer or
    scheduler (imports none of `_LONG_LIVED_ROOTS`, calls none of `_FOREVER_CALLS`),
    registers no handler on an object it builds (`@app.route`), and
    has no loop that waits (`while True`, a `while` that sleeps), and every module at
    the top of the way, one no project module imports, runs as a script (an `if
    __name__ == "__main__":` block or a call at its top level, or an Alembic
    script). Its module-level engine serves one run of one of those scripts, which
    ends: no connection waits idle long enough to go stale. A module nobody imports
    is not judged here (it may be an application, or a library's module)."""
    way, tops, complete = _importers_upwards(index, module)
    if not complete or not tops:
        return False  # deeper than followed, or imported by nothing (not judged here)
    if any(_long_lived(m) for m in way):
        return False
    return all(_runs_as_script(m) for m in tops)


#: decorators of a module-level object that make a command line, not a handler
_CLI_DECORATORS = frozenset({"command", "group", "callback", "option", "argument",
                             "result_callback"})


def _long_lived(module: ModuleInfo) -> bool:
    if any(q.split(".", 1)[0] in _LONG_LIVED_ROOTS or q.startswith(_SERVER_MODULES)
           for q in module.imports.values()):
        return True
    if _registers_handlers(module):
        return True
    for node in iter_nodes(module.tree, into_functions=True):
        if isinstance(node, cst.Call) and _last_name(node.func) in _FOREVER_CALLS \
                and not _is_asyncio_run(node.func):
            return True
        if isinstance(node, cst.While) and (_always_true(node.test) or any(
                isinstance(n, cst.Call) and (_last_name(n.func) or "").endswith("sleep")
                for n in iter_nodes(node.body))):
            return True
    return False


def _registers_handlers(module: ModuleInfo) -> bool:
    """A function decorated by a method of a module-level object the module builds
    (`app = func.FunctionApp()` ... `@app.route(...)`, `bp = Blueprint()` ...
    `@bp.timer_trigger(...)`): a handler some host process calls, request after
    request (a click group's `@cli.command()` aside)."""
    built = {t.target.value for st in module.tree.body if isinstance(st, cst.SimpleStatementLine)
             for small in st.body if isinstance(small, cst.Assign)
             and isinstance(strip_await(small.value)[0], cst.Call)
             for t in small.targets if isinstance(t.target, cst.Name)}
    for func in module.all_functions:
        for deco in func.node.decorators:
            expr = deco.decorator.func if isinstance(deco.decorator, cst.Call) \
                else deco.decorator
            if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) \
                    and expr.value.value in built and expr.attr.value not in _CLI_DECORATORS:
                return True
    return False


#: what a connect-retry loop tries before it leaves (`conn = engine.connect()`, `break`)
_CONNECT_CALLS = frozenset({"connect", "raw_connection", "begin"})


def connect_retry(loop: cst.While) -> bool:
    """A `while` loop that only waits for the database to come up: its body is a
    `try:` (next to simple statements such as `time.sleep(1)` or a counter) whose body
    only connects (`conn = engine.connect()`) and then `break`s, with no loop inside
    and no `else:`. It runs until the first connect succeeds, then the function goes on
    once: no worker loop that keeps an engine's pool waiting between rounds."""
    if loop.orelse is not None:
        return False
    body = body_statements(loop.body)
    tries = [st for st in body if isinstance(st, cst.Try)]
    if len(tries) != 1 or any(not isinstance(st, (cst.Try, cst.SimpleStatementLine))
                              for st in body):
        return False
    attempt = body_statements(tries[0].body)
    if len(attempt) > 2 or (len(attempt) == 2 and not isinstance(
            attempt[0], cst.SimpleStatementLine)):
        return False  # only the connect and the `break`: nothing else fails in there
    last = attempt[-1] if attempt else None
    if not (isinstance(last, cst.SimpleStatementLine)
            and isinstance(last.body[-1], cst.Break)):
        return False
    if any(isinstance(n, (cst.For, cst.While)) for n in iter_nodes(tries[0])):
        return False
    return any(isinstance(n, cst.Call) and _last_name(n.func) in _CONNECT_CALLS
               for st in attempt for n in iter_nodes(st))


def _always_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value == "True"
    return isinstance(test, cst.Integer) and test.evaluated_value != 0


def _runs_as_script(module: ModuleInfo) -> bool:
    """`if __name__ == "__main__":`, a call statement at the top level, or an Alembic
    environment or migration script."""
    if any(q.split(".", 1)[0] == "alembic" for q in module.imports.values()):
        return True
    for st in module.tree.body:
        if isinstance(st, cst.If) and is_main_test(st.test):
            return True
        if isinstance(st, cst.SimpleStatementLine) and any(
                isinstance(small, cst.Expr) and isinstance(strip_await(small.value)[0], cst.Call)
                for small in st.body):
            return True
    return False


#: methods whose call at a module's top level is database work done at import time
_WORK_METHODS = frozenset({"connect", "begin", "execute", "commit", "add", "create_all",
                           "raw_connection", "exec_driver_sql",
                           # pandas on an engine: `df.to_sql(..., con=engine)`,
                           # `pd.read_sql(query, engine)`
                           "to_sql", "read_sql", "read_sql_query", "read_sql_table"})


def _flat_script(module: ModuleInfo) -> bool:
    """A module with no function or class that does database work at its top level
    (`with engine.connect() as conn: ...`, `db.commit()`, pandas' `df.to_sql(...)`): a
    script, run once."""
    if module.all_functions or module.classes:
        return False
    return any(isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
               and node.func.attr.value in _WORK_METHODS
               for node in iter_nodes(module.tree))


#: what a function may call on an engine that stays its own for the call
_ENGINE_USES = frozenset({"connect", "begin", "execute", "raw_connection", "dispose"})


#: calls that check a connection out of the engine they are handed and give it back
#: before they return, keeping no reference to the engine: SQLAlchemy's schema
#: operations (`metadata.create_all(engine)`) and pandas' readers and writers
#: (`pd.read_sql(query, engine)`, `df.to_sql(name, con=engine)`)
_BORROWING_CALLS = frozenset({"create_all", "drop_all", "reflect", "read_sql",
                              "read_sql_query", "read_sql_table", "to_sql"})
#: the keywords those calls take the engine by
_BORROWING_KEYWORDS = frozenset({"bind", "con"})


def _borrows(call: cst.Call, name: str) -> bool:
    """`call` hands the engine bound to `name` to a call that only borrows a
    connection from it (`_BORROWING_CALLS`)."""
    callee = call.func.attr.value if isinstance(call.func, cst.Attribute) else (
        call.func.value if isinstance(call.func, cst.Name) else None)
    return callee in _BORROWING_CALLS and any(
        isinstance(a.value, cst.Name) and a.value.value == name and not a.star
        and (a.keyword is None or a.keyword.value in _BORROWING_KEYWORDS)
        for a in call.args)


def _inspected(node: cst.BaseExpression, name: str) -> bool:
    """`node` is SQLAlchemy's `inspect(name)`, here read at once
    (`inspect(engine).get_table_names()`): the Inspector is dropped with its engine."""
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value == "inspect" and len(node.args) == 1
            and node.args[0].keyword is None and isinstance(node.args[0].value, cst.Name)
            and node.args[0].value.value == name)


def _call_scoped(func: FunctionInfo, scope: cst.CSTNode, name: str) -> bool:
    """The engine bound to the local `name` is only a receiver of its own checkouts
    (`name.connect()`, `name.begin()`), in a function with no `while` loop that
    keeps no other reference to it (not passed, returned, stored, yielded, nor read
    by a nested function): it is garbage when the call returns, and its pool keeps no
    connection waiting idle for a later call (a bootstrap engine that runs `CREATE
    DATABASE` before the constructor builds the engine it keeps). Reading what the
    engine was built with (`engine.url.database`, `engine.dialect.name`) is no
    checkout: an engine only so read never connects."""
    if name in func.globals_declared or func.is_generator:
        return False
    for node in iter_nodes(func.node.body, into_functions=True):
        if isinstance(node, cst.While) and not connect_retry(node):
            return False
        if isinstance(node, (cst.FunctionDef, cst.Lambda)) and any(
                isinstance(n, cst.Name) and n.value == name for n in iter_nodes(node)):
            return False
    # `self.engine`'s attribute and `f(engine=...)`'s keyword are no uses of the name
    labels = {id(n.attr) for n in iter_nodes(scope) if isinstance(n, cst.Attribute)} | {
        id(n.keyword) for n in iter_nodes(scope) if isinstance(n, cst.Arg) and n.keyword}
    uses = sum(1 for n in iter_nodes(scope)
               if isinstance(n, cst.Name) and n.value == name and id(n) not in labels)
    allowed = 1  # the assignment's own target
    for node in iter_nodes(scope):
        f = node.func if isinstance(node, cst.Call) else None
        if (isinstance(node, cst.Call) and _borrows(node, name)) or (
                isinstance(node, cst.Attribute) and _inspected(node.value, name)):
            allowed += 1
            continue
        if isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name) \
                and f.value.value == name and f.attr.value in _ENGINE_USES:
            allowed += 1
        elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
                and node.value.value == name and node.attr.value in ENGINE_OFFLINE_ATTRIBUTES:
            allowed += 1  # `engine.url.database`: parsed at build time, no checkout
    return uses == allowed


def _assigned_name(scope: cst.CSTNode, call: cst.Call) -> str | None:
    for node in iter_nodes(scope):
        if isinstance(node, cst.Assign) and strip_await(node.value)[0] is call:
            names = [t.target.value for t in node.targets if isinstance(t.target, cst.Name)]
            return names[0] if len(names) == 1 and len(node.targets) == 1 else None
    return None


def _one_shot_local(index: ProjectIndex, func: FunctionInfo, scope: cst.CSTNode,
                    name: str) -> bool:
    if name in func.globals_declared or func.is_generator:
        return False
    for node in iter_nodes(scope):
        if isinstance(node, cst.While) and not connect_retry(node):
            return False
        if isinstance(node, cst.Return) and node.value is not None and any(
                isinstance(n, cst.Name) and n.value == name for n in iter_nodes(node.value)):
            return False
        if isinstance(node, cst.Assign) and any(
                isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in node.targets) and (
                isinstance(node.value, cst.Name) and node.value.value == name):
            return False
        if isinstance(node, cst.Call) and _handed_to_keeper(index, func, node, name):
            return False
    return is_cli_entry(index, func)


def _result_leaves(func: FunctionInfo, call: cst.Call) -> bool:
    """What `call` returns leaves `func`: returned (`return make_session(engine)`),
    stored on an object (`self.session = make_session(engine)`), or bound to a local
    that is returned or stored so: what it made from the engine keeps the engine."""
    local: str | None = None
    for n in iter_nodes(func.node.body):
        if isinstance(n, cst.Return) and n.value is call:
            return True
        if isinstance(n, cst.Assign) and n.value is call:
            if any(isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in n.targets):
                return True
            names = [t.target.value for t in n.targets if isinstance(t.target, cst.Name)]
            local = names[0] if len(names) == 1 else None
    if local is None:
        return False
    return any(
        (isinstance(n, cst.Return) and isinstance(n.value, cst.Name) and n.value.value == local)
        or (isinstance(n, cst.Assign) and isinstance(n.value, cst.Name)
            and n.value.value == local
            and any(isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in n.targets))
        for n in iter_nodes(func.node.body))


def _handed_to_keeper(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                      name: str) -> bool:
    """`call` hands the engine in `name` to a call whose result leaves the function
    (`_result_leaves`), or to a project function or method that may keep
    it (`N6DataBackendAPI.configure_db_session(engine)`, which binds a module-level
    `scoped_session` to it: the engine then outlives the one-shot call, for the whole
    of a long-running process). A project callee that uses it and keeps nothing
    (`_keeps_local`) does not count; a project class built with it may keep it."""
    for i, arg in enumerate(call.args):
        if not (isinstance(arg.value, cst.Name) and arg.value.value == name) or arg.star:
            continue
        if _result_leaves(func, call):
            return True  # `session = configure_session(engine)` ... `return session`
        callee = index.evaluate(call.func, func.module, func)
        if isinstance(callee, ClassRef):
            return True
        if not isinstance(callee, FunctionRef):
            continue
        target = callee.func
        position = i
        params = [*target.node.params.posonly_params, *target.node.params.params]
        if target.cls is not None and isinstance(call.func, cst.Attribute) and params \
                and params[0].name.value in ("self", "cls") \
                and not any(isinstance(d.decorator, cst.Name)
                            and d.decorator.value == "staticmethod"
                            for d in target.node.decorators):
            position += 1  # the receiver fills `self` / `cls`
        if not _keeps_local(target, position, arg):
            return True
    return False

"""Every connection pool of a project with its settings, evaluated per environment:
SQLAlchemy engines (`create_engine` calls and Flask-SQLAlchemy configuration, from
`analysis.engines`), psycopg2 pools, psycopg_pool, asyncpg and aiomysql pools, and
Django's `DATABASES` entries (a psycopg pool with `OPTIONS["pool"]`, else one
connection per thread).

A setting is followed through constants and settings modules (`resolution.resolve`),
and an environment lookup (`os.getenv("POOL_SIZE", "10")`, `os.environ["X"]`) takes
the value an environment's `.env` files give, else its default. What cannot be
read is unknown, with the reason.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import libcst as cst

from poolsafe.analysis.config_values import Count, known, parse_int, unknown
from poolsafe.analysis.cstutil import keyword_arg, positional_args, string_value
from poolsafe.analysis.engines import EngineSite, engine_sites, holds_no_server_slot, is_non_pooling
from poolsafe.analysis.flask_config_use import configures_nothing
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.analysis.resolution import (
    Bound,
    Options,
    call_options,
    external_name,
    inventory,
    may_call,
    qual_match,
    resolve,
)
from poolsafe.core.positions import spans
from poolsafe.knowledge.capacity import (
    DJANGO_ENGINES,
    DJANGO_POOL_DEFAULT_MIN,
    POOL_CONSTRUCTORS,
    SQLALCHEMY_DEFAULT_MAX_OVERFLOW,
    SQLALCHEMY_DEFAULT_POOL_SIZE,
    PoolConstructor,
)
from poolsafe.knowledge.frameworks import ENGINE_CONSTRUCTORS, ENV_LOOKUPS

#: words a module must spell to hold a pool (the lazy index parses only those)
POOL_WORDS = sorted({tail.rsplit(".", 1)[-1] for _, tail in ENGINE_CONSTRUCTORS}
                    | {c.tail.rsplit(".", 1)[-1] for c in POOL_CONSTRUCTORS}
                    | {"SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "engine_options",
                       "DATABASES"})


@dataclass
class PoolSite:
    module: ModuleInfo
    #: where findings about the pool are reported (the call, or the config)
    anchor: cst.CSTNode
    line: int
    library: str
    label: str
    #: the URL / DSN expression, when there is one
    url: Bound | None
    #: keyword arguments (SQLAlchemy options, pool constructor keywords)
    options: Options
    #: the dialect known without an environment (the URL's scheme, declared drivers)
    dialect: str | None
    #: SQLAlchemy engine site, or the other pool's constructor
    engine: EngineSite | None = None
    constructor: PoolConstructor | None = None
    call: cst.Call | None = None
    #: keeps no idle connections (NullPool): one connection per checkout
    non_pooling: bool = False

    @property
    def where(self) -> str:
        return f"{self.module.path}:{self.line}"


@dataclass(frozen=True)
class PoolSize:
    """The most connections one copy of the pool opens, and how it is made up."""

    #: persistent size and overflow (SQLAlchemy); for other pools base is the max
    base: Count
    overflow: Count | None
    #: the minimum size of a pool that has one (psycopg2, psycopg_pool, asyncpg)
    minimum: Count | None = None
    #: one connection per thread of the process (Django without a pool)
    per_thread: bool = False

    @property
    def total(self) -> int:
        return self.base.used + (self.overflow.used if self.overflow is not None else 0)

    @property
    def known(self) -> bool:
        return self.base.known and (self.overflow is None or self.overflow.known)

    def formula(self) -> str:
        if self.overflow is None:
            return str(self.base.used)
        return f"({self.base.used} + {self.overflow.used})"


@dataclass(frozen=True)
class Target:
    """Where a pool connects, in one environment."""

    dialect: str | None
    host: str | None
    port: int | None
    #: query parameters of the URL (`?prepare_threshold=0`)
    query: dict[str, str]
    url_known: bool


_SITES: weakref.WeakKeyDictionary[ProjectIndex, list[PoolSite]] = weakref.WeakKeyDictionary()


def project_pools(index: ProjectIndex) -> list[PoolSite]:
    """Every pool of the project outside its tests, in module order (computed once)."""
    found = _SITES.get(index)
    if found is None:
        found = []
        for module in index.pool_candidates(POOL_WORDS):
            if not is_test_module(module):
                found.extend(module_pools(index, module))
        _SITES[index] = found
    return found


def module_pools(index: ProjectIndex, module: ModuleInfo,
                 lines: bool = True) -> list[PoolSite]:
    """The pools of `module`; without `lines`, their `line` is left 0 (see
    `set_lines`: finding it prints the whole module)."""
    out: list[PoolSite] = []
    for site in engine_sites(index, module):
        if site.anchor is None or holds_no_server_slot(site.dialect):
            continue
        if site.from_config and site.call is not None:
            continue  # SQLAlchemy(engine_options=...): options for the config's engine
        if configures_nothing(index, module, site) is not None:
            continue  # `SQLALCHEMY_DATABASE_URI` that no Flask-SQLAlchemy reads: no pool
        options = site.options or Options(open=True)
        url = None
        if site.call is not None and not site.from_config:
            args = positional_args(site.call)
            expr = args[0] if args else keyword_arg(site.call, "url")
            func = _func_of(module, site.call)
            url = Bound(expr, module, func) if expr is not None else None
        else:
            url = _config_uri(index, module, site)
        out.append(PoolSite(module, site.anchor, 0, "sqlalchemy", site.label, url, options,
                            site.dialect, engine=site, call=site.call,
                            non_pooling=is_non_pooling(index, options)))
    names = {c.tail.rsplit(".", 1)[-1] for c in POOL_CONSTRUCTORS}
    for call, func in inventory(module).calls:
        if not may_call(call, names, module, func):
            continue
        qual = external_name(index, call.func, module, func)
        if qual is None:
            continue
        ctor = next((c for c in POOL_CONSTRUCTORS if qual_match(qual, [(c.root, c.tail)])), None)
        if ctor is None:
            continue
        args = positional_args(call)
        dsn = keyword_arg(call, ctor.dsn_keyword) if ctor.dsn_keyword else None
        if dsn is None and ctor.dsn_position is not None and len(args) > ctor.dsn_position:
            dsn = args[ctor.dsn_position]
        short = ctor.tail.rsplit(".", 1)[-1]
        out.append(PoolSite(module, call, 0, ctor.library, f"`{short}()`",
                            Bound(dsn, module, func) if dsn is not None else None,
                            call_options(index, call, module, func), ctor.dialect,
                            constructor=ctor, call=call))
    out.extend(django_pools(index, module))
    if lines:
        set_lines(module, out)
    return out


def set_lines(module: ModuleInfo, pools: list[PoolSite]) -> None:
    """Give each of `module`'s `pools` the line of its anchor."""
    if pools:
        where = spans(module.tree, [p.anchor for p in pools])
        for p in pools:
            span = where.get(id(p.anchor))
            p.line = span.start_line if span is not None else 0


def django_pools(index: ProjectIndex, module: ModuleInfo) -> list[PoolSite]:
    """`DATABASES = {"default": {"ENGINE": ..., "HOST": ..., "OPTIONS": {"pool": ...}}}`
    at a module's top level: one pool site per alias on a server database. The keys
    of the alias (HOST, PORT, NAME, OPTIONS' `pool`, CONN_MAX_AGE,
    CONN_HEALTH_CHECKS) are its options."""
    from poolsafe.analysis.resolution import mapping_options

    out: list[PoolSite] = []
    for stmt in module.tree.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, cst.Assign) or not isinstance(small.value, cst.Dict) \
                    or not any(isinstance(t.target, cst.Name) and t.target.value == "DATABASES"
                               for t in small.targets):
                continue
            for el in small.value.elements:
                if not isinstance(el, cst.DictElement):
                    continue
                alias = string_value(el.key)
                entry = mapping_options(index, el.value, module, None)
                if alias is None or entry is None or "ENGINE" not in entry.values:
                    continue
                engine = setting_str(index, entry.values["ENGINE"], {})
                dialect = DJANGO_ENGINES.get(engine or "")
                if dialect is None or holds_no_server_slot(dialect):
                    continue
                options = Options(dict(entry.values), open=entry.open)
                inner = entry.values.get("OPTIONS")
                opts = mapping_options(index, inner.expr, inner.module, inner.func) \
                    if inner is not None else None
                if opts is not None and "pool" in opts.values:
                    options.values["pool"] = opts.values["pool"]
                out.append(PoolSite(module, el, 0, "django",
                                    f"Django `DATABASES[{alias!r}]`", None, options, dialect))
    return out


def _func_of(module: ModuleInfo, call: cst.Call) -> FunctionInfo | None:
    for c, func in module.calls:
        if c is call:
            return func
    return None


def _config_uri(index: ProjectIndex, module: ModuleInfo, site: EngineSite) -> Bound | None:
    from poolsafe.analysis.engines import flask_config_units

    for unit in flask_config_units(index, module):
        if unit.uri is None:
            continue
        if unit.options is not None and unit.options.expr is site.anchor:
            return unit.uri
        if unit.uri.expr is site.anchor:
            return unit.uri
    return None


# ------------------------------------------------------------ values per env
def setting_int(index: ProjectIndex, b: Bound, env: Mapping[str, str], depth: int = 0) -> Count:
    where = f"{b.module.path}"
    if depth > 12:
        return unknown(f"{where}: too deeply nested")
    r = resolve(index, b.expr, b.module, b.func)
    node = r.expr
    if isinstance(node, cst.Integer):
        return known(int(node.evaluated_value), where)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = setting_int(index, Bound(node.expression, r.module, r.func), env, depth + 1)
        return known(-inner.used, inner.source) if inner.known else inner
    text = string_value(node)
    if text is not None:
        n = parse_int(text)
        return known(n, where) if n is not None else unknown(f"{where}: {text!r} is not a number")
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Name) and node.func.value == "int":
            args = positional_args(node)
            if args:
                return setting_int(index, Bound(args[0], r.module, r.func), env, depth + 1)
        lookup = _env_lookup(index, node, r)
        if lookup is not None:
            name, default = lookup
            if name is not None and name in env:
                n = parse_int(env[name])
                return known(n, f"${name}") if n is not None else unknown(
                    f"${name}={env[name]!r} is not a number")
            if default is not None:
                found = setting_int(index, default, env, depth + 1)
                if found.known and name is not None:
                    return known(found.used, f"${name} default")
                return found
            return unknown(f"${name or '?'} is not set in the repository")
    if isinstance(node, cst.Subscript):
        name = _environ_key(index, node, r)
        if name is not None:
            if name in env:
                n = parse_int(env[name])
                if n is not None:
                    return known(n, f"${name}")
            return unknown(f"${name} is not set in the repository")
    code = r.module.tree.code_for_node(node)
    return unknown(f"`{code[:40]}` is not a constant")


def setting_str(index: ProjectIndex, b: Bound, env: Mapping[str, str],
                depth: int = 0) -> str | None:
    """The text of a string setting in an environment (None: not known); an unknown
    part of an f-string becomes `{?}`."""
    if depth > 12:
        return None
    r = resolve(index, b.expr, b.module, b.func)
    node = r.expr
    text = string_value(node)
    if text is not None:
        return text
    if isinstance(node, cst.FormattedString):
        out = ""
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out += part.value
            elif isinstance(part, cst.FormattedStringExpression):
                inner = setting_str(index, Bound(part.expression, r.module, r.func), env,
                                    depth + 1)
                if inner is None:
                    n = setting_int(index, Bound(part.expression, r.module, r.func), env,
                                    depth + 1)
                    inner = str(n.value) if n.known else "{?}"
                out += inner
        return out
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = setting_str(index, Bound(node.left, r.module, r.func), env, depth + 1)
        right = setting_str(index, Bound(node.right, r.module, r.func), env, depth + 1)
        if left is None:
            return None
        return left + (right if right is not None else "{?}")
    if isinstance(node, cst.Integer):
        return node.value
    if isinstance(node, cst.Call):
        lookup = _env_lookup(index, node, r)
        if lookup is not None:
            name, default = lookup
            if name is not None and name in env:
                return env[name]
            if default is not None:
                return setting_str(index, default, env, depth + 1)
            return None
        if isinstance(node.func, cst.Name) and node.func.value == "str":
            args = positional_args(node)
            if args:
                return setting_str(index, Bound(args[0], r.module, r.func), env, depth + 1)
    if isinstance(node, cst.Subscript):
        name = _environ_key(index, node, r)
        if name is not None and name in env:
            return env[name]
    return None


def _env_lookup(index: ProjectIndex, call: cst.Call,
                where: Bound) -> tuple[str | None, Bound | None] | None:
    qual = external_name(index, call.func, where.module, where.func)
    if qual is None or not qual_match(qual, ENV_LOOKUPS):
        return None
    args = positional_args(call)
    name = string_value(args[0]) if args else None
    default = args[1] if len(args) > 1 else keyword_arg(call, "default")
    return name, (Bound(default, where.module, where.func) if default is not None else None)


def _environ_key(index: ProjectIndex, node: cst.Subscript, where: Bound) -> str | None:
    qual = external_name(index, node.value, where.module, where.func)
    if qual != "os.environ" or len(node.slice) != 1:
        return None
    sl = node.slice[0].slice
    return string_value(sl.value) if isinstance(sl, cst.Index) else None


def pool_size(index: ProjectIndex, pool: PoolSite, env: Mapping[str, str]) -> PoolSize:
    values = pool.options.values
    if pool.library == "django":
        return _django_size(index, pool, env)
    if pool.constructor is None:
        size_b, over_b = values.get("pool_size"), values.get("max_overflow")
        size = setting_int(index, size_b, env) if size_b is not None else (
            unknown("`pool_size` may be set by `**options` that cannot be read")
            if pool.options.open else known(SQLALCHEMY_DEFAULT_POOL_SIZE,
                                            "SQLAlchemy's default pool_size (5)"))
        over = setting_int(index, over_b, env) if over_b is not None else (
            unknown("`max_overflow` may be set by `**options` that cannot be read")
            if pool.options.open else known(SQLALCHEMY_DEFAULT_MAX_OVERFLOW,
                                            "SQLAlchemy's default max_overflow (10)"))
        return PoolSize(size, over)
    ctor = pool.constructor
    args = positional_args(pool.call) if pool.call is not None else []

    def argument(keyword: str, position: int | None) -> Bound | None:
        found = values.get(keyword)
        if found is None and position is not None and len(args) > position:
            found = Bound(args[position], pool.module, None)
        return found

    min_b = argument(ctor.min_keyword, ctor.min_position)
    minimum = setting_int(index, min_b, env) if min_b is not None else (
        known(ctor.default_min, f"{ctor.library}'s default {ctor.min_keyword} "
                                f"({ctor.default_min})") if ctor.default_min is not None
        else None)
    max_b = argument(ctor.max_keyword, ctor.max_position)
    if max_b is not None:
        return PoolSize(setting_int(index, max_b, env), None, minimum)
    if ctor.default_max is not None:
        return PoolSize(known(ctor.default_max, f"{ctor.library}'s default "
                                                f"{ctor.max_keyword} ({ctor.default_max})"),
                        None, minimum)
    if minimum is not None:
        return PoolSize(Count(minimum.value, f"{ctor.max_keyword} defaults to "
                                             f"{ctor.min_keyword}: {minimum.source}"), None,
                        minimum)
    return PoolSize(unknown(f"{ctor.library}: the maximum size is not given"), None)


#: the size of a Django alias without a pool, as the report states it
_DJANGO_PER_THREAD = ("Django without a pool opens one connection per thread: a sync "
                      "worker's default of one thread assumed (more with gunicorn "
                      "--threads or a thread pool)")


def _django_size(index: ProjectIndex, pool: PoolSite, env: Mapping[str, str]) -> PoolSize:
    """A Django alias: its psycopg pool's `max_size` (its `min_size`, 4 by default,
    when no maximum is given), else one connection per thread of the process."""
    b = pool.options.values.get("pool")
    if b is None:
        return PoolSize(known(1, _DJANGO_PER_THREAD), None, per_thread=True)
    r = resolve(index, b.expr, b.module, b.func)
    if isinstance(r.expr, cst.Name) and r.expr.value == "True":
        return PoolSize(known(DJANGO_POOL_DEFAULT_MIN, "Django's psycopg pool (`\"pool\": "
                                                       "True`): psycopg_pool's default "
                                                       "min_size (4), max_size defaults to it"),
                        None)
    if isinstance(r.expr, cst.Name) and r.expr.value in ("False", "None"):
        return PoolSize(known(1, _DJANGO_PER_THREAD), None, per_thread=True)
    from poolsafe.analysis.resolution import mapping_options

    sizes = mapping_options(index, r.expr, r.module, r.func)
    if sizes is None:
        return PoolSize(unknown("Django `OPTIONS[\"pool\"]` cannot be read"), None)
    minimum = setting_int(index, sizes.values["min_size"], env) \
        if "min_size" in sizes.values else known(
            DJANGO_POOL_DEFAULT_MIN, "psycopg_pool's default min_size (4)")
    if "max_size" in sizes.values:
        return PoolSize(setting_int(index, sizes.values["max_size"], env), None, minimum)
    return PoolSize(Count(minimum.value, f"max_size defaults to min_size: {minimum.source}"),
                    None, minimum)


def target(index: ProjectIndex, pool: PoolSite, env: Mapping[str, str]) -> Target:
    if pool.library == "django":
        return _django_target(index, pool, env)
    text = setting_str(index, pool.url, env) if pool.url is not None else None
    if text is None:
        return Target(pool.dialect, None, None, {}, False)
    return parse_target(text, pool.dialect)


def _django_target(index: ProjectIndex, pool: PoolSite, env: Mapping[str, str]) -> Target:
    """HOST and PORT of a Django alias (an empty or missing HOST is the local socket)."""
    values = pool.options.values
    host = setting_str(index, values["HOST"], env) if "HOST" in values else ""
    if host is None or "{?}" in host:
        return Target(pool.dialect, None, None, {}, False)
    port = setting_int(index, values["PORT"], env) if "PORT" in values else None
    if port is not None and not port.known:
        text = setting_str(index, values["PORT"], env)
        port = known(int(text), "") if text and text.isdigit() else None
    return Target(pool.dialect, host or "localhost",
                  port.value if port is not None and port.known else None, {}, True)


def parse_target(text: str, dialect: str | None) -> Target:
    """Dialect, host, port and query parameters of a URL or a libpq `key=value` DSN."""
    if "://" in text:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            return Target(dialect, None, None, {}, False)
        scheme = parts.scheme.split("+", 1)[0].lower()
        if scheme in ("postgres", "postgresql"):
            scheme = "postgresql"
        elif scheme == "mariadb":
            scheme = "mysql"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        # an unknown part is spelled `{?}`, whose `?` urlsplit takes for the query's
        # start: a netloc with a `{` has an unknown host
        unread = "{" in (parts.netloc or "{")
        host = unquote(parts.hostname) if parts.hostname and not unread else None
        if unread:
            query = {}
        if host is None and "host" in query:
            host = query["host"]
        return Target(scheme or dialect, host, port, query, not unread)
    pairs: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep:
            pairs[key.strip()] = value.strip().strip("'")
    if not pairs:
        return Target(dialect, None, None, {}, False)
    port = parse_int(pairs.get("port"))
    return Target(dialect, pairs.get("host"), port, pairs, "host" in pairs)


# ------------------------------------------------------------ other settings
def option_text(index: ProjectIndex, pool: PoolSite, key: str,
                env: Mapping[str, str]) -> str | None:
    """A keyword's value as the report shows it (a number, a string, else the code)."""
    b = pool.options.values.get(key)
    if b is None:
        return None
    n = setting_int(index, b, env)
    if n.known:
        return str(n.value)
    text = setting_str(index, b, env)
    if text is not None:
        return text
    r = resolve(index, b.expr, b.module, b.func)
    return r.module.tree.code_for_node(r.expr)[:40]


def connect_settings(index: ProjectIndex, pool: PoolSite, env: Mapping[str, str],
                     where: Target) -> dict[str, str]:
    """`connect_timeout` and `statement_timeout`, wherever the pool sets them: the
    DSN's query (`?connect_timeout=10&options=-c statement_timeout=5000`),
    `connect_args={...}` (SQLAlchemy), server settings and keywords of the pool."""
    from poolsafe.analysis.resolution import mapping_options

    out: dict[str, str] = {}
    query = where.query
    for key in ("connect_timeout", "statement_timeout", "read_timeout"):
        if key in query:
            out[key] = query[key]
    _options_text(query.get("options", ""), out)
    if pool.library in ("psycopg2", "aiomysql"):
        for key in ("connect_timeout", "read_timeout"):
            text = option_text(index, pool, key, env)
            if text is not None:
                out[key] = text
        _options_text(option_text(index, pool, "options", env) or "", out)
    holders = [pool.options.values.get(k) for k in ("connect_args", "server_settings", "kwargs")]
    for b in holders:
        if b is None:
            continue
        args = mapping_options(index, b.expr, b.module, b.func)
        if args is None:
            out.setdefault("open", "yes")
        else:
            inner = PoolSite(pool.module, pool.anchor, pool.line, pool.library, pool.label,
                             None, args, pool.dialect)
            for key in ("connect_timeout", "statement_timeout", "timeout", "command_timeout",
                        "read_timeout"):
                text = option_text(index, inner, key, env)
                if text is not None:
                    out["connect_timeout" if key == "timeout" else key] = text
            opts = option_text(index, inner, "options", env)
            if opts is not None:
                _options_text(opts, out)
            if args.open:
                out.setdefault("open", "yes")
            init = option_text(index, inner, "init_command", env)
            if init is not None and "max_execution_time" in init:
                out["statement_timeout"] = init
    for key, name in (("timeout", "connect_timeout"), ("command_timeout", "statement_timeout")):
        if pool.library == "asyncpg":
            text = option_text(index, pool, key, env)
            if text is not None:
                out[name] = text
    return out


def _options_text(options: str, out: dict[str, str]) -> None:
    """`-c statement_timeout=5000 -c lock_timeout=1000` (libpq's `options`)."""
    for token in options.replace("-c", " ").split():
        key, sep, value = token.partition("=")
        if sep and key.strip() == "statement_timeout":
            out["statement_timeout"] = value.strip()

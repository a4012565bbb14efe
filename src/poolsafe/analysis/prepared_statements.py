"""Connections that cache prepared statements (PS210): asyncpg (its statement
cache), SQLAlchemy's asyncpg dialect (its own prepared-statement cache) and
psycopg 3 (`prepare_threshold`), with the argument that turns each off, and
whether a call sets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import keyword_arg, positional_args, string_value
from poolsafe.analysis.engines import engine_sites
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.pgbouncer import Bouncer, behind_pgbouncer
from poolsafe.analysis.resolution import (
    Bound,
    Options,
    call_options,
    external_name,
    int_value,
    inventory,
    mapping_options,
    may_call,
    qual_match,
    resolve,
    string_prefix,
)

#: (root, tail) of calls that open asyncpg / psycopg 3 connections or pools, the
#: keyword that holds connection arguments (None: the call's own keywords), the
#: argument that disables the cache and the value it needs ("0" or "None")
_DIRECT: tuple[tuple[str, str, str | None, str, str, str], ...] = (
    ("asyncpg", "create_pool", None, "statement_cache_size", "0", "asyncpg"),
    ("asyncpg", "connect", None, "statement_cache_size", "0", "asyncpg"),
    ("psycopg", "connect", None, "prepare_threshold", "None", "psycopg 3"),
    ("psycopg", "Connection.connect", None, "prepare_threshold", "None", "psycopg 3"),
    ("psycopg", "AsyncConnection.connect", None, "prepare_threshold", "None", "psycopg 3"),
    ("psycopg_pool", "ConnectionPool", "kwargs", "prepare_threshold", "None", "psycopg 3"),
    ("psycopg_pool", "AsyncConnectionPool", "kwargs", "prepare_threshold", "None",
     "psycopg 3"),
)
_SQLALCHEMY_DRIVERS = {
    "asyncpg": ("prepared_statement_cache_size", "0", "SQLAlchemy's asyncpg dialect"),
    "psycopg": ("prepare_threshold", "None", "psycopg 3"),
    "psycopg_async": ("prepare_threshold", "None", "psycopg 3"),
}


@dataclass(frozen=True)
class CachingCall:
    call: cst.Call
    module: ModuleInfo
    func: FunctionInfo | None
    #: where connection arguments go: None for the call's own keywords, else the
    #: keyword holding a dict (`connect_args`, `kwargs`)
    holder: str | None
    key: str
    value: str
    library: str
    bouncer: Bouncer


def caching_calls(index: ProjectIndex, module: ModuleInfo) -> Iterator[CachingCall]:
    """Calls of the module that keep prepared statements and reach PgBouncer in
    transaction mode, without the argument that turns the cache off."""
    names = {tail.rsplit(".", 1)[-1] for _, tail, *_ in _DIRECT}
    for call, func in inventory(module).calls:
        if not may_call(call, names, module, func):
            continue
        qual = external_name(index, call.func, module, func)
        if qual is None:
            continue
        spec = next((s for s in _DIRECT if qual_match(qual, [(s[0], s[1])])), None)
        if spec is None:
            continue
        _, _, holder, key, value, library = spec
        if _disabled(index, call, module, func, holder, key, value) is not False:
            continue
        args = positional_args(call)
        dsn = args[0] if args else (keyword_arg(call, "dsn") or keyword_arg(call, "conninfo"))
        bouncer = behind_pgbouncer(index, module, Bound(dsn, module, func) if dsn else None)
        if bouncer is not None:
            yield CachingCall(call, module, func, holder, key, value, library, bouncer)
    for site in engine_sites(index, module):
        if site.from_config or site.call is None:
            continue
        call = site.call
        func = next((f for c, f in module.calls if c is call), None)
        args = positional_args(call)
        url = args[0] if args else keyword_arg(call, "url")
        if url is None:
            continue
        bouncer = behind_pgbouncer(index, module, Bound(url, module, func))
        if bouncer is None:
            continue
        scheme = bouncer.scheme or (string_prefix(index, url, module, func) or "").split(
            "://", 1)[0].lower()
        driver = scheme.split("+", 1)[1] if "+" in scheme else ""
        if driver not in _SQLALCHEMY_DRIVERS:
            continue
        key, value, library = _SQLALCHEMY_DRIVERS[driver]
        if f"{key}=0" in (string_prefix(index, url, module, func) or ""):
            continue
        if _disabled(index, call, module, func, "connect_args", key, value) is not False:
            continue
        yield CachingCall(call, module, func, "connect_args", key, value, library, bouncer)


def _disabled(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
              func: FunctionInfo | None, holder: str | None, key: str,
              value: str) -> bool | None:
    """True when the call turns the cache off, False when it does not, None when it
    cannot be told (`**kwargs`, a mapping that cannot be read)."""
    opts: Options | None = call_options(index, call, module, func)
    if holder is not None and opts is not None:
        b = opts.values.get(holder)
        if b is None:
            return None if opts.open else False
        opts = mapping_options(index, b.expr, b.module, b.func)
    if opts is None:
        return None
    b = opts.values.get(key)
    if b is None:
        return None if opts.open else False
    return is_off(index, b, value)


def is_off(index: ProjectIndex, b: Bound, value: str) -> bool | None:
    r = resolve(index, b.expr, b.module, b.func)
    if value == "None":
        if isinstance(r.expr, cst.Name) and r.expr.value in ("None", "True", "False"):
            return r.expr.value == "None"
        if isinstance(r.expr, cst.Integer) or string_value(r.expr) is not None:
            return False
        return None
    n = int_value(index, b.expr, b.module, b.func)
    return None if n is None else n == 0

"""Whether a MySQL engine survives MySQL's `wait_timeout`: shared by PS211 (which
reports it) and PS203 (which leaves such an engine to PS211, so one engine is not
reported twice for one missing setting).

An engine is protected when it pings at checkout (`pool_pre_ping=True`) or recycles
its connections before the server drops them (`0 < pool_recycle < wait_timeout`).
Flask-SQLAlchemy sets `pool_recycle=7200` itself for MySQL, so its configuration
is always protected. `wait_timeout` is read from the repository (`my.cnf`, a
compose `mysqld --wait-timeout`), else MySQL's default, 28800 seconds.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from poolsafe.analysis.engines import EngineSite, is_non_pooling
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.resolution import int_value, is_false
from poolsafe.knowledge.capacity import MYSQL_DEFAULT_WAIT_TIMEOUT, MYSQL_DIALECTS


@dataclass(frozen=True)
class Unprotected:
    #: what is wrong, for the message
    detail: str
    #: the `pool_recycle` value to replace (None: the keyword is missing)
    recycle_given: bool
    wait_timeout: int
    wait_source: str


def unprotected_mysql(index: ProjectIndex, module: ModuleInfo,
                      site: EngineSite) -> Unprotected | None:
    """Why a `create_engine()` for MySQL/MariaDB loses connections to `wait_timeout`,
    or None when it does not (or it cannot be told)."""
    if site.from_config or site.call is None or site.dialect not in MYSQL_DIALECTS:
        return None
    opts = site.options
    if opts is None or is_non_pooling(index, opts):
        return None
    ping = opts.values.get("pool_pre_ping")
    if ping is not None and not is_false(ping.expr):
        return None
    recycle_b = opts.values.get("pool_recycle")
    if (ping is None or recycle_b is None) and opts.open:
        return None  # `**options` may set what is missing
    wait, source = wait_timeout(index, module)
    if recycle_b is None:
        return Unprotected(f"neither `pool_recycle` nor `pool_pre_ping`; MySQL closes "
                           f"connections idle for {source}", False, wait, source)
    recycle = int_value(index, recycle_b.expr, recycle_b.module, recycle_b.func)
    if recycle is None:
        return None
    if 0 < recycle < wait:
        return None
    what = "disables recycling" if recycle <= 0 else f"is not below wait_timeout ({source})"
    return Unprotected(f"`pool_recycle={recycle}` {what} and there is no `pool_pre_ping`",
                       True, wait, source)


_WAIT: weakref.WeakKeyDictionary[ProjectIndex, dict[str, tuple[int, str]]] = (
    weakref.WeakKeyDictionary())


def wait_timeout(index: ProjectIndex, module: ModuleInfo) -> tuple[int, str]:
    """The smallest `wait_timeout` the repository sets for a MySQL server, else the
    default (28800 s)."""
    from poolsafe.analysis.deploy_files import project_files
    from poolsafe.analysis.process_model import process_model
    from poolsafe.analysis.server_limits import compose_server, server_files

    files = project_files(index, module)
    memo = _WAIT.setdefault(index, {})
    key = str(files.root)
    if key not in memo:
        conf = server_files(files)
        found = [s.wait_timeout for s in (compose_server(svc, conf) for svc in process_model(
            files, {}).servers) if s.kind == "mysql"]
        if "wait_timeout" in conf.settings.get("mysql", {}):
            found.append(conf.settings["mysql"]["wait_timeout"])
        counts = [c for c in found if c.known and "default" not in c.source]
        if counts:
            best = min(counts, key=lambda c: c.used)
            memo[key] = (best.used, f"{best.used} s ({best.source})")
        else:
            memo[key] = (MYSQL_DEFAULT_WAIT_TIMEOUT,
                         f"{MYSQL_DEFAULT_WAIT_TIMEOUT} s (the default wait_timeout)")
    return memo[key]

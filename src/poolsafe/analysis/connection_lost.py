"""Handlers that expect the connection itself to be gone.

An `except psycopg.OperationalError:` (or `InterfaceError`) also catches the error a
lost connection raises: the server closed it, the network dropped, the pool handed
out a dead one. There `rollback()` raises as well, so adding one to such a handler
turns an error the function handled (a health check returning `None`) into one that
escapes. A handler that asks whether the connection is alive (`if conn.closed:`,
`if not cnx.is_connected():`) expects the same. PS103 offers no rollback there and
says why: the rollback must be guarded by hand, by someone who knows what the
caller should see when the connection is gone.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_nodes
from poolsafe.analysis.flow import exception_types
from poolsafe.knowledge import CONNECTION_LOST_ERROR_NAMES, LIVENESS_ATTRIBUTES


def connection_lost_reason(handler: cst.ExceptHandler | cst.ExceptStarHandler,
                           resource: str) -> str | None:
    """Why this handler may run on a lost connection (None when nothing says so)."""
    if handler.type is not None:
        for t in exception_types(handler.type):
            name = dotted_name(t)
            if name is not None and name.rsplit(".", 1)[-1] in CONNECTION_LOST_ERROR_NAMES:
                return f"it catches `{name}`, which a lost connection raises too"
    for node in iter_nodes(handler.body):
        if isinstance(node, cst.Attribute) and node.attr.value in LIVENESS_ATTRIBUTES \
                and dotted_name(node.value) == resource:
            return f"it checks `{resource}.{node.attr.value}`: it expects a lost connection"
    return None

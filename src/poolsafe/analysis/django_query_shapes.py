"""The shapes of a call that runs a Django query, by its syntax alone.

Shared by PS207's Django transactions, its read-only policy
(`django_read_only`) and the thread analysis (`django_threads`), which all ask
the same two questions of a call before they resolve anything.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import chain_links
from poolsafe.knowledge.django import DJANGO_INSTANCE_QUERIES, DJANGO_MANAGER_ATTRIBUTES


def instance_query(call: cst.Call) -> bool:
    """`x.save()`, `x.delete()`, `x.refresh_from_db()` with no positional argument:
    a model instance's own query. A positional argument means another method of the
    same name (PIL's `image.save(path)`, a set's `delete(key)`)."""
    f = call.func
    return isinstance(f, cst.Attribute) and f.attr.value in DJANGO_INSTANCE_QUERIES \
        and not any(a.keyword is None for a in call.args)


def through_manager(expr: cst.BaseExpression) -> bool:
    """A link of the chain `expr` reads a model's manager
    (`Order.objects.filter(...)`, `cls._default_manager`)."""
    return any(isinstance(link, cst.Attribute) and link.attr.value in DJANGO_MANAGER_ATTRIBUTES
               for link in chain_links(expr))

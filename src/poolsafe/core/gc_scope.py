"""Keeping parsed trees out of the cyclic garbage collector's sight during a scan."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: inside `trees_kept_out_of_gc`: how deep
_trees_kept = 0
#: how many times `trees_kept_out_of_gc` handed every frozen object back (`thaws`)
_thaws = 0


@contextmanager
def trees_kept_out_of_gc() -> Iterator[None]:
    """A scan keeps every parsed tree (millions of small objects, no reference cycles)
    until it ends, and Python's cyclic collector would walk all of them again on each
    full collection: a third of a dense scan's time. So each module is moved out of
    its sight (`gc.freeze`) once built, and handed back when the scan is done."""
    global _trees_kept, _thaws
    _trees_kept += 1
    try:
        yield
    finally:
        _trees_kept -= 1
        if not _trees_kept:
            gc.unfreeze()
            _thaws += 1


def thaws() -> int:
    """How many times a scan has handed the frozen objects back to the collector
    (the only `gc.unfreeze` here not followed by a `gc.freeze`). A long-lived holder
    of frozen objects compares it with the count it last froze at: `gc.get_freeze_count`
    would tell too, but it counts the frozen objects one by one (80-90 ms for the 777,000
    a language server keeps on superset, on every keystroke, issue 32)."""
    return _thaws



def keep_new_objects() -> None:
    """Move what was built since the last call out of the collector's sight, inside
    `trees_kept_out_of_gc` (a parsed module, right after parsing)."""
    if _trees_kept:
        gc.freeze()


def release_dropped() -> None:
    """Free what was dropped since the last call, cycles included (a module and its
    functions point at each other), inside `trees_kept_out_of_gc`, where the
    collector does not see the frozen objects: they are handed back, collected and
    frozen again."""
    if _trees_kept:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def keep_survivors() -> None:
    """Collect the garbage once (cycles included), then move every object still alive
    out of the collector's sight for good (until a scan's `trees_kept_out_of_gc` hands
    them back): for a long-lived process whose kept objects (a language server's parsed
    modules) outnumber by far what each request builds and drops."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic collection inside: the prefilter's selection builds some hundred
    thousand sets of words that only grow until it ends (no cycles among them), and
    each full collection on the way walked all of them again (6% of the
    selection's time on Django)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

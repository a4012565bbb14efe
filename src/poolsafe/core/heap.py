"""Handing memory the C allocator keeps back to the system (issue 32, mlflow's peak).

libcst's native parser builds a file's tokens and its Rust-side tree before the
Python tree, and frees them when the parse returns: some 250 bytes per source byte
(mlflow's `store/tracking/sqlalchemy_store.py`, 0.5 MB: the process grew by 127 MB
parsing it, of which Python objects were 9 MB). glibc's `malloc` keeps what was
freed for later allocations and returns only the top of its heaps by itself, so
the process kept the parse's peak for the rest of the run, and every worker forked
after a large parse started with it. `malloc_trim(0)` returns the free pages of
every heap (the scan runs in a thread, whose heap is not the main one). Nothing
is freed or moved, only pages with no live allocation unmapped: the findings do
not change. Elsewhere than glibc, nothing is done."""

from __future__ import annotations

import sys
from collections.abc import Callable

#: a parse of at least this much source is followed by `return_free_memory` (a
#: trim walks the heaps: some 5 ms on mlflow, too much after every small file)
TRIM_AFTER_BYTES = 100_000

_trim: Callable[[int], int] | None = None
_looked_up = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked_up
    if not _looked_up:
        _looked_up = True
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _trim = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
                _trim = None
    return _trim


def return_free_memory() -> bool:
    """Return the C heaps' free pages to the system; whether it could be asked."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True

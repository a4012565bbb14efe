"""What the pytest plugin saw, written for `poolsafe check --runtime FILE`.

`pytest --poolsafe --poolsafe-report FILE` writes one JSON document when the session
ends: every connection a test left checked out, garbage-collected or closed instead
of returned, with the test that did it and the user frames of its checkout (innermost
first: the line that called the pool, the function that called that one, ...). Each
frame keeps its source line, so a report made on an earlier commit still matches
code that moved, as a baseline does.

```json
{"format": 1, "root": "/abs/project",
 "leaks": [{"test": "tests/test_orders.py::test_missing", "kind": "still checked out",
            "message": "...", "frames": [{"path": "/abs/project/app.py", "line": 16,
            "function": "get_order", "text": "conn = get_db_connection()"}]}],
 "pool_errors": [{"test": "tests/test_orders.py::test_burst", "kind": "exhausted",
                  "pool": "ConnectionPool#1", "message": "connection pool exhausted",
                  "holders": [{"connection": "connection #1", "thread": "MainThread",
                               "age": 0.42, "state": "checked out",
                               "test": "tests/test_orders.py::test_missing",
                               "frames": [...]}]}]}
```

`pool_errors` lists every time a pool ran dry (`PoolExhausted`, or `PoolTimeout`
after waiting), in the test it happened in, with the checkouts held at that moment:
each with the user frames of its checkout and the test that made it (a connection
leaked by an earlier test shows that test, not the one that found the pool empty).

This module belongs to the runtime: it imports nothing of the static analysis (the
static side reads the document in `poolsafe.scan.runtime_evidence`).
"""

from __future__ import annotations

import json
import linecache
import os
from collections.abc import Callable
from typing import Any

from poolsafe.runtime.tracking import Holder, PoolErrorEvent, is_library_file, line_of

FORMAT = 1


def user_frames(holder: Holder) -> list[dict[str, Any]]:
    """The frames of the holder's checkout in the user's code, innermost first."""
    out: list[dict[str, Any]] = []
    for code, lasti in holder.frames:
        if is_library_file(code.co_filename):
            continue
        path = os.path.abspath(code.co_filename)
        line = line_of(code, lasti)
        out.append({"path": path, "line": line, "function": code.co_name,
                    "text": linecache.getline(path, line).strip()})
    return out


class RuntimeReport:
    """The leaks of one test session, in the order they were seen."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.leaks: list[dict[str, Any]] = []
        self.pool_errors: list[dict[str, Any]] = []
        self._seen: set[tuple[str, str, int, str]] = set()
        self._seen_errors: set[int] = set()

    def add(self, test: str, kind: str, message: str, holder: Holder) -> None:
        """One problem of `test` (a checkout seen twice, at the end of the call and of
        the teardown, is written once)."""
        key = (test, holder.connection, holder.seq, kind)
        if key in self._seen:
            return
        self._seen.add(key)
        self.leaks.append({"test": test, "kind": kind, "message": message,
                           "frames": user_frames(holder)})

    def add_pool_error(self, test: str, error: PoolErrorEvent,
                       test_of: Callable[[int], str | None]) -> None:
        """A pool that ran dry in `test`, with its holders at that moment (`test_of`:
        the test a checkout's phase belongs to). Seen at the end of the call and of
        the teardown, it is written once."""
        if error.number in self._seen_errors:
            return
        self._seen_errors.add(error.number)
        self.pool_errors.append({
            "test": test, "kind": error.kind, "pool": error.pool, "message": error.message,
            "holders": [{"connection": h.connection, "thread": h.thread,
                         "age": round(h.age, 3), "state": h.state, "test": test_of(h.seq),
                         "frames": user_frames(h)} for h in error.holders()]})

    def write(self) -> None:
        doc = {"format": FORMAT, "root": os.getcwd(),
               "leaks": self.leaks, "pool_errors": self.pool_errors}
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2)
            out.write("\n")
        os.replace(tmp, self.path)

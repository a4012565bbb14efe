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
            "function": "get_order", "text": "conn = get_db_connection()"}]}]}
```

This module belongs to the runtime: it imports nothing of the static analysis (the
static side reads the document in `poolsafe.scan.runtime_evidence`).
"""

from __future__ import annotations

import json
import linecache
import os
from typing import Any

from poolsafe.runtime.tracking import Holder, is_library_file, line_of

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
        self._seen: set[tuple[str, str, int, str]] = set()

    def add(self, test: str, kind: str, message: str, holder: Holder) -> None:
        """One problem of `test` (a checkout seen twice, at the end of the call and of
        the teardown, is written once)."""
        key = (test, holder.connection, holder.seq, kind)
        if key in self._seen:
            return
        self._seen.add(key)
        self.leaks.append({"test": test, "kind": kind, "message": message,
                           "frames": user_frames(holder)})

    def write(self) -> None:
        doc = {"format": FORMAT, "root": os.getcwd(),
               "leaks": self.leaks}
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2)
            out.write("\n")
        os.replace(tmp, self.path)

"""Whether two `poolsafe check --format json` outputs hold the same findings.

    python benchmarks/same_findings.py A.json B.json

Compares the findings as (path, line, rule, message), sorted; prints both counts,
whether they are identical and up to 20 findings only one side has. Exit status 0
when identical, 1 otherwise (issue 32: a speed change must not change a finding).
"""

from __future__ import annotations

import json
import sys


def rows(path: str) -> list[tuple[object, ...]]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    items = data["findings"] if isinstance(data, dict) else data
    return sorted(((i.get("path"), i.get("line"), i.get("code"), i.get("message"))
                   for i in items), key=repr)


def main() -> int:
    a_path, b_path = sys.argv[1:3]
    a, b = rows(a_path), rows(b_path)
    print(f"{a_path}: {len(a)}  {b_path}: {len(b)}  identical: {a == b}")
    for r in sorted(set(a) ^ set(b), key=repr)[:20]:
        print("  only in", "A" if r in a else "B", r)
    return 0 if a == b else 1


if __name__ == "__main__":
    sys.exit(main())

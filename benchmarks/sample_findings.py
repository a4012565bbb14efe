"""Draw a fixed-seed random sample of findings from `poolsafe check --format json`
outputs, one file per code base, for judging by hand (issue 31).

    python benchmarks/sample_findings.py OUTDIR --seed 31 --size 40 [--exclude NAME ...]

OUTDIR holds `NAME.json` files (NAME: the code base). Prints one line per sampled
finding: index, code base, path:line, rule, message.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--size", type=int, default=40)
    ap.add_argument("--exclude", nargs="*", default=[],
                    help="code bases left out (the half tuned on)")
    args = ap.parse_args()
    found: list[tuple[str, str, int, str, str]] = []
    for path in sorted(args.outdir.glob("*.json")):
        if path.stem in args.exclude:
            continue
        for f in json.loads(path.read_text(encoding="utf-8"))["findings"]:
            found.append((path.stem, f["path"], f["line"], f["code"], f["message"]))
    random.seed(args.seed)
    sample = random.sample(found, k=min(args.size, len(found)))
    print(f"{len(found)} findings, {len(sample)} sampled (seed {args.seed})")
    for i, (name, path, line, code, message) in enumerate(sample, 1):
        print(f"{i}|{name}|{path}:{line}|{code}|{message[:160]}")


if __name__ == "__main__":
    main()

"""One project of every rule case (issue 32): where a whole-project fact costs per
module what it costs once per project, this tree of ~2,500 small packages shows it.

    python benchmarks/rule_case_tree.py [--vs-src DIR] [--runs 1]

Writes every rule's VALID and INVALID cases into one project (`case<n>/`, as the
engine's equivalence tests do: `tests/engine/rule_case_tree.py`) in a temporary
directory, then runs `poolsafe check -j 1 --no-cache --isolated --format json
--exit-zero .` on it with this checkout's `src/` and, with `--vs-src`, with another
`src/` (a `git archive` of an earlier commit), in turn; prints each run's wall and
user seconds and peak RSS, the medians' ratio, and whether the findings are
byte-identical. The equivalence tests scan this tree two or three times each, so
its cost bounds their run time under `pytest-timeout`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def write_tree() -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.engine.rule_case_tree import write_rule_cases

    dest = Path(tempfile.mkdtemp(prefix="poolsafe-rule-cases-"))
    return write_rule_cases(dest)


def run(src: Path, tree: Path) -> tuple[float, float, float, bytes]:
    """Wall seconds, user seconds, peak RSS (MB) and the JSON report of one scan."""
    env = {**os.environ, "PYTHONSAFEPATH": "1", "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "poolsafe", "check", "-j", "1", "--no-cache", "--isolated",
         "--format", "json", "--exit-zero", "."],
        cwd=tree, env=env, capture_output=True, check=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vs-src", type=Path, help="another checkout's src/ to compare")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    tree = write_tree()
    print(f"tree: {tree} ({sum(1 for _ in tree.iterdir())} case packages)")
    sources = {"this": ROOT / "src", **({"vs": args.vs_src.resolve()} if args.vs_src else {})}
    walls: dict[str, list[float]] = {name: [] for name in sources}
    reports: dict[str, bytes] = {}
    for _ in range(args.runs):
        for name, src in sources.items():  # interleaved
            wall, user, peak, out = run(src, tree)
            walls[name].append(wall)
            reports[name] = out
            print(f"{name:5} wall {wall:7.1f} s  user {user:7.1f} s  (peak of all runs so far "
                  f"{peak:.0f} MB)")
    medians = {name: statistics.median(w) for name, w in walls.items()}
    for name, m in medians.items():
        print(f"{name:5} median wall {m:.1f} s")
    if "vs" in medians:
        print(f"this / vs: {medians['this'] / medians['vs']:.2f}; findings "
              f"{'identical' if reports['this'] == reports['vs'] else 'DIFFER'}")


if __name__ == "__main__":
    main()

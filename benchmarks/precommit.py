"""What a pre-commit run on one staged file costs (issue 12), against the whole-tree
scan, on the Django wheel and on a generated database-dense project.

    python benchmarks/precommit.py [--runs 5] [--project django|dense] [--files 1500]

Rows, run interleaved, medians of wall time:
- `whole tree, cold`: `poolsafe check --no-cache .` (what a one-file run must not exceed);
- `one file, cold`: `poolsafe check --no-cache FILE`;
- `one file, warm`: `poolsafe check FILE` after a whole-tree run filled the cache;
- `one file, edited`: the same after FILE was edited (what a commit looks like).
FILE is a file the prefilter selects (for Django, under a `db` directory).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from dense_tree import module_path
from dense_tree import write as write_dense
from run import edit_targets, fetch, outside_git, timed


def project_and_file(name: str, files: int) -> tuple[Path, Path]:
    if name == "django":
        src = outside_git(fetch("django"))
        return src, edit_targets(src)[0]
    dest = Path(tempfile.gettempdir()) / f"poolsafe-dense-{files}"
    if not (dest / "pyproject.toml").exists():
        write_dense(dest, files, 30)
    return dest, module_path(dest, files // 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--project", default="django", choices=["django", "dense"])
    ap.add_argument("--files", type=int, default=1500, help="modules of the dense project")
    args = ap.parse_args()
    src, staged = project_and_file(args.project, args.files)
    rel = str(staged.relative_to(src))
    poolsafe = shutil.which("poolsafe", path=str(Path(sys.executable).parent)) or "poolsafe"
    original = staged.read_bytes()

    def warm_up() -> None:
        subprocess.run([poolsafe, "check", "--exit-zero", "."], cwd=src, capture_output=True)

    rows: dict[str, list[str]] = {
        "whole tree, cold": [poolsafe, "check", "--no-cache", "--exit-zero", "."],
        "one file, cold": [poolsafe, "check", "--no-cache", "--exit-zero", rel],
        "one file, warm": [poolsafe, "check", "--exit-zero", rel],
        "one file, edited": [poolsafe, "check", "--exit-zero", rel],
    }
    times: dict[str, list[float]] = {k: [] for k in rows}
    try:
        for r in range(args.runs):
            for name, cmd in rows.items():
                if name != "whole tree, cold" and "cold" not in name:
                    warm_up()
                if name == "one file, edited":
                    staged.write_bytes(original + f"\n# edit {r}\n".encode())
                times[name].append(timed(cmd, src)[0])
                staged.write_bytes(original)
            print(f"round {r + 1}/{args.runs} done", file=sys.stderr, flush=True)
    finally:
        staged.write_bytes(original)
    n = len(list(src.rglob("*.py")))
    whole = statistics.median(times["whole tree, cold"])
    print(f"\n{args.project}: {n} files, {args.runs} runs; staged file: {rel}")
    print(f"{'row':<20}{'median s':>10}{'min s':>9}{'x whole':>9}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<20}{med:>10.2f}{min(values):>9.2f}{med / whole:>9.2f}")


if __name__ == "__main__":
    main()

"""Measure poolsafe on a corpus of real repositories (one checkout per directory).

    python benchmarks/realworld.py prefilter CORPUS   # findings with and without the prefilter
    python benchmarks/realworld.py fix CORPUS         # safe-fix rate, compile check, idempotence
    python benchmarks/realworld.py alone CORPUS       # each file alone vs the whole tree

`benchmarks/corpus.txt` lists the 72 public repositories our notes quote; clone them
(`git clone --depth 1 https://github.com/OWNER/NAME CORPUS/OWNER+NAME`) to reproduce.

`prefilter` scans every repository twice in this process (prefilter on and off, no
cache, no configuration) and prints the findings that differ. `fix` copies each
repository's Python files to a scratch directory, runs `poolsafe fix --isolated
--select PS101,PS102,PS103,PS104,PS105,PS106` there (or $POOLSAFE_LEAK_RULES) (safe fixes only), compiles every file
it changed, runs `fix --diff` again (it must find nothing), and prints the totals.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

LEAK_RULES = os.environ.get("POOLSAFE_LEAK_RULES", "PS101,PS102,PS103,PS104,PS105,PS106")
_COUNTS = re.compile(r"(Fixed|Would fix|Left) (\d+) findings? ?(?:\(([^)]*)\))?")


def repos(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.is_dir())


def prefilter(corpus: Path) -> int:
    sys.setrecursionlimit(20000)
    from poolsafe.engine import ScanOptions, scan

    total = {True: 0, False: 0}
    differ = 0
    for repo in repos(corpus):
        os.chdir(repo)
        keys = {}
        for on in (True, False):
            result = scan(["."], ScanOptions(prefilter=on))
            keys[on] = {(f.path, f.line, f.column, f.code) for f in result.findings}
            total[on] += len(keys[on])
        for key in sorted(keys[True] ^ keys[False]):
            differ += 1
            print(f"{repo.name}: only {'with' if key in keys[True] else 'without'} "
                  f"the prefilter: {key}")
    print(f"{len(repos(corpus))} repositories: {total[True]} findings with the prefilter, "
          f"{total[False]} without, {differ} differ")
    return 1 if differ else 0


def _fix(repo: Path, *extra: str) -> tuple[Counter[str], Counter[str], str]:
    run = subprocess.run([sys.executable, "-m", "poolsafe", "fix", "--isolated", "--select",
                          LEAK_RULES, *extra, "."], cwd=repo, capture_output=True, text=True)
    fixed: Counter[str] = Counter()
    left: Counter[str] = Counter()
    for verb, _n, codes in _COUNTS.findall(run.stderr):
        target = left if verb == "Left" else fixed
        for item in filter(None, (codes or "").split(", ")):
            code, times = item.split(" x")
            target[code] += int(times)
    return fixed, left, run.stderr


def fix(corpus: Path) -> int:
    fixed: Counter[str] = Counter()
    left: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    changed = broken = again = 0
    with tempfile.TemporaryDirectory(prefix="poolsafe-realworld-") as scratch:
        for repo in repos(corpus):
            copy = Path(scratch) / repo.name
            shutil.copytree(repo, copy, symlinks=True, ignore=lambda d, names: [
                n for n in names if not n.endswith(".py") and not os.path.isdir(Path(d) / n)])
            before = {p: p.read_bytes() for p in copy.rglob("*.py") if p.is_file()}
            f, lft, err = _fix(copy)
            fixed += f
            left += lft
            reasons.update(line.split(" left: ", 1)[1] for line in err.splitlines()
                           if " left: " in line)
            for path, data in before.items():
                new = path.read_bytes()
                if new == data:
                    continue
                changed += 1
                try:
                    compile(new, str(path), "exec")
                except SyntaxError as exc:
                    broken += 1
                    print(f"does not compile after the fix: {path}: {exc}")
            f2, _, _ = _fix(copy, "--diff")
            if f2:
                again += sum(f2.values())
                print(f"{repo.name}: a second run would fix {dict(f2)}")
    n_fixed, n_left = sum(fixed.values()), sum(left.values())
    print(f"{len(repos(corpus))} repositories: fixed {n_fixed}, left {n_left} "
          f"({n_fixed / max(1, n_fixed + n_left):.1%} fixed by the safe fixes)")
    for code in sorted(fixed | left):
        print(f"  {code}: {fixed[code]} of {fixed[code] + left[code]}")
    print(f"{changed} files changed, {broken} do not compile; a second run fixes {again}")
    for reason, n in reasons.most_common():
        print(f"  {n:3}  left: {reason}")
    return 1 if broken or again else 0


def alone(corpus: Path) -> int:
    """Whole-project resolution (issue 12): every file that has findings in the
    whole-tree scan of its repository, scanned on its own (as pre-commit and editors
    do), must report exactly those findings."""
    sys.setrecursionlimit(20000)
    from poolsafe.engine import ScanOptions, scan

    totals = Counter()
    for repo in repos(corpus):
        os.chdir(repo)
        per: dict[str, set[tuple[str, int, int]]] = {}
        for f in scan(["."], ScanOptions()).findings:
            per.setdefault(os.path.normpath(f.path), set()).add((f.code, f.line, f.column))
        for path, want in sorted(per.items()):
            got = {(f.code, f.line, f.column) for f in scan([path], ScanOptions()).findings}
            for code, line, _ in sorted(want - got):
                print(f"{repo.name}/{path}:{line}: {code} missed when scanned alone")
            for code, line, _ in sorted(got - want):
                print(f"{repo.name}/{path}:{line}: {code} only when scanned alone")
            totals["findings"] += len(want)
            totals["missed"] += len(want - got)
            totals["extra"] += len(got - want)
            totals["files"] += 1
    print(f"{len(repos(corpus))} repositories, {totals['files']} files with findings, "
          f"{totals['findings']} findings; scanned alone: {totals['missed']} missed, "
          f"{totals['extra']} extra")
    return 1 if totals["missed"] or totals["extra"] else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["prefilter", "fix", "alone"])
    ap.add_argument("corpus", type=Path)
    args = ap.parse_args()
    corpus = args.corpus.resolve()
    run = {"prefilter": prefilter, "fix": fix, "alone": alone}[args.what]
    sys.exit(run(corpus))


if __name__ == "__main__":
    main()

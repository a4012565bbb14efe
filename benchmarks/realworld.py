"""Measure poolsafe on a corpus of real repositories (one checkout per directory).

    python benchmarks/realworld.py prefilter CORPUS   # findings with and without the prefilter
    python benchmarks/realworld.py fix CORPUS         # safe-fix rate, compile check, idempotence
    python benchmarks/realworld.py alone CORPUS       # each file alone vs the whole tree
    python benchmarks/realworld.py score CORPUS [LABELS]  # precision/recall on hand labels

`benchmarks/corpus.txt` lists the 72 public repositories our notes quote; clone them
(`git clone --depth 1 https://github.com/OWNER/NAME CORPUS/OWNER+NAME`) to reproduce.

`score` runs `poolsafe check` on every repository a labels file names
(`benchmarks/labels/corpus2.labels` by default; see benchmarks/README.md for the format)
and compares the findings, per function and rule, with the labels.

`prefilter` scans every repository twice in this process (prefilter on and off, no
cache, no configuration) and prints the findings that differ. `fix` copies each
repository's Python files to a scratch directory, runs `poolsafe fix --isolated
--select PS101,PS102,PS103,PS104,PS105,PS106` there (or $POOLSAFE_LEAK_RULES; safe
fixes only), compiles every file it changed, checks that the fixes created no new finding (a
release moved before a later use would be PS106), runs `fix --diff` again (it must
find nothing), and prints the totals.
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
# `python -m` would put the checkout first on sys.path, where a module named like the
# standard library's (a repository's own `threading.py`) shadows it and poolsafe fails
# to start: keep the current directory off sys.path (Python 3.11+; ignored before).
_ENV = {**os.environ, "PYTHONSAFEPATH": "1"}
_COUNTS = re.compile(r"(Fixed|Would fix|Left) (\d+) findings? ?(?:\(([^)]*)\))?")


def repos(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.is_dir())


def prefilter(corpus: Path) -> int:
    sys.setrecursionlimit(20000)
    from poolsafe.scan.engine import ScanOptions, scan

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
                          LEAK_RULES, *extra, "."], cwd=repo, capture_output=True, text=True,
                         env=_ENV)
    fixed: Counter[str] = Counter()
    left: Counter[str] = Counter()
    for verb, _n, codes in _COUNTS.findall(run.stderr):
        target = left if verb == "Left" else fixed
        for item in filter(None, (codes or "").split(", ")):
            code, times = item.split(" x")
            target[code] += int(times)
    return fixed, left, run.stderr


def _counts(repo: Path) -> Counter[str]:
    """Findings of the leak rules in a checkout, per rule."""
    import json

    run = subprocess.run([sys.executable, "-m", "poolsafe", "check", "--isolated", "--no-cache",
                          "--select", LEAK_RULES, "--format", "json", "--exit-zero", "."],
                         cwd=repo, capture_output=True, text=True, env=_ENV)
    try:
        return Counter(str(f["code"]) for f in json.loads(run.stdout)["findings"])
    except (ValueError, KeyError):
        return Counter()


def fix(corpus: Path) -> int:
    fixed: Counter[str] = Counter()
    left: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    changed = broken = again = introduced = 0
    with tempfile.TemporaryDirectory(prefix="poolsafe-realworld-") as scratch:
        for repo in repos(corpus):
            copy = Path(scratch) / repo.name
            shutil.copytree(repo, copy, symlinks=True, ignore=lambda d, names: [
                n for n in names if not n.endswith(".py") and not os.path.isdir(Path(d) / n)])
            before = {p: p.read_bytes() for p in copy.rglob("*.py") if p.is_file()}
            found_before = _counts(copy)
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
            # a fix must not create findings (a release moved before a use: PS106)
            found_after = _counts(copy)
            for code in sorted(found_after):
                extra = found_after[code] - (found_before[code] - f[code])
                if extra > 0:
                    introduced += extra
                    print(f"{repo.name}: the fixes introduced {extra} {code} finding(s)")
            f2, _, _ = _fix(copy, "--diff")
            if f2:
                again += sum(f2.values())
                print(f"{repo.name}: a second run would fix {dict(f2)}")
    n_fixed, n_left = sum(fixed.values()), sum(left.values())
    print(f"{len(repos(corpus))} repositories: fixed {n_fixed}, left {n_left} "
          f"({n_fixed / max(1, n_fixed + n_left):.1%} fixed by the safe fixes)")
    for code in sorted(fixed | left):
        print(f"  {code}: {fixed[code]} of {fixed[code] + left[code]}")
    print(f"{changed} files changed, {broken} do not compile; a second run fixes {again}; "
          f"{introduced} findings introduced by the fixes")
    for reason, n in reasons.most_common():
        print(f"  {n:3}  left: {reason}")
    return 1 if broken or again or introduced else 0


def alone(corpus: Path) -> int:
    """Whole-project resolution (issue 12): every file that has findings in the
    whole-tree scan of its repository, scanned on its own (as pre-commit and editors
    do), must report exactly those findings."""
    sys.setrecursionlimit(20000)
    from poolsafe.scan.engine import ScanOptions, scan

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


# Rules whose findings the labels judge: the leak rules and the per-function PS2xx
# rules. PS203/PS204 (engine configuration advice) and PS207 are not labelled.
MEASURED = ("PS101", "PS102", "PS103", "PS104", "PS105", "PS106", "PS107",
            "PS201", "PS202", "PS205", "PS206")
DEFAULT_LABELS = Path(__file__).resolve().parent / "labels" / "corpus2.labels"


def _functions(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, first line, last line) of every function in a file; a
    decorated function starts at its first decorator."""
    import ast

    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # newer syntax than this interpreter's `ast` reads (a 3.12 f-string nesting
        # the same quotes): poolsafe parses it with libcst, so read it the same way
        return _functions_cst(source)
    out: list[tuple[str, int, int]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                out.append((prefix + child.name, start, child.end_lineno or start))
                walk(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return out


def _functions_cst(source: str) -> list[tuple[str, int, int]]:
    """`_functions` through libcst, for a file the running `ast` cannot parse."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        wrapper = MetadataWrapper(cst.parse_module(source))
    except cst.ParserSyntaxError:
        return []
    positions = wrapper.resolve(PositionProvider)
    out: list[tuple[str, int, int]] = []

    def walk(node: cst.CSTNode, prefix: str) -> None:
        for child in node.children:
            if isinstance(child, cst.FunctionDef):
                pos = positions[child]
                start = min([pos.start.line] + [positions[d].start.line
                                                 for d in child.decorators])
                out.append((prefix + child.name.value, start, pos.end.line))
                walk(child, prefix + child.name.value + ".")
            elif isinstance(child, cst.ClassDef):
                walk(child, prefix + child.name.value + ".")
            else:
                walk(child, prefix)

    walk(wrapper.module, "")
    return out


def _enclosing(functions: list[tuple[str, int, int]], line: int) -> str:
    best, span = "<module>", 1 << 30
    for name, start, end in functions:
        if start <= line <= end and end - start < span:
            best, span = name, end - start
    return best


def read_labels(path: Path) -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    """{(file, function): {rule: (verdict, reason)}}; rule '*' marks a function in
    the sample where no measured rule should fire."""
    labels: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":", 4)
        if len(parts) != 5 or parts[3] not in ("leak", "ok"):
            raise SystemExit(f"{path}:{n}: expected file:function:rule:leak|ok:reason")
        file, function, rule, verdict, reason = parts
        labels.setdefault((file, function), {})[rule] = (verdict, reason)
    return labels


def _check(repo: Path) -> list[dict[str, object]]:
    import json

    run = subprocess.run([sys.executable, "-m", "poolsafe", "check", "--isolated", "--no-cache",
                          "--format", "json", "--exit-zero", "."],
                         cwd=repo, capture_output=True, text=True, env=_ENV)
    if run.returncode != 0:
        print(f"{repo.name}: poolsafe check failed: {run.stderr.strip()[:400]}")
        return []
    findings: list[dict[str, object]] = json.loads(run.stdout)["findings"]
    return findings


def score(corpus: Path, labels_path: Path = DEFAULT_LABELS,
          measured: tuple[str, ...] = MEASURED) -> int:
    """Precision and recall per rule on the hand-labelled functions: one unit per
    (function, rule). A finding in a labelled function whose labels do not say
    'leak' for its rule is a false positive; a 'leak' label without a finding of
    its rule in that function is a false negative. Findings in functions nobody
    labelled are counted apart (not in the ratios)."""
    labels = read_labels(labels_path)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    unlabelled: Counter[str] = Counter()
    missing = 0
    by_repo: dict[str, list[tuple[str, str]]] = {}
    for file, function in labels:
        by_repo.setdefault(file.split("/", 1)[0], []).append((file, function))
    for repo_name in sorted(by_repo):
        repo = corpus / repo_name
        if not repo.is_dir():
            print(f"{repo_name}: not in {corpus}")
            missing += 1
            continue
        found: dict[tuple[str, str], dict[str, list[str]]] = {}
        cache: dict[str, list[tuple[str, int, int]]] = {}
        for f in _check(repo):
            code = str(f["code"])
            if code not in measured:
                continue
            rel = os.path.normpath(str(f["path"]))
            if rel not in cache:
                cache[rel] = _functions(repo / rel)
            key = (f"{repo_name}/{rel}", _enclosing(cache[rel], int(str(f["line"]))))
            found.setdefault(key, {}).setdefault(code, []).append(
                f"{f['line']}: {str(f['message'])[:160]}")
            if key not in labels:
                unlabelled[code] += 1
        for key in by_repo[repo_name]:
            want = {r for r, (verdict, _) in labels[key].items()
                    if verdict == "leak" and r in measured}
            got = found.get(key, {})
            where = f"{key[0]}:{key[1]}"
            if not (repo / key[0].split("/", 1)[1]).is_file():
                print(f"{where}: labelled file not found")
            for code in sorted(want | set(got)):
                if code in want and code in got:
                    tp[code] += 1
                elif code in want:
                    fn[code] += 1
                    print(f"FN {code} {where}: {labels[key][code][1]}")
                else:
                    fp[code] += 1
                    reason = labels[key].get(code, labels[key].get("*", ("", "")))[1]
                    print(f"FP {code} {where}: {got[code][0]}  [label: {reason}]")
    print()
    print(f"{'rule':6} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>8}")
    for code in measured:
        t, p, n = tp[code], fp[code], fn[code]
        if t + p + n == 0:
            continue
        prec = f"{t / (t + p):.3f}" if t + p else "-"
        rec = f"{t / (t + n):.3f}" if t + n else "-"
        print(f"{code:6} {t:4} {p:4} {n:4} {prec:>10} {rec:>8}")
    t, p, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print(f"{'all':6} {t:4} {p:4} {n:4} {t / max(1, t + p):10.3f} {t / max(1, t + n):8.3f}")
    print(f"{len(labels)} labelled functions in {len(by_repo)} repositories; "
          f"findings outside the labelled functions: {dict(unlabelled) or 0}")
    return 1 if missing else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["prefilter", "fix", "alone", "score"])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("labels", type=Path, nargs="?", default=DEFAULT_LABELS,
                    help="labels file for 'score' (default: labels/corpus2.labels)")
    ap.add_argument("--rules", default="",
                    help="for 'score': the rules measured, codes or prefixes (`PS2`); "
                         "default: the leak rules and the per-function PS2xx rules")
    args = ap.parse_args()
    corpus = args.corpus.resolve()
    if args.what == "score":
        measured = MEASURED
        if args.rules:
            from poolsafe.rules import ALL_RULES

            wanted = [r.strip() for r in args.rules.split(",") if r.strip()]
            measured = tuple(r.code for r in ALL_RULES
                             if any(r.code.startswith(w) for w in wanted))
        sys.exit(score(corpus, args.labels.resolve(), measured))
    run = {"prefilter": prefilter, "fix": fix, "alone": alone}[args.what]
    sys.exit(run(corpus))


if __name__ == "__main__":
    main()

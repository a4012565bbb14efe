"""Per-defect reading of a labels file (helper breadth78, round 35).

`realworld.py score` credits a finding to the function that holds its line. PS202 reports a
factory's pool at the factory's constructor and names the caller that drops (or closes) it,
"`get_data` (app.py:69) calls it": strictly scored, that is one FP at the factory and one FN at
the caller. This reading also credits a finding to every function its message names by site
(`NAME` (PATH:LINE)), so a labelled leak is found when some finding of its rule holds or names
it, and a finding is false only when neither its own function nor a named one is labelled a
leak of its rule. Strict figures stay the headline; this one is printed beside them.

    python benchmarks/breadth78_defects.py CORPUS LABELS [--rules PS1,PS2]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realworld

_SITE = re.compile(r"`[^`]+` \(([^():`]+\.py):(\d+)\)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("labels", type=Path)
    ap.add_argument("--rules", default="PS1,PS2")
    args = ap.parse_args()
    wanted = tuple(r for r in args.rules.split(",") if r)
    labels = realworld.read_labels(args.labels.resolve())
    repos = sorted({file.split("/", 1)[0] for file, _ in labels})
    tp = fp = fn = 0
    for repo_name in repos:
        repo = args.corpus.resolve() / repo_name
        found: dict[str, list[set[tuple[str, str]]]] = {}
        for f in realworld._check(repo):
            code = str(f["code"])
            if not code.startswith(wanted):
                continue
            sites = [(os.path.normpath(str(f["path"])), int(str(f["line"])))]
            sites += [(os.path.normpath(p), int(n)) for p, n in _SITE.findall(str(f["message"]))]
            keys = {(f"{repo_name}/{p}", realworld._enclosing(realworld._functions(repo / p), n))
                    for p, n in sites if (repo / p).is_file()}
            found.setdefault(code, []).append(keys)
        leaks = {(key, rule) for key, rules in labels.items() if key[0].startswith(repo_name + "/")
                 for rule, (verdict, _) in rules.items() if verdict == "leak"}
        for key, rule in sorted(leaks):
            hit = any(key in keys for keys in found.get(rule, []))
            tp += hit
            fn += not hit
            print(f"{'TP' if hit else 'FN'} {rule} {key[0]}:{key[1]}")
        for code, findings in found.items():
            for keys in findings:
                if not any((k, code) in leaks for k in keys):
                    fp += 1
                    print(f"FP {code} {sorted(keys)}")
    print(f"per defect: TP {tp} FP {fp} FN {fn}; precision "
          f"{tp / max(1, tp + fp):.2f}, recall {tp / max(1, tp + fn):.2f}")


if __name__ == "__main__":
    main()

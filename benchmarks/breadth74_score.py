"""breadth74_score.py TAG: per mutant, the findings a run ADDS over the unmutated app,
keyed (file, function as realworld._functions, rule); TP when the mutant's expected
(file, function, rule) is among them, FP for any other added finding, FN otherwise.
Reads /tmp/breadth74/out/TAG/{base_APP,MID}.json (written by `poolsafe check --isolated
--no-cache --format json --exit-zero .` in each unmutated app and mutant tree)."""
import json
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from breadth74_mutate import MUTANTS, MUTANTS_B, split
from realworld import _functions, _enclosing

tag = sys.argv[1]
out = Path("/tmp/breadth74/out") / tag
half = split()

def keys(js, root):
    got = set()
    for f in json.loads(js.read_text())["findings"]:
        path = f.get("path") or f.get("file") or f["location"]["path"]
        line = f.get("line") or f["location"]["line"]
        rel = str(Path(path)) if not Path(path).is_absolute() else str(Path(path).relative_to(root))
        rel = rel[2:] if rel.startswith("./") else rel
        got.add((rel, _enclosing(_functions(root / rel), line), f.get("code") or f.get("rule")))
    return got

rows = {}
for m in (*MUTANTS, *MUTANTS_B):
    if not (out / f"{m.mid}.json").exists():
        continue
    base = keys(out / f"base_{m.app}.json", Path("/tmp/breadth74/apps") / m.app)
    mut = keys(out / f"{m.mid}.json", Path("/tmp/breadth74/mutb") / m.mid / m.app)
    added, lost = mut - base, base - mut
    exp = set(m.expect)
    tp = len(exp & added); fn = len(exp - added); fp = len(added - exp)
    print(f"{m.mid} {m.family:9} {half[m.mid]} TP{tp} FN{fn} FP{fp} added={sorted(added)} lost={sorted(lost)}")
    rows[m.mid] = (m.family, half[m.mid], tp, fn, fp, len(exp))
print()
for h in ("tune", "held", "held-b"):
    for fam in ("aio", "peewee", "databases", "asyncorm", "sqlmodel"):
        r = [v for k, v in rows.items() if v[0] == fam and (
            v[1] == h if h != "held-b" else k.startswith("b"))
            and not (h == "held" and k.startswith("b"))]
        tp = sum(v[2] for v in r); fn = sum(v[3] for v in r); fp = sum(v[4] for v in r)
        n = len(r); pos = sum(v[5] for v in r)
        print(f"{h} {fam:9} mutants={n} positives={pos} TP/FP/FN={tp}/{fp}/{fn}")

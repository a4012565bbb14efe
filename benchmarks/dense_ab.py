"""The `dense` comparison of `run.py` (a libcst parse of the files the prefilter
selects, then `scan` of the same files with the prefilter off, in one process),
with CPU time beside wall time, interleaved between versions of poolsafe given as
source directories (each put first on PYTHONPATH):

    python benchmarks/dense_ab.py TREE ROUNDS SRC_A [SRC_B ...]

    git archive BASE src | tar x -C /tmp/before     # the version to compare with
    python benchmarks/dense_ab.py /tmp/poolsafe-dense-100 5 /tmp/before/src src

Prints one line per run and, per version, the medians and the median of the
per-round ratios (issue 14: poolsafe <= 1.5x the parse).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

CODE = r'''
import os, pathlib, shutil, sys, tempfile, time
sys.setrecursionlimit(20000)
os.chdir(sys.argv[1])
import libcst as cst
from poolsafe.core.discovery import discover
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.prefilter import select
from poolsafe.core.project import module_key
files = [f for f in discover(["."]) if not isinstance(f, str)]
datas = [f.path.read_bytes() for f in files]
sel = select(datas, modules=[module_key(f.relative) for f in files]).targets
dense = pathlib.Path(tempfile.mkdtemp(prefix="poolsafe-dense-"))
(dense / "pyproject.toml").write_text("")
for i in sel:
    target = dense / files[i].relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(datas[i])
t, c = time.perf_counter(), time.process_time()
for i in sel:
    cst.parse_module(datas[i].decode("utf-8", "replace"))
parse, parse_cpu = time.perf_counter() - t, time.process_time() - c
t, c = time.perf_counter(), time.process_time()
result = scan([str(dense)], ScanOptions(prefilter=False, jobs=1))
full, full_cpu = time.perf_counter() - t, time.process_time() - c
shutil.rmtree(dense)
print(parse, full, parse_cpu, full_cpu, len(result.findings))
'''


def main() -> None:
    tree, rounds, sources = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    rows: dict[str, list[tuple[float, ...]]] = {s: [] for s in sources}
    for r in range(rounds):
        for src in sources:
            out = subprocess.run([sys.executable, "-c", CODE, tree], check=True,
                                 capture_output=True, text=True,
                                 env={**os.environ, "PYTHONPATH": os.path.abspath(src)})
            p, f, pc, fc, n = map(float, out.stdout.split())
            rows[src].append((p, f, pc, fc))
            print(f"round {r + 1} {src}: wall parse {p:.2f} s, poolsafe {f:.2f} s (x{f / p:.2f}); "
                  f"CPU parse {pc:.2f} s, poolsafe {fc:.2f} s (x{fc / pc:.2f}); "
                  f"{int(n)} findings", flush=True)
    for src, got in rows.items():
        def med(i: int, got: list[tuple[float, ...]] = got) -> float:
            return statistics.median(x[i] for x in got)
        wall = statistics.median(x[1] / x[0] for x in got)
        cpu = statistics.median(x[3] / x[2] for x in got)
        print(f"{src}: wall parse {med(0):.2f} s, poolsafe {med(1):.2f} s, x{wall:.2f}; "
              f"CPU parse {med(2):.2f} s, poolsafe {med(3):.2f} s, x{cpu:.2f}")


if __name__ == "__main__":
    main()

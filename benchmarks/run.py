"""Time poolsafe against Ruff, Pylint and Fixit on real code from PyPI (issue 7).

    python benchmarks/run.py [--runs 5] [--skip pylint,fixit] [--project django] [--dense]

Downloads the Django and SQLAlchemy wheels into benchmarks/.data (unzipped),
installs missing tools into benchmarks/.data/venv, then runs each command N times,
interleaved, and prints the median wall time and peak RSS (from
resource.getrusage(RUSAGE_CHILDREN) around each run in a fresh child) with ratios
to Ruff. `--dense` compares libcst parse-only with parse + analysis on the files
the prefilter selects.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
VENV = DATA / "venv"
PROJECTS = {"django": "django", "sqlalchemy": "sqlalchemy"}
TOOLS = {"ruff": "ruff", "pylint": "pylint", "fixit": "fixit"}


def fetch(project: str) -> Path:
    src = DATA / "src" / project
    if src.is_dir() and any(src.iterdir()):
        return src
    wheels = DATA / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob(f"{project}-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--only-binary=:all:", "-d", str(wheels), project], check=True)
    wheel = sorted(wheels.glob(f"{project}-*.whl"))[-1]
    src.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(src)
    return src


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or \
        shutil.which(name, path=str(VENV / "bin"))
    if found:
        return found
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", TOOLS[name]],
                   check=True)
    return str(VENV / "bin" / name)


def outside_git(src: Path) -> Path:
    """A copy of `src` outside any git work tree: fixit (like git) skips what the
    enclosing repository's .gitignore lists, and benchmarks/.data/ is listed."""
    inside = subprocess.run(["git", "-C", str(src), "rev-parse", "--is-inside-work-tree"],
                            capture_output=True, text=True).stdout.strip() == "true"
    if not inside:
        return src
    target = Path(tempfile.gettempdir()) / f"poolsafe-bench-{src.name}"
    if not target.exists():
        shutil.copytree(src, target)
    return target


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run, in a fresh wrapper process so that
    RUSAGE_CHILDREN's maximum is this run's."""
    probe = ("import resource,subprocess,sys,time;t=time.perf_counter();"
             "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
             "w=time.perf_counter()-t;"
             "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip", default="")
    ap.add_argument("--project", default="django", choices=sorted(PROJECTS))
    ap.add_argument("--dense", action="store_true")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    src = outside_git(fetch(args.project))
    if args.dense:
        dense(src)
        return
    poolsafe = shutil.which("poolsafe", path=str(Path(sys.executable).parent)) or "poolsafe"
    selected, other = edit_targets(src)
    edits = {"poolsafe edit sel": selected, "poolsafe edit other": other}
    originals = {name: path.read_bytes() for name, path in edits.items()}
    cmds: dict[str, list[str]] = {
        "poolsafe cold": [poolsafe, "check", "--no-cache", "--exit-zero", "."],
        "poolsafe cold -j1": [poolsafe, "check", "--no-cache", "--exit-zero", "-j", "1", "."],
        "poolsafe warm": [poolsafe, "check", "--exit-zero", "."],
        "poolsafe edit sel": [poolsafe, "check", "--exit-zero", "."],
        "poolsafe edit other": [poolsafe, "check", "--exit-zero", "."],
        "ruff": [tool("ruff"), "check", "--no-cache", "--select", "ALL", "--exit-zero", "."],
    }
    if "pylint" not in skip:
        cmds["pylint"] = [tool("pylint"), "--disable=all", "--enable=consider-using-with",
                          "--exit-zero", "."]
    if "fixit" not in skip:
        cmds["fixit"] = [tool("fixit"), "lint", "."]
    for s in skip:
        cmds.pop(s, None)
    subprocess.run([poolsafe, "check", "--exit-zero", "."], cwd=src, capture_output=True)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    try:
        for r in range(args.runs):
            for name, cmd in cmds.items():
                if name in edits:
                    edits[name].write_bytes(originals[name] + f"\n# edit {r}\n".encode())
                times[name].append(timed(cmd, src))
                if name in edits:
                    edits[name].write_bytes(originals[name])
                    subprocess.run([poolsafe, "check", "--exit-zero", "."], cwd=src,
                                   capture_output=True)
            print(f"round {r + 1}/{args.runs} done", file=sys.stderr, flush=True)
    finally:
        for name, path in edits.items():
            path.write_bytes(originals[name])
    ruff = statistics.median(w for w, _ in times["ruff"]) if "ruff" in times else None
    n = len(list(src.rglob("*.py")))
    print(f"\n{args.project}: {n} files, {args.runs} runs, {os.cpu_count()} CPUs; edited: "
          f"{selected.relative_to(src)} (selected), {other.relative_to(src)} (not selected)")
    print(f"{'command':<21}{'median s':>10}{'min s':>9}{'peak MB':>9}{'x ruff':>8}")
    for name, rows in times.items():
        med = statistics.median(w for w, _ in rows)
        ratio = f"{med / ruff:.2f}" if ruff else "-"
        print(f"{name:<21}{med:>10.2f}{min(w for w, _ in rows):>9.2f}"
              f"{max(m for _, m in rows):>9.0f}{ratio:>8}")


def edit_targets(src: Path) -> tuple[Path, Path]:
    """A file the prefilter selects, under a `db` directory where there is one (its
    edit re-analyses the selection), and the last one by path that it does not
    select (its edit re-runs the prefilter, and the analysis only if a resolution
    had looked it up)."""
    code = f"""
import os
os.chdir({str(src)!r})
from poolsafe.discovery import discover
from poolsafe.project import module_key
from poolsafe.prefilter import select
files = [f for f in discover(["."]) if not isinstance(f, str)]
datas = [f.path.read_bytes() for f in files]
mods = [module_key(f.relative) for f in files]
chosen = set(select(datas, modules=mods).targets)
rank = lambda i: ("db" not in files[i].relative.parts, str(files[i].relative))
print(files[min(chosen, key=rank)].relative)
# the last unselected file by path: a leaf module, far from the database code
print(files[max(set(range(len(files))) - chosen, key=lambda i: str(files[i].relative))].relative)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return src / out[0], src / out[1]


def dense(src: Path) -> None:
    """Parse-only vs parse + analysis on the prefilter-selected files."""
    code = f"""
import os, sys, time
sys.setrecursionlimit(20000)
os.chdir({str(src)!r})
import libcst as cst
from poolsafe.engine import scan, ScanOptions
from poolsafe.discovery import discover
from poolsafe.project import module_key
from poolsafe.prefilter import select
files = [f for f in discover(["."]) if not isinstance(f, str)]
datas = [f.path.read_bytes() for f in files]
mods = [module_key(f.relative) for f in files]
sel = select(datas, modules=mods).targets
# the selected files alone, as a project of their own: with the prefilter off, a
# scan parses its whole project, and this measures the analysis of these files
import tempfile, pathlib
dense = pathlib.Path(tempfile.mkdtemp(prefix="poolsafe-dense-"))
(dense / "pyproject.toml").write_text("")
for i in sel:
    target = dense / files[i].relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(datas[i])
t = time.perf_counter()
for i in sel:
    cst.parse_module(datas[i].decode("utf-8", "replace"))
parse = time.perf_counter() - t
t = time.perf_counter()
scan([str(dense)], ScanOptions(prefilter=False, jobs=1))
full = time.perf_counter() - t
print(f"dense set: {{len(sel)}} files; libcst parse {{parse:.2f}} s; poolsafe {{full:.2f}} s; "
      f"analysis adds {{(full - parse) / parse:.0%}}")
"""
    subprocess.run([sys.executable, "-c", code], check=True)


if __name__ == "__main__":
    main()

"""Time poolsafe against Ruff, Pylint and Fixit on real code from PyPI (issue 7).

    python benchmarks/run.py [--runs 5] [--skip pylint,fixit] [--project django|dense]
                             [--files 1500] [--dense]

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


def compiled(*sources: str) -> None:
    """Write the bytecode of poolsafe's modules (`sources`: `src` directories; none:
    the poolsafe this Python imports), as an install from a wheel has it. With
    `PYTHONDONTWRITEBYTECODE=1` in the environment (some shells, containers), an
    editable install re-compiles poolsafe's 4.5 MB of source in every run: 0.7 s of
    CPU more per command on this machine, which is not what a user's run costs."""
    if not sources:
        import poolsafe

        sources = (str(Path(poolsafe.__file__).resolve().parent),)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", *sources], env=env,
                   stdout=subprocess.DEVNULL, check=True)


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


def startup_tree(files: int = 300) -> Path:
    """A project of `files` modules without a database word (start-up, issue 14)."""
    dest = Path(tempfile.gettempdir()) / f"poolsafe-startup-{files}"
    if not (dest / "pyproject.toml").exists():
        dest.mkdir(parents=True, exist_ok=True)
        for i in range(files):
            (dest / f"m{i:04d}.py").write_text(
                f"def f{i}(x):\n    return [y * {i} for y in x if y]\n")
        (dest / "pyproject.toml").write_text("")
    return dest


def dense_project(files: int) -> Path:
    from dense_tree import write

    dest = Path(tempfile.gettempdir()) / f"poolsafe-dense-{files}"
    if not (dest / "pyproject.toml").exists():
        write(dest, files, 30)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma-separated row names to leave out")
    ap.add_argument("--project", default="django", choices=[*sorted(PROJECTS), "dense"])
    ap.add_argument("--files", type=int, default=1500, help="modules of the dense project")
    ap.add_argument("--dense", action="store_true")
    args = ap.parse_args()
    compiled()
    skip = set(filter(None, args.skip.split(",")))
    src = (dense_project(args.files) if args.project == "dense"
           else outside_git(fetch(args.project)))
    if args.dense:
        dense(src)
        return
    poolsafe = shutil.which("poolsafe", path=str(Path(sys.executable).parent)) or "poolsafe"
    selected, other = edit_targets(src)
    staged = str(selected.relative_to(src))
    edits = {"poolsafe edit sel": selected, "poolsafe edit other": other,
             "poolsafe edit sel, FILE": selected}
    originals = {name: path.read_bytes() for name, path in edits.items()}
    here = (poolsafe, "check", "--exit-zero")
    cmds: dict[str, tuple[list[str], Path]] = {
        "poolsafe cold": ([*here, "--no-cache", "."], src),
        "poolsafe cold -j1": ([*here, "--no-cache", "-j", "1", "."], src),
        "poolsafe warm": ([*here, "."], src),
        "poolsafe edit sel": ([*here, "."], src),
        "poolsafe edit other": ([*here, "."], src),
        # what a pre-commit hook runs: the staged file alone, after its edit
        "poolsafe edit sel, FILE": ([*here, staged], src),
        "poolsafe start-up": ([*here, "--no-cache", "."], startup_tree()),
        "ruff": ([tool("ruff"), "check", "--no-cache", "--select", "ALL", "--exit-zero", "."],
                 src),
    }
    if "pylint" not in skip:
        cmds["pylint"] = ([tool("pylint"), "--disable=all", "--enable=consider-using-with",
                           "--exit-zero", "."], src)
    if "fixit" not in skip:
        cmds["fixit"] = ([tool("fixit"), "lint", "."], src)
    for s in skip:
        cmds.pop(s, None)
    subprocess.run([poolsafe, "check", "--exit-zero", "."], cwd=src, capture_output=True)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    ratios: list[tuple[float, float]] = []
    try:
        for r in range(args.runs):
            for name, (cmd, cwd) in cmds.items():
                if name in edits:
                    edits[name].write_bytes(originals[name] + f"\n# edit {r}\n".encode())
                times[name].append(timed(cmd, cwd))
                if name in edits:
                    edits[name].write_bytes(originals[name])
                    subprocess.run([poolsafe, "check", "--exit-zero", "."], cwd=src,
                                   capture_output=True)
            if args.project == "dense" and "dense ratio" not in skip:
                ratios.append(dense(src, quiet=True))
            print(f"round {r + 1}/{args.runs} done", file=sys.stderr, flush=True)
    finally:
        for name, path in edits.items():
            path.write_bytes(originals[name])
    ruff = statistics.median(w for w, _ in times["ruff"]) if "ruff" in times else None
    n = len(list(src.rglob("*.py")))
    print(f"\n{args.project}: {n} files, {args.runs} runs, {os.cpu_count()} CPUs; edited: "
          f"{selected.relative_to(src)} (selected), {other.relative_to(src)} (not selected); "
          f"start-up: {startup_tree()} (300 files, no database word)")
    print(f"{'command':<25}{'median s':>10}{'min s':>9}{'peak MB':>9}{'x ruff':>8}")
    for name, rows in times.items():
        med = statistics.median(w for w, _ in rows)
        ratio = f"{med / ruff:.2f}" if ruff and name != "poolsafe start-up" else "-"
        print(f"{name:<25}{med:>10.2f}{min(w for w, _ in rows):>9.2f}"
              f"{max(m for _, m in rows):>9.0f}{ratio:>8}")
    if ratios:
        parse = statistics.median(p for p, _ in ratios)
        full = statistics.median(f for _, f in ratios)
        each = statistics.median(f / p for p, f in ratios)
        print(f"{'dense: libcst parse':<25}{parse:>10.2f}\n{'dense: poolsafe -j1':<25}"
              f"{full:>10.2f}   x parse {each:.2f} (median of the per-round ratios)")
        if "poolsafe cold" in times:  # the CLI, start-up included, parsing on every core
            cold = statistics.median(w for w, _ in times["poolsafe cold"])
            print(f"{'dense: poolsafe cold':<25}{cold:>10.2f}   x parse {cold / parse:.2f} "
                  "(all cores, the whole command)")


def edit_targets(src: Path) -> tuple[Path, Path]:
    """A file the prefilter selects, under a `db` directory where there is one (its
    edit re-analyses the selection), and the last one by path that it does not
    select (its edit re-runs the prefilter, and the analysis only if a resolution
    had looked it up)."""
    code = f"""
import os
os.chdir({str(src)!r})
from poolsafe.core.discovery import discover
from poolsafe.core.project import module_key
from poolsafe.scan.prefilter import select
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


def dense(src: Path, quiet: bool = False) -> tuple[float, float]:
    """Parse-only vs parse + analysis on the prefilter-selected files, in one
    process: (libcst parse seconds, poolsafe seconds)."""
    code = f"""
import os, sys, time
sys.setrecursionlimit(20000)
os.chdir({str(src)!r})
import libcst as cst
from poolsafe.scan.engine import scan, ScanOptions
from poolsafe.core.discovery import discover
from poolsafe.core.project import module_key
from poolsafe.scan.prefilter import select
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
print(parse, full, len(sel))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.split()
    parse, full = float(out[0]), float(out[1])
    if not quiet:
        print(f"dense set: {out[2]} files; libcst parse {parse:.2f} s; poolsafe {full:.2f} s; "
              f"x parse {full / parse:.2f}")
    return parse, full


if __name__ == "__main__":
    main()

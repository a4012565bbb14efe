"""Speed at scale (issue 32): poolsafe on large SQLAlchemy code bases beside Ruff.

    python benchmarks/scale.py [--project superset,airflow,mlflow,prefect] [--runs 3]
                               [--skip ROW,...] [--steps] [--lsp N]

Each code base is a PyPI wheel pinned by version and sha256, downloaded on demand with
`pip download --no-deps` into benchmarks/.data/wheels (gitignored) and unpacked outside
any git work tree (Ruff, like git, skips what benchmarks/.gitignore lists).

Rows, run once per round, the rounds interleaving the commands (median wall time,
minimum, peak RSS of the largest single process, ratio to Ruff's median):
- `cold`: `poolsafe check --no-cache .` (all cores);
- `warm`: `poolsafe check .`, nothing changed, the cache filled;
- `edit leaf FILE`: a function appended to a module the prefilter selects that no
  database code imports, then `poolsafe check FILE` on it alone (pre-commit);
- `edit central FILE`: the same on a module whose facts others read (sessions,
  engines, wrappers);
- `ruff`: `ruff check --no-cache --select ALL .`.
Before a warm or edit row the cache is filled by the poolsafe about to run (with
`--src`, the versions' caches share one file); after an edit row the file is
restored.

`--steps` adds where a cold run's time goes: one in-process scan (`-j1`, no cache)
under cProfile, cumulative seconds of discovery, the prefilter, parsing (libcst and
the module walk), the checks (rules and the project facts they pull in), and the
report, and the same for the `edit central FILE` run.

`--reparses` adds where a cold run parses again (issue 32, round 24): one in-process
scan (`-j1`, no cache), each module an epoch loads (parsed, or loaded from the share's
`ReparseStore`, or handed over) recorded with its epoch and the first function on the
stack outside the index machinery (the *asker*); the bytes an epoch loads that an
earlier epoch had loaded too, by asker and by module.

`--lsp N` adds the editor row: `poolsafe server` on the code base, the central
module open, N edits (a line appended to the buffer, unsaved), from `didChange` to
the diagnostics of that version (debounce 0 and the default 50 ms), with the CPU
seconds the server's process spent on each edit (user + system, from
`/proc/PID/stat`; on a shared machine the wall time moves with the other jobs, the
CPU much less).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from run import compiled, timed, tool

HERE = Path(__file__).resolve().parent
WHEELS = HERE / ".data" / "wheels"


@dataclass(frozen=True)
class CodeBase:
    requirement: str
    wheel: str
    sha256: str
    #: a module the prefilter selects that nothing with database code imports
    leaf: str
    #: a module whose facts (sessions, engines, wrappers) many others read
    central: str


CODE_BASES = {
    "superset": CodeBase(
        "apache-superset==6.1.0", "apache_superset-6.1.0-py3-none-any.whl",
        "4b5886b2d6389a32df790aeae2532ad72529bce1af93b6edf2d1b2a8bf658748",
        "superset/db_engine_specs/gsheets.py", "superset/models/core.py"),
    "airflow": CodeBase(
        "apache-airflow-core==3.3.2", "apache_airflow_core-3.3.2-py3-none-any.whl",
        "99258922bccec15be4700ff89f3c942b8acd93407e263c287ce863e671bb3c50",
        "airflow/api_fastapi/core_api/routes/public/pools.py", "airflow/utils/session.py"),
    "mlflow": CodeBase(
        "mlflow==3.18.0", "mlflow-3.18.0-py3-none-any.whl",
        "be7d84ba0d0b12392f5b53260cdb3e6d7b7ef4b80c29da90a89b5a1f6db7102f",
        "mlflow/store/db/base_sql_model.py", "mlflow/store/db/utils.py"),
    "prefect": CodeBase(
        "prefect==3.9.1", "prefect-3.9.1-py3-none-any.whl",
        "0c662e26e971b617993eed1f3d02fb8bc3c2dd47bee521b495f6e4dfeb38ae74",
        "prefect/server/api/block_capabilities.py",
        "prefect/server/database/configurations.py"),
}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(name: str) -> Path:
    """The unpacked code base (its Python sources and data files), outside git."""
    base = CODE_BASES[name]
    dest = Path(tempfile.gettempdir()) / f"poolsafe-scale-{name}"
    if (dest / "pyproject.toml").exists():
        return dest
    WHEELS.mkdir(parents=True, exist_ok=True)
    wheel = WHEELS / base.wheel
    if not wheel.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--only-binary=:all:", "-d", str(WHEELS), base.requirement],
                       check=True)
    got = _sha256(wheel)
    if got != base.sha256:
        wheel.unlink()
        sys.exit(f"{base.wheel}: sha256 {got}, expected {base.sha256}")
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        # the sources, not the bundled front-end assets (superset ships 100 MB of them)
        z.extractall(dest, [m for m in z.namelist() if "/static/" not in m])
    (dest / "pyproject.toml").write_text(f"[project]\nname = 'bench-{name}'\n")
    return dest


def poolsafe() -> str:
    return shutil.which("poolsafe", path=str(Path(sys.executable).parent)) or "poolsafe"


def fill_cache(src: Path) -> None:
    subprocess.run([poolsafe(), "check", "--exit-zero", "."], cwd=src, capture_output=True)


def edited(data: bytes, r: int) -> bytes:
    """A code edit (not a comment: comments leave the facts digest alone)."""
    return data + f"\n\ndef _poolsafe_bench_edit_{r}():\n    return {r}\n".encode()


def rows(name: str, runs: int, skip: set[str], sources: list[str]
         ) -> dict[str, list[tuple[float, float]]]:
    """The rows of one code base; with `sources` (poolsafe `src` directories, put on
    PYTHONPATH in turn), each poolsafe row once per source in the same round."""
    src = fetch(name)
    base = CODE_BASES[name]
    ps = (poolsafe(), "check", "--exit-zero")
    cmds: dict[str, list[str]] = {
        "cold": [*ps, "--no-cache", "."],
        "warm": [*ps, "."],
        "edit leaf FILE": [*ps, base.leaf],
        "edit central FILE": [*ps, base.central],
        "ruff": [tool("ruff"), "check", "--no-cache", "--select", "ALL", "--exit-zero", "."],
    }
    for s in skip:
        cmds.pop(s, None)
    edits = {"edit leaf FILE": src / base.leaf, "edit central FILE": src / base.central}
    originals = {k: p.read_bytes() for k, p in edits.items()}
    labels = [(f" [{Path(v).parent.name}]", v) for v in sources] or [("", None)]
    runs_of = [(row + (tag if row != "ruff" else ""), row, where) for row in cmds
               for tag, where in (labels if row != "ruff" else labels[:1])]
    times: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in runs_of}
    try:
        for r in range(runs):
            for label, row, where in runs_of:
                if where is not None:
                    os.environ["PYTHONPATH"] = where
                if row in ("warm", *edits):
                    # by the poolsafe about to run: two versions' caches share the
                    # file, and one does not read the other's format
                    fill_cache(src)
                if row in edits:
                    edits[row].write_bytes(edited(originals[row], r))
                times[label].append(timed(cmds[row], src))
                if row in edits:
                    edits[row].write_bytes(originals[row])
            print(f"{name}: round {r + 1}/{runs} done", file=sys.stderr, flush=True)
    finally:
        for row, path in edits.items():
            path.write_bytes(originals[row])
    return times


def print_rows(name: str, times: dict[str, list[tuple[float, float]]]) -> None:
    src = fetch(name)
    n = sum(1 for _ in src.rglob("*.py"))
    ruff = statistics.median(w for w, _ in times["ruff"]) if times.get("ruff") else None
    print(f"\n{name} ({CODE_BASES[name].requirement}): {n} files, "
          f"{len(next(iter(times.values())))} rounds, {os.cpu_count()} CPUs")
    print(f"{'row':<32}{'median s':>10}{'min s':>9}{'peak MB':>9}{'x ruff':>8}")
    for row, got in times.items():
        med = statistics.median(w for w, _ in got)
        ratio = f"{med / ruff:.2f}" if ruff else "-"
        print(f"{row:<32}{med:>10.2f}{min(w for w, _ in got):>9.2f}"
              f"{max(m for _, m in got):>9.0f}{ratio:>8}")


STEPS_PROBE = r"""
import cProfile, os, pstats, sys, time
sys.setrecursionlimit(20000)
os.chdir(sys.argv[1])
import poolsafe.scan.engine as engine
engine.run_deep = lambda fn: fn()  # (the scan in this thread, where cProfile looks)
from poolsafe.scan.engine import scan, ScanOptions
from poolsafe.scan.pipeline import prepare  # noqa: F401  (imported before timing)
target, cache = sys.argv[2], sys.argv[3]
opts = ScanOptions(jobs=1, cache_dir=None if cache == "-" else __import__("pathlib").Path(cache))
prof = cProfile.Profile()
t = time.perf_counter()
prof.enable()
result = scan([target], opts)
prof.disable()
total = time.perf_counter() - t
stats = pstats.Stats(prof)
want = {
    "discovery (build_scope)": ("scope.py", "build_scope"),
    "prefilter (select/reselect)": ("prefilter.py", ("select", "reselect")),
    "parse: libcst parse_module": ("entrypoints.py", "parse_module"),
    "parse + module walk (parse_source)": ("checking.py", "parse_source"),
    "checks (check_module: rules, facts)": ("checking.py", "check_module"),
    "lazy index: module loads": ("lazy_index.py", "_module_at"),
    "project facts": ("project_facts.py", None),
    "cache load/store": ("cache.py", ("load_entry", "store_entry")),
}
print(f"total (profiled) {total:.2f} s, {len(result.findings)} findings")
for label, (fname, funcs) in want.items():
    cum = 0.0
    for (file, _line, func), (_cc, _nc, _tt, ct, callers) in stats.stats.items():
        if not file.endswith(fname):
            continue
        if funcs is None:
            # top-level entries only: functions of this module not called from it
            if any(c[0].endswith(fname) for c in callers):
                continue
        elif func not in (funcs if isinstance(funcs, tuple) else (funcs,)):
            continue
        elif any(c[0].endswith(fname) and c[2] == func for c in callers):
            continue  # (recursion: counted once)
        cum += ct
    print(f"  {label:<40}{cum:>8.2f} s")
"""


def steps(name: str) -> None:
    src = fetch(name)
    base = CODE_BASES[name]
    print(f"\n{name}: where a cold run goes (-j1, in process, no cache, cProfile cumulative)")
    subprocess.run([sys.executable, "-c", STEPS_PROBE, str(src), ".", "-"], check=True)
    cache = Path(tempfile.mkdtemp(prefix="poolsafe-steps-cache-"))
    subprocess.run([sys.executable, "-c", STEPS_PROBE, str(src), ".", str(cache)],
                   check=True, capture_output=True)
    path = src / base.central
    original = path.read_bytes()
    try:
        path.write_bytes(edited(original, 0))
        print(f"{name}: edit central, then check FILE (-j1, in process, warm cache)")
        subprocess.run([sys.executable, "-c", STEPS_PROBE, str(src), base.central,
                        str(cache)], check=True)
    finally:
        path.write_bytes(original)
        shutil.rmtree(cache, ignore_errors=True)


REPARSES_PROBE = r'''
import collections, os, sys
sys.setrecursionlimit(20000)
os.chdir(sys.argv[1])
import poolsafe.scan.engine as engine
engine.run_deep = lambda fn: fn()
from poolsafe.scan import checking
from poolsafe.scan.engine import scan, ScanOptions
MACHINERY = ("scan/checking.py", "scan/lazy_index.py", "analysis/index.py",
             "analysis/resolution.py", "analysis/module.py")
log = []
epochs = [0]
init, load = checking._Epoch.__init__, checking._Epoch.load
def new_init(self, *a, **k):
    init(self, *a, **k)
    epochs[0] += 1
    self.number = epochs[0]
def new_load(self, path):
    if path not in self.parsed:
        f, asker = sys._getframe(1), "?"
        while f is not None:
            name = f.f_code.co_filename.replace(os.sep, "/")
            if "poolsafe/" in name:
                short = name.rsplit("poolsafe/", 1)[1]
                if not short.startswith(MACHINERY):
                    asker = f"{short}:{f.f_code.co_name}"
                    break
            f = f.f_back
        log.append((self.number, path, len(self.by_path[path][1]), asker))
    return load(self, path)
checking._Epoch.__init__, checking._Epoch.load = new_init, new_load
scan(["."], ScanOptions(jobs=1, cache_dir=None))
first, again, by_asker, by_module = {}, 0, collections.Counter(), collections.Counter()
for number, path, size, asker in log:
    if first.setdefault(path, number) != number:
        again += size
        by_asker[asker] += size
        by_module[os.path.relpath(path)] += size
loaded = sum(size for _, _, size, _ in log)
distinct = sum({path: size for _, path, size, _ in log}.values())
print(f"{epochs[0]} epochs, {loaded / 1e6:.2f} MB loaded, {distinct / 1e6:.2f} MB distinct, "
      f"{again / 1e6:.2f} MB again in a later epoch")
for label, table in (("asker", by_asker), ("module", by_module)):
    print(f"  again, by {label}:")
    for key, size in table.most_common(10):
        print(f"    {size / 1e6:6.2f} MB  {key}")
'''


def reparses(name: str) -> None:
    src = fetch(name)
    print(f"\n{name}: modules loaded again in a later epoch (-j1, in process, no cache)")
    subprocess.run([sys.executable, "-c", REPARSES_PROBE, str(src)], check=True)


def _cpu(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` so far (None where there is no
    `/proc`)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # (after the command's closing parenthesis: state is field 3, utime 14, stime 15)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _lsp(src: Path, relative: str, debounce: int, rounds: int
               ) -> tuple[list[float], list[float]]:
    from lsprotocol import types
    from pytest_lsp import make_test_lsp_client

    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "poolsafe", "server")
    await client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=src.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=src.as_uri(), name="bench")],
        initialization_options={"debounce": debounce}))
    uri = (src / relative).as_uri()
    text = (src / relative).read_text()

    async def diagnostics(version: int) -> None:
        while True:
            params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri and params.version == version:
                return

    waiter = asyncio.ensure_future(diagnostics(1))
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text=text)))
    await asyncio.wait_for(waiter, 600)
    times, cpus = [], []
    warmup = 2
    pid = client._server.pid if client._server is not None else None
    for version in range(2, rounds + warmup + 2):
        waiter = asyncio.ensure_future(diagnostics(version))
        await asyncio.sleep(0)
        cpu = _cpu(pid) if pid is not None else None
        start = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(
                text=text + f"\nEDITS = {version}\n")]))
        await asyncio.wait_for(waiter, 600)
        wall = time.perf_counter() - start
        after = _cpu(pid) if pid is not None else None
        if version > warmup + 1:
            times.append(wall)
            if cpu is not None and after is not None:
                cpus.append(after - cpu)
    await client.shutdown_session()
    await client.stop()
    return times, cpus


def lsp(name: str, rounds: int, sources: list[str]) -> None:
    """The editor row; with `sources`, once per poolsafe `src` (on PYTHONPATH)."""
    src = fetch(name)
    central = CODE_BASES[name].central
    for where in sources or [None]:
        tag = f" [{Path(where).parent.name}]" if where is not None else ""
        if where is not None:
            os.environ["PYTHONPATH"] = where
        for label, debounce in (("debounce 0", 0), ("debounce 50 ms", 50)):
            times, cpus = asyncio.run(_lsp(src, central, debounce, rounds))
            # (the diagnostics are published before the memo settles: a settle's CPU
            # falls in the next edit's count, not in its wall time)
            cpu = (f", CPU median {statistics.median(cpus) * 1000:.0f} ms, "
                   f"max {max(cpus) * 1000:.0f} ms" if cpus else "")
            print(f"{name}{tag}: editor, change -> diagnostics ({label}) on {central}: "
                  f"median {statistics.median(times) * 1000:.0f} ms, "
                  f"max {max(times) * 1000:.0f} ms{cpu} ({rounds} edits)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", default=",".join(CODE_BASES))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma-separated row names to leave out")
    ap.add_argument("--steps", action="store_true")
    ap.add_argument("--reparses", action="store_true")
    ap.add_argument("--no-rows", action="store_true")
    ap.add_argument("--lsp", type=int, default=0, metavar="N")
    ap.add_argument("--src", default="", help="comma-separated poolsafe src directories "
                    "to compare in the same rounds (e.g. /tmp/before/src,src)")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    sources = [str(Path(v).resolve()) for v in args.src.split(",") if v]
    compiled(*sources)
    for name in args.project.split(","):
        if not args.no_rows:
            print_rows(name, rows(name, args.runs, skip, sources))
        if args.steps:
            steps(name)
        if args.reparses:
            reparses(name)
        if args.lsp:
            lsp(name, args.lsp, sources)
        sys.stdout.flush()


if __name__ == "__main__":
    main()

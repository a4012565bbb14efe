"""Which program opens which pool: the entry points of a project and the modules each
reaches through imports.

A process imports its entry module (the module a gunicorn / uvicorn / celery /
dramatiq command names, `python -m pkg`, `python script.py`, a console script of
`pyproject.toml`, a script with a `__main__` block), then whatever that module imports,
and so on. A pool built in a module that a program never imports is not opened by that
program. The import graph is read from the source text (`import a.b`, `from .x import
y`, at any depth of the module: a Flask factory imports its blueprints inside a
function), without parsing, so that finding the modules of a large application costs
a regex per file.

An entry whose module is not in the project, or that several files could be (two
`app.py` in a tree of examples, none under the declaring file's directory), is
unresolved: its pools are not known, and it adds nothing to a budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ModuleInfo
from poolsafe.core.discovery import SHEBANG_BYTES, is_script_name, python_shebang
from poolsafe.core.project import importable_from, module_key, module_names

#: options of application servers that take no value (any other `-x` takes the next
#: token as its value, unless it is written `--x=value`)
_FLAGS = frozenset({
    "--reload", "--preload", "--daemon", "-D", "--proxy-headers", "--no-proxy-headers",
    "--factory", "--no-access-log", "--use-colors", "--no-use-colors", "--debug",
    "--check-config", "--print-config", "--spew", "--capture-output", "--enable-stdio-inheritance",
    "--reuse-port", "--no-server-header", "--no-date-header", "--http2", "--access-log",
    "-B", "--beat", "-E", "--without-gossip", "--without-mingle", "--without-heartbeat",
    "--detach", "--watch", "--no-color", "--verbose", "-v", "-q", "--quiet", "--skip-logging",
    "--no-sendfile",
})
#: options that take a value although they look like flags elsewhere
_VALUED = frozenset({"-w", "--workers", "-k", "--worker-class", "-b", "--bind", "-c",
                     "--config", "--chdir", "-t", "--timeout", "--threads", "-p",
                     "--processes", "--host", "--port", "--log-level", "-l", "--loglevel",
                     "-Q", "--queues", "-n", "--hostname", "-P", "--pool", "--app", "-A",
                     "--concurrency", "--autoscale", "--root-path", "--env-file",
                     "--log-config", "--uds", "--fd", "--path", "--name"})
_MODULE = re.compile(r"^[A-Za-z_][\w.]*(?::[\w.()\[\]'\", =]*)?$")
_IMPORT = re.compile(
    rb"^[ \t]*(?:import[ \t]+(?P<names>[\w. ,\t]+)"
    rb"|from[ \t]+(?P<base>\.*[\w.]*)[ \t]+import[ \t]+(?P<what>\([^)]*\)|[^\n#;]+))",
    re.M)
#: what `fastapi run` with no path runs: the first of these that exists
FASTAPI_DEFAULT_FILES = ("main.py", "app.py", "api.py", "app/main.py", "app/app.py",
                         "app/api.py")
#: how many modules one entry point's closure may hold (a bound for hostile trees)
MAX_REACHED = 20_000


@dataclass(frozen=True)
class EntryPoint:
    """What a process starts from: dotted module names (`shop.wsgi`) or script paths
    relative to the project (`tools/backup.py`); `base` is the directory (relative)
    the command runs in, where a name is looked for first."""

    targets: tuple[str, ...]
    base: str = ""
    #: the targets are alternatives, the first one found is the entry (`fastapi run`
    #: with no path looks for main.py, app.py, ...)
    first_found: bool = False

    def text(self) -> str:
        return ", ".join(self.targets)


def _positionals(args: list[str]) -> list[str]:
    """The arguments of a command line that are neither options nor their values."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            if "=" in arg or arg in _FLAGS:
                continue
            skip = arg in _VALUED or arg.startswith("--") or len(arg) == 2
            continue
        out.append(arg)
    return out


def module_part(spec: str) -> str | None:
    """`pkg.mod` of `pkg.mod:app` / `pkg.mod:create_app()`; None if not a module name."""
    if not _MODULE.match(spec):
        return None
    name = spec.split(":", 1)[0]
    return name if all(p.isidentifier() for p in name.split(".")) else None


def _option_value(args: list[str], names: tuple[str, ...]) -> str | None:
    found = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                found = args[i + 1]
            elif arg.startswith(name + "=") and name.startswith("--"):
                found = arg.split("=", 1)[1]
            elif not name.startswith("--") and arg.startswith(name) and len(arg) > len(name):
                found = arg[len(name):]
    return found


def command_entry(program: str, args: list[str], env: Mapping[str, str],
                  base: str = "") -> EntryPoint | None:
    """The entry point a command line names (`args` follow the program), or None when it
    names none that can be read (`rq worker`, a variable that is not set)."""
    targets: list[str] = []
    if program in ("gunicorn", "uvicorn", "hypercorn", "daphne", "granian"):
        spec = _option_value(args, ("--app",))
        pos = _positionals(args)
        if spec is None and pos:
            spec = pos[-1]
        if spec is None and program == "gunicorn":
            spec = env.get("APP_MODULE")
        name = module_part(spec) if spec else None
        if name is not None:
            targets.append(name)
    elif program == "celery":
        app = _option_value(args, ("-A", "--app"))
        name = module_part(app) if app else None
        if name is not None:
            # `-A proj` loads `proj.celery` (with `proj` above it) when there is one,
            # else `proj`; `-A proj.app` may name the attribute `app` of `proj`
            alternatives = [f"{name}.celery", name]
            if "." in name:
                alternatives.append(name.rsplit(".", 1)[0])
            return EntryPoint(tuple(alternatives), base, first_found=True)
    elif program == "dramatiq":
        pos = [p for p in _positionals(args) if module_part(p)]
        targets.extend(n for p in pos if (n := module_part(p)) is not None)
    elif program == "fastapi":
        pos = _positionals(args)
        path = next((p for p in pos if p.endswith(".py")), None)
        if path is not None:
            targets.append(path)
        elif not pos or pos == ["run"] or pos == ["dev"]:
            return EntryPoint(FASTAPI_DEFAULT_FILES, base, first_found=True)
    elif program == "flask":
        app = _option_value(args, ("--app", "-A")) or env.get("FLASK_APP")
        if app:
            name = app if app.endswith(".py") else module_part(app)
            if name is not None:
                targets.append(name)
    elif program == "python":
        if "-m" in args:
            i = args.index("-m")
            if i + 1 < len(args) and module_part(args[i + 1]):
                targets.extend([args[i + 1], f"{args[i + 1]}.__main__"])
        else:
            script = next((a for a in args if a.endswith(".py")), None)
            if script is None:
                # `python bin/etl-nightly`: a script without a suffix, by its path
                first = next((a for a in args if not a.startswith("-")), None)
                if first is not None and "/" in first and is_script_name(
                        first.rsplit("/", 1)[-1]):
                    script = first
            if script is not None:
                targets.append(script)
    if not targets:
        return None
    return EntryPoint(tuple(targets), base)


# ------------------------------------------------------------------ imports
def imported_names(source: bytes, package: str) -> set[str]:
    """Every module name an import of `source` may load (with the packages above it:
    `import a.b` runs `a/__init__.py` too), relative imports made absolute from
    `package`."""
    out: set[str] = set()

    def add(name: str) -> None:
        parts = [p for p in name.split(".") if p]
        for i in range(1, len(parts) + 1):
            out.add(".".join(parts[:i]))

    for m in _IMPORT.finditer(source):
        names = m.group("names")
        if names is not None:
            for item in names.decode("ascii", "replace").split(","):
                add(item.strip().split()[0] if item.strip() else "")
            continue
        base = m.group("base").decode("ascii", "replace")
        level = len(base) - len(base.lstrip("."))
        base = base.lstrip(".")
        if level:
            pkg = package.split(".") if package else []
            drop = level - 1
            pkg = pkg[: len(pkg) - drop] if drop <= len(pkg) else []
            base = ".".join([*pkg, base] if base else pkg)
        if base:
            add(base)
        what = m.group("what").decode("ascii", "replace").strip("() \t\r\n\\")
        for item in what.split(","):
            word = item.strip().split()
            if word and word[0].isidentifier():
                add(f"{base}.{word[0]}" if base else word[0])
    return out


class ImportGraph:
    """The project modules each entry point reaches; module files are asked of the
    index by name (`ProjectIndex.module_files`) and read, not parsed."""

    def __init__(self, index: ProjectIndex, root: Path) -> None:
        self.index = index
        self.root = root
        self._edges: dict[Path, set[Path]] = {}
        self._files: dict[Path, str] = {}
        # what `resolve` and `reach` answered: every module's check asks them again
        # for each process group of the project (PS208), and neither answer changes
        # while the index lives (files are found by name, not by what is parsed)
        self._resolved: dict[EntryPoint, tuple[list[Path], list[str]]] = {}
        self._reached: dict[tuple[Path, ...], frozenset[Path]] = {}

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def _modules(self, name: str, near: Path | None) -> list[Path]:
        found: list[tuple[Path, str]] = []
        for path, source in self.index.module_files(name):
            if near is not None and not importable_from(str(path), name, str(near)):
                continue
            found.append((path, source))
        if near is not None and len(found) > 1:
            # several services of one repository, each with its own `app` package:
            # the importer's service is the one whose import root holds the importer
            own = [(p, src) for p, src in found if _root_holds(p, name, near)]
            if own:
                found = own
        for path, source in found:
            self._files.setdefault(path, source)
        return [path for path, _ in found]

    def resolve(self, entry: EntryPoint) -> tuple[list[Path], list[str]]:
        """The files an entry point starts from, and its targets that could not be
        found (or are ambiguous)."""
        found = self._resolved.get(entry)
        if found is None:
            found = self._resolved[entry] = self._resolve(entry)
        return list(found[0]), list(found[1])

    def _resolve(self, entry: EntryPoint) -> tuple[list[Path], list[str]]:
        starts: list[Path] = []
        missing: list[str] = []
        for target in entry.targets:
            found = self._target(target, entry.base)
            if found and entry.first_found:
                return found, []
            if found:
                starts.extend(found)
            elif not target.endswith((".celery", ".__main__")) and not entry.first_found:
                missing.append(target)
        if entry.first_found:
            return [], [entry.text()]
        return starts, missing

    def _target(self, target: str, base: str) -> list[Path]:
        if target.endswith(".py") or "/" in target:
            rel = PurePosixPath(target.removeprefix("./"))
            if is_script_name(rel.name):
                return self._script(str(rel), base)
            names, _ = module_names(Path(rel))
            if not names:
                return []
            spelled = {str(rel), f"src/{rel}"} | ({f"{base}/{rel}"} if base else set())
            candidates = [p for p in self._modules(names[-1], None)
                          if self.relative(p) in spelled]
            return self._pick(candidates, base, names[0])
        # `a.b.c` runs `a` and `a.b` first: each level that is in the project
        parts = target.split(".")
        out: list[Path] = []
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            picked = self._pick(self._modules(prefix, None), base, prefix)
            out.extend(picked)
        # the named module itself must be found, else the entry is not known
        last = self._pick(self._modules(target, None), base, target)
        return out if last else []

    def _script(self, rel: str, base: str) -> list[Path]:
        """The Python script without a suffix at `rel` (under `base` first): a
        module nobody imports, found by its path among the shebang scripts."""
        scripts = {self.relative(m.abspath): m for m in project_scripts(self.index)}
        for spelled in ([f"{base}/{rel}"] if base else []) + [rel, f"src/{rel}"]:
            found = scripts.get(spelled)
            if found is not None:
                self._files.setdefault(found.abspath, found.source)
                return [found.abspath]
        return []

    def _pick(self, candidates: list[Path], base: str, name: str) -> list[Path]:
        """The file `name` means when the command runs in `base`: the one under `base`,
        else the one importable as `name` from the top (or `src/`); None if several."""
        if len(candidates) <= 1:
            return candidates
        stem = name.replace(".", "/")
        spelled = {f"{stem}.py", f"{stem}/__init__.py"}
        for prefix in ([f"{base}/"] if base else []) + ["", "src/"]:
            exact = [p for p in candidates
                     if self.relative(p).removeprefix(prefix) in spelled
                     and self.relative(p).startswith(prefix)]
            if len(exact) == 1:
                return exact
        if base:
            near = [p for p in candidates if self.relative(p).startswith(f"{base}/")]
            if len(near) == 1:
                return near
        return []

    def source(self, path: Path) -> str:
        """The source of a file `resolve` or `reach` found ("" for another one)."""
        return self._files.get(path, "")

    def reach_modules(self, modules: Iterable[ModuleInfo]) -> set[Path]:
        """`reach` from parsed modules (their source is known already)."""
        starts = []
        for m in modules:
            self._files.setdefault(m.abspath, m.source)
            starts.append(m.abspath)
        return self.reach(starts)

    def reach_files(self, files: Iterable[tuple[Path, str]]) -> set[Path]:
        """`reach` from files given with their source (parsed or not)."""
        starts = []
        for path, source in files:
            self._files.setdefault(path, source)
            starts.append(path)
        return self.reach(starts)

    def reach(self, starts: Iterable[Path]) -> set[Path]:
        """Every project file the modules in `starts` import, transitively."""
        key = tuple(starts)  # (in order: the walk stops at `MAX_REACHED` files)
        known = self._reached.get(key)
        if known is None:
            known = self._reached[key] = frozenset(self._reach(key))
        return set(known)

    def _reach(self, starts: Iterable[Path]) -> set[Path]:
        seen: set[Path] = set()
        todo = list(starts)
        while todo and len(seen) < MAX_REACHED:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            todo.extend(self._imports(path) - seen)
        return seen

    def _imports(self, path: Path) -> set[Path]:
        found = self._edges.get(path)
        if found is None:
            found = set()
            source = self._files.get(path, "")
            _, package = module_key(Path(self.relative(path)))
            for name in sorted(imported_names(source.encode("utf-8", "replace"), package)):
                found.update(p for p in self._modules(name, path) if p != path)
            # `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")` in a
            # wsgi, asgi or celery module: the process loads those settings
            for name in DJANGO_SETTINGS_DEFAULT.findall(source):
                found.update(p for p in self._modules(name, None) if p != path)
            self._edges[path] = found
        return found


def _root_holds(path: Path, name: str, importer: Path) -> bool:
    """The directory `name` is imported from when it means the file `path` (for
    `app.db` at `svc/app/db.py`: `svc/`) holds `importer`."""
    depth = name.count(".") + (1 if path.name == "__init__.py" else 0)
    root = path.parent
    for _ in range(depth):
        root = root.parent
    try:
        importer.relative_to(root)
    except ValueError:
        return False
    return True


#: the settings module a Django entry point names by default
DJANGO_SETTINGS_DEFAULT = re.compile(
    r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]""")

#: a module that runs as a program of its own
MAIN_BLOCK = re.compile(rb"^if\s+__name__\s*==\s*['\"]__main__['\"]\s*:", re.M)
#: the bytes of a script that may run Python (`core.discovery.python_shebang` decides)
SCRIPT_SHEBANG = re.compile(rb"\A#![^\n]*(?:python|pypy|uv)")


def is_project_script(abspath: Path, source: str) -> bool:
    """Whether a project file is a Python script without a suffix (its first line a
    Python shebang): a program of its own, run as `__main__`, imported by nobody."""
    return is_script_name(abspath.name) and python_shebang(
        source[:SHEBANG_BYTES].encode("utf-8", "replace"))


def project_scripts(index: ProjectIndex) -> list[ModuleInfo]:
    """The project's Python scripts without a suffix (`bin/metasrht-daily`), parsed."""
    return [m for m in index.modules_matching(SCRIPT_SHEBANG)
            if is_project_script(m.abspath, m.source)]

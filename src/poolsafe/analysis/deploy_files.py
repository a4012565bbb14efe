"""The deployment files of a project, read safely: compose files, Kubernetes
manifests, Procfile, Dockerfile, gunicorn configuration, `.env*` files and server
configuration (`postgresql.conf`, `my.cnf`).

A file that is too large, not UTF-8, or not readable is skipped with a note that
says why (`Problem`); nothing here raises on user input. The project is either a
directory on disk or the in-memory files of the rule-case harness.
"""

from __future__ import annotations

import ast
import os
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poolsafe.analysis.index import ProjectIndex
    from poolsafe.analysis.module import ModuleInfo

#: deployment files larger than this are not read
MAX_DEPLOY_FILE_BYTES = 1_000_000
#: all deployment files together: beyond this, further files are not read
MAX_TOTAL_BYTES = 20_000_000
#: how deep below the root manifests are looked for, and how many files at most
MAX_DEPTH = 4
MAX_FILES = 400

_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "env", "__pycache__",
                        ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache", "site-packages",
                        ".poolsafe_cache", "dist", "build"})
#: directories whose whole tree is read for manifests (others: one level)
_DEPLOY_DIRS = frozenset({"k8s", "kubernetes", "kube", "deploy", "deployment", "deployments",
                          "manifests", "helm", "charts", "infra", "ops", "docker", ".docker",
                          "config", "conf", "etc", "kustomize", "overlays", "base", ".k8s"})
#: `.env` files that document variables instead of setting them
_ENV_TEMPLATES = ("example", "sample", "template", "dist", "defaults", "tmpl")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


@dataclass
class ProjectFiles:
    """The files of one project by path relative to its root (POSIX separators)."""

    root: Path
    #: relative path -> text, for an in-memory project (None: read the disk)
    virtual: Mapping[str, str] | None = None
    problems: list[Problem] = field(default_factory=list)
    _listing: list[str] | None = None
    #: parsed documents by (kind, path), so each file is parsed once per project
    parsed: dict[tuple[str, str], Any] = field(default_factory=dict)
    _read_bytes: int = 0

    def listing(self) -> list[str]:
        """Relative paths, the project's own first: a monorepo's backend/ project
        also sees the deployment files of the repository around it (`../compose.yml`)."""
        if self._listing is None:
            if self.virtual is not None:
                self._listing = sorted(self.virtual)
            else:
                self._listing = sorted(_walk(self.root) + _above(self.root),
                                       key=lambda p: (p.count("../"), p))
        return self._listing

    def resolve(self, base: str, *parts: str) -> str | None:
        """`parts` joined to the directory `base` (relative), as a listed path."""
        joined = posixpath.normpath(posixpath.join(base or ".", *parts))
        if self.virtual is None:
            joined = os.path.relpath(os.path.normpath(os.path.join(self.root, joined)),
                                     self.root).replace(os.sep, "/")
        return joined if joined in self.listing() else None

    def exists(self, rel: str) -> bool:
        """Whether `rel` is a file of the repository (listed or not)."""
        if self.virtual is not None:
            return rel in self.virtual
        return not rel.startswith("../") and (self.root / rel).is_file()

    def top_directories(self) -> list[str]:
        """The names of the repository's own top-level directories."""
        if self.virtual is not None:
            return sorted({p.split("/", 1)[0] for p in self.virtual if "/" in p
                           and not p.startswith("../")})
        try:
            return sorted(e.name for e in os.scandir(self.root)
                          if e.is_dir(follow_symlinks=False) and e.name not in _SKIP_DIRS)
        except OSError:
            return []

    def read(self, rel: str) -> str | None:
        """The text of a file, or None (with a problem recorded) when it cannot be read."""
        if self.virtual is not None:
            return self.virtual.get(rel)
        key = ("text", rel)
        if key not in self.parsed:
            self.parsed[key] = self._read(rel)
        text: str | None = self.parsed[key]
        return text

    def _read(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            size = path.stat().st_size
            if size > MAX_DEPLOY_FILE_BYTES:
                self.note(rel, f"not read: {size} bytes, more than {MAX_DEPLOY_FILE_BYTES}")
                return None
            if self._read_bytes + size > MAX_TOTAL_BYTES:
                self.note(rel, f"not read: the deployment files read so far exceed "
                               f"{MAX_TOTAL_BYTES} bytes")
                return None
            with path.open("rb") as f:
                data = f.read(MAX_DEPLOY_FILE_BYTES + 1)
            if len(data) > MAX_DEPLOY_FILE_BYTES:
                self.note(rel, f"not read: more than {MAX_DEPLOY_FILE_BYTES} bytes")
                return None
            self._read_bytes += len(data)
        except OSError as exc:
            self.note(rel, f"not read: {exc.strerror or exc}")
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.note(rel, "not read: not UTF-8 text")
            return None

    def note(self, rel: str, message: str) -> None:
        problem = Problem(rel, message)
        if problem not in self.problems:
            self.problems.append(problem)

    # ------------------------------------------------------------ kinds of file
    def compose_files(self) -> list[str]:
        return [p for p in self.listing() if _is_compose(p)]

    def yaml_files(self) -> list[str]:
        return [p for p in self.listing() if p.endswith((".yml", ".yaml")) and not _is_compose(p)
                and not p.rsplit("/", 1)[-1].startswith(".")]

    def named(self, *names: str) -> list[str]:
        return [p for p in self.listing() if p.rsplit("/", 1)[-1] in names]

    def console_scripts(self) -> dict[str, str]:
        """The project's console scripts (`[project.scripts]`, `[tool.poetry.scripts]`
        of its own `pyproject.toml`): command name -> the module it runs."""
        key = ("scripts", "pyproject.toml")
        if key not in self.parsed:
            self.parsed[key] = _console_scripts(self.read("pyproject.toml")
                                                if "pyproject.toml" in self.listing()
                                                else None)
        found: dict[str, str] = self.parsed[key]
        return found

    def console_callables(self) -> frozenset[str]:
        """The `module:function` references the project's console scripts name
        (`[project.scripts]`, `[tool.poetry.scripts]` of its `pyproject.toml`, the
        `console_scripts` of `setup.cfg`'s `[options.entry_points]`, and those a
        `setup.py` hands `setup(entry_points={"console_scripts": [...]})`): each runs
        once per invocation of its command."""
        key = ("callables", "console")
        if key not in self.parsed:
            found: set[str] = set()
            if "pyproject.toml" in self.listing():
                doc = toml_document(self.read("pyproject.toml"))
                for table in (doc.get("project", {}).get("scripts"),
                              doc.get("tool", {}).get("poetry", {}).get("scripts")):
                    if isinstance(table, dict):
                        found.update(_callable_ref(v) for v in table.values())
            if "setup.cfg" in self.listing():
                found.update(_setup_cfg_console(self.read("setup.cfg") or ""))
            if "setup.py" in self.listing():
                found.update(_setup_py_console(self.read("setup.py") or ""))
            found.discard("")
            self.parsed[key] = frozenset(found)
        callables: frozenset[str] = self.parsed[key]
        return callables

    def poolsafe_settings(self) -> dict[str, Any]:
        """The `[tool.poolsafe]` table of the project's own pyproject.toml (empty when
        there is none or it does not parse): what an in-memory project, such as a
        rule case, declares (`pgbouncer = true`, `direct-connections = "strict"`)."""
        key = ("poolsafe", "pyproject.toml")
        if key not in self.parsed:
            tool = toml_document(self.read("pyproject.toml")).get("tool")
            table = tool.get("poolsafe") if isinstance(tool, dict) else None
            self.parsed[key] = table if isinstance(table, dict) else {}
        found: dict[str, Any] = self.parsed[key]
        return found

    def env_files(self) -> list[str]:
        """`.env` and `.env.<name>` at the root or in the directories above it, up to
        the repository (templates such as `.env.example` are not environments)."""
        out = []
        for p in self.listing():
            name = p.replace("../", "")
            if "/" in name or not (name == ".env" or name.startswith(".env.")):
                continue
            if p.rsplit(".", 1)[-1].lower() in _ENV_TEMPLATES:
                continue
            out.append(p)
        return out


def _above(root: Path) -> list[str]:
    """The deployment files of the directories above `root`, up to the repository's
    top (the nearest one with `.git`): their own files and manifest directories, not
    their other subdirectories (sibling projects). None when no repository holds
    `root`."""
    chain = []
    current = root
    for _ in range(8):
        if (current / ".git").exists():
            break
        if current.parent == current:
            return []
        current = current.parent
        chain.append(current)
    else:
        return []
    if not chain or not (chain[-1] / ".git").exists():
        return []
    out: list[str] = []
    for depth, directory in enumerate(chain, start=1):
        prefix = "../" * depth
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and _interesting(entry.name):
                    out.append(prefix + entry.name)
                elif entry.is_dir(follow_symlinks=False) and entry.name.lower() in _DEPLOY_DIRS:
                    out.extend(prefix + entry.name + "/" + p
                               for p in _walk(Path(entry.path), MAX_DEPTH - 1))
            except OSError:
                continue
    return out[:MAX_FILES]


def _is_compose(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.endswith((".yml", ".yaml")) and (
        name.startswith(("docker-compose", "compose.", "compose-")) or name in {
            "compose.yml", "compose.yaml"})


def _walk(root: Path, max_depth: int = MAX_DEPTH) -> list[str]:
    out: list[str] = []

    def visit(directory: str, rel: str, depth: int) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if len(out) >= MAX_FILES:
                return
            sub = f"{rel}{entry.name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in _SKIP_DIRS or depth >= max_depth:
                        continue
                    # the root's own directories (a monorepo's backend/) and anything
                    # below a directory of manifests (k8s/overlays/prod/...)
                    if depth == 0 or entry.name.lower() in _DEPLOY_DIRS or (
                            set(rel.lower().split("/")) & _DEPLOY_DIRS):
                        visit(entry.path, sub + "/", depth + 1)
                elif entry.is_file(follow_symlinks=False) and _interesting(entry.name):
                    out.append(sub)
            except OSError:
                continue

    visit(str(root), "", 0)
    return out


_NAMES = frozenset({"Procfile", "Dockerfile", "gunicorn.conf.py", "gunicorn_conf.py",
                    "gunicorn.py", "gunicorn_config.py", "postgresql.conf", "my.cnf",
                    "mysqld.cnf", "pgbouncer.ini", "pyproject.toml", "setup.cfg", "setup.py"})


def _interesting(name: str) -> bool:
    return (name in _NAMES or name.endswith((".yml", ".yaml")) or name == ".env"
            or name.startswith((".env.", "Dockerfile.")) or name.endswith(".Dockerfile")
            or name.endswith((".cnf", ".sh"))
            or (name.endswith(".ini") and "uwsgi" in name.lower()))


def deployment_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of the deployment files, for cache keys: PS208 and PS210
    findings change when one of them does."""
    out = []
    for rel in _walk(root) + _above(root):
        try:
            st = (root / rel).stat()
        except OSError:
            continue
        out.append((rel, st.st_size, st.st_mtime_ns))
    return tuple(out)


def iter_lines(text: str) -> Iterator[str]:
    """Lines with backslash continuations joined (Dockerfile, Procfile)."""
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def toml_document(text: str | None) -> dict[str, Any]:
    """A TOML file's document, or an empty one when there is no text or it does not
    parse."""
    if not text:
        return {}
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except ValueError:  # (TOMLDecodeError is one)
        return {}


def _callable_ref(spec: object) -> str:
    """`pkg.cli:main` (also `{callable = "pkg.cli:main"}`), spaces and extras
    (`[gui]`) dropped; "" when it names no function."""
    if isinstance(spec, dict):
        spec = spec.get("callable") or spec.get("reference")
    if not isinstance(spec, str) or ":" not in spec:
        return ""
    module, _, func = spec.partition(":")
    func = func.split("[", 1)[0].strip()
    return f"{module.strip()}:{func}" if module.strip() and func else ""


def _setup_py_console(text: str) -> list[str]:
    """The `module:function` references of the `console_scripts` a `setup.py` hands
    `setup(...)` (setuptools' or distutils'), written as literals: `entry_points=
    {"console_scripts": ["tool = pkg.cli:main", ...]}` (a list, a tuple or one string
    of such lines), or `entry_points` as an ini string whose `[console_scripts]`
    section lists them. Entry points computed at run time (a name, a call) are not
    read; a `setup.py` that does not parse names none."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    out: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func
        name = callee.id if isinstance(callee, ast.Name) else (
            callee.attr if isinstance(callee, ast.Attribute) else "")
        if name != "setup":
            continue
        for kw in node.keywords:
            if kw.arg != "entry_points":
                continue
            if isinstance(kw.value, ast.Dict):
                for key, value in zip(kw.value.keys, kw.value.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "console_scripts":
                        out.extend(_entry_lines(value))
            elif isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                out.extend(_callable_ref(line.split("=", 1)[1])
                           for line in _ini_section(kw.value.value, "console_scripts")
                           if "=" in line)
    return [ref for ref in out if ref]


def _entry_lines(value: ast.expr) -> list[str]:
    """`name = module:function` entries of a literal list, tuple or string."""
    if isinstance(value, (ast.List, ast.Tuple)):
        items = [e.value for e in value.elts
                 if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    elif isinstance(value, ast.Constant) and isinstance(value.value, str):
        items = value.value.splitlines()
    else:
        return []
    return [_callable_ref(item.split("=", 1)[1]) for item in items if "=" in item]


def _ini_section(text: str, section: str) -> list[str]:
    """The lines of `[section]` of an ini-style string."""
    out: list[str] = []
    inside = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("["):
            inside = line.lower() == f"[{section}]"
        elif inside and line:
            out.append(line)
    return out


def _setup_cfg_console(text: str) -> list[str]:
    """The `name = module:function` lines of `console_scripts` under setup.cfg's
    `[options.entry_points]`."""
    out: list[str] = []
    section = ""
    in_console = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line.startswith("["):
            section = line.strip().lower()
            in_console = False
            continue
        if section != "[options.entry_points]" or not line.strip():
            continue
        if not raw[:1].isspace():
            in_console = line.split("=", 1)[0].strip() == "console_scripts"
            rest = line.split("=", 1)[1] if "=" in line else ""
            if in_console and "=" in rest:
                out.append(_callable_ref(rest.split("=", 1)[1]))
            continue
        if in_console and "=" in line:
            out.append(_callable_ref(line.split("=", 1)[1]))
    return out


def _console_scripts(text: str | None) -> dict[str, str]:
    doc = toml_document(text)
    tables = [doc.get("project", {}).get("scripts"),
              doc.get("tool", {}).get("poetry", {}).get("scripts")]
    out: dict[str, str] = {}
    for table in tables:
        if not isinstance(table, dict):
            continue
        for name, spec in table.items():
            if isinstance(spec, dict):
                spec = spec.get("callable") or spec.get("reference")
            if isinstance(spec, str) and spec.split(":", 1)[0].strip():
                out[str(name)] = spec.split(":", 1)[0].strip()
    return out


def project_files(index: ProjectIndex, module: ModuleInfo) -> ProjectFiles:
    """The deployment files of the project `module` belongs to (the rule-case
    harness's in-memory files for a project in memory). One per project root for
    the life of the index: its listing walks the disk, and the rules ask for every
    function they judge."""
    from poolsafe.core.project import find_project_root

    known: dict[str, ProjectFiles] = index.derived(_PROJECT_FILES, dict)
    virtual_project = bool(index.text_files) or module.abspath.parts[:2] == ("/", "virtual")
    directory = "/virtual" if virtual_project else str(module.abspath.parent)
    found = known.get(directory)
    if found is not None:
        return found
    if virtual_project:
        virtual = {p.relative_to("/virtual").as_posix(): text
                   for p, text in index.text_files.items()}
        # Python configuration (gunicorn.conf.py) is a module of the in-memory project
        for m in index.modules:
            virtual.setdefault(m.path, m.source)
        found = ProjectFiles(Path("/virtual"), virtual)
    else:
        root = find_project_root(module.abspath)
        found = next((f for f in known.values() if f.root == root), None) \
            or ProjectFiles(root)
    known[directory] = found
    return found


#: `ProjectIndex.derived` key: the `ProjectFiles` of each module directory
_PROJECT_FILES = "deploy_files.project_files"

"""`[tool.poolsafe]` in `pyproject.toml`: finding it, validating it, merging it with
command-line flags.

Every problem is a `ConfigError` whose message is one line naming the file and the
key; the CLI prints it and exits 2.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poolsafe.core.discovery import translate_glob
from poolsafe.core.model import Severity
from poolsafe.core.project import DIRECT_CONNECTION_POLICIES, ProjectConfig, project_relative
from poolsafe.knowledge.libraries import CONNECTION_KINDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: configuration files of poolsafe's own, by precedence within one directory (Ruff's
#: order for .ruff.toml, ruff.toml and pyproject.toml)
DEDICATED_CONFIG_NAMES = (".poolsafe.toml", "poolsafe.toml")

#: the connection kind of a configured acquire function given as a plain list
DEFAULT_ACQUIRE_KIND = "psycopg2-pool"

KEYS = (
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "extend-exclude",
    "force-exclude",
    "per-file-ignores",
    "severity",
    "acquire",
    "release",
    "session-dependencies",
    "src",
    "pgbouncer",
    "direct-connections",
)


class ConfigError(Exception):
    """A configuration or usage problem; the message is one line for the user."""


@dataclass
class Config:
    #: the file the settings came from (None: defaults only)
    path: Path | None = None
    #: the directory that relative globs are matched against
    root: Path = field(default_factory=Path.cwd)
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    force_exclude: bool = False
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    severity: dict[str, Severity] = field(default_factory=dict)
    project: ProjectConfig = field(default_factory=ProjectConfig)
    #: import roots, relative to the project root (like Ruff's `src`)
    src: list[str] = field(default_factory=list)
    #: the application reaches PostgreSQL through PgBouncer in transaction mode
    #: (PS210 reads it from the project's pyproject.toml itself)
    pgbouncer: bool = False

    @property
    def label(self) -> str:
        return display_path(self.path) if self.path else "configuration"


def display_path(path: Path) -> str:
    """`path` relative to the current directory when it is inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


# --------------------------------------------------------------------------- finding


def _has_tool_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*\[\s*tool\s*\.\s*poolsafe\b", text, re.MULTILINE) is not None


def find_config_file(paths: Sequence[str], cwd: Path | None = None) -> Path | None:
    """The nearest configuration, walking up from the common directory of the scanned
    paths (or the current directory): in each directory `.poolsafe.toml`, then
    `poolsafe.toml` (settings at the top level), then a `pyproject.toml` with a
    `[tool.poolsafe]` table."""
    cwd = cwd or Path.cwd()
    starts = []
    for p in paths or ["."]:
        path = (cwd / p).resolve()
        starts.append(path if path.is_dir() else path.parent)
    try:
        start = Path(os.path.commonpath([str(s) for s in starts]))
    except ValueError:  # different drives
        start = cwd.resolve()
    for directory in (start, *start.parents):
        for name in DEDICATED_CONFIG_NAMES:  # in a directory, these win (as in Ruff)
            dedicated = directory / name
            if dedicated.is_file():
                return dedicated
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _has_tool_table(candidate):
            return candidate
    return None


# --------------------------------------------------------------------------- reading


def _type_name(value: object) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a number",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


class _Reader:
    def __init__(self, label: str, known_codes: Iterable[str]) -> None:
        self.label = label
        self.known_codes = sorted(known_codes)

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.label}: [tool.poolsafe] {key}: {problem}")

    def strings(self, key: str, value: object) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected an array of strings, got {_type_name(value)}")
        return list(value)

    def codes(self, key: str, value: object) -> list[str]:
        out = []
        for raw in self.strings(key, value):
            code = raw.strip().upper()
            if not is_known_selector(code, self.known_codes):
                raise self.fail(key, f"unknown rule code {raw!r}{_suggest(code, self.known_codes)}")
            out.append(code)
        return out

    def table(self, key: str, value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_type_name(value)}")
        return value


def _suggest(word: str, options: Iterable[str]) -> str:
    import difflib  # (only a configuration error needs it)

    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def is_known_selector(code: str, known_codes: Iterable[str]) -> bool:
    """`ALL`, a full code, or a prefix of at least one code (`PS1`, `PS10`)."""
    if code == "ALL":
        return True
    return bool(re.fullmatch(r"PS\d{0,3}", code)) and any(k.startswith(code) for k in known_codes)


def parse_table(table: dict[str, Any], *, path: Path | None, known_codes: Iterable[str],
                root: Path | None = None) -> Config:
    """Validate a `[tool.poolsafe]` table (already parsed TOML)."""
    label = display_path(path) if path else "configuration"
    r = _Reader(label, known_codes)
    cfg = Config(path=path, root=root or (path.parent if path else Path.cwd()))
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"{label}: [tool.poolsafe] unknown key {key!r}"
                              f"{_suggest(key.replace('_', '-'), KEYS)}")
        if key == "select":
            cfg.select = r.codes(key, value)
        elif key == "extend-select":
            cfg.extend_select = r.codes(key, value)
        elif key == "ignore":
            cfg.ignore = r.codes(key, value)
        elif key == "exclude":
            cfg.exclude = r.strings(key, value)
        elif key == "extend-exclude":
            cfg.extend_exclude = r.strings(key, value)
        elif key == "force-exclude":
            if not isinstance(value, bool):
                raise r.fail(key, f"expected true or false, got {_type_name(value)}")
            cfg.force_exclude = value
        elif key == "per-file-ignores":
            for glob, codes in r.table(key, value).items():
                cfg.per_file_ignores[glob] = r.codes(f"{key}.{glob!r}", codes)
        elif key == "severity":
            for code, level in r.table(key, value).items():
                if code.upper() not in r.known_codes:
                    raise r.fail(f"{key}.{code}", "unknown rule code"
                                 f"{_suggest(code.upper(), r.known_codes)}")
                if level not in ("error", "warning"):
                    raise r.fail(f"{key}.{code}",
                                 f"expected \"error\" or \"warning\", got {level!r}")
                cfg.severity[code.upper()] = Severity(level)
        elif key == "acquire":
            cfg.project.acquire = _acquire(r, value)
        elif key == "release":
            cfg.project.release = set(r.strings(key, value))
        elif key == "session-dependencies":
            cfg.project.session_dependencies = set(r.strings(key, value))
        elif key == "src":
            cfg.src = r.strings(key, value)
        elif key == "pgbouncer":
            if not isinstance(value, bool):
                raise r.fail(key, f"expected true or false, got {_type_name(value)}")
            cfg.pgbouncer = value
        elif key == "direct-connections":
            if value not in DIRECT_CONNECTION_POLICIES:
                shown = repr(value) if isinstance(value, str) else _type_name(value)
                raise r.fail(key, f"expected \"lenient\" or \"strict\", got {shown}")
            cfg.project.direct_connections = value
    return cfg


def _acquire(r: _Reader, value: object) -> dict[str, str]:
    if isinstance(value, list):
        return {name: DEFAULT_ACQUIRE_KIND for name in r.strings("acquire", value)}
    out = {}
    for name, kind in r.table("acquire", value).items():
        if not isinstance(kind, str) or kind not in CONNECTION_KINDS:
            shown = kind if isinstance(kind, str) else _type_name(kind)
            raise r.fail(f"acquire.{name}",
                         f"unknown connection kind {shown!r}{_suggest(str(kind), CONNECTION_KINDS)}"
                         f"; expected one of: {', '.join(sorted(CONNECTION_KINDS))}")
        out[name] = kind
    return out


def load_config(path: Path, known_codes: Iterable[str]) -> Config:
    """Read `path`: a `pyproject.toml` (its `[tool.poolsafe]` table) or a file whose
    top level holds the settings (`poolsafe.toml`)."""
    label = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{label}: configuration file not found") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: invalid TOML: not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: invalid TOML: {exc}") from None
    tool = doc.get("tool")
    if isinstance(tool, dict) and "poolsafe" in tool:
        table = tool["poolsafe"]
    elif path.name == "pyproject.toml":
        table = {}
    else:
        table = doc
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: [tool.poolsafe] must be a table")
    return parse_table(table, path=path, known_codes=known_codes)


def resolve_config(paths: Sequence[str], config_file: str | None, isolated: bool,
                   known_codes: Iterable[str]) -> Config:
    if isolated:
        return Config()
    if config_file is not None:
        return load_config(Path(config_file), known_codes)
    found = find_config_file(paths)
    return load_config(found, known_codes) if found else Config()


# --------------------------------------------------------------------------- globs


def glob_regex(pattern: str) -> str:
    """A gitignore-style glob as a regex over a '/'-separated relative path.

    `*` and `?` stay within one path component, `**` crosses them. A pattern without
    a `/` (other than a trailing one) matches at any depth; one with a `/` is anchored
    at the start. A match also covers everything below a matched directory.
    """
    pattern = pattern.replace(os.sep, "/").strip()
    if pattern.startswith("./"):
        pattern = pattern[2:]
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.strip("/")
    return ("^" if anchored else "^(?:.*/)?") + translate_glob(pattern) + "(?:/.*)?$"


def matches_any(path: str | Path, globs: Iterable[str], root: Path) -> bool:
    rel = project_relative(path, root)
    if rel is None:
        rel = Path(path).as_posix().lstrip("/")
    return any(re.match(glob_regex(g), rel) for g in globs)


def exclude_regexes(globs: Sequence[str], scan_paths: Sequence[str],
                    root: Path) -> list[re.Pattern[str]]:
    """Regexes for the engine's walk, which matches them (with `search`) against a
    path relative to each scanned directory rather than to the project root: an
    anchored glob is rebased onto every scanned directory inside the root."""
    out: list[re.Pattern[str]] = []
    for g in globs:
        out.append(re.compile(glob_regex(g)))
        norm = g.replace(os.sep, "/").strip().removeprefix("./")
        if "/" not in norm.rstrip("/"):
            continue
        for p in scan_paths:
            prefix = project_relative(p, root)
            if not prefix or prefix == "." or not Path(p).is_dir():
                continue
            if norm.startswith(prefix + "/"):
                out.append(re.compile(glob_regex("/" + norm[len(prefix) + 1:])))
    return out

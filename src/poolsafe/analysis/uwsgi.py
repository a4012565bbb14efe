"""uWSGI: how many processes a `uwsgi` command starts and which module they load,
from its command line and the `.ini` files it reads (`--ini FILE`).

uWSGI forks `processes` (alias `workers`, `-p`) workers, one by default; each loads
the application named by `wsgi-file` (alias `file`) or `module` (alias `wsgi`, `-w`),
after changing to `chdir`. An `.ini` file's `[uwsgi]` section holds the same options
(`workers = 4`); a later value wins, and the command line's win over the file's.
A lone argument ending in `.ini` (`uwsgi app.ini`) is read as `--ini app.ini`.
A `chdir` is a path in the container (`/app/src/bottle`): the entry is looked for
under each of its trailing parts (`src/bottle/app.py`, `bottle/app.py`), then beside
the `.ini` file.
"""

from __future__ import annotations

import posixpath

from poolsafe.analysis.config_values import Count, known, parse_int, unknown
from poolsafe.analysis.deploy_files import ProjectFiles, iter_lines
from poolsafe.analysis.entry_points import EntryPoint, module_part

#: option names (without dashes) and their aliases
_PROCESSES = ("processes", "workers", "p")
_FILE = ("wsgi-file", "file")
_MODULE = ("module", "wsgi", "w")


def _cli_options(args: list[str]) -> list[tuple[str, str]]:
    """(name, value) of every `--name value`, `--name=value` and `-x value`, in order."""
    out: list[tuple[str, str]] = []
    for i, arg in enumerate(args):
        if not arg.startswith("-") or arg == "-":
            continue
        name = arg.lstrip("-")
        if "=" in name:
            key, value = name.split("=", 1)
            out.append((key, value))
        elif i + 1 < len(args) and not args[i + 1].startswith("-"):
            out.append((name, args[i + 1]))
    return out


def _ini_value(raw: str) -> str:
    """The value of an `.ini` line, without a trailing `# comment` or `; comment`."""
    for mark in (" #", "\t#", " ;", "\t;"):
        raw = raw.split(mark, 1)[0]
    return raw.strip().strip("'\"")


def _ini_options(text: str) -> list[tuple[str, str]]:
    """(name, value) of the `[uwsgi]` section of an `.ini` file, in order."""
    out: list[tuple[str, str]] = []
    section = ""
    for line in iter_lines(text):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == "uwsgi" and "=" in line:
            key, value = line.split("=", 1)
            out.append((key.strip(), _ini_value(value)))
    return out


def _ini_file(path: str, files: ProjectFiles, where: str) -> str | None:
    """The repository file an `--ini` path names: as written, beside the file that
    declares the command, or under one of the repository's top directories (a path
    relative to a container's working directory, `bottle/uwsgi.ini` for
    `src/bottle/uwsgi.ini`)."""
    rel = posixpath.normpath(path.removeprefix("./").lstrip("/"))
    base = posixpath.dirname(where.split(":", 1)[0])
    candidates = [rel, posixpath.normpath(posixpath.join(base, rel)) if base else rel]
    candidates += [f"{top}/{rel}" for top in files.top_directories()]
    for candidate in candidates:
        if files.exists(candidate):
            return candidate
    return None


class UwsgiCommand:
    """The options of one `uwsgi` command line, with the `.ini` files it reads."""

    def __init__(self, args: list[str], files: ProjectFiles, where: str) -> None:
        self.where = where
        cli = _cli_options(args)
        # `uwsgi app.ini`: a lone argument ending in .ini is read as `--ini app.ini`
        lone = [("ini", a) for i, a in enumerate(args) if a.endswith(".ini") and not
                a.startswith("-") and (i == 0 or not args[i - 1].startswith("-"))]
        self.ini: str | None = None
        ini_options: list[tuple[str, str]] = []
        for name, value in lone + cli:
            if name == "ini":
                found = _ini_file(value, files, where)
                if found is not None:
                    self.ini = found
                    ini_options += _ini_options(files.read(found) or "")
        self._options = [(n, v, self.ini or where) for n, v in ini_options] + [
            (n, v, where) for n, v in cli]

    def _last(self, names: tuple[str, ...]) -> tuple[str, str, str] | None:
        found = None
        for name, value, source in self._options:
            if name in names:
                found = (name, value, source)
        return found

    def processes(self) -> Count:
        """`processes` / `workers` / `-p`; one process when none is given."""
        found = self._last(_PROCESSES)
        if found is None:
            return known(1, f"{self.where}: uwsgi's default (1 process)")
        name, value, source = found
        n = parse_int(value)
        if n is None:
            return unknown(f"{source}: uwsgi `{name} = {value}` is not a number")
        return known(n, f"{source}: uwsgi `{name} = {value}`")

    def entry(self, base: str) -> EntryPoint | None:
        """The module or script the workers load."""
        chdir = self._last(("chdir",))
        parts = [p for p in chdir[1].strip("/").split("/") if p] if chdir else []
        dirs = ["/".join(parts[i:]) for i in range(len(parts))]
        if self.ini is not None:
            dirs.append(posixpath.dirname(self.ini))
        script = self._last(_FILE)
        if script is not None:
            rel = script[1].removeprefix("./")
            targets = [f"{d}/{rel}" if d else rel for d in dirs] + [rel]
            return EntryPoint(tuple(dict.fromkeys(targets)), base, first_found=True)
        module = self._last(_MODULE)
        name = module_part(module[1]) if module else None
        if name is None:
            return None
        return EntryPoint((name,), base)

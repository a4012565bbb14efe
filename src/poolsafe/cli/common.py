"""What `check`, `baseline` and `fix` share on the command line: the rule and
configuration options, how they combine into the scan's options, and how errors
become one line with exit status 2."""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from rich.console import Console

from poolsafe.core.rule_codes import RULE_CODES, enabled_codes, selected
from poolsafe.rules import Rule
from poolsafe.scan.cache import CACHE_DIR_NAME, cache_problem, default_cache_dir
from poolsafe.scan.config import (
    Config,
    ConfigError,
    exclude_regexes,
    is_known_selector,
    matches_any,
    resolve_config,
)
from poolsafe.scan.engine import ScanOptions, scope_options
from poolsafe.scan.parallel import default_jobs
from poolsafe.scan.postprocess import UnusedSuppression

F = TypeVar("F", bound=Callable[..., Any])


class Fatal(click.ClickException):
    """Usage, configuration or internal error: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"poolsafe: error: {self.message}", err=True)


class Interrupted(click.ClickException):
    """Ctrl-C: one line on stderr, exit 130 (128 + SIGINT), as shells report it."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("interrupted")

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo("poolsafe: interrupted", err=True)

    @classmethod
    def leave(cls) -> None:
        """Say so and exit 130 at once: the scan's thread may be inside libcst's native
        parser, which must not be torn down by the interpreter's finalization (it
        aborts, SIGABRT); the forked workers, which leave SIGINT to this process, are
        ended first. A file `fix` was writing was finished or left whole before (the
        writer is atomic)."""
        cls().show()
        if "multiprocessing" in sys.modules:
            import multiprocessing

            for child in multiprocessing.active_children():
                child.terminate()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(cls.exit_code)


class PoolsafeGroup(click.Group):
    """The `poolsafe` command group: usage errors are one line on stderr, `poolsafe:
    error: ...`, exit 2 (as every other error), and the command list shows each
    command's first paragraph whole, never cut mid-sentence."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
            sys.exit(2)
        except click.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            click.echo(f"poolsafe: error: {exc.format_message().rstrip('.')}{hint}", err=True)
            sys.exit(2)
        except Interrupted:
            Interrupted.leave()
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):  # (before a command ran)
                Interrupted.leave()
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            rows.append((name, cmd.short_help or first_paragraph(cmd.help or "")))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def first_paragraph(text: str) -> str:
    """The first paragraph of a docstring, on one line."""
    first = inspect.cleandoc(text).split("\n\n", 1)[0]
    return " ".join(line.strip() for line in first.splitlines() if line.strip() != "\b")


def no_color() -> bool:
    """`NO_COLOR` (https://no-color.org): set and not empty."""
    return bool(os.environ.get("NO_COLOR"))


def make_console(**kwargs: Any) -> Console:
    """A rich Console; under NO_COLOR, one that writes no escape code at all (rich's
    own NO_COLOR handling keeps bold and dim)."""
    if no_color():
        kwargs["color_system"] = None
    return Console(**kwargs)


def known_rules() -> tuple[type[Rule], ...]:
    """Every rule a user can name: the analysis rules and PS001 (unused suppression)."""
    from poolsafe.rules import ALL_RULES  # loads the rule modules: only when needed

    return (UnusedSuppression, *ALL_RULES)


def known_codes() -> list[str]:
    return [UnusedSuppression.code, *RULE_CODES]


def split_codes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    known = known_codes()
    for c in codes:
        if not is_known_selector(c, known):
            raise Fatal(f"unknown rule code {c!r} (see `poolsafe rules`)")
    return codes


def expand(selectors: list[str]) -> set[str]:
    """The codes the selectors enable; an opt-in rule (PS209) only by its code or `ALL`."""
    return {c for c in RULE_CODES if selected(c, tuple(selectors))}


def expand_ignored(selectors: list[str]) -> set[str]:
    """The codes the selectors of an ignore list remove: every code they prefix."""
    return {c for c in RULE_CODES for s in selectors if s == "ALL" or c.startswith(s)}


@dataclass
class Selection:
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)

    def enabled(self, cfg: Config) -> set[str]:
        """Ruff's layering: the configuration's `select` (default: every rule) plus
        its `extend-select`, minus its `ignore`; then the command line on top:
        `--select` replaces all of that, `--extend-select` adds (even a configured
        ignore), `--ignore` removes."""
        if self.select is not None:
            base = expand(self.select)
        else:
            base = expand(cfg.select) if cfg.select is not None else set(
                enabled_codes(None, []))
            base = (base | expand(cfg.extend_select)) - expand_ignored(cfg.ignore)
        return (base | expand(self.extend_select)) - expand_ignored(self.ignore)


def _remember(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Engine settings (--no-cache) that _run reads from the click context."""
    ctx.meta[f"poolsafe.{param.name}"] = value
    return value


def config_options(func: F) -> F:
    options = [
        click.option("--config", "config_file", type=click.Path(dir_okay=False),
                     help="Read settings from this file instead of the nearest "
                          ".poolsafe.toml, poolsafe.toml or pyproject.toml with a "
                          "[tool.poolsafe] table."),
        click.option("--isolated", is_flag=True, help="Ignore configuration files."),
        click.option("--select", help="Comma-separated rule codes or prefixes to enable "
                                      "(replaces the configured selection)."),
        click.option("--extend-select", help="Rule codes or prefixes to enable in addition."),
        click.option("--ignore", help="Comma-separated rule codes or prefixes to disable."),
        click.option("--extend-exclude", help="Comma-separated globs of paths to skip, in "
                                              "addition to the configured ones."),
        click.option("--force-exclude", is_flag=True, default=None,
                     help="Apply excludes to paths named on the command line too (for "
                          "pre-commit)."),
        click.option("--no-cache", is_flag=True, expose_value=False, callback=_remember,
                     help=f"Do not read or write the cache ({CACHE_DIR_NAME}/)."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                     expose_value=False, callback=_remember,
                     help="Worker processes for the analysis (default: one per core)."),
        click.option("--project-root", type=click.Path(file_okay=False, exists=True),
                     default=None, expose_value=False, callback=_remember,
                     help="The project that imports and wrappers are resolved in "
                          "(default: the nearest directory above each file with "
                          "pyproject.toml, setup.cfg, setup.py or .git)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def fatal_on_errors(func: F) -> F:
    """Turn configuration errors and crashes into one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            raise Fatal(str(exc)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            raise Interrupted() from None
        except Exception as exc:
            # (poolsafe.scan.baseline is imported only by the baseline options, here only
            # on an error)
            from poolsafe.scan.baseline import BaselineError

            if isinstance(exc, BaselineError):
                raise Fatal(str(exc)) from None
            if os.environ.get("POOLSAFE_DEBUG"):
                import traceback  # (with textwrap: only this needs them)

                traceback.print_exc()
            raise Fatal(f"internal error: {type(exc).__name__}: {exc} "
                        "(set POOLSAFE_DEBUG=1 for a traceback)") from None

    return wrapper  # type: ignore[return-value]


def usable_cache_dir() -> Path | None:
    """The cache directory, or None (with a warning) when it must not be used."""
    directory = default_cache_dir()
    problem = cache_problem(directory)
    if problem is None:
        return directory
    click.echo(f"poolsafe: warning: {problem}: running without a cache", err=True)
    return None


def prepare(paths: tuple[str, ...], *, config_file: str | None, isolated: bool,
            select: str | None, extend_select: str | None, ignore: str | None,
            extend_exclude: str | None, force_exclude: bool | None
            ) -> tuple[Config, set[str], ScanOptions, list[str]]:
    """The configuration, the enabled rule codes, the scan options and the paths to
    scan, from the options `config_options` adds (the same for every command)."""
    sel = Selection(split_codes(select), split_codes(extend_select) or [],
                    split_codes(ignore) or [])
    targets = list(paths) or ["."]
    meta = click.get_current_context().meta
    stdin_name: str | None = None
    if targets == ["-"] and "poolsafe.stdin_filename" in meta:
        # `check -`: the code comes on standard input, resolved as if it were the file
        # --stdin-filename names (default: stdin.py here), in that file's project
        stdin_name = meta.get("poolsafe.stdin_filename") or "stdin.py"
        targets = [stdin_name]
    elif "-" in targets:
        raise Fatal("`-` (standard input) must be the only path, and only for `check`")
    for p in targets:
        if stdin_name is None and not os.path.lexists(p):
            raise Fatal(f"{p}: no such file or directory")
    cfg = resolve_config(targets, config_file, isolated, known_codes())
    excludes = [*cfg.exclude, *cfg.extend_exclude]
    if extend_exclude:
        excludes.extend(g.strip() for g in extend_exclude.split(",") if g.strip())
    if force_exclude or (force_exclude is None and cfg.force_exclude):
        targets = [p for p in targets
                   if not (os.path.isfile(p) and matches_any(p, excludes, cfg.root))]
    enabled = sel.enabled(cfg)
    options = ScanOptions(select=enabled, project=cfg.project,
                          exclude=exclude_regexes(excludes, targets, cfg.root),
                          **scope_options(cfg, excludes, meta.get("poolsafe.project_root")))
    options.cache_dir = None if meta.get("poolsafe.no_cache") else usable_cache_dir()
    options.jobs = meta.get("poolsafe.jobs") or default_jobs()
    if stdin_name is not None:
        data = sys.stdin.buffer.read()
        options.overrides = {Path(os.path.abspath(stdin_name)): data}
        options.cache_dir = None  # a buffer is not the tree the cache describes
    return cfg, enabled, options, targets

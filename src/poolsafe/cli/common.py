"""What `check`, `baseline` and `fix` share on the command line: the rule and
configuration options (taken out of a command's arguments as one `ConfigArguments`),
the command group, and how errors become one line with exit status 2."""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

import click

from poolsafe.report.formats import make_console as make_console
from poolsafe.rules import Rule
from poolsafe.scan.cache import CACHE_DIR_NAME
from poolsafe.scan.config import ConfigError
from poolsafe.scan.pipeline import ConfigArguments, Prepared
from poolsafe.scan.pipeline import prepare as pipeline_prepare
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


def known_rules() -> tuple[type[Rule], ...]:
    """Every rule a user can name: the analysis rules, PS001 (unused suppression) and
    PS002 (a leak only the test suite saw)."""
    from poolsafe.rules import ALL_RULES  # loads the rule modules: only when needed
    from poolsafe.scan.runtime_evidence import RuntimeLeak

    return (UnusedSuppression, RuntimeLeak, *ALL_RULES)


CONFIG_KEYS = ConfigArguments._fields


def config_arguments(options: dict[str, Any], *, stdin: bool = False) -> ConfigArguments:
    """Take the options `config_options` adds out of a command's keyword arguments, as
    one value; `stdin`: the command takes `-` (standard input) as its path."""
    values = {key: options.pop(key) for key in CONFIG_KEYS if key in options}
    if stdin:
        values["stdin_filename"] = values.get("stdin_filename") or ""
    return ConfigArguments(**values)


def prepare(paths: tuple[str, ...] | list[str], args: ConfigArguments) -> Prepared:
    """`poolsafe.scan.pipeline.prepare`, with its warnings said on stderr."""
    prepared = pipeline_prepare(paths, args)
    for warning in prepared.warnings:
        click.echo(f"poolsafe: warning: {warning}", err=True)
    return prepared


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
        click.option("--no-cache", is_flag=True,
                     help=f"Do not read or write the cache ({CACHE_DIR_NAME}/)."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                     help="Worker processes for the analysis (default: one per core)."),
        click.option("--project-root", type=click.Path(file_okay=False, exists=True),
                     default=None,
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

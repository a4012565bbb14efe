"""The `poolsafe` command line."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from poolsafe import __version__
from poolsafe.engine import ScanOptions, scan
from poolsafe.report import json_report, text_report
from poolsafe.rules import ALL_RULES, rule_by_code_or_name

FORMATS = ("text", "json")


def _codes(value: str | None) -> set[str] | None:
    if value is None:
        return None
    codes = {c.strip().upper() for c in value.split(",") if c.strip()}
    known = {r.code for r in ALL_RULES}
    for c in codes:
        if c != "ALL" and not any(k.startswith(c) for k in known):
            raise click.UsageError(f"unknown rule code {c!r} (see `poolsafe rules`)")
    return None if "ALL" in codes else codes


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="poolsafe")
def main() -> None:
    """Find database connection leaks in Python code."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Output format.")
@click.option("--select", help="Comma-separated rule codes or prefixes to enable.")
@click.option("--ignore", help="Comma-separated rule codes or prefixes to disable.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
def check(paths: tuple[str, ...], fmt: str, select: str | None, ignore: str | None,
          exit_zero: bool) -> None:
    """Scan PATHS (default: the current directory) for connection leaks."""
    options = ScanOptions(select=_codes(select), ignore=_codes(ignore) or set())
    result = scan(list(paths) or ["."], options)
    if fmt == "json":
        click.echo(json_report.render(result), nl=False)
    else:
        text_report.render(result, Console(highlight=False))
    if result.internal_errors:
        sys.exit(2)
    if exit_zero:
        sys.exit(0)
    sys.exit(1 if (result.findings or result.errors) else 0)


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation of rule CODE (e.g. PS102)."""
    rule = rule_by_code_or_name(code)
    if rule is None:
        raise click.UsageError(f"unknown rule {code!r} (see `poolsafe rules`)")
    meta = rule.meta()
    click.echo(f"# {meta.code} {meta.name} ({meta.severity})\n")
    click.echo(meta.doc)


@main.command()
def rules() -> None:
    """List every rule: code, name, severity, fixable."""
    for r in ALL_RULES:
        m = r.meta()
        click.echo(f"{m.code}  {m.name:<32} {m.severity!s:<8} "
                   f"{'fixable' if m.fixable else '-':<8} {m.summary}")


if __name__ == "__main__":
    main()

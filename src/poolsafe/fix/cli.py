"""`poolsafe fix`: apply the fixes in place, or show them as a diff."""

from __future__ import annotations

import os
import sys
from collections import Counter

import click

from poolsafe.config import ConfigError, exclude_regexes, is_known_selector, resolve_config
from poolsafe.engine import ScanOptions, scope_options
from poolsafe.fix.apply import FixResult, fix_files, load_files
from poolsafe.fix.writer import unified_diff, write
from poolsafe.rules import ALL_RULES


def _known_codes() -> list[str]:
    return [r.code for r in ALL_RULES]


def _selectors(value: str | None) -> list[str] | None:
    if value is None:
        return None
    out = [c.strip().upper() for c in value.split(",") if c.strip()]
    for c in out:
        if not is_known_selector(c, _known_codes()):
            raise click.UsageError(f"unknown rule code {c!r} (see `poolsafe rules`)")
    return out


def _expand(selectors: list[str]) -> set[str]:
    return {c for c in _known_codes() for s in selectors if s == "ALL" or c.startswith(s)}


def _summary(result: FixResult, written: int, diff: bool) -> list[str]:
    lines = []
    verb = "would fix" if diff else "fixed"
    n = len(result.applied)
    by_code = Counter(a.code for a in result.applied)
    detail = ", ".join(f"{c} x{k}" for c, k in sorted(by_code.items()))
    lines.append(f"{verb.capitalize()} {n} finding{'s' if n != 1 else ''}"
                 + (f" ({detail})" if detail else "") + ".")
    left = Counter(x.finding.code for x in result.left)
    if left:
        detail = ", ".join(f"{c} x{k}" for c, k in sorted(left.items()))
        lines.append(f"Left {len(result.left)} finding{'s' if len(result.left) != 1 else ''}"
                     f" ({detail}).")
    else:
        lines.append("Left 0 findings.")
    files = len(result.changed_files)
    if diff:
        lines.append(f"{files} file{'s' if files != 1 else ''} would change.")
    else:
        lines.append(f"{written} file{'s' if written != 1 else ''} changed.")
    if not result.converged:
        lines.append(f"Stopped after {result.passes} passes: the fixes did not settle.")
    return lines


@click.command(name="fix")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--diff", "show_diff", is_flag=True,
              help="Print the fixes as a unified diff and write nothing "
                   "(exit 1 when there is a diff).")
@click.option("--unsafe-fixes", is_flag=True,
              help="Also apply fixes marked unsafe (they may change behaviour or drop "
                   "a comment).")
@click.option("--select", help="Comma-separated rule codes or prefixes to fix.")
@click.option("--ignore", help="Comma-separated rule codes or prefixes not to fix.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Read settings from this file instead of the nearest pyproject.toml.")
@click.option("--isolated", is_flag=True, help="Ignore configuration files.")
@click.option("--project-root", type=click.Path(file_okay=False, exists=True), default=None,
              help="The project that imports and wrappers are resolved in (default: the "
                   "nearest directory above each file with pyproject.toml, setup.cfg, "
                   "setup.py or .git).")
@click.option("-v", "--verbose", is_flag=True, help="List every fix and every finding left.")
def fix_command(paths: tuple[str, ...], show_diff: bool, unsafe_fixes: bool,
                select: str | None, ignore: str | None, config_file: str | None,
                isolated: bool, project_root: str | None, verbose: bool) -> None:
    """Rewrite connection leaks in PATHS (default: .) into the safe pattern.

    Fixes are libcst rewrites that keep comments and formatting; after each pass the
    code is checked again, until nothing changes. Exit status: 0 nothing left to fix
    (with --diff: no changes), 1 findings left, files not written (with --diff: there
    is a diff), 2 usage, configuration or internal error.
    """
    targets = list(paths) or ["."]
    for p in targets:
        if not os.path.lexists(p):
            raise click.UsageError(f"{p}: no such file or directory")
    try:
        cfg = resolve_config(targets, config_file, isolated, _known_codes())
    except ConfigError as exc:
        click.echo(f"poolsafe: error: {exc}", err=True)
        sys.exit(2)
    sel = _selectors(select)
    ign = _selectors(ignore) or []
    if sel is not None:
        enabled = _expand(sel)
    else:
        enabled = _expand(cfg.select) if cfg.select is not None else _expand(["ALL"])
        enabled |= _expand(cfg.extend_select)
        ign = [*cfg.ignore, *ign]
    enabled -= _expand(ign)
    excludes = [*cfg.exclude, *cfg.extend_exclude]
    options = ScanOptions(select=enabled, project=cfg.project,
                          exclude=exclude_regexes(excludes, targets, cfg.root),
                          **scope_options(cfg, excludes, project_root))
    files, errors = load_files(targets, options)
    result = fix_files(files, options, unsafe=unsafe_fixes)
    result.errors[:0] = errors
    written = 0
    write_failed = False
    if show_diff:
        for f in result.changed_files:
            click.echo(unified_diff(f), nl=False)
    else:
        for f in result.changed_files:
            problem = write(f)
            if problem is None:
                written += 1
            else:
                write_failed = True
                click.echo(f"{problem.path}: {problem.message}", err=True)
    if verbose:
        for a in result.applied:
            tag = "" if a.safe else " [unsafe]"
            click.echo(f"{a.path}:{a.line}: {a.code} fixed: {a.description}{tag}", err=True)
    for x in result.left:
        fnd = x.finding
        if verbose or x.reason.startswith(("not fixable", "unsafe fix", "the fix")):
            click.echo(f"{fnd.path}:{fnd.line}:{fnd.column}: {fnd.code} left: {x.reason}",
                       err=True)
    for e in result.errors:
        click.echo(f"{e.path}: {e.message}", err=True)
    for line in _summary(result, written, show_diff):
        click.echo(line, err=True)
    if result.internal_errors:
        sys.exit(2)
    if show_diff:
        sys.exit(1 if result.changed_files else 0)
    sys.exit(1 if (result.left or result.errors or write_failed) else 0)

"""`poolsafe fix`: apply the fixes in place, or show them as a diff."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import click

from poolsafe.cli.common import (
    Fatal,
    config_arguments,
    config_options,
    fatal_on_errors,
    prepare,
)
from poolsafe.core.project import named_roots
from poolsafe.scan.postprocess import per_file_ignored

if TYPE_CHECKING:
    from poolsafe.fix.loop.apply import AppliedFix, FixResult
    from poolsafe.scan.config import Config
    from poolsafe.scan.options import ScanOptions
    from poolsafe.scan.pipeline import Prepared


def _counted(fixes: list[AppliedFix]) -> str:
    n = len(fixes)
    by_code = Counter(a.code for a in fixes)
    detail = ", ".join(f"{c} x{k}" for c, k in sorted(by_code.items()))
    return f"{n} finding{'s' if n != 1 else ''}" + (f" ({detail})" if detail else "")


def _summary(result: FixResult, written: int, diff: bool,
             unwritten: list[AppliedFix] | None = None, stdin: bool = False) -> list[str]:
    """What `fix` did: the findings fixed (in the files written), the fixes that
    were not written, what is left, and the files changed."""
    lines = []
    unwritten = unwritten or []
    done = [a for a in result.applied if a not in unwritten]
    lines.append(f"{'Would fix' if diff else 'Fixed'} {_counted(done)}.")
    if unwritten:
        files = len({a.path for a in unwritten})
        lines.append(f"Not written: the fixes of {_counted(unwritten)} in {files} "
                     f"file{'s' if files != 1 else ''} that could not be written (see above).")
    left = Counter(x.finding.code for x in result.left)
    if left:
        detail = ", ".join(f"{c} x{k}" for c, k in sorted(left.items()))
        lines.append(f"Left {len(result.left)} finding{'s' if len(result.left) != 1 else ''}"
                     f" ({detail}).")
    else:
        lines.append("Left 0 findings.")
    files = len(result.changed_files)
    if stdin and not diff:
        lines.append("Standard input fixed: the code is on standard output." if files
                     else "Standard input unchanged: the code is on standard output.")
    elif diff:
        lines.append(f"{files} file{'s' if files != 1 else ''} would change.")
    else:
        lines.append(f"{written} file{'s' if written != 1 else ''} changed.")
    unreadable = len({e.path for e in result.errors})
    if unreadable:
        lines.append(f"{unreadable} file{'s' if unreadable != 1 else ''} could not be read, "
                     "parsed or fixed (see above): not fixed.")
    if not result.converged:
        lines.append(f"Stopped after {result.passes} passes: the fixes did not settle.")
    return lines


def not_written(result: FixResult, failed: set[str]) -> list[AppliedFix]:
    """The fixes applied in memory whose files were not written: the finding's own
    file, or one that the same fix edited with it."""
    out = []
    for a in result.applied:
        if a.path in failed or any(a.path in link and failed.intersection(link)
                                   for link in result.linked):
            out.append(a)
    return out


def on_disk_line(result: FixResult, path: str, line: int) -> int:
    """A line of a file's fixed text, as the line of the file on disk (`--diff`
    writes nothing, so that is where a user looks)."""
    from poolsafe.fix.loop.writer import original_line

    for f in result.files:
        if f.display == path:
            return original_line(f, line)
    return line


@click.command(name="fix")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--diff", "show_diff", is_flag=True,
              help="Print the fixes as a unified diff and write nothing "
                   "(exit 1 when there is a diff).")
@click.option("--unsafe-fixes", is_flag=True,
              help="Also apply fixes marked unsafe: they may change behaviour or drop "
                   "a comment, and each left finding says how (the fixer's reason, or "
                   "what the equivalence check found different from the original on "
                   "some path).")
@config_options
@click.option("-v", "--verbose", is_flag=True, help="List every fix and every finding left.")
@click.option("--stdin-filename", default=None,
              help="Fix the code on standard input as if it were this file (resolved in "
                   "its project) and print the fixed code on standard output; nothing "
                   "is written (an editor's fix-on-save).")
@fatal_on_errors
def fix_command(paths: tuple[str, ...], show_diff: bool, unsafe_fixes: bool, verbose: bool,
                **options: Any) -> None:
    """Rewrite connection leaks in PATHS (default: .) into the safe pattern.

    Fixes are libcst rewrites that keep comments and formatting; after each pass the
    code is checked again, until nothing changes. It fixes what `poolsafe check`
    reports with the same options and configuration (per-file-ignores included).
    Exit status: 0 nothing left to fix (with --diff: no changes), 1 findings left,
    a file that could not be read, parsed or written (with --diff: there is a
    diff), 2 usage, configuration or internal error.
    """
    stdin = options.get("stdin_filename") is not None
    if stdin:
        if paths not in ((), ("-",)):
            raise Fatal("--stdin-filename fixes standard input: name no PATHS (or `-`)")
        paths = ("-",)
    prepared = prepare(paths, config_arguments(options, stdin=stdin))
    with named_roots(prepared.targets):
        _fix_and_write(prepared, unsafe_fixes, show_diff, stdin, verbose)


def _fix_and_write(prepared: Prepared, unsafe_fixes: bool, show_diff: bool, stdin: bool,
                   verbose: bool) -> None:
    """The `fix` command's work on the prepared targets (see `fix`), within their
    `named_roots`: what is loaded and what is written see the same project roots."""
    # the fix loop loads the analysis: only when `fix` runs, not for every command
    from poolsafe.fix.loop.apply import fix_files, load_files
    from poolsafe.fix.loop.writer import stdin_output, unified_diff, write_all

    cfg = prepared.cfg
    files, errors = load_files(prepared.targets, prepared.options)
    result = fix_files(files, prepared.options, unsafe=unsafe_fixes,
                       ignored=lambda path, code: per_file_ignored(path, code, cfg))
    result.errors[:0] = errors
    written = 0
    write_failed = False
    unwritten: list[AppliedFix] = []
    if show_diff:
        for f in result.changed_files:
            click.echo(unified_diff(f), nl=False)
    elif stdin:
        # the fixed code (or the code as it came, when it could not be fixed) for the
        # editor's buffer; nothing is written
        sys.stdout.flush()
        sys.stdout.buffer.write(stdin_output(result, prepared.options.overrides))
        sys.stdout.buffer.flush()
    else:
        # every file is checked before any is written (see write_all)
        done, problems = write_all(result.changed_files, result.linked)
        written = len(done)
        for problem in problems:
            write_failed = True
            click.echo(f"{problem.path}: {problem.message}", err=True)
        unwritten = not_written(result, {p.path for p in problems})
    if verbose:
        for a in result.applied:
            tag = "" if a.safe else " [unsafe]"
            click.echo(f"{a.path}:{a.line}: {a.code} fixed: {a.description}{tag}", err=True)
    for x in result.left:
        fnd = x.finding
        line = on_disk_line(result, fnd.path, fnd.line) if show_diff else fnd.line
        if verbose or x.reason.startswith(("not fixable", "unsafe fix", "the fix")):
            click.echo(f"{fnd.path}:{line}:{fnd.column}: {fnd.code} left: {x.reason}",
                       err=True)
    for e in result.errors:
        click.echo(f"{e.where}: error: {e.message}", err=True)
    for line_text in _summary(result, written, show_diff, unwritten, stdin):
        click.echo(line_text, err=True)
    if result.internal_errors:
        sys.exit(2)
    if show_diff:
        sys.exit(1 if result.changed_files else 0)
    sys.exit(1 if (result.left or result.errors or write_failed) else 0)


def fix_in_place(targets: list[str], cfg: Config, options: ScanOptions,
                 unsafe: bool, *, write_files: bool = True) -> FixResult:
    """`poolsafe check --fix` (and `--diff`, with `write_files=False`): the fixes for
    the files of `targets`, written as `poolsafe fix` writes them; the fixes of a file
    that could not be written are dropped from `applied` (the problem is said on
    stderr; what is left, `check` reports next)."""
    from poolsafe.fix.loop.apply import fix_files, load_files, symlink_refusal
    from poolsafe.fix.loop.writer import write_all

    with named_roots(targets):
        files, _errors = load_files(targets, options)  # `check` reports these itself,
        for p in targets:  # but reads through a link that `fix` does not write through
            refusal = symlink_refusal(p)
            if refusal is not None:
                click.echo(f"{p}: {refusal}", err=True)
        result = fix_files(files, options, unsafe=unsafe,
                           ignored=lambda path, code: per_file_ignored(path, code, cfg))
        if not write_files:
            return result
        _written, problems = write_all(result.changed_files, result.linked)
    for problem in problems:
        click.echo(f"{problem.path}: {problem.message}", err=True)
    unwritten = not_written(result, {p.path for p in problems})
    result.applied = [a for a in result.applied if a not in unwritten]
    return result

"""The `poolsafe` command line."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from poolsafe import __version__
from poolsafe.cli.arguments import CheckArguments
from poolsafe.cli.common import (
    Fatal,
    PoolsafeGroup,
    config_arguments,
    config_options,
    fatal_on_errors,
    known_rules,
    make_console,
    prepare,
)
from poolsafe.core.discovery import discover
from poolsafe.core.model import RuleMeta, ScanResult, Severity
from poolsafe.report import ReportContext
from poolsafe.report.formats import FORMATS, View, render
from poolsafe.scan.cache import (
    CACHE_DIR_NAME,
    CacheError,
    clear_cache,
    default_cache_dir,
)
from poolsafe.scan.config import Config
from poolsafe.scan.pipeline import Checked, Prepared, run_check
from poolsafe.scan.postprocess import Outcome, UnusedSuppression

# the json, junit, sarif and --statistics reports and poolsafe.scan.baseline are imported
# where they are used: a plain `check` does without them (and json, rich.table,
# xml.etree, tempfile); rich is imported by what writes through it (a `check --format
# json` does without it: some 40 ms of every such run, issue 32)

if TYPE_CHECKING:
    from poolsafe.fix.loop.apply import AppliedFix, FixResult

#: scans of more files than this show a progress bar (on a terminal, outside CI)
PROGRESS_THRESHOLD = 300



def _progress_wanted() -> bool:
    if os.environ.get("CI") or os.environ.get("POOLSAFE_NO_PROGRESS"):
        return False
    return make_console(stderr=True).is_terminal


def _few_files(targets: list[str]) -> bool:
    """The targets are files, too few for a progress bar whatever the terminal: the
    walk would find each once, at most (a `check FILE` need not ask rich, and import
    it, whether stderr is a terminal: issue 32)."""
    return len(targets) <= PROGRESS_THRESHOLD and all(os.path.isfile(t) for t in targets)


def _checked(prepared: Prepared, args: CheckArguments | None = None) -> Checked:
    """The check pipeline over the prepared paths, with a progress bar on a terminal
    when there are many files."""
    extra: dict[str, Any] = {} if args is None else {
        "baseline": args.baseline, "report_unused": args.report_unused_ignores,
        "runtime": args.runtime_file, "confirmed_only": args.confirmed_only}
    if not prepared.targets or _few_files(prepared.targets) or not _progress_wanted():
        return run_check(prepared, **extra)
    total = sum(1 for item in discover(prepared.targets, excluded=prepared.options.exclude)
                if not isinstance(item, str))
    if total <= PROGRESS_THRESHOLD:
        return run_check(prepared, **extra)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=make_console(stderr=True), transient=True) as bar:
        parse_task = bar.add_task("parsing ", total=total)
        check_task = bar.add_task("checking", total=total)
        return run_check(prepared, **extra, on_progress=lambda phase, path: bar.advance(
            parse_task if phase == "parse" else check_task))


def _rule_metas(enabled: set[str], cfg: Config, report_unused: bool,
                runtime: bool = False) -> list[RuleMeta]:
    metas = []
    for r in known_rules():
        if r.code in enabled or (r is UnusedSuppression and report_unused) or (
                runtime and r.code == "PS002"):
            m = r.meta()
            if m.code in cfg.severity:
                m = replace(m, severity=cfg.severity[m.code])
            metas.append(m)
    return metas


def _sarif_root() -> Path:
    """The repository root around the current directory (GitHub resolves SARIF
    paths against it), or the current directory."""
    cwd = Path.cwd()
    for d in (cwd, *cwd.parents):
        if (d / ".git").exists():
            return d
    return cwd


def _stale_notes(outcome: Outcome, verbose: bool) -> list[str]:
    if not outcome.stale_baseline:
        return []
    n = len(outcome.stale_baseline)
    notes = [f"Baseline {outcome.baseline_path} has {n} stale entr{'ies' if n != 1 else 'y'} "
             "(fixed or changed code); refresh it with "
             f"`poolsafe baseline {outcome.baseline_path}`."]
    if verbose:
        for k in outcome.stale_baseline:
            where = f" in {k.function}" if k.function else ""
            notes.append(f"  stale: {k.path}: {k.code}{where}: {k.source}")
    return notes


def _fails(result: ScanResult, fail_on: str | None) -> bool:
    if result.errors:
        return True
    if fail_on == "error":
        return any(f.severity == Severity.ERROR for f in result.findings)
    return bool(result.findings)


def _open_output(output_file: str | None) -> contextlib.AbstractContextManager[IO[str]]:
    if output_file is None:
        return contextlib.nullcontext(sys.stdout)
    try:
        parent = os.path.dirname(output_file)
        if parent:
            os.makedirs(parent, exist_ok=True)  # `-o reports/poolsafe.sarif`
        return open(output_file, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise Fatal(f"{output_file}: cannot write: {exc.strerror or exc}") from None


@click.group(cls=PoolsafeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="poolsafe")
def main() -> None:
    """Find database connection leaks in Python code."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "--output-format", "fmt", type=click.Choice(list(FORMATS)),
              default="text", show_default=True, help="Output format.")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False),
              help="Write the report to this file instead of stdout.")
@config_options
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default=None,
              help="Lowest severity that fails the run (default: any finding).")
@click.option("--statistics", is_flag=True, help="Show counts per rule instead of findings.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False),
              help="Do not report findings listed in this baseline "
                   "(write one with `poolsafe baseline`).")
@click.option("--show-suppressed", is_flag=True,
              help="Also list findings suppressed by comments or the baseline.")
@click.option("--report-unused-ignores", is_flag=True,
              help="Report `# poolsafe: ignore` comments that suppress nothing (PS001) "
                   "and list stale baseline entries.")
@click.option("--fix", "apply_fixes", is_flag=True,
              help="Apply the safe fixes first (as `poolsafe fix`), then report what is left.")
@click.option("--unsafe-fixes", is_flag=True,
              help="With --fix or --diff: also apply the fixes marked unsafe.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print the fixes --fix would apply as a unified diff and write nothing "
                   "(exit 1 when there is a diff).")
@click.option("--show-fixes", is_flag=True,
              help="With --fix: list the fixes applied, per file and rule.")
@click.option("-e", "--exit-non-zero-on-fix", is_flag=True,
              help="With --fix: exit 1 when a fix was applied, even if no finding is left.")
@click.option("--add-noqa", is_flag=True,
              help="Add `# noqa: PSxxx` to every line with a finding (merged into a noqa "
                   "comment already there), write the files, and exit.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print the findings only: no summary line and no notes.")
@click.option("--runtime", "runtime_file", type=click.Path(dir_okay=False, exists=True),
              help="Read what the test suite leaked (`pytest --poolsafe --poolsafe-report "
                   "FILE`): findings it confirms are marked, leaks no finding explains are "
                   "reported as PS002.")
@click.option("--confirmed-only", is_flag=True,
              help="With --runtime: report only findings the test suite confirmed (and "
                   "PS002), e.g. for a strict CI gate.")
@click.option("--stdin-filename", default=None,
              help="With PATH `-`: check the code on standard input as if it were this "
                   "file (its project resolves it; default stdin.py).")
@fatal_on_errors
def check(**options: Any) -> None:
    """Scan PATHS (default: the current directory) for connection leaks.

    Exit status: 0 no findings, 1 findings, 2 usage, configuration or internal error.
    With --fix, the findings are those left after fixing (and -e makes a fix exit 1);
    with --diff, 1 when there is a diff.
    """
    config = config_arguments(options, stdin=True)
    args = CheckArguments.from_options(options)
    prepared = prepare(args.paths, config)
    fixed = _fix_first(prepared, args) if args.fixing else []
    checked = _checked(prepared, args)
    if args.add_noqa:
        _add_noqa(checked.outcome, args.quiet)
    if args.apply_fixes and checked.outcome.removals:  # PS001's fix: unused suppressions go
        fixed.extend(_remove_unused(checked.outcome))
        checked = _checked(prepared, args)  # the files changed: report what they hold now
    if args.apply_fixes and not args.quiet:
        n = len(fixed)
        click.echo(f"Fixed {n} finding{'s' if n != 1 else ''}.", err=True)
        if args.show_fixes:
            for line in _fix_listing(fixed):
                click.echo(line, err=True)
    _report(checked, args)
    sys.exit(_exit_status(checked.result, args, fixed))


def _fix_first(prepared: Prepared, args: CheckArguments) -> list[AppliedFix]:
    """`check --fix` / `--diff`: the fixes, applied (or shown, then exit) before the
    check reports what is left."""
    from poolsafe.cli.fix_command import fix_in_place

    fix_result = fix_in_place(prepared.targets, prepared.cfg, replace(prepared.options),
                              args.unsafe_fixes, write_files=not args.show_diff)
    if args.show_diff:
        _print_diff(fix_result, args.quiet)
    return list(fix_result.applied)


def _report(checked: Checked, args: CheckArguments) -> None:
    """The report, in the format `--format` names, on stdout or `-o FILE`."""
    result, cfg = checked.result, checked.prepared.cfg
    # only SARIF lists the rules (their metadata loads every rule module)
    metas = (_rule_metas(checked.prepared.enabled, cfg, args.report_unused_ignores,
                         args.runtime_file is not None)
             if args.fmt == "sarif" else [])
    ctx = ReportContext(result, rules=metas, scanned=sorted(checked.scanned),
                        suppressed=checked.outcome.suppressed,
                        show_suppressed=args.show_suppressed, root=_sarif_root(),
                        notes=_stale_notes(checked.outcome, args.report_unused_ignores))
    hidden = 0 if args.quiet or args.unsafe_fixes else _hidden_fixes(result)
    with _open_output(args.output_file) as out:
        render(args.fmt, ctx, View(out, to_file=args.output_file is not None,
                                   statistics=args.statistics, quiet=args.quiet,
                                   hidden_fixes=hidden))


def _exit_status(result: ScanResult, args: CheckArguments, fixed: list[AppliedFix]) -> int:
    if result.internal_errors:
        return 2
    if args.exit_zero:
        return 0
    if args.apply_fixes and args.exit_non_zero_on_fix and fixed:
        return 1
    return 1 if _fails(result, args.fail_on) else 0


def _hidden_fixes(result: ScanResult) -> int:
    """How many findings only `--unsafe-fixes` would fix (for the summary line): the
    check planned each finding's fix once for its `[*]`, and kept the answer."""
    return sum(1 for f in result.findings if f.unsafe_fix)


def _print_diff(fix_result: FixResult, quiet: bool) -> None:
    """`check --diff`: the fixes as a unified diff on stdout, a count on stderr, and
    exit 1 when there is a diff (nothing is written)."""
    from poolsafe.fix.loop.writer import unified_diff

    for f in fix_result.changed_files:
        click.echo(unified_diff(f), nl=False)
    if not quiet:
        n = len(fix_result.applied)
        click.echo(f"Would fix {n} finding{'s' if n != 1 else ''}.", err=True)
    sys.exit(2 if fix_result.internal_errors else 1 if fix_result.changed_files else 0)


def _add_noqa(outcome: Outcome, quiet: bool) -> None:
    from poolsafe.fix.loop.suppressions import add_noqa

    written = add_noqa(outcome.result.findings)
    for p in written.problems:
        click.echo(f"{p.path}: {p.message}", err=True)
    if not quiet:
        n = written.edits
        click.echo(f"Added {n} noqa directive{'s' if n != 1 else ''}"
                   + (f" in {written.files} file{'s' if written.files != 1 else ''}"
                      if n else "") + ".", err=True)
    sys.exit(1 if written.problems else 0)


def _remove_unused(outcome: Outcome) -> list[AppliedFix]:
    from poolsafe.fix.loop.apply import AppliedFix
    from poolsafe.fix.loop.suppressions import remove_unused

    written = remove_unused(outcome.removals)
    for p in written.problems:
        click.echo(f"{p.path}: {p.message}", err=True)
    failed = {p.path for p in written.problems}
    return [AppliedFix(r.path, UnusedSuppression.code, r.line,
                       "removed an unused suppression", True, 1)
            for r in outcome.removals if r.path not in failed]


def _fix_listing(fixed: list[AppliedFix]) -> list[str]:
    """`--show-fixes`: per file, how many fixes of each rule (Ruff's layout)."""
    from collections import Counter

    from poolsafe.rules import RULES_BY_CODE

    lines = []
    by_file: dict[str, Counter[str]] = {}
    for a in fixed:
        by_file.setdefault(a.path, Counter())[a.code] += 1
    for path in sorted(by_file):
        lines.append(f"- {path}:")
        for code, n in sorted(by_file[path].items()):
            rule = RULES_BY_CODE.get(code)
            name = rule.name if rule is not None else UnusedSuppression.name
            lines.append(f"    {n} x {code} ({name})")
    return lines


@main.command(name="baseline")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("paths", nargs=-1, type=click.Path())
@config_options
@click.option("--force", is_flag=True,
              help="Write FILE even when it exists and is not a poolsafe baseline.")
@fatal_on_errors
def baseline_command(file: str, paths: tuple[str, ...], force: bool, **options: Any) -> None:
    """Write the current findings of PATHS to the baseline FILE.

    `poolsafe check --baseline FILE` then reports only findings that are not in it.
    Findings are matched by file, code, enclosing function and the text of the
    line, so code that moves stays baselined. FILE is replaced only when it is a
    poolsafe baseline already (or with --force): `poolsafe baseline app.py` would
    otherwise overwrite the code.
    """
    from poolsafe.scan import baseline as baseline_mod

    refusal = None if force else baseline_mod.overwrite_refusal(Path(file))
    if refusal is not None:
        raise Fatal(f"{refusal}; not overwritten (use --force to write it anyway)")
    checked = _checked(prepare(paths, config_arguments(options)))
    try:
        n = baseline_mod.write(Path(file), checked.result.findings)
    except OSError as exc:
        raise Fatal(f"{file}: cannot write: {exc.strerror or exc}") from None
    for e in checked.result.errors:
        click.echo(f"{e.where}: error: {e.message}", err=True)
    scanned = checked.raw.files_scanned
    click.echo(f"Wrote {n} entr{'ies' if n != 1 else 'y'} to {file} "
               f"({scanned} file{'s' if scanned != 1 else ''} scanned).")
    sys.exit(2 if checked.raw.internal_errors else 0)


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Print the documentation of rule CODE (e.g. PS102, or unreleased-connection)."""
    from poolsafe.report.rule_docs import explain_markdown, find_rule

    rule = find_rule(code)
    if rule is None:
        raise Fatal(f"unknown rule {code!r} (see `poolsafe rules`)")
    page = explain_markdown(rule.meta())
    console = make_console()
    if console.is_terminal:
        from rich.markdown import Markdown

        console.print(Markdown(page))
    else:
        click.echo(page)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def rules(fmt: str) -> None:
    """List every rule: code, name, severity, fixable, summary."""
    metas = [r.meta() for r in known_rules()]
    if fmt == "json":
        import json

        click.echo(json.dumps([{"code": m.code, "name": m.name, "summary": m.summary,
                                "severity": str(m.severity), "fixable": m.fixable}
                               for m in metas], indent=2))
        return
    from rich.table import Table

    console = make_console(highlight=False)
    terminal = console.is_terminal
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("code", "name", "severity", "fixable", "summary"):
        table.add_column(column, no_wrap=not terminal or column != "summary")
    for m in metas:
        table.add_row(m.code, m.name, str(m.severity), "yes" if m.fixable else "",
                      m.summary)
    if terminal:
        console.print(table)
        return
    # off a terminal (pipes, scripts): one line per rule, no padding at line ends
    from rich.console import Console

    plain = Console(file=io.StringIO(), width=1000, highlight=False, no_color=True)
    with plain.capture() as captured:
        plain.print(table)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


@main.command(name="capacity")
@click.argument("path", required=False, default=".", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@fatal_on_errors
def capacity_command(path: str, fmt: str) -> None:
    """Add up the connections the pools of PATH's project can open (pool sizes x
    processes x replicas, per environment) and compare them with each server's limit.
    A folder of projects (PATH below its project root, holding projects of their
    own) gets one report per project that has a pool.

    Exit status: 0 within budget, 1 over budget, 2 on errors, 3 when nothing could be
    compared (no pool matched with a program and a server's limit: no verdict).
    """
    from poolsafe.report import capacity_report
    from poolsafe.scan.capacity_scan import CapacityError, capacity_paths, project_capacity

    try:
        reports = [project_capacity(p) for p in capacity_paths(path)]
    except CapacityError as exc:
        raise Fatal(str(exc)) from None
    if fmt == "json":
        click.echo(capacity_report.render_json(*reports[0]) if len(reports) == 1
                   else capacity_report.render_json_projects(reports), nl=False)
    else:
        from rich.console import Console

        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=200, no_color=True)
        for i, (cap, errors) in enumerate(reports):
            if i:
                console.print()
            capacity_report.render_text(cap, console, errors)
        if len(reports) > 1:
            console.print()
            console.print(capacity_report.projects_summary([cap for cap, _ in reports]))
    caps = [cap for cap, _ in reports]
    sys.exit(1 if any(c.over for c in caps) else 0 if any(c.compared for c in caps)
             else NOTHING_COMPARED)


#: `poolsafe capacity`'s exit status when no budget could be compared
NOTHING_COMPARED = 3


from poolsafe.cli.fix_command import fix_command  # noqa: E402 (registered last: `poolsafe fix`)

main.add_command(fix_command)

from poolsafe.lsp.cli import server_command  # noqa: E402 (`poolsafe server`)

main.add_command(server_command)


@main.command()
def clean() -> None:
    """Remove the cache (.poolsafe_cache/ in the project root): only what poolsafe wrote."""
    directory = default_cache_dir()
    existed = directory.exists()
    try:
        left = clear_cache(directory)
    except (CacheError, OSError) as exc:
        raise Fatal(f"{exc}; nothing removed") from None
    if left:
        click.echo(f"Removed poolsafe's files from {CACHE_DIR_NAME}/; left what poolsafe did "
                   f"not write: {', '.join(left)}")
    elif existed:
        click.echo(f"Removed {CACHE_DIR_NAME}/")


if __name__ == "__main__":
    main()

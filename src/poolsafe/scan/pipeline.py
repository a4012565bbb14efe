"""The check pipeline every command runs: the command line's configuration overrides
resolved into a scan's options once (`prepare`), then scan -> per-file ignores and
suppression comments -> baseline (`run_check`).

`poolsafe check`, `poolsafe baseline`, `poolsafe fix` (and `check --fix/--diff`) start
from the same `Prepared`; the language server builds its options with the same
`Selection` and `scan_options`, one buffer at a time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from poolsafe.core.model import ScanResult
from poolsafe.core.rule_codes import RULE_CODES, enabled_codes, selected
from poolsafe.scan.cache import cache_problem, default_cache_dir
from poolsafe.scan.config import (
    Config,
    ConfigError,
    exclude_regexes,
    is_known_selector,
    matches_any,
    resolve_config,
)
from poolsafe.scan.engine import ScanOptions, scan, scope_options
from poolsafe.scan.parallel import default_jobs
from poolsafe.scan.postprocess import Outcome, UnusedSuppression, process

if TYPE_CHECKING:
    from poolsafe.scan import baseline as baseline_mod


class ArgumentError(ConfigError):
    """A path or rule code on the command line that cannot be used."""


def known_codes() -> list[str]:
    """Every code a user can name: the analysis rules, PS001 (unused suppression) and
    PS002 (a leak only the test suite saw)."""
    return [UnusedSuppression.code, "PS002", *RULE_CODES]


def split_codes(value: str | None) -> list[str] | None:
    """`--select PS1,PS203` as a list of known selectors (None: not given)."""
    if value is None:
        return None
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    known = known_codes()
    for c in codes:
        if not is_known_selector(c, known):
            raise ArgumentError(f"unknown rule code {c!r} (see `poolsafe rules`)")
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


class ConfigArguments(NamedTuple):
    """What the command line says about the configuration (Ruff's configuration
    overrides): every command that scans takes the same ones. (The values of this
    module are named tuples: cheaper to define than dataclasses, and every command's
    start-up pays for their definitions.)"""

    config_file: str | None = None
    isolated: bool = False
    select: str | None = None
    extend_select: str | None = None
    ignore: str | None = None
    extend_exclude: str | None = None
    force_exclude: bool | None = None
    no_cache: bool = False
    jobs: int | None = None
    project_root: str | None = None
    #: `check -`: the name the code on standard input is checked as (None: `-` is
    #: refused, as for every command but `check`)
    stdin_filename: str | None = None

    def selection(self) -> Selection:
        return Selection(split_codes(self.select), split_codes(self.extend_select) or [],
                         split_codes(self.ignore) or [])


class Prepared(NamedTuple):
    """The configuration, the enabled rule codes, the scan options and the paths to
    scan: built once per command."""

    cfg: Config
    enabled: set[str]
    options: ScanOptions
    targets: list[str]
    #: problems that do not stop the run (an unusable cache), one line each
    warnings: list[str]


def scan_options(cfg: Config, enabled: set[str], excludes: list[str], targets: list[str],
                 project_root: str | None) -> ScanOptions:
    """The options a scan of `targets` gets from the configuration."""
    return ScanOptions(select=enabled, project=cfg.project,
                       exclude=exclude_regexes(excludes, targets, cfg.root),
                       **scope_options(cfg, excludes, project_root))


def prepare(paths: tuple[str, ...] | list[str], args: ConfigArguments) -> Prepared:
    """Resolve the configuration for `paths` (default: .) with the command line on top."""
    selection = args.selection()
    targets = list(paths) or ["."]
    stdin_name: str | None = None
    if targets == ["-"] and args.stdin_filename is not None:
        # `check -`: the code comes on standard input, resolved as if it were the file
        # --stdin-filename names (default: stdin.py here), in that file's project
        stdin_name = args.stdin_filename or "stdin.py"
        targets = [stdin_name]
    elif "-" in targets:
        raise ArgumentError("`-` (standard input) must be the only path, and only for `check`")
    for p in targets:
        if stdin_name is None and not os.path.lexists(p):
            raise ArgumentError(f"{p}: no such file or directory")
    cfg = resolve_config(targets, args.config_file, args.isolated, known_codes())
    excludes = [*cfg.exclude, *cfg.extend_exclude]
    if args.extend_exclude:
        excludes.extend(g.strip() for g in args.extend_exclude.split(",") if g.strip())
    if args.force_exclude or (args.force_exclude is None and cfg.force_exclude):
        targets = [p for p in targets
                   if not (os.path.isfile(p) and matches_any(p, excludes, cfg.root))]
    enabled = selection.enabled(cfg)
    options = scan_options(cfg, enabled, excludes, targets, args.project_root)
    warnings: list[str] = []
    options.cache_dir = None
    if not args.no_cache:
        directory = default_cache_dir()
        problem = cache_problem(directory)
        if problem is None:
            options.cache_dir = directory
        else:
            warnings.append(f"{problem}: running without a cache")
    options.jobs = args.jobs or default_jobs()
    if stdin_name is not None:
        options.overrides = {Path(os.path.abspath(stdin_name)): sys.stdin.buffer.read()}
        options.cache_dir = None  # a buffer is not the tree the cache describes
    return Prepared(cfg, enabled, options, targets, warnings)


class Checked(NamedTuple):
    """A check's result: what the engine found (`raw`), the files it checked, and
    what is left after per-file ignores, suppression comments and the baseline."""

    prepared: Prepared
    raw: ScanResult
    scanned: list[str]
    outcome: Outcome

    @property
    def result(self) -> ScanResult:
        return self.outcome.result


def run_check(prepared: Prepared, *, baseline: baseline_mod.Baseline | None = None,
              report_unused: bool = False,
              on_progress: Callable[[str, str], None] | None = None,
              runtime: str | None = None, confirmed_only: bool = False) -> Checked:
    """Scan the prepared paths and apply per-file ignores, suppression comments and
    the baseline; `on_progress(phase, path)` hears of each file parsed and checked.
    `runtime`: a report of `pytest --poolsafe-report`, whose leaks confirm findings
    or are findings of their own (PS002); `confirmed_only` keeps only those."""
    evidence = None
    if runtime is not None:  # read first: a bad report stops the run before the scan
        from poolsafe.scan import runtime_evidence

        evidence = runtime_evidence.read(runtime)
    scanned: list[str] = []
    raw = ScanResult()
    if prepared.targets:
        def record(phase: str, path: str) -> None:
            if phase == "check":
                scanned.append(path)
            if on_progress is not None:
                on_progress(phase, path)

        prepared.options.progress = record
        raw = scan(prepared.targets, prepared.options)
        if not scanned and raw.files_scanned:
            # an engine that does not report progress: list the files ourselves
            from poolsafe.core.discovery import discover

            failed = {e.path for e in raw.errors}
            scanned = [item.display for item in discover(prepared.targets,
                                                         excluded=prepared.options.exclude)
                       if not isinstance(item, str) and item.display not in failed]
    outcome = process(raw, prepared.cfg, enabled=prepared.enabled, baseline=baseline,
                      scanned=scanned, report_unused=report_unused)
    if evidence is not None:
        from poolsafe.scan import runtime_evidence

        outcome.result = runtime_evidence.apply(outcome.result, evidence, scanned)
        if confirmed_only:
            outcome.result.findings = [f for f in outcome.result.findings if f.confirmed]
    return Checked(prepared, raw, scanned, outcome)

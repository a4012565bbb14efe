"""What happens to findings between the engine and the report: per-file ignores,
severity overrides, `# poolsafe: ignore` comments, the baseline, and reports of
suppressions that no longer suppress anything."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from poolsafe.core.model import Finding, Location, RawFinding, ScanResult, Severity
from poolsafe.rules.base import FileContext, Rule
from poolsafe.scan.config import Config, matches_any
from poolsafe.scan.suppression import IgnoreComment, read_comments

if TYPE_CHECKING:
    from poolsafe.scan import baseline as baseline_mod


class UnusedSuppression(Rule):
    """
    ## What it does
    Reports a `# poolsafe: ignore` comment (or one code in it) that suppresses no
    finding, when `poolsafe check` runs with `--report-unused-ignores`.

    ## Why is this bad?
    A suppression outlives the code it was written for: after a fix, or after the
    line changed, it silently hides the next real leak on that line. Removing it
    keeps the suppressions that remain meaningful.

    ## Example
    ```python
    conn = pool.getconn()  # poolsafe: ignore[PS102]
    try:
        ...
    finally:
        pool.putconn(conn)
    ```

    ## Use instead
    ```python
    conn = pool.getconn()
    try:
        ...
    finally:
        pool.putconn(conn)
    ```

    Codes that name rules not enabled in this run are not reported.

    ## Fix
    `poolsafe check --fix --report-unused-ignores` removes the unused (and unknown)
    codes from the comment, or the whole comment when none is left; the rest of a
    comment it shares with other text (`# noqa: E501`, an explanation) stays. The fix
    is safe: what is removed suppresses nothing.
    """

    code = "PS001"
    name = "unused-suppression"
    summary = "a `# poolsafe: ignore` comment that suppresses nothing"
    severity = Severity.WARNING
    fixable = True

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:  # pragma: no cover
        return iter(())


@dataclass
class Suppressed:
    finding: Finding
    #: "comment" (an ignore comment on the line) or "baseline"
    reason: str


@dataclass(frozen=True)
class Removal:
    """What PS001's fix removes: the unused codes of the comment on `line` (None: the
    whole comment)."""

    path: str
    line: int
    codes: list[str] | None


@dataclass
class Outcome:
    result: ScanResult
    suppressed: list[Suppressed] = field(default_factory=list)
    stale_baseline: list[baseline_mod.Key] = field(default_factory=list)
    baseline_path: str | None = None
    #: PS001's fixes, for `check --fix --report-unused-ignores`
    removals: list[Removal] = field(default_factory=list)


def process(result: ScanResult, cfg: Config, *, enabled: Iterable[str],
            baseline: baseline_mod.Baseline | None = None, scanned: Iterable[str] = (),
            report_unused: bool = False,
            info: baseline_mod.SourceInfo | None = None) -> Outcome:
    enabled_codes = set(enabled)
    findings = list(result.findings)

    if cfg.per_file_ignores:
        findings = [f for f in findings if not per_file_ignored(f.path, f.code, cfg)]
    if cfg.severity:
        findings = [dataclasses.replace(f, severity=cfg.severity[f.code])
                    if f.code in cfg.severity else f for f in findings]

    # inline comments (read for every file with findings, and, to report unused
    # ones, for every scanned file)
    paths = {f.path for f in findings}
    scanned_list = list(scanned)
    if report_unused:
        paths |= set(scanned_list)
    comments = {p: read_comments(p, result.sources.get(p)) for p in sorted(paths)}
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    for f in findings:
        c = comments.get(f.path, {}).get(f.line)
        if c is not None and c.covers(f.code):
            c.used.add(f.code if c.codes is not None else "*")
            suppressed.append(Suppressed(f, "comment"))
        else:
            kept.append(f)

    stale: list[baseline_mod.Key] = []
    if baseline is not None:  # (poolsafe.scan.baseline is imported only with a baseline)
        from poolsafe.scan import baseline as baseline_mod

        match = baseline_mod.apply(baseline, kept, scanned_list,
                                   info or baseline_mod.SourceInfo())
        kept = match.kept
        suppressed.extend(Suppressed(f, "baseline") for f in match.baselined)
        stale = match.stale

    removals: list[Removal] = []
    if report_unused:
        kept.extend(_unused(comments, enabled_codes, removals))

    kept.sort(key=Finding.sort_key)
    suppressed.sort(key=lambda s: s.finding.sort_key())
    out = ScanResult(findings=kept, errors=list(result.errors),
                     files_scanned=result.files_scanned,
                     internal_errors=result.internal_errors, sources=result.sources)
    return Outcome(out, suppressed, stale, str(baseline.path) if baseline else None,
                   removals)


def per_file_ignored(path: str, code: str, cfg: Config) -> bool:
    """Whether `per-file-ignores` turns `code` off for the file at `path`."""
    for glob, codes in cfg.per_file_ignores.items():
        if any(c == "ALL" or code.startswith(c) for c in codes) and matches_any(
                path, [glob], cfg.root):
            return True
    return False


def _unused(comments: dict[str, dict[int, IgnoreComment]], enabled: set[str],
            removals: list[Removal] | None = None) -> Iterator[Finding]:
    """PS001 findings; `removals` receives what PS001's fix removes for each."""
    meta = UnusedSuppression.meta()
    removals = [] if removals is None else removals
    for path, by_line in comments.items():
        for c in by_line.values():
            if c.codes is None:
                if c.used or c.noqa:  # a bare noqa comment may be another tool's
                    continue
                message = "unused `# poolsafe: ignore`: nothing is reported on this line"
                removals.append(Removal(path, c.line, None))
            else:
                unknown = sorted(code for code in c.codes if not _is_rule(code))
                unused = sorted(code for code in c.codes - c.used
                                if code in enabled and code not in unknown)
                if not unknown and not unused:
                    continue
                removals.append(Removal(path, c.line, [*unused, *unknown]))
                parts = []
                if unused:
                    parts.append(f"unused code{'s' if len(unused) > 1 else ''} "
                                 f"{', '.join(unused)} in `{c.text}`")
                if unknown:
                    parts.append(f"unknown code{'s' if len(unknown) > 1 else ''} "
                                 f"{', '.join(unknown)} in `{c.text}`")
                message = "; ".join(parts)
            end = c.column + len(c.text)
            yield Finding(path, Location(c.line, c.column, c.line, end), meta.code, meta.name,
                          message, meta.severity, meta.fixable)


def _is_rule(code: str) -> bool:
    from poolsafe.rules import RULES_BY_CODE

    return code in RULES_BY_CODE or code == UnusedSuppression.code

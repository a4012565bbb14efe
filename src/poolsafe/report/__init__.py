"""Output formats for scan results.

Each format module has `render(ctx) -> str` (text renders onto a rich Console
instead). `ReportContext` carries what a format may need beyond the findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from poolsafe.core.model import RuleMeta, ScanResult
from poolsafe.scan.postprocess import Suppressed


@dataclass
class ReportContext:
    result: ScanResult
    #: the rules that ran (and PS001 when unused suppressions are reported)
    rules: list[RuleMeta] = field(default_factory=list)
    #: every file that was scanned, as displayed (for junit)
    scanned: list[str] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    show_suppressed: bool = False
    #: the directory SARIF URIs are relative to (%SRCROOT%)
    root: Path = field(default_factory=Path.cwd)
    #: lines for the summary (stale baseline entries and the like)
    notes: list[str] = field(default_factory=list)

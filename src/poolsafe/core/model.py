"""The data that flows through poolsafe: rules, findings, errors."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RuleMeta:
    """What a rule is, independent of any file it runs on."""

    code: str
    name: str
    summary: str
    severity: Severity
    fixable: bool
    doc: str


@dataclass(frozen=True)
class Location:
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Step:
    """One step of the path that shows a finding (`16: conn checked out here`)."""

    line: int
    column: int
    label: str
    #: the file, when not the finding's own: the definition of a project wrapper in
    #: another module (`get_db_connection()` in `db.py`)
    path: str | None = None


@dataclass
class RawFinding:
    """A finding as a rule reports it: anchored to a node, positions resolved later."""

    code: str
    node: cst.CSTNode
    message: str
    #: the path that shows it, as (node, label) pairs: resolved with the positions
    #: (a `Step` already resolved: a place in another module)
    steps: tuple[tuple[cst.CSTNode, str] | Step, ...] = ()


@dataclass(frozen=True)
class Finding:
    path: str
    location: Location
    code: str
    name: str
    message: str
    severity: Severity
    fixable: bool
    #: the rule has a fix for it, but only an unsafe one (`--unsafe-fixes`): Ruff's
    #: "hidden fix", counted in the summary line
    unsafe_fix: bool = False
    #: the path that shows the finding (the checkout, what raises, how the function is
    #: left), in order; empty when the finding is its own evidence
    steps: tuple[Step, ...] = ()
    #: `check --runtime`: the test that leaked this checkout while the suite ran
    confirmed: str | None = None
    #: `check --runtime`: what else the suite saw of this checkout (each time a pool
    #: ran dry while it held one of the connections)
    runtime_notes: tuple[str, ...] = ()

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def column(self) -> int:
        return self.location.column

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.location.line, self.location.column, self.code)


@dataclass(frozen=True)
class FileError:
    path: str
    message: str
    #: where in the file, when the problem has a place (a syntax error)
    line: int | None = None
    column: int | None = None

    @property
    def where(self) -> str:
        """`path:line:column`, or the path alone."""
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}:{self.column or 1}"


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files_scanned: int = 0
    #: internal errors (a rule crashed on a file); these make the exit code 2
    internal_errors: int = 0
    #: the bytes the scan read of each file with findings, by its shown path: what
    #: the code frames and the suppression comments are read from, instead of
    #: reading the files again (and as they were when scanned)
    sources: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def record(self, findings: list[Finding], errors: list[FileError]) -> None:
        """Add one file's (or one share's) findings and errors, counting the
        internal ones."""
        self.findings.extend(findings)
        for e in errors:
            self.errors.append(e)
            if e.message.startswith("internal error"):
                self.internal_errors += 1

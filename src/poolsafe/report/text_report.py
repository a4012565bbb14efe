"""`--format text`: findings with a short code frame, and a summary line (rich)."""

from __future__ import annotations

from typing import IO

from rich import control as rich_control
from rich.console import Console
from rich.control import strip_control_codes
from rich.markup import escape

from poolsafe.core.model import Finding, ScanResult
from poolsafe.report import ReportContext

_SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow"}


def _frame(lines: list[str], f: Finding) -> list[str]:
    loc = f.location
    n = loc.line
    out = []
    for i in range(max(1, n - 1), min(len(lines), n + 1) + 1):
        text = lines[i - 1].rstrip()
        if i != n:
            out.append(f"    {i:>4} | {text}")
            continue
        out.append(f"  > {i:>4} | {text}")
        width = max(1, (loc.end_column - loc.column) if loc.end_line == n
                    else len(text) - loc.column + 1)
        out.append("         | " + " " * (loc.column - 1) + "^" * width)
    return out


def _confirmed(f: Finding) -> str:
    """`check --runtime`: the test that leaked it (a PS002 names it in its message)."""
    return f" [confirmed at runtime by {f.confirmed}]" if f.confirmed and \
        f.code != "PS002" else ""


def _path(f: Finding) -> list[str]:
    """The finding's path under its frame: one line per step, `= LINE: what happens`."""
    return [*(f"         = {s.path + ':' if s.path else ''}{s.line}: {s.label}"
              for s in f.steps),
            *(f"         = note: {note}" for note in f.runtime_notes)]


def _lines(data: bytes) -> list[str]:
    """A file's lines for code frames (as `Path.read_text` with replaced errors, then
    `splitlines`, would give them)."""
    return data.decode("utf-8", "replace").splitlines()


def _source_lines(path: str, cache: dict[str, list[str]]) -> list[str]:
    """The lines of `path` for code frames, read once per report (none if unreadable)
    unless the scan's bytes were put in `cache` already."""
    if path not in cache:
        try:
            with open(path, "rb") as f:
                cache[path] = _lines(f.read())
        except OSError:
            cache[path] = []
    return cache[path]


def _print_finding(console: Console, f: Finding, cache: dict[str, list[str]],
                   suffix: str = "") -> None:
    style = _SEVERITY_STYLE.get(str(f.severity), "bold")
    console.print(
        f"[bold]{escape(f.path)}[/]:{f.line}:{f.column}: [{style}]{f.code}[/] "
        + ("[cyan]\\[*][/] " if f.fixable else "")
        + f"[dim]{f.severity}[/] {escape(f.message)}" + escape(_confirmed(f)) + suffix,
        highlight=False,
        soft_wrap=True,
        emoji=False,
    )
    for line in _frame(_source_lines(f.path, cache), f):
        console.print(escape(line), style="dim", highlight=False, soft_wrap=True, emoji=False)
    for line in _path(f):
        console.print(escape(line), highlight=False, soft_wrap=True, emoji=False)


#: the characters `strip_control_codes` removes, to find whether a text has any
#: (it translates every character, which took a tenth of a report of thousands of
#: findings; a substring test per character is a fast search); None, if rich no
#: longer says, strips every text
_CONTROL_TABLE = getattr(rich_control, "_CONTROL_STRIP_TRANSLATE", None)
_CONTROL_CHARS = (tuple(chr(c) for c in _CONTROL_TABLE)
                  if isinstance(_CONTROL_TABLE, dict) and _CONTROL_TABLE
                  and all(isinstance(c, int) for c in _CONTROL_TABLE) else None)


def _plain(text: str) -> str:
    """`text` as rich prints it without styles: its control codes removed (rich's own
    function) and tabs expanded to 8 columns."""
    if _CONTROL_CHARS is None or any(c in text for c in _CONTROL_CHARS):
        text = strip_control_codes(text)
    return text.expandtabs(8) if "\t" in text else text


def _finding_text(f: Finding, cache: dict[str, list[str]]) -> str:
    """What `_print_finding` prints, before `_plain`."""
    head = (f"{f.path}:{f.line}:{f.column}: {f.code} " + ("[*] " if f.fixable else "")
            + f"{f.severity!s} {f.message}{_confirmed(f)}")
    return "\n".join((head, *_frame(_source_lines(f.path, cache), f), *_path(f))) + "\n"


def _finding_plain(f: Finding, cache: dict[str, list[str]]) -> str:
    """What `_print_finding` prints, for a console that writes no escape code: the
    same text, built directly (rich's markup parsing of every line was most of the
    time of a run with thousands of findings). `_plain` keeps line breaks, and tabs
    expand from each line's start, so it applies to the whole text at once."""
    return _plain(_finding_text(f, cache))


def _write_findings_plain(out: IO[str], findings: list[Finding],
                          cache: dict[str, list[str]]) -> None:
    # a few writes, not one per line; and `_plain` once a write: each finding's
    # text ends a line, so tabs expand from the same line starts as in its own
    for start in range(0, len(findings), 1000):
        out.write(_plain("".join(_finding_text(f, cache)
                                 for f in findings[start:start + 1000])))


def _writes_plain(console: Console) -> bool:
    """The console styles nothing and wraps nothing we print (soft wrap), so the text
    can go to its file as it is."""
    return console.color_system is None and not console.record and not console.is_jupyter


def render(ctx: ReportContext | ScanResult, console: Console, *,
           findings: bool = True, summary: bool = True, hidden_fixes: int = 0) -> None:
    """Findings with code frames, errors, suppressed findings (when asked), notes and
    the summary line. `findings=False` prints only errors, notes and the summary
    (used under `--statistics`); `summary=False` (`--quiet`) leaves out the notes and
    the summary line."""
    if isinstance(ctx, ScanResult):
        ctx = ReportContext(ctx)
    result = ctx.result
    cache: dict[str, list[str]] = {}
    if findings:
        # the lines of each file as the scan read it
        cache.update((path, _lines(data)) for path, data in result.sources.items())
        if _writes_plain(console):
            _write_findings_plain(console.file, result.findings, cache)
        else:
            for f in result.findings:
                _print_finding(console, f, cache)
    for e in result.errors:
        console.print(f"[bold]{escape(e.where)}[/]: [bold magenta]error:[/] {escape(e.message)}",
                      highlight=False, soft_wrap=True)
    if ctx.show_suppressed and ctx.suppressed:
        console.print(f"[bold]Suppressed ({len(ctx.suppressed)}):[/]", highlight=False)
        for s in ctx.suppressed:
            _print_finding(console, s.finding, cache,
                           f" [dim](suppressed by {escape(s.reason)})[/]")
    if not summary:
        return
    for note in ctx.notes:
        console.print(escape(note), highlight=False, soft_wrap=True)
    console.print(summary_line(result, len(ctx.suppressed), hidden_fixes), markup=False,
                  highlight=False, soft_wrap=True)


def summary_line(result: ScanResult, suppressed: int = 0, hidden_fixes: int = 0) -> str:
    """The last line: what was found, what `poolsafe fix` fixes ([*]), and how many
    more fixes `--unsafe-fixes` would apply (Ruff's "hidden fixes")."""
    n = len(result.findings)
    fixable = sum(1 for f in result.findings if f.fixable)
    files = len({f.path for f in result.findings})
    parts = []
    if n:
        parts.append(f"Found {n} finding{'s' if n != 1 else ''} in {files} "
                     f"file{'s' if files != 1 else ''} ({result.files_scanned} scanned)")
        if fixable:
            parts.append(f"{fixable} fixable with `poolsafe fix` [*]")
        if hidden_fixes:
            parts.append(f"{hidden_fixes} hidden fix{'es' if hidden_fixes != 1 else ''} "
                         "can be enabled with `--unsafe-fixes`")
    elif result.errors:  # never "All clear" over a file that was not checked
        failed = len({e.path for e in result.errors})
        checked = max(0, result.files_scanned - failed)
        parts.append(f"No findings in the {checked} file{'s' if checked != 1 else ''} "
                     "that could be checked")
    else:
        parts.append(f"All clear: no findings in {result.files_scanned} "
                     f"file{'s' if result.files_scanned != 1 else ''}")
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    if result.errors:
        failed = len({e.path for e in result.errors})
        parts.append(f"{failed} file{'s' if failed != 1 else ''} could not be checked")
    return "; ".join(parts) + "."

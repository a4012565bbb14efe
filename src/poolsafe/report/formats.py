"""`check --format NAME`: a table from each format's name to its renderer.

A renderer writes one report of `ReportContext` to `View.out`. The text formats write
through a rich Console (colour on a terminal, none in a file or under NO_COLOR) and
end with the notes and the summary line; the machine formats write their document and
say the notes on stderr, where they cannot break it. Each renderer imports its format
module when it runs: a plain `check` loads only the text report.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from poolsafe.report import ReportContext

if TYPE_CHECKING:  # (imported when a report writes through one: json needs none)
    from rich.console import Console


def no_color() -> bool:
    """`NO_COLOR` (https://no-color.org): set and not empty."""
    import os

    return bool(os.environ.get("NO_COLOR"))


def make_console(**kwargs: Any) -> Console:
    """A rich Console; under NO_COLOR, one that writes no escape code at all (rich's
    own NO_COLOR handling keeps bold and dim)."""
    from rich.console import Console

    if no_color():
        kwargs["color_system"] = None
    return Console(**kwargs)


class View(NamedTuple):
    """How the report is shown: where, and the options that shape it."""

    out: IO[str]
    #: the report goes to a file (`-o`): never colour, whatever FORCE_COLOR says
    to_file: bool = False
    statistics: bool = False
    quiet: bool = False
    #: findings only `--unsafe-fixes` would fix, for the summary line
    hidden_fixes: int = 0

    def console(self) -> Console:
        from rich.console import Console

        if self.to_file:
            return Console(file=self.out, highlight=False, force_terminal=False, no_color=True)
        return make_console(highlight=False)


Renderer = Callable[[ReportContext, View], None]


def _text(ctx: ReportContext, view: View) -> None:
    from poolsafe.report import text_report

    console = view.console()
    if view.statistics:
        from poolsafe.report import statistics

        statistics.render_text(ctx.result, console)
    text_report.render(ctx, console, findings=not view.statistics, summary=not view.quiet,
                       hidden_fixes=view.hidden_fixes)


def _concise(ctx: ReportContext, view: View) -> None:
    if view.statistics:
        _text(ctx, view)
        return
    from poolsafe.report import concise, text_report

    console = view.console()
    view.out.write(concise.render(ctx))
    view.out.flush()
    if not view.quiet:
        for note in ctx.notes:
            console.print(note, highlight=False, markup=False, soft_wrap=True)
        console.print(text_report.summary_line(ctx.result, len(ctx.suppressed),
                                               view.hidden_fixes),
                      highlight=False, markup=False, soft_wrap=True)


def _document(render: Callable[[ReportContext], str]) -> Renderer:
    """A machine format: its document on the output, the notes on stderr."""

    def renderer(ctx: ReportContext, view: View) -> None:
        view.out.write(render(ctx))
        for note in ctx.notes:
            print(f"poolsafe: {note.strip()}", file=sys.stderr, flush=True)

    return renderer


def _json(ctx: ReportContext) -> str:
    from poolsafe.report import json_report

    return json_report.render(ctx.result)


def _json_lines(ctx: ReportContext) -> str:
    from poolsafe.report import json_lines

    return json_lines.render(ctx.result)


def _sarif(ctx: ReportContext) -> str:
    from poolsafe.report import sarif

    return sarif.render(ctx)


def _github(ctx: ReportContext) -> str:
    from poolsafe.report import github

    return github.render(ctx)


def _gitlab(ctx: ReportContext) -> str:
    from poolsafe.report import gitlab

    return gitlab.render(ctx)


def _junit(ctx: ReportContext) -> str:
    from poolsafe.report import junit

    return junit.render(ctx)


def _json_or_statistics(ctx: ReportContext, view: View) -> None:
    if view.statistics:
        from poolsafe.report import statistics

        _document(lambda c: statistics.render_json(c.result))(ctx, view)
    else:
        _document(_json)(ctx, view)


#: every format `check --format` takes, in the order `--help` lists them
FORMATS: dict[str, Renderer] = {
    "text": _text,
    "concise": _concise,
    "json": _json_or_statistics,
    "json-lines": _document(_json_lines),
    "sarif": _document(_sarif),
    "github": _document(_github),
    "gitlab": _document(_gitlab),
    "junit": _document(_junit),
}


def render(fmt: str, ctx: ReportContext, view: View) -> None:
    FORMATS[fmt](ctx, view)

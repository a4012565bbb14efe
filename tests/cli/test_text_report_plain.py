"""Text output to a console that styles nothing is written directly, without rich's
markup pass over every line; it must be the same text rich prints (and rich must not
turn `:name:` in source lines into emoji)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from poolsafe.core.model import Finding, Location, Severity
from poolsafe.report import text_report

SOURCES = {
    "plain.py": "import psycopg2\n\nconn = pool.getconn()\nconn.close()\n",
    "tabs.py": "def f():\n\tconn = pool.getconn()\t# tab\n\treturn conn\n",
    "controls.py": "x = 1\r\ny = 'a\x0cb\x07c\x08'\r\nz = 3\r\n",
    "markup.py": "print('[bold]not markup[/]', r'\\[x]')\nconn = get('[*]')\n",
    "emoji.py": "status = ':thumbs_up: :smile:'\nconn = db.get_conn()\n",
    "unicode.py": "naïve = 'ünïcödé — 日本語'\nconn = pool.getconn()\n",
}


def _finding(path: Path, line: int, fixable: bool, message: str) -> Finding:
    return Finding(str(path), Location(line, 2, line, 9), "PS102", "unreleased-connection",
                   message, Severity.ERROR, fixable)


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize("fixable", [True, False])
def test_plain_output_is_what_rich_prints(tmp_path: Path, name: str, fixable: bool) -> None:
    path = tmp_path / name
    path.write_bytes(SOURCES[name].encode("utf-8"))
    lines = SOURCES[name].count("\n")
    message = "`conn` [from] `get()` is\tnot returned :smile: [bold]x[/] \\[y]"
    findings = [_finding(path, n, fixable, message) for n in range(1, lines + 1)]

    rich_out = io.StringIO()
    console = Console(file=rich_out, highlight=False, force_terminal=False, no_color=True,
                      width=80)
    assert not text_report._writes_plain(Console(file=io.StringIO(), force_terminal=True))
    for f in findings:
        text_report._print_finding(console, f, {})

    plain_out = io.StringIO()
    text_report._write_findings_plain(plain_out, findings, {})

    assert plain_out.getvalue() == rich_out.getvalue()
    assert "\r" not in plain_out.getvalue() and "\t" not in plain_out.getvalue()
    if name == "emoji.py":
        assert ":thumbs_up: :smile:" in plain_out.getvalue()


def test_plain_output_of_thousands_of_findings(tmp_path: Path) -> None:
    """Written in chunks of findings: none lost or doubled at a chunk's edge."""
    path = tmp_path / "many.py"
    path.write_text("".join(f"conn{n} = pool.getconn()\n" for n in range(2100)))
    findings = [_finding(path, n, n % 2 == 0, f"leak {n}") for n in range(1, 2101)]
    rich_out = io.StringIO()
    console = Console(file=rich_out, highlight=False, force_terminal=False, no_color=True,
                      width=80)
    for f in findings:
        text_report._print_finding(console, f, {})
    plain_out = io.StringIO()
    text_report._write_findings_plain(plain_out, findings, {})
    assert plain_out.getvalue() == rich_out.getvalue()


def test_render_takes_the_plain_path_only_without_styles() -> None:
    assert text_report._writes_plain(Console(file=io.StringIO(), no_color=True,
                                             force_terminal=False, color_system=None))
    assert not text_report._writes_plain(Console(file=io.StringIO(), force_terminal=True,
                                                 color_system="standard"))
    assert not text_report._writes_plain(Console(file=io.StringIO(), record=True,
                                                 color_system=None))

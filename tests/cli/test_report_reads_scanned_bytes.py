"""The code frames and the suppression comments come from the bytes the scan read
(`ScanResult.sources`): the same lines as reading the file (CRLF, a BOM, bytes that
are not UTF-8), and what was scanned even when the file changed on disk since."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from poolsafe.report import text_report
from poolsafe.scan.config import Config
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.postprocess import process

LEAK = ("from psycopg2.pool import ThreadedConnectionPool\n"
        "POOL = ThreadedConnectionPool(1, 5)\n\n"
        "def f():\n    conn = POOL.getconn()  # é\n    conn.cursor().execute('x')\n"
        "    POOL.putconn(conn)\n")


def _render(result: object) -> str:
    out = io.StringIO()
    console = Console(file=out, highlight=False, force_terminal=False, no_color=True)
    text_report.render(result, console)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("data", [
    LEAK.encode(),
    LEAK.replace("\n", "\r\n").encode(),
    b"\xef\xbb\xbf" + LEAK.encode(),
    b"# -*- coding: latin-1 -*-\n" + LEAK.encode("latin-1"),  # not UTF-8: \xe9
], ids=["lf", "crlf", "bom", "latin-1"])
def test_frames_from_the_scan_are_those_read_from_the_file(tmp_path: Path, data: bytes,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    (tmp_path / "db.py").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    result = scan(["db.py"], ScanOptions(cache_dir=None))
    assert [f.code for f in result.findings] == ["PS102"]
    assert set(result.sources) == {"db.py"}
    from_scan = _render(result)
    result.sources.clear()  # the report reads the file itself
    assert _render(result) == from_scan
    assert "conn = POOL.getconn()" in from_scan


def test_a_file_changed_after_the_scan_is_shown_and_suppressed_as_scanned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "db.py").write_text(LEAK)
    monkeypatch.chdir(tmp_path)
    result = scan(["db.py"], ScanOptions(cache_dir=None))
    # edited on disk between the scan and the report: a suppression comment on
    # the reported line, and different text in the frame
    (tmp_path / "db.py").write_text(LEAK.replace("# é", "# noqa: PS102  CHANGED"))
    outcome = process(result, Config(), enabled=["PS102"])
    assert [f.code for f in outcome.result.findings] == ["PS102"]  # as scanned: no comment
    shown = _render(outcome.result)
    assert "# é" in shown and "CHANGED" not in shown

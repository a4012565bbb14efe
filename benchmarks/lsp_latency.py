"""How long `poolsafe server` takes from a change to the diagnostics for it (#15).

A project of its own in a temporary directory: `db.py` (a pool and its acquire
wrapper) and `app.py`, 500 lines of request handlers that use it (some leak, most
release). The server runs as an editor starts it (`python -m poolsafe server`); a
pygls client (pytest-lsp's) opens `app.py`, waits for the first diagnostics and
those of three edits (the warm-up), then makes one edit per round (a line of the
module changes, the buffer is not saved) and times from sending `didChange` to
receiving the diagnostics of that version. Each row reports the median and the
worst over the rounds, for the default debounce, 50 ms (what an editor sees), and
for debounce 0 (the scan alone); the two rows alternate twice, each on a fresh
server.

    python benchmarks/lsp_latency.py              # 20 edits per row
    python benchmarks/lsp_latency.py --rounds 50
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import make_test_lsp_client

DB = """\
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, "dbname=app")


def get_conn():
    return pool.getconn()


def put_conn(conn):
    pool.putconn(conn)
"""

SAFE = """\
def handler_{n}(user_id):
    conn = get_conn()
    try:
        cur = conn.cursor()
        cur.execute("select name from users where id = %s", (user_id,))
        row = cur.fetchone()
        return row[0] if row else None
    finally:
        put_conn(conn)

"""

LEAK = """\
def handler_{n}(user_id):
    conn = get_conn()
    cur = conn.cursor()
    cur.execute("select name from users where id = %s", (user_id,))
    row = cur.fetchone()
    put_conn(conn)
    return row[0] if row else None

"""


def app_source(lines: int = 500, edit: int = 0) -> str:
    out = ["from db import get_conn, put_conn\n\n\n"]
    n = 0
    while sum(s.count("\n") for s in out) < lines - 10:
        template = LEAK if n % 7 == 3 else SAFE
        out.append(template.format(n=n))
        n += 1
    out.append(f"EDITS = {edit}\n")
    text = "".join(out)
    return text


async def measure(project: Path, debounce: int, rounds: int) -> tuple[list[float], int, int]:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "poolsafe", "server")
    await client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=project.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="bench")],
        initialization_options={"debounce": debounce}))
    uri = (project / "app.py").as_uri()
    text = app_source()
    lines = text.count("\n")

    async def diagnostics(version: int) -> list[types.Diagnostic]:
        while True:
            params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri and params.version == version:
                return list(params.diagnostics)

    waiter = asyncio.ensure_future(diagnostics(1))
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text=text)))
    found = len(await asyncio.wait_for(waiter, 120))
    times = []
    warmup = 3  # the first edits after opening are slower (imports, caches)
    for version in range(2, rounds + warmup + 2):
        new_text = app_source(edit=version)
        waiter = asyncio.ensure_future(diagnostics(version))
        await asyncio.sleep(0)
        start = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=new_text)]))
        await asyncio.wait_for(waiter, 60)
        if version > warmup + 1:
            times.append(time.perf_counter() - start)
    await client.shutdown_session()
    await client.stop()
    return times, lines, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        project.mkdir()
        (project / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
        (project / "db.py").write_text(DB)
        (project / "app.py").write_text(app_source())
        print(f"{'row':<40} {'median':>8} {'max':>8}")
        rows = [("change -> diagnostics (debounce 0)", 0),
                ("change -> diagnostics (debounce 50 ms)", 50)]
        for label, debounce in rows * 2:
            times, lines, found = asyncio.run(measure(project, debounce, args.rounds))
            print(f"{label:<40} {statistics.median(times) * 1000:>6.0f}ms "
                  f"{max(times) * 1000:>6.0f}ms")
        print(f"({lines}-line file, {found} findings, {args.rounds} edits per row, warm server)")


if __name__ == "__main__":
    main()

"""`poolsafe server` end to end, driven by pytest-lsp's client over stdio: the server
runs as a subprocess exactly as an editor starts it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsp_project import APP, DB
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "poolsafe", "server"])

pytestmark = pytest.mark.asyncio


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, project: Path):
    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        lsp_client.registrations = params.registrations  # type: ignore[attr-defined]

    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                    dynamic_registration=True))),
        root_uri=project.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="proj")],
        initialization_options={"debounce": 10}))
    yield
    await lsp_client.shutdown_session()


async def diagnostics_for(client: LanguageClient, uri: str, version: int,
                          timeout: float = 60.0) -> list[types.Diagnostic]:
    """The diagnostics the server publishes for `uri` at `version`."""

    async def wait() -> list[types.Diagnostic]:
        while True:
            params = await client.wait_for_notification(
                types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri and params.version == version:
                return list(params.diagnostics)

    return await asyncio.wait_for(wait(), timeout)


def open_doc(client: LanguageClient, path: Path, text: str | None = None,
             version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(
            uri=uri, language_id="python", version=version,
            text=path.read_text() if text is None else text)))
    return uri


def change_doc(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def apply_edit(text: str, edit: types.WorkspaceEdit) -> str:
    """`text` with the single document edit of a code action applied."""
    assert edit.document_changes is not None
    (doc_edit,) = edit.document_changes
    assert isinstance(doc_edit, types.TextDocumentEdit)
    lines = text.splitlines(keepends=True)

    def offset(p: types.Position) -> int:
        return sum(len(line) for line in lines[:p.line]) + p.character

    for e in sorted(doc_edit.edits, key=lambda e: offset(e.range.start), reverse=True):
        assert isinstance(e, types.TextEdit)
        text = text[:offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    return text


async def test_open_reports_the_leak_resolved_through_the_other_module(
        client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "app.py")
    (diag,) = await diagnostics_for(client, uri, 1)
    assert diag.code == "PS102"
    assert diag.source == "poolsafe"
    assert diag.severity == types.DiagnosticSeverity.Error
    assert diag.range.start == types.Position(line=4, character=11)
    assert diag.code_description is not None
    assert diag.code_description.href.endswith("rules.md#ps102")
    assert diag.data["code"] == "PS102" and diag.data["fixable"] is True
    # the leak's path, for the editor to show under the diagnostic and jump to
    assert diag.related_information is not None
    got = [(r.location.uri, r.location.range.start.line, r.message)
           for r in diag.related_information]
    assert [got[0], got[2]] == [
        (uri, 4, "5: `conn` checked out here"),
        (uri, 7, "8: returns with `conn` still checked out, without the pool's release "
                 "for `get_conn()`")]
    # the acquire wrapper is defined in the other module: the step jumps there
    wrapper_uri, wrapper_line, wrapper_message = got[1]
    assert (wrapper_uri, wrapper_line) == ((project / "db.py").resolve().as_uri(), 5)
    assert wrapper_message.endswith("db.py:6: `get_conn()` is defined here: it takes the "
                                    "connection from the pool and hands it out")


async def test_unsaved_change_is_checked(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "app.py")
    assert len(await diagnostics_for(client, uri, 1)) == 1
    fixed = (
        "from db import get_conn, pool\n\n\ndef handler():\n    conn = get_conn()\n"
        "    try:\n        cur = conn.cursor()\n        cur.execute('select 1')\n"
        "        return cur.fetchone()\n    finally:\n        pool.putconn(conn)\n")
    change_doc(client, uri, fixed, 2)
    assert await diagnostics_for(client, uri, 2) == []


async def test_unsaved_wrapper_in_another_buffer_counts(
        client: LanguageClient, project: Path) -> None:
    """The wrapper module is open and edited (not saved): the caller's findings follow
    the buffer, not the file on disk."""
    db_uri = open_doc(client, project / "db.py")
    await diagnostics_for(client, db_uri, 1)
    not_a_wrapper = (project / "db.py").read_text().replace(
        "    return pool.getconn()", "    return 42")
    change_doc(client, db_uri, not_a_wrapper, 2)
    await diagnostics_for(client, db_uri, 2)
    app_uri = open_doc(client, project / "app.py")
    assert await diagnostics_for(client, app_uri, 1) == []


async def test_syntax_error_gives_one_diagnostic_and_the_server_carries_on(
        client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "app.py", text="def broken(:\n    pass\n")
    diags = await diagnostics_for(client, uri, 1)
    assert len(diags) == 1 and diags[0].code is None
    assert "syntax" in diags[0].message.lower()
    change_doc(client, uri, (project / "app.py").read_text(), 2)
    assert [d.code for d in await diagnostics_for(client, uri, 2)] == ["PS102"]


async def test_quick_fix_ignore_and_fix_all(client: LanguageClient, project: Path) -> None:
    text = (project / "app.py").read_text()
    uri = open_doc(client, project / "app.py")
    (diag,) = await diagnostics_for(client, uri, 1)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=types.CodeActionContext(diagnostics=[diag])))
    assert actions is not None
    by_title = {a.title: a for a in actions if isinstance(a, types.CodeAction)}
    fix = next(a for t, a in by_title.items() if t.startswith("Fix PS102"))
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.edit is not None
    fixed = apply_edit(text, fix.edit)
    assert "finally:\n        pool.putconn(conn)" in fixed
    assert "from db import get_conn, pool" in fixed

    ignore = by_title["Ignore PS102 on this line"]
    assert ignore.edit is not None
    assert ("    conn = get_conn()  # poolsafe: ignore[PS102]\n"
            in apply_edit(text, ignore.edit))

    fix_all = by_title["Fix all poolsafe findings"]
    assert fix_all.kind == "source.fixAll.poolsafe"
    assert fix_all.edit is not None and apply_edit(text, fix_all.edit) == fixed

    # asked only for the fix-all source action (what an editor does on save)
    only = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=types.CodeActionContext(diagnostics=[],
                                         only=[types.CodeActionKind.SourceFixAll])))
    assert [a.title for a in only or []] == ["Fix all poolsafe findings"]


async def test_ignore_merges_with_an_existing_comment(
        client: LanguageClient, project: Path) -> None:
    text = (project / "app.py").read_text().replace(
        "conn = get_conn()", "conn = get_conn()  # poolsafe: ignore[PS101]")
    uri = open_doc(client, project / "app.py", text=text)
    (diag,) = await diagnostics_for(client, uri, 1)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diag.range,
        context=types.CodeActionContext(diagnostics=[diag])))
    ignore = next(a for a in actions or [] if a.title == "Ignore PS102 on this line")
    assert isinstance(ignore, types.CodeAction) and ignore.edit is not None
    assert ("conn = get_conn()  # poolsafe: ignore[PS101, PS102]\n"
            in apply_edit(text, ignore.edit))


async def test_hover_shows_the_rule_docs(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "app.py")
    (diag,) = await diagnostics_for(client, uri, 1)
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=diag.range.start))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("# PS102 ")
    assert "## What it does" in hover.contents.value
    nothing = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=0, character=0)))
    assert nothing is None


async def test_configuration_is_reloaded_when_pyproject_changes(
        client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "app.py")
    assert len(await diagnostics_for(client, uri, 1)) == 1
    (project / "pyproject.toml").write_text(
        "[project]\nname = 'proj'\n\n[tool.poolsafe]\nignore = [\"PS102\"]\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(project / "pyproject.toml").as_uri(),
                        type=types.FileChangeType.Changed)]))
    assert await diagnostics_for(client, uri, 1) == []
    (project / "pyproject.toml").write_text(
        "[project]\nname = 'proj'\n\n[tool.poolsafe]\n[tool.poolsafe.severity]\n"
        "PS102 = \"warning\"\n")
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=(project / "pyproject.toml").as_uri())))
    (diag,) = await diagnostics_for(client, uri, 1)
    assert diag.severity == types.DiagnosticSeverity.Warning


@pytest_lsp.fixture(config=SERVER)
async def two_folders(lsp_client: LanguageClient, tmp_path: Path):
    """A workspace of two folders, each a project of its own; the second turns PS102
    off in its pyproject.toml."""
    for name, config in (("one", ""), ("two", '\n[tool.poolsafe]\nignore = ["PS102"]\n')):
        root = tmp_path / name
        root.mkdir()
        (root / "pyproject.toml").write_text(f"[project]\nname = '{name}'\n{config}")
        (root / "db.py").write_text(DB)
        (root / "app.py").write_text(APP)
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        workspace_folders=[types.WorkspaceFolder(uri=(tmp_path / n).as_uri(), name=n)
                           for n in ("one", "two")]))
    yield
    await lsp_client.shutdown_session()


async def test_each_workspace_folder_is_its_own_project(
        two_folders: LanguageClient, tmp_path: Path) -> None:
    one = open_doc(two_folders, tmp_path / "one" / "app.py")
    assert [d.code for d in await diagnostics_for(two_folders, one, 1)] == ["PS102"]
    two = open_doc(two_folders, tmp_path / "two" / "app.py")
    assert await diagnostics_for(two_folders, two, 1) == []


async def test_unsafe_fix_is_labelled_and_not_preferred(
        client: LanguageClient, project: Path) -> None:
    """An except that swallows a database error in a loop whose `try` commits each
    row: the rollback fix may change behaviour, so it is offered as unsafe (as
    `poolsafe fix` needs --unsafe-fixes)."""
    target = project / "orders.py"
    target.write_text(
        "import psycopg2\n"
        "from psycopg2.pool import ThreadedConnectionPool\n"
        "pool = ThreadedConnectionPool(1, 10, dsn='dbname=app')\n\n\n"
        "def load(rows):\n"
        "    conn = pool.getconn()\n"
        "    try:\n"
        "        cur = conn.cursor()\n"
        "        for row in rows:\n"
        "            try:\n"
        "                cur.execute('INSERT INTO t VALUES (%s)', (row,))\n"
        "                conn.commit()\n"
        "            except psycopg2.IntegrityError:\n"
        "                pass\n"
        "    finally:\n"
        "        pool.putconn(conn)\n")
    uri = open_doc(client, target)
    diags = await diagnostics_for(client, uri, 1)
    ps103 = [d for d in diags if d.code == "PS103"]
    assert ps103, [d.code for d in diags]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=ps103[0].range,
        context=types.CodeActionContext(diagnostics=ps103)))
    fixes = [a for a in actions or [] if isinstance(a, types.CodeAction)
             and a.title.startswith("Fix PS103")]
    assert len(fixes) == 1
    assert fixes[0].title.endswith("(unsafe)") and not fixes[0].is_preferred


@pytest.mark.parametrize("text", [
    "x = 1\0\n",                        # a NUL byte
    "x = " + "(" * 300 + ")" * 300 + "\n",   # nested beyond Python's limit
    "def f(:\n",                        # a syntax error
    "\udcff = 1\n",                     # a lone surrogate (not encodable)
])
async def test_hostile_buffers_never_stop_the_server(
        client: LanguageClient, project: Path, text: str) -> None:
    uri = open_doc(client, project / "app.py", text=text)
    diags = await diagnostics_for(client, uri, 1)
    assert len(diags) <= 1
    change_doc(client, uri, APP, 2)
    assert [d.code for d in await diagnostics_for(client, uri, 2)] == ["PS102"]


async def test_a_bad_configuration_falls_back_to_the_defaults(
        client: LanguageClient, project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.poolsafe]\nselct = [\"PS101\"]\n")
    uri = open_doc(client, project / "app.py")
    assert [d.code for d in await diagnostics_for(client, uri, 1)] == ["PS102"]
    assert any("unknown key 'selct'" in m.message for m in client.log_messages)

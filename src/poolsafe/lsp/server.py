"""The language server: pygls handles the protocol; this module says what poolsafe
does on each event.

- Diagnostics when a buffer opens, changes (after a short quiet period) and is
  saved, from the buffer's text, resolved in its whole project with every open
  buffer in place of its file (a wrapper edited in another buffer counts).
- Code actions: the fix `poolsafe fix` plans for each finding (safe ones preferred,
  unsafe ones labelled), "Fix all poolsafe findings" (`source.fixAll.poolsafe`), and
  "Ignore PSxxx on this line".
- Hover on a finding: the rule's documentation (`poolsafe explain`).
- The configuration is read again when a configuration file changes.

A scan runs in one worker thread, one at a time; no handler lets an exception
escape (a problem is logged to the client and the server carries on).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from poolsafe import __version__
from poolsafe.fix.loop.quick import LintedFile, ModuleMemo, QuickFix, fix_all, lint_file
from poolsafe.lsp.convert import (
    SOURCE,
    diagnostic,
    docs_base,
    error_diagnostic,
    line_edit,
    text_edit,
)
from poolsafe.lsp.settings import CONFIG_FILE_NAMES, FileSettings, SettingsCache
from poolsafe.report.rule_docs import explain_markdown, find_rule
from poolsafe.scan.engine import run_deep
from poolsafe.scan.suppression_edits import suppression_edit

#: seconds without a change before a changed buffer is scanned (`debounce` in the
#: initialization options, in milliseconds, changes it)
DEBOUNCE = 0.05
FIX_ALL_KIND = "source.fixAll.poolsafe"

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Analysis:
    """The last scan of a buffer: for the version it was made from."""

    version: int | None
    text: str
    settings: FileSettings
    linted: LintedFile
    diagnostics: list[types.Diagnostic]
    fixes: dict[int, QuickFix | str] = field(default_factory=dict)


class PoolsafeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("poolsafe", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.settings = SettingsCache()
        self.analyses: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.debounce = DEBOUNCE
        self.docs: str | None = docs_base()
        self.initialization_options: Any = None
        #: the other modules of the projects, parsed once while they do not change
        self.memo = ModuleMemo()
        #: one scan at a time, off the event loop
        self.worker = concurrent.futures.ThreadPoolExecutor(1, "poolsafe-lsp")

    # ------------------------------------------------------------------ helpers
    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except Exception:  # no client to tell: nothing else to do
            log.debug("could not log %s", message)

    def update_folders(self) -> None:
        folders = []
        for folder in self.workspace.folders.values():
            path = to_fs_path(folder.uri)
            if path:
                folders.append(Path(path).resolve())
        if not folders and self.workspace.root_path:
            folders.append(Path(self.workspace.root_path).resolve())
        self.settings.folders = folders

    def python_document(self, uri: str) -> TextDocument | None:
        doc: TextDocument | None = self.workspace.text_documents.get(uri)
        if doc is None or not doc.path or not (doc.path.endswith((".py", ".pyi"))
                                              or doc.language_id == "python"):
            return None
        return doc

    def overrides(self) -> dict[Path, bytes]:
        """Every open Python buffer, in place of its file."""
        out = {}
        for uri, doc in list(self.workspace.text_documents.items()):
            if self.python_document(uri) is not None:
                out[Path(doc.path).resolve()] = doc.source.encode("utf-8", "surrogatepass")
        return out

    async def off_loop(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.worker, lambda: run_deep(fn))

    # ----------------------------------------------------------------- analysis
    def _analyse_now(self, uri: str, version: int | None, text: str, path: Path,
                     overrides: dict[Path, bytes]) -> Analysis | None:
        settings = self.settings.for_file(path)
        if settings.excluded(path):
            return None
        options = settings.options(path, overrides)
        linted = lint_file(path, options, settings.ignored, self.memo)
        return Analysis(version, text, settings, linted, [])

    async def analyse(self, uri: str) -> Analysis | None:
        """Scan the buffer at `uri` now and publish its diagnostics."""
        doc = self.python_document(uri)
        if doc is None:
            return None
        version, text, path = doc.version, doc.source, Path(doc.path).resolve()
        overrides = self.overrides()
        try:
            analysis = await self.off_loop(
                lambda: self._analyse_now(uri, version, text, path, overrides))
        except Exception as exc:
            self.log(f"poolsafe: could not check {path}: {type(exc).__name__}: {exc}\n"
                     f"{traceback.format_exc()}", types.MessageType.Error)
            return None
        current = self.workspace.text_documents.get(uri)
        if current is None:
            return None  # closed meanwhile
        if analysis is None:
            self.analyses.pop(uri, None)
            self.publish(uri, version, [])
            return None
        lines = text.splitlines(keepends=True)
        codec = current.position_codec
        diags = [diagnostic(f, i, version, lines, codec, analysis.settings.cfg, self.docs,
                            uri)
                 for i, f in enumerate(analysis.linted.findings)]
        # a buffer that does not parse: one diagnostic where, and none of the rest
        errors = [e for e in analysis.linted.errors if e.line is not None][:1] or \
            analysis.linted.errors[:1]
        diags.extend(error_diagnostic(e, lines, codec) for e in errors)
        if analysis.settings.problem:
            self.log(f"poolsafe: {analysis.settings.problem} (using the defaults)",
                     types.MessageType.Warning)
        analysis.diagnostics = diags
        if current.version == version:
            self.analyses[uri] = analysis
            self.publish(uri, version, diags)
        # (after the diagnostics: a memo that took new modules is moved out of the
        # cyclic collector's sight, `ModuleMemo.settle`)
        await self.off_loop(self.memo.settle)
        return analysis

    def publish(self, uri: str, version: int | None, diags: list[types.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diags, version=version))

    def schedule(self, uri: str, delay: float) -> None:
        """Scan `uri` after `delay` seconds, unless it changes again before."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()

        async def later() -> None:
            try:
                if delay:
                    await asyncio.sleep(delay)
                await self.analyse(uri)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log(f"poolsafe: {type(exc).__name__}: {exc}", types.MessageType.Error)
            finally:
                if self.pending.get(uri) is task:
                    del self.pending[uri]

        task = asyncio.get_running_loop().create_task(later())
        self.pending[uri] = task

    def rescan_all(self, except_uri: str | None = None, delay: float = 0.0) -> None:
        for uri in list(self.workspace.text_documents):
            if uri != except_uri and self.python_document(uri) is not None:
                self.schedule(uri, delay)

    async def current(self, uri: str) -> Analysis | None:
        """The analysis of the buffer as it is now (scanned again when it changed)."""
        doc = self.python_document(uri)
        if doc is None:
            return None
        analysis = self.analyses.get(uri)
        if analysis is not None and analysis.version == doc.version:
            return analysis
        return await self.analyse(uri)

    def config_changed(self) -> None:
        self.settings.clear()
        self.log("poolsafe: configuration changed; checking the open files again")
        self.rescan_all()


server = PoolsafeServer()


def guarded(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T | None]]:
    """A handler that logs its exceptions instead of failing the request."""

    async def wrapper(ls: PoolsafeServer, params: Any) -> T | None:
        try:
            return await fn(ls, params)
        except Exception as exc:
            ls.log(f"poolsafe: {fn.__name__}: {type(exc).__name__}: {exc}\n"
                   f"{traceback.format_exc()}", types.MessageType.Error)
            return None

    wrapper.__name__ = fn.__name__
    return wrapper


# ---------------------------------------------------------------------- lifecycle
@server.feature(types.INITIALIZED)
@guarded
async def initialized(ls: PoolsafeServer, params: types.InitializedParams) -> None:
    options = ls.initialization_options
    if isinstance(options, dict):
        if isinstance(options.get("debounce"), (int, float)):
            ls.debounce = max(0.0, options["debounce"] / 1000)
        if isinstance(options.get("docsUrl"), str):
            ls.docs = options["docsUrl"]
    ls.update_folders()
    caps = ls.client_capabilities.workspace
    watch = caps.did_change_watched_files if caps else None
    if watch is not None and watch.dynamic_registration:
        watchers = [types.FileSystemWatcher(glob_pattern=f"**/{name}")
                    for name in CONFIG_FILE_NAMES]
        try:
            await ls.client_register_capability_async(types.RegistrationParams(
                registrations=[types.Registration(
                    id="poolsafe-config", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=watchers))]))
        except Exception as exc:  # the configuration is still read again on save
            ls.log(f"poolsafe: the client does not watch the configuration files: {exc}")


@server.feature(types.INITIALIZE)
def initialize(ls: PoolsafeServer, params: types.InitializeParams) -> None:
    ls.initialization_options = params.initialization_options


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
@guarded
async def folders_changed(ls: PoolsafeServer,
                          params: types.DidChangeWorkspaceFoldersParams) -> None:
    ls.update_folders()
    ls.settings.clear()
    ls.rescan_all()


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@guarded
async def watched_files_changed(ls: PoolsafeServer,
                                params: types.DidChangeWatchedFilesParams) -> None:
    if any(Path(to_fs_path(c.uri) or "").name in CONFIG_FILE_NAMES for c in params.changes):
        ls.config_changed()


# ---------------------------------------------------------------------- documents
@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@guarded
async def did_open(ls: PoolsafeServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.update_folders()
    ls.schedule(params.text_document.uri, 0.0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
@guarded
async def did_change(ls: PoolsafeServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)
    ls.schedule(params.text_document.uri, ls.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
@guarded
async def did_save(ls: PoolsafeServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    if Path(to_fs_path(uri) or "").name in CONFIG_FILE_NAMES:
        ls.config_changed()
        return
    ls.schedule(uri, 0.0)
    # what this module defines may change the findings of the other open buffers
    ls.rescan_all(except_uri=uri, delay=ls.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@guarded
async def did_close(ls: PoolsafeServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.analyses.pop(uri, None)
    ls.publish(uri, None, [])


# ---------------------------------------------------------------------- code actions
def _wanted(kind: str, only: list[str] | None) -> bool:
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _edit(uri: str, version: int | None, edits: list[types.TextEdit]) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=list(edits))])


def _fix_action(ls: PoolsafeServer, uri: str, analysis: Analysis, index: int,
                diag: types.Diagnostic, doc: TextDocument) -> types.CodeAction | None:
    fix = analysis.fixes.get(index)
    if fix is None:
        fix = analysis.linted.quick_fix(index)
        analysis.fixes[index] = fix
    if isinstance(fix, str):
        return None
    new_text = fix.texts.get(analysis.linted.path)
    if new_text is None:
        return None
    edit = text_edit(analysis.text, new_text, doc.position_codec)
    if edit is None:
        return None
    title = f"Fix {fix.code}: {fix.description}" + ("" if fix.safe else " (unsafe)")
    return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix,
                            diagnostics=[diag], is_preferred=fix.safe,
                            edit=_edit(uri, analysis.version, [edit]))


def _ignore_action(uri: str, analysis: Analysis, code: str, line: int,
                   diags: list[types.Diagnostic], doc: TextDocument
                   ) -> types.CodeAction | None:
    change = suppression_edit(analysis.text, line, [code])
    if change is None:
        return None
    lines = analysis.text.splitlines(keepends=True)
    return types.CodeAction(title=f"Ignore {code} on this line",
                            kind=types.CodeActionKind.QuickFix, diagnostics=diags,
                            edit=_edit(uri, analysis.version,
                                       [line_edit(change, lines, doc.position_codec)]))


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll,
                       FIX_ALL_KIND]))
@guarded
async def code_action(ls: PoolsafeServer,
                      params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    analysis = await ls.current(uri)
    doc = ls.python_document(uri)
    if analysis is None or doc is None:
        return []
    only = [str(k) for k in params.context.only] if params.context.only else None
    actions: list[types.CodeAction] = []
    if _wanted(types.CodeActionKind.QuickFix, only):
        ignored: dict[tuple[str, int], list[types.Diagnostic]] = {}
        for index, diag in enumerate(analysis.diagnostics):
            if diag.code is None or not _overlaps(diag.range, params.range):
                continue
            fix = await ls.off_loop(lambda i=index, d=diag: _fix_action(  # type: ignore[misc]
                ls, uri, analysis, i, d, doc))
            if fix is not None:
                actions.append(fix)
            line = analysis.linted.findings[index].line
            ignored.setdefault((str(diag.code), line), []).append(diag)
        for (code, line), diags in ignored.items():
            action = _ignore_action(uri, analysis, code, line, diags, doc)
            if action is not None:
                actions.append(action)
    if _wanted(FIX_ALL_KIND, only) and any(f.fixable for f in analysis.linted.findings):
        path, settings, text = analysis.linted.path, analysis.settings, analysis.text
        overrides = {**ls.overrides(), path: text.encode("utf-8", "surrogatepass")}
        fixed = await ls.off_loop(lambda: fix_all(
            path, settings.options(path, overrides), ignored=settings.ignored))
        new_text = fixed.get(path)
        edit = text_edit(text, new_text, doc.position_codec) if new_text else None
        if edit is not None:
            actions.append(types.CodeAction(
                title="Fix all poolsafe findings", kind=FIX_ALL_KIND,
                edit=_edit(uri, analysis.version, [edit])))
    return actions


# ---------------------------------------------------------------------- hover
@server.feature(types.TEXT_DOCUMENT_HOVER)
@guarded
async def hover(ls: PoolsafeServer, params: types.HoverParams) -> types.Hover | None:
    analysis = ls.analyses.get(params.text_document.uri)
    if analysis is None:
        return None
    point = types.Range(start=params.position, end=params.position)
    codes = []
    for diag in analysis.diagnostics:
        if (diag.code is not None and diag.source == SOURCE
                and _overlaps(diag.range, point) and str(diag.code) not in codes):
            codes.append(str(diag.code))
    pages = []
    for code in codes:
        rule = find_rule(code)
        if rule is not None:
            pages.append(explain_markdown(rule.meta()))
    if not pages:
        return None
    return types.Hover(contents=types.MarkupContent(
        kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(pages)))


def run() -> None:
    """Serve on standard input and output until the client says exit."""
    server.start_io()

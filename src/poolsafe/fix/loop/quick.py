"""One file's findings with the fix `poolsafe fix` would plan for each, one at a
time: what an editor offers as a quick fix per finding, and "fix all".

`lint_file` lints one file (an editor's buffer, through `ScanOptions.overrides`)
in its whole project, as the fix loop's first pass does, and keeps what it parsed,
so the plan for a finding is asked for only when an editor wants it.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from poolsafe.core.model import FileError, Finding, Location, RawFinding
from poolsafe.fix.loop.apply import (
    FixFile,
    FixResult,
    _compiles,
    _lint,
    _Linted,
    apply_plans,
    fix_files,
    load_files,
)
from poolsafe.fix.plan.api import FixPlan, Unfixable
from poolsafe.rules import FileContext, Rule
from poolsafe.scan.options import ScanOptions
from poolsafe.scan.scope import ScopeMemo, build_scope

if TYPE_CHECKING:
    from poolsafe.analysis.module import ModuleInfo
    from poolsafe.core.discovery import SourceFile
    from poolsafe.scan.checking import ProjectResolution
    from poolsafe.scan.lazy_index import LazyIndex
    from poolsafe.scan.prefilter import Selection
    from poolsafe.scan.scope import ProjectScope


class ModuleMemo:
    """The parsed modules of a project's other files, kept from one `lint_file` to the
    next while their bytes stay the same: a language server re-checks the buffer
    being edited without parsing again the modules its resolution reads. It keeps
    the prefilter's state too (`selection`), so a keystroke redoes the selections
    from the edited file (`prefilter.reselect`), not over every file, and the
    project's walk and files' bytes (`scope`, a `ScopeMemo`): a keystroke reads again
    only the files that changed on disk, not the thousands of a large project."""

    def __init__(self, limit: int = 5000) -> None:
        self.limit = limit
        self._modules: OrderedDict[tuple[str, str], ModuleInfo | None] = OrderedDict()
        #: (project layout, configuration, database_only) -> the files' hashes, the
        #: state their selection left, and that selection
        self._selections: dict[tuple[str, str, bool], tuple[list[str], dict[str, Any],
                                                             Selection]] = {}
        #: path -> content hash of the files of the last selection made
        self.hashes: dict[str, str] = {}
        #: pattern -> path -> (content hash, whether the pattern matches those bytes)
        self._matches: dict[re.Pattern[bytes], dict[str, tuple[str, bool]]] = {}
        #: modules parsed and selections made since the last `settle`
        self.added = 0
        #: the projects' walks and files' bytes, kept while they do not change
        self.scope = ScopeMemo()
        #: path -> the bytes last hashed for it and their content hash (the same
        #: bytes object while the scope memo keeps the file)
        self._hashed: dict[str, tuple[bytes, str]] = {}
        #: a count of the changes of `hashes` (another file's bytes, other files), the
        #: paths each changed (None: every path), and what `hashes` held as a list
        self.generation = 0
        self._changed: dict[int, set[str] | None] = {}
        self._last: tuple[list[str], list[str]] = ([], [])
        #: pattern -> (the generation, the index order, the paths found): `matching`
        self._found: dict[re.Pattern[bytes], tuple[int, list[str], set[str]]] = {}
        #: the last list of files a resolution was made over, and its paths, module
        #: keys and files per module name (`ProjectResolution._layout`)
        self._layout: tuple[list[SourceFile], tuple[
            list[str], list[tuple[tuple[str, ...], str]], dict[str, list[str]]]] | None = None
        #: the module keys last hashed into a layout key, and that key
        self._layout_key: tuple[list[tuple[tuple[str, ...], str]], str] | None = None
        #: `gc_scope.thaws()` when `settle` last froze what is alive (None: never)
        self._frozen_at: int | None = None

    def settle(self) -> None:
        """After a lint (off the path to its diagnostics): what the memo keeps lives
        from keystroke to keystroke, millions of objects that Python's cyclic collector
        walked again on each full collection (0.3 s of CPU every fourth keystroke on
        superset's `models/core.py`, issue 32). When the memo took new modules (or a
        scan handed frozen objects back), the garbage is collected once and what is
        alive is moved out of the collector's sight (`gc.freeze`); each keystroke's own
        garbage is collected as before, without walking the memo. A scan since the
        last freeze (`poolsafe fix`'s "fix all") handed the frozen objects back: frozen
        again then too."""
        from poolsafe.core.gc_scope import keep_survivors, thaws

        if self.added or (self._modules and self._frozen_at != thaws()):
            self.added = 0
            keep_survivors()
            self._frozen_at = thaws()

    def selection(self, paths: list[str], datas: list[bytes], options: ScanOptions,
                  modules: list[tuple[tuple[str, ...], str]], database_only: bool
                  ) -> Selection:
        """`select`, redone from the last selection of the same files (same paths
        and module names, same configuration) when `reselect` can show it holds."""
        from poolsafe.scan.cache import content_hash
        from poolsafe.scan.prefilter import reselect, select

        hashes = [self._hash(p, d, content_hash) for p, d in zip(paths, datas, strict=True)]
        self.hashes = dict(zip(paths, hashes, strict=True))
        self._note_changes(paths, hashes)
        if self._layout_key is not None and self._layout_key[0] is modules:
            layout = self._layout_key[1]
        else:
            layout = content_hash(repr((paths, modules)).encode())
            self._layout_key = (modules, layout)
        key = (layout, repr(options.project), database_only)
        kept = self._selections.get(key)
        if kept is not None:
            old, state, selection = kept
            changed = [i for i, h in enumerate(hashes) if old[i] != h]
            if not changed:
                return selection
            again = reselect(datas, options.project, modules=modules, state=state,
                             changed=changed, database_only=database_only)
            if again is not None:
                self._selections[key] = (hashes, state, again)
                return again
        self.added += 1
        state = {}
        made = select(datas, options.project, modules=modules, state=state,
                      database_only=database_only)
        if len(self._selections) >= 8:  # (a few projects, and their configurations)
            self._selections.clear()
        self._selections[key] = (hashes, state, made)
        return made

    def _note_changes(self, paths: list[str], hashes: list[str]) -> None:
        last_paths, last_hashes = self._last
        changed: set[str] | None
        if paths == last_paths:
            changed = {p for p, h, o in zip(paths, hashes, last_hashes, strict=True) if h != o}
            if not changed:
                return
        else:
            changed = None
        self.generation += 1
        self._changed[self.generation] = changed
        self._changed.pop(self.generation - 32, None)
        self._last = (paths, hashes)

    def matching(self, pattern: re.Pattern[bytes], order: list[str],
                 match: Callable[[str], bool]) -> list[str]:
        """`[p for p in order if match(p)]` (`match`: whether the file's bytes, those
        `hashes` hashes, match `pattern`), asking `match` only of the files changed
        since the last answer for the same pattern and order."""
        kept = self._found.get(pattern)
        found: set[str] | None = None
        if kept is not None and kept[1] == order:
            since, found = kept[0], set(kept[2])
            asked: set[str] = set()
            for g in range(since + 1, self.generation + 1):
                changed = self._changed.get(g)
                if changed is None:
                    found = None
                    break
                asked |= changed
            if found is not None and asked:
                in_order = set(order)
                for p in asked & in_order:
                    found.discard(p)
                    if match(p):
                        found.add(p)
        if found is None:
            found = {p for p in order if match(p)}
        self._found[pattern] = (self.generation, list(order), found)
        return [p for p in order if p in found]

    def _hash(self, path: str, data: bytes, content_hash: Callable[[bytes], str]) -> str:
        kept = self._hashed.get(path)
        if kept is not None and kept[0] is data:
            return kept[1]
        digest = content_hash(data)
        self._hashed[path] = (data, digest)
        return digest

    def matches(self, hashes: dict[str, str], pattern: re.Pattern[bytes], path: str,
                data: bytes) -> bool:
        """`source_matches(pattern, data)`, kept per file with the content hash of its
        bytes (`hashes`: those of the index asking, whose `data` they hash)."""
        from poolsafe.analysis.index import source_matches

        digest = hashes.get(path)
        if digest is None:
            return source_matches(pattern, data)
        per_file = self._matches.setdefault(pattern, {})
        kept = per_file.get(path)
        if kept is not None and kept[0] == digest:
            return kept[1]
        found = source_matches(pattern, data)
        per_file[path] = (digest, found)
        return found

    def module(self, f: SourceFile, data: bytes, options: ScanOptions) -> ModuleInfo | None:
        from poolsafe.scan.cache import content_hash
        from poolsafe.scan.checking import load_data

        key = (str(f.path), content_hash(data))
        if key in self._modules:
            self._modules.move_to_end(key)
            return self._modules[key]
        module = None
        if len(data) <= options.max_file_bytes:
            loaded = load_data(f, data)
            module = None if isinstance(loaded, FileError) else loaded.module
        self._modules[key] = module
        self.added += 1
        while len(self._modules) > self.limit:
            self._modules.popitem(last=False)
        return module


def _resolution(project: ProjectScope, options: ScanOptions,
                memo: ModuleMemo | None) -> ProjectResolution:
    from poolsafe.scan.checking import ProjectResolution

    if memo is None:
        return ProjectResolution(project, options)
    kept = memo

    class Remembering(ProjectResolution):
        def __init__(self) -> None:
            super().__init__(project, options, kept.selection)
            # (the hashes of these files' bytes, made by the selection just now)
            self.hashes = kept.hashes

        def _layout(self, project: ProjectScope
                    ) -> tuple[list[str], list[tuple[tuple[str, ...], str]],
                               dict[str, list[str]]]:
            # (the scope memo hands out the same list of files while the walk holds)
            if kept._layout is None or kept._layout[0] is not project.files:
                kept._layout = (project.files, super()._layout(project))
            return kept._layout[1]

        def _load(self, path: str) -> ModuleInfo | None:
            f, d = self.by_path[path]
            return kept.module(f, d, self.options)

        def index(self, checked: list[ModuleInfo]) -> LazyIndex:
            index = super().index(checked)
            index.kept_matches = partial(kept.matches, self.hashes)
            index.kept_matching = kept.matching
            return index

    return Remembering()


@dataclass(frozen=True)
class QuickFix:
    code: str
    description: str
    safe: bool
    #: absolute path -> the whole new text of that file (the finding's own file, and
    #: any other module the plan edits with it)
    texts: dict[Path, str]


@dataclass
class LintedFile:
    """One file's findings (suppressions and per-file-ignores applied) and errors."""

    path: Path
    text: str | None
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    _linted: _Linted | None = None
    _ctx: FileContext | None = None
    _rules: dict[str, Rule] = field(default_factory=dict)
    _raw: list[tuple[RawFinding, Location]] = field(default_factory=list)

    def quick_fix(self, index: int) -> QuickFix | str:
        """The plan for `findings[index]` applied alone, or why there is none."""
        if self._linted is None or self._ctx is None or not 0 <= index < len(self._raw):
            return "no automatic fix"
        raw, _loc = self._raw[index]
        rule = self._rules.get(raw.code)
        if rule is None or not rule.fixable:
            return "no automatic fix for this rule"
        try:
            outcome = rule.fix(self._ctx, raw)
        except Exception as exc:  # a fixer that cannot plan offers no fix
            return f"internal error in the {raw.code} fixer: {type(exc).__name__}: {exc}"
        if outcome is None:
            return "no automatic fix for this rule"
        if isinstance(outcome, Unfixable):
            return f"not fixable: {outcome.reason}"
        return self._applied(outcome)

    def _applied(self, plan: FixPlan) -> QuickFix | str:
        assert self._linted is not None
        if plan.companions or (plan.path is not None and plan.path != self._linted.file.display):
            return f"the fix edits other modules too: run `poolsafe fix` on {plan.path or 'them'}"
        f = self._linted.file
        new_text = apply_plans(self._linted.module.tree, [plan]).code
        if _compiles(f.text, f.display) is None:
            err = _compiles(new_text, f.display)
            if err is not None:
                return f"the fix would not compile: {err}"
        if new_text == f.text:
            return "the fix changes nothing"
        return QuickFix(plan.code, plan.description, plan.safe, {f.path: new_text})


def lint_file(path: Path, options: ScanOptions,
              ignored: Callable[[str, str], bool] | None = None,
              memo: ModuleMemo | None = None) -> LintedFile:
    """Lint the file at `path` (absolute; its text from `options.overrides` when an
    editor holds it) in its whole project; `memo` keeps the other modules parsed
    between calls. As in a scan, the parsed nodes are not validated (they are
    valid by construction, `checking.unvalidated_nodes`): a quick fix's edits are
    built later, outside this call."""
    from poolsafe.scan.checking import unvalidated_nodes

    with unvalidated_nodes():
        return _lint_file(path, options, ignored, memo)


def _lint_file(path: Path, options: ScanOptions, ignored: Callable[[str, str], bool] | None,
               memo: ModuleMemo | None) -> LintedFile:
    from poolsafe.scan.checking import enabled_rules, load_data

    settings = options.scope_settings()
    scope = (build_scope([str(path)], settings) if memo is None
             else memo.scope.build([str(path)], settings))
    out = LintedFile(path, None, errors=list(scope.errors))
    project = next((p for p in scope.projects if p.reported), None)
    if project is None:
        return out
    i = project.reported[0]  # (a file over the size limit is a scope error, unread)
    loaded = load_data(project.files[i], project.datas[i])  # parsed once, here
    if isinstance(loaded, FileError):
        out.errors.append(loaded)
        return out
    sf, text = loaded.source_file, loaded.decoded.text
    f = FixFile(sf.display, sf.path, sf.relative, loaded.decoded, text, text,
                _resolution(project, options, memo))
    out.text = text
    result = FixResult(files=[f])
    rules = enabled_rules(options)
    parsed = [(f, loaded.module)]
    linted = _lint(parsed, options, rules, result, ignored)
    out.errors.extend(result.errors)
    if not linted:
        return out
    item, ctx = linted[0]
    out._linted, out._ctx = item, ctx
    out._rules = {r.code: r for r in rules}
    out._raw = list(item.raw)
    for raw, loc in item.raw:
        out.findings.append(item.finding(raw, loc, out._rules[raw.code].meta()))
    return out


def fix_all(path: Path, options: ScanOptions, *, unsafe: bool = False,
            ignored: Callable[[str, str], bool] | None = None) -> dict[Path, str]:
    """What `poolsafe fix` makes of the file at `path` (absolute path -> new text; empty
    when nothing changes). Nothing is written."""
    files, _errors = load_files([str(path)], options)
    result = fix_files(files, options, unsafe=unsafe, ignored=ignored)
    return {f.path: f.text for f in result.changed_files}

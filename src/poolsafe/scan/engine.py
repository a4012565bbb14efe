"""A scan: what it reports and resolves (poolsafe.scan.scope), what the cache already
knows (poolsafe.scan.cache), what the prefilter selects, and then, only for the files
that need it, parsing and checking (poolsafe.scan.checking, imported on demand, so a
cached answer or a tree without database code loads no parser)."""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import re
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from poolsafe import __version__
from poolsafe.core.discovery import SourceFile
from poolsafe.core.gc_scope import collection_paused, keep_new_objects, trees_kept_out_of_gc
from poolsafe.core.model import FileError, Finding, Location, ScanResult, Severity, Step
from poolsafe.core.project import (
    DEPLOYMENT_RULES,
    dependency_signature,
    module_key,
    named_roots,
    names_to_files,
)
from poolsafe.core.rule_codes import enabled_codes
from poolsafe.scan.cache import (
    TAG_NAME,
    config_key,
    content_hash,
    facts_digest,
    load_entry,
    make_cache_dir,
    pattern_of,
    store_entry,
)
from poolsafe.scan.cancellation import run_stoppable
from poolsafe.scan.options import MAX_FILE_BYTES, ScanOptions, scope_options
from poolsafe.scan.parallel import CheckResults, Standby, Tell, can_fork, run_apart
from poolsafe.scan.prefilter import Selection, is_seed, reselect, select
from poolsafe.scan.scope import ProjectScope, build_scope

__all__ = ["MAX_FILE_BYTES", "ScanOptions", "run_deep", "scan", "scan_sources",
           "scope_options"]

#: stack and recursion limit for parsing and analysing deeply nested code
STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 60_000
#: source bytes above which a selection over every file runs in a child process,
#: while this one imports the parser and the rules, and parses ahead the files to
#: check, which the child tells first (`checking.preparse`), if a file can make a
#: connection:
#: a cold run on the dense 100-module tree (0.7 MB) took a median 3.49 s with the
#: selection here, 2.95 s apart (5 runs, interleaved; 3.04 s and 2.91 s in a
#: second run of 10); on 1.2 MB without database code (rich's source) 0.36 s here
#: and 0.43 s apart (the fork); on the 300-file start-up tree (30 kB) it stays here
SELECT_APART_BYTES = 500_000
#: how long an interrupted `run_deep` waits for its scan to reach a checkpoint and
#: stop (one module's check, or a child's answer polled; a second Ctrl-C ends the wait)
STOP_GRACE_SECONDS = 60.0

T = TypeVar("T")


def run_deep(fn: Callable[[], T]) -> T:
    """Run `fn` in a thread with a large stack and a raised recursion limit, so that
    deeply nested code makes a RecursionError (reported per file) rather than a crash
    of the interpreter."""
    box: dict[str, Any] = {}
    context = contextvars.copy_context()  # (the caller's `named_roots`, for one)
    stop, stopped = threading.Event(), threading.Event()

    def target() -> None:
        try:
            box["value"] = context.run(run_stoppable, stop, fn)
        except BaseException as exc:  # re-raised in the calling thread
            box["error"] = exc
        finally:
            stopped.set()

    old_limit = sys.getrecursionlimit()
    old_stack = threading.stack_size()
    sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
    try:
        try:
            threading.stack_size(STACK_BYTES)
        except (ValueError, RuntimeError):  # platform without adjustable stacks
            sys.setrecursionlimit(max(old_limit, 10_000))
            return fn()
        # (a daemon: on Ctrl-C the main thread leaves at once, not after the scan)
        thread = threading.Thread(target=target, name="poolsafe-scan", daemon=True)
        threading.stack_size(old_stack)
        thread.start()
        try:
            thread.join()
        except BaseException:  # interrupted: the scan stops at its next checkpoint
            stop.set()
            # (not a second join(): an interrupted join() may leave the thread marked
            # as ended while it runs on, CPython 3.11)
            stopped.wait(STOP_GRACE_SECONDS)
            raise
    finally:
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    return cast(T, box["value"])


def scan(paths: list[str], options: ScanOptions | None = None) -> ScanResult:
    opts = options or ScanOptions()

    def run() -> ScanResult:
        with trees_kept_out_of_gc():
            return _scan(paths, opts)

    with named_roots(paths):
        return run_deep(run)


def _scan(paths: list[str], options: ScanOptions) -> ScanResult:
    """Report the files of `paths`; resolve each against its whole project."""
    result = ScanResult()
    standby: Standby | None = None
    try:
        scope = build_scope(paths, options.scope_settings())
        result.errors.extend(scope.errors)
        # (forked once the projects are read: the child has their files' bytes as
        # this process has them, and a request names its project by number)
        standby = _checker_standby(options, scope.projects)
        for number, project in enumerate(scope.projects):
            if options.prefilter:
                _scan_selected(project, options, result, standby, number)
            else:
                from poolsafe.scan.checking import scan_everything

                scan_everything(project, options, result)
    finally:
        if standby is not None:
            standby.stop()
    result.files_scanned = scope.reported_count
    result.findings.sort(key=Finding.sort_key)
    result.errors.sort(key=lambda e: e.path)
    shown = {f.path for f in result.findings}
    for project in scope.projects:
        for i in project.reported:
            if project.files[i].display in shown:
                result.sources[project.files[i].display] = project.datas[i]
    return result


def _checker_standby(options: ScanOptions,
                     projects: Sequence[ProjectScope]) -> Standby | None:
    """With a cache, a scan most often re-checks a few edited files, or none: a child
    imports the parser and the rules meanwhile (`Standby`), on a core of its own,
    and checks them if asked (`_check_in`). Not when this process has them already,
    nor on one core. The child is forked with `projects` read: it checks them as
    they are here (nothing changes a `ProjectScope` once built), and a request
    names one by its number, not pickled with its files' bytes (mlflow 3.18.0:
    16 MB, some 0.07 s of CPU to pickle, send and load again)."""
    if (options.cache_dir is None or not options.prefilter or options.jobs < 2
            or not can_fork() or _checker_loaded()):
        return None
    return Standby(_import_checking, functools.partial(_check_in, tuple(projects)))


def _checker_loaded() -> bool:
    return "poolsafe.scan.checking" in sys.modules


def _check_in(projects: tuple[ProjectScope, ...], request: tuple[Any, ...]) -> CheckResults:
    """`check_selected(projects[number], *rest)` for `request` = `(number, *rest)`, in
    the `Standby` child (which `projects` were forked with)."""
    from poolsafe.scan.checking import check_selected

    number, *rest = request
    return check_selected(projects[number], *rest)


def _scan_selected(project: ProjectScope, options: ScanOptions, result: ScanResult,
                   standby: Standby | None = None, number: int = 0) -> None:
    """Read every file of the project, parse those the prefilter selects (and, on
    demand, the modules their analysis resolves), check the selected reported ones.

    A project's cache entry holds the findings of every file checked so far, with
    what they were computed from (see poolsafe.scan.cache); a later run answers each file
    it reports from there while nothing that file's findings depend on has changed,
    and re-checks only the files that changed when the facts read from other
    modules still hold."""
    files, datas, reported = project.files, project.datas, project.reported
    paths = [str(f.path) for f in files]
    display = {paths[i]: files[i].display for i in reported}
    hashes = [content_hash(d) for d in datas]
    key = tree = ""
    entry: dict[str, Any] | None = None
    if options.cache_dir is not None:
        key = _cache_key(options, project.root)
        tree = _tree_digest(paths, hashes)
        entry = load_entry(options.cache_dir, key)
        keep_new_objects()  # the entry lives as long as the scan
        if entry is not None:
            _expand_states(entry)
        if entry is not None and entry.get("tree") == tree:
            checked_paths = set(entry.get("checked", []))
            wanted = [paths[i] for i in reported if paths[i] in checked_paths]
            cached = _cached_files(entry, wanted, display)
            if cached is not None:  # nothing changed: not even the selection is needed
                _cached_result(result, cached, [files[i] for i in reported], options)
                return
    modules = [module_key(f.relative) for f in files]
    layout = content_hash(repr(list(zip(paths, modules, strict=True))).encode())

    def selections(tell: Tell
                   ) -> tuple[tuple[Selection, dict[str, Any]], tuple[Selection, dict[str, Any]]]:
        memo: dict[str, Any] = {}
        with collection_paused():
            # the files that can have findings, first: the selection without the
            # roots of slow work only (PS207), whose files resolution still reads;
            # told as soon as known, they are the files to parse ahead
            database = _selection(entry, datas, modules, hashes, layout, options, True, memo)
            tell(database[0].targets)
            return (_selection(entry, datas, modules, hashes, layout, options, False, memo),
                    database)

    # a selection over every file holds each file's words at once (some 20 times the
    # source): in a child process of its own, it leaves this one (and the workers
    # forked from it) without that memory
    full = entry is None or entry.get("layout") != layout
    apart = full and sum(map(len, datas)) >= SELECT_APART_BYTES
    preparsed: dict[str, Any] = {}

    def meanwhile(ready: Callable[[], bool], heard: Callable[[], object]) -> None:
        # the parser and the rules are imported, and the files to check are parsed,
        # while the child selects, on the core it leaves free
        _import_checking()
        from poolsafe.scan.checking import preparse

        preparsed.update(preparse(project, options, ready, heard))

    if standby is not None and apart:
        standby.stop()  # (this process imports the parser meanwhile, and checks here)
    (selection, state), (checked_files, checked_state) = run_apart(
        selections, apart=apart,
        # (only when a file can make a connection, a substring test per file: then
        # checks follow)
        meanwhile=meanwhile if apart and _may_check(datas, options) else None)
    chosen = set(checked_files.targets)
    by_path = dict(zip(paths, zip(files, datas, strict=True), strict=True))
    hash_by_path = dict(zip(paths, hashes, strict=True))

    def data_of(path: str) -> bytes:
        return by_path[path][1]

    files_by_name = names_to_files(paths, modules)
    # what resolution may read: the full selection, and every file that can have
    # findings (the database selection is meant to lie inside the full one; where its
    # taint reached a file the full one's did not, that file is still checked and
    # resolved, not dropped, nor its cache record left without a hash)
    resolved = sorted(set(selection.targets).union(checked_files.targets))
    selected = {paths[i]: hashes[i] for i in resolved}
    wanted = [paths[i] for i in reported if i in chosen]
    known: dict[str, Any] = {}
    holding: dict[str, list[str]] = {}
    if entry is not None:
        old_hashes = entry.get("hashes") if entry.get("layout") == layout else None
        # every file whose content changed, selected or not (None: the files are not
        # the same ones), for the patterns searched in every file
        everywhere = ([paths[i] for i, h in enumerate(hashes) if old_hashes[i] != h]
                      if isinstance(old_hashes, list) and len(old_hashes) == len(hashes)
                      else None)
        known, holding = _valid_records(entry, selected, {paths[i] for i in chosen},
                                        files_by_name, hash_by_path, data_of, everywhere)
    cached = _cached_files({"files": known}, [p for p in wanted if p in known], display)
    if cached is None:
        known, cached = {}, ScanResult()
    to_check = {p for p in wanted if p not in known}
    checked: CheckResults | None = None
    checked_apart = False  # (by the standby child, which tells no progress)
    result.record(cached.findings, cached.errors)
    if to_check:
        if options.cache_dir is not None and not (options.cache_dir / TAG_NAME).is_file():
            # the first run of a project's cache: made now, so that the checks keep
            # their summaries and proofs as a later run's do (see `make_cache_dir`)
            make_cache_dir(options.cache_dir)
        # the patterns the facts searched whose matches still hold for this tree
        args = (resolved, selection.def_names, to_check, files_by_name, holding or None,
                checked_files.targets, preparsed)
        # (trees parsed ahead are here: this process checks them; the progress
        # callback stays here too, told below)
        answer = (standby.call((number, dataclasses.replace(options, progress=None), *args))
                  if standby is not None and not preparsed else None)
        if isinstance(answer, CheckResults):
            checked, checked_apart = answer, True
        else:
            from poolsafe.scan.checking import check_selected  # the parser, only when needed

            checked = check_selected(project, options, *args)
        result.record(checked.findings, checked.errors)
    preparsed.clear()  # (the trees of files a cache record answered for)
    if options.cache_dir is not None:
        fresh: dict[str, Any] = {}
        if checked is not None:
            fresh = _files_json(to_check, checked.findings, checked.errors,
                                {files[i].display: paths[i] for i in reported}, selected)
        store_entry(options.cache_dir, key, {
            "tree": tree, "layout": layout, "hashes": hashes, "prefilter": state,
            "prefilter_checked": _stored_checked_state(state, checked_state),
            "checked": [paths[i] for i in checked_files.targets],
            "selected": selected,
            **_dependencies(entry, known, checked, fresh, selected, hash_by_path, data_of),
        })
    if options.progress is not None:
        for i in reported:
            if checked is None or checked_apart:
                options.progress("parse", files[i].display)
            options.progress("check", files[i].display)


def _stored_checked_state(state: dict[str, Any], checked_state: dict[str, Any]
                          ) -> dict[str, Any] | None:
    """The checked files' prefilter state as the cache stores it: None when it equals
    the full selection's (a project without slow work only, the common case), which
    then is stored once (some 3 MB of JSON on 1,500 dense modules)."""
    return None if checked_state == state else checked_state


def _expand_states(entry: dict[str, Any]) -> None:
    """Undo `_stored_checked_state`: a state of its own for the checked files, a
    shallow copy (`reselect` replaces a state's entries, never changes them)."""
    state = entry.get("prefilter")
    if entry.get("prefilter_checked") is None and isinstance(state, dict):
        entry["prefilter_checked"] = dict(state)


def _may_check(datas: list[bytes], options: ScanOptions) -> bool:
    return any(is_seed(d, options.project, database_only=True) for d in datas)


def _import_checking() -> None:
    import poolsafe.scan.checking  # noqa: F401


def _selection(entry: dict[str, Any] | None, datas: list[bytes],
               modules: list[tuple[tuple[str, ...], str]], hashes: list[str], layout: str,
               options: ScanOptions, database_only: bool, memo: dict[str, Any]
               ) -> tuple[Selection, dict[str, Any]]:
    """The prefilter's selection, and its state for the next run: redone from the
    previous run's state when the files are the same ones and the edits provably
    leave it as it was (`prefilter.reselect`), else computed over every file."""
    if entry is not None and entry.get("layout") == layout:
        old = entry.get("hashes")
        state = entry.get("prefilter_checked" if database_only else "prefilter")
        if isinstance(old, list) and len(old) == len(hashes) and isinstance(state, dict):
            changed = [i for i, h in enumerate(hashes) if old[i] != h]
            again = reselect(datas, options.project, modules=modules, state=state,
                             changed=changed, database_only=database_only, memo=memo)
            if again is not None:
                return again, state
    made: dict[str, Any] = {}
    # (without a cache, no state is kept: a child would only pickle it for nothing)
    return select(datas, options.project, modules=modules,
                  state=made if options.cache_dir is not None else None,
                  database_only=database_only, memo=memo), made


#: `poolsafe.analysis.index.EVERY_FILE` as a pattern key spells it (the analysis is not
#: imported here: the parser comes with it)
EVERY_FILE_MARK = "(?#every file)"


def _valid_records(entry: dict[str, Any], selected: dict[str, str], checked: set[str],
                   files_by_name: dict[str, list[str]], hash_of: dict[str, str],
                   data_of: Callable[[str], bytes], everywhere: list[str] | None = None
                   ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cached records (findings and errors by absolute path) that still hold for
    this tree: those of files whose content is unchanged and none of whose own
    dependencies broke (`_broken`): each record depends on what its epoch's index
    had looked up and searched when its check ended (`CheckResults.deps`), so an
    edit re-checks only the files whose records read something it changed. Also
    the patterns whose recorded matches still hold (pattern key -> the selected
    files it matches, in order), which the checks need not search again."""
    try:
        broken = _broken(entry, selected, checked, files_by_name, hash_of, data_of, everywhere)
        if broken is None:
            return {}, {}
        lookups, patterns, everything = broken
        limits = []
        for names, keys in entry["epochs"]:
            limits.append((next((k for k, n in enumerate(names) if n in lookups), len(names)),
                           next((k for k, n in enumerate(keys) if n in patterns), len(keys))))
        records = {}
        for p, r in entry["files"].items():
            if not isinstance(r, dict) or p not in selected or r.get("hash") != selected[p]:
                continue
            epoch, n_lookups, n_patterns, read_all = r["dep"]
            first_lookup, first_pattern = limits[epoch]
            if (n_lookups <= first_lookup and n_patterns <= first_pattern
                    and not (read_all and everything)):
                records[p] = r
        holding = {k: [p for p, _ in found] for k, found in entry["matched"].items()
                   if k not in patterns}
        return records, holding
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, re.error):
        return {}, {}


def _broken(entry: dict[str, Any], selected: dict[str, str], checked: set[str],
            files_by_name: dict[str, list[str]], hash_of: dict[str, str],
            data_of: Callable[[str], bytes], everywhere: list[str] | None = None
            ) -> tuple[set[str], set[str], bool] | None:
    """What the checked files read from the rest of the project that is no longer as
    it was: the module names resolution looked up that are not answered by the same
    files, each unchanged or changed only in comments and blank lines (the same
    `facts_digest`), none of them entering or leaving the selection or the checked
    files (which resolution may parse); the patterns a project-wide fact searched
    that do not match the same selected files under the same condition; and
    whether a fact that read every selected module would read otherwise (a file
    entering or leaving the selection, or a selected file changed beyond that
    condition). None for an entry it cannot read.

    A file entering or leaving the selection (database code added to a module
    without any, a new module, a deleted one) is a changed file like the others:
    the records of files that read nothing from it hold.

    A pattern that `ProjectIndex.any_file_matches` searched in every file (its key
    marked `EVERY_FILE`) is compared over `everywhere`, every file whose content
    changed, selected or not; with no such list (files added or removed), over every
    file."""
    old_selected = entry["selected"]
    old_checked = entry["checked"]
    if not isinstance(old_selected, dict) or not isinstance(old_checked, list):
        return None
    changed = [p for p, h in selected.items() if old_selected.get(p) != h]
    moved = (selected.keys() ^ old_selected.keys()) | (checked ^ set(old_checked))
    digests = entry.get("digests", {})

    def holds(path: str, recorded: str) -> bool:
        if path not in hash_of:
            return False
        if hash_of[path] == recorded:
            return True
        old = digests.get(path)
        return isinstance(old, list) and old[1] == facts_digest(data_of(path))

    lookups = set()
    for name, recorded in entry["lookups"].items():
        if ([p for p, _ in recorded] != files_by_name.get(name, [])
                or not all(holds(p, h) and p not in moved for p, h in recorded)):
            lookups.add(name)
    patterns = set()
    spelt = entry.get("words")
    for pattern_text, recorded in entry["matched"].items():
        needles = _needles(spelt.get(pattern_text) if isinstance(spelt, dict) else None)
        matched = {p for p, _ in recorded}
        among: Iterable[str] = changed
        if pattern_text.partition(":")[2].startswith(EVERY_FILE_MARK):
            # (files added or removed: every file searched again)
            among = everywhere if everywhere is not None else hash_of
        if (any((p in matched) != _matches(pattern_text, needles, data_of(p)) for p in among)
                or not all(holds(p, h) and p not in moved for p, h in recorded)):
            patterns.add(pattern_text)
    everything = bool(moved) or not all(
        p in old_selected and holds(p, old_selected[p]) for p in changed)
    return lookups, patterns, everything


def _needles(words: object) -> tuple[bytes, ...] | None:
    """The words recorded with a pattern (every match of it spells one: see
    `analysis.index.spelt_words`), as bytes; None when none were, or not as a list
    of strings."""
    if isinstance(words, list) and all(isinstance(w, str) for w in words):
        return tuple(w.encode("utf-8") for w in words)
    return None


def _matches(pattern_text: str, needles: tuple[bytes, ...] | None, data: bytes) -> bool:
    """Whether the pattern of `pattern_text` matches `data`: without compiling or
    running it when `data` spells none of its `needles` (then no match is there).
    An edit's `_broken` asks each recorded pattern of the edited file: mlflow 3.18.0,
    145 patterns over `store/db/utils.py`, 8 ms to compile them and 20 ms to run them
    (a regex that begins with a word boundary tries every position); superset 6.1.0,
    69 over `models/core.py`, 3 and 28 ms."""
    if needles is not None and not any(w in data for w in needles):
        return False
    return pattern_of(pattern_text).search(data) is not None


def _dependencies(previous: dict[str, Any] | None, kept: dict[str, Any],
                  checked: CheckResults | None, fresh: dict[str, Any],
                  selected: dict[str, str], hash_of: dict[str, str],
                  data_of: Callable[[str], bytes]) -> dict[str, Any]:
    """The records to store (`kept`: the previous run's that held; `fresh`: this
    run's, by absolute path) and what they depend on: the epochs their `dep` count
    into (a previous epoch cut to what its kept records read, which held, so it is
    anchored to the current contents; this run's as they were), every module name
    and pattern in them with the files that answered and their content hashes, and
    every such file's `facts_digest`."""
    epochs: list[list[list[str]]] = []
    lookups: dict[str, list[str]] = {}
    matched: dict[str, list[str]] = {}
    words: dict[str, list[str]] = {}
    records: dict[str, Any] = {}
    spelt = previous.get("words") if previous is not None else None
    if previous is not None and kept:
        reach: dict[int, tuple[int, int]] = {}
        for r in kept.values():
            e, n_lookups, n_patterns, _ = r["dep"]
            was = reach.get(e, (0, 0))
            reach[e] = (max(was[0], n_lookups), max(was[1], n_patterns))
        renumbered = {}
        for e in sorted(reach):
            names, keys = previous["epochs"][e]
            names, keys = names[:reach[e][0]], keys[:reach[e][1]]
            renumbered[e] = len(epochs)
            epochs.append([names, keys])
            for n in names:
                lookups.setdefault(n, [p for p, _ in previous["lookups"][n]])
            for k in keys:
                matched.setdefault(k, [p for p, _ in previous["matched"][k]])
                if (isinstance(spelt, dict) and k not in words
                        and _needles(spelt.get(k)) is not None):
                    words[k] = spelt[k]
        for p, r in kept.items():
            e, n_lookups, n_patterns, read_all = r["dep"]
            records[p] = {**r, "dep": [renumbered[e], n_lookups, n_patterns, read_all]}
    if checked is not None:
        offset = len(epochs)
        epochs.extend([list(names), list(keys)] for names, keys in checked.epochs)
        for name, found in checked.lookups.items():
            lookups.setdefault(name, found)
        for pattern_text, found in checked.matched.items():
            matched.setdefault(pattern_text, found)
        for pattern_text, spelt_by in checked.words.items():
            if pattern_text in matched:
                words.setdefault(pattern_text, spelt_by)
        for p, r in fresh.items():
            e, n_lookups, n_patterns, read_all = checked.deps[p]
            records[p] = {**r, "dep": [e + offset, n_lookups, n_patterns, read_all]}
    depended = {p for found in (*lookups.values(), *matched.values()) for p in found}
    if any(r["dep"][3] for r in records.values()):
        depended |= set(selected)
    old_digests = previous.get("digests", {}) if previous is not None else {}
    digests = {}
    for p in depended & hash_of.keys():
        old = old_digests.get(p)
        digests[p] = (old if isinstance(old, list) and old[0] == hash_of[p]
                      else [hash_of[p], facts_digest(data_of(p))])
    return {
        "files": records, "epochs": epochs,
        "lookups": {n: [[p, hash_of.get(p, "")] for p in found] for n, found in lookups.items()},
        "matched": {k: [[p, hash_of.get(p, "")] for p in found] for k, found in matched.items()},
        "digests": digests,
        # (what `_broken` tests a changed file for before it compiles and runs a pattern)
        "words": words,
    }


def _tree_digest(paths: list[str], hashes: list[str]) -> str:
    """Every file's path and content: equal digests mean an unchanged tree."""
    return content_hash("\n".join(f"{p}\0{h}" for p, h in zip(paths, hashes, strict=True))
                        .encode())


def _cached_result(result: ScanResult, cached: ScanResult, files: list[SourceFile],
                   options: ScanOptions) -> None:
    result.record(cached.findings, cached.errors)
    if options.progress is not None:
        for f in files:
            options.progress("parse", f.display)
            options.progress("check", f.display)


def _cache_key(options: ScanOptions, root: Path) -> str:
    rules = enabled_codes(options.select, options.ignore)
    project = options.project
    return config_key((__version__, str(root), rules, sorted(project.acquire.items()),
                       sorted(project.release), sorted(project.session_dependencies),
                       project.direct_connections,
                       options.max_file_bytes, dependency_signature(root),
                       _deployment_signature(rules, root)))


def _deployment_signature(rules: list[str], root: Path) -> object:
    """The deployment files (compose, manifests, `.env*`) that PS208 and PS210 read:
    their findings are stale when one of them changes. Not walked when those rules
    are off."""
    if not any(code in rules for code in DEPLOYMENT_RULES):
        return None
    from poolsafe.analysis.deploy_files import deployment_signature

    return deployment_signature(root)


def _finding_json(f: Finding) -> list[Any]:
    loc = f.location
    return [loc.line, loc.column, loc.end_line, loc.end_column, f.code, f.name, f.message,
            f.severity.value, f.fixable, f.unsafe_fix,
            [[s.line, s.column, s.label, s.path] for s in f.steps]]


def _files_json(paths: set[str], findings: list[Finding], errors: list[FileError],
                abs_of: dict[str, str], hashes: dict[str, str]) -> dict[str, Any]:
    """Per checked file (absolute path): its content hash, findings and errors."""
    out: dict[str, Any] = {p: {"hash": hashes[p], "findings": [], "errors": []}
                           for p in paths}
    for f in findings:
        out[abs_of.get(f.path, f.path)]["findings"].append(_finding_json(f))
    for e in errors:
        out[abs_of.get(e.path, e.path)]["errors"].append([e.message, e.line, e.column])
    return out


#: `Severity(value)` by a dict (the enum's call is slow; 15,000 cached findings)
_SEVERITIES = {s.value: s for s in Severity}


def _cached_files(entry: dict[str, Any], paths: list[str],
                  display: dict[str, str]) -> ScanResult | None:
    """The cached findings and errors of `paths` (None if one of them is not in the
    entry, or the entry is malformed)."""
    out = ScanResult()
    files = entry.get("files")
    if not isinstance(files, dict):
        return None
    try:
        for path in paths:
            record = files.get(path)
            if record is None:
                return None
            shown = display.get(path, path)
            for (line, col, end_line, end_col, code, name, message, sev, fixable,
                 unsafe, steps) in record["findings"]:
                out.findings.append(Finding(shown, Location(line, col, end_line, end_col),
                                            code, name, message,
                                            _SEVERITIES.get(sev) or Severity(sev), fixable,
                                            unsafe_fix=unsafe,
                                            steps=tuple(Step(*s) for s in steps)))
            for message, line, column in record["errors"]:
                out.errors.append(FileError(shown, message, line, column))
    except (KeyError, TypeError, ValueError):
        return None
    return out


def scan_sources(files: dict[str, str], options: ScanOptions | None = None) -> ScanResult:
    """Scan in-memory modules (the rule-case harness)."""
    from poolsafe.scan.checking import scan_sources as scan_in_memory

    return scan_in_memory(files, options)

"""The fix loop: lint, plan, apply non-overlapping plans, verify, re-lint, repeat.

Everything here works on text in memory (`FixFile.text`); `writer` puts the result
on disk. Each pass rebuilds the project index (wrapper inference crosses modules),
asks every enabled rule's fixer for a plan per finding, applies the plans whose
edited nodes do not overlap (the others wait for the next pass, so nested findings
are fixed rather than dropped), and checks that the result parses and compiles; a
file whose result does not is reverted plan by plan and the broken fix reported.
The loop stops when a pass changes nothing, or after `max_passes`.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ModuleInfo
from poolsafe.core.discovery import SourceFile
from poolsafe.core.model import FileError, Finding, Location, RawFinding, RuleMeta, Step
from poolsafe.core.project import find_project_root, is_within
from poolsafe.core.source import DecodedSource, decode
from poolsafe.fix.equivalence.prove import prove_plan
from poolsafe.fix.fixers.edits import enclosing_function, parent_map
from poolsafe.fix.loop.progress import STUCK, Fingerprint, Progress
from poolsafe.fix.plan.api import FixPlan, Unfixable
from poolsafe.fix.plan.applying import apply_plans as apply_plans
from poolsafe.fix.plan.applying import import_only_guarded, import_rebinds
from poolsafe.rules import RULES_BY_CODE, FileContext, Rule
from poolsafe.scan.checking import (
    ProjectResolution,
    enabled_rules,
    is_module_file,
    load_data,
    parse_error,
    parse_source,
    positions,
    resolved_steps,
    step_nodes,
    with_virtual_files,
)
from poolsafe.scan.lazy_index import LazyIndex
from poolsafe.scan.options import ScanOptions
from poolsafe.scan.scope import build_scope
from poolsafe.scan.suppression import mentions_directive, parse_comments

MAX_PASSES = 10
#: a finding as the "new finding" check counts them: (code, enclosing function)
FindingKey = tuple[str, str]
#: how many findings of each key one file has with the text `text` (None: it does not
#: parse)
Relint = Callable[["FixFile", str], "Counter[FindingKey] | None"]
#: the order in which overlapping plans win within one pass
PRIORITY = ("PS105", "PS104", "PS101", "PS103", "PS102")



@dataclass
class FixFile:
    display: str
    path: Path
    relative: Path
    decoded: DecodedSource
    original: str
    text: str
    #: the project this file is resolved in (None: only the files being fixed)
    project: ProjectResolution | None = None

    @property
    def changed(self) -> bool:
        return self.text != self.original


@dataclass(frozen=True)
class AppliedFix:
    path: str
    code: str
    line: int
    description: str
    safe: bool
    pass_number: int


@dataclass(frozen=True)
class LeftFinding:
    finding: Finding
    #: why it was not fixed: no fix for the rule, the fixer's reason, "unsafe", ...
    reason: str


@dataclass
class FixResult:
    files: list[FixFile] = field(default_factory=list)
    applied: list[AppliedFix] = field(default_factory=list)
    left: list[LeftFinding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    internal_errors: int = 0
    passes: int = 0
    converged: bool = True
    #: files that one fix edited together (PS106, PS203, PS205): written all or none
    linked: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def changed_files(self) -> list[FixFile]:
        return [f for f in self.files if f.changed]

    def sources(self) -> dict[str, str]:
        return {f.display: f.text for f in self.files}


# ----------------------------------------------------------------- applying
# (applying plans to a tree lives with the plans: `poolsafe.fix.plan.applying`; the
# `check` command's `[*]` runs the same equivalence check on the applied plan)
def _compiles(code: str, filename: str) -> str | None:
    try:
        cst.parse_module(code)
    except Exception as exc:
        return f"does not parse: {type(exc).__name__}"
    try:
        compile(code, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"does not compile: {exc}"
    return None


def select_plans(module: cst.Module, plans: list[FixPlan]) -> list[FixPlan]:
    """The plans whose edited nodes neither coincide with nor contain one another, and
    that do not define a name another accepted plan defines (two routes of one module
    each given a new `get_db` beside them: the second waits for the next pass, where it
    finds the first's and uses it, instead of a second definition of the same name; the
    nodes it would edit wait with it)."""
    parents = parent_map(module)
    taken: set[int] = set()
    taken_ancestors: set[int] = set()
    defined: set[str] = set()
    accepted = []
    for plan in plans:
        ids = {id(n) for n in plan.targets()}
        ancestors: set[int] = set()
        for n in plan.targets():
            cur = parents.get(id(n))
            while cur is not None:
                ancestors.add(id(cur))
                cur = parents.get(id(cur))
        if ids & (taken | taken_ancestors) or ancestors & taken:
            continue
        names = _defined_names(plan)
        if names & defined:
            # it waits, and so do the plans for the same nodes (PS102's `with` for the
            # route that waits for PS105)
            taken |= ids
            taken_ancestors |= ancestors
            continue
        accepted.append(plan)
        taken |= ids
        taken_ancestors |= ancestors
        defined |= names
    return accepted


def _defined_names(plan: FixPlan) -> set[str]:
    """The functions and classes a plan adds as new top-level statements."""
    return {st.name.value for _, stmts in plan.insert_before.values() for st in stmts
            if isinstance(st, (cst.FunctionDef, cst.ClassDef))}


# ------------------------------------------------------------------- linting
@dataclass
class _Linted:
    file: FixFile
    module: ModuleInfo
    raw: list[tuple[RawFinding, Location]]
    #: id(raw finding) -> its path with positions (see `RawFinding.steps`)
    steps: dict[int, tuple[Step, ...]] = field(default_factory=dict)

    def finding(self, raw: RawFinding, loc: Location, meta: RuleMeta) -> Finding:
        return Finding(self.file.display, loc, raw.code, meta.name, raw.message,
                       meta.severity, meta.fixable, steps=self.steps.get(id(raw), ()))


def _parse(files: list[FixFile], result: FixResult | None) -> list[tuple[FixFile, ModuleInfo]]:
    out = []
    for f in files:
        try:
            module = parse_source(f.display, f.path, f.relative, f.text)
        except Exception as exc:
            if result is not None:
                result.errors.append(parse_error(f.display, f.text, exc))
            continue
        out.append((f, module))
    return out


def _indexes(parsed: list[tuple[FixFile, ModuleInfo]], options: ScanOptions
             ) -> dict[int, ProjectIndex]:
    """id(FixFile) -> the index it is checked against: its project's, as a scan
    resolves it, with every file being fixed in its current text."""
    groups: dict[int, tuple[ProjectResolution | None, list[tuple[FixFile, ModuleInfo]]]] = {}
    for f, module in parsed:
        groups.setdefault(id(f.project), (f.project, []))[1].append((f, module))
    out: dict[int, ProjectIndex] = {}
    for project, members in groups.values():
        modules = [m for _, m in members]
        index = (project.index(modules) if project is not None
                 else ProjectIndex(modules, options.project))
        for f, _ in members:
            out[id(f)] = index
    return out


def _check(ctx: FileContext, rule: Rule) -> list[RawFinding]:
    """One rule on one file, resolved as a scan resolves it."""
    if isinstance(ctx.index, LazyIndex):
        with ctx.index.connections_only():
            return list(rule.check(ctx))
    return list(rule.check(ctx))


def _lint(parsed: list[tuple[FixFile, ModuleInfo]], options: ScanOptions,
          rules: list[Rule], result: FixResult,
          ignored: Callable[[str, str], bool] | None = None
          ) -> list[tuple[_Linted, FileContext]]:
    indexes = _indexes(parsed, options)
    out = []
    for f, module in parsed:
        ctx = FileContext(module, indexes[id(f)])
        raw: list[RawFinding] = []
        for rule in rules:
            try:
                raw.extend(_check(ctx, rule))
            except Exception as exc:
                result.errors.append(FileError(
                    f.display, f"internal error in {rule.code}: {type(exc).__name__}: {exc}"))
                result.internal_errors += 1
        where = positions(module.tree, [*(r.node for r in raw),
                                        *step_nodes(raw)]) if raw else {}
        # (a file without findings has nothing to suppress: not tokenized for comments)
        ignores = parse_comments(f.text) if raw and mentions_directive(f.text) else {}
        kept: list[tuple[RawFinding, Location]] = []
        seen: set[tuple[str, int, int]] = set()
        for r in raw:
            loc = where.get(id(r.node))
            if loc is None or (r.code, loc.line, loc.column) in seen:
                continue
            seen.add((r.code, loc.line, loc.column))
            if ignored is not None and ignored(f.display, r.code):
                continue
            comment = ignores.get(loc.line)
            if comment is not None and comment.covers(r.code):
                continue
            kept.append((r, loc))
        steps = {id(r): resolved_steps(r, where) for r, _ in kept if r.steps}
        out.append((_Linted(f, module, kept, steps), ctx))
    return out


def _fingerprint(ctx: FileContext, raw: RawFinding, occurrences: dict[tuple[str, ...], int]
                 ) -> tuple[str, ...]:
    parents = parent_map(ctx.module.tree)
    func = enclosing_function(raw.node, parents, ctx.module)
    base = (ctx.module.path, raw.code, func.qualname if func else "",
            ctx.module.tree.code_for_node(raw.node))
    n = occurrences.get(base, 0)
    occurrences[base] = n + 1
    return (*base, str(n))


def _finding(linted: _Linted, raw: RawFinding, loc: Location, rule: Rule) -> Finding:
    return linted.finding(raw, loc, rule.meta())


# ---------------------------------------------------------------------- loop
def fix_files(files: list[FixFile], options: ScanOptions | None = None, *,
              unsafe: bool = False, max_passes: int = MAX_PASSES,
              ignored: Callable[[str, str], bool] | None = None) -> FixResult:
    """Fix `files` pass after pass until nothing changes; `ignored(path, code)` says
    which findings configuration turns off for a file (per-file-ignores): those are
    neither fixed nor reported as left."""
    options = options or ScanOptions()
    result = FixResult(files=files)
    rules = enabled_rules(options)
    by_code = {r.code: r for r in rules}
    done = Progress()
    reasons: dict[tuple[str, int, str], str] = {}
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 10_000))
    try:
        first = True
        while True:
            if result.passes >= max_passes:
                result.converged = False
                break
            parsed = _parse(files, result if first else None)
            first = False
            linted = _lint(parsed, options, rules, result, ignored)
            changed_any = False
            result.passes += 1
            by_path = {item.file.display: item for item, _ in linted}
            #: files changed in this pass: their parsed trees are stale until the next
            touched: set[str] = set()
            relint = _relinter(parsed, options, _with_safety_rules(rules))
            for item, ctx in linted:
                if item.file.display in touched:
                    continue  # another file's fix edited it; its own wait for the next pass
                if _fix_one_file(item, ctx, by_code, unsafe, done, reasons, result,
                                 by_path, touched, relint):
                    changed_any = True
            if not changed_any:
                break
        # what is left, with the reason each was not fixed
        linted = _lint(_parse(files, None), options, rules, FixResult(), ignored)
        for item, _ctx in linted:
            for raw, loc in item.raw:
                key = (item.file.display, loc.line, raw.code)
                fixable = by_code[raw.code].fixable
                reason = reasons.get(key, "a fix is available but was not applied"
                                     if fixable else "no automatic fix for this rule")
                result.left.append(LeftFinding(_finding(item, raw, loc, by_code[raw.code]),
                                               reason))
    finally:
        sys.setrecursionlimit(old_limit)
    result.left.sort(key=lambda x: x.finding.sort_key())
    return result


def _fix_one_file(item: _Linted, ctx: FileContext, by_code: dict[str, Rule],
                  unsafe: bool, done: Progress,
                  reasons: dict[tuple[str, int, str], str], result: FixResult,
                  by_path: dict[str, _Linted] | None = None,
                  touched: set[str] | None = None, relint: Relint | None = None) -> bool:
    f = item.file
    touched = set() if touched is None else touched
    plans: list[tuple[FixPlan, Location, Fingerprint]] = []
    foreign: list[tuple[FixPlan, Location, Fingerprint]] = []
    occurrences: dict[tuple[str, ...], int] = {}
    fixable = [(raw, loc, _fingerprint(ctx, raw, occurrences))
               for raw, loc in item.raw if by_code[raw.code].fixable]
    done.observe(ctx.module.path, (fp for _, _, fp in fixable))
    for raw, loc, fp in fixable:
        key = (f.display, loc.line, raw.code)
        rule = by_code[raw.code]
        blocked = done.blocked(fp)
        if blocked is not None:
            # (a fix not made keeps its own reason: a fixer's failure, a revert)
            reasons.setdefault(key, blocked)
            continue
        try:
            outcome = rule.fix(ctx, raw)
        except Exception as exc:
            # one finding's fixer failing must not stop the run: the finding is left,
            # with the failure on its one line, and the file's other fixes go on
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            reasons[key] = (f"the fix was not made: the {raw.code} fixer failed "
                            f"({type(exc).__name__}{': ' + first if first else ''})")
            done.failed(fp, reasons[key])
            continue
        if outcome is None:
            reasons[key] = "no automatic fix for this rule"
            continue
        if isinstance(outcome, Unfixable):
            reasons[key] = f"not fixable: {outcome.reason}"
            continue
        if outcome.path in (None, f.display) and not outcome.companions:
            refusal = prove_plan(item.module.tree, outcome, ctx.index.config.release)
            if refusal is not None:
                reasons[key] = f"not fixable: {refusal}"
                continue
        if outcome.path in (None, f.display):
            for req in outcome.imports:
                how = import_rebinds(item.module.tree, req)
                if how is not None:
                    outcome.mark_unsafe(
                        f"the module already binds `{req.name or req.module}` ({how}): "
                        f"the import the fix adds would rebind it, or be replaced by it")
                elif import_only_guarded(item.module.tree, req):
                    outcome.mark_unsafe(
                        f"the module imports `{req.module.split('.')[0]}` only under a "
                        f"`try`/`if` (an optional dependency): the import the fix adds at "
                        f"the top would fail where it is missing")
        if not outcome.safe and not unsafe:
            why = "; ".join(outcome.unsafe_reasons) or "it may change behaviour"
            reasons[key] = f"unsafe fix available (--unsafe-fixes): {why}"
            continue
        if outcome.companions:
            if _apply_together(item, outcome, loc, fp, by_path or {}, touched, done,
                               reasons, result):
                return True  # the file's other fixes wait for the next pass
            continue
        if outcome.path is not None and outcome.path != f.display:
            foreign.append((outcome, loc, fp))
        else:
            plans.append((outcome, loc, fp))
    changed = _apply_own(item, plans, done, reasons, result, relint)
    if changed:
        touched.add(f.display)
    for plan, loc, fp in foreign:
        if _apply_foreign(item, plan, loc, fp, by_path or {}, touched, done, reasons, result):
            changed = True
    return changed


def _apply_foreign(item: _Linted, plan: FixPlan, loc: Location, fp: Fingerprint,
                   by_path: dict[str, _Linted], touched: set[str], done: Progress,
                   reasons: dict[tuple[str, int, str], str], result: FixResult) -> bool:
    """A plan that edits another module of the project (`FixPlan.path`)."""
    key = (item.file.display, loc.line, plan.code)
    target = by_path.get(plan.path or "")
    if target is None:
        reasons[key] = (f"not fixable here: the fix edits {plan.path}, which is not being "
                        "fixed (name it too)")
        return False
    if target.file.display in touched:
        reasons[key] = f"the fix edits {plan.path}, already changed in this pass"
        return False
    tf = target.file
    new_text = apply_plans(target.module.tree, [plan]).code
    err = _compiles(new_text, tf.display) if _compiles(tf.text, tf.display) is None else None
    if err is not None:
        msg = f"the {plan.code} fix at line {loc.line} was reverted: {tf.display} {err}"
        result.errors.append(FileError(item.file.display, msg))
        reasons[key] = msg
        done.failed(fp, msg)
        return False
    if new_text == tf.text:
        done.failed(fp, STUCK)
        return False
    done.applied(fp)
    tf.text = new_text
    touched.add(tf.display)
    result.linked.append((item.file.display, tf.display))
    result.applied.append(AppliedFix(item.file.display, plan.code, loc.line,
                                     f"{plan.description} (in {tf.display})", plan.safe,
                                     result.passes))
    return True


def _apply_together(item: _Linted, plan: FixPlan, loc: Location, fp: Fingerprint,
                    by_path: dict[str, _Linted], touched: set[str],
                    done: Progress, reasons: dict[tuple[str, int, str], str],
                    result: FixResult) -> bool:
    """A plan for this file with companion plans for other files: all of them apply, in
    this pass, or none does."""
    key = (item.file.display, loc.line, plan.code)
    targets: list[tuple[_Linted, list[FixPlan]]] = [(item, [plan])]
    for other in plan.companions:
        target = by_path.get(other.path or "")
        if target is None:
            reasons[key] = (f"not fixable here: the fix edits {other.path}, which is not "
                            "being fixed (name it too)")
            return False
        targets.append((target, [other]))
    if any(t.file.display in touched for t, _ in targets):
        reasons[key] = "the fix edits a file already changed in this pass"
        return False
    texts: list[tuple[FixFile, str]] = []
    for target, plans in targets:
        tf = target.file
        new_text = apply_plans(target.module.tree, plans).code
        if _compiles(tf.text, tf.display) is None:
            err = _compiles(new_text, tf.display)
            if err is not None:
                msg = f"the {plan.code} fix at line {loc.line} was reverted: {tf.display} {err}"
                result.errors.append(FileError(item.file.display, msg))
                reasons[key] = msg
                done.failed(fp, msg)
                return False
        texts.append((tf, new_text))
    done.applied(fp)
    for tf, new_text in texts:
        if new_text != tf.text:
            tf.text = new_text
            touched.add(tf.display)
    others = ", ".join(t.file.display for t, _ in targets[1:])
    result.linked.append(tuple(t.file.display for t, _ in targets))
    result.applied.append(AppliedFix(item.file.display, plan.code, loc.line,
                                     f"{plan.description} (also in {others})", plan.safe,
                                     result.passes))
    return True


def _apply_own(item: _Linted, plans: list[tuple[FixPlan, Location, Fingerprint]],
               done: Progress, reasons: dict[tuple[str, int, str], str],
               result: FixResult, relint: Relint | None = None) -> bool:
    f = item.file
    if not plans:
        return False
    tree = item.module.tree
    # overlapping plans wait for the next pass (their findings are linted again); the
    # narrower rules go first (a route's session becomes a dependency, PS105, rather
    # than a `with` block, PS102)
    plans.sort(key=lambda x: PRIORITY.index(x[0].code) if x[0].code in PRIORITY else 99)
    accepted = select_plans(tree, [p for p, _, _ in plans])
    info = {id(p): (loc, fp) for p, loc, fp in plans}
    originally_ok = _compiles(f.text, f.display) is None
    new_text = apply_plans(tree, accepted).code
    problem = _compiles(new_text, f.display) if originally_ok else None
    good = accepted
    if problem is not None:
        good = []
        for plan in accepted:
            text = apply_plans(tree, [*good, plan]).code
            err = _compiles(text, f.display)
            if err is None:
                good.append(plan)
                continue
            loc, fp = info[id(plan)]
            msg = f"the {plan.code} fix at line {loc.line} was reverted: the result {err}"
            result.errors.append(FileError(f.display, msg))
            reasons[(f.display, loc.line, plan.code)] = msg
            done.failed(fp, msg)
        new_text = apply_plans(tree, good).code
    if relint is not None and new_text != f.text:
        good, new_text = _without_new_findings(item, good, new_text, info, relint, done,
                                               reasons)
    if new_text == f.text:
        return False
    f.text = new_text
    for plan in good:
        loc, fp = info[id(plan)]
        done.applied(fp)
        result.applied.append(AppliedFix(f.display, plan.code, loc.line, plan.description,
                                         plan.safe, result.passes))
    return True


# ------------------------------------------------------- no new findings
def _key_of(ctx: FileContext, raw: RawFinding, parents: dict[int, cst.CSTNode]) -> FindingKey:
    func = enclosing_function(raw.node, parents, ctx.module)
    return (raw.code, func.qualname if func else "")


#: the rules whose new finding in a rewritten function means the fix changed what the
#: function does with its connection (a cursor returned after the added release is
#: used after it: PS106); the check runs them whatever `--select` chose, since a fix
#: must not change behaviour because the rule that would see it was not selected
_SAFETY_RULES = ("PS102", "PS103", "PS106")


def _with_safety_rules(rules: list[Rule]) -> list[Rule]:
    codes = {r.code for r in rules}
    return rules + [RULES_BY_CODE[c]() for c in _SAFETY_RULES if c not in codes]


def _relinter(parsed: list[tuple[FixFile, ModuleInfo]], options: ScanOptions,
              rules: list[Rule]) -> Relint:
    """How to lint one file's candidate text, resolved against the other files of
    this pass as they are: the findings' keys, or None when it does not parse."""
    def relint(f: FixFile, text: str) -> Counter[FindingKey] | None:
        try:
            module = parse_source(f.display, f.path, f.relative, text)
        except Exception:
            return None
        peers = [m for g, m in parsed if g is not f and g.project is f.project]
        index = (f.project.index([module, *peers]) if f.project is not None
                 else ProjectIndex([module, *peers], options.project))
        ctx = FileContext(module, index)
        parents = parent_map(module.tree)
        keys: Counter[FindingKey] = Counter()
        for rule in rules:
            try:
                keys.update(_key_of(ctx, raw, parents) for raw in _check(ctx, rule))
            except Exception:  # the pass's own lint reports a rule that fails
                continue
        return keys
    return relint


def _without_new_findings(item: _Linted, good: list[FixPlan], new_text: str,
                          info: dict[int, tuple[Location, tuple[str, ...]]], relint: Relint,
                          done: Progress,
                          reasons: dict[tuple[str, int, str], str]
                          ) -> tuple[list[FixPlan], str]:
    """Revert the plans whose function gains a finding it did not have (a rollback a
    `try` made necessary, a checkout the rewrite no longer sees released): each such
    finding is left with the reason on its one line, and the other plans stay."""
    f = item.file
    before = relint(f, f.text)
    after = relint(f, new_text)
    if before is None or after is None:
        return good, new_text
    new = sorted(after - before)  # (a fix that edits another finding's node moves no count)
    if not new:
        return good, new_text
    tree = item.module.tree
    parents = parent_map(tree)

    def function_of(plan: FixPlan) -> set[str]:
        out = set()
        for node in plan.targets() or [n for n, _ in plan.insert_before.values()]:
            func = enclosing_function(node, parents, item.module)
            out.add(func.qualname if func else "")
        return out

    blamed = [p for p in good if function_of(p) & {q for _, q in new}] or list(good)
    kept = [p for p in good if p not in blamed]
    for plan in blamed:
        loc, fp = info[id(plan)]
        mine = [c for c, q in new if q in function_of(plan)] or [c for c, _ in new]
        reasons[(f.display, loc.line, plan.code)] = (
            "the fix was reverted: it would add a new finding "
            f"({', '.join(sorted(set(mine)))}) in the function it rewrites")
        done.failed(fp, reasons[(f.display, loc.line, plan.code)])
    text = apply_plans(tree, kept).code if kept else f.text
    return kept, text


# ------------------------------------------------------------------ entries
def fix_sources(files: dict[str, str], options: ScanOptions | None = None, *,
                unsafe: bool = False, max_passes: int = MAX_PASSES) -> FixResult:
    """Fix in-memory modules ({relative path: source}); nothing touches the disk.
    Files that are not modules (`requirements.txt`) are read, never fixed."""
    options = with_virtual_files(options or ScanOptions(), files)
    items = []
    for name, text in files.items():
        if not is_module_file(name, text):
            continue
        decoded = decode(text.encode("utf-8"))
        items.append(FixFile(name, Path("/virtual") / name, Path(name), decoded, text, text))
    return fix_files(items, options, unsafe=unsafe, max_passes=max_passes)


def symlink_refusal(path: str) -> str | None:
    """Why `fix` must not follow `path`, a path named on the command line: a symbolic
    link to a file (rewriting it would replace the link by a regular file), or to a
    directory outside the project the link sits in."""
    if not os.path.islink(path):
        return None
    target = Path(os.path.realpath(path))
    if not target.is_dir():
        return "is a symbolic link: skipped (name the file it points to, to fix that)"
    root = find_project_root(path)
    if not is_within(target, root.resolve()):
        return (f"is a symbolic link to a directory outside the project ({target}): "
                "not followed")
    return None


def load_files(paths: list[str], options: ScanOptions) -> tuple[list[FixFile], list[FileError]]:
    """The files of `paths` to fix, each resolved in its whole project (see
    poolsafe.scan.scope); symbolic links that `symlink_refusal` refuses are reported."""
    errors: list[FileError] = []
    followed = []
    for p in paths:
        refusal = symlink_refusal(p)
        if refusal is None:
            followed.append(p)
        else:
            errors.append(FileError(p, refusal))
    scope = build_scope(followed, options.scope_settings())
    errors.extend(scope.errors)
    files: list[FixFile] = []
    for project in scope.projects:
        resolution = ProjectResolution(project, options)
        database = set(resolution.database)
        for i in project.reported:
            if options.prefilter and i not in database:
                continue  # no database code: nothing to fix, and not parsed (as `check`)
            loaded = load_data(project.files[i], project.datas[i])
            if isinstance(loaded, FileError):
                errors.append(loaded)
                continue
            sf: SourceFile = loaded.source_file
            text = loaded.decoded.text
            files.append(FixFile(sf.display, sf.path, sf.relative, loaded.decoded, text, text,
                                 resolution))
    return files, errors

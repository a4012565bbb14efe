"""The equivalence check behind every fix: the fixed code does what the original
did, on every path, plus the release the finding asks for.

`check_fix(before, after, code)` compares two versions of a module (the original
and the result of one fix plan) and returns a `Verdict`:

- **Names**: every name a changed or new function reads is bound where it runs
  (`names`): a fix that calls what only existed inside another function would raise
  `NameError` on every call. Such a fix is wrong even as an unsafe one (`drop`).
- **Paths** (for the fixes that add a release or a rollback: PS101, PS102, PS103):
  each changed function is walked on both sides (`paths`) and its paths compared
  once the release, the rollback and a savepoint are set apart. The fixed function
  must have the same paths as the original: the same calls in the same order, the
  same values returned or yielded, the same exceptions from the same places taken by
  the same handlers, the same guards deciding them, the same `with` blocks entered
  and left (a `with` whose exit commits must stay). On top of that:
  - a release added where the original chose not to release, by a guard about
    something else than whether the connection is there (`if conn is not
    self.conn:`), releases what the original meant to keep;
  - a rollback added in a handler that a lost connection reaches (`except
    OperationalError:`) raises there itself, unless the fix contains its error;
  - a rollback added in a handler that also undoes earlier work of the same
    transaction (an earlier iteration, `SET search_path`) while the code after it
    goes on loses that work (`drop`).

A verdict with problems demotes a safe fix to unsafe with the reason, or, with
`drop`, removes the fix (see `poolsafe.fix.loop.apply`).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, TypeVar

import libcst as cst

from poolsafe.fix.equivalence.names import functions, reduced, unresolved, unresolved_in
from poolsafe.fix.equivalence.paths import (
    UNBOUND,
    Event,
    Outcome,
    Path,
    Side,
    TooComplex,
    Walker,
    _reads,
    code_of,
    handler_text,
)
from poolsafe.fix.equivalence.releases import (
    configured_release_names,
    is_savepoint,
    liveness_guard,
    released_name,
    rolled_back_name,
)

#: the rules whose fixes add a release or a rollback to a function that keeps its
#: shape; the others (a dependency that yields, a session parameter, a context
#: manager) change how the function is called and get the names check only
TRACED_RULES = frozenset({"PS101", "PS102", "PS103"})
_SET_APART = frozenset({"release", "rollback", "try-start", "rguard", "savepoint"})
_N = TypeVar("_N", bound=cst.CSTNode)


@dataclass(frozen=True)
class Verdict:
    problems: tuple[str, ...] = ()
    #: the fix is wrong even as an unsafe one: it would always fail, or lose data
    drop: bool = False
    #: how many functions were compared path by path
    compared: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class _Renders:
    """Each node's code, rendered once in one `check_fix` (the trees before and after a
    fix share every node it left alone, and the memo keys render the changed functions
    and both reduced modules: each shared statement was rendered twice or more). The
    node is kept with its code, so an id is never taken for another node's."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str, int], tuple[cst.CSTNode, str]] = {}

    def code(self, module: cst.Module, node: cst.CSTNode) -> str:
        key = (module.default_indent, module.default_newline, id(node))
        kept = self._done.get(key)
        if kept is None or kept[0] is not node:
            kept = (node, module.code_for_node(node))
            self._done[key] = kept
        return kept[1]

    def module_code(self, module: cst.Module) -> list[object]:
        """What determines `module.code`, piece by piece: its layout, header, each
        statement and footer (a statement's code is the same wherever it is: a
        module's statements are rendered at the top level)."""
        return [module.default_indent, module.default_newline, module.encoding,
                module.has_trailing_newline,
                [self.code(module, e) for e in module.header],
                [self.code(module, s) for s in module.body],
                [self.code(module, e) for e in module.footer]]


_PLAIN = cst.Module([])


def check_fix(before: cst.Module, after: cst.Module, code: str) -> Verdict:
    """Compare the original module with the module after one fix of rule `code`."""
    fb, fa = functions(before), functions(after)
    renders = _Renders()
    # (a function `apply_plans` left as it was is the same node in both trees)
    changed = {q for q, f in fa.items()
               if q not in fb or (fb[q] is not f
                                  and renders.code(before, fb[q]) != renders.code(after, f))}
    problems: list[str] = []
    drop = False
    if changed:
        for qualname, name in _unbound(before, after, changed, renders):
            problems.append(f"`{qualname}` would read `{name}`, which nothing binds "
                            "there (NameError on every call)")
            drop = True
    compared = 0
    if code in TRACED_RULES:
        for qualname in sorted(changed & fb.keys()):
            found, lost = _compared(fb[qualname], fa[qualname],
                                    _sqlalchemy_names(before) | _sqlalchemy_names(after),
                                    renders)
            compared += 1
            problems.extend(f"in `{qualname}`: {p}" for p in found)
            drop = drop or lost
    return Verdict(tuple(problems), drop, compared)


class ComparisonMemo(Protocol):
    """Where `check_fix` keeps `compare_function`'s answers (`poolsafe.scan.proofs`)."""

    def get(self, key: str) -> tuple[list[str], bool] | None: ...

    def put(self, key: str, value: tuple[list[str], bool]) -> None: ...


#: the memo of the check under way (`comparisons_kept`): None, compare every time
_MEMO: ContextVar[ComparisonMemo | None] = ContextVar("comparison_memo", default=None)


@contextmanager
def comparisons_kept(memo: ComparisonMemo | None) -> Iterator[None]:
    """Keep `compare_function`'s answers in `memo` while a check runs (`check`'s
    `[*]`; `poolsafe fix` proves without one)."""
    token = _MEMO.set(memo)
    try:
        yield
    finally:
        _MEMO.reset(token)


def comparison_key(before: cst.FunctionDef, after: cst.FunctionDef,
                   sqlalchemy_names: frozenset[str], renders: _Renders | None = None) -> str:
    """Everything `compare_function` reads: both functions exactly as libcst renders
    them (the code is the tree), the SQLAlchemy names and the configured releases."""
    renders = renders or _Renders()
    return json.dumps([renders.code(_PLAIN, before), renders.code(_PLAIN, after),
                       sorted(sqlalchemy_names), sorted(configured_release_names())])


def _unbound(before: cst.Module, after: cst.Module, changed: set[str],
             renders: _Renders) -> list[tuple[str, str]]:
    """The names the changed functions would read after the fix that nothing binds,
    and did not before, sorted. The scope analysis behind it is kept in the memo of
    a check under way, by the code of both reduced modules (all that it reads):
    a `check FILE` after an edit elsewhere in the file does not run it again."""
    memo = _MEMO.get()
    if memo is None:
        return sorted(unresolved(after, changed) - unresolved(before, changed))
    rb, ra = reduced(before, changed), reduced(after, changed)
    key = json.dumps(["unbound names", sorted(changed), "by statement",
                      None if rb is None else renders.module_code(rb),
                      None if ra is None else renders.module_code(ra)])
    kept = memo.get(key)
    if kept is not None and all(len(p.split("\0")) == 2 for p in kept[0]):
        return [(q, n) for q, n in (p.split("\0") for p in kept[0])]
    found = sorted(unresolved_in(ra, changed) - unresolved_in(rb, changed))
    memo.put(key, ([f"{q}\0{n}" for q, n in found], bool(found)))
    return found


def _compared(before: cst.FunctionDef, after: cst.FunctionDef,
              sqlalchemy_names: frozenset[str], renders: _Renders) -> tuple[list[str], bool]:
    memo = _MEMO.get()
    if memo is None:
        return compare_function(before, after, sqlalchemy_names)
    key = comparison_key(before, after, sqlalchemy_names, renders)
    kept = memo.get(key)
    if kept is not None:
        return kept
    found = compare_function(before, after, sqlalchemy_names)
    memo.put(key, found)
    return found


def compare_function(before: cst.FunctionDef, after: cst.FunctionDef,
                     sqlalchemy_names: frozenset[str] = frozenset()
                     ) -> tuple[list[str], bool]:
    """(problems, whether one of them loses data) between two versions of a function."""
    # the names released or rolled back, on either side, and those a new `with` takes
    resources = _resources(before) | _resources(after) | (
        _with_targets(after) - _with_targets(before))
    derived = {**_derived(before, resources), **_derived(after, resources)}
    guards = frozenset(code_of(t) for t in _tests(before)
                       if not any(liveness_guard(t, n) for n in resources))
    handlers = frozenset(handler_text(h) for h in _nodes(before, cst.ExceptHandler))
    targets = _with_targets(before)
    rollbacks = Counter(code_of(c) for c in _nodes(before, cst.Call)
                        if rolled_back_name(c) is not None)

    def side(original: bool) -> Side:
        return Side(resources, guards, handlers, targets, dict(rollbacks), original,
                    dict(derived), sqlalchemy_names=sqlalchemy_names)

    original, fixed = side(True), side(False)
    try:
        outs_b = Walker(before, original).run()
        outs_a = Walker(after, fixed).run()
    except TooComplex:
        return ["too many paths to compare, so the fix is not proved to keep behaviour"], False
    problems: list[str] = list(dict.fromkeys(fixed.problems))
    lost = bool(problems)
    kept = _kept_by_initializer(before, after)
    if kept:
        return [*problems, *kept], True
    savepoints = sorted(_savepoints(after) - _savepoints(before))
    if savepoints:
        # more SQL than the original sends: the failed row is undone alone and the
        # earlier ones kept, where the original lost them or stopped: by definition
        # not the same behaviour, so never a safe fix
        shown = ", ".join(f"`{t}`" for t in savepoints[:3])
        problems.append(f"the fix sends savepoint statements the original does not send "
                        f"({shown}): a savepoint per iteration keeps the rows the original "
                        "lost, so it is an unsafe fix by definition")
    by_b = _by_key(outs_b)
    by_a = _by_key(outs_a)
    extra = [k for k in by_a if k not in by_b]
    missing = [k for k in by_b if k not in by_a]
    gone = _lost_exit(by_b, by_a)
    if gone is not None:
        # a `with` whose exit commits no longer runs it: what it stored is lost
        problems.append(f"the original leaves `with {gone}`, whose exit may commit; the "
                        "fix no longer runs that exit, so what it stored is lost")
        return list(dict.fromkeys(problems)), True
    if extra:
        problems.append(_describe(extra[0], list(by_b), "the fix"))
    if missing:
        problems.append(_describe(missing[0], list(by_a), "the original"))
    released = _release_problems(by_b, by_a, derived)
    problems.extend(released)
    problems.extend(_used_after_release(by_b, by_a, derived))
    # the same connection given back twice on one path: the second release raises
    # (psycopg2's pool: `trying to put unkeyed connection`) or hands one connection
    # to two callers; no user wants that, even as an unsafe fix
    lost = lost or any(" times on one path" in p for p in released)
    problems.extend(_awaits_dropped(before, after))
    return list(dict.fromkeys(problems)), lost


# ------------------------------------------------------------------ keys
Key = tuple[Event, ...]


def _key(kind: str, path: Path) -> Key:
    events: list[Event] = []
    for e in path.events:
        if e[0] in _SET_APART:
            continue
        e = ("raise", e[1]) if e[0] == "raise*" else e
        if e == ("raise", UNBOUND) and events and events[-1] == e:
            continue  # a second unbound read while the first one's error is raised
        events.append(e)
    return (*events, ("end", kind))


def _segments(path: Path, release: Event) -> list[int]:
    """How often the same release call runs between one checkout and the next."""
    counts = [0]
    for e in path.events:
        if e == ("acquire", release[1]):
            counts.append(0)
        elif e == release:
            counts[-1] += 1
    return counts


def _by_key(outs: list[Outcome]) -> dict[Key, list[Path]]:
    out: dict[Key, list[Path]] = defaultdict(list)
    for kind, path in outs:
        out[_key(kind, path)].append(path)
    return out


def _decisions(path: Path) -> set[tuple[str, str]]:
    return {(e[1], e[2]) for e in path.events if e[0] == "rguard"}


def _consistent(a: Path, b: Path) -> bool:
    """No guard of a release decided one way on `a` and the other way on `b`."""
    da, db = _decisions(a), _decisions(b)
    return not any((text, "False" if taken == "True" else "True") in db for text, taken in da)


def _touches(e: Event, name: str, derived: dict[str, str]) -> bool:
    """Whether a compared event uses the connection `name` (or a cursor made from it)."""
    if e[0] in ("acquire", "enter", "exit"):
        return e[1] == name
    if e[0] in ("call", "raise", "return", "yield", "store"):
        if "." in name:  # `self.conn`
            return re.search(rf"(?<![\w.]){re.escape(name)}\b", e[1]) is not None
        words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", e[1]))
        return name in words or any(derived.get(w) == name for w in words)
    return False


def _returns_a_name(e: Event) -> bool:
    """`return cur`: reading a plain name does nothing a connection sees, and the caller
    uses what it gets only after the function's `finally` has run, in either version;
    so a release may move past it (a `yield` is not: the consumer runs there)."""
    return e[0] == "return" and e[1].isidentifier()


def _exit_after_commit(compared: list[Event], i: int) -> bool:
    """`with conn:` left right after `conn.commit()`: its exit's commit has nothing to
    send, so a release may move past it."""
    e = compared[i]
    if e[0] != "exit" or i == 0:
        return False
    prev = compared[i - 1]
    return prev[0] == "call" and prev[1] == f"{e[1]}.commit()"


def _positions(path: Path, kinds: frozenset[str],
               derived: dict[str, str]) -> Counter[tuple[int, str, str]]:
    """Each release or rollback by the next compared event that uses its connection,
    or that leaves a `with` block (or the end): a release may run later, past work
    that does not use it, but never after a use that the original made with the
    connection already given back, nor outside a `with` it ran in (a shielded cancel
    scope, a timeout, a lock: `with move_on_after(3, shield=True): await conn.close()`
    moved out of it is no longer shielded)."""
    compared = [e for e in path.events if e[0] not in _SET_APART and e[0] != "raise*"]
    out: Counter[tuple[int, str, str]] = Counter()
    at = 0
    for e in path.events:
        if e[0] in kinds:
            nxt = next((i for i in range(at, len(compared))
                        if _holds_back(compared, i, e[1], derived)
                        and not _returns_a_name(compared[i])), len(compared))
            out[(nxt, e[0], e[1])] += 1
        elif e[0] not in _SET_APART and e[0] != "raise*":
            at += 1
    return out


def _holds_back(compared: list[Event], i: int, name: str, derived: dict[str, str]) -> bool:
    """Whether a release or rollback of `name` may not run past the compared event
    `i`: a use of the connection, or the exit of any `with` block; except the exit of
    the connection's own block after its commit (`with conn:` then has nothing left to
    commit, and the release may follow it)."""
    after_commit = _exit_after_commit(compared, i)
    touches = _touches(compared[i], name, derived)
    return (touches and not after_commit) or (
        compared[i][0] == "exit" and not (touches and after_commit))


_KEPT = frozenset({"release", "rollback"})


def _paired_paths(by_b: dict[Key, list[Path]], by_a: dict[Key, list[Path]]
                  ) -> Iterator[tuple[Path, list[Path]]]:
    """Each path of the fixed function with the original's paths of the same key
    (the same database operations and outcome), where the original has some."""
    for key, fixed_paths in by_a.items():
        originals = by_b.get(key)
        if originals:
            for pa in fixed_paths:
                yield pa, originals


def _release_problems(by_b: dict[Key, list[Path]], by_a: dict[Key, list[Path]],
                      derived: dict[str, str]) -> list[str]:
    problems = []
    for pa, originals in _paired_paths(by_b, by_a):
        matched = [pb for pb in originals if _consistent(pa, pb)] or originals
        for release in sorted({e for e in pa.events if e[0] == "release"}):
            name = release[1]
            n = max(_segments(pa, release))
            most = max(max(_segments(pb, release)) for pb in originals)
            if n > max(1, most):
                problems.append(f"`{name}` would be released {n} times on one path")
            for pb in matched:
                count = sum(1 for e in pb.events if e[:2] == ("release", name))
                skips = [f for f in pb.flags if f.startswith(f"skip:{name}:")]
                if count == 0 and skips:
                    guard = skips[0].split(":", 2)[2]
                    problems.append(
                        f"the original leaves `{name}` open when `{guard}` decides so (a "
                        "guard about which connection, not whether there is one); the "
                        "fix releases it there too")
                    break
    # the fix only adds: every release and rollback of an original path is on a fixed
    # path of the same events, at the same place
    for key, originals in by_b.items():
        if key not in by_a:
            continue
        fixed_paths = by_a[key]
        for pb in originals:
            want = _positions(pb, _KEPT, derived)
            if not want:
                continue
            candidates = [pa for pa in fixed_paths if _consistent(pa, pb)] or fixed_paths
            if any(not (want - _positions(pa, _KEPT, derived)) for pa in candidates):
                continue
            at, kind, name = sorted(want - _positions(candidates[0], _KEPT, derived))[0]
            where = f" before it {_event_text(key[at])}" if at < len(key) - 1 else ""
            problems.append(f"the original's {kind} of `{name}`{where} is gone or moved "
                            "in the fix (the fix may only add one, or run it later past "
                            "work that does not use the connection)")
    return list(dict.fromkeys(problems))


def _uses_after_release(path: Path, derived: dict[str, str]) -> set[tuple[int, str, str]]:
    """(index among the compared events, name, what) of each use of a connection
    that this path has already given back (and not taken again)."""
    out: set[tuple[int, str, str]] = set()
    given_back: set[str] = set()
    i = 0
    for e in path.events:
        if e[0] == "release":
            given_back.add(e[1])
        elif e[0] == "acquire":
            given_back.discard(e[1])
        elif e[0] == "rollback" and e[1] in given_back:
            out.add((i, e[1], f"rolls `{e[1]}` back"))  # (set apart, but a use too)
        if e[0] in _SET_APART or e[0] == "raise*":
            continue
        out |= {(i, n, _event_text(e)) for n in given_back if _touches(e, n, derived)
                and e != ("raise", f"acquire {n}")}  # (a new checkout that failed)
        i += 1
    return out


def _used_after_release(by_b: dict[Key, list[Path]], by_a: dict[Key, list[Path]],
                        derived: dict[str, str]) -> list[str]:
    """A release the fix runs before a use of the connection that the original made
    with it still checked out (a handler further out that rolls it back): the use now
    reaches a connection another caller may hold."""
    problems = []
    for pa, originals in _paired_paths(by_b, by_a):
        extra = min((_uses_after_release(pa, derived)
                     - _uses_after_release(pb, derived) for pb in originals), key=len)
        if extra:
            _at, name, what = min(extra)
            problems.append(f"the fix gives `{name}` back before the original "
                            f"{what} with it still checked out")
    return list(dict.fromkeys(problems))


def _lost_exit(by_b: dict[Key, list[Path]], by_a: dict[Key, list[Path]]) -> str | None:
    """A `with` over a connection that the original leaves and the fix never does."""
    left_b = {e[1] for k in by_b for e in k if e[0] == "exit"}
    left_a = {e[1] for k in by_a for e in k if e[0] == "exit"}
    gone = sorted(left_b - left_a)
    return gone[0] if gone else None


def _closest(key: Key, others: list[Key]) -> Key:
    def common(other: Key) -> int:
        n = 0
        for x, y in zip(key, other, strict=False):
            if x != y:
                break
            n += 1
        return n
    return max(others, key=common, default=())


def _describe(key: Key, others: list[Key], who: str) -> str:
    other = _closest(key, others)
    i = 0
    while i < len(key) and i < len(other) and key[i] == other[i]:
        i += 1
    here = _event_text(key[i]) if i < len(key) else "ends"
    there = _event_text(other[i]) if i < len(other) else "ends"
    after = f" after {_event_text(key[i - 1])}" if i else ""
    if who == "the fix":
        return f"on a path{after}, the fix {here} where the original {there}"
    return f"a path of the original is gone: {after.strip() + ', ' if after else ''}" \
           f"the original {here} where the fix {there}"


def _event_text(e: Event) -> str:
    kind = e[0]
    if kind == "call":
        return f"calls `{e[1]}`"
    if kind == "raise":
        return f"raises (from `{e[1]}`)"
    if kind == "catch":
        return f"is caught by `except {e[1]}`"
    if kind == "guard":
        return f"finds `{e[1]}` {e[2].lower()}"
    if kind == "return":
        return f"returns `{e[1]}`"
    if kind == "yield":
        return f"yields `{e[1]}`"
    if kind == "enter":
        return f"enters `with {e[1]}`"
    if kind == "exit":
        return f"leaves `with {e[1]}` (whose exit may commit, or end what the block guards)"
    if kind == "acquire":
        return f"takes `{e[1]}`"
    if kind == "store":
        return f"stores into `{e[1]}`"
    if kind == "end":
        return {"return": "returns", "raise": "lets the exception escape"}.get(e[1], e[1])
    return " ".join(e)


# --------------------------------------------------------------- reading
def _nodes(func: cst.CSTNode, kind: type[_N]) -> list[_N]:
    out: list[_N] = []
    stack: list[cst.CSTNode] = [func]
    while stack:
        cur = stack.pop()
        if isinstance(cur, kind):
            out.append(cur)
        stack.extend(cur.children)
    return out


def _resources(func: cst.FunctionDef) -> frozenset[str]:
    names = set()
    for call in _nodes(func, cst.Call):
        for name in (released_name(call), rolled_back_name(call)):
            if name is not None:
                names.add(name)
    return frozenset(names)


def _kept_by_initializer(before: cst.FunctionDef, after: cst.FunctionDef) -> list[str]:
    """A release the fix adds of a connection the original hands to the initializer
    of the object being built (`super().__init__(conn)`, `Base.__init__(self, conn)`):
    the object keeps it, so the release closes a connection it goes on using."""
    def releases(func: cst.FunctionDef) -> Counter[str]:
        return Counter(n for n in (released_name(c) for c in _nodes(func, cst.Call))
                       if n is not None)

    added = {n for n, k in releases(after).items() if k > releases(before)[n]} | (
        _with_targets(after) - _with_targets(before))
    out = []
    for call in _nodes(before, cst.Call):
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "__init__"):
            continue
        for name in sorted(added):
            if any(_reads(arg.value, name) for arg in call.args):
                out.append(f"the original hands `{name}` to `{code_of(call.func)}`, which "
                           "keeps it in the object it builds; a release added after it "
                           "closes the connection the object goes on using")
    return out


def _with_targets(func: cst.FunctionDef) -> frozenset[str]:
    return frozenset(item.asname.name.value for item in _nodes(func, cst.WithItem)
                     if item.asname is not None and isinstance(item.asname.name, cst.Name))


def _tests(func: cst.FunctionDef) -> list[cst.BaseExpression]:
    return [n.test for n in _nodes(func, cst.If)] + [n.test for n in _nodes(func, cst.While)]


def _derived(func: cst.FunctionDef, resources: frozenset[str]) -> dict[str, str]:
    """Cursors (and the like) made from a resource: `cur = conn.cursor()`,
    `(cur := conn.cursor())`; and a second name for it: `s = session`."""
    out: dict[str, str] = {}
    for walrus in _nodes(func, cst.NamedExpr):
        made = walrus.value
        if isinstance(walrus.target, cst.Name) and isinstance(made, cst.Call) \
                and isinstance(made.func, cst.Attribute) \
                and isinstance(made.func.value, cst.Name) \
                and made.func.value.value in resources:
            out[walrus.target.value] = made.func.value.value
    for node in _nodes(func, cst.Assign):
        value = node.value
        if isinstance(value, cst.Name) and value.value in resources:
            for t in node.targets:
                if isinstance(t.target, cst.Name) and t.target.value not in resources:
                    out[t.target.value] = value.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) \
                and isinstance(value.func.value, cst.Name) \
                and value.func.value.value in resources:
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    out[t.target.value] = value.func.value.value
    for with_item in _nodes(func, cst.WithItem):
        item = with_item.item
        if isinstance(item, cst.Call) and isinstance(item.func, cst.Attribute) \
                and isinstance(item.func.value, cst.Name) \
                and item.func.value.value in resources and with_item.asname is not None \
                and isinstance(with_item.asname.name, cst.Name):
            out[with_item.asname.name.value] = item.func.value.value
    return out


def _savepoints(func: cst.FunctionDef) -> Counter[str]:
    """The savepoint calls of a function (`SAVEPOINT s`, `begin_nested()`), by text."""
    return Counter(code_of(c) for c in _nodes(func, cst.Call) if is_savepoint(c))


def _sqlalchemy_names(module: cst.Module) -> frozenset[str]:
    """The names the module's imports bind from SQLAlchemy."""
    out: set[str] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None \
                    and code_of(small.module).split(".")[0] == "sqlalchemy" \
                    and not isinstance(small.names, cst.ImportStar):
                out |= {code_of(a.asname.name if a.asname else a.name).split(".")[0]
                        for a in small.names}
            elif isinstance(small, cst.Import):
                for a in small.names:
                    if code_of(a.name).split(".")[0] == "sqlalchemy":
                        out.add(code_of(a.asname.name if a.asname else a.name).split(".")[0])
    return frozenset(out)


def _awaited_releases(func: cst.FunctionDef) -> tuple[set[str], set[str]]:
    """(awaited, not awaited) release and rollback calls of a function, by text."""
    awaited: set[str] = set()
    plain: set[str] = set()
    for node in _nodes(func, cst.Await):
        if isinstance(node.expression, cst.Call):
            awaited.add(code_of(node.expression))
    for call in _nodes(func, cst.Call):
        if released_name(call) is not None or rolled_back_name(call) is not None:
            text = code_of(call)
            if text not in awaited:
                plain.add(text)
    return awaited, plain


def _awaits_dropped(before: cst.FunctionDef, after: cst.FunctionDef) -> list[str]:
    """A release the original awaits, written by the fix without `await`: the
    coroutine is made and never run, so nothing is released or rolled back."""
    awaited_b, _ = _awaited_releases(before)
    awaited_a, plain_a = _awaited_releases(after)
    return [f"the original awaits `{t}`; the fix calls it without `await`, so it never "
            "runs" for t in sorted((awaited_b - awaited_a) & plain_a)]

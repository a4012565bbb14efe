"""Every path through one function, as the sequence of what it does.

A path is what a caller and the database can observe: each call in evaluation
order (its source text), the guards that decided which way it went, where an
exception came from and which handler took it, the `with` blocks entered and
exited, and how it ended (the value returned or yielded, an exception escaping).
Structured control flow is followed as the flow analysis follows it
(`poolsafe.analysis.flow`): every call that analysis lets raise (`call_may_raise`)
may raise there, a typed `except` may or may not take an exception, a bare or
broad one always does, `finally` runs on every way out, a `yield` is a point where
the consumer can throw in, and loops run zero, one or two times.

The release the fix may add is set apart rather than recorded as a call (see
`releases`): the comparison (`compare`) removes it from both sides and then asks
for the same paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import libcst as cst

from poolsafe.analysis.cstutil import children, is_true, strip_await
from poolsafe.analysis.flow import call_may_raise
from poolsafe.fix.equivalence.releases import (
    ACQUIRE_METHODS,
    closed_by_with,
    is_savepoint,
    liveness_guard,
    receiver_root,
    released_name,
    rolled_back_name,
)
from poolsafe.knowledge import BROAD_EXCEPTIONS, DRIVER_BASE_ERRORS, NON_WORK_METHODS

Event = tuple[str, ...]
#: past this many open paths at one statement the comparison gives up (and says so)
MAX_PATHS = 4000
#: past this much work (a statement or a call followed on one path counts one) the
#: comparison gives up (and says so): nested loops and handlers multiply the paths
#: each statement is followed on long before their number passes `MAX_PATHS`
MAX_STEPS = 50_000
#: how often a loop body runs on the paths followed: 0, 1 or 2 times
LOOP_RUNS = 2
#: exception classes (last part of the name) that a lost connection can raise: in a
#: handler for one of them a rollback on a plain driver connection may raise too
#: (a handler written for a lost connection: a broad one, or `except psycopg2.Error`,
#: is there for the failed statement, and the fixer guards its rollback)
LOST_CONNECTION_ERRORS = frozenset(
    {"OperationalError", "InterfaceError", "ConnectionError", "OSError",
     "PostgresConnectionError", "ConnectionDoesNotExistError", "DisconnectionError",
     "ConnectionFailure", "ConnectionRefusedError", "ConnectionResetError"})
UNBOUND = "a name that is not bound (UnboundLocalError)"
#: handler types whose catch means the session (SQLAlchemy) is the resource: its
#: `rollback()` after a lost connection does not raise
_SESSION_ERRORS = frozenset({"SQLAlchemyError", "DBAPIError", "PendingRollbackError"})
_PURE_FUNCTIONS = frozenset({"isinstance", "len", "str", "repr", "id", "bool", "type",
                             "hasattr", "callable", "locals", "vars", "dir", "globals"})
_COMMIT_METHODS = frozenset({"commit"})
#: a logger's methods: handed the resource, they only format it
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception",
                          "critical", "log"})
#: the classes that take what a driver's `rollback()` raises on a lost connection
_DRIVER_ERRORS = DRIVER_BASE_ERRORS | {"OperationalError", "InterfaceError", "DBAPIError",
                                      "PostgresError"}


class TooComplex(Exception):
    """More paths than `MAX_PATHS`: the function is not compared."""


def code_of(node: cst.CSTNode) -> str:
    return " ".join(cst.Module([]).code_for_node(node).split())


@dataclass(frozen=True)
class Path:
    events: tuple[Event, ...] = ()
    #: local names bound on this path
    bound: frozenset[str] = frozenset()
    #: the handlers this path is running inside: whether each may hold a lost connection
    handlers: tuple[tuple[bool, int, bool], ...] = ()
    #: `skip:<name>`: the original chose, by a guard, not to release `name` here
    flags: frozenset[str] = frozenset()
    #: local names that hold `None` on this path (`conn = None` before the checkout)
    none: frozenset[str] = frozenset()

    def add(self, *events: Event) -> Path:
        return replace(self, events=self.events + events)


Outcome = tuple[str, Path]  # ("normal" | "return" | "break" | "continue" | "raise", path)


@dataclass
class Side:
    """What the walker of one side (the original or the fix) needs to know."""

    #: the names whose release the fix may add
    resources: frozenset[str]
    #: guard texts of the original: a guard only the fix has is not recorded
    guards: frozenset[str]
    #: handler type texts of the original
    handlers: frozenset[str]
    #: `with` targets of the original (a new `with ... as conn` releases on exit)
    with_targets: frozenset[str]
    #: how often each rollback text occurs in the original (more: the fix added one)
    rollbacks: dict[str, int]
    original: bool
    #: cursor names made from a resource
    derived: dict[str, str] = field(default_factory=dict)
    #: what the fix does that no path comparison shows (a rollback undoing work)
    problems: list[str] = field(default_factory=list)
    #: names the module imports from SQLAlchemy (`OperationalError`, `exc`, `sa`): a
    #: handler for one of its errors holds a session, whose rollback does not raise
    sqlalchemy_names: frozenset[str] = frozenset()


class Walker:
    def __init__(self, func: cst.FunctionDef, side: Side) -> None:
        self.func = func
        self.side = side
        self.locals = _assigned_names(func)
        #: locals whose reads are not checked: declared `global` / `nonlocal`, or
        #: bound inside an expression (`:=`), which the paths do not record
        self.unchecked = _global_or_walrus(func)
        self.try_ids: dict[int, int] = {}
        #: the work done so far (see `MAX_STEPS`)
        self.steps = 0
        #: id(node) -> (node, `code_of(node)`): a call is rendered once, not once per
        #: path that reaches it (superset's cold run rendered the same calls 15,000
        #: times in three `[*]` proofs: 0.6 s of their 2.0 s of CPU); the node is kept
        #: beside its text, so that its id is not reused while the walk lasts
        self._texts: dict[int, tuple[cst.CSTNode, str]] = {}
        self.release_counts: dict[str, int] = {}
        for node in _points([func.body]):
            name = released_name(node) if isinstance(node, cst.Call) else None
            if name is not None:
                self.release_counts[name] = self.release_counts.get(name, 0) + 1
        #: the rollbacks this side has beyond the original's (by text, in source order)
        self.added: set[int] = set()
        if not side.original:
            seen: dict[str, int] = {}
            for node in _points([func.body]):
                if isinstance(node, cst.Call) and rolled_back_name(node) is not None:
                    text = self.code_of(node)
                    seen[text] = seen.get(text, 0) + 1
                    if seen[text] > side.rollbacks.get(text, 0):
                        self.added.add(id(node))

    def code_of(self, node: cst.CSTNode) -> str:
        """`code_of(node)`, rendered once per node and walk."""
        found = self._texts.get(id(node))
        if found is None or found[0] is not node:
            found = self._texts[id(node)] = (node, code_of(node))
        return found[1]

    # ------------------------------------------------------------------ entry
    def run(self) -> list[Outcome]:
        params = {p.name.value for p in _params(self.func.params)}
        start = Path(bound=frozenset(params))
        body = self.func.body
        stmts = list(body.body) if isinstance(body, cst.IndentedBlock) else [body]
        out = []
        for kind, path in self.block(stmts, start):
            if kind == "normal":
                out.append(("return", path.add(("return", "None"))))
            elif kind in ("return", "raise"):
                out.append((kind, path))
        return _dedupe(out)

    # ------------------------------------------------------------- statements
    def block(self, stmts: Iterable[cst.CSTNode], path: Path) -> list[Outcome]:
        current = [path]
        done: list[Outcome] = []
        for stmt in stmts:
            nxt: list[Path] = []
            for p in current:
                for kind, q in self.statement(stmt, p):
                    if kind == "normal":
                        nxt.append(q)
                    else:
                        done.append((kind, q))
            current = _dedupe_paths(nxt)
            if len(current) + len(done) > MAX_PATHS:
                raise TooComplex
            if not current:
                break
        return _dedupe(done + [("normal", p) for p in current])

    def statement(self, stmt: cst.CSTNode, path: Path) -> list[Outcome]:
        self._spend(1)
        if isinstance(stmt, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            return self.block(stmt.body, path)
        if isinstance(stmt, cst.IndentedBlock):
            return self.block(stmt.body, path)
        if isinstance(stmt, cst.If):
            return self.if_(stmt, path)
        if isinstance(stmt, cst.Try):
            return self.try_(stmt, path)
        if isinstance(stmt, cst.With):
            return self.with_(stmt, path)
        if isinstance(stmt, cst.For):
            return self.for_(stmt, path)
        if isinstance(stmt, cst.While):
            return self.while_(stmt, path)
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            return [("normal", replace(path, bound=path.bound | {stmt.name.value}))]
        return self.small(stmt, path)

    def small(self, node: cst.CSTNode, path: Path) -> list[Outcome]:
        if isinstance(node, cst.Pass | cst.Global | cst.Nonlocal):
            return [("normal", path)]
        if isinstance(node, cst.Break):
            return [("break", path)]
        if isinstance(node, cst.Continue):
            return [("continue", path)]
        if isinstance(node, cst.Return):
            outs = self.expr(node.value, path) if node.value is not None else [("normal", path)]
            text = self.code_of(node.value) if node.value is not None else "None"
            return [("return", p.add(("return", text))) if k == "normal" else (k, p)
                    for k, p in outs]
        if isinstance(node, cst.Raise):
            outs = self.expr(node.exc, path) if node.exc is not None else [("normal", path)]
            text = self.code_of(node.exc) if node.exc is not None else "re-raise"
            return [("raise", p.add(("raise", text))) if k == "normal" else (k, p)
                    for k, p in outs]
        if isinstance(node, cst.Assign | cst.AnnAssign | cst.AugAssign):
            return self.assign(node, path)
        if isinstance(node, cst.Import | cst.ImportFrom):
            names = _import_names(node)
            return [("normal", replace(path, bound=path.bound | names))]
        if isinstance(node, cst.Del):
            return [("normal", path)]
        if isinstance(node, cst.Expr):
            return self.expr(node.value, path)
        if isinstance(node, cst.Assert):
            outs = self.expr(node.test, path)
            extra = [("raise", p.add(("raise", "assert " + self.code_of(node.test))))
                     for k, p in outs if k == "normal"]
            return outs + extra
        # (match statements and anything else: not followed)
        raise TooComplex

    def assign(self, node: cst.Assign | cst.AnnAssign | cst.AugAssign,
               path: Path) -> list[Outcome]:
        value = node.value
        targets: list[cst.BaseExpression] = (
            [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target])
        if value is None:
            return [("normal", path)]
        names = set().union(*(_target_names(t) for t in targets))
        acquired = None
        call, _ = strip_await(value)
        if len(targets) == 1 and isinstance(targets[0], cst.Name) \
                and targets[0].value in self.side.resources and isinstance(call, cst.Call):
            acquired = targets[0].value
        if acquired is not None:
            assert isinstance(call, cst.Call)
            outs = self.calls_in(call.args, path)
            res = []
            for k, p in outs:
                if k != "normal":
                    res.append((k, p))
                    continue
                # the acquiring call itself: what it acquires, not how
                res.append(("raise", p.add(("raise", f"acquire {acquired}"))))
                res.append(("normal", p.add(("acquire", acquired))))
            outs = res
        else:
            outs = self.expr(value, path)
        for t in targets:
            if not isinstance(t, cst.Name):
                outs = [(k, p.add(("store", self.code_of(t)))) if k == "normal" else (k, p)
                        for k, p in outs]
        holds_none = (frozenset(names) if isinstance(value, cst.Name) and value.value == "None"
                      else frozenset())
        return [(k, replace(p, bound=p.bound | names, none=(p.none - names) | holds_none))
                if k == "normal" else (k, p) for k, p in outs]

    def if_(self, node: cst.If, path: Path) -> list[Outcome]:
        out: list[Outcome] = []
        test = node.test
        text = self.code_of(test)
        for k, p in self.expr(test, path):
            if k != "normal":
                out.append((k, p))
                continue
            known = _none_test(test, p.none)
            release_only = _release_only(node, self.side.resources)
            for taken in (True, False):
                if known is not None and known != taken:
                    continue  # a test of a name that holds None here: decided
                branch: cst.CSTNode | None = node.body if taken else node.orelse
                other: cst.CSTNode | None = node.orelse if taken else node.body
                q = self._guard(text, taken, p, "rguard" if release_only else "guard")
                q = self._skip_flags(test, branch, other, q)
                if branch is None:
                    out.append(("normal", q))
                elif isinstance(branch, cst.If):
                    out.extend(self.if_(branch, q))
                else:
                    assert isinstance(branch, cst.Else | cst.IndentedBlock
                                      | cst.SimpleStatementSuite)
                    body = branch.body if isinstance(branch, cst.Else) else branch
                    out.extend(self.statement(body, q))
        return _dedupe(out)

    def _guard(self, text: str, taken: bool, path: Path, kind: str = "guard") -> Path:
        """Record a guard of the original. `rguard`: the guard of an `if` that only
        releases (`if conn is not self.conn: conn.close()`); set apart like the release
        it decides, so that the guarded release may move whole into a `finally` that
        also runs on the paths that leaked (the comparison pairs the paths by these
        decisions: see `compare`)."""
        if text in self.side.guards:
            return path.add((kind, text, str(taken)))
        return path

    def _skip_flags(self, test: cst.BaseExpression, branch: cst.CSTNode | None,
                    other: cst.CSTNode | None, path: Path) -> Path:
        """On the original: a branch without the release that the other branch makes,
        chosen by a guard about something else than whether the connection is there."""
        if not self.side.original or other is None:
            return path
        here = _released_in(branch) if branch is not None else set()
        flags = set()
        for name in _released_in(other) - here:
            if self.release_counts.get(name, 0) > len(_release_calls(other, name)):
                continue  # released elsewhere too: the guard only chose when
            if name not in self.side.resources or liveness_guard(test, name):
                continue
            # a guard about *which* connection (it reads the connection), or any guard
            # over a connection this path did not check out here (it may be the
            # caller's): the original meant to keep it. A guard about something else
            # over our own checkout (`if verbose:`) leaks it, which the fix may mend.
            if _reads(test, name) or ("acquire", name) not in path.events:
                flags.add(f"skip:{name}:{self.code_of(test)}")
        return replace(path, flags=path.flags | flags) if flags else path

    def try_(self, node: cst.Try, path: Path) -> list[Outcome]:
        tid = self.try_ids.setdefault(id(node), len(self.try_ids))
        outs = self.block(_body(node.body), path.add(("try-start", str(tid))))
        result: list[Outcome] = []
        for kind, p in outs:
            if kind == "raise":
                result.extend(self._handle(node, tid, p))
            elif kind == "normal" and node.orelse is not None:
                result.extend(self.block(_body(node.orelse.body), p))
            else:
                result.append((kind, p))
        result = _dedupe(result)
        if node.finalbody is None:
            return result
        final: list[Outcome] = []
        for kind, p in result:
            for k2, q in self.block(_body(node.finalbody.body), p):
                final.append((kind, q) if k2 == "normal" else (k2, q))
        return _dedupe(final)

    def _handle(self, node: cst.Try, tid: int, path: Path) -> list[Outcome]:
        out: list[Outcome] = []
        for handler in node.handlers:
            text = handler_text(handler)
            if not self.side.original and text not in self.side.handlers \
                    and release_and_reraise(handler, self.side.resources):
                # the fix's "give it back on failure, hand it on on success": a handler
                # of every exception that only releases and re-raises the same one; its
                # release is set apart like any other, and the exception goes on from
                # where it came, as in the original
                stmts = _body(handler.body)[:-1]
                return [("raise", r) if k == "normal" else (k, r)
                        for k, r in self.block(stmts, path)]
            names = _type_names(handler.type)
            broad = handler.type is None or bool(names & BROAD_EXCEPTIONS) or (
                _raising_rollback(path) and bool(names & _DRIVER_ERRORS))
            # a handler only the fix has, or any handler that takes an added
            # rollback's own error (`try: conn.rollback() except psycopg2.Error: pass`
            # in a handler of the same type): that error is contained, as if the
            # rollback had not raised; whatever else the handler runs is compared
            q = (path.add(("catch", text))
                 if text in self.side.handlers and not _raising_rollback(path)
                 else _cancel_release_raise(path))
            if handler.name is not None and isinstance(handler.name.name, cst.Name):
                q = replace(q, bound=q.bound | {handler.name.name.value})
            # a broad handler, or one for the driver's base errors, is reached by a
            # lost connection too (psycopg2.OperationalError is a psycopg2.Error)
            lost = handler.type is None or bool(
                names & (LOST_CONNECTION_ERRORS | BROAD_EXCEPTIONS | _DRIVER_ERRORS))
            session = bool(names & _SESSION_ERRORS) or bool(
                _type_roots(handler.type) & self.side.sqlalchemy_names) or (
                # a broad handler in a module of SQLAlchemy's: its rollback is a
                # session's or an engine connection's, which survives a lost one
                not names & LOST_CONNECTION_ERRORS and bool(self.side.sqlalchemy_names))
            q = replace(q, handlers=(*q.handlers, (lost, tid, session)))
            for k, r in self.block(_body(handler.body), q):
                out.append((k, replace(r, handlers=r.handlers[:-1])))
            if broad:
                return out
        out.append(("raise", path))
        return out

    def with_(self, node: cst.With, path: Path) -> list[Outcome]:
        enters: list[Event] = []
        exits: list[Event] = []
        current: list[Outcome] = [("normal", path)]
        for item in node.items:
            target = item.asname.name if item.asname is not None else None
            name = target.value if isinstance(target, cst.Name) else None
            call, _ = strip_await(item.item)
            closed = closed_by_with(item.item)
            if closed is not None and closed in self.side.resources:
                exits.append(("release", closed, "closing"))  # `with closing(conn):`
                continue
            acquires = isinstance(call, cst.Call) and (
                name in self.side.resources or (
                    isinstance(call.func, cst.Attribute)
                    and call.func.attr.value in ACQUIRE_METHODS and name is not None))
            nxt: list[Outcome] = []
            for k, p in current:
                if k != "normal":
                    nxt.append((k, p))
                    continue
                if acquires and name is not None and isinstance(call, cst.Call):
                    for k2, q in self.calls_in(call.args, p):
                        if k2 == "normal":
                            nxt.append(("raise", q.add(("raise", f"acquire {name}"))))
                            q = q.add(("acquire", name))
                        nxt.append((k2, q))
                else:
                    nxt.extend(self.expr(item.item, p))
            bound = _target_names(item.asname.name) if item.asname is not None else set()
            current = [(k, replace(p, bound=p.bound | bound)) if k == "normal" else (k, p)
                       for k, p in nxt]
            if isinstance(call, cst.Call) and is_savepoint(call):
                continue
            if name is not None and name in self.side.resources \
                    and name not in self.side.with_targets:
                exits.append(("release", name, "with"))  # a `with` only the fix has
                continue
            label = name if name is not None else self.code_of(item.item)
            enters.append(("enter", label))
            exits.append(("exit", label))
        out: list[Outcome] = []
        for k, p in current:
            if k != "normal":
                out.append((k, p))
                continue
            q = p.add(*enters)
            for k2, r in self.statement(node.body, q):
                out.append((k2, r.add(*reversed(exits))))
        return _dedupe(out)

    def for_(self, node: cst.For, path: Path) -> list[Outcome]:
        names = _target_names(node.target)
        out: list[Outcome] = []
        starts: list[Path] = []
        for k, p in self.expr(node.iter, path):
            if k == "normal":
                starts.append(p)
            else:
                out.append((k, p))
        return _dedupe(out + self._loop(starts, None, node.body, node.orelse, names))

    def while_(self, node: cst.While, path: Path) -> list[Outcome]:
        return _dedupe(self._loop([path], node.test, node.body, node.orelse, set()))

    def _loop(self, starts: list[Path], test: cst.BaseExpression | None, body: cst.BaseSuite,
              orelse: cst.Else | None, names: set[str]) -> list[Outcome]:
        out: list[Outcome] = []
        ended: list[Path] = []
        frontier = starts
        for run in range(LOOP_RUNS + 1):
            entering: list[Path] = []
            for p in frontier:
                if test is None:
                    ended.append(p)
                    entering.append(replace(p, bound=p.bound | names))
                    continue
                for k, q in self.expr(test, p):
                    if k != "normal":
                        out.append((k, q))
                        continue
                    if not is_true(test):
                        ended.append(self._guard(self.code_of(test), False, q))
                    entering.append(self._guard(self.code_of(test), True, q))
            if run == LOOP_RUNS:
                break
            frontier = []
            for p in _dedupe_paths(entering):
                for k, q in self.statement(body, p):
                    if k in ("normal", "continue"):
                        frontier.append(q)
                    elif k == "break":
                        out.append(("normal", q))
                    else:
                        out.append((k, q))
            frontier = _dedupe_paths(frontier)
            if len(frontier) + len(out) > MAX_PATHS:
                raise TooComplex
        for p in _dedupe_paths(ended):
            if orelse is not None:
                out.extend(self.statement(orelse.body, p))
            else:
                out.append(("normal", p))
        return out

    # ------------------------------------------------------------ expressions
    def expr(self, node: cst.CSTNode | None, path: Path) -> list[Outcome]:
        if node is None:
            return [("normal", path)]
        return self.calls_in([node], path)

    def calls_in(self, nodes: Iterable[cst.CSTNode], path: Path) -> list[Outcome]:
        """Each call (and `yield`) under `nodes`, innermost first, left to right; a
        read of a local name not bound on the path raises there (`UnboundLocalError`),
        and the right side of `and` / `or` runs only where the left side lets it."""
        current = [path]
        out: list[Outcome] = []
        for node in nodes:
            current, more = self._eval(node, current)
            out.extend(more)
        return _dedupe(out + [("normal", p) for p in current])

    def _eval(self, node: cst.CSTNode, paths: list[Path],
              names: bool = True) -> tuple[list[Path], list[Outcome]]:
        """(the paths on which `node` is evaluated normally, those that left it)."""
        if isinstance(node, cst.Lambda | cst.FunctionDef | cst.ClassDef):
            return paths, []
        if isinstance(node, cst.Call) and is_savepoint(node):
            return self._points_at(node, paths)
        if isinstance(node, cst.BooleanOperation):
            return self._boolean(node, paths, names)
        if isinstance(node, cst.Name):
            return self._read(node.value, paths) if names else (paths, [])
        if isinstance(node, _SCOPES):
            names = False  # (a comprehension's own names: not followed)
        out: list[Outcome] = []
        if isinstance(node, cst.Call) and self._getter_release(node):
            # `get_pool().putconn(conn)`: the receiver that finds the pool again is
            # part of the release, as `get_pool().getconn()` is of the checkout
            kids: list[cst.CSTNode] = list(node.args)
        else:
            kids = [c for c in children(node) if not _not_read(node, c)]
        for child in kids:
            paths, more = self._eval(child, paths, names)
            out.extend(more)
        if isinstance(node, cst.Call | cst.Yield):
            paths, more = self._points_at(node, paths)
            out.extend(more)
        return _dedupe_paths(paths), out

    def _spend(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise TooComplex

    def _points_at(self, node: cst.CSTNode, paths: list[Path]
                   ) -> tuple[list[Path], list[Outcome]]:
        self._spend(len(paths))
        nxt: list[Path] = []
        out: list[Outcome] = []
        for p in paths:
            for k, q in self.point(node, p):
                (nxt.append(q) if k == "normal" else out.append((k, q)))
        return _dedupe_paths(nxt), out

    def _read(self, name: str, paths: list[Path]) -> tuple[list[Path], list[Outcome]]:
        """A plain read of `name`: where it is a local not bound on a path, the path
        raises there. (Only the raising is an outcome: a read is not an event.)"""
        if name not in self.locals or name in self.unchecked:
            return paths, []
        return ([p for p in paths if name in p.bound],
                [("raise", p.add(("raise", UNBOUND))) for p in paths if name not in p.bound])

    def _boolean(self, node: cst.BooleanOperation, paths: list[Path],
                 names: bool) -> tuple[list[Path], list[Outcome]]:
        """`a and b`, `a or b`: `b` runs only when `a` does not decide. A left side
        known on the path (a name that holds None) decides it; otherwise both ways are
        followed when `b` calls something (`conn and conn.close()`)."""
        left, out = self._eval(node.left, paths, names)
        is_and = isinstance(node.operator, cst.And)
        right_calls = bool(_points([node.right]))
        stop: list[Path] = []
        go: list[Path] = []
        for p in left:
            known = _none_test(node.left, p.none)
            if known is not None:
                (stop if known is not is_and else go).append(p)
            elif right_calls:
                stop.append(p)
                go.append(p)
            else:
                stop.append(p)  # (nothing on the right to observe but a read)
        done, more = self._eval(node.right, go, names) if go else ([], [])
        return _dedupe_paths(stop + done), out + more

    def _getter_release(self, node: cst.Call) -> bool:
        """A release of a resource whose receiver is found by calls without
        arguments (`get_pool().putconn(conn)`, `self.pool().putconn(conn)`)."""
        name = released_name(node)
        if name is None or name not in self.side.resources \
                or not isinstance(node.func, cst.Attribute):
            return False
        inner = [c for c in _points([node.func.value]) if isinstance(c, cst.Call)]
        return bool(inner) and all(not c.args for c in inner)

    def point(self, node: cst.CSTNode, path: Path) -> list[Outcome]:
        if isinstance(node, cst.Yield):
            text = self.code_of(node.value) if node.value is not None else "None"
            p = path.add(("yield", text))
            return [("normal", p), ("raise", p.add(("raise", "thrown in at yield")))]
        assert isinstance(node, cst.Call)
        released = released_name(node)
        rolled = rolled_back_name(node)
        if is_savepoint(node):
            return [("normal", path.add(("savepoint", self.code_of(node))))]
        root = receiver_root(node)
        if isinstance(node.func, cst.Attribute) and root is not None and root in path.none:
            return [("raise", path.add(("raise", f"{root} being None (AttributeError)")))]
        if released is not None and released in self.side.resources:
            return self._release(node, released, path, ("release", released, self.code_of(node)))
        if rolled is not None and rolled in self.side.resources:
            return self._rollback(node, rolled, path)
        if isinstance(node.func, cst.Name) and node.func.value in _PURE_FUNCTIONS:
            return [("normal", path)]
        if isinstance(node.func, cst.Attribute) and root in self.locals \
                and root not in path.bound:
            return [("raise", path.add(("raise", UNBOUND)))]
        text = self.code_of(node)
        done = path.add(("call", text))
        if call_may_raise(node):
            return [("normal", done), ("raise", path.add(("raise", text)))]
        return [("normal", done)]

    def _release(self, node: cst.Call, name: str, path: Path, event: Event) -> list[Outcome]:
        root = name.split(".", 1)[0]
        if root in self.locals and root not in path.bound:
            return [("raise", path.add(("raise", UNBOUND)))]
        if root in path.none:
            return [("raise", path.add(("raise", f"{root} being None (AttributeError)")))]
        return [("normal", path.add(event))]

    def _rollback(self, node: cst.Call, name: str, path: Path) -> list[Outcome]:
        text = self.code_of(node)
        added = id(node) in self.added
        outs = self._release(node, name, path, ("rollback", name))
        if not added or not path.handlers:
            return outs
        lost, tid, session = path.handlers[-1]
        self._undoes_earlier_work(name, tid, path, text)
        if lost and not session:
            # on a lost connection the rollback raises itself
            outs.append(("raise", path.add(("raise*", text))))
        return outs

    def _undoes_earlier_work(self, name: str, tid: int, path: Path, text: str) -> None:
        """A rollback added in a handler also undoes the work of the transaction done
        before its `try` (earlier loop iterations, `SET search_path`): record it when
        there is any, since the code after the handler goes on as if it were kept."""
        events = path.events
        start = max((i for i, e in enumerate(events) if e == ("try-start", str(tid))),
                    default=0)
        earlier = []
        for e in reversed(events[:start]):
            if e in (("acquire", name), ("rollback", name)) or e[:2] == ("release", name):
                break
            if e[0] == "call" and self._work_on(e[1], name):
                if _method_of(e[1]) in _COMMIT_METHODS:
                    break
                earlier.append(e[1])
        if earlier:
            self.side.problems.append(
                f"`{text}` in the handler also undoes `{earlier[-1]}`, run before the "
                "`try` in the same transaction, and the code after it goes on as if "
                "that were kept")

    def _work_on(self, text: str, name: str) -> bool:
        """`text` (a call) works in `name`'s transaction: a method of `name` or of what
        was made from it (`cur.execute(...)`, `(cur := conn.cursor()).execute(...)`), or
        a call that hands one of them on (`add_rows(session, rows)`: the callee may
        work in it)."""
        try:
            call = cst.parse_expression(text)
        except cst.ParserSyntaxError:
            return False
        if not isinstance(call, cst.Call):
            return False
        if self._is_resource(_root_name(call.func), name):
            return _method_of(text) not in NON_WORK_METHODS
        if _method_of(text) in _LOG_METHODS or (
                isinstance(call.func, cst.Name)
                and call.func.value in _PURE_FUNCTIONS | {"print"}):
            return False
        return any(self._is_resource(_root_name(arg.value), name) for arg in call.args)

    def _is_resource(self, root: str | None, name: str) -> bool:
        return root is not None and (root == name or self.side.derived.get(root) == name)


# ---------------------------------------------------------------- helpers
def release_and_reraise(handler: cst.ExceptHandler, resources: frozenset[str]) -> bool:
    """`except BaseException:` (or a bare `except:`), naming no variable, whose body is
    one or more releases of `resources` (`pool.putconn(conn)`, `await conn.close()`,
    each may stand under `if conn is not None:`) and then a bare `raise`: the exception
    it takes goes on unchanged."""
    if handler.name is not None or not (
            handler.type is None or code_of(handler.type) == "BaseException"):
        return False
    stmts = _body(handler.body) if isinstance(handler.body, cst.IndentedBlock) else []
    if len(stmts) < 2:
        return False
    *releases, last = stmts
    if not (isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1
            and isinstance(last.body[0], cst.Raise) and last.body[0].exc is None):
        return False
    return all(_releases(stmt, resources) for stmt in releases)


def _releases(stmt: cst.CSTNode, resources: frozenset[str]) -> bool:
    """`pool.putconn(conn)` of one of `resources`, also alone under `if conn is not
    None:` (a checkout a wrapper may hand back as None: nothing to give back)."""
    if isinstance(stmt, cst.If) and stmt.orelse is None \
            and isinstance(stmt.body, cst.IndentedBlock) and len(stmt.body.body) == 1:
        test = stmt.test
        if not (isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name)
                and test.left.value in resources and len(test.comparisons) == 1
                and isinstance(test.comparisons[0].operator, cst.IsNot)
                and code_of(test.comparisons[0].comparator) == "None"):
            return False
        inner = stmt.body.body[0]
        return _releases(inner, frozenset({test.left.value})) and _releases(inner, resources)
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)):
        return False
    call, _ = strip_await(stmt.body[0].value)
    return isinstance(call, cst.Call) and released_name(call) in resources


def handler_text(handler: cst.ExceptHandler) -> str:
    """The handler's type as text; a bare `except:` is `except BaseException:`."""
    return code_of(handler.type) if handler.type is not None else "BaseException"


def _dedupe(outs: list[Outcome]) -> list[Outcome]:
    return list(dict.fromkeys(outs))


def _dedupe_paths(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def _raising_rollback(path: Path) -> bool:
    """Whether the exception in flight is an added rollback's own."""
    for e in reversed(path.events):
        if e[0] in ("raise", "raise*"):
            return e[0] == "raise*"
    return False


def _cancel_release_raise(path: Path) -> Path:
    """A rollback's own error caught by a handler the fix added around it: as if it
    had not raised."""
    for i in range(len(path.events) - 1, -1, -1):
        if path.events[i][0] == "raise*":
            return replace(path, events=path.events[:i] + path.events[i + 1:])
    return path


def _root_name(expr: cst.BaseExpression) -> str | None:
    """The name a receiver chain starts from: `cur` of `cur.execute`, `conn` of
    `conn.cursor().execute` and of `(cur := conn.cursor()).execute`."""
    while True:
        if isinstance(expr, cst.Name):
            return expr.value
        if isinstance(expr, cst.Attribute):
            expr = expr.value
        elif isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, (cst.Subscript, cst.NamedExpr)):
            expr = expr.value
        elif isinstance(expr, cst.Await):
            expr = expr.expression
        else:
            return None


def _method_of(text: str) -> str | None:
    head = text.split("(", 1)[0]
    return head.rsplit(".", 1)[1] if "." in head else None


def _body(node: cst.BaseSuite) -> list[cst.CSTNode]:
    return list(node.body)


def _points(nodes: Iterable[cst.CSTNode]) -> list[cst.CSTNode]:
    """Calls and yields in evaluation order (arguments before the call); nested
    functions and lambdas do not run here."""
    out: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.Lambda | cst.FunctionDef | cst.ClassDef):
            return
        if isinstance(node, cst.Call) and is_savepoint(node):
            out.append(node)  # `conn.cursor().execute("SAVEPOINT s")`: one statement
            return
        for child in children(node):
            visit(child)
        if isinstance(node, cst.Call | cst.Yield):
            out.append(node)

    for n in nodes:
        visit(n)
    return out


#: nodes with a scope of their own inside an expression
_SCOPES = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


def _not_read(parent: cst.CSTNode, child: cst.CSTNode) -> bool:
    """A name under `parent` that is not a read of a variable: an attribute's name,
    a keyword argument's name, the target of `:=`."""
    if isinstance(parent, cst.Attribute):
        return child is parent.attr
    if isinstance(parent, cst.Arg):
        return child is parent.keyword
    if isinstance(parent, cst.NamedExpr):
        return child is parent.target
    return False


def _global_or_walrus(func: cst.FunctionDef) -> set[str]:
    out: set[str] = set()
    stack: list[cst.CSTNode] = list(children(func.body))
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Lambda | cst.FunctionDef | cst.ClassDef):
            continue
        if isinstance(cur, cst.Global | cst.Nonlocal):
            out |= {n.name.value for n in cur.names}
        elif isinstance(cur, cst.NamedExpr):
            out |= _target_names(cur.target)
        stack.extend(children(cur))
    return out


def _release_calls(node: cst.CSTNode, name: str) -> list[cst.Call]:
    return [c for c in _points([node])
            if isinstance(c, cst.Call) and released_name(c) == name]


def _released_in(node: cst.CSTNode) -> set[str]:
    names = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Call):
            name = released_name(cur)
            if name is not None:
                names.add(name)
        stack.extend(children(cur))
    return names


def _params(params: cst.Parameters) -> list[cst.Param]:
    out = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            out.append(star)
    return out


def _target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, cst.Tuple | cst.List):
        out: set[str] = set()
        for el in target.elements:
            out |= _target_names(el.value)
        return out
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


def _import_names(node: cst.Import | cst.ImportFrom) -> set[str]:
    if isinstance(node.names, cst.ImportStar):
        return set()
    out = set()
    for alias in node.names:
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            out.add(alias.asname.name.value)
        else:
            out.add(code_of(alias.name).split(".")[0])
    return out


def _type_names(node: cst.BaseExpression | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, cst.Tuple):
        out: set[str] = set()
        for el in node.elements:
            out |= _type_names(el.value)
        return out
    return {code_of(node).rsplit(".", 1)[-1]}


def _assigned_names(func: cst.FunctionDef) -> set[str]:
    """The function's local names: bound somewhere in its body."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = list(children(func.body))
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Lambda | cst.FunctionDef | cst.ClassDef):
            if not isinstance(cur, cst.Lambda):
                out.add(cur.name.value)
            continue
        if isinstance(cur, cst.AssignTarget | cst.AnnAssign | cst.AugAssign | cst.For):
            out |= _target_names(cur.target)
        elif isinstance(cur, cst.AsName):
            out |= _target_names(cur.name) if isinstance(cur.name, cst.BaseExpression) else set()
        elif isinstance(cur, cst.NamedExpr):
            out |= _target_names(cur.target)
        stack.extend(children(cur))
    return out


def _type_roots(node: cst.BaseExpression | None) -> set[str]:
    """The first name of each handler type: `exc` for `exc.OperationalError`."""
    if node is None:
        return set()
    if isinstance(node, cst.Tuple):
        out: set[str] = set()
        for el in node.elements:
            out |= _type_roots(el.value)
        return out
    return {code_of(node).split(".", 1)[0]}


def _reads(node: cst.CSTNode, name: str) -> bool:
    """Whether `name` occurs in `node` (as a plain name)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Name) and cur.value == name:
            return True
        stack.extend(children(cur))
    return False


def _release_only(node: cst.If, resources: frozenset[str]) -> bool:
    """An `if` whose branches only release (or roll back) connections, or pass."""
    def only(branch: cst.CSTNode | None) -> bool:
        if branch is None:
            return True
        if isinstance(branch, cst.If):
            return False
        body = branch.body if isinstance(branch, cst.Else) else branch
        stmts = list(body.body) if isinstance(body, cst.IndentedBlock | cst.SimpleStatementSuite) \
            else [body]
        for stmt in stmts:
            smalls = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else [stmt]
            for small in smalls:
                if isinstance(small, cst.Pass):
                    continue
                if not isinstance(small, cst.Expr):
                    return False
                call, _ = strip_await(small.value)
                if not isinstance(call, cst.Call):
                    return False
                name = released_name(call) or rolled_back_name(call)
                if name is None or name not in resources:
                    return False
        return True
    return only(node.body) and only(node.orelse)


def _none_test(test: cst.BaseExpression, none: frozenset[str]) -> bool | None:
    """The value of a liveness test (`conn`, `conn is not None`, `not conn`) of a name
    that holds None on this path; None when it is not one."""
    test, _ = strip_await(test)
    if isinstance(test, cst.Name):
        return False if test.value in none else None
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _none_test(test.expression, none)
        return None if inner is None else not inner
    if isinstance(test, cst.BooleanOperation):
        left = _none_test(test.left, none)
        if isinstance(test.operator, cst.And) and left is False:
            return False
        if isinstance(test.operator, cst.Or) and left is True:
            return True
        return None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        sides = {code_of(test.left), code_of(target.comparator)}
        if "None" not in sides or not (sides - {"None"}) <= none or len(sides) != 2:
            return None
        if isinstance(target.operator, cst.Is | cst.Equal):
            return True
        if isinstance(target.operator, cst.IsNot | cst.NotEqual):
            return False
    return None

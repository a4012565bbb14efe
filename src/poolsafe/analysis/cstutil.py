"""Small helpers over libcst nodes."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator

import libcst as cst

_FIELDS: dict[type, tuple[str, ...]] = {}
_SKIP = (cst.BaseParenthesizableWhitespace, cst.Comma, cst.LeftParen, cst.RightParen,
         cst.Semicolon, cst.Colon, cst.Newline, cst.EmptyLine, cst.TrailingWhitespace,
         cst.Dot, cst.AssignEqual, cst.SimpleWhitespace, cst.ParenthesizedWhitespace)
#: per value type: 1 = a child node, 2 = a sequence of values, 0 = neither
_KIND: dict[type, int] = {}
#: the simple statements that leave the block they end (nothing after them runs)
JUMP_STATEMENTS = (cst.Return, cst.Raise, cst.Break, cst.Continue)


def _kind(t: type) -> int:
    k = _KIND.get(t)
    if k is None:
        if issubclass(t, cst.CSTNode):
            k = 0 if issubclass(t, _SKIP) else 1
        elif issubclass(t, (list, tuple)):
            k = 2
        else:
            k = 0
        _KIND[t] = k
    return k


def _node_fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that can hold a child node other than whitespace
    and punctuation, read off the dataclass annotations (`whitespace_before`,
    `lpar`, `comma` never can). A field whose annotation cannot be read is kept."""
    return tuple(f.name for f in dataclasses.fields(cls) if _may_hold_node(f.type))


def _may_hold_node(annotation: object) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, cst.CSTNode) and not issubclass(annotation, _SKIP)
    if annotation is None or typing.get_origin(annotation) is typing.Literal:
        return False
    args = typing.get_args(annotation)
    if not args:  # a string or forward reference: unknown
        return True
    return any(_may_hold_node(a) for a in args)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The child nodes of `node` in field (source) order, without whitespace and
    punctuation. Much cheaper than libcst's `children`, which runs a visitor, and
    than `isinstance` against libcst's abstract base classes."""
    cls = type(node)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = _node_fields(cls)
    out: list[cst.CSTNode] = []
    kinds = _KIND
    for name in names:
        value = getattr(node, name)
        k = kinds.get(type(value))
        if k is None:
            k = _kind(type(value))
        if k == 1:
            out.append(value)
        elif k == 2:
            for v in value:
                kv = kinds.get(type(v))
                if (kv if kv is not None else _kind(type(v))) == 1:
                    out.append(v)
    return out


#: nested scopes, by exact type: `isinstance` against libcst's classes goes through
#: `ABCMeta.__instancecheck__`, several times slower on the hot walks below
_SCOPE_TYPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while type(node) is cst.Attribute:  # exact types (see `_SCOPE_TYPES`)
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def strip_await(node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
    awaited = False
    while type(node) is cst.Await:
        node = node.expression
        awaited = True
    return node, awaited


def chain_links(expr: cst.BaseExpression,
                through_await: bool = False) -> Iterator[cst.BaseExpression]:
    """The links of a chain of calls and attribute reads, from `expr` down to its
    root, both included: `a.b(x).c` gives `a.b(x).c`, `a.b(x)`, `a.b`, `a`. With
    `through_await`, an `await` anywhere in the chain is looked through
    (`(await s.execute(q)).scalars()` down to `s`)."""
    while True:
        if through_await:
            expr = strip_await(expr)[0]
        yield expr
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Attribute):
            expr = expr.value
        else:
            return


def chain_root(expr: cst.BaseExpression) -> cst.BaseExpression:
    """The last of `chain_links(expr)`: `conn` of `conn.cursor().execute`."""
    for link in chain_links(expr):
        expr = link
    return expr


def call_name(call: cst.Call) -> str | None:
    """The last name of a call's callee: `getconn` for `pool.getconn()`."""
    func = call.func
    if type(func) is cst.Attribute:
        return func.attr.value
    if type(func) is cst.Name:
        return func.value
    return None


def final_name(expr: cst.BaseExpression) -> str | None:
    """The last name of a name or attribute: `Annotated` for `typing.Annotated`,
    `login_required` for `auth.login_required`."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def statements_after(node: cst.CSTNode, root: cst.CSTNode,
                     parents: dict[int, cst.CSTNode],
                     barriers: tuple[type[cst.CSTNode], ...]) -> Iterator[cst.BaseStatement]:
    """The statements that follow `node` when it falls through, up to `root`: those
    after it in its block, then those after each enclosing statement in its block;
    none past a node of a `barriers` type (a loop, a def, a `finally`)."""
    while node is not root:
        parent = parents.get(id(node))
        if parent is None or isinstance(parent, barriers):
            return
        if isinstance(parent, (cst.IndentedBlock, cst.Module)):
            body = list(parent.body)
            index = next(i for i, st in enumerate(body) if st is node)
            yield from body[index + 1:]
        node = parent


def iter_calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    """Calls inside `node` in evaluation order (arguments before the call), skipping
    nested function and class bodies and lambdas."""
    stack: list[tuple[cst.CSTNode, bool]] = [(node, False)]
    call_type = cst.Call
    while stack:
        cur, done = stack.pop()
        if done:
            yield cur  # type: ignore[misc]  # pushed as done only when a Call
            continue
        t = type(cur)
        if t in _SCOPE_TYPES and cur is not node:
            continue
        if t is call_type:
            stack.append((cur, True))
        for child in reversed(children(cur)):
            stack.append((child, False))


def iter_nodes(node: cst.CSTNode, *, into_functions: bool = False) -> Iterator[cst.CSTNode]:
    """Every node under `node` (pre-order), by default not entering nested scopes."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        cur = stack.pop()
        yield cur
        if not into_functions and type(cur) in _SCOPE_TYPES and cur is not node:
            continue
        stack.extend(reversed(children(cur)))


def dropped_calls(scope: cst.CSTNode) -> frozenset[int]:
    """id() of the calls under `scope` made as statements of their own (`notify(order)`,
    also awaited): what they return is dropped."""
    return frozenset(id(strip_await(n.value)[0]) for n in iter_nodes(scope)
                     if isinstance(n, cst.Expr))


def preorder_spans(node: cst.CSTNode) -> tuple[list[cst.CSTNode], dict[int, tuple[int, int]]]:
    """The nodes `iter_nodes(node)` yields, in that order, and for each node (by id)
    the range of positions its own subtree takes in that order: `start <= i < end`
    for every node `iter_nodes(that node)` yields; a nested function, class or lambda
    is not entered, so its range holds itself only."""
    nodes: list[cst.CSTNode] = []
    spans: dict[int, tuple[int, int]] = {}
    stack: list[tuple[cst.CSTNode, bool]] = [(node, False)]
    while stack:
        cur, done = stack.pop()
        if done:
            spans[id(cur)] = (spans[id(cur)][0], len(nodes))
            continue
        spans[id(cur)] = (len(nodes), len(nodes))
        nodes.append(cur)
        stack.append((cur, True))
        if type(cur) in _SCOPE_TYPES and cur is not node:
            continue
        stack.extend((child, False) for child in reversed(children(cur)))
    return nodes, spans


def name_leaves(body: cst.CSTNode, name: str) -> bool:
    """The local `name` leaves the code under `body` as a value: returned, yielded or
    stored (`self.conn = conn`, `conns[k] = conn`; an assignment to plain names only
    rebinds). Nested scopes are not entered."""
    for n in iter_nodes(body):
        value: cst.BaseExpression | None = None
        if isinstance(n, cst.Return | cst.Yield):
            value = n.value if isinstance(n.value, cst.BaseExpression) else None
        elif isinstance(n, cst.Assign) and not all(
                isinstance(t.target, cst.Name) for t in n.targets):
            value = n.value
        if isinstance(value, cst.Name) and value.value == name:
            return True
    return False


def loop_own_nodes(body: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes of a loop body outside the loops, functions and classes nested in it
    (their `break` and `continue` are theirs)."""
    out: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        out.append(node)
        if node is not body and isinstance(node, (cst.For, cst.While, cst.FunctionDef,
                                                  cst.ClassDef)):
            continue
        stack.extend(node.children)
    return out


def names_in(node: cst.CSTNode) -> set[str]:
    """Every plain name read anywhere under `node`, nested scopes included."""
    return {n.value for n in iter_nodes(node, into_functions=True) if isinstance(n, cst.Name)}


def binding_targets(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The targets `node` itself binds, unpacked by nobody: an assignment's (plain,
    augmented, annotated), a `for` loop's, a walrus's, an `as`'s (`with`, `except`,
    `import`); none for any other node."""
    if isinstance(node, cst.Assign):
        return [t.target for t in node.targets]
    if isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For)):
        return [node.target]
    if isinstance(node, cst.AsName):
        return [node.name]
    return []


def bound_names_of(node: cst.CSTNode) -> set[str]:
    """The plain names `node` itself binds (not the nodes under it), its targets
    unpacked through tuples, lists and stars."""
    out: set[str] = set()
    targets = binding_targets(node)
    while targets:
        target = targets.pop()
        if isinstance(target, cst.Name):
            out.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            targets.extend(e.value for e in target.elements)
        elif isinstance(target, cst.StarredElement):
            targets.append(target.value)
    return out


def bound_names(node: cst.CSTNode) -> set[str]:
    """The plain names that code under `node` binds in its own scope: targets of
    assignments (plain, augmented, annotated), `for` loops, walruses and every `as`
    (`with`, `except`, `import`), unpacked through tuples, lists and stars; an
    attribute or subscript target (`self.conn = ...`) binds no name, nor does a
    comprehension's own loop. Nested functions, lambdas and classes are not entered."""
    bound: set[str] = set()
    for inner in iter_nodes(node):
        bound |= bound_names_of(inner)
    return bound


def positional_args(call: cst.Call) -> list[cst.BaseExpression]:
    return [a.value for a in call.args if a.keyword is None and not a.star]


def argument_for(call: cst.Call, name: str, position: int | None) -> cst.BaseExpression | None:
    """What `call` passes for the parameter `name` (at `position` among the positional
    parameters a caller sees), or None (not passed, or behind `*args`/`**kwargs`)."""
    for i, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is not None:
            if arg.keyword.value == name:
                return arg.value
        elif i == position:
            return arg.value
    return None


def keyword_arg(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a.value
    return None


def is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def subscript_key(target: cst.Subscript) -> str | None:
    """The string key of `d["key"]` (None for any other subscript)."""
    if len(target.slice) != 1:
        return None
    sl = target.slice[0].slice
    return string_value(sl.value) if isinstance(sl, cst.Index) else None


def string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:
            return None
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left = string_value(node.left)
        right = string_value(node.right)
        return None if left is None or right is None else left + right
    return None


def getattr_literal(node: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
    """(`obj`, `"name"`) for `getattr(obj, "name")`, a default allowed after them
    (positional arguments only): the attribute a literal name picks, as certain as
    `obj.name`. None for anything else (a name held in a variable included)."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value == "getattr" and len(node.args) in (2, 3)
            and all(a.keyword is None and not a.star for a in node.args)):
        return None
    name = string_value(node.args[1].value)
    return None if name is None else (node.args[0].value, name)


def body_statements(body: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return []

"""Small evaluators for the values deployment files hold: `${VAR:-default}` in
compose files and command lines, and the module-level settings of a Python
configuration file (`gunicorn.conf.py`) read with `ast`.

A value is a `Count`: a number, or unknown with the reason, and always where it
came from, so the report can show it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

#: the value used in the arithmetic for an unknown count (the result is then a
#: lower bound, shown as such)
ASSUMED_UNKNOWN = 1


@dataclass(frozen=True)
class Count:
    value: int | None
    #: where the value comes from, or why it is not known
    source: str

    @property
    def known(self) -> bool:
        return self.value is not None

    @property
    def used(self) -> int:
        return self.value if self.value is not None else ASSUMED_UNKNOWN


def known(value: int, source: str) -> Count:
    return Count(value, source)


def unknown(reason: str) -> Count:
    return Count(None, reason)


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_]"
                  r"[A-Za-z0-9_]*)")


def interpolate(text: str, env: Mapping[str, str]) -> str | None:
    """`${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$VAR` replaced from `env`
    (compose's and the shell's rules); None when a variable is unset without a
    default."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, default = m.group(2), m.group(3)
        value = env.get(name)
        if op in (":-",) and not value:
            return default or ""
        if op == "-" and value is None:
            return default or ""
        if op in (":+", "+"):
            return (default or "") if value else ""
        if op in (":?", "?"):
            return value or ""  # compose fails when it is unset; the value is unknown
        if value is None:
            missing = True
            return ""
        return value

    out = _VAR.sub(sub, text)
    return None if missing else out


def parse_int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip().strip("'\"")
    if text.lstrip("-").isdigit() and len(text) < 10:
        return int(text)
    return None


# ------------------------------------------------------- Python configuration
_ENV_CALLS = {"os.getenv", "os.environ.get", "getenv", "environ.get"}
_CPU_CALLS = {"multiprocessing.cpu_count", "os.cpu_count", "cpu_count"}


def python_settings(text: str, names: tuple[str, ...], env: Mapping[str, str],
                    path: str) -> dict[str, Count]:
    """The module-level assignments of `names` in a Python configuration file."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    scope: dict[str, ast.expr] = {}
    out: dict[str, Count] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            targets = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            value = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                and stmt.value is not None:
            targets, value = [stmt.target.id], stmt.value
        else:
            continue
        for name in targets:
            scope[name] = value
            if name in names:
                try:
                    where = f"{path}:{stmt.lineno} `{ast.unparse(stmt)[:80]}`"
                    n, why = _evaluate(value, scope, env, 0)
                except (RecursionError, MemoryError, ValueError):
                    where, n, why = f"{path}:{stmt.lineno}", None, "too deeply nested"
                out[name] = known(n, where) if n is not None else unknown(f"{where}: {why}")
    return out


def _evaluate(node: ast.expr, scope: Mapping[str, ast.expr], env: Mapping[str, str],
              depth: int) -> tuple[int | None, str]:
    if depth > 20:
        return None, "too deep"
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            return None, "not a number"
        if isinstance(node.value, int):
            return node.value, ""
        if isinstance(node.value, str):
            n = parse_int(node.value)
            return (n, "") if n is not None else (None, f"{node.value!r} is not a number")
        return None, "not a number"
    if isinstance(node, ast.Name):
        if node.id in scope and scope[node.id] is not node:
            return _evaluate(scope[node.id], scope, env, depth + 1)
        return None, f"`{node.id}` is not known"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult, ast.Sub)):
        left, lwhy = _evaluate(node.left, scope, env, depth + 1)
        right, rwhy = _evaluate(node.right, scope, env, depth + 1)
        if left is None or right is None:
            return None, lwhy or rwhy
        if isinstance(node.op, ast.Add):
            return left + right, ""
        if isinstance(node.op, ast.Sub):
            return left - right, ""
        return left * right, ""
    if isinstance(node, ast.Subscript) and _dotted(node.value) in {"os.environ", "environ"}:
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return _env_int(key.value, None, scope, env, depth)
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        if name == "int" and node.args:
            return _evaluate(node.args[0], scope, env, depth + 1)
        if name in _CPU_CALLS:
            return None, "depends on the CPU count of the host"
        if name in _ENV_CALLS and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            default = node.args[1] if len(node.args) > 1 else None
            return _env_int(node.args[0].value, default, scope, env, depth)
    return None, "not a constant"


def _env_int(name: str, default: ast.expr | None, scope: Mapping[str, ast.expr],
             env: Mapping[str, str], depth: int) -> tuple[int | None, str]:
    if name in env:
        n = parse_int(env[name])
        return (n, "") if n is not None else (None, f"${name}={env[name]!r} is not a number")
    if default is None:
        return None, f"${name} is not set in the repository"
    return _evaluate(default, scope, env, depth + 1)


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""

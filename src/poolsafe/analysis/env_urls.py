"""The dialect of a database URL read from the environment (`os.environ["DATABASE_URL"]`,
`os.getenv("DATABASE_URL")` with no default): the value the project's `.env` files
give that variable, when every environment agrees on its scheme.

PS203 and PS211 judge an engine by its URL's scheme; a URL that only the environment
holds is judged by what the repository itself sets it to, with the file named as the
evidence.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import keyword_arg, positional_args, string_value, strip_await
from poolsafe.analysis.deploy_files import project_files
from poolsafe.analysis.environments import environments
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import dialect_of, external_name, qual_match, resolve
from poolsafe.knowledge.frameworks import ENV_LOOKUPS


def environment_key(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                    func: FunctionInfo | None) -> str | None:
    """`X` of `os.environ["X"]`, or of `os.getenv("X")` / `os.environ.get("X")` with no
    default (a default gives the scheme itself)."""
    b = resolve(index, expr, module, func)
    node = strip_await(b.expr)[0]
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        owner = external_name(index, node.value, b.module, b.func)
        sl = node.slice[0].slice
        if owner == "os.environ" and isinstance(sl, cst.Index):
            return string_value(sl.value)
    if isinstance(node, cst.Call):
        qual = external_name(index, node.func, b.module, b.func)
        args = positional_args(node)
        if qual is not None and qual_match(qual, ENV_LOOKUPS) and args and len(args) == 1 \
                and keyword_arg(node, "default") is None:
            return string_value(args[0])
    return None


def environment_dialect(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                        func: FunctionInfo | None) -> tuple[str, str] | None:
    """(dialect, evidence) when the `.env` files set the variable `expr` reads to a URL
    of one scheme in every environment that sets it."""
    key = environment_key(index, expr, module, func)
    if key is None:
        return None
    found: dict[str, str] = {}
    for env in environments(project_files(index, module)):
        value = env.values.get(key)
        dialect = dialect_of(value) if value else None
        if value and dialect is None:
            return None  # set to something that is not a URL: nothing certain
        if dialect is not None:
            found.setdefault(dialect, f"{key} in {', '.join(env.sources) or '.env'}")
    if len(found) != 1:
        return None
    [(dialect, evidence)] = found.items()
    return dialect, evidence

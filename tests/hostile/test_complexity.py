"""The parse budget's measure (`poolsafe.core.complexity`): deep chains of every
shape libcst nests are refused before the parse; the shapes of real code, however
large, are not (a refused file is a file nobody checks)."""

from __future__ import annotations

import sysconfig
import time
from pathlib import Path

import pytest

from poolsafe.core.complexity import (
    MAX_OPERANDS,
    link_bound,
    longest_chain,
    parse_hazard,
    parse_refusal,
)

N = MAX_OPERANDS + 500

DEEP: dict[str, str] = {
    "sum": "y = " + " + ".join(["x"] * N) + "\n",
    "sum over lines": "y = (\n" + " +\n".join(["    x"] * N) + "\n)\n",
    "product": "y = " + " * ".join(["x"] * N) + "\n",
    "power": "y = " + " ** ".join(["x"] * N) + "\n",
    "bitwise or": "y = " + " | ".join(["x"] * N) + "\n",
    "and": "y = " + " and ".join(["x"] * N) + "\n",
    "or": "y = " + " or ".join(["x"] * N) + "\n",
    "not": "y = " + "not " * N + "x\n",
    "unary minus": "y = " + "-" * N + "x\n",
    "invert": "y = " + "~" * N + "x\n",
    "attributes": "y = x" + ".a" * N + "\n",
    "calls": "y = f" + "()" * N + "\n",
    "calls with spaces": "y = f" + " (1)" * N + "\n",
    "subscripts": "y = x" + "[0]" * N + "\n",
    "lambdas": "y = " + "lambda: " * N + "x\n",
    "lambdas with parameters": "y = " + "lambda a, b=1: " * N + "x\n",
    "conditional expressions": "y = " + "x if c else " * N + "x\n",
    "sum in a call": "f(1, " + " + ".join(["x"] * N) + ")\n",
    "sums in nested calls": "y = " + " + ".join(["x"] * (N // 2)) + " + f("
                            + " + ".join(["x"] * (N // 2)) + ")\n",
}

#: shapes of real code: large, shallow
SHALLOW: dict[str, str] = {
    "data table": "T = [" + ", ".join(f"(-{i}.5, 'k{i}', f(a.b))" for i in range(20_000)) + "]\n",
    "dict table": "D = {" + ", ".join(f"'k{i}': -{i}" for i in range(20_000)) + "}\n",
    "comparisons": "y = " + " < ".join(["x"] * N) + "\n",
    "string concatenation": "y = (" + " ".join(["'a + b.c'"] * N) + ")\n",
    "operators in a docstring": '"""' + "a + b. " * N + '"""\n',
    "operators in comments": "".join(f"# a + b + c {i}\n" for i in range(N)),
    "many statements": "".join(f"y{i} = a.b(c) + d[e] - -f\n" for i in range(20_000)),
    "formula of products": "y = " + " + ".join(f"{i}*a**2*b*c" for i in range(500)) + "\n",
    "method chains": "".join("q = s.query(A).filter(B).join(C).order_by(D).limit(1)\n"
                             for _ in range(5_000)),
}


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_a_deep_chain_is_refused_with_its_line(shape: str) -> None:
    text = "import os\n\n" + DEEP[shape]
    start = time.perf_counter()
    message = parse_refusal(text)
    assert time.perf_counter() - start < 1.0
    assert message is not None
    assert message.startswith("skipped: expression too deeply nested for the parser")
    # the line the chain begins on (inside the bracket, for the one over lines)
    assert f"at line {4 if shape == 'sum over lines' else 3}" in message
    assert longest_chain(text).links >= MAX_OPERANDS


@pytest.mark.parametrize("shape", sorted(SHALLOW))
def test_real_shapes_are_not_refused(shape: str) -> None:
    assert parse_refusal(SHALLOW[shape]) is None, longest_chain(SHALLOW[shape])


def test_the_operands_are_counted_exactly() -> None:
    assert longest_chain("y = " + " + ".join(["x"] * 1200) + "\n").links == 1199
    # precedence: a sum of 300 three-factor products is 300 + 2 levels deep
    formula = "y = " + " + ".join(["a*b*c"] * 300) + "\n"
    assert longest_chain(formula).links == 299 + 2


def test_a_chain_just_under_the_limit_is_parsed() -> None:
    text = "y = " + " + ".join(["x"] * MAX_OPERANDS) + "\n"
    assert parse_hazard(text) is None
    text = "y = " + " + ".join(["x"] * (MAX_OPERANDS + 1)) + "\n"
    assert parse_hazard(text) is not None


def test_many_long_chains_are_refused_as_too_much_work() -> None:
    text = ("y = " + " + ".join(["x"] * 900) + "\n") * 30
    message = parse_hazard(text)
    assert message is not None and "too many long expression chains" in message
    assert parse_hazard(("y = " + " + ".join(["x"] * 900) + "\n") * 5) is None


def test_a_file_with_few_links_is_not_scanned() -> None:
    assert link_bound("x = 1\n" * 10_000) == 0


def test_nul_and_brackets_are_refused_first() -> None:
    assert parse_refusal("x = 1\0\n") == "cannot parse: the file contains a NUL byte"
    message = parse_refusal("x = " + "(" * 300 + "1" + ")" * 300 + "\n")
    assert message is not None and "300 levels deep" in message


def test_subscripts_weigh_more_in_the_work() -> None:
    """999 nested subscripts take libcst eight times as long as a `+` chain: seven
    such chains are too much work, twenty `+` chains are not."""
    subscripts = "y = x" + "[0]" * 999 + "\n"
    assert parse_hazard(subscripts) is None
    message = parse_hazard(subscripts * 7)
    assert message is not None and "too many long expression chains" in message
    assert parse_hazard(("y = " + " + ".join(["x"] * 1000) + "\n") * 20) is None


def test_no_module_of_the_standard_library_is_refused() -> None:
    """Real code, every module of the running Python's standard library (1,786 on
    3.11; their deepest chain is far below the limit): a refused file is a file
    nobody checks."""
    root = Path(sysconfig.get_paths()["stdlib"])
    refused = []
    checked = 0
    for path in root.rglob("*.py"):
        if "site-packages" in path.parts:
            continue
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        checked += 1
        if parse_hazard(text) is not None:
            refused.append(path)
    assert checked > 500
    assert refused == []

"""How hard a module is for libcst's parser, measured before it is asked to parse it.

libcst's native parser nests one node per link of an expression chain (`x + x + x`,
`a.b.c`, `f()()()`, `x[0][0]`, `- - x`, `not not x`, `a and b and c`, `lambda: lambda:
x`, `a if b else c if d else e`, `a ** b ** c`), and its time and memory grow faster
than the square of the chain's length. Measured with libcst 1.9 (one chain alone in a
module, `libcst.parse_module` in a fresh interpreter; wall seconds on the shared
2-core machine, some 1 to 3 times the CPU seconds):

| links | `+` chain | `x[0]...` | `lambda:` | `not` | unary `-` | `and` |
|---|---|---|---|---|---|---|
| 1,000 | 0.15 s | 1.6 s | 0.4 s, 211 MB | 0.1 s, 78 MB | 0.1 s, 79 MB | |
| 2,000 | 1.0 s | | | 0.65 s, 240 MB | 0.67 s, 242 MB | 0.08 s |
| 4,000 | 6.5 s | | | | 2.5 s, 889 MB | |
| 8,000 | SIGSEGV | | | 12 s, 3.4 GB | 17 s, 3.4 GB | SIGSEGV at once |

A crash in native code takes the whole process with it, and neither a signal nor a
timer can interrupt the parser, so such a file is refused before the parse, with the
line of its deepest chain: one error line, and the other files are checked.

Real code stays far below `MAX_OPERANDS`: over 16,819 modules (212 MB: CPython 3.11's
standard library and the packages installed beside it and in this project's
virtualenv, sympy, numpy, scipy, SQLAlchemy, moto and libcst among them) the deepest
chain has 562 operands (sympy's generated `resolvent_lookup.py`, which libcst parses
in 3.7 s), the next 226 (sympy), then 167; outside sympy none has more than 84 (pip's
generated `uts46data.py`). The most work (below) is sympy's `bench_solvers.py`
(446 kB) at 4.5 million.

The scan is one regular expression over the text: it skips names, numbers, strings
and comments, and counts, per bracket level, the links since the last separator
(`,` `;` `:` `=`, `for`, `in`, a new statement), so a data table of a million
`-1,` entries is one link per entry. An operator of a looser class ends the chains of
the tighter ones (`a*b + c*d` is one sum of two products: two levels, not four), and
the levels of enclosing brackets add up. Comparisons (`a < b < c`) are one flat node
in libcst and count once. It runs at some 3 MB/s, some 5% of libcst's parse of the
same file, and only on a file with more than `MAX_OPERANDS` characters or keywords
that can be links at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from poolsafe.core.source import MAX_BRACKET_DEPTH, NUL_MESSAGE, bracket_depth

#: the most operands one expression chain may have (the deepest tree libcst is given:
#: 1,000 levels parse in 0.1 to 1.6 s; 8,000 crash it); a deeper one refuses the file
MAX_OPERANDS = 1_000
MAX_CHAIN = MAX_OPERANDS - 1  # (in links: `a + b` is one link)

#: the most chain work (the sum of the squares of the cost of the chains of
#: `COUNTED_CHAIN` or more) one file may have: twenty `+` chains of the deepest
#: allowed, some 4 s of CPU (0.21 s each; calls 0.36 s, lambdas 0.4 s); four times
#: the most of the real code measured
MAX_WORK = 20 * MAX_CHAIN * MAX_CHAIN
COUNTED_CHAIN = 100
#: what a subscript costs in a chain's work, where any other link costs 1: 999
#: nested subscripts take libcst 1.66 s of CPU, eight times a `+` chain, and the cost
#: grows with the square
SUBSCRIPT_COST = 3

#: a link's class: the operators of one class chain at one level of libcst's tree,
#: and an operator of a looser class ends the chains of the tighter ones (`a*b + c*d`
#: is a chain of two sums of two-factor products, not of four links)
_CLASS = {
    "lambda": 0, "else": 1, "or": 2, "and": 3, "not": 4,
    "|": 6, "^": 7, "&": 8, "<<": 9, ">>": 9, "+": 10, "-": 10,
    "*": 11, "/": 11, "//": 11, "%": 11, "@": 11, "~": 12, "**": 13, "await": 14,
    ".": 15,
}
#: comparisons are one flat node in libcst: they end the tighter chains, and count once
_COMPARISON = 5
#: a call or a subscript (an attribute is `.`)
_TRAILER = 15
assert (SUBSCRIPT_COST * MAX_CHAIN) ** 2 <= MAX_WORK  # (see `link_bound`)

_KEYWORDS = r"(?:and|or|not|else|await|lambda|for|in|return|yield|import|assert|del|raise|is|if)"

# Each match first consumes the text of no interest before its token (spaces, and
# names and numbers that are no keyword), so that the engine does not start a new
# search at every character of a name; `other` takes any character left (`$`, `?`,
# a letter outside ASCII), so a match never fails and nothing is searched twice.
_TOKEN = re.compile(
    r"""
    (?:[ \t]+|(?!KEYWORD\b)\w+)*
    (?:
      (?P<string>(?:'\'\'[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*(?:'\'\'|\Z)
                  |\"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*(?:\"\"\"|\Z)
                  |'[^'\\\n]*(?:\\.[^'\\\n]*)*(?:'|$)
                  |"[^"\\\n]*(?:\\.[^"\\\n]*)*(?:"|$)))
    | (?P<comment>\#[^\n]*)
    | (?P<continuation>\\\r?\n)
    | (?P<open>[(\[{])
    | (?P<close>[)\]}])
    | (?P<newline>\n)
    | (?P<lambda>lambda\b)
    | (?P<colon>:(?!=))
    | (?P<comma>,)
    | (?P<separator>(?:\*\*|//|>>|<<|[-+*/%@&|^:<>!=])?=(?!=)|;|->
                    |(?:for|in|return|yield|import|assert|del|raise)\b)
    | (?P<comparison><|>|(?:is|if)\b)
    | (?P<link>\*\*|//|<<|>>|[-+*/%@&|^~.]|(?:and|or|not|else|await)\b)
    | (?P<other>.)
    )
    """.replace("KEYWORD", _KEYWORDS),
    re.VERBOSE | re.MULTILINE | re.DOTALL,
)
#: what can be a link, counted with `str.count` (a keyword may be part of a name:
#: the count is an upper bound)
_LINK_TEXTS = ("-", "+", "*", "/", "%", "@", "&", "|", "^", "~", ".", "(", "[",
               "and", "or", "not", "lambda", "else", "await")


@dataclass(frozen=True)
class Chain:
    """The deepest expression chain of a module: its links and the line it begins
    on; and the work of all its long chains."""

    links: int
    line: int
    work: int


def link_bound(text: str) -> int:
    """An upper bound of the links of `text`. A file with no more than `MAX_CHAIN`
    needs no scan: no chain of it is deeper, and its work is at most the square of
    `SUBSCRIPT_COST * MAX_CHAIN`, under `MAX_WORK`."""
    return sum(map(text.count, _LINK_TEXTS))


def longest_chain(text: str) -> Chain:
    """The deepest chain of `text` (see the module's documentation), and the work of
    all its long chains."""
    scan = _Scan()
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "link":
            scan.link(_CLASS[m.group(kind)])
        elif kind == "newline":
            scan.line += 1
            if len(scan.levels) == 1:  # the end of a statement
                scan.separate()
                scan.lambdas[0] = 0
        elif kind == "open":
            if _follows_operand(text, m.start(kind)):  # a call or a subscript: a level
                scan.link(_TRAILER, cost=SUBSCRIPT_COST if m.group(kind) == "[" else 1)
            scan.open()
        elif kind == "close":
            scan.close()
        elif kind == "comma" or kind == "colon":
            if scan.lambdas[-1] == 0:
                scan.separate()
            elif kind == "colon":
                scan.lambdas[-1] -= 1  # a lambda's colon: its body goes on the chain
        elif kind == "separator":
            if scan.lambdas[-1] == 0 or m.group(kind) != "=":  # (not a parameter's default)
                scan.separate()
        elif kind == "string":
            scan.line += m.group(kind).count("\n")
        elif kind == "comparison":
            scan.link(_COMPARISON, once=True)
        elif kind == "lambda":
            scan.link(_CLASS["lambda"])
            scan.lambdas[-1] += 1
        elif kind == "continuation":
            scan.line += 1
    while len(scan.levels) > 1:
        scan.close()
    scan.separate()
    return Chain(scan.best, scan.best_line, scan.work)


class _Level:
    """The chains open at one bracket level: [class, links, cost] from the loosest
    class to the tightest, their links and cost in all, the most cost they had, and
    the line they began."""

    __slots__ = ("chains", "cost", "line", "links", "peak")

    def __init__(self, line: int) -> None:
        self.chains: list[list[int]] = []
        self.links = self.cost = self.peak = 0
        self.line = line


class _Scan:
    """The chains being counted, one `_Level` per open bracket; the depth of the
    tree at a point is the links of every level together."""

    def __init__(self) -> None:
        self.levels = [_Level(1)]
        self.lambdas = [0]  # lambdas whose colon is still to come, per bracket level
        self.depth = 0
        self.best = self.best_line = self.work = 0
        self.line = 1

    def link(self, cls: int, once: bool = False, cost: int = 1) -> None:
        level = self.levels[-1]
        chains = level.chains
        if not chains:
            level.line = self.line
        while chains and chains[-1][0] > cls:  # tighter chains end: one operand now
            _, ended, ended_cost = chains.pop()
            level.links -= ended
            level.cost -= ended_cost
            self.depth -= ended
        if chains and chains[-1][0] == cls:
            if once:
                return
            chains[-1][1] += 1
            chains[-1][2] += cost
        else:
            chains.append([cls, 1, cost])
        level.links += 1
        level.cost += cost
        self.depth += 1
        level.peak = max(level.peak, level.cost)
        if self.depth > self.best:
            self.best, self.best_line = self.depth, level.line

    def open(self) -> None:
        self.levels.append(_Level(self.line))
        self.lambdas.append(0)

    def close(self) -> None:
        if len(self.levels) > 1:  # (a stray closing bracket: a syntax error, reported)
            self.separate()
            self.levels.pop()
            self.lambdas.pop()

    def separate(self) -> None:
        level = self.levels[-1]
        self.work += _ended(level.peak)
        self.depth -= level.links
        level.chains.clear()
        level.links = level.cost = level.peak = 0


def _follows_operand(text: str, at: int) -> bool:
    """Whether the bracket at `at` follows an operand (a name, a number, a string, a
    closing bracket), so that it calls or subscripts it. A keyword (`if (`) counts
    too: one link more than the tree has."""
    at -= 1
    while at >= 0 and text[at] in " \t":
        at -= 1
    return at >= 0 and (text[at].isalnum() or text[at] in "_)]}'\"")


def _ended(links: int) -> int:
    return links * links if links >= COUNTED_CHAIN else 0


def parse_hazard(text: str) -> str | None:
    """Why libcst must not be asked to parse `text` (the error for the user), or None."""
    if link_bound(text) <= MAX_CHAIN:
        return None
    chain = longest_chain(text)
    if chain.links > MAX_CHAIN:
        return (f"skipped: expression too deeply nested for the parser ({chain.links + 1:,} "
                f"operands in one chain at line {chain.line}; at most {MAX_OPERANDS:,})")
    if chain.work > MAX_WORK:
        return (f"skipped: too many long expression chains for the parser (the longest: "
                f"{chain.links + 1:,} operands at line {chain.line})")
    return None


def parse_refusal(text: str) -> str | None:
    """Why `text` is not given to libcst at all (the error for the user), or None:
    a NUL byte, brackets nested deeper than Python allows, a chain too deep."""
    if "\0" in text:
        return NUL_MESSAGE
    depth = bracket_depth(text)
    if depth > MAX_BRACKET_DEPTH:
        return (f"cannot parse: brackets nested {depth} levels deep (too deeply nested; "
                f"Python allows {MAX_BRACKET_DEPTH})")
    return parse_hazard(text)

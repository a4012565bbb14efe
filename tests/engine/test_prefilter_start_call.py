"""The prefilter's test for a file that may start an APScheduler scheduler (a `start(`
call beside a scheduler word) ran in exponential time on a `start` word followed by
comment lines of `#` banners: `(?:[\\s)\\\\]|\\#[^\\r\\n]*)*` could end a comment at any of
its own `#`s (fix53: `poolsafe check` did not finish on a public Django project whose
checker module has "possible start" before such a block). The pattern now takes that
run once (an atomic lookahead) and matches the same text."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

import pytest

from poolsafe.scan.prefilter import _START_CALL

#: the pattern before fix53, for the equivalence check on short texts (fast there)
_BEFORE = re.compile(rb"\bstart(?:[\s)\\]|\#[^\r\n]*)*\(")


def test_a_start_word_before_comment_banners_ends() -> None:
    """Forty banners after the word: the old pattern would not end in hours (each
    banner doubles its work). Run in a child process that is killed after a minute,
    so that a pattern that backtracks again fails here instead of hanging the run
    (a bound on termination, not a speed target: the new pattern takes
    milliseconds)."""
    script = (
        "from poolsafe.scan.prefilter import _scheduler_start_files\n"
        "banner = b'#' * 30 + b'\\n# SECTION # one # two #\\n' + b'#' * 30 + b'\\n'\n"
        "data = b'# the possible start\\n' + banner * 40 + b'import scheduler\\nx = 1\\n'\n"
        "assert _scheduler_start_files([data]) == []\n")
    try:
        done = subprocess.run([sys.executable, "-c", script], timeout=60,
                              capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        pytest.fail("the start-call pattern did not end within a minute on 40 banners")
    assert done.returncode == 0, done.stderr


def test_the_calls_it_matched_still_match() -> None:
    for text in (b"scheduler.start()", b"get_scheduler().start ()",
                 b"scheduler.start \\\n    ()", b"scheduler.start  # go\n    ()",
                 b"scheduler.start # a ( comment\n", b"scheduler.start)\n(",
                 b"sched.start\r\n# one\r\n## two ##\r\n("):
        assert _BEFORE.search(text) and _START_CALL.search(text), text
    for text in (b"start_times = 3", b"# start with a letter", b"restart()",
                 b"scheduler.start\n x = (1)", b"scheduler.start # no call\nrun()"):
        assert not _BEFORE.search(text) and not _START_CALL.search(text), text


def test_same_matches_as_before_on_every_short_text() -> None:
    alphabet = (b" ", b"\n", b"#", b"(", b")", b"\\", b"x")
    for size in range(7):
        for parts in itertools.product(alphabet, repeat=size):
            text = b"start" + b"".join(parts)
            assert bool(_BEFORE.search(text)) == bool(_START_CALL.search(text)), text

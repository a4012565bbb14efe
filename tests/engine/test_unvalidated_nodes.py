"""A scan's checks build libcst nodes without validating them (`unvalidated_nodes`):
validation is back on afterwards, even after an error, and a scope inside another
leaves the outer one as it was."""

from __future__ import annotations

import libcst as cst
import pytest

from poolsafe.scan.checking import unvalidated_nodes
from poolsafe.scan.engine import ScanOptions, scan


def _invalid_node_raises() -> bool:
    try:
        cst.Name("not a name")
    except cst.CSTValidationError:
        return True
    return False


def test_validation_is_off_inside_and_back_after() -> None:
    assert _invalid_node_raises()
    with unvalidated_nodes():
        assert not _invalid_node_raises()
        with unvalidated_nodes():
            assert not _invalid_node_raises()
        assert not _invalid_node_raises()  # the inner scope restores the outer's state
    assert _invalid_node_raises()


def test_validation_is_back_after_an_error() -> None:
    with pytest.raises(RuntimeError), unvalidated_nodes():
        raise RuntimeError("boom")
    assert _invalid_node_raises()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_scan_leaves_validation_on(tmp_path: object, jobs: int) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "pyproject.toml").write_text("")
    for i in range(4):
        (root / f"m{i}.py").write_text(
            "from psycopg2.pool import ThreadedConnectionPool\n"
            "POOL = ThreadedConnectionPool(1, 5)\n\n"
            "def f():\n    conn = POOL.getconn()\n    conn.cursor().execute('x')\n"
            "    POOL.putconn(conn)\n" + "# padding\n" * 3000)
    result = scan([str(root)], ScanOptions(jobs=jobs))
    assert {f.code for f in result.findings} == {"PS102"}
    assert _invalid_node_raises()

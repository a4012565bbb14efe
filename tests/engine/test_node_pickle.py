"""The snapshots' format (`scan.node_pickle`): libcst nodes pickled as calls of a
maker per class, loaded without `__setstate__`."""

from __future__ import annotations

import hmac
import pickle
import subprocess
import sys
import zlib
from pathlib import Path

import libcst as cst
import pytest
from test_snapshots import USER, WRAPPER  # (a wrapper whose module an edit loads)

from poolsafe.scan import node_pickle
from poolsafe.scan.cache import CACHE_DIR_NAME
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.snapshots import SUFFIX, SnapshotStore, _unpickled, user_key

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "fixtures").rglob("*.py")) + sorted(
    (ROOT / "src" / "poolsafe" / "rules" / "cases").glob("ps*.py"))


def _nodes(tree: cst.CSTNode) -> list[cst.CSTNode]:
    out = [tree]
    for child in tree.children:
        out.extend(_nodes(child))
    return out


def _same(a: cst.CSTNode, b: cst.CSTNode) -> None:
    """Equal node by node: the same class and the same value in every field."""
    left, right = _nodes(a), _nodes(b)
    assert len(left) == len(right)
    for x, y in zip(left, right, strict=True):
        assert type(x) is type(y)
        assert x.__getstate__().keys() == y.__getstate__().keys()  # type: ignore[attr-defined]
    assert a.deep_equals(b)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_tree_comes_back_equal_to_libcst_s_own_pickle(path: Path) -> None:
    source = path.read_text()
    tree = cst.parse_module(source)
    ours = pickle.loads(node_pickle.dumps(tree))
    theirs = pickle.loads(pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))
    _same(ours, theirs)
    _same(ours, tree)
    assert ours.code == source


def test_a_fresh_process_finds_the_makers_by_name(tmp_path: Path) -> None:
    source = (ROOT / "fixtures").rglob("*.py").__next__().read_text()
    blob = tmp_path / "tree.pickle"
    blob.write_bytes(node_pickle.dumps(cst.parse_module(source)))
    code = ("import pickle, sys; t = pickle.loads(open(sys.argv[1], 'rb').read()); "
            "sys.stdout.write(t.code)")
    out = subprocess.run([sys.executable, "-c", code, str(blob)], capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(ROOT / "src")})
    assert out.stdout == source


def test_a_maker_of_another_layout_is_not_found() -> None:
    body = node_pickle.dumps(cst.parse_module("x = 1\n"))
    known = [k for k in vars(node_pickle._Makers) if k.startswith("n")]
    forged = body.replace(known[0].encode(), b"n" + b"0" * (len(known[0]) - 1))
    assert forged != body
    assert _unpickled(zlib.compress(forged, 1)) is None




def _snapshot_run(tmp_path: Path) -> tuple[Path, ScanOptions]:
    (tmp_path / "db.py").write_text(WRAPPER)
    (tmp_path / "user.py").write_text(USER)
    opts = ScanOptions(cache_dir=tmp_path / CACHE_DIR_NAME)
    scan(["."], opts)
    (tmp_path / "user.py").write_text(USER + "\n")
    scan(["user.py"], opts)
    (snapshot,) = (tmp_path / CACHE_DIR_NAME / "modules").glob(f"*{SUFFIX}")
    return snapshot, opts


def test_a_snapshot_round_trips_and_a_content_change_misses_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _snapshot_run(tmp_path)
    store = SnapshotStore(tmp_path / CACHE_DIR_NAME, write=False)
    data = (tmp_path / "db.py").read_bytes()
    loaded = store.load("db.py", tmp_path / "db.py", Path("db.py"), data)
    assert loaded is not None
    _same(loaded.tree, cst.parse_module(WRAPPER))
    assert [f.name for f in loaded.all_functions] == ["get_conn", "put_conn"]
    assert store.load("db.py", tmp_path / "db.py", Path("db.py"), data + b"\n") is None


def test_a_corrupt_snapshot_is_ignored(tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    snapshot, opts = _snapshot_run(tmp_path)
    key = user_key()
    assert key is not None
    body = snapshot.read_bytes()[32:]
    broken = zlib.compress(zlib.decompress(body)[:-7], 1)  # signed, but cut short
    snapshot.write_bytes(hmac.new(key, broken, "sha256").digest() + broken)
    store = SnapshotStore(tmp_path / CACHE_DIR_NAME, write=False)
    data = (tmp_path / "db.py").read_bytes()
    assert store.load("db.py", tmp_path / "db.py", Path("db.py"), data) is None
    (tmp_path / "user.py").write_text(USER + "\n\n")
    assert [f.code for f in scan(["user.py"], opts).findings] == [
        f.code for f in scan(["user.py"], ScanOptions()).findings]

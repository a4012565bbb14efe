"""Neovim's built-in LSP client, headless, against `poolsafe server`: diagnostics on
open, hover, the quick fix applied by the editor, and the diagnostics gone after it.

Skipped (with the reason) when `nvim` is not installed; under
POOLSAFE_REQUIRE_EDITOR=1 (CI) a missing Neovim fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "nvim" / "check_poolsafe.lua"


def nvim() -> str:
    found = shutil.which("nvim")
    if found is None:
        if os.environ.get("POOLSAFE_REQUIRE_EDITOR") == "1":
            pytest.fail("nvim is not installed and POOLSAFE_REQUIRE_EDITOR=1 "
                        "(apt-get install neovim)")
        pytest.skip("nvim is not installed (apt-get install neovim); "
                    "set POOLSAFE_REQUIRE_EDITOR=1 to fail instead")
    return found


def test_neovim_lsp_client(project: Path, tmp_path: Path) -> None:
    exe = nvim()
    out = tmp_path / "nvim-result.json"
    env = {**os.environ,
           "POOLSAFE_PROJECT": str(project),
           "POOLSAFE_SERVER_CMD": json.dumps([sys.executable, "-m", "poolsafe", "server"]),
           "POOLSAFE_OUT": str(out),
           "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([exe, "--headless", "--clean", "-n", "-u", "NONE",
                           "-c", f"luafile {SCRIPT}"],
                          env=env, cwd=project, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert out.exists(), f"nvim wrote no result: {proc.stdout}\n{proc.stderr}"
    seen = json.loads(out.read_text())
    assert seen["errors"] == []
    assert seen["got_diagnostics"] is True
    (diag,) = seen["diagnostics"]
    assert (diag["code"], diag["source"], diag["lnum"], diag["col"]) == (
        "PS102", "poolsafe", 4, 11)
    assert seen["hover"].startswith("# PS102 ")
    assert "Ignore PS102 on this line" in seen["actions"]
    assert "Fix all poolsafe findings" in seen["actions"]
    assert "pool.putconn(conn)" in seen["fixed_text"]
    assert seen["cleared"] is True

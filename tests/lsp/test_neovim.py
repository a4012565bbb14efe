"""Neovim's built-in LSP client, headless, against `poolsafe server`: diagnostics on
open, hover, the quick fix applied by the editor, and the diagnostics gone after it.

Skipped (with the reason) when `nvim` is not installed; under
POOLSAFE_REQUIRE_EDITOR=1 (CI) a missing Neovim fails instead.
"""

from __future__ import annotations

import json
import os
import re
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


EDITORS = Path(__file__).parents[2] / "docs" / "editors.md"
DOCUMENTED_CMD = '{ "poolsafe", "server" }'


def nvim_version(exe: str) -> tuple[int, int]:
    """``(major, minor)`` from ``nvim --version`` ("NVIM v0.7.2")."""
    first = subprocess.run([exe, "--version"], capture_output=True, text=True,
                           timeout=60).stdout.splitlines()[0]
    found = re.match(r"NVIM v(\d+)\.(\d+)", first)
    assert found, first
    return int(found[1]), int(found[2])


def documented_configs(text: str) -> dict[tuple[int, int], str]:
    """The ``init.lua`` blocks of docs/editors.md marked ``<!-- neovim-config: X.Y``
    (the oldest Neovim each one needs)."""
    pattern = re.compile(r"<!-- neovim-config: (\d+)\.(\d+)[^>]*-->\n```lua\n(.*?)```", re.S)
    return {(int(m[1]), int(m[2])): m[3] for m in pattern.finditer(text)}


def config_for(version: tuple[int, int], configs: dict[tuple[int, int], str]) -> str:
    usable = [v for v in configs if v <= version]
    if not usable:
        pytest.fail(f"docs/editors.md documents no configuration for Neovim {version}")
    return configs[max(usable)]


def test_the_documented_configurations_are_found() -> None:
    configs = documented_configs(EDITORS.read_text())
    assert sorted(configs) == [(0, 7), (0, 8)]
    assert all(DOCUMENTED_CMD in block for block in configs.values())
    assert "vim.lsp.start(" in config_for((0, 10), configs)
    assert "vim.lsp.start_client(" in config_for((0, 7), configs)
    assert "vim.lsp.start(" not in config_for((0, 7), configs)


def test_neovim_lsp_client(project: Path, tmp_path: Path) -> None:
    exe = nvim()
    version = nvim_version(exe)
    documented = config_for(version, documented_configs(EDITORS.read_text()))
    # The documented block as is, but running this checkout's server.
    server = [sys.executable, "-m", "poolsafe", "server"]
    init = tmp_path / "init.lua"
    init.write_text(documented.replace(
        DOCUMENTED_CMD, "{ " + ", ".join(json.dumps(part) for part in server) + " }"))
    out = tmp_path / "nvim-result.json"
    env = {**os.environ,
           "POOLSAFE_PROJECT": str(project),
           "POOLSAFE_INIT": str(init),
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
    assert seen["errors"] == [], f"Neovim {version}"
    assert [c["name"] for c in seen["clients"]] == ["poolsafe"]
    assert Path(seen["clients"][0]["root_dir"]).resolve() == project.resolve()
    assert seen["got_diagnostics"] is True
    (diag,) = seen["diagnostics"]
    assert (diag["code"], diag["source"], diag["lnum"], diag["col"]) == (
        "PS102", "poolsafe", 4, 11)
    assert seen["hover"].startswith("# PS102 ")
    assert "Ignore PS102 on this line" in seen["actions"]
    assert "Fix all poolsafe findings" in seen["actions"]
    assert "pool.putconn(conn)" in seen["fixed_text"]
    assert seen["cleared"] is True

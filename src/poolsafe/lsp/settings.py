"""What the server scans a buffer with: the configuration of the buffer's project
(`[tool.poolsafe]` in its pyproject.toml, or poolsafe.toml), the enabled rules, and
the scan options, with every open buffer in place of its file on disk.

In a workspace with several folders, each folder is the project root of the files
in it. Configurations are read once and kept until a configuration file changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from poolsafe.scan.config import (
    Config,
    ConfigError,
    find_config_file,
    load_config,
    matches_any,
)
from poolsafe.scan.engine import ScanOptions
from poolsafe.scan.pipeline import Selection, known_codes, scan_options
from poolsafe.scan.postprocess import per_file_ignored

#: files whose change makes the server read the configuration again
CONFIG_FILE_NAMES = ("pyproject.toml", "poolsafe.toml", ".poolsafe.toml")


@dataclass
class FileSettings:
    cfg: Config
    enabled: set[str]
    #: the folder the file is resolved in (None: found as `poolsafe check` finds it)
    root: Path | None
    #: a configuration problem (the defaults are used meanwhile)
    problem: str | None = None

    def excluded(self, path: Path) -> bool:
        globs = [*self.cfg.exclude, *self.cfg.extend_exclude]
        return bool(globs) and matches_any(path, globs, self.cfg.root)

    def options(self, path: Path, overrides: dict[Path, bytes]) -> ScanOptions:
        excludes = [*self.cfg.exclude, *self.cfg.extend_exclude]
        options = scan_options(self.cfg, self.enabled, excludes, [str(path)],
                               str(self.root) if self.root else None)
        options.jobs = 1
        options.cache_dir = None  # buffers are not the tree a cache describes
        options.overrides = dict(overrides)
        return options

    def ignored(self, path: str, code: str) -> bool:
        return per_file_ignored(path, code, self.cfg)


class SettingsCache:
    """The settings of each file, by the configuration file that governs it."""

    def __init__(self) -> None:
        self._configs: dict[tuple[Path | None, Path | None], tuple[Config, str | None]] = {}
        self.folders: list[Path] = []

    def clear(self) -> None:
        self._configs.clear()

    def root_of(self, path: Path) -> Path | None:
        """The innermost workspace folder holding `path`."""
        best: Path | None = None
        for folder in self.folders:
            try:
                path.relative_to(folder)
            except ValueError:
                continue
            if best is None or len(folder.parts) > len(best.parts):
                best = folder
        return best

    def for_file(self, path: Path) -> FileSettings:
        root = self.root_of(path)
        found = find_config_file([str(path)], cwd=path.parent)
        if found is not None and root is not None and not _within(found.parent, root):
            found = None  # a folder is a project of its own: no settings from above it
        # without a configuration file, the defaults are relative to the folder
        key = (found, None if found else root or path.parent)
        if key not in self._configs:
            try:
                cfg: Config = load_config(found, known_codes()) if found else Config(
                    root=root or path.parent)
                problem = None
            except ConfigError as exc:
                cfg, problem = Config(root=found.parent if found else path.parent), str(exc)
            self._configs[key] = (cfg, problem)
        cfg, problem = self._configs[key]
        return FileSettings(cfg, Selection().enabled(cfg), root, problem)


def _within(path: Path, root: Path) -> bool:
    return os.path.commonpath([str(path), str(root)]) == str(root)

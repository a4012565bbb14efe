"""What a scan is asked to do: the rules, the project settings, excludes, the cache,
worker processes, and what resolution sees around the named paths.

Kept apart from the engine so that reading a cached result, or a tree with no
database code, loads no parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poolsafe.core.project import ProjectConfig
from poolsafe.scan.config import Config
from poolsafe.scan.scope import MAX_FILE_BYTES, ScopeSettings

__all__ = ["MAX_FILE_BYTES", "ScanOptions", "scope_options"]


@dataclass
class ScanOptions:
    select: set[str] | None = None
    ignore: set[str] = field(default_factory=set)
    project: ProjectConfig = field(default_factory=ProjectConfig)
    exclude: list[re.Pattern[str]] = field(default_factory=list)
    #: called as progress(phase, path) after each file is parsed ("parse") and
    #: checked ("check"); the CLI uses it for its progress bar and file list
    progress: Callable[[str, str], None] | None = None
    #: files larger than this are reported as errors instead of parsed
    max_file_bytes: int = MAX_FILE_BYTES
    #: where the persistent cache lives (None: no cache)
    cache_dir: Path | None = None
    #: skip files that mention no database name (see poolsafe.scan.prefilter)
    prefilter: bool = True
    #: worker processes for the check phase (see poolsafe.scan.parallel)
    jobs: int = 1
    #: the configured exclude globs and the directory they are relative to: applied
    #: when walking a project root for resolution (`exclude` is for the named paths)
    exclude_globs: list[str] = field(default_factory=list)
    config_root: Path | None = None
    #: every file's project root (None: found for each file, see poolsafe.core.project)
    project_root: Path | None = None
    #: import roots, relative to the project root (`[tool.poolsafe] src`)
    src: list[str] = field(default_factory=list)
    #: absolute path -> bytes to scan instead of the file on disk (editor buffers)
    overrides: dict[Path, bytes] = field(default_factory=dict)

    def scope_settings(self) -> ScopeSettings:
        return ScopeSettings(exclude=self.exclude, exclude_globs=self.exclude_globs,
                             config_root=self.config_root, project_root=self.project_root,
                             src=self.src, overrides=self.overrides,
                             max_file_bytes=self.max_file_bytes)



def scope_options(cfg: Config, excludes: list[str], project_root: str | None
                  ) -> dict[str, Any]:
    """The ScanOptions fields that say what resolution sees around the named paths."""
    return {"exclude_globs": excludes, "config_root": cfg.root, "src": cfg.src,
            "project_root": Path(project_root) if project_root else None}


"""The persistent cache (.poolsafe_cache/)."""

from __future__ import annotations

import shutil
from pathlib import Path

CACHE_DIR_NAME = ".poolsafe_cache"


def clear_cache(directory: Path) -> bool:
    """Remove a cache directory; False when there was none. Refuses a directory that
    does not look like a poolsafe cache."""
    if not directory.is_dir():
        return False
    if not (directory / "CACHEDIR.TAG").exists():
        raise OSError(f"{directory} does not look like a poolsafe cache (no CACHEDIR.TAG)")
    shutil.rmtree(directory)
    return True

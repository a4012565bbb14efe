"""The persistent cache (.poolsafe_cache/).

One entry per configuration (poolsafe version, enabled rules, project config). An
entry holds the findings and analysis errors of the selected files, with what they
were computed from: the content hash of every selected file, and for every module
name that resolution looked up (`LazyIndex.lookups`) the files that answered it
and their hashes. The prefilter runs on every scan (it reads bytes only); when the
selection and every recorded lookup still match, nothing is parsed.

Project-wide facts (FastAPI dependencies, background jobs, Flask teardowns) are
read by every file's rules, so a change to any selected file, or to any module
that resolution reached, re-analyses the selected files; a change anywhere else
(a file that neither is selected nor was looked up) re-analyses nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

CACHE_DIR_NAME = ".poolsafe_cache"
FORMAT = 1


def default_cache_dir(start: Path | None = None) -> Path:
    """`.poolsafe_cache` beside the nearest pyproject.toml or git root above `start`
    (the working directory), or in `start` itself."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file() or (d / ".git").exists():
            return d / CACHE_DIR_NAME
    return here / CACHE_DIR_NAME


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def config_key(parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def load_entry(directory: Path, key: str) -> dict[str, Any] | None:
    try:
        with open(directory / f"{key}.json", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def store_entry(directory: Path, key: str, entry: dict[str, Any]) -> None:
    """Write atomically; a cache that cannot be written is not an error."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tag = directory / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                           "# poolsafe cache (https://bford.info/cachedir/)\n")
        (directory / ".gitignore").write_text("*\n")
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({**entry, "format": FORMAT}, f)
        os.replace(tmp, directory / f"{key}.json")
    except OSError:
        pass


def clear_cache(directory: Path) -> bool:
    """Remove a cache directory; False when there was none. Refuses a directory that
    does not look like a poolsafe cache."""
    if not directory.is_dir():
        return False
    if not (directory / "CACHEDIR.TAG").exists():
        raise OSError(f"{directory} does not look like a poolsafe cache (no CACHEDIR.TAG)")
    shutil.rmtree(directory)
    return True

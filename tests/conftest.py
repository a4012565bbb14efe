"""Shared test configuration."""

import os

import pytest

# the runtime tests drive the pytest plugin through pytester
pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="session")
def _user_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The key that signs the cache's parsed modules (`poolsafe.scan.snapshots`) lives
    in the user's cache directory: the tests make theirs in a temporary one."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))


@pytest.fixture
def epoch_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names a check epoch parsed or loaded from a snapshot, in order."""
    import poolsafe.scan.checking as checking

    seen: list[str] = []
    orig = checking._Epoch._parse

    def counting(self: checking._Epoch, f: checking.SourceFile,
                 d: bytes) -> checking.ParsedFile | checking.FileError:
        seen.append(f.path.name)
        return orig(self, f, d)

    monkeypatch.setattr(checking._Epoch, "_parse", counting)
    return seen

"""Shared test configuration."""

import importlib.util
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



#: test folders whose tests share something outside their temporary directory (the
#: PostgreSQL and MariaDB servers, the language server and editor, pre-commit's own
#: cache, pytester runs of the plugin): under pytest-xdist (`-n 2`, the README's
#: command) they all run in one worker, one after another; the static analysis tests
#: (engine, fix, rules, capacity) are spread over the workers one by one
_ONE_WORKER = frozenset({"cli", "runtime", "proof", "lsp", "fixtures", "hostile", "property"})


def _scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to: one for every test of `_ONE_WORKER` (and
    the top-level tests), the test itself for the others."""
    parts = nodeid.split("::", 1)[0].split("/")
    if len(parts) >= 2 and parts[0] == "tests" and (parts[1] in _ONE_WORKER
                                                    or len(parts) == 2):
        return "shared-services"
    return nodeid


if importlib.util.find_spec("xdist") is not None:
    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
        """pytest-xdist's scope scheduling with `_scope_of` as the scope (its
        `--dist loadgroup` reads a node id that pytest 9.2 no longer lets it change)."""
        from xdist.scheduler import LoadScopeScheduling

        class SharedServicesInOneWorker(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return _scope_of(nodeid)

        return SharedServicesInOneWorker(config, log)

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


#: test folders whose tests share something outside their temporary directory (the
#: PostgreSQL and MariaDB servers, the language server and editor, pre-commit's own
#: cache, pytester runs of the plugin): under pytest-xdist (`-n 2 --dist loadgroup`,
#: the README's command) they all run in one worker, one after another; the static
#: analysis tests (engine, fix, rules, capacity) are spread over the workers
_ONE_WORKER = frozenset({"cli", "runtime", "proof", "lsp", "fixtures", "hostile", "property"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "xdist_group(name): run in one pytest-xdist worker")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        relative = os.path.relpath(str(item.path), tests)
        top = relative.split(os.sep, 1)[0]
        if top in _ONE_WORKER or os.sep not in relative:
            item.add_marker(pytest.mark.xdist_group("shared-services"))

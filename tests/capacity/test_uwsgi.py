"""uWSGI command lines and the .ini files they read (poolsafe.analysis.uwsgi)."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.analysis.deploy_files import ProjectFiles
from poolsafe.analysis.process_model import analyse_command, split_command

_INI = "[uwsgi]\nchdir = /srv/src/site\nwsgi-file = main.py\nprocesses = 6 ; six\n"


def _command(command: str, files: dict[str, str]) -> tuple[int | None, tuple[str, ...]]:
    found = analyse_command(split_command(command, {}), {}, ProjectFiles(Path("/v"), files),
                            "compose.yml: services.web")
    assert found is not None and found.program == "uwsgi"
    return found.processes.value, found.entry.targets if found.entry else ()


@pytest.mark.parametrize(("command", "want"), [
    ("uwsgi --http :8000 --wsgi-file app.py", 1),
    ("uwsgi --http :8000 --wsgi-file app.py --master --processes 4 --threads 2", 4),
    ("uwsgi --socket :3031 -w app:application -p 3", 3),
    ("uwsgi --workers=5 --module app.wsgi", 5),
])
def test_command_line_processes(command: str, want: int) -> None:
    assert _command(command, {})[0] == want


def test_the_ini_file_is_found_under_a_top_directory_and_read() -> None:
    files = {"src/site/uwsgi.ini": _INI, "src/site/main.py": ""}
    n, targets = _command("uwsgi --ini site/uwsgi.ini", files)
    assert n == 6
    assert "src/site/main.py" in targets and "site/main.py" in targets


def test_the_command_line_wins_over_the_ini_file() -> None:
    files = {"uwsgi.ini": _INI}
    assert _command("uwsgi --ini uwsgi.ini --processes 2", files)[0] == 2


def test_an_ini_file_that_is_not_in_the_repository_leaves_the_default() -> None:
    assert _command("uwsgi --ini /etc/uwsgi/app.ini", {}) == (1, ())


def test_a_module_entry() -> None:
    assert _command("uwsgi --module shop.wsgi:application", {})[1] == ("shop.wsgi",)
    assert _command("uwsgi -w shop.wsgi", {})[1] == ("shop.wsgi",)


def test_a_value_that_is_not_a_number_is_unknown() -> None:
    files = {"uwsgi.ini": "[uwsgi]\nworkers = %(cores)\n"}
    assert _command("uwsgi --ini uwsgi.ini", files)[0] is None


def test_a_lone_ini_argument_is_read() -> None:
    files = {"deploy/app.ini": "[uwsgi]\nmodule = shop.wsgi:app\nworkers = 3\n"}
    assert _command("uwsgi deploy/app.ini", files) == (3, ("shop.wsgi",))

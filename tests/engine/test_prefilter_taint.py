"""What the prefilter selects, case by case (the equivalence tests prove it loses no
finding; these pin down that it also leaves out what cannot matter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.core.project import module_key
from poolsafe.scan.engine import ScanOptions, _scan
from poolsafe.scan.prefilter import select


def _select(files: dict[str, str]) -> list[str]:
    names = sorted(files)
    datas = [files[n].encode() for n in names]
    modules = [module_key(Path(n)) for n in names]
    return [names[i] for i in select(datas, modules=modules).targets]


DB = "import psycopg2\n\ndef get_conn():\n    return psycopg2.connect('')\n\nname = 'db'\n"


def test_a_template_engine_is_not_database_code() -> None:
    files = {"app/template.py": "class Engine:\n    pass\n\nengine = Engine()\n"}
    assert _select(files) == []


def test_a_tainted_word_does_not_select_a_file_that_does_not_import_it() -> None:
    files = {"app/db.py": DB,
             "app/views.py": "def show(name):\n    return name.upper()\n"}
    assert _select(files) == ["app/db.py"]


def test_importing_a_tainted_name_selects() -> None:
    files = {"app/db.py": DB, "app/views.py": "from app.db import get_conn\n"}
    assert _select(files) == ["app/db.py", "app/views.py"]


def test_importing_an_untainted_name_of_a_selected_module_does_not_select() -> None:
    files = {"app/db.py": DB + "\ndef slug(s):\n    return s.lower()\n",
             "app/views.py": "from app.db import slug\n"}
    assert _select(files) == ["app/db.py"]


def test_a_module_import_selects_only_where_a_tainted_name_is_reached_through_it() -> None:
    files = {"app/db.py": DB,
             "app/uses.py": "import app.db\n\ndef f():\n    return app.db.get_conn()\n",
             "app/mentions.py": "import app.db\n\ndef f(get_conn):\n    return get_conn()\n"}
    assert _select(files) == ["app/db.py", "app/uses.py"]


def test_a_bare_module_name_means_a_project_file_only_under_its_import_root() -> None:
    files = {"pkg/serializers/json.py": DB,
             "pkg/views.py": "import json\n\ndef f():\n    return json.get_conn()\n",
             "pkg/serializers/python.py": "import json\n\ndef f():\n    return json.get_conn()\n"}
    assert _select(files) == ["pkg/serializers/json.py", "pkg/serializers/python.py"]


def test_a_common_method_name_alone_taints_nothing() -> None:
    # `.connect()` on an untyped object: the block defines nothing tainted, so a
    # file importing `wire` is not selected
    files = {"app/db.py": DB + "\ndef wire(signal):\n    signal.connect(print)\n",
             "app/views.py": "from app.db import wire\n"}
    assert _select(files) == ["app/db.py"]


def test_a_common_method_beside_a_typed_receiver_taints() -> None:
    files = {"app/db.py": "from sqlalchemy import Engine\n\n"
                          "def open_conn(engine: Engine):\n    return engine.connect()\n",
             "app/views.py": "from app.db import open_conn\n"}
    assert _select(files) == ["app/db.py", "app/views.py"]


def test_analysis_parses_an_unselected_module_only_for_constants(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`helpers.py` has no database word: resolving `slugify` (is it a connection?)
    must not parse it; `settings.py` holds the URL that PS203 needs, so it is."""
    (tmp_path / "app.py").write_text(
        "from sqlalchemy import create_engine\nfrom helpers import slugify\n"
        "from settings import URL\n\nengine = create_engine(URL)\n\n"
        "def f(x):\n    return slugify(x)\n")
    (tmp_path / "helpers.py").write_text("def slugify(x):\n    return x.lower()\n")
    (tmp_path / "settings.py").write_text("URL = 'postgresql://app@db/app'\n")
    monkeypatch.chdir(tmp_path)
    import poolsafe.scan.checking as engine

    parsed: list[str] = []
    real = engine.load_data

    def spy(f, d):  # type: ignore[no-untyped-def]
        parsed.append(f.relative.as_posix())
        return real(f, d)

    monkeypatch.setattr(engine, "load_data", spy)
    result = _scan(["."], ScanOptions())
    assert sorted(parsed) == ["app.py", "settings.py"]
    assert [f.code for f in result.findings] == ["PS203"]


def test_a_database_word_in_prose_does_not_make_a_seed() -> None:
    files = {
        "app/fields.py": ('"""Fields; MySQL stores these as text."""\n\n'
                          "def size(value):\n"
                          "    '''Call create_engine() first.'''\n"
                          "    return len(value)  # MySQL counts bytes\n"),
        "app/uses.py": "from app.fields import size\n",
    }
    assert _select(files) == []


def test_the_same_word_in_code_or_in_a_string_that_is_used_makes_a_seed() -> None:
    code = {"app/db.py": "from app.ext import MySQL\n\nmysql = MySQL()\n"}
    assert _select(code) == ["app/db.py"]
    keyed = {"app/settings.py": ("CONFIG = {\n"
                                 "    'SQLALCHEMY_ENGINE_OPTIONS': {'pool_size': 50},\n"
                                 "}\n")}
    assert _select(keyed) == ["app/settings.py"]


def test_a_module_path_in_an_import_statement_is_no_use_of_a_tainted_name() -> None:
    """`import app` then `from app.sql.constants import X`: the statement names the
    module `app.sql.constants`, not the tainted `sql` that `app.ext` exports."""
    ext = "from psycopg2 import sql\n"
    files = {"app/__init__.py": "", "app/ext.py": ext, "app/sql/__init__.py": "",
             "app/sql/constants.py": "LIMIT = 10\n",
             "app/query.py": ("import app\nfrom app.sql.constants import LIMIT\n"
                              "import app.sql.constants\n\ndef f():\n    return LIMIT\n")}
    assert _select(files) == ["app/ext.py"]
    files["app/query.py"] += "\ndef g():\n    return app.ext.sql.SQL('x')\n"
    assert _select(files) == ["app/ext.py", "app/query.py"]

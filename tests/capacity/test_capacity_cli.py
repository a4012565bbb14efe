"""`poolsafe capacity`: the fixture deployment's arithmetic and exit codes, JSON,
and hostile deployment files (a clear note, never a traceback)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from poolsafe.cli.main import main

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "deployment_capacity"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["capacity", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_before_shows_the_arithmetic_and_exits_1() -> None:
    code, out = _run(str(FIXTURE / "before"))
    assert code == 1
    assert "web: 2 replicas x 4 workers x (10 + 5) = 120" in out
    assert "worker: 1 replica x 2 processes x (10 + 5) = 30; total 150 > 47" in out
    assert "db: max_connections=50 - 3 reserved" in out
    assert "OVER [production]" in out
    assert "ok   [dev]" in out
    assert "Result: over budget" in out


def test_after_is_within_budget_and_exits_0() -> None:
    code, out = _run(str(FIXTURE / "after"))
    assert code == 0
    assert "total 60 <= 97" in out
    assert "Result: within budget" in out


def test_json_report() -> None:
    code, out = _run(str(FIXTURE / "before"), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["over"] is True
    prod = next(e for e in doc["environments"] if e["name"] == "production")
    assert prod["process_model"] == "docker-compose"
    [server] = prod["servers"]
    assert (server["name"], server["limit"], server["demand"], server["over"]) == (
        "db", 47, 150, True)
    web = next(g for g in prod["groups"] if g["name"] == "web")
    assert web["processes"]["value"] == 4
    assert "WEB_CONCURRENCY" in web["processes"]["source"]
    [pool] = prod["pools"]
    assert (pool["size"]["value"], pool["overflow"]["value"]) == (10, 5)


def test_missing_path_exits_2() -> None:
    code, out = _run("/nonexistent/poolsafe-capacity")
    assert code == 2
    assert "no such file or directory" in out


def _project(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "db.py").write_text(
        "from sqlalchemy import create_engine\n\n"
        "engine = create_engine('postgresql://app@db/app', pool_size=10, max_overflow=5)\n")
    # the web program (`app:app`) imports the pool's module
    (tmp_path / "app.py").write_text("from db import engine\n\napp = object()\n")
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return tmp_path


def test_unknowns_are_shown_with_the_assumption(tmp_path: Path) -> None:
    root = _project(tmp_path, {"Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "app:app"]\n'})
    code, out = _run(str(root))
    assert code == 0
    assert "1? replica x 1 workers x (10 + 5) = 15 <= 97" in out
    assert "one container assumed" in out
    assert "PostgreSQL's default max_connections (100)" in out


def test_no_program_and_no_deployment_is_no_verdict(tmp_path: Path) -> None:
    """#29 item 7: with nothing that runs the pool, nothing is compared: no "within
    budget", and the exit status says so (3)."""
    root = _project(tmp_path, {})
    code, out = _run(str(root))
    assert code == 3
    assert "Result: nothing compared" in out and "within budget" not in out
    code, out = _run(str(root), "--format", "json")
    assert code == 3
    doc = json.loads(out)
    assert (doc["compared"], doc["result"]) == (False, "nothing compared")


def test_bad_yaml_is_reported_not_raised(tmp_path: Path) -> None:
    root = _project(tmp_path, {"docker-compose.yml": "services:\n  web: [unclosed\n",
                               "k8s/app.yaml": "kind: Deployment\n\tbad: tab\n"})
    code, out = _run(str(root))
    assert code == 3  # no process description could be read: nothing compared
    assert "docker-compose.yml: not read: invalid YAML" in out
    assert "k8s/app.yaml: not read: invalid YAML" in out


def test_non_utf8_and_huge_files_are_skipped(tmp_path: Path) -> None:
    root = _project(tmp_path, {".env": b"POOL=\xff\xfe\n",
                               "Procfile": "web: gunicorn -w 2 app:app\n",
                               "docker-compose.yml": "x: " + "y" * 1_100_000 + "\n"})
    code, out = _run(str(root))
    assert code == 0
    assert ".env: not read: not UTF-8 text" in out
    assert "docker-compose.yml: not read:" in out and "bytes" in out
    assert "web: 1? replica x 2 workers x (10 + 5) = 30" in out


def test_yaml_bombs_and_odd_shapes(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8))
    root = _project(tmp_path, {
        "docker-compose.yml": "services: 3\n",
        "compose.yaml": "- just\n- a list\n",
        "k8s/bomb.yaml": "kind: Deployment\n" + bomb,
        "k8s/deep.yaml": "kind: Deployment\nspec: " + "[" * 5000 + "]" * 5000 + "\n",
        "gunicorn.conf.py": "workers = (" * 200 + "1" + ")" * 200 + "\n",
    })
    code, out = _run(str(root))
    assert code in (0, 1, 3)
    assert "Traceback" not in out


def test_fixture_copy_in_a_nested_directory(tmp_path: Path) -> None:
    """The deployment files are read from the project root, whatever PATH names."""
    shutil.copytree(FIXTURE / "before", tmp_path / "app")
    code, out = _run(str(tmp_path / "app" / "shop"))
    assert code == 1
    assert "total 150 > 47" in out


def test_the_four_rules_are_listed_and_explained() -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["rules"]).output
    for code, name in (("PS208", "pool-capacity-exceeds-server"), ("PS209", "missing-timeouts"),
                       ("PS210", "prepared-statements-behind-pgbouncer"),
                       ("PS211", "mysql-without-recycle")):
        assert code in listing and name in listing
        doc = runner.invoke(main, ["explain", code])
        assert doc.exit_code == 0
        assert "## What it does" in doc.output and "## Use instead" in doc.output
    assert "PS203" in runner.invoke(main, ["explain", "PS211"]).output


def test_check_reports_ps208_on_the_fixture() -> None:
    result = CliRunner().invoke(main, ["check", "--no-cache", str(FIXTURE / "before")])
    assert result.exit_code == 1
    assert "PS208" in result.output and "total 150 > 47" in result.output
    clean = CliRunner().invoke(main, ["check", "--no-cache", str(FIXTURE / "after")])
    assert clean.exit_code == 0, clean.output


def test_a_budget_of_bytes_for_all_deployment_files(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import poolsafe.analysis.deploy_files as deploy_files

    monkeypatch.setattr(deploy_files, "MAX_TOTAL_BYTES", 40)
    root = _project(tmp_path, {"Procfile": "web: gunicorn -w 2 app:app\n",
                               "docker-compose.yml": "services: {}\n" + "#" * 60 + "\n"})
    code, out = _run(str(root))
    assert code == 0
    assert "read so far exceed 40 bytes" in out


def _monorepo(tmp_path: Path) -> Path:
    """A repository whose compose file sits at the top and whose Python project is
    backend/ (a pyproject.toml of its own), built from backend/Dockerfile."""
    top = tmp_path / "repo"
    (top / ".git").mkdir(parents=True)
    (top / "pyproject.toml").write_text("[project]\nname = 'tools'\n")
    (top / ".env").write_text("POSTGRES_PASSWORD=secret\nPOOL=8\n")
    (top / "compose.yml").write_text("""services:
  db:
    image: postgres:17
    command: ["postgres", "-c", "max_connections=40"]
  api:
    build:
      context: .
      dockerfile: backend/Dockerfile
    environment:
      DATABASE_URL: postgresql://app:${POSTGRES_PASSWORD:?unset}@db:5432/app
    env_file: .env
    deploy:
      replicas: 2
""")
    backend = top / "backend"
    (backend / "app").mkdir(parents=True)
    (backend / "pyproject.toml").write_text(
        "[project]\nname = 'api'\ndependencies = ['sqlalchemy', 'psycopg']\n")
    (backend / "Dockerfile").write_text(
        "FROM python:3.12\nWORKDIR /app\nCMD [\"fastapi\", \"run\", \"--workers\", \"4\"]\n")
    (backend / "app" / "__init__.py").write_text("")
    # what `fastapi run` with no path runs
    (backend / "app" / "main.py").write_text("from app.db import engine\n\napp = object()\n")
    (backend / "app" / "db.py").write_text(
        "import os\nfrom sqlalchemy import create_engine\n\n"
        "engine = create_engine(os.environ['DATABASE_URL'],\n"
        "                       pool_size=int(os.getenv('POOL', '2')), max_overflow=0)\n")
    return top


def test_a_sub_project_reads_the_repository_deployment(tmp_path: Path) -> None:
    top = _monorepo(tmp_path)
    code, out = _run(str(top / "backend"))
    assert code == 1
    assert "../compose.yml: services.api" in out
    assert "api: 2 replicas x 4 workers x (8 + 0) = 64 > 37" in out
    result = CliRunner().invoke(main, ["check", "--no-cache", str(top / "backend")])
    assert "PS208" in result.output


def test_the_repository_top_points_to_the_sub_project(tmp_path: Path) -> None:
    top = _monorepo(tmp_path)
    code, out = _run(str(top))
    assert code == 3  # no pool at the top: nothing compared there
    assert "the pools are in other projects below: backend" in out


def test_no_repository_no_files_from_above(tmp_path: Path) -> None:
    top = _monorepo(tmp_path)
    shutil.rmtree(top / ".git")
    code, out = _run(str(top / "backend"))
    assert code == 0
    assert "compose.yml" not in out
    assert "Processes (Dockerfile)" in out


def test_check_with_hostile_deployment_files(tmp_path: Path) -> None:
    """PS208/PS210 in `check` read the same files: no internal error, no traceback."""
    root = _project(tmp_path, {
        ".env": b"POOL=\xff\n",
        ".env.production": "A=${A}${A}\n" * 1000,
        "docker-compose.yml": b"\x00\x01 services: [",
        "k8s/x.yaml": "kind: Deployment\nspec: &a [*a]\n",
        "Procfile": "web: gunicorn -w 'unterminated\n",
        "Dockerfile": "CMD [\"gunicorn\", \n",
        "my.cnf": "[mysqld\nmax_connections=1\n",
        "gunicorn.conf.py": "workers = -" + "-" * 900 + "1\n",
    })
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "PS208,PS210",
                                       str(root)])
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    code, out = _run(str(root))
    assert code in (0, 1, 3)
    assert ".env: not read: not UTF-8 text" in out


def _examples(tmp_path: Path) -> Path:
    """A repository whose `examples/` holds two programs, each a project of its own,
    and whose own benchmark opens a pool of its own."""
    top = tmp_path / "repo"
    (top / ".git").mkdir(parents=True)
    (top / "pyproject.toml").write_text("[project]\nname = 'top'\n")
    (top / "bench.py").write_text(
        "from sqlalchemy import create_engine\n\n"
        "engine = create_engine('postgresql://u@localhost/b', pool_size=3, max_overflow=0)\n\n"
        "if __name__ == '__main__':\n    engine.dispose()\n")
    for name, size in (("small", 5), ("huge", 90)):
        app = top / "examples" / name
        (app / "tests").mkdir(parents=True)
        (app / "pyproject.toml").write_text(f"[project]\nname = '{name}'\n")
        (app / "main.py").write_text(
            "from sqlalchemy import create_engine\n\n"
            f"engine = create_engine('postgresql://u@localhost/{name}', pool_size={size},"
            " max_overflow=20)\n\n"
            "if __name__ == '__main__':\n    engine.dispose()\n")
        # a test's pool names no project of its own
        (app / "tests" / "test_db.py").write_text(
            "from sqlalchemy import create_engine\n\n"
            "engine = create_engine('postgresql://u@localhost/t', pool_size=500)\n")
    (top / "examples" / "notes").mkdir()
    (top / "examples" / "notes" / "README.md").write_text("no code here\n")
    return top


def test_a_folder_of_projects_gets_one_report_each(tmp_path: Path) -> None:
    """`capacity examples/` reports each example project on its own: the pools of
    programs that are not deployed together are never added up, and the repository's
    own pools (the top's benchmark) are not what was asked about."""
    top = _examples(tmp_path)
    code, out = _run(str(top / "examples"))
    assert code == 1  # one of them is over
    titles = [line for line in out.splitlines() if line.startswith("Connection capacity of")]
    assert titles == [f"Connection capacity of {top / 'examples' / 'huge'}",
                      f"Connection capacity of {top / 'examples' / 'small'}"]
    assert "bench.py" not in out and "pool_size=500" not in out and "500" not in out
    assert "(90 + 20) = 110 > 97" in out and "(5 + 20) = 25 <= 97" in out
    assert out.rstrip().splitlines()[-1] == (
        f"2 projects: 1 over budget ({top / 'examples' / 'huge'}); 1 within budget; "
        "0 nothing compared")
    code, out = _run(str(top / "examples"), "--format", "json")
    assert code == 1
    docs = json.loads(out)["projects"]
    assert [Path(d["root"]).name for d in docs] == ["huge", "small"]
    assert [d["result"] for d in docs] == ["over budget", "within budget"]


def test_one_project_below_the_folder_is_reported_alone(tmp_path: Path) -> None:
    top = _examples(tmp_path)
    shutil.rmtree(top / "examples" / "huge")
    code, out = _run(str(top / "examples"))
    assert code == 0
    assert out.count("Connection capacity of") == 1 and "projects:" not in out
    code, out = _run(str(top / "examples"), "--format", "json")
    assert Path(json.loads(out)["root"]).name == "small"


def test_a_directory_of_the_root_project_still_reports_the_project(tmp_path: Path) -> None:
    """A directory with no project of its own below it (a package of the project)
    keeps the whole project's report, as before."""
    top = _examples(tmp_path)
    (top / "pkg").mkdir()
    (top / "pkg" / "__init__.py").write_text("")
    code, out = _run(str(top / "pkg"))
    assert code == 0 and out.count("Connection capacity of") == 1
    assert f"Connection capacity of {top}" in out and "bench.py" in out


def test_a_single_threaded_worker_counts_one_connection_and_says_why(tmp_path: Path) -> None:
    """A Procfile's plain `python` worker whose code starts no thread holds one
    connection of its pool; a worker that starts a thread pool keeps the maximum."""
    worker = ("import time\n\nfrom db import engine\n\n\ndef main():\n    while True:\n"
              "        with engine.begin() as conn:\n            conn.exec_driver_sql('SELECT 1')\n"
              "        time.sleep(1)\n\n\nif __name__ == '__main__':\n    main()\n")
    root = _project(tmp_path, {
        "worker.py": worker,
        "pool_worker.py": "from concurrent.futures import ThreadPoolExecutor\n" + worker,
        "Procfile": "single: python worker.py\nthreaded: python -m pool_worker\n"})
    code, out = _run(str(root))
    assert code == 0
    flat = " ".join(out.split())
    assert "single: 1? replica x 1 processes x 1 (one thread; pool (10 + 5)) = 1" in flat
    assert "threaded: 1? replica x 1 processes x (10 + 5) = 15" in flat
    assert "`python worker.py` is one Python process" in flat
    code, out = _run(str(root), "--format", "json")
    groups = {g["name"]: g for g in json.loads(out)["environments"][0]["groups"]}
    assert groups["single"]["one_thread"] is not None
    assert groups["threaded"]["one_thread"] is None

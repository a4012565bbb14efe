"""Whether a Flask-SQLAlchemy configuration (a config class, module or `app.config`
writes) configures any engine at all: PS203 and PS204 judge such a configuration only
when Flask-SQLAlchemy reads it.

- In a project that never imports Flask-SQLAlchemy and builds its own engines with
  `create_engine`, `SQLALCHEMY_DATABASE_URI` / `SQLALCHEMY_ENGINE_OPTIONS` are only
  names (the engines are judged themselves, with the options they are given).
- A config class or module configures an app only when the app loads it
  (`app.config.from_object(...)`, `from_pyfile`, `from_envvar`, `from_file`): in a
  project whose app sets `SQLALCHEMY_DATABASE_URI` on `app.config` itself and loads
  no config object, a config class elsewhere is only a name.
- A config class (a pydantic `BaseSettings`, a plain class) reaches an app only through
  a loader (`from_object`, `from_mapping`, ...): in a project that calls none, imports
  Flask-SQLAlchemy nowhere outside its tests and declares dependencies none of which
  reads those keys, its `SQLALCHEMY_*` fields are leftovers (a project that moved to
  encode/databases or asyncpg keeps the names).
  A config module stays judged: an application may import it by path
  (`superset_config.py`).
"""

from __future__ import annotations

from poolsafe.analysis.declared_drivers import declared_requirements
from poolsafe.analysis.engines import EngineSite
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.project_facts import facts


def configures_nothing(index: ProjectIndex, module: ModuleInfo,
                       site: EngineSite) -> str | None:
    """Why the configuration `site` (of `module`) comes from configures no engine, or
    None (it does, or it is an engine call)."""
    if not site.from_config:
        return None
    project = facts(index)
    if not project.uses_flask_sqlalchemy() and project.builds_engines():
        return "no Flask-SQLAlchemy, engines of its own: the keys are only names"
    if site.config_object and project.writes_flask_uri() and not project.loads_flask_config():
        return "the app sets its URI itself and loads no config object"
    if (site.config_class and not project.app_uses_flask_sqlalchemy()
            and not project.loads_config_mapping()
            and _declares_without_flask_sqlalchemy(index, module)):
        return "a settings class no Flask app loads, in a project without Flask-SQLAlchemy"
    return None


#: distributions that build engines from a Flask config's `SQLALCHEMY_*` keys
_READS_FLASK_SQLALCHEMY_KEYS = frozenset({
    "flask-sqlalchemy", "flask-sqlalchemy-lite", "flask-appbuilder", "apache-superset",
    "apache-airflow", "invenio-db", "flask-security", "flask-security-too",
})


def _declares_without_flask_sqlalchemy(index: ProjectIndex, module: ModuleInfo) -> bool:
    """The project declares its dependencies (`requirements.txt`, `pyproject.toml`,
    ...) and none of them reads Flask-SQLAlchemy's keys: Flask-SQLAlchemy itself or a
    package built on it."""
    declared = {name for name, _, _ in declared_requirements(module.abspath,
                                                            index.text_files)}
    return bool(declared) and not declared & _READS_FLASK_SQLALCHEMY_KEYS

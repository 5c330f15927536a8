"""One service's settings: its own database and pool size where YISHI_<SERVICE>_… say so, else the deployment's."""
from pathlib import Path

import pytest

from shared.config import Settings
from shared.store.leadership import Leadership
from shared.store.persistence import Database, event_store_env, table_names

ENV = {"DATABASE_URL": "postgresql://yishi@db-all:5432/yishi",
       "YISHI_CASEWORK_DATABASE_URL": "postgresql://casework:pw@db-casework:5432/casework",
       "YISHI_INTAKE_DATABASE_URL": " ",  # empty: unset, like DATABASE_URL
       "YISHI_PG_POOL_SIZE": "3", "YISHI_CASEWORK_PG_POOL_SIZE": "6"}


@pytest.fixture
def deployment(monkeypatch, tmp_path) -> Settings:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("YISHI_VAR_DIR", str(tmp_path / "var"))
    return Settings.from_env()


def test_a_service_with_its_own_variables_gets_its_own_database_and_pool(deployment):
    casework = deployment.for_service("casework")
    assert (casework.database_url, casework.pool_size) == ("postgresql://casework:pw@db-casework:5432/casework", 6)
    assert casework.scope == "casework" and casework.amqp_uri == deployment.amqp_uri


def test_the_others_keep_the_deployment_s(deployment):
    for service in ("intake", "meetings"):
        own = deployment.for_service(service)
        assert (own.database_url, own.pool_size) == ("postgresql://yishi@db-all:5432/yishi", 3)


def test_scoping_again_starts_from_the_deployment_not_from_another_service(deployment):
    casework = deployment.for_service("casework")
    assert casework.for_service("casework") is casework
    assert casework.for_service("meetings").database_url == "postgresql://yishi@db-all:5432/yishi"
    assert casework.for_service("meetings").for_service("casework") == casework


def test_the_stores_and_locks_of_a_service_take_its_own_database_whatever_they_are_given(deployment):
    env = event_store_env("casework", deployment)
    assert (env["POSTGRES_HOST"], env["POSTGRES_DBNAME"], env["POSTGRES_USER"], env["POSTGRES_POOL_SIZE"]) == \
        ("db-casework", "casework", "casework", "6")
    assert event_store_env("meetings", deployment.for_service("casework"))["POSTGRES_HOST"] == "db-all"
    assert Leadership("casework", deployment).settings.database_url.endswith("@db-casework:5432/casework")
    # a lock named otherwise (notifications' dispatcher) stays where its scoped settings say
    scoped = deployment.for_service("notifications")
    assert Leadership("notifications-dispatcher", scoped).settings is scoped


def test_a_service_may_keep_sqlite_while_another_has_its_own_postgresql(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("YISHI_MEETINGS_DATABASE_URL", "postgresql://m@db-meetings/meetings")
    settings = Settings.from_env()
    assert not settings.for_service("intake").uses_postgres and settings.for_service("meetings").uses_postgres
    assert table_names("intake", settings) == ("stored_events", "tracking")
    assert table_names("meetings", settings) == ("meetings.meetings_events", "meetings.meetings_tracking")
    db = Database("intake", Settings(None, "", tmp_path / "var", service_database_urls={}))
    assert db.path == (tmp_path / "var" / "intake.sqlite3")
    db.close()


def test_settings_made_in_code_have_no_overrides_even_when_the_environment_has(monkeypatch, tmp_path):
    monkeypatch.setenv("YISHI_CASEWORK_DATABASE_URL", "postgresql://casework@elsewhere/casework")
    made = Settings(database_url=None, amqp_uri="", var_dir=Path(tmp_path))
    assert made.for_service("casework").database_url is None


def test_settings_stay_hashable_as_before(deployment):
    assert hash(deployment) is not None and hash(deployment.for_service("casework")) is not None

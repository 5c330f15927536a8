"""Fixtures: the embedded SQLite default, and the real PostgreSQL and RabbitMQ of this machine.

Each test session gets its own PostgreSQL databases and RabbitMQ vhosts, created here and dropped
afterwards, so runs never see each other's leftovers.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# one embedded signing key for the session: every process started here verifies tokens of tests/support/identity.py
if "YISHI_IDENTITY_DIR" not in os.environ:
    os.environ["YISHI_IDENTITY_DIR"] = tempfile.mkdtemp(prefix="yishi-identity-")
    atexit.register(shutil.rmtree, os.environ["YISHI_IDENTITY_DIR"], True)

# the abuse limits off for every process a test starts (many reports come from one address here); the tests of
# the limits set their own (tests/integration/intake/test_abuse_limits.py)
for _limit in ("REPORTS_PER_CLIENT", "REPORTS_PER_PHONE", "CODE_GUESSES"):
    os.environ.setdefault(f"YISHI_LIMIT_{_limit}", "0")

from shared.config import Settings
from tests.support.infra import create_database, create_vhost, delete_vhost, drop_database
from tests.support.processes import System


@pytest.fixture
def amqp_uri():
    uri = create_vhost()
    yield uri
    delete_vhost(uri)


@pytest.fixture
def pg_url():
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path: Path, amqp_uri: str) -> Settings:
    """Settings for both stores: the same test body runs on the embedded default and on PostgreSQL."""
    database_url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return Settings(database_url=database_url, amqp_uri=amqp_uri, var_dir=tmp_path / "var", poll_interval=0.02)


@pytest.fixture
def system(settings: Settings, tmp_path: Path):
    env = {"AMQP_URI": settings.amqp_uri, "YISHI_VAR_DIR": str(settings.var_dir), "YISHI_POLL_INTERVAL": "0.02",
           "DATABASE_URL": settings.database_url or "", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    s = System(env, tmp_path)
    yield s
    s.stop()

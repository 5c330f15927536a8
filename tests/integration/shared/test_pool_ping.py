"""The event store's pool pings a connection only after it rested, and replaces one a restart broke."""
import time

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from services.intake.application import IntakeApplication
from shared.store.persistence import ping_when_idle
from tests.support.factories import issues


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_a_busy_connection_is_not_pinged_and_a_rested_broken_one_is_replaced(settings):
    app = IntakeApplication(settings)
    pool = app.recorder.datastore.pool
    pings = []

    def counted(conn):
        pings.append(hasattr(conn, "_yishi_handed_out"))  # a connection new to the pool is always checked
        ConnectionPool.check_connection(conn)

    pool._check = counted
    ping_when_idle(pool, after=0.5)
    try:
        for n in range(6):  # back to back: each connection rested for milliseconds
            app.save(*issues(1, start=n))
        assert not any(pings)
        assert pool._reset is None  # returned connections go straight back, not through the pool's worker
        before = len(pings)

        time.sleep(0.7)
        with psycopg.connect(settings.database_url, autocommit=True) as admin:  # a restart, as the pool sees it
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        app.save(*issues(1, start=10))  # the rested connection is pinged, found dead and replaced
        assert any(pings[before:])
        assert app.log_head() == 7
    finally:
        app.close()

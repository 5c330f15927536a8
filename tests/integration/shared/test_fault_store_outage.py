"""PostgreSQL stopped immediately under a steady load and started ~10 s later: the system heals by itself.

A private PostgreSQL cluster (its own port and data directory, never the machine's shared one) holds every
service's events; intake's web and worker and casework's worker run against it while reports arrive at a
steady rate. `pg_ctl stop -m immediate` kills every backend; the cluster starts again OUTAGE seconds later.
Then: no report got a 500 (503 with Retry-After while the store was down), every report accepted (201) has
exactly one case and its case's events came back to intake, the consumer queues drain, the processes hold no
more connections than their configured budget, and all of it within STEADY_WITHIN seconds of the restart.

YISHI_FAULT_OUTAGE sets the outage (default 10 s); `make fault` runs a longer one.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from shared.config import Settings
from tests.support.faults import (STEADY_WITHIN, assert_drained, assert_one_case_each, start_loaded, system_env,
                                  unanswered, wait_steady)
from tests.support.private_pg import PrivateCluster
from tests.support.processes import System

pytestmark = pytest.mark.slow

OUTAGE = float(os.environ.get("YISHI_FAULT_OUTAGE", "10"))
POOL_SIZE = 2
RATE = 10.0  # reports per second


def test_a_postgresql_outage_under_load_heals_by_itself(private_pg: PrivateCluster, amqp_uri: str, tmp_path: Path):
    settings = Settings(database_url=private_pg.create_database(), amqp_uri=amqp_uri, var_dir=tmp_path / "var",
                        poll_interval=0.05, pool_size=POOL_SIZE)
    system = System(system_env(settings, tmp_path / "metrics"), tmp_path)
    try:
        load = start_loaded(system, settings, RATE)
        try:
            time.sleep(1)
            private_pg.stop_immediately()
            down_at = time.monotonic()
            time.sleep(OUTAGE)
            restart_at = time.monotonic()
            private_pg.start()
            up_at = time.monotonic()
            time.sleep(5)  # the load goes on after the restart
        finally:
            load.stop()
        accepted = set(load.accepted)
        print(f"outage {OUTAGE:.0f}s: answers {dict(load.statuses())}")
        steady_after = wait_steady(settings, accepted, since=up_at)
        print(f"steady {steady_after:.1f}s after the restart; {len(accepted)} accepted")

        # no 500 and no refused connection, ever; while the store was down: 503 with Retry-After
        assert not unanswered(load, since=down_at), unanswered(load, since=down_at)[:20]
        # every attempt answered in the outage; a report sent in it may be retried after it, and accepted then
        during = [r for r in load.responses if down_at + 1 < r.answered < restart_at - 0.5]
        assert during and all(r.status == 503 and r.retry_after for r in during), \
            Counter((r.status, r.retry_after) for r in during)
        assert any(a.status == 201 for a in load.answers if a.at > up_at + 2), "no report accepted after the restart"

        # exactly one case per accepted report, no case for a refused one; both directions drained
        assert_drained(system, settings, tmp_path / "metrics")
        assert_one_case_each(settings, accepted)
        assert steady_after <= STEADY_WITHIN, f"steady only {steady_after:.1f}s after the restart"
        # within the budget: intake web (events + read models) and, with the workers stopped, nothing else
        held = private_pg.connections()
        assert held <= 2 * POOL_SIZE, f"intake's web process holds {held} connections (budget {2 * POOL_SIZE})"
    finally:
        system.stop()

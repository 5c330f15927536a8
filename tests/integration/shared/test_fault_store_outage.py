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
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from shared.config import Settings
from shared.messaging import topology
from tests.support.faults import consumer_queues_ready, domain_events, metric_sum, queue_ready, reading
from tests.support.load import ReportLoad
from tests.support.private_pg import PrivateCluster
from tests.support.processes import System, free_port, wait_until

pytestmark = pytest.mark.slow

OUTAGE = float(os.environ.get("YISHI_FAULT_OUTAGE", "10"))
STEADY_WITHIN = 30.0  # the issue's target: steady at most 30 s after a fault ends
POOL_SIZE = 2
RATE = 10.0  # reports per second
QUEUES = (topology.consumer_queue("casework", "intake").name, topology.consumer_queue("intake", "casework").name)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    c = PrivateCluster(free_port()).create()
    yield c
    c.destroy()


@pytest.fixture
def outage_settings(cluster: PrivateCluster, amqp_uri: str, tmp_path: Path) -> Settings:
    return Settings(database_url=cluster.create_database(), amqp_uri=amqp_uri, var_dir=tmp_path / "var",
                    poll_interval=0.05, pool_size=POOL_SIZE)


@pytest.fixture
def outage_system(outage_settings: Settings, tmp_path: Path) -> Iterator[System]:
    s = outage_settings
    env = {"AMQP_URI": s.amqp_uri, "YISHI_VAR_DIR": str(s.var_dir), "YISHI_POLL_INTERVAL": str(s.poll_interval),
           "DATABASE_URL": s.database_url or "", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
           "YISHI_PG_POOL_SIZE": str(POOL_SIZE)}
    (tmp_path / "metrics").mkdir()
    system = System(env, tmp_path)
    yield system
    system.stop()


def cases_by_issue(settings: Settings) -> Counter:
    return Counter(e.issue_id for _, e in domain_events(CaseworkApplication, settings) if isinstance(e, Case.Opened))


def issues_progressed(settings: Settings) -> set[str]:
    """Issues that heard back from casework: a row in intake's case_progress view of casework's events."""
    with reading("intake", settings) as intake:
        try:
            return {row[0] for row in intake.query("SELECT issue_id FROM case_progress")}
        except Exception:  # not created yet
            return set()


def test_a_postgresql_outage_under_load_heals_by_itself(cluster: PrivateCluster, outage_settings: Settings,
                                                        outage_system: System, tmp_path: Path):
    settings, system = outage_settings, outage_system
    web = system.start("intake", "web")
    system.start("intake", "worker")
    system.start("casework", "worker")
    load = ReportLoad([web.url], rate=RATE).start()
    try:
        # the outage starts once reports flow both ways (every process is up and busy)
        wait_until(lambda: load.accepted and issues_progressed(settings) >= {load.accepted[0]}, timeout=60,
                   interval=0.2, message="a report's case back in intake before the outage")
        time.sleep(1)
        cluster.stop_immediately()
        down_at = time.monotonic()
        time.sleep(OUTAGE)
        restart_at = time.monotonic()
        cluster.start()
        up_at = time.monotonic()
        time.sleep(5)  # the load goes on after the restart
    finally:
        load.stop()
    accepted = set(load.accepted)
    statuses = load.statuses()
    print(f"outage {OUTAGE:.0f}s: answers {dict(statuses)}")

    def steady() -> bool:
        with reading("casework", settings) as casework:
            if casework.scalar(f"SELECT count(DISTINCT originator_id) FROM {casework.events}") < len(accepted):
                return False
        return all(queue_ready(settings.amqp_uri, q) == 0 for q in QUEUES) and \
            set(cases_by_issue(settings)) >= accepted

    try:
        wait_until(steady, timeout=STEADY_WITHIN + 30, interval=0.5, message="every accepted report's case")
    except AssertionError:
        missing = accepted - set(cases_by_issue(settings))
        ready = {q: queue_ready(settings.amqp_uri, q) for q in QUEUES}
        raise AssertionError(f"{len(missing)} of {len(accepted)} accepted reports have no case; ready: {ready}")
    steady_after = time.monotonic() - up_at
    print(f"steady {steady_after:.1f}s after the restart; {len(accepted)} accepted")

    # no 500 and no refused connection, ever; while the store was down: 503 with Retry-After
    assert not [a for a in load.answers if a.status is None or a.status >= 500 and a.status != 503], \
        [(round(a.at - down_at, 1), a.status, a.error) for a in load.answers if a.status != 201][:20]
    during = [a for a in load.answers if down_at + 1 < a.at < restart_at - 0.5]
    assert during and all(a.status == 503 and a.retry_after for a in during), \
        Counter((a.status, a.retry_after) for a in during)
    assert any(a.status == 201 for a in load.answers if a.at > up_at + 2), "no report accepted after the restart"

    # exactly one case per accepted report, no case for a refused one; both directions drained
    per_issue = cases_by_issue(settings)
    assert set(per_issue) == accepted and set(per_issue.values()) == {1}, \
        f"{len(accepted - set(per_issue))} accepted reports without a case, {sum(per_issue.values())} cases"
    wait_until(lambda: issues_progressed(settings) >= accepted, timeout=30, interval=0.5,
               message="casework's events back in intake")
    for service in ("intake", "casework"):
        system.procs[(service, "worker")].stop()
    ready = consumer_queues_ready(settings.amqp_uri, ("intake", "casework"))
    assert not any(ready[q] for q in QUEUES) and not any(v for k, v in ready.items() if k.endswith(".dead")), ready
    metrics = tmp_path / "metrics"
    assert metric_sum(metrics, "yishi_dead_letters_total") == 0

    # within the budget: intake web (events + read models) and, with the workers stopped, nothing else
    assert steady_after <= STEADY_WITHIN, f"steady only {steady_after:.1f}s after the restart"
    held = cluster.connections()
    assert held <= 2 * POOL_SIZE, f"intake's web process holds {held} connections (budget {2 * POOL_SIZE})"

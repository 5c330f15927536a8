"""A slow and broken network between the processes and their store and broker: 500 ms latency, a 5 s
blackhole, connection resets, under a steady load. The system must lose nothing, duplicate nothing, answer no
500 and be steady again within 30 s.

The processes reach a private PostgreSQL cluster and the broker (a vhost of this test's own) through
`tests/support/faultproxy.py`; the test reads both directly.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Settings
from tests.integration.shared.test_fault_store_outage import (POOL_SIZE, QUEUES, STEADY_WITHIN, cases_by_issue,
                                                              issues_progressed)
from tests.support.faultproxy import FaultProxy
from tests.support.faults import consumer_queues_ready, queue_ready
from tests.support.load import ReportLoad
from tests.support.private_pg import PrivateCluster
from tests.support.processes import System, free_port, wait_until

pytestmark = pytest.mark.slow
LATENCY, LATENCY_FOR, BLACKHOLE = 0.5, 5.0, 5.0


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    c = PrivateCluster(free_port()).create()
    yield c
    c.destroy()


@pytest.fixture
def proxies(cluster: PrivateCluster, amqp_uri: str) -> Iterator[dict[str, FaultProxy]]:
    host, port = amqp_uri.split("@", 1)[1].split("/", 1)[0].split(":")
    p = {"postgres": FaultProxy(("127.0.0.1", cluster.port)), "broker": FaultProxy((host, int(port)))}
    yield p
    for proxy in p.values():
        proxy.close()


def test_latency_a_blackhole_and_resets_lose_nothing(cluster: PrivateCluster, proxies: dict[str, FaultProxy],
                                                     amqp_uri: str, tmp_path: Path):
    url = cluster.create_database()
    direct = Settings(database_url=url, amqp_uri=amqp_uri, var_dir=tmp_path / "var", pool_size=POOL_SIZE)
    pg, broker = proxies["postgres"], proxies["broker"]
    host_port = amqp_uri.split("@", 1)[1].split("/", 1)[0]
    env = {"AMQP_URI": amqp_uri.replace(host_port, f"127.0.0.1:{broker.port}"), "YISHI_VAR_DIR": str(direct.var_dir),
           "YISHI_POLL_INTERVAL": "0.05", "DATABASE_URL": url.replace(f":{cluster.port}/", f":{pg.port}/"),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "YISHI_PG_POOL_SIZE": str(POOL_SIZE)}
    (tmp_path / "metrics").mkdir()
    system = System(env, tmp_path)
    try:
        web = system.start("intake", "web")
        system.start("intake", "worker")
        system.start("casework", "worker")
        load = ReportLoad([web.url], rate=10).start()
        try:
            wait_until(lambda: load.accepted and issues_progressed(direct) >= {load.accepted[0]}, timeout=60,
                       interval=0.2, message="a report's case back in intake before the faults")
            pg.latency = broker.latency = LATENCY
            time.sleep(LATENCY_FOR)
            pg.latency = broker.latency = 0.0
            hole = threading.Thread(target=broker.blackhole, args=(BLACKHOLE,))
            hole.start()
            pg.blackhole(BLACKHOLE)
            hole.join()
            resets = pg.reset() + broker.reset()
            faults_over = time.monotonic()
            time.sleep(5)
        finally:
            load.stop()
        accepted = set(load.accepted)
        print(f"answers {dict(load.statuses())}, {load.retried} retried; {resets} connections reset")

        def steady() -> bool:
            return all(queue_ready(direct.amqp_uri, q) == 0 for q in QUEUES) and \
                set(cases_by_issue(direct)) >= accepted and issues_progressed(direct) >= accepted

        wait_until(steady, timeout=STEADY_WITHIN + 30, interval=0.5, message="every accepted report's case")
        steady_after = time.monotonic() - faults_over
        print(f"steady {steady_after:.1f}s after the last fault; {len(accepted)} accepted")

        bad = [(round(a.at - faults_over, 1), a.status, a.error) for a in load.answers
               if a.status not in (201, 503) or (a.status == 503 and not a.retry_after)]
        assert not bad, bad
        per_issue = cases_by_issue(direct)
        assert set(per_issue) == accepted and set(per_issue.values()) == {1}, Counter(per_issue.values())
        assert any(a.status == 201 for a in load.answers if a.at > faults_over + 1), "nothing accepted after"
        for service in ("intake", "casework"):
            system.procs[(service, "worker")].stop()
        ready = consumer_queues_ready(direct.amqp_uri, ("intake", "casework"))
        assert not any(ready[q] for q in QUEUES) and not any(v for k, v in ready.items() if k.endswith(".dead")), \
            ready
        assert steady_after <= STEADY_WITHIN, f"steady only {steady_after:.1f}s after the last fault"
    finally:
        system.stop()

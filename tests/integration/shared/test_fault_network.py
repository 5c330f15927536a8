"""A slow and broken network between the processes and their store and broker: 500 ms latency, a 5 s
blackhole, connection resets, under a steady load. The system must lose nothing, duplicate nothing, answer no
500 and be steady again within 30 s.

The processes reach a private PostgreSQL cluster and the broker (a vhost of this test's own) through
`tests/support/faultproxy.py`; the test reads both directly.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Settings
from tests.support.faultproxy import FaultProxy
from tests.support.faults import (STEADY_WITHIN, assert_drained, assert_one_case_each, start_loaded, system_env,
                                  unanswered, wait_steady)
from tests.support.private_pg import PrivateCluster
from tests.support.processes import System

pytestmark = pytest.mark.slow
LATENCY, LATENCY_FOR, BLACKHOLE = 0.5, 5.0, 5.0


@pytest.fixture
def proxies(private_pg: PrivateCluster, amqp_uri: str) -> Iterator[dict[str, FaultProxy]]:
    host, port = amqp_uri.split("@", 1)[1].split("/", 1)[0].split(":")
    p = {"postgres": FaultProxy(("127.0.0.1", private_pg.port)), "broker": FaultProxy((host, int(port)))}
    yield p
    for proxy in p.values():
        proxy.close()


def test_latency_a_blackhole_and_resets_lose_nothing(private_pg: PrivateCluster, proxies: dict[str, FaultProxy],
                                                     amqp_uri: str, tmp_path: Path):
    url = private_pg.create_database()
    direct = Settings(database_url=url, amqp_uri=amqp_uri, var_dir=tmp_path / "var", poll_interval=0.05, pool_size=2)
    pg, broker = proxies["postgres"], proxies["broker"]
    host_port = amqp_uri.split("@", 1)[1].split("/", 1)[0]
    proxied = Settings(database_url=url.replace(f":{private_pg.port}/", f":{pg.port}/"),
                       amqp_uri=amqp_uri.replace(host_port, f"127.0.0.1:{broker.port}"), var_dir=direct.var_dir,
                       poll_interval=direct.poll_interval, pool_size=direct.pool_size)
    system = System(system_env(proxied, tmp_path / "metrics"), tmp_path)
    try:
        load = start_loaded(system, direct, rate=10)
        try:
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
        steady_after = wait_steady(direct, accepted, since=faults_over)
        print(f"steady {steady_after:.1f}s after the last fault; {len(accepted)} accepted")

        assert resets, "no connection was carried through the proxies to be reset"
        assert not unanswered(load, since=faults_over), unanswered(load, since=faults_over)
        assert any(a.status == 201 for a in load.answers if a.at > faults_over + 1), "nothing accepted after"
        assert_drained(system, direct, tmp_path / "metrics")
        assert_one_case_each(direct, accepted)
        assert steady_after <= STEADY_WITHIN, f"steady only {steady_after:.1f}s after the last fault"
    finally:
        system.stop()

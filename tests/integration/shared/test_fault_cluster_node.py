"""A 3-node RabbitMQ cluster losing the node that leads the report path's quorum queues, `kill -9` under a steady
load: nothing lost, nothing duplicated, the consumers move on, no 500.

The cluster is three private nodes on ports of their own (tests/support/private_rabbit.py `PrivateRabbitCluster`,
never the machine's broker); every process gets `AMQP_URI` listing the three (shared/messaging/broker.py) and
connects to the first that answers. A quorum queue's leader is placed on the node its declaring client is
connected to (RabbitMQ's `client-local`), so the test decides where the leaders and the clients are:

- `clients on the leader`: the processes list the victim first and declare the queues: the node killed leads the
  queues *and* holds every connection, so every relay and consumer fails over while the queues elect new leaders.
- `clients on a follower`: the test declares the queues through the victim alone, the processes list another node
  first: only the leaders move, under consumers whose connections live on.

The node stays down until the checks are done (then, once, it is started again and rejoins with its replicas).
While it is down `/health` stays 200 (the queues have a majority) and names the
node, and `yishi status` reads every queue, warns of the node and exits 0. Time to steady is measured from the
kill, with the load going on for LOAD_AFTER of it; the time until the consumers moved on (a report accepted after
the kill has its case back in intake) is printed too.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kombu import Connection

from shared.config import Settings
from shared.messaging import broker, topology
from tests.support.faults import (QUEUES, STEADY_WITHIN, assert_drained, assert_one_case_each, metric_sum, reading,
                                  issues_progressed, start_loaded, system_env, unanswered,
                                  wait_steady)
from tests.support.private_rabbit import PrivateRabbitCluster
from tests.support.processes import ROOT, System, free_port, wait_until

pytestmark = pytest.mark.slow
LOAD_AFTER = 8.0  # seconds of load with the node down


@pytest.fixture(params=["clients on the leader", "clients on a follower"])
def clients(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def three_nodes() -> Iterator[PrivateRabbitCluster]:
    cluster = PrivateRabbitCluster(3, free_port).create()  # ~20 s: formed once for both placements
    yield cluster
    cluster.destroy()


@pytest.fixture
def rabbit_cluster(three_nodes: PrivateRabbitCluster) -> tuple[PrivateRabbitCluster, str]:
    """The cluster whole (a node an earlier test killed started again), and a vhost of this test's own."""
    return three_nodes.heal(), three_nodes.add_vhost()


def routed_ids(consumer: str, upstream: str, settings: Settings) -> list[int]:
    """Notification ids of the upstream's log whose event the consumer's queue is bound to: what it must apply."""
    from shared.runtime.spec import load_spec

    spec = load_spec(upstream)
    keys = set(topology.follows()[consumer][upstream])
    app = spec.application(settings)
    try:
        publish, routed, position = spec.publisher(app), [], 0
        while page := app.notifications_after(position, 1000):
            for n in page:
                published = publish(app.domain_event(n))
                if published is not None and (published.name in keys or topology.ALL in keys):
                    routed.append(n.id)
            position = page[-1].id
        return routed
    finally:
        app.close()


def test_losing_the_leading_node_of_a_three_node_cluster_loses_and_duplicates_nothing(
        rabbit_cluster: tuple[PrivateRabbitCluster, str], clients: str, pg_url: str, tmp_path: Path):
    cluster, vhost = rabbit_cluster
    victim, *others = cluster.nodes
    if clients == "clients on the leader":
        amqp_uri = ";".join(n.uri(vhost) for n in (victim, *others))
    else:
        with Connection(victim.uri(vhost)) as conn:
            topology.declare(conn)
        amqp_uri = ";".join(n.uri(vhost) for n in (*others, victim))
    settings = Settings(database_url=pg_url, amqp_uri=amqp_uri, var_dir=tmp_path / "var", poll_interval=0.05,
                        pool_size=2)
    env = system_env(settings, tmp_path / "metrics")
    system = System(env, tmp_path)
    try:
        load = start_loaded(system, settings, rate=10)
        try:
            queues = cluster.queues(vhost)
            for q in QUEUES:
                assert queues[q]["type"] == "quorum" and len(queues[q]["members"]) == 3, queues[q]
            leader = victim.node
            assert all(queues[q]["leader"] == leader for q in QUEUES), (leader, queues)
            time.sleep(1)
            victim.kill()
            killed_at = time.monotonic()
            # the consumers moved on: a report accepted after the kill has its case back in intake (read off
            # PostgreSQL: rabbitmqctl, an Erlang VM per call, would take the CPU the election needs)
            wait_until(lambda: _accepted_after(load, killed_at) & issues_progressed(settings), timeout=STEADY_WITHIN,
                       interval=0.2, message="a report accepted after the kill back in intake with its case")
            moved_on = time.monotonic() - killed_at
            time.sleep(max(0.0, LOAD_AFTER - moved_on))
        finally:
            load.stop()
        load_for = time.monotonic() - killed_at
        accepted = set(load.accepted)
        after = [a for a in load.answers if a.at > killed_at]
        print(f"{clients}: {victim.node} killed (it led {', '.join(QUEUES)}); answers {dict(load.statuses())}, "
              f"{load.retried} retried, {sum(a.status == 201 for a in after)} accepted after the kill; "
              f"consumers moved on {moved_on:.1f}s after it")
        steady_after = wait_steady(settings, accepted, since=killed_at)
        print(f"steady {steady_after:.1f}s after the kill (load for {load_for:.1f}s of it); {len(accepted)} accepted")

        # the node still down: /health, yishi status, where the queues' leaders went
        health = wait_until(lambda: _health_ok(system.procs[("intake", "web")].url), timeout=20, interval=0.5,
                            message="intake /health 200 with a node down")
        status = subprocess.run([sys.executable, "-m", "shared.ops.cli", "status"], cwd=ROOT, env=os.environ | env,
                                capture_output=True, text=True, timeout=120)
        queues = cluster.queues(vhost)
        assert all(queues[q]["leader"] != leader and len(queues[q]["online"]) == 2 for q in QUEUES), queues

        assert not unanswered(load, since=killed_at), unanswered(load, since=killed_at)
        assert after and all(a.status == 201 for a in after), "intake stopped accepting after the node died"
        down = broker.node_address(victim.amqp_uri)
        assert health["checks"]["broker"] == "ok" and health["broker_nodes"][down].startswith("unreachable"), health
        assert sum(state == "ok" for state in health["broker_nodes"].values()) == 2, health
        assert status.returncode == 0, status.stderr
        assert f"2 of 3 nodes answer; {down} unreachable" in status.stderr, status.stderr
        assert "consumes intake: consuming" in status.stdout and "consumes casework: consuming" in status.stdout, \
            status.stdout

        assert_drained(system, settings, tmp_path / "metrics")
        assert_one_case_each(settings, accepted)
        with reading("casework", settings) as casework, reading("intake", settings) as intake:  # exactly once, each
            assert casework.tracked_ids("intake") == routed_ids("casework", "intake", settings)
            assert intake.tracked_ids("casework") == routed_ids("intake", "casework", settings)
        for service in ("intake", "casework"):
            assert metric_sum(tmp_path / "metrics", "yishi_consumer_gaps_total", service=service) == 0
        assert steady_after <= STEADY_WITHIN, f"steady only {steady_after:.1f}s after the kill"

        if clients == "clients on the leader":  # the operator's step after: the node started again rejoins
            victim.start()
            wait_until(lambda: all(len(cluster.queues(vhost)[q]["online"]) == 3 for q in QUEUES), timeout=60,
                       interval=0.5, message="every replica online again")
            assert set(cluster.running_nodes()) == {n.node for n in cluster.nodes}
    finally:
        system.stop()


def _accepted_after(load, moment: float) -> set[str]:
    return {a.issue_id for a in list(load.answers) if a.status == 201 and a.at > moment and a.issue_id}


def _health_ok(url: str) -> dict | None:
    try:
        answer = requests.get(url + "/health", timeout=10)
    except requests.RequestException:
        return None
    return answer.json() if answer.status_code == 200 and "broker_nodes" in answer.json() else None

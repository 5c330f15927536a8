"""`yishi replay`: the archive from a position, in order, with the relay's own CloudEvents, to one queue only."""
import os
import subprocess
import sys

import pytest
from kombu import Connection, Queue

from shared.messaging import topology
from shared.messaging.relay import message_for
from shared.runtime.spec import built_services, load_spec
from tests.support.processes import ROOT
from tests.support.seeding import seeder, store_env


def yishi(settings, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "shared.ops.cli", "--quiet", *args], cwd=ROOT, capture_output=True,
                          text=True, env=os.environ | store_env(settings), timeout=timeout)


def relay_bodies(app, publish):
    """What the relay publishes for the whole log: [(sequence, routing key, body)]."""
    out, last, position = [], None, 0
    while page := app.notifications_after(position, 500):
        for n in page:
            event = publish(app.domain_event(n))
            if event is not None:
                body, props = message_for(app.name, event, n.id, last)
                out.append((n.id, props["routing_key"], body))
                last = n.id
            position = n.id
    return out


def drain_queue(amqp_uri, name):
    got = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (m := channel.basic_get(name, no_ack=True)) is not None:
            body = m.body if isinstance(m.body, bytes) else m.body.encode()
            got.append((m.delivery_info["routing_key"], body, m.properties.get("message_id")))
    return got


@pytest.mark.parametrize("service", built_services())
def test_replay_delivers_exactly_the_archive_from_the_position_in_order_to_that_queue_only(service, settings):
    spec = load_spec(service)
    app = spec.application(settings)
    seeder(service)(app, 30)
    archive = relay_bodies(app, spec.publisher(app))
    assert len(archive) >= 20
    start = archive[7][0] - 1 if archive[7][0] - 1 > archive[6][0] else archive[7][0]  # from between two events
    expected = [(key, body) for seq, key, body in archive if seq >= start]
    with Connection(settings.amqp_uri) as conn:
        topology.declare(conn, (service,))  # the other subscribers' queues, bound to <service>.events
        Queue("city-system--late", durable=True)(conn.channel()).declare()
    result = yishi(settings, "replay", service, "--from", str(start), "--to-queue", "city-system--late")
    assert result.returncode == 0, result.stderr
    assert f"replayed {len(expected)} events" in result.stdout

    got = drain_queue(settings.amqp_uri, "city-system--late")
    assert [(key, body) for key, body, _ in got] == expected  # same bodies (ids, prevsequence), same order
    assert [mid for _, _, mid in got] == [f"{service}-{seq}" for seq, _, _ in archive if seq >= start]
    with Connection(settings.amqp_uri) as conn:
        others = {q.name: conn.default_channel.queue_declare(q.name, passive=True)[1] for q in topology.all_queues()}
    assert set(others.values()) == {0}, f"other subscribers received something: {others}"
    app.close()


def test_replay_to_a_queue_that_does_not_exist_fails_and_says_so(settings):
    result = yishi(settings, "replay", "intake", "--from", "0", "--to-queue", "nobody-declared-this")
    assert result.returncode == 1
    assert "queue 'nobody-declared-this' does not exist" in result.stderr


def test_replay_of_a_service_that_is_not_built_is_a_usage_error(settings):
    result = yishi(settings, "replay", "nosuchservice", "--from", "0", "--to-queue", "q")
    assert result.returncode == 2 and "no built service 'nosuchservice'" in result.stderr

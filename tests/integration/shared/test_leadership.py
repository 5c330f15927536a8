"""One active relay per service log; a standby takes over when the leader dies (README, Guarantees)."""
import json

from kombu import Connection, Queue

from services.intake.application import IntakeApplication
from shared.messaging import topology
from tests.support.factories import issues
from tests.support.processes import wait_until


def test_standby_worker_takes_over_publishing_when_the_leader_is_killed(system, settings):
    with Connection(settings.amqp_uri) as conn:
        tap = Queue("tap", topology.events_exchange("intake"), routing_key="#", durable=True)
        tap(conn.default_channel).declare()
        app = IntakeApplication(settings)
        app.save(*issues(5))
        leader = system.start("intake", "worker")
        got = []

        def received(count):
            while (message := tap(conn.default_channel).get(no_ack=True)) is not None:
                got.append(json.loads(message.body)["sequence"])
            return len(set(got)) >= count

        wait_until(lambda: received(5), message="leader publishes")
        standby = system.start_another("intake", "worker", "standby")
        app.save(*issues(5, start=5))
        wait_until(lambda: received(10), message="leader publishes more")
        leader.kill()
        app.save(*issues(5, start=10))
        wait_until(lambda: received(15), timeout=30, message="standby takes over")
        app.close()
    assert sorted(set(got)) == list(range(1, 16))
    assert "leading" in standby.log_path.read_text()

"""The outbox relay on the real broker: in order, persistent, confirmed, resumable."""
import json

import pytest
from kombu import Connection, Queue

from services.intake.application import IntakeApplication
from services.intake.published import publish
from shared.messaging import topology
from shared.store.persistence import Database
from shared.messaging.relay import ConfirmedPublisher, Relay
from tests.support.factories import issues


@pytest.fixture
def intake(settings):
    app = IntakeApplication(settings)
    yield app
    app.close()


def drain(conn, queue):
    bodies = []
    while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
        bodies.append((json.loads(message.body), message))
    return bodies


def test_relay_publishes_the_log_in_order_and_resumes_after_its_position(settings, intake):
    with Connection(settings.amqp_uri) as conn:
        topology.declare(conn, ("intake",))
        tap = Queue("tap", topology.events_exchange("intake"), routing_key="#", durable=True)
        tap(conn.default_channel).declare()
        producer = ConfirmedPublisher(conn, "intake.events")

        intake.save(*issues(30))
        relay = Relay(intake, Database("intake", settings), publish, settings.amqp_uri, batch_size=7)
        while relay.run_once(producer):
            pass
        got = drain(conn, tap)
        assert [b["sequence"] for b, _ in got] == list(range(1, 31))
        assert [b["prevsequence"] for b, _ in got] == [None, *range(1, 30)]
        assert {m.properties["delivery_mode"] for _, m in got} == {2}
        assert {m.delivery_info["routing_key"] for _, m in got} == {"IssueReported"}

        # A second relay (a restart) starts from the confirmed position: nothing twice.
        intake.save(*issues(3, start=30))
        restarted = Relay(intake, Database("intake", settings), publish, settings.amqp_uri)
        restarted.run_once(producer)
        assert [b["sequence"] for b, _ in drain(conn, tap)] == [31, 32, 33]


def test_relay_keeps_private_events_private_and_chains_around_them(settings, intake):
    with Connection(settings.amqp_uri) as conn:
        topology.declare(conn, ("intake",))
        tap = Queue("tap", topology.events_exchange("intake"), routing_key="#", durable=True)
        tap(conn.default_channel).declare()
        first, second = issues(2)
        intake.save(first)
        first.record_case_progress("c-1", "open", first.reported_at, {"tier": "routine", "due": {}})
        intake.save(first)  # private: intake's own record of casework's news
        intake.save(second)
        relay = Relay(intake, Database("intake", settings), publish, settings.amqp_uri)
        relay.run_once(ConfirmedPublisher(conn, "intake.events"))
        got = [b for b, _ in drain(conn, tap)]
        assert [(b["sequence"], b["prevsequence"]) for b in got] == [(1, None), (3, 1)]
        for body in got:
            text = json.dumps(body, ensure_ascii=False)
            assert "13812345678" not in text and "张三" not in text and "1-502" not in text


def test_queue_left_by_an_older_release_with_other_arguments_is_used_not_fatal(settings):
    with Connection(settings.amqp_uri) as conn:
        old = topology.consumer_queue("casework", "intake")
        old.queue_arguments = {**old.queue_arguments, "x-delivery-limit": 20}
        old(conn.default_channel).declare()
        topology.declare(conn)  # warns, does not raise
        _, _, consumers = conn.default_channel.queue_declare(old.name, passive=True)
        assert consumers == 0


def test_batch_the_broker_refuses_is_not_marked_published(settings, intake):
    """A queue that rejects publishes (full, overflow=reject-publish) makes the broker nack: position stays."""
    with Connection(settings.amqp_uri) as conn:
        topology.declare(conn, ("intake",))
        full = Queue("full", topology.events_exchange("intake"), routing_key="#", durable=True,
                     queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
        full(conn.default_channel).declare()
        intake.save(*issues(3))
        relay = Relay(intake, Database("intake", settings), publish, settings.amqp_uri)
        with pytest.raises(RuntimeError, match="refused"):
            relay.run_once(ConfirmedPublisher(conn, "intake.events"))
        assert relay.state.load() == (0, None)

"""The exactly-once consumer on the real broker and store: duplicates skipped, poison dead-lettered."""
import json
import threading
from datetime import datetime, timezone

import psycopg
import pytest
from kombu import Connection, Producer

from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from shared.messaging import topology
from shared.messaging.consumer import Consumer
from shared.contracts import to_cloudevent
from shared.store.persistence import Database
from tests.support.infra import ADMIN_DSN
from tests.support.processes import wait_until

POISON = "POISON"


class FlakyCasework(CaseworkApplication):
    """casework whose handler fails on one poisoned report, as a bug in a policy would."""

    def policy(self, event, processing):
        if event.data.get("title") == POISON:
            raise RuntimeError("handler bug")
        super().policy(event, processing)


def issue_reported(seq, prev, title="路灯不亮"):
    issue_id = f"8a4f7c62-1d2b-4c1e-9a4f-{seq:012d}"
    data = {"issue_id": issue_id, "channel": "hotline", "category": "设施维护",
            "tags": [], "title": title, "description": "", "location": {"community": "幸福里"},
            "reporter_ref": "rp-1", "reported_at": "2026-11-23T02:00:00Z"}
    body = to_cloudevent("intake", "IssueReported", sequence=seq, prevsequence=prev, subject=issue_id,
                         time=datetime.now(timezone.utc), data=data)
    return json.dumps(body).encode()


@pytest.fixture
def running(settings):
    app = FlakyCasework(settings)
    consumer = Consumer(app, Database("casework", settings), "intake", settings.amqp_uri, max_attempts=3,
                        hold_timeout=1.0)
    stop = threading.Event()
    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        topology.declare(conn)
        thread = threading.Thread(target=consumer.run, args=(stop,))
        thread.start()
        producer = Producer(conn.default_channel, exchange=topology.events_exchange("intake"))

        def send(body: bytes) -> None:
            producer.publish(body, routing_key="IssueReported", content_type="application/json", delivery_mode=2)

        yield app, send, conn
        stop.set()
        thread.join()
    app.close()


def cases(app) -> int:
    return sum(isinstance(app.domain_event(n), Case.Opened) for n in app.notifications_after(0, 10_000))


def test_redelivered_and_replayed_messages_have_no_second_effect(running):
    app, send, _ = running
    for body in [issue_reported(1, None), issue_reported(1, None), issue_reported(2, 1), issue_reported(1, None)]:
        send(body)
    wait_until(lambda: cases(app) == 2, message="two cases")
    send(issue_reported(3, 2))
    wait_until(lambda: cases(app) == 3, message="third case")
    assert cases(app) == 3 and app.log_head() == 3  # each case: Opened (and dispatched) in one event


def test_poison_message_is_dead_lettered_and_later_messages_still_flow(running):
    app, send, conn = running
    send(issue_reported(1, None))
    send(issue_reported(2, 1, title=POISON))
    send(issue_reported(3, 2))
    send(b"{not a cloudevent")
    send(issue_reported(4, 3))
    wait_until(lambda: cases(app) == 3, message="cases 1, 3 and 4")
    dead_queue = topology.dead_letter_queue(topology.consumer_queue("casework", "intake").name)
    dead = []
    wait_until(lambda: dead.extend(filter(None, [dead_queue(conn.default_channel).get(no_ack=True)])) or len(dead) == 2,
               message="two dead letters")
    poison = next(m for m in dead if m.properties.get("message_id") != b"" and b"intake-2" in m.body)
    assert poison.headers["x-yishi-attempts"] == 3 and "handler bug" in poison.headers["x-yishi-error"]
    assert any("invalid envelope" in m.headers["x-yishi-error"] for m in dead)


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_store_connections_killed_mid_stream_lose_nothing_and_dead_letter_nothing(running, settings):
    app, send, conn = running
    send(issue_reported(1, None))
    wait_until(lambda: cases(app) == 1, message="first case")
    database = settings.database_url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        for seq in range(2, 31):
            send(issue_reported(seq, seq - 1))
            if seq % 10 == 0:  # every pooled connection of the service dies under it
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (database,))
    wait_until(lambda: _count_cases(settings.database_url) == 30, timeout=60, message="all 30 cases after the outages")
    assert _cases_in_log_order(settings.database_url) == list(range(1, 31))  # redeliveries applied in order
    dead_queue = topology.dead_letter_queue(topology.consumer_queue("casework", "intake").name)
    assert dead_queue(conn.default_channel).get(no_ack=True) is None


def _cases_in_log_order(url):
    """The upstream sequence of each opened case, in casework's own log order (the issue id ends with it)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT state FROM casework.casework_events WHERE topic LIKE '%Case.Opened' "
                            "ORDER BY notification_id").fetchall()
    return [int(json.loads(bytes(state))["issue_id"][-12:]) for (state,) in rows]


def _count_cases(url):
    """Read on a connection of our own: the application's pooled ones are the ones being killed."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM casework.casework_events WHERE topic LIKE '%Case.Opened'").fetchone()[0]


def _publish_then_consume(settings, bodies, app_class=FlakyCasework, **consumer_options):
    """Publish everything first, so that the consumer's first window holds all of it."""
    app = app_class(settings)
    consumer = Consumer(app, Database("casework", settings), "intake", settings.amqp_uri, max_attempts=3,
                        hold_timeout=1.0, **consumer_options)
    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        topology.declare(conn)
        producer = Producer(conn.default_channel, exchange=topology.events_exchange("intake"))
        for body in bodies:
            producer.publish(body, routing_key="IssueReported", content_type="application/json", delivery_mode=2)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    return app, stop, thread


def test_a_window_holding_a_poison_message_dead_letters_only_that_message(settings):
    bodies = [issue_reported(s, s - 1 or None, title=POISON if s == 7 else "路灯不亮") for s in range(1, 41)]
    app, stop, thread = _publish_then_consume(settings, bodies)
    try:
        wait_until(lambda: cases(app) == 39, message="every case but the poisoned one")
        with Connection(settings.amqp_uri) as conn:
            dead_queue = topology.dead_letter_queue(topology.consumer_queue("casework", "intake").name)
            wait_until(lambda: dead_queue(conn.default_channel).queue_declare(passive=True)[1] == 1,
                       message="one dead letter")
            assert b"intake-7" in dead_queue(conn.default_channel).get(no_ack=True).body
            queue = topology.consumer_queue("casework", "intake")
            wait_until(lambda: queue(conn.default_channel).queue_declare(passive=True)[1] == 0, message="drained")
        assert app.applied(Database("casework", settings), "intake", *range(1, 41)) == set(range(1, 41)) - {7}
    finally:
        stop.set()
        thread.join()
        app.close()


class StoreFailsOnce(CaseworkApplication):
    """casework whose store fails once, in the middle of the stream (a lock timeout, a failover)."""

    failed = False

    def process(self, *events):
        if not StoreFailsOnce.failed and any(e.sequence == 20 for e in events):
            StoreFailsOnce.failed = True
            raise psycopg.OperationalError("the store went away")
        return super().process(*events)


def test_a_store_failure_while_queue_depths_are_read_leaves_no_message_unsettled(settings):
    """Deliveries that arrive while the consumer reads queue depths are settled like any other.

    The consumer used to handle messages inside that read and swallow the store's failure there, leaving the
    message neither acked nor retried until a restart.
    """
    bodies = [issue_reported(s, s - 1 or None) for s in range(1, 61)]
    app, stop, thread = _publish_then_consume(settings, bodies, StoreFailsOnce, lag_interval=0.0, window=5)
    try:
        wait_until(lambda: cases(app) == 60, timeout=60, message="every case after the store came back")
        with Connection(settings.amqp_uri) as conn:
            queue = topology.consumer_queue("casework", "intake")
            assert queue(conn.default_channel).queue_declare(passive=True)[1] == 0
    finally:
        stop.set()
        thread.join()
        app.close()
    assert StoreFailsOnce.failed


def test_a_steady_stream_asks_the_store_nothing_before_applying(running):
    """Each message's predecessor was applied by this consumer just before: no tracking query per window,
    only the transaction that applies it (whose tracking row refuses a second copy)."""
    app, send, _ = running
    asked = []
    applied = app.applied
    app.applied = lambda db, upstream, *sequences: asked.append(sequences) or applied(db, upstream, *sequences)
    for seq in range(1, 11):
        send(issue_reported(seq, seq - 1 or None))
        wait_until(lambda: cases(app) == seq, message=f"case {seq}")
    assert asked == []
    send(issue_reported(5, 4))  # the relay republished one after a crash: refused by its tracking row
    send(issue_reported(11, 10))
    wait_until(lambda: cases(app) == 11, message="case 11")
    assert cases(app) == 11

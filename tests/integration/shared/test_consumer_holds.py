"""Held messages (waiting for their predecessor) on the real broker and store: no gap is skipped for good.

After a store outage RabbitMQ may redeliver a queue's messages out of order, the predecessor behind a prefetch
window full of its successors. Those successors are held unacked, so the broker has no credit left to deliver
the predecessor: the hold used to time out and apply them out of order, one by one.
"""
import json
import subprocess
import threading
import time
from urllib.parse import unquote

import psycopg
import pytest
from kombu import Connection, Producer

from services.casework.application import CaseworkApplication
from shared.messaging import topology
from shared.messaging.consumer import Consumer
from shared.store.persistence import Database
from tests.integration.shared.test_consumer import issue_reported
from tests.support.faults import queue_ready
from tests.support.processes import wait_until

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)
QUEUE = topology.consumer_queue("casework", "intake").name


def _cases_in_log_order(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT state FROM casework.casework_events WHERE topic LIKE '%Case.Opened' "
                            "ORDER BY notification_id").fetchall()
    return [int(json.loads(bytes(state))["issue_id"][-12:]) for (state,) in rows]


class Running:
    def __init__(self, settings, **options):
        self.settings = settings
        self.app = CaseworkApplication(settings)
        self.consumer = Consumer(self.app, Database("casework", settings), "intake", settings.amqp_uri, **options)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.consumer.run, args=(self.stop,))
        self.conn = Connection(settings.amqp_uri, transport_options={"confirm_publish": True})
        topology.declare(self.conn)
        self.producer = Producer(self.conn.default_channel, exchange=topology.events_exchange("intake"))

    def send(self, *sequences: int) -> None:
        for seq in sequences:
            self.producer.publish(issue_reported(seq, seq - 1 or None), routing_key="IssueReported",
                                  content_type="application/json", delivery_mode=2)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.conn.close()
        self.app.close()


def test_a_predecessor_behind_a_full_window_of_held_successors_is_applied_first(settings):
    running = Running(settings, prefetch=5, hold_timeout=3.0)
    try:
        running.send(1, *range(3, 12), 2)  # 2 sits behind 3..11: more successors than the prefetch window
        running.thread.start()
        wait_until(lambda: len(_cases_in_log_order(settings.database_url)) == 11, timeout=30, interval=0.2,
                   message="all 11 cases")
        # the in-order result: no case opened before its predecessor's, although 2 came last
        assert _cases_in_log_order(settings.database_url) == list(range(1, 12))
    finally:
        running.close()
    assert queue_ready(settings.amqp_uri, QUEUE) == 0  # nothing left unacked (a stopped consumer returns those)


def test_a_predecessor_that_comes_after_the_hold_timed_out_still_takes_effect(settings):
    running = Running(settings, hold_timeout=0.5)
    running.thread.start()
    try:
        running.send(1, 3)  # 2 is late: 3 waits, then applies without it
        wait_until(lambda: _cases_in_log_order(settings.database_url) == [1, 3], timeout=30, interval=0.2,
                   message="3 applied after its hold timed out")
        running.send(2)
        wait_until(lambda: sorted(_cases_in_log_order(settings.database_url)) == [1, 2, 3], timeout=30,
                   interval=0.2, message="the late 2 applied too")
        running.send(4)  # the stream goes on after the gap
        wait_until(lambda: len(_cases_in_log_order(settings.database_url)) == 4, timeout=30, interval=0.2,
                   message="4 applied")
    finally:
        running.close()
    assert queue_ready(settings.amqp_uri, QUEUE) == 0


def _close_connections(vhost: str) -> int:
    """Close, from the broker's side, every connection to this test's own vhost (as a missed heartbeat does)."""
    from tests.support.infra import rabbitmqctl_command

    command = rabbitmqctl_command()
    if command is None:
        pytest.skip("rabbitmqctl cannot be run here")
    listed = subprocess.run([*command, "-q", "list_connections", "vhost", "pid"], capture_output=True, text=True,
                            timeout=60).stdout.splitlines()
    pids = [line.split("\t")[1] for line in listed if line.split("\t")[0] == vhost]
    for pid in pids:
        subprocess.run([*command, "-q", "close_connection", pid, "test: closed by the broker"], capture_output=True,
                       timeout=60)
    return len(pids)


def test_a_consumer_whose_connection_the_broker_closed_reconnects_and_goes_on(settings):
    running = Running(settings)
    running.thread.start()
    try:
        running.send(1)
        wait_until(lambda: _cases_in_log_order(settings.database_url) == [1], timeout=30, interval=0.2,
                   message="the first case")
        assert _close_connections(unquote(settings.amqp_uri.rsplit("/", 1)[1])) >= 1
        closed_at = time.monotonic()
        running.conn.close()
        running.conn = Connection(settings.amqp_uri, transport_options={"confirm_publish": True})
        running.producer = Producer(running.conn.default_channel, exchange=topology.events_exchange("intake"))
        running.send(2, 3)
        wait_until(lambda: _cases_in_log_order(settings.database_url) == [1, 2, 3], timeout=30, interval=0.1,
                   message="the stream goes on after the broker closed the consumer's connection")
        print(f"consuming again {time.monotonic() - closed_at:.1f}s after the broker closed the connection")
    finally:
        running.close()

"""The outbox relay: publishes a service's notification log, in order, to `<service>.events`.

The log is the outbox. The relay reads after its saved position, publishes each public event
persistently with publisher confirms, and saves the new position only once the broker has
confirmed the whole batch. A crash in between republishes the batch: at-least-once, in order,
with the same CloudEvents ids, which consumers deduplicate.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kombu import Connection, Producer

from shared import metrics, topology
from shared.application import ServiceApplication
from shared.contracts import to_cloudevent
from shared.persistence import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    """An aggregate event as the world may see it: contract name, subject, time and public payload."""

    name: str
    subject: str
    time: datetime
    data: dict[str, Any]


PublishMap = Callable[[Any], Published | None]


class RelayState:
    """The relay's position in its own store: last notification handled, last one published."""

    def __init__(self, db: Database, stream: str):
        self.db = db
        self.stream = stream
        with db.transaction() as tx:
            tx.run("CREATE TABLE IF NOT EXISTS relay_position (stream TEXT PRIMARY KEY, "
                   "position BIGINT NOT NULL, last_sequence BIGINT)")

    def load(self) -> tuple[int, int | None]:
        rows = self.db.query("SELECT position, last_sequence FROM relay_position WHERE stream = ?", (self.stream,))
        return (rows[0][0], rows[0][1]) if rows else (0, None)

    def save(self, position: int, last_sequence: int | None) -> None:
        with self.db.transaction() as tx:
            tx.run("INSERT INTO relay_position (stream, position, last_sequence) VALUES (?, ?, ?) "
                   "ON CONFLICT (stream) DO UPDATE SET position = excluded.position, "
                   "last_sequence = excluded.last_sequence", (self.stream, position, last_sequence))


def message_for(service: str, published: Published, sequence: int, prev: int | None) -> tuple[bytes, dict]:
    """The AMQP body and properties of one integration event (also used by replay)."""
    body = to_cloudevent(service, published.name, sequence=sequence, prevsequence=prev,
                         subject=published.subject, time=published.time, data=published.data)
    return json.dumps(body, ensure_ascii=False).encode(), {
        "routing_key": published.name,
        "message_id": body["id"],
        # application/json so that nameko's own event handlers decode it as they are
        "content_type": "application/json",
        "content_encoding": "utf-8",
        "delivery_mode": 2,
        "headers": {"ce-type": body["type"], "ce-sequence": sequence},
    }


def _idle(conn: Connection, seconds: float) -> None:
    """Wait while reading the socket, so the broker's heartbeats are seen and ours are sent."""
    try:
        conn.drain_events(timeout=seconds)
    except TimeoutError:
        pass
    conn.heartbeat_check()


class Relay:
    def __init__(self, app: ServiceApplication, db: Database, publish: PublishMap, amqp_uri: str,
                 batch_size: int = 500, poll_interval: float = 0.05):
        self.app = app
        self.service = app.name
        self.publish = publish
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.state = RelayState(db, f"{self.service}.events")
        self.exchange = topology.events_exchange(self.service)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with Connection(self.amqp_uri, heartbeat=10,
                                transport_options={"confirm_publish": True}) as conn:
                    conn.ensure_connection(max_retries=3)
                    topology.declare(conn, (self.service,))
                    producer = Producer(conn.default_channel, exchange=self.exchange)
                    while not stop.is_set():
                        if self.run_once(producer) == 0:
                            _idle(conn, self.poll_interval)
                    return
            except Exception:
                log.exception("relay %s: broker or store failed; resuming from the saved position", self.service)
                stop.wait(1.0)

    def run_once(self, producer: Producer) -> int:
        """Publish one batch after the saved position; returns how many notifications it covered."""
        position, last_sequence = self.state.load()
        notifications = self.app.notifications_after(position, self.batch_size)
        for n in notifications:
            published = self.publish(self.app.domain_event(n))
            if published is not None:
                body, props = message_for(self.service, published, n.id, last_sequence)
                producer.publish(body, exchange=self.exchange, **props)  # returns once confirmed
                metrics.EVENTS_PUBLISHED.labels(self.service, published.name).inc()
                last_sequence = n.id
            position = n.id
        if notifications:
            self.state.save(position, last_sequence)
            metrics.RELAY_POSITION.labels(self.service).set(position)
        return len(notifications)

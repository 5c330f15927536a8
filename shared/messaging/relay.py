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
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import amqp
from kombu import Connection

from shared import metrics

from shared.messaging import topology
from shared.store.application import ServiceApplication
from shared.contracts import to_cloudevent
from shared.store.persistence import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    """An aggregate event as the world may see it: contract name, subject, time and public payload."""

    name: str
    subject: str
    time: datetime
    data: dict[str, Any]


PublishMap = Callable[[Any], Published | None]


LINGER = 0.005  # seconds a woken relay waits, so that a burst of commits is read in one pass
PREV_BY_QUEUE = "x-yishi-prev"  # header: consumer queue -> the previous sequence routed to it (0: none)


class RelayState:
    """The relay's position in its own store: last notification handled, last one published, and the last
    one routed to each consumer queue (queues bound to some event types only see a part of the log)."""

    def __init__(self, db: Database, stream: str):
        self.db = db
        self.stream = stream
        with db.transaction() as tx:
            db.lock(tx, "ddl")  # web and worker start together: IF NOT EXISTS alone races
            tx.run("CREATE TABLE IF NOT EXISTS relay_position (stream TEXT PRIMARY KEY, "
                   "position BIGINT NOT NULL, last_sequence BIGINT)")
            tx.run("CREATE TABLE IF NOT EXISTS relay_queue_position (stream TEXT NOT NULL, queue TEXT NOT NULL, "
                   "last_sequence BIGINT NOT NULL, PRIMARY KEY (stream, queue))")

    def load(self) -> tuple[int, int | None]:
        rows = self.db.query("SELECT position, last_sequence FROM relay_position WHERE stream = ?", (self.stream,))
        return (rows[0][0], rows[0][1]) if rows else (0, None)

    def load_queues(self) -> dict[str, int]:
        return dict(self.db.query("SELECT queue, last_sequence FROM relay_queue_position WHERE stream = ?",
                                  (self.stream,)))

    def save(self, position: int, last_sequence: int | None, queues: dict[str, int] | None = None) -> None:
        with self.db.transaction() as tx:
            tx.run("INSERT INTO relay_position (stream, position, last_sequence) VALUES (?, ?, ?) "
                   "ON CONFLICT (stream) DO UPDATE SET position = excluded.position, "
                   "last_sequence = excluded.last_sequence", (self.stream, position, last_sequence))
            for queue, last in (queues or {}).items():
                tx.run("INSERT INTO relay_queue_position (stream, queue, last_sequence) VALUES (?, ?, ?) "
                       "ON CONFLICT (stream, queue) DO UPDATE SET last_sequence = excluded.last_sequence",
                       (self.stream, queue, last))


def message_for(service: str, published: Published, sequence: int, prev: int | None,
                prev_by_queue: dict[str, int] | None = None) -> tuple[bytes, dict]:
    """The AMQP body and properties of one integration event (also used by replay)."""
    body = to_cloudevent(service, published.name, sequence=sequence, prevsequence=prev,
                         subject=published.subject, time=published.time, data=published.data)
    headers: dict[str, Any] = {"ce-type": body["type"], "ce-sequence": sequence}
    if prev_by_queue is not None:
        headers[PREV_BY_QUEUE] = prev_by_queue
    return json.dumps(body, ensure_ascii=False).encode(), {
        "routing_key": published.name,
        "message_id": body["id"],
        # application/json so that nameko's own event handlers decode it as they are
        "content_type": "application/json",
        "content_encoding": "utf-8",
        "delivery_mode": 2,
        "headers": headers,
    }


class Routes:
    """Which of our followers' queues each event type reaches, from the services' declared reactions."""

    def __init__(self, service: str):
        self._keys = {topology.consumer_queue(consumer, service).name: keys
                      for consumer, reacted in topology.follows().items()
                      for upstream, keys in reacted.items() if upstream == service}

    def queues(self, event_name: str) -> list[str]:
        return [q for q, keys in self._keys.items() if topology.ALL in keys or event_name in keys]


class ConfirmedPublisher:
    """Publishes a batch on a confirm-mode channel, then waits once until the broker confirmed all of it.

    Pipelined: one confirm round trip per batch instead of one per message (kombu's `confirm_publish`
    waits after every message). A nack or a timeout raises, so the batch's position is never saved.
    """

    def __init__(self, conn: Connection, exchange: str, timeout: float = 30.0):
        self.conn = conn
        self.exchange = exchange
        self.timeout = timeout
        self.channel = conn.channel()
        self.channel.confirm_select()
        self.channel.events["basic_ack"].add(self._acked)
        self.channel.events["basic_nack"].add(self._nacked)
        self._next_tag = 1
        self._outstanding: set[int] = set()
        self._nacks = 0

    def publish(self, body: bytes, props: dict[str, Any]) -> None:
        message = amqp.Message(body, content_type=props["content_type"], content_encoding=props["content_encoding"],
                               delivery_mode=props["delivery_mode"], message_id=props["message_id"],
                               application_headers=props["headers"])
        self.channel.basic_publish(message, exchange=self.exchange, routing_key=props["routing_key"])
        self._outstanding.add(self._next_tag)
        self._next_tag += 1

    def wait_for_confirms(self) -> None:
        deadline = time.monotonic() + self.timeout
        while self._outstanding and not self._nacks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._outstanding)} messages unconfirmed after {self.timeout}s")
            try:
                self.conn.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                pass
        if self._nacks:
            raise RuntimeError(f"broker refused {self._nacks} message(s)")

    def _settle(self, tag: int, multiple: bool) -> None:
        self._outstanding = {t for t in self._outstanding if t > tag} if multiple else self._outstanding - {tag}

    def _acked(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple)

    def _nacked(self, tag: int, multiple: bool) -> None:
        before = len(self._outstanding)
        self._settle(tag, multiple)
        self._nacks += before - len(self._outstanding)


def _idle(conn: Connection, seconds: float) -> None:
    """Wait while reading the socket, so the broker's heartbeats are seen and ours are sent."""
    try:
        conn.drain_events(timeout=seconds)
    except TimeoutError:
        pass
    conn.heartbeat_check()


class Relay:
    def __init__(self, app: ServiceApplication, db: Database, publish: PublishMap, amqp_uri: str,
                 batch_size: int = 500, poll_interval: float = 1.0):
        self.app = app
        self.service = app.name
        self.publish = publish
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.poll_interval = poll_interval  # the safety net: commits wake the relay (shared/store/wakeup.py)
        self.state = RelayState(db, f"{self.service}.events")
        self.exchange = topology.events_exchange(self.service)
        self.routes = Routes(self.service)
        self._saved: tuple[int, int | None, dict[str, int]] | None = None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with Connection(self.amqp_uri, heartbeat=10) as conn:
                    conn.ensure_connection(max_retries=3)
                    topology.declare(conn, (self.service,))
                    publisher = ConfirmedPublisher(conn, self.exchange.name)
                    while not stop.is_set():
                        seen = self.app.commits.count()
                        if self.run_once(publisher) < self.batch_size:  # the log's end was read: wait for a commit
                            self.app.commits.wait(seen, self.poll_interval)
                            _idle(conn, LINGER)  # and let the commits of the same moment join one batch
                    return
            except Exception:
                log.exception("relay %s: broker or store failed; resuming from the saved position", self.service)
                self._saved = None
                stop.wait(1.0)

    def run_once(self, publisher: ConfirmedPublisher) -> int:
        """Publish one batch after the saved position; returns how many notifications it covered."""
        if self._saved is None:  # ours while we lead; read again after any failure
            self._saved = (*self.state.load(), self.state.load_queues())
        position, last_sequence, by_queue = self._saved[0], self._saved[1], dict(self._saved[2])
        moved: dict[str, int] = {}
        notifications = self.app.notifications_after(position, self.batch_size)
        sent: Counter[str] = Counter()
        for n in notifications:
            published = self.publish(self.app.domain_event(n))
            if published is not None:
                queues = self.routes.queues(published.name)
                body, props = message_for(self.service, published, n.id, last_sequence,
                                          {q: by_queue.get(q, 0) for q in queues})
                publisher.publish(body, props)
                sent[published.name] += 1
                last_sequence = n.id
                for q in queues:
                    by_queue[q] = moved[q] = n.id
            position = n.id
        if notifications:
            publisher.wait_for_confirms()  # only a fully confirmed batch moves the position
            self.state.save(position, last_sequence, moved)
            self._saved = (position, last_sequence, by_queue)
            for name, count in sent.items():
                metrics.EVENTS_PUBLISHED.labels(self.service, name).inc(count)
            metrics.RELAY_POSITION.labels(self.service).set(position)
        return len(notifications)

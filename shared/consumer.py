"""The exactly-once consumer: applies one upstream log, in order, to a service's own store.

One queue per (consumer, upstream), bound to the whole upstream log, consumed by a single active
consumer. Each message: parse and validate the CloudEvent; skip it if its sequence is already
tracked (a redelivery or replay); otherwise apply it, the new events and the tracking row in one
transaction; ack only after that commit. A failing message is retried a bounded number of times,
then moved to the queue's dead-letter queue (counted) and acked, so it blocks nothing behind it.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

import psycopg
from eventsourcing.persistence import DataError, IntegrityError, PersistenceError
from kombu import Connection, Consumer as KombuConsumer, Message, Producer

from shared import metrics, topology
from shared.application import ServiceApplication
from shared.contracts import ContractError, IntegrationEvent, from_cloudevent
from shared.persistence import Database

log = logging.getLogger(__name__)


def _store_down(exc: Exception) -> bool:
    """A store failure (connection, read-only after failover, lock timeout), not a fault of the message."""
    if isinstance(exc, (IntegrityError, DataError)):
        return False
    return isinstance(exc, (PersistenceError, sqlite3.OperationalError, psycopg.OperationalError,
                            psycopg.InterfaceError))


class StoreUnavailable(RuntimeError):
    """The service's own store failed: stop consuming (unacked messages return in order) and wait."""


class Consumer:
    def __init__(self, app: ServiceApplication, db: Database, upstream: str, amqp_uri: str,
                 max_attempts: int = 5, prefetch: int = 100, hold_timeout: float = 5.0):
        self.app = app
        self.db = db
        self.service = app.name
        self.upstream = upstream
        self.amqp_uri = amqp_uri
        self.max_attempts = max_attempts
        self.prefetch = prefetch
        self.queue = topology.consumer_queue(self.service, upstream)
        self._dead_letter_producer: Producer | None = None
        self.hold_timeout = hold_timeout
        # messages waiting for their predecessor: prevsequence -> (message, sequence, since)
        self._held: dict[int, tuple[Message, int, float]] = {}
        with db.transaction() as tx:
            db.lock(tx, "ddl")
            tx.run("CREATE TABLE IF NOT EXISTS consumer_attempts (queue TEXT NOT NULL, sequence BIGINT NOT NULL, "
                   "attempts INTEGER NOT NULL, PRIMARY KEY (queue, sequence))")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._consume(stop)
            except StoreUnavailable:
                log.warning("consumer %s: store unavailable; waiting for it before consuming again", self.queue.name)
                self._wait_for_store(stop)
            except Exception:
                log.exception("consumer %s: connection lost; reconnecting", self.queue.name)
                stop.wait(1.0)

    def _wait_for_store(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            try:
                self.app.log_head()
                return
            except Exception:
                continue

    def _consume(self, stop: threading.Event) -> None:
        with Connection(self.amqp_uri, heartbeat=10) as conn, \
                Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as dl_conn:
            conn.ensure_connection(max_retries=3)
            topology.declare(conn)
            self._dead_letter_producer = Producer(dl_conn.default_channel, exchange=topology.DEAD_LETTERS)
            channel = conn.channel()
            channel.basic_qos(0, self.prefetch, False)
            self._held.clear()  # held messages belonged to the old channel: they are being redelivered
            with KombuConsumer(channel, queues=[self.queue], on_message=self.handle, no_ack=False):
                last_lag = 0.0
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
                    self._release_stale()
                    conn.heartbeat_check()
                    if time.monotonic() - last_lag > 5:
                        last_lag = time.monotonic()
                        self._report_lag(conn)

    def handle(self, message: Message, forced: bool = False) -> None:
        """Settle one message (ack or dead letter), or hold it until its predecessor is applied.

        `forced` applies it even though its predecessor is missing. Raises StoreUnavailable (nothing
        acked) when the service's own store fails.
        """
        pending = [(message, forced)]
        while pending:
            settled = self._settle(*pending.pop())
            if settled is not None and settled in self._held:
                pending.append((self._held.pop(settled)[0], False))  # its successor was waiting for it

    def _release_stale(self) -> None:
        """Apply, in sequence order, held messages whose predecessor did not come within hold_timeout.

        The predecessor was dead-lettered, or published before this queue existed: counted as a gap and
        applied anyway; a retried dead letter still applies later, because tracking is kept per sequence.
        """
        now = time.monotonic()
        for prev, (message, sequence, since) in sorted(self._held.items(), key=lambda item: item[1][1]):
            if now - since >= self.hold_timeout and prev in self._held:
                del self._held[prev]
                log.warning("consumer %s: %s-%s never came; applying %s-%s after it", self.queue.name,
                            self.upstream, prev, self.upstream, sequence)
                metrics.CONSUMER_GAPS.labels(self.service, self.upstream).inc()
                self.handle(message, forced=True)

    def _settle(self, message: Message, forced: bool) -> int | None:
        """Handle one message; returns its sequence once settled, None when it is held."""
        try:
            event = from_cloudevent(message.body)
        except ContractError as exc:
            self._dead_letter(message, f"invalid envelope: {exc} (field {exc.field})", "invalid")
            return None
        try:
            applied = self.app.applied(self.db, self.upstream, event.sequence, event.prevsequence)
        except Exception as exc:
            raise StoreUnavailable(self.service) from exc
        if event.sequence in applied:
            metrics.EVENTS_CONSUMED.labels(self.service, self.upstream, event.name, "duplicate").inc()
            message.ack()
            return event.sequence
        if not forced and event.prevsequence is not None and event.prevsequence not in applied:
            # A redelivery after a reconnect can come out of order: wait (unacked) for the predecessor.
            self._held[event.prevsequence] = (message, event.sequence, time.monotonic())
            return None
        self._apply_with_retries(message, event)
        return event.sequence

    def _apply_with_retries(self, message: Message, event: IntegrationEvent) -> None:
        # x-delivery-count counts every return of an unacked message, so a dead consumer raises it for its
        # whole prefetch window; only handler starts recorded here say this event took its consumer down.
        # First deliveries skip the write: a redelivery's count is at most one short.
        attempts = 0
        if (message.headers or {}).get("x-delivery-count"):
            attempts = self._handler_started(event.sequence)
        if attempts >= self.max_attempts:  # it took its consumer down that often
            self._dead_letter(message, f"its handler died {attempts} times without an ack", event.name, attempts)
            return
        while True:
            try:
                outcome = self._apply(event)
            except Exception as exc:
                if _store_down(exc):
                    raise StoreUnavailable(self.service) from None  # not the message's fault: reconnect later
                # a handler bug or bad data: bounded retry, never a silent ack
                attempts += 1
                log.exception("consumer %s: %s failed (attempt %d)", self.queue.name, event.id, attempts)
                if attempts >= self.max_attempts:
                    self._dead_letter(message, f"{type(exc).__name__}: {exc}", event.name, attempts)
                    return
                metrics.EVENTS_CONSUMED.labels(self.service, self.upstream, event.name, "retried").inc()
                # Retried here rather than requeued: prefetched successors must not overtake it.
                time.sleep(min(0.05 * 2 ** attempts, 2.0))
                continue
            metrics.EVENTS_CONSUMED.labels(self.service, self.upstream, event.name, outcome).inc()
            message.ack()
            return

    def _apply(self, event: IntegrationEvent) -> str:
        started = time.perf_counter()
        try:
            self.app.process(event)
        except IntegrityError:
            if self.app.applied(self.db, self.upstream, event.sequence):
                return "duplicate"  # a redelivery committed between our check and our write
            raise
        metrics.HANDLER_SECONDS.labels(self.service, self.upstream, event.name).observe(time.perf_counter() - started)
        return "applied"

    def _handler_started(self, sequence: int) -> int:
        """Record, committed before the handler runs, that it starts on this event; return earlier starts."""
        try:
            with self.db.transaction() as tx:
                row = tx.one("SELECT attempts FROM consumer_attempts WHERE queue = ? AND sequence = ?",
                             (self.queue.name, sequence))
                tx.run("INSERT INTO consumer_attempts (queue, sequence, attempts) VALUES (?, ?, 1) "
                       "ON CONFLICT (queue, sequence) DO UPDATE SET attempts = consumer_attempts.attempts + 1",
                       (self.queue.name, sequence))
        except Exception as exc:
            raise StoreUnavailable(self.service) from exc
        return row[0] if row else 0

    def _dead_letter(self, message: Message, error: str, event_name: str, attempts: int = 1) -> None:
        log.error("consumer %s: dead-lettering %s after %d attempt(s): %s", self.queue.name,
                  message.properties.get("message_id"), attempts, error)
        headers = dict(message.headers or {})
        headers.update({"x-yishi-error": error[:500], "x-yishi-attempts": attempts,
                        "x-yishi-queue": self.queue.name, "x-yishi-failed-at": time.time()})
        assert self._dead_letter_producer is not None
        self._dead_letter_producer.publish(
            message.body, routing_key=self.queue.name, headers=headers, delivery_mode=2, confirm_timeout=30,
            content_type=message.content_type, content_encoding=message.content_encoding,
            message_id=message.properties.get("message_id"))
        metrics.DEAD_LETTERS.labels(self.service, self.queue.name).inc()
        metrics.EVENTS_CONSUMED.labels(self.service, self.upstream, event_name, "dead_lettered").inc()
        message.ack()

    def _report_lag(self, conn: Any) -> None:
        try:
            _, depth, _ = conn.default_channel.queue_declare(self.queue.name, passive=True)
            metrics.CONSUMER_LAG.labels(self.service, self.queue.name).set(depth)
            _, dead, _ = conn.default_channel.queue_declare(f"{self.queue.name}.dead", passive=True)
            metrics.DEAD_LETTERS_WAITING.labels(self.service, f"{self.queue.name}.dead").set(dead)
        except Exception:
            log.debug("queue depth of %s unavailable", self.queue.name, exc_info=True)

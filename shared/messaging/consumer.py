"""The exactly-once consumer: applies one upstream log, in order, to a service's own store, a window at a time.

One queue per (consumer, upstream), bound to the routing keys the consumer reacts to, consumed by a single
active consumer. Deliveries are gathered into a window (up to `window` messages, or `window_seconds` after
the first), then settled together: envelopes validated, already-applied sequences found (remembered, or in
one query) and acked, and the rest applied in one transaction (their effects and one tracking row each) and
acked after that commit. A window whose application fails for a reason other than the store is retried member by member,
so a poison message is dead-lettered alone after a bounded number of tries and blocks nothing behind it.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError
from kombu import Connection, Consumer as KombuConsumer, Message, Producer

from shared import metrics

from shared.messaging import topology
from shared.store.application import ServiceApplication
from shared.contracts import ContractError, IntegrationEvent, from_cloudevent
from shared.store.persistence import Database, store_failed
from shared.messaging.relay import PREV_BY_QUEUE

log = logging.getLogger(__name__)


SETTLED_KEPT = 4096  # recent sequences a consumer remembers as applied: a successor's predecessor is among them


class StoreUnavailable(RuntimeError):
    """The service's own store failed: stop consuming (unacked messages return in order) and wait."""


@dataclass
class Delivery:
    message: Message
    event: IntegrationEvent
    prev: int | None  # the previous upstream sequence sent to this queue: applied before this one
    held_since: float | None = None

    @property
    def redelivered(self) -> bool:
        return bool((self.message.headers or {}).get("x-delivery-count"))


class Consumer:
    def __init__(self, app: ServiceApplication, db: Database, upstream: str, amqp_uri: str,
                 max_attempts: int = 5, prefetch: int = 500, hold_timeout: float = 5.0,
                 window: int = 200, window_seconds: float = 0.01, lag_interval: float = 5.0,
                 max_prefetch: int | None = None):
        self.app = app
        self.db = db
        self.service = app.name
        self.upstream = upstream
        self.amqp_uri = amqp_uri
        self.max_attempts = max_attempts
        self.prefetch = prefetch
        self.max_prefetch = max_prefetch or prefetch * 8  # held messages at most, subscribed past a full window
        self._limit = prefetch  # unacked messages the broker may have delivered on this channel
        self.window = window
        self.window_seconds = window_seconds
        self.lag_interval = lag_interval
        self.queue = topology.consumer_queue(self.service, upstream)
        self._dead_letter_producer: Producer | None = None
        self.hold_timeout = hold_timeout
        self._inbox: list[Message] = []  # filled by the broker's callbacks only; settled by `_flush`
        self._held: dict[int, Delivery] = {}  # sequence -> a delivery waiting for its predecessor
        self._unacked: set[int] = set()  # delivery tags taken from the inbox and not yet acked
        self._settled: dict[int, None] = {}  # upstream sequences applied (or found applied) this session, oldest first
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
            self._limit = self.prefetch
            # Unacked messages of an old channel are being redelivered: what was held or buffered is void.
            self._held.clear()
            self._inbox.clear()
            self._unacked.clear()
            self._settled.clear()
            with KombuConsumer(channel, queues=[self.queue], on_message=self._inbox.append,
                               no_ack=False) as subscription:
                metrics.CONSUMER_CONNECTED.labels(self.service, self.queue.name).set(1)
                try:
                    self._consume_on(conn, channel, subscription, stop)
                finally:
                    metrics.CONSUMER_CONNECTED.labels(self.service, self.queue.name).set(0)

    def _consume_on(self, conn: Connection, channel: Any, subscription: KombuConsumer, stop: threading.Event) -> None:
        last_lag = 0.0
        while not stop.is_set():
            self._fill(conn)
            if self._inbox:
                self._flush()
            self._make_room(channel, subscription)
            self._release_stale()
            conn.heartbeat_check()
            if time.monotonic() - last_lag > self.lag_interval:
                last_lag = time.monotonic()
                if self._report_lag(conn) == 0:
                    # The broker cancelled us (a quorum queue's leader moved, a missed heartbeat) and
                    # nothing said so: start over rather than wait on a channel with no consumer.
                    raise ConnectionError(f"{self.queue.name} has no consumer; reconnecting")

    def _fill(self, conn: Connection) -> None:
        """Wait up to 0.5 s for a delivery, then gather what arrives within the window."""
        try:
            conn.drain_events(timeout=0.5)
        except TimeoutError:
            return
        closes = time.monotonic() + self.window_seconds
        while len(self._inbox) < self.window and (remaining := closes - time.monotonic()) > 0:
            try:
                conn.drain_events(timeout=remaining)
            except TimeoutError:
                return

    # settling ----------------------------------------------------------------------------------------
    def _flush(self) -> None:
        messages = self._inbox[:]
        self._inbox.clear()  # cleared, not replaced: the broker's callback appends to this very list
        self._unacked.update(m.delivery_tag for m in messages)
        deliveries = []
        for message in messages:
            try:
                event = from_cloudevent(message.body)
                deliveries.append(Delivery(message, event, self._previous(message, event)))
            except ContractError as exc:
                self._dead_letter(message, f"invalid envelope: {exc} (field {exc.field})", "invalid")
        self._settle(deliveries)

    def _previous(self, message: Message, event: IntegrationEvent) -> int | None:
        """The predecessor on this queue: the relay names it per queue, since a queue bound to some event types
        sees only part of the log; a message without that header (a replay) follows the whole log."""
        by_queue = (message.headers or {}).get(PREV_BY_QUEUE)
        if isinstance(by_queue, dict) and self.queue.name in by_queue:
            return by_queue[self.queue.name] or None
        return event.prevsequence

    def _settle(self, deliveries: list[Delivery], forced: frozenset[int] = frozenset()) -> None:
        """Ack what was applied before, apply what is in order, hold what waits for its predecessor.

        `forced` sequences apply even though their predecessor is missing. Raises StoreUnavailable (nothing
        acked that was not applied) when the service's own store fails.
        """
        pool = sorted([*self._held.values(), *deliveries], key=lambda d: d.event.sequence)
        self._held.clear()
        applied = self._applied_of(pool)
        ready: list[Delivery] = []
        for d in pool:
            seq, prev = d.event.sequence, d.prev
            if seq in applied:  # a redelivery, a replay, or a second copy in this window
                self._ack([d], "duplicate")
            elif prev is None or prev in applied or seq in forced:
                ready.append(d)
                applied.add(seq)
            else:  # a redelivery after a reconnect can come out of order: wait (unacked) for the predecessor
                d.held_since = d.held_since or time.monotonic()
                self._held[seq] = d
        self._apply(ready)

    def _applied_of(self, pool: list[Delivery]) -> set[int]:
        """Which of the pool's sequences and predecessors are applied, asking the store only what this session
        has not settled itself: in a steady stream each predecessor was just applied here, and a first delivery
        is not applied yet — should it be (a relay's republish), its tracking row's uniqueness refuses it."""
        known = self._settled
        wanted = {d.prev for d in pool if d.prev is not None and d.prev not in known}
        wanted |= {d.event.sequence for d in pool if d.redelivered and d.event.sequence not in known}
        found = set()
        if wanted:
            try:
                found = self.app.applied(self.db, self.upstream, *wanted)
            except Exception as exc:
                raise StoreUnavailable(self.service) from exc
        return found | {s for d in pool for s in (d.event.sequence, d.prev) if s in known}

    def _make_room(self, channel: Any, subscription: KombuConsumer) -> None:
        """Held messages keep their prefetch credit: when they fill the window, the predecessor they wait for
        sits behind them in the queue, out of the broker's reach, and the hold would time out and apply them out
        of order. Then subscribe again with room for as many more (up to max_prefetch in all), so it comes.

        A quorum queue with a single active consumer refuses basic.get, and a prefetch changed on a channel
        applies to its next subscriptions only. Held messages stay this channel's, acked by their tags."""
        metrics.CONSUMER_HELD.labels(self.service, self.queue.name).set(len(self._held))
        room = min(self._limit, self.max_prefetch - self._limit)
        if len(self._held) < self._limit or room <= 0:
            return  # every message the broker may deliver is held only when held == limit: nothing in flight
        log.info("consumer %s: %d held fill the window; room for %d more", self.queue.name, len(self._held), room)
        subscription.cancel()
        channel.basic_qos(0, room, False)
        subscription.consume()
        self._limit += room

    def _release_stale(self) -> None:
        """Apply, in sequence order, held messages whose predecessor did not come within hold_timeout.

        The predecessor was dead-lettered, or published before this queue existed: counted as a gap and
        applied anyway; a retried dead letter still applies later, because tracking is kept per sequence.
        """
        if not self._held:
            return
        oldest = min(self._held.values(), key=lambda d: d.event.sequence)
        if time.monotonic() - (oldest.held_since or 0) < self.hold_timeout:
            return
        log.warning("consumer %s: %s-%s never came; applying %s-%s after it", self.queue.name, self.upstream,
                    oldest.prev, self.upstream, oldest.event.sequence)
        metrics.CONSUMER_GAPS.labels(self.service, self.upstream).inc()
        self._settle([], forced=frozenset({oldest.event.sequence}))

    def _apply(self, ready: list[Delivery]) -> None:
        """Apply in order: runs of first deliveries in one transaction each; a redelivery alone."""
        run: list[Delivery] = []
        for d in ready:
            if d.redelivered:
                self._apply_window(run)
                run = []
                self._apply_alone(d)
            else:
                run.append(d)
        self._apply_window(run)

    def _apply_window(self, window: list[Delivery]) -> None:
        for _ in range(3):
            if not window:
                return
            try:
                self._process(window)
            except IntegrityError:
                # A redelivery committed meanwhile, or a command changed an aggregate: drop what is applied now
                # and decide the rest again on fresh aggregates.
                window = self._without_applied(window)
                continue
            except Exception as exc:
                if store_failed(exc):
                    raise StoreUnavailable(self.service) from None
                break  # a handler bug or bad data: find the member that causes it
            self._ack(window, "applied")
            return
        for d in window:
            self._apply_alone(d)

    def _without_applied(self, window: list[Delivery]) -> list[Delivery]:
        try:
            applied = self.app.applied(self.db, self.upstream, *(d.event.sequence for d in window))
        except Exception as exc:
            raise StoreUnavailable(self.service) from exc
        done = [d for d in window if d.event.sequence in applied]
        self._ack(done, "duplicate")
        return [d for d in window if d.event.sequence not in applied]

    def _apply_alone(self, d: Delivery) -> None:
        """One message, with bounded retries; dead-lettered when it keeps failing or kept killing its consumer."""
        # x-delivery-count counts every return of an unacked message, so a dead consumer raises it for its
        # whole prefetch window; only handler starts recorded here say this event took its consumer down.
        attempts = self._handler_started(d.event.sequence) if d.redelivered else 0
        if attempts >= self.max_attempts:
            self._dead_letter(d.message, f"its handler died {attempts} times without an ack", d.event.name, attempts)
            return
        while True:
            try:
                self._process([d])
            except IntegrityError:
                if self._without_applied([d]):
                    raise StoreUnavailable(self.service) from None  # neither applied nor appliable: retry later
                return
            except Exception as exc:
                if store_failed(exc):
                    raise StoreUnavailable(self.service) from None  # not the message's fault: reconnect later
                attempts += 1
                log.exception("consumer %s: %s failed (attempt %d)", self.queue.name, d.event.id, attempts)
                if attempts >= self.max_attempts:
                    self._dead_letter(d.message, f"{type(exc).__name__}: {exc}", d.event.name, attempts)
                    return
                metrics.EVENTS_CONSUMED.labels(self.service, self.upstream, d.event.name, "retried").inc()
                # Retried here rather than requeued: prefetched successors must not overtake it.
                time.sleep(min(0.05 * 2 ** attempts, 2.0))
                continue
            self._ack([d], "applied")
            return

    def _process(self, window: list[Delivery]) -> None:
        started = time.perf_counter()
        self.app.process(*(d.event for d in window))
        elapsed = (time.perf_counter() - started) / len(window)
        for d in window:
            metrics.HANDLER_SECONDS.labels(self.service, self.upstream, d.event.name).observe(elapsed)

    def _ack(self, deliveries: list[Delivery], outcome: str) -> None:
        if not deliveries:
            return
        tags = {d.message.delivery_tag for d in deliveries}
        if tags == self._unacked and len(tags) > 1:  # nothing else is unacked: one frame acks the whole window
            max(deliveries, key=lambda d: d.message.delivery_tag).message.ack(multiple=True)
        else:
            for d in deliveries:
                d.message.ack()
        self._unacked -= tags
        for d in deliveries:
            self._settled[d.event.sequence] = None
            metrics.EVENTS_CONSUMED.labels(self.service, self.upstream, d.event.name, outcome).inc()
        while len(self._settled) > SETTLED_KEPT:
            del self._settled[next(iter(self._settled))]

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
        self._unacked.discard(message.delivery_tag)

    def _report_lag(self, conn: Any) -> int | None:
        """Queue depths for the metrics; returns how many consumers the queue has (None: unknown).

        Deliveries that arrive meanwhile only join the inbox."""
        try:
            _, depth, consumers = conn.default_channel.queue_declare(self.queue.name, passive=True)
            metrics.CONSUMER_LAG.labels(self.service, self.queue.name).set(depth)
            _, dead, _ = conn.default_channel.queue_declare(f"{self.queue.name}.dead", passive=True)
            metrics.DEAD_LETTERS_WAITING.labels(self.service, f"{self.queue.name}.dead").set(dead)
            return consumers
        except Exception:
            log.debug("queue depth of %s unavailable", self.queue.name, exc_info=True)
            return None

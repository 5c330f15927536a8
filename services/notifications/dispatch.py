"""The dispatcher (投递): sends due deliveries, one attempt each, and records every outcome.

It runs apart from the ordered upstream consumer (which only records decisions), so a slow or dead
receiver never holds back the events behind it. Due deliveries are found in the `deliveries` read
model; the Delivery aggregate is the truth and is checked before each attempt.

Exactly once in effect: a decision is a Delivery with a deterministic id, recorded once with its
upstream event's tracking row. A crash between a send and its record sends it again with the same
webhook id (the idempotency key), which receivers dedupe on.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from prometheus_client import Counter

from services.notifications.application import NotificationsApplication
from services.notifications.channels import Channel, DeliveryError, NotConfigured
from services.notifications.domain import RetryPolicy
from services.notifications.projections import due_deliveries
from shared.masking import mask_text
from shared.store.persistence import Database

log = logging.getLogger(__name__)
ATTEMPTS = Counter("yishi_delivery_attempts_total",
                   "Delivery attempts by outcome (delivered|retried|failed|skipped)", ["channel", "outcome"])


class Dispatcher:
    def __init__(self, app: NotificationsApplication, db: Database, channels: dict[str, Channel],
                 retry: RetryPolicy, batch_size: int = 100):
        self.app = app
        self.db = db
        self.channels = channels
        self.retry = retry
        self.batch_size = batch_size

    def due(self, exclude: Iterable[str] = ()) -> list[str]:
        return due_deliveries(self.db, self.app.clock().timestamp(), self.batch_size, exclude)

    def run_once(self, each: Callable[[Callable[[str], Any], list[str]], Any] | None = None) -> int:
        """Attempt every due delivery once (through `each`, e.g. a green pool's map); returns how many."""
        ids = self.due()
        list((each or map)(self.attempt, ids))
        return len(ids)

    def attempt(self, delivery_id: str) -> str | None:
        """One attempt at one delivery; returns its status afterwards (None: not due after all)."""
        delivery = self.app.repository.get(UUID(delivery_id))
        now = self.app.clock()
        if not delivery.due(now):
            return None  # the read model lags behind the aggregate: already done, or not yet due
        channel = self.channels.get(delivery.channel)
        try:
            if channel is None:
                raise NotConfigured(f"no {delivery.channel} channel configured")
            to = channel.send(delivery, now)
        except NotConfigured as exc:
            delivery.skip(now, str(exc))
        except DeliveryError as exc:
            delivery.record_failure(self.app.clock(), mask_text(str(exc))[:300], exc.permanent, self.retry)
        except Exception as exc:  # a bug in an adapter: retried like a failure, never lost
            log.exception("delivery %s: %s adapter failed", delivery_id, delivery.channel)
            delivery.record_failure(self.app.clock(), f"{type(exc).__name__}", False, self.retry)
        else:
            delivery.delivered(self.app.clock(), to)
        try:
            self.app.save(delivery)
        except IntegrityError:  # another dispatcher recorded this attempt first; the receiver dedupes
            log.warning("delivery %s: outcome recorded concurrently", delivery_id)
            return None
        outcome = "retried" if delivery.status == "pending" else delivery.status
        ATTEMPTS.labels(delivery.channel, outcome).inc()
        return delivery.status

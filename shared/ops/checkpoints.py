"""Checkpoints of the audit chains (审计锚点): a log whose tail was cut, or rewritten whole, is detectable.

A hash chain alone cannot show a log that lost its last events, nor one whose editor recomputed every
later hash. So every service records, now and then, an `AuditCheckpointed` event in its own log: the
log position it covers, how many events the log held up to there, and a digest of every chain's head
(aggregate, version, hash) at that position. The relay publishes it on `<service>.events` like any
public event, so outside subscribers (city systems, a webhook receiver) hold copies the database's
owner cannot take back. `yishi audit verify` checks every checkpoint in the log against the log, and
`--checkpoint FILE` checks one held outside (a cut tail shows: the log no longer reaches its position,
or no longer reproduces its digest).
"""
from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event
from eventsourcing.utils import register_topic

from shared.audit import Audited, ChainChecker, heads_digest
from shared.messaging.relay import Published

# Logs written before shared/ was regrouped name this module by its old path.
register_topic("shared.checkpoints", sys.modules[__name__])

INTERVAL = float(os.environ.get("YISHI_AUDIT_CHECKPOINT_SECONDS", "300"))


def checkpoints_id(service: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"yishi:{service}:audit-checkpoints")


class AuditCheckpoints(Audited):
    """One per service: its checkpoints, themselves on a hash chain."""

    @event("Started")
    def __init__(self, service: str):
        self.service = service
        self.position = 0
        self.at: datetime | None = None

    @staticmethod
    def create_id(service: str) -> UUID:
        return checkpoints_id(service)

    @event("Checkpointed")
    def checkpoint(self, position: int, events: int, aggregates: int, digest: str, at: datetime) -> None:
        self.position, self.at = position, at

    @event("Rebased")
    def rebase(self, position: int, step: str, aggregates: int, at: datetime) -> None:
        """A recorded migration (`yishi migrate`) rewrote the log up to `position` and re-chained `aggregates`
        chains: the checkpoints before it no longer describe the log and are superseded (this record is itself
        on the book's chain; copies of them held outside still show the rewrite)."""


def published(event: Any) -> Published | None:
    """The integration event of a checkpoint (the `AuditCheckpointed` contract)."""
    if not isinstance(event, AuditCheckpoints.Checkpointed):
        return None
    return Published("AuditCheckpointed", str(event.originator_id), event.timestamp, {
        "position": event.position, "events": event.events, "aggregates": event.aggregates,
        "digest": event.digest, "checkpointed_at": event.at.isoformat().replace("+00:00", "Z")})


def with_checkpoints(publisher: Any) -> Any:
    """A service's relay map, plus its checkpoints (wrap the spec's `publisher` with it)."""
    def build(app: Any) -> Any:
        own = publisher(app)
        return lambda e: published(e) or own(e)
    return build


class Checkpointer:
    """The ticker that records a checkpoint every INTERVAL seconds once the log has moved.

    It follows the log incrementally (the first run reads it whole). Two instances racing save the
    same next version of the checkpoints aggregate: one wins, the other's conflict is dropped.
    """

    name = "audit-checkpoints"

    def __init__(self, interval: float = INTERVAL, page: int = 1000):
        self.interval, self.page = interval, page
        self.checkers: dict[Any, ChainChecker] = {}
        self.position = self.events = 0
        self.moved = 0  # the last position holding an event other than a checkpoint
        self.since: datetime | None = None

    def __call__(self, app: Any, db: Any = None) -> bool:
        from eventsourcing.persistence import IntegrityError

        now = app.clock()
        self.since = self.since or now
        book = self._book(app)
        last = book.at if book else None
        if (now - (last or self.since)).total_seconds() < self.interval:
            return False
        self._follow(app)
        if book and self.moved <= book.position:  # nothing since the last checkpoint but itself
            return False
        aggregates, digest = heads_digest(self.checkers.values())
        book = book or AuditCheckpoints(app.name)
        book.checkpoint(self.position, self.events, aggregates, digest, now)
        try:
            app.save(book)
        except IntegrityError:  # another instance checkpointed first
            return False
        return True

    def _book(self, app: Any) -> AuditCheckpoints | None:
        from eventsourcing.application import AggregateNotFoundError

        try:
            return app.repository.get(checkpoints_id(app.name))
        except AggregateNotFoundError:
            return None

    def _follow(self, app: Any) -> None:
        while page := app.recorder.select_notifications(self.position, self.page, inclusive_of_start=False):
            for n in page:
                self.checkers.setdefault(n.originator_id, ChainChecker(n.originator_id)).check(app.mapper, n)
                if n.originator_id != checkpoints_id(app.name):
                    self.moved = n.id
            self.position, self.events = page[-1].id, self.events + len(page)


def recorded(app: Any) -> list[dict[str, Any]]:
    """Every checkpoint in the service's own log since its last recorded migration, oldest first, as published."""
    held: list[dict[str, Any]] = []
    for stored in app.recorder.select_events(checkpoints_id(app.name)):
        if stored.topic.endswith("AuditCheckpoints.Rebased"):
            held = []
        elif stored.topic.endswith("AuditCheckpoints.Checkpointed"):
            held.append(published(app.mapper.to_domain_event(stored)).data)
    return held


def rebase(app: Any, step: str, aggregates: int) -> None:
    """Record that migration `step` rewrote the log, then checkpoint the log as it now is."""
    follower = Checkpointer()
    follower._follow(app)
    book = follower._book(app) or AuditCheckpoints(app.name)
    book.rebase(follower.position, step, aggregates, app.clock())
    book.checkpoint(follower.position, follower.events, *heads_digest(follower.checkers.values()), app.clock())
    app.save(book)


def audited(spec: Any) -> Any:
    """A service's spec with its checkpoints: published by its relay, recorded by a ticker of its worker."""
    from dataclasses import replace

    from shared.runtime.spec import Ticker

    return replace(spec, publisher=with_checkpoints(spec.publisher),
                   tickers=spec.tickers + (Ticker(Checkpointer.name, min(30.0, INTERVAL), Checkpointer()),))

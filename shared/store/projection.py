"""Read models: projections of a service's own log, rows and position committed together; and views of
upstream events, rows and tracking committed together.

A projection whose `version` changes is dropped and rebuilt from the start of the log, so a
read model can always be thrown away and replayed (DESIGN.md §2). A view copies nothing into the
service's own log: `yishi rebuild` rebuilds it from the upstream's archive (shared/ops/rebuild.py).
"""
from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from shared import metrics
from shared.store.persistence import Database, Transaction

if TYPE_CHECKING:  # the application holds its views: this module is below it
    from shared.store.application import ServiceApplication

log = logging.getLogger(__name__)


LINGER = 0.005  # seconds a woken follower waits, so that a burst of commits is read in one pass


class Projection(ABC):
    name: str
    version: int = 1

    @abstractmethod
    def create(self, tx: Transaction) -> None: ...

    @abstractmethod
    def drop(self, tx: Transaction) -> None: ...

    @abstractmethod
    def apply(self, tx: Transaction, event: Any) -> None:
        """Apply one of the service's own aggregate events; ignore the ones it does not need."""


class UpstreamView(Projection):
    """A read model of one upstream service's events, applied in the consumer's transaction.

    The rows and the events' tracking commit together, so the view holds exactly the upstream events the
    service has applied. Its writers: the consumer (under the view's lock, see lock_projection) and a rebuild.
    """

    upstream: str

    @abstractmethod
    def apply(self, tx: Transaction, event: Any) -> None:
        """Apply one upstream IntegrationEvent; ignore the ones it does not need."""


def ensure_tables(db: Database, projections: list[Projection]) -> list[Projection]:
    """Create missing read-model tables; return the projections whose stored version is stale."""
    stale = []
    with db.transaction() as tx:
        db.lock(tx, "projections")
        tx.run("CREATE TABLE IF NOT EXISTS projection_position (name TEXT PRIMARY KEY, "
               "version INTEGER NOT NULL, position BIGINT NOT NULL)")
        for p in projections:
            row = tx.one("SELECT version FROM projection_position WHERE name = ?", (p.name,))
            if row is None:
                _reset(tx, p)
            elif row[0] != p.version:
                stale.append(p)
    return stale


def lock_projection(db: Database, tx: Transaction, name: str) -> None:
    """Serialise writers of one read model: the leader's projector and a rebuild's swap.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the write transaction (BEGIN IMMEDIATE) is one.
    """
    db.lock(tx, f"projection.{name}")


def catch_up(app: ServiceApplication, db: Database, projections: list[Projection], batch_size: int = 2000) -> None:
    """Bring the read models every writer applies (`ServiceApplication.with_log`) to the log's head before this
    process writes: a new or changed one is built from the start, one the projector kept before goes on from its
    position. Under each model's lock, so writers wait rather than write past it (a changed model's replay holds
    them for its length: `yishi rebuild` first, online, for a long log)."""
    ensure_tables(db, projections)
    for p in projections:
        with db.transaction() as tx:
            lock_projection(db, tx, p.name)
            version, position = tx.one("SELECT version, position FROM projection_position WHERE name = ?", (p.name,))
            if version != p.version:  # read again under the lock: another process may have rebuilt it meanwhile
                _reset(tx, p)
                position = 0
            start = position
            while notifications := app.notifications_after(position, batch_size):
                for n in notifications:
                    p.apply(tx, app.domain_event(n))
                position = notifications[-1].id
            if position != start:
                tx.run("UPDATE projection_position SET position = ? WHERE name = ?", (position, p.name))
                log.info("%s: read model %s caught up from %d to %d", app.name, p.name, start, position)


def _reset(tx: Transaction, projection: Projection) -> None:
    projection.drop(tx)
    projection.create(tx)
    tx.run("INSERT INTO projection_position (name, version, position) VALUES (?, ?, 0) "
           "ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = 0",
           (projection.name, projection.version))


class Projector:
    """Keeps a service's read models up to date; only the service's leader runs one."""

    def __init__(self, app: ServiceApplication, db: Database, projections: list[Projection], batch_size: int = 1000):
        self.app = app
        self.db = db
        written = {p.name for p in app.with_log}  # applied by the writers themselves
        self.projections = [p for p in projections if p.name not in written]
        self.batch_size = batch_size
        self._positions: dict[str, int] | None = None  # ours while we lead; re-read after any failure
        for p in ensure_tables(db, self.projections):
            with db.transaction() as tx:
                _reset(tx, p)

    def position(self, name: str) -> int:
        rows = self.db.query("SELECT position FROM projection_position WHERE name = ?", (name,))
        return rows[0][0] if rows else 0

    def run_once(self) -> int:
        """One pass: the log read and decoded once, after the least advanced read model, then every model
        brought forward in one transaction. Returns how many notifications were read."""
        if not self.projections:
            return 0
        if self._positions is None:
            self._positions = {p.name: self.position(p.name) for p in self.projections}
        start = min(self._positions.values(), default=0)
        notifications = self.app.notifications_after(start, self.batch_size)
        if not notifications:
            return 0
        events = [(n.id, self.app.domain_event(n)) for n in notifications]
        try:
            with self.db.transaction() as tx:
                self._apply(tx, start, events)
        except BaseException:
            self._positions = None  # re-read: a rebuild may have swapped a model in meanwhile
            raise
        for name, position in (self._positions or {}).items():
            metrics.PROJECTION_POSITION.labels(self.app.name, name).set(position)
        return len(notifications)

    def _apply(self, tx: Transaction, start: int, events: list[tuple[int, Any]]) -> None:
        # Under each projection's lock, and positions re-read inside it: `yishi rebuild` swaps in a new model
        # (tables and position) under the same lock, and this batch must continue from its position.
        for p in self.projections:
            lock_projection(self.db, tx, p.name)
        stored = dict(tx.all("SELECT name, position FROM projection_position"))
        positions = {}
        for p in self.projections:
            position = stored.get(p.name, 0)
            if position >= start:  # else a rebuild moved it back: the next pass reads from there
                for sequence, event in events:
                    if sequence > position:
                        p.apply(tx, event)
                if events[-1][0] > position:
                    position = events[-1][0]
                    tx.run("UPDATE projection_position SET position = ? WHERE name = ?", (position, p.name))
            positions[p.name] = position
        self._positions = positions

    def run(self, stop: threading.Event, poll_interval: float) -> None:
        """Project until `stop`; woken by commits to the log (shared/store/wakeup.py), else every `poll_interval`."""
        while not stop.is_set():
            seen = self.app.commits.count()
            try:
                done = self.run_once()
            except Exception:  # the store went away, or a projection bug: retry, the position is safe
                log.exception("projector %s: batch failed; retrying", self.app.name)
                stop.wait(1.0)
                continue
            if done < self.batch_size:  # the log's end was read: the next pass waits for a commit after `seen`
                self.app.commits.wait(seen, poll_interval)
                stop.wait(LINGER)  # let the commits of the same moment join one pass

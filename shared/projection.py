"""Read models: projections of a service's own log, rows and position committed together.

A projection whose `version` changes is dropped and rebuilt from the start of the log, so a
read model can always be thrown away and replayed (DESIGN.md §2).
"""
from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import Any

from shared import metrics
from shared.application import ServiceApplication
from shared.persistence import Database, Transaction

log = logging.getLogger(__name__)


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
        self.projections = projections
        self.batch_size = batch_size
        for p in ensure_tables(db, projections):
            with db.transaction() as tx:
                _reset(tx, p)

    def position(self, name: str) -> int:
        rows = self.db.query("SELECT position FROM projection_position WHERE name = ?", (name,))
        return rows[0][0] if rows else 0

    def run_once(self) -> int:
        done = 0
        for p in self.projections:
            if self.position(p.name) >= self.app.log_head():
                continue  # nothing new: no write transaction, no lock
            with self.db.transaction() as tx:
                # Under the projection's lock, and re-read inside it: `yishi rebuild` swaps in a new model
                # (tables and position) under the same lock, and this batch must continue from its position.
                lock_projection(self.db, tx, p.name)
                row = tx.one("SELECT position FROM projection_position WHERE name = ?", (p.name,))
                position = row[0] if row else 0
                notifications = self.app.notifications_after(position, self.batch_size)
                for n in notifications:
                    p.apply(tx, self.app.domain_event(n))
                if notifications:
                    tx.run("UPDATE projection_position SET position = ? WHERE name = ?",
                           (notifications[-1].id, p.name))
            if notifications:
                metrics.PROJECTION_POSITION.labels(self.app.name, p.name).set(notifications[-1].id)
                done += len(notifications)
        return done

    def run(self, stop: threading.Event, poll_interval: float) -> None:
        """Project until `stop`; woken by commits to the log (shared/wakeup.py), else every `poll_interval`."""
        while not stop.is_set():
            seen = self.app.commits.count()
            try:
                done = self.run_once()
            except Exception:  # the store went away, or a projection bug: retry, the position is safe
                log.exception("projector %s: batch failed; retrying", self.app.name)
                stop.wait(1.0)
                continue
            if done == 0:
                self.app.commits.wait(seen, poll_interval)

"""Read models: projections of a service's own log, applied by every writer of the log in the transaction that
records the events (shared/store/recorders.py `projected=`), their rows and position committed with them; and
views of upstream events, rows and tracking committed together.

A projection never trails its log, and no process reads the log back to keep it. One whose `version` changes is
dropped and replayed from the start of the log when a process starts (`catch_up`), so a read model can always be
thrown away and replayed (DESIGN.md §2); `yishi rebuild` does it online. A view copies nothing into the
service's own log: `yishi rebuild` rebuilds it from the upstream's archive (shared/ops/rebuild.py).
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from shared.store.persistence import Database, Transaction

if TYPE_CHECKING:  # the application holds its views: this module is below it
    from shared.store.application import ServiceApplication

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
    """Serialise writers of one read model: the log's writers and a rebuild's swap.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the write transaction (BEGIN IMMEDIATE) is one.
    """
    db.lock(tx, f"projection.{name}")


def catch_up(app: ServiceApplication, db: Database, projections: list[Projection], batch_size: int = 2000) -> None:
    """Bring the read models every writer applies (`ServiceApplication.projections`) to the log's head before this
    process writes: a new or changed one is built from the start; one that an older version's projector kept goes
    on from its position. Under each model's lock, so writers wait rather than write past it (a changed model's
    replay holds them for its length: for a long log, `yishi rebuild` first, online)."""
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

"""Process recorders that apply a window of upstream events in one transaction, and say when they commit.

eventsourcing's process recorder takes one `tracking` per transaction; a batch needs one tracking row per
upstream event it applies (`trackings=`), written in the same transaction as the events the batch produced,
the rows of the service's upstream views (`views=`: (view, event) pairs, shared/store/projection.py), and the
rows of its read models that every writer applies with its own events (`projected=`: (projection, event) pairs,
their positions moved to the log's head in the same transaction).
Every commit through these recorders wakes this process's relay (`on_commit`), so a local
writer needs no polling to be seen.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from uuid import UUID

from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from eventsourcing.persistence import (InfrastructureFactory, IntegrityError, InterfaceError, OperationalError,
                                      ProcessRecorder, StoredEvent, Tracking)
from eventsourcing.popo import POPOFactory, POPOProcessRecorder
from eventsourcing.postgres import PostgresFactory, PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteFactory, SQLiteProcessRecorder
from eventsourcing.utils import retry
from psycopg_pool.base import AttemptWithBackoff

from shared.store.persistence import Transaction, lock_key


class CommitSignal:
    """A process-wide signal raised after every commit to a service's log, awaited by its followers."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._count = 0

    def raise_(self) -> None:
        with self._condition:
            self._count += 1
            self._condition.notify_all()

    def count(self) -> int:
        return self._count

    def wait(self, seen: int, timeout: float) -> int:
        """Block until a commit after `seen` (or timeout); returns the commit count now."""
        with self._condition:
            self._condition.wait_for(lambda: self._count != seen, timeout)
            return self._count


class _Batching:
    """Mixed into both stores' process recorders."""

    commits: CommitSignal | None = None  # set by the application that owns the recorder
    takes_rows = True  # writes `rows=` in the events' transaction (the SQL stores: their read models' database)

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of these aggregates, in one query, by aggregate in version order."""
        found: dict[UUID, list[StoredEvent]] = {}
        for stored in self._select_events_of(list(originator_ids)):
            found.setdefault(UUID(str(stored.originator_id)), []).append(stored)
        return found

    def _select_events_of(self, originator_ids: list[UUID]) -> list[StoredEvent]:
        return [s for i in originator_ids for s in self.select_events(i)]  # type: ignore[attr-defined]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        ids = super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        if stored_events and self.commits is not None:
            self.commits.raise_()
        return ids


# eventsourcing retries a failed PostgreSQL call 10 times, each waiting up to the pool's connect timeout for a
# connection: a request would hang ~50 s in an outage before anyone answered it. Two attempts still replace a
# connection the server closed; then the failure goes to the caller (503 with Retry-After, a consumer's pause).
STORE_ATTEMPTS = 2
_RETRIED = ("insert_events", "select_events", "select_notifications", "max_notification_id", "insert_tracking",
            "max_tracking_id", "has_tracking_id")


# psycopg_pool doubles its wait between attempts to reopen a pooled connection (1, 2, 4 ... s, for up to 5 min):
# after a 16 s outage the pools tried again only ~15 s after the server was back. Try every second instead.
AttemptWithBackoff.DELAY_BACKOFF = 1.0


class _FailFastPostgres(PostgresProcessRecorder):
    """PostgreSQL's process recorder with STORE_ATTEMPTS attempts per call instead of eventsourcing's ten."""


for _name in _RETRIED:
    setattr(_FailFastPostgres, _name, retry((InterfaceError, OperationalError), max_attempts=STORE_ATTEMPTS, wait=0.2)(
        getattr(PostgresProcessRecorder, _name).__wrapped__))


# (statement with ? marks, parameters): a service's own row written with its events. A statement that RETURNs
# must return a row (an INSERT ... ON CONFLICT DO NOTHING RETURNING that wrote none refuses the save): raised here,
# before the events are sent, a key's violation surfaces as IntegrityError, never as PostgreSQL's aborted pipeline.
Row = tuple[str, tuple]


def write_rows(tx: Transaction, rows: Sequence[Row]) -> None:
    for statement, params in rows:
        if " RETURNING " not in statement:
            tx.run(statement, params)
        elif tx.one(statement, params) is None:
            raise IntegrityError(f"not written: {statement.split(' (', 1)[0]}")


def _apply_read_models(tx: Transaction, kwargs: dict[str, Any], lock: Any) -> None:
    """The caller's rows, then every view and projection the events feed, each under its lock (a rebuild's swap
    takes it too), in the events' transaction."""
    write_rows(tx, kwargs.get("rows", ()))
    pairs = [*kwargs.get("views", ()), *kwargs.get("projected", ())]
    for model in dict.fromkeys(m for m, _ in pairs):
        lock(tx, model.name)
    for model, event in pairs:
        model.apply(tx, event)


def _advance_projected(tx: Transaction, kwargs: dict[str, Any], head: str) -> None:
    """Move the projections the events fed to the log's head once the events are in (`head`: it, or SQL reading
    it)."""
    names = list(dict.fromkeys(p.name for p, _ in kwargs.get("projected", ())))
    if names:
        tx.run(f"UPDATE projection_position SET position = ({head}) WHERE name IN ({', '.join('?' * len(names))})",
               tuple(names))


def _feeds_read_models(kwargs: dict[str, Any]) -> bool:
    return bool(kwargs.get("views") or kwargs.get("rows") or kwargs.get("projected"))


class BatchPostgresProcessRecorder(_Batching, _FailFastPostgres):
    @retry((InterfaceError, OperationalError), max_attempts=STORE_ATTEMPTS, wait=0.2)
    def _select_events_of(self, originator_ids: list[UUID]) -> list[StoredEvent]:
        statement = SQL("SELECT * FROM {schema}.{table} WHERE originator_id = ANY(%s) "
                        "ORDER BY originator_id, originator_version").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (originator_ids,), prepare=True)
            return [StoredEvent(originator_id=r["originator_id"], originator_version=r["originator_version"],
                                topic=r["topic"], state=bytes(r["state"])) for r in curs.fetchall()]

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        self._insert_trackings(curs, kwargs.get("trackings", ()))
        super()._insert_events(curs, stored_events, **kwargs)
        if _feeds_read_models(kwargs):
            tx = Transaction(curs.connection.cursor(row_factory=tuple_row), translate=True)
            tx.run(f'SET LOCAL search_path TO "{self.datastore.schema}"')  # where the service's read models are
            _apply_read_models(tx, kwargs, lambda t, name: t.run(
                "SELECT pg_advisory_xact_lock(?)", (lock_key(self.datastore.schema, f"projection.{name}"),)))

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        """The events' ids, then their projections' position: after the pipeline's sync, so that a refused insert
        (an aggregate changed meanwhile) is the IntegrityError it is, not a later statement's "pipeline aborted"."""
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if kwargs.get("projected") and ids:
            _advance_projected(Transaction(curs.connection.cursor(row_factory=tuple_row), translate=True), kwargs,
                               str(int(max(ids))))
        return ids


    def _insert_trackings(self, curs: Any, trackings: Sequence[Tracking]) -> None:
        """A window's tracking rows in one statement (one shape, prepared once), not one statement each.

        A row applied before raises IntegrityError here, before the window's events are sent: left to the
        primary key, the violation surfaced in eventsourcing's pipeline about half the time as "pipeline aborted"
        (an OperationalError, so the consumer took a duplicate for a store outage and reconnected)."""
        if not trackings:
            return
        self._check_has_multi_row_tracking_table(curs)
        statement = SQL("INSERT INTO {schema}.{table} SELECT * FROM unnest(%s::text[], %s::bigint[]) "
                        "ON CONFLICT DO NOTHING RETURNING notification_id").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.tracking_table_name))
        curs.execute(statement, ([t.application_name for t in trackings], [t.notification_id for t in trackings]),
                     prepare=True)
        if len(curs.fetchall()) < len(trackings):
            raise IntegrityError(f"already tracked: one of {[t.notification_id for t in trackings]}")


class BatchSQLiteProcessRecorder(_Batching, SQLiteProcessRecorder):
    def _select_events_of(self, originator_ids: list[UUID]) -> list[StoredEvent]:
        marks = ", ".join("?" * len(originator_ids))
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT * FROM {self.events_table_name} WHERE originator_id IN ({marks}) "
                      "ORDER BY originator_id, originator_version", [i.hex for i in originator_ids])
            return [StoredEvent(originator_id=self.convert_originator_id(r["originator_id"]),
                                originator_version=r["originator_version"], topic=r["topic"], state=r["state"])
                    for r in c.fetchall()]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        for tracking in kwargs.get("trackings", ()):
            self._insert_tracking(c, tracking)
        if _feeds_read_models(kwargs):  # the write transaction is the lock
            tx = Transaction(c, translate=False)
            _apply_read_models(tx, kwargs, lambda t, name: None)
            _advance_projected(tx, kwargs, f"SELECT MAX(rowid) FROM {self.events_table_name}")
        return returning


class BatchPOPOProcessRecorder(_Batching, POPOProcessRecorder):
    """In memory, for the domain's unit tests; tracking per upstream id, as the real stores keep it."""

    takes_rows = False  # the application writes them to its read models' database before the events

    def __init__(self) -> None:
        super().__init__()
        self._tracked: dict[str, set[int]] = {}

    def _assert_tracking_uniqueness(self, tracking: Tracking) -> None:
        if tracking.notification_id in self._tracked.get(tracking.application_name, ()):
            raise IntegrityError(f"{tracking.application_name} {tracking.notification_id} already tracked")

    def _insert_tracking(self, tracking: Tracking) -> None:
        self._tracked.setdefault(tracking.application_name, set()).add(tracking.notification_id)

    def has_tracking_id(self, application_name: str, notification_id: int | None) -> bool:
        return notification_id is None or notification_id in self._tracked.get(application_name, ())

    def max_tracking_id(self, application_name: str) -> int | None:
        return max(self._tracked.get(application_name, ()), default=None)

    def _assert_uniqueness(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._assert_uniqueness(stored_events, **kwargs)
        for tracking in kwargs.get("trackings", ()):
            self._assert_tracking_uniqueness(tracking)

    def _update_table(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if _feeds_read_models(kwargs):
            raise TypeError("upstream views and rows need a SQL store (SQLite or PostgreSQL), not the in-memory one")
        ids = super()._update_table(stored_events, **kwargs)
        for tracking in kwargs.get("trackings", ()):
            self._insert_tracking(tracking)
        return ids


_BATCH_RECORDERS = {PostgresFactory: BatchPostgresProcessRecorder, SQLiteFactory: BatchSQLiteProcessRecorder,
                    POPOFactory: BatchPOPOProcessRecorder}


def batch_process_recorder(factory: InfrastructureFactory) -> ProcessRecorder:
    """The factory's process recorder, of the batching kind for its store."""
    cls = _BATCH_RECORDERS[type(factory)]
    factory.env[factory.PROCESS_RECORDER_TOPIC] = f"{cls.__module__}:{cls.__qualname__}"
    if isinstance(factory, POPOFactory):  # the in-memory factory reads no topic
        return cls()
    return factory.process_recorder()

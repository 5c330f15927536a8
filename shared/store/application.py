"""The base of every service's eventsourcing Application: store selection and upstream processing."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.persistence import EventStore, Notification, ProcessRecorder, Tracking

from shared.config import Settings
from shared.contracts import IntegrationEvent
from shared.store.persistence import (Database, event_store_env, notice_dead_peers, ping_when_idle, shrink_when_idle,
                                      table_names)
from shared.store.groupcommit import GroupCommit
from shared.store.processing import Processing, project
from shared.store.projection import Projection, UpstreamView, catch_up, ensure_tables
from shared.store.recorders import CommitSignal, Row, batch_process_recorder, write_rows

log = logging.getLogger(__name__)


class BatchRepository(Repository):
    """A repository that, while a batch is being decided on this thread, returns the batch's own aggregates,
    and reads each stored aggregate once per batch.

    A window of upstream events is decided before anything is written: the second event about a case must
    see what the first did to it, not the stored version; and aggregates every event consults (triage rules,
    the calendar) are read once per window, not once per event.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    @contextmanager
    def batch(self) -> Iterator[dict[Any, Any]]:
        self._local.pending = pending = {}
        self._local.read = {}
        try:
            yield pending
        finally:
            self._local.pending = self._local.read = None

    def preload(self, aggregate_ids: Iterable[Any]) -> None:
        """Read, in one query, the aggregates the batch is about to ask for (a hint: one not named is read
        when asked for; one named and never asked for costs a row or none)."""
        read, pending = self._local.read, self._local.pending
        wanted = [i for i in dict.fromkeys(aggregate_ids) if i not in read and i not in pending]
        if len(wanted) < 2:
            return
        stored = self.event_store.recorder.select_events_of(wanted)
        for aggregate_id in wanted:
            events = (self.event_store.mapper.to_domain_event(s) for s in stored.get(aggregate_id, ()))
            aggregate = project(None, events)
            read[aggregate_id] = aggregate if aggregate is not None else AggregateNotFoundError(
                f"Aggregate {aggregate_id!r} version None not found.")

    def get(self, aggregate_id: Any, **kwargs: Any) -> Any:
        pending = getattr(self._local, "pending", None)
        if pending is None or kwargs:
            kwargs.setdefault("projector_func", project)
            return super().get(aggregate_id, **kwargs)
        if aggregate_id in pending:
            return pending[aggregate_id]
        read = self._local.read
        if aggregate_id not in read:
            try:
                read[aggregate_id] = super().get(aggregate_id, projector_func=project)
            except AggregateNotFoundError as missing:
                read[aggregate_id] = missing
        if isinstance(read[aggregate_id], AggregateNotFoundError):
            raise AggregateNotFoundError(*read[aggregate_id].args)
        return read[aggregate_id]


class _WithLog(EventStore):
    """An event store whose every write also applies the application's read models (`projections`) to its events."""

    def __init__(self, *args: Any, app: "ServiceApplication", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._app = app

    def put(self, domain_events: Sequence[Any], **kwargs: Any) -> Any:
        projections = self._app.projections
        if not projections or not domain_events:
            return super().put(domain_events, **kwargs)
        pairs = [(p, e) for p in projections for e in domain_events]
        if self.recorder.takes_rows:
            return super().put(domain_events, **kwargs, projected=pairs)
        recorded = super().put(domain_events, **kwargs)  # in memory (unit tests): the rows after, on their own
        with self._app.read_models.transaction() as tx:
            for projection, event in pairs:
                projection.apply(tx, event)
        return recorded


class ServiceApplication(Application):
    """An Application whose recorder also records tracking, so it can apply upstream events.

    Subclasses set `name` (the service name, also the PostgreSQL schema and table prefix) and
    implement `policy` for the upstream events they react to.
    """

    name: ClassVar[str] = ""
    # upstream service -> the event types its policy reacts to ("#": all of them); queues bind only these
    reacts_to: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    # read models of upstream events, written with their tracking (shared/store/projection.py UpstreamView)
    views: ClassVar[tuple[UpstreamView, ...]] = ()
    # read models of the service's own events, which every writer of its log applies in the same transaction: they
    # never trail the log (a command reads its own write at once) and cost no read of it
    projections: ClassVar[tuple[Projection, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        own = "name" in cls.__dict__
        super().__init_subclass__(**kwargs)  # eventsourcing names a class after itself unless it sets `name`
        if not own:  # a subclass (a test fake, say) stays the same service, with the same tables
            cls.name = next((b.__dict__["name"] for b in cls.__mro__[1:] if b.__dict__.get("name")), cls.name)

    def __init__(self, settings: Settings | None = None, env: dict[str, str] | None = None):
        self.settings = (settings or Settings.from_env()).for_service(self.name)  # its own database, if it has one
        self._db = Database(self.name, self.settings) if self.settings.uses_postgres else None  # creates the schema
        super().__init__(env=event_store_env(self.name, self.settings) | (env or {}))
        if self.views:
            self._ensure_views()
        if self.projections:
            catch_up(self, self.read_models, list(self.projections))

    def close(self) -> None:
        super().close()
        if self._db is not None:
            self._db.close()

    @property
    def read_models(self) -> Database:
        """The service's read-model store, for commands that decide on a view (the same database or file)."""
        if self._db is None:
            self._db = Database(self.name, self.settings)
        return self._db

    def _ensure_views(self) -> None:
        """A view's tables exist before the first upstream event; an older version's are kept, not reset:
        their rows come from upstream, and only `yishi rebuild` replays that."""
        for view in ensure_tables(self.read_models, list(self.views)):
            log.error("%s: view %s is of an older version: run `yishi rebuild %s %s`", self.name, view.name,
                      self.name, view.name)

    def construct_recorder(self) -> ProcessRecorder:
        if not self.settings.uses_postgres:
            recorder = batch_process_recorder(self.factory)
        else:
            with self._db.ddl_lock():  # eventsourcing creates its tables here
                recorder = batch_process_recorder(self.factory)
            ping_when_idle(recorder.datastore.pool)
            notice_dead_peers(recorder.datastore.pool)
            shrink_when_idle(recorder.datastore.pool, self.settings.pool_max_idle)
        self.commits = recorder.commits = CommitSignal()  # type: ignore[attr-defined]
        return recorder

    def construct_event_store(self) -> EventStore:
        return _WithLog(mapper=self.mapper, recorder=self.recorder, app=self)

    def save(self, *objs: Any, rows: Sequence[Row] = (), **kwargs: Any) -> None:  # type: ignore[override]
        """Record the aggregates' new events, in one transaction with other callers' saves
        (shared/store/groupcommit.py); `rows`: (statement, parameters) of the service's own tables, written in
        that same transaction.

        Raises IntegrityError when an aggregate changed meanwhile (the caller decides again), as before.
        """
        if rows and not self.recorder.takes_rows:  # in memory (unit tests): the rows first, in their own transaction
            with self.read_models.transaction() as tx:
                write_rows(tx, rows)
            rows = ()
        if kwargs:
            super().save(*objs, **kwargs, **({"rows": rows} if rows else {}))
            return
        self._group_commit.save(*objs, rows=rows)

    @property
    def _group_commit(self) -> GroupCommit:
        group = self.__dict__.get("_group")
        if group is None:
            group = self.__dict__.setdefault("_group", GroupCommit(self.events.put))
        return group

    def construct_repository(self) -> BatchRepository:
        return BatchRepository(event_store=self.events, snapshot_store=self.snapshots)

    # upstream processing --------------------------------------------------------------------
    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        """React to one upstream event by collecting new aggregate events into `processing`."""

    def reads(self, event: IntegrationEvent) -> Iterable[Any]:
        """The aggregates `policy` will read for this event, so a window reads them all in one query."""
        return ()

    def process(self, *events: IntegrationEvent) -> int:
        """Apply upstream events exactly once: their effects and their tracking rows commit together.

        Events are decided in the order given, each seeing what the earlier ones did; then all the new
        aggregate events and one tracking row per upstream event are written in one transaction. Returns the
        number of events recorded. Raises eventsourcing's IntegrityError when one was already applied (a
        redelivery racing this one) or an aggregate changed meanwhile (a concurrent command): nothing is
        written then.
        """
        collected: list[Any] = []
        with self.repository.batch() as pending:
            self.repository.preload(i for event in events for i in self.reads(event))
            for event in events:
                processing = Processing()
                self.policy(event, processing)
                pending.update(processing.aggregates)
                collected += processing.events
        trackings = [Tracking(application_name=e.service, notification_id=e.sequence) for e in events]
        views = [(v, e) for e in events for v in self.views if v.upstream == e.service]
        self.events.put(collected, trackings=trackings, **({"views": views} if views else {}))
        return len(collected)

    # log access -----------------------------------------------------------------------------
    def notifications_after(self, position: int, limit: int = 500) -> Sequence[Notification]:
        return self.recorder.select_notifications(position, limit, inclusive_of_start=False)

    def log_head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def applied(self, db: Database, upstream: str, *sequences: int | None) -> set[int]:
        """Which of these upstream sequences this service has applied (exact, per id: tracking is multi-row)."""
        wanted = [s for s in sequences if s is not None]
        if not wanted:
            return set()
        _, tracking = table_names(self.name, self.settings)
        rows = db.query(f"SELECT notification_id FROM {tracking} WHERE application_name = ? AND notification_id "
                        f"IN ({', '.join('?' * len(wanted))})", (upstream, *wanted))
        return {r[0] for r in rows}

    def domain_event(self, notification: Notification) -> Any:
        return self.mapper.to_domain_event(notification)

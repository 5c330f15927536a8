"""The base of every service's eventsourcing Application: store selection and upstream processing."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Notification, ProcessRecorder, Tracking

from shared.config import Settings
from shared.contracts import IntegrationEvent
from shared.persistence import Database, event_store_env, table_names


class ServiceApplication(Application):
    """An Application whose recorder also records tracking, so it can apply upstream events.

    Subclasses set `name` (the service name, also the PostgreSQL schema and table prefix) and
    implement `policy` for the upstream events they react to.
    """

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        own = "name" in cls.__dict__
        super().__init_subclass__(**kwargs)  # eventsourcing names a class after itself unless it sets `name`
        if not own:  # a subclass (a test fake, say) stays the same service, with the same tables
            cls.name = next((b.__dict__["name"] for b in cls.__mro__[1:] if b.__dict__.get("name")), cls.name)

    def __init__(self, settings: Settings | None = None, env: dict[str, str] | None = None):
        self.settings = settings or Settings.from_env()
        self._db = Database(self.name, self.settings) if self.settings.uses_postgres else None  # creates the schema
        super().__init__(env=event_store_env(self.name, self.settings) | (env or {}))

    def construct_recorder(self) -> ProcessRecorder:
        if self._db is None:
            return self.factory.process_recorder()
        with self._db.ddl_lock():  # eventsourcing creates its tables here
            return self.factory.process_recorder()

    # upstream processing --------------------------------------------------------------------
    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        """React to one upstream event by collecting new aggregate events into `processing`."""

    def process(self, event: IntegrationEvent) -> int:
        """Apply an upstream event exactly once: its effects and its tracking row commit together.

        Returns the number of events recorded. Raises eventsourcing's IntegrityError when the
        event was already applied (a redelivery racing this one).
        """
        tracking = Tracking(application_name=event.service, notification_id=event.sequence)
        processing = ProcessingEvent(tracking=tracking)
        self.policy(event, processing)
        if processing.events:
            self.events.put(processing.events, tracking=tracking)
        else:
            self.recorder.insert_tracking(tracking)
        return len(processing.events)

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

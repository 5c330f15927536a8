"""Online rebuild of a read model (`yishi rebuild`): the service answers from the old model until the new one
has caught up with the log, then the new one takes its place in one transaction.

A projection's SQL names its tables unqualified, so the same `Projection` builds elsewhere unchanged:

* PostgreSQL: into the staging schema `<service>_rebuild_<projection>` (a connection whose search_path is
  that schema). The swap, in one transaction on the live schema: take the projection's lock (every writer
  of the log takes it in its transaction, so writers wait), apply the events recorded since, drop the live
  tables (the projection's own `drop`), move the staging tables (with their indexes) into the service's
  schema, set the position. Readers see the old tables until the commit, the new ones after it.
* SQLite: into a staging file beside the service's store. The swap, in one write transaction on the store
  (which every writer of the log also needs): apply the events recorded since to the staging file, drop the
  live tables, recreate them from the staging file's schema and copy the rows. Readers never wait (WAL);
  writers of that store wait for the copy (about a second per 100k rows here).

The projection's SQL must touch only its own tables (no views or triggers over other tables).

An upstream view (shared/store/projection.py UpstreamView) is rebuilt the same way from the upstream's
archive, its log read through the upstream's own publish map (the relay's contract mapping): exactly the
upstream events this service has applied (its tracking rows), no more. The consumer takes the view's lock
in every transaction, so the swap sees a tracking set that cannot move under it.
"""
from __future__ import annotations

import fcntl
import logging
import sqlite3
import zlib
from collections.abc import Callable
from typing import Any

from shared.contracts import IntegrationEvent, from_cloudevent
from shared.messaging.relay import PublishMap, message_for
from shared.store.application import ServiceApplication
from shared.store.persistence import Database, Transaction, _PgConnection, _SqliteConnection, pg_params, table_names
from shared.store.projection import Projection, UpstreamView, ensure_tables, lock_projection

log = logging.getLogger(__name__)
Progress = Callable[[int], None]


class RebuildError(RuntimeError):
    pass


class _Staging(Database):
    """The same service store, but unqualified table names land in the rebuild's own schema or file."""

    def __init__(self, live: Database, projection: Projection):
        super().__init__(live.service, live.settings)
        self.schema = f"{live.service}_rebuild_{projection.name}"
        if not self.postgres:
            self.path = live.settings.var_dir / f"{live.service}.rebuild-{projection.name}.sqlite3"

    def reset(self) -> None:
        """Start from nothing (a crashed rebuild leaves its staging area behind)."""
        if self.postgres:
            import psycopg

            with psycopg.connect(**pg_params(self.settings.database_url or ""), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
                conn.execute(f'CREATE SCHEMA "{self.schema}"')
        else:
            self.close()
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    def discard(self) -> None:
        self.close()
        if self.postgres:
            import psycopg

            with psycopg.connect(**pg_params(self.settings.database_url or ""), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        else:
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    def connect(self) -> Any:
        if self.postgres:
            import psycopg

            return _PgConnection(psycopg.connect(**pg_params(self.settings.database_url or ""), autocommit=True,
                                                 options=f"-c search_path={self.schema}"))
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        return _SqliteConnection(conn)

    def tables(self) -> list[str]:
        if self.postgres:
            rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = ? ORDER BY tablename", (self.schema,))
        else:
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                              "ORDER BY name")
        return [r[0] for r in rows]


class _OneAtATime:
    """Two rebuilds of one read model at once would swap each other out: refuse the second."""

    def __init__(self, db: Database, name: str):
        self.db, self.name, self._handle = db, name, None

    def __enter__(self) -> "_OneAtATime":
        if self.db.postgres:
            import psycopg

            conn = psycopg.connect(**pg_params(self.db.settings.database_url or ""), autocommit=True)
            key = zlib.crc32(f"yishi.rebuild.{self.db.service}.{self.name}".encode())
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                conn.close()
                raise RebuildError(f"a rebuild of {self.db.service}/{self.name} is already running")
            self._handle = conn
        else:
            fh = open(self.db.settings.var_dir / f"{self.db.service}.rebuild-{self.name}.lock", "w")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                raise RebuildError(f"a rebuild of {self.db.service}/{self.name} is already running") from None
            self._handle = fh
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._handle is not None:
            self._handle.close()


class Rebuilder:
    """Builds one projection from the start of the service's own log into staging, then swaps it in.

    `run()` does both; `build()` and `swap()` are separate so a test (or an operator) can look at the live
    model in between.
    """

    def __init__(self, app: ServiceApplication, db: Database, projection: Projection, batch_size: int = 2000):
        self.app, self.db, self.projection, self.batch_size = app, db, projection, batch_size
        self.staging = _Staging(db, projection)
        self.position = 0

    def run(self, progress: Progress | None = None) -> int:
        with _OneAtATime(self.db, self.projection.name):
            try:
                self.build(progress)
                return self.swap(progress)
            finally:
                self.staging.discard()

    def build(self, progress: Progress | None = None) -> int:
        """Replay the whole log into staging, then keep catching up until a batch is all that is left."""
        ensure_tables(self.db, [self.projection])  # the live model and its position row exist
        self.staging.reset()
        with self.staging.transaction() as tx:
            self.projection.create(tx)
        self.position = 0
        while self._apply_batch(progress) >= self.batch_size:
            pass
        return self.position

    def _next(self) -> Any:
        return self.app.notifications_after(self.position, self.batch_size)

    def _under_lock(self, tx: Transaction) -> None:
        """At the swap, with the live model's lock held: nothing to do for the service's own log."""

    def _apply_batch(self, progress: Progress | None) -> int:
        notifications = self._next()
        if notifications:
            with self.staging.transaction() as tx:
                self._apply(tx, notifications)
            if progress:
                progress(len(notifications))
        return len(notifications)

    def _apply(self, tx: Transaction, notifications: Any) -> None:
        for n in notifications:
            self.projection.apply(tx, self.app.domain_event(n))
        self.position = notifications[-1].id

    def swap(self, progress: Progress | None = None) -> int:
        """Apply what was recorded meanwhile and put the new model in place, in one transaction. Returns
        the position the new model is at (the log's writers go on from there)."""
        if self.db.postgres:
            self._swap_postgres(progress)
        else:
            self._swap_sqlite(progress)
        log.info("%s: read model %s rebuilt up to %d", self.db.service, self.projection.name, self.position)
        return self.position

    def _swap_postgres(self, progress: Progress | None) -> None:
        p, schema, live = self.projection, self.staging.schema, self.db.service
        with self.db.transaction() as tx:
            lock_projection(self.db, tx, p.name)
            self._under_lock(tx)
            tx.run(f'SET LOCAL search_path TO "{schema}"')
            while notifications := self._next():
                self._apply(tx, notifications)
                if progress:
                    progress(len(notifications))
            tx.run(f'SET LOCAL search_path TO "{live}"')
            tables = [r[0] for r in tx.all("SELECT tablename FROM pg_tables WHERE schemaname = ?", (schema,))]
            p.drop(tx)
            for table in tables:
                tx.run(f'ALTER TABLE "{schema}"."{table}" SET SCHEMA "{live}"')
            self._set_position(tx)

    def _swap_sqlite(self, progress: Progress | None) -> None:
        p = self.projection
        with self.db.transaction() as tx:  # BEGIN IMMEDIATE: the log's writers wait for this one
            lock_projection(self.db, tx, p.name)
            self._under_lock(tx)
            while notifications := self._next():
                with self.staging.transaction() as staged:
                    self._apply(staged, notifications)
                if progress:
                    progress(len(notifications))
            schema = self.staging.query("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                                        "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', rowid")
            p.drop(tx)
            for kind, name, sql in schema:
                tx.run(sql)
                if kind == "table":
                    columns = [r[1] for r in self.staging.query(f'PRAGMA table_info("{name}")')]
                    marks = ", ".join("?" * len(columns))
                    insert = f'INSERT INTO "{name}" ({", ".join(columns)}) VALUES ({marks})'
                    with self.staging.transaction(write=False) as source:
                        source.run(f'SELECT {", ".join(columns)} FROM "{name}"')
                        while rows := source._cursor.fetchmany(5000):
                            tx._cursor.executemany(insert, rows)
            self._set_position(tx)

    def _set_position(self, tx: Transaction) -> None:
        tx.run("INSERT INTO projection_position (name, version, position) VALUES (?, ?, ?) "
               "ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position",
               (self.projection.name, self.projection.version, self.position))


class ViewRebuilder(Rebuilder):
    """Rebuilds an upstream view from the upstream's log: the events this service's tracking holds."""

    def __init__(self, app: ServiceApplication, db: Database, view: UpstreamView, upstream: ServiceApplication,
                 publish: PublishMap, batch_size: int = 2000):
        super().__init__(app, db, view, batch_size)
        self.upstream, self.publish = upstream, publish
        self.tracked: set[int] = set()
        self.applied: set[int] = set()

    def build(self, progress: Progress | None = None) -> int:
        with self.db.transaction(write=False) as tx:
            self.tracked = self._tracking(tx)
        return super().build(progress)

    def _tracking(self, tx: Transaction) -> set[int]:
        _, tracking = table_names(self.app.name, self.app.settings)
        return {r[0] for r in tx.all(f"SELECT notification_id FROM {tracking} WHERE application_name = ?",
                                     (self.upstream.name,))}

    def _under_lock(self, tx: Transaction) -> None:
        # Applied since the build began, including a held gap below the build's position: read from there.
        self.tracked = self._tracking(tx)
        missed = [s for s in self.tracked if s <= self.position and s not in self.applied]
        if missed:
            self.position = min(missed) - 1

    def _next(self) -> Any:
        return self.upstream.notifications_after(self.position, self.batch_size)

    def _apply(self, tx: Transaction, notifications: Any) -> None:
        for n in notifications:
            if n.id in self.tracked and n.id not in self.applied:
                event = self._event(n)
                if event is not None:
                    self.projection.apply(tx, event)
                self.applied.add(n.id)
        self.position = max(self.position, notifications[-1].id)

    def _event(self, notification: Any) -> IntegrationEvent | None:
        """The event as the relay published it, and as the consumer parsed it (validated, upcast)."""
        published = self.publish(self.upstream.domain_event(notification))
        if published is None:
            return None
        body, _ = message_for(self.upstream.name, published, notification.id, None)
        return from_cloudevent(body)


def select_projections(projections: list[Projection], name: str | None) -> list[Projection]:
    if name is None:
        return projections
    chosen = [p for p in projections if p.name == name]
    if not chosen:
        known = ", ".join(p.name for p in projections) or "none"
        raise RebuildError(f"no read model {name!r} (this service has: {known})")
    return chosen

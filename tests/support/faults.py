"""Helpers for fault tests: seed a log fast, read stores and queues and metrics from the outside.

Polling reads go through plain autocommit connections (no `BEGIN IMMEDIATE`, no eventsourcing
recorder), so the test takes no write lock the processes under test need.
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from kombu import Connection
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from shared.messaging import topology
from shared.config import Settings
from shared.store.persistence import pg_params, table_names


def seed_issues(settings: Settings, n: int, batch: int = 500) -> dict[int, str]:
    """Report `n` issues straight into intake's store, `batch` aggregates per transaction.

    Returns {notification id of its `Issue.Reported`: issue id}: what intake's relay must publish.
    """
    from services.intake.application import IntakeApplication
    from tests.support.factories import issues

    app = IntakeApplication(settings)
    try:
        for start in range(0, n, batch):
            app.save(*issues(min(batch, n - start), start))
        ids: dict[int, str] = {}
        while page := app.notifications_after(max(ids, default=0), 1000):
            assert all(x.topic.endswith("Issue.Reported") for x in page)
            ids |= {x.id: str(x.originator_id) for x in page}
        assert len(ids) == n
        return ids
    finally:
        app.close()


class StoreReader:
    """Read-only SQL over one service's store (SQLite file or PostgreSQL schema)."""

    def __init__(self, service: str, settings: Settings):
        self.service, self.settings = service, settings
        self.events, self.tracking = table_names(service, settings)
        self._conn: Any = None

    def _connect(self) -> Any:
        if self.settings.uses_postgres:
            return psycopg.connect(**pg_params(self.settings.database_url or ""), autocommit=True,
                                   options=f"-c search_path={self.service}")
        path = self.settings.var_dir / f"{self.service}.sqlite3"
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._conn is None:
            self._conn = self._connect()
        if self.settings.uses_postgres:
            sql = sql.replace("?", "%s")
        try:
            return list(self._conn.execute(sql, params).fetchall())
        except Exception:
            self.close()
            raise

    def scalar(self, sql: str, params: tuple = (), default: Any = 0) -> Any:
        """The first column of the first row; `default` while the table does not exist yet."""
        try:
            rows = self.query(sql, params)
        except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
            return default
        return rows[0][0] if rows and rows[0][0] is not None else default

    def tracked(self, upstream: str) -> int:
        return self.scalar(f"SELECT count(*) FROM {self.tracking} WHERE application_name = ?", (upstream,))

    def tracked_ids(self, upstream: str) -> list[int]:
        rows = self.query(f"SELECT notification_id FROM {self.tracking} WHERE application_name = ? "
                          "ORDER BY notification_id", (upstream,))
        return [r[0] for r in rows]

    def relay_position(self) -> int:
        return self.scalar("SELECT position FROM relay_position WHERE stream = ?", (f"{self.service}.events",))

    def log_head(self) -> int:
        column = "notification_id" if self.settings.uses_postgres else "rowid"
        return self.scalar(f"SELECT max({column}) FROM {self.events}")

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


@contextmanager
def reading(service: str, settings: Settings) -> Iterator[StoreReader]:
    reader = StoreReader(service, settings)
    try:
        yield reader
    finally:
        reader.close()


def domain_events(app_class: type, settings: Settings) -> list[tuple[int, Any]]:
    """(notification id, decoded event) of a service's whole log, read with its own Application."""
    app = app_class(settings)
    try:
        out: list[tuple[int, Any]] = []
        while page := app.notifications_after(out[-1][0] if out else 0, 1000):
            out += [(n.id, app.domain_event(n)) for n in page]
        return out
    finally:
        app.close()


def queue_ready(amqp_uri: str, queue_name: str) -> int:
    """Messages ready in a queue (unacked ones are not counted: stop the consumer first)."""
    with Connection(amqp_uri) as conn:
        _, count, _ = conn.default_channel.queue_declare(queue_name, passive=True)
        return count


def consumer_queues_ready(amqp_uri: str, consumers: tuple[str, ...]) -> dict[str, int]:
    """Ready messages in the consumer queues (and their dead-letter queues) of these services."""
    with Connection(amqp_uri) as conn:
        topology.declare(conn)
        return {q.name: conn.default_channel.queue_declare(q.name, passive=True)[1] for q in topology.all_queues()
                if q.name.split("--")[0] in consumers}


def metric_totals(metrics_dir: Path, name: str, **labels: str) -> Counter:
    """Sum of a multiprocess counter over every process that ever wrote `metrics_dir` (dead ones too),
    keyed by the labels not fixed in `labels`."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    totals: Counter = Counter()
    for family in registry.collect():
        for sample in family.samples:
            if sample.name != name or any(sample.labels.get(k) != v for k, v in labels.items()):
                continue
            rest = tuple(sorted((k, v) for k, v in sample.labels.items() if k not in labels))
            totals[rest] += sample.value
    return totals


def metric_sum(metrics_dir: Path, name: str, **labels: str) -> float:
    return sum(metric_totals(metrics_dir, name, **labels).values())

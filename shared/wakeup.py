"""Push, not poll: wake a service's relay and projector when its log grows, from any process.

Writes in this process raise the application's commit signal themselves (shared/recorders.py). Writes in
the service's other processes (its web process) are heard here: PostgreSQL's NOTIFY, which eventsourcing
sends on every insert into the events table, or on SQLite a change of the write-ahead log's size or time
(a stat, no query). Followers still poll slowly (`Settings.idle_poll`) as a safety net.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import psycopg
from psycopg import sql

from shared.application import ServiceApplication
from shared.persistence import pg_params

log = logging.getLogger(__name__)


def hear_other_writers(app: ServiceApplication, stop: threading.Event) -> None:
    """Run until `stop`: raise `app.commits` whenever another process commits to the service's log."""
    while not stop.is_set():
        try:
            if app.settings.uses_postgres:
                _listen(app, stop)
            else:
                _watch_wal(app, stop)
        except Exception:  # the store is down: followers fall back to their slow poll meanwhile
            log.warning("%s: cannot hear other writers now; retrying", app.name, exc_info=True)
            stop.wait(1.0)


def _listen(app: ServiceApplication, stop: threading.Event) -> None:
    channel = app.recorder.channel_name  # type: ignore[attr-defined]
    with psycopg.connect(**pg_params(app.settings.database_url or ""), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        while not stop.is_set():
            if any(True for _ in conn.notifies(timeout=1.0, stop_after=1)):
                app.commits.raise_()


def _watch_wal(app: ServiceApplication, stop: threading.Event, interval: float = 0.005) -> None:
    wal = Path(app.settings.var_dir / f"{app.name}.sqlite3-wal")
    seen = _stamp(wal)
    while not stop.wait(interval):
        now = _stamp(wal)
        if now != seen:
            seen = now
            app.commits.raise_()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size

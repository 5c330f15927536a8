"""Push, not poll: wake a service's relay when its log grows, from any process.

Writes in this process raise the application's commit signal themselves (shared/store/recorders.py). Writes in
the service's other processes (its web process) are heard by the leader: on PostgreSQL the NOTIFY that
eventsourcing sends on every insert into the events table, listened for on the leadership lock's own session
(no extra connection); on SQLite a change of the write-ahead log's size or time (a stat, no query).
Followers still poll slowly (`Settings.poll_interval`) as a safety net.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from shared.store.application import ServiceApplication
from shared.store.leadership import Leadership


def await_other_writers(app: ServiceApplication, leadership: Leadership, stop: threading.Event,
                        timeout: float = 1.0) -> None:
    """Wait up to `timeout` for another process's commit (PostgreSQL) and raise `app.commits` if one came."""
    if app.settings.uses_postgres:
        if leadership.await_commits(app.recorder.channel_name, timeout):  # type: ignore[attr-defined]
            app.commits.raise_()
    else:
        stop.wait(timeout)


def watch_wal(app: ServiceApplication, stop: threading.Event, interval: float = 0.005) -> None:
    """SQLite: raise `app.commits` whenever the log's write-ahead file changes, until `stop`."""
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

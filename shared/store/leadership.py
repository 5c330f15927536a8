"""One active relay per service log: a PostgreSQL advisory lock, or a file lock for SQLite."""
from __future__ import annotations

import fcntl
import zlib
from typing import Any

from psycopg import sql

from shared.config import Settings
from shared.store.persistence import pg_params


class Leadership:
    """Held while this process is the active relay of `service`; standbys retry."""

    def __init__(self, service: str, settings: Settings):
        self.service = service
        # the lock lives in the service's own database: a lock named otherwise (notifications' dispatcher) is
        # given its service's settings already (Settings.for_service)
        self.settings = settings if settings.scope else settings.for_service(service)
        self._handle: Any = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def try_acquire(self) -> bool:
        if self._handle is not None:
            return True
        if self.settings.uses_postgres:
            import psycopg

            # Keepalives on both ends: a leader cut off from PostgreSQL must lose the lock in seconds,
            # not after the kernel's two-hour default, so that a standby can take over.
            conn = psycopg.connect(**pg_params(self.settings.database_url or ""), autocommit=True,
                                   connect_timeout=5, keepalives=1, keepalives_idle=5, keepalives_interval=2,
                                   keepalives_count=3, tcp_user_timeout=10000,
                                   options="-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 "
                                           "-c tcp_keepalives_count=3")
            key = zlib.crc32(f"yishi.leader.{self.service}".encode())
            if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                self._handle = conn
                return True
            conn.close()
            return False
        self.settings.var_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.settings.var_dir / f"{self.service}.leader.lock", "w")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._handle = fh
        return True

    def still_held(self) -> bool:
        """False when the lock's PostgreSQL session died: another process may lead now."""
        if self._handle is None:
            return False
        if self.settings.uses_postgres:
            try:
                self._handle.execute("SELECT 1")
            except Exception:
                self.release()
                return False
        return True

    def await_commits(self, channel: str, timeout: float) -> bool:
        """Wait, on the lock's own session, for a NOTIFY on `channel` (PostgreSQL; eventsourcing notifies on
        every insert into the events table). True when one came. Raises when the session died."""
        conn = self._handle
        if not getattr(self, "_listening", None) == channel:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self._listening = channel
        return any(True for _ in conn.notifies(timeout=timeout, stop_after=1))

    def release(self) -> None:
        self._listening = None
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except Exception:
                pass

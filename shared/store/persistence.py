"""Where each service keeps its events: SQLite under var/ by default, PostgreSQL when configured.

One PostgreSQL schema per service, so a service never sees another's tables. The same settings
serve the eventsourcing recorder (events, tracking) and `Database` (read models, relay position).
"""
from __future__ import annotations

import queue
import sqlite3
import threading
import time
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlparse

from shared.config import Settings


def use_green_psycopg() -> None:
    """Make psycopg wait through select(), so eventlet can switch while a query runs.

    psycopg's C wait function blocks the whole hub (see STACK-NOTES); call after monkey-patching.
    """
    import psycopg.waiting

    psycopg.waiting.wait = psycopg.waiting.wait_select


def pg_params(url: str) -> dict[str, str]:
    parts = urlparse(url)
    return {
        "dbname": unquote(parts.path.lstrip("/")) or "postgres",
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
    }


def event_store_env(service: str, settings: Settings) -> dict[str, str]:
    """eventsourcing environment for one service's Application."""
    settings = settings.for_service(service)
    common = {"SINGLE_ROW_TRACKING": "n"}  # track each upstream id: a retried dead letter still applies
    if settings.uses_postgres:
        p = pg_params(settings.database_url or "")
        return common | {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": p["dbname"],
            "POSTGRES_HOST": p["host"],
            "POSTGRES_PORT": p["port"],
            "POSTGRES_USER": p["user"],
            "POSTGRES_PASSWORD": p["password"],
            "POSTGRES_SCHEMA": service,
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_POOL_SIZE": str(settings.pool_size),
            "POSTGRES_MAX_OVERFLOW": "0",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
            "POSTGRES_PRE_PING": "y",  # a connection broken by a restart is replaced: see ping_when_idle
            # seconds a call waits for a pooled connection: with the server down a caller learns it this soon
            "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        }
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return common | {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(settings.var_dir / f"{service}.sqlite3"),
        "SQLITE_LOCK_TIMEOUT": "30",
    }


PING_AFTER_IDLE = 1.0  # seconds in the pool after which a connection is pinged before it is handed out


def ping_when_idle(pool: Any, after: float = PING_AFTER_IDLE) -> None:
    """Ping a pooled connection only when it was last handed out more than `after` seconds ago.

    A ping on every checkout was one round trip per transaction (a fifth of the workers' wall time under
    load, py-spy). A connection in use a moment ago is alive; one that rested through an outage is pinged and
    replaced. psycopg_pool takes `check` at construction, which eventsourcing does for us, so it is swapped
    in here (tests/integration/shared/test_pool_ping.py holds the pool to it). Not with a `reset` callback:
    the pool then hands every returned connection to its worker thread (a queue and a wake-up each).
    """
    ping = pool._check

    def check(conn: Any) -> None:
        now = time.monotonic()
        if ping is not None and now - getattr(conn, "_yishi_handed_out", 0.0) > after:
            ping(conn)
        conn._yishi_handed_out = now

    pool._check = check


def table_names(service: str, settings: Settings) -> tuple[str, str]:
    """(events, tracking) table names as eventsourcing names them for this store."""
    if settings.for_service(service).uses_postgres:
        return f"{service}.{service}_events", f"{service}.{service}_tracking"
    return "stored_events", "tracking"


def store_failed(exc: BaseException) -> bool:
    """A failure of the store (connection, read-only after failover, lock timeout, pool exhausted), not of the
    request or message: callers retry later (consumers) or answer 503 with Retry-After (commands)."""
    import psycopg
    from eventsourcing.persistence import DataError, IntegrityError, PersistenceError

    if isinstance(exc, (IntegrityError, DataError)):
        return False
    return isinstance(exc, (PersistenceError, sqlite3.OperationalError, psycopg.OperationalError,
                            psycopg.InterfaceError, PoolExhausted))


CONNECT_TIMEOUT = 2  # seconds to open a PostgreSQL connection (or wait for one from eventsourcing's pool)
# A connection whose peer vanished without a word (a partition, a middlebox that dropped it) fails within ~10 s
# instead of leaving its query waiting forever (seen behind a fault proxy: a relay stuck for good).
DEAD_PEER = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
             "tcp_user_timeout": 10000}


def notice_dead_peers(pool: Any) -> None:
    """eventsourcing's pool opens its connections with DEAD_PEER too; those it opened already are replaced."""
    pool.kwargs.update(DEAD_PEER)
    pool.drain()


def shrink_when_idle(pool: Any, max_idle: float) -> None:
    """eventsourcing's pool keeps `pool_size` connections open for good (min_size) and would close a surplus one
    only after 10 min: from now on it opens them on demand and closes one that rested `max_idle` seconds
    (psycopg_pool's ShrinkPool, one connection per period, rescheduled by itself every `max_idle`)."""
    from psycopg_pool.pool import ShrinkPool

    pool.max_idle = max_idle
    pool.resize(0, pool.max_size)
    pool.schedule_task(ShrinkPool(pool), max_idle)

POOL_WAIT = 30.0  # seconds a caller waits for a pooled connection before the store counts as unavailable


class PoolExhausted(ConnectionError):
    """Every pooled connection stayed busy: treated like an unavailable store (retry later, answer 503)."""


class Database:
    """A small DB-API helper over the service's own store, for read models and relay state.

    SQL is written once with `?` placeholders and `ON CONFLICT` upserts, which both stores speak.
    """

    def __init__(self, service: str, settings: Settings):
        self.service = service
        self.settings = settings = settings.for_service(service)  # its own database where it has one
        self.postgres = settings.uses_postgres
        # PostgreSQL connections are a budget shared by the whole system (server default: 100): at most
        # `pool_size` per Database, waited for when all are in use. Green-safe under eventlet's patching.
        size = settings.pool_size if self.postgres else 8
        self._idle: queue.LifoQueue = queue.LifoQueue(maxsize=size)  # (connection, rested since): newest on top
        self._slots = threading.BoundedSemaphore(size) if self.postgres else None
        self._closed = threading.Event()
        if self.postgres:
            self.ensure_schema()
            _reap_idle(weakref.ref(self), settings.pool_max_idle, self._closed)
        else:
            settings.var_dir.mkdir(parents=True, exist_ok=True)
            self.path = settings.var_dir / f"{service}.sqlite3"

    def ensure_schema(self) -> None:
        with self.ddl_lock() as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.service}"')

    @contextmanager
    def ddl_lock(self) -> Iterator[Any]:
        """A session holding the service's DDL lock (PostgreSQL): IF NOT EXISTS races between processes that
        create the same table at once (a web and a worker starting together), so creators take turns."""
        import psycopg

        key = zlib.crc32(f"{self.service}.ddl".encode())  # the same lock as `lock(tx, "ddl")`
        with psycopg.connect(**pg_params(self.settings.database_url or ""), autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield conn
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def connect(self) -> Any:
        if self.postgres:
            import psycopg

            conn = psycopg.connect(**pg_params(self.settings.database_url or ""), autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT, options=f"-c search_path={self.service}",
                                   **DEAD_PEER)
            return _PgConnection(conn)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return _SqliteConnection(conn)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator["Transaction"]:
        """One transaction on a pooled connection; a broken connection is dropped, not reused."""
        if self._slots is None:
            yield from self._transaction(write)
            return
        if not self._slots.acquire(timeout=POOL_WAIT):
            from shared import metrics

            metrics.POOL_EXHAUSTED.labels(self.service).inc()
            raise PoolExhausted(f"{self.service}: all {self.settings.pool_size} connections busy for {POOL_WAIT}s")
        try:
            yield from self._transaction(write)
        finally:
            self._slots.release()

    def _transaction(self, write: bool) -> Iterator["Transaction"]:
        try:
            conn, _ = self._idle.get_nowait()
        except queue.Empty:
            conn = self.connect()
        try:
            with conn.transaction(write) as tx:
                yield tx
        except BaseException:
            if conn.broken:
                conn.close()
                raise
            self._release(conn)
            raise
        self._release(conn)

    def _release(self, conn: Any) -> None:
        self._release_entry((conn, time.monotonic()))

    def close_idle(self, rested: float) -> None:
        """Close the connections that rested `rested` seconds or more; the others go back as they were."""
        kept, now = [], time.monotonic()
        while True:
            try:
                conn, since = self._idle.get_nowait()
            except queue.Empty:
                break
            if now - since >= rested:
                conn.close()
            else:
                kept.append((conn, since))
        for entry in reversed(kept):  # oldest first: the newest ends on top again
            self._release_entry(entry)

    def _release_entry(self, entry: tuple[Any, float]) -> None:
        try:
            self._idle.put_nowait(entry)
        except queue.Full:
            entry[0].close()

    def lock(self, tx: "Transaction", name: str) -> None:
        """Serialise DDL between processes; SQLite's BEGIN IMMEDIATE already does."""
        if self.postgres:
            tx.run("SELECT pg_advisory_xact_lock(?)", (lock_key(self.service, name),))

    def close(self) -> None:
        if self._closed.is_set():  # closed already (an Application closes again when collected, maybe at exit)
            return
        self._closed.set()
        while True:
            try:
                self._idle.get_nowait()[0].close()
            except queue.Empty:
                return

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.transaction(write=False) as tx:
            return tx.all(sql, params)


def _reap_idle(db: "weakref.ref[Database]", max_idle: float, closed: threading.Event) -> None:
    """Every half `max_idle`, close the database's connections that rested `max_idle` (until it is closed or
    collected): an idle process gives its connections back to the server's budget."""
    def reap() -> None:
        while not closed.wait(max_idle / 2):
            if (target := db()) is None:
                return
            target.close_idle(max_idle)
            del target

    threading.Thread(target=reap, name="pool-reaper", daemon=True).start()


def lock_key(service: str, name: str) -> int:
    """The PostgreSQL advisory lock of one of a service's named resources (a read model, DDL)."""
    return zlib.crc32(f"{service}.{name}".encode())


class Transaction:
    def __init__(self, cursor: Any, translate: bool):
        self._cursor = cursor
        self._translate = translate

    def run(self, sql: str, params: tuple | list = ()) -> None:
        self._cursor.execute(sql.replace("?", "%s") if self._translate else sql, params)

    def all(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        self.run(sql, params)
        return list(self._cursor.fetchall())

    def one(self, sql: str, params: tuple | list = ()) -> tuple | None:
        self.run(sql, params)
        return self._cursor.fetchone()


class _PgConnection:
    def __init__(self, conn: Any):
        self._conn = conn

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        if not write:  # a read: single autocommit statements, no BEGIN/COMMIT round trips
            with self._conn.cursor() as cur:
                yield Transaction(cur, translate=True)
            return
        with self._conn.transaction(), self._conn.cursor() as cur:
            yield Transaction(cur, translate=True)

    @property
    def broken(self) -> bool:
        return self._conn.closed or self._conn.broken

    def close(self) -> None:
        self._conn.close()


class _SqliteConnection:
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # IMMEDIATE: writers queue, never deadlock
        try:
            yield Transaction(cur, translate=False)
        except BaseException:
            self._conn.rollback()
            raise
        else:
            self._conn.commit()
        finally:
            cur.close()

    broken = False

    def close(self) -> None:
        self._conn.close()

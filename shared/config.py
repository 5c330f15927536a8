"""Process configuration, read once from the environment."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from shared import clock

DEFAULT_PORTS = {"intake": 8001, "casework": 8002, "meetings": 8003, "notifications": 8004, "portal": 8005,
                 "liaison": 8006}


@dataclass(frozen=True)
class Settings:
    """Where a service keeps its events and how it reaches the broker.

    `database_url` None means the embedded default: one SQLite file per service under `var_dir`.
    `for_service(name)` gives one service's settings: its own database (YISHI_<SERVICE>_DATABASE_URL) and pool
    size (YISHI_<SERVICE>_PG_POOL_SIZE) where set, else the deployment's. Every store, lock and command of a
    service takes its settings through it (ServiceApplication, Database, Leadership), so the event store, the
    read models, the relay's position and the leader lock of one service are always in the same database.
    """

    database_url: str | None
    amqp_uri: str
    var_dir: Path
    poll_interval: float = 1.0  # followers' safety-net poll: commits wake them (shared/store/wakeup.py)
    max_attempts: int = 5
    tick_interval: float | None = None  # overrides every ticker's own interval (tests)
    pool_size: int = 2  # PostgreSQL connections of a process's event store (its read-model pool has as many)
    pool_max_idle: float = 60.0  # seconds a pooled PostgreSQL connection may rest before it is closed
    # how long a consumer gathers deliveries after the first into one transaction: latency per hop for fewer commits
    consumer_window: float = 0.01
    service_database_urls: Mapping[str, str] = field(default_factory=dict, hash=False)  # service -> its own database
    service_pool_sizes: Mapping[str, int] = field(default_factory=dict, hash=False)  # service -> its own pool size
    scope: str | None = None  # the service `for_service` resolved these for; None: the deployment's
    unscoped: "Settings | None" = field(default=None, repr=False, compare=False)  # the deployment's, when scoped

    @classmethod
    def from_env(cls) -> "Settings":
        clock.enabled(os.environ)  # every process reads its settings first: a test clock in production stops it
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            amqp_uri=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
            var_dir=Path(os.environ.get("YISHI_VAR_DIR", "var")).resolve(),
            poll_interval=float(os.environ.get("YISHI_POLL_INTERVAL", "1.0")),
            max_attempts=int(os.environ.get("YISHI_MAX_ATTEMPTS", "5")),
            tick_interval=float(os.environ["YISHI_TICK_INTERVAL"]) if os.environ.get("YISHI_TICK_INTERVAL") else None,
            pool_size=int(os.environ.get("YISHI_PG_POOL_SIZE", "2")),
            pool_max_idle=float(os.environ.get("YISHI_PG_MAX_IDLE", "60")),
            consumer_window=float(os.environ.get("YISHI_CONSUMER_WINDOW_MS", "10")) / 1000,
            service_database_urls=per_service(os.environ, "DATABASE_URL", str),
            service_pool_sizes=per_service(os.environ, "PG_POOL_SIZE", int),
        )

    def for_service(self, service: str) -> "Settings":
        """These settings for one service: its own database and pool size where configured."""
        if self.scope == service:
            return self
        base = self.unscoped or self
        return replace(base, database_url=base.service_database_urls.get(service, base.database_url),
                       pool_size=base.service_pool_sizes.get(service, base.pool_size), scope=service, unscoped=base)

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url and self.database_url.startswith("postgres"))


def per_service(environ: Mapping[str, str], suffix: str, convert) -> dict[str, object]:
    """{service: value} of the set YISHI_<SERVICE>_<suffix> variables (one word per service name, as every
    service is named; an empty value is unset)."""
    pattern = re.compile(rf"YISHI_([A-Z][A-Z0-9]*)_{suffix}")
    found = {}
    for name, value in environ.items():
        match = pattern.fullmatch(name)
        if match and value.strip():
            found[match.group(1).lower()] = convert(value.strip())
    return found


def http_port(service: str) -> int:
    """YISHI_<SERVICE>_PORT, else YISHI_HTTP_PORT (a process serving one service), else the design's port."""
    return int(os.environ.get(f"YISHI_{service.upper()}_PORT") or os.environ.get("YISHI_HTTP_PORT")
               or DEFAULT_PORTS[service])


def service_url(service: str) -> str:
    """Where another service answers HTTP: YISHI_<SERVICE>_URL, else its port on this machine.

    Not YISHI_HTTP_PORT: that is the calling process's own port."""
    return (os.environ.get(f"YISHI_{service.upper()}_URL")
            or f"http://127.0.0.1:{os.environ.get(f'YISHI_{service.upper()}_PORT') or DEFAULT_PORTS[service]}").rstrip("/")

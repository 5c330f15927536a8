"""What a service plugs into the platform: its Application, its public events and its read models."""
from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field

from prometheus_client.registry import Collector

from shared.store.application import ServiceApplication
from shared.config import DEFAULT_PORTS
from shared.store.persistence import Database
from shared.store.projection import Projection
from shared.messaging.relay import PublishMap


@dataclass(frozen=True)
class Ticker:
    """Periodic work that every instance of a service runs (casework's deadline watcher, say).

    It must be safe to run in several instances at once: the aggregates' versions make it so.
    """

    name: str
    interval: float
    run: Callable[[ServiceApplication, Database], Any]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    application: type[ServiceApplication]
    publisher: Callable[[ServiceApplication], PublishMap]  # the relay's map, given the service's app
    tickers: tuple[Ticker, ...] = ()
    collectors: Callable[[Database], list[Collector]] = field(default=lambda db: [])  # scraped by GET /metrics
    # one-off steps `yishi migrate <service> <step>` runs on a stopped service's store: name -> run(app, db) -> summary
    migrations: dict[str, Callable[[ServiceApplication, Database], str]] = field(default_factory=dict)


    def projections(self) -> list[Projection]:
        """The service's read models of its own log (written by the log's writers: ServiceApplication.projections)."""
        return list(self.application.projections)


def load_spec(service: str) -> ServiceSpec:
    return importlib.import_module(f"services.{service}.bootstrap").SPEC


def reactions() -> dict[str, dict[str, tuple[str, ...]]]:
    """Each built service's declared reactions: upstream -> routing keys (see ServiceApplication.reacts_to)."""
    return {s: dict(load_spec(s).application.reacts_to) for s in built_services()
            if load_spec(s).application.reacts_to}


def built_services() -> tuple[str, ...]:
    """Event-sourced services built so far (`services/<name>/service.py` and the spec in `bootstrap.py`),
    in the design's order: each has a log, a worker, read models and queues."""
    return tuple(s for s in web_services() if importlib.util.find_spec(f"services.{s}.bootstrap") is not None)


def web_services() -> tuple[str, ...]:
    """Services whose HTTP adapter exists: the event-sourced ones and front ends that keep nothing of their own
    (no `bootstrap.py`: no log, no worker, no queue; the portal reads the others over HTTP)."""
    return tuple(s for s in DEFAULT_PORTS if importlib.util.find_spec(f"services.{s}.service") is not None)


def service_class(service: str) -> type:
    """A service's nameko class, by convention `<Name>Service` in `services/<name>/service.py`."""
    return getattr(importlib.import_module(f"services.{service}.service"), f"{service.capitalize()}Service")

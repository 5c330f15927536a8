"""What a service plugs into the platform: its Application, its public events and its read models."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.application import ServiceApplication
from shared.projection import Projection
from shared.relay import PublishMap


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    application: type[ServiceApplication]
    publish: PublishMap
    projections: Callable[[], list[Projection]] = field(default=list)


def load_spec(service: str) -> ServiceSpec:
    return importlib.import_module(f"services.{service}.bootstrap").SPEC

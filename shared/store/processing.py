"""eventsourcing's collecting and projecting of aggregate events, without its runtime Protocol checks.

`isinstance(x, SomeProtocol)` walks the protocol's members on every call: measured at about a tenth of
the workers' CPU (py-spy, bench.pipeline). Our aggregates are all `Aggregate`s, so a class check does.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import BaseAggregate


class Processing(ProcessingEvent):
    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            elif obj is not None:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Repository projector: each stored event mutates the aggregate in turn."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate

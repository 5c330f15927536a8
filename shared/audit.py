"""Tamper-evident audit trail (审计留痕): a hash chain over each aggregate's stored events.

Every event of an `Audited` aggregate carries, in its stored state, `audit_prev` (the hash of the
aggregate's previous event) and `audit_hash` = sha256(audit_prev + canonical form of the event). The
canonical form covers the aggregate id, the version, the stored topic and every other stored field
(timestamp included), so editing a stored event's state, deleting an event, or swapping two events
breaks the chain at that event. The hashes are computed when the event is recorded (in the
aggregate, before it is saved), never reconstructed at read time from whatever the table holds.

`trail()` gives one aggregate's history with a `verified` flag (`GET /cases/{id}/history`), and
`verify_all()` scans a service's whole log, naming the first broken link of each aggregate.

The chain is mandatory from an aggregate's first event: an audited event without its hash fields is
a break (stripping them from an edited event and every later one must not pass). Aggregates that are
not `Audited` carry no chain and are not checked.

A chain alone shows neither an editor who recomputes every later hash nor a log whose tail was cut:
the checkpoints of every chain's head, recorded in the log and published (`shared/ops/checkpoints.py`),
close both gaps for whoever holds a copy.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, ProgrammingError
from eventsourcing.utils import get_topic, resolve_topic

PREV, HASH = "audit_prev", "audit_hash"
GENESIS = ""
_INTERNAL = {PREV, HASH, "originator_id", "originator_version"}


def canonical(value: Any) -> Any:
    """A JSON value equal for an event as recorded and as decoded from the store."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, Enum):
        return canonical(value.value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"an audited event holds a {type(value).__name__}, which has no canonical form")


def chain_hash(prev: str | None, aggregate_id: Any, version: int, topic: str, state: dict[str, Any]) -> str:
    body = {"id": str(aggregate_id), "version": version, "topic": topic,
            "state": canonical({k: v for k, v in state.items() if k not in _INTERNAL})}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(((prev or GENESIS) + "\n" + text).encode()).hexdigest()


def _event_hash(event: Any, prev: str | None) -> str:
    state = dict(vars(event))
    class_version = getattr(type(event), "class_version", 1)
    if class_version > 1:  # the mapper stores it too
        state["class_version"] = class_version
    return chain_hash(prev, event.originator_id, event.originator_version, get_topic(type(event)), state)


class Audited(Aggregate):
    """Base of aggregates whose history must be tamper-evident: every event joins the hash chain.

    Use it like `Aggregate` (`class Case(Audited)` with `@event` methods). An event must not change
    after it is triggered: copy, never alias, mutable arguments into the aggregate's state.
    """

    class Event(Aggregate.Event):
        def mutate(self, aggregate: Any) -> Any:
            head = getattr(aggregate, "_audit_head", None) if aggregate is not None else None
            if HASH not in self.__dict__:  # being recorded now (a stored one without it fails verification)
                object.__setattr__(self, PREV, head)
                object.__setattr__(self, HASH, _event_hash(self, head))
            aggregate = super().mutate(aggregate)
            aggregate._audit_head = self.__dict__[HASH]
            return aggregate

    class Created(Event, Aggregate.Created):
        pass

    def collect_events(self) -> Any:
        events = super().collect_events()
        for e in events:  # what is stored must be what was hashed
            if _event_hash(e, e.__dict__.get(PREV)) != e.__dict__.get(HASH):
                raise ProgrammingError(f"{type(e).__qualname__} v{e.originator_version} of {e.originator_id} "
                                       "changed after it was recorded: copy mutable arguments, don't alias them")
        return events


# reading and verifying ----------------------------------------------------------------------

@dataclass
class _Link:
    version: int
    topic: str
    state: dict[str, Any] | None
    hash: str | None
    prev: str | None
    sealed: bool
    error: str | None = None


def _stored_state(mapper: Any, stored: Any) -> dict[str, Any]:
    state = stored.state
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    return mapper.transcoder.decode(state)


def _audited(topic: str) -> bool | None:
    """Whether a stored topic is an audited event; None when it names no class (a tampered topic)."""
    try:
        cls = resolve_topic(topic)
    except Exception:
        return None
    return isinstance(cls, type) and issubclass(cls, Audited.Event)


class ChainChecker:
    """Follows one aggregate's stored events in order and finds the first broken link."""

    def __init__(self, aggregate_id: Any):
        self.aggregate_id = aggregate_id
        self.version = 0
        self.head: str | None = None
        self.broken_at: int | None = None
        self.reason: str | None = None

    def check(self, mapper: Any, stored: Any) -> _Link:
        version = stored.originator_version
        try:
            state = _stored_state(mapper, stored)
        except Exception as exc:
            link = _Link(version, stored.topic, None, None, None, False, f"unreadable: {type(exc).__name__}")
            self._break(version, link.error or "")
            return link
        sealed = HASH in state
        expected = chain_hash(self.head, self.aggregate_id, version, stored.topic, state)
        link = _Link(version, stored.topic, state, state.get(HASH, expected), state.get(PREV, self.head), sealed)
        audited = _audited(stored.topic)
        if self.broken_at is None:
            if version != self.version + 1:
                self._break(self.version + 1, f"version {self.version + 1} missing or out of order (found {version})")
            elif audited is None:
                self._break(version, f"stored topic {stored.topic} names no event class")
            elif audited and not sealed:
                self._break(version, "audited event carries no hash: the chain is mandatory from the first event")
            elif not audited and self.head is not None:
                self._break(version, "unaudited event inside an audited chain")
            elif sealed and state.get(PREV) != self.head:
                self._break(version, "previous hash does not match: an earlier event was changed, removed or moved")
            elif sealed and state[HASH] != expected:
                self._break(version, "event changed after it was recorded")
        self.version = version
        self.head = link.hash if audited else None
        return link

    def _break(self, version: int, reason: str) -> None:
        if self.broken_at is None:
            self.broken_at, self.reason = version, reason


def _rfc3339(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return None


def trail(app: Any, aggregate_id: Any, view: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
          of: type | None = None) -> dict[str, Any] | None:
    """One aggregate's full history with its hash chain checked, read from the stored events only.

    {aggregate_id, verified, broken_at (first broken version or null), reason, entries: [{version, type,
    at (RFC 3339 UTC), hash, prev_hash, sealed, data}]}. `view(type, data)` may mask or trim each entry's
    data (personal data) before it is shown; the chain is checked on the stored data, not the view.
    With `of` (an aggregate class), None unless some stored event is one of that class's: a history
    whose events were deleted or edited so that the aggregate cannot be rebuilt still answers.
    """
    stored_events = list(app.recorder.select_events(aggregate_id))
    if of is not None and not any(_is_event_of(s.topic, of) for s in stored_events):
        return None
    checker = ChainChecker(aggregate_id)
    entries = []
    for stored in stored_events:
        link = checker.check(app.mapper, stored)
        state = link.state or {}
        kind = link.topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        data = canonical({k: v for k, v in state.items()
                          if k not in _INTERNAL and k not in ("timestamp", "originator_topic", "class_version")})
        entries.append({"version": link.version, "type": kind, "at": _rfc3339(state.get("timestamp")),
                        "hash": link.hash, "prev_hash": link.prev, "sealed": link.sealed,
                        "data": view(kind, data) if view else data})
    return {"aggregate_id": str(aggregate_id), "verified": checker.broken_at is None and bool(entries),
            "broken_at": checker.broken_at, "reason": checker.reason, "entries": entries}


def _is_event_of(topic: str, aggregate: type) -> bool:
    try:
        cls = resolve_topic(topic)
    except Exception:
        return False
    return isinstance(cls, type) and issubclass(cls, aggregate.Event)


def heads_digest(checkers: Iterable[ChainChecker]) -> tuple[int, str]:
    """(number of chains, sha256 over every chain's `id version head`, sorted): the state a checkpoint fixes."""
    lines = sorted(f"{c.aggregate_id} {c.version} {c.head}" for c in checkers if c.head is not None)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _checkpoint_break(checkpoint: dict[str, Any], events: int, checkers: Iterable[ChainChecker]) -> str | None:
    aggregates, digest = heads_digest(checkers)
    if (events, aggregates, digest) == (checkpoint["events"], checkpoint["aggregates"], checkpoint["digest"]):
        return None
    return (f"the log up to position {checkpoint['position']} is not what the checkpoint of "
            f"{checkpoint['checkpointed_at']} saw ({checkpoint['events']} events, {checkpoint['aggregates']} chains; "
            f"found {events}, {aggregates}): events were removed, added or rewritten")


def verify_all(app: Any, progress: Callable[[int], None] | None = None, page: int = 1000,
               checkpoints: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """Check every aggregate's chain, and the log against each checkpoint, in one pass over the service's log.

    `checkpoints` are `AuditCheckpointed` data (from the log, or held outside it): at each one's position
    the log must hold as many events and reproduce its digest of the chains' heads; a log that ends
    before a checkpoint's position lost its tail.
    Returns {verified, aggregates, events, broken: [{aggregate_id, version, reason}], checkpoints (how
    many held), heads: {id: hash}}. `progress(n)` is called with the number of events read in each page.
    """
    checkers: dict[Any, ChainChecker] = {}
    pending = sorted(checkpoints, key=lambda c: c["position"])
    held = len(pending)
    cut: list[dict[str, Any]] = []

    def settle(before: int | None) -> None:  # checkpoints whose position the scan has passed
        while pending and (before is None or pending[0]["position"] < before):
            checkpoint = pending.pop(0)
            reason = (f"the log ends at {position}, before the checkpoint of {checkpoint['checkpointed_at']} at "
                      f"position {checkpoint['position']}: its tail was cut" if before is None
                      and checkpoint["position"] > position else _checkpoint_break(checkpoint, events, checkers.values()))
            if reason:
                cut.append({"aggregate_id": "log", "version": checkpoint["position"], "reason": reason})

    position, events = 0, 0
    while page_ := app.recorder.select_notifications(position, page, inclusive_of_start=False):
        for n in page_:
            settle(n.id)
            checker = checkers.get(n.originator_id) or checkers.setdefault(n.originator_id, ChainChecker(n.originator_id))
            checker.check(app.mapper, n)
            position, events = n.id, events + 1
        if progress:
            progress(len(page_))
    settle(None)
    broken = [{"aggregate_id": str(c.aggregate_id), "version": c.broken_at, "reason": c.reason}
              for c in checkers.values() if c.broken_at is not None] + cut
    return {"verified": not broken, "aggregates": len(checkers), "events": events, "broken": broken,
            "checkpoints": held,
            "heads": {str(c.aggregate_id): c.head for c in checkers.values()}}


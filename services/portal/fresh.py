"""Upstream answers kept a few seconds, so 50 people opening the board make one read of each part, not 50.

A read opts in with how stale it may be (`fresh_for` seconds, upstream.py); within that time every page is
given the same answer, and while one fetch is under way the others asking for it wait for that one (no
stampede on the upstream when an answer expires). A refusal or an unavailable upstream is never kept: the
next page asks again. Answers are shared: callers copy before they change one.

The key holds everything the answer depends on: the service, path, query and language, and for a staff
member's read their *scope* (roles, community, party — what each service decides by), never the token itself,
so two workers of one community share an answer and a worker never sees a party's or another community's.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from eventlet.event import Event

MOST = 1024  # answers kept at most (the oldest dropped first)
# How stale each kind of read may be — the one place these are said (README "Web pages"):
PUBLIC_SECONDS = 10.0  # the board's parts and the demand list: what every resident sees, at most 10 s behind
STAFF_SECONDS = 5.0  # the worklist, a case, the meetings' archive; a page after the member's own command reads afresh
MONTHLY_SECONDS = 30.0  # the month's rates (三率) and the ledger counts beside them


class Fresh:
    def __init__(self, most: int = MOST, clock: Callable[[], float] = time.monotonic):
        self.most, self.clock = most, clock
        self.kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.flights: dict[Hashable, Event] = {}

    def get(self, key: Hashable, seconds: float, fetch: Callable[[], Any]) -> Any:
        hit = self.kept.get(key)
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        flight = self.flights.get(key)
        if flight is not None:  # another page is fetching it: its answer (or its error) is this one's
            return flight.wait()
        flight = self.flights[key] = Event()
        try:
            value = fetch()
        except Exception as exc:
            flight.send_exception(exc)
            raise
        finally:
            del self.flights[key]
        self.kept[key] = (self.clock() + seconds, value)
        self.kept.move_to_end(key)
        while len(self.kept) > self.most:
            self.kept.popitem(last=False)
        flight.send(value)
        return value

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

from eventlet.corolocal import local
from eventlet.event import Event
from eventlet.greenpool import GreenPool

MOST = 1024  # answers kept at most (the oldest dropped first)
# How stale each kind of read may be — the one place these are said (README "Web pages"):
PUBLIC_SECONDS = 10.0  # the board's parts and the demand list: what every resident sees, at most 10 s behind
STAFF_SECONDS = 5.0  # the worklist, a case, the meetings' archive; a page after the member's own command reads afresh
MONTHLY_SECONDS = 30.0  # the month's rates (三率) and the ledger counts beside them


class NotKept(Exception):
    """Asked for kept answers only (`together`), and this one is not kept."""


class Fresh:
    def __init__(self, most: int = MOST, clock: Callable[[], float] = time.monotonic):
        self.most, self.clock = most, clock
        self.kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.flights: dict[Hashable, Event] = {}
        self.local = local()  # per green thread: whether it asks for kept answers only

    def together(self, calls: list[Callable[[], Any]]) -> list[Any]:
        """Each call's answer, in order (an error raised as the call raised it): the kept ones at once, the rest
        side by side in green threads. A page whose answers are all kept never yields to the hub, so other
        pages do not run in the middle of it (spawning alone would hand the CPU to every waiting page)."""
        answers: list[Any] = [None] * len(calls)
        missing = []
        self.local.kept_only = True
        try:
            for n, call in enumerate(calls):
                try:
                    answers[n] = call()
                except NotKept:
                    missing.append(n)
        finally:
            self.local.kept_only = False
        if missing:
            for n, answer in zip(missing, GreenPool(len(missing)).imap(lambda n: calls[n](), missing)):
                answers[n] = answer
        return answers

    def get(self, key: Hashable, seconds: float, fetch: Callable[[], Any]) -> Any:
        hit = self.kept.get(key)
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        if getattr(self.local, "kept_only", False):
            raise NotKept()
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

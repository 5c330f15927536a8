"""Upstream answers kept a few seconds, so 50 people opening the board make one read of each part, not 50.

A read opts in with how long an answer stays fresh (`fresh_for` seconds, upstream.py); within that time every
page is given the same answer. For as long again it is still given while one green thread fetches its
successor (stale-while-revalidate, as RFC 5861 says it for HTTP caches), so a page never waits for the
refresh; older than twice its time, a page waits for the fetch, and the others asking for it wait for that one
(no stampede on the upstream). An answer is therefore at most twice `fresh_for` (plus one fetch) old. A
refusal or an unavailable upstream is never kept: the next page asks again. Answers are shared: callers copy
before they change one.

The key holds everything the answer depends on: the service, path, query and language, and for a staff
member's read their *scope* (roles, community, party — what each service decides by), never the token itself,
so two workers of one community share an answer and a worker never sees a party's or another community's.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import logging

from eventlet import spawn_n
from eventlet.corolocal import local
from eventlet.event import Event
from eventlet.greenpool import GreenPool

log = logging.getLogger(__name__)

MOST = 1024  # answers kept at most (the oldest dropped first)
# How stale each kind of read may be — the one place these are said (README "Web pages"):
PUBLIC_SECONDS = 10.0  # the board's parts and the demand list: what every resident sees, at most 20 s behind
STAFF_SECONDS = 3.0  # the worklist, a case, the archive: at most 6 s; the page after one's own command reads afresh
MONTHLY_SECONDS = 30.0  # the month's rates (三率) and the ledger counts beside them: at most a minute


class NotKept(Exception):
    """Asked for kept answers only (`together`), and this one is not kept."""


class Fresh:
    def __init__(self, most: int = MOST, clock: Callable[[], float] = time.monotonic, scale: float = 1.0):
        self.most, self.clock, self.scale = most, clock, scale
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
        hit, now = self.kept.get(key), self.clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        if hit is not None and hit[0] + seconds > now:  # past its time, not twice: given while it is refreshed
            if key not in self.flights:
                self.flights[key] = Event()
                spawn_n(self._refresh, key, seconds, fetch)
            return hit[1]
        if getattr(self.local, "kept_only", False):
            raise NotKept()
        flight = self.flights.get(key)
        if flight is not None:  # another page is fetching it: its answer (or its error) is this one's
            return flight.wait()
        self.flights[key] = Event()
        return self._fetch(key, seconds, fetch)

    def _fetch(self, key: Hashable, seconds: float, fetch: Callable[[], Any]) -> Any:
        flight = self.flights[key]
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

    def _refresh(self, key: Hashable, seconds: float, fetch: Callable[[], Any]) -> None:
        try:
            self._fetch(key, seconds, fetch)
        except Exception as exc:  # the stale answer ages out; the page that then asks meets the error itself
            log.info("refreshing %s failed: %s", key[:2] if isinstance(key, tuple) else key, type(exc).__name__)

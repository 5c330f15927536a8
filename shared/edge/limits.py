"""Abuse limits on public writes (防刷): so many per client, or per phone number, per window; 429 past them.

    REPORTS = Limit.from_env("REPORTS_PER_CLIENT", 30)     # YISHI_LIMIT_REPORTS_PER_CLIENT=30 (per hour; 0: off)
    REPORTS.hit(client_of(request))                         # raises TooManyRequests with Retry-After

Counts are kept in each web process's memory over a fixed window (`YISHI_LIMIT_WINDOW`, 3600 s): with N web
processes a client may reach N times a limit before every process refuses it. Keys are never logged: a phone
number is counted by its HMAC under a key of the process, not kept. The client is the peer address, or the
first `X-Forwarded-For` address when the peer is a trusted proxy (`YISHI_TRUSTED_PROXIES`, default the
loopback addresses: the portal on this machine forwards its visitor's).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import os
import secrets
import threading
import time
from collections.abc import Callable

from werkzeug.wrappers import Request

from shared.errors import DomainError

_PEPPER = secrets.token_bytes(32)  # per process: a counted phone number cannot be recovered from memory


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"
    title_zh = "请求过于频繁"

    def __init__(self, detail: str, zh: str, retry_after: int):
        super().__init__(detail, None, zh)
        self.headers = {"Retry-After": str(retry_after)}


class Limit:
    """At most `count` hits per key in each window of `window` seconds (0: no limit)."""

    def __init__(self, name: str, count: int, window: float, what_zh: str,
                 clock: Callable[[], float] = time.monotonic):
        self.name, self.count, self.window, self.what_zh, self.clock = name, count, window, what_zh, clock
        self._hits: dict[str, tuple[float, int]] = {}  # key -> (window start, hits)
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, name: str, default: int, what_zh: str) -> "Limit":
        return cls(name, int(os.environ.get(f"YISHI_LIMIT_{name}", str(default))),
                   float(os.environ.get("YISHI_LIMIT_WINDOW", "3600")), what_zh)

    def hit(self, key: str | None) -> None:
        """Count one hit of `key`; TooManyRequests (nothing else done) once the window's count is spent."""
        if not self.count or not key:
            return
        now = self.clock()
        with self._lock:
            start, hits = self._hits.get(key, (now, 0))
            if now - start >= self.window:
                start, hits = now, 0
            if hits >= self.count:
                wait = max(1, math.ceil(start + self.window - now))
                raise TooManyRequests(f"too many {self.name.lower().replace('_', ' ')}: retry in {wait} s",
                                      f"{self.what_zh}过于频繁,请 {_minutes(wait)} 后再试", wait)
            self._hits[key] = (start, hits + 1)
            if len(self._hits) > 100_000:  # forget windows that ended: memory stays bounded
                self._hits = {k: v for k, v in self._hits.items() if now - v[0] < self.window}

    def spent(self, key: str | None) -> bool:
        """Whether `key` has no hit left in its window (to refuse before trying, without counting)."""
        if not self.count or not key:
            return False
        with self._lock:
            start, hits = self._hits.get(key, (0.0, 0))
        return self.clock() - start < self.window and hits >= self.count


def _minutes(seconds: int) -> str:
    return f"{seconds} 秒" if seconds < 60 else f"{math.ceil(seconds / 60)} 分钟"


def client_of(request: Request) -> str:
    """The caller's address: the peer's, or the one a trusted proxy (the portal, an ingress) forwards."""
    peer = request.remote_addr or ""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    return forwarded if forwarded and trusted_proxy(peer) else peer


def trusted_proxy(peer: str) -> bool:
    """Whether `peer` is in YISHI_TRUSTED_PROXIES: addresses or networks (a cluster's pod network, say
    `10.0.0.0/8`: its proxies' addresses change with every pod)."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in os.environ.get("YISHI_TRUSTED_PROXIES", "127.0.0.1,::1").split(","):
        try:
            if address in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:  # not an address or network: trusts nothing
            continue
    return False


def phone_key(phone: str | None) -> str | None:
    """A phone number as a limit counts it: its digits' HMAC, never the number."""
    digits = "".join(c for c in phone or "" if c.isdigit())[-11:]
    return hmac.new(_PEPPER, digits.encode(), hashlib.sha256).hexdigest() if digits else None

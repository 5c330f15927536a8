"""Where a webhook may go (SSRF guard): public internet addresses only, unless the operator names others.

A subscription's URL is checked when it is registered, and every address a delivery connects to is checked
again on the socket itself, after DNS has answered, so a name that later resolves to an internal address
(DNS rebinding) is refused too. `YISHI_WEBHOOK_ALLOWLIST` names what is allowed besides: comma-separated
hosts or CIDRs, each optionally with a port or a port range, e.g. `127.0.0.1:32768-60999,10.0.0.0/8,
grid.example:443,[fd00::1]:8443`.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from shared.errors import InvalidInput

ENV = "YISHI_WEBHOOK_ALLOWLIST"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The URL names, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class Entry:
    """One allow-list entry: a network or a host name, and the ports it covers (None: every port)."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    host: str | None
    ports: tuple[int, int] | None

    def covers_port(self, port: int) -> bool:
        return self.ports is None or self.ports[0] <= port <= self.ports[1]


def _ports(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    first, last = int(low), int(high or low)
    if not 1 <= first <= last <= 65535:
        raise ValueError(text)
    return first, last


def parse_entry(text: str) -> Entry:
    """`host`, `host:port`, `host:low-high`, a CIDR or an IP (IPv6 in brackets when it has a port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        ports = _ports(rest[1:]) if rest.startswith(":") else None
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        ports = _ports(port)
    else:  # no port, or a bare IPv6 address or network
        host, ports = text, None
    try:
        return Entry(ipaddress.ip_network(host, strict=False), None, ports)
    except ValueError:
        if not host or "/" in host:
            raise ValueError(text) from None
        return Entry(None, host.lower().rstrip("."), ports)


def allowlist(env: dict[str, str] | None = None) -> tuple[Entry, ...]:
    """The operator's allow-list; an entry that does not parse stops the service rather than open a hole."""
    raw = (os.environ if env is None else env).get(ENV) or ""
    try:
        return tuple(parse_entry(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"{ENV}: cannot read entry {exc}") from None


def _public(address: Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return address.is_global and not address.is_multicast


def address_allowed(address: str, port: int, entries: tuple[Entry, ...]) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone index is no part of the address
    return _public(ip) or any(e.network is not None and ip in e.network and e.covers_port(port) for e in entries)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower().rstrip("."), parts.port or (443 if parts.scheme == "https" else 80)


def check_url(url: str, entries: tuple[Entry, ...]) -> None:
    """Refuse a URL whose host is, or now resolves to, an address that is not public and not allowed.

    A host named in the allow-list passes as it is. A name that does not resolve yet passes: the
    delivery checks what it connects to anyway.
    """
    host, port = _host_port(url)
    if any(e.host == host and e.covers_port(port) for e in entries):
        return
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return
    refused = sorted(a for a in found if not address_allowed(a, port, entries))
    if refused:
        raise AddressRefused(f"{host} is {', '.join(refused)}: not a public address")


def check_subscription_url(url: str) -> None:
    """At `POST /subscriptions`: a 422 naming `url` for an internal address."""
    try:
        check_url(url, allowlist())
    except AddressRefused as exc:
        raise InvalidInput(f"url must reach a public address ({exc}); the operator may allow others in {ENV}",
                           "url", "url 不能指向内网、本机或云元数据等内部地址(如需放行请由运维配置 "
                           f"{ENV})") from None


class _Guarded:
    """A urllib3 connection that checks the peer it actually connected to (after DNS, so no rebinding)."""

    entries: tuple[Entry, ...] = ()
    named: bool = False  # the URL's host is itself in the allow-list

    def _new_conn(self):  # type: ignore[no-untyped-def]
        sock = super()._new_conn()  # type: ignore[misc]
        peer = sock.getpeername()[0]
        if not self.named and not address_allowed(peer, self.port, self.entries):  # type: ignore[attr-defined]
            sock.close()
            raise AddressRefused(f"{self.host} resolved to {peer}: not a public address")  # type: ignore[attr-defined]
        return sock


def guarded_session(url: str, entries: tuple[Entry, ...]) -> requests.Session:
    """A session whose every connection to `url`'s host is checked on its socket."""
    host, port = _host_port(url)
    named = any(e.host == host and e.covers_port(port) for e in entries)
    attrs = {"entries": entries, "named": named}
    http_conn = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), attrs)
    https_conn = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), attrs)
    adapter = HTTPAdapter(max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the socket's peer must be the receiver itself
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

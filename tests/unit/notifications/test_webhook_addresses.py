"""Webhooks reach public addresses only (SSRF), unless the operator's allow-list names an internal one;
what a delivery connects to is checked again, so a name rebound to an internal address is refused."""
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import pytest

from services.notifications.addresses import ENV, Entry, allowlist, parse_entry
from services.notifications.application import NotificationsApplication
from services.notifications.channels import DeliveryError, SignedWebhook
from services.notifications.domain import Delivery
from shared.config import Settings
from shared.errors import InvalidInput
from tests.unit.notifications.test_policy import SECRET

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
PUBLIC = "93.184.216.34"


@pytest.fixture
def app(tmp_path):
    app = NotificationsApplication(Settings(database_url=None, amqp_uri="", var_dir=tmp_path),
                                   clock=lambda: NOW)
    yield app
    app.close()


@pytest.fixture
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers.get("content-length") or 0)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, received
    server.shutdown()


def subscribe(app, url):
    return app.subscribe({"url": url, "types": ["*"], "secret": SECRET})[0]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook", "https://192.168.1.10/hook", "http://172.16.0.5/hook", "http://100.64.0.1/",
    "http://0.0.0.0:8004/", "http://[::ffff:127.0.0.1]/", "http://[fd00::1]/", "http://localhost:8001/internal",
])
def test_a_subscription_to_an_internal_address_is_refused_naming_url(app, url, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(InvalidInput) as refused:
        subscribe(app, url)
    assert refused.value.field == "url"


def test_the_operators_allow_list_lets_a_named_address_and_port_through(app, monkeypatch):
    monkeypatch.setenv(ENV, "127.0.0.1:32768-60999, 10.0.0.0/8, [::1]:8443, grid.internal")
    for url in ("http://127.0.0.1:40000/hook", "http://10.9.9.9/hook", "https://[::1]:8443/", "http://grid.internal/"):
        assert subscribe(app, url)["url"] == url
    for url in ("http://127.0.0.1:8001/", "https://[::1]/", "http://169.254.169.254/"):
        with pytest.raises(InvalidInput):
            subscribe(app, url)


@pytest.mark.parametrize("text, entry", [
    ("127.0.0.1", Entry(parse_entry("127.0.0.1/32").network, None, None)),
    ("127.0.0.1:32768-60999", Entry(parse_entry("127.0.0.1").network, None, (32768, 60999))),
    ("fd00::/8", Entry(parse_entry("[fd00::/8]").network, None, None)),
    ("[::1]:443", Entry(parse_entry("::1").network, None, (443, 443))),
    ("Grid.Internal.:8443", Entry(None, "grid.internal", (8443, 8443))),
])
def test_allow_list_entries_read_as_hosts_or_networks_with_ports(text, entry):
    assert parse_entry(text) == entry


@pytest.mark.parametrize("raw", ["127.0.0.1:0", "10.0.0.0/33", "host:80-70", "host:x"])
def test_an_unreadable_allow_list_stops_rather_than_opens(raw):
    with pytest.raises(ValueError):
        allowlist({ENV: raw})


def delivery(subscription_id: str) -> Delivery:
    return Delivery(id=uuid4(), channel="webhook", recipient={"kind": "subscription", "subscription_id": subscription_id},
                    kind="CaseOpened", about="c", source_event="casework-1", content={"body": "{}"}, requested_at=NOW)


def test_a_name_rebound_to_an_internal_address_after_subscribing_is_not_delivered_to(app, receiver, monkeypatch):
    port, received = receiver
    real = socket.getaddrinfo
    answer = {"address": PUBLIC}

    def dns(host, *args, **kwargs):  # grid.example answers a public address, then the attacker's 127.0.0.1
        return real(answer["address"], *args, **kwargs) if host == "grid.example" else real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    monkeypatch.delenv(ENV, raising=False)
    sub = subscribe(app, f"http://grid.example:{port}/hook")
    answer["address"] = "127.0.0.1"
    channel = SignedWebhook(lambda sid: sub if sid == sub["subscription_id"] else None, timeout=5)
    with pytest.raises(DeliveryError) as refused:
        channel.send(delivery(sub["subscription_id"]), NOW)
    assert refused.value.permanent and "127.0.0.1" in str(refused.value) and received == []
    allowed = SignedWebhook(channel.subscriptions, timeout=5, allowed=allowlist({ENV: f"127.0.0.1:{port}"}))
    assert allowed.send(delivery(sub["subscription_id"]), NOW) == sub["url"] and received == [b"{}"]

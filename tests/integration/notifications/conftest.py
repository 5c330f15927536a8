"""Real receivers for notifications' channels: an HTTP server (webhooks, WeChat, SMS) and an SMTP server."""
from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from kombu import Connection, Exchange, Producer, Queue

from shared.messaging import topology
from shared.contracts import to_cloudevent
from tests.support.processes import free_port


class Receiver:
    """A local HTTP receiver. `script(path, *statuses)` answers those statuses in turn, then 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.scripts: dict[str, list[int]] = defaultdict(list)
        self.always: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    script = receiver.scripts[self.path]
                    status = script.pop(0) if script else receiver.always.get(self.path, 200)
                    receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                              "status": status})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def script(self, path: str, *statuses: int) -> None:
        self.scripts[path] = list(statuses)

    def at(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def json_at(self, path: str) -> list[dict]:
        return [json.loads(r["body"]) for r in self.at(path)]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


class Mailbox:
    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"to": envelope.rcpt_tos, "data": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


class Upstream:
    """Publishes CloudEvents as an upstream service's relay would, to its real exchange, in sequence."""

    def __init__(self, amqp_uri: str, service: str):
        self.amqp_uri, self.service, self.sequence = amqp_uri, service, 0
        self.sent: dict[int, dict] = {}

    def publish(self, name: str, data: dict, subject: str) -> dict:
        self.sequence += 1
        body = to_cloudevent(self.service, name, sequence=self.sequence, prevsequence=self.sequence - 1 or None,
                             subject=subject, time=datetime.now(timezone.utc), data=data)
        self.sent[self.sequence] = body
        self.republish(self.sequence)
        return body

    def republish(self, sequence: int) -> None:
        """Send a message again, as a relay does after a crash before its confirm."""
        body = self.sent[sequence]
        with Connection(self.amqp_uri) as conn:
            topology.declare(conn)
            Producer(conn.default_channel, exchange=topology.events_exchange(self.service)).publish(
                json.dumps(body, ensure_ascii=False).encode(), routing_key=body["type"].split(".")[3],
                content_type="application/json", content_encoding="utf-8", delivery_mode=2, message_id=body["id"])


@pytest.fixture
def upstreams(settings):
    return {s: Upstream(settings.amqp_uri, s) for s in ("intake", "casework", "meetings")}


@pytest.fixture
def city_queue(settings):
    """A city system's own queue on notifications.events, bound before notifications publishes anything."""
    with Connection(settings.amqp_uri) as conn:
        queue = Queue("city-notices", Exchange("notifications.events", "topic", durable=True), routing_key="#")
        queue(conn.default_channel).declare()

        def drain() -> list[dict]:
            out = []
            while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
                out.append(json.loads(message.body))
            return out

        yield drain

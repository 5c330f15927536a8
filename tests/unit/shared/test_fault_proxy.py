"""The fault proxy's reset must reach the client: a client waiting for an answer gets a RST, not silence.

Closing a socket another thread is blocked in `recv` on does not end the connection on Linux (the blocked
call keeps it open): a client waiting for its answer through such a proxy waited forever, its keepalives
answered by the proxy's kernel. That was the network fault test's hang with YISHI_FAULT_RESETS=1.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.faultproxy import FaultProxy


class Upstream:
    """A server that reads what it is sent and never answers (a query still running, an idle broker)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.received = b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        try:
            while data := conn.recv(100):
                self.received += data
        except ConnectionResetError:  # the proxy's reset, on this side too
            pass


@pytest.fixture
def proxy() -> Iterator[tuple[FaultProxy, Upstream]]:
    upstream = Upstream()
    p = FaultProxy(upstream.server.getsockname()[:2])
    yield p, upstream
    p.close()
    upstream.server.close()


def wait_for(predicate) -> None:
    deadline = time.monotonic() + 5
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("request_bytes", [b"", b"SELECT 1"], ids=["idle", "awaiting an answer"])
def test_a_reset_ends_the_clients_connection_at_once(proxy: tuple[FaultProxy, Upstream], request_bytes: bytes):
    p, upstream = proxy
    client = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    client.sendall(b"hello" + request_bytes)
    wait_for(lambda: upstream.received == b"hello" + request_bytes)  # through: both pumps wait in recv now
    time.sleep(0.05)
    assert p.reset() == 1
    with pytest.raises(ConnectionResetError):
        client.recv(1)  # timing out instead: the reset never reached the client
    client.close()

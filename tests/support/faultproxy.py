"""A small TCP proxy that misbehaves on demand: added latency, a blackhole, connection resets.

Put in front of PostgreSQL or RabbitMQ (listen on a port of its own, forward to the real one), it does to the
processes under test what a slow or broken network does: `latency` delays every chunk each way, `blackhole()`
forwards nothing (new connections are accepted but not put through) until lifted, `reset()` ends every
connection it carries with a TCP RST. Threads, no eventlet: it runs in the test process.
"""
from __future__ import annotations

import socket
import struct
import threading
import time


class _Link:
    """One carried connection: the client's socket and the proxy's to the upstream."""

    def __init__(self, client: socket.socket, server: socket.socket):
        self.sockets = (client, server)
        self.aborted = False  # reset: closed with a RST, never a FIN


class FaultProxy:
    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.latency = 0.0  # seconds added to every chunk, each way
        self._open = threading.Event()  # cleared: blackholed
        self._open.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()

    def blackhole(self, seconds: float) -> None:
        """Nothing goes through for `seconds` (blocks meanwhile), then everything held goes on."""
        self._open.clear()
        time.sleep(seconds)
        self._open.set()

    def reset(self) -> int:
        """End every carried connection with a RST, as a crashed middlebox does; returns how many."""
        with self._lock:
            links, self._links = self._links, set()
            for link in links:
                link.aborted = True
        for conn in (s for link in links for s in link.sockets):
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # Not close(): a socket another thread waits in recv on stays open until that call returns, so
                # the peer heard nothing (and its keepalives were answered) for good. SHUT_RD ends the wait
                # without a word on the wire; the pump then closes it, and the zero linger sends the RST.
                conn.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        return len(links)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.reset()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._open.wait()
        try:
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
        except OSError:
            client.close()
            return
        link = _Link(client, server)
        with self._lock:
            self._links.add(link)
        for src, dst in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(link, src, dst), daemon=True).start()

    def _pump(self, link: _Link, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.latency:
                    time.sleep(self.latency)
                self._open.wait()
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._links.discard(link)
            aborted = link.aborted
        for s in () if aborted else link.sockets:  # one side ended: so does the other
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for s in link.sockets:
            try:
                s.close()
            except OSError:
                pass

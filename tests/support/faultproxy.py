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


class FaultProxy:
    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.latency = 0.0  # seconds added to every chunk, each way
        self._open = threading.Event()  # cleared: blackholed
        self._open.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._conns: set[socket.socket] = set()
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
            conns, self._conns = self._conns, set()
        for conn in conns:
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            except OSError:
                pass
        return len(conns) // 2

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
        with self._lock:
            self._conns |= {client, server}
        for src, dst in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.latency:
                    time.sleep(self.latency)
                self._open.wait()
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):  # one side ended: so does the other
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._lock:
            self._conns -= {src, dst}
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

"""A private RabbitMQ node on ports of its own, for tests that kill the broker.

The machine's broker is shared by everyone: a test that kills a broker kills this one only. The node's
database, logs, Erlang cookie (HOME) and configuration live in a temporary directory, removed on `destroy`; it
registers with the machine's epmd under a name of its own and loads no plugin (no management port).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from kombu import Connection

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # not /usr/sbin's wrapper: that one switches to the rabbitmq user


class PrivateBroker:
    def __init__(self, port: int, dist_port: int):
        self.port, self.dist_port = port, dist_port
        self.dir = Path(tempfile.mkdtemp(prefix="yishi-rabbit-"))
        self.node = f"yishi-test-{uuid.uuid4().hex[:8]}@localhost"
        self.log = self.dir / "server.log"
        self._script: subprocess.Popen | None = None

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return os.environ | {
            "HOME": str(self.dir), "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"), "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "node.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),  # not the machine's (its node name)
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq"),
        }

    def create(self) -> "PrivateBroker":
        (self.dir / "rabbitmq-env.conf").write_text("")
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text("log.console = false\nlog.file.level = warning\n")
        return self.start()

    def start(self, timeout: float = 60) -> "PrivateBroker":
        if (pid := self.dir / "node.pid").exists():
            pid.unlink()
        log = open(self.log, "ab")
        self._script = subprocess.Popen([SERVER], env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._script.poll() is not None:
                raise RuntimeError(f"private RabbitMQ exited: {self.log.read_text()[-2000:]}")
            try:
                with Connection(self.amqp_uri, connect_timeout=1) as conn:
                    conn.connect()
                    return self
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"private RabbitMQ on {self.port} not accepting connections: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """kill -9 of the node itself (the Erlang VM), as an OOM killer or a power cut does."""
        os.kill(int((self.dir / "node.pid").read_text()), signal.SIGKILL)
        if self._script is not None:
            self._script.wait(timeout=30)
            self._script = None

    def destroy(self) -> None:
        if self._script is not None and self._script.poll() is None:
            os.killpg(self._script.pid, signal.SIGKILL)
            self._script.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)

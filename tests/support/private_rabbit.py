"""A private RabbitMQ node on ports of its own, for tests that kill the broker; three of them clustered.

The machine's broker is shared by everyone: a test that kills a broker kills this one only. The node's
database, logs, Erlang cookie (HOME) and configuration live in a temporary directory, removed on `destroy`; it
registers with the machine's epmd under a name of its own and loads no plugin (no management port).
`PrivateRabbitCluster` starts several such nodes with one cookie of their own and joins them with
`rabbitmqctl join_cluster`: quorum queues declared on it are replicated on every node (RabbitMQ 3.10's
`quorum_cluster_size` is 3).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kombu import Connection

BIN = Path("/usr/lib/rabbitmq/bin")  # not /usr/sbin's wrappers: they switch to the rabbitmq user
SERVER = str(BIN / "rabbitmq-server")


class PrivateBroker:
    def __init__(self, port: int, dist_port: int, cookie: str | None = None):
        self.port, self.dist_port = port, dist_port
        self.dir = Path(tempfile.mkdtemp(prefix="yishi-rabbit-"))
        self.node = f"yishi-test-{uuid.uuid4().hex[:8]}@localhost"
        self.cookie = cookie  # None: Erlang makes one of its own in HOME; a cluster's nodes share theirs
        self.log = self.dir / "server.log"
        self._script: subprocess.Popen | None = None

    @property
    def amqp_uri(self) -> str:
        return self.uri()

    def uri(self, vhost: str = "") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

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
        if self.cookie:
            cookie = self.dir / ".erlang.cookie"
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)  # Erlang refuses a cookie others may read
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

    @property
    def running(self) -> bool:
        return self._script is not None and self._script.poll() is None

    def ctl(self, *args: str, tool: str = "rabbitmqctl", timeout: float = 60) -> str:
        """A RabbitMQ command-line tool against this node (its cookie, its name); returns what it printed."""
        done = subprocess.run([str(BIN / tool), "-n", self.node, *args], env=self._env(), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode:
            raise RuntimeError(f"{tool} {' '.join(args)} on {self.node}: {done.stderr or done.stdout}")
        return done.stdout

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


class PrivateRabbitCluster:
    """Several private nodes (ports, databases and one cookie of their own) joined into one cluster."""

    def __init__(self, size: int, free_port):
        cookie = secrets.token_hex(16).upper()
        self.nodes = [PrivateBroker(free_port(), free_port(), cookie) for _ in range(size)]

    def add_vhost(self) -> str:
        """A vhost of its own (for one test on a cluster that several share), guest allowed everything."""
        via = next(n for n in self.nodes if n.running)
        vhost = f"yishi-{uuid.uuid4().hex[:8]}"
        via.ctl("add_vhost", vhost)
        via.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        return vhost

    def heal(self, timeout: float = 90) -> "PrivateRabbitCluster":
        """Start every node that is down (it rejoins: its database names the cluster) and wait until all run."""
        for node in self.nodes:
            if not node.running:
                node.start()
        deadline = time.monotonic() + timeout
        while set(self.running_nodes()) != {n.node for n in self.nodes}:
            if time.monotonic() > deadline:
                raise TimeoutError(f"cluster not whole again: {self.running_nodes()}")
            time.sleep(0.5)
        return self

    def create(self) -> "PrivateRabbitCluster":
        try:
            return self._form()
        except BaseException:
            self.destroy()  # no node left running when the cluster could not be formed
            raise

    def _form(self) -> "PrivateRabbitCluster":
        with ThreadPoolExecutor(len(self.nodes)) as pool:  # each node boots alone (~10 s) before it joins
            list(pool.map(PrivateBroker.create, self.nodes))
        first, *others = self.nodes
        for node in others:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.node)
            node.ctl("start_app")
        running = self.running_nodes()
        if set(running) != {n.node for n in self.nodes}:
            raise RuntimeError(f"cluster formed with {running}, expected {[n.node for n in self.nodes]}")
        return self

    def running_nodes(self, via: PrivateBroker | None = None) -> list[str]:
        via = via or next(n for n in self.nodes if n.running)
        return json.loads(via.ctl("cluster_status", "--formatter", "json"))["running_nodes"]

    def queues(self, vhost: str = "/") -> dict[str, dict[str, Any]]:
        """name -> {leader, members, online, messages, consumers} of every queue, asked of a running node."""
        via = next(n for n in self.nodes if n.running)
        rows = json.loads(via.ctl("list_queues", "-p", vhost, "--formatter", "json", "name", "type", "leader",
                                  "members", "online", "messages", "consumers"))
        return {r["name"]: r for r in rows}

    def destroy(self) -> None:
        for node in self.nodes:
            node.destroy()

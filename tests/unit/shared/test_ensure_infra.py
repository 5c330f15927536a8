"""scripts/ensure-infra.sh takes a port for ready only when it answers as RabbitMQ or PostgreSQL, and in check-only
mode (YISHI_INSTALL_INFRA=0 or --check) installs and starts nothing, saying what to install. Fake servers on free
ports stand in for the real ones: the machine's own RabbitMQ and PostgreSQL are never touched."""
import socket
import subprocess
import threading

import pytest

from tests.support.processes import ROOT

SCRIPT = ROOT / "scripts" / "ensure-infra.sh"
CONNECTION_START = bytes([1, 0, 0, 0, 0, 0, 8, 0, 10, 0, 10, 0, 9, 0, 0, 0]) + b"\xce"  # method frame, channel 0


@pytest.fixture
def server():
    """A TCP server on a free port answering every connection with `reply` (after reading what it is sent)."""
    started = []

    def start(reply: bytes) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        started.append(listener)

        def serve():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(2)
                    try:
                        conn.recv(64)
                        conn.sendall(reply)
                    except OSError:
                        pass

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    yield start
    for listener in started:
        listener.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "YISHI_INSTALL_INFRA": "0", **env})


def test_a_port_that_answers_as_rabbitmq_is_ready(server):
    assert run(YISHI_RABBITMQ_PORT=str(server(CONNECTION_START))).returncode == 0


def test_a_port_held_by_something_else_is_refused_not_taken_for_rabbitmq(server):
    result = run(YISHI_RABBITMQ_PORT=str(server(b"HTTP/1.1 400 Bad Request\r\n\r\n")))
    assert result.returncode == 1 and "is held by something that is not RabbitMQ" in result.stderr


def test_a_port_held_by_something_else_is_refused_not_taken_for_postgresql(server):
    result = run("--postgres", YISHI_RABBITMQ_PORT=str(server(CONNECTION_START)),
                 YISHI_POSTGRES_PORT=str(server(b"SSH-2.0-OpenSSH_9.2\r\n")))
    assert result.returncode == 1 and "is held by something that is not PostgreSQL" in result.stderr


def test_check_only_mode_installs_and_starts_nothing_and_says_what_to_do():
    result = run(YISHI_RABBITMQ_PORT=str(free_port()))
    assert result.returncode == 1
    assert "YISHI_INSTALL_INFRA=0" in result.stderr and "sudo" in result.stderr
    assert "installing" not in result.stdout and "starting" not in result.stdout
    flagged = subprocess.run(["bash", str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60,
                             env={"PATH": "/usr/bin:/bin", "YISHI_RABBITMQ_PORT": str(free_port())})
    assert flagged.returncode == 1 and "--check" in flagged.stderr


@pytest.mark.parametrize("args, env", [(["--instal"], {}), ([], {"YISHI_INSTALL_INFRA": "yes"})])
def test_an_unknown_option_or_setting_is_refused_by_name(args, env):
    result = run(*args, **env)
    assert result.returncode == 2 and ("--instal" in result.stderr or "yes" in result.stderr)

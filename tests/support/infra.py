"""Real infrastructure for tests: a throw-away PostgreSQL database and RabbitMQ vhost per test run."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
import uuid
from base64 import b64encode
from urllib.parse import quote

import psycopg

ADMIN_DSN = os.environ.get("YISHI_TEST_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
RABBIT_HOST = os.environ.get("YISHI_TEST_RABBIT", "127.0.0.1:5672")
RABBIT_API = os.environ.get("YISHI_TEST_RABBIT_API", "http://127.0.0.1:15672")


def create_database() -> str:
    name = f"yishi_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rabbitmqctl_command() -> list[str] | None:
    """rabbitmqctl as this user can run it: Debian installs it in /usr/sbin (not on a user's PATH) and it
    needs root (the Erlang cookie), so a normal user goes through `sudo -n`; None when neither works."""
    found = shutil.which("rabbitmqctl") or next((p for p in ("/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl")
                                                  if os.access(p, os.X_OK)), None)
    if found is None:
        return None
    return [found] if os.geteuid() == 0 else (["sudo", "-n", found] if shutil.which("sudo") else None)


def _rabbitmqctl(*args: str) -> bool:
    """True when done; False when rabbitmqctl cannot be run here (then the management API is used)."""
    command = rabbitmqctl_command()
    if command is None:
        return False
    return subprocess.run([*command, "-q", *args], capture_output=True, timeout=60).returncode == 0


def _management(method: str, path: str, body: dict | None = None) -> None:
    req = urllib.request.Request(f"{RABBIT_API}/api/{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"content-type": "application/json",
                                          "authorization": "Basic " + b64encode(b"guest:guest").decode()})
    urllib.request.urlopen(req, timeout=10).read()


def create_vhost() -> str:
    """A fresh vhost with guest's permissions; returns the AMQP URI."""
    vhost = f"yishi-test-{uuid.uuid4().hex[:10]}"
    if not (_rabbitmqctl("add_vhost", vhost) and _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")):
        _management("PUT", f"vhosts/{quote(vhost, safe='')}")
        _management("PUT", f"permissions/{quote(vhost, safe='')}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
    return f"amqp://guest:guest@{RABBIT_HOST}/{quote(vhost, safe='')}"


def delete_vhost(amqp_uri: str) -> None:
    vhost = amqp_uri.rsplit("/", 1)[1]
    from urllib.parse import unquote
    try:
        if not _rabbitmqctl("delete_vhost", unquote(vhost)):
            _management("DELETE", f"vhosts/{vhost}")
    except Exception:
        pass

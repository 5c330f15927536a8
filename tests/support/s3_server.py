"""A real S3 API server for the object-store tests: moto's server (`python -m moto.server`) as a subprocess on a
port of its own — MinIO's binary is not on PyPI or Debian; moto speaks the same S3 REST API over HTTP."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.processes import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "yishi-test", "AWS_SECRET_ACCESS_KEY": "yishi-test-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "s3-server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "S3Server":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the S3 server exited: {self.log_path.read_text()[-2000:]}")
            try:
                requests.get(self.url, timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.1)
        raise TimeoutError(f"the S3 server did not answer: {self.log_path.read_text()[-2000:]}")

    def client(self):
        import boto3
        return boto3.session.Session(aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                     aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"]).client(
            "s3", endpoint_url=self.url, region_name=CREDENTIALS["AWS_DEFAULT_REGION"])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

"""A concern intake did not answer for may have been recorded all the same (an answer lost on the way back): the
503 says so and tells the representative to retry with the same Idempotency-Key, as every other 503 does."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from services.liaison.intake import IntakeUnavailable, report_to_intake


class Failing(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_intake():
    server = HTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_intake():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("intake", ["failing_intake", "silent_intake"])
def test_intake_not_answering_says_the_concern_may_have_been_recorded_and_to_retry_with_the_same_key(
        intake, request, monkeypatch):
    monkeypatch.setenv("YISHI_INTAKE_URL", request.getfixturevalue(intake))
    with pytest.raises(IntakeUnavailable) as refused:
        report_to_intake({"title": "楼道灯坏了"}, "reception:1")
    assert refused.value.status == 503
    assert "may not have been recorded" in str(refused.value) and "same Idempotency-Key" in str(refused.value)
    assert "可能未被记录" in refused.value.detail_zh and "相同的 Idempotency-Key 重试" in refused.value.detail_zh

"""An urgent report becomes a public notice in the same run: intake -> casework (triage) -> notifications.

Real processes of all three services on PostgreSQL and RabbitMQ; the notice is masked.
"""
import json

import pytest
import requests

from tests.support.processes import wait_until
from tests.support.identity import http

REPORT = {"channel": "visit", "title": "5号楼消防通道堵塞,张三家门口堆满杂物", "description": "联系电话 13912345678,2单元502室",
          "location": {"community": "幸福里", "building": "5", "unit": "2", "room": "502"},
          "reporter": {"name": "张三", "phone": "13912345678"}}


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_an_urgent_report_is_on_the_public_board_masked(system):
    system.env["YISHI_INTERNAL_TOKEN"] = "test-token"
    for service in ("intake", "casework", "notifications"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework, notifications = (system.web(s).url for s in ("intake", "casework", "notifications"))

    created = requests.post(f"{intake}/issues", json=REPORT, timeout=5)
    assert created.status_code == 201, created.text
    case = wait_until(lambda: http.get(f"{casework}/cases", timeout=5).json()["cases"], message="case")[0]
    assert case["tier"] == "urgent" and "消防通道" in case["triage_reason"]

    notices = wait_until(lambda: [n for n in requests.get(f"{notifications}/notices", timeout=5).json()["notices"]
                                  if n["kind"] == "urgent_opened"], timeout=60, message="urgent notice on the board")
    # Only what a reader sees: a timestamp's digits may contain "502" by chance.
    text = json.dumps([{k: n[k] for k in ("title", "body")} for n in notices], ensure_ascii=False)
    assert "消防通道" in text and "幸福里" in text
    for secret in ("13912345678", "张三", "502"):
        assert secret not in text
    assert created.json()["tracking_code"] not in json.dumps(notices, ensure_ascii=False)
    english = requests.get(f"{notifications}/notices", params={"lang": "en"}, timeout=5).json()["notices"]
    assert "13912345678" not in json.dumps(english)

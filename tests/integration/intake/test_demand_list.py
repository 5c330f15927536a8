"""Demand votes and the demand list over HTTP, on the real processes and both stores."""
from datetime import datetime
from zoneinfo import ZoneInfo

import requests

from tests.support.factories import report
from tests.support.processes import wait_until


def test_votes_are_counted_once_per_resident_and_listed_by_month(system):
    system.start("intake", "worker")
    web = system.start("intake", "web").url
    parking = requests.post(f"{web}/issues", json=report(4, title="5号楼门口停车难", description="车位不够"),
                            timeout=5).json()["issue_id"]
    requests.post(f"{web}/issues", json=report(2), timeout=5)
    first = requests.post(f"{web}/issues/{parking}/votes", json={"voter": "13812345678"}, timeout=5)
    again = requests.post(f"{web}/issues/{parking}/votes", json={"voter": "13812345678"}, timeout=5)
    other = requests.post(f"{web}/issues/{parking}/votes", json={"voter": "wx-7"}, timeout=5)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert other.json() == {"issue_id": parking, "votes": 2, "counted": True}
    missing = requests.post(f"{web}/issues/8a4f7c62-1d2b-4c1e-9a4f-000000000001/votes", json={"voter": "x"}, timeout=5)
    assert missing.status_code == 404

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    listed = wait_until(lambda: (r := requests.get(f"{web}/reports/demand-list", params={"month": month},
                                                   timeout=5).json())["votes"] == 2 and r, message="votes listed")
    assert listed["issues"] == 2 and listed["items"][0]["issue_id"] == parking
    assert listed["by_category"][0] == {"category": "停车交通", "issues": 1, "votes": 2}
    printable = requests.get(f"{web}/reports/demand-list", params={"month": month, "format": "markdown"}, timeout=5)
    assert printable.headers["content-type"].startswith("text/markdown") and "数字需求清单" in printable.text
    assert "13812345678" not in printable.text
    bad = requests.get(f"{web}/reports/demand-list", params={"month": "2026-1"}, timeout=5)
    assert bad.status_code == 422 and bad.json()["field"] == "month"

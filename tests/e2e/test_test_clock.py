"""A test deployment's clock moves every service together, and their deadline watchers fire as they would.

The real processes run with YISHI_TEST_CLOCK=1; `yishi clock advance` moves the clock of all of them
(one offset file in their var dir), and casework's deadline watcher raises the alert on its next tick.
"""
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.support.processes import wait_until
from tests.support.identity import http

pytestmark = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
STREET_LIGHT = {"channel": "hotline", "title": "小区路灯故障", "description": "5号楼前路灯不亮",
                "location": {"community": "幸福里", "building": "5"}, "reporter": {"name": "张三", "phone": "13812345678"}}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_routine_case_turns_red_once_the_test_clock_passes_its_seven_working_days(system):
    system.env |= {"YISHI_TEST_CLOCK": "1", "YISHI_TICK_INTERVAL": "0.3"}
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework = system.web("intake").url, system.web("casework").url
    assert requests.get(f"{casework}/health", timeout=5).json()["clock"]["kind"] == "test"

    issue_id = requests.post(f"{intake}/issues", json=STREET_LIGHT, timeout=5).json()["issue_id"]
    case_id = wait_until(lambda: next((c["case_id"] for c in http.get(f"{casework}/cases", timeout=5)
                                       .json()["cases"] if c["issue_id"] == issue_id), None), message="the case")
    case = http.get(f"{casework}/cases/{case_id}", timeout=5).json()
    assert case["tier"] == "routine" and case["alert_level"] is None

    # past the due time whatever today is (a weekend or a holiday lengthens seven working days)
    days = (at(case["due"]["resolve_by"]) - datetime.now(timezone.utc)).days + 2
    system.yishi("clock", "advance", f"P{days}D")
    health = {s: requests.get(f"{system.web(s).url}/health", timeout=5).json()["clock"] for s in ("intake", "casework")}
    assert all(c["offset_seconds"] == timedelta(days=days).total_seconds() for c in health.values())
    assert at(health["casework"]["now"]) > at(case["due"]["resolve_by"])

    red = wait_until(lambda: (c := http.get(f"{casework}/cases/{case_id}", timeout=5).json())["alert_level"]
                     == "red" and c, message="the red alert, on the watcher's next tick")
    assert red["overdue"] is True and red["deadlines"]["resolve"]["alert"] == "red"
    assert red["escalations"] == ["secretary"]  # overdue routine work goes to the community secretary

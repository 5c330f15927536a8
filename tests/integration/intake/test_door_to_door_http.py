"""The door-to-door work over HTTP, with real intake and casework processes: a council member's evening visit
to an elderly resident living alone finds a broken stairwell rail; casework opens it urgent, the resident's
timeline says who reported it for them, and the month's coverage counts the visit."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.support.identity import staff
from tests.support.processes import wait_until

HOUSEHOLD = {"community": "幸福里", "building": "3", "unit": "2", "grid": "幸福里-1", "room": "502", "name": "王秀英",
             "phone": "13700001111", "groups": ["elderly_alone"]}


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_visit_need_of_an_elderly_resident_alone_is_reported_for_her_and_triaged_urgent(system):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework = system.web("intake").url, system.web("casework").url
    worker, member = staff("community_worker", "李娜"), staff("council_member", "陈议员")

    registered = requests.post(f"{intake}/households", json=HOUSEHOLD, headers=worker, timeout=5)
    assert registered.status_code == 201, registered.text
    ref = registered.json()["household_ref"]
    assert "name" not in registered.json()
    assert requests.post(f"{intake}/households", json=HOUSEHOLD, timeout=5).status_code == 401
    assert requests.get(f"{intake}/households/{ref}", params={"purpose": "x"}, headers=member,
                        timeout=5).status_code == 403  # a visitor who is not a register keeper sees no names
    assert requests.get(f"{intake}/households/{ref}", params={"purpose": "x"}, headers=staff("operator"),
                        timeout=5).status_code == 403

    phoned = {"channel": "hotline", "title": "家里水管漏水", "description": "老人来电说厨房漏水",
              "location": {"community": "幸福里", "building": "3"}, "household_ref": ref}
    anonymous = requests.post(f"{intake}/issues", json=phoned, timeout=5)
    assert anonymous.status_code == 403 and anonymous.json()["field"] == "household_ref"  # no claim to a household
    desk = requests.post(f"{intake}/issues", json=phoned, headers=worker, timeout=5)
    assert desk.status_code == 201, desk.text

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    days = [f"{month}-01", f"{month}-15"]
    planned = requests.post(f"{intake}/visit-plans", headers=worker, timeout=5, json={
        "grid": "幸福里-1", "month": month, "rounds": [{"date": days[0]}, {"date": days[1], "evening": True}]})
    assert planned.status_code == 201, planned.text

    evening = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).replace(hour=19, minute=30)
    if evening.strftime("%Y-%m") != month:
        evening = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0)
    visit = requests.post(f"{intake}/visits", headers=member | {"Idempotency-Key": "v-1"}, timeout=5, json={
        "household_ref": ref, "visited_at": evening.isoformat(),
        "needs": [{"title": "楼道扶手松动", "description": "下楼时扶手晃,需要维修"}]})
    assert visit.status_code == 201, visit.text
    issue = visit.json()["issues"][0]

    case = wait_until(lambda: [c for c in requests.get(f"{casework}/cases", headers=worker, timeout=5).json()["cases"]
                               if c["issue_id"] == issue["issue_id"]], message="the need's case")[0]
    assert case["tier"] == "urgent"
    timeline = wait_until(lambda: requests.get(f"{intake}/issues/{issue['tracking_code']}", timeout=5).json(),
                          message="progress")["timeline"]
    assert timeline[0]["step_zh"] == "议事会成员陈议员上门走访时代为反映(代办)"

    coverage = wait_until(lambda: [g for g in requests.get(f"{intake}/reports/visit-coverage", headers=member,
                                                           params={"month": month}, timeout=5).json()["grids"]
                                   if g["visits"]], message="coverage counts the visit")[0]
    assert coverage["visited_households"] == coverage["special_visited"] == 1
    assert coverage["evening_visits"] == (1 if evening.hour == 19 else 0) and coverage["planned_rounds"] == 2
    assert coverage["open_needs_special"] == 2  # the visit's need and the desk's report for her

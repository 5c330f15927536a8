"""The operator enters a year's holiday notice (`yishi calendar set`) on the real processes, RabbitMQ and
PostgreSQL: it is recorded in casework's log, the open case it moves is re-timed on its timeline and
published, and GET /calendar says where each year's working days come from.

The test enters a notice for the year of the case's next working day (a day off then), so it runs
whatever today's date: the dates are the test's own, not an official arrangement.
"""
import json
import time
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
from kombu import Connection, Exchange, Queue

from services.casework.calendar import SHANGHAI, WorkingCalendar, parse_notice
from shared.ops.cli import main
from tests.support.processes import wait_until
from tests.support.identity import acting, http, staff

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)
STAFF = {"role": "community_worker", "name": "李娜"}


@pytest.fixture
def running(system):
    system.env["YISHI_TICK_INTERVAL"] = "0.3"
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    return system


@pytest.fixture
def city(settings):
    with Connection(settings.amqp_uri) as conn:
        queue = Queue("city-calendar", Exchange("casework.events", "topic", durable=True), routing_key="#")
        queue(conn.default_channel).declare()
        received = []

        def drain():
            while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
                received.append(json.loads(message.body))
            return received

        yield drain


def next_workday(after: date) -> date:
    day, calendar = after + timedelta(days=1), WorkingCalendar()
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def test_an_entered_notice_is_recorded_retimes_the_open_case_it_moves_and_is_shown(running, city, capsys):
    intake, casework = running.web("intake").url, running.web("casework").url
    created = requests.post(f"{intake}/issues", timeout=10, json={
        "channel": "hotline", "title": "小区路灯故障", "description": "路灯不亮",
        "location": {"community": "幸福里", "building": "3"}, "reporter": {"name": "张三", "phone": "13812345678"}})
    assert created.status_code == 201, created.text

    def case():
        cases = http.get(f"{casework}/cases", timeout=5).json()["cases"]
        return next((c for c in cases if c["issue_id"] == created.json()["issue_id"]), None)
    opened = wait_until(case, message="the routine case")
    assert opened["tier"] == "routine"
    reported_at = datetime.fromisoformat(opened["reported_at"].replace("Z", "+00:00"))
    day_off = next_workday(reported_at.astimezone(SHANGHAI).date())
    notice = {"holidays": [day_off.isoformat()], "workdays": []}
    expected = WorkingCalendar({day_off.year: parse_notice(day_off.year, notice)}).end_of_workdays(reported_at, 7)
    assert opened["deadlines"]["resolve"]["due"] != expected.strftime("%Y-%m-%dT%H:%M:%SZ")

    # staff only, and a notice that cannot be right is refused naming its field; nothing recorded
    refused = requests.put(f"{casework}/calendar/{day_off.year}", timeout=5, json=notice,
                           headers=staff("property", "王师傅"))
    assert refused.status_code == 403 and refused.json()["field"] == "Authorization"
    weekday = requests.put(f"{casework}/calendar/{day_off.year}", timeout=5, headers=acting(STAFF),
                           json={**notice, "workdays": [day_off.isoformat()]})
    assert weekday.status_code == 422 and weekday.json()["field"] == "workdays"

    assert main(["calendar", "set", str(day_off.year), "--holidays", day_off.isoformat(), "--role", STAFF["role"],
                 "--name", STAFF["name"], "--document", "测试用通知", "--url", casework]) == 0
    assert f"{day_off.year}: recorded" in capsys.readouterr().out

    retimed = http.get(f"{casework}/cases/{opened['case_id']}", timeout=5).json()
    assert retimed["deadlines"]["resolve"]["due"] == expected.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = http.get(f"{casework}/cases/{opened['case_id']}/history", timeout=5).json()["entries"][-1]
    assert entry["type"] == "Retimed" and entry["type_zh"] == "按节假日安排调整时限"
    assert entry["data"]["calendar_years"] == [day_off.year] and f"{day_off.year}年节假日安排" in entry["data"]["reason"]

    published = wait_until(lambda: [e for e in city() if e["type"] == "cn.yishi.casework.CaseRetimed.v1"],
                           message="CaseRetimed published")
    assert len(published) == 1 and published[0]["data"]["old_due"] == opened["deadlines"]["resolve"]["due"]
    assert published[0]["data"]["due"] == retimed["deadlines"]["resolve"]["due"]

    years = {y["year"]: y for y in requests.get(f"{casework}/calendar", timeout=5).json()["years"]}
    assert years[day_off.year]["source"] == "entered" and years[day_off.year]["holidays"] == [day_off.isoformat()]
    assert years[day_off.year]["entered_by"].items() >= STAFF.items() and years[day_off.year]["document"] == "测试用通知"
    assert {y["source"] for y in years.values()} <= {"entered", "package", "fallback"}

    # entered again as given: nothing recorded, nothing moves (the workers' calendar watch agrees)
    assert main(["calendar", "set", str(day_off.year), "--holidays", day_off.isoformat(), "--role", "secretary",
                 "--name", "王书记", "--document", "测试用通知", "--url", casework]) == 0
    assert "nothing recorded" in capsys.readouterr().out
    assert main(["calendar", "show", "--url", casework]) == 0
    assert f"{day_off.year}  entered" in capsys.readouterr().out
    time.sleep(1.5)  # several ticks of both processes' calendar watch
    assert [e["type"] for e in city()].count("cn.yishi.casework.CaseRetimed.v1") == 1

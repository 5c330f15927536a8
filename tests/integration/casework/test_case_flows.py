"""Cases end to end on the real processes, RabbitMQ and PostgreSQL: clocks, alerts, confirmation, escalation.

A city system's queue bound to `casework.events` sees what the world sees. Reports dated in the past
(a hotline operator entering last week's call) put a case past its deadline without touching clocks.
"""
import json
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import requests
from kombu import Connection, Exchange, Queue

from tests.support.processes import wait_until
from tests.support.identity import acting, http

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)
STAFF = {"role": "community_worker", "name": "李娜"}
PROPERTY = {"role": "property", "name": "王师傅"}


def report(title: str, days_ago: float = 0, building: str = "3") -> dict:
    body = {"channel": "hotline", "title": title, "description": "请尽快处理,联系电话13812345678",
            "location": {"community": "幸福里", "building": building, "room": "502"},
            "reporter": {"name": "张三", "phone": "13812345678"}}
    if days_ago:
        body["reported_at"] = (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat()
    return body


@pytest.fixture
def city(settings):
    """An outside system's queue on casework.events, declared before anything is published."""
    with Connection(settings.amqp_uri) as conn:
        queue = Queue("city-grid", Exchange("casework.events", "topic", durable=True), routing_key="#")
        queue(conn.default_channel).declare()
        received = []

        def drain():
            while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
                received.append(json.loads(message.body))
            return received

        yield drain


@pytest.fixture
def running(system):
    system.env["YISHI_TICK_INTERVAL"] = "0.3"
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    return system


def post(url: str, body: dict, **kw) -> dict:
    response = requests.post(url, json=body, timeout=10, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


def case_of(casework: str, issue_id: str) -> dict:
    def find():
        cases = http.get(f"{casework}/cases", params={"limit": 1000}, timeout=5).json()["cases"]
        return next((c for c in cases if c["issue_id"] == issue_id), None)
    return wait_until(find, message=f"case of {issue_id}")


def test_overdue_cases_alert_once_with_two_instances_and_routine_ones_go_to_the_secretary(running, city):
    running.start_another("casework", "worker", "second")  # two deadline watchers race on every case
    intake, casework = running.web("intake").url, running.web("casework").url
    routine = [post(f"{intake}/issues", report("小区路灯故障", days_ago=15, building=str(b)))["issue_id"]
               for b in range(1, 6)]
    urgent = post(f"{intake}/issues", report("3号楼楼道灯坏了", days_ago=3))["issue_id"]
    fresh = post(f"{intake}/issues", report("健身器材损坏"))["issue_id"]

    def alerts():
        events = city()
        return [e for e in events if e["type"].endswith("DeadlineWarned.v1")]
    wait_until(lambda: len(alerts()) >= 7, timeout=60, message="red alerts of every overdue deadline")
    escalated = wait_until(lambda: [e for e in city() if e["type"].endswith("CaseEscalated.v1")
                                    and e["data"]["to"] == "secretary"], message="escalations")
    # let both watchers tick a few more times: nothing more may come
    wait_until(lambda: http.get(f"{casework}/cases", params={"overdue": "true"}, timeout=5)
               .json()["cases"], message="overdue ledger")
    time.sleep(2)
    events = city()
    red = Counter((e["data"]["issue_id"], e["data"]["deadline"]) for e in events
                  if e["type"].endswith("DeadlineWarned.v1") and e["data"]["level"] == "red")
    assert red == Counter({**{(i, "resolve"): 1 for i in routine}, (urgent, "verify"): 1, (urgent, "plan"): 1})
    to_secretary = Counter(e["data"]["issue_id"] for e in events
                           if e["type"].endswith("CaseEscalated.v1") and e["data"]["to"] == "secretary")
    assert to_secretary == Counter(routine) and len(escalated) <= 5
    assert not any(e["data"].get("issue_id") == fresh for e in events if "DeadlineWarned" in e["type"])

    overdue = http.get(f"{casework}/cases", params={"overdue": "true", "tier": "routine"}, timeout=5).json()
    assert {c["issue_id"] for c in overdue["cases"]} == set(routine)
    assert all(c["alert_level"] == "red" and "secretary" in c["escalations"] for c in overdue["cases"])
    case = case_of(casework, urgent)
    assert case["tier"] == "urgent" and case["deadlines"]["verify"]["alert"] == "red"
    # the red alerts are on the operators' dashboard too
    metrics = http.get(f"{casework}/metrics", timeout=5).text
    assert 'yishi_cases_open_alerts{level="red",tier="routine"} 5.0' in metrics
    assert 'yishi_deadline_breaches_total{deadline="resolve",tier="routine"} 5.0' in metrics
    assert "13812345678" not in json.dumps(events, ensure_ascii=False)


def test_resolved_and_confirmed_case_closes_and_a_rejected_one_reopens_as_intake_shows(running, city):
    """The resident answers through intake with their tracking code; casework never sees the code."""
    intake, casework = running.web("intake").url, running.web("casework").url
    happy = post(f"{intake}/issues", report("小区路灯故障"))
    unhappy = post(f"{intake}/issues", report("垃圾清运不及时", building="7"))

    def status(created):
        return requests.get(f"{intake}/issues/{created['tracking_code']}", timeout=5).json()
    for created, confirmation in ((happy, {"confirmed": True, "satisfaction": 5}),
                                  (unhappy, {"confirmed": False, "comment": "垃圾还在"})):
        case = case_of(casework, created["issue_id"])
        early = requests.post(f"{intake}/issues/{created['tracking_code']}/confirmation", json=confirmation, timeout=5)
        assert early.status_code == 409 and early.json()["field"] == "tracking_code"  # not resolved yet
        post(f"{casework}/cases/{case['case_id']}/resolution", {"summary": "已处理完毕"}, headers=acting(PROPERTY))
        wait_until(lambda: status(created)["status"] == "resolved", message="intake hears of the resolution")
        for wrong in ("YS-20260101-AAAAAAAA", created["issue_id"]):  # a guess, or the public issue id
            refused = requests.post(f"{intake}/issues/{wrong}/confirmation", json=confirmation, timeout=5)
            assert refused.status_code == 404 and refused.json()["field"] == "tracking_code"
        answered = requests.post(f"{intake}/issues/{created['tracking_code']}/confirmation", json=confirmation,
                                 timeout=5)
        assert answered.status_code == 202, answered.text
    gone = http.post(f"{casework}/cases/{case['case_id']}/confirmation", json={"confirmed": True}, timeout=5)
    assert gone.status_code == 404 and gone.json()["field"] == "command"
    closed = wait_until(lambda: (s := status(happy))["status"] == "closed" and s, message="closed in intake")
    assert [t.get("step") for t in closed["timeline"]][-3:] == ["CaseResolved", "ResidentConfirmed", "CaseClosed"]
    assert closed["case"]["tier"] == "routine" and closed["case"]["due"]["resolve_by"]
    reopened = wait_until(lambda: (s := status(unhappy))["status"] == "reopened" and s, message="reopened in intake")
    assert reopened["timeline"][-1]["step"] == "CaseReopened"
    types = [e["type"].split(".")[3] for e in city()]
    assert types.count("CaseClosed") == 1 and types.count("CaseReopened") == 1

    trail = http.get(f"{casework}/cases/{case_of(casework, happy['issue_id'])['case_id']}/history",
                         timeout=5).json()
    assert trail["verified"] is True and trail["broken_at"] is None
    history = trail["entries"]
    assert [e["type"] for e in history] == ["Opened", "Resolved", "Confirmed", "Closed"]
    assert history[0]["type_zh"] == "立案分级、指派责任主体" and history[0]["data"]["dispatch"]["party"]
    assert {k: history[1]["by"][k] for k in ("role", "name")} == PROPERTY and all(e["at"].endswith("Z") for e in history)
    assert "proof" not in json.dumps(history)

    stats = requests.get(f"{casework}/stats", timeout=5).json()
    assert stats["overall"]["cases"] == 2 and stats["overall"]["resolution_rate"] == 0.5
    assert stats["overall"]["satisfaction_rate"] == 1.0 and stats["by_tier"]["routine"]["response_rate"] == 1.0


def test_complex_case_forms_a_task_force_and_is_escalated_to_the_assembly(running, city):
    intake, casework = running.web("intake").url, running.web("casework").url
    created = post(f"{intake}/issues", report("小区停车难,晚上车位不足"))
    case = case_of(casework, created["issue_id"])
    assert case["tier"] == "complex" and case["party_kind"] == "task_force"
    events = wait_until(lambda: [e for e in city() if e["type"].endswith("CaseEscalated.v1")
                                 and e["data"]["to"] == "assembly"], message="escalated to the assembly")
    assert events[0]["data"]["case_id"] == case["case_id"] and events[0]["data"]["tier"] == "complex"
    assert any(e["type"].endswith("CaseEscalated.v1") and e["data"]["to"] == "task_force" for e in city())
    bad = requests.post(f"{casework}/cases/{case['case_id']}/plan", json={}, headers=acting(STAFF), timeout=5)
    assert bad.status_code == 422 and bad.json()["field"] == "plan"

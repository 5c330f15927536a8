"""A resident's report travels the event log: intake -> IssueReported -> casework -> CaseOpened -> intake.

Runs the real processes (nameko web, workers) on the embedded SQLite default and on PostgreSQL,
over a real RabbitMQ vhost, with an outside city system's queue bound to casework.events.
"""
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from kombu import Connection, Exchange, Queue

from tests.support.processes import wait_until
from tests.support.identity import http

REPORT = {"channel": "hotline", "title": "3号楼楼道灯坏了", "description": "晚上一片黑,联系13812345678",
          "location": {"community": "幸福里", "building": "3", "unit": "2", "room": "502"},
          "reporter": {"name": "张三", "phone": "13812345678"}}


@pytest.fixture
def city_system_queue(settings):
    """A queue an outside system binds to casework.events with '#', declared before anything runs."""
    with Connection(settings.amqp_uri) as conn:
        queue = Queue("city-grid", Exchange("casework.events", "topic", durable=True), routing_key="#")
        queue(conn.default_channel).declare()
        yield conn, queue


def test_report_becomes_a_case_visible_everywhere(system, city_system_queue):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework = system.web("intake").url, system.web("casework").url

    created = requests.post(f"{intake}/issues", json=REPORT, timeout=5)
    assert created.status_code == 201, created.text
    issue_id = created.json()["issue_id"]
    assert created.json()["tracking_code"].startswith("YS-")

    cases = wait_until(lambda: http.get(f"{casework}/cases", timeout=5).json()["cases"], message="case in ledger")
    case = http.get(f"{casework}/cases/{cases[0]['case_id']}", timeout=5).json()
    assert case["issue_id"] == issue_id and case["status"] == "open"

    progress = wait_until(lambda: requests.get(f"{intake}/issues/{issue_id}", timeout=5).json()["case"],
                          message="intake learns of the case")
    assert progress["case_id"] == case["case_id"] and progress["status"] == "open"

    # the resident asks with the code they were given (进度查询)
    code = created.json()["tracking_code"]
    by_code = wait_until(lambda: requests.get(f"{intake}/issues/{code}", timeout=5), message="tracking code indexed")
    assert by_code.json()["issue_id"] == issue_id and by_code.json()["status"] == "open"
    assert by_code.json()["reporter"] == {"name": "张*", "phone": "138****5678"}
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    listed = requests.get(f"{intake}/issues", params={"month": month, "category": "设施维护"}, timeout=5).json()
    assert [i["issue_id"] for i in listed["issues"]] == [issue_id]
    assert "13812345678" not in json.dumps(listed, ensure_ascii=False)
    assert code not in json.dumps(listed) and "tracking_code" not in requests.get(
        f"{intake}/issues/{issue_id}", timeout=5).json()  # the code proves the reporter: never handed out

    conn, queue = city_system_queue
    message = wait_until(lambda: queue(conn.default_channel).get(no_ack=True), message="CaseOpened at city system")
    event = json.loads(message.body)
    assert event["type"] == "cn.yishi.casework.CaseOpened.v2"
    assert event["id"] == f"casework-{event['sequence']}" and event["subject"] == case["case_id"]
    assert event["data"]["issue_id"] == issue_id
    assert message.delivery_info["routing_key"] == "CaseOpened"
    assert message.properties["delivery_mode"] == 2


JSON = {"Content-Type": "application/json"}


def test_bad_report_is_refused_and_nothing_is_stored_or_published(system):
    web = system.start("intake", "web")
    bad = requests.post(f"{web.url}/issues", json={**REPORT, "location": {"building": "3"}}, timeout=5)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["field"] == "location.community"
    not_json = requests.post(f"{web.url}/issues", data=b"{", timeout=5, headers=JSON)
    assert not_json.status_code == 422 and not_json.json()["field"] == "body"
    bad_month = requests.get(f"{web.url}/issues", params={"month": "2026-13"}, timeout=5)
    assert bad_month.status_code == 422 and bad_month.json()["field"] == "month"
    unknown = requests.get(f"{web.url}/issues/YS-19990101-NOPE", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["field"] == "tracking_code"
    assert requests.get(f"{web.url}/issues/YS-%00", timeout=5).status_code == 404
    assert requests.get(f"{web.url}/issues", params={"limit": "²"}, timeout=5).json()["field"] == "limit"
    nested = requests.post(f"{web.url}/issues", data=b"[" * 100000, timeout=5, headers=JSON)
    assert nested.status_code == 422 and nested.json()["field"] == "body"
    metrics = http.get(f"{web.url}/metrics", timeout=5).text
    assert 'yishi_relay_lag_events{service="intake"} 0.0' in metrics


def test_retried_report_with_the_same_idempotency_key_is_recorded_once(system):
    web = system.start("intake", "web")
    first = requests.post(f"{web.url}/issues", json=REPORT, headers={"Idempotency-Key": "hotline-42"}, timeout=5)
    again = requests.post(f"{web.url}/issues", json=REPORT, headers={"Idempotency-Key": "hotline-42"}, timeout=5)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    other = requests.post(f"{web.url}/issues", json={**REPORT, "title": "别的事"},
                          headers={"Idempotency-Key": "hotline-42"}, timeout=5)
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"


def test_case_ids_that_cannot_exist_are_not_found(system):
    web = system.start("casework", "web")
    for bad in ("not-a-uuid", "%00", "8A4F7C62-1D2B-4C1E-9A4F-000000000001"):
        response = http.get(f"{web.url}/cases/{bad}", timeout=5)
        assert response.status_code == 404 and response.json()["field"] == "case_id"


def test_errors_speak_chinese_first_and_english_on_request(system):
    web = system.start("intake", "web")
    body = {**REPORT, "title": ""}
    zh = requests.post(f"{web.url}/issues", json=body, timeout=5)
    assert zh.json()["detail"] == "标题不能为空" and zh.headers["Content-Language"] == "zh-CN"
    assert zh.json()["detail_en"] == "title is required"
    en = requests.post(f"{web.url}/issues", json=body, headers={"Accept-Language": "en-US,en;q=0.9"}, timeout=5)
    assert en.json()["detail"] == "title is required" and en.json()["title"] == "Invalid input"

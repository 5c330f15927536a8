"""Residents in deliberation over HTTP on the real processes, RabbitMQ and PostgreSQL: a suggestion
co-signed before the council, opinions on a public agenda read by the recorder, and a recurring issue found
by intake's worker arriving at meetings as a proposed council topic."""
from datetime import datetime, timedelta, timezone

import pytest
import requests

from services.meetings.participation import SIGNATURES_NEEDED
from shared.contracts.envelope import rfc3339
from tests.support.factories import report
from tests.support.identity import http
from tests.support.processes import wait_until

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


def proposals(web: str, source: str) -> list[dict]:
    listed = http.get(f"{web}/proposals", params={"status": "proposed"}, timeout=5).json()["proposals"]
    return [p for p in listed if p.get("source") == source]


def test_residents_suggest_co_sign_and_give_opinions_and_recurring_issues_reach_the_council(system):
    system.env["YISHI_TICK_INTERVAL"] = "0.3"
    for service in ("intake", "meetings"):
        system.start(service, "worker")
    intake, web = system.start("intake", "web").url, system.start("meetings", "web").url

    suggested = requests.post(f"{web}/suggestions", timeout=5, json={
        "title": "3号院增设电动车充电桩", "background": "楼道充电有火灾隐患,联系13812345678", "resident": "13812345678"})
    assert suggested.status_code == 201, suggested.text
    sid = suggested.json()["suggestion_id"]
    for n in range(SIGNATURES_NEEDED - 1):
        signed = requests.post(f"{web}/suggestions/{sid}/signatures", json={"resident": f"wx-{n}"}, timeout=5)
        assert signed.status_code == 201, signed.text
    assert signed.json()["status"] == "proposed"
    again = requests.post(f"{web}/suggestions/{sid}/signatures", json={"resident": "wx-0"}, timeout=5)
    assert again.status_code == 200 and again.json()["counted"] is False
    bad = requests.post(f"{web}/suggestions/{sid}/signatures", json={"name": "张三"}, timeout=5)
    assert bad.status_code == 422 and bad.json()["field"] == "name"
    [residents] = wait_until(lambda: proposals(web, "suggestion"), message="the suggestion before the council")
    assert residents["title"] == "3号院增设电动车充电桩"
    public = requests.get(f"{web}/suggestions", timeout=5).text
    assert "13812345678" not in public and "wx-0" not in public

    meeting_at = datetime.now(timezone.utc) + timedelta(days=5)
    meeting_id = http.post(f"{web}/meetings", timeout=5, json={
        "kind": "regular", "title": "议事会", "place": "社区会议室", "meeting_at": rfc3339(meeting_at)}).json()["meeting_id"]
    confirmed = http.post(f"{web}/proposals/{residents['proposal_id']}/confirm", timeout=5,
                          json={"meeting_id": meeting_id, "draft_plan": "在3号院安装充电桩10个"})
    assert confirmed.status_code == 201, confirmed.text
    topic_id = confirmed.json()["topic_id"]
    opinion = requests.post(f"{web}/meetings/{meeting_id}/opinions", timeout=5,
                            json={"topic_id": topic_id, "text": "支持,我是李阿姨,电话13912345678"})
    assert opinion.status_code == 201, opinion.text
    unknown = requests.post(f"{web}/meetings/{meeting_id}/opinions", json={"topic_id": "t9", "text": "?"}, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["field"] == "topic_id"
    assert requests.get(f"{web}/meetings/{meeting_id}/opinions", timeout=5).status_code == 401
    digest = http.get(f"{web}/meetings/{meeting_id}/opinions", timeout=5).json()["topics"]
    assert digest[0]["count"] == 1 and "13912345678" not in digest[0]["opinions"][0]["text"]
    assert http.get(f"{web}/meetings/{meeting_id}", timeout=5).json()["opinions"] == digest

    for title in ("路灯不亮", "电梯故障", "门禁损坏"):  # three different repairs at one building
        created = requests.post(f"{intake}/issues", timeout=5, json=report(
            title=title, description=f"7号楼{title}", location={"community": "幸福里", "building": "7"}))
        assert created.status_code == 201, created.text
    [recurring] = wait_until(lambda: proposals(web, "recurring"), timeout=60, message="the recurring issue proposed")
    assert "7号楼" in recurring["title"] and recurring["category"] == "设施维护"


def test_ten_copies_of_a_signature_or_an_opinion_over_two_web_processes_count_once(system):
    from tests.support.races import COPIES, at_once, statuses
    system.start("meetings", "worker")
    webs = [system.start("meetings", "web").url, system.start_another("meetings", "web", "second").url]
    sid = requests.post(f"{webs[0]}/suggestions", timeout=5, json={
        "title": "增设休息座椅", "background": "老人散步没处歇脚", "resident": "wx-first"}).json()["suggestion_id"]
    signed = at_once(lambda i: requests.post(f"{webs[i % 2]}/suggestions/{sid}/signatures",
                                             json={"resident": "wx-same"}, timeout=10))
    assert statuses(signed) == {201: 1, 200: COPIES - 1}
    assert max(a.json()["signatures"] for a in signed) == 2
    others = at_once(lambda i: requests.post(f"{webs[i % 2]}/suggestions/{sid}/signatures",
                                             json={"resident": f"wx-{i}"}, timeout=10))  # ten residents at once
    assert statuses(others) == {201: COPIES}
    assert max(a.json()["signatures"] for a in others) == 2 + COPIES

    meeting_at = datetime.now(timezone.utc) + timedelta(days=5)
    meeting_id = http.post(f"{webs[0]}/meetings", timeout=5, json={
        "kind": "regular", "title": "议事会", "place": "社区会议室", "meeting_at": rfc3339(meeting_at)}).json()["meeting_id"]
    [topic_id] = http.post(f"{webs[0]}/meetings/{meeting_id}/agenda", timeout=10, json={"topics": [
        {"title": "增设休息座椅", "background": "老人散步没处歇脚", "draft_plan": "在3号院增设座椅4张"}]}).json()["topic_ids"]
    given = at_once(lambda i: requests.post(f"{webs[i % 2]}/meetings/{meeting_id}/opinions", timeout=10,
                                            headers={"Idempotency-Key": "resend-1"},
                                            json={"topic_id": topic_id, "text": "支持"}))
    assert statuses(given) == {201: 1, 200: COPIES - 1}
    assert len({a.json()["opinion_id"] for a in given}) == 1
    digest = http.get(f"{webs[0]}/meetings/{meeting_id}/opinions", timeout=5).json()["topics"]
    assert digest[0]["count"] == 1
    many = at_once(lambda i: requests.post(f"{webs[i % 2]}/meetings/{meeting_id}/opinions", timeout=10,
                                           json={"topic_id": topic_id, "text": f"意见{i}"}))  # ten residents at once
    assert statuses(many) == {201: COPIES}
    assert http.get(f"{webs[0]}/meetings/{meeting_id}/opinions", timeout=5).json()["topics"][0]["count"] == 1 + COPIES

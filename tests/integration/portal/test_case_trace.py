"""The unbroken trace on /track, against the real services on PostgreSQL and RabbitMQ: a resident's case goes to
the residents' representative assembly (report → agenda topic → secret ballot → minutes resolution → plan and
deadline → resolution → the resident's answer → the month's results release), and the progress page links each
step to the public page that records it — read by the portal over HTTP only."""
from datetime import timedelta

import pytest
import requests

from shared.contracts.envelope import rfc3339
from tests.support.council import SHANGHAI, decide_at_the_assembly, next_25th, ok
from tests.support.identity import http
from tests.support.processes import Process, wait_until


@pytest.fixture
def services(system, tmp_path):
    system.env["YISHI_TEST_CLOCK"] = "1"  # the assembly is held at its announced time, the release on the 25th
    for service in ("intake", "casework", "meetings"):
        system.start(service, "web")
        system.start(service, "worker")
    urls = {s: system.web(s).url for s in ("intake", "casework", "meetings")}
    silent = {"YISHI_NOTIFICATIONS_URL": "http://127.0.0.1:9"}  # not read by /track
    portal = Process("portal", "web", system.env | {f"YISHI_{s.upper()}_URL": u for s, u in urls.items()} | silent
                     | {"YISHI_PORTAL_FRESH_SCALE": "0"}, tmp_path).start()
    try:
        yield system, urls, portal.url
    finally:
        portal.stop()


def track(portal: str, code: str, lang: str = "zh-CN") -> str:
    page = requests.post(f"{portal}/track", params={"lang": lang}, data={"code": code}, timeout=10)
    assert page.status_code == 200, page.text
    return page.text


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_the_progress_page_links_every_step_of_a_case_through_the_council(services):
    system, url, portal = services
    intake, casework, meetings = url["intake"], url["casework"], url["meetings"]
    created = ok(requests.post(f"{intake}/issues", timeout=5, json={
        "channel": "survey", "title": "3号院停车难,晚上车位不足", "description": "希望议事会协调",
        "location": {"community": "幸福里", "building": "3"}, "reporter": {"name": "李四"}}))
    code = created["tracking_code"]
    case = wait_until(lambda: http.get(f"{casework}/cases", timeout=5).json()["cases"], message="case")[0]
    assert 'id="trace"' not in track(portal, code)  # not before the council yet: the timeline tells it all

    meeting_id, topic_id, motion_id, meeting_at = decide_at_the_assembly(system, meetings, case["case_id"])
    wait_until(lambda: http.get(f"{casework}/cases/{case['case_id']}", timeout=5).json()["resolutions"],
               timeout=60, message="casework adopts the assembly's resolution")
    ok(http.post(f"{casework}/cases/{case['case_id']}/resolution", json={"summary": "已签订协议,新增车位60个"},
                 timeout=5))
    wait_until(lambda: requests.get(f"{intake}/issues/{code}", timeout=5).json()["status"] == "resolved",
               message="intake hears of the resolution")
    answered = requests.post(f"{portal}/track/answer", data={"code": code, "confirmed": "yes", "satisfaction": "5"},
                             timeout=10)
    assert answered.status_code == 200 and "感谢反馈" in answered.text

    release_at = next_25th(meeting_at + timedelta(hours=1))
    month = release_at.astimezone(SHANGHAI).strftime("%Y-%m")
    system.yishi("clock", "set", rfc3339(release_at))
    released = http.post(f"{meetings}/reports/results", json={"month": month}, timeout=10)
    assert released.status_code in (201, 409), released.text  # 409: meetings' own timer released it first

    def traced():
        page = track(portal, code)
        return "月度议事成果发布" in page and "尚未进行" not in page and "您已反馈" in page and page
    page = wait_until(traced, timeout=60, message="every step on the progress page")
    for href in (f"/meetings/{meeting_id}#topic-{topic_id}", f"/meetings/{meeting_id}#motion-{motion_id}",
                 f"/meetings/{meeting_id}#minutes", f"/results?month={month}#case-{case['case_id']}"):
        assert f'<a href="{href}">' in page, href
    assert "赞成 4、反对 0、弃权 1,通过" in page and "社区居委会" in page and "满意度 5" in page
    assert "欧阳娜娜" not in page and "李四" not in page  # masked as everywhere

    meeting_page = requests.get(f"{portal}/meetings/{meeting_id}", timeout=10)
    assert meeting_page.status_code == 200
    for anchor in (f'id="topic-{topic_id}"', f'id="motion-{motion_id}"', 'id="minutes"'):
        assert anchor in meeting_page.text
    assert "代表0" not in meeting_page.text and "欧阳娜娜" not in meeting_page.text  # no participant, masked
    results = requests.get(f"{portal}/results", params={"month": month}, timeout=10)
    assert results.status_code == 200 and f'id="case-{case["case_id"]}"' in results.text

    english = track(portal, code, "en")
    assert "Through the council, step by step" in english and "4 for, 0 against, 1 abstaining: carried" in english
    unknown = requests.get(f"{portal}/meetings/00000000-0000-4000-8000-000000000000", timeout=10)
    assert unknown.status_code == 404

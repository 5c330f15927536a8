"""Screenshots of the portal's main pages for the README (docs/screenshots/), on a small seeded system.

    .venv/bin/python scripts/portal_screenshots.py     (needs chromium: scripts/ensure-infra.sh --browser)
"""
from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta, timezone
import tempfile
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.edge.signing import issue_token  # noqa: E402
from tests.support.infra import create_vhost, delete_vhost  # noqa: E402
from tests.support.processes import Process, System, wait_until  # noqa: E402

from shared.contracts.envelope import rfc3339  # noqa: E402
from tests.support.council import SHANGHAI, decide_at_the_assembly, next_25th  # noqa: E402
from tests.support.identity import http  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SERVICES = ("intake", "casework", "meetings", "notifications")
REPORTS = [("3号楼楼道灯坏了", "晚上一片黑,消防通道也被杂物堵了", "3", "张三"),
           ("小区东门电动车乱停", "占了消防通道,老人进出不便", "5", "李四"),
           ("垃圾清运不及时", "7号楼垃圾站有异味", "7", "王五")]


def seed(intake: str) -> str:
    codes = []
    for title, description, building, name in REPORTS:
        body = {"channel": "online", "title": title, "description": description, "reporter": {"name": name},
                "location": {"community": "幸福里", "building": building, "unit": "1", "room": "101"}}
        codes.append(requests.post(f"{intake}/issues", json=body, timeout=5).json()["tracking_code"])
    wait_until(lambda: all(requests.get(f"{intake}/issues/{c}", timeout=5).json()["case"] for c in codes))
    return codes[0]


def seed_meeting(meetings: str, identity: Path) -> None:
    """A council meeting four days ahead with its agenda published and its 1+N participants."""
    auth = {"Authorization": f"Bearer {issue_token('secretary', '王书记', directory=identity)}"}
    when = (datetime.now(timezone.utc) + timedelta(days=4)).isoformat()
    meeting = requests.post(f"{meetings}/meetings", headers=auth, timeout=5, json={
        "kind": "regular", "title": "12月议事会例会", "place": "社区活动室", "meeting_at": when}).json()
    base = f"{meetings}/meetings/{meeting['meeting_id']}"
    requests.post(f"{base}/agenda", headers=auth, timeout=5, json={"topics": [
        {"title": "东门电动车停放", "background": "东门电动车乱停,占用消防通道", "draft_plan": "划定停车区,加装充电桩"}]})
    requests.post(f"{base}/participants", headers=auth, timeout=5, json={"participants": [
        {"name": "张委员", "role": "committee"}, {"name": "李代表", "role": "resident_representative"},
        {"name": "赵楼长", "role": "building_head"}, {"name": "孙经理", "role": "property_manager",
                                                     "organisation": "幸福物业"}]})


def seed_council_case(system: System) -> tuple[str, datetime]:
    """A parking case the residents' assembly decided (topic, secret ballot, minutes), then resolved and answered:
    the progress page's trace (its monthly release follows in `release`)."""
    intake, casework = system.web("intake").url, system.web("casework").url
    code = requests.post(f"{intake}/issues", timeout=5, json={
        "channel": "online", "title": "3号院停车难,晚上车位不足", "description": "希望议事会协调",
        "location": {"community": "幸福里", "building": "3"}, "reporter": {"name": "赵六"}}).json()["tracking_code"]
    case_id = wait_until(lambda: requests.get(f"{intake}/issues/{code}", timeout=5).json()["case"])["case_id"]
    *_, meeting_at = decide_at_the_assembly(system, system.web("meetings").url, case_id)
    wait_until(lambda: http.get(f"{casework}/cases/{case_id}", timeout=5).json()["resolutions"], timeout=60)
    http.post(f"{casework}/cases/{case_id}/resolution", json={"summary": "已签订协议,新增车位60个"}, timeout=5)
    wait_until(lambda: requests.get(f"{intake}/issues/{code}", timeout=5).json()["status"] == "resolved")
    requests.post(f"{intake}/issues/{code}/confirmation", json={"confirmed": True, "satisfaction": 5}, timeout=5)
    return code, meeting_at


def release(system: System, after: datetime) -> None:
    """The month's results released on its 25th (the test clock moves there)."""
    at = next_25th(after + timedelta(hours=1))
    system.yishi("clock", "set", rfc3339(at))
    http.post(f"{system.web('meetings').url}/reports/results", json={"month": at.astimezone(SHANGHAI).strftime("%Y-%m")},
              timeout=10)


def staff_pages(browser, url: str, identity: Path) -> None:
    """The ledger and a case as a community worker sees them, on a desktop screen."""
    page = browser.new_page(base_url=url, viewport={"width": 1280, "height": 900})
    page.goto("/staff/login")
    page.get_by_label("登录令牌").fill(issue_token("community_worker", "李娜", directory=identity))
    page.get_by_role("button", name="工作人员登录").click()
    page.screenshot(path=OUT / "staff-cases.png", full_page=True)
    page.locator("table.ledger a").first.click()
    page.screenshot(path=OUT / "staff-case.png", full_page=True)
    page.get_by_label("责任主体类型").select_option("property")  # sent to the property company: its workflow next
    page.get_by_label("责任主体名称").fill("幸福物业")
    page.locator("#assignment").get_by_role("button", name="指派责任主体").click()
    party_page(browser, url, identity)
    page.goto("/staff/reports/stats")
    page.screenshot(path=OUT / "staff-stats.png", full_page=True)
    page.goto("/staff/meetings")
    page.locator("table#archive a").first.click()
    page.screenshot(path=OUT / "staff-meeting.png", full_page=True)
    page.close()


def party_page(browser, url: str, identity: Path) -> None:
    """The case as the property company it was sent to sees it: 签收, 退单, 申请延期, reply, notes."""
    page = browser.new_page(base_url=url, viewport={"width": 1280, "height": 900})
    page.goto("/staff/login")
    page.get_by_label("登录令牌").fill(issue_token("property", "王师傅", party="幸福物业", directory=identity))
    page.get_by_role("button", name="工作人员登录").click()
    page.locator("table.ledger a").first.click()
    page.screenshot(path=OUT / "staff-party-case.png", full_page=True)
    page.close()


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    (tmp / "metrics").mkdir()
    uri = create_vhost()
    env = {"AMQP_URI": uri, "YISHI_VAR_DIR": str(tmp / "var"), "YISHI_POLL_INTERVAL": "0.05", "DATABASE_URL": "",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"), "YISHI_TEST_CLOCK": "1",
           "YISHI_IDENTITY_DIR": str(tmp / "identity")}
    os.environ["YISHI_IDENTITY_DIR"] = env["YISHI_IDENTITY_DIR"]  # this script's staff calls sign with the same key
    system, portal = System(env, tmp), None
    try:
        for service in SERVICES:
            system.start(service, "web")
            system.start(service, "worker")
        portal = Process("portal", "web", env | {f"YISHI_{s.upper()}_URL": system.web(s).url for s in SERVICES},
                         tmp).start()
        code = seed(system.web("intake").url)
        seed_meeting(system.web("meetings").url, tmp / "identity")
        trace_code, meeting_at = seed_council_case(system)  # the clock is at the assembly's time now, 3 days on:
        # the urgent ones' deadlines have passed, the board shows them overdue
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(base_url=portal.url, viewport={"width": 390, "height": 844})
            page.goto("/?community=幸福里")
            page.screenshot(path=OUT / "board.png", full_page=True)
            page.goto("/report?community=幸福里")
            page.get_by_label("问题标题").type("5号楼电梯坏了")
            page.wait_for_selector("#category-hint")
            page.screenshot(path=OUT / "report.png", full_page=True)
            page.goto("/track?size=large")
            page.get_by_label("查询码").fill(code)
            page.get_by_role("button", name="查看").click()
            page.screenshot(path=OUT / "track-large.png", full_page=True)
            staff_pages(browser, portal.url, tmp / "identity")
            release(system, meeting_at)
            wait_until(lambda: "议事成果:列入" in requests.post(f"{portal.url}/track", data={"code": trace_code},
                                                               timeout=10).text, timeout=60)
            page.goto("/track?size=normal")
            page.get_by_label("查询码").fill(trace_code)
            page.get_by_role("button", name="查看").click()
            page.screenshot(path=OUT / "track-trace.png", full_page=True)
            browser.close()
    finally:
        if portal:
            portal.stop()
        system.stop()
        delete_vhost(uri)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    main()

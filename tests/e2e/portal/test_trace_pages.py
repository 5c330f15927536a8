"""A resident follows their case through the council in a real browser: the report with a point on the map, the
trace on /track with each step a link, the public meeting record and the month's results it opens; accessible,
light, bilingual, and working without JavaScript. The council's steps are staff's, made over HTTP (test clock)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import expect

from shared.contracts.envelope import rfc3339
from tests.e2e.portal.conftest import axe_violations
from tests.support.council import SHANGHAI, decide_at_the_assembly, next_25th, ok
from tests.support.identity import http
from tests.support.infra import create_vhost, delete_vhost
from tests.support.processes import Process, System, wait_until

BUDGET_REQUESTS = 3  # the page, the stylesheet, htmx
BUDGET_BYTES = 80 * 1024
SERVICES = ("intake", "casework", "meetings")


@pytest.fixture(scope="module")
def council_portal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trace")
    (tmp / "metrics").mkdir()
    uri = create_vhost()
    env = {"AMQP_URI": uri, "YISHI_VAR_DIR": str(tmp / "var"), "YISHI_POLL_INTERVAL": "0.05", "DATABASE_URL": "",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"), "YISHI_TEST_CLOCK": "1", "YISHI_PORTAL_FRESH_SCALE": "0"}
    system, front = System(env, tmp), None
    try:
        for service in SERVICES:
            system.start(service, "web")
            system.start(service, "worker")  # meetings' worker: the trace is its projection
        urls = {s: system.web(s).url for s in SERVICES}
        front = Process("portal", "web", env | {f"YISHI_{s.upper()}_URL": u for s, u in urls.items()}, tmp).start()
        yield front.url, urls, system
    finally:
        if front:
            front.stop()
        system.stop()
        delete_vhost(uri)


@pytest.fixture
def page(browser, council_portal):
    """A phone-sized page on this module's system; CSP bypassed only to inject axe."""
    context = browser.new_context(base_url=council_portal[0], viewport={"width": 390, "height": 844},
                                  bypass_csp=True, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def traced(browser, council_portal):
    """A report made in the browser (with its point), taken by the assembly, resolved, answered and released."""
    base, up, system = council_portal
    context = browser.new_context(base_url=base, viewport={"width": 390, "height": 844}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/report")
    page.get_by_label("问题标题").fill("3号院停车难,晚上车位不足")
    page.get_by_label("详细描述").fill("希望议事会协调")
    page.get_by_label("社区").fill("幸福里")
    page.get_by_label("楼栋").fill("3")
    page.get_by_label("纬度(选填)").fill("北纬39度")
    page.get_by_label("经度(选填)").fill("116.4074")
    page.get_by_label("您的称呼(不公开)").fill("李四")
    page.get_by_role("button", name="提交").click()  # no number: intake names the field, shown beside it
    expect(page.locator("#lat-error")).to_be_visible()
    expect(page.get_by_label("纬度(选填)")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("纬度(选填)").fill("39.904211")
    page.get_by_role("button", name="提交").click()
    code = page.locator("#tracking-code").inner_text()
    context.close()

    issue = requests.get(f"{up['intake']}/issues/{code}", timeout=5).json()
    assert (issue["location"]["lat"], issue["location"]["lon"]) == (39.904, 116.407)  # no finer than the building
    case_id = wait_until(lambda: requests.get(f"{up['intake']}/issues/{code}", timeout=5).json()["case"],
                         message="the report has its case")["case_id"]
    meeting_id, topic_id, motion_id, meeting_at = decide_at_the_assembly(system, up["meetings"], case_id)
    wait_until(lambda: http.get(f"{up['casework']}/cases/{case_id}", timeout=5).json()["resolutions"],
               timeout=60, message="casework adopts the assembly's resolution")
    ok(http.post(f"{up['casework']}/cases/{case_id}/resolution", json={"summary": "已签订协议,新增车位60个"},
                 timeout=5))
    wait_until(lambda: requests.get(f"{up['intake']}/issues/{code}", timeout=5).json()["status"] == "resolved",
               message="intake hears of the resolution")
    release_at = next_25th(meeting_at + timedelta(hours=1))
    system.yishi("clock", "set", rfc3339(release_at))
    month = release_at.astimezone(SHANGHAI).strftime("%Y-%m")
    released = http.post(f"{up['meetings']}/reports/results", json={"month": month}, timeout=10)
    assert released.status_code in (201, 409), released.text  # 409: meetings' own timer released it first
    return {"code": code, "case_id": case_id, "meeting_id": meeting_id, "topic_id": topic_id,
            "motion_id": motion_id, "month": month}


def show(page, code: str) -> None:
    page.goto("/track")
    page.get_by_label("查询码").fill(code)
    page.get_by_role("button", name="查看").click()


def test_the_trace_links_each_step_and_the_resident_answers_on_it(page, traced):
    def released_on_page():
        show(page, traced["code"])
        return page.locator("#stage-release a").count() == 1
    wait_until(released_on_page, timeout=60, message="the month's release on the trace")
    trace = page.locator("#trace")
    expect(trace.locator("#stage-topic a")).to_have_attribute(
        "href", f"/meetings/{traced['meeting_id']}#topic-{traced['topic_id']}")
    expect(trace.locator("#stage-vote")).to_contain_text("赞成 4、反对 0、弃权 1,通过")
    expect(trace.locator("#stage-resolution")).to_contain_text("社区居委会")
    expect(trace.locator("#stage-plan")).to_contain_text("错时共享协议")
    expect(trace.locator("#stage-confirmation")).to_contain_text("尚未进行")
    assert "欧阳娜娜" not in trace.inner_text()  # masked as everywhere
    assert axe_violations(page) == []

    page.get_by_label("已解决").check()
    page.get_by_label("5", exact=True).check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("status").first).to_have_text("感谢反馈,已记录。")
    def answer_on_page():
        show(page, traced["code"])
        return "满意度 5" in page.locator("#stage-confirmation").inner_text()
    wait_until(answer_on_page, message="the answer on the trace")

    trace.locator("#stage-vote a").click()  # the vote's link opens the meeting's public record at the vote
    expect(page).to_have_url(re.compile(rf"/meetings/{traced['meeting_id']}#motion-{traced['motion_id']}$"))
    expect(page.locator(f"#motion-{traced['motion_id']}")).to_contain_text("同意错时共享车位方案")
    expect(page.locator(f"#topic-{traced['topic_id']}")).to_contain_text("3号院停车难")
    assert "代表0" not in page.content() and axe_violations(page) == []  # no participant on the public record
    page.go_back()
    page.locator("#stage-release a").click()
    expect(page.locator(f"#case-{traced['case_id']}")).to_be_visible()
    assert axe_violations(page) == []


def test_the_trace_in_english_and_without_javascript(browser, council_portal, traced):
    context = browser.new_context(base_url=council_portal[0], java_script_enabled=False, locale="en")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/track?lang=en")
    page.get_by_label("Tracking code").fill(traced["code"])
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#trace")).to_contain_text("4 for, 0 against, 1 abstaining: carried")
    expect(page.get_by_role("heading", name="Through the council, step by step")).to_be_visible()
    page.locator("#stage-resolution a").click()
    expect(page.get_by_role("heading", name="Minutes")).to_be_visible()
    context.close()


@pytest.mark.parametrize("path", ["meeting", "results"])
def test_the_pages_the_trace_opens_keep_to_the_budget(browser, council_portal, traced, path):
    context = browser.new_context(base_url=council_portal[0])
    page = context.new_page()
    sizes: list[int] = []
    page.on("requestfinished", lambda r: sizes.append(r.sizes()["responseBodySize"]))
    url = f"/meetings/{traced['meeting_id']}" if path == "meeting" else f"/results?month={traced['month']}"
    assert page.goto(url, wait_until="networkidle").status == 200
    context.close()
    assert len(sizes) <= BUDGET_REQUESTS, sizes
    assert sum(sizes) <= BUDGET_BYTES, sizes

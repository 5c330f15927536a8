"""A council meeting from agenda to minutes in a real browser, on the test clock (the 3-day notice and the
opening window are meetings' rules, passed by advancing the clock as days would)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.portal.conftest import axe_violations
from tests.e2e.portal.test_staff_pages import sign_in
from tests.support.infra import create_vhost, delete_vhost
from tests.support.processes import Process, System, wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")
BUDGET_REQUESTS = 4  # the page, the stylesheet, htmx and the speaking timer
BUDGET_BYTES = 100 * 1024
MEMBERS = [("张委员", "committee"), ("李代表", "resident_representative"), ("赵楼长", "building_head")]


@pytest.fixture(scope="module")
def meetings_portal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("meetings")
    (tmp / "metrics").mkdir()
    uri = create_vhost()
    env = {"AMQP_URI": uri, "YISHI_VAR_DIR": str(tmp / "var"), "DATABASE_URL": "", "YISHI_TEST_CLOCK": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics")}
    system, front = System(env, tmp), None
    try:
        meetings = system.start("meetings", "web")
        system.start("meetings", "worker")  # the archive index is its projection
        front = Process("portal", "web", env | {"YISHI_MEETINGS_URL": meetings.url}, tmp).start()
        yield front.url, system
    finally:
        if front:
            front.stop()
        system.stop()
        delete_vhost(uri)


@pytest.fixture
def page(browser, meetings_portal):
    context = browser.new_context(base_url=meetings_portal[0], viewport={"width": 1024, "height": 900},
                                  bypass_csp=True, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_meeting_from_agenda_to_minutes(page, meetings_portal):
    _, system = meetings_portal
    sign_in(page, "secretary", "王书记", then="/staff/meetings")
    assert axe_violations(page) == []
    when = (datetime.now(SHANGHAI) + timedelta(days=4, minutes=30)).strftime("%Y-%m-%dT%H:%M")  # council's time
    schedule = page.locator("form#schedule")
    schedule.get_by_label("会议类型").select_option("regular")
    schedule.get_by_label("标题").fill("12月议事会例会")
    schedule.get_by_label("地点").fill("社区活动室")
    schedule.get_by_label("会议时间").fill(when)
    schedule.get_by_role("button", name="安排会议").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("12月议事会例会")
    expect(page.locator("#meeting-status")).to_have_text("已安排")

    agenda = page.locator("#agenda")
    agenda.get_by_label("标题").fill("东门电动车停放")
    agenda.get_by_label("背景").fill("东门电动车乱停,占用消防通道")
    agenda.get_by_role("button", name="公示议题").click()  # no draft plan: meetings names it beside its field
    expect(page.locator("#agenda-draft_plan-error")).to_be_visible()
    agenda = page.locator("#agenda")
    agenda.get_by_label("初步方案").fill("划定停车区,加装充电桩")
    agenda.get_by_role("button", name="公示议题").click()
    expect(page.locator("#topic-list")).to_contain_text("东门电动车停放")
    for name, role in MEMBERS + [("孙经理", "property_manager")]:
        form = page.locator("#participants")
        form.get_by_label("姓名").fill(name)
        form.get_by_label("身份").select_option(role)
        form.get_by_role("button", name="添加参会人员").click()
        expect(page.locator("#participant-list")).to_contain_text(name)
    expect(page.locator("#participant-list")).to_contain_text("邀请成员")
    assert axe_violations(page) == []

    opening = page.locator("form#open")
    opening.get_by_label("主持人").select_option(label="张委员(社区“两委”成员)")
    opening.get_by_label("记录人(分歧点专人记录)").select_option(label="赵楼长(楼门长)")
    opening.get_by_role("button", name="开会(签到)").click()  # four days early: meetings refuses
    expect(page.locator("#open-error")).to_contain_text("公示的会议时间")
    system.yishi("clock", "advance", "P4D")
    page.locator("form#open").get_by_label("主持人").select_option(label="张委员(社区“两委”成员)")
    page.locator("form#open").get_by_label("记录人(分歧点专人记录)").select_option(label="赵楼长(楼门长)")
    page.locator("form#open").get_by_role("button", name="开会(签到)").click()
    assert page.locator("#open-error").count() == 0, page.locator("#open-error").inner_text()
    expect(page.locator("#meeting-status")).to_have_text("进行中")

    statement = page.locator("form#statements")
    statement.get_by_role("button", name="开始计时").click()  # the timer fills in the length when stopped
    expect(statement.locator(".clock")).not_to_have_text("5:00")
    statement.get_by_role("button", name="停止并填入时长").click()
    expect(statement.get_by_label("发言时长(秒)")).to_have_value(re.compile(r"^\d+$"))
    statement.get_by_label("参会人员").select_option(label="李代表(居民代表)")
    statement.get_by_label("议题").select_option("t1")
    statement.get_by_label("发言时长(秒)").fill("360")
    statement.get_by_label("内容摘要").fill("建议东门内侧划线停车")
    statement.get_by_role("button", name="记录发言").click()
    expect(page.locator("#statement-list")).to_contain_text("超时 60 秒")
    disagreement = page.locator("form#disagreements")
    disagreement.get_by_label("议题").select_option("t1")
    disagreement.get_by_label("分歧点", exact=True).fill("充电桩费用由谁承担")
    disagreement.get_by_label("各方观点(每行一条)").fill("物业承担\n使用者分摊")
    disagreement.get_by_role("button", name="记录分歧点").click()
    expect(page.locator("#disagreement-list")).to_contain_text("使用者分摊")
    assert axe_violations(page) == []

    motion = page.locator("form#motions")
    motion.get_by_label("内容").fill("在东门内侧划定电动车停放区")
    motion.get_by_label("议题").select_option("t1")
    motion.get_by_label("重大事项(须无记名投票)").check()
    motion.get_by_label("表决方式").select_option("secret")
    motion.get_by_role("button", name="提出表决事项").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("无记名投票选票")
    codes = page.locator(".ballot-code").all_inner_texts()
    assert len(codes) == 3 and len(set(codes)) == 3  # one per voting member present, the invited one has none
    assert axe_violations(page) == []
    page.emulate_media(media="print")
    expect(page.locator(".ballot").first).to_be_visible()
    expect(page.locator("header nav")).to_be_hidden()
    page.emulate_media(media="screen")
    page.get_by_role("link", name="返回会议").click()

    for code, choice in zip(codes, ("for", "for", "against")):
        vote = page.locator("form#votes")
        vote.get_by_label("表决事项").select_option("m1")
        vote.get_by_label("意见").select_option(choice)
        vote.get_by_label("选票码(无记名)").fill(code)
        vote.get_by_role("button", name="记录投票").click()
        expect(page.locator("#done")).to_have_text("已提交:记录投票")
    expect(page.locator("#motion-list")).to_contain_text("通过")
    expect(page.locator("#motion-list")).to_contain_text("赞成 2 · 反对 1 · 弃权 0")
    page.locator("form#close").get_by_role("button", name="结束会议").click()
    expect(page.locator("#meeting-status")).to_have_text("已结束,待纪要")

    minutes = page.locator("form#minutes")
    minutes.locator("#minutes-text-0").fill("东门内侧划定电动车停放区")
    minutes.locator("#minutes-due-0").fill((datetime.now(SHANGHAI) + timedelta(days=30)).strftime("%Y-%m-%d"))
    minutes.get_by_role("button", name="形成会议纪要").click()  # no owner: named beside the row's field
    expect(page.locator("#minutes-owner-0-error")).to_be_visible()
    assert axe_violations(page) == []
    page.locator("#minutes-owner-0").fill("孙经理")
    page.locator("#minutes-motion_id-0").select_option("m1")
    page.locator("form#minutes").get_by_role("button", name="形成会议纪要").click()
    expect(page.locator("#meeting-status")).to_have_text("已形成纪要")
    expect(page.locator("#resolution-list")).to_contain_text("孙经理")

    page.get_by_role("link", name="议事档案库").first.click()
    expect(page.locator("table#archive")).to_contain_text("12月议事会例会")
    wait_until(lambda: page.reload() or "已形成纪要" in page.locator("table#archive").inner_text(),
               message="the archive index (meetings' projection) follows the minutes")


def test_meeting_pages_keep_to_their_budget_and_a_party_cannot_schedule(browser, meetings_portal):
    signing = browser.new_context(base_url=meetings_portal[0])
    page = signing.new_page()
    sign_in(page, "property", "王师傅", then="/staff/meetings")
    expect(page.get_by_role("button", name="安排会议")).to_have_count(0)  # organising is the workers'
    signing.close()
    signing = browser.new_context(base_url=meetings_portal[0])
    sign_in(signing.new_page(), "secretary", "预算员", then="/staff/meetings")
    session = signing.cookies()
    signing.close()
    context = browser.new_context(base_url=meetings_portal[0])
    context.add_cookies(session)
    page = context.new_page()
    page.goto("/staff/meetings")
    link = page.locator("table#archive a").first
    target = link.get_attribute("href") if link.count() else "/staff/meetings"
    context.close()
    for path in ("/staff/meetings", target):
        context = browser.new_context(base_url=meetings_portal[0])
        context.add_cookies(session)
        page = context.new_page()
        sizes: list[int] = []
        page.on("requestfinished", lambda r: sizes.append(r.sizes()["responseBodySize"]))
        page.goto(path, wait_until="networkidle")
        context.close()
        assert len(sizes) <= BUDGET_REQUESTS, (path, sizes)
        assert sum(sizes) <= BUDGET_BYTES, (path, sizes)

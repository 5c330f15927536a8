"""Staff sign in, work the ledger and act on a case in a real browser; each command is the owning service's."""
from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from tests.e2e.portal.conftest import axe_violations
from tests.support.identity import token
from tests.support.processes import wait_until

BUDGET_REQUESTS = 3
BUDGET_BYTES = 100 * 1024  # the ledger's rows weigh more than a resident's page


def sign_in(page, role: str, name: str, community: str | None = None, party: str | None = None,
            then: str = "/staff/cases") -> None:
    page.goto(then)  # not signed in: sent to sign in, and back afterwards
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.get_by_label("登录令牌").fill(token(role, name, community, party))
    page.get_by_role("button", name="工作人员登录").click()
    expect(page.get_by_text(f"当前登录:{name}")).to_be_visible()


def reported(intake: str, title: str, community: str) -> tuple[str, str]:
    """(tracking code, case id) of a report, once casework opened its case."""
    body = {"channel": "online", "title": title, "description": "楼道一片黑", "reporter": {"name": "张三"},
            "location": {"community": community, "building": "3", "unit": "1", "room": "502"}}
    code = requests.post(f"{intake}/issues", json=body, timeout=5).json()["tracking_code"]
    case = wait_until(lambda: requests.get(f"{intake}/issues/{code}", timeout=5).json()["case"],
                      message="the report has its case")
    return code, case["case_id"]


def test_a_worker_triages_assigns_and_resolves_and_the_resident_sees_it(page, portal):
    _, up = portal
    code, case_id = reported(up["intake"], "3号楼楼道灯坏了", "台账里")
    sign_in(page, "community_worker", "李娜")
    assert axe_violations(page) == []
    page.get_by_label("社区").fill("台账里")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#count-total")).to_have_text("1")
    expect(page.locator("table.ledger")).to_contain_text("绿灯")
    assert "502" not in page.locator("main").inner_text() and "张三" not in page.content()
    page.get_by_role("link", name="3号楼楼道灯坏了").click()
    expect(page).to_have_url(re.compile(case_id))
    expect(page.locator("#chain")).to_have_text("记录完整:哈希链校验通过")
    expect(page.locator("table.history")).to_contain_text("立案分级")
    assert axe_violations(page) == []

    page.locator("#triage").get_by_role("button", name="调整分级").click()  # no tier, no reason: named beside
    expect(page.locator("#triage-tier-error")).to_be_visible()
    expect(page.get_by_label("分级", exact=True)).to_have_attribute("aria-invalid", "true")
    assert axe_violations(page) == []
    page.get_by_label("分级", exact=True).select_option("routine")
    page.locator("#triage-reason").fill("白天可临时照明,按常规办理")
    page.locator("#triage").get_by_role("button", name="调整分级").click()
    expect(page.locator("#done")).to_have_text("已提交:调整分级")
    expect(page.locator("#case-tier")).to_have_text("常规类")

    page.get_by_label("责任主体类型").select_option("property")
    page.get_by_label("责任主体名称").fill("幸福物业")
    page.locator("#assignment").get_by_role("button", name="指派责任主体").click()
    expect(page.locator("#case-party")).to_have_text("幸福物业")
    page.locator("#resolution-summary").fill("已更换灯泡")
    page.locator("#resolution").get_by_role("button", name="办结").click()
    expect(page.locator("#case-status")).to_have_text("已办结,待确认")
    history = page.locator("table.history")
    for step in ("调整分级", "指派责任主体", "办结"):
        expect(history).to_contain_text(step)
    expect(history).to_contain_text("李娜")  # who: the signed-in worker, from their token
    expect(page.get_by_text("该案件当前没有您可执行的操作。")).to_be_visible()
    wait_until(lambda: requests.get(f"{up['intake']}/issues/{code}", timeout=5).json()["status"] == "resolved",
               message="intake hears the case resolved")


def test_a_party_sees_only_its_cases_and_only_its_actions(page, portal):
    _, up = portal
    _, mine = reported(up["intake"], "5号楼水管漏水", "范围里")
    _, other = reported(up["intake"], "6号楼电梯异响", "范围里")
    for case_id, party in ((mine, "安居物业"), (other, "别家物业")):
        requests.post(f"{up['casework']}/cases/{case_id}/assignment", timeout=5,
                      json={"party_kind": "property", "party": party},
                      headers={"Authorization": f"Bearer {token('secretary', '王书记')}"}).raise_for_status()
    sign_in(page, "property", "王师傅", party="安居物业")
    expect(page.get_by_text("可见范围:指派给本单位的案件(安居物业)")).to_be_visible()
    expect(page.locator("table.ledger")).to_contain_text("5号楼水管漏水")
    expect(page.locator("table.ledger")).not_to_contain_text("6号楼电梯异响")
    page.get_by_role("link", name="5号楼水管漏水").click()
    forms = page.locator("form.action h3")
    expect(forms).to_have_text(["签收", "退单", "申请延期", "提出方案", "办结", "回复居民", "内部备注"])  # no triage,
    # assignment, escalation or merge for a party
    page.goto(f"/staff/cases/{other}")  # casework refuses another party's case
    expect(page.get_by_role("alert")).to_contain_text("该案件未指派给您所在的单位")


def test_a_refused_command_is_shown_beside_its_field_and_a_forged_form_is_refused(page, portal, browser):
    _, up = portal
    _, case_id = reported(up["intake"], "8号楼门禁坏了", "表单里")
    sign_in(page, "secretary", "王书记", then=f"/staff/cases/{case_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("8号楼门禁坏了")  # back where they were going
    page.locator("#plan-due").fill("2030-01-31")
    page.locator("#plan").get_by_role("button", name="提出方案").click()  # no plan: casework names the field
    expect(page.locator("#plan-plan-error")).to_have_text("方案不能为空")
    expect(page.locator("#plan-plan")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#plan-due")).to_have_value("2030-01-31")  # nothing typed is lost
    assert axe_violations(page) == []

    # the session cookie alone does not make a form: a post without the page's CSRF token is refused
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert {c["name"]: c for c in page.context.cookies()}["yishi_staff"]["httpOnly"]
    forged = requests.post(f"{portal[0]}/staff/cases/{case_id}/resolution", timeout=5, allow_redirects=False,
                           data={"resolution-summary": "伪造"}, cookies={"yishi_staff": cookies["yishi_staff"]})
    assert forged.status_code == 403
    tampered = requests.get(f"{portal[0]}/staff/cases", timeout=5, allow_redirects=False,
                            cookies={"yishi_staff": cookies["yishi_staff"][:-2] + "xx"})
    assert tampered.status_code == 303 and "/staff/login" in tampered.headers["Location"]

    page.locator("header").get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile("/staff/login"))
    page.goto("/staff/cases")
    expect(page).to_have_url(re.compile("/staff/login"))


def test_a_bad_token_does_not_sign_in(page):
    page.goto("/staff/login")
    page.get_by_label("登录令牌").fill("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    page.get_by_role("button", name="工作人员登录").click()
    expect(page.locator("#token-error")).to_have_text("令牌无效或已过期,请重新获取。")
    assert axe_violations(page) == []
    page.get_by_label("登录令牌").fill(token("operator", "运维"))  # no staff role: no worklist
    page.get_by_role("button", name="工作人员登录").click()
    expect(page.locator("#token-error")).to_have_text("该身份不是工作人员角色,不能登录工作台。")


def test_staff_pages_keep_to_their_budget(browser, portal):
    _, up = portal
    _, case_id = reported(up["intake"], "预算楼灯坏了", "预算里")
    signing = browser.new_context(base_url=portal[0])
    sign_in(signing.new_page(), "community_worker", "预算员")
    session = signing.cookies()
    signing.close()
    for path in ("/staff/cases", f"/staff/cases/{case_id}"):
        context = browser.new_context(base_url=portal[0])  # a fresh cache, signed in
        context.add_cookies(session)
        page = context.new_page()
        sizes: list[int] = []
        page.on("requestfinished", lambda r: sizes.append(r.sizes()["responseBodySize"]))
        page.goto(path, wait_until="networkidle")
        context.close()
        assert len(sizes) <= BUDGET_REQUESTS, (path, sizes)
        assert sum(sizes) <= BUDGET_BYTES, (path, sizes)


def staff_page(browser, portal):
    """Another member's browser beside the test's own."""
    context = browser.new_context(base_url=portal[0], viewport={"width": 390, "height": 844}, bypass_csp=True,
                                  locale="zh-CN")
    context.set_default_timeout(10_000)
    return context, context.new_page()


def assigned(up: dict[str, str], title: str, party: str) -> str:
    _, case_id = reported(up["intake"], title, "派单里")
    requests.post(f"{up['casework']}/cases/{case_id}/assignment", timeout=5,
                  json={"party_kind": "property", "party": party},
                  headers={"Authorization": f"Bearer {token('secretary', '王书记')}"}).raise_for_status()
    return case_id


def test_a_party_acknowledges_asks_for_time_replies_and_notes_and_the_secretary_decides(page, portal, browser):
    _, up = portal
    case_id = assigned(up, "9号楼屋顶漏水", "安居物业")
    sign_in(page, "property", "王师傅", party="安居物业", then=f"/staff/cases/{case_id}")
    expect(page.locator("#case-dispatch")).to_contain_text("待签收")
    expect(page.locator("form.action h3")).to_have_text(["签收", "退单", "申请延期", "提出方案", "办结", "回复居民",
                                                         "内部备注"])
    assert axe_violations(page) == []
    page.locator("#acknowledgement").get_by_role("button", name="签收").click()
    expect(page.locator("#done")).to_have_text("已提交:签收")
    expect(page.locator("#case-dispatch")).to_contain_text("已签收")
    expect(page.locator("#acknowledgement")).to_have_count(0)  # taken up once

    page.locator("#extension-due").fill("2020-01-31")  # no reason, a date gone: casework names a field
    page.locator("#extension").get_by_role("button", name="申请延期").click()
    expect(page.locator("#extension-reason-error, #extension-due-error").first).to_be_visible()
    expect(page.locator("#extension-due")).to_have_value("2020-01-31")
    assert axe_violations(page) == []
    page.locator("#extension-due").fill("2030-01-31")
    page.locator("#extension-reason").fill("需等待防水材料到货")
    page.locator("#extension").get_by_role("button", name="申请延期").click()
    expect(page.locator("#case-extension")).to_contain_text("需等待防水材料到货")
    expect(page.locator("#extension")).to_have_count(0)  # one request waits at a time

    page.locator("#reply").get_by_role("button", name="回复居民").click()
    expect(page.locator("#reply-text-error")).to_have_text("回复内容不能为空")
    page.locator("#reply-text").fill("已安排维修,材料到货后施工")
    page.locator("#reply").get_by_role("button", name="回复居民").click()
    expect(page.locator("#done")).to_have_text("已提交:回复居民")
    page.locator("#note-text").fill("业主委员会要求走维修基金")
    page.get_by_label("社区书记").check()
    page.locator("#note").get_by_role("button", name="内部备注").click()
    expect(page.locator("#notes")).to_contain_text("业主委员会要求走维修基金")
    expect(page.locator("table.history")).to_contain_text("王师傅")

    context, secretary = staff_page(browser, portal)
    try:
        sign_in(secretary, "secretary", "王书记", then=f"/staff/cases/{case_id}")
        expect(secretary.locator("#notes")).to_contain_text("业主委员会要求走维修基金")
        secretary.locator("#extension-decision").get_by_role("button", name="审批延期申请").click()
        expect(secretary.locator("#extension-decision-approved-error")).to_be_visible()
        expect(secretary.locator("#extension-decision-approved")).to_have_attribute("aria-invalid", "true")
        assert axe_violations(secretary) == []
        secretary.get_by_label("审批结果").select_option("yes")
        secretary.locator("#extension-decision-reason").fill("材料确需时间")
        secretary.locator("#extension-decision").get_by_role("button", name="审批延期申请").click()
        expect(secretary.locator("#done")).to_have_text("已提交:审批延期申请")
        expect(secretary.get_by_text("同意延至")).to_be_visible()
        expect(secretary.locator("#extension-decision")).to_have_count(0)
    finally:
        context.close()


def test_a_party_returns_a_case_the_worker_disputes_and_the_secretary_overrules(page, portal, browser):
    _, up = portal
    case_id = assigned(up, "10号楼化粪池满溢", "别家物业")
    sign_in(page, "property", "赵经理", party="别家物业", then=f"/staff/cases/{case_id}")
    page.locator("#return").get_by_role("button", name="退单").click()
    expect(page.locator("#return-reason-error")).to_have_text("退单理由不能为空")
    page.locator("#return-reason").fill("化粪池属市政管网")
    page.locator("#return").get_by_role("button", name="退单").click()
    expect(page.locator("#case-dispatch")).to_contain_text("已退单:化粪池属市政管网")
    expect(page.locator("#return")).to_have_count(0)

    context, worker = staff_page(browser, portal)
    try:
        sign_in(worker, "community_worker", "李娜", then=f"/staff/cases/{case_id}")
        expect(worker.locator("#return-ruling")).to_have_count(0)  # the secretary's alone
        worker.locator("#return-dispute-reason").fill("化粪池在小区红线内,属物业")
        worker.locator("#return-dispute").get_by_role("button", name="对退单提出异议").click()
        expect(worker.locator("#case-dispatch")).to_contain_text("有异议,待社区书记裁定")
    finally:
        context.close()
    context, secretary = staff_page(browser, portal)
    try:
        sign_in(secretary, "secretary", "王书记", then=f"/staff/cases/{case_id}")
        secretary.get_by_label("裁定结果").select_option("no")
        secretary.locator("#return-ruling").get_by_role("button", name="裁定退单").click()
        expect(secretary.locator("#return-ruling-reason-error")).to_have_text("裁定理由不能为空")
        expect(secretary.get_by_label("裁定结果")).to_have_value("no")  # nothing chosen is lost
        secretary.locator("#return-ruling-reason").fill("红线内设施由物业负责")
        secretary.locator("#return-ruling").get_by_role("button", name="裁定退单").click()
        expect(secretary.locator("#case-dispatch")).to_contain_text("待签收")  # back to the party, its clock again
        assert axe_violations(secretary) == []
    finally:
        context.close()

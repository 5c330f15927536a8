"""Staff read the month's reports in a real browser: charts drawn on the server beside their tables, printable,
downloadable as CSV and XLSX; the recorder releases the month's results."""
from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.portal.conftest import axe_violations
from tests.e2e.portal.test_staff_pages import reported, sign_in

BUDGET_REQUESTS = 3  # the page, the stylesheet, htmx: the charts are in the page
BUDGET_BYTES = 250 * 1024


def this_month() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def test_the_rates_page_charts_six_months_beside_their_tables_and_prints(page, portal):
    _, up = portal
    reported(up["intake"], "报表楼灯坏了", "报表里")
    sign_in(page, "secretary", "王书记", then="/staff/reports/stats")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"三率统计 · {this_month()}")
    expect(page.locator("#rates tbody tr")).to_have_count(6)
    expect(page.locator("#rates thead")).to_contain_text("响应率")
    expect(page.locator("#rates thead")).to_contain_text("解决率")
    expect(page.locator("#rates thead")).to_contain_text("满意率")
    expect(page.get_by_role("img", name="图表:近六个月三率走势(数据见下表)")).to_be_visible()
    expect(page.locator("#by_category")).to_contain_text("设施维护")
    expect(page.locator("#by_community")).to_contain_text("报表里")
    assert page.locator("img.chart").first.evaluate("i => i.naturalWidth") > 0  # the SVG draws
    assert axe_violations(page) == []

    page.emulate_media(media="print")
    expect(page.locator("header nav")).to_be_hidden()
    expect(page.locator(".downloads")).to_be_hidden()
    expect(page.locator("#rates")).to_be_visible()
    page.emulate_media(media="screen")

    with page.expect_download() as csv_file:
        page.get_by_role("link", name="下载 CSV").click()
    text = open(csv_file.value.path(), encoding="utf-8-sig").read()
    assert "各月三率" in text and "响应率" in text and this_month() in text
    with page.expect_download() as xlsx_file:
        page.get_by_role("link", name="下载电子表格(XLSX)").click()
    assert xlsx_file.value.suggested_filename == f"stats-{this_month()}.xlsx"
    book = load_workbook(io.BytesIO(xlsx_file.value.path().read_bytes()))
    assert book.sheetnames[:2] == ["各月三率", "按分类"]
    assert [c.value for c in book["各月三率"][1]][:3] == ["月份", "案件数", "响应率"]


def test_the_recorder_releases_last_months_results_and_an_early_release_is_refused(page, portal):
    sign_in(page, "secretary", "王书记", then=f"/staff/reports/results?month={this_month()}")
    expect(page.locator("#release-state")).to_have_text("尚未发布(预览)")
    if datetime.now(ZoneInfo("Asia/Shanghai")).day < 25:  # meetings releases a month from its 25th
        page.get_by_role("button", name="发布本月议事成果").click()
        expect(page.locator("#release-error")).to_be_visible()
        assert axe_violations(page) == []
    page.get_by_label("月份").fill("2026-01")
    page.get_by_role("button", name="查看").click()
    page.get_by_role("button", name="发布本月议事成果").click()
    expect(page.locator("#release-state")).to_contain_text("已于")
    expect(page.get_by_role("button", name="发布本月议事成果")).to_have_count(0)
    assert axe_violations(page) == []


def test_the_demand_list_and_a_worker_sees_no_release_form(page, portal):
    _, up = portal
    reported(up["intake"], "需求楼电梯坏了", "需求里")
    sign_in(page, "community_worker", "李娜", then="/staff/reports/demand")
    expect(page.locator("#demand")).to_contain_text("需求楼电梯坏了")
    expect(page.get_by_role("img", name="图表:按分类(数据见下表)")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="议事成果发布").click()
    expect(page.get_by_role("button", name="发布本月议事成果")).to_have_count(0)  # the recorder's alone


def test_report_pages_keep_to_their_budget_and_downloads_need_a_session(browser, portal):
    refused = requests.get(f"{portal[0]}/staff/reports/stats.csv", timeout=5, allow_redirects=False)
    assert refused.status_code == 303 and "/staff/login" in refused.headers["Location"]
    signing = browser.new_context(base_url=portal[0])
    sign_in(signing.new_page(), "secretary", "预算员")
    session = signing.cookies()
    signing.close()
    for path in ("/staff/reports/stats", "/staff/reports/results", "/staff/reports/demand"):
        context = browser.new_context(base_url=portal[0])
        context.add_cookies(session)
        page = context.new_page()
        sizes: list[int] = []
        page.on("requestfinished", lambda r: sizes.append(r.sizes()["responseBodySize"]))
        page.goto(path, wait_until="networkidle")
        context.close()
        assert len(sizes) <= BUDGET_REQUESTS, (path, sizes)
        assert sum(sizes) <= BUDGET_BYTES, (path, sizes)
    xlsx = requests.get(f"{portal[0]}/staff/reports/demand.xlsx", timeout=5,
                        cookies={c["name"]: c["value"] for c in session})
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["本月需求清单", "按分类"]

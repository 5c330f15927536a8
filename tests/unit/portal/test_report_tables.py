"""The report tables, their charts and their downloads, without services."""
import base64
import csv
import io

from openpyxl import load_workbook

from services.portal import charts, exports, reports
from services.portal.i18n import Words

T = Words("zh-CN")


def test_six_months_end_with_the_chosen_one_across_a_new_year():
    assert reports.months_back("2026-02") == ["2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02"]
    assert reports.month_range("2024-02") == {"from": "2024-02-01", "to": "2024-02-29"}
    assert reports.valid_month("2026-13", "2026-12") == "2026-12"


def test_the_rates_table_holds_the_three_rates_and_a_month_without_cases_shows_no_rate():
    table = reports.rates_table({"2026-11": {"overall": {"cases": 0}}, "2026-12": {"overall": {
        "cases": 4, "response_rate": 0.75, "resolution_rate": 0.5, "satisfaction_rate": 1.0, "on_time_rate": 0.25}}}, T)
    assert table.columns[2:5] == ["响应率", "解决率", "满意率"]
    assert table.rows == [["2026-11", 0, "—", "—", "—", "—"], ["2026-12", 4, "75.0%", "50.0%", "100.0%", "25.0%"]]
    svg = base64.b64decode(charts.rates_over_months(table, [2, 3, 4], "三率").split(",", 1)[1]).decode()
    assert svg.startswith("<svg") and "响应率" in svg and "满意率" in svg


def test_ledger_counts_take_the_months_cases_and_what_is_overdue_now():
    cases = [{"opened_at": "2026-11-30T17:00:00Z", "category": "设施维护", "community": "幸福里", "status": "open",
              "overdue": True, "party": "安居物业"},  # 1 December in Shanghai
             {"opened_at": "2026-11-30T15:00:00Z", "category": "环境卫生", "community": "幸福里", "status": "open",
              "overdue": True, "party": None}]
    by_category, by_community, by_party = reports.ledger_tables(cases, "2026-12", T)
    assert by_category.rows == [["设施维护", 1]] and by_community.rows == [["幸福里", 1]]
    assert by_party.rows == [["安居物业", 1], ["待指派", 1]]


def test_downloads_hold_every_table_and_no_formula_runs():
    table = reports.Table("x", "按分类", ["分类", "数"], [["=HYPERLINK(\"http://x\")", 1]])
    text = exports.to_csv([table]).decode("utf-8")
    assert text.startswith("\ufeff按分类") and "'=HYPERLINK" in text
    assert list(csv.reader(io.StringIO(text[1:])))[1] == ["分类", "数"]
    book = load_workbook(io.BytesIO(exports.to_xlsx([table])))
    assert book.sheetnames == ["按分类"] and book["按分类"]["A2"].value.startswith("'=")

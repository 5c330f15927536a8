"""The staff's report pages as tables: the demand list (intake), the month's results (meetings), and the rates
(三率: response, resolution, satisfaction; casework) per month, with cases by category, community and overdue by
party from the ledger. Each table is what the page shows, what the charts draw, and what CSV and XLSX hold."""
from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.portal.i18n import SHANGHAI, TIER, Words
from shared import clock

MONTHS_CHARTED = 6
RATES = ("response_rate", "resolution_rate", "satisfaction_rate")  # 三率
REPORTS = ("demand", "results", "stats")


@dataclass
class Table:
    key: str  # the table's id on the page and its sheet's name
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def months_back(month: str, count: int = MONTHS_CHARTED) -> list[str]:
    """`count` months ending with `month`, oldest first ("2026-07" … "2026-12")."""
    year, mon = (int(p) for p in month.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return out[::-1]


def month_range(month: str) -> dict[str, str]:
    """casework's /stats query for a whole month: from its 1st to its last day (inclusive)."""
    year, mon = (int(p) for p in month.split("-"))
    return {"from": f"{month}-01", "to": f"{month}-{monthrange(year, mon)[1]:02d}"}


def this_month() -> str:
    return clock.utcnow().astimezone(SHANGHAI).strftime("%Y-%m")  # the test clock too, under `yishi clock`


def valid_month(raw: str | None, default: str) -> str:
    try:
        return datetime.strptime(raw or "", "%Y-%m").strftime("%Y-%m")
    except ValueError:
        return default


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def demand_tables(report: dict[str, Any], t: Words) -> list[Table]:
    items = Table("demand", t.word("demand"), [t.word("title"), t.word("category"), t.word("community"),
                                               t.word("building"), t.word("votes")])
    items.rows = [[i.get("title"), i.get("category"), i.get("community"), i.get("building") or "", i.get("votes")]
                  for i in report.get("items", [])]
    by_category = Table("demand_by_category", t.word("by_category"), [t.word("category"), t.word("issues"),
                                                                        t.word("votes")])
    by_category.rows = [[g["category"], g["issues"], g["votes"]] for g in report.get("by_category", [])]
    return [items, by_category]


def results_tables(report: dict[str, Any], t: Words) -> list[Table]:
    resolved = Table("resolved", t.word("resolved"), [t.word("title"), t.word("category"), t.word("tier"),
                                                      t.word("resolved_at"), t.word("f_summary")])
    resolved.rows = [[r.get("title"), r.get("category"), t.of(TIER, r.get("tier")), t.time(r.get("resolved_at")),
                      r.get("summary") or ""] for r in report.get("resolved", [])]
    unresolved = Table("unresolved", t.word("unresolved"), [t.word("title"), t.word("category"), t.word("tier"),
                                                            t.word("since"), t.word("why")])
    unresolved.rows = [[r.get("title"), r.get("category"), t.of(TIER, r.get("tier")), t.time(r.get("since")),
                        "；".join(x.get("text") or t.of(REASONS, x.get("code")) for x in r.get("reasons") or [])]
                       for r in report.get("unresolved", [])]
    return [resolved, unresolved]


def rates_table(stats: dict[str, dict[str, Any]], t: Words) -> Table:
    """One row per month: cases, and the rates (三率 and on time)."""
    table = Table("rates", t.word("rates_by_month"), [t.word("month"), t.word("cases_opened"),
                                                      *(t.word(r) for r in RATES), t.word("on_time_rate")])
    for month, body in stats.items():
        overall = (body or {}).get("overall") or {}
        table.rows.append([month, overall.get("cases", 0), *(percent(overall.get(r)) for r in RATES),
                           percent(overall.get("on_time_rate"))])
    return table


def in_month(case: dict[str, Any], month: str) -> bool:
    opened = case.get("opened_at")
    if not opened:
        return False
    return datetime.fromisoformat(opened.replace("Z", "+00:00")).astimezone(SHANGHAI).strftime("%Y-%m") == month


def count_table(key: str, title: str, label: str, counts: dict[str, int], t: Words) -> Table:
    table = Table(key, title, [label, t.word("cases_opened")])
    table.rows = [[k, n] for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return table


def ledger_tables(cases: list[dict[str, Any]], month: str, t: Words) -> list[Table]:
    """Cases opened in the month by category and by community; cases overdue now by responsible party."""
    opened = [c for c in cases if in_month(c, month) and c.get("status") != "merged"]
    by = {"category": {}, "community": {}, "party": {}}
    for c in opened:
        for key in ("category", "community"):
            by[key][c.get(key) or "—"] = by[key].get(c.get(key) or "—", 0) + 1
    for c in cases:
        if c.get("overdue"):
            party = c.get("party") or t.word("unassigned")
            by["party"][party] = by["party"].get(party, 0) + 1
    return [count_table("by_category", t.word("by_category"), t.word("category"), by["category"], t),
            count_table("by_community", t.word("by_community"), t.word("community"), by["community"], t),
            count_table("overdue_by_party", t.word("overdue_by_party"), t.word("party"), by["party"], t)]


REASONS = {"overdue": ("已超期", "overdue"), "escalated": ("已上报", "escalated"), "reopened": ("重新整改", "reopened"),
           "in_progress": ("办理中", "in progress"), "unreadable": ("记录待核", "record to check")}

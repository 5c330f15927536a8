"""A representative's record (代表履职档案) for a year, the "五个一" duties as checks, the plan's warnings
(红黄蓝三级预警) and the printable yearly report.

Warnings, as the plan's 进度监控 gives them: blue when no activity for two weeks (QUIET_FOR), yellow when the
supervised cases signed off solved fall under RESOLUTION_FLOOR, red when a duty's period ended without it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.liaison.projections import activities, case_history, last_activity, list_supervisions
from services.liaison.rules import DUTIES, DUTY_PERIOD_MONTHS, QUIET_FOR, RESOLUTION_FLOOR, SHANGHAI
from shared.contracts.envelope import rfc3339
from shared.store.persistence import Database

CONTACT = ("visit", "reception")  # a reception day at the station counts as the month's visit (走访)
LEVELS = {"blue": "蓝色预警", "yellow": "黄色预警", "red": "红色预警"}


def _periods(year: int, months: int) -> list[tuple[str, datetime, datetime]]:
    out = []
    for first in range(1, 13, months):
        start = datetime(year, first, 1, tzinfo=SHANGHAI)
        last = first + months
        end = datetime(year + (last > 12), (last - 1) % 12 + 1, 1, tzinfo=SHANGHAI)
        label = {12: f"{year}", 1: f"{year}-{first:02d}", 3: f"{year}-Q{first // 3 + 1}"}.get(
            months, f"{year}-H{first // 6 + 1}")
        out.append((label, start, end))
    return out


def _done(duty: str, entries: list[dict[str, Any]], start: datetime, end: datetime) -> bool:
    lo, hi = rfc3339(start), rfc3339(end)
    if duty == "hard_problem":
        return any(e["kind"] == "signed_off" and e.get("solved") and lo <= e["at"] < hi for e in entries)
    kinds = CONTACT if duty == "visit" else (duty,)
    return any(e["kind"] in kinds and lo <= e["at"] < hi for e in entries)


def duty_checks(entries: list[dict[str, Any]], year: int, now: datetime) -> list[dict[str, Any]]:
    """Each duty per period of the year begun by `now`: done, due (the period is on) or missed (ended without)."""
    checks = []
    for duty, (zh, en, period) in DUTIES.items():
        for label, start, end in _periods(year, DUTY_PERIOD_MONTHS[period]):
            if start > now:
                break
            done = _done(duty, entries, start, end)
            status = "done" if done else "missed" if end <= now else "due"
            checks.append({"duty": duty, "duty_zh": zh, "duty_en": en, "period": label, "status": status})
    return checks


def record(db: Database, representative: dict[str, Any], year: int, now: datetime) -> dict[str, Any]:
    start, end = datetime(year, 1, 1, tzinfo=SHANGHAI), datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    rid = representative["representative_id"]
    entries = activities(db, rid, rfc3339(start), rfc3339(end))
    receptions = [e for e in entries if e["kind"] == "reception"]
    signed = [e for e in entries if e["kind"] == "signed_off"]
    solved = sum(bool(e.get("solved")) for e in signed)
    satisfied = answers = 0
    for s in list_supervisions(db, rid, None):
        case = case_history(db, s["case_id"]) or {"history": []}
        scores = [h["satisfaction"] for h in case["history"] if h.get("satisfaction") is not None]
        answers += len(scores)
        satisfied += sum(x >= 4 for x in scores)
    figures = {
        "receptions": len(receptions), "residents_met": sum(e.get("visitors", 0) for e in receptions),
        "concerns": sum(e.get("concerns", 0) for e in receptions),
        "visits": sum(e["kind"] == "visit" for e in entries), "briefings": sum(e["kind"] == "briefing" for e in entries),
        "surveys": sum(e["kind"] == "survey" for e in entries),
        "cases_supervised": sum(e["kind"] == "supervision" for e in entries), "cases_signed_off": len(signed),
        "cases_solved": solved, "resolution_rate": round(solved / len(signed), 4) if signed else None,
        "satisfaction_rate": round(satisfied / answers, 4) if answers else None,
    }
    checks = duty_checks(entries, year, now)
    return {"representative": representative, "year": year, "figures": figures, "duties": checks,
            "warnings": warnings(db, rid, figures, checks, now), "activities": entries}


def warnings(db: Database, rid: str, figures: dict[str, Any], checks: list[dict[str, Any]],
             now: datetime) -> list[dict[str, Any]]:
    out = []
    last = last_activity(db, rid, rfc3339(now))
    if last is None or datetime.fromisoformat(last.replace("Z", "+00:00")) < now - QUIET_FOR:
        out.append({"level": "blue", "rule": "quiet", "detail_zh": f"连续{QUIET_FOR.days}天无履职活动",
                    "detail_en": f"no activity for {QUIET_FOR.days} days", "last_activity_at": last})
    rate = figures["resolution_rate"]
    if rate is not None and rate < RESOLUTION_FLOOR:
        out.append({"level": "yellow", "rule": "resolution_rate",
                    "detail_zh": f"督办问题解决率{rate * 100:.0f}%,低于{RESOLUTION_FLOOR * 100:.0f}%",
                    "detail_en": f"resolution rate {rate:.0%} under {RESOLUTION_FLOOR:.0%}"})
    for c in checks:
        if c["status"] == "missed":
            out.append({"level": "red", "rule": c["duty"], "period": c["period"],
                        "detail_zh": f"{c['period']} 未完成“{c['duty_zh']}”", "detail_en": f"{c['duty_en']}: "
                        f"missed in {c['period']}"})
    return out


STATUS_ZH = {"done": "已完成", "due": "进行中", "missed": "未完成"}


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def yearly_report(rec: dict[str, Any], lang: str) -> list[tuple]:
    """The yearly report (年度履职报告), as blocks for shared.edge.documents (zh-CN; English on request)."""
    f, r = rec["figures"], rec["representative"]
    en = lang == "en"
    rows = [("Receptions held" if en else "接待日次数", f["receptions"]),
            ("Residents met" if en else "接待群众人次", f["residents_met"]),
            ("Concerns passed to intake" if en else "收集诉求件数", f["concerns"]),
            ("Visits" if en else "走访次数", f["visits"]), ("Briefings" if en else "政策宣讲次数", f["briefings"]),
            ("Surveys" if en else "专题调研次数", f["surveys"]),
            ("Cases supervised" if en else "督办案件数", f["cases_supervised"]),
            ("Cases solved" if en else "督办解决数", f["cases_solved"]),
            ("Resolution rate" if en else "问题解决率", _pct(f["resolution_rate"])),
            ("Satisfaction" if en else "群众满意率", _pct(f["satisfaction_rate"]))]
    duties = [(c["duty_en"] if en else c["duty_zh"], c["period"], c["status"] if en else STATUS_ZH[c["status"]])
              for c in rec["duties"]]
    alerts = [w["detail_en"] if en else f"{LEVELS[w['level']]}:{w['detail_zh']}" for w in rec["warnings"]]
    title = f"{r['name']} — record of duties {rec['year']}" if en else f"{r['name']}代表{rec['year']}年度履职报告"
    return [("h1", title),
            ("p", (f"Station {r['station_id']}, {r['community']}; expertise: " if en else
                   f"所在社区:{r['community']};专业特长:") + ("、".join(r["expertise"]) or "—")),
            ("h2", "Figures" if en else "履职情况"), ("table", ["" if en else "项目", "" if en else "数值"], rows),
            ("h2", "The five duties" if en else "“五个一”完成情况"),
            ("table", ["Duty" if en else "事项", "Period" if en else "周期", "Status" if en else "状态"], duties),
            ("h2", "Warnings" if en else "预警"), ("list", alerts)]

"""A co-building unit's monthly light (红黄绿灯) from measured figures, against the thresholds in rules.LIGHTS.

Figures of a month: the unit's cases due to be resolved in it (casework's resolve-by, Asia/Shanghai month):
on-time rate (resolved by the deadline), overdue (not resolved by it, or red-alerted), satisfaction (residents'
answers of 4–5 of 5) and joint-meeting attendance (联席会议出席率) in the month.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from services.liaison.projections import unit_attendance, unit_cases
from services.liaison.rules import LIGHT_NAMES, LIGHTS, SHANGHAI
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict
from shared.store.persistence import Database


def bounds(month: str) -> tuple[datetime, datetime]:
    year, mon = int(month[:4]), int(month[5:])
    start = datetime(year, mon, 1, tzinfo=SHANGHAI)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def check_ended(month: str, now: datetime) -> None:
    if bounds(month)[1] > now:
        raise Conflict(f"{month} has not ended: its lights are assessed after it", "month",
                       f"{month} 尚未结束,月度亮灯须在月末后评定")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _late(case: dict[str, Any]) -> bool:
    return case["resolved_at"] is None or case["resolved_at"] > case["resolve_by"] or case["reds"] > 0


def figures(db: Database, unit_id: str, party: str, month: str) -> dict[str, Any]:
    start, end = (rfc3339(b) for b in bounds(month))
    cases = unit_cases(db, party, start, end)
    attended = unit_attendance(db, unit_id, start, end)
    answers = sum(c["answers"] for c in cases)
    overdue = sum(_late(c) for c in cases)
    return {"cases_due": len(cases), "on_time": len(cases) - overdue, "overdue": overdue,
            "on_time_rate": _rate(len(cases) - overdue, len(cases)),
            "satisfaction_rate": _rate(sum(c["satisfied"] for c in cases), answers), "answers": answers,
            "joint_meetings": len(attended), "attended": sum(attended),
            "attendance_rate": _rate(sum(attended), len(attended))}


def _crosses(f: dict[str, Any], limits: dict[str, float]) -> list[str]:
    crossed = []
    for measure in ("on_time", "satisfaction", "attendance"):
        rate = f[f"{measure}_rate"]
        if rate is not None and rate < limits[f"{measure}_below"]:
            crossed.append(measure)
    if f["overdue"] >= limits["overdue_at_least"]:
        crossed.append("overdue")
    return crossed


def light(f: dict[str, Any]) -> str:
    for colour in ("red", "yellow"):
        if _crosses(f, LIGHTS[colour]):
            return colour
    return "green"


def supervision_notice(party: str, month: str, f: dict[str, Any]) -> str:
    """The 督办 notice to a red unit's head: what crossed the red line (figures only; the head is addressed by
    the unit's register entry, never named here)."""
    reasons = {"on_time": f"按时办结率{_pct(f['on_time_rate'])}", "overdue": f"逾期{f['overdue']}件",
               "satisfaction": f"满意率{_pct(f['satisfaction_rate'])}",
               "attendance": f"联席会议出席率{_pct(f['attendance_rate'])}"}
    crossed = "、".join(reasons[m] for m in _crosses(f, LIGHTS["red"]))
    return (f"督办通知:{party}{month}月度评定为红灯({crossed})。请单位负责人于5个工作日内提交整改措施,"
            "逾期案件限期办结,并出席下次联席会议。")


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def ranking(lit: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The month's ranking (月度排名): green before yellow before red, then on-time, satisfaction, attendance."""
    order = {"green": 0, "yellow": 1, "red": 2}

    def key(doc: dict[str, Any]) -> tuple:
        f = doc["figures"]
        return (order[doc["light"]], *(-(f[m] if f[m] is not None else 1.0)
                                        for m in ("on_time_rate", "satisfaction_rate", "attendance_rate")),
                f["overdue"], doc["party"] or "")

    ranked = sorted(lit, key=key)
    return [{"rank": i + 1, "unit_id": d["unit_id"], "party": d["party"], "light": d["light"],
             "light_zh": LIGHT_NAMES[d["light"]], "supervised": d.get("supervised", False), **d["figures"]}
            for i, d in enumerate(ranked)]


CSV_COLUMNS = (("rank", "排名"), ("party", "单位"), ("light_zh", "亮灯"), ("cases_due", "应办结件数"),
               ("on_time", "按时办结"), ("overdue", "逾期"), ("on_time_rate", "按时办结率"),
               ("satisfaction_rate", "满意率"), ("attendance_rate", "联席会议出席率"), ("supervised", "已督办"))


def ranking_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([zh for _, zh in CSV_COLUMNS])
    for row in rows:
        writer.writerow(["" if row[k] is None else ("是" if row[k] is True else "否" if row[k] is False else row[k])
                         for k, _ in CSV_COLUMNS])
    return out.getvalue()

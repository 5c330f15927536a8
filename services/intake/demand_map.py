"""The demand map (需求地图): demand per building and category over a period, with its cases' state (open,
overdue, resolved, closed), read off the issue index joined with the case progress view.

Public at building level: counts per building and a point (the mean of the reports' points, never one
report's), no unit, no room, no issue. Staff also see each building's units and issue ids.
"""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from typing import Any

from services.intake.domain import SHANGHAI
from services.intake.projections import JOINED, STATUS
from shared.contracts.envelope import rfc3339
from shared.masking import public_point
from shared.errors import InvalidInput
from shared.store.persistence import Database

UNNAMED_BUILDING = "未注明楼栋"
STATES = ("open", "overdue", "resolved", "closed")


def case_state(status: str, case: dict[str, Any] | None, now: datetime) -> str:
    """An issue's place on the map: closed, resolved (awaiting the resident), overdue (open past a deadline), open."""
    if status in ("closed", "resolved"):
        return status
    due = [datetime.fromisoformat(v.replace("Z", "+00:00")) for v in ((case or {}).get("due") or {}).values() if v]
    return "overdue" if due and now >= min(due) else "open"


def _rows(db: Database, start: datetime, end: datetime, category: str | None) -> list[tuple[Any, ...]]:
    sql = (f"SELECT i.community, i.building, i.category, {STATUS}, i.doc, c.doc FROM {JOINED} "
           f"WHERE i.reported_at >= ? AND i.reported_at < ? AND {STATUS} <> 'merged'")
    params: list[Any] = [rfc3339(start), rfc3339(end)]
    if category is not None:
        sql += " AND i.category = ?"
        params.append(category)
    return db.query(sql + " ORDER BY i.community, i.building, i.reported_at", tuple(params))


def _cell(community: str, building: str | None) -> dict[str, Any]:
    return {"community": community, "building": building or UNNAMED_BUILDING, "issues": 0,
            **{s: 0 for s in STATES}, "categories": {}, "_points": []}


def demand_map(db: Database, start: datetime, end: datetime, category: str | None, now: datetime,
               staff: bool) -> dict[str, Any]:
    cells: dict[tuple[str, str | None], dict[str, Any]] = {}
    for community, building, cat, status, doc, case_doc in _rows(db, start, end, category):
        entry = json.loads(doc)
        case = json.loads(case_doc)["case"] if case_doc else None
        state = case_state(status, case, now)
        cell = cells.setdefault((community, building), _cell(community, building))
        per = cell["categories"].setdefault(cat, {"issues": 0, **{s: 0 for s in STATES}})
        for counts in (cell, per):
            counts["issues"] += 1
            counts[state] += 1
        location = entry.get("location") or {}
        if isinstance(location.get("lat"), (int, float)) and isinstance(location.get("lon"), (int, float)):
            cell["_points"].append((location["lat"], location["lon"]))
        if staff:
            unit = location.get("unit") or "未注明单元"
            cell.setdefault("units", {}).setdefault(unit, 0)
            cell["units"][unit] += 1
            cell.setdefault("issue_ids", []).append(entry["issue_id"])
    buildings = [_finish(c) for c in cells.values()]
    buildings.sort(key=lambda c: (-c["issues"], c["community"], c["building"]))
    return {"from": rfc3339(start), "to": rfc3339(end), "category": category, "level": "unit" if staff else "building",
            "issues": sum(c["issues"] for c in buildings), "buildings": buildings}


def _finish(cell: dict[str, Any]) -> dict[str, Any]:
    points = cell.pop("_points")
    cell["point"] = (public_point({"lat": sum(p[0] for p in points) / len(points),
                                   "lon": sum(p[1] for p in points) / len(points)}) if points else None)
    return cell


def geojson(result: dict[str, Any]) -> dict[str, Any]:
    """The buildings that have a point, as a GeoJSON FeatureCollection (RFC 7946: [lon, lat])."""
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [b["point"]["lon"], b["point"]["lat"]]},
                 "properties": {k: v for k, v in b.items() if k != "point"}}
                for b in result["buildings"] if b["point"]]
    return {"type": "FeatureCollection", "features": features,
            "properties": {k: v for k, v in result.items() if k != "buildings"}}


def period(raw_from: str | None, raw_to: str | None, now: datetime) -> tuple[datetime, datetime]:
    """[from, to): dates (whole days in Asia/Shanghai, `to` inclusive) or RFC 3339 times; default the last 30 days."""
    end = _moment(raw_to, "to", now, inclusive=True)
    start = _moment(raw_from, "from", end - timedelta(days=30), inclusive=False)
    if start >= end:
        raise InvalidInput("from must be before to", "from", "起始时间须早于结束时间")
    return start, end


def _moment(raw: str | None, name: str, default: datetime, inclusive: bool) -> datetime:
    if raw is None:
        return default
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").date() + timedelta(days=int(inclusive))
            return datetime.combine(day, time(0), SHANGHAI).astimezone(timezone.utc)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(raw)
        return moment.astimezone(timezone.utc)
    except ValueError:
        raise InvalidInput(f"{name} must be YYYY-MM-DD or an RFC 3339 time with offset", name,
                           f"{name} 须为 YYYY-MM-DD 或带时区的 RFC 3339 时间") from None

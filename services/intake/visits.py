"""Door-to-door work (敲门行动): visit plans, visits, the needs they find, errands, and coverage.

The work plan: 每月开展2次“敲门行动”, first of all to special groups, with “晚七点”错时走访 (visits after 19:00
Asia/Shanghai) for residents at work in the day. Here:
- a plan per grid and month names its rounds (at least two; evening rounds marked);
- a visit is recorded by its visitor (the signed-in staff member) with the needs found: each need becomes an
  issue of channel `visit` reported on behalf of the household (代办), its contact sealed under the
  household's own key, who reported it shown on the timeline, and a special-group household's flag carried
  so that casework's triage lifts it one step;
- errands for a household (代购 purchases, 代缴 payments) are tracked until done;
- coverage per grid and month: households visited against the register and the plan, evening visits, open
  needs and errands of special-group households.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError
from pydantic import BeforeValidator, Field

from services.intake import households
from services.intake.codes import TrackingCode
from services.intake.domain import NAMESPACE, SHANGHAI, Issue
from services.intake.requests import parse_report
from shared.audit import Audited
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict, InvalidInput, NotFound
from shared.masking import mask_text
from shared.models import Body, Moment, OptionalText, Text, invalid
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection

ROUNDS_PER_MONTH = 2  # 每月2次敲门行动
EVENING = time(19, 0)  # “晚七点”错时走访
ERRANDS = {"purchase": "代购", "payment": "代缴"}
OPEN_CASE = ("received", "open", "reopened", "resolved")


def _month(value: Any, field: str = "month") -> str:
    try:
        datetime.strptime(str(value), "%Y-%m")
        if len(str(value)) != 7:
            raise ValueError
    except ValueError:
        raise InvalidInput(f"{field} must be YYYY-MM", field, "月份格式应为 YYYY-MM") from None
    return str(value)


class VisitPlan(Audited):
    """A grid's rounds of door-to-door visits in one month (分片包户)."""

    @event("Planned")
    def __init__(self, grid: str, month: str, rounds: list[dict[str, Any]], by: dict[str, str], at: datetime):
        self.grid, self.month, self.rounds = grid, month, rounds

    @staticmethod
    def create_id(grid: str, month: str) -> UUID:
        return uuid5(NAMESPACE, f"visit-plan:{grid}:{month}")


def _day(value: Any) -> Any:
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) else value
    except ValueError:
        raise invalid("must be YYYY-MM-DD", "格式应为 YYYY-MM-DD") from None


class Round(Body):
    date: Annotated[str, BeforeValidator(_day), Field(title="走访日期", json_schema_extra={"format": "date"})]
    evening: bool = Field(False, title="晚七点错时走访")


class NewPlan(Body):
    """A grid's door-to-door rounds (敲门行动) for a month: at least two."""
    example = {"grid": "第一网格", "month": "2026-12",
               "rounds": [{"date": "2026-12-05"}, {"date": "2026-12-18", "evening": True}]}
    grid: Text[30, "网格"]
    month: str = Field(title="月份", json_schema_extra={"pattern": r"^\d{4}-\d\d$"})
    rounds: list[Round] = Field(max_length=31, title="走访安排")


def plan(app: Any, payload: Any, by: dict[str, str]) -> VisitPlan:
    """`POST /visit-plans` {grid, month, rounds: [{date, evening?}]}: at least two rounds in that month."""
    body = NewPlan.parse(payload)
    grid, month = body.grid, _month(body.month)
    if len(body.rounds) < ROUNDS_PER_MONTH:
        raise InvalidInput(f"rounds: at least {ROUNDS_PER_MONTH} visits a month", "rounds",
                           f"每月至少安排{ROUNDS_PER_MONTH}次敲门行动")
    for i, r in enumerate(body.rounds):
        if r.date[:7] != month:
            raise InvalidInput(f"rounds[{i}].date is not in {month}", f"rounds[{i}].date", f"走访日期须在{month}之内")
    parsed = [r.model_dump() for r in body.rounds]
    try:
        app.repository.get(VisitPlan.create_id(grid, month))
        raise Conflict(f"grid {grid} has a plan for {month} already", "month", "该网格本月已有走访计划")
    except AggregateNotFoundError:
        pass
    visit_plan = VisitPlan(grid=grid, month=month, rounds=sorted(parsed, key=lambda r: r["date"]), by=dict(by),
                           at=app.clock())
    app.save(visit_plan)
    return visit_plan


class Visit(Audited):
    """A visit to a household: who visited, when (evening or not), and the issues its needs became."""

    @event("Recorded")
    def __init__(self, id: UUID, household_ref: str, grid: str, visited_at: datetime, evening: bool,
                 issue_ids: list[str], note: str | None, by: dict[str, str]):
        self.household_ref, self.grid, self.visited_at, self.issue_ids = household_ref, grid, visited_at, issue_ids


def record_visit(app: Any, payload: Any, by: dict[str, str], idempotency_key: str | None = None) -> tuple[Visit, list[Issue]]:
    """`POST /visits` {household_ref, visited_at?, needs: [{title, description, category?}], note?}.

    Each need is reported on behalf of the household, in the visit's save: a visit is never recorded without
    its issues, nor an issue without its visit. The same Idempotency-Key records it once."""
    body = NewVisit.parse(payload)
    household = households.get(app, body.household_ref)
    visit_id = uuid5(NAMESPACE, f"visit:{idempotency_key}") if idempotency_key else uuid4()
    try:
        existing = app.repository.get(visit_id)
        return existing, [app.get_issue(i) for i in existing.issue_ids]
    except AggregateNotFoundError:
        pass
    now = app.clock()
    visited_at = _visited_at(body.visited_at, now)
    contact = households.contact(app, household)
    issues = [_need_issue(app, household, contact, need, f"needs[{i}]", visit_id, i, visited_at, by)
              for i, need in enumerate(payload.get("needs", []))]
    note = body.note
    visit = Visit(id=visit_id, household_ref=household.household_ref, grid=household.grid, visited_at=visited_at,
                  evening=visited_at.astimezone(SHANGHAI).time() >= EVENING, issue_ids=[str(i.id) for i in issues],
                  note=mask_text(note, names=[contact.get("name") or ""]) if note else None, by=dict(by))
    try:
        app.save(visit, *issues, *(TrackingCode.issue(i.tracking_code, i.id) for i in issues))
    except IntegrityError:  # the same visit recorded at once by a retry
        existing = app.repository.get(visit_id)
        return existing, [app.get_issue(i) for i in existing.issue_ids]
    return visit, issues


class Need(Body):
    """A need found on a visit: it becomes an issue reported on behalf of the household (代办)."""
    title: Text[100, "标题"]
    description: Text[2000, "问题描述"]
    category: str | None = Field(None, title="问题分类")


class NewVisit(Body):
    """A door-to-door visit (敲门行动) by the signed-in visitor, and the needs it found."""
    example = {"household_ref": "hh-3f2a9c1d7e5b4a60", "visited_at": "2026-12-02T19:30:00+08:00",
               "needs": [{"title": "楼道扶手松动", "description": "3楼到4楼扶手晃动,老人不敢扶"}],
               "note": "老人独居,子女在外地"}
    household_ref: Text[64, "住户编号"]
    visited_at: Moment["走访时间"] | None = None
    needs: list[Need] = Field([], max_length=20, title="需求")
    note: OptionalText[500, "备注"] = None


def _visited_at(moment: datetime | None, now: datetime) -> datetime:
    if moment is None:
        return now
    if moment > now:
        raise InvalidInput("visited_at must be a past RFC 3339 time with its offset", "visited_at",
                           "走访时间须为带时区的过去时间(如 2026-11-23T19:30:00+08:00)")
    return moment


def _need_issue(app: Any, household: households.Household, contact: dict[str, Any], need: Any, field: str,
                visit_id: UUID, index: int, visited_at: datetime, by: dict[str, str]) -> Issue:
    """A need found on the visit as an issue of channel `visit`, reported on behalf of the household (代办)."""
    body = {"channel": "visit", **need, "location": {**household.place, **({"room": contact["room"]}
                                                                          if contact.get("room") else {})},
            "reporter": {k: contact[k] for k in ("name", "phone") if contact.get(k)},
            "reported_at": rfc3339(visited_at)}
    try:
        report = parse_report(body, app.clock())
    except InvalidInput as refused:  # named as the visit's field
        raise InvalidInput(refused.detail, f"{field}.{refused.field}", refused.detail_zh) from None
    sealed = app.personal.seal(household.household_ref, report.personal, app.clock())
    return Issue.report_new(uuid5(visit_id, f"need:{index}"), report, app.clock(), household.household_ref,
                            sealed.as_dict(), on_behalf={"household_ref": household.household_ref,
                                                         "special_group": household.special,
                                                         "reported_by": dict(by)})


class Errand(Audited):
    """An errand for a household (代办): 代购 (a purchase: medicine, groceries) or 代缴 (a payment: water,
    electricity), tracked from the request to done."""

    @event("Requested")
    def __init__(self, household_ref: str, grid: str, kind: str, what: str, by: dict[str, str], at: datetime):
        self.household_ref, self.grid, self.kind, self.what = household_ref, grid, kind, what
        self.done_at: datetime | None = None

    @event("Done")
    def done(self, note: str | None, by: dict[str, str], at: datetime) -> None:
        self.done_at = at


class NewErrand(Body):
    """An errand for a household (代办): 代购 (a purchase) or 代缴 (a payment)."""
    example = {"household_ref": "hh-3f2a9c1d7e5b4a60", "kind": "purchase", "what": "降压药两盒"}
    household_ref: Text[64, "住户编号"]
    kind: Literal[tuple(ERRANDS)] = Field(title="代办类型")
    what: Text[200, "代办事项"]


class ErrandDone(Body):
    """An errand done, with a note."""
    example = {"note": "已送到,老人签收"}
    required = False
    note: OptionalText[500, "备注"] = None


def request_errand(app: Any, payload: Any, by: dict[str, str]) -> Errand:
    """`POST /errands` {household_ref, kind: purchase|payment, what}."""
    body = NewErrand.parse(payload)
    household = households.get(app, body.household_ref)
    contact = households.contact(app, household)
    errand = Errand(household_ref=household.household_ref, grid=household.grid, kind=body.kind,
                    what=mask_text(body.what, names=[contact.get("name") or ""]), by=dict(by), at=app.clock())
    app.save(errand)
    return errand


def complete_errand(app: Any, errand_id: str, payload: Any, by: dict[str, str]) -> Errand:
    """`POST /errands/{id}/done` {note?}: done once; a second time is a conflict."""
    note = ErrandDone.parse(payload if payload is not None else {}).note
    try:
        errand = app.repository.get(UUID(errand_id))
    except (ValueError, AggregateNotFoundError):
        errand = None
    if not isinstance(errand, Errand):
        raise NotFound(f"no errand {errand_id}", "errand_id", "未找到该代办事项")
    if errand.done_at is not None:
        raise Conflict("this errand is done already", "errand_id", "该代办事项已完成")
    errand.done(mask_text(note) if note else None, dict(by), app.clock())
    app.save(errand)
    return errand


class DoorToDoor(Projection):
    """Plans, visits, visit-found needs and errands by grid and month (Asia/Shanghai): what coverage counts."""

    name = "door_to_door"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS visit_plans (grid TEXT NOT NULL, month TEXT NOT NULL, rounds TEXT NOT NULL, "
               "PRIMARY KEY (grid, month))")
        tx.run("CREATE TABLE IF NOT EXISTS visits (visit_id TEXT PRIMARY KEY, household_ref TEXT NOT NULL, "
               "grid TEXT NOT NULL, month TEXT NOT NULL, day TEXT NOT NULL, evening INTEGER NOT NULL)")
        tx.run("CREATE TABLE IF NOT EXISTS visit_needs (issue_id TEXT PRIMARY KEY, household_ref TEXT NOT NULL, "
               "special INTEGER NOT NULL, month TEXT NOT NULL)")
        tx.run("CREATE TABLE IF NOT EXISTS errands (errand_id TEXT PRIMARY KEY, household_ref TEXT NOT NULL, "
               "grid TEXT NOT NULL, kind TEXT NOT NULL, what TEXT NOT NULL, requested_at TEXT NOT NULL, done_at TEXT)")

    def drop(self, tx: Transaction) -> None:
        for table in ("visit_plans", "visits", "visit_needs", "errands"):
            tx.run(f"DROP TABLE IF EXISTS {table}")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, VisitPlan.Planned):
            tx.run("INSERT INTO visit_plans (grid, month, rounds) VALUES (?, ?, ?) ON CONFLICT (grid, month) DO NOTHING",
                   (event.grid, event.month, json.dumps(event.rounds)))
        elif isinstance(event, Visit.Recorded):
            local = event.visited_at.astimezone(SHANGHAI)
            tx.run("INSERT INTO visits (visit_id, household_ref, grid, month, day, evening) VALUES (?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (visit_id) DO NOTHING", (str(event.originator_id), event.household_ref, event.grid,
                                                         local.strftime("%Y-%m"), local.date().isoformat(),
                                                         int(event.evening)))
        elif isinstance(event, Issue.Reported) and getattr(event, "on_behalf", None):
            tx.run("INSERT INTO visit_needs (issue_id, household_ref, special, month) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (issue_id) DO NOTHING",
                   (str(event.originator_id), event.on_behalf["household_ref"], int(event.on_behalf["special_group"]),
                    event.reported_at.astimezone(SHANGHAI).strftime("%Y-%m")))
        elif isinstance(event, Errand.Requested):
            tx.run("INSERT INTO errands (errand_id, household_ref, grid, kind, what, requested_at) VALUES "
                   "(?, ?, ?, ?, ?, ?) ON CONFLICT (errand_id) DO NOTHING",
                   (str(event.originator_id), event.household_ref, event.grid, event.kind, event.what,
                    rfc3339(event.at)))
        elif isinstance(event, Errand.Done):
            tx.run("UPDATE errands SET done_at = ? WHERE errand_id = ?", (rfc3339(event.at), str(event.originator_id)))


def errands(db: Database, status: str | None, grid: str | None) -> list[dict[str, Any]]:
    where = [c for c, on in (("done_at IS NULL", status == "open"), ("done_at IS NOT NULL", status == "done"),
                             ("grid = ?", bool(grid))) if on]
    rows = db.query("SELECT errand_id, household_ref, grid, kind, what, requested_at, done_at FROM errands"
                    + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY requested_at",
                    (grid,) if grid else ())
    return [{"errand_id": r[0], "household_ref": r[1], "grid": r[2], "kind": r[3], "kind_zh": ERRANDS[r[3]],
             "what": r[4], "requested_at": r[5], "done_at": r[6], "status": "done" if r[6] else "open"} for r in rows]


def coverage(db: Database, month: str, grid: str | None = None) -> dict[str, Any]:
    """Per grid: households visited of the register, rounds done of the plan, evening visits, and the open needs
    and errands of special-group households (需求未了, 代办未完)."""
    month = _month(month)
    register = db.query("SELECT grid, household_ref, special FROM household_register")
    visits = db.query("SELECT grid, household_ref, day, evening FROM visits WHERE month = ?", (month,))
    plans = dict(db.query("SELECT grid, rounds FROM visit_plans WHERE month = ?", (month,)))
    needs = db.query("SELECT n.household_ref, n.special, COALESCE(c.status, 'received') FROM visit_needs n "
                     "LEFT JOIN case_progress c ON c.issue_id = n.issue_id")
    open_errands = db.query("SELECT grid, household_ref FROM errands WHERE done_at IS NULL")
    grids = sorted({g for g, *_ in register} | {g for g, *_ in visits} | set(plans))
    special = {ref for _, ref, s in register if s}
    report = []
    for g in grids if grid is None else [grid]:
        homes = {ref for gg, ref, _ in register if gg == g}
        seen = [(ref, day, evening) for gg, ref, day, evening in visits if gg == g]
        rounds = json.loads(plans.get(g, "[]"))
        report.append({
            "grid": g, "households": len(homes), "special_households": len(homes & special),
            "visited_households": len({ref for ref, _, _ in seen} & homes),
            "special_visited": len({ref for ref, _, _ in seen} & homes & special),
            "visits": len(seen), "evening_visits": sum(1 for *_, evening in seen if evening),
            "planned_rounds": len(rounds), "planned_evening_rounds": sum(1 for r in rounds if r["evening"]),
            "rounds_done": len({day for _, day, _ in seen} & {r["date"] for r in rounds}),
            "open_needs_special": sum(1 for ref, s, status in needs if s and ref in homes and status in OPEN_CASE),
            "open_errands_special": sum(1 for gg, ref in open_errands if gg == g and ref in special),
        })
    return {"month": month, "rounds_required": ROUNDS_PER_MONTH, "grids": report}

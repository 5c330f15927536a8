"""The household register (住户台账) of the door-to-door work (敲门行动, 分片包户), kept private in intake.

From the work plan: council members, community workers and grid workers (网格员) visit households twice a
month, first of all the special groups: 空巢/独居老人, 残障, 困难家庭, 流动人口, 新入住. A household is known to
every event and every other service only by its `household_ref`; its head's name, phone, room, its groups
and the staff's note are sealed under the household's own data key (services/intake/personal.py), so
erasing the household (`DELETE /residents/{household_ref}`) leaves none of it readable. In clear: the place
down to the unit and the grid (what visit plans and coverage count by) and whether it is of a special group
(what triage lifts).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import event
from pydantic import Field

from services.intake.contacts import Erased, record_read
from services.intake.domain import NAMESPACE
from services.intake.personal import Shredded
from shared.audit import Audited
from shared.contracts.envelope import rfc3339
from shared.errors import NotFound
from shared.models import Body, OptionalText, Text
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection

GROUPS = {  # 特殊群体
    "elderly_alone": "空巢/独居老人", "disabled": "残障", "low_income": "困难家庭", "migrant": "流动人口",
    "new_resident": "新入住",
}
SPECIAL = ("elderly_alone", "disabled", "low_income")  # triaged one step more urgently (casework's LIFTS)


def household_id(ref: str) -> UUID:
    return uuid5(NAMESPACE, f"household:{ref}")


class Household(Audited):
    """A household of the register: place and grid in clear, everything personal sealed."""

    @event("Registered")
    def __init__(self, household_ref: str, place: dict[str, str], grid: str, special: bool,
                 personal: dict[str, str], by: dict[str, str], at: datetime):
        self.household_ref, self.place, self.grid, self.special = household_ref, place, grid, special
        self.personal = personal

    @staticmethod
    def create_id(household_ref: str) -> UUID:
        return household_id(household_ref)

    @event("Updated")
    def update(self, special: bool, personal: dict[str, str], by: dict[str, str], at: datetime) -> None:
        """Its groups, contact or note changed (a new arrival is no longer new, an elderly resident now alone)."""
        self.special, self.personal = special, personal


Groups = list[Literal[tuple(GROUPS)]]


class HouseholdChange(Body):
    """`PUT /households/{ref}`: what may change of a household (its place and grid stay)."""
    example = {"groups": ["elderly_alone"], "note": "老伴去世后独居"}
    room: OptionalText[100, "房号"] = None
    name: OptionalText[30, "户主姓名"] = None
    phone: OptionalText[20, "联系电话"] = None
    groups: Groups | None = Field(None, title="特殊群体")
    note: OptionalText[500, "备注"] = None


class NewHousehold(Body):
    """`POST /households`: a household of the register (敲门行动), its personal data sealed."""
    example = {"community": "幸福里", "building": "3", "unit": "2", "grid": "第一网格", "room": "502", "name": "张三",
               "phone": "13812345678", "groups": ["elderly_alone"]}
    community: Text[50, "所在社区"]
    building: Text[20, "楼栋"]
    unit: OptionalText[20, "单元"] = None
    grid: Text[30, "网格"]
    room: OptionalText[100, "房号"] = None
    name: Text[30, "户主姓名"]
    phone: OptionalText[20, "联系电话"] = None
    groups: Groups = Field([], title="特殊群体")
    note: OptionalText[500, "备注"] = None


def parse_household(payload: Any, partial: bool = False) -> dict[str, Any]:
    """A new household's fields, or (`partial`) a change's: only those given."""
    body = (HouseholdChange if partial else NewHousehold).parse(payload)
    found = {k: v for k, v in body.model_dump().items() if v is not None}
    if "groups" in found:
        found["groups"] = sorted(set(found["groups"]))
    return found


def register(app: Any, payload: Any, by: dict[str, str]) -> Household:
    """A household entered into the register (its data key made and its personal data sealed first)."""
    fields = parse_household(payload)
    ref, now = "hh-" + uuid4().hex[:16], app.clock()
    personal = {k: fields[k] for k in ("name", "phone", "room", "groups", "note") if k in fields}
    household = Household(household_ref=ref, place={k: fields[k] for k in ("community", "building", "unit")
                                                    if k in fields},
                          grid=fields["grid"], special=_special(fields["groups"]),
                          personal=app.personal.seal(ref, personal, now).as_dict(), by=dict(by), at=now)
    app.save(household)
    return household


def update(app: Any, ref: str, payload: Any, by: dict[str, str]) -> Household:
    household = get(app, ref)
    known = contact(app, household)
    personal = known | parse_household(payload, partial=True)
    household.update(_special(personal.get("groups", [])), app.personal.seal(ref, personal, app.clock()).as_dict(),
                     dict(by), app.clock())
    app.save(household)
    return household


def _special(groups: list[str]) -> bool:
    return any(g in SPECIAL for g in groups)


def get(app: Any, ref: str) -> Household:
    try:
        found = app.repository.get(household_id(ref)) if ref.startswith("hh-") else None
    except AggregateNotFoundError:
        found = None
    if not isinstance(found, Household):
        raise NotFound(f"no household {ref}", "household_ref", "未找到该住户")
    return found


def contact(app: Any, household: Household) -> dict[str, Any]:
    """The household's sealed data opened; 410 once it was erased."""
    try:
        return app.personal.open(household.personal)
    except Shredded:
        raise Erased(f"the personal data of {household.household_ref} was erased", "household_ref",
                     "该住户的个人信息已删除") from None


def read(app: Any, ref: str, who: str, role: str, purpose: str) -> dict[str, Any]:
    """A household as staff see it in full, the read logged with who and why (contacts' access log)."""
    household = get(app, ref)
    try:
        opened = contact(app, household)
    except Erased:
        record_read(app.read_models, ref, who, role, purpose, "erased", app.clock())
        raise
    record_read(app.read_models, ref, who, role, purpose, "read", app.clock())
    return view(household, opened)


def reported_for(app: Any, body: dict[str, Any], by: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A report staff make for a household of the register (the hotline desk for an elderly resident alone):
    the body without `household_ref`, its reporter the household's unless given, and what the issue records of
    whom it is for (so triage lifts a special group's)."""
    ref = body.get("household_ref")
    household = get(app, ref if isinstance(ref, str) else "")
    opened = contact(app, household)
    report = {k: v for k, v in body.items() if k != "household_ref"}
    report.setdefault("reporter", {k: opened[k] for k in ("name", "phone") if opened.get(k)})
    return report, {"household_ref": household.household_ref, "special_group": household.special,
                    "reported_by": dict(by)}


def view(household: Household, opened: dict[str, Any] | None) -> dict[str, Any]:
    """A household as staff see it: `opened` (its sealed data, read with a logged reason) or only its place."""
    groups = (opened or {}).get("groups", [])
    return {"household_ref": household.household_ref, **household.place, "grid": household.grid,
            "special": household.special, **({k: opened.get(k) for k in ("name", "phone", "room", "note")}
                                              | {"groups": groups, "groups_zh": [GROUPS[g] for g in groups]}
                                              if opened else {})}


class HouseholdRegister(Projection):
    """The register as lists and coverage read it: reference, place, grid, special or not; nothing personal.
    An erased household leaves it."""

    name = "household_register"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS household_register (household_ref TEXT PRIMARY KEY, household_id TEXT NOT "
               "NULL, community TEXT NOT NULL, building TEXT, unit TEXT, grid TEXT NOT NULL, special INTEGER NOT NULL, "
               "registered_at TEXT NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS household_register_grid ON household_register (grid)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS household_register")

    def apply(self, tx: Transaction, event: Any) -> None:
        from services.intake.erasure import Erasure

        if isinstance(event, Household.Registered):
            tx.run("INSERT INTO household_register (household_ref, household_id, community, building, unit, grid, "
                   "special, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (household_ref) DO NOTHING",
                   (event.household_ref, str(event.originator_id), event.place["community"], event.place.get("building"),
                    event.place.get("unit"), event.grid, int(event.special), rfc3339(event.at)))
        elif isinstance(event, Household.Updated):
            tx.run("UPDATE household_register SET special = ? WHERE household_id = ?",
                   (int(event.special), str(event.originator_id)))
        elif isinstance(event, Erasure.Erased) and event.subject.startswith("hh-"):
            tx.run("DELETE FROM household_register WHERE household_ref = ?", (event.subject,))


def listed(db: Database, grid: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = db.query("SELECT household_ref, community, building, unit, grid, special FROM household_register"
                    + (" WHERE grid = ?" if grid else "") + " ORDER BY grid, building, unit, household_ref "
                    "LIMIT ? OFFSET ?", ((grid,) if grid else ()) + (limit, offset))
    return [{"household_ref": r[0], "community": r[1], "building": r[2], "unit": r[3], "grid": r[4],
             "special": bool(r[5])} for r in rows]

"""liaison read models: projections of liaison's own log (the register, reception days, supervisions,
representatives' activities, units and their lights), and `case_facts`, a view of casework's events (what each
case's supervisor and each unit's light read; nothing copied into liaison's log)."""
from __future__ import annotations

import json
from typing import Any

from services.liaison.domain import Match, Project, Reception, Representative, Resource, Station, Supervision, Unit
from services.liaison.rules import SATISFIED_FROM
from shared.contracts import IntegrationEvent, steps_of
from shared.contracts.envelope import rfc3339
from shared.masking import mask_text
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection, UpstreamView

# casework's events the view keeps: a case's history for its supervisor, its figures for its unit's light
CASE_FACTS = ("CaseOpened", "CaseRetriaged", "CaseRetimed", "CaseAssigned", "SiteVerified", "PlanProposed",
              "DeadlineWarned", "CaseEscalated", "CaseResolved", "ResidentConfirmed", "CaseReopened", "CaseClosed")
# those a supervising representative is alerted to (督办代表接收预警)
ALERTS = ("DeadlineWarned", "CaseEscalated", "CaseReopened", "CaseResolved")


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, default=str)


def _update(tx: Transaction, table: str, key: str, value: str, change: dict[str, Any]) -> dict[str, Any] | None:
    row = tx.one(f"SELECT doc FROM {table} WHERE {key} = ?", (value,))
    if row is None:
        return None
    doc = json.loads(row[0]) | change
    tx.run(f"UPDATE {table} SET doc = ? WHERE {key} = ?", (_dumps(doc), value))
    return doc


class Register(Projection):
    """Stations and representatives, as the public may read them (a representative's contact is not here)."""

    name = "register"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS stations (station_id TEXT PRIMARY KEY, community TEXT NOT NULL, "
               "doc TEXT NOT NULL)")
        tx.run("CREATE TABLE IF NOT EXISTS representatives (representative_id TEXT PRIMARY KEY, "
               "station_id TEXT NOT NULL, community TEXT NOT NULL, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS stations")
        tx.run("DROP TABLE IF EXISTS representatives")

    def apply(self, tx: Transaction, event: Any) -> None:
        rid = str(event.originator_id)
        if isinstance(event, Station.Opened):
            doc = {"station_id": rid, "name": event.name, "community": event.community, "place": event.place,
                   "opened_at": rfc3339(event.opened_at)}
            tx.run("INSERT INTO stations (station_id, community, doc) VALUES (?, ?, ?) ON CONFLICT (station_id) "
                   "DO NOTHING", (rid, event.community, _dumps(doc)))
        elif isinstance(event, Representative.Registered):
            doc = {"representative_id": rid, "name": event.name, "expertise": event.expertise,
                   "station_id": event.station_id, "community": event.community,
                   "registered_at": rfc3339(event.registered_at)}
            tx.run("INSERT INTO representatives (representative_id, station_id, community, doc) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (representative_id) DO NOTHING", (rid, event.station_id, event.community, _dumps(doc)))


class Receptions(Projection):
    """Reception days per station (代表接待日), with the topics residents asked for and what came of them."""

    name = "receptions"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS receptions (reception_id TEXT PRIMARY KEY, station_id TEXT NOT NULL, "
               "community TEXT NOT NULL, starts_at TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS receptions")

    def apply(self, tx: Transaction, event: Any) -> None:
        rid = str(event.originator_id)
        if isinstance(event, Reception.Scheduled):
            doc = {"reception_id": rid, "station_id": event.station_id, "community": event.community,
                   "title": event.title, "place": event.place, "representative_ids": event.representative_ids,
                   "starts_at": rfc3339(event.starts_at), "status": "scheduled", "topics": [], "bookings": 0,
                   "concerns": []}
            tx.run("INSERT INTO receptions (reception_id, station_id, community, starts_at, status, doc) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (reception_id) DO NOTHING",
                   (rid, event.station_id, event.community, doc["starts_at"], "scheduled", _dumps(doc)))
            return
        row = tx.one("SELECT doc FROM receptions WHERE reception_id = ?", (rid,))
        if row is None:
            return
        doc = json.loads(row[0])
        if isinstance(event, Reception.TopicRequested):
            doc["topics"].append(mask_text(event.topic))
        elif isinstance(event, Reception.Booked):
            doc["bookings"] += 1
        elif isinstance(event, Reception.Announced):
            doc |= {"status": "announced", "announced_at": rfc3339(event.announced_at)}
        elif isinstance(event, Reception.ConcernRaised):
            doc["concerns"].append({"concern_id": event.concern_id, "issue_id": event.issue_id,
                                    "title": mask_text(event.title), "category": event.category,
                                    "raised_at": rfc3339(event.at)})
        elif isinstance(event, Reception.Held):
            doc |= {"status": "held", "held_at": rfc3339(event.held_at), "visitors": event.visitors,
                    "summary": mask_text(event.summary)}
        else:
            return
        tx.run("UPDATE receptions SET status = ?, doc = ? WHERE reception_id = ?", (doc["status"], _dumps(doc), rid))


def _activity(tx: Transaction, representative_id: str, kind: str, at: Any, ref: str, facts: dict[str, Any]) -> None:
    tx.run("INSERT INTO activities (representative_id, kind, at, ref, doc) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (representative_id, kind, ref) DO NOTHING",
           (representative_id, kind, rfc3339(at), ref, _dumps(facts)))


class Activities(Projection):
    """What each representative did, dated (履职档案's entries): receptions held, duties, supervisions.
    Applied after `receptions` and `supervisions` (the projector applies projections in order), whose rows say
    who received a reception day and whose a supervision is."""

    name = "activities"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS activities (representative_id TEXT NOT NULL, kind TEXT NOT NULL, "
               "at TEXT NOT NULL, ref TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (representative_id, kind, ref))")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS activities")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, Reception.Held):
            row = tx.one("SELECT doc FROM receptions WHERE reception_id = ?", (str(event.originator_id),))
            doc = json.loads(row[0]) if row else {"representative_ids": [], "concerns": []}
            for representative_id in doc["representative_ids"]:
                _activity(tx, representative_id, "reception", event.held_at, str(event.originator_id),
                          {"visitors": event.visitors, "concerns": len(doc["concerns"])})
        elif isinstance(event, Representative.DutyRecorded):
            _activity(tx, str(event.originator_id), event.duty, event.done_at, rfc3339(event.recorded_at),
                      {"note": mask_text(event.note)})
        elif isinstance(event, Supervision.Taken):
            _activity(tx, event.representative_id, "supervision", event.taken_at, event.case_id, {})
        elif isinstance(event, Supervision.SignedOff):
            row = tx.one("SELECT representative_id, case_id FROM supervisions WHERE supervision_id = ?",
                         (str(event.originator_id),))
            if row is not None:
                _activity(tx, row[0], "signed_off", event.signed_off_at, row[1], {"solved": event.solved})


class Supervisions(Projection):
    """代表督办: which representative supervises which case, its alerts and its sign-off."""

    name = "supervisions"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS supervisions (supervision_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, "
               "representative_id TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS supervisions")

    def apply(self, tx: Transaction, event: Any) -> None:
        sid = str(event.originator_id)
        if isinstance(event, Supervision.Taken):
            doc = {"case_id": event.case_id, "issue_id": event.issue_id, "representative_id": event.representative_id,
                   "reason": mask_text(event.reason), "taken_at": rfc3339(event.taken_at), "status": "supervising",
                   "alerts": []}
            tx.run("INSERT INTO supervisions (supervision_id, case_id, representative_id, status, doc) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT (supervision_id) DO NOTHING",
                   (sid, event.case_id, event.representative_id, "supervising", _dumps(doc)))
        elif isinstance(event, Supervision.AlertReceived):
            row = tx.one("SELECT doc FROM supervisions WHERE supervision_id = ?", (sid,))
            if row is not None:
                doc = json.loads(row[0])
                doc["alerts"].append({"kind": event.kind, "at": rfc3339(event.at), **event.detail})
                tx.run("UPDATE supervisions SET doc = ? WHERE supervision_id = ?", (_dumps(doc), sid))
        elif isinstance(event, Supervision.SignedOff):
            doc = _update(tx, "supervisions", "supervision_id", sid, {
                "status": "signed_off", "note": mask_text(event.note), "solved": event.solved,
                "signed_off_at": rfc3339(event.signed_off_at)})
            if doc is not None:
                tx.run("UPDATE supervisions SET status = 'signed_off' WHERE supervision_id = ?", (sid,))


class Units(Projection):
    """Co-building units (their responsible person is not here), joint-meeting attendance, monthly lights."""

    name = "units"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS units (unit_id TEXT PRIMARY KEY, party TEXT NOT NULL, kind TEXT NOT NULL, "
               "doc TEXT NOT NULL)")
        tx.run("CREATE TABLE IF NOT EXISTS attendance (unit_id TEXT NOT NULL, meeting_id TEXT NOT NULL, "
               "meeting_at TEXT NOT NULL, present INTEGER NOT NULL, PRIMARY KEY (unit_id, meeting_id))")
        tx.run("CREATE TABLE IF NOT EXISTS lights (unit_id TEXT NOT NULL, month TEXT NOT NULL, light TEXT NOT NULL, "
               "doc TEXT NOT NULL, PRIMARY KEY (unit_id, month))")

    def drop(self, tx: Transaction) -> None:
        for table in ("units", "attendance", "lights"):
            tx.run(f"DROP TABLE IF EXISTS {table}")

    def apply(self, tx: Transaction, event: Any) -> None:
        uid = str(event.originator_id)
        if isinstance(event, Unit.Registered):
            doc = {"unit_id": uid, "party": event.party, "kind": event.kind,
                   "registered_at": rfc3339(event.registered_at)}
            tx.run("INSERT INTO units (unit_id, party, kind, doc) VALUES (?, ?, ?, ?) ON CONFLICT (unit_id) "
                   "DO NOTHING", (uid, event.party, event.kind, _dumps(doc)))
        elif isinstance(event, Unit.AttendanceRecorded):
            tx.run("INSERT INTO attendance (unit_id, meeting_id, meeting_at, present) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (unit_id, meeting_id) DO UPDATE SET meeting_at = excluded.meeting_at, "
                   "present = excluded.present", (uid, event.meeting_id, rfc3339(event.meeting_at), int(event.present)))
        elif isinstance(event, Unit.LightAssessed):
            party = tx.one("SELECT party FROM units WHERE unit_id = ?", (uid,))
            doc = {"unit_id": uid, "party": party[0] if party else None, "month": event.month, "light": event.light,
                   "figures": event.figures, "assessed_at": rfc3339(event.assessed_at), "supervised": False}
            tx.run("INSERT INTO lights (unit_id, month, light, doc) VALUES (?, ?, ?, ?) ON CONFLICT (unit_id, month) "
                   "DO NOTHING", (uid, event.month, event.light, _dumps(doc)))
        elif isinstance(event, Unit.Supervised):
            row = tx.one("SELECT doc FROM lights WHERE unit_id = ? AND month = ?", (uid, event.month))
            if row is not None:
                doc = json.loads(row[0]) | {"supervised": True, "supervised_at": rfc3339(event.supervised_at)}
                tx.run("UPDATE lights SET doc = ? WHERE unit_id = ? AND month = ?", (_dumps(doc), uid, event.month))


HISTORY_FACTS = ("tier", "party", "level", "deadline", "due", "to", "confirmed", "satisfaction")
STEP_FACTS = {"CaseOpened": ("tier", "due"), "CaseAssigned": ("party",)}  # one event may tell both


class CaseFacts(UpstreamView):
    """Each case as liaison knows it from casework: its issue, party, deadline, resolution, red alerts and residents'
    answers (a unit's light), and its history in order (the supervising representative's view)."""

    name = "case_facts"
    version = 1
    upstream = "casework"

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS case_facts (case_id TEXT PRIMARY KEY, issue_id TEXT, party TEXT, "
               "resolve_by TEXT, resolved_at TEXT, reds INTEGER NOT NULL, satisfied INTEGER NOT NULL, "
               "answers INTEGER NOT NULL, doc TEXT NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS case_facts_party ON case_facts (party, resolve_by)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS case_facts")

    def apply(self, tx: Transaction, event: IntegrationEvent) -> None:
        if event.name not in CASE_FACTS or "case_id" not in event.data:
            return
        data, case_id = dict(event.data), str(event.data["case_id"])
        row = tx.one("SELECT issue_id, party, resolve_by, resolved_at, reds, satisfied, answers, doc FROM case_facts "
                     "WHERE case_id = ?", (case_id,))
        issue_id, party, resolve_by, resolved_at, reds, satisfied, answers, doc = row or (
            None, None, None, None, 0, 0, 0, _dumps({"history": []}))
        stored = json.loads(doc)
        history, about = stored["history"], stored.get("about", {})
        about |= {k: data[k] for k in ("category", "community", "title") if data.get(k)}
        for step in steps_of("casework", event.name, data):  # a CaseOpened with its dispatch: two entries, as before
            history.append({"step": step, "at": rfc3339(event.time),
                            **{k: data[k] for k in STEP_FACTS.get(step, HISTORY_FACTS) if k in data}})
        issue_id = data.get("issue_id") or issue_id
        party = data.get("party") or party
        due = data.get("due")
        if isinstance(due, dict) and due.get("resolve_by"):
            resolve_by = due["resolve_by"]
        elif isinstance(due, str) and event.name == "CaseReopened":
            resolve_by, resolved_at = due, None
        if event.name == "CaseRetimed" and data.get("deadline") == "resolve":
            resolve_by = data["due"]
        if event.name == "CaseResolved":
            resolved_at = data.get("resolved_at") or rfc3339(event.time)
        if event.name == "DeadlineWarned" and data.get("level") == "red":
            reds += 1
        if event.name == "ResidentConfirmed" and data.get("satisfaction") is not None:
            answers += 1
            satisfied += int(data["satisfaction"] >= SATISFIED_FROM)
        tx.run("INSERT INTO case_facts (case_id, issue_id, party, resolve_by, resolved_at, reds, satisfied, answers, "
               "doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET issue_id = excluded.issue_id, "
               "party = excluded.party, resolve_by = excluded.resolve_by, resolved_at = excluded.resolved_at, "
               "reds = excluded.reds, satisfied = excluded.satisfied, answers = excluded.answers, doc = excluded.doc",
               (case_id, issue_id, party, resolve_by, resolved_at, reds, satisfied, answers,
                _dumps({"history": history, "about": about})))


class Lists(Projection):
    """The two lists' other halves and what came of them: resources (资源清单), matches, projects (项目清单)."""

    name = "lists"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS resources (resource_id TEXT PRIMARY KEY, category TEXT NOT NULL, "
               "area TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL)")
        tx.run("CREATE TABLE IF NOT EXISTS matches (match_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, "
               "status TEXT NOT NULL, doc TEXT NOT NULL)")
        tx.run("CREATE TABLE IF NOT EXISTS projects (project_id TEXT PRIMARY KEY, due TEXT NOT NULL, "
               "started_at TEXT NOT NULL, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        for table in ("resources", "matches", "projects"):
            tx.run(f"DROP TABLE IF EXISTS {table}")

    def apply(self, tx: Transaction, event: Any) -> None:
        oid = str(event.originator_id)
        if isinstance(event, Resource.Offered):
            doc = {"resource_id": oid, "offered_by": event.offered_by, "offerer_id": event.offerer_id,
                   "category": event.category, "title": mask_text(event.title), "area": event.area,
                   "capacity": event.capacity, "used": 0, "availability": mask_text(event.availability),
                   "status": "available", "offered_at": rfc3339(event.offered_at)}
            tx.run("INSERT INTO resources (resource_id, category, area, status, doc) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (resource_id) DO NOTHING", (oid, event.category, event.area, "available", _dumps(doc)))
        elif isinstance(event, (Resource.Used, Resource.Withdrawn)):
            row = tx.one("SELECT doc FROM resources WHERE resource_id = ?", (oid,))
            if row is not None:
                doc = json.loads(row[0])
                if isinstance(event, Resource.Used):
                    doc["used"] += 1
                    doc["status"] = "used_up" if doc["used"] >= doc["capacity"] else doc["status"]
                else:
                    doc |= {"status": "withdrawn", "withdrawn_at": rfc3339(event.at)}
                tx.run("UPDATE resources SET status = ?, doc = ? WHERE resource_id = ?", (doc["status"], _dumps(doc), oid))
        elif isinstance(event, Match.Proposed):
            doc = {"match_id": oid, "case_id": event.case_id, "resource_id": event.resource_id,
                   "reasons": event.reasons, "status": "proposed", "proposed_at": rfc3339(event.proposed_at)}
            tx.run("INSERT INTO matches (match_id, case_id, status, doc) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (match_id) DO NOTHING", (oid, event.case_id, "proposed", _dumps(doc)))
        elif isinstance(event, Match.Decided):
            if _update(tx, "matches", "match_id", oid, {"status": event.decision, "note": mask_text(event.note),
                                                         "decided_at": rfc3339(event.decided_at)}):
                tx.run("UPDATE matches SET status = ? WHERE match_id = ?", (event.decision, oid))
        elif isinstance(event, Project.Started):
            doc = {"project_id": oid, "title": mask_text(event.title), "case_ids": event.case_ids,
                   "match_ids": event.match_ids, "owner": event.owner, "due": rfc3339(event.due),
                   "started_at": rfc3339(event.started_at), "warned": [], "status": "ongoing"}
            tx.run("INSERT INTO projects (project_id, due, started_at, doc) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (project_id) DO NOTHING", (oid, doc["due"], doc["started_at"], _dumps(doc)))
        elif isinstance(event, Project.Warned):
            row = tx.one("SELECT doc FROM projects WHERE project_id = ?", (oid,))
            if row is not None:
                doc = json.loads(row[0])
                doc["warned"].append(event.level)
                tx.run("UPDATE projects SET doc = ? WHERE project_id = ?", (_dumps(doc), oid))
        elif isinstance(event, Project.Completed):
            _update(tx, "projects", "project_id", oid, {"status": "completed", "late": event.late,
                                                         "summary": mask_text(event.summary),
                                                         "completed_at": rfc3339(event.completed_at)})


# queries ---------------------------------------------------------------------------------------------
def _docs(db: Database, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in db.query(sql, params)]


def list_stations(db: Database, community: str | None) -> list[dict[str, Any]]:
    if community:
        return _docs(db, "SELECT doc FROM stations WHERE community = ? ORDER BY station_id", (community,))
    return _docs(db, "SELECT doc FROM stations ORDER BY community, station_id")


def list_representatives(db: Database, station_id: str | None) -> list[dict[str, Any]]:
    if station_id:
        return _docs(db, "SELECT doc FROM representatives WHERE station_id = ? ORDER BY representative_id",
                     (station_id,))
    return _docs(db, "SELECT doc FROM representatives ORDER BY community, representative_id")


def list_receptions(db: Database, station_id: str | None, status: str | None) -> list[dict[str, Any]]:
    where, params = [], []
    for clause, value in (("station_id = ?", station_id), ("status = ?", status)):
        if value is not None:
            where.append(clause)
            params.append(value)
    return _docs(db, "SELECT doc FROM receptions" + (" WHERE " + " AND ".join(where) if where else "")
                 + " ORDER BY starts_at, reception_id", tuple(params))


def board_receptions(db: Database, after: str) -> list[dict[str, Any]]:
    """Announced reception days still to come: the board's 代表接待日预告 with the topics asked (点单)."""
    return [{k: d[k] for k in ("reception_id", "station_id", "community", "title", "place", "starts_at", "topics",
                               "announced_at")}
            for d in _docs(db, "SELECT doc FROM receptions WHERE status = 'announced' AND starts_at >= ? "
                               "ORDER BY starts_at, reception_id", (after,))]


def case_history(db: Database, case_id: str) -> dict[str, Any] | None:
    rows = db.query("SELECT issue_id, party, resolve_by, resolved_at, doc FROM case_facts WHERE case_id = ?",
                    (case_id,))
    if not rows:
        return None
    issue_id, party, resolve_by, resolved_at, doc = rows[0]
    stored = json.loads(doc)
    return {"case_id": case_id, "issue_id": issue_id, "party": party, "resolve_by": resolve_by,
            "resolved_at": resolved_at, **stored.get("about", {}), "history": stored["history"]}


def supervision_doc(db: Database, case_id: str) -> dict[str, Any] | None:
    docs = _docs(db, "SELECT doc FROM supervisions WHERE case_id = ?", (case_id,))
    return docs[0] if docs else None


def list_supervisions(db: Database, representative_id: str | None, status: str | None) -> list[dict[str, Any]]:
    where, params = [], []
    for clause, value in (("representative_id = ?", representative_id), ("status = ?", status)):
        if value is not None:
            where.append(clause)
            params.append(value)
    return _docs(db, "SELECT doc FROM supervisions" + (" WHERE " + " AND ".join(where) if where else "")
                 + " ORDER BY case_id", tuple(params))


def activities(db: Database, representative_id: str, start: str, end: str) -> list[dict[str, Any]]:
    rows = db.query("SELECT kind, at, ref, doc FROM activities WHERE representative_id = ? AND at >= ? AND at < ? "
                    "ORDER BY at, kind, ref", (representative_id, start, end))
    return [{"kind": k, "at": at, "ref": ref, **json.loads(doc)} for k, at, ref, doc in rows]


def last_activity(db: Database, representative_id: str, before: str) -> str | None:
    rows = db.query("SELECT MAX(at) FROM activities WHERE representative_id = ? AND at < ?", (representative_id, before))
    return rows[0][0] if rows else None


def list_units(db: Database) -> list[dict[str, Any]]:
    return _docs(db, "SELECT doc FROM units ORDER BY kind, party")


def unit_cases(db: Database, party: str, start: str, end: str) -> list[dict[str, Any]]:
    """The party's cases due to be resolved in [start, end)."""
    rows = db.query("SELECT case_id, resolve_by, resolved_at, reds, satisfied, answers FROM case_facts "
                    "WHERE party = ? AND resolve_by >= ? AND resolve_by < ? ORDER BY case_id", (party, start, end))
    return [dict(zip(("case_id", "resolve_by", "resolved_at", "reds", "satisfied", "answers"), r)) for r in rows]


def unit_attendance(db: Database, unit_id: str, start: str, end: str) -> list[bool]:
    rows = db.query("SELECT present FROM attendance WHERE unit_id = ? AND meeting_at >= ? AND meeting_at < ?",
                    (unit_id, start, end))
    return [bool(r[0]) for r in rows]


def month_lights(db: Database, month: str) -> list[dict[str, Any]]:
    return _docs(db, "SELECT doc FROM lights WHERE month = ? ORDER BY unit_id", (month,))


def unit_lights(db: Database, unit_id: str) -> list[dict[str, Any]]:
    return _docs(db, "SELECT doc FROM lights WHERE unit_id = ? ORDER BY month", (unit_id,))


def list_resources(db: Database, status: str | None) -> list[dict[str, Any]]:
    if status:
        return _docs(db, "SELECT doc FROM resources WHERE status = ? ORDER BY category, resource_id", (status,))
    return _docs(db, "SELECT doc FROM resources ORDER BY category, resource_id")


def list_matches(db: Database, case_id: str | None, status: str | None) -> list[dict[str, Any]]:
    where, params = [], []
    for clause, value in (("case_id = ?", case_id), ("status = ?", status)):
        if value is not None:
            where.append(clause)
            params.append(value)
    return _docs(db, "SELECT doc FROM matches" + (" WHERE " + " AND ".join(where) if where else "")
                 + " ORDER BY case_id, match_id", tuple(params))


def match_accuracy(db: Database) -> dict[str, Any]:
    """需求匹配准确率: the share of decided proposals that staff confirmed."""
    counts = dict(db.query("SELECT status, COUNT(*) FROM matches GROUP BY status"))
    confirmed, rejected = counts.get("confirmed", 0), counts.get("rejected", 0)
    return {"proposed": sum(counts.values()), "confirmed": confirmed, "rejected": rejected,
            "accuracy": round(confirmed / (confirmed + rejected), 4) if confirmed + rejected else None}


def list_projects(db: Database, start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
    """Projects, or those ongoing at some time in [start, end) (a month's results list them)."""
    docs = _docs(db, "SELECT doc FROM projects ORDER BY due, project_id")
    if start is None or end is None:
        return docs
    return [d for d in docs if d["started_at"] < end and d.get("completed_at", end) >= start]


def open_projects(db: Database) -> list[str]:
    return [d["project_id"] for d in list_projects(db) if d["status"] == "ongoing"]

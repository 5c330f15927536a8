"""casework read models: the ledger (问题台账), one row per case.

Each row keeps the case's state and folds every new event into it with the domain's own `mutate`,
so the ledger can never disagree with the aggregate's rules; the columns are what staff filter on
and what the deadline watcher asks ("which cases owe an alert by now?").
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from services.casework.dispatch import RETURN_STATES
from services.casework.domain import OPEN_STATUSES, Case
from shared.clock import utcnow
from shared.contracts.envelope import rfc3339
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection


def ts(moment: datetime | None) -> str | None:
    """Fixed-width UTC text, so times compare correctly as strings in SQLite and PostgreSQL alike."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"__dt__": value.isoformat()}
    if isinstance(value, UUID):
        return {"__uuid__": str(value)}
    raise TypeError(type(value))


def _decode(obj: dict) -> Any:
    if "__dt__" in obj:
        return datetime.fromisoformat(obj["__dt__"])
    if "__uuid__" in obj:
        return UUID(obj["__uuid__"])
    return obj


def dump_state(case: Case) -> str:
    return json.dumps({k: v for k, v in case.__dict__.items() if k != "_pending_events"}, default=_encode,
                      ensure_ascii=False)


def load_state(text: str) -> Case:
    case = Case.__new__(Case)
    case.__dict__.update(json.loads(text, object_hook=_decode), _pending_events=[])
    return case


def next_check(case: Case) -> datetime | None:
    """When the case next owes an alert: a yellow warning, else a red alert; None when it owes none."""
    if case.status not in OPEN_STATUSES:
        return None
    times = [d["warn_at"] if d["alert"] is None else d["due"]
             for d in case.deadlines.values() if d["met_at"] is None and d["alert"] != "red"]
    if case.acknowledge_owed(datetime.max.replace(tzinfo=timezone.utc)):  # the party's 签收 clock is running
        times.append(case.dispatches[-1]["acknowledge_by"])
    return min(times, default=None)


def next_due(case: Case) -> datetime | None:
    if case.status not in OPEN_STATUSES:
        return None
    return min((d["due"] for d in case.deadlines.values() if d["met_at"] is None), default=None)


def _counted(workdays: dict[str, Any] | None) -> dict[str, Any] | None:
    """How a working-day deadline was counted (GET /calendar says what each year's days came from)."""
    return {"from": rfc3339(workdays["from"]), "workdays": workdays["count"]} if workdays else None


def _times(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: rfc3339(v) if isinstance(v, datetime) else v for k, v in entry.items()}


def dispatch_view(case: Case, now: datetime) -> dict[str, Any] | None:
    """The party's side (派单): the current dispatch, whether its 签收 clock is missed, every earlier one."""
    if not case.dispatches:
        return None
    current = case.dispatches[-1]
    due = current["acknowledge_by"]
    missed = (due is not None and current["acknowledged_at"] is None and current["returned_at"] is None
              and case.status in OPEN_STATUSES and now >= due)
    return {**_dispatch(current), "acknowledge_overdue": missed, "history": [_dispatch(d) for d in case.dispatches[:-1]]}


def _dispatch(d: dict[str, Any]) -> dict[str, Any]:
    return _times(d) | {"return_state_zh": RETURN_STATES.get(d["return_state"])}


def case_view(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """A case as the ledger shows it: deadlines with their alerts, and whether each was met on time."""
    now = now or utcnow()
    deadlines = {}
    for name, d in case.deadlines.items():
        deadlines[name] = {"due": rfc3339(d["due"]), "warn_at": rfc3339(d["warn_at"]),
                           "met_at": rfc3339(d["met_at"]) if d["met_at"] else None, "alert": d["alert"],
                           "on_time": d["met_at"] <= d["due"] if d["met_at"] else None,
                           "overdue": d["met_at"] is None and case.status in OPEN_STATUSES and now >= d["due"],
                           "counted": _counted(d.get("workdays"))}
    return {
        "case_id": str(case.id), "issue_id": case.issue_id, "status": case.status, "tier": case.tier,
        "triage_reason": case.triage_reason, "category": case.category, "title": case.title,
        "community": case.community, "building": case.building, "party": case.party, "party_kind": case.party_kind,
        "plan": case.plan, "escalations": list(case.escalations), "resolutions": list(case.resolutions),
        "merged_into": case.merged_into, "co_reporters": len(case.co_reporters),
        "deadlines": deadlines, "due": {f"{name}_by": v["due"] for name, v in deadlines.items()},
        "alert_level": case.alert_level(), "overdue": any(v["overdue"] for v in deadlines.values()),
        "satisfaction": {"rate": round(case.satisfaction_rate(), 4) if case.responses[case.round_from:] else None,
                         "responses": sum(t for _, t in case.responses[case.round_from:])},
        "reported_at": rfc3339(case.reported_at), "opened_at": rfc3339(case.opened_at),
        "verified_at": rfc3339(case.verified_at) if case.verified_at else None,
        "resolved_at": rfc3339(case.resolved_at) if case.resolved_at else None,
        "closed_at": rfc3339(case.closed_at) if case.closed_at else None,
        "dispatch": dispatch_view(case, now), "extensions": [_times(e) for e in case.extensions],
        "agreed_due": rfc3339(case.agreed_due) if case.agreed_due else None,
        "version": case.version,
    }


class Ledger(Projection):
    name = "ledger"
    version = 7  # 6: the parties' dispatches (签收、退单, the 签收 clock watched), extension requests, internal notes;
    # 7: the community as a column (the ledger's community filter)

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS ledger (case_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, "
               "status TEXT NOT NULL, tier TEXT NOT NULL, category TEXT NOT NULL, community TEXT, party TEXT, "
               "alert TEXT, next_due TEXT, next_check TEXT, met_on_time INTEGER NOT NULL, met_late INTEGER NOT NULL, "
               "opened_at TEXT NOT NULL, state TEXT NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS ledger_status_tier ON ledger (status, tier, opened_at)")
        tx.run("CREATE INDEX IF NOT EXISTS ledger_next_check ON ledger (next_check)")
        tx.run("CREATE INDEX IF NOT EXISTS ledger_community ON ledger (community, opened_at)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS ledger")

    def apply(self, tx: Transaction, event: Any) -> None:
        if not isinstance(event, Case.Event):
            return
        if isinstance(event, Case.Opened):
            case = event.mutate(None)
        else:
            row = tx.one("SELECT state FROM ledger WHERE case_id = ?", (str(event.originator_id),))
            if row is None:
                return
            case = load_state(row[0])
            if event.originator_version <= case.version:  # already folded in (a replayed batch)
                return
            event.mutate(case)
        met = [d["met_at"] <= d["due"] for d in case.deadlines.values() if d["met_at"] is not None]
        tx.run("INSERT INTO ledger (case_id, issue_id, status, tier, category, community, party, alert, next_due, "
               "next_check, met_on_time, met_late, opened_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, tier = excluded.tier, "
               "community = excluded.community, "
               "party = excluded.party, alert = excluded.alert, next_due = excluded.next_due, "
               "next_check = excluded.next_check, met_on_time = excluded.met_on_time, met_late = excluded.met_late, "
               "state = excluded.state",
               (str(case.id), case.issue_id, case.status, case.tier, case.category, case.community, case.party,
                case.alert_level(),
                ts(next_due(case)), ts(next_check(case)), sum(met), len(met) - sum(met), ts(case.opened_at),
                dump_state(case)))


def list_cases(db: Database, status: str | None = None, tier: str | None = None, overdue: bool | None = None,
               party: str | None = None, limit: int = 100, offset: int = 0,
               now: datetime | None = None, community: str | None = None) -> list[dict[str, Any]]:
    now = now or utcnow()
    where, params = [], []
    for column, value in (("status", status), ("tier", tier), ("party", party), ("community", community)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if overdue is True:
        where.append("next_due <= ?")
        params.append(ts(now))
    elif overdue is False:
        where.append("(next_due IS NULL OR next_due > ?)")
        params.append(ts(now))
    sql = "SELECT state FROM ledger" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY opened_at DESC, case_id LIMIT ? OFFSET ?", (*params, limit, offset))
    return [case_view(load_state(r[0]), now) for r in rows]


def get_case_row(db: Database, case_id: str) -> dict[str, Any] | None:
    rows = db.query("SELECT state FROM ledger WHERE case_id = ?", (case_id,))
    return case_view(load_state(rows[0][0])) if rows else None


def cases_owing_alerts(db: Database, now: datetime, limit: int = 500) -> list[str]:
    """Candidates for the watcher; the aggregate decides (the ledger may trail the log a little)."""
    rows = db.query("SELECT case_id FROM ledger WHERE next_check <= ? ORDER BY next_check LIMIT ?", (ts(now), limit))
    return [r[0] for r in rows]


def open_cases(db: Database) -> list[str]:
    """Candidates for re-timing after a calendar entry; each aggregate decides whether it moves."""
    marks = ", ".join("?" for _ in OPEN_STATUSES)
    return [r[0] for r in db.query(f"SELECT case_id FROM ledger WHERE status IN ({marks}) ORDER BY case_id",
                                   OPEN_STATUSES)]


def cases_opened_between(db: Database, start: datetime, end: datetime) -> list[Case]:
    rows = db.query("SELECT state FROM ledger WHERE opened_at >= ? AND opened_at < ?", (ts(start), ts(end)))
    return [load_state(r[0]) for r in rows]


def ledger_counts(db: Database, now: datetime | None = None) -> dict[str, Any]:
    """For the metrics: cases by (tier, status), open alerts by (tier, level), on-time ratio by tier.

    On time = deadlines met by their due time over deadlines settled (met, or open past due).
    """
    counts: dict[str, Any] = {"cases": {}, "alerts": {}, "on_time": {}}
    for tier, status, n in db.query("SELECT tier, status, COUNT(*) FROM ledger GROUP BY tier, status"):
        counts["cases"][(tier, status)] = n
    for tier, level, n in db.query("SELECT tier, alert, COUNT(*) FROM ledger WHERE alert IS NOT NULL "
                                   "GROUP BY tier, alert"):
        counts["alerts"][(tier, level)] = n
    rows = db.query("SELECT tier, SUM(met_on_time), SUM(met_late), SUM(CASE WHEN next_due <= ? THEN 1 ELSE 0 END) "
                    "FROM ledger GROUP BY tier", (ts(now or utcnow()),))
    for tier, on_time, late, overdue in rows:
        settled = (on_time or 0) + (late or 0) + (overdue or 0)
        if settled:
            counts["on_time"][tier] = (on_time or 0) / settled
    return counts

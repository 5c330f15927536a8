"""Each built service's own log, seeded through its Application (reports, upstream events it reacts to).

Used by the operations tests (rebuild, replay, audit) to cover every built service: a service that lands
adds its seeder here, or those tests fail naming it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4

from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from tests.support.factories import issues


def upstream_event(service: str, name: str, seq: int, data: dict, subject: str):
    return from_cloudevent(to_cloudevent(service, name, sequence=seq, prevsequence=seq - 1 or None, subject=subject,
                                         time=datetime.now(timezone.utc), data=data))


def seed_intake(app, n: int, start: int = 0) -> None:
    """n reports; every third one repeats the one before it (merged: a second event) and hears that casework
    opened its case (the case_progress view)."""
    batch = issues(n, start)
    for k in range(1, len(batch), 3):
        batch[k].merge_into(str(batch[k - 1].id), 0.9, "seed", batch[k].reported_at)
    app.save(*batch)
    for k, issue in enumerate(batch[1::3]):
        seq = 10_000 + start + k
        app.process(upstream_event("casework", "CaseOpened", seq, {
            "case_id": str(uuid4()), "issue_id": str(issue.id), "tier": "routine", "category": issue.category,
            "due": {}, "opened_at": "2026-11-23T02:00:00Z", "triage_reason": "pending"}, str(issue.id)))


def seed_casework(app, n: int, start: int = 0) -> None:
    """n upstream IssueReported events: one case each."""
    for seq in range(start + 1, start + n + 1):
        issue_id = f"8a4f7c62-1d2b-4c1e-9a4f-{seq:012d}"
        app.process(upstream_event("intake", "IssueReported", seq, {
            "issue_id": issue_id, "channel": "visit", "category": "环境卫生",
            "tags": [], "title": f"垃圾清运 {seq}", "description": "", "location": {"community": "幸福里"},
            "reporter_ref": "rp-1", "reported_at": "2026-11-23T02:00:00Z"}, issue_id))


def _case_events(seq: int) -> tuple[str, list[tuple[str, dict]]]:
    """A complex case's opening and its escalation to the assembly, as casework publishes them."""
    case_id, issue_id = f"9b5e8d73-2e3c-4d2f-8b5e-{seq:012d}", f"8a4f7c62-1d2b-4c1e-9a4f-{seq:012d}"
    opened = {"case_id": case_id, "issue_id": issue_id, "tier": "complex", "category": "停车交通",
              "due": {"plan_by": "2026-12-23T02:00:00Z"}, "opened_at": "2026-11-23T02:00:00Z",
              "triage_reason": "复杂类", "title": f"停车难 {seq}", "community": "幸福里"}
    escalated = {"case_id": case_id, "issue_id": issue_id, "to": "assembly", "reason": "提交居民代表大会审议",
                 "tier": "complex", "title": f"停车难 {seq}", "category": "停车交通", "community": "幸福里"}
    return case_id, [("CaseOpened", opened), ("CaseEscalated", escalated)]


def seed_meetings(app, n: int, start: int = 0) -> None:
    """n escalated cases (proposed topics, the case digest), each with a scheduled meeting whose agenda names it
    (the case trace)."""
    for k in range(start, start + n):
        case_id, events = _case_events(k + 1)
        for j, (name, data) in enumerate(events):
            app.process(upstream_event("casework", name, 2 * k + j + 1, data, case_id))
        meeting, _ = app.schedule({"kind": "assembly", "title": f"居民代表大会 {k}", "place": "社区会议室",
                                   "meeting_at": "2027-03-01T02:00:00Z"})
        app.publish_agenda(str(meeting.id), {"topics": [{"title": f"议题 {k}", "background": "车位不足",
                                                         "draft_plan": "错时共享", "case_id": str(case_id)}]})


def seed_notifications(app, n: int, start: int = 0) -> None:
    """n urgent cases (board notices, messages) opened from reported issues."""
    for k in range(start, start + n):
        case_id, events = _case_events(k + 1)
        issue_id = events[0][1]["issue_id"]
        app.process(upstream_event("intake", "IssueReported", k + 1, {
            "issue_id": issue_id, "channel": "visit", "category": "安全隐患",
            "tags": [], "title": f"{k % 9 + 1}号楼消防通道堵塞", "description": "", "location": {"community": "幸福里"},
            "reporter_ref": f"rp-{k}", "reported_at": "2026-11-23T02:00:00Z"}, issue_id))
        app.process(upstream_event("casework", "CaseOpened", k + 1, events[0][1] | {"tier": "urgent"}, case_id))


def seed_liaison(app, n: int, start: int = 0) -> None:
    """n stations, each with a representative, a reception day with a topic asked, a duty, a unit, a resource and a
    supervised case (casework's CaseOpened: the case_facts view)."""
    for k in range(start, start + n):
        station, _ = app.open_station({"name": f"联络站 {k}", "community": f"社区{k}", "place": "党群服务中心"})
        rep, _ = app.register_representative({"name": f"代表{k}", "station_id": str(station.id), "expertise": ["法律"],
                                              "contact": {"phone": "13812345678"}})
        reception, _ = app.schedule_reception({"station_id": str(station.id), "representative_ids": [str(rep.id)],
                                               "starts_at": "2030-03-01T02:00:00Z"})
        app.request_topic(str(reception.id), {"topic": f"停车难 {k}"})
        app.record_duty(str(rep.id), {"duty": "visit", "done_at": "2026-11-23T02:00:00Z"})
        app.register_unit({"party": f"物业{k}", "kind": "property", "responsible": {"name": "张经理"}})
        app.offer_resource({"offered_by": "volunteer", "category": "停车交通", "title": "错时停车", "area": f"社区{k}"})
        case_id, events = _case_events(k + 1)
        app.process(upstream_event("casework", "CaseOpened", k + 1, events[0][1] | {"community": f"社区{k}"}, case_id))
        app.take_up(case_id, {"representative_id": str(rep.id), "reason": "跟踪督办"})


SEEDERS = {"intake": seed_intake, "casework": seed_casework, "meetings": seed_meetings,
           "notifications": seed_notifications, "liaison": seed_liaison}


def seeder(service: str):
    assert service in SEEDERS, f"add a seeder for {service} to tests/support/seeding.py"
    return SEEDERS[service]


def store_env(settings: Settings) -> dict[str, str]:
    """The environment a `yishi` subprocess needs to see the same store and broker."""
    return {"DATABASE_URL": settings.database_url or "", "YISHI_VAR_DIR": str(settings.var_dir),
            "AMQP_URI": settings.amqp_uri}

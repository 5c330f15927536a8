"""notifications says the same, to the same people, whichever of intake's and casework's queues delivers first."""
from datetime import datetime, timezone
from uuid import uuid4

from hypothesis import given, settings, strategies as st

from services.notifications.application import NotificationsApplication
from services.notifications.domain import Delivery, Notice
from shared.config import Settings
from tests.unit.notifications.test_policy import CASE, ISSUE, REPORTED, upstream

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
CASEWORK = [upstream("casework", name, seq, {"case_id": CASE, "issue_id": ISSUE, **data}, CASE) for seq, (name, data) in
            enumerate([
                ("CaseOpened", {"tier": "urgent", "category": "安全隐患", "opened_at": "2026-11-23T02:00:00Z",
                                "due": {"verify_by": "2026-11-24T02:00:00Z", "plan_by": "2026-11-25T02:00:00Z"},
                                "triage_reason": "安全隐患", "title": REPORTED.data["title"], "community": "幸福里",
                                "building": "3", "reporter_ref": REPORTED.data["reporter_ref"]}),
                ("CaseAssigned", {"party": "幸福里物业", "party_kind": "property"}),
                ("SiteVerified", {"verified_at": "2026-11-23T06:00:00Z"}),
                ("CaseResolved", {"resolved_at": "2026-11-23T08:00:00Z", "summary": "已更换灯具"}),
                ("CaseClosed", {"closed_at": "2026-11-24T08:00:00Z"}),
            ], start=1)]


def told(tmp_path, reported_at: int) -> list:
    """Every notice and message decided when IssueReported arrives after `reported_at` of casework's events."""
    app = NotificationsApplication(Settings(None, "", tmp_path / uuid4().hex),  # a store of its own
                                   channels=("webhook", "sms", "wechat", "email"),
                                   clock=lambda: NOW)
    stream = CASEWORK[:reported_at] + [REPORTED] + CASEWORK[reported_at:]
    for event in stream:
        app.process(event)
    decided = [app.domain_event(n) for n in app.notifications_after(0)]
    app.close()
    return sorted([(str(e.originator_id), e.kind, repr(e.texts)) for e in decided if isinstance(e, Notice.Published)]
                  + [(str(e.originator_id), e.kind, repr(e.recipient), repr(e.content)) for e in decided
                     if isinstance(e, Delivery.Requested)])


def test_the_urgent_notice_names_the_building_when_casework_is_heard_before_intake(tmp_path):
    late = told(tmp_path, len(CASEWORK))
    urgent = next(t for t in late if t[1] == "urgent_opened")
    assert "幸福里3号楼" in urgent[2]
    assert ("case_resolved" in {t[1] for t in late}) and late == told(tmp_path, 0)


@settings(max_examples=20, deadline=None)
@given(reported_at=st.integers(0, len(CASEWORK)))
def test_every_interleaving_of_intake_and_casework_tells_the_same(tmp_path_factory, reported_at):
    tmp = tmp_path_factory.mktemp("order")
    assert told(tmp, reported_at) == told(tmp, 0)


def test_a_case_opened_with_its_facts_needs_no_matter_read_afterwards(tmp_path, monkeypatch):
    """CaseOpened carries the issue's facts: reading intake's matter again for every later case event was a query
    per event (15 % of the worker's time at 40 reports/s)."""
    import services.notifications.application as application

    reads = []
    real = application.find_matter
    monkeypatch.setattr(application, "find_matter", lambda db, issue_id: reads.append(issue_id) or real(db, issue_id))
    app = NotificationsApplication(Settings(None, "", tmp_path / "n"), channels=("sms",), clock=lambda: NOW)
    for event in [REPORTED, *CASEWORK]:
        app.process(event)
    app.close()
    assert reads == []


def test_a_case_opened_and_dispatched_in_one_event_tells_the_party_and_links_once(tmp_path):
    """The first dispatch rides on CaseOpened: the party hears of it (交办通知) as from a CaseAssigned, and the
    case's link is one event (Linked with its party), not Linked then Assigned."""
    from services.notifications.domain import CaseLink

    opened = CASEWORK[0]
    opened = upstream("casework", "CaseOpened", 1, {**opened.data, "party": "幸福里物业", "party_kind": "property",
                                                    "assigned_at": "2026-11-23T02:00:00Z"}, CASE)
    app = NotificationsApplication(Settings(None, "", tmp_path / "n"), channels=("email",), clock=lambda: NOW)
    app.process(REPORTED, opened)
    decided = [app.domain_event(n) for n in app.notifications_after(0)]
    app.close()
    assert [type(e).__name__ for e in decided if isinstance(e, CaseLink.Event)] == ["Linked"]
    told = [e for e in decided if isinstance(e, Delivery.Requested)]
    assert [(d.kind, d.recipient) for d in told] == [("case_assigned", {"kind": "party", "party": "幸福里物业"})]

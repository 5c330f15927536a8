"""The notifications Application on the in-memory store: decisions recorded once, with their facts."""
import base64
import json
import os
from datetime import datetime, timezone

import pytest
from eventsourcing.persistence import IntegrityError

from services.notifications.application import NotificationsApplication
from services.notifications.domain import Delivery, Notice
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from shared.errors import Conflict, InvalidInput

ISSUE = "8a4f7c62-1d2b-4c1e-9a4f-000000000001"
CASE = "8a4f7c62-1d2b-4c1e-9a4f-0000000000c1"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


def upstream(service, name, seq, data, subject):
    return from_cloudevent(to_cloudevent(service, name, sequence=seq, prevsequence=seq - 1 or None,
                                         subject=subject, time=NOW, data=data))


REPORTED = upstream("intake", "IssueReported", 1, {
    "issue_id": ISSUE, "channel": "hotline", "category": "安全隐患",
    "tags": [], "title": "3号楼2单元502室楼道灯坏了,电话13812345678", "description": "请联系13812345678",
    "location": {"community": "幸福里", "building": "3", "unit": "2"}, "reporter_ref": "rp-0123456789abcdef",
    "reported_at": "2026-11-23T01:00:00Z"}, ISSUE)
OPENED = upstream("casework", "CaseOpened", 1, {
    "case_id": CASE, "issue_id": ISSUE, "tier": "urgent", "category": "安全隐患",
    "due": {"verify_by": "2026-11-24T02:00:00Z", "plan_by": "2026-11-25T02:00:00Z"},
    "opened_at": "2026-11-23T02:00:00Z", "triage_reason": "安全隐患"}, CASE)
RESOLVED = upstream("casework", "CaseResolved", 2, {"case_id": CASE, "resolved_at": "2026-11-23T08:00:00Z"}, CASE)


@pytest.fixture
def app(tmp_path):
    settings = Settings(database_url=None, amqp_uri="", var_dir=tmp_path)
    application = NotificationsApplication(settings, clock=lambda: NOW,
                                           channels=("webhook", "sms", "wechat", "email"))
    yield application
    application.close()


def recorded(app):
    return [app.domain_event(n) for n in app.notifications_after(0)]


def test_an_urgent_case_becomes_a_board_notice_that_says_what_it_is_about_without_personal_data(app):
    app.process(REPORTED)
    app.process(OPENED)
    notices = [e for e in recorded(app) if isinstance(e, Notice.Published)]
    assert [n.kind for n in notices] == ["urgent_opened"]
    text = json.dumps(notices[0].texts, ensure_ascii=False)
    assert "楼道灯坏了" in text and "幸福里3号楼" in text
    assert "13812345678" not in text and "502" not in text and "2单元" not in text


def test_the_reporter_is_addressed_by_reference_and_the_log_holds_no_clear_contact(app):
    app.process(REPORTED)
    app.process(OPENED)
    app.process(RESOLVED)
    to_reporter = [e for e in recorded(app) if isinstance(e, Delivery.Requested) and e.channel == "sms"]
    assert [(d.kind, d.recipient) for d in to_reporter] == [
        ("issue_received", {"kind": "reporter", "reporter_ref": "rp-0123456789abcdef"}),
        ("case_resolved", {"kind": "reporter", "reporter_ref": "rp-0123456789abcdef"})]
    assert "13812345678" not in repr(recorded(app))


def test_a_redelivered_upstream_event_decides_nothing_twice(app):
    app.process(REPORTED)
    before = len(recorded(app))
    with pytest.raises(IntegrityError):
        app.process(REPORTED)
    assert len(recorded(app)) == before


def test_a_case_notifications_never_saw_reported_still_gets_its_notice(app):
    app.process(OPENED)
    notice = next(e for e in recorded(app) if isinstance(e, Notice.Published))
    assert notice.texts["zh"]["title"] == "紧急问题公示:一项诉求"


def test_a_subscription_gets_a_masked_copy_of_each_matching_event_only(app):
    sub, created = app.subscribe({"url": "https://grid.example/hooks", "types": ["intake.*"], "secret": SECRET},
                                 "grid-1")
    again, created_again = app.subscribe({"url": "https://grid.example/hooks", "types": ["intake.*"],
                                          "secret": SECRET}, "grid-1")
    assert created and not created_again and again["subscription_id"] == sub["subscription_id"]
    app.process(REPORTED)
    app.process(OPENED)
    copies = [e for e in recorded(app) if isinstance(e, Delivery.Requested) and e.channel == "webhook"]
    assert len(copies) == 1
    body = json.loads(copies[0].content["body"])
    assert (body["id"], body["type"], body["sequence"]) == ("intake-1", "cn.yishi.intake.IssueReported.v2", 1)
    assert "13812345678" not in copies[0].content["body"] and body["data"]["location"]["unit"] is None


def test_a_reused_idempotency_key_with_another_subscription_is_a_conflict_naming_the_key(app):
    first, _ = app.subscribe({"url": "https://grid.example/hooks", "types": ["intake.*"], "secret": SECRET}, "grid-2")
    for other in ({"url": "https://grid.example/other", "types": ["intake.*"], "secret": SECRET},
                  {"url": "https://grid.example/hooks", "types": ["casework.*"], "secret": SECRET}):
        with pytest.raises(Conflict) as refused:
            app.subscribe(other, "grid-2")
        assert refused.value.field == "Idempotency-Key"
    again, created = app.subscribe({"url": "https://grid.example/hooks", "types": ["intake.*"], "secret": SECRET},
                                   "grid-2")
    assert (again, created) == (first, False)


def test_an_old_report_still_carrying_its_tracking_code_reaches_no_subscriber_with_it(app):
    app.subscribe({"url": "https://grid.example/hooks", "types": ["*"], "secret": SECRET})
    v1 = to_cloudevent("intake", "IssueReported", sequence=1, prevsequence=None, subject=ISSUE, time=NOW,
                       data=REPORTED.data)
    v1 |= {"type": "cn.yishi.intake.IssueReported.v1", "data": {**v1["data"], "tracking_code": "YS-20261123-ABCDEFGH"}}
    app.process(from_cloudevent(v1))  # a v1 message left in a queue or a dead letter from before v2
    assert "YS-20261123-ABCDEFGH" not in repr(recorded(app))


@pytest.mark.parametrize("payload, field", [
    ({"url": "ftp://x", "types": ["*"], "secret": SECRET}, "url"),
    ({"url": "https://x", "types": [], "secret": SECRET}, "types"),
    ({"url": "https://x", "types": ["case work"], "secret": SECRET}, "types[0]"),  # the pattern itself
    ({"url": "https://x", "types": ["*"], "secret": "hunter2"}, "secret"),
    ({"url": "https://x", "types": ["*"], "secret": "whsec_c2hvcnQ="}, "secret"),
])
def test_a_malformed_subscription_is_refused_naming_the_field(app, payload, field):
    with pytest.raises(InvalidInput) as refused:
        app.subscribe(payload)
    assert refused.value.field == field


def test_a_case_raised_to_urgent_is_announced_and_its_progress_published(app):
    app.process(REPORTED)
    app.process(upstream("casework", "CaseOpened", 1, {**OPENED.data, "tier": "routine"}, CASE))
    app.process(upstream("casework", "CaseRetriaged", 2, {
        "case_id": CASE, "issue_id": ISSUE, "tier": "urgent", "reason": "楼道漆黑,老人摔倒风险",
        "due": {"verify_by": "2026-11-24T02:00:00Z", "plan_by": "2026-11-25T02:00:00Z"}}, CASE))
    app.process(upstream("casework", "SiteVerified", 3, {
        "case_id": CASE, "issue_id": ISSUE, "verified_at": "2026-11-23T06:00:00Z"}, CASE))
    kinds = [e.kind for e in recorded(app) if isinstance(e, Notice.Published)]
    assert kinds == ["urgent_opened", "urgent_verified"]

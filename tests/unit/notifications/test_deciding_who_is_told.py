"""Who is told what, and what a public notice may say. Domain only: no store, no broker."""
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from services.notifications.domain import (
    TRACKING_CODE_SLOT, About, Delivery, RetryPolicy, SubscriptionBook, decide, matches, public_data, public_text,
)
from services.notifications.templates import render

CASE = "8a4f7c62-1d2b-4c1e-9a4f-0000000000c1"
URGENT = About(issue_id="i-1", case_id=CASE, title="3号楼楼道灯坏了", category="安全隐患", community="幸福里",
               building="3", reporter_ref="rp-1", tier="urgent", party="物业公司")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def audiences(tells):
    return sorted((t.audience, t.kind) for t in tells)


def test_an_urgent_case_goes_on_the_board_and_to_the_wechat_group():
    tells = decide("casework", "CaseOpened", {"case_id": CASE, "tier": "urgent", "due": {}}, URGENT)
    assert audiences(tells) == [("board", "urgent_opened"), ("wechat", "urgent_opened")]
    assert decide("casework", "CaseOpened", {"case_id": CASE, "tier": "routine", "due": {}}, URGENT) == []


def test_a_red_alert_goes_to_the_secretary_and_the_responsible_party_but_a_yellow_one_to_no_one():
    red = {"case_id": CASE, "level": "red", "deadline": "resolve", "due": "2026-11-30T10:00:00Z"}
    assert audiences(decide("casework", "DeadlineWarned", red, URGENT)) == [
        ("party", "deadline_red"), ("secretary", "deadline_red")]
    assert decide("casework", "DeadlineWarned", {**red, "level": "yellow"}, URGENT) == []


def test_the_reporter_hears_of_their_report_and_its_resolution_by_reference_only():
    reported = decide("intake", "IssueReported", {"issue_id": "i-1"}, URGENT)
    resolved = decide("casework", "CaseResolved", {"case_id": CASE, "resolved_at": "x"}, URGENT)
    assert audiences(reported) == [("reporter", "issue_received")]
    assert audiences(resolved) == [("board", "urgent_resolved"), ("reporter", "case_resolved"),
                                   ("wechat", "urgent_resolved")]
    assert decide("casework", "CaseResolved", {"case_id": CASE}, About(case_id=CASE)) == []


def test_escalation_to_the_assembly_is_public_and_to_the_secretary_is_not():
    to_secretary = decide("casework", "CaseEscalated", {"case_id": CASE, "to": "secretary", "reason": "超期"}, URGENT)
    to_assembly = decide("casework", "CaseEscalated", {"case_id": CASE, "to": "assembly", "reason": "多部门"}, URGENT)
    assert audiences(to_secretary) == [("secretary", "case_escalated")]
    assert audiences(to_assembly) == [("board", "case_escalated_public"), ("secretary", "case_escalated")]


def test_meeting_agenda_minutes_and_results_are_published_on_board_and_wechat():
    agenda = {"meeting_id": "m-1", "meeting_at": "2026-11-28T07:00:00Z", "published_at": "2026-11-23T07:00:00Z",
              "topics": [{"topic_id": "t1", "background": "停车难", "draft_plan": "增设车位"}]}
    for name, data in (("AgendaPublished", agenda), ("ResultsReleased", {"month": "2026-11"}),
                       ("MeetingMinuted", {"meeting_id": "m-1", "resolutions": []})):
        assert {t.audience for t in decide("meetings", name, data, About())} == {"board", "wechat"}


@pytest.mark.parametrize("text, hidden", [
    ("3号楼2单元502室灯坏了", ["502", "2单元"]), ("住1-502的张先生", ["1-502"]), ("3-2-1201门口堵了", ["1201"]),
    ("电话 138 1234 5678", ["1234 5678"]), ("1201房漏水", ["1201"]),
])
def test_public_text_hides_phone_numbers_and_exact_units_but_keeps_the_building(text, hidden):
    masked = public_text(text)
    assert all(h not in masked for h in hidden), masked
    assert public_text("3号楼楼道灯坏了") == "3号楼楼道灯坏了"
    assert public_text("2026-11-24 10:00前核实") == "2026-11-24 10:00前核实"


def test_event_data_leaving_for_a_city_system_keeps_ids_and_drops_the_unit():
    data = {"issue_id": "8a4f7c62-1d2b-4c1e-9a4f-000000000001", "title": "502室 13812345678",
            "location": {"community": "幸福里", "building": "3", "unit": "2"}}
    out = public_data(data)
    assert out["issue_id"] == data["issue_id"]
    assert out["location"] == {"community": "幸福里", "building": "3", "unit": None}
    assert "13812345678" not in out["title"] and "502" not in out["title"]


def test_notices_render_in_chinese_and_english_with_local_times():
    texts = render("urgent_opened", {"title": "3号楼楼道灯坏了 13812345678", "category": "安全隐患",
                                     "community": "幸福里", "building": "3", "verify_by": "2026-11-24T02:00:00Z"})
    assert texts["zh"]["title"] == "紧急问题公示:3号楼楼道灯坏了 138****5678"
    assert "幸福里3号楼" in texts["zh"]["body"] and "2026-11-24 10:00前现场核实" in texts["zh"]["body"]
    assert texts["en"]["title"].startswith("Urgent issue:") and "verified on site by 2026-11-24 10:00" in texts["en"]["body"]


def test_the_receipt_holds_a_slot_for_the_tracking_code_filled_only_when_sent_to_the_reporter():
    reported = decide("intake", "IssueReported", {"issue_id": "i-1"}, URGENT)[0]
    texts = render("issue_received", {"title": "楼道灯坏了", **reported.params})
    assert TRACKING_CODE_SLOT in texts["zh"]["body"] and TRACKING_CODE_SLOT in texts["en"]["body"]


def test_back_off_doubles_up_to_its_cap_and_gives_up_after_the_last_attempt():
    policy = RetryPolicy(max_attempts=4, base_seconds=1, cap_seconds=3)
    assert [(policy.retry_at(n, NOW) - NOW).total_seconds() for n in (1, 2, 3)] == [1, 2, 3]
    assert policy.retry_at(4, NOW) is None


def delivery():
    return Delivery(id=uuid4(), channel="webhook", recipient={"kind": "subscription", "subscription_id": "s"},
                    kind="CaseOpened", about=CASE, source_event="casework-1", content={"body": "{}"},
                    requested_at=NOW)


def test_a_delivery_retries_with_back_off_then_is_dead_lettered():
    d, policy = delivery(), RetryPolicy(max_attempts=3, base_seconds=10)
    assert d.due(NOW)
    d.record_failure(NOW, "HTTP 500", permanent=False, retry=policy)
    assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 1, NOW + timedelta(seconds=10))
    assert not d.due(NOW + timedelta(seconds=9)) and d.due(NOW + timedelta(seconds=10))
    d.record_failure(NOW, "HTTP 500", permanent=False, retry=policy)
    d.record_failure(NOW, "HTTP 503", permanent=False, retry=policy)
    assert (d.status, d.attempts, d.last_error, d.due(NOW + timedelta(days=1))) == ("failed", 3, "HTTP 503", False)


def test_a_permanent_failure_is_dead_lettered_at_once_and_a_success_ends_it():
    d = delivery()
    d.record_failure(NOW, "HTTP 410", permanent=True, retry=RetryPolicy())
    assert (d.status, d.attempts) == ("failed", 1)
    ok = delivery()
    webhook_id = ok.webhook_id
    ok.delivered(NOW, "https://city.example/hook")
    assert (ok.status, ok.attempts, ok.webhook_id) == ("delivered", 1, webhook_id)


def test_subscription_patterns_match_full_and_short_event_types():
    assert matches(["casework.*"], "cn.yishi.casework.CaseOpened.v1")
    assert matches(["*.CaseClosed"], "cn.yishi.casework.CaseClosed.v1")
    assert matches(["cn.yishi.intake.*"], "cn.yishi.intake.IssueReported.v1")
    assert not matches(["casework.CaseClosed"], "cn.yishi.casework.CaseOpened.v1")
    book = SubscriptionBook(id=uuid4())
    book.subscribe("a", "http://a", ["meetings.*"], "whsec_x", NOW)
    book.subscribe("b", "http://b", ["*"], "whsec_x", NOW)
    book.cancel("b", NOW)
    assert [s["subscription_id"] for s in book.matching("cn.yishi.meetings.AgendaPublished.v1")] == ["a"]


def test_every_step_of_an_urgent_case_is_published_and_a_case_raised_to_urgent_too():
    verified = decide("casework", "SiteVerified", {"case_id": CASE, "verified_at": "2026-11-23T05:00:00Z"}, URGENT)
    planned = decide("casework", "PlanProposed", {"case_id": CASE, "plan": "更换灯具,联系电话13812345678"}, URGENT)
    assert audiences(verified) == [("board", "urgent_verified"), ("wechat", "urgent_verified")]
    assert audiences(planned) == [("board", "urgent_plan"), ("wechat", "urgent_plan")]
    notice = render("urgent_plan", planned[0].params)["zh"]["body"]
    assert "更换灯具" in notice and "13812345678" not in notice
    assert "2026-11-23 13:00" in render("urgent_verified", verified[0].params)["zh"]["body"]
    routine = About(case_id=CASE, title="路灯故障", tier="routine")
    assert decide("casework", "SiteVerified", {"case_id": CASE, "verified_at": "x"}, routine) == []
    raised = decide("casework", "CaseRetriaged", {"case_id": CASE, "tier": "urgent", "due": {}}, routine)
    assert audiences(raised) == [("board", "urgent_opened"), ("wechat", "urgent_opened")]

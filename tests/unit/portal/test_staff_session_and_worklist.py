"""The staff session's signed values and CSRF tokens, and the worklist's order, counts and scope."""

from werkzeug.datastructures import MultiDict

from services.portal import staff
from services.portal.session import Signer
from shared.edge.identity import Staff

SIGNER = Signer(b"k" * 32)


def test_a_signed_value_reads_back_only_unaltered_for_its_purpose_and_in_time():
    signed = SIGNER.dumps("session", {"token": "t"}, 60)
    assert SIGNER.loads("session", signed)["token"] == "t"
    assert SIGNER.loads("login", signed) is None  # a login attempt's cookie is no session
    assert SIGNER.loads("session", signed[:-1] + ("A" if signed[-1] != "A" else "B")) is None
    assert Signer(b"x" * 32).loads("session", signed) is None
    assert SIGNER.loads("session", SIGNER.dumps("session", {"token": "t"}, -1)) is None
    assert SIGNER.loads("session", None) is None and SIGNER.loads("session", "garbage") is None


def test_csrf_tokens_differ_per_browser_seed():
    assert SIGNER.csrf("a" * 32) != SIGNER.csrf("b" * 32)
    assert SIGNER.csrf("a" * 32) == SIGNER.csrf("a" * 32)


def case(title, status="open", tier="routine", alert=None, overdue=False, due="2026-12-10T00:00:00Z",
         community="幸福里"):
    return {"title": title, "status": status, "tier": tier, "alert_level": alert, "overdue": overdue,
            "community": community, "deadlines": {"resolve": {"due": due, "met_at": None}}}


def test_the_worst_clock_comes_first_and_counts_cover_every_matching_case():
    cases = [case("green-late", due="2026-12-20T00:00:00Z"), case("closed", status="closed"),
             case("yellow", alert="yellow"), case("red", alert="red", tier="urgent"),
             case("green-soon", due="2026-12-05T00:00:00Z")]
    listed = staff.worklist(cases, 1)
    assert [r["title"] for r in listed["rows"]] == ["red", "yellow", "green-soon", "green-late", "closed"]
    assert listed["counts"]["lights"] == {"red": 1, "yellow": 1, "green": 2} and listed["counts"]["total"] == 5
    assert listed["rows"][-1]["light"] is None and listed["rows"][-1]["next_due"] is None


def test_a_community_bound_worker_sees_only_their_community_whatever_the_query_says():
    worker = Staff("s", "李娜", ("community_worker",), community="幸福里")
    assert staff.query(MultiDict({"community": "和平里", "overdue": "maybe"}), worker) == {"community": "幸福里"}
    assert staff.ledger_params({"community": "幸福里", "tier": "urgent"}) == {
        "community": "幸福里", "tier": "urgent", "limit": 500}  # casework filters by community (its read model's index)
    everyone = Staff("s", "王书记", ("secretary",))
    assert staff.query(MultiDict({"community": "和平里"}), everyone) == {"community": "和平里"}


def test_a_role_is_offered_only_its_actions_and_none_on_a_closed_case():
    party = Staff("s", "王师傅", ("property",), party="安居物业")
    assert staff.actions_for(party, {"status": "open"}) == ["plan", "resolution", "reply", "note"]  # not sent yet
    worker = Staff("s", "李娜", ("community_worker",))
    assert set(staff.actions_for(worker, {"status": "reopened"})) == set(staff.ACTIONS) - {
        "acknowledgement", "return", "extension", "return-dispute", "return-ruling", "extension-decision"}
    assert staff.actions_for(worker, {"status": "closed"}) == []


def test_the_parties_workflow_is_offered_at_its_step():
    party = Staff("s", "王师傅", ("property",), party="安居物业")
    secretary = Staff("s", "王书记", ("secretary",))
    sent = {"status": "open", "dispatch": {"party": "安居物业", "acknowledged_at": None, "returned_at": None,
                                           "return_state": None}, "extensions": []}
    assert staff.actions_for(party, sent)[:3] == ["acknowledgement", "return", "extension"]
    taken = sent | {"dispatch": sent["dispatch"] | {"acknowledged_at": "2026-12-02T02:00:00Z"}}
    assert "acknowledgement" not in staff.actions_for(party, taken) and "return" in staff.actions_for(party, taken)
    waiting = taken | {"extensions": [{"requested_due": "2026-12-20T15:59:59Z", "decision": None}]}
    assert "extension" not in staff.actions_for(party, waiting)
    assert "extension-decision" in staff.actions_for(secretary, waiting)
    assert "extension-decision" not in staff.actions_for(secretary, taken)
    returned = sent | {"dispatch": sent["dispatch"] | {"returned_at": "2026-12-02T03:00:00Z", "return_state": "pending"}}
    assert not {"acknowledgement", "return", "extension"} & set(staff.actions_for(party, returned))
    assert {"return-dispute", "return-ruling"} <= set(staff.actions_for(secretary, returned))
    disputed = returned | {"dispatch": returned["dispatch"] | {"return_state": "disputed"}}
    worker = Staff("s", "李娜", ("community_worker",))
    assert "return-dispute" not in staff.actions_for(worker, disputed)
    assert "return-ruling" in staff.actions_for(secretary, disputed) and "return-ruling" not in staff.actions_for(
        worker, disputed)


def test_yes_no_choices_and_ticked_readers_become_the_command_body():
    form = MultiDict([("return-ruling-upheld", "no"), ("return-ruling-reason", "红线内"),
                      ("note-text", "走维修基金"), ("note-visible_to", "secretary"), ("note-visible_to", "operator")])
    assert staff.command_body("return-ruling", form) == {"upheld": False, "reason": "红线内"}
    assert staff.command_body("note", form) == {"text": "走维修基金", "visible_to": ["secretary"]}  # no such reader
    assert staff.command_body("extension-decision", MultiDict()) == {}  # casework names what is missing


def test_a_form_becomes_the_command_body_and_a_refusal_finds_its_field():
    form = MultiDict({"plan-plan": " 更换主板 ", "plan-due": "", "merge-into": "abc"})
    assert staff.command_body("plan", form) == {"plan": "更换主板"}
    assert staff.command_body("merge", form) == {"into_issue_id": "abc"}
    assert staff.error_field("plan", "due") == "plan-due"
    assert staff.error_field("merge", "into_issue_id") == "merge-into"
    assert staff.error_field("plan", "case_id") == "plan"  # no such input: shown at the top of the form
    assert staff.error_field("plan", None) == "plan"


def test_history_keeps_who_and_when_and_whether_the_chain_holds():
    trail = {"verified": False, "broken_at": 2, "reason": "hash", "entries": [
        {"version": 1, "type": "Opened", "type_zh": "立案分级", "at": "2026-12-01T00:00:00Z",
         "by": {"role": "system", "name": "yishi"}, "data": {"tier": "urgent", "secret": "x"}}]}
    shown = staff.history(trail)
    assert shown["verified"] is False and shown["broken_at"] == 2
    assert shown["entries"][0]["details"] == [("tier", "urgent")]

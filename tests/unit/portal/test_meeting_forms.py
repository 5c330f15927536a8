"""The meeting forms as meetings' command bodies, and meetings' refusals placed beside their inputs."""
from werkzeug.datastructures import MultiDict

from services.portal import meeting_forms as forms


def test_each_stage_offers_its_steps_to_its_roles():
    assert "agenda" in forms.actions_for(("community_worker",), {"status": "scheduled"})
    assert "motions" not in forms.actions_for(("community_worker",), {"status": "open"})  # the recorder's
    assert "motions" in forms.actions_for(("secretary",), {"status": "open"})
    assert forms.actions_for(("secretary",), {"status": "closed"}) == ["minutes"]
    assert forms.actions_for(("property",), {"status": "open"}) == []
    assert forms.actions_for(("secretary",), {"status": "minuted"}) == []


def test_forms_become_bodies():
    form = MultiDict([("open-present", "p1"), ("open-present", "p2"), ("open-chair", "p1"), ("open-recorder", "p2"),
                      ("statements-seconds", "360"), ("statements-summary", "说明"), ("disagreements-positions", "甲\n\n乙 "),
                      ("motions-text", "划线"), ("motions-major", "yes"), ("participants-name", "孙经理"),
                      ("participants-role", "property_manager"), ("minutes-text-1", "划线"), ("minutes-owner-1", "孙")])
    assert forms.body("open", form) == {"present": ["p1", "p2"], "chair": "p1", "recorder": "p2"}
    assert forms.body("statements", form) == {"summary": "说明", "seconds": 360}
    assert forms.body("disagreements", form)["positions"] == ["甲", "乙"]
    assert forms.body("motions", form) == {"text": "划线", "major": True}
    assert forms.body("participants", form) == {"participants": [
        {"name": "孙经理", "role": "property_manager", "present": False}]}
    assert forms.body("minutes", form) == {"resolutions": [{"text": "划线", "owner": "孙"}]}


def test_a_time_typed_on_the_councils_clock_is_sent_with_its_offset():
    assert forms.local_time("2026-12-06T19:30") == "2026-12-06T19:30:00+08:00"
    assert forms.local_time("") is None
    assert forms.schedule(MultiDict({"schedule-kind": "regular", "schedule-meeting_at": "2026-12-06T19:30"})) == {
        "kind": "regular", "meeting_at": "2026-12-06T19:30:00+08:00"}


def test_refusals_find_their_inputs():
    assert forms.error_field("agenda", "topics[0].draft_plan") == "agenda-draft_plan"
    assert forms.error_field("minutes", "resolutions[2].owner") == "minutes-owner-2"
    assert forms.error_field("participants", "participants[0].role") == "participants-role"
    assert forms.error_field("open", "meeting_at") == "open"  # no such input: at the top of the form
    assert forms.error_field("schedule", "meeting_at") == "schedule-meeting_at"
    assert forms.motion_path("tally", MultiDict({"tally-motion_id": "m2"})) == "motions/m2/tally"

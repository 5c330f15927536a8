"""Unknown input is refused by name, never ignored (a typo must not silently widen a list or lose a field):
every service's query parameters, and the nested keys of casework's, meetings' and Open311's bodies."""
import inspect
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.casework import commands as casework_commands
from services.casework.service import CaseworkService
from services.intake import open311
from services.intake.boundaries import Boundaries
from services.intake.service import IntakeService
from services.meetings import commands as meeting_commands
from services.meetings.service import MeetingsService
from services.notifications.service import NotificationsService
from shared.errors import InvalidInput
from tests.support.identity import http

NOW = "2026-12-01T00:00:00+00:00"


def _entrypoints():
    for service in (IntakeService, CaseworkService, MeetingsService, NotificationsService):
        for name, fn in vars(service).items():
            if callable(fn) and hasattr(fn, "__wrapped__") and not isinstance(fn, staticmethod) \
                    and name not in ("health", "prometheus"):
                yield pytest.param(service, name, id=f"{service.name}.{name}")


@pytest.mark.parametrize("service, name", list(_entrypoints()))
def test_every_endpoint_refuses_an_unknown_query_parameter_by_name(service, name):
    fn = getattr(service, name)
    params = [p for p in inspect.signature(inspect.unwrap(fn)).parameters if p not in ("self", "request")]
    request = Request(EnvironBuilder(method="GET", path="/", query_string="limit=1&bogus=1",  # signed in, every role
                                     headers=http.headers).get_environ())
    response = fn(object.__new__(service), request, **{p: "x" for p in params})
    body = json.loads(response.get_data())
    named = body[0]["field"] if isinstance(body, list) else body["field"]  # Open311's error shape is a list
    assert response.status_code in (400, 422) and named == "bogus", body


ACTOR = {"role": "secretary", "name": "李书记"}


@pytest.mark.parametrize("command, body, field", [
    ("plan", {"actor": ACTOR, "plan": "换灯", "due": "2026-12-05", "owner": "物业"}, "owner"),
    ("resolution", {"actor": ACTOR | {"phone": "1"}, "summary": "已换"}, "actor.phone"),
    ("triage", {"actor": ACTOR, "tier": "urgent", "reason": "r", "teir": "urgent"}, "teir"),
])
def test_casework_commands_refuse_unknown_fields_nested_too(command, body, field):
    with pytest.raises(InvalidInput) as refused:
        casework_commands.parse(command, body)
    assert refused.value.field == field


def test_a_survey_item_with_an_unknown_key_is_refused_by_its_path():
    body = {"actor": ACTOR, "period": "2026Q4", "items": [{"case_id": "c", "satisfied": 1, "total": 2, "rate": 0.5}]}
    with pytest.raises(InvalidInput) as refused:
        casework_commands.parse_survey(body)
    assert refused.value.field == "items[0].rate"


@pytest.mark.parametrize("parse, body, field", [
    (meeting_commands.topics, {"topics": [{"background": "b", "draft_plan": "p", "owner": "x"}]}, "topics[0].owner"),
    (meeting_commands.participants, {"participants": [{"name": "王", "role": "resident", "phone": "1"}]},
     "participants[0].phone"),
    (meeting_commands.minutes, {"resolutions": [{"text": "t", "owner": "o", "due": "2026-12-09", "dua": "x"}]},
     "resolutions[0].dua"),
    (meeting_commands.vote, {"motion_id": "m1", "choice": "for", "ballot": "b", "weight": 2}, "weight"),
    (meeting_commands.cancellation, {"reason": "雨", "notify": False}, "notify"),
    (meeting_commands.closing, {"force": True}, "force"),
    (meeting_commands.release, {"month": "2026-11", "dry_run": True}, "dry_run"),
])
def test_meeting_commands_refuse_unknown_fields_nested_too(parse, body, field):
    with pytest.raises(InvalidInput) as refused:
        parse(body)
    assert refused.value.field == field


def test_an_open311_request_with_an_unknown_field_is_refused_by_name():
    form = {"service_code": "facility", "description": "灯坏了", "attribute[community]": "幸福里"}
    assert open311.report_payload(form | {"jurisdiction_id": "x", "email": "a@b.c"}, Boundaries())["channel"] == "open311"
    for extra in ("attribute[room]", "phone_number"):
        with pytest.raises(InvalidInput) as refused:
            open311.report_payload(form | {extra: "502"}, Boundaries())
        assert refused.value.field == extra


def test_a_subscription_with_an_unknown_field_is_refused_by_name():
    from services.notifications.requests import parse_subscription
    with pytest.raises(InvalidInput) as refused:
        parse_subscription({"url": "https://example.org/hook", "types": ["casework.*"], "secret": "whsec_x",
                            "filter": "x"})
    assert refused.value.field == "filter"


def test_intakes_vote_and_merge_bodies_refuse_an_unknown_field_by_name(tmp_path):
    from services.intake.application import IntakeApplication
    from services.intake.reports import vote_for_issue
    from shared.config import Settings
    app = IntakeApplication(Settings(None, "", tmp_path / "var"), env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for attempt, field in ((lambda: vote_for_issue(app, "x", {"voter": "rp-1", "votes": 5}), "votes"),
                           (lambda: app.merge_issue("x", {"into_issue_id": "y", "by": "李", "force": True}), "force")):
        with pytest.raises(InvalidInput) as refused:
            attempt()
        assert refused.value.field == field

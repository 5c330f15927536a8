import json
from datetime import datetime, timezone

import pytest

from shared.contracts import CATALOGUE, Catalogue, Contract, ContractError, from_cloudevent, to_cloudevent

AT = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
ISSUE = {"issue_id": "8a4f7c62-1d2b-4c1e-9a4f-0d8e4b3a2c11", "channel": "hotline", "category": "设施维护", "tags": ["路灯"], "title": "路灯不亮", "description": "",
         "location": {"community": "幸福里"}, "reporter_ref": "rp-1", "reported_at": "2026-11-23T02:00:00Z"}


def test_envelope_is_cloudevents_with_stable_id_and_sequence():
    body = to_cloudevent("intake", "IssueReported", sequence=7, prevsequence=5, subject=ISSUE["issue_id"],
                         time=AT, data=ISSUE)
    assert body["specversion"] == "1.0"
    assert body["id"] == "intake-7" and body["sequence"] == 7 and body["prevsequence"] == 5
    assert body["type"] == "cn.yishi.intake.IssueReported.v2"
    assert body["source"] == "/yishi/intake"
    assert body["time"] == "2026-11-23T02:00:00Z"
    event = from_cloudevent(body)
    assert (event.service, event.name, event.sequence, event.data) == ("intake", "IssueReported", 7, ISSUE)


def test_payload_that_breaks_its_contract_is_refused_naming_the_field():
    with pytest.raises(ContractError) as err:
        to_cloudevent("intake", "IssueReported", sequence=1, prevsequence=None, subject="x", time=AT,
                      data={**ISSUE, "channel": "fax"})
    assert err.value.field == "data.channel"


@pytest.mark.parametrize("contract", list(CATALOGUE), ids=lambda c: c.type_uri)
def test_the_compiled_check_of_every_contract_agrees_with_jsonschema(contract):
    """The fast path (fastjsonschema) must refuse what jsonschema refuses: wrong types everywhere."""
    props = contract.schema.get("properties", {})
    for name in props:
        for wrong in (None, {"x": 1}, [object.__name__], -1.5):
            bad = {name: wrong}
            assert contract._validator.is_valid(bad) == _compiled_accepts(contract, bad), (name, wrong)


def _compiled_accepts(contract, data):
    try:
        contract._check(data)
        return True
    except Exception:
        return False


@pytest.mark.parametrize("change, field", [
    ({"specversion": "0.3"}, "specversion"),
    ({"type": "IssueReported"}, "type"),
    ({"source": "/yishi/casework"}, "source"),
    ({"sequence": 0}, "sequence"),
    ({"prevsequence": 9}, "prevsequence"),
    ({"id": "intake-8"}, "id"),
    ({"time": "yesterday"}, "time"),
    ({"time": "2026-11-23T10:00:00"}, "time"),
])
def test_malformed_envelope_is_refused_naming_the_attribute(change, field):
    body = to_cloudevent("intake", "IssueReported", sequence=7, prevsequence=5, subject="s", time=AT, data=ISSUE)
    with pytest.raises(ContractError) as err:
        from_cloudevent({**body, **change})
    assert err.value.field == field


def test_body_that_is_not_json_is_refused():
    with pytest.raises(ContractError) as err:
        from_cloudevent(b"\xff not json")
    assert err.value.field == "body"


def test_consumer_upcasts_an_older_version_to_the_latest():
    catalogue = Catalogue()
    schema = {"type": "object", "required": ["votes", "source"], "properties": {
        "votes": {"type": "integer"}, "source": {"type": "string"}}}
    catalogue.register(Contract("intake", "NeedVoted", 2, schema), upcasters={1: lambda d: {**d, "source": "online"}})
    v1 = {"specversion": "1.0", "id": "intake-3", "source": "/yishi/intake", "type": "cn.yishi.intake.NeedVoted.v1",
          "subject": "i", "time": "2026-11-23T02:00:00Z", "sequence": 3, "prevsequence": None, "data": {"votes": 4}}
    assert from_cloudevent(v1, catalogue).data == {"votes": 4, "source": "online"}
    with pytest.raises(ContractError):
        from_cloudevent({**v1, "type": "cn.yishi.intake.NeedVoted.v3"}, catalogue)


def test_catalogue_names_every_event_of_the_design():
    names = {(c.service, c.name) for c in CATALOGUE}
    for required in [("intake", "IssueReported"), ("casework", "CaseOpened"), ("casework", "CaseEscalated"),
                     ("casework", "ResidentConfirmed"), ("meetings", "MeetingMinuted")]:
        assert required in names


def test_an_old_issue_reported_loses_its_tracking_code_when_read():
    """v1 carried the tracking code, which proves the resident: still in queues, dead letters and old archives."""
    v1 = {"specversion": "1.0", "id": "intake-3", "source": "/yishi/intake", "type": "cn.yishi.intake.IssueReported.v1",
          "subject": ISSUE["issue_id"], "time": "2026-11-23T02:00:00Z", "sequence": 3, "prevsequence": None,
          "data": {**ISSUE, "tracking_code": "YS-20261123-ABCDEFGH"}}
    assert from_cloudevent(v1).data == ISSUE


def test_no_contract_can_carry_a_tracking_code():
    assert all("tracking_code" not in json.dumps(c.schema) for c in CATALOGUE)

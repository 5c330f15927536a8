"""A case opens once per reported issue, however often the report is delivered (in-memory store)."""
from datetime import datetime, timezone

import pytest
from eventsourcing.persistence import IntegrityError

from services.casework.application import CaseworkApplication
from services.casework.domain import PENDING_TRIAGE, case_id_for
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent

ISSUE = {"issue_id": "8a4f7c62-1d2b-4c1e-9a4f-0d8e4b3a2c11", "tracking_code": "YS-20261123-ABCDEFGH",
         "channel": "hotline", "category": "设施维护", "tags": ["路灯"], "title": "路灯不亮", "description": "",
         "location": {"community": "幸福里"}, "reporter_ref": "rp-1", "reported_at": "2026-11-23T02:00:00Z"}


def issue_reported(sequence: int, issue: dict = ISSUE):
    return from_cloudevent(to_cloudevent("intake", "IssueReported", sequence=sequence, prevsequence=None,
                                         subject=issue["issue_id"], time=datetime.now(timezone.utc), data=issue))


@pytest.fixture
def app(tmp_path):
    app = CaseworkApplication(Settings(None, "", tmp_path), env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


def test_reported_issue_opens_a_case_pending_triage(app):
    assert app.process(issue_reported(1)) == 1
    case = app.get_case(str(case_id_for(ISSUE["issue_id"])))
    assert (case.issue_id, case.status, case.tier, case.triage_reason) == (ISSUE["issue_id"], "open", "routine",
                                                                           PENDING_TRIAGE)


def test_redelivered_report_is_refused_by_tracking(app):
    app.process(issue_reported(1))
    with pytest.raises(IntegrityError):
        app.process(issue_reported(1))
    assert app.log_head() == 1


def test_same_issue_under_a_new_sequence_opens_no_second_case(app):
    app.process(issue_reported(1))
    assert app.process(issue_reported(2)) == 0
    assert app.log_head() == 1

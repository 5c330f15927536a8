"""A resident handed an id or a code finds it at once; a staff command never fails because news arrived meanwhile."""
from datetime import datetime, timezone
from uuid import uuid4

import pytest

from services.intake.application import IntakeApplication
from services.intake.projections import case_so_far
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from tests.support.factories import report

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def app(tmp_path):
    app = IntakeApplication(Settings(None, "", tmp_path),
                            clock=lambda: NOW)
    yield app
    app.close()


def case_opened(sequence: int, issue_id: str):
    data = {"case_id": str(uuid4()), "issue_id": issue_id, "tier": "routine", "category": "设施维护",
            "due": {"resolve_by": "2026-12-02T15:59:59Z"}, "opened_at": "2026-11-23T02:00:01Z"}
    return from_cloudevent(to_cloudevent("casework", "CaseOpened", sequence=sequence, prevsequence=None,
                                         subject=data["case_id"], time=NOW, data=data))


def test_a_tracking_code_names_its_issue_before_any_read_model_is_projected(app):
    issue, _ = app.report_issue(report())
    assert app.issue_id_by_tracking_code(issue.tracking_code.lower()) == str(issue.id)
    assert app.issue_id_by_tracking_code("YS-20261123-ZZZZZZZZ") is None


def test_a_staff_merge_never_meets_casework_news_on_the_issue(app):
    """casework's news is a view beside the issue, not an event on it: the merge and the news never conflict."""
    root, _ = app.report_issue(report())
    dup, _ = app.report_issue(report(title="3号楼楼道灯不亮"))
    stale = app.get_issue(str(dup.id))
    app.process(case_opened(1, str(dup.id)))  # casework's news lands between the staff's read and write
    app.get_issue = lambda issue_id, fresh=app.get_issue: stale if issue_id == str(dup.id) else fresh(issue_id)
    merged = app.merge_issue(str(dup.id), {"into_issue_id": str(root.id), "by": "李娜"})
    assert merged.merged_into == str(root.id)
    del app.get_issue
    assert app.get_issue(str(dup.id)).merged_into == str(root.id)
    assert case_so_far(app.read_models, str(dup.id)).status == "open"

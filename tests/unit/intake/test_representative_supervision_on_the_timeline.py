"""The resident's timeline shows a people's congress representative's supervision of their case (代表督办),
in time order between casework's steps, without changing the case's status."""
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from services.intake.application import IntakeApplication
from services.intake.progress import progress_view
from services.intake.projections import case_so_far
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from shared.contracts.envelope import rfc3339
from tests.support.factories import report

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def app(tmp_path):
    app = IntakeApplication(Settings(None, "", tmp_path), clock=lambda: NOW)
    yield app
    app.close()


def send(app, service: str, sequence: int, name: str, at: datetime, **data) -> None:
    app.process(from_cloudevent(to_cloudevent(service, name, sequence=sequence, prevsequence=sequence - 1 or None,
                                              subject=data["case_id"], time=at, data=data)))


def test_the_residents_timeline_shows_a_representatives_supervision_and_its_sign_off(app):
    issue, _ = app.report_issue(report())
    case, rep, me = str(uuid4()), str(uuid4()), str(issue.id)
    send(app, "casework", 1, "CaseOpened", NOW, case_id=case, issue_id=me, tier="routine", category="设施维护",
         due={"resolve_by": rfc3339(NOW + timedelta(days=9))}, opened_at=rfc3339(NOW))
    later = NOW + timedelta(days=10)
    send(app, "liaison", 1, "CaseSupervisionTaken", later, case_id=case, issue_id=me, representative_id=rep,
         reason="逾期未办结", taken_at=rfc3339(later))
    send(app, "casework", 2, "CaseResolved", later + timedelta(days=1), case_id=case, issue_id=me,
         resolved_at=rfc3339(later + timedelta(days=1)), summary="已更换灯具")
    send(app, "liaison", 2, "CaseSupervisionSignedOff", later + timedelta(days=2), case_id=case, issue_id=me,
         representative_id=rep, note="灯具已更换,督办结束", solved=True, signed_off_at=rfc3339(later + timedelta(days=2)))

    so_far = case_so_far(app.read_models, me)
    view = progress_view(app.get_issue(me), so_far, None, by_tracking_code=False)
    assert [(e["status"], e.get("step_zh")) for e in view["timeline"]] == [
        ("received", None), ("open", "已立案分级"), ("open", "人大代表督办中"), ("resolved", "已办结,待您确认"),
        ("resolved", "人大代表督办结束")]
    assert view["timeline"][-1]["note"] == "灯具已更换,督办结束"
    assert view["status"] == "resolved" and so_far.resolutions == 1
    assert rep not in str(view)  # which representative is staff's business

"""A merged case's residents: every reporter may answer it once per resolution, a co-reporter even after the
original reporter closed it; each one's progress query tells the truth and shows only their own answer as theirs.
A report merged as it came in says which issue it repeats, so casework opens its case already merged."""
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest

from services.intake.application import IntakeApplication
from services.intake.duplicates import Candidate
from services.intake.progress import progress_view
from services.intake.projections import case_so_far
from services.intake.published import publish
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from shared.errors import Conflict
from tests.support.factories import report

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
CASE = "8a4f7c62-1d2b-4c1e-9a4f-0000000000c1"
_SEQ = count(1)


@pytest.fixture
def app(tmp_path):
    app = IntakeApplication(Settings(None, "", tmp_path),
                            clock=lambda: NOW + timedelta(days=1))
    yield app
    app.close()


def casework(app, name: str, issue_id: str, **data) -> None:
    body = to_cloudevent("casework", name, sequence=next(_SEQ), prevsequence=None, subject=CASE, time=NOW + timedelta(days=2),
                         data={"case_id": CASE, "issue_id": issue_id, **data})
    app.process(from_cloudevent(body))


def merged_pair(app) -> tuple[str, str]:
    """(original, co-reporter): the second report merged into the first as it came in; the case resolved."""
    root, _ = app.report_issue(report())
    same = [Candidate(str(root.id), root.report["title"], root.category, root.report["location"], root.reported_at,
                      "open")]
    dup, _ = app.report_issue(report(title="1号楼楼道灯不亮"), candidates=lambda draft: same)
    assert dup.merged_into == str(root.id)
    casework(app, "CaseOpened", str(root.id), tier="urgent", category="设施维护", due={},
             opened_at="2026-11-23T02:00:00Z")
    casework(app, "CaseResolved", str(root.id), resolved_at="2026-11-23T08:00:00Z", summary="已更换灯具")
    return str(root.id), str(dup.id)


def published(app) -> list:
    return [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]


def view(app, issue_id: str) -> dict:
    issue = app.get_issue(issue_id)
    original = (app.get_issue(issue.merged_into), case_so_far(app.read_models, issue.merged_into)) \
        if issue.merged_into else None
    return progress_view(issue, case_so_far(app.read_models, issue_id), original, True)


def test_a_report_merged_as_it_came_in_says_which_issue_it_repeats(app):
    root, dup = merged_pair(app)
    reported = {p.subject: p.data for p in published(app) if p.name == "IssueReported"}
    assert reported[dup]["duplicate_of"] == root and "duplicate_of" not in reported[root]


def test_a_co_reporter_answers_even_after_the_original_reporter_closed_the_case(app):
    root, dup = merged_pair(app)
    app.answer_issue(root, {"confirmed": True, "satisfaction": 5})
    casework(app, "ResidentConfirmed", root, confirmed=True, satisfaction=5, answered_issue_id=root)
    casework(app, "CaseClosed", root, closed_at="2026-11-24T02:00:00Z")
    app.answer_issue(dup, {"confirmed": False, "comment": "灯还是不亮"})
    assert [p.data["issue_id"] for p in published(app) if p.name == "ResidentAnswered"] == [root, dup]


def test_a_closed_case_answered_already_is_never_called_unresolved(app):
    root, _ = merged_pair(app)
    app.answer_issue(root, {"confirmed": True, "satisfaction": 5})
    casework(app, "CaseClosed", root, closed_at="2026-11-24T02:00:00Z")
    with pytest.raises(Conflict) as again:
        app.answer_issue(root, {"confirmed": False})
    assert again.value.detail_zh == "您已对本次办理结果作出反馈"


def test_only_the_resident_who_answered_reads_it_as_their_own_answer(app):
    root, dup = merged_pair(app)
    app.answer_issue(dup, {"confirmed": True, "satisfaction": 4})
    casework(app, "ResidentConfirmed", root, confirmed=True, satisfaction=4, answered_issue_id=dup)

    original, co = view(app, root), view(app, dup)
    assert original["status"] == co["status"] == "resolved"  # the co-reporter's answer did not close it
    assert original["timeline"][-1] == {"status": "resolved", "at": "2026-11-25T02:00:00Z",
                                        "step": "ResidentConfirmed", "step_zh": "其他反映人已反馈"}
    assert co["timeline"][-1]["step_zh"] == "您已反馈" and co["timeline"][-1]["satisfaction"] == 4
    assert "satisfaction" not in original["case"] and "satisfaction" not in co["case"]

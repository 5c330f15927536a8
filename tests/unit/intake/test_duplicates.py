"""A repeated report about the same problem joins the open issue already raised (重复诉求合并)."""
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from services.intake.application import IntakeApplication
from services.intake.duplicates import Candidate, find_duplicate, similarity
from services.intake.published import publish
from shared.config import Settings
from shared.errors import Conflict, InvalidInput

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
PLACE = {"community": "幸福里", "building": "3"}


def candidate(title="3号楼楼道灯坏了", category="设施维护", location=PLACE, days_ago=1, status="open"):
    return Candidate(str(uuid4()), title, category, location, NOW - timedelta(days=days_ago), status)


@pytest.mark.parametrize("a, b", [("3号楼楼道灯坏了", "3号楼楼道灯坏了,晚上很黑"), ("健身器材损坏", "健身器材坏了"),
                                  ("5号楼消防通道堵塞", "5号楼消防通道被电动车堵了")])
def test_alike_titles_read_alike(a, b):
    assert similarity(a, b) >= 0.75


@pytest.mark.parametrize("a, b", [("楼道灯坏了", "楼道有垃圾"), ("垃圾清运不及时", "3号楼楼道灯坏了")])
def test_different_problems_do_not(a, b):
    assert similarity(a, b) < 0.75


def test_the_same_problem_in_the_same_place_is_a_duplicate_of_the_closest_match():
    near, exact = candidate("3号楼楼道灯时亮时不亮"), candidate("3号楼楼道灯坏了")
    assert similarity("3号楼楼道灯坏了", near.title) < 1.0
    assert find_duplicate("3号楼楼道灯坏了", "设施维护", PLACE, NOW, [near, exact]) == (exact.issue_id, 1.0)


@pytest.mark.parametrize("other", [
    candidate(category="环境卫生"),
    candidate(location={"community": "幸福里", "building": "4"}),
    candidate(location={"community": "和平里", "building": "3"}),
    candidate(days_ago=31),
    candidate(status="closed"),
    candidate(status="merged"),
    candidate(title="1号楼楼道灯坏了", location={"community": "幸福里"}),  # other numbers: another place
])
def test_not_a_duplicate(other):
    assert find_duplicate("3号楼楼道灯坏了", "设施维护", PLACE, NOW, [other]) is None


def report(title: str) -> dict:
    return {"channel": "online", "title": title, "description": "晚上很黑", "location": dict(PLACE),
            "reporter": {"name": "王五", "phone": "13912345678"}}


@pytest.fixture
def app(tmp_path):
    app = IntakeApplication(Settings(None, "", tmp_path), env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                            clock=lambda: NOW)
    yield app
    app.close()


def test_a_repeated_report_is_merged_in_the_same_save_and_published_after_its_report(app):
    first, _ = app.report_issue(report("3号楼楼道灯坏了"))
    pending = [Candidate(str(first.id), "3号楼楼道灯坏了", first.category, PLACE, first.reported_at, "open")]
    second, created = app.report_issue(report("3号楼楼道灯坏了,晚上很黑"), candidates=lambda issue: pending)
    assert created and second.merged_into == str(first.id)
    published = [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]
    assert [p.name for p in published] == ["IssueReported", "IssueReported", "IssueMerged"]
    assert published[-1].data == {"issue_id": str(second.id), "into_issue_id": str(first.id)}


def test_staff_merge_into_the_root_issue_and_refusals_name_the_field(app):
    root, _ = app.report_issue(report("3号楼楼道灯坏了"))
    dup, _ = app.report_issue(report("3号楼楼道灯不亮"))
    late, _ = app.report_issue(report("楼道灯还是不亮"))
    app.merge_issue(str(dup.id), {"into_issue_id": str(root.id), "by": "李娜"})
    merged = app.merge_issue(str(late.id), {"into_issue_id": str(dup.id), "by": "李娜"})
    assert merged.merged_into == str(root.id)  # not into another duplicate
    with pytest.raises(Conflict):
        app.merge_issue(str(late.id), {"into_issue_id": str(root.id), "by": "李娜"})
    with pytest.raises(InvalidInput) as err:
        app.merge_issue(str(root.id), {"into_issue_id": str(root.id), "by": "李娜"})
    assert err.value.field == "into_issue_id"
    with pytest.raises(InvalidInput) as err:
        app.merge_issue(str(root.id), {"into_issue_id": str(dup.id)})
    assert err.value.field == "by"

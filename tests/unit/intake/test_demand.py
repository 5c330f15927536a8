"""Demand votes count each resident once; the monthly demand list groups last month's issues with their votes."""
import ast
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.intake.progress import CaseSoFar
from services.intake.application import IntakeApplication
from services.intake.projections import IssueIndex
from services.intake.published import publish
from services.intake.reports import DemandList, demand_list, document, vote_for_issue
from shared.deadlines import previous_month
from shared.config import Settings
from shared.edge.documents import markdown
from shared.errors import InvalidInput, NotFound
from shared.store.persistence import Database
from shared.store.projection import catch_up
from tests.support.factories import report
from tests.unit.test_architecture import FORBIDDEN

SH = timezone(timedelta(hours=8))


@pytest.fixture
def intake(tmp_path):
    now = [datetime(2026, 10, 20, 9, tzinfo=SH)]
    app = IntakeApplication(Settings(None, "", tmp_path / "var"), env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                            clock=lambda: now[0])
    db = Database("intake", Settings(None, "", tmp_path / "var"))
    yield app, db, now
    db.close()
    app.close()


def test_a_resident_votes_for_an_issue_once_and_the_total_is_published(intake):
    app, _, _ = intake
    issue, _ = app.report_issue(report())
    assert vote_for_issue(app, str(issue.id), {"voter": "13812345678"}) == (1, True)
    assert vote_for_issue(app, str(issue.id), {"voter": "13812345678 "}) == (1, False)
    assert vote_for_issue(app, str(issue.id), {"voter": "wx-openid-42"}) == (2, True)
    published = [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]
    assert [(p.name, p.data) for p in published[1:]] == [("NeedVoted", {"issue_id": str(issue.id), "votes": 1}),
                                                          ("NeedVoted", {"issue_id": str(issue.id), "votes": 2})]
    votes = b"".join(n.state for n in app.notifications_after(0) if "DemandVotes" in n.topic)
    assert votes and b"wx-openid-42" not in votes and b"13812345678" not in votes


def test_votes_name_a_voter_and_an_existing_issue(intake):
    app, _, _ = intake
    issue, _ = app.report_issue(report())
    with pytest.raises(InvalidInput) as no_voter:
        vote_for_issue(app, str(issue.id), {})
    assert no_voter.value.field == "voter"
    with pytest.raises(NotFound):
        vote_for_issue(app, "8a4f7c62-1d2b-4c1e-9a4f-000000000001", {"voter": "x"})


def test_the_demand_list_groups_a_month_by_category_channel_and_building_with_votes(intake):
    app, db, now = intake
    lamp, _ = app.report_issue(report(2))  # 3号楼楼道灯坏了, online
    parking, _ = app.report_issue(report(4, channel="visit", title="5号楼门口停车难", description="车位不够"))
    app.report_issue(report(2, channel="hotline"))
    now[0] = datetime(2026, 11, 2, 9, tzinfo=SH)
    app.report_issue(report(7))  # November: not on October's list
    for voter in ("a", "b", "c"):
        vote_for_issue(app, str(parking.id), {"voter": voter})
    vote_for_issue(app, str(lamp.id), {"voter": "a"})
    catch_up(app, db, list(app.projections))  # as a process does at its start

    assert previous_month(now[0]) == "2026-10" and previous_month(datetime(2026, 1, 3, tzinfo=SH)) == "2025-12"
    listed = demand_list(db, "2026-10")
    assert (listed["issues"], listed["votes"]) == (3, 4)
    assert listed["by_category"] == [{"category": "停车交通", "issues": 1, "votes": 3},
                                     {"category": "设施维护", "issues": 2, "votes": 1}]
    assert {g["channel"]: (g["issues"], g["votes"]) for g in listed["by_channel"]} == {
        "visit": (1, 3), "online": (1, 1), "hotline": (1, 0)}
    assert listed["by_building"][0] == {"community": "幸福里", "building": "5", "issues": 1, "votes": 3}
    assert [i["title"] for i in listed["items"]][0] == "5号楼门口停车难"

    zh = markdown(document(listed, "zh"))
    assert zh.startswith("# 2026年10月数字需求清单")
    for expected in ("共 3 件诉求,需求投票 4 票", "| 停车交通 | 1 | 3 |", "| 走访 | 1 | 3 |", "| 幸福里 5号楼 | 1 | 3 |"):
        assert expected in zh, expected
    assert markdown(document(listed, "en")).startswith("# Demand list, 2026-10")


def test_demand_votes_domain_imports_no_framework():
    tree = ast.parse((Path(__file__).resolve().parents[3] / "services/intake/demand.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}


def test_votes_follow_a_merged_duplicate_to_the_issue_it_joined_and_the_list_shows_one_demand(intake):
    app, db, _ = intake
    root, _ = app.report_issue(report(2))
    dup, _ = app.report_issue(report(2, title="3号楼楼道灯不亮"))
    for voter in ("a", "b"):
        vote_for_issue(app, str(dup.id), {"voter": voter})
    vote_for_issue(app, str(root.id), {"voter": "c"})
    app.merge_issue(str(dup.id), {"into_issue_id": str(root.id), "by": "李娜"})
    assert vote_for_issue(app, str(dup.id), {"voter": "d"}) == (4, True)  # a vote on the duplicate counts there
    assert vote_for_issue(app, str(root.id), {"voter": "d"}) == (4, False)
    catch_up(app, db, list(app.projections))  # as a process does at its start
    listed = demand_list(db, "2026-10")
    assert (listed["issues"], listed["votes"]) == (1, 4)
    assert [(i["issue_id"], i["votes"]) for i in listed["items"]] == [(str(root.id), 4)]
    published = [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]
    assert [p.data for p in published if p.name == "NeedVoted"][-2:] == [
        {"issue_id": str(root.id), "votes": 3}, {"issue_id": str(root.id), "votes": 4}]


def test_the_demand_list_masks_the_reporters_name_and_room_typed_into_a_title(intake):
    app, db, _ = intake
    app.report_issue(report(title="欧阳娜娜反映1-502门口垃圾堆放 13812345678",
                            reporter={"name": "欧阳娜娜", "phone": "13812345678"}))
    catch_up(app, db, list(app.projections))  # as a process does at its start
    listed = demand_list(db, "2026-10")
    title = listed["items"][0]["title"]
    assert "欧阳娜娜" not in title and "1-502" not in title and "13812345678" not in title
    assert title.startswith("欧*** 反映") or title.startswith("欧***反映")


def test_a_full_name_written_in_a_title_is_masked_on_the_demand_list_open311_and_the_issue_list(intake):
    from services.intake import open311
    from services.intake.projections import find_issues
    app, db, _ = intake
    issue, _ = app.report_issue(report(title="5号楼电梯停运,请告知王建国,住2单元301室", reporter={"name": "李四"}))
    catch_up(app, db, list(app.projections))  # as a process does at its start
    titles = [demand_list(db, "2026-10")["items"][0]["title"], open311.doc_of(app.get_issue(str(issue.id)), CaseSoFar())["title"],
              *(d["title"] for d in find_issues(db, [str(issue.id)], (), None, None, (), 10))]
    for title in titles:
        assert "王建国" not in title and "301" not in title and title.startswith("5号楼电梯停运"), title

"""Residents in deliberation: topics residents suggest go before the council with enough co-signatures
(议题征集); opinions on a public agenda are taken until the meeting opens, masked, and kept for the recorder
(意见征集); a place where an issue keeps recurring becomes a proposed council topic."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from services.meetings import record
from services.meetings.domain import proposal_id_for
from services.meetings.participation import SIGNATURES_NEEDED
from services.meetings.projections import ProposalIndex, SuggestionIndex, list_proposals, list_suggestions
from services.meetings.rules import RuleBroken
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from shared.edge.documents import markdown
from shared.errors import InvalidInput, NotFound
from shared.store.persistence import Database
from shared.store.projection import catch_up
from tests.unit.meetings.conftest import Council

SUGGESTION = {"title": "3号院增设电动车充电桩", "background": "楼道里充电有火灾隐患,联系人张先生13812345678",
              "resident": "13812345678"}


@pytest.fixture
def db(tmp_path):
    db = Database("meetings", Settings(None, "", tmp_path / "var"))
    yield db
    db.close()


def project(app, db) -> None:
    catch_up(app, db, list(app.projections))  # as a process does at its start


def test_a_suggestion_goes_before_the_council_with_enough_co_signatures_each_resident_counted_once(app, db):
    suggestion, created = app.suggest(SUGGESTION)
    assert created and suggestion.signatures == 1
    _, counted = app.sign(str(suggestion.id), {"resident": "13812345678 "})  # the suggester again
    assert not counted
    for n in range(SIGNATURES_NEEDED - 2):
        app.sign(str(suggestion.id), {"resident": f"wx-{n}"})
    project(app, db)
    assert list_proposals(db, None) == [] and list_suggestions(db, None, 10, 0)[0]["status"] == "collecting"
    signed, counted = app.sign(str(suggestion.id), {"resident": "wx-last"})
    assert counted and signed.status == "proposed" and signed.signatures == SIGNATURES_NEEDED
    project(app, db)
    [proposal] = list_proposals(db, "proposed")
    assert proposal["source"] == "suggestion" and proposal["case_id"] is None
    assert proposal["title"] == "3号院增设电动车充电桩" and proposal["reason"].startswith(f"{SIGNATURES_NEEDED}位居民联名提议")
    public = json.dumps(list_suggestions(db, None, 10, 0), ensure_ascii=False)
    assert "13812345678" not in public and "13812345678" not in proposal["reason"]
    stored = b"".join(n.state for n in app.notifications_after(0) if "TopicSuggestion" in n.topic)
    assert b"13812345678" not in stored and b"wx-last" not in stored  # residents are digests only
    app.sign(str(suggestion.id), {"resident": "wx-more"})  # support after the threshold still counts, once
    project(app, db)
    assert len(list_proposals(db, None)) == 1


def test_a_suggestion_names_its_resident_and_an_unknown_one_is_not_found(app):
    with pytest.raises(InvalidInput) as refused:
        app.suggest({k: v for k, v in SUGGESTION.items() if k != "resident"})
    assert refused.value.field == "resident"
    with pytest.raises(InvalidInput) as unknown:
        app.suggest(SUGGESTION | {"phone": "138"})
    assert unknown.value.field == "phone"
    with pytest.raises(NotFound):
        app.sign("8a4f7c62-1d2b-4c1e-9a4f-000000000001", {"resident": "x"})


def test_a_retried_suggestion_is_the_same_one(app):
    first, created = app.suggest(SUGGESTION, key="k-1")
    again, created_again = app.suggest(SUGGESTION, key="k-1")
    assert created and not created_again and first.id == again.id


def test_opinions_are_taken_while_the_agenda_is_public_masked_and_kept_for_the_recorder(app, clock):
    council = Council(app, clock)
    with pytest.raises(RuleBroken) as early:
        app.give_opinion(council.id, {"topic_id": "t1", "text": "支持"})
    assert early.value.rule == "consultation"
    [topic] = council.agenda()
    app.give_opinion(council.id, {"topic_id": topic, "text": "支持改建,我是5号楼的李阿姨,电话13912345678"})
    app.give_opinion(council.id, {"topic_id": topic, "text": "绿地要保留一部分"}, key="k-1")
    assert app.give_opinion(council.id, {"topic_id": topic, "text": "绿地要保留一部分"}, key="k-1")[1] is False
    with pytest.raises(NotFound) as unknown:
        app.give_opinion(council.id, {"topic_id": "t9", "text": "?"})
    assert unknown.value.field == "topic_id"
    [digest] = app.opinions(council.meeting())
    assert digest["topic_id"] == topic and digest["count"] == 2
    assert "13912345678" not in json.dumps(digest, ensure_ascii=False)
    clock.now = council.meeting().meeting_at  # the meeting opens: the consultation is over
    with pytest.raises(RuleBroken) as late:
        app.give_opinion(council.id, {"topic_id": topic, "text": "晚了"})
    assert late.value.rule == "consultation"
    kept = app.opinions(council.meeting())
    assert kept[0]["count"] == 2  # the record keeps what was said
    printed = markdown(record.document(council.meeting(), "zh", kept))
    assert "七、居民意见" in printed and "绿地要保留一部分" in printed and "13912345678" not in printed


def test_a_recurring_issue_found_by_intake_is_proposed_to_the_council_once(app, db, clock):
    data = {"place_id": "5c0f7e1a-8d2b-4f6e-9a3c-000000000001", "community": "幸福里", "building": "7",
            "category": "设施维护", "issue_ids": [], "issues": 3, "since": "2026-10-03T01:00:00Z",
            "found_at": "2026-11-02T01:00:00Z", "topic_title": "幸福里7号楼近30日3次反映“设施维护”问题,建议提交议事会协商"}
    event = from_cloudevent(to_cloudevent("intake", "RecurringIssueFound", sequence=4, prevsequence=None,
                                          subject=data["place_id"], time=clock(), data=data))
    assert app.process(event) == 1
    project(app, db)
    [proposal] = list_proposals(db, "proposed")
    assert proposal["proposal_id"] == str(proposal_id_for("intake-4")) and proposal["source"] == "recurring"
    assert proposal["title"] == data["topic_title"] and proposal["kinds"] == ["regular", "mobile", "online"]


def test_a_residents_topic_before_the_council_is_put_on_an_agenda_like_an_escalated_case(app, db, clock):
    suggestion, _ = app.suggest(SUGGESTION)
    for n in range(SIGNATURES_NEEDED - 1):
        signed, _ = app.sign(str(suggestion.id), {"resident": f"wx-{n}"})
    council = Council(app, clock)
    [topic_id], _ = app.confirm_proposal(signed.proposal_id, {"meeting_id": council.id, "draft_plan": "在3号院安装充电桩"})
    project(app, db)
    [confirmed] = list_proposals(db, "confirmed")
    assert confirmed["meeting_id"] == council.id and confirmed["topic_id"] == topic_id
    [topic] = council.meeting().topics
    assert topic["title"] == "3号院增设电动车充电桩" and topic["case_id"] is None


def test_a_residents_topic_before_the_council_is_published_for_the_board(app):
    from services.meetings.published import publish
    suggestion, _ = app.suggest(SUGGESTION)
    for n in range(SIGNATURES_NEEDED - 1):
        app.sign(str(suggestion.id), {"resident": f"wx-{n}"})
    [proposed] = [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0))
                  if p and p.name == "TopicProposed"]
    assert proposed.data["source"] == "suggestion" and proposed.data["title"] == "3号院增设电动车充电桩"
    assert "13812345678" not in json.dumps(proposed.data, ensure_ascii=False)
    to_cloudevent("meetings", "TopicProposed", sequence=1, prevsequence=None, subject=proposed.subject,
                  time=proposed.time, data=proposed.data)  # validates against the catalogue

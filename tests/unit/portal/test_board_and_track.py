"""The board's overdue list and the resident's progress page, from the services' read models."""
from services.portal import board, track
from services.portal.i18n import Words

CASE = {"title": "3号楼楼道灯坏了", "category": "设施维护", "tier": "urgent", "community": "幸福里", "building": "3",
        "party": "物业服务企业", "deadlines": {
            "verify": {"due": "2026-12-03T06:00:00Z", "overdue": False},
            "plan": {"due": "2026-12-04T06:00:00Z", "overdue": True}}}


def test_an_overdue_case_shows_the_deadline_it_missed_and_who_is_responsible():
    [row] = board.overdue_rows([CASE])
    assert (row["deadline"], row["due"], row["party"]) == ("plan", "2026-12-04T06:00:00Z", "物业服务企业")


def test_the_demand_list_shows_the_most_backed_needs_first():
    demand = {"items": [{"community": "幸福里", "votes": 1}, {"community": "幸福里", "votes": 4}]}
    assert [r["votes"] for r in board.demand_rows(demand, "幸福里")] == [4, 1]


def test_a_need_just_backed_shows_the_count_intake_answered_while_the_demand_list_lags():
    demand = {"items": [{"issue_id": "a", "community": "幸福里", "votes": 0}, {"issue_id": "b", "community": "幸福里",
                                                                            "votes": 1}]}
    assert [(r["issue_id"], r["votes"]) for r in board.demand_rows(demand, None, backed=("a", 2))] == [("a", 2), ("b", 1)]


def test_progress_reads_in_plain_chinese_with_times_in_shanghai():
    progress = {"tracking_code": "YS-1", "title": "灯坏了", "status": "resolved", "issue_id": "i",
                "case": {"tier": "urgent", "party": "物业服务企业", "due": {"verify_by": "2026-12-03T06:40:00Z"}},
                "timeline": [{"status": "received", "at": "2026-12-02T06:40:00Z"},
                             {"status": "resolved", "at": "2026-12-02T08:00:00Z", "step": "CaseResolved",
                              "step_zh": "已办结,待您确认", "summary": "已修复"}]}
    view = track.view(progress, Words("zh-CN"))
    assert view["deadlines"] == [{"kind": "verify", "at": "2026-12-03 14:40"}]
    assert [(e["what"], e["at"]) for e in view["timeline"]] == [("已受理", "2026-12-02 14:40"),
                                                                 ("已办结,待您确认", "2026-12-02 16:00")]
    assert view["answerable"]
    assert track.view(progress, Words("en"))["timeline"][1]["what"] == "resolved: please confirm"


def test_an_answer_without_a_choice_leaves_confirmed_out_for_intake_to_name():
    assert track.answer({"confirmed": "yes", "satisfaction": "5", "comment": " 好 "}) == {
        "confirmed": True, "satisfaction": 5, "comment": "好"}
    assert track.answer({}) == {}

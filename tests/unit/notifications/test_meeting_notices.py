"""The council's meeting notices say what the council's documents ask them to (议事公示). Domain only."""
from services.notifications.domain import About, decide
from services.notifications.templates import render

AGENDA = {"meeting_id": "m-1", "meeting_at": "2026-11-28T07:00:00Z", "published_at": "2026-11-23T07:00:00Z",
          "kind": "mobile", "place": "5号院凉亭",
          "topics": [{"topic_id": "t1", "title": "5号院停车难", "background": "车位不足,夜间占用消防通道",
                      "draft_plan": "荒废绿地改建车位40个"},
                     {"topic_id": "t2", "background": "桶站异味", "draft_plan": "调整清运时间"}]}


def notice(name: str, data: dict, lang: str = "zh") -> dict[str, str]:
    [board] = [t for t in decide("meetings", name, data, About()) if t.audience == "board"]
    return render(board.kind, board.params)[lang]


def test_the_agenda_notice_gives_each_topics_background_and_draft_plan_and_the_place():
    zh = notice("AgendaPublished", AGENDA)
    for expected in ("5号院凉亭", "2026-11-28 15:00", "5号院停车难", "背景资料:车位不足,夜间占用消防通道",
                     "初步方案:荒废绿地改建车位40个", "背景资料:桶站异味", "初步方案:调整清运时间"):
        assert expected in zh["body"], expected
    en = notice("AgendaPublished", AGENDA, "en")
    assert "5号院凉亭" in en["body"] and "draft plan: 荒废绿地改建车位40个" in en["body"]


def test_a_mobile_meeting_is_announced_as_a_mobile_meeting():
    assert "流动议事会" in notice("AgendaPublished", AGENDA)["title"] + notice("AgendaPublished", AGENDA)["body"]
    assembly = notice("AgendaPublished", AGENDA | {"kind": "assembly"})
    assert "居民代表大会" in assembly["body"] and "流动议事会" not in assembly["body"]
    older = notice("AgendaPublished", {k: v for k, v in AGENDA.items() if k not in ("kind", "place")})
    assert "议事会" in older["body"] and "—" not in older["body"]  # an agenda published before these were carried


def test_the_minutes_notice_names_each_resolutions_owner_and_deadline():
    minuted = {"meeting_id": "m-1", "minuted_at": "2026-11-28T10:00:00Z", "kind": "mobile", "disagreements": [],
               "resolutions": [{"resolution_id": "r1", "text": "施划车位40个", "owner": "幸福里物业服务中心",
                                "due": "2026-12-31T15:59:59Z"}]}
    zh = notice("MeetingMinuted", minuted)
    assert "流动议事会" in zh["body"] and "施划车位40个" in zh["body"]
    assert "责任人:幸福里物业服务中心" in zh["body"] and "2026-12-31 23:59前完成" in zh["body"]
    assert "owner: 幸福里物业服务中心" in notice("MeetingMinuted", minuted, "en")["body"]


def test_vote_results_reach_the_board_as_counts():
    tallied = {"meeting_id": "m-1", "motion_id": "m1", "mode": "secret", "for": 4, "against": 1, "abstain": 0,
               "carried": True, "text": "同意将荒废绿地改建车位"}
    zh = notice("VoteRecorded", tallied)
    assert zh["title"] == "表决结果公示"
    assert "同意将荒废绿地改建车位" in zh["body"] and "赞成4票、反对1票、弃权0票" in zh["body"]
    assert "无记名投票" in zh["body"] and "通过" in zh["body"]
    assert "未通过" in notice("VoteRecorded", tallied | {"carried": False, "for": 1, "against": 4})["body"]


def test_a_cancelled_or_rescheduled_meeting_is_announced():
    cancelled = notice("MeetingCancelled", {"meeting_id": "m-1", "kind": "mobile", "reason": "暴雨预警",
                                            "meeting_at": "2026-11-28T07:00:00Z", "cancelled_at": "2026-11-25T07:00:00Z"})
    assert cancelled["title"] == "会议取消公告"
    assert cancelled["body"] == "原定于2026-11-28 15:00召开的流动议事会取消。原因:暴雨预警"
    moved = notice("MeetingRescheduled", {"meeting_id": "m-1", "kind": "regular", "meeting_at": "2026-12-05T07:00:00Z",
                                          "previous_meeting_at": "2026-11-28T07:00:00Z", "place": "社区会议室",
                                          "reason": None})
    assert moved["title"] == "会议改期公告"
    assert "2026-11-28 15:00" in moved["body"] and "2026-12-05 15:00" in moved["body"] and "社区会议室" in moved["body"]


def test_a_survey_result_reaches_the_board_with_its_counts():
    about = About(case_id="c-1", title="3号楼楼道灯坏了", category="设施维护", community="幸福里", building="3")
    [board] = [t for t in decide("casework", "CaseSurveyed", {"case_id": "c-1", "period": "2026年第四季度",
                                                               "satisfied": 7, "total": 10,
                                                               "surveyed_at": "2026-12-01T02:00:00Z"}, about)
               if t.audience == "board"]
    texts = render(board.kind, board.params)
    assert texts["zh"]["title"] == "满意度测评结果公示:3号楼楼道灯坏了"
    assert "幸福里3号楼" in texts["zh"]["body"] and "满意7人,共10人,满意度70%" in texts["zh"]["body"]
    assert "7 of 10 satisfied (70%)" in texts["en"]["body"]


def test_a_topic_residents_co_signed_or_one_that_keeps_recurring_is_announced_before_the_council():
    proposed = {"proposal_id": "p-1", "source": "suggestion", "title": "3号院增设电动车充电桩",
                "reason": "10位居民联名提议。楼道充电有火灾隐患", "proposed_at": "2026-11-20T02:00:00Z"}
    zh = notice("TopicProposed", proposed)
    assert zh["title"] == "议题征集:3号院增设电动车充电桩"
    assert "居民联名提议" in zh["body"] and "已提交议事会" in zh["body"]
    recurring = notice("TopicProposed", proposed | {"source": "recurring"})
    assert "同一楼栋反复出现同类问题" in recurring["body"]
    assert "co-signed by residents" in notice("TopicProposed", proposed, "en")["body"]


def test_the_quarterly_survey_is_published_as_a_whole_with_what_is_put_right():
    [board] = [t for t in decide("casework", "SurveyRecorded", {
        "period": "2026Q4", "items": 2, "satisfied": 14, "total": 20, "satisfaction_rate": 0.7, "below_floor": 1,
        "reopened": 1, "recorded_at": "2026-12-20T02:00:00Z"}, About()) if t.audience == "board"]
    zh = render(board.kind, board.params)["zh"]
    assert zh["title"] == "居民满意度测评结果公示:2026Q4"
    assert "共2项,20人次参与,满意14人次,总体满意度70%" in zh["body"] and "1项满意度低于80%,重新整改" in zh["body"]

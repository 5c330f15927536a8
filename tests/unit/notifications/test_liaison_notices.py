"""Liaison's notices: a reception day is announced on the board with the topics residents asked for (代表进社区前
提前公示活动主题和时间,点单式), and a red unit's 督办 notice goes to the unit, never to the board. Domain only."""
from services.notifications.domain import About, decide
from services.notifications.templates import render

ANNOUNCED = {"reception_id": "r-1", "topics": ["小区停车难", "3号楼电梯加装"], "announced_at": "2026-11-02T01:00:00Z",
             "community": "幸福里", "title": "代表接待日", "place": "党群服务中心二楼", "starts_at": "2026-11-12T01:00:00Z"}


def test_a_reception_day_is_announced_on_the_board_with_the_topics_residents_asked_for():
    tells = decide("liaison", "ReceptionAnnounced", ANNOUNCED, About(community="幸福里"))
    assert {t.audience for t in tells} == {"board", "wechat"}
    zh = render(tells[0].kind, tells[0].params)["zh"]
    assert zh["title"] == "代表接待日预告"
    assert zh["body"] == ("代表接待日定于2026-11-12 09:00在党群服务中心二楼举行,居民点单的议题:小区停车难、3号楼电梯加装。"
                          "欢迎预约或直接前来。")


def test_a_red_units_supervision_notice_goes_to_the_unit():
    data = {"unit_id": "u-1", "party": "城管中队", "month": "2026-11", "supervised_at": "2026-12-01T01:00:00Z",
            "notice": "督办通知:城管中队2026-11月度评定为红灯(逾期4件)。请单位负责人于5个工作日内提交整改措施。"}
    [tell] = decide("liaison", "UnitSupervised", data, About(party="城管中队"))
    assert tell.audience == "party" and tell.params["party"] == "城管中队"
    assert "逾期4件" in render(tell.kind, tell.params)["zh"]["body"]

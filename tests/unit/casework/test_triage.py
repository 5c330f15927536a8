"""Triage on Chinese text by a rule table: the work plan's own examples land in their tiers, with reasons."""
import pytest

from services.casework.triage import BUILT_IN_RULES, Rule, parse_rule, party_for, triage
from shared.errors import InvalidInput


@pytest.mark.parametrize("title, category, tier", [
    ("5号楼消防通道堵塞,电动车乱停", "安全隐患", "urgent"),
    ("3号楼楼道灯坏了,晚上一片漆黑", "设施维护", "urgent"),
    ("楼上楼下邻里纠纷激化,已经动手", "邻里纠纷", "urgent"),
    ("小区停车难,车位不足", "停车交通", "complex"),
    ("业委会换届矛盾,业主意见分歧", "物业管理", "complex"),
    ("小区路灯故障", "设施维护", "routine"),
    ("健身器材损坏", "设施维护", "routine"),
    ("垃圾清运不及时", "环境卫生", "routine"),
    ("希望多组织些活动", "服务供给", "routine"),
])
def test_the_work_plans_examples_land_in_their_tier(title, category, tier):
    result = triage(category, title, BUILT_IN_RULES)
    assert result.tier == tier
    assert result.reason  # every triage says why


def test_the_most_demanding_tier_wins_and_the_reason_names_the_matched_words():
    result = triage("停车交通", "停车难,还把消防通道堵了", BUILT_IN_RULES)
    assert result.tier == "urgent"
    assert "消防通道" in result.reason and "urgent-fire-safety" in result.rule_ids


def test_no_rule_means_routine_by_default_and_says_so():
    result = triage("其他", "建议增设宣传栏", BUILT_IN_RULES)
    assert result.tier == "routine" and result.rule_ids == () and "常规" in result.reason


def test_a_staff_rule_extends_the_table():
    staff = Rule("urgent-ebike-charging", "urgent", ("飞线充电",), note="电动车飞线充电")
    assert triage("停车交通", "楼下有人飞线充电", BUILT_IN_RULES).tier == "routine"
    assert triage("停车交通", "楼下有人飞线充电", BUILT_IN_RULES + (staff,)).tier == "urgent"


def test_assignment_by_category_and_a_task_force_for_complex_cases():
    assert party_for("routine", "设施维护") == ("物业服务企业", "property")
    assert party_for("routine", "环境卫生") == ("环卫部门", "sanitation")
    assert party_for("complex", "停车交通")[1] == "task_force"


@pytest.mark.parametrize("payload, field", [
    ({"tier": "urgent", "keywords": ["x"]}, "rule_id"),
    ({"rule_id": "r1", "tier": "soon", "keywords": ["x"]}, "tier"),
    ({"rule_id": "r1", "tier": "urgent", "keywords": "x"}, "keywords"),
    ({"rule_id": "r1", "tier": "urgent"}, "keywords"),
])
def test_a_bad_rule_is_refused_naming_the_field(payload, field):
    with pytest.raises(InvalidInput) as err:
        parse_rule(payload)
    assert err.value.field == field

"""Triage (分级) and assignment (明确责任主体) as data: rule tables staff can extend, matched on Chinese text.

From the council's work plan: urgent = safety hazards and acute conflicts (即接即办); routine =
cleaning and facility repair (限时办结); complex = several departments or pooled resources (专项攻坚).
Every matching rule is considered and the most demanding tier wins (urgent > complex > routine),
so a staff rule can raise a kind of report but a safety hazard is never triaged down by text alone;
lowering a tier is a per-case decision (`Case.retriage`) with a recorded reason.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shared.errors import InvalidInput

TIERS = ("urgent", "routine", "complex")  # 紧急类 / 常规类 / 复杂类
TIER_ZH = {"urgent": "紧急类", "routine": "常规类", "complex": "复杂类"}
SEVERITY = {"routine": 0, "complex": 1, "urgent": 2}
PARTY_KINDS = ("property", "sanitation", "department", "task_force", "council")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    tier: str
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    note: str = ""  # why this rule exists, in the staff's words

    def matches(self, category: str, text: str) -> list[str]:
        """What in the report matched (keywords, or `category:<c>`); empty when the rule does not apply."""
        hits = [k for k in self.keywords if k in text]
        if category in self.categories:
            hits.append(f"category:{category}")
        return hits

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"keywords": list(self.keywords), "categories": list(self.categories)}


BUILT_IN_RULES: tuple[Rule, ...] = (
    Rule("urgent-fire-safety", "urgent",
         ("消防通道", "消防栓", "消防设施", "灭火器", "安全出口", "火灾", "冒烟", "起火"),
         note="消防安全隐患"),
    Rule("urgent-stairwell-light", "urgent",
         ("楼道灯", "楼道照明", "楼梯灯", "楼道没灯", "楼道漆黑", "楼道黑", "声控灯"),
         note="楼道照明损坏"),
    Rule("urgent-hazard", "urgent",
         ("漏电", "电线裸露", "燃气", "煤气", "漏气", "高空抛物", "坠落", "坍塌", "倒塌", "井盖丢失", "外墙脱落"),
         ("安全隐患",), note="安全隐患"),
    Rule("urgent-acute-conflict", "urgent",
         ("纠纷激化", "矛盾激化", "激化", "打架", "斗殴", "动手", "冲突升级", "威胁"),
         note="突发矛盾(邻里纠纷激化)"),
    Rule("urgent-device-alarm", "urgent", ("设备报警·紧急",),
         note="物联网设备紧急报警(烟感、燃气、电梯困人等)"),  # the mark intake's ALARM_RULES put in urgent alarms
    Rule("complex-parking", "complex",
         ("停车难", "车位不足", "车位紧张", "停车位不够", "停车紧张", "没地方停车", "停车位不足"),
         note="小区停车难,需多部门、资源整合"),
    Rule("complex-owners-committee", "complex",
         ("业委会换届", "换届", "业主委员会", "选聘物业", "更换物业"),
         note="业委会换届矛盾"),
    Rule("complex-multi-department", "complex",
         ("加装电梯", "老旧小区改造", "管网改造", "多部门", "违建", "违章建筑"),
         note="需多部门、资源整合"),
    Rule("routine-sanitation", "routine",
         ("垃圾", "清运", "清扫", "卫生", "异味", "杂物"), ("环境卫生",), note="环境卫生清理"),
    Rule("routine-facility", "routine",
         ("路灯", "健身器材", "维修", "损坏", "漏水", "门禁", "坏了"), ("设施维护",),
         note="公共设施维修"),
)

# Who answers for a category (责任主体): property repairs facilities, sanitation clears garbage.
PARTY_BY_CATEGORY: dict[str, tuple[str, str]] = {
    "设施维护": ("物业服务企业", "property"),
    "物业管理": ("物业服务企业", "property"),
    "环境卫生": ("环卫部门", "sanitation"),
    "安全隐患": ("社区应急小组", "council"),
    "邻里纠纷": ("议事会调解小组", "council"),
    "停车交通": ("城管部门", "department"),
    "服务供给": ("社区服务站", "department"),
}
DEFAULT_PARTY = ("社区居委会", "council")
TASK_FORCE = ("一事一专班(住建、城管等职能部门)", "task_force")


@dataclass(frozen=True)
class Triage:
    tier: str
    reason: str
    rule_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Lift:
    """A flag a report carries that lifts its tier one step (`steps`: from → to), whatever its text says."""

    flag: str
    steps: tuple[tuple[str, str], ...]
    note: str


# 特殊群体优先: a report of (or for) a special-group household (独居老人、残障、困难家庭…, intake's household
# register) is verified on site within 24 h instead of waiting 7 working days; a complex matter keeps its
# task force, and an urgent one is urgent already.
LIFTS: tuple[Lift, ...] = (
    Lift("special_group", (("routine", "urgent"),), "特殊群体家庭(空巢/独居老人、残障、困难家庭等)的诉求提级办理"),
)


def triage(category: str, text: str, rules: tuple[Rule, ...], flags: tuple[str, ...] = (),
           lifts: tuple[Lift, ...] = LIFTS) -> Triage:
    """The tier by the rules on the text, then lifted by the flags the report carries (`lifts`)."""
    base = _by_rules(category, text, rules)
    for lift in lifts:
        to = dict(lift.steps).get(base.tier) if lift.flag in flags else None
        if to:
            return Triage(to, f"{base.reason};{lift.note},由{TIER_ZH[base.tier]}提为{TIER_ZH[to]}",
                          base.rule_ids + (f"lift-{lift.flag}",))
    return base


def _by_rules(category: str, text: str, rules: tuple[Rule, ...]) -> Triage:
    matched = [(rule, hits) for rule in rules if (hits := rule.matches(category, text))]
    if not matched:
        return Triage("routine", "未发现紧急或复杂情形,按常规类限时办结")
    tier = max((rule.tier for rule, _ in matched), key=SEVERITY.__getitem__)
    winners = [(rule, hits) for rule, hits in matched if rule.tier == tier]
    because = ";".join(_because(rule, hits, category) for rule, hits in winners)
    return Triage(tier, f"列为{TIER_ZH[tier]}:{because}", tuple(rule.rule_id for rule, _ in winners))


def _because(rule: Rule, hits: list[str], category: str) -> str:
    """Why a rule applies, as residents read it: its Chinese note and what matched, never its id."""
    words = [h for h in hits if h in rule.keywords]
    matched = ([f"涉及“{'、'.join(words)}”"] if words else []) + ([f"属于{category}类"] if category in rule.categories
                                                                else [])
    return f"{rule.note or TIER_ZH[rule.tier]}({','.join(matched)})"


def party_for(tier: str, category: str) -> tuple[str, str]:
    """(party, party_kind): a complex case goes to a task force, others by category."""
    if tier == "complex":
        return TASK_FORCE
    return PARTY_BY_CATEGORY.get(category, DEFAULT_PARTY)


def parse_rule(payload: Any) -> Rule:
    """A staff member's new rule, validated field by field."""
    if not isinstance(payload, dict):
        raise InvalidInput("body must be a JSON object", "body", "请求内容必须是 JSON 对象")
    rule_id = payload.get("rule_id")
    if not isinstance(rule_id, str) or not 1 <= len(rule_id) <= 64 or not rule_id.replace("-", "").isalnum():
        raise InvalidInput("rule_id must be 1 to 64 letters, digits or '-'", "rule_id", "规则编号须为 1 到 64 个字母、数字或连字符")
    tier = payload.get("tier")
    if tier not in TIERS:
        raise InvalidInput(f"tier must be one of {', '.join(TIERS)}", "tier", f"分级必须是 {'、'.join(TIERS)} 之一")
    lists = {}
    for name, zh in (("keywords", "关键词"), ("categories", "分类")):
        value = payload.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and 1 <= len(v.strip()) <= 40 for v in value) \
                or len(value) > 100:
            raise InvalidInput(f"{name} must be a list of up to 100 strings of 1 to 40 characters", name,
                               f"{zh}须为不超过 100 项、每项 1 到 40 个字符的列表")
        lists[name] = tuple(v.strip() for v in value)
    if not lists["keywords"] and not lists["categories"]:
        raise InvalidInput("a rule needs keywords or categories", "keywords", "规则至少需要关键词或分类之一")
    note = payload.get("note", "")
    if not isinstance(note, str) or len(note) > 200:
        raise InvalidInput("note must be a string of at most 200 characters", "note", "说明不能超过 200 个字符")
    return Rule(rule_id, tier, lists["keywords"], lists["categories"], note)

"""The council's rules of procedure (议事规则) as data, and the refusal that names the rule it enforces.

From the 2026 work plan's five-step procedure (五步议事法): topics publicised at least 3 days before
the meeting, statements limited to 5 minutes each, disagreements recorded by a named recorder,
major matters decided by secret ballot, minutes within 24 hours naming an owner and a deadline.
Quorum and majority are data, not code: change the table, not the aggregate.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from shared.errors import Conflict

SHANGHAI = ZoneInfo("Asia/Shanghai")

NOTICE = timedelta(days=3)  # 会前3日公示议题
SPEAKING_TIME = timedelta(minutes=5)  # 发言限时制:每人5分钟
MINUTES_WITHIN = timedelta(hours=24)  # 会后24小时内形成会议纪要
RESULTS_DAY = 25  # 每月25日召开议事成果发布会

KINDS = {  # what kind of meeting, and its name in the council's words
    "regular": ("议事会例会", "regular council meeting"),
    "mobile": ("流动议事会", "mobile meeting (at a courtyard)"),
    "online": ("云议事", "online meeting"),
    "assembly": ("居民代表大会", "assembly of residents' representatives"),
}
COUNCIL_KINDS = ("regular", "mobile", "online")  # a case escalated "to the council" goes to any of these

FIXED_ROLES = {  # the "1" of 1+N: fixed members
    "committee": ("社区“两委”成员", "community committee member"),
    "resident_representative": ("居民代表", "residents' representative"),
    "building_head": ("楼门长", "building head"),
}
INVITED_ROLES = {  # the "N" of 1+N: invited per topic
    "owners_committee": ("业委会委员", "owners' committee member"),
    "property_manager": ("物业负责人", "property manager"),
    "shop_owner": ("商户代表", "shop owner"),
    "volunteer": ("志愿者骨干", "volunteer"),
    "department_liaison": ("下沉单位联络员", "department liaison"),
    "expert": ("专家", "expert"),
}
ROLES = FIXED_ROLES | INVITED_ROLES

# Who votes, by kind of meeting: the council's fixed members; at the assembly, the representatives.
VOTERS = {
    "regular": tuple(FIXED_ROLES),
    "mobile": tuple(FIXED_ROLES),
    "online": tuple(FIXED_ROLES),
    "assembly": ("resident_representative",),
}


@dataclass(frozen=True)
class Threshold:
    """`count` of `total` meets it when above (strict) or at least (not strict) `share` of the total."""

    share: Fraction
    strict: bool
    zh: str
    en: str

    def met(self, count: int, total: int) -> bool:
        if total <= 0:
            return False
        return count > self.share * total if self.strict else count >= self.share * total


QUORUM = Threshold(Fraction(1, 2), True, "过半数有表决权的成员到会", "more than half of the voting members present")
MAJORITIES = {
    "simple": Threshold(Fraction(1, 2), True, "赞成票超过投票数的一半", "more than half of the votes cast in favour"),
    "two_thirds": Threshold(Fraction(2, 3), False, "赞成票达到投票数的三分之二以上",
                            "at least two thirds of the votes cast in favour"),
}

@dataclass(frozen=True)
class Window:
    """When a meeting may be opened: from `before` its announced time until `after` it. Without it the
    3-day notice could be defeated by opening a meeting right after its agenda is published."""

    before: timedelta
    after: timedelta

    def too_early(self, meeting_at: datetime, now: datetime) -> bool:
        return now < meeting_at - self.before

    def too_late(self, meeting_at: datetime, now: datetime) -> bool:
        return now > meeting_at + self.after


OPENING = Window(before=timedelta(hours=1), after=timedelta(hours=3))  # the operator may change it (docs/meetings.md)

RULES = {  # rule id -> (zh, en): every refusal names one of these
    "notice": ("会前3日公示议题(含背景资料、初步方案)", "topics are published at least 3 days before the meeting"),
    "opening": ("按公示的会议时间召开", "a meeting opens at the time announced with its topics"),
    "procedure": ("五步议事法的先后顺序", "the steps of the procedure come in order"),
    "participants": ("“1+N”参与:固定成员与议题相关成员", "1+N participation: fixed and invited members"),
    "recorder": ("观点记录制:专人记录分歧点", "a named recorder records disagreements"),
    "speaking_time": ("发言限时制:每人5分钟", "statements are limited to 5 minutes per person"),
    "secret_ballot": ("表决票决制:重大事项无记名投票", "major matters are decided by secret ballot"),
    "one_vote": ("每位有表决权的到会成员一票", "one vote per eligible participant present"),
    "quorum": (QUORUM.zh, QUORUM.en),
    "minutes": ("会后24小时内形成会议纪要,明确责任人和完成时限",
                "minutes within 24 hours, each resolution with an owner and a deadline"),
    "results_release": ("每月25日议事成果发布,每月一次", "results are released on the 25th, once a month"),
    "consultation": ("会前公示议题期间征集居民意见,会议开始即截止",
                     "residents' opinions are taken while the agenda is public, until the meeting opens"),
}


class RuleBroken(Conflict):
    """A command the council's rules refuse; `rule` is the id in RULES, named in both languages."""

    def __init__(self, rule: str, detail_en: str, field: str, zh: str):
        zh_rule, en_rule = RULES[rule]
        super().__init__(f"{detail_en} (rule: {en_rule})", field, f"{zh}(依据:{zh_rule})")
        self.rule = rule

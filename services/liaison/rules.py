"""The plans' rules as data: 《代表进社区工作方案》 (reception days, 五个一, warnings) and 《社区共建共治工作总结》
(红黄绿灯 of co-building units). Change a threshold here, not in code."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# 代表进社区前需提前公示活动主题和时间: a reception day is announced on the board at least this long before it
ANNOUNCE_AHEAD = timedelta(days=3)

# 五个一: duty -> (zh-CN, English, the period it is due in once)
DUTIES = {
    "visit": ("每月至少1次走访", "a visit a month", "month"),
    "briefing": ("每季度至少1次政策宣讲", "a policy briefing a quarter", "quarter"),
    "survey": ("每半年至少1次专题调研", "a survey each half-year", "half"),
    "hard_problem": ("每年至少解决1个民生难题", "one hard problem solved a year", "year"),
    "report": ("形成1份履职报告", "a yearly report", "year"),
}
DUTY_PERIOD_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}

# 进度预警 (红黄蓝三级): "连续两周活动次数不足或问题解决率低于80%"
QUIET_FOR = timedelta(days=14)  # no activity this long: blue
RESOLUTION_FLOOR = 0.80  # supervised cases solved below this share: yellow
# a duty whose period ended without it: red

# 红黄绿灯 of a co-building unit, monthly. A unit is red when any red limit is crossed, yellow when any yellow
# limit is, else green. Rates are shares (0..1); a rate with nothing to measure crosses no limit.
LIGHTS = {
    "red": {"on_time_below": 0.70, "overdue_at_least": 3, "satisfaction_below": 0.80, "attendance_below": 0.50},
    "yellow": {"on_time_below": 0.90, "overdue_at_least": 1, "satisfaction_below": 0.90, "attendance_below": 0.80},
}
LIGHT_NAMES = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
SATISFIED_FROM = 4  # a resident's answer of 4 or 5 of 5 is satisfied (as casework's stats count it)

UNIT_KINDS = {"property": "物业", "sanitation": "环卫", "department": "职能部门", "school": "学校",
              "police": "派出所", "hospital": "医院", "enterprise": "企业", "social_org": "社会组织"}

# 双清单: who offers a resource (资源清单), and a project's clock (项目清单)
OFFERERS = {"unit": "共建单位", "representative": "代表", "volunteer": "志愿者"}
PROJECT_WARN_BEFORE = timedelta(days=7)  # a project is yellow this long before its deadline, red after it

"""The portal's words, zh-CN first and English on request, and the resident's display choices.

A choice comes from the query string (`?lang=en`, `?size=large`, links that work without JavaScript) and
is kept in a cookie for a year, so an elderly resident who chose large type (适老化) keeps it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request

from services.portal.staff_words import STAFF_WORDS

SHANGHAI = ZoneInfo("Asia/Shanghai")
LANGS = ("zh-CN", "en")
SIZES = ("normal", "large")
CHOICES = {"lang": LANGS, "size": SIZES}
YEAR = 365 * 24 * 3600

WORDS: dict[str, tuple[str, str]] = {
    "site": ("社区议事", "Community council"),
    "skip": ("跳到主要内容", "Skip to main content"),
    "nav": ("主导航", "Main navigation"),
    "board": ("公示栏", "Public board"),
    "report": ("我要反映", "Report an issue"),
    "track": ("查进度", "Track my issue"),
    "other_lang": ("English", "中文"),
    "large_on": ("大字模式", "Large type"),
    "large_off": ("标准字号", "Normal type"),
    "community": ("社区", "Community"),
    "all_communities": ("全部社区", "All communities"),
    "show": ("查看", "Show"),
    "notices": ("公告", "Notices"),
    "no_notices": ("暂无公告。", "No notices yet."),
    "overdue": ("已超期的问题与责任主体", "Overdue issues and who is responsible"),
    "no_overdue": ("目前没有超期的问题。", "Nothing is overdue."),
    "results": ("本月议事成果", "This month's results"),
    "resolved": ("已解决", "Resolved"),
    "unresolved": ("未解决", "Not yet resolved"),
    "demand": ("本月需求清单", "This month's demand list"),
    "no_demand": ("本月暂无需求。", "No needs reported this month."),
    "votes": ("关注人数", "Backers"),
    "vote": ("我也关注", "Back this"),
    "voted": ("已关注", "Backed"),
    "back_hint": ("关注的人越多,越优先列入议事需求清单。", "The more residents back a need, the sooner the council takes it up."),
    "party": ("责任主体", "Responsible"),
    "unassigned": ("待指派", "Not yet assigned"),
    "due": ("时限", "Due"),
    "unavailable": ("暂时无法获取,请稍后刷新。", "Not available right now; please reload later."),
    "title": ("问题标题", "Title"),
    "title_hint": ("一句话说明,如“3号楼楼道灯坏了”", "In a few words, e.g. 'stairwell light broken in building 3'"),
    "description": ("详细描述", "Description"),
    "category": ("问题分类", "Category"),
    "category_auto": ("自动分类", "Let the system choose"),
    "suggested": ("建议分类", "Suggested"),
    "building": ("楼栋", "Building"),
    "unit": ("单元", "Unit"),
    "room": ("房号(选填,不公开)", "Room (optional, never shown publicly)"),
    "name": ("您的称呼(不公开)", "Your name (never shown publicly)"),
    "phone": ("手机号(仅用于回访,不公开)", "Phone (only to call you back, never shown publicly)"),
    "reach_hint": ("称呼和手机号至少填一项,便于回访。", "Give your name or your phone, so that we can call back."),
    "location": ("问题位置", "Where"),
    "point_hint": ("可选:在手机地图上长按问题所在处,即可看到经纬度(如 39.9042、116.4074)。只用于定位,公开时只显示到楼栋。",
                   "Optional: press and hold the spot in your phone's map app to see its latitude and longitude "
                   "(e.g. 39.9042, 116.4074). Used to find the place; shown publicly no finer than the building."),
    "lat": ("纬度(选填)", "Latitude (optional)"),
    "lon": ("经度(选填)", "Longitude (optional)"),
    "about_you": ("联系方式", "How to reach you"),
    "submit": ("提交", "Submit"),
    "errors": ("请修改以下内容:", "Please correct the following:"),
    "received": ("已受理", "Received"),
    "keep_code": ("请保存您的查询码,凭它查进度、确认办理结果:", "Keep your tracking code: it shows your progress "
                  "and lets you confirm the result:"),
    "duplicate": ("邻居已反映过类似问题,要一起关注吗?", "A neighbour has reported a similar problem. Back it too?"),
    "merged_note": ("您的反映已与相同诉求合并办理。", "Your report is handled together with the same one."),
    "code": ("查询码", "Tracking code"),
    "code_hint": ("如 YS-20261202-ABCD1234", "e.g. YS-20261202-ABCD1234"),
    "status": ("状态", "Status"),
    "tier": ("分级", "Tier"),
    "timeline": ("办理进度", "Timeline"),
    "deadlines": ("办理时限", "Deadlines"),
    "answer": ("办理结果确认", "Confirm the result"),
    "confirmed_q": ("问题解决了吗?", "Is the problem solved?"),
    "yes": ("已解决", "Yes, solved"),
    "no": ("没解决", "No, not solved"),
    "satisfaction": ("满意度(1 最不满意,5 最满意)", "Satisfaction (1 least, 5 most)"),
    "comment": ("意见(选填)", "Comment (optional)"),
    "answered": ("感谢反馈,已记录。", "Thank you, your answer is recorded."),
    "another": ("继续反映", "Report another"),
    "photos": ("现场照片(选填,最多 3 张)", "Photos (optional, up to 3)"),
    "photos_hint": ("JPEG 或 PNG,每张不超过 5 MB。照片的拍摄位置等信息会被去除,经工作人员审核后才公开显示。",
                    "JPEG or PNG, at most 5 MB each. Where and when they were taken is removed; they are shown "
                    "publicly only after staff have reviewed them."),
    "photos_sent": ("已上传 {n} 张照片,审核后公开显示。", "{n} photo(s) received; shown once reviewed."),
    "photos_refused": ("以下照片未能上传(您的反映已受理):", "These photos were not accepted (your report was):"),
    "photos_public": ("现场照片", "Photos"),
    "photo_n": ("现场照片 {n}", "Photo {n}"),
    # the unbroken trace on the progress page (全程留痕)
    "trace": ("议事全程", "Through the council, step by step"),
    "trace_unavailable": ("议事记录暂时无法获取,请稍后刷新。", "The council's record is not available right now; please reload later."),
    "trace_not_yet": ("尚未进行", "Not yet"),
    "stage_report": ("居民反映", "Reported"),
    "stage_topic": ("列入议题", "On the agenda"),
    "stage_vote": ("会议表决", "Vote"),
    "stage_resolution": ("纪要决议", "Resolution in the minutes"),
    "stage_plan": ("方案与时限", "Plan and deadline"),
    "stage_resolved": ("办结", "Resolved"),
    "stage_confirmation": ("居民确认", "Residents' answer"),
    "stage_release": ("月度议事成果发布", "Monthly results release"),
    "trace_reported": ("您反映了问题", "You reported the issue"),
    "trace_meeting": ("议事会议", "Meeting"),
    "trace_cancelled": ("(会议已取消)", " (meeting cancelled)"),
    "trace_counts": ("赞成 {yes}、反对 {no}、弃权 {abstain},{outcome}", "{yes} for, {no} against, {abstain} abstaining: {outcome}"),
    "trace_carried": ("通过", "carried"),
    "trace_not_carried": ("未通过", "not carried"),
    "trace_score": ("满意度 {n}", "satisfaction {n}"),
    "trace_listed": ("{month} 议事成果:列入“{list}”", "Results of {month}: listed as “{list}”"),
    "trace_open": ("查看", "Open"),
    # the public pages the trace links to: a meeting's public record (议事公示) and a month's results
    "meeting_public": ("议事公示", "Meeting record"),
    "no_agenda": ("议题尚未公示。", "The agenda is not published yet."),
    "no_motions": ("暂无表决。", "No vote yet."),
    "no_minutes": ("会议纪要尚未形成。", "No minutes yet."),
    "cancelled_because": ("会议已取消:{reason}", "The meeting was cancelled: {reason}"),
    "results_of": ("{month} 议事成果", "Results of {month}"),
    "results_preview": ("本月成果尚未发布,以下为当前情况。", "Not released yet: this is how the month stands now."),
    "results_released": ("发布于 {at}", "Released {at}"),
    "error_title": ("出错了", "Something went wrong"),
    "not_found": ("没有这个页面。", "No such page."),
    "photo_not_stored": ("照片暂未能保存(反映已提交),请稍后再试", "could not be stored now (the report was sent)"),
    "down": ("服务暂时不可用,请稍后再试。您的内容未提交。", "The service is not available; nothing was sent. "
             "Please try again later."),
}

if WORDS.keys() & STAFF_WORDS.keys():  # one key, one meaning: a staff word must not replace a resident's
    raise RuntimeError(f"portal words defined twice: {sorted(WORDS.keys() & STAFF_WORDS.keys())}")
WORDS |= STAFF_WORDS

STATUS = {"received": ("已受理", "received"), "open": ("办理中", "in progress"), "resolved": ("已办结,待确认", "resolved"),
          "reopened": ("重新整改", "reopened"), "closed": ("已结案", "closed"), "merged": ("合并办理", "merged")}
TIER = {"urgent": ("紧急类", "urgent"), "routine": ("常规类", "routine"), "complex": ("复杂类", "complex")}
DEADLINE = {"verify": ("现场核实", "site check"), "plan": ("提出方案", "plan"), "resolve": ("办结", "resolution")}
STEP_EN = {"CaseOpened": "case opened and tiered", "CaseRetriaged": "tier changed",
           "CaseRetimed": "deadline moved for a public holiday", "CaseAssigned": "responsible party assigned",
           "SiteVerified": "checked on site", "PlanProposed": "plan proposed", "CaseEscalated": "escalated",
           "CaseResolved": "resolved: please confirm", "ResidentConfirmed": "resident answered",
           "CaseReopened": "reopened for rectification", "CaseClosed": "closed", "CaseMerged": "merged",
           "IssueMerged": "merged with the same report"}


class Words:
    """`t.word("board")`, the language's own name in `t.lang`; times in Asia/Shanghai."""

    def __init__(self, lang: str):
        self.lang = lang
        self.en = lang == "en"

    def word(self, key: str) -> str:
        zh, en = WORDS[key]
        return en if self.en else zh

    def first(self, *keys: str) -> str:
        """The first of `keys` that has words (a form's own label for a field, else the field's)."""
        return self.word(next((k for k in keys if k in WORDS), keys[-1]))

    def of(self, table: dict[str, tuple[str, str]], key: str | None) -> str:
        return (table[key][1] if self.en else table[key][0]) if key in table else (key or "")

    def step(self, entry: dict[str, Any]) -> str:
        """A timeline entry in plain words: intake's own Chinese, or the English of its step."""
        if not entry.get("step"):
            return self.of(STATUS, entry.get("status"))
        return STEP_EN.get(entry["step"], entry["step"]) if self.en else entry.get("step_zh") or entry["step"]

    @staticmethod
    def time(value: str | None) -> str:
        if not value:
            return ""
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def chosen(request: Request) -> dict[str, str]:
    """The resident's display choices: the query string first, then the cookie, else zh-CN in normal type."""
    picks = {}
    for name, allowed in CHOICES.items():
        value = request.args.get(name) or request.cookies.get(name)
        picks[name] = value if value in allowed else allowed[0]
    return picks


def remember(request: Request, response: Any, picks: dict[str, str]) -> None:
    """Keep a choice made in the query string for the next visit."""
    for name in CHOICES:
        if request.args.get(name) == picks[name]:
            response.set_cookie(name, picks[name], max_age=YEAR, samesite="Lax", httponly=True)

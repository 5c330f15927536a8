"""Message templates (消息模板): zh-CN first, English available. Pure.

Every template renders a title and a body. Parameters are made public-safe before they are
formatted (phone numbers and exact addresses masked); only the tracking code is left as it is, and
only the message to the reporter, the one person entitled to it, carries it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.masking import public_data, public_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
LANGS = ("zh", "en")

ESCALATED_TO = {"secretary": ("社区书记", "the community secretary"), "task_force": ("专班", "a task force"),
                "council": ("居民议事会", "the residents' council"),
                "assembly": ("居民代表大会", "the residents' representative assembly")}
MEETINGS = {"regular": ("议事会例会", "regular council meeting"), "mobile": ("流动议事会", "mobile council meeting"),
            "online": ("云议事", "online council meeting"),
            "assembly": ("居民代表大会", "assembly of residents' representatives")}
VOTE_MODES = {"secret": ("无记名投票", "secret ballot"), "open": ("记名表决", "open vote")}
TIER_NAMES = {"urgent": ("紧急", "urgent"), "routine": ("常规", "routine"), "complex": ("复杂", "complex")}
DEADLINES = {"verify": ("现场核实", "on-site verification"), "plan": ("提出方案", "a plan"),
             "resolve": ("办结", "resolution")}

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "issue_received": {
        "zh": ("诉求已受理", "【议事】您反映的“{title}”已受理,查询码 {tracking_code},可凭查询码查询办理进度。"),
        "en": ("Report received", "[Yishi] Your report \"{title}\" has been received. Tracking code "
                                  "{tracking_code}: use it to follow its progress."),
    },
    "urgent_opened": {
        "zh": ("紧急问题公示:{title}", "{place}反映的“{title}”({category})已列为紧急类问题:{verify_by}前现场核实,"
                                     "{plan_by}前提出解决方案并启动整改。进展将在公告栏和微信群同步公示。"),
        "en": ("Urgent issue: {title}", "\"{title}\" ({category}) at {place} is urgent: verified on site by "
                                        "{verify_by}, a plan by {plan_by}. Progress will be posted here."),
    },
    "urgent_verified": {
        "zh": ("整改进展公示:{title}", "{place}反映的紧急问题“{title}”已于{verified_at}完成现场核实,正在制定解决方案。"),
        "en": ("Progress: {title}", "The urgent issue \"{title}\" at {place} was verified on site at {verified_at}; "
                                    "a plan is being prepared."),
    },
    "urgent_plan": {
        "zh": ("整改进展公示:{title}", "{place}反映的紧急问题“{title}”解决方案已提出并启动整改:{plan}"),
        "en": ("Progress: {title}", "A plan for the urgent issue \"{title}\" at {place} is under way: {plan}"),
    },
    "case_assigned": {
        "zh": ("交办通知:{title}", "{party}:{place}反映的“{title}”({category})已交由贵方办理,请按时限办结并反馈。"),
        "en": ("Assigned to you: {title}", "{party}: \"{title}\" ({category}) at {place} is assigned to you. "
                                           "Please resolve it within its time limit and report back."),
    },
    "deadline_red": {
        "zh": ("红色预警:{title}", "“{title}”({place})已超过{deadline}时限({due}),责任方:{party}。"
                                 "请社区书记牵头协调。"),
        "en": ("Red alert: {title}", "\"{title}\" ({place}) is past its {deadline} deadline ({due}); "
                                     "responsible: {party}. The community secretary takes over coordination."),
    },
    "case_escalated": {
        "zh": ("案件升级:{title}", "“{title}”({place})已提交{to}。原因:{reason}"),
        "en": ("Case escalated: {title}", "\"{title}\" ({place}) has gone to {to}. Reason: {reason}"),
    },
    "case_escalated_public": {
        "zh": ("议题提交公示:{title}", "{place}反映的“{title}”({category})已提交{to}协商审议。"),
        "en": ("Referred: {title}", "\"{title}\" ({category}) at {place} has been referred to {to}."),
    },
    "case_resolved": {
        "zh": ("问题已办结", "【议事】您反映的“{title}”已办结{summary_zh}。请凭查询码确认办理结果并评价。"),
        "en": ("Resolved", "[Yishi] \"{title}\" has been resolved{summary_en}. Please confirm the result "
                           "and rate it with your tracking code."),
    },
    "urgent_resolved": {
        "zh": ("整改进展公示:{title}", "{place}反映的紧急问题“{title}”已办结{summary_zh},待反映人确认。"),
        "en": ("Progress: {title}", "The urgent issue \"{title}\" at {place} has been resolved{summary_en}, "
                                    "awaiting the resident's confirmation."),
    },
    "case_closed": {
        "zh": ("办结公示:{title}", "{place}反映的“{title}”({category})经反映人确认,已办结。"),
        "en": ("Closed: {title}", "\"{title}\" ({category}) at {place} is closed, confirmed by the resident."),
    },
    "case_surveyed": {
        "zh": ("满意度测评结果公示:{title}", "{place}反映的“{title}”({category}){period}居民满意度测评:"
                                          "满意{satisfied}人,共{total}人,满意度{rate}。"),
        "en": ("Survey result: {title}", "\"{title}\" ({category}) at {place}, satisfaction survey {period}: "
                                       "{satisfied} of {total} satisfied ({rate})."),
    },
    "case_reopened": {
        "zh": ("重新整改公示:{title}", "{place}反映的“{title}”({category})经评价未达办结要求,已重新整改,{due}前办结。"),
        "en": ("Reopened: {title}", "\"{title}\" ({category}) at {place} was not accepted as resolved and is being "
                                    "rectified, due by {due}."),
    },
    "case_retriaged": {
        "zh": ("分级调整公示:{title}", "{place}反映的“{title}”({category})经核实调整为{tier}类问题,{due}前办结。"),
        "en": ("Re-graded: {title}", "\"{title}\" ({category}) at {place} is now a {tier} case, due by {due}."),
    },
    "case_merged": {
        "zh": ("合并办理公示:{title}", "{place}反映的“{title}”与此前反映的相同诉求合并办理,进展见原诉求的公示。"),
        "en": ("Merged: {title}", "\"{title}\" at {place} repeats an issue already raised and follows its case."),
    },
    "agenda_published": {  # 会前3日公示议题,含背景资料、初步方案
        "zh": ("议题公示:{meeting}", "{meeting}定于{meeting_at}{at_venue}召开,会前公示议题如下:{agenda}。"
                                   "欢迎居民带着问题来讨论。"),
        "en": ("Agenda: {meeting}", "The {meeting} meets on {meeting_at}{at_venue}. Topics: {agenda}. "
                                    "Residents are welcome."),
    },
    "meeting_minuted": {
        "zh": ("会议纪要公示", "{meeting}形成决议{count}项:{resolutions}。"),
        "en": ("Minutes", "The {meeting} resolved {count} item(s): {resolutions}."),
    },
    "vote_recorded": {
        "zh": ("表决结果公示", "“{motion}”经{mode}表决:赞成{yes}票、反对{no}票、弃权{abstain}票,{outcome}。"),
        "en": ("Vote result", "\"{motion}\" by {mode}: {yes} for, {no} against, {abstain} abstaining; {outcome}."),
    },
    "meeting_cancelled": {
        "zh": ("会议取消公告", "原定于{meeting_at}召开的{meeting}取消。原因:{reason}"),
        "en": ("Meeting cancelled", "The {meeting} planned for {meeting_at} is cancelled. Reason: {reason}"),
    },
    "meeting_rescheduled": {
        "zh": ("会议改期公告", "原定于{previous_meeting_at}召开的{meeting}改于{meeting_at}{at_venue}召开。{why_zh}"),
        "en": ("Meeting moved", "The {meeting} planned for {previous_meeting_at} now meets on {meeting_at}{at_venue}."
                                "{why_en}"),
    },
    "survey_recorded": {  # 每季度居民满意度测评,结果公开;低于80%的事项重新整改
        "zh": ("居民满意度测评结果公示:{period}", "{period}居民满意度测评共{items}项,{total}人次参与,满意{satisfied}人次,"
                                            "总体满意度{rate};{below_floor}项满意度低于80%,重新整改。"),
        "en": ("Satisfaction survey: {period}", "Survey {period}: {items} item(s), {satisfied} of {total} responses "
                                              "satisfied ({rate}); {below_floor} item(s) under 80 % are being put right."),
    },
    "topic_proposed": {  # 议题征集: a co-signed suggestion or a recurring issue goes before the council
        "zh": ("议题征集:{title}", "“{title}”({why_proposed_zh})已提交议事会,将列入近期会议议程并在会前公示。{reason}"),
        "en": ("Topic for the council: {title}", "\"{title}\" ({why_proposed_en}) goes before the council and will be "
                                                 "on a coming agenda, published beforehand."),
    },
    "results_released": {
        "zh": ("议事成果发布", "{month}议事成果已发布:已解决问题清单、未解决问题原因及下一步计划。"),
        "en": ("Results released", "The results for {month} are out: what was solved, what was not and why, "
                                   "and the next steps."),
    },
}
PROPOSED_BECAUSE = {"suggestion": ("居民联名提议", "suggested and co-signed by residents"),
                    "recurring": ("同一楼栋反复出现同类问题", "the same issue keeps recurring at one building")}
UNMASKED = {"tracking_code"}  # sent to the reporter only (issue_received), whose proof of the report it is


def local_time(value: Any) -> str:
    if not value:
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _params(kind: str, params: dict[str, Any], lang: str) -> "_Values":
    zh = lang == "zh"
    p = dict(params)
    place = "".join(x for x in (p.get("community"), f"{p['building']}号楼" if p.get("building") else "") if x)
    p["place"] = place or ("本社区" if zh else "the community")
    p["title"] = p.get("title") or ("一项诉求" if zh else "an issue")
    for key in ("verify_by", "plan_by", "due", "meeting_at", "verified_at", "previous_meeting_at"):
        if key in p:
            p[key] = local_time(p[key])
    if "tier" in p:
        p["tier"] = TIER_NAMES.get(p["tier"], (p["tier"], p["tier"]))[0 if zh else 1]
    if "to" in p:
        p["to"] = ESCALATED_TO.get(p["to"], (p["to"], p["to"]))[0 if zh else 1]
    if "deadline" in p:
        p["deadline"] = DEADLINES.get(p["deadline"], (p["deadline"], p["deadline"]))[0 if zh else 1]
    p |= _meeting_params(p, zh)
    if "month" in p:
        year, month = str(p["month"]).split("-")
        p["month"] = f"{year}年{int(month)}月" if zh else p["month"]
    if "total" in p:  # a survey's result; when it reopens the item, casework's CaseReopened is announced too
        p["rate"] = f"{p['satisfied'] / p['total']:.0%}" if p["total"] else "—"
    summary = p.get("summary") or ""
    p["summary_zh"], p["summary_en"] = (f":{summary}", f": {summary}") if summary else ("", "")
    p.setdefault("party", "")
    p.setdefault("category", "")
    # even a message to the reporter masks what others wrote into it (a summary with a phone number)
    p = {k: v if k in UNMASKED else public_text(v) if isinstance(v, str) else public_data(v, k) for k, v in p.items()}
    return _Values({k: str(v) for k, v in p.items()})


def _meeting_params(p: dict[str, Any], zh: bool) -> dict[str, Any]:
    """The council's meeting notices: its kind by name, its place, each topic and resolution in full."""
    out: dict[str, Any] = {"meeting": MEETINGS.get(p.get("meeting") or "", ("议事会", "council meeting"))[0 if zh else 1]}
    venue = p.get("venue")
    out["at_venue"] = (f"在{venue}" if zh else f" at {venue}") if venue else ""
    sep = ";" if zh else "; "
    if "agenda" in p:
        out["agenda"] = sep.join(
            (f"{t.get('title') or f'议题{i}'}(背景资料:{t['background']};初步方案:{t['draft_plan']})" if zh
             else f"{t.get('title') or f'topic {i}'} (background: {t['background']}; draft plan: {t['draft_plan']})")
            for i, t in enumerate(p["agenda"], 1)) or "—"
    if "resolutions" in p:
        out["count"] = len(p["resolutions"])
        out["resolutions"] = sep.join(
            f"{r['text']}(责任人:{r['owner']},{local_time(r['due'])}前完成)" if zh
            else f"{r['text']} (owner: {r['owner']}, by {local_time(r['due'])})" for r in p["resolutions"]) or "—"
    if "mode" in p:
        out["mode"] = VOTE_MODES.get(p["mode"], (p["mode"], p["mode"]))[0 if zh else 1]
        out["outcome"] = ("通过" if p.get("carried") else "未通过") if zh else \
            ("carried" if p.get("carried") else "not carried")
    if "source" in p:
        out["why_proposed_zh"], out["why_proposed_en"] = PROPOSED_BECAUSE.get(p["source"], ("", ""))
    if "why" in p:
        why = p["why"]
        out["why_zh"], out["why_en"] = (f"原因:{why}", f" Reason: {why}") if why else ("", "")
    return out


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "—"  # a fact upstream did not give: say so, never fail a decision over it


def render(kind: str, params: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{"zh": {"title", "body"}, "en": {...}} for one template."""
    out = {}
    for lang in LANGS:
        title, body = TEMPLATES[kind][lang]
        values = _params(kind, params, lang)
        out[lang] = {"title": title.format_map(values), "body": body.format_map(values)}
    return out

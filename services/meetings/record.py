"""A meeting's full record (议事档案) as JSON and as one printable document, zh-CN first.

A secret ballot appears as counts only: its ballot digests stay inside the aggregate.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.meetings.domain import Meeting
from services.meetings.rules import KINDS, MAJORITIES, ROLES, SHANGHAI
from shared.contracts.envelope import rfc3339
from shared.masking import public_data


def _t(value: datetime | None) -> str | None:
    return rfc3339(value) if value else None


def view(m: Meeting) -> dict[str, Any]:
    return {
        "meeting_id": str(m.id), "kind": m.kind, "title": m.title, "place": m.place,
        "meeting_at": _t(m.meeting_at), "scheduled_at": _t(m.scheduled_at), "status": m.status,
        "agenda_published_at": _t(m.agenda_published_at),
        "topics": [{k: t.get(k) for k in ("topic_id", "title", "background", "draft_plan", "case_id", "proposal_id")}
                   for t in m.topics],
        "participants": [{k: p.get(k) for k in ("participant_id", "name", "role", "organisation", "topic_id",
                                                 "present")} for p in m.participants],
        "chair": m.chair, "recorder": m.recorder, "opened_at": _t(m.opened_at),
        "statements": [{**s, "at": _t(s["at"])} for s in m.statements],
        "disagreements": [{**d, "at": _t(d["at"])} for d in m.disagreements],
        "motions": [_motion(x) for x in m.motions],
        "closed_at": _t(m.closed_at),
        "cancelled": None if m.cancelled is None else {"reason": m.cancelled["reason"], "at": _t(m.cancelled["at"])},
        "minutes": None if m.minutes is None else {
            "minuted_at": _t(m.minutes["minuted_at"]), "late": m.minutes["late"], "summary": m.minutes["summary"],
            "disagreements": m.minutes["disagreements"],
            "resolutions": [{k: (_t(v) if k == "due" else v) for k, v in r.items()} for r in m.minutes["resolutions"]]},
    }


def public_view(m: Meeting) -> dict[str, Any]:
    """The record as residents read it (议事公示): no participant, statement, opinion or who voted how; masked."""
    full = view(m)
    return public_data({
        **{k: full[k] for k in ("meeting_id", "kind", "title", "place", "meeting_at", "status", "agenda_published_at",
                                "opened_at", "closed_at", "cancelled")},
        "topics": [{k: t[k] for k in ("topic_id", "title", "background", "draft_plan", "case_id")}
                   for t in full["topics"]],
        "motions": [{k: x[k] for k in ("motion_id", "text", "topic_id", "mode", "majority", "status", "result")}
                    for x in full["motions"]],
        "minutes": None if full["minutes"] is None else {
            **{k: full["minutes"][k] for k in ("minuted_at", "late", "summary", "disagreements")},
            "resolutions": [{k: r.get(k) for k in ("resolution_id", "text", "owner", "due", "case_id", "topic_id")}
                            for r in full["minutes"]["resolutions"]]},
    })


def _motion(x: dict[str, Any]) -> dict[str, Any]:
    out = {k: x[k] for k in ("motion_id", "text", "topic_id", "mode", "major", "majority", "eligible", "status",
                             "result")}
    out["tabled_at"] = _t(x["tabled_at"])
    out["votes_cast"] = sum(x["counts"].values())
    if x["mode"] == "open":
        out["votes"] = [{"participant_id": p, "choice": c} for p, c in x["votes"].items()]
    return out


def _when(value: datetime | None, lang: str) -> str:
    if value is None:
        return "—"
    return value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M" if lang == "zh" else "%Y-%m-%d %H:%M (UTC+8)")


def document(m: Meeting, lang: str, opinions: list[dict[str, Any]] = ()) -> list[tuple]:
    """`opinions`: the residents' opinions per topic (意见征集, `participation.opinion_digest`), kept with the record."""
    zh = lang == "zh"
    i = 0 if zh else 1
    names = {p["participant_id"]: p["name"] for p in m.participants}
    topics = {t["topic_id"]: t.get("title") or t["topic_id"] for t in m.topics}
    choice = {"for": ("赞成", "for"), "against": ("反对", "against"), "abstain": ("弃权", "abstain")}
    yes_no = ("是", "yes"), ("否", "no")
    blocks: list[tuple] = [
        ("h1", f"{m.title} 会议记录" if zh else f"{m.title}: record of the meeting"),
        ("table", ["项目", "内容"] if zh else ["", ""], [
            ["会议类型" if zh else "Kind", KINDS[m.kind][i]],
            ["地点" if zh else "Place", m.place],
            ["会议时间" if zh else "Time", _when(m.meeting_at, lang)],
            ["议题公示时间" if zh else "Topics published", _when(m.agenda_published_at, lang)],
            ["主持人" if zh else "Chair", names.get(m.chair or "", "—")],
            ["记录人" if zh else "Recorder", names.get(m.recorder or "", "—")],
            ["闭会时间" if zh else "Closed", _when(m.closed_at, lang)],
        ]),
        ("h2", "一、议题" if zh else "1. Topics"),
        ("table", ["编号", "议题", "背景资料", "初步方案", "关联案件"] if zh else ["#", "Topic", "Background", "Draft plan", "Case"],
         [[t["topic_id"], t.get("title") or "—", t["background"], t["draft_plan"], t.get("case_id") or "—"]
          for t in m.topics]),
        ("h2", "二、参会人员" if zh else "2. Participants"),
        ("table", ["姓名", "身份", "单位", "到会"] if zh else ["Name", "Role", "Organisation", "Present"],
         [[p["name"], ROLES[p["role"]][i], p.get("organisation") or "—", yes_no[0 if p["present"] else 1][i]]
          for p in m.participants]),
        ("h2", "三、发言记录(每人5分钟)" if zh else "3. Statements (5 minutes each)"),
        ("table", ["发言人", "议题", "时长", "摘要", "超时"] if zh else ["Speaker", "Topic", "Length", "Summary", "Over time"],
         [[names.get(s["participant_id"]), topics.get(s["topic_id"]), f"{s['seconds'] // 60}:{s['seconds'] % 60:02d}",
           s["summary"], (f"超时 {s['overrun_seconds']} 秒" if zh else f"{s['overrun_seconds']} s over")
           if s["over_limit"] else "—"] for s in m.statements]),
        ("h2", "四、分歧点" if zh else "4. Disagreements"),
        ("table", ["议题", "分歧点", "各方观点", "记录人"] if zh else ["Topic", "Point", "Positions", "Recorded by"],
         [[topics.get(d["topic_id"]), d["point"], ";".join(d["positions"]) or "—", d["recorded_by"]]
          for d in m.disagreements]),
        ("h2", "五、表决" if zh else "5. Votes"),
        ("table", ["事项", "方式", "通过规则", "赞成", "反对", "弃权", "结果"] if zh
         else ["Motion", "Mode", "Rule", "For", "Against", "Abstain", "Result"],
         [[x["text"], ("无记名投票" if zh else "secret ballot") if x["mode"] == "secret"
           else ("记名表决" if zh else "open vote"),
           MAJORITIES[x["majority"]].zh if zh else MAJORITIES[x["majority"]].en,
           *(x["counts"][c] for c in ("for", "against", "abstain")),
           ("—" if x["result"] is None else (("通过" if zh else "carried") if x["result"]["carried"]
                                             else ("未通过" if zh else "not carried")))] for x in m.motions]),
    ]
    open_votes = [[x["motion_id"], names.get(p), choice[c][i]] for x in m.motions if x["mode"] == "open"
                  for p, c in x["votes"].items()]
    if open_votes:
        blocks += [("p", "记名表决明细" if zh else "Named votes"),
                   ("table", ["事项", "表决人", "意见"] if zh else ["Motion", "Voter", "Vote"], open_votes)]
    blocks.append(("h2", "六、会议纪要" if zh else "6. Minutes"))
    if m.minutes is None:
        blocks.append(("p", "尚未形成会议纪要" if zh else "No minutes yet"))
    else:
        late = m.minutes["late"]
        blocks += [
            ("p", (f"纪要形成时间:{_when(m.minutes['minuted_at'], lang)}" + (",超过会后24小时(逾期)" if late else ""))
             if zh else f"Minuted {_when(m.minutes['minuted_at'], lang)}" + (", later than 24 h after closing (late)"
                                                                             if late else "")),
            ("p", m.minutes["summary"] or "—"),
            ("table", ["决议", "责任人", "完成时限", "关联案件"] if zh else ["Resolution", "Owner", "Due", "Case"],
             [[r["text"], r["owner"], _when(r["due"], lang), r.get("case_id") or "—"]
              for r in m.minutes["resolutions"]]),
        ]
    if opinions:
        blocks += [("h2", "七、居民意见(议题公示期间征集)" if zh else "7. Residents' opinions (while the agenda was public)"),
                   ("table", ["议题", "意见数", "意见"] if zh else ["Topic", "Opinions", "What was said"],
                    [[d["title"] or d["topic_id"], d["count"], ";".join(o["text"] for o in d["opinions"]) or "—"]
                     for d in opinions])]
    return blocks

"""zh-CN text is Chinese: no English words or rule ids in what residents and staff read (English on request).

Scans every Chinese string literal of the services and the platform (their messages, problem details, reasons,
notices, Open311 texts) and what they compose at run time: board notices, Open311 documents. Allowed ASCII: the
API's own names a client types (a field or value the same module spells as a literal of its own, e.g.
`participant_id`, `true`, a field path such as `attribute[community]`), formats and units (JSON, YYYY-MM,
RFC 3339, application/json, KiB). An English text that names a Chinese term (`Audit trail (审计留痕)`, the
operator's command help) is English, not mixed Chinese.
"""
from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.casework.domain import case_id_for
from services.casework.triage import BUILT_IN_RULES, triage

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-.]*")
FORMATS = {"JSON", "Idempotency-Key", "YYYY-MM", "YYYY-MM-DD", "YYYY-MM-DD..YYYY-MM-DD", "RFC", "UTC", "true", "false",
           "Open311", "base64", "zh-CN", "en", "KiB", "Authorization", "Bearer", "CSV", "XLSX", "JPEG", "PNG", "MB"}  # the header a client sends
# placeholders, strftime, a sample time, the council's own “1+N” (fixed members plus those invited per topic),
# media types, field paths (attribute[community], items[0]), regular expressions and a sample tracking code
NOT_WORDS = re.compile(r"\{[^}]*\}|%[A-Za-z]|\d{4}-\d\d-\d\dT[\d:+]+|1\+N|\b[a-z]+/[a-z0-9.+-]+|\w+\[\w*\]|\\[dswDSW]|YS-\d{8}-[0-9A-Z]{8}")


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    out = []
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):  # an f-string: its text around the {placeholders}
            out.append((node.lineno, " ".join(v.value for v in node.values if isinstance(v, ast.Constant))))
    return out


def _english(text: str, api_names: set[str]) -> bool:
    """English prose naming a Chinese term: it starts with an English word that is no API name."""
    first = re.match(r"\s*([A-Za-z][A-Za-z0-9_\-.']*)", text)
    return bool(first and foreign_words(first[1], api_names))


def foreign_words(text: str, api_names: set[str] = frozenset()) -> list[str]:
    words = WORD.findall(NOT_WORDS.sub("", text))
    return [w for w in words if w not in FORMATS and w.strip(".") not in api_names
            and not all(part in api_names for part in w.strip(".").split("."))]


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "services").glob("*/*.py"))
                         + sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "shared").rglob("*.py")))
def test_chinese_messages_carry_no_english_words(path):
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    literals = _literals(tree)
    api_names = {s for _, s in literals if re.fullmatch(r"[a-z][a-z0-9_]*", s)}
    bad = [(line, text, words) for line, text in literals if CJK.search(text) and not _english(text, api_names)
           and (words := foreign_words(text, api_names))]
    assert not bad, "\n".join(f"{path}:{line}: {words} in {text!r}" for line, text, words in bad)


@pytest.mark.parametrize("text", ["3号楼楼道灯坏了,晚上一片黑", "消防通道被杂物堵塞", "小区停车难,车位不足",
                                  "邻里纠纷激化,双方动手", "健身器材损坏", "希望增加一些活动"])
def test_a_triage_reason_names_no_rule_id(text):
    reason = triage("设施维护", text, BUILT_IN_RULES).reason
    assert CJK.search(reason) and not foreign_words(reason), reason


def test_reasons_casework_records_for_residents_are_chinese(tmp_path):
    from tests.unit.casework.helpers import PROPERTY, Clock, confirm, issue, memory_app, reported

    app = memory_app(tmp_path, Clock(datetime(2026, 11, 23, 2, tzinfo=timezone.utc)))
    try:
        routine, parking = issue("小区路灯故障"), issue("小区停车难,车位不足", category="停车交通")
        app.process(reported(1, routine))
        app.process(reported(2, parking))
        cases = {i["issue_id"]: app.get_case(str(case_id_for(i["issue_id"]))) for i in (routine, parking)}
        cid = str(cases[routine["issue_id"]].id)
        app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换路灯"})
        confirm(app, cid, False)
        reasons = [getattr(e, "reason", None) or getattr(e, "triage_reason", None)
                   for case in cases.values() for e in app.history(str(case.id))]
        reasons = [r for r in reasons if r]
        assert len(reasons) >= 5 and all(not foreign_words(r) for r in reasons), reasons
    finally:
        app.close()


def test_refusals_of_the_council_rules_are_chinese(tmp_path):
    from services.meetings.application import MeetingsApplication
    from services.meetings.rules import RuleBroken
    from shared.config import Settings
    from shared.contracts.envelope import rfc3339

    now = datetime(2026, 11, 2, 1, tzinfo=timezone.utc)
    app = MeetingsApplication(Settings(None, "", tmp_path / "var"), env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                              clock=lambda: now)
    try:
        meeting, _ = app.schedule({"kind": "regular", "place": "会议室", "meeting_at": rfc3339(now + timedelta(days=4))})
        topic = {"title": "停车", "background": "车位不足", "draft_plan": "改建"}
        app.publish_agenda(str(meeting.id), {"topics": [topic]})
        refusals = []
        for attempt in (lambda: app.open_meeting(str(meeting.id), {"present": [], "chair": "p1", "recorder": "p1"}),
                        lambda: app.close_meeting(str(meeting.id)),
                        lambda: app.record_minutes(str(meeting.id), {"resolutions": []}),
                        lambda: app.reschedule_meeting(str(meeting.id), {"meeting_at": rfc3339(now + timedelta(days=1))})):
            with pytest.raises(RuleBroken) as refused:
                attempt()
            refusals.append(refused.value.detail_zh)
        assert all(CJK.search(r) and not foreign_words(r) for r in refusals), refusals
        assert refusals[2].startswith("会议尚未开始") and "不能不能" not in "".join(refusals)
    finally:
        app.close()


SAMPLE = {"title": "3号楼楼道灯坏了", "category": "设施维护", "community": "幸福里", "building": "3",
          "tracking_code": "YS-20261123-ABCDEFGH", "verify_by": "2026-11-24T02:00:00Z", "plan_by": "2026-11-25T02:00:00Z",
          "verified_at": "2026-11-24T01:00:00Z", "plan": "更换灯具", "party": "幸福里物业服务中心", "deadline": "resolve",
          "due": "2026-12-02T15:59:59Z", "to": "council", "reason": "需议事会协商", "summary": "已更换", "tier": "routine",
          "meeting": "mobile", "meeting_at": "2026-11-28T07:00:00Z", "previous_meeting_at": "2026-11-27T07:00:00Z",
          "venue": "5号院凉亭", "why": "暴雨预警", "agenda": [{"title": "停车", "background": "车位不足", "draft_plan": "改建"}],
          "resolutions": [{"text": "施划车位", "owner": "物业", "due": "2026-12-31T15:59:59Z"}], "motion": "同意改建",
          "mode": "secret", "yes": 4, "no": 1, "abstain": 0, "carried": True, "month": "2026-11", "period": "2026年第四季度",
          "satisfied": 7, "total": 10}


@pytest.mark.parametrize("kind", sorted(__import__("services.notifications.templates", fromlist=["TEMPLATES"]).TEMPLATES))
def test_every_notice_and_message_in_chinese_is_chinese(kind):
    from services.notifications.templates import render

    zh = render(kind, SAMPLE)["zh"]
    text = zh["title"] + zh["body"]
    assert CJK.search(text) and not foreign_words(text.replace(SAMPLE["tracking_code"], "")), text


def test_the_open311_documents_are_chinese_unless_english_is_asked_for():
    from services.intake import open311

    shown = open311.services() + [open311.definition(code) for code in open311.SERVICE_CODES]
    texts = [v for doc in shown for v in ([doc.get("description")] + [a["description"] for a in doc.get("attributes", [])])
             if isinstance(v, str)]
    assert texts and all(CJK.search(t) and not foreign_words(t) for t in texts), texts
    assert not CJK.search(open311.services(english=True)[0]["description"])

"""zh-CN text is Chinese: no English words or rule ids in what residents and staff read (English on request).

Scans every Chinese string literal of meetings and casework (their messages, problem details, reasons,
notices) and the reasons they compose at run time. Allowed ASCII: the API's own names a client types
(a field or value the same module spells as a literal of its own, e.g. `participant_id`, `true`) and
formats (JSON, YYYY-MM, RFC 3339).
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
WORD = re.compile(r"[A-Za-z][A-Za-z_\-.]*")
FORMATS = {"JSON", "Idempotency-Key", "YYYY-MM", "YYYY-MM-DD", "YYYY-MM-DD..YYYY-MM-DD", "RFC", "UTC", "true", "false"}
NOT_WORDS = re.compile(r"\{[^}]*\}|%[A-Za-z]|\d{4}-\d\d-\d\dT[\d:+]+|1\+N")  # placeholders, strftime, a sample time,
# and the council's own “1+N” (fixed members plus those invited per topic)


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


def foreign_words(text: str, api_names: set[str] = frozenset()) -> list[str]:
    words = WORD.findall(NOT_WORDS.sub("", text))
    return [w for w in words if w not in FORMATS and w.strip(".") not in api_names
            and not all(part in api_names for part in w.strip(".").split("."))]


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for service in ("meetings", "casework")
                                        for p in (ROOT / "services" / service).glob("*.py")))
def test_chinese_messages_carry_no_english_words(path):
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    literals = _literals(tree)
    api_names = {s for _, s in literals if re.fullmatch(r"[a-z][a-z0-9_]*", s)}
    bad = [(line, text, words) for line, text in literals if CJK.search(text)
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

"""Builders of realistic test data."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from services.intake.domain import Issue, issue_id_for, new_reporter_ref
from services.intake.requests import parse_report
from services.intake.personal import ENVELOPE


def report(n: int = 0, **overrides: Any) -> dict[str, Any]:
    body = {"channel": "online", "title": f"{n % 9 + 1}号楼楼道灯坏了", "description": "晚上一片黑",
            "location": {"community": "幸福里", "building": str(n % 9 + 1), "room": "1-502"},
            "reporter": {"name": "张三", "phone": "13812345678"}}
    return body | overrides


def unreadable_seal(subject: str) -> dict[str, str]:
    """An envelope of personal data for issues made without intake's key table (they are never opened)."""
    return {"v": ENVELOPE, "subject": subject, "nonce": "", "ct": ""}


def issues(count: int, start: int = 0) -> list[Issue]:
    now = datetime.now(timezone.utc)
    refs = [new_reporter_ref() for _ in range(count)]
    return [Issue.report_new(issue_id_for(None), parse_report(report(n), now), now, ref, unreadable_seal(ref))
            for n, ref in zip(range(start, start + count), refs)]

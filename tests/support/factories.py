"""Builders of realistic test data."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from services.intake.domain import Issue, issue_id_for, parse_report


def report(n: int = 0, **overrides: Any) -> dict[str, Any]:
    body = {"channel": "online", "title": f"{n % 9 + 1}号楼楼道灯坏了", "description": "晚上一片黑",
            "location": {"community": "幸福里", "building": str(n % 9 + 1), "room": "1-502"},
            "reporter": {"name": "张三", "phone": "13812345678"}}
    return body | overrides


def issues(count: int, start: int = 0) -> list[Issue]:
    now = datetime.now(timezone.utc)
    return [Issue.report_new(issue_id_for(None), parse_report(report(n), now), now) for n in range(start, start + count)]

"""Intake's side of a reception day's concern: `POST /issues` (channel `reception`) with an Idempotency-Key, so
a retried concern is the same issue. Intake validates the report and keeps the resident's contact; a refusal
comes back as intake's own problem (its `field` names the concern's field)."""
from __future__ import annotations

from typing import Any

import requests

from shared.config import service_url
from shared.errors import DomainError

TIMEOUT = 10  # seconds: intake answers a report within its group commit
# intake may have saved the report and lost its answer (a timeout, a 503 after the commit): a retry with the same
# Idempotency-Key asks intake again with the same key, so it is answered with that issue or records it once
MAY_BE_RECORDED = "the concern may not have been recorded: retry later with the same Idempotency-Key"
MAY_BE_RECORDED_ZH = "本条诉求可能未被记录,请稍后使用相同的 Idempotency-Key 重试"


class IntakeRefused(DomainError):
    """Intake refused the report: its status, detail and field, passed on."""

    def __init__(self, status: int, problem: dict[str, Any]):
        super().__init__(problem.get("detail_en") or problem.get("detail") or "intake refused the concern",
                         problem.get("field"), problem.get("detail"))
        self.status = status if 400 <= status < 500 else 502
        self.title, self.title_zh = "Refused by intake", "社区诉求受理未通过"


class IntakeUnavailable(DomainError):
    status = 503
    title, title_zh = "Intake unavailable", "诉求受理服务暂不可用"
    headers = {"Retry-After": "5"}


def report_to_intake(report: dict[str, Any], key: str) -> dict[str, Any]:
    """{issue_id, tracking_code} of the issue intake made of (or had made of) this concern."""
    try:
        response = requests.post(f"{service_url('intake')}/issues", json=report, timeout=TIMEOUT,
                                 headers={"Idempotency-Key": key})
    except requests.RequestException:
        raise IntakeUnavailable(f"intake is not answering; {MAY_BE_RECORDED}", None,
                                f"社区诉求受理服务暂时无法访问,{MAY_BE_RECORDED_ZH}") from None
    if response.status_code in (200, 201):
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if response.status_code >= 500:
        raise IntakeUnavailable(f"intake answered {response.status_code}; {MAY_BE_RECORDED}", None,
                                f"社区诉求受理服务暂不可用,{MAY_BE_RECORDED_ZH}")
    raise IntakeRefused(response.status_code, problem)

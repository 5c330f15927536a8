"""Reporters' contacts for notifications only (联系方式): `GET /internal/contacts/{reporter_ref}`.

Intake keeps residents' names and phone numbers; other services know a reporter only by
`reporter_ref`. notifications asks here, with the shared token YISHI_INTERNAL_TOKEN, when it sends
a message to a reporter, and keeps nothing but the masked number (nor the tracking code a receipt carries).
"""
from __future__ import annotations

import hmac
import os
import re
from typing import Any

from services.intake.domain import Issue
from shared.errors import DomainError, NotFound
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection

REPORTER_REF = re.compile(r"^rp-[0-9a-f]{16}$")


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    title_zh = "未授权"


class ReporterIndex(Projection):
    """reporter_ref → issue id: which issue holds a reporter's contact (the contact stays in the log)."""

    name = "reporter_index"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS reporter_index (reporter_ref TEXT PRIMARY KEY, issue_id TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS reporter_index")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, Issue.Reported):
            tx.run("INSERT INTO reporter_index (reporter_ref, issue_id) VALUES (?, ?) ON CONFLICT (reporter_ref) "
                   "DO NOTHING", (event.reporter_ref, str(event.originator_id)))


def check_token(authorization: str | None) -> None:
    expected = os.environ.get("YISHI_INTERNAL_TOKEN") or ""
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("a valid internal token is required", "Authorization", "需要有效的内部访问令牌")


def contact_of(app: Any, db: Database, reporter_ref: str) -> dict[str, Any]:
    rows = db.query("SELECT issue_id FROM reporter_index WHERE reporter_ref = ?", (reporter_ref,)) \
        if REPORTER_REF.match(reporter_ref) else []
    if not rows:
        raise NotFound(f"no reporter {reporter_ref}", "reporter_ref", "未找到该反映人")
    issue = app.get_issue(rows[0][0])
    reporter = issue.report["reporter"]
    # the tracking code goes only to the reporter's own receipt (SMS), filled in as it is sent
    return {"reporter_ref": reporter_ref, "name": reporter.get("name"), "phone": reporter.get("phone"),
            "tracking_code": issue.tracking_code}

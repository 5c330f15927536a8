"""Who reads a resident's contact (联系方式), and why: every read opens the sealed data here and is logged.

Intake keeps residents' names and phone numbers sealed (services/intake/personal.py); other services know a
reporter only by `reporter_ref`. Two readers: notifications, with the shared token YISHI_INTERNAL_TOKEN,
when it sends a message to a reporter (`GET /internal/contacts/{reporter_ref}`), and staff who must call a
resident back (`GET /residents/{reporter_ref}?purpose=`). Each read, allowed or refused, is a row of the
access log (`contact_reads`: when, whose data, who, role, why, outcome), which the secretary reads
(`GET /residents/access-log`). The operator role never reads contacts.
"""
from __future__ import annotations

import hmac
import logging
import os
import re
from datetime import datetime
from typing import Any

from services.intake.domain import Issue
from shared.contracts.envelope import rfc3339
from shared.errors import DomainError, InvalidInput, NotFound
from shared.masking import mask_text
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection

REPORTER_REF = re.compile(r"^(rp|hh)-[0-9a-f]{16}$")  # a reporter, or a household reported for (代办)
READERS = ("community_worker", "secretary")  # staff who may call a resident back
log = logging.getLogger("yishi.personal")


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    title_zh = "未授权"


class Erased(DomainError):
    status = 410
    title = "Gone"
    title_zh = "已删除"


class ReporterIndex(Projection):
    """reporter_ref → issue id: which issue holds a reporter's sealed contact."""

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


def purpose_of(value: str | None, required: bool) -> str:
    """Why the contact is read, as the access log keeps it (1 to 100 characters, no line breaks)."""
    if value is None and not required:
        return "notification delivery"
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 100 or any(c in value for c in "\r\n\x00"):
        raise InvalidInput("purpose (why the contact is read, 1 to 100 characters) is required", "purpose",
                           "须说明查看联系方式的事由 purpose(1 到 100 个字)")
    return value.strip()


def issue_of(db: Database, reporter_ref: str) -> str:
    rows = db.query("SELECT issue_id FROM reporter_index WHERE reporter_ref = ?", (reporter_ref,)) \
        if REPORTER_REF.match(reporter_ref) else []
    if not rows:
        raise NotFound(f"no reporter {reporter_ref}", "reporter_ref", "未找到该反映人")
    return rows[0][0]


def contact_of(app: Any, db: Database, reporter_ref: str, who: str, role: str, purpose: str,
               tracking_code: bool = False) -> dict[str, Any]:
    """The reporter's contact in clear, the read logged; 410 once erased. `tracking_code`: for the reporter's
    own receipt (notifications fills it into the SMS as it is sent), never shown to staff."""
    try:
        if reporter_ref.startswith("hh-"):  # reported on behalf of a household: its register entry holds it
            from services.intake import households

            issue, contact = None, households.contact(app, households.get(app, reporter_ref))
        else:
            issue = app.get_issue(issue_of(db, reporter_ref))
            contact = app.contact(issue)
        if contact is None:
            raise Erased(f"the personal data of {reporter_ref} was erased", "reporter_ref", "该居民的个人信息已删除")
    except DomainError as refused:
        record_read(db, reporter_ref, who, role, purpose, type(refused).__name__.lower(), app.clock())
        raise
    record_read(db, reporter_ref, who, role, purpose, "read", app.clock())
    shown = {k: contact.get(k) for k in ("name", "phone", "email", "room")}
    return {"reporter_ref": reporter_ref, "issue_id": str(issue.id) if issue else None, **shown,
            **({"tracking_code": issue.tracking_code} if tracking_code and issue else {})}


def _tables(tx: Transaction) -> None:
    tx.run("CREATE TABLE IF NOT EXISTS contact_reads (at TEXT NOT NULL, subject TEXT NOT NULL, who TEXT NOT NULL, "
           "role TEXT NOT NULL, purpose TEXT NOT NULL, outcome TEXT NOT NULL)")


def record_read(db: Database, subject: str, who: str, role: str, purpose: str, outcome: str, at: datetime) -> None:
    purpose = mask_text(purpose)  # the log keeps why, not a name or number typed into it
    with db.transaction() as tx:
        _tables(tx)
        tx.run("INSERT INTO contact_reads (at, subject, who, role, purpose, outcome) VALUES (?, ?, ?, ?, ?, ?)",
               (rfc3339(at), subject, who, role, purpose, outcome))
    log.info("contact %s: %s by %s as %s for %r", outcome, subject, who, role, purpose)


def access_log(db: Database, subject: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """The contact reads, newest first (of one subject with `subject`)."""
    with db.transaction() as tx:
        _tables(tx)
        rows = tx.all("SELECT at, subject, who, role, purpose, outcome FROM contact_reads"
                      + (" WHERE subject = ?" if subject else "") + " ORDER BY at DESC LIMIT ? OFFSET ?",
                      ((subject,) if subject else ()) + (limit, offset))
    return [dict(zip(("at", "subject", "who", "role", "purpose", "outcome"), r)) for r in rows]

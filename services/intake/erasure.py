"""Erasure of a resident's personal data (PIPL art. 47, 删除权), on request or past retention.

Erasing destroys the subject's data key (crypto-shredding, services/intake/personal.py) and records an
`Erasure` in intake's log (published as `ResidentErased`). Events stay as they were: they hold only
ciphertext of the personal data, so every hash chain, case and statistic still verifies, and the clear
name and phone are gone from the log, its copies and backups taken from now on.

Retention: the contact of a report whose case was closed more than `YISHI_CONTACT_RETENTION_DAYS` (365; 0
keeps contacts) days ago is shredded by the `contact-retention` ticker, with reason `retention`.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError

from services.intake.contacts import issue_of
from services.intake.domain import NAMESPACE
from shared.audit import Audited
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict, NotFound
from shared.messaging.relay import Published
from shared.store.persistence import Database

REASONS = ("request", "retention")  # the resident asked (申请删除) / kept no longer than needed (保存期限届满)
SYSTEM = {"role": "system", "name": "contact-retention", "subject": "system"}


def retention_days() -> int:
    return int(os.environ.get("YISHI_CONTACT_RETENTION_DAYS", "365"))


def erasure_id(subject: str) -> UUID:
    return uuid5(NAMESPACE, f"erasure:{subject}")


class Erasure(Audited):
    """One data subject's erasure: who erased it, when and why. Its data key is destroyed before it is recorded."""

    @event("Erased")
    def __init__(self, subject: str, reason: str, by: dict[str, str], at: datetime):
        self.subject, self.reason, self.at = subject, reason, at

    @staticmethod
    def create_id(subject: str) -> UUID:
        return erasure_id(subject)


def erase(app: Any, db: Database, subject: str, reason: str, by: dict[str, str]) -> tuple[Erasure, bool]:
    """Shred the subject's key, then record the erasure (once: a second request returns the first, False).

    A crash between the two leaves the key shredded and no record; erasing again records it."""
    try:
        return app.repository.get(erasure_id(subject)), False
    except AggregateNotFoundError:
        pass
    _erasable(app, db, subject)
    now = app.clock()
    app.personal.shred(subject, reason, now)
    erasure = Erasure(subject=subject, reason=reason, by=dict(by), at=now)
    try:
        app.save(erasure)
    except IntegrityError:  # erased at the same moment by another request or the ticker
        return app.repository.get(erasure_id(subject)), False
    return erasure, True


def _erasable(app: Any, db: Database, subject: str) -> None:
    """A known subject whose data is sealed (a report recorded before sealing waits for `yishi seal-contacts`)."""
    if subject.startswith("rp-"):
        issue = app.get_issue(issue_of(db, subject))
        if issue.personal is None:
            raise Conflict("this report's contact is not sealed yet: run `yishi seal-contacts` first", "reporter_ref",
                           "该诉求的个人信息尚未加密,请运维人员先执行加密迁移")
    elif not app.personal.known(subject):
        raise NotFound(f"no data subject {subject}", "reporter_ref", "未找到该居民")


def expired(db: Database, now: datetime, days: int) -> list[str]:
    """Reporters whose case (or, for a merged duplicate, the case it joined) closed over `days` days ago."""
    cutoff = rfc3339(now - timedelta(days=days))
    closed = {issue_id: _closed_at(doc) for issue_id, doc in
              db.query("SELECT issue_id, doc FROM case_progress WHERE status = 'closed'")}
    merged = {issue_id: json.loads(doc).get("merged_into") for issue_id, doc in
              db.query("SELECT issue_id, doc FROM issue_index WHERE status = 'merged'")}
    ended = {i for i, at in closed.items() if at and at <= cutoff} | {
        i for i, into in merged.items() if into in closed and (closed[into] or "~") <= cutoff}
    if not ended:
        return []
    rows = db.query("SELECT r.reporter_ref, r.issue_id FROM reporter_index r JOIN personal_keys k "  # not households:
                    "ON k.subject = r.reporter_ref WHERE k.wrapped IS NOT NULL AND r.reporter_ref LIKE 'rp-%'")  # kept
    return sorted(ref for ref, issue_id in rows if issue_id in ended)


def _closed_at(doc: str) -> str | None:
    timeline = json.loads(doc).get("timeline") or []
    return next((e["at"] for e in reversed(timeline) if e.get("status") == "closed"), None)


def shred_expired(app: Any, db: Database) -> int:
    """The retention ticker: erase every contact kept past retention; how many were erased."""
    days = retention_days()
    if days <= 0:
        return 0
    app.personal.ensure()
    return sum(erase(app, db, ref, "retention", SYSTEM)[1] for ref in expired(db, app.clock(), days))


def published(event: Any) -> Published | None:
    if isinstance(event, Erasure.Erased):
        return Published("ResidentErased", str(event.originator_id), event.timestamp, {
            "subject_ref": event.subject, "reason": event.reason, "erased_at": rfc3339(event.at)})
    return None

"""`yishi migrate intake seal-contacts`: reports recorded before sealing lose their clear contact, once.

An upcaster would only hide a clear name at read time; the bytes would stay in the store and in every
backup after it. So this one-off step rewrites each such `Issue.Reported` in place, as a report is recorded
now: contact, room and the resident's own words sealed under a new data key of their `reporter_ref`, title
and description kept masked, the idempotency digest of the whole body (a digest of a phone number is as good
as the number) replaced by one of the public parts. Each rewritten issue's hash chain is computed again,
and the rewrite is recorded in the audit checkpoints (`Rebased`), followed by a fresh checkpoint: the
checkpoints before it are superseded. Run it with intake's processes stopped; running it again finds nothing.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from services.intake.domain import Issue, public_text
from shared.audit import HASH, PREV, chain_hash
from shared.ops.checkpoints import rebase
from shared.store.persistence import Database, table_names

STEP = "seal-contacts"


def _decode(app: Any, stored: Any) -> dict[str, Any]:
    return app.mapper.transcoder.decode(stored.state)


def _in_clear(app: Any) -> list[UUID]:
    """Issues whose report was recorded with the contact in clear."""
    topic, found, position = get_topic(Issue.Reported), [], 0
    while page := app.recorder.select_notifications(position, 1000, inclusive_of_start=False):
        for n in page:
            if n.topic == topic and not _decode(app, n).get("personal"):
                found.append(n.originator_id)
        position = page[-1].id
    return found


def _sealed(app: Any, state: dict[str, Any]) -> dict[str, Any]:
    report = state["report"]
    personal = {**report.get("reporter", {}), **({"room": report["room"]} if report.get("room") else {}),
                "title": report["title"], "description": report["description"]}
    public = {"channel": report["channel"], "title": public_text(report["title"], report),
              "description": public_text(report["description"], report), "location": report["location"]}
    digest = hashlib.sha256(json.dumps({**public, "category": state["category"]}, sort_keys=True,
                                       ensure_ascii=False).encode()).hexdigest()
    sealed = app.personal.seal(state["reporter_ref"], personal, app.clock())
    return {**state, "report": public, "personal": sealed.as_dict(), "fingerprint": digest}


def _rechain(app: Any, db: Database, issue_id: UUID) -> None:
    """Rewrite the issue's first event sealed, and every event's link of the chain after it."""
    events_table = table_names("intake", app.settings)[0]
    key = issue_id if db.postgres else issue_id.hex  # as each store keeps it
    head, rows = None, []
    for stored in app.recorder.select_events(issue_id):
        state = _decode(app, stored)
        if stored.originator_version == 1:
            state = _sealed(app, state)
        state[PREV] = head
        state[HASH] = head = chain_hash(head, issue_id, stored.originator_version, stored.topic, state)
        rows.append((app.mapper.transcoder.encode(state), key, stored.originator_version))
    with db.transaction() as tx:
        if not db.postgres:  # SQLite: the old state's pages are overwritten, not left in the file's free space
            tx.run("PRAGMA secure_delete = ON")
        for row in rows:
            tx.run(f"UPDATE {events_table} SET state = ? WHERE originator_id = ? AND originator_version = ?", row)


def seal_contacts(app: Any, db: Database) -> str:
    """The migration step: how many reports it sealed."""
    issues = _in_clear(app)
    for issue_id in issues:
        _rechain(app, db, issue_id)
    if issues:
        rebase(app, STEP, len(issues))
        if not db.postgres:  # and the old pages leave the write-ahead log (PostgreSQL: VACUUM, see docs)
            with db.transaction() as tx:
                tx.run("PRAGMA secure_delete = ON")
            db.query("PRAGMA wal_checkpoint(TRUNCATE)")
    return f"{len(issues)} report(s) sealed and re-chained" if issues else "nothing in clear: no change"

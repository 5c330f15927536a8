"""notifications read models: the public board (公告栏) and the delivery log, from its own log; and what
each reported issue is about, a view of intake's IssueReported."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import dataclasses

from services.notifications.domain import Delivery, MatterFact, Notice
from shared.contracts import IntegrationEvent
from shared.contracts.envelope import rfc3339
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection, UpstreamView


class Matters(UpstreamView):
    """What each reported issue is about (事项): the notices' title and place when a case event lacks them."""

    name = "matters"
    version = 1
    upstream = "intake"

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS matters (issue_id TEXT PRIMARY KEY, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS matters")

    def apply(self, tx: Transaction, event: IntegrationEvent) -> None:
        if event.name == "IssueReported":
            fact = MatterFact.of(event.data, event.time)
            tx.run("INSERT INTO matters (issue_id, doc) VALUES (?, ?) ON CONFLICT (issue_id) DO NOTHING",
                   (fact.issue_id, json.dumps(dataclasses.asdict(fact), ensure_ascii=False)))


def find_matter(db: Database, issue_id: str) -> MatterFact | None:
    rows = db.query("SELECT doc FROM matters WHERE issue_id = ?", (issue_id,))
    return MatterFact(**json.loads(rows[0][0])) if rows else None


class NoticeBoard(Projection):
    """One row per public notice, newest first; texts in zh-CN and English."""

    name = "notice_board"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS notices (notice_id TEXT PRIMARY KEY, published_at TEXT NOT NULL, "
               "community TEXT, kind TEXT NOT NULL, about TEXT NOT NULL, doc TEXT NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS notices_newest ON notices (published_at, notice_id)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS notices")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, Notice.Published):
            doc = {"notice_id": str(event.originator_id), "kind": event.kind, "about": event.about,
                   "community": event.community, "published_at": rfc3339(event.published_at), "texts": event.texts}
            tx.run("INSERT INTO notices (notice_id, published_at, community, kind, about, doc) VALUES "
                   "(?, ?, ?, ?, ?, ?) ON CONFLICT (notice_id) DO NOTHING",
                   (doc["notice_id"], doc["published_at"], event.community, event.kind, event.about,
                    json.dumps(doc, ensure_ascii=False)))


def list_notices(db: Database, lang: str, community: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    where, params = "", []
    if community:
        where, params = " WHERE community = ? OR community IS NULL", [community]
    rows = db.query(f"SELECT doc FROM notices{where} ORDER BY published_at DESC, notice_id DESC LIMIT ? OFFSET ?",
                    (*params, limit, offset))
    out = []
    for (raw,) in rows:
        doc = json.loads(raw)
        texts = doc.pop("texts")
        out.append({**doc, **texts[lang], "lang": "zh-CN" if lang == "zh" else "en"})
    return out


def _recipient_label(recipient: dict[str, Any]) -> str:
    """Whom, as a staff member may see it: a reporter by reference, never by contact."""
    kind = recipient["kind"]
    value = {"reporter": "reporter_ref", "party": "party", "group": "community",
             "subscription": "subscription_id"}.get(kind)
    return f"{kind}:{recipient.get(value)}" if value else kind


class DeliveryLog(Projection):
    """One row per delivery: its status for GET /deliveries, and when the dispatcher should try it next."""

    name = "delivery_log"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS deliveries (delivery_id TEXT PRIMARY KEY, status TEXT NOT NULL, "
               "channel TEXT NOT NULL, subscription_id TEXT, source TEXT, sequence BIGINT, "
               "redelivery_of TEXT, next_attempt_at DOUBLE PRECISION, requested_at TEXT NOT NULL, doc TEXT NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at)")
        tx.run("CREATE INDEX IF NOT EXISTS deliveries_listing ON deliveries (status, requested_at)")
        tx.run("CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries (subscription_id, source, sequence)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS deliveries")

    def apply(self, tx: Transaction, event: Any) -> None:
        delivery_id = str(event.originator_id)
        if isinstance(event, Delivery.Requested):
            content = event.content
            doc = {"delivery_id": delivery_id, "webhook_id": f"msg_{event.originator_id.hex}",
                   "channel": event.channel, "recipient": _recipient_label(event.recipient), "kind": event.kind,
                   "about": event.about, "source_event": event.source_event, "notice_id": event.notice_id,
                   "redelivery_of": event.redelivery_of,
                   "status": "pending", "attempts": 0, "last_error": None, "to": None,
                   "requested_at": rfc3339(event.requested_at), "next_attempt_at": rfc3339(event.requested_at),
                   "updated_at": rfc3339(event.timestamp)}
            tx.run("INSERT INTO deliveries (delivery_id, status, channel, subscription_id, source, sequence, "
                   "redelivery_of, next_attempt_at, requested_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (delivery_id) DO NOTHING",
                   (delivery_id, "pending", event.channel, event.recipient.get("subscription_id"),
                    content.get("source"), content.get("sequence"), event.redelivery_of, event.requested_at.timestamp(),
                    doc["requested_at"], json.dumps(doc, ensure_ascii=False)))
            return
        change: dict[str, Any] | None = None
        due: float | None = None
        if isinstance(event, Delivery.AttemptFailed):
            change = {"last_error": event.error, "next_attempt_at": rfc3339(event.retry_at), "inc": 1}
            due = event.retry_at.timestamp()
        elif isinstance(event, Delivery.Delivered):
            change = {"status": "delivered", "to": event.to, "delivered_at": rfc3339(event.at), "inc": 1}
        elif isinstance(event, Delivery.GaveUp):
            change = {"status": "failed", "last_error": event.error, "failed_at": rfc3339(event.at), "inc": 1}
        elif isinstance(event, Delivery.Skipped):
            change = {"status": "skipped", "last_error": event.reason, "inc": 0}
        if change is None:
            return
        row = tx.one("SELECT doc FROM deliveries WHERE delivery_id = ?", (delivery_id,))
        if row is None:
            return
        doc = json.loads(row[0])
        doc["attempts"] += change.pop("inc")
        doc.update(change, updated_at=rfc3339(event.timestamp))
        if doc["status"] != "pending":
            doc["next_attempt_at"] = None
        tx.run("UPDATE deliveries SET status = ?, next_attempt_at = ?, doc = ? WHERE delivery_id = ?",
               (doc["status"], due, json.dumps(doc, ensure_ascii=False), delivery_id))


def due_deliveries(db: Database, now: float, limit: int, exclude: Iterable[str] = ()) -> list[str]:
    skip = list(exclude)
    extra = f" AND delivery_id NOT IN ({', '.join('?' * len(skip))})" if skip else ""
    rows = db.query("SELECT delivery_id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
                    f"{extra} ORDER BY next_attempt_at LIMIT ?", (now, *skip, limit))
    return [r[0] for r in rows]


def list_deliveries(db: Database, filters: dict[str, str], limit: int, offset: int) -> list[dict[str, Any]]:
    where = [f"{column} = ?" for column in filters]
    sql = "SELECT doc FROM deliveries" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY requested_at DESC, delivery_id LIMIT ? OFFSET ?", (*filters.values(), limit, offset))
    return [json.loads(r[0]) for r in rows]


def sent_to_subscription(db: Database, subscription_id: str, source: str | None, from_sequence: int,
                         limit: int = 10000) -> list[str]:
    """First deliveries (not redeliveries) to a subscription from a sequence on, in order."""
    sql = ("SELECT delivery_id FROM deliveries WHERE subscription_id = ? AND sequence >= ? "
           "AND redelivery_of IS NULL")
    params: list[Any] = [subscription_id, from_sequence]
    if source:
        sql += " AND source = ?"
        params.append(source)
    rows = db.query(sql + " ORDER BY source, sequence LIMIT ?", (*params, limit))
    return [r[0] for r in rows]

"""What an operator reads and repairs (`yishi status`, `yishi dead-letters`): positions and dead letters."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from amqp.exceptions import NotFound as QueueNotFound
from kombu import Connection

from shared.messaging import topology
from shared.config import Settings
from shared.store.persistence import Database, table_names
from shared.messaging.relay import ConfirmedPublisher, RelayState
from shared.runtime.spec import load_spec

DEAD = ".dead"


# status ----------------------------------------------------------------------------------------

def queue_depth(conn: Connection, name: str) -> int | None:
    """Ready messages in a queue; None when it does not exist."""
    return queue_info(conn, name)[0]


def queue_info(conn: Connection, name: str) -> tuple[int | None, int | None]:
    """(ready messages, subscribed consumers) of a queue; (None, None) when it does not exist."""
    channel = conn.channel()
    try:
        _, depth, subscribers = channel.queue_declare(name, passive=True)
        return depth, subscribers
    except QueueNotFound:
        return None, None
    finally:
        try:
            channel.close()
        except Exception:
            pass


def service_status(service: str, settings: Settings, conn: Connection | None) -> dict[str, Any]:
    """One service's log head, relay position, consumer positions, queues and read-model positions."""
    spec = load_spec(service)
    settings = settings.for_service(service)
    app = spec.application(settings)
    db = Database(service, settings)
    try:
        head = app.log_head()
        relay_position, last_published = RelayState(db, f"{service}.events").load()
        _, tracking = table_names(service, settings)
        tracked = {r[0]: {"position": r[1], "applied": r[2]} for r in db.query(
            f"SELECT application_name, max(notification_id), count(*) FROM {tracking} GROUP BY application_name")}
        consumers = []
        for upstream in topology.upstreams(service):
            queue = topology.consumer_queue(service, upstream).name
            waiting, subscribers = queue_info(conn, queue) if conn else (None, None)
            consumers.append({"upstream": upstream, "queue": queue,
                              **tracked.get(upstream, {"position": 0, "applied": 0}),
                              "state": consumer_state(conn, subscribers), "waiting": waiting,
                              "dead_letters": queue_depth(conn, queue + DEAD) if conn else None})
        models = [{"name": p.name, "version": p.version, "position": _projection_position(db, p.name),
                   "behind": None} for p in spec.projections()]
        for m in models:
            m["behind"] = None if m["position"] is None else head - m["position"]
        return {"service": service, "log_head": head,
                "relay": {"position": relay_position, "last_published": last_published, "lag": head - relay_position},
                "consumers": consumers, "read_models": models}
    finally:
        db.close()
        app.close()


def consumer_state(conn: Connection | None, subscribers: int | None) -> str:
    """consuming: a worker holds the queue (one active, the others standing by); else why not."""
    if conn is None:
        return "unknown (broker unreachable)"
    if subscribers is None:
        return "no queue"
    return "consuming" if subscribers else "no consumer"


def _projection_position(db: Database, name: str) -> int | None:
    try:
        rows = db.query("SELECT position FROM projection_position WHERE name = ?", (name,))
    except Exception:  # no process has opened the store yet
        return None
    return rows[0][0] if rows else None


def format_status(statuses: list[dict[str, Any]]) -> str:
    lines = []
    for s in statuses:
        if "error" in s:
            lines.append(f"{s['service']}: UNAVAILABLE: {s['error']}")
            continue
        r = s["relay"]
        lines.append(f"{s['service']}: log head {s['log_head']}, relay at {r['position']} (lag {r['lag']})")
        for c in s["consumers"]:
            waiting = "?" if c["waiting"] is None else c["waiting"]
            dead = "?" if c["dead_letters"] is None else c["dead_letters"]
            lines.append(f"  consumes {c['upstream']}: {c['state']}, tracked up to {c['position']} ({c['applied']} applied), "
                         f"queue {c['queue']}: {waiting} waiting, {dead} dead letters")
        for m in s["read_models"]:
            where = "not built" if m["position"] is None else f"at {m['position']} (behind {m['behind']})"
            lines.append(f"  read model {m['name']} v{m['version']}: {where}")
    return "\n".join(lines)


# dead letters ------------------------------------------------------------------------------------

@dataclass
class DeadLetter:
    queue: str  # the dead-letter queue
    message_id: str | None
    type: str | None
    sequence: int | None
    error: str | None
    attempts: int | None
    failed_at: float | None
    body: bytes = field(repr=False)
    properties: dict[str, Any] = field(repr=False)
    headers: dict[str, Any] = field(repr=False)

    @property
    def origin(self) -> str:
        """The queue it was consuming from when it failed."""
        return str(self.headers.get("x-yishi-queue") or self.queue.removesuffix(DEAD))

    def summary(self) -> dict[str, Any]:
        return {"queue": self.queue, "origin": self.origin, "message_id": self.message_id, "type": self.type,
                "sequence": self.sequence, "attempts": self.attempts, "error": self.error,
                "failed_at": self.failed_at}


def dead_letter_queues(queue: str | None = None) -> list[str]:
    if queue:
        return [queue if queue.endswith(DEAD) else queue + DEAD]
    return [q.name for q in topology.all_queues() if q.name.endswith(DEAD)]


def _decode(queue: str, message: Any) -> DeadLetter:
    headers = dict(message.properties.get("application_headers") or {})
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    try:
        cloudevent = json.loads(body)
    except ValueError:
        cloudevent = {}
    return DeadLetter(queue, message.properties.get("message_id"), cloudevent.get("type") or headers.get("ce-type"),
                      cloudevent.get("sequence"), headers.get("x-yishi-error"), headers.get("x-yishi-attempts"),
                      headers.get("x-yishi-failed-at"), body, dict(message.properties), headers)


@contextmanager
def dead_letters(amqp_uri: str, queues: list[str]) -> Iterator[tuple[Connection, Any, list[tuple[DeadLetter, Any]]]]:
    """Every dead letter of `queues`, taken unacknowledged: the caller acks what it handled; the rest go
    back to their queue when the channel closes."""
    with Connection(amqp_uri) as conn:
        conn.ensure_connection(max_retries=2, interval_start=0.5, interval_step=0.5)  # an operator waits, not a daemon
        topology.declare(conn)
        channel = conn.channel()
        taken = []
        try:
            for queue in queues:
                try:
                    depth = channel.queue_declare(queue, passive=True)[1]
                except QueueNotFound:
                    raise LookupError(f"no dead-letter queue {queue!r}") from None
                for _ in range(depth):
                    message = channel.basic_get(queue, no_ack=False)
                    if message is None:
                        break
                    taken.append((_decode(queue, message), message))
            yield conn, channel, taken
        finally:
            channel.close()  # unacked ones return to their dead-letter queue


def retry(conn: Connection, channel: Any, chosen: list[tuple[DeadLetter, Any]]) -> int:
    """Republish each to the queue it failed in (its CloudEvent unchanged, so the consumer applies it once),
    confirmed, then remove it from the dead-letter queue."""
    for origin in {letter.origin for letter, _ in chosen}:  # the default exchange drops what it cannot route
        if queue_depth(conn, origin) is None:
            raise LookupError(f"queue {origin!r} does not exist: nothing retried")
    publisher = ConfirmedPublisher(conn, "")  # the default exchange: routed to the queue of that name only
    for letter, _ in chosen:
        headers = {k: v for k, v in letter.headers.items()
                   if not k.startswith("x-yishi-") and k not in ("x-death", "x-delivery-count", "x-first-death-exchange",
                                                                  "x-first-death-queue", "x-first-death-reason")}
        headers["x-yishi-retried-from"] = letter.queue
        publisher.publish(letter.body, {
            "routing_key": letter.origin, "message_id": letter.message_id,
            "content_type": letter.properties.get("content_type") or "application/json",
            "content_encoding": letter.properties.get("content_encoding") or "utf-8",
            "delivery_mode": 2, "headers": headers})
    publisher.wait_for_confirms()
    for _, message in chosen:
        channel.basic_ack(message.delivery_tag)
    return len(chosen)


def drop(channel: Any, chosen: list[tuple[DeadLetter, Any]]) -> int:
    for _, message in chosen:
        channel.basic_ack(message.delivery_tag)
    return len(chosen)

"""Replay of a service's archive to one named queue (`yishi replay`): a city system that joins late.

The archive is the service's own log. Every public event from a position on is published exactly as the
relay published it (same CloudEvents body and id, same routing key, persistent, confirmed), in order,
through an exchange made for this replay and bound to the named queue only: no other subscriber of
`<service>.events` sees anything. The exchange is deleted afterwards.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable

from amqp.exceptions import NotFound as QueueNotFound
from kombu import Connection, Exchange

from shared.store.application import ServiceApplication
from shared.messaging.relay import ConfirmedPublisher, PublishMap, message_for

Progress = Callable[[int], None]


class ReplayError(RuntimeError):
    pass


def previous_public(app: ServiceApplication, publish: PublishMap, before: int, page: int = 500) -> int | None:
    """The last notification before `before` that the relay published: the first replayed event's
    `prevsequence`, so the replayed bodies are byte for byte the relay's."""
    stop = before - 1
    while stop >= 1:
        start = max(1, stop - page + 1)
        found = [n.id for n in app.recorder.select_notifications(start, page, stop=stop)
                 if publish(app.domain_event(n)) is not None]
        if found:
            return found[-1]
        stop = start - 1
    return None


def replay(app: ServiceApplication, publish: PublishMap, amqp_uri: str, queue: str, start: int = 0,
           batch_size: int = 500, progress: Progress | None = None) -> dict[str, int]:
    """Publish every public event with sequence >= `start` to `queue`. Returns counts and positions."""
    head = app.log_head()
    with Connection(amqp_uri) as conn:
        conn.ensure_connection(max_retries=2, interval_start=0.5, interval_step=0.5)  # an operator waits, not a daemon
        try:
            conn.default_channel.queue_declare(queue, passive=True)
        except QueueNotFound:
            raise ReplayError(f"queue {queue!r} does not exist: declare and bind it first (the subscriber does)") from None
        exchange = Exchange(f"yishi.replay.{app.name}.{uuid.uuid4().hex[:12]}", "topic", durable=False,
                            auto_delete=False)
        channel = conn.channel()
        exchange(channel).declare()
        try:
            channel.queue_bind(queue, exchange.name, routing_key="#")
            publisher = ConfirmedPublisher(conn, exchange.name)
            last = previous_public(app, publish, max(start, 1))
            position, published = max(start, 1) - 1, 0
            first = None
            while position < head and (notifications := app.recorder.select_notifications(
                    position + 1, batch_size, stop=head)):
                for n in notifications:
                    event = publish(app.domain_event(n))
                    if event is not None:
                        body, props = message_for(app.name, event, n.id, last)
                        publisher.publish(body, props)
                        first = first or n.id
                        last = n.id
                        published += 1
                    position = n.id
                publisher.wait_for_confirms()  # in order and confirmed, batch by batch
                if progress:
                    progress(len(notifications))
        finally:
            exchange(channel).delete()  # and with it the binding
            channel.close()
    return {"published": published, "first": first or 0, "last": last if published else 0, "head": head}

"""RabbitMQ topology: who follows whom, and the exchanges and queues that carry it (DESIGN.md §3).

Declared in full by every relay before it publishes and by every consumer before it consumes, so
no event is published into an exchange whose consumer queue does not exist yet.
"""
from __future__ import annotations

import logging

from amqp.exceptions import PreconditionFailed
from kombu import Connection, Exchange, Queue

log = logging.getLogger(__name__)

# consumer service -> upstream services whose whole log it follows, in order
FOLLOWS: dict[str, tuple[str, ...]] = {
    "intake": ("casework",),
    "casework": ("intake", "meetings"),
    "meetings": ("casework",),
    "notifications": ("intake", "casework", "meetings"),
}

DEAD_LETTERS = Exchange("yishi.dead-letters", "direct", durable=True)
# Broker-side last resort only. RabbitMQ raises the delivery count of every unacked message a dead
# consumer held (its whole prefetch window), so a low limit would dead-letter healthy messages; the
# consumer counts its own handler starts instead (shared/consumer.py).
BROKER_DELIVERY_LIMIT = 1000


def events_exchange(service: str) -> Exchange:
    """nameko's convention, so `@event_handler("intake", "IssueReported")` binds here too."""
    return Exchange(f"{service}.events", "topic", durable=True)


def consumer_queue(consumer: str, upstream: str) -> Queue:
    name = f"{consumer}--{upstream}.events"
    return Queue(
        name,
        exchange=events_exchange(upstream),
        routing_key="#",
        durable=True,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-single-active-consumer": True,  # one ordered consumer, hot standbys wait
            "x-delivery-limit": BROKER_DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTERS.name,
            "x-dead-letter-routing-key": name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def dead_letter_queue(queue_name: str) -> Queue:
    return Queue(f"{queue_name}.dead", exchange=DEAD_LETTERS, routing_key=queue_name, durable=True,
                 queue_arguments={"x-queue-type": "quorum"})


def all_queues() -> list[Queue]:
    queues = []
    for consumer, upstreams in FOLLOWS.items():
        for upstream in upstreams:
            q = consumer_queue(consumer, upstream)
            queues += [q, dead_letter_queue(q.name)]
    return queues


def declare(conn: Connection, services: tuple[str, ...] = ()) -> None:
    """Declare every exchange and queue (idempotent).

    A queue that already exists with other arguments (declared by an older release) is used as it is:
    RabbitMQ cannot change a queue's arguments, and deleting it would lose its messages. The warning
    says how to migrate it.
    """
    channel = conn.channel()
    try:
        for service in {*services, *FOLLOWS, *(u for ups in FOLLOWS.values() for u in ups)}:
            events_exchange(service)(channel).declare()
        DEAD_LETTERS(channel).declare()
        for queue in all_queues():
            try:
                queue(channel).declare()
            except PreconditionFailed as exc:
                log.warning("queue %s kept with its existing arguments (%s); to apply the new ones, stop its "
                            "consumers, let it drain, delete it and restart", queue.name, exc)
                channel = conn.channel()  # the broker closed the one that failed
    finally:
        channel.close()

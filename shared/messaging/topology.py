"""RabbitMQ topology: the exchanges and queues that carry who follows whom (DESIGN.md §3).

Who follows whom is what each service's application declares it reacts to (`reacts_to`); a consumer
queue is bound only to those routing keys. Declared in full by every relay before it publishes and by
every consumer before it consumes, so no event is published into an exchange whose consumer queue does
not exist yet.
"""
from __future__ import annotations

import logging

from collections.abc import Mapping

from amqp.exceptions import PreconditionFailed
from kombu import Connection, Exchange, Queue, binding

log = logging.getLogger(__name__)
ALL = "#"


def follows() -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    """consumer service -> upstream service -> routing keys it reacts to, from the services' declarations."""
    from shared.runtime.spec import reactions  # the services' code, loaded when the topology is first needed

    return reactions()


def upstreams(consumer: str) -> tuple[str, ...]:
    return tuple(follows().get(consumer, {}))

DEAD_LETTERS = Exchange("yishi.dead-letters", "direct", durable=True)
# Broker-side last resort only. RabbitMQ raises the delivery count of every unacked message a dead
# consumer held (its whole prefetch window), so a low limit would dead-letter healthy messages; the
# consumer counts its own handler starts instead (shared/messaging/consumer.py).
BROKER_DELIVERY_LIMIT = 1000


def events_exchange(service: str) -> Exchange:
    """nameko's convention, so `@event_handler("intake", "IssueReported")` binds here too."""
    return Exchange(f"{service}.events", "topic", durable=True)


def consumer_queue(consumer: str, upstream: str) -> Queue:
    name = f"{consumer}--{upstream}.events"
    keys = follows().get(consumer, {}).get(upstream) or (ALL,)
    return Queue(
        name,
        bindings=[binding(events_exchange(upstream), routing_key=key) for key in keys],
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
    for consumer, reacted in follows().items():
        for upstream in reacted:
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
    graph = follows()
    try:
        for service in {*services, *graph, *(u for ups in graph.values() for u in ups)}:
            events_exchange(service)(channel).declare()
        DEAD_LETTERS(channel).declare()
        for queue in all_queues():
            try:
                queue(channel).declare()
            except PreconditionFailed as exc:
                log.warning("queue %s kept with its existing arguments (%s); to apply the new ones, stop its "
                            "consumers, let it drain, delete it and restart", queue.name, exc)
                channel = conn.channel()  # the broker closed the one that failed
                continue
            _unbind_catch_all(channel, queue)
    finally:
        channel.close()


def _unbind_catch_all(channel, queue: Queue) -> None:
    """An older release bound every consumer queue with `#`: drop that binding once the queue names its keys."""
    for b in queue.bindings:
        if b.routing_key != ALL:
            channel.queue_unbind(queue.name, b.exchange.name, ALL)
            return

"""What notifications tells the world: notices published and deliveries given up."""
from __future__ import annotations

from typing import Any

from services.notifications.domain import Delivery, Notice
from shared.messaging.relay import Published


def publish(event: Any) -> Published | None:
    """Map one stored aggregate event to its integration event; None keeps it private.

    A board notice is published when recorded; a WeChat group post when the group received it.
    Messages to persons and city systems are private, except when they are given up (dead letter).
    """
    if isinstance(event, Notice.Published):
        return Published("NoticePublished", str(event.originator_id), event.timestamp, {
            "notice_id": str(event.originator_id), "channel": "board", "about": event.about})
    if isinstance(event, Delivery.Delivered) and event.channel == "wechat":
        return Published("NoticePublished", str(event.originator_id), event.timestamp, {
            "notice_id": event.notice_id, "channel": "wechat", "about": event.about})
    if isinstance(event, Delivery.GaveUp):
        return Published("DeliveryFailed", str(event.originator_id), event.timestamp, {
            "delivery_id": str(event.originator_id), "attempts": event.attempts, "error": event.error or "failed",
            "channel": event.channel, "about": event.about})
    return None

"""The dispatcher's outcomes, with fakes of our own channel port and the in-memory store."""
from datetime import timedelta

import pytest

from services.notifications.application import NotificationsApplication
from services.notifications.channels import Channel, DeliveryError
from services.notifications.dispatch import Dispatcher
from services.notifications.domain import RetryPolicy
from shared.config import Settings
from tests.unit.notifications.test_policy import NOW, OPENED, REPORTED, SECRET


class Recording(Channel):
    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.sent = []

    def send(self, delivery, now):
        self.sent.append(delivery.webhook_id)
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if isinstance(outcome, Exception):
            raise outcome
        return "https://grid.example/hooks"


class CrashesOnce(NotificationsApplication):
    """Dies between the send and its record, once (a process killed at the worst moment)."""

    crashed = False

    def save(self, *aggregates, **kwargs):
        if not self.crashed and any(getattr(a, "status", None) == "delivered" for a in aggregates):
            self.crashed = True
            raise ConnectionError("store gone")
        return super().save(*aggregates, **kwargs)


@pytest.fixture
def clock():
    return {"now": NOW}


def make(app_class, tmp_path, clock, channels=("webhook", "sms", "wechat", "email")):
    app = app_class(Settings(database_url=None, amqp_uri="", var_dir=tmp_path),
                    clock=lambda: clock["now"], channels=channels)
    app.subscribe({"url": "https://grid.example/hooks", "types": ["casework.*"], "secret": SECRET})
    app.process(REPORTED)
    app.process(OPENED)
    webhook = next(app.domain_event(n) for n in app.notifications_after(0)
                   if getattr(app.domain_event(n), "channel", None) == "webhook")
    return app, str(webhook.originator_id)


def test_a_crash_between_send_and_record_sends_again_under_the_same_webhook_id(tmp_path, clock):
    app, delivery_id = make(CrashesOnce, tmp_path, clock)
    channel = Recording()
    dispatcher = Dispatcher(app, None, {"webhook": channel}, RetryPolicy())
    with pytest.raises(ConnectionError):
        dispatcher.attempt(delivery_id)
    assert app.get_delivery(delivery_id).status == "pending"
    assert dispatcher.attempt(delivery_id) == "delivered"
    assert channel.sent == [app.get_delivery(delivery_id).webhook_id] * 2  # the receiver dedupes the copy
    assert dispatcher.attempt(delivery_id) is None and len(channel.sent) == 2


def test_a_failed_attempt_waits_for_its_back_off_before_the_next(tmp_path, clock):
    app, delivery_id = make(NotificationsApplication, tmp_path, clock)
    channel = Recording(DeliveryError("HTTP 500"), DeliveryError("timed out after 10s"))
    dispatcher = Dispatcher(app, None, {"webhook": channel}, RetryPolicy(max_attempts=3, base_seconds=30))
    assert dispatcher.attempt(delivery_id) == "pending"
    assert dispatcher.attempt(delivery_id) is None  # not due yet: nothing sent
    clock["now"] = NOW + timedelta(seconds=30)
    assert dispatcher.attempt(delivery_id) == "pending"
    clock["now"] = NOW + timedelta(seconds=90)
    assert dispatcher.attempt(delivery_id) == "delivered"
    assert len(channel.sent) == 3 and app.get_delivery(delivery_id).attempts == 3


def test_a_message_for_a_channel_not_configured_here_records_nothing(tmp_path, clock):
    app, _ = make(NotificationsApplication, tmp_path, clock, channels=("webhook",))
    channels = {getattr(app.domain_event(n), "channel", None) for n in app.notifications_after(0)}
    assert channels == {None, "webhook"}  # notices and the city system's copy; no sms Requested/Skipped pair


def test_a_channel_removed_after_its_message_was_requested_skips_and_a_permanent_error_dead_letters(tmp_path, clock):
    app, delivery_id = make(NotificationsApplication, tmp_path, clock)
    sms = next(str(app.domain_event(n).originator_id) for n in app.notifications_after(0)
               if getattr(app.domain_event(n), "channel", None) == "sms")
    dispatcher = Dispatcher(app, None, {"webhook": Recording(DeliveryError("HTTP 410", permanent=True))},
                            RetryPolicy())
    assert dispatcher.attempt(sms) == "skipped"
    assert dispatcher.attempt(delivery_id) == "failed"
    assert app.get_delivery(delivery_id).last_error == "HTTP 410"

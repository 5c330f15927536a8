"""notifications' HTTP adapter (port 8004): the public board, city systems' subscriptions, the delivery log.

The dispatcher runs here too, as a nameko timer: it sends due deliveries from a green pool, so a
slow receiver delays only itself, and never the ordered upstream consumer in the worker process.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any
from uuid import UUID

import eventlet
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from services.notifications.bootstrap import SPEC
from services.notifications.channels import ChannelSettings, channels
from services.notifications.dispatch import Dispatcher
from services.notifications.domain import CHANNELS, DELIVERY_STATUSES, Delivery, RetryPolicy
from services.notifications.projections import list_deliveries, list_notices, sent_to_subscription
from services.notifications.requests import Redelivery, Subscription
from shared.config import Settings
from shared.contracts.envelope import rfc3339
from shared.errors import InvalidInput, NotFound
from shared.edge.access import Forbidden, allow, caller, public
from shared.edge.http import (Operable, Reply, Runtime, RuntimeProvider, answered, choice, idempotency_key,
                              json_response, page, read_json, route, wants_english)
from shared.store.leadership import Leadership

log = logging.getLogger(__name__)
DISPATCH_INTERVAL = float(os.environ.get("YISHI_DISPATCH_INTERVAL", "0.2"))
DELIVERY_READERS = ("operator", "secretary", "community_worker")  # the delivery log and its dead letters


def retry_policy_from_env() -> RetryPolicy:
    env = os.environ
    return RetryPolicy(max_attempts=int(env.get("YISHI_DELIVERY_MAX_ATTEMPTS") or 8),
                       base_seconds=float(env.get("YISHI_DELIVERY_BACKOFF") or 2.0),
                       cap_seconds=float(env.get("YISHI_DELIVERY_BACKOFF_MAX") or 3600))


class DispatchLoop:
    """One dispatcher per web process; only the holder of the dispatch lock sends (no double sends)."""

    def __init__(self, settings: Settings):
        self.leadership = Leadership("notifications-dispatcher", settings)
        self.pool = eventlet.GreenPool(int(os.environ.get("YISHI_DISPATCH_CONCURRENCY") or 20))
        self.in_flight: set[str] = set()
        self.dispatcher: Dispatcher | None = None
        self._checked = 0.0

    def tick(self, runtime: Runtime) -> None:
        if not self._lead():
            return
        if self.dispatcher is None:
            app = runtime.app

            def subscription(subscription_id: str) -> dict[str, Any] | None:
                try:
                    return app.get_subscription(subscription_id)
                except NotFound:
                    return None

            self.dispatcher = Dispatcher(app, runtime.db, channels(ChannelSettings.from_env(), subscription),
                                         retry_policy_from_env())
        for delivery_id in self.dispatcher.due(exclude=self.in_flight):
            self.in_flight.add(delivery_id)
            self.pool.spawn_n(self._attempt, delivery_id)

    def _attempt(self, delivery_id: str) -> None:
        try:
            assert self.dispatcher is not None
            self.dispatcher.attempt(delivery_id)
        except Exception:  # the store failed: the delivery is still pending and is tried again
            log.exception("delivery %s: attempt not recorded", delivery_id)
        finally:
            self.in_flight.discard(delivery_id)

    def _lead(self) -> bool:
        if self.leadership.held and time.monotonic() - self._checked < 5:
            return True
        self._checked = time.monotonic()
        try:
            return self.leadership.try_acquire() and self.leadership.still_held()
        except Exception:
            log.warning("dispatch lock unavailable", exc_info=True)
            return False

    def stop(self) -> None:
        with eventlet.Timeout(10, False):
            self.pool.waitall()
        self.leadership.release()


class DispatchProvider(DependencyProvider):
    def setup(self) -> None:
        self.loop = DispatchLoop(Settings.from_env().for_service("notifications"))  # the lock in its own database

    def stop(self) -> None:
        self.loop.stop()

    def get_dependency(self, worker_ctx: Any) -> DispatchLoop:
        return self.loop


def _uuid(value: str, field: str, zh: str) -> str:
    try:
        if str(UUID(value)) == value.lower():
            return value.lower()
    except ValueError:
        pass
    raise NotFound(f"no {field} {value}", field, zh)


def subscription_view(sub: dict[str, Any]) -> dict[str, Any]:
    """A subscription as its owner sees it: never the secret."""
    return {"subscription_id": sub["subscription_id"], "url": sub["url"], "types": sub["types"],
            "active": sub["active"], "created_at": rfc3339(sub["created_at"])}


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {"delivery_id": str(d.id), "webhook_id": d.webhook_id, "channel": d.channel, "kind": d.kind,
            "about": d.about, "source_event": d.source_event, "status": d.status, "attempts": d.attempts,
            "last_error": d.last_error, "to": d.to, "redelivery_of": d.redelivery_of,
            "next_attempt_at": rfc3339(d.next_attempt_at) if d.next_attempt_at else None}


class NotificationsService(Operable):
    name = "notifications"
    runtime = RuntimeProvider(SPEC)
    dispatch = DispatchProvider()

    @timer(interval=DISPATCH_INTERVAL)
    def dispatch_due(self) -> None:
        """Send what is due (投递): first attempts and retries whose back-off has passed."""
        self.dispatch.tick(self.runtime)

    @route("GET", "/notices", public("the public board"), query=("community", "lang", "limit", "offset"))
    def list_notices(self, request: Request) -> Response:
        """The public board (公告栏), newest first: ?community=&limit=&offset=; zh-CN, English on request."""
        lang = request.args.get("lang")
        if lang not in (None, "zh-CN", "zh", "en"):
            raise InvalidInput("lang must be zh-CN or en", "lang", "lang 必须是 zh-CN 或 en")
        english = lang == "en" or (lang is None and wants_english(request))
        community = request.args.get("community")
        if community is not None and not 1 <= len(community) <= 50:
            raise InvalidInput("community must be 1 to 50 characters", "community", "社区名称须为 1 到 50 个字")
        limit, offset = page(request, default=20, most=200)
        notices = list_notices(self.runtime.db, "en" if english else "zh", community, limit, offset)
        return json_response({"notices": notices, "limit": limit, "offset": offset},
                             headers={"Content-Language": "en" if english else "zh-CN"})

    @route("POST", "/subscriptions", allow("city_system"), body=Subscription, responses={
        201: "subscribed (Location: the subscription)", 200: "a retried Idempotency-Key: the first subscription"})
    def subscribe(self, request: Request) -> Response:
        """A city system subscribes: {url, types (patterns), secret (whsec_…)} → 201; a retried key gives 200."""
        sub, created = self.runtime.app.subscribe(read_json(request), idempotency_key(request),
                                                  owner=caller(request).subject)
        return answered(subscription_view(sub), created, f"/subscriptions/{sub['subscription_id']}")

    @route("GET", "/subscriptions/<string:subscription_id>", allow("city_system"))
    def get_subscription(self, request: Request, subscription_id: str) -> Response:
        return json_response(subscription_view(self._owned(request, subscription_id)))

    @route("DELETE", "/subscriptions/<string:subscription_id>", allow("city_system"),
           responses={204: Reply("cancelled", media=None)})
    def cancel_subscription(self, request: Request, subscription_id: str) -> Response:
        """Stop deliveries to a subscription; pending ones end as failed ("subscription cancelled")."""
        sid = self._owned(request, subscription_id)["subscription_id"]
        self.runtime.app.cancel_subscription(sid)
        return Response(status=204)

    @route("POST", "/subscriptions/<string:subscription_id>/redeliveries", allow("city_system"), body=Redelivery,
           responses={202: "the copies are queued: {redelivery_id, deliveries}"})
    def redeliver(self, request: Request, subscription_id: str) -> Response:
        """Send again what this subscription was sent from a sequence on: {from_sequence, source?} → 202."""
        sid = self._owned(request, subscription_id)["subscription_id"]
        asked = Redelivery.parse(read_json(request))
        source, start = asked.source, asked.from_sequence
        self.runtime.app.get_subscription(sid)
        earlier = sent_to_subscription(self.runtime.db, sid, source, start)
        request_id, count = self.runtime.app.redeliver(sid, earlier, source, start,
                                                       idempotency_key(request))
        return json_response({"redelivery_id": request_id, "deliveries": count}, status=202)

    @route("GET", "/deliveries", allow(*DELIVERY_READERS),
           query=("status", "channel", "subscription_id", "limit", "offset"))
    def list_deliveries(self, request: Request) -> Response:
        """The delivery log, newest first: ?status=pending|delivered|failed|skipped &channel= &subscription_id=."""
        filters = {}
        for name, allowed in (("status", DELIVERY_STATUSES), ("channel", CHANNELS)):
            if (value := choice(request, name, allowed)) is not None:
                filters[name] = value
        if request.args.get("subscription_id") is not None:
            filters["subscription_id"] = _uuid(request.args["subscription_id"], "subscription_id", "未找到该订阅")
        limit, offset = page(request)
        return json_response({"deliveries": list_deliveries(self.runtime.db, filters, limit, offset),
                              "limit": limit, "offset": offset})

    @route("GET", "/deliveries/<string:delivery_id>", allow(*DELIVERY_READERS))
    def get_delivery(self, request: Request, delivery_id: str) -> Response:
        did = _uuid(delivery_id, "delivery_id", "未找到该投递")
        return json_response(delivery_view(self.runtime.app.get_delivery(did)))

    def _owned(self, request: Request, subscription_id: str) -> dict[str, Any]:
        """A subscription belongs to the city system that made it (its token's subject)."""
        sub = self.runtime.app.get_subscription(_uuid(subscription_id, "subscription_id", "未找到该订阅"))
        owner = sub.get("owner")
        if owner is not None and owner != caller(request).subject:
            raise Forbidden("the subscription belongs to another city system", "subscription_id", "该订阅属于其他系统")
        return sub

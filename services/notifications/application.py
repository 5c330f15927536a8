"""Notifications use cases: decide who is told what about upstream events; city systems' subscriptions."""
from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError
from prometheus_client import Counter

from services.notifications.projections import DeliveryLog, NoticeBoard
from services.notifications.addresses import check_subscription_url
from services.notifications.domain import (
    CHANNEL_OF, NAMESPACE, SUBSCRIPTION_BOOK_ID, About, CaseLink, Delivery, MatterFact, Notice, SubscriptionBook,
    Tell, case_link_id, decide, delivery_id_for, notice_id_for, public_data,
)
from services.notifications.projections import Matters, find_matter
from services.notifications.requests import parse_subscription
from services.notifications.channels import ChannelSettings, configured
from services.notifications.templates import render
from shared.store.application import ServiceApplication
from shared.clock import Clock, utcnow
from shared.contracts import IntegrationEvent, to_cloudevent
from shared.contracts.catalogue import CATALOGUE
from shared.errors import NotFound
from shared.idempotency import replayed


def _recipient(tell: Tell, about: About) -> dict[str, Any]:
    if tell.audience == "reporter":
        return {"kind": "reporter", "reporter_ref": about.reporter_ref}
    if tell.audience == "party":
        return {"kind": "party", "party": tell.params.get("party") or about.party}
    if tell.audience == "wechat":
        return {"kind": "group", "community": about.community or ""}
    return {"kind": tell.audience}


NOT_CONFIGURED = Counter("yishi_messages_without_channel_total",
                         "Messages to people not recorded because their channel is not configured here", ["channel"])


class NotificationsApplication(ServiceApplication):
    name = "notifications"
    # every event: city systems may subscribe to any type (webhooks), and the board follows all three
    reacts_to = {"intake": ("#",), "casework": ("#",), "meetings": ("#",),
                 "liaison": ("ReceptionAnnounced", "UnitSupervised")}
    projections = (NoticeBoard(), DeliveryLog())
    views = (Matters(),)  # what each issue is about: a view of intake's IssueReported, not an event here

    def __init__(self, *args: Any, clock: Clock = utcnow, channels: Collection[str] | None = None, **kwargs: Any):
        """`channels`: those that can send here (default: as configured in the environment)."""
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.channels = frozenset(channels) if channels is not None else configured(ChannelSettings.from_env())

    # upstream events -------------------------------------------------------------------------
    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        """Record the facts a later notice needs, decide who is told, and queue the city systems' copies."""
        about = self._learn(event, processing)
        now = self.clock()
        notices: dict[str, str] = {}
        for tell in decide(event.service, event.name, event.data, about):
            texts = render(tell.kind, tell.params)
            if tell.audience == "board":
                notice = Notice(id=notice_id_for(event.id, tell.kind), kind=tell.kind, about=tell.about,
                                community=about.community, source_event=event.id, texts=texts, published_at=now)
                notices[tell.kind] = str(notice.id)
                processing.collect_events(notice)
                continue
            channel = CHANNEL_OF[tell.audience]
            if channel not in self.channels:  # no Requested-then-Skipped pair: an event and a write per message
                NOT_CONFIGURED.labels(channel).inc()
                continue
            recipient = _recipient(tell, about)
            processing.collect_events(Delivery(
                id=delivery_id_for(event.id, channel, recipient, tell.kind), channel=channel, recipient=recipient,
                kind=tell.kind, about=tell.about, source_event=event.id, content=texts, requested_at=now,
                notice_id=notices.get(tell.kind)))
        book = self._find(SUBSCRIPTION_BOOK_ID)
        subscriptions = book.matching(self._type_uri(event)) if book else []
        if subscriptions:
            body = json.dumps(to_cloudevent(event.service, event.name, sequence=event.sequence,
                                            prevsequence=event.prevsequence, subject=event.subject, time=event.time,
                                            data=public_data(event.data)), ensure_ascii=False)
            for sub in subscriptions:
                recipient = {"kind": "subscription", "subscription_id": sub["subscription_id"]}
                processing.collect_events(Delivery(
                    id=delivery_id_for(event.id, "webhook", recipient), channel="webhook", recipient=recipient,
                    kind=event.name, about=event.subject, source_event=event.id,
                    content={"body": body, "source": event.service, "sequence": event.sequence}, requested_at=now))

    def reads(self, event: IntegrationEvent) -> list[UUID]:
        """What `policy` reads for the event: the subscriptions, and the case's link when it is about one."""
        case_id = event.data.get("case_id") if event.service == "casework" else None
        return [SUBSCRIPTION_BOOK_ID, *([case_link_id(case_id)] if case_id else [])]

    def _learn(self, event: IntegrationEvent, processing: ProcessingEvent) -> About:
        """notifications' own record of what an issue or case is about, and what it knows now."""
        data = event.data
        if (event.service, event.name) == ("intake", "IssueReported"):
            return self._about(MatterFact.of(data, event.time), None)  # kept by the matters view
        if event.service == "liaison":  # its events carry what their notices say
            return About(community=data.get("community"), party=data.get("party"))
        if event.service != "casework" or "case_id" not in data:
            return About()
        link = self._find(case_link_id(data["case_id"]))
        if event.name == "CaseOpened" and link is None:
            link = CaseLink.link(data)  # with its first party, when the case was opened and dispatched in one step
            processing.collect_events(link)
        elif link is not None and event.name == "CaseAssigned":
            link.assign(data["party"], data["party_kind"])
            processing.collect_events(link)
        if link is not None and event.name == "CaseRetriaged" and data["tier"] != link.tier:
            link.retriage(data["tier"])
            processing.collect_events(link)
        if link is None:  # a case notifications never saw open: say what the event itself says
            return About(case_id=data["case_id"], title=data.get("title"), category=data.get("category"))
        # a link made from a CaseOpened that carried the issue's facts (reporter_ref among them) needs no matter
        complete = link.reporter_ref is not None and link.title is not None and link.community is not None
        return self._about(None if complete else find_matter(self.read_models, link.issue_id), link)

    @staticmethod
    def _about(matter: MatterFact | None, link: CaseLink | None) -> About:
        """A case's own facts (carried by CaseOpened) first, so a notice never depends on whether intake's
        queue delivered first; the matter fills in only what links recorded before CaseOpened carried it."""
        m, k = matter, link
        return About(
            issue_id=k.issue_id if k else (m.issue_id if m else None),
            case_id=k.case_id if k else None,
            title=(k.title if k else None) or (m.title if m else None),
            category=(k.category if k else None) or (m.category if m else None),
            community=(k.community if k else None) or (m.community if m else None),
            building=(k.building if k else None) or (m.building if m else None),
            reporter_ref=(k.reporter_ref if k else None) or (m.reporter_ref if m else None),
            tier=link.tier if link else None,
            party=link.party if link else None,
            duplicate_of=link.duplicate_of if link else None,
        )

    @staticmethod
    def _type_uri(event: IntegrationEvent) -> str:
        return CATALOGUE.get(event.service, event.name).type_uri

    # subscriptions (city systems) ------------------------------------------------------------
    def subscribe(self, payload: Any, idempotency_key: str | None = None, owner: str | None = None) -> tuple[dict[str, Any], bool]:
        """Register a city system's webhook. Returns (subscription, created); a retried key returns the first."""
        url, types, secret = parse_subscription(payload)
        check_subscription_url(url)  # no internal addresses (SSRF) unless the operator allows them
        subscription_id = str(uuid5(NAMESPACE, f"subscription:{idempotency_key}") if idempotency_key else uuid4())
        for _ in range(5):  # the book is one aggregate: a concurrent subscriber may win a version, retry
            book = self._find(SUBSCRIPTION_BOOK_ID) or SubscriptionBook(id=SUBSCRIPTION_BOOK_ID)
            existing = book.subscriptions.get(subscription_id)
            if existing is not None:
                replayed(repr((existing["url"], existing["types"], existing["secret"])), repr((url, types, secret)),
                         "subscription")
                return existing, False
            book.subscribe(subscription_id, url, types, secret, self.clock(), owner)
            try:
                self.save(book)
            except IntegrityError:
                continue
            return book.subscriptions[subscription_id], True
        raise RuntimeError("subscription book kept changing; try again")

    def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        book = self._find(SUBSCRIPTION_BOOK_ID)
        found = book.subscriptions.get(subscription_id) if book else None
        if found is None:
            raise NotFound(f"no subscription {subscription_id}", "subscription_id", "未找到该订阅")
        return found

    def cancel_subscription(self, subscription_id: str) -> None:
        for _ in range(5):
            self.get_subscription(subscription_id)
            book = self._find(SUBSCRIPTION_BOOK_ID)
            assert book is not None
            if not book.subscriptions[subscription_id]["active"]:
                return
            book.cancel(subscription_id, self.clock())
            try:
                self.save(book)
                return
            except IntegrityError:
                continue

    def redeliver(self, subscription_id: str, earlier: list[str], source: str | None, from_sequence: int,
                  idempotency_key: str | None = None) -> tuple[str, int]:
        """Send the subscriber again what it was sent since `from_sequence` (`earlier`: those deliveries' ids).

        Each copy is a new delivery with a new webhook id (the CloudEvent inside keeps its id), so a
        receiver that already deduped the first copy accepts this one. Returns (request id, count).
        """
        self.get_subscription(subscription_id)
        request_id = str(uuid5(NAMESPACE, f"redelivery:{subscription_id}:{idempotency_key}")
                         if idempotency_key else uuid4())
        now = self.clock()
        copies = []
        for original_id in earlier:
            original = self._find(UUID(original_id))
            if original is None or original.channel != "webhook":
                continue
            copy_id = uuid5(NAMESPACE, f"redelivery:{request_id}:{original_id}")
            if self._find(copy_id) is not None:
                return request_id, len(earlier)  # a retried request: already recorded
            copies.append(Delivery(id=copy_id, channel="webhook", recipient=original.recipient, kind=original.kind,
                                   about=original.about, source_event=original.source_event,
                                   content=original.content, requested_at=now, redelivery_of=original_id))
        book = self._find(SUBSCRIPTION_BOOK_ID)
        assert book is not None
        book.request_redelivery(subscription_id, request_id, source, from_sequence, len(copies), now)
        try:
            self.save(book, *copies)
        except IntegrityError:  # the same request racing itself, or the book moved on: the copies are what matter
            self.save(*copies)
        return request_id, len(copies)

    # deliveries ------------------------------------------------------------------------------
    def get_delivery(self, delivery_id: str) -> Delivery:
        try:
            found = self._find(UUID(delivery_id))
        except ValueError:
            found = None
        if not isinstance(found, Delivery):
            raise NotFound(f"no delivery {delivery_id}", "delivery_id", "未找到该投递")
        return found

    def _find(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None



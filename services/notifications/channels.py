"""Channels (发送渠道) behind one port, and the contact directory: adapters to the outside world.

The public board needs no adapter: a notice is on the board as soon as it is recorded (GET /notices).
The WeChat group and SMS gateways are HTTP webhooks, e-mail goes over SMTP, city systems get the
CloudEvent itself signed per Standard Webhooks. Every adapter returns the masked address it sent to,
which is all the log keeps of it.
"""
from __future__ import annotations

import json
import os
import smtplib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import requests
from standardwebhooks import Webhook

from services.notifications.addresses import AddressRefused, Entry, allowlist, guarded_session
from services.notifications.domain import TRACKING_CODE_SLOT, Delivery
from shared.config import http_port
from shared.masking import mask_phone


class DeliveryError(Exception):
    """A send that did not succeed. `permanent`: retrying cannot help (a 4xx, no address on file)."""

    def __init__(self, error: str, permanent: bool = False):
        super().__init__(error)
        self.permanent = permanent


class NotConfigured(Exception):
    """This channel has no gateway here: the delivery is recorded as skipped, not retried."""


@dataclass(frozen=True)
class Contact:
    reporter_ref: str
    phone: str | None = None
    name: str | None = None
    tracking_code: str | None = None  # for the reporter's own receipt only


class ContactDirectory(ABC):
    """Port: how to reach a reporter, known by `reporter_ref` only (intake keeps the contacts)."""

    @abstractmethod
    def lookup(self, reporter_ref: str) -> Contact | None:
        """The reporter's contact; None when intake has none; DeliveryError when it cannot answer now."""


class Channel(ABC):
    """Port: one way of sending a delivery. Returns the masked address it went to."""

    @abstractmethod
    def send(self, delivery: Delivery, now: datetime) -> str: ...


def _post(url: str, timeout: float, session: Any = requests, **kwargs: Any) -> requests.Response:
    """POST, with 5xx, 408, 429, timeouts and refused connections retryable and other 4xx permanent."""
    try:
        response = session.post(url, timeout=timeout, allow_redirects=False, **kwargs)
    except AddressRefused as exc:  # an internal address (a name rebound since it subscribed): never sent there
        raise DeliveryError(f"refused: {exc}", permanent=True) from None
    except requests.Timeout:
        raise DeliveryError(f"timed out after {timeout:g}s") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"connection failed: {type(exc).__name__}") from None
    if 200 <= response.status_code < 300:
        return response
    # the status only: a gateway's error body may echo the phone number it was given
    retryable = response.status_code >= 500 or response.status_code in (408, 429)
    raise DeliveryError(f"HTTP {response.status_code}", permanent=not retryable)


class IntakeContacts(ContactDirectory):
    """Asks intake's `GET /internal/contacts/{reporter_ref}` with the shared token (YISHI_INTERNAL_TOKEN)."""

    def __init__(self, base_url: str, token: str | None, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def lookup(self, reporter_ref: str) -> Contact | None:
        if not self.token:
            raise NotConfigured("no YISHI_INTERNAL_TOKEN to ask intake for contacts")
        try:
            response = requests.get(f"{self.base_url}/internal/contacts/{reporter_ref}", timeout=self.timeout,
                                    params={"purpose": "notification delivery"},  # intake logs every read, and why
                                    headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            raise DeliveryError(f"intake contacts unavailable: {type(exc).__name__}") from None
        if response.status_code == 404:
            # intake's index may not have caught up with a report made a moment ago: retry
            raise DeliveryError("reporter not (yet) known to intake")
        if response.status_code == 410:  # the resident's personal data was erased: nobody to tell, for good
            raise DeliveryError("the reporter's contact was erased", permanent=True)
        if response.status_code != 200:
            raise DeliveryError(f"intake contacts: HTTP {response.status_code}",
                                permanent=response.status_code in (401, 403))
        body = response.json()
        return Contact(reporter_ref, body.get("phone"), body.get("name"), body.get("tracking_code"))


class SmsGateway(Channel):
    """SMS (短信) through an HTTP gateway: POST {"to", "text"}; the phone is looked up, never stored."""

    def __init__(self, url: str, contacts: ContactDirectory, timeout: float):
        self.url, self.contacts, self.timeout = url, contacts, timeout

    def send(self, delivery: Delivery, now: datetime) -> str:
        contact = self.contacts.lookup(delivery.recipient["reporter_ref"])
        if contact is None or not contact.phone:
            raise DeliveryError("the reporter left no phone number", permanent=True)
        text = delivery.content["zh"]["body"].replace(TRACKING_CODE_SLOT, contact.tracking_code or "—")
        _post(self.url, self.timeout, json={"to": contact.phone, "text": text, "idempotency_key": delivery.webhook_id},
              headers={"Idempotency-Key": delivery.webhook_id})
        return mask_phone(contact.phone)


class WeChatGroup(Channel):
    """The community WeChat group (社区微信群) through a group robot webhook (WeCom's text message shape)."""

    def __init__(self, url: str, timeout: float):
        self.url, self.timeout = url, timeout

    def send(self, delivery: Delivery, now: datetime) -> str:
        zh = delivery.content["zh"]
        _post(self.url, self.timeout, json={"msgtype": "text", "text": {"content": f"{zh['title']}\n{zh['body']}"}},
              headers={"Idempotency-Key": delivery.webhook_id})
        return f"group:{delivery.recipient.get('community') or '*'}"


class SmtpEmail(Channel):
    """E-mail over SMTP to staff: the secretary and responsible parties (addresses from configuration)."""

    def __init__(self, host: str, port: int, sender: str, addresses: dict[str, str], timeout: float):
        self.host, self.port, self.sender, self.addresses, self.timeout = host, port, sender, addresses, timeout

    def address_of(self, recipient: dict[str, Any]) -> str | None:
        key = "secretary" if recipient["kind"] == "secretary" else f"party:{recipient.get('party')}"
        return self.addresses.get(key)

    def send(self, delivery: Delivery, now: datetime) -> str:
        to = self.address_of(delivery.recipient)
        if not to:
            raise NotConfigured(f"no e-mail address for {delivery.recipient}")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, delivery.content["zh"]["title"]
        message["Message-ID"] = f"<{delivery.webhook_id}@yishi>"  # a resend is recognisably the same message
        message.set_content(f"{delivery.content['zh']['body']}\n\n{delivery.content['en']['body']}")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP unavailable: {type(exc).__name__}") from None
        local, _, domain = to.partition("@")
        return f"{local[:1]}***@{domain}"


class SignedWebhook(Channel):
    """A city system's subscription: the CloudEvent JSON, signed per Standard Webhooks.

    `webhook-id` is the same on every attempt of one delivery: a receiver that saw it already (we
    crashed between its 200 and our record) drops the copy.
    """

    def __init__(self, subscriptions: Any, timeout: float, allowed: tuple[Entry, ...] = ()):
        self.subscriptions = subscriptions  # subscription_id -> {"url", "secret", "active"}
        self.timeout = timeout
        self.allowed = allowed  # YISHI_WEBHOOK_ALLOWLIST: internal addresses the operator lets webhooks reach

    def send(self, delivery: Delivery, now: datetime) -> str:
        sub = self.subscriptions(delivery.recipient["subscription_id"])
        if sub is None or not sub["active"]:
            raise DeliveryError("subscription cancelled", permanent=True)
        body = delivery.content["body"]
        signature = Webhook(sub["secret"]).sign(delivery.webhook_id, now, body)
        with guarded_session(sub["url"], self.allowed) as session:  # checks every address it connects to
            _post(sub["url"], self.timeout, session, data=body.encode(), headers={
                "content-type": "application/cloudevents+json; charset=utf-8",
                "webhook-id": delivery.webhook_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signature,
            })
        return sub["url"]


@dataclass(frozen=True)
class ChannelSettings:
    """Where each channel goes, from the environment (see docs/notifications.md)."""

    wechat_url: str | None = None
    sms_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "yishi@localhost"
    addresses: dict[str, str] | None = None
    intake_url: str = "http://127.0.0.1:8001"
    internal_token: str | None = None
    timeout: float = 10.0
    webhook_allowlist: tuple[Entry, ...] = ()

    @classmethod
    def from_env(cls) -> "ChannelSettings":
        env = os.environ
        addresses = {f"party:{k}": v for k, v in json.loads(env.get("YISHI_PARTY_EMAILS") or "{}").items()}
        if env.get("YISHI_SECRETARY_EMAIL"):
            addresses["secretary"] = env["YISHI_SECRETARY_EMAIL"]
        return cls(
            wechat_url=env.get("YISHI_WECHAT_WEBHOOK_URL") or None,
            sms_url=env.get("YISHI_SMS_WEBHOOK_URL") or None,
            smtp_host=env.get("YISHI_SMTP_HOST") or None,
            smtp_port=int(env.get("YISHI_SMTP_PORT") or 25),
            mail_from=env.get("YISHI_MAIL_FROM") or "yishi@localhost",
            addresses=addresses,
            intake_url=env.get("YISHI_INTAKE_URL") or f"http://127.0.0.1:{http_port('intake')}",
            internal_token=env.get("YISHI_INTERNAL_TOKEN") or None,
            timeout=float(env.get("YISHI_DELIVERY_TIMEOUT") or 10),
            webhook_allowlist=allowlist(env),
        )


def configured(settings: ChannelSettings) -> frozenset[str]:
    """The channels that can send here; a message for another one is not recorded at all (nothing happened)."""
    return frozenset({"webhook", *(["wechat"] if settings.wechat_url else []), *(["sms"] if settings.sms_url else []),
                      *(["email"] if settings.smtp_host else [])})


def channels(settings: ChannelSettings, subscriptions: Any) -> dict[str, Channel]:
    """The configured adapters by channel name; a channel missing here makes its deliveries `skipped`."""
    out: dict[str, Channel] = {"webhook": SignedWebhook(subscriptions, settings.timeout, settings.webhook_allowlist)}
    if settings.wechat_url:
        out["wechat"] = WeChatGroup(settings.wechat_url, settings.timeout)
    if settings.sms_url:
        out["sms"] = SmsGateway(settings.sms_url, IntakeContacts(settings.intake_url, settings.internal_token),
                                settings.timeout)
    if settings.smtp_host:
        out["email"] = SmtpEmail(settings.smtp_host, settings.smtp_port, settings.mail_from,
                                 settings.addresses or {}, settings.timeout)
    return out

"""notifications' request bodies as models (shared/models.py): a city system's webhook subscription and a
redelivery it asks for."""
from __future__ import annotations

import base64
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, Field, model_validator
from typing_extensions import Annotated

from services.notifications.domain import valid_pattern
from shared.models import Body, broken, invalid

SOURCES = ("intake", "casework", "meetings")  # the logs a subscription's deliveries come from


def _url(value: str) -> str:
    parts = urlparse(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid("must be an http(s) URL", "必须是 http 或 https 地址")
    return value


def _pattern(value: str) -> str:
    if not valid_pattern(value):
        raise invalid("must be an event type pattern such as casework.* or cn.yishi.casework.CaseOpened.v1",
                      "须为事件类型(可用 * 通配,如 casework.*)")
    return value


def _secret(value: str) -> str:
    try:
        raw = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except ValueError:
        raw = b""
    if not value.startswith("whsec_") or not 24 <= len(raw) <= 64:
        raise invalid("must be whsec_ followed by 24 to 64 base64-encoded random bytes",
                      "须为 whsec_ 加 24 到 64 字节随机数的 base64 编码")
    return value


Pattern = Annotated[str, Field(max_length=200), AfterValidator(_pattern)]


class Subscription(Body):
    """A city system's webhook (Standard Webhooks, signed with `secret`) for the event types it names."""
    example = {"url": "https://grid.example.gov.cn/yishi/events", "types": ["casework.*", "meetings.MeetingMinuted"],
               "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    url: Annotated[str, Field(max_length=2000, title="url"), AfterValidator(_url)]
    types: list[Pattern] | None = Field(None, min_length=1, max_length=50, title="types")
    event_types: list[Pattern] | None = Field(None, min_length=1, max_length=50, title="event_types",
                                              description="the same as types (an older name)")
    secret: Annotated[str, Field(max_length=200, title="secret"), AfterValidator(_secret)]

    @model_validator(mode="after")
    def _typed(self):
        if self.types is None and self.event_types is None:
            raise broken("types", "are required: 1 to 50 event type patterns", "须为 1 到 50 个事件类型")
        return self

    @property
    def patterns(self) -> list[str]:
        return list(dict.fromkeys(self.types if self.types is not None else self.event_types))


class Redelivery(Body):
    """Send again what a subscription was sent from a sequence on (of one source log, or of every one)."""
    example = {"from_sequence": 1200, "source": "casework"}
    from_sequence: int = Field(ge=1, title="from_sequence")
    source: Literal[SOURCES] | None = Field(None, title="source")


def parse_subscription(payload: Any) -> tuple[str, list[str], str]:
    body = Subscription.parse(payload)
    return body.url, body.patterns, body.secret

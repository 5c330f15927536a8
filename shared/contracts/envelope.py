"""CloudEvents 1.0 structured-mode envelope (README, Event catalogue), built by relays and read by consumers."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shared.contracts.catalogue import CATALOGUE, Catalogue, ContractError

_TYPE = re.compile(r"^cn\.yishi\.(?P<service>[a-z]+)\.(?P<name>[A-Za-z]+)\.v(?P<version>\d+)$")
CONTENT_TYPE = "application/cloudevents+json"


@dataclass(frozen=True)
class IntegrationEvent:
    """An upstream fact as a consumer sees it: upcast to the latest version, payload validated."""

    id: str
    service: str
    name: str
    subject: str
    time: datetime
    sequence: int
    prevsequence: int | None
    data: dict[str, Any]


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Yishi stores UTC only")
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def to_cloudevent(service: str, name: str, *, sequence: int, prevsequence: int | None, subject: str,
                  time: datetime, data: dict[str, Any], catalogue: Catalogue = CATALOGUE) -> dict[str, Any]:
    contract = catalogue.get(service, name)
    contract.validate(data)
    return {
        "specversion": "1.0",
        "id": f"{service}-{sequence}",
        "source": f"/yishi/{service}",
        "type": contract.type_uri,
        "subject": subject,
        "time": rfc3339(time),
        "datacontenttype": "application/json",
        "sequence": sequence,
        "prevsequence": prevsequence,
        "data": data,
    }


def from_cloudevent(body: bytes | str | dict[str, Any], catalogue: Catalogue = CATALOGUE) -> IntegrationEvent:
    """Parse and validate a message body; raise ContractError naming the offending attribute."""
    if not isinstance(body, dict):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ContractError(f"body is not JSON: {exc}", field="body") from None
        if not isinstance(body, dict):
            raise ContractError("body is not a JSON object", field="body")
    if body.get("specversion") != "1.0":
        raise ContractError("specversion must be 1.0", field="specversion")
    match = _TYPE.match(str(body.get("type", "")))
    if not match:
        raise ContractError("type is not cn.yishi.<service>.<Event>.v<N>", field="type")
    service, name, version = match["service"], match["name"], int(match["version"])
    if body.get("source") != f"/yishi/{service}":
        raise ContractError("source does not match type", field="source")
    sequence, prev = body.get("sequence"), body.get("prevsequence")
    if not isinstance(sequence, int) or sequence < 1:
        raise ContractError("sequence must be a positive integer", field="sequence")
    if prev is not None and (not isinstance(prev, int) or prev >= sequence):
        raise ContractError("prevsequence must be an integer below sequence", field="prevsequence")
    if body.get("id") != f"{service}-{sequence}":
        raise ContractError("id must be <service>-<sequence>", field="id")
    try:
        time = datetime.fromisoformat(str(body.get("time")).replace("Z", "+00:00"))
    except ValueError:
        raise ContractError("time is not RFC 3339", field="time") from None
    if time.tzinfo is None:
        raise ContractError("time needs a UTC offset", field="time")
    if not isinstance(body.get("subject"), str) or not isinstance(body.get("data"), dict):
        raise ContractError("subject and data are required", field="data")
    data = catalogue.upcast(service, name, version, body["data"])
    catalogue.get(service, name).validate(data)
    return IntegrationEvent(body["id"], service, name, body["subject"], time, sequence, prev, data)

"""The report form (我要反映): what the resident typed, as intake's `POST /issues` body, and intake's answer
mapped back onto the form. Categories and their examples come from intake's published list (Open311
services), so the portal keeps no copy of intake's rules."""
from __future__ import annotations

import math
import re
import uuid
from typing import Any

CHANNEL = "online"  # 线上: the web form is intake's online channel
TEXT_FIELDS = ("title", "description", "category", "community", "building", "unit", "room", "lat", "lon", "name",
               "phone")
LOCATION = ("community", "building", "unit", "room")
POINT = ("lat", "lon")  # the optional point on a map (纬度、经度), two plain fields: no map tiles, no script
REPORTER = ("name", "phone")
# intake's `field` (problem details) -> the form's input it is shown beside
FIELD_OF = {"title": "title", "description": "description", "category": "category",
            **{f"location.{f}": f for f in (*LOCATION, *POINT)}, "location": "community",
            **{f"reporter.{f}": f for f in REPORTER}, "reporter": "phone"}


def form_values(form: Any) -> dict[str, str]:
    return {name: (form.get(name) or "").strip() for name in TEXT_FIELDS}


def payload(values: dict[str, str]) -> dict[str, Any]:
    """intake's report body; empty optional fields are left out rather than sent empty."""
    body: dict[str, Any] = {"channel": CHANNEL, "title": values["title"], "description": values["description"],
                            "location": {f: values[f] for f in LOCATION if values[f] or f == "community"},
                            "reporter": {f: values[f] for f in REPORTER if values[f]}}
    body["location"] |= {f: _number(values[f]) for f in POINT if values[f]}
    if values["category"]:
        body["category"] = values["category"]
    return body


def _number(text: str) -> float | str:
    """A coordinate as a number; anything else is sent as typed, for intake to refuse by the field's name."""
    try:
        value = float(text.replace(",", ".").replace("，", ".").replace("．", "."))
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def idempotency_key(raw: str | None) -> str:
    """The form's own key (a double submit records one report), or a new one when it carries none."""
    try:
        return str(uuid.UUID(raw or ""))
    except ValueError:
        return str(uuid.uuid4())


def categories(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{name, examples}] from intake's Open311 service list: "设施维护:路灯、楼道照明、电梯等 (…)"."""
    out = []
    for service in services:
        text = str(service.get("description", "")).split("(")[0]
        examples = text.split(":", 1)[1] if ":" in text else ""
        words = [w.strip().removesuffix("等") for w in re.split("[、,,]", examples) if w.strip()]
        out.append({"name": service["service_name"], "examples": [w for w in words if w]})
    return out


def suggest(text: str, cats: list[dict[str, Any]], most: int = 2) -> list[str]:
    """Categories whose examples share a two-character word with the text, best first ("楼道灯" ~ "楼道照明")."""
    pairs = {text[i:i + 2] for i in range(len(text) - 1)}
    scored = []
    for cat in cats:
        score = sum(1 for w in cat["examples"] if any(w[i:i + 2] in pairs for i in range(len(w) - 1)))
        if score:
            scored.append((-score, cat["name"]))
    return [name for _, name in sorted(scored)[:most]]

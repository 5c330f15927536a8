"""Open311 GeoReport v2's two formats: every answer in `.json` or `.xml`, errors in GeoReport's own shape.

The XML follows the specification's examples: a root naming the list (`services`, `service_requests`,
`errors`, `discovery`), one element per item (`service`, `request`, `error`, `endpoint`), one element per
field; nested objects become nested elements, lists repeat their item's element (`attributes/attribute`,
`values/value`, `formats/format`); an unknown value is an empty element.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from werkzeug.wrappers import Request, Response

from shared.edge.http import json_response, wants_english
from shared.errors import DomainError, InvalidInput

FORMATS = ("json", "xml")
XML_TYPE = "text/xml; charset=utf-8"
# list element -> the element of each item, where the specification names one
ITEM = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
        "values": "value", "endpoints": "endpoint", "formats": "format", "service_request_updates": "request_update"}


def respond(body: Any, fmt: str, root: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """`body` (a list under `root`, or an object named `root`) as JSON or as GeoReport's XML."""
    if fmt == "json":
        return json_response(body, status=status, headers=dict(headers or {}))
    return Response(to_xml(root, body), status=status, headers=dict(headers or {}), content_type=XML_TYPE)


def to_xml(root: str, body: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, root, body)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            child = ITEM.get(name, "item")
            _fill(ET.SubElement(element, child), child, item)
    elif value is not None:
        element.text = str(value).lower() if isinstance(value, bool) else str(value)


def error_response(request: Request, error: DomainError, fmt: str) -> Response:
    """GeoReport's errors, [{code, description}], plus `field` naming the input as everywhere in Yishi."""
    status = 400 if isinstance(error, InvalidInput) else error.status
    body = [{"code": status, "description": error.detail if wants_english(request) else error.detail_zh,
             "field": error.field}]
    return respond(body, fmt, "errors", status=status, headers=getattr(error, "headers", {}))


def format_of(path: str) -> str:
    """The format a GeoReport path asks for by its extension (JSON when it names none we know)."""
    return "xml" if path.endswith(".xml") else "json"

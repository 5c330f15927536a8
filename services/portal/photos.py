"""Photos on a report, as the portal handles them: the form's files checked before anything is sent, each
sent to intake by the report's tracking code, and pictures passed through from intake, which decides who may
see one (the public: approved ones; staff with their token: all, to review them)."""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from services.portal.i18n import Words
from services.portal.upstream import Refused, Unavailable, Upstream

MAX_PHOTOS = 3
MAX_BYTES = 5 * 1024 * 1024
TYPES = {"image/jpeg", "image/png"}


def chosen(files: Any) -> list[Any]:
    """The files the resident picked (a form with none chosen still sends an empty part)."""
    return [f for f in files.getlist("photos") if f and f.filename]


def problem(files: list[Any], lang: str) -> str | None:
    """What is wrong with the chosen files before the report is sent (intake checks the pictures again)."""
    en = lang == "en"
    if len(files) > MAX_PHOTOS:
        return "At most 3 photos." if en else "最多上传 3 张照片。"
    for f in files:
        if f.mimetype not in TYPES:
            return f"{f.filename}: JPEG or PNG only." if en else f"{f.filename}:只能上传 JPEG 或 PNG 格式的照片。"
        f.stream.seek(0, 2)
        size = f.stream.tell()
        f.stream.seek(0)
        if size > MAX_BYTES:
            return f"{f.filename}: at most 5 MB." if en else f"{f.filename}:每张照片不能超过 5 MB。"
    return None


def send(intake: Upstream, code: str, files: list[Any], lang: str) -> list[str]:
    """Each photo sent to intake with the report's tracking code; the refusals, by file, to show."""
    refused = []
    for f in files:
        try:
            intake.raw("POST", f"/issues/{code}/photos", data=f.stream.read(), content_type=f.mimetype)
        except Refused as exc:
            refused.append(f"{f.filename}:{exc.detail(lang)}")
        except Unavailable:  # the report is filed: its tracking code is still shown, the photo said not kept
            refused.append(f"{f.filename}:{Words(lang).word('photo_not_stored')}")
    return refused


def listed(intake: Upstream, issue_id: str | None, token: str | None = None, fresh_for: float = 0,
           scope: tuple[Any, ...] | None = None) -> list[dict[str, Any]]:
    """An issue's photos as intake shows them to this caller; none when it cannot say."""
    if not issue_id:
        return []
    try:
        return intake.get(f"/issues/{issue_id}/photos", token=token, fresh_for=fresh_for, scope=scope)["photos"]
    except Refused:
        return []


def picture(intake: Upstream, photo_id: str, token: str | None = None) -> Response:
    try:
        data, content_type = intake.raw("GET", f"/photos/{photo_id}", token=token)
    except Refused as exc:
        return Response("not found", status=404 if exc.status in (401, 403, 404) else exc.status,
                        content_type="text/plain; charset=utf-8")
    return Response(data, content_type=content_type,
                    headers={"Cache-Control": "private, no-store" if token else "public, max-age=3600",
                             "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"})

"""Rendering: Jinja2 templates in the resident's language and type size, static files, the page wrapper."""
from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Request, Response

from services.portal import i18n
from services.portal.upstream import Refused, Unavailable
from shared import metrics

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(("html",)),
                  trim_blocks=True, lstrip_blocks=True)
ENV.globals.update(statuses=i18n.STATUS, tiers=i18n.TIER, deadline_names=i18n.DEADLINE)
# Scripts and styles come from this origin only: no inline script, nothing a report's text could inject.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class Static:
    """The portal's own files, read once; their URLs carry a content hash so browsers may keep them a year."""

    TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

    def __init__(self, folder: Path):
        self.files = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in self.TYPES}
        self.versions = {name: hashlib.sha256(data).hexdigest()[:12] for name, data in self.files.items()}

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self.versions[name]}"

    def response(self, name: str) -> Response:
        if name not in self.files:
            return Response("not found", status=404, content_type="text/plain; charset=utf-8")
        return Response(self.files[name], content_type=self.TYPES[Path(name).suffix],
                        headers={"Cache-Control": "public, max-age=31536000, immutable", "ETag": self.versions[name]})


STATIC = Static(HERE / "static")


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    picks = i18n.chosen(request)
    t = i18n.Words(picks["lang"])
    html = ENV.get_template(template).render(t=t, picks=picks, static=STATIC.url, path=request.path,
                                             here=request.full_path.rstrip("?"),
                                             switch=functools.partial(_switch, request), **context)
    response = Response(html, status=status, content_type="text/html; charset=utf-8",
                        headers={"Content-Language": picks["lang"], "Content-Security-Policy": CSP,
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})
    i18n.remember(request, response, picks)
    return response


def _switch(request: Request, name: str, value: str) -> str:
    """This page's URL with one display choice changed (a plain link: no JavaScript needed)."""
    args = request.args.to_dict() | {name: value}
    return request.path + "?" + urlencode({k: v for k, v in args.items() if k in ("community", *i18n.CHOICES)})


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def page(route: str) -> Callable:
    """Wrap a page: an upstream that does not answer gives a 503 page that says nothing was sent; timed."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self: Any, request: Request, **kwargs: Any) -> Response:
            started = time.perf_counter()
            try:
                response = fn(self, request, **kwargs)
            except Unavailable as exc:
                log.warning("%s %s: %s unavailable", request.method, route, exc.service)
                response = render(request, "error.html", 503, message="down")
                response.headers["Retry-After"] = "5"
            except Refused as exc:  # a refusal the page had no field for
                response = render(request, "error.html", exc.status, detail=exc.detail(i18n.chosen(request)["lang"]))
            except Exception:
                log.exception("%s %s failed", request.method, route)
                response = render(request, "error.html", 500, message="down")
            seconds = time.perf_counter() - started
            metrics.HTTP_SECONDS.labels("portal", request.method, route, str(response.status_code)).observe(seconds)
            response.headers["Server-Timing"] = f"app;dur={seconds * 1000:.1f}"  # what bench/portal_pages.py reads
            return response

        return wrapper

    return decorate

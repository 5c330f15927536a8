"""The other services as the portal reaches them: their HTTP read models and commands, never their stores."""
from __future__ import annotations

import os
from typing import Any

import requests

from services.portal.fresh import Fresh, NotKept
from shared.config import service_url

TIMEOUT = 5.0  # seconds: a page waits no longer for one upstream
UPSTREAMS = ("intake", "casework", "meetings", "notifications")


class Unavailable(Exception):
    """An upstream did not answer, or answered 5xx: the page says so instead of failing."""

    def __init__(self, service: str):
        super().__init__(service)
        self.service = service


class Refused(Exception):
    """A 4xx with RFC 9457 problem details: `field` names the input, shown beside it on the form."""

    def __init__(self, status: int, problem: dict[str, Any]):
        super().__init__(problem.get("detail"))
        self.status, self.problem = status, problem

    @property
    def field(self) -> str | None:
        return self.problem.get("field")

    def detail(self, lang: str) -> str:
        return str(self.problem.get("detail_en") if lang == "en" else self.problem.get("detail") or "")


class Upstream:
    """One service's HTTP API: JSON in and out, its problems raised as Refused."""

    def __init__(self, service: str, session: requests.Session, fresh: Fresh | None = None):
        self.service, self.base, self.session, self.fresh = service, service_url(service), session, fresh or Fresh()

    def get(self, path: str, lang: str = "zh-CN", params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, token: str | None = None, fresh_for: float = 0,
            scope: tuple[Any, ...] | None = None) -> Any:
        """`fresh_for`: seconds an answer may be kept and given to other pages (fresh.py) — a shared answer,
        not to be changed. A staff read names its `scope` (SignedIn.scope_key); without one it must be public."""
        fresh_for *= self.fresh.scale
        if not fresh_for:
            if getattr(self.fresh.local, "kept_only", False):
                raise NotKept()  # a read never kept: Fresh.together makes it beside the others
            return self._call("GET", path, lang, token, params=params, headers=headers)[1]
        if token and scope is None:
            raise ValueError("a staff member's read is kept only under their scope")
        key = (self.service, path, lang, tuple(sorted((params or {}).items())), scope if token else None)
        return self.fresh.get(key, fresh_for,
                              lambda: self._call("GET", path, lang, token, params=params, headers=headers)[1])

    def post(self, path: str, body: Any, lang: str = "zh-CN", headers: dict[str, str] | None = None,
             token: str | None = None) -> tuple[int, Any]:
        return self._call("POST", path, lang, token, json=body, headers=headers)

    def raw(self, method: str, path: str, token: str | None = None, data: bytes | None = None,
            content_type: str | None = None) -> tuple[bytes, str]:
        """A body that is no JSON (a photo): its bytes and media type; problems raised as for JSON calls."""
        headers = {"Content-Type": content_type} if content_type else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.session.request(method, self.base + path, headers=headers, data=data, timeout=TIMEOUT)
        except requests.RequestException:
            raise Unavailable(self.service) from None
        if response.status_code >= 500:
            raise Unavailable(self.service)
        if response.status_code >= 400:
            problem = response.json() if response.headers.get("Content-Type", "").startswith("application/") else {}
            raise Refused(response.status_code, problem if isinstance(problem, dict) else {})
        return response.content, response.headers.get("Content-Type", "application/octet-stream")

    def _call(self, method: str, path: str, lang: str, token: str | None, headers: dict[str, str] | None = None,
              **kwargs: Any) -> tuple[int, Any]:
        """`token`: the signed-in staff member's, so the service decides what they may see and do."""
        headers = {"Accept-Language": "en" if lang == "en" else "zh-CN", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.session.request(method, self.base + path, headers=headers, timeout=TIMEOUT, **kwargs)
        except requests.RequestException:
            raise Unavailable(self.service) from None
        if response.status_code >= 500:
            raise Unavailable(self.service)
        body = response.json() if response.content else None
        if response.status_code >= 400:
            raise Refused(response.status_code, body if isinstance(body, dict) else {})
        return response.status_code, body


class Upstreams:
    """Every service the portal reads, by name (`upstreams.intake.get(...)`)."""

    def __init__(self) -> None:
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=len(UPSTREAMS), pool_maxsize=50)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # YISHI_PORTAL_FRESH_SCALE: how long answers are kept, as a share of fresh.py's times (0: none kept)
        self.fresh = Fresh(scale=float(os.environ.get("YISHI_PORTAL_FRESH_SCALE", "1")))
        for name in UPSTREAMS:
            setattr(self, name, Upstream(name, self.session, self.fresh))

    def close(self) -> None:
        self.session.close()

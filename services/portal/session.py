"""A staff member's session in the portal: a signed cookie that carries their sign-on token, and CSRF tokens.

The portal keeps no session store: the cookie holds the bearer token (verified again on every request, so an
expired or revoked key signs nobody in) and is signed with the portal's own key, HttpOnly, SameSite=Lax (the
provider's redirect back is a top-level GET) and Secure behind HTTPS. Forms carry a CSRF token: an HMAC of a
random per-browser value kept in its own cookie, compared in constant time.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from shared.config import Settings

SESSION_COOKIE = "yishi_staff"
CSRF_COOKIE = "yishi_csrf"
LOGIN_COOKIE = "yishi_login"  # the sign-in attempt under way with the provider: state, nonce, PKCE verifier
CSRF_FIELD = "csrf"
KEY_FILE = "session-key"
LOGIN_SECONDS = 600  # an authorization-code sign-in must come back within ten minutes


def _key_path() -> Path:
    return Settings.from_env().var_dir.resolve() / "portal" / KEY_FILE


def load_key() -> bytes:
    """YISHI_PORTAL_SECRET, else a random key under the var dir (created once, mode 0600, shared by restarts)."""
    configured = os.environ.get("YISHI_PORTAL_SECRET")
    if configured:
        return configured.encode()
    path = _key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return path.read_bytes()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Values signed with the portal's key, each for one purpose (a login cookie is no session cookie)."""

    def __init__(self, key: bytes):
        self.key = key

    def _mac(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self.key, f"{purpose}\n{payload}".encode(), hashlib.sha256).digest())

    def dumps(self, purpose: str, value: dict[str, Any], seconds: int) -> str:
        payload = _b64(json.dumps(value | {"until": int(time.time()) + seconds}, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(purpose, payload)}"

    def loads(self, purpose: str, signed: str | None) -> dict[str, Any] | None:
        """The value, or None when it is missing, altered, signed for another purpose, or past its time."""
        payload, _, mac = (signed or "").partition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(purpose, payload)):
            return None
        try:
            value = json.loads(_unb64(payload))
        except ValueError:
            return None
        return value if isinstance(value, dict) and value.get("until", 0) > time.time() else None

    def csrf(self, seed: str) -> str:
        return self._mac("csrf", seed)


def secure(request: Request) -> bool:
    """Cookies are Secure behind HTTPS (the proxy says so in X-Forwarded-Proto) or when configured."""
    return (request.scheme == "https" or request.headers.get("X-Forwarded-Proto") == "https"
            or os.environ.get("YISHI_PORTAL_SECURE_COOKIES") == "1")


def set_cookie(request: Request, response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(name, value, max_age=seconds, path="/", httponly=True, samesite="Lax",
                        secure=secure(request))


def csrf_seed(request: Request) -> tuple[str, bool]:
    """This browser's CSRF seed, and whether it is new (then the response must set it)."""
    seed = request.cookies.get(CSRF_COOKIE) or ""
    return (seed, False) if len(seed) == 32 else (secrets.token_hex(16), True)


def csrf_ok(request: Request, signer: Signer) -> bool:
    """A form's token matches this browser's seed; a cross-site page can read neither."""
    seed, sent = request.cookies.get(CSRF_COOKIE) or "", request.form.get(CSRF_FIELD) or ""
    return len(seed) == 32 and hmac.compare_digest(sent, signer.csrf(seed))

"""How a staff member signs in to the portal.

With a real provider (YISHI_OIDC_ISSUER set): OpenID Connect's authorization-code flow with PKCE. The portal
sends the browser to the provider's authorization endpoint with a random `state` and `nonce`, the provider
sends it back to /staff/callback with a code, and the portal exchanges the code at the token endpoint for the
access token that every service verifies (YISHI_OIDC_CLIENT_ID, default `yishi`, the Keycloak realm's client;
YISHI_OIDC_CLIENT_SECRET for a confidential client; YISHI_PORTAL_URL the portal's public URL, for the
redirect URI). With the embedded provider (no issuer configured): the staff member pastes a token that
`make run` or `yishi token` printed, which proves they may use this machine's signing key.
Either way the token is verified like any service verifies it before the session starts.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from shared.edge.identity import IdentitySettings, InvalidToken, Staff, verifier

DISCOVERY_SECONDS = 3600  # the provider's endpoints are re-read hourly
CALLBACK = "/staff/callback"


class SignInFailed(Exception):
    """The provider refused, the answer did not match the attempt, or the token does not verify."""


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str | None
    portal_url: str | None  # None: the redirect URI is built from the request's host

    @classmethod
    def from_env(cls) -> "Client":
        env = os.environ
        return cls(client_id=env.get("YISHI_OIDC_CLIENT_ID") or "yishi",
                   client_secret=env.get("YISHI_OIDC_CLIENT_SECRET") or None,
                   portal_url=(env.get("YISHI_PORTAL_URL") or "").rstrip("/") or None)

    def redirect_uri(self, host_url: str) -> str:
        return (self.portal_url or host_url.rstrip("/")) + CALLBACK


def embedded() -> bool:
    return IdentitySettings.from_env().embedded


def staff_of(token: str) -> Staff:
    """The staff member a token names, checked as the services check it; SignInFailed otherwise."""
    try:
        return verifier().verify(token)
    except InvalidToken as exc:
        raise SignInFailed(str(exc)) from None


class Provider:
    """The configured OpenID Connect provider: its discovery document, the authorization URL, the code exchange."""

    def __init__(self, issuer: str, client: Client):
        self.issuer, self.client = issuer.rstrip("/"), client
        self._discovered: tuple[float, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def endpoints(self) -> dict[str, Any]:
        with self._lock:
            if self._discovered is None or time.monotonic() - self._discovered[0] > DISCOVERY_SECONDS:
                url = self.issuer + "/.well-known/openid-configuration"
                with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (the configured issuer)
                    self._discovered = (time.monotonic(), json.load(answer))
            return self._discovered[1]

    def start(self, host_url: str) -> tuple[str, dict[str, str]]:
        """The provider URL to send the browser to, and the attempt to remember (in a signed cookie)."""
        attempt = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
                   "verifier": secrets.token_urlsafe(48)}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(attempt["verifier"].encode()).digest()).rstrip(b"=")
        query = {"response_type": "code", "client_id": self.client.client_id, "scope": "openid profile",
                 "redirect_uri": self.client.redirect_uri(host_url), "state": attempt["state"],
                 "nonce": attempt["nonce"], "code_challenge": challenge.decode(), "code_challenge_method": "S256"}
        return self.endpoints()["authorization_endpoint"] + "?" + urlencode(query), attempt

    def finish(self, host_url: str, attempt: dict[str, Any] | None, args: Any) -> tuple[str, Staff]:
        """The access token and who it names, from the provider's redirect back (code and state)."""
        if args.get("error"):
            raise SignInFailed(f"the provider answered {args.get('error')}")
        if attempt is None or not secrets.compare_digest(str(args.get("state") or ""), attempt["state"]):
            raise SignInFailed("the sign-in attempt is unknown or expired")
        body = {"grant_type": "authorization_code", "code": args.get("code") or "",
                "redirect_uri": self.client.redirect_uri(host_url), "client_id": self.client.client_id,
                "code_verifier": attempt["verifier"]}
        if self.client.client_secret:
            body["client_secret"] = self.client.client_secret
        try:
            answer = requests.post(self.endpoints()["token_endpoint"], data=body, timeout=5)
        except requests.RequestException as exc:
            raise SignInFailed(f"token endpoint unreachable: {type(exc).__name__}") from None
        if answer.status_code != 200:
            raise SignInFailed(f"token endpoint answered {answer.status_code}")
        tokens = answer.json()
        self._check_nonce(tokens.get("id_token"), attempt["nonce"])
        access = tokens.get("access_token")
        if not isinstance(access, str):
            raise SignInFailed("no access token")
        return access, staff_of(access)

    @staticmethod
    def _check_nonce(id_token: Any, nonce: str) -> None:
        """The ID token answers this attempt (a replayed code from another attempt carries another nonce).
        It came straight from the token endpoint over the configured connection, so its claims are read as sent;
        the access token, which the services rely on, is verified in full."""
        if not isinstance(id_token, str):
            return
        try:
            claims = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))
        except (ValueError, IndexError):
            raise SignInFailed("malformed id token") from None
        if claims.get("nonce") != nonce:
            raise SignInFailed("the id token answers another sign-in")


_provider: Provider | None = None


def provider() -> Provider:
    global _provider
    if _provider is None:
        _provider = Provider(IdentitySettings.from_env().issuer, Client.from_env())
    return _provider

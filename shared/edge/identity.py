"""Staff identity from `Authorization: Bearer <JWT>`, verified against the identity provider's JWKS.

Configuration (README, Sign-on and roles): YISHI_OIDC_ISSUER (none: the embedded provider of
shared/edge/signing.py), YISHI_OIDC_AUDIENCE, YISHI_OIDC_JWKS_URL (default: the issuer's discovery
document), and the claim names YISHI_OIDC_ROLES_CLAIM / _NAME_CLAIM / _COMMUNITY_CLAIM / _PARTY_CLAIM
(dotted paths, e.g. Keycloak's `realm_access.roles`).
"""
from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib.request

import jwt

from shared.edge.signing import DEFAULT_AUDIENCE, EMBEDDED_ISSUER, JWKS_FILE, ensure_key, key_dir

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
JWKS_LIFESPAN = 300  # seconds a fetched JWK Set is trusted; an unknown `kid` refetches it (key rotation)


class InvalidToken(Exception):
    """The token is missing its signature, issuer, audience or expiry, or one of them is wrong."""


@dataclass(frozen=True)
class Staff:
    """Who a verified token says is calling: `subject` and `name` are what events record as the actor."""

    subject: str
    name: str
    roles: tuple[str, ...]
    community: str | None = None
    party: str | None = None  # the organisation a property company's or department's staff act for
    role: str | None = None  # the role the request acts in, chosen by the operation's policy

    def actor(self) -> dict[str, str]:
        return {"role": self.role or self.roles[0], "name": self.name, "subject": self.subject}


@dataclass(frozen=True)
class IdentitySettings:
    issuer: str = EMBEDDED_ISSUER
    audience: str = DEFAULT_AUDIENCE
    jwks_url: str | None = None  # None with the embedded issuer: the local JWKS file
    key_dir: Path = field(default_factory=key_dir)
    roles_claim: str = "roles"
    name_claim: str = "name"
    community_claim: str = "community"
    party_claim: str = "party"
    leeway: int = 30  # seconds of clock skew allowed between the provider and Yishi
    refetch_cooldown: float = 30  # an unknown `kid` refetches the JWKS at most this often (forged kids cost little)

    @property
    def embedded(self) -> bool:
        return self.issuer == EMBEDDED_ISSUER

    @classmethod
    def from_env(cls) -> "IdentitySettings":
        env = os.environ
        return cls(issuer=env.get("YISHI_OIDC_ISSUER") or EMBEDDED_ISSUER,
                   audience=env.get("YISHI_OIDC_AUDIENCE") or DEFAULT_AUDIENCE,
                   jwks_url=env.get("YISHI_OIDC_JWKS_URL") or None, key_dir=key_dir(),
                   roles_claim=env.get("YISHI_OIDC_ROLES_CLAIM") or "roles",
                   name_claim=env.get("YISHI_OIDC_NAME_CLAIM") or "name",
                   community_claim=env.get("YISHI_OIDC_COMMUNITY_CLAIM") or "community",
                   party_claim=env.get("YISHI_OIDC_PARTY_CLAIM") or "party")


class LocalKeys:
    """The embedded provider's JWKS file, reread when it changes (a new key after the var dir was reset)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._seen: tuple[float, jwt.PyJWKSet] | None = None

    def signing_key(self, token: str) -> Any:
        path = self.directory / JWKS_FILE
        if not path.exists():
            ensure_key(self.directory)
        mtime = path.stat().st_mtime
        if self._seen is None or self._seen[0] != mtime:
            self._seen = (mtime, jwt.PyJWKSet.from_dict(json.loads(path.read_text())))
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._seen[1].keys:
            if key.key_id == kid:
                return key
        raise InvalidToken(f"no signing key {kid}")


class RemoteKeys:
    """The provider's JWKS over HTTPS, cached by PyJWKClient (refetched on an unknown key id)."""

    def __init__(self, settings: IdentitySettings):
        self.settings = settings
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def _jwks_url(self) -> str:
        if self.settings.jwks_url:
            return self.settings.jwks_url
        discovery = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        with urllib.request.urlopen(discovery, timeout=5) as answer:  # noqa: S310 (the configured issuer's URL)
            return json.load(answer)["jwks_uri"]

    def signing_key(self, token: str) -> Any:
        with self._lock:
            if self._client is None:
                self._client = jwt.PyJWKClient(self._jwks_url(), lifespan=JWKS_LIFESPAN, timeout=5,
                                               cooldown_duration=self.settings.refetch_cooldown)
        return self._client.get_signing_key_from_jwt(token)


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class TokenVerifier:
    def __init__(self, settings: IdentitySettings):
        self.settings = settings
        self.keys = LocalKeys(settings.key_dir) if settings.embedded and not settings.jwks_url else RemoteKeys(settings)

    def verify(self, token: str) -> Staff:
        """The staff member a token names; InvalidToken (never the token itself in the message) otherwise."""
        s = self.settings
        try:
            key = self.keys.signing_key(token)
            claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=s.audience, issuer=s.issuer,
                                leeway=s.leeway, options={"require": ["exp", "iss", "aud", "sub"]})
        except InvalidToken:
            raise
        except (jwt.PyJWTError, OSError, KeyError, ValueError) as exc:
            raise InvalidToken(type(exc).__name__ + (f": {exc}" if isinstance(exc, jwt.PyJWTError) else "")) from None
        roles = _claim(claims, s.roles_claim)
        roles = (roles,) if isinstance(roles, str) else tuple(r for r in roles or () if isinstance(r, str))
        name = _claim(claims, s.name_claim) or claims.get("preferred_username") or claims["sub"]
        community, party = _claim(claims, s.community_claim), _claim(claims, s.party_claim)
        return Staff(subject=str(claims["sub"]), name=str(name)[:50], roles=roles,
                     community=community if isinstance(community, str) else None,
                     party=party if isinstance(party, str) else None)


@functools.lru_cache(maxsize=1)
def verifier() -> TokenVerifier:
    """This process's verifier, configured once from the environment."""
    return TokenVerifier(IdentitySettings.from_env())

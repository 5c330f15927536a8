"""The embedded identity provider: a local signing key under the var dir, its public JWKS, and tokens signed with it.

Used when no OpenID Connect provider is configured (README, Sign-on and roles): `make run` and
`yishi token` issue tokens, every service verifies them against `jwks.json` beside the key.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

EMBEDDED_ISSUER = "urn:yishi:embedded"
DEFAULT_AUDIENCE = "yishi"
KEY_FILE, JWKS_FILE = "signing-key.pem", "jwks.json"


def key_dir(var_dir: Path | None = None) -> Path:
    """YISHI_IDENTITY_DIR, else <var dir>/identity."""
    configured = os.environ.get("YISHI_IDENTITY_DIR")
    if configured:
        return Path(configured).resolve()
    return (var_dir or Path(os.environ.get("YISHI_VAR_DIR", "var"))).resolve() / "identity"


def _publish(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to `path` unless it exists already: several processes may start at once, one key wins."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def ensure_key(directory: Path) -> rsa.RSAPrivateKey:
    """The local signing key, created (RSA 2048, file mode 0600) with its JWKS on first use."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / KEY_FILE
    if not key_path.exists():
        new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _publish(key_path, new.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()), 0o600)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not (directory / JWKS_FILE).exists():
        _publish(directory / JWKS_FILE, json.dumps(jwks_of(key)).encode(), 0o644)
    return key


def _kid(key: rsa.RSAPrivateKey) -> str:
    """The key's RFC 7638 thumbprint: a new key gets a new id, so verifiers refetch the JWKS (rotation)."""
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    canonical = json.dumps({k: public[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def jwks_of(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The public half as a JWK Set, the shape an OpenID provider serves at its `jwks_uri`."""
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [public | {"kid": _kid(key), "use": "sig", "alg": "RS256"}]}


def sign(key: rsa.RSAPrivateKey, claims: dict[str, Any], kid: str | None = None) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid or _kid(key)})


def claims_for(subject: str, name: str, roles: list[str], community: str | None, hours: float,
               issuer: str = EMBEDDED_ISSUER, audience: str = DEFAULT_AUDIENCE, party: str | None = None
               ) -> dict[str, Any]:
    now = int(time.time())  # real time, never the test clock: expiry is about the token, not the council's calendar
    claims: dict[str, Any] = {"iss": issuer, "aud": audience, "sub": subject, "name": name, "roles": roles,
                              "iat": now, "nbf": now, "exp": now + int(hours * 3600)}
    if community:
        claims["community"] = community
    if party:
        claims["party"] = party
    return claims


def issue_token(role: str | list[str], name: str, community: str | None = None, subject: str | None = None,
                hours: float = 12, directory: Path | None = None, party: str | None = None) -> str:
    """A bearer token from the embedded provider (`yishi token`, `make run`, tests, the portal's sign-in)."""
    roles = [role] if isinstance(role, str) else list(role)
    key = ensure_key(directory or key_dir())
    subject = subject or f"local:{uuid.uuid5(uuid.NAMESPACE_URL, f'{roles[0]}/{name}')}"  # stable, no name in logs
    return sign(key, claims_for(subject, name, roles, community, hours, party=party))

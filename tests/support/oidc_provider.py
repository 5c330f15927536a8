"""An OpenID Connect provider on 127.0.0.1 for tests of the authorization-code flow (shaped like Keycloak's).

Its authorization endpoint signs in `user` at once (no login form) and redirects back with a one-time code; the
token endpoint checks the code, the redirect URI and the PKCE verifier, and answers an access token for
audience `yishi` and an ID token carrying the attempt's nonce, both signed with its own key (JWKS published).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from shared.edge.signing import jwks_of, sign


class Provider:
    def __init__(self, user: dict[str, Any]):
        self.user = user  # claims of whoever signs in: sub, name, roles, community, party
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict[str, str]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_port}/realms/street-office"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _token(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        return sign(self.key, {"iss": self.issuer, "iat": now, "exp": now + 300, **claims})

    def _exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        attempt = self.codes.pop(form.get("code", ""), None)
        if attempt is None or form.get("redirect_uri") != attempt["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge.rstrip(b"=").decode() != attempt["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        return 200, {"token_type": "Bearer", "expires_in": 300,
                     "access_token": self._token({"aud": "yishi", "azp": form.get("client_id"), **self.user}),
                     "id_token": self._token({"aud": form.get("client_id"), "sub": self.user["sub"],
                                              "nonce": attempt["nonce"]})}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                base = provider.issuer + "/protocol/openid-connect"
                if url.path.endswith("/.well-known/openid-configuration"):
                    self._json(200, {"issuer": provider.issuer, "authorization_endpoint": base + "/auth",
                                     "token_endpoint": base + "/token", "jwks_uri": base + "/certs"})
                elif url.path.endswith("/certs"):
                    self._json(200, jwks_of(provider.key))
                elif url.path.endswith("/auth"):
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {k: q.get(k, "") for k in ("redirect_uri", "nonce", "code_challenge")}
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "?" + urlencode({"code": code,
                                                                                      "state": q.get("state", "")}))
                    self.end_headers()
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                self._json(*provider._exchange(form))

        return Handler

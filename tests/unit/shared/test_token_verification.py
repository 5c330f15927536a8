"""Tokens of a second, independent issuer (an OpenID provider shaped like Keycloak, its discovery document and
JWKS served by the test on a local port) are verified by issuer, audience, expiry and signature; keys rotate."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.edge.identity import IdentitySettings, InvalidToken, TokenVerifier
from shared.edge.signing import jwks_of, sign
from tests.support.identity import token


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Provider:
    """A JWKS endpoint and discovery document on 127.0.0.1; `keys` is what it publishes right now."""

    def __init__(self):
        self.keys = [new_key()]
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.endswith("/.well-known/openid-configuration"):
                    body = {"issuer": provider.issuer, "jwks_uri": provider.issuer + "/protocol/openid-connect/certs"}
                elif self.path.endswith("/certs"):
                    provider.fetches += 1
                    body = {"keys": [k for key in provider.keys for k in jwks_of(key)["keys"]]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/realms/street-office"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key=None, **overrides):
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": "yishi-api", "sub": "f3a9-user-1", "iat": now, "exp": now + 300,
                  "preferred_username": "wang.shuji", "given_name": "王书记",
                  "realm_access": {"roles": ["secretary", "offline_access"]}, "community": "幸福社区"} | overrides
        return sign(key or self.keys[0], {k: v for k, v in claims.items() if v is not None})


@pytest.fixture
def provider():
    p = Provider()
    yield p
    p.server.shutdown()
    p.server.server_close()


@pytest.fixture
def verifier(provider):
    return TokenVerifier(IdentitySettings(issuer=provider.issuer, audience="yishi-api",
                                          roles_claim="realm_access.roles", name_claim="given_name",
                                          refetch_cooldown=0))


def test_a_token_of_the_configured_provider_names_the_staff_member_from_the_configured_claims(provider, verifier):
    staff = verifier.verify(provider.token())
    assert (staff.subject, staff.name, staff.community) == ("f3a9-user-1", "王书记", "幸福社区")
    assert "secretary" in staff.roles


@pytest.mark.parametrize("wrong", [{"aud": "another-app"}, {"iss": "http://127.0.0.1:1/realms/other"},
                                   {"exp": int(time.time()) - 120}, {"exp": None}, {"sub": None}])
def test_a_token_with_a_wrong_audience_issuer_or_expiry_is_refused(provider, verifier, wrong):
    with pytest.raises(InvalidToken):
        verifier.verify(provider.token(**wrong))


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(provider, verifier):
    with pytest.raises(InvalidToken):
        verifier.verify(provider.token(key=new_key()))


def test_the_embedded_providers_tokens_are_not_the_street_offices(verifier):
    with pytest.raises(InvalidToken):
        verifier.verify(token("secretary", "王书记"))


def test_keys_are_cached_and_a_rotated_key_is_fetched_when_first_seen(provider, verifier):
    verifier.verify(provider.token())
    verifier.verify(provider.token())
    assert provider.fetches == 1
    provider.keys.append(new_key())  # the provider rotates: tokens signed by the new key arrive
    assert verifier.verify(provider.token(key=provider.keys[1])).subject == "f3a9-user-1"
    assert provider.fetches == 2

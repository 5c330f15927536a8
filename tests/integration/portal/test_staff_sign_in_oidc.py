"""Staff sign in to the portal through an OpenID Connect provider (authorization code with PKCE), and the access
token it answers is what casework accepts from the portal on their behalf."""
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.oidc_provider import Provider
from tests.support.processes import Process

USER = {"sub": "kc-lina", "name": "李娜", "roles": ["community_worker"], "community": "幸福里"}


@pytest.fixture
def provider():
    p = Provider(USER)
    yield p
    p.close()


@pytest.fixture
def portal(provider, amqp_uri, tmp_path):
    env = {"YISHI_OIDC_ISSUER": provider.issuer, "AMQP_URI": amqp_uri, "YISHI_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": ""}
    casework = Process("casework", "web", env, tmp_path).start()
    front = Process("portal", "web", env | {"YISHI_CASEWORK_URL": casework.url}, tmp_path).start()
    yield front.url
    front.stop()
    casework.stop()


def test_a_worker_signs_in_with_the_provider_and_reads_the_ledger(portal, provider):
    browser = requests.Session()
    start = browser.get(portal + "/staff/cases", allow_redirects=False)
    assert start.status_code == 303 and start.headers["Location"].startswith("/staff/login")
    to_provider = browser.get(portal + start.headers["Location"], allow_redirects=False)
    authorize = urlsplit(to_provider.headers["Location"])
    query = parse_qs(authorize.query)
    assert to_provider.headers["Location"].startswith(provider.issuer + "/protocol/openid-connect/auth")
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [portal + "/staff/callback"] and query["client_id"] == ["yishi"]

    back = browser.get(to_provider.headers["Location"], allow_redirects=False)  # the provider signs the user in
    signed_in = browser.get(back.headers["Location"], allow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/staff/cases"
    cookie = next(c for c in signed_in.headers.get("Set-Cookie").split(", yishi") if "yishi_staff=" in c)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

    ledger = browser.get(portal + "/staff/cases", allow_redirects=False)
    assert ledger.status_code == 200  # casework accepted the provider's token from the portal
    assert "当前登录:李娜" in ledger.text and 'value="幸福里" maxlength="50" readonly' in ledger.text  # scoped to her community


def test_an_answer_to_another_attempt_signs_nobody_in(portal, provider):
    attacker, victim = requests.Session(), requests.Session()
    to_provider = attacker.get(portal + "/staff/login", allow_redirects=False).headers["Location"]
    back = attacker.get(to_provider, allow_redirects=False).headers["Location"]
    victim.get(portal + "/staff/login", allow_redirects=False)  # the victim's own attempt, another state
    forced = victim.get(back, allow_redirects=False)  # the attacker's code sent to the victim's browser
    assert forced.status_code == 401
    assert "yishi_staff" not in victim.cookies
    refused = attacker.get(portal + "/staff/callback?error=access_denied&state=x", allow_redirects=False)
    assert refused.status_code == 401

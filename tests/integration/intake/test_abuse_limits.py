"""Abuse limits on intake's public writes (防刷): reports per client and per phone, tracking-code guesses —
each answered 429 with Retry-After and a Chinese problem, configured per deployment."""
import pytest
import requests

from tests.support.factories import report
from tests.support.identity import staff


@pytest.fixture
def intake(system):
    system.env.update(YISHI_LIMIT_REPORTS_PER_CLIENT="3", YISHI_LIMIT_REPORTS_PER_PHONE="2",
                      YISHI_LIMIT_CODE_GUESSES="2")
    return system.start("intake", "web").url


def post(base, body, client, **headers):
    return requests.post(f"{base}/issues", json=body, headers={"X-Forwarded-For": client, **headers}, timeout=5)


def refused(response):
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) > 0
    problem = response.json()
    assert problem["status"] == 429 and "过于频繁" in problem["detail"]
    return problem


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_one_phone_number_reports_only_so_often(intake):
    by_phone = report() | {"reporter": {"name": "张三", "phone": "13812345678"}}
    assert [post(intake, by_phone, "10.0.0.1").status_code for _ in range(2)] == [201, 201]
    assert "同一电话" in refused(post(intake, by_phone, "10.0.0.9"))["detail"]  # from another client too
    other = by_phone | {"reporter": {"name": "李四", "phone": "13900000000"}}
    assert post(intake, other, "10.0.0.9").status_code == 201


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_one_client_reports_only_so_often_but_the_hotline_desk_signed_in_is_not_limited(intake):
    anonymous = [report(n) | {"reporter": {"name": f"居民{n}"}} for n in range(5)]
    assert [post(intake, body, "10.0.0.2").status_code for body in anonymous[:3]] == [201, 201, 201]
    problem = refused(post(intake, anonymous[3], "10.0.0.2"))
    assert problem["detail_en"].startswith("too many reports per client")
    assert post(intake, anonymous[4], "10.0.0.2", **staff("community_worker", "热线坐席")).status_code == 201
    assert post(intake, anonymous[4], "10.0.0.3").status_code == 201  # another resident's address


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_guessing_tracking_codes_is_stopped_even_for_a_right_guess(intake):
    created = post(intake, report(1), "10.0.0.5").json()
    guesses = ["YS-20261123-AAAAAAAA", "YS-20261123-BBBBBBBB"]
    got = [requests.get(f"{intake}/issues/{c}", headers={"X-Forwarded-For": "10.0.0.4"}, timeout=5) for c in guesses]
    assert [r.status_code for r in got] == [404, 404]
    refused(requests.get(f"{intake}/issues/{created['tracking_code']}", headers={"X-Forwarded-For": "10.0.0.4"},
                         timeout=5))
    refused(requests.post(f"{intake}/issues/{created['tracking_code']}/confirmation", json={"confirmed": False},
                          headers={"X-Forwarded-For": "10.0.0.4"}, timeout=5))
    own = requests.get(f"{intake}/issues/{created['tracking_code']}", headers={"X-Forwarded-For": "10.0.0.5"}, timeout=5)
    assert own.status_code == 200  # the resident who holds the code is not affected

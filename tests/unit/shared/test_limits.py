"""Abuse limits: so many per key per window, then 429 with how long to wait, in Chinese first."""
import pytest

from shared.edge.limits import Limit, TooManyRequests, phone_key


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


def test_a_key_past_its_count_waits_for_the_window_to_end_and_others_do_not():
    clock = Clock()
    limit = Limit("REPORTS_PER_CLIENT", 2, 3600, "提交诉求", clock)
    limit.hit("10.0.0.1")
    clock.now += 600
    limit.hit("10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        limit.hit("10.0.0.1")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "3000"}
    assert refused.value.detail_zh == "提交诉求过于频繁,请 50 分钟 后再试"
    limit.hit("10.0.0.2")  # another client is counted apart
    clock.now += 3000
    limit.hit("10.0.0.1")  # a new window


def test_zero_turns_a_limit_off():
    limit = Limit("REPORTS_PER_CLIENT", 0, 3600, "提交诉求")
    for _ in range(1000):
        limit.hit("10.0.0.1")


def test_spent_tells_without_counting():
    limit = Limit("CODE_GUESSES", 1, 60, "查询码核对失败", Clock())
    assert not limit.spent("a")
    limit.hit("a")
    assert limit.spent("a") and not limit.spent("b")


def test_a_phone_number_is_counted_by_a_digest_of_its_digits_never_in_clear():
    assert phone_key("138 1234 5678") == phone_key("+86 13812345678") != phone_key("13912345678")
    assert "13812345678" not in phone_key("13812345678") and phone_key(None) is None


def test_a_trusted_proxy_may_be_a_network_and_only_its_peers_forward_an_address(monkeypatch):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from shared.edge.limits import client_of

    def asked(peer: str) -> str:
        env = EnvironBuilder(headers={"X-Forwarded-For": "203.0.113.7, 10.1.2.3"}).get_environ()
        env["REMOTE_ADDR"] = peer
        return client_of(Request(env))

    monkeypatch.setenv("YISHI_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,not-an-address")
    assert asked("10.244.3.17") == "203.0.113.7"  # an ingress pod, wherever it was scheduled
    assert asked("127.0.0.1") == "203.0.113.7"
    assert asked("192.0.2.50") == "192.0.2.50"  # anyone else's header is not believed
    monkeypatch.delenv("YISHI_TRUSTED_PROXIES")
    assert asked("10.244.3.17") == "10.244.3.17" and asked("::1") == "203.0.113.7"

"""Upstream answers kept a few seconds (services/portal/fresh.py): one fetch per key, errors never kept."""
import eventlet
import pytest

from services.portal.fresh import Fresh


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_an_answer_is_kept_for_its_seconds_then_fetched_again():
    clock, calls = Clock(), []
    fresh = Fresh(clock=clock)
    fetch = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert fresh.get("board", 10, fetch) == 1 and fresh.get("board", 10, fetch) == 1
    assert fresh.get("other", 10, fetch) == 2  # another key, another fetch
    clock.now += 20.01  # twice its time: fetched before it is given (sooner, test below: given while refreshed)
    assert fresh.get("board", 10, fetch) == 3


def test_pages_asking_at_once_wait_for_one_fetch():
    calls = []

    def slow():
        calls.append(1)
        eventlet.sleep(0.05)
        return {"cases": []}

    fresh = Fresh()
    answers = list(eventlet.GreenPool(20).imap(lambda _: fresh.get("ledger", 5, slow), range(20)))
    assert len(calls) == 1 and all(a is answers[0] for a in answers)


def test_a_failure_reaches_every_waiter_and_is_not_kept():
    calls = []

    def failing():
        calls.append(1)
        eventlet.sleep(0.02)
        raise ConnectionError("casework")

    fresh = Fresh()

    def ask(_):
        try:
            return fresh.get("ledger", 5, failing)
        except ConnectionError as exc:
            return exc

    assert all(isinstance(a, ConnectionError) for a in eventlet.GreenPool(5).imap(ask, range(5)))
    assert len(calls) == 1 and fresh.get("ledger", 5, lambda: "up again") == "up again"


def test_the_oldest_answers_go_first_beyond_the_most_kept():
    fresh = Fresh(most=2)
    for key in "abc":
        fresh.get(key, 60, lambda k=key: k)
    assert list(fresh.kept) == ["b", "c"]


def test_a_staff_read_is_kept_only_under_a_scope():
    from services.portal.upstream import Upstream
    import requests
    with pytest.raises(ValueError):
        Upstream("casework", requests.Session()).get("/cases", token="t", fresh_for=5)


def test_together_answers_kept_reads_without_yielding_and_fetches_the_rest_side_by_side():
    fresh, fetched, ran_between = Fresh(), [], []
    fresh.get("kept", 60, lambda: "old")

    def slow(name):
        fetched.append(name)
        eventlet.sleep(0.05)
        return name

    calls = [lambda: fresh.get("kept", 60, lambda: "never"), lambda: fresh.get("a", 60, lambda: slow("a")),
             lambda: fresh.get("b", 60, lambda: slow("b"))]
    started = eventlet.spawn(lambda: ran_between.append(1))  # another page waiting for the hub
    assert fresh.together(calls[:1]) == ["old"] and ran_between == []  # all kept: no switch to other pages
    assert fresh.together(calls) == ["old", "a", "b"] and sorted(fetched) == ["a", "b"]
    started.wait()
    with pytest.raises(ConnectionError):
        fresh.together([lambda: fresh.get("down", 60, lambda: (_ for _ in ()).throw(ConnectionError("x")))])


def test_an_answer_past_its_time_is_given_while_one_refresh_runs_and_not_past_twice_its_time():
    clock, calls = Clock(), []
    fresh = Fresh(clock=clock)

    def fetch():
        calls.append(1)
        eventlet.sleep(0.02)
        return len(calls)

    assert fresh.get("board", 10, fetch) == 1
    clock.now += 12  # stale, not twice stale: given at once, one refresh started
    assert [fresh.get("board", 10, fetch) for _ in range(5)] == [1] * 5
    eventlet.sleep(0.05)
    assert fresh.get("board", 10, fetch) == 2 and len(calls) == 2
    clock.now += 25  # twice its time: the page waits for the fetch
    assert fresh.get("board", 10, fetch) == 3


def test_a_refresh_that_fails_leaves_the_error_to_the_page_that_asks_once_the_answer_aged_out():
    clock = Clock()
    fresh = Fresh(clock=clock)
    fresh.get("ledger", 10, lambda: "old")
    clock.now += 15

    def down():
        raise ConnectionError("casework")

    assert fresh.get("ledger", 10, down) == "old"
    eventlet.sleep(0.01)
    clock.now += 10
    with pytest.raises(ConnectionError):
        fresh.get("ledger", 10, down)

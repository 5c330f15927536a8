"""One Idempotency-Key rule for every command: 201 first, 200 with the first result, 409 for another body."""
import json

import pytest

from shared.edge.http import answered
from shared.errors import Conflict, InvalidInput
from shared.idempotency import checked_key, replayed


def test_a_key_must_be_1_to_200_characters_and_is_refused_by_name():
    assert checked_key(None) is None and checked_key("k" * 200) == "k" * 200
    for bad in ("", "k" * 201):
        with pytest.raises(InvalidInput) as refused:
            checked_key(bad)
        assert refused.value.field == "Idempotency-Key" and "200" in refused.value.detail_zh


def test_a_new_key_is_applied_the_same_request_replayed_another_body_a_conflict():
    assert replayed(None, "d1") is False
    assert replayed("d1", "d1") is True
    with pytest.raises(Conflict) as conflict:
        replayed("d1", "d2", "subscription")
    assert conflict.value.field == "Idempotency-Key" and "订阅" in conflict.value.detail_zh


def test_the_answer_is_201_when_applied_and_200_with_the_first_result_when_replayed():
    first, again = answered({"id": "m1"}, True, "/meetings/m1"), answered({"id": "m1"}, False, "/meetings/m1")
    assert (first.status_code, first.headers["Idempotent-Replayed"]) == (201, "false")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert first.headers["Location"] == "/meetings/m1" and json.loads(again.get_data()) == {"id": "m1"}

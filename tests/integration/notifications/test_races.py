"""Ten identical subscriptions at once, over two web processes, make one (issue 14): one 201, nine 200 with the
same subscription, and a tenth key's different body a 409."""
import base64
import os

import pytest
import requests

from tests.support.identity import staff
from tests.support.races import COPIES, at_once, statuses

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


def test_ten_copies_of_one_subscription_make_one(system):
    system.env["YISHI_WEBHOOK_ALLOWLIST"] = "127.0.0.1:32768-60999"
    system.start("notifications", "worker")
    webs = [system.start("notifications", "web").url, system.start_another("notifications", "web", "second").url]
    grid = staff("city_system", "网格平台")
    body = {"url": "http://127.0.0.1:40000/hooks", "types": ["casework.*"], "secret": SECRET}

    copies = at_once(lambda i: requests.post(f"{webs[i % 2]}/subscriptions", json=body, timeout=30,
                                             headers=grid | {"Idempotency-Key": "race-subscription-1"}))
    assert statuses(copies) == {201: 1, 200: COPIES - 1}, [c.text for c in copies]
    assert len({c.json()["subscription_id"] for c in copies}) == 1
    other = requests.post(f"{webs[0]}/subscriptions", json=body | {"types": ["intake.*"]}, timeout=10,
                          headers=grid | {"Idempotency-Key": "race-subscription-1"})
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    subscription_id = copies[0].json()["subscription_id"]
    seen = requests.get(f"{webs[1]}/subscriptions/{subscription_id}", headers=grid, timeout=10)
    assert seen.status_code == 200 and seen.json()["types"] == ["casework.*"]

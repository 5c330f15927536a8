"""The HTTP edge on the real server (nameko's eventlet WSGI): JSON only as JSON, chunked bodies read whole,
unknown query parameters refused by name."""
import json

import pytest
import requests

from tests.support.factories import report

pytestmark = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


def test_a_report_must_be_json_may_be_chunked_and_unknown_parameters_are_named(system):
    intake = system.start("intake", "web").url
    body = json.dumps(report(), ensure_ascii=False).encode()

    forged = requests.post(f"{intake}/issues", data=body, headers={"Content-Type": "text/plain"}, timeout=5)
    assert forged.status_code == 415 and forged.json()["field"] == "Content-Type"  # a cross-site form's body
    assert forged.headers["Content-Type"].startswith("application/problem+json")

    chunked = requests.post(f"{intake}/issues", data=iter([body[:20], body[20:]]), timeout=5,
                            headers={"Content-Type": "application/json"})  # a generator body goes chunked
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    assert chunked.status_code == 201, chunked.text

    typo = requests.get(f"{intake}/issues", params={"catgory": "设施维护"}, timeout=5)
    assert typo.status_code == 422 and typo.json()["field"] == "catgory"

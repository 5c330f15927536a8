"""A resident finds the issue a 201 just named, even while the read models lag (here: no projector at all)."""
import pytest
import requests

from tests.support.factories import report

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


def test_a_fresh_report_is_found_by_its_tracking_code_and_its_id_before_the_index_has_it(system):
    intake = system.start("intake", "web").url  # no worker: the issue index is never projected
    created = requests.post(f"{intake}/issues", json=report(), timeout=5)
    assert created.status_code == 201
    view = requests.get(f"{intake}/issues/{created.json()['tracking_code']}", timeout=5)
    assert view.status_code == 200 and view.json()["issue_id"] == created.json()["issue_id"]
    assert view.json()["tracking_code"] == created.json()["tracking_code"]
    by_id = requests.get(f"{intake}/issues/{created.json()['issue_id']}", timeout=5)
    assert by_id.status_code == 200 and "tracking_code" not in by_id.json()
    assert requests.get(f"{intake}/issues/YS-20261123-ZZZZZZZZ", timeout=5).status_code == 404

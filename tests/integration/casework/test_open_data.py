"""Open data over HTTP, with no token: this month's ledger, rates and demand list, anonymised (issue 14)."""
import csv
import io
from datetime import datetime, timezone

import pytest
import requests

from shared.deadlines import local_month
from tests.support.processes import wait_until

pytestmark = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


def test_the_months_ledger_rates_and_demand_list_are_open_data_without_personal_data(system):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework = system.web("intake").url, system.web("casework").url
    report = {"channel": "hotline", "category": "设施维护", "title": "李四家楼道灯坏了", "description": "联系13812345678",
              "location": {"community": "幸福里", "building": "3号楼", "unit": "2", "room": "502"},
              "reporter": {"name": "李四", "phone": "13812345678"}}
    created = requests.post(f"{intake}/issues", json=report, timeout=10).json()
    wait_until(lambda: requests.get(f"{intake}/issues/{created['tracking_code']}", timeout=5).json()["case"],
               message="the case opened")
    month = local_month(datetime.now(timezone.utc))

    ledger = requests.get(f"{casework}/open-data/ledger", params={"month": month}, timeout=10)
    assert ledger.status_code == 200 and ledger.headers["Content-Type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(ledger.text.lstrip("\ufeff"))))
    assert row["building"] == "3号楼" and row["category"] == "设施维护"
    rates = requests.get(f"{casework}/open-data/statistics", params={"month": month, "format": "json"}, timeout=10).json()
    assert rates["rows"][0]["tier"] == "all" and rates["rows"][0]["cases"] == 1
    demand = wait_until(lambda: requests.get(f"{intake}/open-data/demand-list", params={"month": month, "format": "json"},
                                             timeout=5).json()["rows"], message="the demand list has the issue")
    assert demand[0]["building"] == "3号楼"
    for text in (ledger.text, str(rates), str(demand)):
        assert "李四" not in text and "13812345678" not in text and "502" not in text
    refused = requests.get(f"{casework}/open-data/ledger", params={"month": "2026-13"}, timeout=10)
    assert refused.status_code == 422 and refused.json()["field"] == "month"

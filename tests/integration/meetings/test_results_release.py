"""The month's results over HTTP while casework's facts arrive on the real broker (a reopened case included)."""
import json
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
import requests
from kombu import Connection, Producer

from shared.messaging import topology
from shared.contracts import to_cloudevent
from shared.contracts.envelope import rfc3339
from tests.support.processes import wait_until

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)
SH = timezone(timedelta(hours=8))


def test_a_case_the_resident_reopened_is_in_the_results_and_the_results_still_answer(system, settings):
    system.start("meetings", "worker")
    web = system.start("meetings", "web").url
    case_id, now = str(uuid4()), datetime.now(timezone.utc)
    facts = [("CaseOpened", {"case_id": case_id, "issue_id": str(uuid4()), "tier": "urgent", "category": "楼道照明",
                             "due": {"verify_by": rfc3339(now + timedelta(hours=24)),
                                     "resolve_by": rfc3339(now + timedelta(days=2))},
                             "opened_at": rfc3339(now), "title": "3号楼楼道灯坏了"}),
             ("CaseResolved", {"case_id": case_id, "resolved_at": rfc3339(now), "summary": "已更换灯泡"}),
             ("CaseReopened", {"case_id": case_id, "reason": "居民确认问题未解决",
                               "due": rfc3339(now + timedelta(days=7))})]
    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        topology.declare(conn)
        producer = Producer(conn.default_channel, exchange=topology.events_exchange("casework"))
        for sequence, (name, data) in enumerate(facts, 1):
            body = to_cloudevent("casework", name, sequence=sequence, prevsequence=sequence - 1 or None,
                                 subject=case_id, time=now, data=data)
            producer.publish(json.dumps(body), routing_key=name, content_type="application/json", delivery_mode=2)

    month = now.astimezone(SH).strftime("%Y-%m")

    def reopened():
        answer = requests.get(f"{web}/reports/results", params={"month": month}, timeout=5)
        assert answer.status_code == 200, answer.text
        return next((c for c in answer.json()["unresolved"] if c["status"] == "reopened"), None)

    case = wait_until(reopened, message="the reopened case in the month's results")
    assert case["case_id"] == case_id and case["reasons"][0]["text"] == "居民确认问题未解决"
    printable = requests.get(f"{web}/reports/results", params={"month": month, "format": "markdown"}, timeout=5)
    assert printable.status_code == 200 and "居民确认未解决,重新整改:居民确认问题未解决" in printable.text

"""notifications end to end: real RabbitMQ and store, real processes, a real HTTP receiver and SMTP server.

Upstream events are published as CloudEvents to the real exchanges, as the upstream relays would.
"""
import base64
import email
import email.policy
import json
import os

import pytest
import requests
from standardwebhooks import Webhook

from services.notifications.application import NotificationsApplication
from tests.support.faults import domain_events
from tests.support.processes import wait_until
from tests.support.identity import http, staff

ISSUE = "8a4f7c62-1d2b-4c1e-9a4f-000000000001"
CASE = "8a4f7c62-1d2b-4c1e-9a4f-0000000000c1"
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


def reported(issue_id=ISSUE, title="3号楼楼道灯坏了"):
    return {"issue_id": issue_id, "channel": "visit", "category": "安全隐患",
            "tags": ["楼道灯"], "title": title, "description": "晚上一片黑",
            "location": {"community": "幸福里", "building": "3"}, "reporter_ref": "rp-0123456789abcdef",
            "reported_at": "2026-11-23T01:00:00Z"}


def opened(tier="urgent", case_id=CASE, issue_id=ISSUE):
    return {"case_id": case_id, "issue_id": issue_id, "tier": tier, "category": "安全隐患",
            "due": {"verify_by": "2026-11-24T02:00:00Z", "plan_by": "2026-11-25T02:00:00Z"},
            "opened_at": "2026-11-23T02:00:00Z", "triage_reason": "安全隐患: 楼道照明"}


def start(system, **env):
    # the local receivers listen on ephemeral ports of 127.0.0.1: internal, so the operator allows them
    system.env.update({"YISHI_WEBHOOK_ALLOWLIST": "127.0.0.1:32768-60999", **env})
    web = system.start("notifications", "web")
    system.start("notifications", "worker")
    return web.url


def report_known(base, upstreams, data=None):
    """Publish IssueReported and wait until notifications has recorded it (its receipt to the reporter).

    intake and casework reach notifications on separate queues: without this, a CaseOpened could be
    applied before the report it is about, and its notice could not say what it is about.
    """
    upstreams["intake"].publish("IssueReported", data or reported(), ISSUE)
    wait_until(lambda: _applied(base, "intake", "IssueReported"), message="report recorded")


def _applied(base, upstream, event_type):
    """Whether notifications applied an upstream event: its consumer's counter, scraped like an operator would."""
    metrics = http.get(f"{base}/metrics", timeout=5).text
    return any(line.startswith("yishi_events_consumed_total{") and f'upstream="{upstream}"' in line
               and f'type="{event_type}"' in line and 'outcome="applied"' in line and not line.endswith(" 0.0")
               for line in metrics.splitlines())


def get(url, **params):
    response = (http if "/deliveries" in url else requests).get(url, params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def subscribe(base, url, types):
    response = http.post(f"{base}/subscriptions", json={"url": url, "types": types, "secret": SECRET}, timeout=5)
    assert response.status_code == 201, response.text
    assert "secret" not in response.json()
    return response.json()["subscription_id"]


def test_an_urgent_case_is_posted_on_the_board_and_in_the_wechat_group(system, upstreams, receiver, city_queue):
    base = start(system, YISHI_WECHAT_WEBHOOK_URL=receiver.url + "/wechat")
    report_known(base, upstreams)
    upstreams["casework"].publish("CaseOpened", opened(), CASE)

    notices = wait_until(lambda: get(f"{base}/notices")["notices"], message="board notice")
    assert [(n["kind"], n["about"], n["community"]) for n in notices] == [("urgent_opened", CASE, "幸福里")]
    assert notices[0]["title"] == "紧急问题公示:3号楼楼道灯坏了" and "24" in notices[0]["body"]
    english = requests.get(f"{base}/notices", headers={"Accept-Language": "en"}, timeout=5)
    assert english.headers["Content-Language"] == "en"
    assert english.json()["notices"][0]["title"] == "Urgent issue: 3号楼楼道灯坏了"

    posts = wait_until(lambda: receiver.json_at("/wechat"), message="WeChat group post")
    assert posts == [{"msgtype": "text", "text": {"content": notices[0]["title"] + "\n" + notices[0]["body"]}}]
    published = wait_until(lambda: [e for e in city_queue() if e["type"].endswith("NoticePublished.v1")] or None,
                           message="NoticePublished")
    assert published[0]["data"] == {"notice_id": notices[0]["notice_id"], "channel": "board", "about": CASE}

    # a routine case is not a public notice
    upstreams["casework"].publish("CaseOpened", opened("routine", case_id=CASE[:-2] + "c2"), CASE[:-2] + "c2")
    upstreams["casework"].publish("CaseClosed", {"case_id": CASE, "closed_at": "2026-11-25T02:00:00Z"}, CASE)
    wait_until(lambda: len(get(f"{base}/notices")["notices"]) == 2, message="closing notice")
    assert [n["kind"] for n in get(f"{base}/notices")["notices"]] == ["case_closed", "urgent_opened"]
    assert [n["kind"] for n in get(f"{base}/notices", limit=1, offset=1)["notices"]] == ["urgent_opened"]


def test_a_subscription_receives_signed_cloudevents_once_each(system, upstreams, receiver):
    base = start(system)
    for internal in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8001/internal/contacts/x"):
        refused = http.post(f"{base}/subscriptions", json={"url": internal, "types": ["*"], "secret": SECRET},
                                timeout=5)
        assert refused.status_code == 422 and refused.json()["field"] == "url"  # SSRF: not on the allow-list
    sid = subscribe(base, receiver.url + "/grid", ["casework.*"])
    other_system = staff("city_system", "另一城市系统")  # a subscription belongs to the city system that made it
    assert requests.get(f"{base}/subscriptions/{sid}", headers=other_system, timeout=5).status_code == 403
    assert requests.delete(f"{base}/subscriptions/{sid}", headers=other_system, timeout=5).status_code == 403
    assert requests.delete(f"{base}/subscriptions/{sid}", timeout=5).status_code == 401
    upstreams["intake"].publish("IssueReported", reported(), ISSUE)  # not subscribed
    case_opened = upstreams["casework"].publish("CaseOpened", opened("routine"), CASE)
    upstreams["casework"].republish(1)  # a relay's republish after a crash: no second message
    closed = upstreams["casework"].publish("CaseClosed", {"case_id": CASE, "closed_at": "2026-11-25T02:00:00Z"}, CASE)

    delivered = wait_until(lambda: len(get(f"{base}/deliveries", status="delivered", subscription_id=sid)
                                       ["deliveries"]) == 2 or None, message="two deliveries")
    assert delivered
    requests_seen = receiver.at("/grid")
    assert len(requests_seen) == 2
    verified = [Webhook(SECRET).verify(r["body"], r["headers"]) for r in requests_seen]
    assert sorted(verified, key=lambda e: e["sequence"]) == [case_opened, closed]
    assert len({r["headers"]["webhook-id"] for r in requests_seen}) == 2
    assert all(r["headers"]["content-type"].startswith("application/cloudevents+json") for r in requests_seen)
    tampered = dict(requests_seen[0]["headers"], **{"webhook-signature": requests_seen[1]["headers"]["webhook-signature"]})
    with pytest.raises(Exception):
        Webhook(SECRET).verify(requests_seen[0]["body"], tampered)


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_a_receiver_failing_three_times_gets_the_event_exactly_once_more(system, upstreams, receiver):
    base = start(system, YISHI_DELIVERY_BACKOFF="0.05", YISHI_DELIVERY_MAX_ATTEMPTS="6")
    sid = subscribe(base, receiver.url + "/flaky", ["casework.*"])
    receiver.script("/flaky", 500, 500, 500, 200)
    upstreams["casework"].publish("CaseOpened", opened("routine"), CASE)

    done = wait_until(lambda: get(f"{base}/deliveries", status="delivered", subscription_id=sid)["deliveries"],
                      message="delivered after retries")
    assert done[0]["attempts"] == 4 and done[0]["last_error"] == "HTTP 500"
    first = receiver.at("/flaky")
    assert [r["status"] for r in first] == [500, 500, 500, 200]
    assert {r["headers"]["webhook-id"] for r in first} == {done[0]["webhook_id"]}
    assert len({r["body"] for r in first}) == 1

    # one more event through the same pipeline; by the time it arrives, no extra copy of the first came
    upstreams["casework"].publish("CaseClosed", {"case_id": CASE, "closed_at": "2026-11-25T02:00:00Z"}, CASE)
    wait_until(lambda: len(get(f"{base}/deliveries", status="delivered", subscription_id=sid)["deliveries"]) == 2,
               message="second delivery")
    assert [r["headers"]["webhook-id"] for r in receiver.at("/flaky")].count(done[0]["webhook_id"]) == 4


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_a_receiver_that_always_fails_is_dead_lettered_and_can_ask_for_a_redelivery(system, upstreams, receiver,
                                                                                     city_queue):
    base = start(system, YISHI_DELIVERY_BACKOFF="0.05", YISHI_DELIVERY_MAX_ATTEMPTS="3")
    sid = subscribe(base, receiver.url + "/down", ["casework.CaseOpened"])
    receiver.always["/down"] = 503
    event = upstreams["casework"].publish("CaseOpened", opened("routine"), CASE)

    failed = wait_until(lambda: get(f"{base}/deliveries", status="failed")["deliveries"], message="dead letter")
    assert [(d["recipient"], d["attempts"], d["last_error"]) for d in failed] == [
        (f"subscription:{sid}", 3, "HTTP 503")]
    assert get(f"{base}/deliveries", status="pending")["deliveries"] == []
    assert len(receiver.at("/down")) == 3
    dead = wait_until(lambda: [e for e in city_queue() if e["type"].endswith("DeliveryFailed.v1")] or None,
                      message="DeliveryFailed published")
    assert dead[0]["data"] == {"delivery_id": failed[0]["delivery_id"], "attempts": 3, "error": "HTTP 503",
                               "channel": "webhook", "about": CASE}

    receiver.always["/down"] = 200
    asked = http.post(f"{base}/subscriptions/{sid}/redeliveries", json={"from_sequence": 1, "source": "casework"},
                          timeout=5)
    assert asked.status_code == 202 and asked.json()["deliveries"] == 1
    copy = wait_until(lambda: get(f"{base}/deliveries", status="delivered")["deliveries"], message="redelivered")
    assert copy[0]["redelivery_of"] == failed[0]["delivery_id"] and copy[0]["webhook_id"] != failed[0]["webhook_id"]
    last = receiver.at("/down")[-1]
    assert last["status"] == 200 and Webhook(SECRET).verify(last["body"], last["headers"]) == event
    bad = http.post(f"{base}/subscriptions/{sid}/redeliveries", json={"from_sequence": 0}, timeout=5)
    assert bad.status_code == 422 and bad.json()["field"] == "from_sequence"


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_no_name_phone_or_unit_of_a_report_reaches_any_public_path(system, upstreams, receiver, city_queue):
    token = "t-" + os.urandom(8).hex()
    system.env.update(YISHI_INTERNAL_TOKEN=token)
    intake = system.start("intake", "web")
    system.start("intake", "worker")
    base = start(system, YISHI_WECHAT_WEBHOOK_URL=receiver.url + "/wechat", YISHI_SMS_WEBHOOK_URL=receiver.url + "/sms",
                 YISHI_INTAKE_URL=intake.url)
    subscribe(base, receiver.url + "/city", ["*"])
    report = {"channel": "hotline", "title": "3号楼2单元502室门口消防通道堵塞 13912345678",
              "description": "请联系13912345678,住2单元502室", "reporter": {"name": "张三", "phone": "13912345678"},
              "location": {"community": "幸福里", "building": "3", "unit": "2", "room": "502"}}
    created = requests.post(f"{intake.url}/issues", json=report, timeout=5)
    assert created.status_code == 201, created.text
    issue_id = created.json()["issue_id"]

    # the private path works: the reporter's SMS goes to the clear number, looked up from intake
    sms = wait_until(lambda: receiver.json_at("/sms"), message="SMS to the reporter")
    assert sms[0]["to"] == "13912345678" and created.json()["tracking_code"] in sms[0]["text"]
    assert requests.get(f"{intake.url}/internal/contacts/rp-0000000000000000", timeout=5).status_code == 401

    upstreams["casework"].publish("CaseOpened", opened("urgent", issue_id=issue_id), CASE)
    upstreams["casework"].publish("CaseResolved", {"case_id": CASE, "resolved_at": "2026-11-23T08:00:00Z",
                                                   "summary": "已更换灯具,联系人13912345678"}, CASE)
    wait_until(lambda: len(receiver.at("/wechat")) == 2 and len(receiver.at("/city")) == 3
               and len(receiver.at("/sms")) == 2, message="every channel served")
    notices = get(f"{base}/notices")["notices"]
    assert {n["kind"] for n in notices} == {"urgent_opened", "urgent_resolved"}
    assert "消防通道堵塞" in notices[0]["title"] + notices[1]["title"]

    public = [json.dumps(get(f"{base}/notices"), ensure_ascii=False),
              json.dumps(get(f"{base}/notices", lang="en"), ensure_ascii=False),
              json.dumps(get(f"{base}/deliveries"), ensure_ascii=False),
              *[json.dumps(get(f"{base}/deliveries/{d['delivery_id']}"), ensure_ascii=False)
                for d in get(f"{base}/deliveries")["deliveries"]],
              *[r["body"].decode() for r in receiver.at("/wechat") + receiver.at("/city")],
              *[json.dumps(e, ensure_ascii=False) for e in city_queue()]]
    for text in public:
        for secret in ("13912345678", "张三", "502室", "2单元", '"unit": "2"'):
            assert secret not in text, (secret, text[:300])
    assert any("139****5678" in text for text in public)  # masked, not dropped: the test is not vacuous

    # notifications' own log keeps the reporter's reference and the masked number only
    log = repr(domain_events(NotificationsApplication, system_settings(system)))
    assert "13912345678" not in log and "张三" not in log and "139****5678" in log


def system_settings(system):
    from shared.config import Settings

    return Settings(database_url=system.env["DATABASE_URL"] or None, amqp_uri=system.env["AMQP_URI"],
                    var_dir=__import__("pathlib").Path(system.env["YISHI_VAR_DIR"]))


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_red_alert_is_mailed_to_the_secretary_and_the_responsible_party(system, upstreams, smtp_server):
    start(system, YISHI_SMTP_HOST="127.0.0.1", YISHI_SMTP_PORT=str(smtp_server.port),
          YISHI_SECRETARY_EMAIL="shuji@community.example", YISHI_PARTY_EMAILS='{"物业公司": "wuye@property.example"}')
    report_known(f"http://127.0.0.1:{system.web('notifications').port}", upstreams)
    upstreams["casework"].publish("CaseOpened", opened("routine"), CASE)
    upstreams["casework"].publish("CaseAssigned", {"case_id": CASE, "party": "物业公司", "party_kind": "property"}, CASE)
    upstreams["casework"].publish("DeadlineWarned", {"case_id": CASE, "level": "red", "deadline": "resolve",
                                                     "due": "2026-12-02T10:00:00Z"}, CASE)
    wait_until(lambda: len(smtp_server.messages) == 3, message="three e-mails")
    mails = [(m["to"], email.message_from_string(m["data"], policy=email.policy.default)) for m in smtp_server.messages]
    by_subject = sorted((to[0], msg["Subject"]) for to, msg in mails)
    assert by_subject == [("shuji@community.example", "红色预警:3号楼楼道灯坏了"),
                          ("wuye@property.example", "交办通知:3号楼楼道灯坏了"),
                          ("wuye@property.example", "红色预警:3号楼楼道灯坏了")]
    red = next(msg for to, msg in mails if to == ["shuji@community.example"])
    assert "请社区书记牵头协调" in red.get_content() and "2026-12-02 18:00" in red.get_content()

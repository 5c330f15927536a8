"""`yishi dead-letters` and `yishi status` against the real broker and stores."""
import json
import os
import subprocess
import sys
import threading
import time

from kombu import Connection, Producer

from services.casework.application import CaseworkApplication
from shared.messaging import topology
from shared.messaging.consumer import Consumer
from shared.contracts import to_cloudevent
from shared.store.persistence import Database
from shared.runtime.spec import load_spec
from tests.support.processes import ROOT
from tests.support.seeding import seed_intake, store_env

QUEUE = "casework--intake.events"


def yishi(settings, *args, env=None):
    return subprocess.run([sys.executable, "-m", "shared.ops.cli", "--quiet", *args], cwd=ROOT, capture_output=True,
                          text=True, env=os.environ | store_env(settings) | (env or {}), timeout=120)


def reported(seq):
    issue_id = f"8a4f7c62-1d2b-4c1e-9a4f-{seq:012d}"
    from datetime import datetime, timezone
    return to_cloudevent("intake", "IssueReported", sequence=seq, prevsequence=seq - 1 or None, subject=issue_id,
                         time=datetime.now(timezone.utc), data={
        "issue_id": issue_id, "channel": "visit", "category": "环境卫生", "tags": [],
        "title": f"垃圾清运 {seq}", "description": "", "location": {"community": "幸福里"}, "reporter_ref": "rp-1",
        "reported_at": "2026-11-23T02:00:00Z"})


def dead_letter(amqp_uri, seq):
    """A message as the consumer dead-letters it (shared/messaging/consumer.py _dead_letter): body and id unchanged."""
    body = reported(seq)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        topology.declare(conn)
        Producer(conn.default_channel, exchange=topology.DEAD_LETTERS).publish(
            json.dumps(body, ensure_ascii=False).encode(), routing_key=QUEUE, delivery_mode=2,
            content_type="application/json", content_encoding="utf-8", message_id=body["id"],
            headers={"ce-type": body["type"], "ce-sequence": seq, "x-yishi-error": "KeyError: 'tier'",
                     "x-yishi-attempts": 5, "x-yishi-queue": QUEUE, "x-yishi-failed-at": time.time()})
    return body["id"]


def depth(amqp_uri, name):
    with Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(name, passive=True)[1]


def test_a_retried_dead_letter_goes_back_to_its_queue_and_the_consumer_applies_it(settings):
    first, second = dead_letter(settings.amqp_uri, 1), dead_letter(settings.amqp_uri, 2)

    listed = yishi(settings, "dead-letters", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["message_id"], r["origin"], r["error"]) for r in rows] == [
        (first, QUEUE, "KeyError: 'tier'"), (second, QUEUE, "KeyError: 'tier'")]
    assert depth(settings.amqp_uri, QUEUE + ".dead") == 2, "listing takes nothing away"

    retried = yishi(settings, "dead-letters", "retry", "--id", first)
    assert retried.returncode == 0, retried.stderr
    assert depth(settings.amqp_uri, QUEUE + ".dead") == 1 and depth(settings.amqp_uri, QUEUE) == 1

    app, db = CaseworkApplication(settings), Database("casework", settings)
    stop = threading.Event()
    consumer = threading.Thread(target=Consumer(app, db, "intake", settings.amqp_uri).run, args=(stop,))
    consumer.start()
    try:
        deadline = time.monotonic() + 30
        while not app.applied(db, "intake", 1) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        consumer.join()
    assert app.applied(db, "intake", 1) == {1}, "the consumer applied the retried CloudEvent"

    dropped = yishi(settings, "dead-letters", "drop", "--all")
    assert dropped.returncode == 0 and "1 dead letter(s) dropped" in dropped.stdout
    assert depth(settings.amqp_uri, QUEUE + ".dead") == 0
    app.close()


def test_dead_letter_commands_refuse_to_act_without_saying_which(settings):
    dead_letter(settings.amqp_uri, 3)
    vague = yishi(settings, "dead-letters", "retry")
    assert vague.returncode == 1 and "--id" in vague.stderr
    unknown = yishi(settings, "dead-letters", "drop", "--id", "intake-999")
    assert unknown.returncode == 1 and "no dead letter with id intake-999" in unknown.stderr
    assert depth(settings.amqp_uri, QUEUE + ".dead") == 1, "a refused command changes nothing"


def test_status_shows_heads_positions_consumers_dead_letters_and_read_models(settings):
    from services.intake.application import IntakeApplication

    app = IntakeApplication(settings)
    seed_intake(app, 12)
    dead_letter(settings.amqp_uri, 4)
    result = yishi(settings, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = {s["service"]: s for s in json.loads(result.stdout)}
    intake = status["intake"]
    assert intake["log_head"] == app.log_head() and intake["relay"] == {"position": 0, "last_published": None,
                                                                         "lag": app.log_head()}
    assert intake["consumers"][0]["upstream"] == "casework" and intake["consumers"][0]["applied"] == 4
    assert intake["consumers"][0]["position"] == max(10_000 + k for k in range(4))
    assert [m["name"] for m in intake["read_models"]] == [p.name for p in load_spec("intake").projections()]
    casework = status["casework"]
    assert {c["queue"]: c["dead_letters"] for c in casework["consumers"]}[QUEUE] == 1
    text = yishi(settings, "status")
    assert "intake: log head" in text.stdout and "read model issue_index" in text.stdout
    app.close()


def test_status_shows_each_consumers_state(settings):
    app = CaseworkApplication(settings)
    consumer = Consumer(app, Database("casework", settings), "intake", settings.amqp_uri)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    try:
        def states():
            result = yishi(settings, "status", "--json")
            assert result.returncode == 0, result.stderr
            return {(s["service"], c["upstream"]): c["state"] for s in json.loads(result.stdout) for c in s["consumers"]}

        deadline = time.monotonic() + 30
        while (now := states())[("casework", "intake")] != "consuming" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert now[("casework", "intake")] == "consuming"
        assert now[("intake", "casework")] == "no consumer"  # no intake worker runs here
        assert "consumes intake: consuming" in yishi(settings, "status").stdout
    finally:
        stop.set()
        thread.join()
        app.close()


def test_status_exits_non_zero_when_a_store_cannot_be_read(settings, tmp_path):
    result = yishi(settings, "status", env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"})
    assert result.returncode == 1
    assert "UNAVAILABLE" in result.stdout and "status incomplete" in result.stderr

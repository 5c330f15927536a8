"""The audit chain is written when an event is recorded, and any later edit of the stored event breaks it."""
import sqlite3
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, ProgrammingError, event

from shared.audit import HASH, PREV, Audited, chain_hash, trail, verify_all
from shared.contracts.catalogue import CATALOGUE
from shared.ops.checkpoints import Checkpointer, checkpoints_id, recorded, with_checkpoints
from shared.runtime.spec import built_services, load_spec


class Ticket(Audited):
    @event("Opened")
    def __init__(self, title: str, tags: list[str]):
        self.title = title
        self.tags = tags  # aliased on purpose: see test_an_event_changed_before_saving_is_refused

    @event("Noted")
    def note(self, text: str, at: datetime) -> None:
        self.last = text


class LegacyTicket(Aggregate):
    @event("Opened")
    def __init__(self, title: str, tags: list[str]):
        self.title = title
        self.tags = list(tags)

    @event("Noted")
    def note(self, text: str, at: datetime) -> None:
        self.last = text


@pytest.fixture
def app(tmp_path):
    """A real store (SQLite file), so tampering is an UPDATE of the stored row as it would be in production."""
    tickets = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                               "SQLITE_DBNAME": str(tmp_path / "tickets.sqlite3")})
    tickets.path = tmp_path / "tickets.sqlite3"
    yield tickets
    tickets.close()


def sql(app, statement, params=()):
    with sqlite3.connect(app.path) as conn:
        return conn.execute(statement, params).fetchall()


def saved_ticket(app, notes=2):
    t = Ticket("楼道灯坏了", ["设施"])
    for n in range(notes):
        t.note(f"note {n}", datetime.now(timezone.utc))
    app.save(t)
    return t


def tamper(app, aggregate_id, version, change):
    """Rewrite one stored event's state in place, as someone with database access could."""
    where = "originator_id = ? AND originator_version = ?"
    [(raw,)] = sql(app, f"SELECT state FROM stored_events WHERE {where}", (aggregate_id.hex, version))
    state = app.mapper.transcoder.decode(raw)
    change(state)
    sql(app, f"UPDATE stored_events SET state = ? WHERE {where}",
        (app.mapper.transcoder.encode(state), aggregate_id.hex, version))


def test_every_event_carries_the_previous_hash_and_its_own():
    t = Ticket("楼道灯坏了", ["设施"])
    t.note("x", datetime.now(timezone.utc))
    first, second = t.collect_events()
    assert first.__dict__[PREV] is None and len(first.__dict__[HASH]) == 64
    assert second.__dict__[PREV] == first.__dict__[HASH]


def test_an_untouched_history_verifies(app):
    t = saved_ticket(app)
    history = trail(app, t.id)
    assert history["verified"] and history["broken_at"] is None
    assert [e["version"] for e in history["entries"]] == [1, 2, 3]
    assert [e["type"] for e in history["entries"]] == ["Opened", "Noted", "Noted"]
    assert history["entries"][1]["data"]["text"] == "note 0" and history["entries"][0]["at"].endswith("Z")
    assert history["entries"][2]["prev_hash"] == history["entries"][1]["hash"]


def test_the_chain_goes_on_across_saves_and_reloads(app):
    t = saved_ticket(app)
    again = app.repository.get(t.id)
    again.note("after reload", datetime.now(timezone.utc))
    app.save(again)
    assert trail(app, t.id)["verified"] and verify_all(app)["verified"]


def test_an_edited_event_breaks_the_chain_there(app):
    t = saved_ticket(app)
    tamper(app, t.id, 2, lambda s: s.update(text="nothing happened"))
    history = trail(app, t.id)
    assert not history["verified"] and history["broken_at"] == 2
    report = verify_all(app)
    assert report["broken"] == [{"aggregate_id": str(t.id), "version": 2, "reason": "event changed after it was recorded"}]


def test_a_recomputed_hash_still_breaks_the_next_link(app):
    t = saved_ticket(app)

    def forge(state):
        state["text"] = "forged"
        from shared.audit import chain_hash
        state[HASH] = chain_hash(state[PREV], t.id, 2, "tests.unit.shared.test_audit:Ticket.Noted", state)

    tamper(app, t.id, 2, forge)
    assert trail(app, t.id)["broken_at"] == 3


def test_a_removed_event_is_named(app):
    t = saved_ticket(app)
    sql(app, "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 2", (t.id.hex,))
    history = trail(app, t.id)
    assert history["broken_at"] == 2 and "missing" in history["reason"]


def test_an_event_changed_before_saving_is_refused(app):
    t = Ticket("路灯", ["设施"])
    t.tags.append("照明")  # mutates the Opened event's own list after it was hashed
    with pytest.raises(ProgrammingError, match="changed after it was recorded"):
        app.save(t)


def test_an_event_without_hash_fields_is_not_verified_even_as_the_first_event(app):
    old = LegacyTicket("旧诉求", [])
    old.note("old note", datetime.now(timezone.utc))
    app.save(old)
    # stored as audited events, but without the chain's fields: the chain is mandatory from the first event
    sql(app, "UPDATE stored_events SET topic = replace(topic, 'LegacyTicket', 'Ticket')")
    history = trail(app, old.id)
    assert not history["verified"] and history["broken_at"] == 1 and "no hash" in history["reason"]
    assert not verify_all(app)["verified"]


def test_an_edit_that_strips_the_hash_fields_from_every_later_event_is_not_verified(app):
    t = saved_ticket(app)
    tamper(app, t.id, 2, lambda s: s.update(text="nothing happened"))
    for version in (2, 3):
        tamper(app, t.id, version, lambda s: [s.pop(PREV), s.pop(HASH)])
    history = trail(app, t.id)
    assert not history["verified"] and history["broken_at"] == 2
    assert verify_all(app)["broken"][0]["version"] == 2


def test_an_unaudited_aggregate_is_no_break(app):
    app.save(LegacyTicket("普通", []))
    assert verify_all(app)["verified"]


def test_a_history_with_a_deleted_event_can_still_be_read(app):
    t = saved_ticket(app)
    sql(app, "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 1", (t.id.hex,))
    history = trail(app, t.id, of=Ticket)
    assert history is not None and not history["verified"] and history["broken_at"] == 1
    assert trail(app, t.id, of=LegacyTicket) is None and trail(app, uuid4(), of=Ticket) is None


def test_verify_all_counts_every_aggregate(app):
    ids = [saved_ticket(app, notes=1).id for _ in range(3)]
    report = verify_all(app, page=2)
    assert report["verified"] and report["aggregates"] == 3 and report["events"] == 6
    assert set(report["heads"]) == {str(i) for i in ids}


def test_an_unknown_aggregate_has_no_verified_history(app):
    history = trail(app, uuid4())
    assert history["entries"] == [] and not history["verified"]


# checkpoints: a cut tail or a log rewritten whole ---------------------------------------------

class Checkpointed(Application):
    name = "tickets"


@pytest.fixture
def tickets(tmp_path):
    now = [datetime(2026, 11, 23, 2, tzinfo=timezone.utc)]
    app = Checkpointed(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                            "SQLITE_DBNAME": str(tmp_path / "tickets.sqlite3")})
    app.path, app.clock, app.now = tmp_path / "tickets.sqlite3", lambda: now[0], now
    yield app
    app.close()


def checkpoint_now(app, checkpointer):
    if checkpointer.since is None:
        checkpointer(app)  # starts its interval
    app.now[0] += timedelta(seconds=checkpointer.interval)
    return checkpointer(app)


def test_a_checkpoint_is_recorded_once_the_log_moved_and_is_published(tickets):
    checkpointer = Checkpointer(interval=60)
    saved_ticket(tickets)
    assert not checkpointer(tickets), "not before the interval"
    assert checkpoint_now(tickets, checkpointer)
    assert not checkpoint_now(tickets, checkpointer), "nothing new but the checkpoint itself"
    [first] = recorded(tickets)
    assert first["position"] == 3 and first["events"] == 3 and first["aggregates"] == 1
    relay_map = with_checkpoints(lambda app: lambda e: None)(tickets)
    stored = list(tickets.recorder.select_events(checkpoints_id("tickets")))[-1]
    assert relay_map(tickets.mapper.to_domain_event(stored)).name == "AuditCheckpointed"
    assert verify_all(tickets, checkpoints=recorded(tickets))["verified"]


def test_a_cut_tail_fails_against_a_checkpoint_held_outside(tickets):
    checkpointer = Checkpointer(interval=60)
    saved_ticket(tickets)
    saved_ticket(tickets)
    checkpoint_now(tickets, checkpointer)
    held = recorded(tickets)[-1]  # a subscriber's copy
    sql(tickets, "DELETE FROM stored_events WHERE rowid > 3")  # the second ticket and the checkpoint gone
    report = verify_all(tickets, checkpoints=[held])
    assert not report["verified"] and "its tail was cut" in report["broken"][0]["reason"]


def test_a_log_rewritten_with_recomputed_hashes_fails_against_its_checkpoint(tickets):
    checkpointer = Checkpointer(interval=60)
    t = saved_ticket(tickets)
    checkpoint_now(tickets, checkpointer)
    held = recorded(tickets)[-1]

    def forge(state):
        state["text"] = "forged"
        state[HASH] = chain_hash(state[PREV], t.id, 3, "tests.unit.shared.test_audit:Ticket.Noted", state)
    tamper(tickets, t.id, 3, forge)  # the head: every later hash recomputed, so the chain alone passes
    assert trail(tickets, t.id)["verified"]
    report = verify_all(tickets, checkpoints=[held])
    assert not report["verified"] and "were removed, added or rewritten" in report["broken"][0]["reason"]


@pytest.mark.parametrize("service", built_services())
def test_every_service_checkpoints_its_log_and_publishes_the_checkpoints(service):
    spec = load_spec(service)
    assert Checkpointer.name in [t.name for t in spec.tickers]
    assert CATALOGUE.get(service, "AuditCheckpointed").version == 1

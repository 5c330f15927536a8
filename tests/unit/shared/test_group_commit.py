"""Group commit: concurrent saves share a transaction; a conflict reaches only the caller whose save it is."""
import copy
import threading

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from shared.store.groupcommit import GroupCommit


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str):
        self.text = text

    @event("Edited")
    def edit(self, text: str):
        self.text = text


class Store:
    """Records each transaction; refuses a second event for the same aggregate version, as the stores do."""

    def __init__(self):
        self.transactions = []
        self.keys = set()
        self.gate = threading.Event()

    def put(self, events):
        self.gate.wait(5)
        keys = [(e.originator_id, e.originator_version) for e in events]
        if self.keys & set(keys) or len(set(keys)) < len(keys):
            raise IntegrityError("version taken")
        self.keys |= set(keys)
        self.transactions.append(len(events))


def test_saves_waiting_behind_a_write_share_the_next_transaction():
    store = Store()
    group = GroupCommit(store.put)
    threads = [threading.Thread(target=group.save, args=(Note(f"n{i}"),)) for i in range(20)]
    for t in threads:
        t.start()
    store.gate.set()
    for t in threads:
        t.join()
    assert sum(store.transactions) == 20 and len(store.transactions) < 20


def test_a_conflicting_save_fails_alone_and_the_others_in_its_batch_are_written():
    store = Store()
    group = GroupCommit(store.put)
    note = Note("first")
    group.save(note)
    store.gate.clear()
    mine, theirs = copy.deepcopy(note), copy.deepcopy(note)
    mine.edit("mine")
    theirs.edit("theirs")  # the same aggregate and version: one of the two must lose
    errors = []

    def save(note):
        try:
            group.save(note)
        except IntegrityError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in (mine, theirs, Note("other"))]
    for t in threads:
        t.start()
    store.gate.set()
    for t in threads:
        t.join()
    assert len(errors) == 1 and sum(store.transactions) == 3  # the first note, one of the pair, the other note


def test_a_store_failure_reaches_every_caller_of_the_batch():
    group = GroupCommit(lambda events: (_ for _ in ()).throw(OSError("store down")))
    with pytest.raises(OSError):
        group.save(Note("x"))

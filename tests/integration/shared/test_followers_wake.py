"""Relay and projector read their log once per commit: a pass that reached the log's end waits for the next
commit instead of reading again to find nothing (one query per commit and follower, not two)."""
import threading
import time

from kombu import Connection

from services.intake.application import IntakeApplication
from services.intake.projections import IssueIndex
from services.intake.published import publish
from shared.messaging import topology
from shared.messaging.relay import Relay
from shared.store.persistence import Database
from shared.store.projection import Projector
from tests.support.factories import issues

COMMITS = 6


def _count_reads(app):
    calls = []
    read = app.notifications_after

    def counted(position, limit=500):
        found = read(position, limit)
        calls.append(len(found))
        return found

    app.notifications_after = counted
    return calls


def _commit_slowly(app, until_read):
    for issue in issues(COMMITS):
        app.save(issue)
        deadline = time.monotonic() + 5
        while not until_read() and time.monotonic() < deadline:  # the follower has read this commit
            time.sleep(0.01)


def _reads_per_commit(settings, follow):
    app = IntakeApplication(settings)
    calls = _count_reads(app)
    stop = threading.Event()
    thread = threading.Thread(target=follow, args=(app, stop), daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # the first pass, on an empty log
        start = len(calls)
        seen = [0]

        def read_latest():
            total = sum(calls)
            if total > seen[0]:
                seen[0] = total
                return True
            return False

        _commit_slowly(app, read_latest)
        time.sleep(0.3)
        assert sum(calls) == COMMITS, calls
        return len(calls) - start
    finally:
        stop.set()
        app.commits.raise_()
        thread.join(5)
        app.close()


def test_projector_reads_once_per_commit(settings):
    def follow(app, stop):
        Projector(app, Database("intake", settings), [IssueIndex()]).run(stop, poll_interval=30)

    assert _reads_per_commit(settings, follow) == COMMITS


def test_relay_reads_once_per_commit(settings):
    with Connection(settings.amqp_uri) as conn:
        topology.declare(conn, ("intake",))

    def follow(app, stop):
        Relay(app, Database("intake", settings), publish, settings.amqp_uri, poll_interval=30).run(stop)

    assert _reads_per_commit(settings, follow) == COMMITS

"""The relay reads its log once per commit: a pass that reached the log's end waits for the next commit instead
of reading again to find nothing (one query per commit, not two). Read models read the log not at all: each
commit writes them."""
import threading
import time

from kombu import Connection

from services.intake.application import IntakeApplication
from services.intake.published import publish
from shared.messaging import topology
from shared.messaging.relay import Relay
from shared.store.persistence import Database
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


def test_read_models_are_written_by_each_commit_without_reading_the_log(settings):
    app = IntakeApplication(settings)
    calls = _count_reads(app)
    db = Database("intake", settings)
    try:
        saved = issues(COMMITS)
        for n, issue in enumerate(saved, start=1):
            app.save(issue)
            assert db.query("SELECT COUNT(*) FROM issue_index") == [(n,)]  # at once, with nothing following
        assert calls == []
        position = db.query("SELECT position FROM projection_position WHERE name = 'issue_index'")
        assert position == [(app.log_head(),)]
    finally:
        db.close()
        app.close()


def test_relay_reads_once_per_commit(settings):
    with Connection(settings.amqp_uri) as conn:
        topology.declare(conn, ("intake",))

    def follow(app, stop):
        Relay(app, Database("intake", settings), publish, settings.amqp_uri, poll_interval=30).run(stop)

    assert _reads_per_commit(settings, follow) == COMMITS

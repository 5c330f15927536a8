"""A view of upstream events (meetings' case digest of casework's facts) is rebuilt from the upstream's
archive: exactly the events meetings applied, those applied during the rebuild included."""
import json
import os
import subprocess
import sys

from shared.contracts import from_cloudevent
from shared.messaging.relay import message_for
from shared.ops.rebuild import ViewRebuilder
from shared.runtime.spec import load_spec
from shared.store.persistence import Database
from tests.support.processes import ROOT
from tests.support.seeding import seed_casework, store_env


def casework_events(casework, publish, wanted):
    """casework's log as meetings' consumer receives it: the relay's mapping, then the consumer's parsing."""
    out = []
    for n in casework.notifications_after(0, 10_000):
        published = publish(casework.domain_event(n))
        if published is not None and published.name in wanted:
            out.append(from_cloudevent(message_for("casework", published, n.id, None)[0]))
    return out


def digest(db):
    return sorted((case_id, json.loads(doc)) for case_id, doc in db.query("SELECT case_id, doc FROM case_digest"))


def test_the_case_digest_is_rebuilt_from_caseworks_archive_with_what_meetings_applied_meanwhile(settings):
    cw_spec, casework = load_spec("casework"), load_spec("casework").application(settings)
    meetings = load_spec("meetings").application(settings)
    db = Database("meetings", settings)
    seed_casework(casework, 12)
    events = casework_events(casework, cw_spec.publisher(casework), meetings.reacts_to["casework"])
    assert len(events) >= 12
    meetings.process(*events[:8])
    live = digest(db)
    assert len(live) == 8

    rebuilder = ViewRebuilder(meetings, db, meetings.views[0], casework, cw_spec.publisher(casework), batch_size=5)
    rebuilder.build()
    assert digest(db) == live, "the service answers from the old view meanwhile"
    meetings.process(*events[8:11])  # applied during the rebuild: the swap must bring them in
    with db.transaction() as tx:  # a damaged live view: only a real swap brings these rows back
        tx.run("DELETE FROM case_digest")
    rebuilder.swap()
    rebuilder.staging.discard()
    rebuilt = digest(db)
    assert [c for c, _ in rebuilt] == sorted(str(e.data["case_id"]) for e in events[:11])  # not the unapplied one

    meetings.process(events[11])  # the consumer goes on writing the rebuilt view
    final = digest(db)
    assert len(final) == 12

    with db.transaction() as tx:  # the reference: every event applied in order to an empty view
        tx.run("DELETE FROM case_digest")
        for e in events:
            meetings.views[0].apply(tx, e)
    assert digest(db) == final
    db.close()
    meetings.close()
    casework.close()


def test_yishi_rebuild_names_the_view_and_its_upstream(settings):
    casework = load_spec("casework").application(settings)
    seed_casework(casework, 3)
    casework.close()
    result = subprocess.run([sys.executable, "-m", "shared.ops.cli", "--quiet", "rebuild", "meetings", "case_digest"],
                            cwd=ROOT, env=os.environ | store_env(settings), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "case_digest: rebuilt from casework's archive" in result.stdout

"""The ledger is a projection of casework's own log: dropped and replayed, it comes back the same."""
from datetime import datetime, timezone

from services.casework.application import CaseworkApplication
from services.casework.projections import Ledger, list_cases
from shared.contracts import from_cloudevent, to_cloudevent
from shared.persistence import Database
from shared.projection import Projector


def reported(seq):
    issue_id = f"8a4f7c62-1d2b-4c1e-9a4f-{seq:012d}"
    return from_cloudevent(to_cloudevent("intake", "IssueReported", sequence=seq, prevsequence=seq - 1 or None,
                                         subject=issue_id, time=datetime.now(timezone.utc), data={
        "issue_id": issue_id, "tracking_code": f"YS-{seq}", "channel": "visit", "category": "环境卫生",
        "tags": [], "title": f"垃圾清运 {seq}", "description": "", "location": {"community": "幸福里"},
        "reporter_ref": "rp-1", "reported_at": "2026-11-23T02:00:00Z"}))


class LedgerV2(Ledger):
    version = 2


def drain(projector):
    while projector.run_once():
        pass


def test_bumping_the_ledger_version_replays_it_to_the_same_rows(settings):
    app = CaseworkApplication(settings)
    db = Database("casework", settings)
    for seq in range(1, 26):
        app.process(reported(seq))
    drain(Projector(app, db, [Ledger()], batch_size=7))
    before = list_cases(db, limit=1000)
    assert len(before) == 25

    rebuilt = Projector(app, db, [LedgerV2()], batch_size=4)  # a new version drops the table
    assert rebuilt.position("ledger") == 0 and list_cases(db, limit=1000) == []
    drain(rebuilt)
    assert list_cases(db, limit=1000) == before
    app.close()

"""The ledger is a projection of casework's own log, written by every writer with the events it folds in:
dropped and replayed, it comes back row for row."""
from datetime import datetime, timedelta, timezone

from services.casework.application import CaseworkApplication
from services.casework.domain import case_id_for
from services.casework.projections import Ledger, list_cases
from shared.store.persistence import Database
from tests.unit.casework.helpers import PROPERTY, STAFF, Clock, confirm, issue, reported

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
TITLES = [("小区路灯故障", "设施维护"), ("3号楼楼道灯坏了", "设施维护"), ("小区停车难", "停车交通"),
          ("垃圾清运不及时", "环境卫生")]


class LedgerNext(Ledger):
    version = Ledger.version + 1


class NextApplication(CaseworkApplication):
    projections = (LedgerNext(),)


def rows(db):
    return db.query("SELECT case_id, issue_id, status, tier, category, party, alert, next_due, next_check, "
                    "met_on_time, met_late, opened_at, state FROM ledger ORDER BY case_id")


def test_a_new_ledger_version_replays_to_the_same_rows(settings):
    clock = Clock(T0)
    app = CaseworkApplication(settings, clock=clock)
    db = Database("casework", settings)
    ids = []
    for seq in range(1, 25):
        data = issue(*TITLES[seq % len(TITLES)])
        app.process(reported(seq, data))
        ids.append(str(case_id_for(data["issue_id"])))
    for cid in ids[:6]:
        app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已处理"})
    for cid in ids[:3]:
        confirm(app, cid, True, 5)
    confirm(app, ids[3], False)
    app.command(ids[7], "assignment", {"actor": STAFF, "party": "市政路灯所", "party_kind": "department"})
    app.watch(ids, T0 + timedelta(days=20))

    before = rows(db)  # no projector: each write brought its rows
    assert len(before) == 24
    listed = list_cases(db, limit=1000, now=T0)
    assert {c["status"] for c in listed} == {"open", "resolved", "closed", "reopened"}
    assert any(c["alert_level"] == "red" for c in listed)
    head = app.log_head()
    assert db.query("SELECT position FROM projection_position WHERE name = 'ledger'") == [(head,)]
    app.close()

    rebuilt = NextApplication(settings, clock=clock)  # a new version is dropped and replayed before any write
    assert rows(db) == before
    assert list_cases(db, limit=1000, now=T0) == listed
    assert db.query("SELECT version, position FROM projection_position WHERE name = 'ledger'") == [
        (LedgerNext.version, head)]
    rebuilt.close()


def test_a_ledger_the_projector_left_behind_catches_up_at_start(settings):
    """The ledger was the projector's before its writers applied it: an upgrade goes on from its position."""
    clock = Clock(T0)
    app = CaseworkApplication(settings, clock=clock)
    db = Database("casework", settings)
    for seq in range(1, 6):
        app.process(reported(seq, issue("楼道灯坏了")))
    before = rows(db)
    with db.transaction() as tx:  # as an older worker's projector left it: two cases behind
        tx.run("DELETE FROM ledger WHERE case_id IN (SELECT case_id FROM ledger ORDER BY opened_at DESC, case_id "
               "LIMIT 2)")
        tx.run("UPDATE projection_position SET position = ? WHERE name = 'ledger'", (app.log_head() - 2,))
    app.close()
    again = CaseworkApplication(settings, clock=clock)
    assert rows(db) == before
    again.close()


def test_the_ledger_filters_by_community_in_its_query(settings):
    """The board's and the worklist's community filter is the read model's, not a scan of the newest rows."""
    app = CaseworkApplication(settings, clock=Clock(T0))
    db = Database("casework", settings)
    places = ("幸福里", "和平里", "幸福里", "光明里")
    for seq, community in enumerate(places * 3, start=1):
        data = issue("楼道灯坏了", location={"community": community, "building": str(seq)})
        app.process(reported(seq, data))
    for community in set(places):
        listed = list_cases(db, community=community, limit=1000, now=T0)
        assert len(listed) == 3 * places.count(community) and {c["community"] for c in listed} == {community}
    assert len(list_cases(db, limit=1000, now=T0)) == 12
    assert list_cases(db, community="无此社区", now=T0) == []
    assert len(list_cases(db, community="幸福里", limit=2, offset=5, now=T0)) == 1  # paged after filtering
    app.close()

"""A window of upstream events reads every aggregate its policy needs in one query (on both SQL stores):
each report's case and what waits for it, the rules and the calendar — not one query per aggregate."""
from services.casework.application import CaseworkApplication
from services.casework.domain import case_id_for
from tests.unit.casework.helpers import issue, reported


def _count(recorder, name, calls):
    method = getattr(recorder, name)

    def counted(*args, **kwargs):
        calls[name] += 1
        return method(*args, **kwargs)

    setattr(recorder, name, counted)


def test_a_window_reads_its_aggregates_in_one_query(settings):
    app = CaseworkApplication(settings)
    try:
        app.process(reported(1, issue("1号楼楼道灯坏了")))  # something stored already: a case, the calendar unread
        calls = {"select_events": 0, "select_events_of": 0}
        for name in calls:
            _count(app.recorder, name, calls)
        window = [reported(n, issue(f"{n}号楼楼道灯坏了")) for n in range(2, 8)]
        app.process(*window)
        assert calls == {"select_events": 0, "select_events_of": 1}
        opened = [app.repository.get(case_id_for(e.data["issue_id"])) for e in window]
        assert [c.issue_id for c in opened] == [e.data["issue_id"] for e in window]
        assert all(c.party for c in opened)  # each dispatched as if read one by one
    finally:
        app.close()


def test_a_window_writes_its_tracking_rows_in_one_statement_and_refuses_an_applied_one(pg_url, amqp_uri, tmp_path):
    """PostgreSQL: one INSERT for the window's tracking rows, not one per upstream event; a sequence applied
    before fails the whole window (nothing of it written) with IntegrityError every time — it had surfaced about
    half the time as an OperationalError ("pipeline aborted"), which a consumer takes for a store outage."""
    import pytest
    from eventsourcing.persistence import IntegrityError
    from shared.config import Settings

    app = CaseworkApplication(Settings(database_url=pg_url, amqp_uri=amqp_uri, var_dir=tmp_path / "var"))
    try:
        one_by_one = []
        single = app.recorder._insert_tracking
        app.recorder._insert_tracking = lambda curs, t: one_by_one.append(t) or single(curs, t)
        app.process(*[reported(n, issue(f"{n}号楼楼道灯坏了")) for n in range(1, 7)])
        assert one_by_one == [] and app.applied(app.read_models, "intake", *range(1, 8)) == set(range(1, 7))
        head = app.log_head()
        for n in range(7, 17):
            with pytest.raises(IntegrityError):
                app.process(reported(n, issue(f"{n}号楼楼道灯坏了")), reported(3, issue("3号楼楼道灯坏了")))
        assert app.log_head() == head and app.applied(app.read_models, "intake", *range(7, 17)) == set()
    finally:
        app.close()

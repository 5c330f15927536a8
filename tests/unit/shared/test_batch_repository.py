"""A window of upstream events reads each stored aggregate once: the triage rules and the calendar that
every report consults are loaded once per window, not once per report."""
from collections import Counter
from datetime import datetime, timezone

from services.casework.domain import CALENDAR_ID, RULES_ID, case_id_for
from tests.unit.casework.helpers import Clock, issue, memory_app, reported


def test_a_window_of_reports_reads_the_rules_and_the_calendar_once(tmp_path):
    app = memory_app(tmp_path, Clock(datetime(2026, 11, 23, 2, tzinfo=timezone.utc)))
    reads = Counter()
    store_get = app.repository.event_store.get

    def counted(*args, **kwargs):
        reads[kwargs.get("originator_id", args[0] if args else None)] += 1
        return store_get(*args, **kwargs)

    app.repository.event_store.get = counted
    window = [reported(n, issue(f"{n}号楼楼道灯坏了")) for n in range(1, 6)]
    app.process(*window)
    assert reads[RULES_ID] <= 1 and reads[CALENDAR_ID] <= 1, reads
    opened = [app.repository.get(case_id_for(e.data["issue_id"])) for e in window]
    assert len({c.id for c in opened}) == 5  # each report still opens its own case
    app.close()
